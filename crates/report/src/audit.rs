//! An audit's output: every user's row streamed as CSV or JSON Lines while
//! the audit runs (a million rows are never held), and the summary in the
//! report formats at the end. Row values come from AD and the tenant: a CSV
//! cell never starts a formula, and no control character reaches a file.

use crate::neutral;
use phs_model::audit::{AuditClass, AuditRow, AuditSummary};
use std::io::Write;

/// Where the rows go, one at a time.
pub enum RowWriter<W: Write> {
    Csv(Box<csv::Writer<W>>),
    JsonLines(W),
}

impl<W: Write> RowWriter<W> {
    /// A CSV writer, its header ([`AuditRow::COLUMNS`]) written first.
    pub fn csv(out: W) -> std::io::Result<RowWriter<W>> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(AuditRow::COLUMNS).map_err(std::io::Error::other)?;
        Ok(RowWriter::Csv(Box::new(w)))
    }

    pub fn json_lines(out: W) -> RowWriter<W> {
        RowWriter::JsonLines(out)
    }

    pub fn write(&mut self, row: &AuditRow) -> std::io::Result<()> {
        match self {
            RowWriter::Csv(w) => {
                let cells: Vec<String> =
                    row.values().iter().map(|v| neutral::spreadsheet_cell(v).into_owned()).collect();
                w.write_record(&cells).map_err(std::io::Error::other)
            }
            // serde_json escapes every control character inside strings.
            RowWriter::JsonLines(w) => {
                serde_json::to_writer(&mut *w, row).map_err(std::io::Error::other)?;
                w.write_all(b"\n")
            }
        }
    }

    pub fn finish(self) -> std::io::Result<()> {
        match self {
            RowWriter::Csv(mut w) => w.flush(),
            RowWriter::JsonLines(mut w) => w.flush(),
        }
    }
}

/// The summary as text: the counts per class, per domain, the oldest
/// change still waiting, and what could not be read.
pub fn summary_text(s: &AuditSummary) -> String {
    let mut out = format!("Password hash sync audit: {} users\n\n", s.total());
    for class in AuditClass::ALL {
        if let Some(n) = s.per_class.get(&class) {
            out.push_str(&format!("  {:<22} {n}\n", class.as_str()));
        }
    }
    out.push_str("\nPer domain:\n");
    for (domain, counts) in &s.per_domain {
        let parts: Vec<String> =
            AuditClass::ALL.iter().filter_map(|c| counts.get(c).map(|n| format!("{} {n}", c.as_str()))).collect();
        out.push_str(&format!("  {}: {}\n", neutral::line(domain), parts.join(", ")));
    }
    if let Some((t, who)) = &s.oldest_unsynced {
        out.push_str(&format!("\nOldest change not in the cloud: {t} ({})\n", neutral::line(who)));
    }
    for i in &s.incomplete {
        out.push_str(&format!(
            "\nINCOMPLETE: {}: {}{}\n",
            neutral::line(&i.source),
            neutral::line(&i.why),
            i.users_left_out.map_or(String::new(), |n| format!(" ({n} users left unjudged)"))
        ));
    }
    out
}

/// The summary as a Markdown table.
pub fn summary_markdown(s: &AuditSummary) -> String {
    let mut out = format!("# Password hash sync audit\n\n- Users: {}\n", s.total());
    if let Some((t, who)) = &s.oldest_unsynced {
        out.push_str(&format!("- Oldest change not in the cloud: `{t}` ({})\n", neutral::markdown(who)));
    }
    for i in &s.incomplete {
        out.push_str(&format!("- **Incomplete**: {}: {}\n", neutral::markdown(&i.source), neutral::markdown(&i.why)));
    }
    out.push_str("\n| Class | Users |\n|---|---|\n");
    for class in AuditClass::ALL {
        if let Some(n) = s.per_class.get(&class) {
            out.push_str(&format!("| {} | {n} |\n", class.as_str()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dn: &str) -> AuditRow {
        AuditRow { class: Some(AuditClass::InSync), dn: Some(dn.to_owned()), ..AuditRow::default() }
    }

    #[test]
    fn csv_cells_never_start_a_formula_and_carry_no_controls() {
        let mut w = RowWriter::csv(Vec::new()).unwrap();
        w.write(&row("=HYPERLINK(\"http://x\")")).unwrap();
        w.write(&row("CN=a\u{1b}[2J\r\nb,c")).unwrap();
        let RowWriter::Csv(w) = w else { unreachable!() };
        let w = *w;
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("class,reason,domain,dn"));
        assert!(lines[1].contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{}", lines[1]);
        assert!(lines[2].contains("\\x1B") && !lines[2].contains('\u{1b}'), "{}", lines[2]);
    }

    #[test]
    fn json_lines_are_one_object_a_line() {
        let mut out = Vec::new();
        let mut w = RowWriter::json_lines(&mut out);
        w.write(&row("CN=a\nb")).unwrap();
        w.write(&row("CN=c")).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<AuditRow> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(rows[0].dn.as_deref(), Some("CN=a\nb"));
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn the_summary_says_what_is_missing() {
        let mut s = AuditSummary::default();
        s.add(&row("CN=a"));
        s.incomplete.push(phs_model::audit::Incomplete {
            source: "Graph /users".into(),
            why: "page 3 failed: 503".into(),
            users_left_out: Some(1_998),
        });
        let t = summary_text(&s);
        assert!(t.contains("1 users") && t.contains("INCOMPLETE") && t.contains("1998 users left unjudged"), "{t}");
        assert!(summary_markdown(&s).contains("| in_sync | 1 |"));
    }
}

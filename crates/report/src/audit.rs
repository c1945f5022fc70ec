//! An audit's output: every user's row streamed as CSV or JSON Lines while
//! the audit runs (a million rows are never held), and the summary in the
//! report formats at the end. Row values come from AD and the tenant: a CSV
//! cell never starts a formula, and no control character reaches a file.

use crate::neutral;
use phs_model::audit::{AuditClass, AuditRow, AuditSummary};
use phs_rules::audit::what_to_do;
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

/// The lines above the counts, in plain text, said once for every format:
/// when, the lag allowed, the oldest change waiting, what is incomplete.
fn preamble(s: &AuditSummary) -> Vec<String> {
    let mut lines = vec![format!("Users: {}", s.total())];
    if let Some(t) = s.evaluated_at {
        lines.push(format!("Evaluated at: {t}"));
    }
    if let Some(secs) = s.lag_allowed_seconds {
        let lag = phs_model::words::human_duration(jiff::SignedDuration::from_secs(secs));
        lines.push(format!("Lag allowed before a change counts as not arrived: {lag}"));
    }
    if let Some((t, who)) = &s.oldest_unsynced {
        lines.push(format!("Oldest change not in the cloud: {t} ({who})"));
    }
    if let Some(earlier) = &s.previous {
        let since = earlier.evaluated_at.map_or("the earlier audit".to_owned(), |t| format!("the audit of {t}"));
        let changes: Vec<String> = s
            .changes()
            .iter()
            .map(|(c, now, then)| format!("{} {now} ({:+})", c.as_str(), *now as i64 - *then as i64))
            .collect();
        match changes.is_empty() {
            true => lines.push(format!("Since {since}: no class changed")),
            false => lines.push(format!("Since {since}: {}", changes.join(", "))),
        }
    }
    for i in &s.incomplete {
        let left = i.users_left_out.map_or(String::new(), |n| format!(" ({n} users left unjudged)"));
        lines.push(format!("INCOMPLETE: {}: {}{left}", i.source, i.why));
    }
    lines.push(format!("Exit code: {}", s.exit_code()));
    lines
}

const NO_USERS: &str =
    "No user was judged: the sources read hold no user in scope, or none was read (see INCOMPLETE above).\n";

/// The classes present, worst first, with their counts.
fn present(s: &AuditSummary) -> Vec<(AuditClass, u64)> {
    AuditClass::ALL.iter().filter_map(|&c| s.per_class.get(&c).map(|&n| (c, n))).collect()
}

/// The summary as text: the counts per class, per domain, the oldest
/// change still waiting, what could not be read, and what to do.
pub fn summary_text(s: &AuditSummary) -> String {
    let mut out = "Password hash sync audit\n\n".to_owned();
    for line in preamble(s) {
        out.push_str(&format!("{}\n", neutral::line(&line)));
    }
    out.push('\n');
    if s.per_class.is_empty() {
        out.push_str(NO_USERS);
        return out;
    }
    for (class, n) in present(s) {
        out.push_str(&format!("  {:<22} {n}\n", class.as_str()));
    }
    out.push_str("\nPer domain:\n");
    for (domain, counts) in &s.per_domain {
        let parts: Vec<String> =
            AuditClass::ALL.iter().filter_map(|c| counts.get(c).map(|n| format!("{} {n}", c.as_str()))).collect();
        out.push_str(&format!("  {}: {}\n", neutral::line(domain), parts.join(", ")));
    }
    let advice: Vec<(AuditClass, u64)> = present(s).into_iter().filter(|(c, _)| *c != AuditClass::InSync).collect();
    if !advice.is_empty() {
        out.push_str("\nWhat to do:\n");
        for (class, _) in advice {
            out.push_str(&format!("  {}: {}\n", class.as_str(), what_to_do(class)));
        }
    }
    out
}

/// The summary in Markdown: the counts with what each class means, and a
/// table of the classes per domain.
pub fn summary_markdown(s: &AuditSummary) -> String {
    let mut out = "# Password hash sync audit\n\n".to_owned();
    for line in preamble(s) {
        out.push_str(&format!("- {}\n", neutral::markdown(&line)));
    }
    if s.per_class.is_empty() {
        out.push('\n');
        out.push_str(NO_USERS);
        return out;
    }
    out.push_str("\n| Class | Users | What to do |\n|---|---|---|\n");
    for (class, n) in present(s) {
        out.push_str(&format!("| `{}` | {n} | {} |\n", class.as_str(), neutral::markdown(what_to_do(class))));
    }
    let classes: Vec<AuditClass> = present(s).into_iter().map(|(c, _)| c).collect();
    out.push_str("\n## Per domain\n\n| Domain |");
    for c in &classes {
        out.push_str(&format!(" `{}` |", c.as_str()));
    }
    out.push_str(&format!("\n|---|{}\n", "---|".repeat(classes.len())));
    for (domain, counts) in &s.per_domain {
        out.push_str(&format!("| {} |", neutral::markdown(domain)));
        for c in &classes {
            out.push_str(&format!(" {} |", counts.get(c).copied().unwrap_or(0)));
        }
        out.push('\n');
    }
    out
}

/// The summary as one self-contained HTML page.
pub fn summary_html(s: &AuditSummary) -> String {
    let esc = |t: &str| crate::html::esc(&neutral::line(t));
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>phs-doctor audit</title><style>{}</style></head><body>\n<h1>Password hash sync audit</h1>\n<ul>\n",
        crate::html::STYLE
    );
    for line in preamble(s) {
        out.push_str(&format!("<li>{}</li>\n", esc(&line)));
    }
    out.push_str("</ul>\n");
    if s.per_class.is_empty() {
        out.push_str(&format!("<p>{}</p>\n</body></html>\n", esc(NO_USERS.trim_end())));
        return out;
    }
    out.push_str("<table><tr><th>Class</th><th>Users</th><th>What to do</th></tr>\n");
    for (class, n) in present(s) {
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{n}</td><td>{}</td></tr>\n",
            class.as_str(),
            esc(what_to_do(class))
        ));
    }
    let classes: Vec<AuditClass> = present(s).into_iter().map(|(c, _)| c).collect();
    out.push_str("</table>\n<h2>Per domain</h2>\n<table><tr><th>Domain</th>");
    for c in &classes {
        out.push_str(&format!("<th><code>{}</code></th>", c.as_str()));
    }
    out.push_str("</tr>\n");
    for (domain, counts) in &s.per_domain {
        out.push_str(&format!("<tr><td>{}</td>", esc(domain)));
        for c in &classes {
            out.push_str(&format!("<td>{}</td>", counts.get(c).copied().unwrap_or(0)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
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
        assert!(t.contains("Users: 1") && t.contains("INCOMPLETE") && t.contains("1998 users left unjudged"), "{t}");
        assert!(t.contains("Exit code: 3"), "{t}");
        let md = summary_markdown(&s);
        assert!(md.contains("| `in_sync` | 1 |") && md.contains("1998 users left unjudged"), "{md}");
        assert!(summary_html(&s).contains("1998 users left unjudged"));
    }

    #[test]
    fn every_format_has_the_per_domain_counts_and_the_advice_for_what_is_wrong() {
        let mut s = AuditSummary::default();
        s.add(&row("CN=a"));
        s.add(&AuditRow { class: Some(AuditClass::MustChange), domain: Some("a.test".into()), ..AuditRow::default() });
        let advice = what_to_do(AuditClass::MustChange);
        let md = summary_markdown(&s);
        // Columns worst first: must_change, then in_sync.
        assert!(md.contains("| a.test | 1 | 0 |") && md.contains("| (tenant only) | 0 | 1 |"), "{md}");
        assert!(md.contains("ForcePasswordChangeOnLogOn"), "{md}");
        assert!(summary_text(&s).contains(advice));
        let html = summary_html(&s);
        assert!(html.contains("<td>a.test</td>") && html.contains("ForcePasswordChangeOnLogOn"), "{html}");
        assert!(!summary_text(&s).contains(what_to_do(AuditClass::InSync)), "no advice for what is fine");
    }

    #[test]
    fn the_change_since_an_earlier_audit_is_said() {
        let mut earlier =
            AuditSummary { evaluated_at: Some("2026-12-01T08:00:00Z".parse().unwrap()), ..Default::default() };
        earlier.add(&row("CN=a"));
        let mut s = AuditSummary::default();
        s.add(&AuditRow { class: Some(AuditClass::PasswordNotArrived), ..AuditRow::default() });
        s.compare_with(&earlier);
        let t = summary_text(&s);
        assert!(
            t.contains("Since the audit of 2026-12-01T08:00:00Z: password_not_arrived 1 (+1), in_sync 0 (-1)"),
            "{t}"
        );
    }

    #[test]
    fn a_summary_without_users_says_so_instead_of_empty_tables() {
        let s = AuditSummary::default();
        for out in [summary_text(&s), summary_markdown(&s), summary_html(&s)] {
            assert!(out.contains("No user was judged") && !out.contains("Per domain"), "{out}");
        }
    }

    #[test]
    fn a_hostile_domain_name_cannot_inject_markup_or_escapes() {
        let mut s = AuditSummary::default();
        s.add(&AuditRow {
            class: Some(AuditClass::InSync),
            domain: Some("<script>x</script>|\u{1b}[2J".into()),
            ..AuditRow::default()
        });
        let html = summary_html(&s);
        assert!(!html.contains("<script>") && !html.contains('\u{1b}'), "{html}");
        let md = summary_markdown(&s);
        assert!(!md.contains('\u{1b}') && !md.contains("<script>"), "{md}");
        assert!(!summary_text(&s).contains('\u{1b}'));
    }
}

//! Renderers: the same findings as text for a person, JSON for a machine,
//! Markdown for a ticket, HTML for a report. None of them decides anything;
//! they lay out what the rules said.

pub mod audit;
mod html;
mod json;
mod layout;
mod markdown;
pub mod neutral;
mod text;

pub use json::{to_json, Report, REPORT_SCHEMA_VERSION};
pub use layout::{layout, Section};

use phs_model::Snapshot;
use phs_rules::Diagnosis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Html,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colours; the caller decides (TTY, NO_COLOR).
    pub color: bool,
    /// Show evidence of passing findings too.
    pub verbose: bool,
}

pub fn render(format: Format, snapshot: &Snapshot, diagnosis: &Diagnosis, opts: TextOptions) -> String {
    match format {
        Format::Text => text::render(snapshot, diagnosis, opts),
        Format::Json => to_json(snapshot, diagnosis),
        Format::Markdown => markdown::render(snapshot, diagnosis),
        Format::Html => html::render(snapshot, diagnosis),
    }
}

/// One line per evidence source: what the judgement rests on.
pub fn inputs_summary(snapshot: &Snapshot) -> Vec<String> {
    let s = &snapshot.server;
    let mut out = Vec::new();
    if let Some(c) = &s.config {
        out.push(format!(
            "configuration export {} ({} connectors{})",
            c.path,
            c.connectors.len(),
            c.server_name.as_ref().map_or(String::new(), |n| format!(", server {n}"))
        ));
    }
    if let Some(log) = &s.events {
        for src in &log.sources {
            out.push(format!(
                "event log {} ({} records, {} from Directory Synchronization{})",
                src.path,
                src.records_read,
                src.phs_records,
                match (src.oldest, src.newest) {
                    (Some(o), Some(n)) => format!(", {o} to {n}"),
                    _ => String::new(),
                }
            ));
        }
    }
    if let Some(x) = &s.scheduler {
        out.push(format!("scheduler {}", x.path));
    }
    if let Some(x) = &s.company_features {
        out.push(format!("company features {}", x.path));
    }
    if let Some(rows) = &s.partition_sync_state {
        out.push(format!("partition sync state ({} rows)", rows.len()));
    }
    // The live sources in the checklist's order: the tenant, then AD.
    if let Some(t) = &snapshot.tenant {
        let who = match (&t.signed_in_as, &t.sign_in_error) {
            (Some(who), _) => format!("signed in as {who}"),
            (None, Some(_)) => "sign-in failed".to_owned(),
            (None, None) => "not signed in".to_owned(),
        };
        let read = t.read_at.map(|at| format!(", read at {at}")).unwrap_or_default();
        out.push(format!("Microsoft Entra ID tenant {} through {} ({}, {who}{read})", t.tenant, t.graph_url, t.flow));
    }
    if let Some(ad) = &snapshot.ad {
        let checked = ad.domains.iter().filter(|d| d.not_checked.is_none()).count();
        out.push(format!("Active Directory, live: {checked} of {} domains checked", ad.domains.len()));
    }
    out
}

/// Counts per status, in a fixed order, for summaries.
pub(crate) fn counts(diagnosis: &Diagnosis) -> Vec<(phs_model::Status, usize)> {
    use phs_model::Status::*;
    [Pass, Warn, Fail, Error, Skipped]
        .into_iter()
        .map(|s| (s, diagnosis.findings.iter().filter(|f| f.status == s).count()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use phs_model::{Evidence, Finding, Remediation, Scope, Status, Timestamp};

    /// A diagnosis whose every value came from a hostile evidence folder.
    fn hostile() -> (Snapshot, Diagnosis) {
        let name = "evil\x1b]0;owned\x07\r\n  PASS  PHS004 forged [link](https://x.example) <b>";
        let f = Finding {
            code: "PHS004".into(),
            name: "connector-heartbeat".into(),
            status: Status::Fail,
            scope: Scope::connector(name),
            message: format!("No heartbeat for {name}"),
            evidence: vec![Evidence::new("Newest message", "line1\nline2\x1b[2J\u{9b}31m")],
            remediation: Some(Remediation {
                summary: "Fix *it*".into(),
                commands: vec!["Get-ADSyncConnector -Name 'a```b'\n# injected".into()],
            }),
        };
        let mut snap = Snapshot::new(Timestamp::UNIX_EPOCH);
        snap.problems.push(phs_model::CollectionProblem::whole(
            phs_model::SourceKind::Events,
            "file`\n.xml",
            "bad \x1b[31m",
        ));
        (snap, Diagnosis { evaluated_at: Timestamp::UNIX_EPOCH, findings: vec![f] })
    }

    #[test]
    fn text_shows_no_escape_and_no_forged_line() {
        let (s, d) = hostile();
        let out = render(Format::Text, &s, &d, TextOptions { color: false, verbose: true });
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(!out.lines().any(|l| l.trim_start().starts_with("PASS")), "{out}");
        assert!(out.contains("\\x1B]0;owned\\x07"), "{out}");
        // With colour, the only escapes are our own SGR sequences.
        let coloured = render(Format::Text, &s, &d, TextOptions { color: true, verbose: true });
        for (i, _) in coloured.match_indices('\x1b') {
            let rest = &coloured[i + 1..];
            let sgr = rest.starts_with('[')
                && rest[1..].chars().take_while(|c| *c != 'm').all(|c| c.is_ascii_digit() || c == ';');
            assert!(sgr, "a foreign escape at {i}: {:?}", &coloured[i..(i + 12).min(coloured.len())]);
        }
    }

    #[test]
    fn markdown_shows_no_link_html_heading_or_broken_fence() {
        let (s, d) = hostile();
        let out = render(Format::Markdown, &s, &d, TextOptions::default());
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(!out.contains("[link]("), "{out}");
        assert!(!out.contains("<b>"), "{out}");
        assert!(!out.lines().any(|l| l.starts_with("# injected") || l.trim_start().starts_with("PASS")), "{out}");
        // The command block is fenced with more backticks than the command holds.
        assert!(out.contains("````powershell"), "{out}");
    }

    #[test]
    fn html_stays_escaped() {
        let (s, d) = hostile();
        let out = render(Format::Html, &s, &d, TextOptions::default());
        assert!(!out.contains("<b>") && out.contains("&lt;b&gt;"), "{out}");
    }
}

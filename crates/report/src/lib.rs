//! Renderers: the same findings as text for a person, JSON for a machine,
//! Markdown for a ticket, HTML for a report. None of them decides anything;
//! they lay out what the rules said.

mod html;
mod json;
mod layout;
mod markdown;
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
        out.push(format!("Microsoft Entra ID tenant {} through {} ({}, {who})", t.tenant, t.graph_url, t.flow));
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

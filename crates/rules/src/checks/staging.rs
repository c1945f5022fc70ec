use crate::context::Context;
use crate::registry::Rule;
use phs_model::{Finding, Scope, ScopeKind, SourceKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS002",
    name: "server-not-in-staging-mode",
    scope: ScopeKind::Server,
    title: "The sync server is not in staging mode",
    doc: "\
## What it checks
Staging mode as recorded in the configuration export (global parameter
`Microsoft.Synchronize.StagingMode`) and as reported by the scheduler
(`Get-ADSyncScheduler`, `StagingModeEnabled`). The finding says which source
it used, and flags a disagreement between them.

## Why it matters
A server in staging mode imports and synchronises but exports nothing, and the
password hash sync agent does not run at all. It is the right state for a
standby server and the wrong one for the active server.

## How to fix
If this is meant to be the active server, run the Entra Connect wizard,
Configure staging mode, and clear \"Enable staging mode\". If it is the standby
server, point phs-doctor at the active server's evidence instead.

## Evidence
The export's global parameter and the scheduler's field, each with its file.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-staging-server",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
    ],
    needs: &[],
    check,
};

const STAGING_PARAMETER: &str = "Microsoft.Synchronize.StagingMode";

fn check(cx: &Context) -> Vec<Finding> {
    let server = &cx.snapshot.server;
    let from_export = server.config.as_ref().map(|c| (c.global(STAGING_PARAMETER).map(parse_bool), &c.path));
    let from_scheduler = server.scheduler.as_ref().map(|s| (s.staging_mode_enabled, &s.path));

    if from_export.is_none() && from_scheduler.is_none() {
        let problems: Vec<String> = cx
            .snapshot
            .problems_for(SourceKind::ServerConfig)
            .chain(cx.snapshot.problems_for(SourceKind::Scheduler))
            .filter(|p| !p.partial)
            .map(|p| format!("{}: {}", p.location, p.error))
            .collect();
        let outcome = if problems.is_empty() { Staging::NotSupplied } else { Staging::Unreadable { problems } };
        return vec![outcome.finding(Vec::new())];
    }

    let mut evidence = Vec::new();
    let mut export_says = None;
    if let Some((value, path)) = from_export {
        let shown = match value {
            Some(Some(v)) => v.to_string(),
            Some(None) => "unreadable value".into(),
            None => "parameter absent".into(),
        };
        evidence.push((format!("Export {STAGING_PARAMETER}"), shown, path.clone()));
        export_says = value.flatten();
    }
    let mut scheduler_says = None;
    if let Some((value, path)) = from_scheduler {
        evidence.push((
            "Scheduler StagingModeEnabled".into(),
            value.map_or("absent".into(), |v| v.to_string()),
            path.clone(),
        ));
        scheduler_says = value;
    }
    vec![decide(export_says, scheduler_says).finding(evidence)]
}

/// What the export and the scheduler say, put together.
fn decide(export: Option<bool>, scheduler: Option<bool>) -> Staging {
    match (export, scheduler) {
        (None, None) => Staging::Unstated,
        (Some(false), None) => Staging::Off(Said::Export),
        (None, Some(false)) => Staging::Off(Said::Scheduler),
        (Some(false), Some(false)) => Staging::Off(Said::Both),
        (Some(true), None) | (None, Some(true)) | (Some(true), Some(true)) => Staging::On,
        // The scheduler is read live while the export may be older, so trust it
        // but say that the two disagree.
        (Some(false), Some(true)) => Staging::OnSinceExport,
        (Some(true), Some(false)) => Staging::ExportOlder,
    }
}

/// Which of the two sources said "not in staging mode".
#[derive(Debug, PartialEq)]
enum Said {
    Export,
    Scheduler,
    Both,
}

/// What PHS002 decides, before [`Staging::words`] puts it in words.
#[derive(Debug, PartialEq)]
enum Staging {
    /// Neither file was supplied.
    NotSupplied,
    /// The files given could not be read.
    Unreadable {
        problems: Vec<String>,
    },
    /// The files were read but neither states staging mode.
    Unstated,
    Off(Said),
    On,
    /// The scheduler says staging mode, the export does not.
    OnSinceExport,
    /// The export says staging mode, the scheduler does not.
    ExportOlder,
}

impl Staging {
    fn words(&self) -> (Status, String) {
        match self {
            Staging::NotSupplied => (
                Status::Skipped,
                "No configuration export or scheduler evidence supplied (--server-config, --scheduler).".into(),
            ),
            Staging::Unreadable { problems } => {
                (Status::Error, format!("Could not read staging mode: {}", problems.join("; ")))
            }
            Staging::Unstated => (
                Status::Error,
                "Staging mode could not be read: neither the export nor the scheduler file states it.".to_owned(),
            ),
            Staging::Off(Said::Export) => {
                (Status::Pass, "Not in staging mode (according to the configuration export).".into())
            }
            Staging::Off(Said::Scheduler) => (Status::Pass, "Not in staging mode (according to the scheduler).".into()),
            Staging::Off(Said::Both) => {
                (Status::Pass, "Not in staging mode (the export and the scheduler agree).".into())
            }
            Staging::On => (
                Status::Fail,
                "The server is in staging mode: it exports nothing and password hash synchronization does not run.".into(),
            ),
            Staging::OnSinceExport => (
                Status::Fail,
                "The scheduler reports staging mode although the configuration export does not: staging mode was probably enabled after the export. Password hash synchronization does not run in staging mode.".into(),
            ),
            Staging::ExportOlder => (
                Status::Warn,
                "The configuration export says staging mode but the scheduler says not: the export is probably older than the change. Take a fresh export to confirm.".into(),
            ),
        }
    }

    /// The finding: the words, the evidence as (label, value, file) and the fix.
    fn finding(&self, evidence: Vec<(String, String, String)>) -> Finding {
        let (status, message) = self.words();
        let mut d = RULE.finding(status, Scope::server(), message);
        for (label, value, path) in evidence {
            d = d.evidence_from(&label, value, path);
        }
        if let Staging::On | Staging::OnSinceExport = self {
            d = d.fix(
                "If this is the active server, run the Entra Connect wizard > Configure staging mode and clear \"Enable staging mode\". If it is the standby server, diagnose the active one instead.",
                &["Get-ADSyncScheduler | Select-Object StagingModeEnabled"],
            );
        }
        d.done()
    }
}

/// Whether the export or the scheduler says the server is in staging mode
/// (for the tenant checks: a staging server keeps no tenant fresh).
pub(crate) fn staging_said(cx: &Context) -> bool {
    let server = &cx.snapshot.server;
    let export = server.config.as_ref().and_then(|c| c.global(STAGING_PARAMETER)).and_then(parse_bool);
    let scheduler = server.scheduler.as_ref().and_then(|s| s.staging_mode_enabled);
    export == Some(true) || scheduler == Some(true)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn with(export: Option<&str>, scheduler: Option<bool>) -> Vec<Finding> {
        let mut s = snapshot_with_export();
        match export {
            Some(v) => {
                s.server.config.as_mut().unwrap().global_parameters.insert(STAGING_PARAMETER.into(), v.into());
            }
            None => s.server.config = None,
        }
        s.server.scheduler = scheduler.map(scheduler_state);
        run(&s, check)
    }

    #[test]
    fn pass_from_either_source_or_both() {
        assert_eq!(statuses(&with(Some("False"), None)), [Status::Pass]);
        assert_eq!(statuses(&with(None, Some(false))), [Status::Pass]);
        let f = with(Some("False"), Some(false));
        assert_eq!(statuses(&f), [Status::Pass]);
        assert_eq!(decide(Some(false), Some(false)), Staging::Off(Said::Both));
        assert_eq!(f[0].evidence.len(), 2);
    }

    #[test]
    fn fail_in_staging_mode() {
        assert_eq!(statuses(&with(Some("True"), None)), [Status::Fail]);
        assert_eq!(statuses(&with(None, Some(true))), [Status::Fail]);
    }

    #[test]
    fn disagreement_is_flagged() {
        let f = with(Some("False"), Some(true));
        assert_eq!(statuses(&f), [Status::Fail]);
        assert_eq!(decide(Some(false), Some(true)), Staging::OnSinceExport);
        let f = with(Some("True"), Some(false));
        assert_eq!(statuses(&f), [Status::Warn]);
    }

    #[test]
    fn skipped_without_evidence() {
        assert_eq!(statuses(&with(None, None)), [Status::Skipped]);
    }

    #[test]
    fn error_when_the_parameter_is_unreadable() {
        assert_eq!(statuses(&with(Some("maybe"), None)), [Status::Error]);
    }
}

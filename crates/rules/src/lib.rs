//! The rules: pure functions from a [`Snapshot`] to [`Finding`]s.
//!
//! No I/O, no clock (the evaluation time is an input), no formatting for one
//! output only. [`registry::RULES`] is the single table of codes; each rule's
//! documentation lives beside its check in `checks/`, and knowledge that is
//! data (event IDs, error signatures) lives in `knowledge/`.

/// The documentation the three tenant rules (PHS001, PHS011, PHS012) share,
/// as a literal so each rule's `doc` can `concat!` it: how tenant facts are
/// dated and matched to the server (see `tenant_view`).
macro_rules! tenant_facts_doc {
    () => {
        "\
## How tenant facts are dated and matched to the server
- Dated: a live Graph read records when its answers arrived (`read_at`, by
  the reading machine's clock), and the tenant's times are judged at that
  moment, not at `--now`, `[evaluation] now` or the snapshot's collection
  time. When the evaluation time is more than 30 minutes from the read time,
  the tenant's facts say nothing about the evaluation time: the finding is
  `error` and gives what the read showed. A snapshot from before the read
  time was recorded is judged at its collection time, and says so.
- Clock skew: a tenant time after the read time means the reading machine's
  clock is behind Microsoft's. Up to 5 minutes it is reported and the time
  counts as just now; beyond, the ages cannot be trusted and the check warns.
- Matched: the tenant asked must be the tenant this server writes to. The
  access token's `tid` claim must equal the organization's `id`, a tenant
  asked by domain must be one of the organization's `verifiedDomains`, and
  the domain of the Entra connector account in the configuration export
  (`Sync_<server>_<id>@<tenant>.onmicrosoft.com`, else the connector's
  default name `<tenant>.onmicrosoft.com - AAD`) must be one of them too.
  The organization's name and id are evidence. When they differ, the finding
  is `error`: the facts are another tenant's (PHS001 too when it fell back to
  the server's own view: the configuration names the wrong tenant). When the
  export names a tenant but the verified domains could not be read, no check
  passes either. Without an export the match cannot be made; the evidence
  says so.
- Tenant-wide: Graph's times are the tenant's, not this server's. Another
  Entra Connect server or a Cloud Sync agent can keep them fresh while this
  server is in staging mode or silent; the findings say so."
    };
}

pub mod audit;
mod channel;
mod checks;
pub mod command;
mod context;
mod coverage;
mod finding;
pub mod knowledge;
mod mentions;
mod needs;
pub mod registry;
mod tenant_view;

pub use context::{Context, Settings};
pub use coverage::{is_windowed, COVERAGE_DOC};
pub use registry::{rule, unassigned, Lifecycle, Need, Rule, Unassigned, RULES, UNASSIGNED};

use phs_model::{Finding, Snapshot, Status, Timestamp};
use serde::{Deserialize, Serialize};

/// Every finding of one evaluation, in registry order, plus when it was judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub evaluated_at: Timestamp,
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// The status that speaks for the whole run, by precedence:
    ///
    /// 1. `Fail` when any check failed, even if others could not be evaluated;
    /// 2. `Error` when none failed but something could not be evaluated, or
    ///    when nothing at all could be judged (no findings, or all skipped);
    /// 3. `Warn` when the only problems are warnings;
    /// 4. `Pass` otherwise. Skipped findings do not count either way.
    ///
    /// This is the maximum in [`Status`]'s order; the exit code follows from it.
    pub fn overall(&self) -> Status {
        let worst = self.findings.iter().map(|f| f.status).max().unwrap_or(Status::Skipped);
        if worst == Status::Skipped {
            Status::Error
        } else {
            worst
        }
    }

    /// The exit code of [`Diagnosis::overall`]: 2 a check failed, 3 could not
    /// evaluate (and nothing failed), 1 warnings only, 0 all pass.
    pub fn exit_code(&self) -> i32 {
        self.overall().exit_code()
    }
}

/// Runs every registered rule against the snapshot at the given time.
pub fn evaluate(snapshot: &Snapshot, now: Timestamp, settings: &Settings) -> Diagnosis {
    let cx = Context::new(snapshot, now, settings);
    let findings = RULES.iter().flat_map(|r| r.run(&cx)).collect();
    Diagnosis { evaluated_at: now, findings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phs_model::Scope;

    fn finding(status: Status) -> Finding {
        Finding {
            code: "PHS000".into(),
            name: "test".into(),
            status,
            scope: Scope::server(),
            message: String::new(),
            evidence: Vec::new(),
            remediation: None,
        }
    }

    /// Every set of statuses a run can end with, against the precedence
    /// written out independently of `Status`'s order.
    #[test]
    fn exit_code_precedence_over_every_combination() {
        const ALL: [Status; 5] = [Status::Pass, Status::Warn, Status::Fail, Status::Error, Status::Skipped];
        for mask in 0u32..1 << ALL.len() {
            let present: Vec<Status> = (0..ALL.len()).filter(|i| mask & (1 << i) != 0).map(|i| ALL[i]).collect();
            let has = |s: Status| present.contains(&s);
            let (status, code) = if has(Status::Fail) {
                (Status::Fail, 2)
            } else if has(Status::Error) {
                (Status::Error, 3)
            } else if has(Status::Warn) {
                (Status::Warn, 1)
            } else if has(Status::Pass) {
                (Status::Pass, 0)
            } else {
                // Nothing judged: empty, or skipped only.
                (Status::Error, 3)
            };
            // Twice each, in both orders, so neither position nor count decides.
            let mut findings: Vec<Finding> = present.iter().chain(present.iter().rev()).map(|s| finding(*s)).collect();
            for _ in 0..2 {
                let d = Diagnosis { evaluated_at: Timestamp::UNIX_EPOCH, findings: findings.clone() };
                assert_eq!(d.overall(), status, "{present:?}");
                assert_eq!(d.exit_code(), code, "{present:?}");
                assert_eq!(d.overall().exit_code(), d.exit_code(), "{present:?}");
                findings.reverse();
            }
        }
    }
}

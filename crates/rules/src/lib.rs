//! The rules: pure functions from a [`Snapshot`] to [`Finding`]s.
//!
//! No I/O, no clock (the evaluation time is an input), no formatting for one
//! output only. [`registry::RULES`] is the single table of codes; each rule's
//! documentation lives beside its check in `checks/`, and knowledge that is
//! data (event IDs, error signatures) lives in `knowledge/`.

mod channel;
mod checks;
mod context;
mod coverage;
mod finding;
pub mod knowledge;
pub mod registry;

pub use context::{Context, Settings};
pub use registry::{rule, Rule, RULES};

use phs_model::{Finding, Snapshot, Status, Timestamp};
use serde::{Deserialize, Serialize};

/// Every finding of one evaluation, in registry order, plus when it was judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub evaluated_at: Timestamp,
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// The worst status; `Error` when nothing at all could be judged.
    pub fn overall(&self) -> Status {
        let worst = self.findings.iter().map(|f| f.status).max().unwrap_or(Status::Skipped);
        if worst == Status::Skipped {
            Status::Error
        } else {
            worst
        }
    }

    /// 0 all pass, 1 warnings, 2 failures, 3 could not evaluate.
    pub fn exit_code(&self) -> i32 {
        self.overall().exit_code()
    }
}

/// Runs every registered rule against the snapshot at the given time.
pub fn evaluate(snapshot: &Snapshot, now: Timestamp, settings: &Settings) -> Diagnosis {
    let cx = Context::new(snapshot, now, settings);
    let findings = RULES.iter().flat_map(|r| (r.check)(&cx)).collect();
    Diagnosis { evaluated_at: now, findings }
}

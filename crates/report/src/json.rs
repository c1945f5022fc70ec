//! The JSON report. Its shape is documented in `docs/report-schema.json`;
//! `schema_version` changes whenever a field changes meaning.

use phs_model::{CollectionProblem, Finding, Snapshot, Status, Timestamp};
use phs_rules::Diagnosis;
use serde::{Deserialize, Serialize};

pub const REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub evaluated_at: Timestamp,
    pub collected_at: Timestamp,
    /// The run's status by precedence (`Diagnosis::overall`): fail, then
    /// error (also when nothing could be judged), then warn, then pass.
    pub overall: Status,
    pub exit_code: i32,
    pub summary: Summary,
    /// One line per evidence source used.
    pub inputs: Vec<String>,
    pub findings: Vec<Finding>,
    /// Evidence that was asked for and could not be (fully) read.
    pub problems: Vec<CollectionProblem>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub error: usize,
    pub skipped: usize,
}

pub fn to_json(snapshot: &Snapshot, diagnosis: &Diagnosis) -> String {
    let n = |s: Status| diagnosis.findings.iter().filter(|f| f.status == s).count();
    let report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: "phs-doctor".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        evaluated_at: diagnosis.evaluated_at,
        collected_at: snapshot.collected_at,
        overall: diagnosis.overall(),
        exit_code: diagnosis.exit_code(),
        summary: Summary {
            pass: n(Status::Pass),
            warn: n(Status::Warn),
            fail: n(Status::Fail),
            error: n(Status::Error),
            skipped: n(Status::Skipped),
        },
        inputs: crate::inputs_summary(snapshot),
        findings: diagnosis.findings.clone(),
        problems: snapshot.problems.clone(),
    };
    // Serialising plain data with string keys cannot fail.
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

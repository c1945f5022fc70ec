//! The shipped examples' findings, recorded: a change of a verdict, a
//! message, evidence or a fix shows up here as a reviewed diff. Refactors
//! must leave them identical. After an intended change, record anew with
//! `PHS_DOCTOR_RECORD=1 cargo test -p phs-doctor --test golden` and review
//! the diff of tests/golden/.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn findings_of(config: &str) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
        .args(["diagnose", "--config", config, "--format", "json"])
        .current_dir(repo())
        .env_remove("PHS_DOCTOR_CONFIG")
        .output()
        .expect("run phs-doctor");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    (report["findings"].clone(), out.status.code().unwrap_or(-1))
}

#[test]
fn the_examples_findings_are_as_recorded() {
    for (name, config) in [
        ("two-forest-broken", "examples/two-forest-broken/phs-doctor.toml"),
        ("two-forest-healthy", "examples/two-forest-healthy/phs-doctor.toml"),
    ] {
        let (findings, code) = findings_of(config);
        let recorded = repo().join(format!("tests/golden/{name}.findings.json"));
        let now = serde_json::json!({ "exit_code": code, "findings": findings });
        if std::env::var_os("PHS_DOCTOR_RECORD").is_some() {
            std::fs::write(&recorded, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
            continue;
        }
        let text = std::fs::read_to_string(&recorded)
            .unwrap_or_else(|e| panic!("{}: {e} (record it with PHS_DOCTOR_RECORD=1)", recorded.display()));
        let then: Value = serde_json::from_str(&text).unwrap();
        if then != now {
            let (a, b) = (serde_json::to_string_pretty(&then).unwrap(), serde_json::to_string_pretty(&now).unwrap());
            let first = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
            panic!(
                "{name}: findings differ from {} from line {}:\nrecorded: {}\nnow:      {}",
                recorded.display(),
                first + 1,
                a.lines().nth(first).unwrap_or(""),
                b.lines().nth(first).unwrap_or("")
            );
        }
    }
}

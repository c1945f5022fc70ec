//! End-to-end tests of the phs-doctor binary on real and example evidence.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;
use support::{phs_doctor, repo};

fn json_report(args: &[&str]) -> (Value, i32) {
    let out = phs_doctor(args);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\nstderr: {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code().unwrap_or(-1))
}

/// (code, connector, domain) -> status
fn status_of(report: &Value, code: &str, connector: Option<&str>, domain: Option<&str>) -> String {
    let hits: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["code"] == code
                && f["scope"].get("connector").and_then(Value::as_str) == connector
                && f["scope"].get("domain").and_then(Value::as_str) == domain
        })
        .collect();
    assert_eq!(hits.len(), 1, "{code} {connector:?} {domain:?}: {:#}", report["findings"]);
    hits[0]["status"].as_str().unwrap().to_owned()
}

#[test]
fn contoso_pilot_export_phs_disabled_on_the_connector() {
    let (r, code) =
        json_report(&["diagnose", "--server-config", "tests/fixtures/aadc-config-contoso-pilot", "--format", "json"]);
    assert_eq!(status_of(&r, "PHS003", Some("contoso.com"), None), "fail");
    assert_eq!(status_of(&r, "PHS002", None, None), "pass");
    assert_eq!(code, 2);
    assert_eq!(r["exit_code"], 2);
    let phs003 = r["findings"].as_array().unwrap().iter().find(|f| f["code"] == "PHS003").unwrap();
    assert!(phs003["remediation"]["commands"][0]
        .as_str()
        .unwrap()
        .contains("Set-ADSyncAADPasswordSyncConfiguration -SourceConnector 'contoso.com'"));
}

#[test]
fn every_finding_has_the_documented_fields() {
    let (r, _) =
        json_report(&["diagnose", "--config", "examples/two-forest-broken/phs-doctor.toml", "--format", "json"]);
    for key in ["schema_version", "evaluated_at", "overall", "exit_code", "summary", "inputs", "findings", "problems"] {
        assert!(r.get(key).is_some(), "report lacks {key}");
    }
    for f in r["findings"].as_array().unwrap() {
        for key in ["code", "name", "status", "scope", "message", "evidence", "remediation"] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        assert!(f["scope"]["kind"].is_string());
        if f["scope"]["kind"] == "domain" {
            assert!(f["scope"]["connector"].is_string() && f["scope"]["domain"].is_string());
        }
    }
}

#[test]
fn broken_example_fails_for_the_documented_reasons() {
    let (r, code) =
        json_report(&["diagnose", "--config", "examples/two-forest-broken/phs-doctor.toml", "--format", "json"]);
    assert_eq!(code, 2);
    assert_eq!(status_of(&r, "PHS001", None, None), "pass");
    assert_eq!(status_of(&r, "PHS002", None, None), "pass");
    assert_eq!(status_of(&r, "PHS003", Some("fabrikam.com"), None), "pass");
    assert_eq!(status_of(&r, "PHS003", Some("tailspintoys.com"), None), "pass");
    assert_eq!(status_of(&r, "PHS004", Some("fabrikam.com"), None), "pass");
    assert_eq!(status_of(&r, "PHS004", Some("tailspintoys.com"), None), "fail");
    assert_eq!(status_of(&r, "PHS008", Some("fabrikam.com"), Some("fabrikam.com")), "pass");
    assert_eq!(status_of(&r, "PHS008", Some("fabrikam.com"), Some("emea.fabrikam.com")), "fail");
    // Only 3 errors in the window, but every cycle has failed for 5 hours.
    assert_eq!(status_of(&r, "PHS008", Some("tailspintoys.com"), Some("tailspintoys.com")), "fail");
    assert_eq!(status_of(&r, "PHS009", None, None), "warn");
    assert_eq!(status_of(&r, "PHS010", Some("fabrikam.com"), None), "pass");
    assert_eq!(status_of(&r, "PHS010", Some("tailspintoys.com"), None), "pass");
    assert_eq!(status_of(&r, "PHS016", None, None), "pass");
    assert_eq!(status_of(&r, "PHS015", None, None), "pass");
    let emea = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PHS008" && f["scope"]["domain"] == "emea.fabrikam.com")
        .unwrap();
    assert!(emea["evidence"].to_string().contains("replication-access-denied"));
}

#[test]
fn healthy_example_passes_everything() {
    let (r, code) =
        json_report(&["diagnose", "--config", "examples/two-forest-healthy/phs-doctor.toml", "--format", "json"]);
    // Offline evidence: the live Active Directory and tenant checks say they did not run.
    let live_ad = ["PHS005", "PHS006", "PHS007", "PHS011", "PHS012", "PHS014"];
    for f in r["findings"].as_array().unwrap() {
        let code = f["code"].as_str().unwrap();
        let want = if live_ad.contains(&code) { "skipped" } else { "pass" };
        assert_eq!(f["status"], want, "{f:#}");
    }
    assert_eq!(code, 0);
}

#[test]
fn collect_then_diagnose_snapshot_gives_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snapshot.json");
    let snap_s = snap.to_str().unwrap();
    let out = phs_doctor(&["collect", "--config", "examples/two-forest-broken/phs-doctor.toml", "-o", snap_s]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The administrator sees where it went and what it holds.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&format!("snapshot written to {snap_s}")), "{said}");
    assert!(said.contains("evidence: event log") && said.contains("272 records"), "{said}");
    let (live, live_code) =
        json_report(&["diagnose", "--config", "examples/two-forest-broken/phs-doctor.toml", "--format", "json"]);
    // The snapshot's collection time is the config's `now`, so no --now is needed.
    let (offline, offline_code) = json_report(&["diagnose", "--snapshot", snap_s, "--format", "json"]);
    assert_eq!(live["findings"], offline["findings"]);
    assert_eq!(live["evaluated_at"], offline["evaluated_at"]);
    assert_eq!(live_code, offline_code);
}

#[test]
fn text_is_plain_off_a_terminal_and_with_no_color() {
    let args = ["diagnose", "--config", "examples/two-forest-broken/phs-doctor.toml"];
    let plain = phs_doctor(&args);
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(!text.contains('\x1b'), "ANSI escapes in piped output");
    // Laid out like the troubleshooter: tenant, server, connectors, domains.
    let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s:?} missing in:\n{text}"));
    assert!(pos("Tenant") < pos("Sync server"));
    assert!(pos("Sync server") < pos("AD connector fabrikam.com"));
    assert!(pos("AD connector fabrikam.com") < pos("Domain emea.fabrikam.com"));
    assert!(pos("Domain emea.fabrikam.com") < pos("AD connector tailspintoys.com"));

    let mut forced = args.to_vec();
    forced.extend(["--color", "always"]);
    assert!(String::from_utf8_lossy(&phs_doctor(&forced).stdout).contains('\x1b'));
    let with_no_color = Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
        .args(&forced)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&with_no_color.stdout).contains('\x1b'));
}

#[test]
fn markdown_and_html_carry_the_findings() {
    let md =
        phs_doctor(&["diagnose", "--config", "examples/two-forest-broken/phs-doctor.toml", "--format", "markdown"]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.starts_with("# Password hash synchronization diagnosis"));
    assert!(md.contains("| ❌ fail | PHS008 | fabrikam.com / emea.fabrikam.com |"), "{md}");
    assert!(md.contains("```powershell"));

    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let out = phs_doctor(&[
        "diagnose",
        "--config",
        "examples/two-forest-broken/phs-doctor.toml",
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("PHS004") && html.contains("class=\"s fail\""));
}

#[test]
fn a_bad_file_is_named_and_the_other_sources_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("scheduler.json");
    std::fs::write(&bad, "{ \"StagingModeEnabled\": fals").unwrap();
    let (r, code) = json_report(&[
        "diagnose",
        "--server-config",
        "tests/fixtures/aadc-config-contoso-pilot",
        "--scheduler",
        bad.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0]["location"].as_str().unwrap().ends_with("scheduler.json"));
    assert_eq!(problems[0]["source"], "scheduler");
    // The export still judged staging mode and the connector.
    assert_eq!(status_of(&r, "PHS002", None, None), "pass");
    assert_eq!(status_of(&r, "PHS003", Some("contoso.com"), None), "fail");
    assert_eq!(code, 2);
}

#[test]
fn nothing_evaluable_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("features.json");
    std::fs::write(&bad, "not json").unwrap();
    let (r, code) = json_report(&["diagnose", "--company-features", bad.to_str().unwrap(), "--format", "json"]);
    assert_eq!(status_of(&r, "PHS001", None, None), "error");
    assert_eq!(code, 3);
    // No evidence at all is a usage error, also 3.
    let out = phs_doctor(&["diagnose"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no evidence given"));
}

#[test]
fn now_fixes_the_evaluation_time() {
    // An hour before the example's evaluation time the tailspin heartbeat was
    // still within the 3 h window (last one about 5 h before 12:00).
    let (r, _) = json_report(&[
        "diagnose",
        "--config",
        "examples/two-forest-broken/phs-doctor.toml",
        "--now",
        "2026-11-24T09:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(r["evaluated_at"], "2026-11-24T09:00:00Z");
    assert_eq!(status_of(&r, "PHS004", Some("tailspintoys.com"), None), "pass");
    let out = phs_doctor(&["diagnose", "--server-config", "x", "--now", "yesterday"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

#[test]
fn explain_documents_every_code() {
    let out = phs_doctor(&["explain"]);
    let list = String::from_utf8_lossy(&out.stdout);
    for code in [
        "PHS001", "PHS002", "PHS003", "PHS004", "PHS005", "PHS006", "PHS007", "PHS008", "PHS009", "PHS010", "PHS014",
        "PHS015", "PHS016",
    ] {
        assert!(list.contains(code), "{code} not listed");
        let one = phs_doctor(&["explain", code]);
        assert!(one.status.success());
        let doc = String::from_utf8_lossy(&one.stdout);
        assert!(
            doc.contains("## What it checks") && doc.contains("## How to fix") && doc.contains("https://"),
            "{doc}"
        );
        // The windowed rules carry the coverage rules; the others do not.
        let windowed = WINDOWED.contains(&code);
        assert_eq!(doc.contains("## Evidence coverage"), windowed, "{code}");
    }
    let lifecycle = String::from_utf8_lossy(&phs_doctor(&["explain", "PHS015"]).stdout).into_owned();
    assert!(lifecycle.contains("server-versions.toml"), "{lifecycle}");
    let unknown = phs_doctor(&["explain", "PHS999"]);
    assert_eq!(unknown.status.code(), Some(3));
}

/// A code without a rule is listed and explained, not "no rule".
#[test]
fn explain_says_why_a_code_has_no_rule() {
    let list = String::from_utf8_lossy(&phs_doctor(&["explain"]).stdout).into_owned();
    assert!(list.lines().any(|l| l.trim() == "PHS013  (reserved)"), "{list}");
    let one = phs_doctor(&["explain", "phs013"]);
    assert!(one.status.success());
    let text = String::from_utf8_lossy(&one.stdout);
    assert!(text.starts_with("PHS013 is reserved: Never assigned to a rule"), "{text}");
    // A rule's needs are part of its explanation.
    let heartbeat = String::from_utf8_lossy(&phs_doctor(&["explain", "PHS004"]).stdout).into_owned();
    assert!(
        heartbeat.contains(
            "Needs: the Application event log, the configuration export, password hash sync enabled on the connector."
        ),
        "{heartbeat}"
    );
}

#[test]
fn snapshot_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    std::fs::write(&p, r#"{"schema_version": 99}"#).unwrap();
    let out = phs_doctor(&["diagnose", "--snapshot", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema version 99"));
}

#[test]
fn no_arguments_off_a_terminal_does_not_hang() {
    let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor")).stdin(std::process::Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not on a terminal"));
}

/// The windowed rules: what coverage decides.
const WINDOWED: &[&str] = &["PHS004", "PHS008", "PHS009", "PHS010", "PHS016"];

fn windowed(r: &Value) -> Vec<(String, String)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| WINDOWED.iter().any(|c| f["code"] == *c))
        .map(|f| (f["code"].as_str().unwrap().to_owned(), f["status"].as_str().unwrap().to_owned()))
        .collect()
}

/// The healthy example's evidence by flags, without its config (so without
/// `gathered_at` or `now`).
const HEALTHY: &[&str] = &[
    "--server-config",
    "examples/two-forest-healthy/server-config",
    "--events",
    "examples/two-forest-healthy/events/Application.xml",
    "--partition-sync-state",
    "examples/two-forest-healthy/partition-sync-state.json",
    "--format",
    "json",
];

#[test]
fn healthy_evidence_judged_hours_after_its_export_passes_no_windowed_check() {
    // The common case: diagnose run later, without --now. The example's log
    // ends at 11:50:50.
    for now in ["2026-11-24T13:00:00Z", "2026-11-25T09:00:00Z", "2026-12-24T12:00:00Z"] {
        let mut args = vec!["diagnose"];
        args.extend_from_slice(HEALTHY);
        args.extend_from_slice(&["--now", now]);
        let (r, code) = json_report(&args);
        for (rule, status) in windowed(&r) {
            assert_eq!(status, "error", "{rule} at {now}");
        }
        assert_eq!(code, 3, "nothing failed, something could not be evaluated");
    }
}

#[test]
fn the_export_time_closes_the_quiet_tail_of_the_log() {
    // 11:50:50 is the last record; at 12:00 that is 9 minutes of silence.
    let mut args = vec!["diagnose"];
    args.extend_from_slice(HEALTHY);
    args.extend_from_slice(&["--now", "2026-11-24T12:00:00Z"]);
    let (r, _) = json_report(&args);
    assert!(windowed(&r).iter().all(|(_, s)| s == "error"), "{:?}", windowed(&r));
    // The example's config records when it was gathered: then they pass.
    let (r, code) =
        json_report(&["diagnose", "--config", "examples/two-forest-healthy/phs-doctor.toml", "--format", "json"]);
    assert!(windowed(&r).iter().all(|(_, s)| s == "pass"), "{:?}", windowed(&r));
    assert_eq!(code, 0);
}

#[test]
fn without_now_the_gather_time_is_the_evaluation_time() {
    let dir = tempfile::tempdir().unwrap();
    let ex = repo().join("examples/two-forest-healthy");
    let cfg = dir.path().join("phs-doctor.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nconfig_dir = {:?}\nevents = [{:?}]\npartition_sync_state = {:?}\ngathered_at = \"2026-11-24T12:00:00Z\"\n",
            ex.join("server-config"),
            ex.join("events/Application.xml"),
            ex.join("partition-sync-state.json")
        ),
    )
    .unwrap();
    let (r, code) = json_report(&["diagnose", "--trust-config", "--config", cfg.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r["evaluated_at"], "2026-11-24T12:00:00Z");
    assert!(windowed(&r).iter().all(|(_, s)| s == "pass"), "{:?}", windowed(&r));
    assert_eq!(code, 0);
}

#[test]
fn a_now_days_before_the_end_of_the_log_works() {
    // 08:00: tailspintoys.com's last heartbeat (06:58) is within 3 h, and no
    // domain error has happened yet. The log reaches back to 04:01.
    let (r, _) = json_report(&[
        "diagnose",
        "--config",
        "examples/two-forest-broken/phs-doctor.toml",
        "--now",
        "2026-11-24T08:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(status_of(&r, "PHS004", Some("tailspintoys.com"), None), "pass");
    assert_eq!(status_of(&r, "PHS008", Some("fabrikam.com"), Some("emea.fabrikam.com")), "pass");
    // The records after 08:00 are set aside and said so.
    assert!(r["problems"].to_string().contains("dated after the evaluation time"), "{}", r["problems"]);
}

#[test]
fn a_record_from_the_future_is_set_aside_and_evicts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::read_to_string(repo().join("examples/two-forest-broken/events/Application.xml")).unwrap();
    // A forged heartbeat for the silent forest, dated next year: it must not
    // count, and must not push the real week out of the retention window.
    let forged = log
        .lines()
        .find(|l| l.contains(">654<") && l.contains("e83ffdad"))
        .unwrap()
        .replace("2026-11-24T", "2027-11-24T");
    let path = dir.path().join("Application.xml");
    std::fs::write(&path, format!("{log}\r\n{forged}\r\n")).unwrap();
    let ex = "examples/two-forest-broken";
    let (r, code) = json_report(&[
        "diagnose",
        "--server-config",
        &format!("{ex}/server-config"),
        "--events",
        path.to_str().unwrap(),
        "--partition-sync-state",
        &format!("{ex}/partition-sync-state.json"),
        "--now",
        "2026-11-24T12:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2);
    assert_eq!(status_of(&r, "PHS004", Some("tailspintoys.com"), None), "fail");
    assert_eq!(status_of(&r, "PHS004", Some("fabrikam.com"), None), "pass");
    assert_eq!(status_of(&r, "PHS008", Some("fabrikam.com"), Some("emea.fabrikam.com")), "fail");
    let problems = r["problems"].to_string();
    assert!(problems.contains("1 record dated after the evaluation time"), "{problems}");
    assert!(problems.contains("2027-11-24"), "{problems}");
}

/// A config for the healthy example's export with `extra` sections, in a
/// temporary folder (kept alive by the returned guard).
fn config_with(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let export = repo().join("examples/two-forest-healthy/server-config");
    let path = dir.path().join("phs-doctor.toml");
    std::fs::write(&path, format!("[server]\nconfig_dir = {:?}\n\n{extra}", export.to_str().unwrap())).unwrap();
    (dir, path)
}

/// Everything a run shows or writes: `collect`'s snapshot and terminal
/// output, and `diagnose` in JSON and text.
fn everything_written(config: &Path) -> String {
    let snapshot = config.with_file_name("snapshot.json");
    let (config, snap) = (config.to_str().unwrap(), snapshot.to_str().unwrap());
    let mut all = String::new();
    for args in [
        // The analyst's own config: its [ad] and [graph] are used.
        &["collect", "--trust-config", "--config", config, "-o", snap][..],
        &["diagnose", "--trust-config", "--config", config, "--format", "json"],
        &["diagnose", "--trust-config", "--config", config, "--verbose"],
    ] {
        let out = phs_doctor(args);
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    all.push_str(&std::fs::read_to_string(&snapshot).unwrap());
    all
}

#[test]
fn a_secret_typed_as_a_variable_name_is_never_echoed() {
    for (extra, secret, setting) in [
        (
            "[ad.connector.\"fabrikam.com\"]\npassword_env = \"Fabr!kam-Sync#2026\"\n",
            "Fabr!kam-Sync#2026",
            "[ad.connector.\\\"fabrikam.com\\\"] password_env must be the name of an environment variable",
        ),
        ("[ad.connector.\"tailspintoys.com\"]\npassword_env = \"9lives\"\n", "9lives", "password_env must be the name"),
        (
            "[graph]\ntenant_id = \"fabrikam.onmicrosoft.com\"\nclient_id = \"2b9e4c71-8d05-4f3a-b6e2-91c7d0a5f384\"\n\
             flow = \"client-secret\"\nclient_secret_env = \"Qx8~AbC.dEf-gh\"\n",
            "Qx8~AbC.dEf-gh",
            "[graph] client_secret_env must be the name of an environment variable",
        ),
    ] {
        let (_dir, config) = config_with(extra);
        let written = everything_written(&config);
        assert!(!written.contains(secret), "{secret} was echoed:\n{written}");
        assert!(written.contains(setting), "the setting is not named ({setting}):\n{written}");
    }
}

#[cfg(unix)]
#[test]
fn unsafe_password_files_leave_the_domains_unchecked_and_say_why() {
    use std::os::unix::fs::PermissionsExt;
    const PASSWORD: &str = "Fabr1kam-Sync-Passw0rd";
    let (dir, config) = config_with("");
    let open = dir.path().join("open.pw");
    std::fs::write(&open, format!("{PASSWORD}\n")).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let private = dir.path().join("private.pw");
    std::fs::write(&private, format!("{PASSWORD}\n")).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("link.pw");
    std::os::unix::fs::symlink(&private, &link).unwrap();
    let fifo = dir.path().join("fifo.pw");
    assert!(Command::new("mkfifo").arg("-m600").arg(&fifo).status().unwrap().success());
    for (file, why) in [
        (&open, "group or others have access (mode 644): refused; chmod 600 it"),
        (&link, "a symbolic link: refused"),
        (&fifo, "not a regular file (a FIFO): refused"),
    ] {
        let mut toml = std::fs::read_to_string(&config).unwrap();
        for connector in ["fabrikam.com", "tailspintoys.com"] {
            toml.push_str(&format!("[ad.connector.{connector:?}]\npassword_file = {:?}\n", file.to_str().unwrap()));
        }
        let this = dir.path().join(format!("{}.toml", file.file_name().unwrap().to_str().unwrap()));
        std::fs::write(&this, toml).unwrap();
        let written = everything_written(&this);
        assert!(!written.contains(PASSWORD), "the password was echoed:\n{written}");
        let snapshot: Value =
            serde_json::from_str(&std::fs::read_to_string(this.with_file_name("snapshot.json")).unwrap()).unwrap();
        let domains = snapshot["ad"]["domains"].as_array().expect("AD facts");
        assert!(!domains.is_empty());
        for d in domains {
            let not_checked = d["not_checked"].as_str().unwrap_or_else(|| panic!("{d:#}"));
            assert!(not_checked.contains(why), "{why}: {not_checked}");
            assert!(not_checked.contains(file.to_str().unwrap()), "{not_checked}");
        }
    }
}

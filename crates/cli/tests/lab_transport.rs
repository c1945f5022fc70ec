//! End to end against the Samba lab (lab/README.md): which DC the live AD
//! checks use when one stays silent, and how weak transports are reported.
//! Run inside the lab's namespace, as scripts/test.sh does:
//!
//!     ip netns exec phslab cargo test -p phs-doctor --test lab_transport -- --ignored

mod support;

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const LAB1: &str = "lab1.example.test";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lab() {
    let path = repo().join(".lab/lab.json");
    assert!(path.exists(), "{}: missing; start the lab with `lab/lab.sh up`", path.display());
    if TcpStream::connect_timeout(&"127.0.0.2:389".parse().unwrap(), Duration::from_secs(2)).is_err() {
        panic!("the lab DC 127.0.0.2 does not answer: run inside `ip netns exec phslab` with the lab up");
    }
}

/// Lab evidence (lab/make-evidence.py), with `extra` lines added to `[ad]`.
fn evidence(dir: &Path, args: &[&str], extra: &[&str]) -> PathBuf {
    let out =
        Command::new("python3").arg(repo().join("lab/make-evidence.py")).arg(dir).args(args).output().expect("python3");
    assert!(out.status.success(), "make-evidence: {}", String::from_utf8_lossy(&out.stderr));
    let config = dir.join("phs-doctor.toml");
    let text = std::fs::read_to_string(&config).expect("read the config");
    assert!(text.contains("\n[ad]\n"), "no [ad] section in {text}");
    let text = text.replacen("\n[ad]\n", &format!("\n[ad]\n{}\n", extra.join("\n")), 1);
    std::fs::write(&config, text).expect("write the config");
    config
}

/// The AD rules' JSON report, and stderr.
fn diagnose(args: &[&str], extra: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence(dir.path(), args, extra);
    let out: Output = Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
        .args(["diagnose", "--config", config.to_str().unwrap(), "--rules", "PHS005,PHS006,PHS007", "--format", "json"])
        .output()
        .expect("run phs-doctor");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (report, stderr)
}

fn finding<'a>(report: &'a Value, code: &str) -> &'a Value {
    support::finding(report, code, &[("domain", LAB1)])
}

fn status(report: &Value, code: &str) -> String {
    finding(report, code)["status"].as_str().unwrap().to_owned()
}

fn said(report: &Value, code: &str) -> String {
    let f = finding(report, code);
    format!("{} {}", f["message"], f["evidence"])
}

/// A "DC" at `addr` that accepts TCP on 389 and 636 and never answers.
fn silent_dc(addr: &str) -> Vec<TcpListener> {
    let listeners: Vec<TcpListener> = [389, 636]
        .iter()
        .map(|p| TcpListener::bind(format!("{addr}:{p}")).unwrap_or_else(|e| panic!("bind {addr}:{p}: {e}")))
        .collect();
    // Accepted connections are kept open by the backlog; nothing reads them.
    listeners
}

#[test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
fn a_silent_dc_listed_first_is_passed_over_and_named() {
    lab();
    let _silent = silent_dc("127.0.0.71");
    let (r, _) = diagnose(&["--forest", "lab1", "--dcs", "lab1:127.0.0.71,dc1.lab1.example.test"], &[]);
    // The healthy DC did the work: credentials and rights are judged.
    assert_eq!(status(&r, "PHS006"), "pass", "{}", said(&r, "PHS006"));
    assert_eq!(status(&r, "PHS007"), "pass", "{}", said(&r, "PHS007"));
    assert_eq!(status(&r, "PHS005"), "warn", "{}", said(&r, "PHS005"));
    let why = said(&r, "PHS005");
    assert!(why.contains("127.0.0.71: accepts TCP but does not answer LDAP"), "{why}");
    assert!(why.contains("timed out after 5 s"), "the operation timeout, not the connect timeout: {why}");
    assert!(why.contains("LDAP went to dc1.lab1.example.test (127.0.0.2)"), "{why}");
    assert!(why.contains("LDAP passed over") && why.contains("127.0.0.71"), "{why}");
}

#[test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
fn every_dc_silent_is_no_ldap_and_no_verdict_on_the_password() {
    lab();
    let _a = silent_dc("127.0.0.72");
    let _b = silent_dc("127.0.0.73");
    let (r, _) = diagnose(&["--forest", "lab1", "--dcs", "lab1:127.0.0.72,127.0.0.73"], &[]);
    assert_eq!(status(&r, "PHS005"), "fail");
    let why = said(&r, "PHS005");
    assert!(!why.contains("LDAP answers"), "no rootDSE was read: {why}");
    assert!(why.contains("127.0.0.72: accepts TCP but does not answer LDAP"), "{why}");
    assert!(why.contains("127.0.0.73: accepts TCP but does not answer LDAP"), "{why}");
    assert_eq!(status(&r, "PHS006"), "skipped", "{}", said(&r, "PHS006"));
    assert!(said(&r, "PHS006").contains("answered LDAP"), "{}", said(&r, "PHS006"));
}

#[test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
fn plain_ldap_is_a_warning_and_said_on_stderr() {
    lab();
    let (r, stderr) = diagnose(&["--forest", "lab1"], &["allow_plain_ldap = true"]);
    assert_eq!(status(&r, "PHS006"), "warn", "{}", said(&r, "PHS006"));
    let f = finding(&r, "PHS006");
    assert!(f["message"].as_str().unwrap().contains("plain LDAP"), "{}", f["message"]);
    let transport = f["evidence"].as_array().unwrap().iter().find(|e| e["label"] == "Transport").expect("transport");
    assert!(transport["value"].as_str().unwrap().starts_with("ldap to dc1.lab1.example.test"), "{transport}");
    assert!(stderr.contains("WARNING") && stderr.contains("plain LDAP"), "{stderr}");
    // The rights are still read (the bind worked).
    assert_eq!(status(&r, "PHS007"), "pass");
}

#[test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
fn unverified_tls_is_a_warning_and_said_on_stderr() {
    lab();
    let (r, stderr) = diagnose(&["--forest", "lab1"], &["tls_verify = false"]);
    assert_eq!(status(&r, "PHS006"), "warn", "{}", said(&r, "PHS006"));
    let why = said(&r, "PHS006");
    assert!(why.contains("without certificate verification"), "{why}");
    assert!(why.contains("ldaps to dc1.lab1.example.test"), "{why}");
    assert!(stderr.contains("WARNING") && stderr.contains("tls_verify = false"), "{stderr}");

    // With verification (the default) the same bind is a plain pass.
    let (r, stderr) = diagnose(&["--forest", "lab1"], &[]);
    assert_eq!(status(&r, "PHS006"), "pass", "{}", said(&r, "PHS006"));
    assert!(!stderr.contains("WARNING"), "{stderr}");
}

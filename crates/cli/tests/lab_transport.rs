//! End to end against the Samba lab (lab/README.md): which DC the live AD
//! checks use when one stays silent, and how weak transports are reported.
//! Run inside the lab's namespace, as scripts/test.sh does:
//!
//!     ip netns exec phslab cargo test -p phs-doctor --test lab_transport -- --ignored
//!
//! Some tests change the lab for a moment (an nftables drop rule, an SRV
//! record); every test holds [`LAB`] so none sees another's change, and each
//! change is undone when its test ends, also on failure.

mod support;

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const LAB1: &str = "lab1.example.test";

static LAB: Mutex<()> = Mutex::new(());

/// This binary's turn at the lab (a failed test before does not stop the others).
fn turn() -> MutexGuard<'static, ()> {
    LAB.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

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
        .args([
            "diagnose",
            "--trust-config",
            "--config",
            config.to_str().unwrap(),
            "--rules",
            "PHS005,PHS006,PHS007",
            "--format",
            "json",
        ])
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
    let _turn = turn();
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
    let _turn = turn();
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
    let _turn = turn();
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
    let _turn = turn();
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

/// An nftables table of its own that drops TCP to `ip` on `port` (a
/// filtering firewall: no answer at all), deleted when dropped.
struct Dropped(String);

impl Dropped {
    fn tcp(ip: &str, port: u16) -> Dropped {
        use std::io::Write;
        let name = format!("phs_transport_test_{}", std::process::id());
        let rules = format!(
            "table inet {name} {{\n chain output {{\n  type filter hook output priority -10; policy accept;\n  \
             ip daddr {ip} tcp dport {port} drop\n }}\n}}\n"
        );
        let mut nft =
            Command::new("nft").args(["-f", "-"]).stdin(std::process::Stdio::piped()).spawn().expect("run nft");
        nft.stdin.take().expect("stdin").write_all(rules.as_bytes()).expect("write the rules");
        assert!(nft.wait().expect("nft").success(), "nft -f failed: {rules}");
        Dropped(name)
    }
}

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = Command::new("nft").args(["delete", "table", "inet", &self.0]).status();
    }
}

#[test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
fn port_389_filtered_while_636_answers_is_a_warning() {
    let _turn = turn();
    lab();
    let (r, _) = {
        let _fault = Dropped::tcp("127.0.0.2", 389);
        diagnose(&["--forest", "lab1"], &[])
    };
    assert!(
        TcpStream::connect_timeout(&"127.0.0.2:389".parse().unwrap(), Duration::from_secs(2)).is_ok(),
        "389 answers again after the test"
    );
    assert_eq!(status(&r, "PHS005"), "warn", "{}", said(&r, "PHS005"));
    let why = said(&r, "PHS005");
    assert!(why.contains("LDAP 389 closed (timed out after 2 s) while LDAPS 636 answers"), "{why}");
    assert!(why.contains("rootDSE read over ldaps"), "the rootDSE came over 636: {why}");
    // The bind went over LDAPS, verified, and the rights were read.
    assert_eq!(status(&r, "PHS006"), "pass", "{}", said(&r, "PHS006"));
    assert!(said(&r, "PHS006").contains("ldaps to dc1.lab1.example.test"), "{}", said(&r, "PHS006"));
    assert_eq!(status(&r, "PHS007"), "pass");
}

/// An SRV record added to lab1's `_msdcs` zone, deleted when dropped. The
/// Administrator password goes to samba-tool in its environment (PASSWD),
/// not on the command line.
struct SrvRecord {
    password: String,
    data: String,
}

impl SrvRecord {
    fn samba_tool(&self, verb: &str) -> std::process::Output {
        Command::new("samba-tool")
            .args(["dns", verb, "127.0.0.2", "_msdcs.lab1.example.test", "_ldap._tcp.dc", "SRV", &self.data])
            .args(["-U", "Administrator", "--use-kerberos=off"])
            .env("PASSWD", &self.password)
            .output()
            .expect("run samba-tool")
    }

    fn add(target: &str) -> SrvRecord {
        let facts: Value =
            serde_json::from_str(&std::fs::read_to_string(repo().join(".lab/lab.json")).unwrap()).unwrap();
        let password = facts["forests"]["lab1"]["admin"]["password"].as_str().unwrap().to_owned();
        let record = SrvRecord { password, data: format!("{target} 389 0 100") };
        let out = record.samba_tool("add");
        assert!(out.status.success(), "samba-tool dns add: {}", String::from_utf8_lossy(&out.stderr));
        record
    }
}

impl Drop for SrvRecord {
    fn drop(&mut self) {
        let _ = self.samba_tool("delete");
    }
}

#[test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
fn a_dc_from_dns_outside_the_domain_suffix_is_flagged() {
    let _turn = turn();
    lab();
    let id = std::process::id();
    for target in [format!("dc-{id}.elsewhere.test"), format!("dc1.lab1.example.test.x{id}.test")] {
        let (r, _) = {
            let _record = SrvRecord::add(&target);
            diagnose(&["--forest", "lab1"], &[])
        };
        let why = said(&r, "PHS005");
        assert_eq!(status(&r, "PHS005"), "warn", "{why}");
        assert!(why.contains(&format!("{target} is outside the domain's DNS suffix {LAB1}")), "{why}");
        assert!(why.contains("disjoint namespace"), "{why}");
        // The real DC still did the work.
        assert_eq!(status(&r, "PHS006"), "pass", "{}", said(&r, "PHS006"));
    }
    // Without the record, the same run is clean.
    let (r, _) = diagnose(&["--forest", "lab1"], &[]);
    assert_eq!(status(&r, "PHS005"), "pass", "{}", said(&r, "PHS005"));
}

//! `phs-doctor user` against the real Samba lab: each seeded user state
//! (lab/README.md) looked up live over the connector account's bind, with
//! that user's sync engine objects written by lab/make-evidence.py, and the
//! verdict and its cause checked. Run inside the lab's network namespace:
//!
//!     ip netns exec phslab cargo test -p phs-doctor --test user_lab -- --ignored

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const NEEDS_LAB: &str = "needs the Samba lab (scripts/test.sh runs it)";

/// Evidence for lab1 with OU=Excluded left out of scope, and `user`'s
/// objects in `state` (None: no cmdlet files).
fn evidence(dir: &Path, user: Option<(&str, &str)>) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg(support::repo().join("lab/make-evidence.py")).arg(dir).args([
        "--forest",
        "lab1",
        "--exclude",
        "lab1:OU=Excluded",
    ]);
    if let Some((name, state)) = user {
        cmd.args(["--user", &format!("lab1:{name}:{state}")]);
    }
    let out = cmd.output().expect("python3");
    assert!(out.status.success(), "make-evidence: {}", String::from_utf8_lossy(&out.stderr));
    dir.join("phs-doctor.toml").display().to_string()
}

/// The user report for `identity`, and the exit code.
fn user(identity: &str, objects: Option<(&str, &str)>) -> (Value, i32) {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence(dir.path(), objects);
    let out = support::phs_doctor(&["user", identity, "--trust-config", "--config", &config, "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{NEEDS_LAB}: not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out.status.code().unwrap_or(-1))
}

fn finding<'a>(r: &'a Value, code: &str) -> &'a Value {
    let f: Vec<&Value> = r["findings"].as_array().unwrap().iter().filter(|f| f["code"] == code).collect();
    assert_eq!(f.len(), 1, "{code}: {r:#}");
    f[0]
}

fn status(r: &Value, code: &str) -> String {
    finding(r, code)["status"].as_str().unwrap().to_owned()
}

fn says(r: &Value, code: &str, what: &str) {
    let f = finding(r, code);
    let text = format!("{} {}", f["message"], f["evidence"]);
    assert!(text.contains(what), "{code} should say {what:?}: {f:#}");
}

#[test]
#[ignore = "needs the Samba lab"]
fn a_normal_user_passes_every_check_the_lab_can_answer() {
    for identity in ["alice@lab1.example.test", "LAB1\\alice", "CN=alice,OU=Staff,DC=lab1,DC=example,DC=test"] {
        let (r, code) = user(identity, Some(("alice", "joined")));
        for c in ["PHS017", "PHS018", "PHS019", "PHS020", "PHS021", "PHS022", "PHS023", "PHS024"] {
            assert_eq!(status(&r, c), "pass", "{identity} {c}: {:#}", finding(&r, c));
        }
        // The tenant was not asked: said, not passed.
        assert_eq!(status(&r, "PHS025"), "skipped");
        assert_eq!(code, 0, "{identity}");
    }
}

#[test]
#[ignore = "needs the Samba lab"]
fn each_seeded_state_is_named_as_what_it_is() {
    let (r, _) = user("LAB1\\carol", None);
    assert_eq!(status(&r, "PHS018"), "fail");
    says(&r, "PHS018", "disabled");
    let (r, _) = user("LAB1\\erin", None);
    assert_eq!(status(&r, "PHS018"), "warn");
    says(&r, "PHS018", "expired");
    let (r, _) = user("LAB1\\svc-locked", None);
    assert_eq!(status(&r, "PHS018"), "warn");
    says(&r, "PHS018", "locked out");
    // Must change at next logon: PHS023's case, and no "expired password" in PHS018.
    let (r, _) = user("LAB1\\bob", None);
    assert_eq!(status(&r, "PHS018"), "pass", "{:#}", finding(&r, "PHS018"));
    assert_ne!(status(&r, "PHS023"), "pass");
    says(&r, "PHS023", "must change");
    let (r, _) = user("LAB1\\gina", None);
    assert_eq!(status(&r, "PHS019"), "fail");
    says(&r, "PHS019", "OU=Excluded");
    let (r, _) = user("LAB1\\hank", None);
    assert_eq!(status(&r, "PHS019"), "fail");
    says(&r, "PHS019", "adminDescription NOTSTARTSWITH User_");
    // inetOrgPerson is a user to Entra Connect, and in scope.
    let (r, _) = user("LAB1\\frank", None);
    assert_eq!(status(&r, "PHS017"), "pass");
    says(&r, "PHS017", "inetOrgPerson");
    assert_eq!(status(&r, "PHS019"), "pass");
}

#[test]
#[ignore = "needs the Samba lab"]
fn a_moved_user_is_joined_by_guid_not_by_the_old_dn() {
    let (r, _) = user("LAB1\\ivan", Some(("ivan", "moved")));
    assert_eq!(status(&r, "PHS017"), "pass");
    says(&r, "PHS017", "OU=Moved");
    assert_eq!(status(&r, "PHS020"), "pass", "{:#}", finding(&r, "PHS020"));
}

#[test]
#[ignore = "needs the Samba lab"]
fn sync_engine_breaks_are_named() {
    for (state, code, what) in [
        ("disconnector", "PHS020", "disconnector"),
        ("cloudfiltered", "PHS020", "cloudFiltered"),
        ("absent", "PHS020", "not in the AD connector space"),
        ("no-password-rule", "PHS021", "outbound"),
        ("export-error", "PHS022", "AttributeValueMustBeUnique"),
        ("filtered-by-target", "PHS024", "FilteredByTarget"),
    ] {
        let (r, code_) = user("LAB1\\alice", Some(("alice", state)));
        assert_eq!(status(&r, code), "fail", "{state}: {:#}", finding(&r, code));
        says(&r, code, what);
        assert_eq!(code_, 2, "{state}");
    }
    let (r, _) = user("LAB1\\alice", Some(("alice", "pending-export")));
    assert_eq!(status(&r, "PHS022"), "warn");
}

#[test]
#[ignore = "needs the Samba lab"]
fn a_missing_user_is_a_finding_with_near_matches() {
    let (r, code) = user("LAB1\\alicia", None);
    assert_eq!(status(&r, "PHS017"), "fail");
    says(&r, "PHS017", "alice");
    assert_eq!(status(&r, "PHS018"), "skipped");
    assert_eq!(code, 2);
}

#[test]
#[ignore = "needs the Samba lab"]
fn collect_user_then_user_snapshot_gives_the_same_findings_and_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence(dir.path(), Some(("alice", "joined")));
    let snap = dir.path().join("snap.json");
    let out = support::phs_doctor(&[
        "collect",
        "--user",
        "LAB1\\alice",
        "--trust-config",
        "--config",
        &config,
        "-o",
        snap.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{NEEDS_LAB}: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&snap).unwrap();
    let password = std::fs::read_to_string(dir.path().join("lab1.password")).unwrap();
    assert!(!text.contains(password.trim()), "the connector password is in the snapshot");
    let offline = support::phs_doctor(&["user", "--snapshot", snap.to_str().unwrap(), "--format", "json"]);
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
    let snapshot: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(snapshot["user"]["ad"]["found"][0]["sam_account_name"], "alice");
    let f = |r: &Value| {
        r["findings"].as_array().unwrap().iter().map(|f| (f["code"].clone(), f["status"].clone())).collect::<Vec<_>>()
    };
    let (live, _) = user("LAB1\\alice", Some(("alice", "joined")));
    assert_eq!(f(&live), f(&offline));
}

//! `phs-doctor user` against the real Samba lab: each seeded user state
//! (lab/README.md) looked up live over the connector account's bind, with
//! that user's sync engine objects written by lab/make-evidence.py, and the
//! verdict and its cause checked. Run inside the lab's network namespace:
//!
//!     ip netns exec phslab cargo test -p phs-doctor --test user_lab -- --ignored

mod support;

use serde_json::{json, Value};
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

/// The lab's users in the Graph stand-in's tenant, as Graph would show them.
fn cloud(
    lab: &Value,
    sam: &str,
    immutable_id: Option<&str>,
    changed: &str,
    errors: &'static [(&str, &str, &str, &str)],
) -> Value {
    let acct = &lab["forests"]["lab1"]["accounts"][sam];
    let guid = phs_model::Guid::parse(acct["guid"].as_str().unwrap()).unwrap();
    let anchor = phs_model::SourceAnchor::from_guid(&guid).to_base64();
    let now = jiff::Timestamp::now().to_string();
    let spec = support::graph_users::CloudUserSpec {
        id: Box::leak(format!("0000{sam:0>4}-0000-4000-8000-000000000000").into_boxed_str()),
        upn: Box::leak(acct["upn"].as_str().unwrap().to_owned().into_boxed_str()),
        immutable_id: Some(Box::leak(immutable_id.map_or(anchor, str::to_owned).into_boxed_str())),
        last_password_change: Box::leak(changed.to_owned().into_boxed_str()),
        last_sync: Box::leak(now.into_boxed_str()),
        on_premises: Some((Box::leak(sam.to_owned().into_boxed_str()), "lab1.example.test")),
        provisioning_errors: errors,
    };
    support::graph_users::cloud_user(&spec)
}

/// AD (the lab) against the cloud (the stand-in): in sync, a new password
/// that never arrived, a cloud user anchored to another object, and a
/// provisioning error, each named by its check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Samba lab"]
async fn the_ad_user_against_the_cloud_user() {
    let lab: Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo().join(".lab/lab.json")).unwrap_or_else(|e| panic!("{NEEDS_LAB}: {e}")),
    )
    .unwrap();
    let server = support::stand_in_for(&support::LAB, 10, 200).await;
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(1)).to_string();
    let day_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24)).to_string();
    let users = vec![
        cloud(&lab, "alice", None, &later, &[]),
        cloud(&lab, "judy", None, &day_ago, &[]),
        cloud(&lab, "dave", Some("BwcHBwcHBwcHBwcHBwcHBw=="), &later, &[]),
        cloud(
            &lab,
            "frank",
            None,
            &later,
            &[("PropertyConflict", "UserPrincipalName", "frank@lab1.example.test", "2026-11-30T10:00:00Z")],
        ),
    ];
    support::graph_users::mount_users(&server, users).await;
    let uri = server.uri();
    let run = move |identity: &'static str| {
        let dir = tempfile::tempdir().unwrap();
        let config = evidence(dir.path(), None);
        // The lag is a second: judy's password was set when the lab came up.
        let extra = format!("\n{}\n[evaluation]\nuser_password_lag = \"1s\"\n", support::graph_section(&uri));
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&extra);
        std::fs::write(&config, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
            .args([
                "user",
                identity,
                "--trust-config",
                "--allow-loopback-http",
                "--config",
                &config,
                "--format",
                "json",
            ])
            .env("PHS_TEST_CLIENT_SECRET", support::SECRET)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!stdout.contains(support::SECRET) && !stdout.contains(support::TOKEN), "a secret leaked");
        serde_json::from_str::<Value>(&stdout)
            .unwrap_or_else(|e| panic!("{NEEDS_LAB}: {e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
    };
    let r = tokio::task::spawn_blocking(move || {
        [run("LAB1\\alice"), run("LAB1\\judy"), run("LAB1\\dave"), run("LAB1\\frank")]
    })
    .await
    .unwrap();
    for c in ["PHS025", "PHS026", "PHS027"] {
        assert_eq!(status(&r[0], c), "pass", "alice {c}: {:#}", finding(&r[0], c));
    }
    assert_eq!(status(&r[1], "PHS027"), "fail", "{:#}", finding(&r[1], "PHS027"));
    says(&r[1], "PHS027", "the object syncs but its password does not");
    assert_eq!(status(&r[2], "PHS026"), "fail", "{:#}", finding(&r[2], "PHS026"));
    says(&r[2], "PHS026", "BwcHBwcHBwcHBwcHBwcHBw==");
    assert_eq!(status(&r[3], "PHS025"), "fail", "{:#}", finding(&r[3], "PHS025"));
    says(&r[3], "PHS025", "PropertyConflict on UserPrincipalName");
}

/// `phs-doctor audit` over lab1 and the stand-in's tenant: every user has a
/// row, the classes the lab and the tenant hold are counted, and a cloud
/// user with no AD user is gone from AD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Samba lab"]
async fn the_audit_classifies_every_user() {
    let lab: Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo().join(".lab/lab.json")).unwrap_or_else(|e| panic!("{NEEDS_LAB}: {e}")),
    )
    .unwrap();
    let server = support::stand_in_for(&support::LAB, 10, 200).await;
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(1)).to_string();
    let day_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24)).to_string();
    let mut users = vec![cloud(&lab, "alice", None, &later, &[]), cloud(&lab, "judy", None, &day_ago, &[])];
    let mut gone = cloud(&lab, "alice", Some("AAECAwQFBgcICQoLDA0ODw=="), &later, &[]);
    gone["id"] = json!("99999999-0000-4000-8000-000000000000");
    users.push(gone);
    // dave's cloud user is anchored to another object; only his SID finds it.
    let mut dave = cloud(&lab, "dave", Some("BwcHBwcHBwcHBwcHBwcHBw=="), &later, &[]);
    dave["onPremisesSecurityIdentifier"] = lab["forests"]["lab1"]["accounts"]["dave"]["sid"].clone();
    users.push(dave);
    support::graph_users::mount_users(&server, users).await;
    let uri = server.uri();
    let runs = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let config = evidence(dir.path(), None);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("\n{}\n", support::graph_section(&uri)));
        std::fs::write(&config, text).unwrap();
        let csv = dir.path().join("rows.csv");
        let audit = |lag: &str| {
            let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
                .args(["audit", "--trust-config", "--allow-loopback-http", "--config", &config, "--lag", lag])
                .args(["--csv", csv.to_str().unwrap(), "--format", "json"])
                .env("PHS_TEST_CLIENT_SECRET", support::SECRET)
                .output()
                .unwrap();
            (out, std::fs::read_to_string(&csv).unwrap_or_default())
        };
        // A lag of ten years: judy's change is then on its way, not missing.
        (audit("1s"), audit("87600h"))
    })
    .await
    .unwrap();
    let ((out, csv), (patient, patient_csv)) = runs;
    let summary: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{NEEDS_LAB}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let n = |class: &str| summary["per_class"][class].as_u64().unwrap_or(0);
    assert_eq!(n("in_sync"), 1, "{summary:#}");
    assert_eq!(n("password_not_arrived"), 1, "{summary:#}");
    assert_eq!(n("gone_from_ad"), 1, "{summary:#}");
    assert_eq!(n("anchor_mismatch"), 1, "the SID fallback: {summary:#}");
    assert!(
        n("disabled") >= 1
            && n("must_change") >= 1
            && n("expired") >= 1
            && n("out_of_scope") >= 2
            && n("not_in_tenant") >= 1,
        "{summary:#}"
    );
    let erin = csv.lines().find(|l| l.contains("CN=erin,")).unwrap_or_default();
    assert!(erin.starts_with("expired,"), "{erin}");
    let rows = csv.lines().count() - 1;
    assert_eq!(
        rows as u64,
        summary["per_class"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>()
    );
    assert!(csv.contains("CN=judy,") && csv.contains("password_not_arrived"), "{csv}");
    let dave = csv.lines().find(|l| l.contains("CN=dave,")).unwrap_or_default();
    assert!(dave.starts_with("anchor_mismatch,") && dave.contains("0000dave-"), "{dave}");
    assert_eq!(out.status.code(), Some(2));
    let patient: Value = serde_json::from_slice(&patient.stdout).unwrap();
    assert_eq!(patient["per_class"]["on_its_way"], 1, "{patient:#}");
    assert!(patient["per_class"].get("password_not_arrived").is_none(), "{patient:#}");
    let judy = patient_csv.lines().find(|l| l.contains("CN=judy,")).unwrap_or_default();
    assert!(judy.starts_with("on_its_way,"), "{judy}");
}

/// An audit of AD alone says what AD tells (must change, disabled, expired,
/// out of scope) and leaves the rest unjudged, saying why; a domain whose
/// DC cannot be found is named, with no user called gone or missing.
#[test]
#[ignore = "needs the Samba lab"]
fn an_audit_of_ad_alone_says_what_ad_tells_and_names_what_it_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence(dir.path(), None);
    let audit = |config: &str| {
        let out = support::phs_doctor(&["audit", "--trust-config", "--config", config, "--format", "json"]);
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{NEEDS_LAB}: {e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        (summary, out.status.code())
    };
    let (summary, code) = audit(&config);
    let n = |class: &str| summary["per_class"][class].as_u64().unwrap_or(0);
    assert!(n("must_change") >= 1 && n("disabled") >= 1 && n("expired") >= 1 && n("out_of_scope") >= 2, "{summary:#}");
    assert!(n("unjudged") >= 1 && n("not_in_tenant") == 0 && n("in_sync") == 0, "{summary:#}");
    let sources: Vec<&str> =
        summary["incomplete"].as_array().unwrap().iter().map(|i| i["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["the tenant"], "{summary:#}");
    assert_eq!(code, Some(2), "must change is a failure");

    // No DNS server where the config says: the domain is named, nothing judged.
    let text = std::fs::read_to_string(&config).unwrap().replace("127.0.0.2:53", "127.0.0.2:1");
    std::fs::write(&config, text).unwrap();
    let (summary, code) = audit(&config);
    let domain =
        summary["incomplete"].as_array().unwrap().iter().find(|i| i["source"] == "AD domain lab1.example.test");
    assert!(domain.is_some(), "{summary:#}");
    assert_eq!(summary["per_class"].as_object().map(|m| m.len()), Some(0), "{summary:#}");
    assert_eq!(code, Some(3));
}

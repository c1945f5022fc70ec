//! The tenant side end to end: the real phs-doctor binary signs in and reads
//! Microsoft Graph, here a local stand-in serving the documented response
//! shapes (token endpoint, onPremisesSynchronization, organization v1.0/beta).

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "00000000-1111-2222-3333-444444444444";
const SECRET: &str = "client-secret-value-for-tests-7Q~";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJhcHBpZCI6InRlc3QifQ.stand-in-access-token";

/// A stand-in tenant: PHS on, directory sync 20 min ago, password sync `pwd_min` ago.
pub async fn stand_in(pwd_min: i64, sync_status: u16) -> MockServer {
    let server = MockServer::start().await;
    let now = jiff::Timestamp::now();
    let ago = |m: i64| (now - jiff::SignedDuration::from_mins(m)).round(jiff::Unit::Second).unwrap().to_string();
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN
        })))
        .mount(&server)
        .await;
    let sync = if sync_status == 200 {
        ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directory/onPremisesSynchronization",
            "value": [{
                "id": TENANT,
                "configuration": {"accidentalDeletionPrevention": {"synchronizationPreventionType": "enabledForCount", "alertThreshold": 500}},
                "features": {"passwordSyncEnabled": true, "passwordWritebackEnabled": false, "userForcePasswordChangeOnLogonEnabled": false,
                             "cloudPasswordPolicyForPasswordSyncedUsersEnabled": false, "directoryExtensionsEnabled": false}
            }]
        }))
    } else {
        ResponseTemplate::new(sync_status).set_body_json(json!({"error": {
            "code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."
        }}))
    };
    Mock::given(method("GET")).and(path("/v1.0/directory/onPremisesSynchronization")).respond_with(sync).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": TENANT, "displayName": "Fabrikam", "onPremisesSyncEnabled": true, "onPremisesLastSyncDateTime": ago(20)}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/beta/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": TENANT, "onPremisesLastPasswordSyncDateTime": ago(pwd_min)}]
        })))
        .mount(&server)
        .await;
    server
}

pub fn graph_section(uri: &str) -> String {
    format!(
        "[graph]\ntenant_id = \"{TENANT}\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nflow = \"client-secret\"\nclient_secret_env = \"PHS_TEST_CLIENT_SECRET\"\nauthority = \"{uri}\"\ngraph_url = \"{uri}\"\ntimeout = \"5s\"\n"
    )
}

fn run(config: &Path, extra: &[&str]) -> (Value, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
        .args(["diagnose", "--config", config.to_str().unwrap(), "--format", "json"])
        .args(extra)
        .env("PHS_TEST_CLIENT_SECRET", SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (v, stdout, stderr)
}

fn finding<'a>(r: &'a Value, code: &str) -> &'a Value {
    r["findings"].as_array().unwrap().iter().find(|f| f["code"] == code).unwrap_or_else(|| panic!("no {code}: {r:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_through_graph_alone() {
    let server = stand_in(10, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("phs-doctor.toml");
    std::fs::write(&config, graph_section(&server.uri())).unwrap();
    let (r, stdout, stderr) = tokio::task::spawn_blocking(move || run(&config, &[])).await.unwrap();
    let phs001 = finding(&r, "PHS001");
    assert_eq!(phs001["status"], "pass", "{phs001:#}");
    assert!(phs001["message"].as_str().unwrap().contains("according to Microsoft Graph"));
    assert_eq!(finding(&r, "PHS011")["status"], "pass");
    assert_eq!(finding(&r, "PHS012")["status"], "pass");
    for text in [&stdout, &stderr] {
        assert!(!text.contains(SECRET) && !text.contains(TOKEN), "a secret or token leaked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_password_sync_and_a_missing_permission() {
    let server = stand_in(300, 403).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("phs-doctor.toml");
    std::fs::write(&config, graph_section(&server.uri())).unwrap();
    let (r, _, _) = tokio::task::spawn_blocking(move || run(&config, &[])).await.unwrap();
    let phs001 = finding(&r, "PHS001");
    assert_eq!(phs001["status"], "error", "{phs001:#}");
    assert!(phs001["message"].as_str().unwrap().contains("OnPremDirectorySynchronization.Read.All"), "{phs001:#}");
    // Without the feature flag the recency check still runs on the organization.
    let phs011 = finding(&r, "PHS011");
    assert_eq!(phs011["status"], "warn", "{phs011:#}");
    assert!(phs011["message"].as_str().unwrap().contains("only password hash sync is silent"));
}

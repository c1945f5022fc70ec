//! The Microsoft Graph stand-in the CLI tests share: a local HTTP server
//! serving the token endpoint and the Graph reads in Microsoft's documented
//! response shapes, for a tenant with password hash sync on.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

// The cloud users the stand-in serves: a file of its own, so that the
// source tests (crates/sources/tests/graph.rs) serve the same shapes.
pub mod graph_users;

pub const TENANT: &str = "00000000-1111-2222-3333-444444444444";
pub const SECRET: &str = "client-secret-value-for-tests-7Q~";
/// An app-only access token for [`TENANT`]; its payload is
/// `{"aud":"https://graph.microsoft.com","iss":"https://sts.windows.net/00000000-1111-2222-3333-444444444444/","tid":"00000000-1111-2222-3333-444444444444","appid":"11111111-2222-3333-4444-555555555555","roles":["Organization.Read.All"]}`.
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC8wMDAwMDAwMC0xMTExLTIyMjItMzMzMy00NDQ0NDQ0NDQ0NDQvIiwidGlkIjoiMDAwMDAwMDAtMTExMS0yMjIyLTMzMzMtNDQ0NDQ0NDQ0NDQ0IiwiYXBwaWQiOiIxMTExMTExMS0yMjIyLTMzMzMtNDQ0NC01NTU1NTU1NTU1NTUiLCJyb2xlcyI6WyJPcmdhbml6YXRpb24uUmVhZC5BbGwiXX0.stand-in-access-token";

/// Who the stand-in tenant is: its name and verified domains.
pub struct Org {
    pub name: &'static str,
    pub domains: &'static [&'static str],
}

/// The tenant of the examples' sync server (its Entra connector account is
/// `Sync_FABRIKAM-SYNC01_…@fabrikam.onmicrosoft.com`).
pub const FABRIKAM: Org = Org { name: "Fabrikam", domains: &["fabrikam.onmicrosoft.com", "fabrikam.com"] };
/// The tenant the lab's evidence names (`lab.onmicrosoft.com - AAD`).
pub const LAB: Org = Org { name: "Lab", domains: &["lab.onmicrosoft.com"] };
/// Another tenant: no sync server here writes to it.
pub const CONTOSO: Org = Org { name: "Contoso", domains: &["contoso.onmicrosoft.com", "contoso.com"] };

/// The Fabrikam stand-in tenant: PHS on, directory sync 20 min ago, password sync `pwd_min` ago.
pub async fn stand_in(pwd_min: i64, sync_status: u16) -> MockServer {
    stand_in_for(&FABRIKAM, pwd_min, sync_status).await
}

/// A stand-in tenant `org`: PHS on (or `sync_status` for its feature read),
/// directory sync 20 min ago, password sync `pwd_min` ago.
pub async fn stand_in_for(org: &Org, pwd_min: i64, sync_status: u16) -> MockServer {
    let server = MockServer::start().await;
    mount_tenant(&server, org, pwd_min, sync_status).await;
    server
}

/// A stand-in of its own (not from wiremock's pool): dropping it stops it,
/// closing the connections it is still answering.
pub async fn stoppable_stand_in_for(org: &Org, pwd_min: i64, sync_status: u16) -> MockServer {
    let server = MockServer::builder().start().await;
    mount_tenant(&server, org, pwd_min, sync_status).await;
    server
}

/// Mounts the tenant's sign-in and reads on `server`.
async fn mount_tenant(server: &MockServer, org: &Org, pwd_min: i64, sync_status: u16) {
    let now = jiff::Timestamp::now();
    let ago = |m: i64| (now - jiff::SignedDuration::from_mins(m)).round(jiff::Unit::Second).unwrap().to_string();
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN
        })))
        .mount(server)
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
    Mock::given(method("GET"))
        .and(path("/v1.0/directory/onPremisesSynchronization"))
        .respond_with(sync)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{
                "id": TENANT,
                "displayName": org.name,
                "verifiedDomains": verified_domains(org),
                "onPremisesSyncEnabled": true,
                "onPremisesLastSyncDateTime": ago(20)
            }]
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/beta/organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": TENANT, "onPremisesLastPasswordSyncDateTime": ago(pwd_min)}]
        })))
        .mount(server)
        .await;
}

/// `verifiedDomains` as Graph lists them: the first one is the initial
/// `*.onmicrosoft.com` domain.
fn verified_domains(org: &Org) -> Value {
    let list: Vec<Value> = org
        .domains
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": i == org.domains.len() - 1,
                   "isInitial": i == 0, "name": name, "type": "Managed"})
        })
        .collect();
    Value::Array(list)
}

pub fn graph_section(uri: &str) -> String {
    format!(
        "[graph]\ntenant_id = \"{TENANT}\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nflow = \"client-secret\"\nclient_secret_env = \"PHS_TEST_CLIENT_SECRET\"\nauthority = \"{uri}\"\ngraph_url = \"{uri}\"\ntimeout = \"5s\"\n"
    )
}

/// The finding `code` whose scope has every (field, value) given; panics
/// with the whole report when there is none.
pub fn finding<'a>(report: &'a Value, code: &str, scope: &[(&str, &str)]) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("a report has findings")
        .iter()
        .find(|f| f["code"] == code && scope.iter().all(|(k, v)| f["scope"][*k] == *v))
        .unwrap_or_else(|| panic!("no {code} for {scope:?}: {report:#}"))
}

/// A config file holding only the `[graph]` section for the stand-in at
/// `uri`, in a temporary folder that lives as long as the returned guard.
pub fn graph_config(uri: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("phs-doctor.toml");
    std::fs::write(&config, graph_section(uri)).expect("write config");
    (dir, config)
}

/// The repository's root: where the examples and fixtures are.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary in the repository's root, without the caller's
/// NO_COLOR or PHS_DOCTOR_CONFIG.
pub fn phs_doctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
        .args(args)
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .env_remove("PHS_DOCTOR_CONFIG")
        .output()
        .expect("run phs-doctor")
}

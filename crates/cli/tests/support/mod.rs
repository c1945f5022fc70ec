//! The Microsoft Graph stand-in the CLI tests share: a local HTTP server
//! serving the token endpoint and the Graph reads in Microsoft's documented
//! response shapes, for a tenant with password hash sync on.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wiremock::MockServer;

// The cloud users the stand-in serves: a file of its own, so that the
// source tests (crates/sources/tests/graph.rs) serve the same shapes.
pub mod graph_users;
// The tenant's sign-in and reads: a file of its own, so that the bench's
// stand-in (crates/cli/examples/graph_standin.rs) serves the same.
pub mod tenant;
pub use tenant::*;

pub const SECRET: &str = "client-secret-value-for-tests-7Q~";
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

//! `phs-doctor audit` against the tenant alone: the real binary pages
//! through the Graph stand-in's synced users (999 a page, as it asks), and
//! a read that breaks off (the stand-in stopped, throttling past the retry
//! budget) is in the summary with how many users it left out. AD's side of
//! the audit is tested against the lab (user_lab.rs).

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::graph_users::{cloud_user, mount_users, synced_user, CloudUserSpec};
use support::{graph_config, SECRET, TOKEN};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

/// The stand-in's synced users, as many as `n`, and one cloud-only user
/// (never part of the audit).
fn tenant(n: usize) -> Vec<Value> {
    let mut users: Vec<Value> = (0..n)
        .map(|i| {
            let id = format!("5a3b1c2d-0e4f-4a6b-8c7d-{i:012}");
            let upn = format!("user{i}@fabrikam.com");
            let anchor = phs_model::SourceAnchor::from_guid(&phs_model::Guid::parse(&id).unwrap()).to_base64();
            let sam = format!("user{i}");
            cloud_user(&synced_user(&id, &upn, &anchor, &sam))
        })
        .collect();
    users.push(cloud_user(&CloudUserSpec {
        immutable_id: None,
        on_premises: None,
        ..synced_user("5a3b1c2d-0e4f-4a6b-8c7d-ffffffffffff", "eve@fabrikam.onmicrosoft.com", "", "")
    }));
    users
}

struct Audit {
    out: Output,
    summary: Value,
    rows: usize,
}

/// Runs a tenant-only audit with the config at `config`, rows to CSV.
fn audit(config: &Path) -> Audit {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
        .args(["audit", "--trust-config", "--allow-loopback-http", "--config", config.to_str().unwrap()])
        .args(["--csv", csv.to_str().unwrap(), "--format", "json"])
        .env("PHS_TEST_CLIENT_SECRET", SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for text in [&stdout, &stderr] {
        assert!(!text.contains(SECRET) && !text.contains(TOKEN), "a secret or token leaked");
    }
    let summary = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows = text.lines().count() - 1;
    Audit { out, summary, rows }
}

fn incomplete<'a>(summary: &'a Value, source: &str) -> Option<&'a Value> {
    summary["incomplete"].as_array().unwrap().iter().find(|i| i["source"].as_str().unwrap().contains(source))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_only_audit_lists_every_synced_user_unjudged_and_says_why() {
    let server = support::stand_in(10, 200).await;
    mount_users(&server, tenant(2_500)).await;
    let (_dir, config) = graph_config(&server.uri());
    let a = tokio::task::spawn_blocking(move || audit(&config)).await.unwrap();
    // Three pages of 999, every synced user once, the cloud-only one not at all.
    let pages = server.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/v1.0/users").count();
    assert_eq!(pages, 3);
    assert_eq!(a.rows, 2_500, "{:#}", a.summary);
    assert_eq!(a.summary["per_class"]["unjudged"], 2_500, "{:#}", a.summary);
    assert!(incomplete(&a.summary, "Graph").is_none(), "{:#}", a.summary);
    let join = incomplete(&a.summary, "the join").expect("the summary says AD was not read");
    assert!(join["why"].as_str().unwrap().contains("AD was not read"), "{join:#}");
    assert_eq!(a.out.status.code(), Some(3));

    // Again, against an earlier summary with fewer users: the text says what changed.
    let dir = tempfile::tempdir().unwrap();
    let mut earlier = a.summary.clone();
    earlier["per_class"]["unjudged"] = 2_000.into();
    let earlier_path = dir.path().join("earlier.json");
    std::fs::write(&earlier_path, earlier.to_string()).unwrap();
    let (_dir2, config) = graph_config(&server.uri());
    let text = tokio::task::spawn_blocking(move || {
        let run = |previous: &Path| {
            Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
                .args(["audit", "--trust-config", "--allow-loopback-http", "--config", config.to_str().unwrap()])
                .arg("--previous")
                .arg(previous)
                .env("PHS_TEST_CLIENT_SECRET", SECRET)
                .output()
                .unwrap()
        };
        let bad = dir.path().join("not-a-summary.json");
        std::fs::write(&bad, "[1, 2").unwrap();
        (run(&earlier_path), run(&bad))
    })
    .await
    .unwrap();
    let (good, bad) = text;
    let good = String::from_utf8_lossy(&good.stdout);
    assert!(good.contains(": unjudged 2500 (+500)"), "{good}");
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && why.contains("not-a-summary.json is not an audit summary"), "{why}");
}

/// The stand-in is stopped while it answers the second page: the 999 users
/// of the first are listed, and the summary says 1 501 were left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_stand_in_mid_paging_says_how_many_users_are_missing() {
    let server = support::stoppable_stand_in_for(&support::FABRIKAM, 10, 200).await;
    mount_users(&server, tenant(2_500)).await;
    // The second page hangs until the stand-in is stopped under it.
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$skiptoken", "999"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .with_priority(1)
        .mount(&server)
        .await;
    let (_dir, config) = graph_config(&server.uri());
    let run = tokio::task::spawn_blocking(move || audit(&config));
    let asked_for_page_two = |r: &wiremock::Request| r.url.query().is_some_and(|q| q.contains("skiptoken=999"));
    let start = Instant::now();
    while !server.received_requests().await.unwrap().iter().any(asked_for_page_two) {
        assert!(start.elapsed() < Duration::from_secs(30), "the audit never asked for the second page");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(server);
    let a = run.await.unwrap();
    let graph =
        incomplete(&a.summary, "Graph").unwrap_or_else(|| panic!("no word of the broken read: {:#}", a.summary));
    assert_eq!(graph["users_left_out"], 1_501, "{graph:#}");
    assert!(graph["why"].as_str().unwrap().contains("after 999 users"), "{graph:#}");
    assert_eq!(a.rows, 999, "the users read are still listed");
    assert_eq!(a.out.status.code(), Some(3));
}

/// Throttling past the retry budget on the third page: the same account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_beyond_the_retry_budget_says_how_many_users_are_missing() {
    let server = support::stand_in(10, 200).await;
    mount_users(&server, tenant(2_500)).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$skiptoken", "1998"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .with_priority(1)
        .mount(&server)
        .await;
    let (_dir, config) = graph_config(&server.uri());
    let a = tokio::task::spawn_blocking(move || audit(&config)).await.unwrap();
    let graph = incomplete(&a.summary, "Graph").unwrap_or_else(|| panic!("no word of the throttling: {:#}", a.summary));
    assert_eq!(graph["users_left_out"], 502, "{graph:#}");
    assert!(graph["why"].as_str().unwrap().contains("throttled"), "{graph:#}");
    assert_eq!(a.rows, 1_998);
    assert_eq!(a.out.status.code(), Some(3));
}

//! An evidence folder from a server we do not control tries to send the
//! analyst's secrets elsewhere: through its config's [ad] and [graph]
//! sections (DCs, secret sources, sign-in hosts, plain transports). Against
//! local listeners, nothing may arrive, and stderr must say why.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::{stand_in, SECRET, TENANT};

const ANALYST_PASSWORD: &str = "Analyst-Connector-Pw-93!";

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Listeners standing for an attacker's "DC" on a loopback address of its
/// own, on the ports a DC is probed on: counts connections. (Ports under
/// 1024 need root, as the whole suite does.)
fn counting_dc(address: &str) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    for port in [389, 636, 88, 135, 3268] {
        let listener = TcpListener::bind((address, port))
            .unwrap_or_else(|e| panic!("cannot listen on {address}:{port} (the suite runs as root): {e}"));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stream.is_ok() {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    }
    count
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
        .args(args)
        .env("PHS_ANALYST_PW", ANALYST_PASSWORD)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env("PHS_TEST_CLIENT_SECRET", SECRET)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_AUTHORITY_HOST")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .output()
        .expect("run phs-doctor")
}

fn nothing_secret_in(out: &Output) {
    for text in [String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)] {
        assert!(!text.contains(ANALYST_PASSWORD) && !text.contains(SECRET), "a secret was printed:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evidence_config_sends_nothing_anywhere() {
    let attacker = wiremock::MockServer::start().await;
    let dc_connections = counting_dc("127.0.0.77");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/two-forest-broken/server-config"), &dir.path().join("server-config"));
    let uri = attacker.uri();
    let hostile = format!(
        "[server]\nconfig_dir = \"server-config\"\n\n\
         [ad]\nallow_plain_ldap = true\ntls_verify = false\n\
         [ad.connector.\"fabrikam.com\"]\npassword_env = \"PHS_ANALYST_PW\"\ndcs = [\"127.0.0.77\"]\n\
         [ad.connector.\"tailspintoys.com\"]\npassword_file = \"/proc/self/environ\"\ndcs = [\"127.0.0.1\"]\n\n\
         [graph]\ntenant_id = \"{TENANT}\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n\
         flow = \"client-secret\"\nclient_secret_env = \"AZURE_CLIENT_SECRET\"\n\
         authority = \"{uri}\"\ngraph_url = \"{uri}\"\n"
    );
    let config = dir.path().join("phs-doctor.toml");
    std::fs::write(&config, hostile).unwrap();
    let config = config.to_str().unwrap().to_owned();

    // As the README says to run it, and as collect: no section is used.
    for args in [
        vec!["diagnose", "--config", &config, "--format", "json"],
        vec!["diagnose", "--config", &config, "--allow-loopback-http"],
        vec!["collect", "--config", &config, "-o", "-"],
    ] {
        let out = tokio::task::spawn_blocking({
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            move || run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("[ad] and [graph]") && stderr.contains("--trust-config"), "{args:?}: {stderr}");
        assert!(!stderr.contains("goes to"), "{args:?} announced a credential: {stderr}");
        nothing_secret_in(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("127.0.0.77"), "{args:?}: the hostile DC reached the report");
    }
    assert!(attacker.received_requests().await.unwrap().is_empty(), "the hostile sign-in host was asked");
    assert_eq!(dc_connections.load(Ordering::SeqCst), 0, "the hostile DC was contacted");
}

/// Even the analyst's own config may not send a credential over plain http
/// to anything but loopback, and loopback only when asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_go_only_over_https_unless_loopback_is_allowed() {
    let server = stand_in(10, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mine.toml");
    std::fs::write(&config, support::graph_section(&server.uri())).unwrap();
    let config = config.to_str().unwrap().to_owned();

    let refused = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            run(&["diagnose", "--trust-config", "--config", &config, "--format", "json"])
        })
        .await
        .unwrap()
    };
    let report: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    let phs001 = support::finding(&report, "PHS001", &[]);
    assert_eq!(phs001["status"], "error", "{phs001:#}");
    assert!(report.to_string().contains("plain http"), "{report:#}");
    assert!(server.received_requests().await.unwrap().is_empty(), "a request went over plain http");
    nothing_secret_in(&refused);

    let allowed = tokio::task::spawn_blocking(move || {
        run(&["diagnose", "--trust-config", "--allow-loopback-http", "--config", &config, "--format", "json"])
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    // Said before the sign-in: what goes where.
    assert!(
        stderr.contains("the client secret (from environment variable PHS_TEST_CLIENT_SECRET)")
            && stderr.contains(&format!("goes to {}", server.uri())),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&allowed.stdout).unwrap();
    assert_eq!(support::finding(&report, "PHS001", &[])["status"], "pass", "{report:#}");
    nothing_secret_in(&allowed);
}

//! The tenant side end to end: the real phs-doctor binary signs in and reads
//! Microsoft Graph, here a local stand-in serving the documented response
//! shapes (token endpoint, onPremisesSynchronization, organization v1.0/beta).

mod support;

use serde_json::json;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use support::{graph_config, graph_section, stand_in, stand_in_for, CONTOSO, FABRIKAM, SECRET, TENANT, TOKEN};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn run(config: &Path, extra: &[&str]) -> (Value, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
        .args(diagnose_json(config.to_str().unwrap(), extra))
        .env("PHS_TEST_CLIENT_SECRET", SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (v, stdout, stderr)
}

fn finding<'a>(r: &'a Value, code: &str) -> &'a Value {
    support::finding(r, code, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_through_graph_alone() {
    let server = stand_in(10, 200).await;
    let (_dir, config) = graph_config(&server.uri());
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
    let (_dir, config) = graph_config(&server.uri());
    let (r, _, _) = tokio::task::spawn_blocking(move || run(&config, &[])).await.unwrap();
    let phs001 = finding(&r, "PHS001");
    assert_eq!(phs001["status"], "error", "{phs001:#}");
    assert!(phs001["message"].as_str().unwrap().contains("OnPremDirectorySynchronization.Read.All"), "{phs001:#}");
    // Without the feature flag the recency check still runs on the organization.
    let phs011 = finding(&r, "PHS011");
    assert_eq!(phs011["status"], "warn", "{phs011:#}");
    assert!(phs011["message"].as_str().unwrap().contains("only password hash sync is silent"));
}

/// Runs phs-doctor with these arguments and environment, off the async test's threads.
async fn run_with(args: Vec<String>, env: Vec<(&'static str, String)>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_phs-doctor"))
            .args(&args)
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
            .env_remove("AZURE_AUTHORITY_HOST")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// `diagnose --format json` on the analyst's own config (`--trust-config`)
/// for the stand-in on loopback, plus `extra` arguments.
fn diagnose_json(config: &str, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["diagnose", "--trust-config", "--allow-loopback-http", "--config", config]);
    args.extend(strings(extra));
    args.extend(strings(&["--format", "json"]));
    args
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn no_secret_in(outputs: &[&[u8]]) {
    for (i, out) in outputs.iter().enumerate() {
        let text = String::from_utf8_lossy(out);
        assert!(!text.contains(SECRET), "the client secret appears in output #{i}");
        assert!(!text.contains(TOKEN), "the access token appears in output #{i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_an_error_with_its_cause_for_every_tenant_check() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'.\r\nTrace ID: 0a1b2c3d-0000-4000-8000-000000000001\r\nCorrelation ID: 0a1b2c3d-0000-4000-8000-000000000002\r\nTimestamp: 2026-12-01 10:00:00Z",
            "error_codes": [7000215],
            "timestamp": "2026-12-01 10:00:00Z",
            "trace_id": "0a1b2c3d-0000-4000-8000-000000000001",
            "correlation_id": "0a1b2c3d-0000-4000-8000-000000000002"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (_dir, config) = graph_config(&server.uri());
    let out =
        run_with(diagnose_json(config.to_str().unwrap(), &[]), vec![("PHS_TEST_CLIENT_SECRET", SECRET.to_owned())])
            .await;
    assert_eq!(out.status.code(), Some(3), "could not evaluate");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    for code in ["PHS001", "PHS011", "PHS012"] {
        let f = finding(&r, code);
        assert_eq!(f["status"], "error", "{f:#}");
        let said = f.to_string();
        assert!(said.contains("the client secret is wrong") && said.contains("AADSTS7000215"), "{f:#}");
    }
    no_secret_in(&[&out.stdout, &out.stderr]);
}

/// The Azure SDKs' variables stand in for the config file's names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_azure_environment_variables_sign_in_with_graph_flag() {
    let server = stand_in(10, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("phs-doctor.toml");
    std::fs::write(&config, format!("[graph]\ngraph_url = \"{}\"\n", server.uri())).unwrap();
    let out = run_with(
        diagnose_json(config.to_str().unwrap(), &[]),
        vec![
            ("AZURE_TENANT_ID", TENANT.to_owned()),
            ("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555".to_owned()),
            ("AZURE_CLIENT_SECRET", SECRET.to_owned()),
            ("AZURE_AUTHORITY_HOST", server.uri()),
        ],
    )
    .await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(finding(&r, "PHS001")["status"], "pass", "{r:#}");
    let token_request = &server.received_requests().await.unwrap()[0];
    let form = String::from_utf8_lossy(&token_request.body);
    assert!(form.contains("grant_type=client_credentials") && form.contains("client_id=11111111"), "{form}");
    no_secret_in(&[&out.stdout, &out.stderr]);

    // Without a client id there is nothing to sign in as: said, not guessed.
    let out =
        run_with(strings(&["diagnose", "--graph", "--format", "json"]), vec![("AZURE_TENANT_ID", TENANT.to_owned())])
            .await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let phs012 = finding(&r, "PHS012");
    assert_eq!(phs012["status"], "error", "{phs012:#}");
    assert!(phs012.to_string().contains("AZURE_CLIENT_ID"), "{phs012:#}");
}

/// A person at a terminal: the device code message reaches stderr, and the
/// token endpoint is polled with the device code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_code_flow_shows_the_code_and_polls_with_it() {
    let server = stand_in(10, 200).await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/devicecode")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user_code": "FQK7PZ2LM",
            "device_code": "DAQABAAEAAAD--device-code-for-tests",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 0,
            "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FQK7PZ2LM to authenticate."
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("phs-doctor.toml");
    let section = graph_section(&server.uri()).replace("flow = \"client-secret\"", "flow = \"device-code\"");
    std::fs::write(&config, section).unwrap();
    let out = run_with(diagnose_json(config.to_str().unwrap(), &[]), vec![]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("enter the code FQK7PZ2LM"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(finding(&r, "PHS001")["status"], "pass", "{r:#}");
    let requests = server.received_requests().await.unwrap();
    let polled = requests.iter().any(|q| String::from_utf8_lossy(&q.body).contains("device_code=DAQABAAEAAAD"));
    assert!(polled, "the token endpoint was not polled with the device code");
    no_secret_in(&[&out.stdout, &out.stderr]);
}

/// `collect` keeps the tenant facts, not the secret or the token, and the
/// snapshot judges the same offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_keeps_tenant_facts_but_no_secret() {
    let server = stand_in(300, 200).await;
    let (dir, config) = graph_config(&server.uri());
    let snapshot = dir.path().join("snapshot.json");
    let env = vec![("PHS_TEST_CLIENT_SECRET", SECRET.to_owned())];
    let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap().to_string();
    let config_arg = config.to_str().unwrap();
    let collected = run_with(
        strings(&[
            "collect",
            "--trust-config",
            "--allow-loopback-http",
            "--config",
            config_arg,
            "--now",
            &now,
            "-o",
            snapshot.to_str().unwrap(),
        ]),
        env.clone(),
    )
    .await;
    assert!(collected.status.success(), "{}", String::from_utf8_lossy(&collected.stderr));
    let saved = std::fs::read(&snapshot).unwrap();
    let snap: Value = serde_json::from_slice(&saved).unwrap();
    assert_eq!(snap["tenant"]["sync"]["password_sync_enabled"], true);
    assert_eq!(snap["tenant"]["organization"]["last_password_sync_source"], "beta");
    assert_eq!(snap["tenant"]["token_tenant_id"], TENANT);
    assert_eq!(snap["tenant"]["organization"]["verified_domains"], json!(["fabrikam.onmicrosoft.com", "fabrikam.com"]));
    let live = run_with(diagnose_json(config_arg, &["--now", &now]), env).await;
    let offline =
        run_with(strings(&["diagnose", "--snapshot", snapshot.to_str().unwrap(), "--format", "json"]), vec![]).await;
    let (l, o): (Value, Value) =
        (serde_json::from_slice(&live.stdout).unwrap(), serde_json::from_slice(&offline.stdout).unwrap());
    // Same tenant, same judgement; only the read time (seconds apart) differs.
    let judged = |v: &Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["code"].clone(), f["status"].clone(), f["message"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(judged(&l), judged(&o));
    assert_eq!(finding(&o, "PHS011")["status"], "warn");
    no_secret_in(&[&collected.stdout, &collected.stderr, &saved, &live.stdout, &offline.stdout]);
}

fn evidence<'a>(f: &'a Value, label: &str) -> &'a str {
    f["evidence"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["label"] == label))
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("no evidence {label:?}: {f:#}"))
}

/// The shipped examples fix `now` in 2026-11; a tenant read today says
/// nothing about that day, by `--now`, by `[evaluation] now`, or through a
/// snapshot `collect` wrote with `--now`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_read_today_does_not_pass_a_check_about_another_day() {
    let server = stand_in(10, 200).await;
    let (dir, config) = graph_config(&server.uri());
    let config_arg = config.to_str().unwrap().to_owned();
    let real_now = jiff::Timestamp::now();
    let week_ago = (real_now - jiff::SignedDuration::from_hours(8 * 24)).round(jiff::Unit::Second).unwrap().to_string();
    let env = || vec![("PHS_TEST_CLIENT_SECRET", SECRET.to_owned())];
    let check = |r: &Value, how: &str| {
        for code in ["PHS001", "PHS011", "PHS012"] {
            let f = finding(r, code);
            assert_eq!(f["status"], "error", "{how}: {f:#}");
            let m = f["message"].as_str().unwrap();
            assert!(
                m.contains("8 days after the evaluation time") && m.contains("say nothing about the evaluation time"),
                "{how}: {m}"
            );
            assert!(m.contains("As read:"), "{how}: what the read showed is kept: {m}");
        }
    };

    let out = run_with(diagnose_json(&config_arg, &["--now", &week_ago]), env()).await;
    check(&serde_json::from_slice(&out.stdout).unwrap(), "--now");

    let with_now = dir.path().join("with-now.toml");
    let toml = format!("{}\n[evaluation]\nnow = \"{week_ago}\"\n", graph_section(&server.uri()));
    std::fs::write(&with_now, toml).unwrap();
    let out = run_with(diagnose_json(with_now.to_str().unwrap(), &[]), env()).await;
    check(&serde_json::from_slice(&out.stdout).unwrap(), "[evaluation] now");

    // `collect --now` keeps the tenant's own read time, not the one named.
    let snapshot = dir.path().join("snapshot.json");
    let out = run_with(
        strings(&[
            "collect",
            "--trust-config",
            "--allow-loopback-http",
            "--config",
            &config_arg,
            "--now",
            &week_ago,
            "-o",
            snapshot.to_str().unwrap(),
        ]),
        env(),
    )
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let snap: Value = serde_json::from_slice(&std::fs::read(&snapshot).unwrap()).unwrap();
    assert_eq!(snap["collected_at"], week_ago.as_str());
    let read_at: jiff::Timestamp = snap["tenant"]["read_at"].as_str().expect("read_at").parse().unwrap();
    assert!((read_at - real_now).get_seconds().abs() < 120, "read at {read_at}, the clock says {real_now}");
    let out =
        run_with(strings(&["diagnose", "--snapshot", snapshot.to_str().unwrap(), "--format", "json"]), vec![]).await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    check(&r, "snapshot");
    assert_eq!(out.status.code(), Some(3), "could not evaluate the tenant then");
    // Without --now the same tenant passes: it is judged when it was read.
    let out = run_with(diagnose_json(&config_arg, &[]), env()).await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    for code in ["PHS001", "PHS011", "PHS012"] {
        assert_eq!(finding(&r, code)["status"], "pass", "{:#}", finding(&r, code));
    }
}

/// A config naming the examples' sync server (its Entra connector account
/// is `…@fabrikam.onmicrosoft.com`) and the stand-in tenant.
fn server_and_tenant_config(dir: &Path, uri: &str) -> std::path::PathBuf {
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/two-forest-healthy/server-config");
    let config = dir.join("phs-doctor.toml");
    let toml = format!("[server]\nconfig_dir = {:?}\n\n{}", export.to_str().unwrap(), graph_section(uri));
    std::fs::write(&config, toml).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_asked_must_be_the_one_the_server_writes_to() {
    // Contoso answers; the server writes to Fabrikam: no tenant check passes.
    let contoso = stand_in_for(&CONTOSO, 10, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = server_and_tenant_config(dir.path(), &contoso.uri());
    let env = vec![("PHS_TEST_CLIENT_SECRET", SECRET.to_owned())];
    let out = run_with(diagnose_json(config.to_str().unwrap(), &[]), env.clone()).await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    for code in ["PHS001", "PHS011", "PHS012"] {
        let f = finding(&r, code);
        assert_eq!(f["status"], "error", "{f:#}");
        let m = f["message"].as_str().unwrap();
        assert!(m.starts_with("The tenant asked is not the tenant this sync server writes to"), "{m}");
        assert!(m.contains("this server writes to fabrikam.onmicrosoft.com (connector account Sync_FABRIKAM-SYNC01_7c3e91a5d402@fabrikam.onmicrosoft.com)"), "{m}");
        assert!(m.contains("contoso.onmicrosoft.com, contoso.com"), "{m}");
        assert_eq!(evidence(f, "Organization"), format!("Contoso ({TENANT})"));
        assert!(f["remediation"]["summary"].as_str().unwrap().contains("tenant_id"), "{f:#}");
    }

    // Fabrikam answers: matched, and the evidence says on what.
    let fabrikam = stand_in_for(&FABRIKAM, 10, 200).await;
    let config = server_and_tenant_config(dir.path(), &fabrikam.uri());
    let out = run_with(diagnose_json(config.to_str().unwrap(), &[]), env).await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    for code in ["PHS001", "PHS011", "PHS012"] {
        let f = finding(&r, code);
        assert_eq!(f["status"], "pass", "{f:#}");
        assert_eq!(evidence(f, "Organization"), format!("Fabrikam ({TENANT})"));
        assert_eq!(evidence(f, "Signed in to tenant (token tid)"), TENANT);
        assert!(
            evidence(f, "The sync server's tenant")
                .starts_with("yes: fabrikam.onmicrosoft.com (connector account Sync_FABRIKAM"),
            "{f:#}"
        );
    }
}

/// Graph's own answers that are not a pass: no directory synchronization at
/// all, and a beta read that failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_directory_sync_fails_and_a_failed_beta_read_is_an_error() {
    let server = stand_in(10, 200).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/directory/onPremisesSynchronization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directory/onPremisesSynchronization",
            "value": []
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/beta/organization"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."
        }})))
        .with_priority(1)
        .mount(&server)
        .await;
    let (_dir, config) = graph_config(&server.uri());
    let (r, _, _) = tokio::task::spawn_blocking(move || run(&config, &[])).await.unwrap();
    let phs001 = finding(&r, "PHS001");
    assert_eq!(phs001["status"], "fail", "{phs001:#}");
    assert!(phs001["message"].as_str().unwrap().contains("no directory synchronization"), "{phs001:#}");
    let phs011 = finding(&r, "PHS011");
    assert_eq!(phs011["status"], "error", "{phs011:#}");
    let m = phs011["message"].as_str().unwrap();
    assert!(m.contains("v1.0 does not have it, and the beta read failed") && m.contains("403"), "{m}");
    // The organization itself was read: PHS012 still judges it.
    assert_eq!(finding(&r, "PHS012")["status"], "pass");
}

/// A certificate sign-in from one PEM file holding the key and the
/// certificate (as Azure tooling writes them); the file must be private.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_sign_in_from_one_private_pem_file() {
    let server = stand_in(10, 200).await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/graph-signin");
    let key = std::fs::read_to_string(fixtures.join("test-key.pem")).unwrap();
    let cert = std::fs::read_to_string(fixtures.join("test-cert.pem")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("phs-doctor-app.pem");
    std::fs::write(&pem, format!("{cert}{key}")).unwrap();
    let config = dir.path().join("phs-doctor.toml");
    let section = graph_section(&server.uri()).replace(
        "flow = \"client-secret\"",
        &format!("flow = \"client-certificate\"\ncertificate_path = {:?}", pem.to_str().unwrap()),
    );
    std::fs::write(&config, section).unwrap();
    let args = diagnose_json(config.to_str().unwrap(), &[]);

    // Readable by others: refused before any request, and said why.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pem, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run_with(args.clone(), vec![]).await;
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let said = finding(&r, "PHS012").to_string();
        assert!(said.contains("chmod 600"), "{said}");
        assert!(server.received_requests().await.unwrap().is_empty(), "a request went out with a public key file");
        std::fs::set_permissions(&pem, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    let out = run_with(args, vec![]).await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(finding(&r, "PHS001")["status"], "pass", "{r:#}");
    let requests = server.received_requests().await.unwrap();
    let form = String::from_utf8_lossy(&requests[0].body).into_owned();
    assert!(
        form.contains("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"),
        "{form}"
    );
    assert!(form.contains("client_assertion=ey") && !form.contains("client_secret"), "{form}");
    let key_body: Vec<&str> = key.lines().filter(|l| !l.starts_with("-----")).collect();
    for out in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(out);
        assert!(key_body.iter().all(|line| !text.contains(line)), "the private key appears in the output");
    }
}

/// `--tenant` and `--client-id` name the tenant and the application on the
/// command line (they are not secrets) and win over the config file's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_and_application_from_the_command_line() {
    let server = stand_in(10, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("phs-doctor.toml");
    let uri = server.uri();
    std::fs::write(
        &config,
        format!("[graph]\ntenant_id = \"wrong.example\"\nauthority = \"{uri}\"\ngraph_url = \"{uri}\"\n"),
    )
    .unwrap();
    let out = run_with(
        strings(&[
            "diagnose",
            "--trust-config",
            "--allow-loopback-http",
            "--config",
            config.to_str().unwrap(),
            "--tenant",
            TENANT,
            "--client-id",
            "11111111-2222-3333-4444-555555555555",
            "--format",
            "json",
        ]),
        vec![("AZURE_CLIENT_SECRET", SECRET.to_owned())],
    )
    .await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(finding(&r, "PHS001")["status"], "pass", "{r:#}");
    let token_request = &server.received_requests().await.unwrap()[0];
    assert!(token_request.url.path().starts_with(&format!("/{TENANT}/")), "{}", token_request.url);
    let form = String::from_utf8_lossy(&token_request.body).into_owned();
    assert!(form.contains("client_id=11111111-2222-3333-4444-555555555555"), "{form}");
    no_secret_in(&[&out.stdout, &out.stderr]);
}

/// `explain` says how tenant facts are dated and matched, for each tenant rule.
#[test]
fn explain_documents_how_tenant_facts_are_dated_and_matched() {
    for code in ["PHS001", "PHS011", "PHS012"] {
        let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor")).args(["explain", code]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{code}");
        for needle in [
            "## How tenant facts are dated and matched to the server",
            "more than 30 minutes from the read time",
            "`tid` claim",
            "verifiedDomains",
            "Sync_<server>_<id>@<tenant>.onmicrosoft.com",
            "Cloud Sync agent",
        ] {
            assert!(text.contains(needle), "{code} lacks {needle:?}:\n{text}");
        }
    }
    // Only the tenant rules carry it.
    let out = Command::new(env!("CARGO_BIN_EXE_phs-doctor")).args(["explain", "PHS004"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("How tenant facts are dated"));
}

/// The tenant is fresh, but this server is in staging mode: something else
/// keeps the tenant fresh, and the findings say so instead of passing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_tenant_and_a_staging_server_say_something_else_keeps_it_fresh() {
    let server = stand_in(10, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = server_and_tenant_config(dir.path(), &server.uri());
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/two-forest-healthy");
    let scheduler = std::fs::read_to_string(examples.join("scheduler.json")).unwrap();
    let staging = scheduler.replace("\"StagingModeEnabled\":  false", "\"StagingModeEnabled\":  true");
    assert_ne!(scheduler, staging, "the example scheduler names StagingModeEnabled");
    let scheduler_file = dir.path().join("scheduler.json");
    std::fs::write(&scheduler_file, staging).unwrap();
    let toml = std::fs::read_to_string(&config).unwrap().replacen(
        "[server]\n",
        &format!("[server]\nscheduler = {:?}\n", scheduler_file.to_str().unwrap()),
        1,
    );
    std::fs::write(&config, toml).unwrap();
    let out =
        run_with(diagnose_json(config.to_str().unwrap(), &[]), vec![("PHS_TEST_CLIENT_SECRET", SECRET.to_owned())])
            .await;
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(finding(&r, "PHS002")["status"], "fail");
    for code in ["PHS011", "PHS012"] {
        let f = finding(&r, code);
        assert_eq!(f["status"], "warn", "{f:#}");
        let m = f["message"].as_str().unwrap();
        assert!(m.contains("staging mode") && m.contains("another Entra Connect server, or a Cloud Sync agent"), "{m}");
    }
}

/// Graph's times ahead of the read: the reading machine's clock is behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_time_after_the_read_is_clock_skew() {
    // The last password sync an hour "in the future".
    let server = stand_in_for(&FABRIKAM, -60, 200).await;
    let (_dir, config) = graph_config(&server.uri());
    let (r, _, _) = tokio::task::spawn_blocking(move || run(&config, &[])).await.unwrap();
    let phs011 = finding(&r, "PHS011");
    assert_eq!(phs011["status"], "warn", "{phs011:#}");
    let m = phs011["message"].as_str().unwrap();
    assert!(
        m.contains("1 h after the time the tenant was read") || m.contains("59 min after the time the tenant was read"),
        "{m}"
    );
    assert!(phs011["remediation"]["summary"].as_str().unwrap().contains("clock"));
    // Directory sync 20 minutes before the read is judged as usual.
    assert_eq!(finding(&r, "PHS012")["status"], "pass");
}

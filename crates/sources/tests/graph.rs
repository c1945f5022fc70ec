//! The Microsoft Graph / Entra ID client against a local stand-in (wiremock)
//! serving Microsoft's documented response shapes: the v2.0 token and device
//! code endpoints, `/v1.0/directory/onPremisesSynchronization`,
//! `/v1.0/organization` and `/beta/organization`.
//!
//! Every test asserts what the user sees: the texts and facts in
//! [`TenantFacts`]. Every run also goes through [`collect`], which checks that
//! the serialised facts never carry the client secret, an access token or a
//! line of the private key.
//!
//! The user lookup (`/v1.0/users`) runs against the CLI tests' user
//! stand-in, shared with this file so that both serve the same shapes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use phs_model::graph::TenantFacts;
use phs_model::user::CloudUserLookup;
use phs_sources::graph::{collect_tenant, sign_in, CloudUserKeys, Credential, GraphOptions, Secret};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------------------
// The stand-in tenant
// ---------------------------------------------------------------------------

const TENANT: &str = "6f0c1a9e-3b7d-4c52-9a1e-2d8f4b6c0e13";
const CLIENT_ID: &str = "2b9e4c71-8d05-4f3a-b6e2-91c7d0a5f384";
const SECRET: &str = "Qx8~stand-in.client-secret_Value-for-tests-only";
/// The app-only access token the token endpoint hands out; its payload is
/// `{"aud":"https://graph.microsoft.com","iss":"https://sts.windows.net/<TENANT>/","tid":"<TENANT>",
/// "app_displayname":"stand-in","roles":["Organization.Read.All"]}`.
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC82ZjBjMWE5ZS0zYjdkLTRjNTItOWExZS0yZDhmNGI2YzBlMTMvIiwidGlkIjoiNmYwYzFhOWUtM2I3ZC00YzUyLTlhMWUtMmQ4ZjRiNmMwZTEzIiwiYXBwX2Rpc3BsYXluYW1lIjoic3RhbmQtaW4iLCJyb2xlcyI6WyJPcmdhbml6YXRpb24uUmVhZC5BbGwiXX0.app-token-signature";
const DEVICE_CODE: &str = "DAQABIQEAAADW6jl31mB3T7ugrWTT8pFe-stand-in-device-code";
const USER_CODE: &str = "FXHD3VZTL";
const ADMIN_UPN: &str = "admin@contoso.onmicrosoft.com";
const TRACE_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c00";
const CORRELATION_ID: &str = "7c6b5a49-3827-4165-9e8d-7c6b5a493827";
const REQUEST_ID: &str = "b1d2f3a4-5c6d-4e7f-8a9b-0c1d2e3f4a5b";
const LAST_SYNC: &str = "2024-05-01T10:00:00Z";
const LAST_PASSWORD_SYNC: &str = "2024-05-01T10:02:00Z";
/// A different time, so a test can tell which endpoint a value came from.
const BETA_PASSWORD_SYNC: &str = "2024-05-01T10:04:00Z";
const PASSWORD_SYNC_FIELD: &str = "onPremisesLastPasswordSyncDateTime";

const SYNC_PATH: &str = "/v1.0/directory/onPremisesSynchronization";
const ORG_PATH: &str = "/v1.0/organization";
const BETA_ORG_PATH: &str = "/beta/organization";

fn token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

fn devicecode_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/devicecode")
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/graph-signin").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A delegated access token as the device code flow returns it. Only its
/// claims matter here (the client reads the user name, Graph verifies), so
/// the signature is a placeholder.
fn user_token() -> String {
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let header = part(json!({"typ": "JWT", "alg": "RS256", "kid": "stand-in"}));
    let claims = part(json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        "tid": TENANT,
        "name": "Contoso Admin",
        "preferred_username": ADMIN_UPN,
        "scp": "OnPremDirectorySynchronization.Read.All Organization.Read.All",
    }));
    format!("{header}.{claims}.c3RhbmQtaW4tc2lnbmF0dXJl")
}

/// Short timeouts and waits so failures are quick; two retries on throttling.
fn opts_at(url: &str) -> GraphOptions {
    GraphOptions {
        authority: url.to_owned(),
        graph_url: url.to_owned(),
        timeout: Duration::from_secs(2),
        max_retries: 2,
        max_retry_wait: Duration::from_secs(1),
    }
}

fn opts(server: &MockServer) -> GraphOptions {
    opts_at(&server.uri())
}

fn secret_cred() -> Credential {
    Credential::ClientSecret { tenant: TENANT.into(), client_id: CLIENT_ID.into(), secret: Secret::new(SECRET.into()) }
}

fn cert_cred(private_key_pem: &str, certificate_pem: &str) -> Credential {
    Credential::ClientCertificate {
        tenant: TENANT.into(),
        client_id: CLIENT_ID.into(),
        private_key_pem: Secret::new(private_key_pem.into()),
        certificate_pem: certificate_pem.into(),
    }
}

fn device_cred() -> Credential {
    Credential::DeviceCode { tenant: TENANT.into(), client_id: CLIENT_ID.into() }
}

/// Runs the whole collection, recording what `on_prompt` was shown, and
/// checks the result for leaked secrets (see [`assert_no_secrets`]).
async fn collect_prompted(cred: &Credential, opts: &GraphOptions) -> (TenantFacts, Vec<String>) {
    let prompts = Mutex::new(Vec::new());
    let on_prompt = |message: &str| prompts.lock().unwrap().push(message.to_owned());
    let facts = collect_tenant(cred, opts, &on_prompt).await;
    assert_no_secrets(&facts);
    (facts, prompts.into_inner().unwrap())
}

/// The stand-in tenant with one Graph path answering `reply` instead,
/// read with the client secret flow.
async fn collect_with_fault(graph_path: &str, reply: ResponseTemplate) -> (TenantFacts, MockServer) {
    let server = stand_in(TOKEN).await;
    fault(&server, get(graph_path).respond_with(reply)).await;
    (collect(&secret_cred(), &opts(&server)).await, server)
}

async fn collect(cred: &Credential, opts: &GraphOptions) -> TenantFacts {
    collect_prompted(cred, opts).await.0
}

/// Nothing the user sees (or that a snapshot stores) may hold the client
/// secret, an access token, or any line of the private key.
fn assert_no_secrets(record: &impl serde::Serialize) {
    let text = serde_json::to_string(record).unwrap();
    let mut secrets = vec![SECRET.to_owned(), TOKEN.to_owned(), user_token(), DEVICE_CODE.to_owned()];
    for key in ["test-key.pem", "test-key-pkcs1.pem"] {
        // The short last line of a base64 body ("Aw==") could occur by
        // chance; full lines could not.
        secrets.extend(fixture(key).lines().filter(|l| !l.starts_with("-----") && l.len() >= 16).map(str::to_owned));
    }
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret leaked into the facts ({s:.12}…): {text}");
    }
}

/// A form body (`application/x-www-form-urlencoded`) as name → value. A
/// query string has the same encoding, so reqwest's URL parser decodes it.
fn form_of(request: &Request) -> BTreeMap<String, String> {
    let body = String::from_utf8_lossy(&request.body);
    Url::parse(&format!("http://form.invalid/?{body}")).unwrap().query_pairs().into_owned().collect()
}

/// Matches a form whose fields are exactly `expected` (no more, no fewer).
fn form_is(expected: &[(&str, &str)]) -> impl Fn(&Request) -> bool + Send + Sync + 'static {
    let expected: BTreeMap<String, String> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |request: &Request| form_of(request) == expected
}

/// Matches `/v1.0/organization` requests by whether their `$select` asks
/// for the last password sync time (read.rs asks again without it when
/// v1.0 refuses the property).
fn selects_password_sync(wanted: bool) -> impl Fn(&Request) -> bool + Send + Sync + 'static {
    move |request: &Request| {
        let select = request.url.query_pairs().find(|(k, _)| k == "$select").map(|(_, v)| v.into_owned());
        select.is_some_and(|s| s.split(',').any(|f| f == PASSWORD_SYNC_FIELD) == wanted)
    }
}

async fn requests_to(server: &MockServer, wanted: &str) -> Vec<Request> {
    let all = server.received_requests().await.expect("wiremock records requests");
    all.into_iter().filter(|r| r.url.path() == wanted).collect()
}

async fn graph_requests(server: &MockServer) -> Vec<Request> {
    let all = server.received_requests().await.expect("wiremock records requests");
    all.into_iter().filter(|r| r.url.path().starts_with("/v1.0/") || r.url.path().starts_with("/beta/")).collect()
}

fn token_reply(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token
    }))
}

/// An OAuth error as Entra sends it: the AADSTS message with Trace ID,
/// Correlation ID and Timestamp lines, the same ids again as fields.
fn entra_error(status: u16, error: &str, code: u64, message: &str) -> ResponseTemplate {
    let at = "2024-05-01 10:00:00Z";
    ResponseTemplate::new(status).set_body_json(json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {message}\r\nTrace ID: {TRACE_ID}\r\nCorrelation ID: {CORRELATION_ID}\r\nTimestamp: {at}"
        ),
        "error_codes": [code],
        "timestamp": at,
        "trace_id": TRACE_ID,
        "correlation_id": CORRELATION_ID,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    }))
}

/// A Graph error: `{"error":{"code","message","innerError"}}` plus the
/// `request-id` header.
fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("request-id", REQUEST_ID).set_body_json(json!({"error": {
        "code": code,
        "message": message,
        "innerError": {"date": "2024-05-01T10:00:00", "request-id": REQUEST_ID, "client-request-id": REQUEST_ID}
    }}))
}

fn sync_body() -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directory/onPremisesSynchronization",
        "value": [{
            "id": TENANT,
            "configuration": {
                "synchronizationInterval": "PT30M",
                "customerRequestedSynchronizationInterval": null,
                "accidentalDeletionPrevention": {"synchronizationPreventionType": "enabledForCount", "alertThreshold": 500}
            },
            "features": {
                "blockCloudObjectTakeoverThroughHardMatchEnabled": false,
                "blockSoftMatchEnabled": false,
                "bypassDirSyncOverridesEnabled": false,
                "cloudPasswordPolicyForPasswordSyncedUsersEnabled": false,
                "concurrentCredentialUpdateEnabled": false,
                "concurrentOrgIdProvisioningEnabled": true,
                "deviceWritebackEnabled": false,
                "directoryExtensionsEnabled": false,
                "fopeConflictResolutionEnabled": false,
                "groupWriteBackEnabled": false,
                "passwordSyncEnabled": true,
                "passwordWritebackEnabled": false,
                "quarantineUponProxyAddressesConflictEnabled": true,
                "quarantineUponUpnConflictEnabled": true,
                "softMatchOnUpnEnabled": true,
                "synchronizeUpnForManagedUsersEnabled": true,
                "unifiedGroupWritebackEnabled": true,
                "userForcePasswordChangeOnLogonEnabled": false,
                "userWritebackEnabled": false
            }
        }]
    })
}

/// `/v1.0/organization`; `password_sync` is the extra field's value, or
/// `None` to leave it out.
fn org_body(password_sync: Option<Value>) -> Value {
    let mut org = json!({
        "id": TENANT,
        "displayName": "Contoso",
        "verifiedDomains": [
            {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": false, "isInitial": true,
             "name": "contoso.onmicrosoft.com", "type": "Managed"},
            {"capabilities": "Email", "isDefault": true, "isInitial": false, "name": "Contoso.com", "type": "Managed"}
        ],
        "onPremisesSyncEnabled": true,
        "onPremisesLastSyncDateTime": LAST_SYNC,
    });
    if let Some(v) = password_sync {
        org[PASSWORD_SYNC_FIELD] = v;
    }
    json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization", "value": [org]})
}

/// A healthy tenant: the token endpoint answers `TOKEN` to any request and
/// Graph answers only requests bearing `graph_token`. Tests inject faults
/// with [`fault`], whose mocks take precedence.
async fn stand_in(graph_token: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(token_path())).respond_with(token_reply(TOKEN)).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(SYNC_PATH))
        .and(bearer_token(graph_token))
        .respond_with(ResponseTemplate::new(200).set_body_json(sync_body()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(ORG_PATH))
        .and(bearer_token(graph_token))
        .respond_with(ResponseTemplate::new(200).set_body_json(org_body(Some(json!(LAST_PASSWORD_SYNC)))))
        .mount(&server)
        .await;
    server
}

/// Graph's answer when the token lacks the permission or role.
fn access_denied() -> ResponseTemplate {
    graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

/// Overrides the stand-in for requests matching `mock` (priority 1 beats
/// the stand-in's default 5).
async fn fault(server: &MockServer, mock: Mock) {
    mock.with_priority(1).mount(server).await;
}

fn get(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET")).and(path(p))
}

fn post(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path(p))
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------
// Client secret
// ---------------------------------------------------------------------------

#[tokio::test]
async fn client_secret_sign_in_posts_the_form_and_reads_the_tenant() {
    let server = MockServer::start().await;
    let scope = format!("{}/.default", server.uri());
    // Only the exact client-credentials form gets a token, and Graph answers
    // only the bearer token: anything else falls through to wiremock's 404.
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(form_is(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", &scope),
        ]))
        .respond_with(token_reply(TOKEN))
        .mount(&server)
        .await;
    for (p, body) in [(SYNC_PATH, sync_body()), (ORG_PATH, org_body(Some(json!(LAST_PASSWORD_SYNC))))] {
        get(p)
            .and(bearer_token(TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }

    let facts = collect(&secret_cred(), &opts(&server)).await;

    assert_eq!(facts.sign_in_error, None, "{facts:#?}");
    assert_eq!(facts.sync_error, None, "{facts:#?}");
    assert_eq!(facts.organization_error, None, "{facts:#?}");
    assert_eq!(facts.tenant, TENANT);
    assert_eq!(facts.flow, "client-secret");
    assert_eq!(facts.graph_url, server.uri());
    assert_eq!(facts.signed_in_as.as_deref(), Some(CLIENT_ID));
    let sync = facts.sync.expect("sync features");
    assert_eq!(sync.password_sync_enabled, Some(true));
    assert_eq!(sync.user_force_password_change_on_logon_enabled, Some(false));
    assert_eq!(sync.cloud_password_policy_for_password_synced_users_enabled, Some(false));
    assert_eq!(sync.features.len(), 19);
    assert_eq!(sync.features.get("softMatchOnUpnEnabled"), Some(&true));
    let org = facts.organization.expect("organization");
    assert_eq!(org.id.as_deref(), Some(TENANT));
    assert_eq!(org.display_name.as_deref(), Some("Contoso"));
    assert_eq!(org.on_premises_sync_enabled, Some(true));
    assert_eq!(org.on_premises_last_sync, Some(ts(LAST_SYNC)));
    assert_eq!(org.on_premises_last_password_sync, Some(ts(LAST_PASSWORD_SYNC)));
    assert_eq!(org.last_password_sync_source.as_deref(), Some("v1.0"));
    assert_eq!(org.verified_domains, ["contoso.onmicrosoft.com", "contoso.com"]);
    assert!(org.unreadable.is_empty(), "{:?}", org.unreadable);
    assert_eq!(facts.token_tenant_id.as_deref(), Some(TENANT), "the token's tid claim");
    assert!(!facts.no_directory_sync);
    // v1.0 had the field: beta was not asked.
    assert!(requests_to(&server, BETA_ORG_PATH).await.is_empty());
    // The $select names every field the checks read.
    let select =
        requests_to(&server, ORG_PATH).await[0].url.query_pairs().find(|(k, _)| k == "$select").unwrap().1.into_owned();
    for f in [
        "id",
        "displayName",
        "verifiedDomains",
        "onPremisesSyncEnabled",
        "onPremisesLastSyncDateTime",
        PASSWORD_SYNC_FIELD,
    ] {
        assert!(select.split(',').any(|s| s == f), "{select} lacks {f}");
    }
}

#[tokio::test]
async fn the_read_carries_the_time_it_was_read_at_not_a_time_graph_names() {
    let before = Timestamp::now();
    let server = stand_in(TOKEN).await;
    let facts = collect(&secret_cred(), &opts(&server)).await;
    let after = Timestamp::now();
    let read_at = facts.read_at.expect("read time");
    // Rounded up to the second, never before the answers arrived.
    assert!(
        read_at >= before && read_at <= after + jiff::SignedDuration::from_secs(1),
        "{read_at} not in [{before}, {after}]"
    );
    assert_eq!(read_at.subsec_nanosecond(), 0);
    // The organization's own times are Graph's, two years back.
    assert_ne!(Some(read_at), facts.organization.as_ref().and_then(|o| o.on_premises_last_sync));
    // A failed sign-in read nothing, so it carries no read time.
    let failed = collect(&secret_cred(), &opts_at(&closed_port_url())).await;
    assert!(failed.sign_in_error.is_some() && failed.read_at.is_none(), "{failed:#?}");
}

#[tokio::test]
async fn an_empty_synchronization_collection_means_no_directory_sync_not_an_error() {
    let empty = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directory/onPremisesSynchronization", "value": []});
    let (facts, _server) = collect_with_fault(SYNC_PATH, ResponseTemplate::new(200).set_body_json(empty)).await;
    assert!(facts.no_directory_sync, "{facts:#?}");
    assert_eq!((facts.sync, facts.sync_error), (None, None));
}

#[tokio::test]
async fn missing_or_unparseable_organization_fields_are_unreadable_not_null() {
    let mut body = org_body(Some(json!(LAST_PASSWORD_SYNC)));
    let org = &mut body["value"][0];
    org.as_object_mut().unwrap().remove("onPremisesSyncEnabled");
    org.as_object_mut().unwrap().remove("verifiedDomains");
    org["onPremisesLastSyncDateTime"] = json!("01/05/2024 10:00");
    let (facts, _server) = collect_with_fault(ORG_PATH, ResponseTemplate::new(200).set_body_json(body)).await;
    assert_eq!(facts.organization_error, None, "the rest of the organization was read");
    let org = facts.organization.expect("organization");
    assert_eq!(org.unreadable("onPremisesSyncEnabled"), Some("missing from Graph's answer"));
    assert_eq!(org.unreadable("verifiedDomains"), Some("missing from Graph's answer"));
    assert_eq!(org.unreadable("onPremisesLastSyncDateTime"), Some("not a timestamp: \"01/05/2024 10:00\""));
    assert_eq!((org.on_premises_sync_enabled, org.on_premises_last_sync), (None, None));
    // The fields that were there still count.
    assert_eq!(org.on_premises_last_password_sync, Some(ts(LAST_PASSWORD_SYNC)));
    assert_eq!(org.unreadable(PASSWORD_SYNC_FIELD), None);
}

#[tokio::test]
async fn password_sync_time_from_beta_when_v1_refuses_the_select() {
    let server = stand_in(TOKEN).await;
    // v1.0 answers 400 to a $select naming a property it doesn't have.
    fault(
        &server,
        get(ORG_PATH).and(selects_password_sync(true)).respond_with(graph_error(
            400,
            "BadRequest",
            "Could not find a property named 'onPremisesLastPasswordSyncDateTime' on type 'microsoft.graph.organization'.",
        )),
    )
    .await;
    fault(
        &server,
        get(ORG_PATH)
            .and(selects_password_sync(false))
            .respond_with(ResponseTemplate::new(200).set_body_json(org_body(None))),
    )
    .await;
    get(BETA_ORG_PATH)
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#organization(id,onPremisesLastPasswordSyncDateTime)",
            "value": [{"id": TENANT, PASSWORD_SYNC_FIELD: BETA_PASSWORD_SYNC}]
        })))
        .mount(&server)
        .await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    assert_eq!(facts.organization_error, None, "{facts:#?}");
    let org = facts.organization.expect("organization");
    assert_eq!(org.display_name.as_deref(), Some("Contoso"));
    assert_eq!(org.on_premises_last_sync, Some(ts(LAST_SYNC)));
    assert_eq!(org.on_premises_last_password_sync, Some(ts(BETA_PASSWORD_SYNC)));
    assert_eq!(org.last_password_sync_source.as_deref(), Some("beta"));
    assert_eq!(requests_to(&server, ORG_PATH).await.len(), 2, "v1.0 with, then without the field");
    assert_eq!(requests_to(&server, BETA_ORG_PATH).await.len(), 1);
}

fn beta_reply(value: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#organization(id,onPremisesLastPasswordSyncDateTime)",
        "value": [{"id": TENANT, PASSWORD_SYNC_FIELD: value}]
    }))
}

#[tokio::test]
async fn a_v1_null_does_not_outrank_a_beta_value() {
    let server = stand_in(TOKEN).await;
    fault(&server, get(ORG_PATH).respond_with(ResponseTemplate::new(200).set_body_json(org_body(Some(Value::Null)))))
        .await;
    fault(&server, get(BETA_ORG_PATH).respond_with(beta_reply(json!(BETA_PASSWORD_SYNC)))).await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    let org = facts.organization.expect("organization");
    assert_eq!(org.on_premises_last_password_sync, Some(ts(BETA_PASSWORD_SYNC)));
    assert!(!org.password_sync_never_received);
    assert_eq!(org.last_password_sync_source.as_deref(), Some("beta (v1.0 answered null)"));
    assert_eq!(requests_to(&server, BETA_ORG_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_v1_null_confirmed_by_beta_means_never_received() {
    let server = stand_in(TOKEN).await;
    fault(&server, get(ORG_PATH).respond_with(ResponseTemplate::new(200).set_body_json(org_body(Some(Value::Null)))))
        .await;
    fault(&server, get(BETA_ORG_PATH).respond_with(beta_reply(Value::Null))).await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    let org = facts.organization.expect("organization");
    assert_eq!(org.on_premises_last_password_sync, None);
    assert!(org.password_sync_never_received, "both null: never received");
    assert_eq!(
        org.last_password_sync_source.as_deref(),
        Some("v1.0 and beta: null (no password sync request recorded)")
    );
    assert_eq!(org.unreadable(PASSWORD_SYNC_FIELD), None);
}

#[tokio::test]
async fn a_v1_null_with_beta_refused_is_unreadable_not_never() {
    let server = stand_in(TOKEN).await;
    fault(&server, get(ORG_PATH).respond_with(ResponseTemplate::new(200).set_body_json(org_body(Some(Value::Null)))))
        .await;
    fault(&server, get(BETA_ORG_PATH).respond_with(access_denied())).await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    let org = facts.organization.expect("organization");
    assert!(!org.password_sync_never_received, "an unconfirmed null is not 'never'");
    let why = org.unreadable(PASSWORD_SYNC_FIELD).expect("unreadable");
    assert!(why.starts_with("v1.0 answered null, and the beta read failed"), "{why}");
    assert!(
        why.contains("403") && why.contains("Organization.Read.All") && why.ends_with("so the null is not confirmed"),
        "{why}"
    );
}

#[tokio::test]
async fn password_sync_null_on_beta_means_never_received() {
    let server = stand_in(TOKEN).await;
    // v1.0 answers without the field; beta knows it and says null.
    fault(&server, get(ORG_PATH).respond_with(ResponseTemplate::new(200).set_body_json(org_body(None)))).await;
    let beta = json!({"value": [{"id": TENANT, PASSWORD_SYNC_FIELD: null}]});
    fault(&server, get(BETA_ORG_PATH).respond_with(ResponseTemplate::new(200).set_body_json(beta))).await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    let org = facts.organization.expect("organization");
    assert_eq!(org.on_premises_last_password_sync, None);
    assert!(org.password_sync_never_received);
    assert_eq!(org.last_password_sync_source.as_deref(), Some("beta: null (no password sync request recorded)"));
}

#[tokio::test]
async fn beta_404_is_explained_and_the_rest_of_the_organization_kept() {
    let server = stand_in(TOKEN).await;
    // v1.0 answers without the field; beta is not there (a sovereign cloud).
    fault(&server, get(ORG_PATH).respond_with(ResponseTemplate::new(200).set_body_json(org_body(None)))).await;
    fault(
        &server,
        get(BETA_ORG_PATH).respond_with(graph_error(
            404,
            "Request_ResourceNotFound",
            "Resource not found for the segment 'organization'.",
        )),
    )
    .await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    assert_eq!(facts.organization_error, None, "{facts:#?}");
    let org = facts.organization.expect("organization");
    assert_eq!(org.display_name.as_deref(), Some("Contoso"));
    assert_eq!(org.on_premises_last_password_sync, None);
    assert!(!org.password_sync_never_received, "a missing endpoint is not a null");
    assert_eq!(org.last_password_sync_source, None, "no source gave a value");
    let why = org.unreadable(PASSWORD_SYNC_FIELD).expect("unreadable");
    assert!(why.starts_with("v1.0 does not have it, and the beta endpoint returned 404"), "{why}");
    assert!(why.contains("Request_ResourceNotFound"), "{why}");
    assert!(why.contains(REQUEST_ID), "{why}");
}

#[tokio::test]
async fn beta_refused_throttled_or_without_the_field_is_unreadable_with_its_cause() {
    let throttled = graph_error(429, "TooManyRequests", "Too many requests").insert_header("Retry-After", "1");
    let no_field = ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": TENANT}]}));
    let no_object = ResponseTemplate::new(200).set_body_json(json!({"value": []}));
    let bad_time = beta_reply(json!("last tuesday"));
    for (reply, said) in [
        (access_denied(), "the beta read failed: "),
        (throttled, "the beta read failed: throttled by Graph: gave up after 2 retries"),
        (no_field, "the beta answer has no onPremisesLastPasswordSyncDateTime field"),
        (no_object, "the beta endpoint returned no organization object"),
        (bad_time, "not a timestamp: \"last tuesday\""),
    ] {
        let server = stand_in(TOKEN).await;
        fault(&server, get(ORG_PATH).respond_with(ResponseTemplate::new(200).set_body_json(org_body(None)))).await;
        fault(&server, get(BETA_ORG_PATH).respond_with(reply)).await;
        let options = GraphOptions { max_retry_wait: Duration::from_millis(50), ..opts(&server) };

        let facts = collect(&secret_cred(), &options).await;

        let org = facts.organization.expect("organization");
        assert!(!org.password_sync_never_received, "{said}");
        assert_eq!(org.on_premises_last_password_sync, None, "{said}");
        let why = org.unreadable(PASSWORD_SYNC_FIELD).unwrap_or_else(|| panic!("{said}: {org:#?}"));
        assert!(why.contains(said), "{why}");
        // The rest of the organization stands.
        assert_eq!(org.on_premises_last_sync, Some(ts(LAST_SYNC)), "{said}");
    }
}

// ---------------------------------------------------------------------------
// Client certificate
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct AssertionClaims {
    aud: String,
    iss: String,
    sub: String,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// Checks the client assertion the way Entra would: RS256, the certificate
/// named by its SHA-256 thumbprint (computed by openssl, see the fixture
/// README), signed by the key whose public half is `test-public.pem`, and
/// addressed to this token endpoint by this app.
fn verify_assertion(jwt: &str, token_url: &str) -> AssertionClaims {
    let header = jsonwebtoken::decode_header(jwt).expect("a JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.x5t_s256.as_deref(), Some(fixture("test-cert.x5t-s256.txt").trim()));
    let key = DecodingKey::from_rsa_pem(fixture("test-public.pem").as_bytes()).expect("public key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.sub = Some(CLIENT_ID.to_owned());
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(jwt, &key, &validation)
        .unwrap_or_else(|e| panic!("the assertion does not verify with test-public.pem: {e}"))
        .claims;
    assert_eq!(claims.aud, token_url);
    assert_eq!((claims.iss.as_str(), claims.sub.as_str()), (CLIENT_ID, CLIENT_ID));
    assert!(claims.exp > claims.nbf, "exp {} <= nbf {}", claims.exp, claims.nbf);
    assert!((Timestamp::now().as_second() - claims.iat).abs() < 60, "iat {} is not now", claims.iat);
    assert!(!claims.jti.is_empty());
    claims
}

#[tokio::test]
async fn certificate_sign_in_sends_a_verifiable_assertion() {
    let server = stand_in(TOKEN).await;
    let token_url = format!("{}{}", server.uri(), token_path());

    let facts = collect(&cert_cred(&fixture("test-key.pem"), &fixture("test-cert.pem")), &opts(&server)).await;

    assert_eq!(facts.sign_in_error, None, "{facts:#?}");
    assert_eq!(facts.flow, "client-certificate");
    assert_eq!(facts.signed_in_as.as_deref(), Some(CLIENT_ID));
    assert_eq!(facts.sync.expect("sync").password_sync_enabled, Some(true));
    let posted = requests_to(&server, &token_path()).await;
    assert_eq!(posted.len(), 1);
    let form = form_of(&posted[0]);
    let keys: Vec<&str> = form.keys().map(String::as_str).collect();
    assert_eq!(keys, ["client_assertion", "client_assertion_type", "client_id", "grant_type", "scope"]);
    assert_eq!(form["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["scope"], format!("{}/.default", server.uri()));
    verify_assertion(&form["client_assertion"], &token_url);
    // The key itself never leaves the machine.
    let body = String::from_utf8_lossy(&posted[0].body);
    assert!(!fixture("test-key.pem").lines().filter(|l| l.len() >= 16).any(|l| body.contains(l)));
}

#[tokio::test]
async fn certificate_sign_in_takes_a_pkcs1_key_in_a_combined_pem() {
    // Azure tooling writes the certificate and the key into one file; the
    // client must pick the key block out of it.
    let server = stand_in(TOKEN).await;
    let combined = format!("{}{}", fixture("test-cert.pem"), fixture("test-key-pkcs1.pem"));

    let facts = collect(&cert_cred(&combined, &fixture("test-cert.pem")), &opts(&server)).await;

    assert_eq!(facts.sign_in_error, None, "{facts:#?}");
    let posted = requests_to(&server, &token_path()).await;
    let claims =
        verify_assertion(&form_of(&posted[0])["client_assertion"], &format!("{}{}", server.uri(), token_path()));
    assert_eq!(claims.iss, CLIENT_ID);
}

#[tokio::test]
async fn unusable_key_or_certificate_fails_before_any_request() {
    let server = stand_in(TOKEN).await;
    let (key, cert) = (fixture("test-key.pem"), fixture("test-cert.pem"));
    let garbage_key = "-----BEGIN PRIVATE KEY-----\nbm90IGFuIFJTQSBrZXksIGp1c3QgdGV4dA==\n-----END PRIVATE KEY-----\n";
    // Valid base64, but not a DER SEQUENCE: no certificate.
    let garbage_cert = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    let bad_base64_cert = "-----BEGIN CERTIFICATE-----\n%%% not base64 %%%\n-----END CERTIFICATE-----\n";
    let cases = [
        (fixture("test-key-encrypted.pem"), cert.clone(), "the private key is encrypted"),
        (garbage_key.to_owned(), cert.clone(), "the private key is not a usable RSA key"),
        ("just some text".to_owned(), cert.clone(), "the private key is not PEM"),
        (key.clone(), garbage_cert.to_owned(), "does not hold a DER certificate"),
        (key.clone(), bad_base64_cert.to_owned(), "not valid base64"),
        (key.clone(), "no certificate here".to_owned(), "the certificate is not PEM"),
    ];
    for (key_pem, cert_pem, expected) in cases {
        let facts = collect(&cert_cred(&key_pem, &cert_pem), &opts(&server)).await;
        let error = facts.sign_in_error.unwrap_or_else(|| panic!("no sign-in error for {expected:?}"));
        assert!(error.contains(expected), "want {expected:?} in: {error}");
        assert_eq!((facts.signed_in_as, facts.sync, facts.organization), (None, None, None));
    }
    // A broken key or certificate is found locally: nothing was sent.
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

// ---------------------------------------------------------------------------
// Device code
// ---------------------------------------------------------------------------

const DEVICE_MESSAGE: &str = "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and \
                              enter the code FXHD3VZTL to authenticate.";

/// The `/devicecode` answer. `interval` 0 keeps the tests fast (the client
/// polls no faster than every 200 ms).
fn devicecode_reply(expires_in: u64) -> ResponseTemplate {
    devicecode_reply_with(json!(expires_in), json!(0))
}

/// The `/devicecode` answer with any `expires_in` and `interval` values,
/// numbers or not, as a hostile or broken server might send them.
fn devicecode_reply_with(expires_in: Value, interval: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "user_code": USER_CODE,
        "device_code": DEVICE_CODE,
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": expires_in,
        "interval": interval,
        "message": DEVICE_MESSAGE,
    }))
}

fn device_poll_form() -> impl Fn(&Request) -> bool + Send + Sync + 'static {
    form_is(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", CLIENT_ID),
        ("device_code", DEVICE_CODE),
    ])
}

/// The answer while nobody has signed in yet.
fn pending() -> ResponseTemplate {
    entra_error(
        400,
        "authorization_pending",
        70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    )
}

/// A device code stand-in: `/devicecode` answers (expiring in
/// `expires_in`), the token endpoint answers `first` for the first `n`
/// polls and then the user's token; Graph accepts the user's token.
async fn device_stand_in(expires_in: u64, first: ResponseTemplate, n: u64) -> MockServer {
    device_stand_in_with(devicecode_reply(expires_in), first, n).await
}

/// [`device_stand_in`] with any `/devicecode` answer.
async fn device_stand_in_with(devicecode: ResponseTemplate, first: ResponseTemplate, n: u64) -> MockServer {
    let server = stand_in(&user_token()).await;
    let scope = format!("{}/.default", server.uri());
    post(&devicecode_path())
        .and(form_is(&[("client_id", CLIENT_ID), ("scope", &scope)]))
        .respond_with(devicecode)
        .mount(&server)
        .await;
    fault(&server, post(&token_path()).and(device_poll_form()).respond_with(first).up_to_n_times(n)).await;
    post(&token_path())
        .and(device_poll_form())
        .respond_with(token_reply(&user_token()))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn device_code_prompts_then_polls_until_signed_in() {
    let server = device_stand_in(900, pending(), 2).await;

    let (facts, prompts) = collect_prompted(&device_cred(), &opts(&server)).await;

    assert_eq!(prompts, [DEVICE_MESSAGE]);
    assert_eq!(facts.sign_in_error, None, "{facts:#?}");
    assert_eq!(facts.flow, "device-code");
    // The user's name from the token's preferred_username claim.
    assert_eq!(facts.signed_in_as.as_deref(), Some(ADMIN_UPN));
    // The tenant the user's token was issued for, from its tid claim.
    assert_eq!(facts.token_tenant_id.as_deref(), Some(TENANT));
    assert_eq!(requests_to(&server, &token_path()).await.len(), 3, "two pending polls, then the token");
    assert_eq!(facts.sync.expect("sync (Graph took the user's token)").password_sync_enabled, Some(true));
    assert_eq!(facts.organization.expect("organization").last_password_sync_source.as_deref(), Some("v1.0"));
}

#[tokio::test]
async fn device_code_expired_before_sign_in() {
    let expired = entra_error(
        400,
        "expired_token",
        70019,
        "The provided value for the 'device_code' parameter is expired. Verification code expired.",
    );
    let server = device_stand_in(900, expired, 1).await;

    let (facts, prompts) = collect_prompted(&device_cred(), &opts(&server)).await;

    assert_eq!(prompts.len(), 1);
    let error = facts.sign_in_error.expect("sign-in error");
    assert!(error.contains("the device code expired before the sign-in was completed (expired_token)"), "{error}");
    assert!(error.contains("run again and sign in within 15 min"), "{error}");
    assert_eq!(facts.signed_in_as, None);
    assert!(graph_requests(&server).await.is_empty());
}

#[tokio::test]
async fn device_code_declined_by_the_user() {
    let declined = ResponseTemplate::new(400).set_body_json(json!({
        "error": "authorization_declined",
        "error_description": format!(
            "The end user denied the authorization request.\r\nTrace ID: {TRACE_ID}\r\nCorrelation ID: {CORRELATION_ID}"
        ),
        "trace_id": TRACE_ID,
        "correlation_id": CORRELATION_ID,
    }));
    let server = device_stand_in(900, declined, 1).await;

    let facts = collect(&device_cred(), &opts(&server)).await;

    let error = facts.sign_in_error.expect("sign-in error");
    assert!(error.contains("the sign-in was declined at the device code prompt (authorization_declined)"), "{error}");
    assert!(graph_requests(&server).await.is_empty());
}

#[tokio::test]
async fn device_code_slow_down_backs_off_and_still_succeeds() {
    // RFC 8628: slow_down adds 5 s to the polling interval. The one slow
    // test here (about 5 s), kept because a client that ignores slow_down
    // gets itself throttled by Entra.
    let slow_down = entra_error(400, "slow_down", 70016, "OAuth 2.0 device flow error. Slow down.");
    let server = device_stand_in(900, slow_down, 1).await;
    let started = Instant::now();

    let facts = collect(&device_cred(), &opts(&server)).await;

    assert_eq!(facts.sign_in_error, None, "{facts:#?}");
    assert_eq!(facts.signed_in_as.as_deref(), Some(ADMIN_UPN));
    assert!(started.elapsed() >= Duration::from_secs(5), "polled again after {:?}", started.elapsed());
    assert_eq!(requests_to(&server, &token_path()).await.len(), 2);
}

#[tokio::test]
async fn device_code_gives_up_when_nobody_signs_in_in_time() {
    // Entra would answer expired_token; this checks the client's own bound
    // when it doesn't.
    let server = device_stand_in(1, pending(), u64::MAX).await;

    let facts = collect(&device_cred(), &opts(&server)).await;

    let error = facts.sign_in_error.expect("sign-in error");
    assert!(error.contains("nobody completed the device code sign-in within 1 s"), "{error}");
    assert!(graph_requests(&server).await.is_empty());
}

fn expired() -> ResponseTemplate {
    entra_error(400, "expired_token", 70019, "The provided value for the 'device_code' parameter is expired.")
}

#[tokio::test]
async fn device_code_huge_lifetimes_are_capped_not_a_panic() {
    // Once `Instant::now() + expires_in` overflowed (a panic) or the wait
    // was endless. The expired_token answer shows the lifetime used.
    for expires_in in [json!(u64::MAX), json!(i64::MAX), json!(1e300), json!("99999999999999999999999"), json!(86400)] {
        let server = device_stand_in_with(devicecode_reply_with(expires_in.clone(), json!(0)), expired(), 1).await;

        let (facts, prompts) = collect_prompted(&device_cred(), &opts(&server)).await;

        let error = facts.sign_in_error.expect("sign-in error");
        assert!(error.contains("run again and sign in within 30 min"), "{expires_in}: {error}");
        assert_eq!(prompts, [DEVICE_MESSAGE], "{expires_in}");
    }
    // And with a huge lifetime the sign-in still completes normally.
    let server = device_stand_in_with(devicecode_reply_with(json!(u64::MAX), json!(0)), pending(), 1).await;
    let facts = collect(&device_cred(), &opts(&server)).await;
    assert_eq!(facts.sign_in_error, None, "{facts:#?}");
    assert_eq!(facts.signed_in_as.as_deref(), Some(ADMIN_UPN));
}

#[tokio::test]
async fn device_code_huge_intervals_do_not_outwait_the_lifetime() {
    for interval in [json!(u64::MAX), json!(1e300), json!("18446744073709551616"), json!(86400)] {
        let server = device_stand_in_with(devicecode_reply_with(json!(1), interval.clone()), pending(), u64::MAX).await;
        let started = Instant::now();

        let facts = collect(&device_cred(), &opts(&server)).await;

        let error = facts.sign_in_error.expect("sign-in error");
        assert!(error.contains("nobody completed the device code sign-in within 1 s"), "{interval}: {error}");
        assert!(started.elapsed() < Duration::from_secs(5), "{interval}: waited {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn device_code_with_no_lifetime_left_is_refused_before_the_prompt() {
    for expires_in in
        [json!(0), json!(-1), json!(-900), json!(i64::MIN), json!(0.5), json!("0"), json!("-5"), json!(-1e300)]
    {
        let server = device_stand_in_with(devicecode_reply_with(expires_in.clone(), json!(0)), pending(), 1).await;

        let (facts, prompts) = collect_prompted(&device_cred(), &opts(&server)).await;

        let error = facts.sign_in_error.expect("sign-in error");
        assert!(error.starts_with("the device code endpoint gave the code a lifetime of "), "{expires_in}: {error}");
        assert!(error.contains("(expires_in)"), "{error}");
        assert!(prompts.is_empty(), "{expires_in}: prompted {prompts:?}");
        assert!(requests_to(&server, &token_path()).await.is_empty(), "{expires_in}: polled");
    }
}

#[tokio::test]
async fn device_code_zero_or_negative_interval_polls_at_the_floor() {
    for interval in [json!(0), json!(-5), json!(-1e300), json!(i64::MIN), json!("-1"), json!(0.01)] {
        let server = device_stand_in_with(devicecode_reply_with(json!(900), interval.clone()), pending(), 2).await;
        let started = Instant::now();

        let facts = collect(&device_cred(), &opts(&server)).await;

        assert_eq!(facts.sign_in_error, None, "{interval}: {facts:#?}");
        assert_eq!(requests_to(&server, &token_path()).await.len(), 3, "{interval}");
        // Three polls, each after the 200 ms floor: no spinning, and not
        // Entra's default of 5 s either.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(600) && waited < Duration::from_secs(5), "{interval}: {waited:?}");
    }
}

#[tokio::test]
async fn device_code_timings_that_are_not_numbers_are_named() {
    for (expires_in, interval, field) in [
        (json!("soon"), json!(5), "expires_in"),
        (json!(true), json!(5), "expires_in"),
        (json!([900]), json!(5), "expires_in"),
        (json!({"seconds": 900}), json!(5), "expires_in"),
        (json!(900), json!("fast"), "interval"),
        (json!(900), json!(false), "interval"),
        (json!(900), json!("1e999"), "interval"),
    ] {
        let server = device_stand_in_with(devicecode_reply_with(expires_in, interval), pending(), 1).await;

        let (facts, prompts) = collect_prompted(&device_cred(), &opts(&server)).await;

        let error = facts.sign_in_error.expect("sign-in error");
        assert_eq!(error, format!("the device code endpoint's {field} is not a number of seconds"));
        assert!(prompts.is_empty());
    }
    // A lifetime given as a digit string (as the older v1.0 endpoint did) is taken.
    let server = device_stand_in_with(devicecode_reply_with(json!("900"), json!("0")), expired(), 1).await;
    let error = collect(&device_cred(), &opts(&server)).await.sign_in_error.expect("sign-in error");
    assert!(error.contains("sign in within 15 min"), "{error}");
}

#[tokio::test]
async fn device_code_and_delegated_tokens_echoed_back_are_scrubbed() {
    // The token endpoint quoting the device code in its error…
    let echo = entra_error(400, "invalid_grant", 70000, &format!("The device_code '{DEVICE_CODE}' is malformed."));
    let server = device_stand_in(900, echo, 1).await;
    let facts = collect(&device_cred(), &opts(&server)).await;
    let error = facts.sign_in_error.expect("sign-in error");
    assert!(error.contains("The device_code '***' is malformed."), "{error}");

    // …and the sign-in message carrying it.
    let server = stand_in(&user_token()).await;
    let reply = ResponseTemplate::new(200).set_body_json(json!({
        "device_code": DEVICE_CODE, "user_code": USER_CODE, "expires_in": 1, "interval": 0,
        "message": format!("Enter {USER_CODE} (device {DEVICE_CODE})"),
    }));
    post(&devicecode_path()).respond_with(reply).mount(&server).await;
    fault(&server, post(&token_path()).respond_with(pending())).await;
    let (_, prompts) = collect_prompted(&device_cred(), &opts(&server)).await;
    assert_eq!(prompts, [format!("Enter {USER_CODE} (device ***)")]);

    // A refresh token, never used, still never shows: here Graph quotes it.
    const REFRESH: &str = "0.AXoA-stand-in-refresh-token";
    let server = stand_in(&user_token()).await;
    post(&devicecode_path()).respond_with(devicecode_reply(900)).mount(&server).await;
    let with_refresh = ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer", "expires_in": 3599, "access_token": user_token(), "refresh_token": REFRESH,
    }));
    fault(&server, post(&token_path()).respond_with(with_refresh)).await;
    let echo = graph_error(401, "InvalidAuthenticationToken", &format!("Refresh token {REFRESH} sent to Graph."));
    fault(&server, get(SYNC_PATH).respond_with(echo)).await;
    let facts = collect(&device_cred(), &opts(&server)).await;
    let error = facts.sync_error.expect("sync error");
    assert!(error.contains("Refresh token *** sent to Graph."), "{error}");
}

#[tokio::test]
async fn request_bodies_echoed_back_are_scrubbed_assertion_and_form_encoded_secret_included() {
    // A proxy answering with the request body it refused: the client
    // assertion as posted, the secret form-encoded (`~` as %7E).
    let echo_body = |request: &Request| {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": format!("AADSTS900144: cannot parse the request body: {body}"),
        }))
    };
    let server = stand_in(TOKEN).await;
    fault(&server, post(&token_path()).respond_with(echo_body)).await;
    let facts = collect(&cert_cred(&fixture("test-key.pem"), &fixture("test-cert.pem")), &opts(&server)).await;
    let error = facts.sign_in_error.expect("sign-in error");
    let posted = form_of(&requests_to(&server, &token_path()).await[0]);
    assert!(!error.contains(&posted["client_assertion"]), "the assertion leaked: {error}");
    assert!(error.contains("client_assertion=***"), "{error}");

    let server = stand_in(TOKEN).await;
    fault(&server, post(&token_path()).respond_with(echo_body)).await;
    let facts = collect(&secret_cred(), &opts(&server)).await;
    let error = facts.sign_in_error.expect("sign-in error");
    assert!(error.contains("client_secret=***"), "{error}");
}

#[tokio::test]
async fn short_client_secrets_are_scrubbed_too() {
    for short in ["x", "ab1", "Pw!2", "seven77"] {
        let server = stand_in(TOKEN).await;
        let echo = entra_error(401, "invalid_client", 7000215, &format!("Invalid client secret provided: [{short}]."));
        fault(&server, post(&token_path()).respond_with(echo)).await;
        let cred = Credential::ClientSecret {
            tenant: TENANT.into(),
            client_id: CLIENT_ID.into(),
            secret: Secret::new(short.into()),
        };
        let facts = collect_tenant(&cred, &opts(&server), &|_| {}).await;
        let error = facts.sign_in_error.expect("sign-in error");
        assert!(error.contains("Invalid client secret provided: [***]."), "{short}: {error}");
    }
}

/// Entra's answer when the app registration doesn't allow public client
/// flows: the device code flow then needs a secret it doesn't have.
fn public_client_flows_off() -> ResponseTemplate {
    entra_error(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    )
}

#[tokio::test]
async fn device_code_refused_when_public_client_flows_are_off() {
    const CAUSE: &str = "the app does not allow public client flows: turn on 'Allow public client flows'";

    // Refused at the start: no prompt, no polling.
    let server = stand_in(&user_token()).await;
    post(&devicecode_path()).respond_with(public_client_flows_off()).mount(&server).await;
    let (facts, prompts) = collect_prompted(&device_cred(), &opts(&server)).await;
    let error = facts.sign_in_error.expect("sign-in error");
    assert!(error.starts_with("device code sign-in could not start: "), "{error}");
    assert!(error.contains(CAUSE), "{error}");
    assert!(error.contains("AADSTS7000218"), "{error}");
    assert!(prompts.is_empty(), "{prompts:?}");
    assert!(requests_to(&server, &token_path()).await.is_empty());

    // Refused at the first poll (where Entra usually says it): same cause.
    let server = device_stand_in(900, public_client_flows_off(), 1).await;
    let facts = collect(&device_cred(), &opts(&server)).await;
    let error = facts.sign_in_error.expect("sign-in error");
    assert!(error.starts_with(CAUSE), "{error}");
    assert!(error.contains("AADSTS7000218: The request body must contain"), "{error}");
    assert!(error.contains("HTTP 401 invalid_client"), "{error}");
    assert!(graph_requests(&server).await.is_empty());
}

#[tokio::test]
async fn device_code_403_on_sync_has_no_app_only_hint() {
    let server = device_stand_in(900, pending(), 1).await;
    fault(&server, get(SYNC_PATH).respond_with(access_denied())).await;

    let facts = collect(&device_cred(), &opts(&server)).await;

    let error = facts.sync_error.expect("sync error");
    assert!(error.contains("OnPremDirectorySynchronization.Read.All"), "{error}");
    // A person signed in: telling them to stop using an app-only sign-in
    // would be wrong.
    assert!(!error.contains("app-only"), "{error}");
}

// ---------------------------------------------------------------------------
// Entra refuses the sign-in
// ---------------------------------------------------------------------------

/// Signs in with the client secret against a token endpoint answering
/// `reply`; checks that nothing was read from Graph and returns the text.
async fn sign_in_error_for(reply: ResponseTemplate) -> String {
    let server = stand_in(TOKEN).await;
    fault(&server, post(&token_path()).respond_with(reply)).await;
    let facts = collect(&secret_cred(), &opts(&server)).await;
    assert!(graph_requests(&server).await.is_empty(), "Graph was called without a token");
    assert_eq!((&facts.signed_in_as, &facts.sync, &facts.organization), (&None, &None, &None));
    facts.sign_in_error.expect("a sign-in error")
}

/// Entra's ids are given once, as "trace ID …; correlation ID …", not as
/// the description's raw extra lines.
fn assert_ids(error: &str) {
    assert!(error.contains(&format!("trace ID {TRACE_ID}; correlation ID {CORRELATION_ID}")), "{error}");
    assert!(!error.contains("Trace ID:") && !error.contains('\n') && !error.contains('\r'), "{error}");
}

#[tokio::test]
async fn wrong_tenant_aadsts90002() {
    let error = sign_in_error_for(entra_error(
        400,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{TENANT}' not found. Check to make sure you have the correct tenant ID and are signing into the \
             correct cloud."
        ),
    ))
    .await;
    assert!(error.starts_with("the tenant was not found: check the tenant id or domain"), "{error}");
    assert!(error.contains(&format!("AADSTS90002: Tenant '{TENANT}' not found.")), "{error}");
    assert!(error.contains("HTTP 400 invalid_request"), "{error}");
    assert_ids(&error);
}

#[tokio::test]
async fn wrong_secret_aadsts7000215() {
    let error = sign_in_error_for(entra_error(
        401,
        "invalid_client",
        7000215,
        &format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, \
             not the client secret ID, for a secret added to app '{CLIENT_ID}'."
        ),
    ))
    .await;
    assert!(error.starts_with("the client secret is wrong (send the secret's Value, not its Secret ID)"), "{error}");
    assert!(error.contains("AADSTS7000215: Invalid client secret provided."), "{error}");
    assert!(error.contains("HTTP 401 invalid_client"), "{error}");
    assert_ids(&error);
}

#[tokio::test]
async fn expired_secret_aadsts7000222() {
    let error = sign_in_error_for(entra_error(
        401,
        "invalid_client",
        7000222,
        &format!(
            "The provided client secret keys for app '{CLIENT_ID}' are expired. Visit the Azure portal to create new \
             keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials."
        ),
    ))
    .await;
    assert!(error.starts_with("the client secret has expired: create a new one"), "{error}");
    assert!(error.contains("AADSTS7000222: The provided client secret keys"), "{error}");
    assert_ids(&error);
}

#[tokio::test]
async fn unknown_app_aadsts700016() {
    let error = sign_in_error_for(entra_error(
        400,
        "unauthorized_client",
        700016,
        &format!(
            "Application with identifier '{CLIENT_ID}' was not found in the directory '{TENANT}'. This can happen if \
             the application has not been installed by the administrator of the tenant or consented to by any user \
             in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    ))
    .await;
    assert!(error.starts_with("the application (client) id was not found in the tenant"), "{error}");
    assert!(error.contains(&format!("AADSTS700016: Application with identifier '{CLIENT_ID}'")), "{error}");
    assert!(error.contains("HTTP 400 unauthorized_client"), "{error}");
    assert_ids(&error);
}

#[tokio::test]
async fn token_endpoint_html_page_is_named_not_parsed() {
    // A proxy's error page instead of Entra's JSON.
    let page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>Bad gateway</body>\n</html>";
    let error = sign_in_error_for(ResponseTemplate::new(502).set_body_raw(page, "text/html")).await;
    assert!(error.starts_with("the token endpoint answered HTTP 502 without an OAuth error (<html> <head>"), "{error}");
    assert!(error.contains("Bad Gateway"), "{error}");
}

#[tokio::test]
async fn tenant_that_is_not_a_name_is_refused_before_any_request() {
    let server = stand_in(TOKEN).await;
    let cred = Credential::ClientSecret {
        tenant: "contoso/../common".into(),
        client_id: CLIENT_ID.into(),
        secret: Secret::new(SECRET.into()),
    };

    let facts = collect(&cred, &opts(&server)).await;

    let error = facts.sign_in_error.expect("sign-in error");
    assert!(error.contains("is not a tenant id (GUID) or domain name"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn token_endpoint_connection_refused() {
    let closed = closed_port_url();

    let facts = collect(&secret_cred(), &opts_at(&closed)).await;

    let error = facts.sign_in_error.expect("sign-in error");
    assert_eq!(error, format!("cannot reach {closed}/{TENANT}/oauth2/v2.0/token: connection refused"));
}

// ---------------------------------------------------------------------------
// Graph answers badly
// ---------------------------------------------------------------------------

#[tokio::test]
async fn graph_429_waits_for_retry_after_then_succeeds() {
    let server = stand_in(TOKEN).await;
    let throttled = graph_error(429, "TooManyRequests", "Too many requests").insert_header("Retry-After", "1");
    fault(&server, get(SYNC_PATH).respond_with(throttled).up_to_n_times(1)).await;
    let started = Instant::now();

    let facts = collect(&secret_cred(), &opts(&server)).await;

    assert_eq!(facts.sync_error, None, "{facts:#?}");
    assert_eq!(facts.sync.expect("sync").password_sync_enabled, Some(true));
    assert_eq!(requests_to(&server, SYNC_PATH).await.len(), 2);
    assert!(started.elapsed() >= Duration::from_millis(950), "did not wait: {:?}", started.elapsed());
}

#[tokio::test]
async fn graph_429_forever_gives_up_after_max_retries() {
    let server = stand_in(TOKEN).await;
    // Graph asks for an hour; the client's cap (200 ms here) bounds the wait.
    let throttled = graph_error(429, "TooManyRequests", "Too many requests").insert_header("Retry-After", "3600");
    fault(&server, get(SYNC_PATH).respond_with(throttled)).await;
    let options = GraphOptions { max_retry_wait: Duration::from_millis(200), ..opts(&server) };
    let started = Instant::now();

    let facts = collect(&secret_cred(), &options).await;

    let error = facts.sync_error.expect("sync error");
    assert_eq!(error, "throttled by Graph: gave up after 2 retries (Retry-After 1 h)");
    assert_eq!(requests_to(&server, SYNC_PATH).await.len(), 3, "the first try and two retries");
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
    // The organization read is independent and still arrives.
    assert_eq!(facts.organization.expect("organization").display_name.as_deref(), Some("Contoso"));
}

#[tokio::test]
async fn graph_503_with_retry_after_date_then_succeeds() {
    let server = stand_in(TOKEN).await;
    // An HTTP date in the past means "retry now".
    let unavailable = graph_error(503, "serviceNotAvailable", "Service unavailable")
        .insert_header("Retry-After", "Wed, 01 May 2024 10:00:00 GMT");
    fault(&server, get(ORG_PATH).respond_with(unavailable).up_to_n_times(1)).await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    assert_eq!(facts.organization_error, None, "{facts:#?}");
    assert_eq!(facts.organization.expect("organization").last_password_sync_source.as_deref(), Some("v1.0"));
    assert_eq!(requests_to(&server, ORG_PATH).await.len(), 2);
}

#[tokio::test]
async fn graph_401_expired_token_is_named() {
    let server = stand_in(TOKEN).await;
    let rejected = graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.");
    fault(&server, get(SYNC_PATH).respond_with(rejected.clone())).await;
    fault(&server, get(ORG_PATH).respond_with(rejected)).await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    for error in [facts.sync_error.expect("sync error"), facts.organization_error.expect("organization error")] {
        assert!(error.starts_with("the token was rejected (expired or wrong audience)"), "{error}");
        assert!(
            error.contains("HTTP 401 InvalidAuthenticationToken: Access token has expired or is not yet valid."),
            "{error}"
        );
        assert!(error.contains(&format!("request-id {REQUEST_ID}")), "{error}");
    }
}

#[tokio::test]
async fn graph_403_on_sync_names_the_permission_and_the_app_only_limit() {
    let (facts, _) = collect_with_fault(SYNC_PATH, access_denied()).await;

    let error = facts.sync_error.expect("sync error");
    assert!(
        error.starts_with("access denied (HTTP 403 Authorization_RequestDenied: Insufficient privileges"),
        "{error}"
    );
    assert!(error.contains("needs OnPremDirectorySynchronization.Read.All"), "{error}");
    assert!(error.contains("this was an app-only sign-in: use the device code flow"), "{error}");
    assert_eq!(facts.organization_error, None);
}

#[tokio::test]
async fn graph_403_on_organization_names_the_permission() {
    let (facts, _) = collect_with_fault(ORG_PATH, access_denied()).await;

    let error = facts.organization_error.expect("organization error");
    assert!(error.starts_with("access denied (HTTP 403 Authorization_RequestDenied"), "{error}");
    assert!(error.contains("needs Organization.Read.All (or Directory.Read.All)"), "{error}");
    assert_eq!(facts.organization, None);
    assert_eq!(facts.sync.expect("sync").password_sync_enabled, Some(true));
}

#[tokio::test]
async fn graph_500_is_a_server_error_and_not_retried() {
    let (facts, server) =
        collect_with_fault(SYNC_PATH, graph_error(500, "generalException", "An internal server error occurred.")).await;

    let error = facts.sync_error.expect("sync error");
    assert_eq!(
        error,
        format!(
            "Graph server error on {}{SYNC_PATH} (HTTP 500 generalException: An internal server error occurred.; \
             request-id {REQUEST_ID}); try again later",
            server.uri()
        )
    );
    assert_eq!(requests_to(&server, SYNC_PATH).await.len(), 1);
}

#[tokio::test]
async fn next_link_on_the_same_host_is_followed() {
    let server = stand_in(TOKEN).await;
    // An empty first page: the object only arrives if the client follows.
    let first = json!({"value": [], "@odata.nextLink": format!("{}{SYNC_PATH}?$skiptoken=page2", server.uri())});
    fault(
        &server,
        get(SYNC_PATH)
            .and(query_param_is_missing("$skiptoken"))
            .respond_with(ResponseTemplate::new(200).set_body_json(first)),
    )
    .await;
    fault(
        &server,
        get(SYNC_PATH)
            .and(query_param("$skiptoken", "page2"))
            .and(bearer_token(TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_json(sync_body())),
    )
    .await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    assert_eq!(facts.sync_error, None, "{facts:#?}");
    assert_eq!(facts.sync.expect("sync").password_sync_enabled, Some(true));
    assert_eq!(requests_to(&server, SYNC_PATH).await.len(), 2);
}

#[tokio::test]
async fn next_link_to_another_host_is_refused_and_gets_no_token() {
    let server = stand_in(TOKEN).await;
    let elsewhere = MockServer::start().await;
    let first = json!({"value": [], "@odata.nextLink": format!("{}{SYNC_PATH}?$skiptoken=page2", elsewhere.uri())});
    fault(&server, get(SYNC_PATH).respond_with(ResponseTemplate::new(200).set_body_json(first))).await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    let error = facts.sync_error.expect("sync error");
    assert!(error.starts_with("Graph's @odata.nextLink points to "), "{error}");
    assert!(error.contains("not sending the token there"), "{error}");
    assert_eq!(elsewhere.received_requests().await.unwrap().len(), 0, "the other host was contacted");
}

#[tokio::test]
async fn redirect_is_not_followed_with_the_token() {
    let server = stand_in(TOKEN).await;
    let elsewhere = MockServer::start().await;
    let target = format!("{}{SYNC_PATH}", elsewhere.uri());
    fault(&server, get(SYNC_PATH).respond_with(ResponseTemplate::new(302).insert_header("Location", target.as_str())))
        .await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    let error = facts.sync_error.expect("sync error");
    assert!(error.contains(&format!("with a redirect to {target}")), "{error}");
    assert!(error.contains("not following it with the token"), "{error}");
    assert_eq!(elsewhere.received_requests().await.unwrap().len(), 0, "the redirect was followed");
}

#[tokio::test]
async fn graph_timeout_is_named_and_the_other_read_still_arrives() {
    let server = stand_in(TOKEN).await;
    fault(
        &server,
        get(SYNC_PATH)
            .respond_with(ResponseTemplate::new(200).set_body_json(sync_body()).set_delay(Duration::from_secs(3))),
    )
    .await;
    let options = GraphOptions { timeout: Duration::from_millis(500), ..opts(&server) };

    let facts = collect(&secret_cred(), &options).await;

    let error = facts.sync_error.expect("sync error");
    assert_eq!(error, format!("cannot reach {}{SYNC_PATH}: timed out after 500 ms", server.uri()));
    assert_eq!(facts.organization.expect("organization").display_name.as_deref(), Some("Contoso"));
}

/// A URL nothing listens on: bind a port, then free it.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn graph_connection_refused_is_named() {
    let server = stand_in(TOKEN).await;
    let closed = closed_port_url();
    let options = GraphOptions { graph_url: closed.clone(), ..opts(&server) };

    let facts = collect(&secret_cred(), &options).await;

    assert_eq!(facts.sign_in_error, None, "{facts:#?}");
    let sync_error = facts.sync_error.expect("sync error");
    assert_eq!(sync_error, format!("cannot reach {closed}{SYNC_PATH}: connection refused"));
    let org_error = facts.organization_error.expect("organization error");
    // The query ($select) is left out of the text.
    assert_eq!(org_error, format!("cannot reach {closed}{ORG_PATH}: connection refused"));
}

#[tokio::test]
async fn graph_non_json_answer_is_named() {
    let server = stand_in(TOKEN).await;
    let page = "<html><body>Sign in to continue</body></html>";
    fault(&server, get(SYNC_PATH).respond_with(ResponseTemplate::new(200).set_body_raw(page, "text/html"))).await;

    let facts = collect(&secret_cred(), &opts(&server)).await;

    let error = facts.sync_error.expect("sync error");
    assert!(error.starts_with(&format!("Graph's answer from {}{SYNC_PATH} is not JSON", server.uri())), "{error}");
}

// ---------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------

#[tokio::test]
async fn secrets_echoed_by_a_server_are_scrubbed() {
    // A (misbehaving) token endpoint quoting the secret back in its error.
    let echo = entra_error(401, "invalid_client", 7000215, &format!("Invalid client secret provided: '{SECRET}'."));
    let error = sign_in_error_for(echo).await;
    assert!(error.starts_with("the client secret is wrong"), "{error}");
    assert!(error.contains("Invalid client secret provided: '***'."), "{error}");

    // Graph quoting the access token back in its error message.
    let server = stand_in(TOKEN).await;
    let echo = graph_error(401, "InvalidAuthenticationToken", &format!("Token '{TOKEN}' is malformed."));
    fault(&server, get(SYNC_PATH).respond_with(echo)).await;
    let facts = collect(&secret_cred(), &opts(&server)).await;
    let error = facts.sync_error.expect("sync error");
    assert!(error.contains("Token '***' is malformed."), "{error}");

    // The beta read quoting it back: the unreadable field's cause is scrubbed too.
    let server = stand_in(TOKEN).await;
    fault(&server, get(ORG_PATH).respond_with(ResponseTemplate::new(200).set_body_json(org_body(None)))).await;
    let echo = graph_error(403, "Authorization_RequestDenied", &format!("Token '{TOKEN}' lacks a role."));
    fault(&server, get(BETA_ORG_PATH).respond_with(echo)).await;
    let facts = collect(&secret_cred(), &opts(&server)).await;
    let org = facts.organization.expect("organization");
    let why = org.unreadable(PASSWORD_SYNC_FIELD).expect("unreadable");
    assert!(why.contains("Token '***' lacks a role."), "{why}");
}

// ---------------------------------------------------------------------------
// One user
// ---------------------------------------------------------------------------

#[path = "../../cli/tests/support/graph_users.rs"]
mod graph_users;

use graph_users::sample;

const USERS_PATH: &str = "/v1.0/users";

/// The healthy tenant serving the five sample users.
async fn user_stand_in() -> MockServer {
    user_stand_in_with(graph_users::sample_users()).await
}

async fn user_stand_in_with(users: Vec<Value>) -> MockServer {
    let server = stand_in(TOKEN).await;
    graph_users::mount_users(&server, users).await;
    server
}

/// Signs in with the client secret and looks the user up; checks the
/// lookup for leaked secrets.
async fn lookup(server: &MockServer, keys: &CloudUserKeys) -> CloudUserLookup {
    let (cred, opts) = (secret_cred(), opts(server));
    let session = sign_in(&cred, &opts, &|_: &str| {}).await.expect("signed in");
    let found = session.find_user(keys).await;
    assert_no_secrets(&found);
    found
}

fn by_anchor(anchor: &str) -> CloudUserKeys {
    CloudUserKeys { immutable_ids: vec![anchor.to_owned()], ..CloudUserKeys::default() }
}

fn by_upn(upn: &str) -> CloudUserKeys {
    CloudUserKeys { upn: Some(upn.to_owned()), ..CloudUserKeys::default() }
}

async fn user_requests(server: &MockServer) -> Vec<Request> {
    let all = server.received_requests().await.expect("wiremock records requests");
    all.into_iter().filter(|r| r.url.path().starts_with(USERS_PATH)).collect()
}

fn query_of(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The user a found-one lookup found.
fn only(lookup: &CloudUserLookup) -> &phs_model::user::CloudUser {
    assert_eq!(lookup.error, None, "{lookup:#?}");
    assert_eq!(lookup.found.len(), 1, "{lookup:#?}");
    &lookup.found[0]
}

#[tokio::test]
async fn a_synced_user_is_found_by_its_anchor_with_one_query() {
    let server = user_stand_in().await;
    let keys = CloudUserKeys { upn: Some(sample::IN_SYNC_UPN.into()), ..by_anchor(sample::IN_SYNC_ANCHOR) };
    let before = Timestamp::now();

    let found = lookup(&server, &keys).await;

    let user = only(&found);
    assert_eq!(user.id, sample::IN_SYNC_ID);
    assert_eq!(user.user_principal_name.as_deref(), Some(sample::IN_SYNC_UPN));
    assert_eq!(user.account_enabled, Some(true));
    assert_eq!(user.on_premises_sync_enabled, Some(true));
    assert_eq!(user.on_premises_immutable_id.as_deref(), Some(sample::IN_SYNC_ANCHOR));
    assert_eq!(user.on_premises_last_sync, Some(ts(sample::LAST_SYNC)));
    assert_eq!(user.last_password_change, Some(ts(sample::PASSWORD_CHANGED)));
    assert_eq!(user.on_premises_sam_account_name.as_deref(), Some("ann"));
    assert_eq!(user.on_premises_domain_name.as_deref(), Some("fabrikam.com"));
    assert_eq!(user.on_premises_distinguished_name.as_deref(), Some("CN=ann,OU=Staff,DC=fabrikam,DC=com"));
    assert_eq!(user.password_policies.as_deref(), Some("DisablePasswordExpiration"));
    assert!(user.provisioning_errors.is_empty() && user.unreadable.is_empty(), "{user:#?}");
    assert_eq!(found.queries, [format!("/v1.0/users?$filter=onPremisesImmutableId eq '{}'", sample::IN_SYNC_ANCHOR)]);
    assert!(found.read_at.is_some_and(|t| t >= before.round(jiff::Unit::Second).unwrap()), "{found:#?}");
    // The UPN was not needed: the first query that finds someone ends the search.
    let asked = user_requests(&server).await;
    assert_eq!(asked.len(), 1);
    let select = query_of(&asked[0], "$select").expect("$select");
    assert_eq!(
        select.split(',').collect::<Vec<_>>(),
        [
            "id",
            "userPrincipalName",
            "accountEnabled",
            "onPremisesSyncEnabled",
            "onPremisesImmutableId",
            "onPremisesLastSyncDateTime",
            "lastPasswordChangeDateTime",
            "onPremisesSamAccountName",
            "onPremisesDistinguishedName",
            "onPremisesDomainName",
            "onPremisesSecurityIdentifier",
            "onPremisesUserPrincipalName",
            "onPremisesProvisioningErrors",
            "passwordPolicies"
        ]
    );
    assert_eq!(query_of(&asked[0], "$top").as_deref(), Some("10"));
}

#[tokio::test]
async fn each_key_is_tried_in_turn_until_one_finds_the_user() {
    let server = user_stand_in().await;
    // AD's anchor is not the cloud user's, and the object id is unknown: the UPN finds them.
    let keys = CloudUserKeys {
        upn: Some(sample::OTHER_ANCHOR_UPN.into()),
        object_id: Some("0f0e0d0c-0b0a-4908-8706-050403020100".into()),
        ..by_anchor(sample::OTHER_ANCHOR_AD)
    };

    let found = lookup(&server, &keys).await;

    let user = only(&found);
    assert_eq!(user.on_premises_immutable_id.as_deref(), Some(sample::OTHER_ANCHOR_CLOUD));
    assert_eq!(
        found.queries,
        [
            format!("/v1.0/users?$filter=onPremisesImmutableId eq '{}'", sample::OTHER_ANCHOR_AD),
            "/v1.0/users/0f0e0d0c-0b0a-4908-8706-050403020100".to_owned(),
            format!("/v1.0/users?$filter=userPrincipalName eq '{}'", sample::OTHER_ANCHOR_UPN),
        ]
    );
}

#[tokio::test]
async fn the_object_id_finds_a_cloud_only_user() {
    let server = user_stand_in().await;
    let keys = CloudUserKeys { object_id: Some(sample::CLOUD_ONLY_ID.into()), ..CloudUserKeys::default() };

    let found = lookup(&server, &keys).await;

    let user = only(&found);
    assert_eq!(user.user_principal_name.as_deref(), Some(sample::CLOUD_ONLY_UPN));
    assert_eq!(user.on_premises_sync_enabled, None, "never synced");
    assert_eq!(user.on_premises_immutable_id, None);
    assert_eq!(user.on_premises_last_sync, None);
    assert!(user.unreadable.is_empty(), "nulls are answers, not unreadable: {user:#?}");
}

#[tokio::test]
async fn the_stale_and_the_conflicting_users_are_read_as_graph_reports_them() {
    let server = user_stand_in().await;

    let found = lookup(&server, &by_upn(sample::STALE_UPN)).await;
    assert_eq!(only(&found).last_password_change, Some(ts(sample::STALE_PASSWORD_CHANGED)));

    let found = lookup(&server, &by_anchor(sample::CONFLICT_ANCHOR)).await;
    let errors = &only(&found).provisioning_errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].category.as_deref(), Some("PropertyConflict"));
    assert_eq!(errors[0].property_causing_error.as_deref(), Some("UserPrincipalName"));
    assert_eq!(errors[0].value.as_deref(), Some(sample::CONFLICT_UPN));
    assert_eq!(errors[0].occurred, Some(ts(sample::CONFLICT_AT)));
}

#[tokio::test]
async fn the_sam_account_name_is_an_advanced_query_narrowed_to_a_dns_domain() {
    let server = user_stand_in().await;
    let keys = |domain: &str| CloudUserKeys {
        on_premises_sam: Some((domain.to_owned(), "BO".to_owned())),
        ..CloudUserKeys::default()
    };

    let found = lookup(&server, &keys("fabrikam.com")).await;
    assert_eq!(only(&found).user_principal_name.as_deref(), Some(sample::STALE_UPN));
    let asked = user_requests(&server).await;
    assert_eq!(asked[0].headers.get("ConsistencyLevel").map(|v| v.to_str().unwrap()), Some("eventual"));
    assert_eq!(query_of(&asked[0], "$count").as_deref(), Some("true"));

    // A NetBIOS name can't be told from Graph's answer: the match is kept.
    assert_eq!(only(&lookup(&server, &keys("FABRIKAM")).await).on_premises_sam_account_name.as_deref(), Some("bo"));
    // Another DNS domain's bo is not this one.
    let found = lookup(&server, &keys("contoso.com")).await;
    assert!(found.found.is_empty() && found.error.is_none(), "{found:#?}");
}

#[tokio::test]
async fn a_user_no_query_finds_is_not_found_without_an_error() {
    let server = user_stand_in().await;
    let keys = CloudUserKeys {
        upn: Some("nobody@fabrikam.com".into()),
        immutable_ids: vec![sample::OTHER_ANCHOR_AD.into()],
        object_id: Some("0f0e0d0c-0b0a-4908-8706-050403020100".into()),
        on_premises_sam: Some(("fabrikam.com".into(), "nobody".into())),
    };

    let found = lookup(&server, &keys).await;

    assert!(found.found.is_empty(), "{found:#?}");
    assert_eq!(found.error, None);
    assert_eq!(found.queries.len(), 4, "{:#?}", found.queries);
    assert!(found.read_at.is_some());
}

#[tokio::test]
async fn no_key_is_an_error_and_a_repeated_anchor_is_asked_once() {
    let server = user_stand_in().await;
    let keys = CloudUserKeys { upn: Some("  ".into()), ..CloudUserKeys::default() };

    let found = lookup(&server, &keys).await;
    assert!(found.error.as_deref().is_some_and(|e| e.starts_with("nothing to search the tenant by")), "{found:#?}");
    assert!(found.queries.is_empty() && user_requests(&server).await.is_empty());

    let keys = CloudUserKeys {
        immutable_ids: vec![sample::OTHER_ANCHOR_AD.into(), sample::OTHER_ANCHOR_AD.into()],
        ..CloudUserKeys::default()
    };
    let found = lookup(&server, &keys).await;
    assert!(found.found.is_empty() && found.error.is_none(), "{found:#?}");
    assert_eq!(found.queries.len(), 1, "{:#?}", found.queries);
}

/// One lookup (anchor, then UPN) with `/v1.0/users` answering `reply`.
async fn lookup_with_fault(reply: ResponseTemplate) -> (CloudUserLookup, MockServer) {
    let server = user_stand_in().await;
    fault(&server, get(USERS_PATH).respond_with(reply)).await;
    let keys = CloudUserKeys { upn: Some(sample::IN_SYNC_UPN.into()), ..by_anchor(sample::IN_SYNC_ANCHOR) };
    (lookup(&server, &keys).await, server)
}

#[tokio::test]
async fn access_denied_names_user_read_all_and_ends_the_search() {
    let (found, server) = lookup_with_fault(access_denied()).await;

    let error = found.error.as_deref().expect("an error, not 'not found'");
    assert!(error.contains("access denied (HTTP 403 Authorization_RequestDenied"), "{error}");
    assert!(error.contains("needs User.Read.All (application or delegated)"), "{error}");
    assert!(error.starts_with("/v1.0/users?$filter=onPremisesImmutableId eq "), "names the query: {error}");
    assert!(found.found.is_empty());
    assert_eq!(found.queries.len(), 1, "no query after a failed one");
    assert_eq!(user_requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_server_error_or_a_404_collection_is_an_error_not_a_missing_user() {
    let (found, _server) =
        lookup_with_fault(graph_error(500, "generalException", "An internal server error occurred.")).await;
    let error = found.error.as_deref().expect("an error");
    assert!(error.contains("Graph server error on"), "{error}");
    assert!(error.contains("HTTP 500 generalException"), "{error}");

    // A 404 on the collection is a wrong URL, not "no such user".
    let (found, _server) = lookup_with_fault(graph_error(404, "UnknownError", "")).await;
    assert!(found.error.as_deref().is_some_and(|e| e.contains("not found (HTTP 404")), "{found:#?}");

    let (found, _server) = lookup_with_fault(ResponseTemplate::new(200).set_body_string("<html>proxy</html>")).await;
    assert!(found.error.as_deref().is_some_and(|e| e.contains("is not JSON")), "{found:#?}");
}

#[tokio::test]
async fn throttling_is_retried_then_given_up_on() {
    let server = user_stand_in().await;
    let throttled = graph_error(429, "TooManyRequests", "Too many requests").insert_header("Retry-After", "0");
    fault(&server, get(USERS_PATH).respond_with(throttled.clone()).up_to_n_times(1)).await;

    let found = lookup(&server, &by_anchor(sample::IN_SYNC_ANCHOR)).await;
    assert_eq!(only(&found).id, sample::IN_SYNC_ID);
    assert_eq!(user_requests(&server).await.len(), 2, "throttled once, then answered");

    let (found, server) = lookup_with_fault(throttled).await;
    let error = found.error.as_deref().expect("an error");
    assert!(error.contains("throttled by Graph: gave up after 2 retries (Retry-After 0 ms)"), "{error}");
    assert_eq!(user_requests(&server).await.len(), 3);
}

#[tokio::test]
async fn a_upn_with_quote_hash_slash_and_plus_reaches_graph_as_written() {
    let upn = "o'brien#1/a+b@fabrikam.com";
    let spec = graph_users::synced_user("5a3b1c2d-0e4f-4a6b-8c7d-9e0f1a2b3c09", upn, sample::IN_SYNC_ANCHOR, "obrien");
    let server = user_stand_in_with(vec![graph_users::cloud_user(&spec)]).await;

    let found = lookup(&server, &by_upn(upn)).await;

    assert_eq!(only(&found).user_principal_name.as_deref(), Some(upn));
    let asked = user_requests(&server).await;
    assert_eq!(query_of(&asked[0], "$filter").as_deref(), Some("userPrincipalName eq 'o''brien#1/a+b@fabrikam.com'"));
    // Nothing in the raw query that a server could read another way.
    let raw = asked[0].url.query().unwrap_or_default().to_owned();
    assert!(!raw.contains(['+', '#', '\'', ' ']), "{raw}");
    assert_eq!(found.queries, ["/v1.0/users?$filter=userPrincipalName eq 'o''brien#1/a+b@fabrikam.com'"]);
}

#[tokio::test]
async fn an_anchor_with_plus_slash_and_equals_reaches_graph_as_written() {
    let anchor = "+/+/AAECAwQFBgcICQoLDA==";
    let spec =
        graph_users::synced_user("5a3b1c2d-0e4f-4a6b-8c7d-9e0f1a2b3c0a", "plus.slash@fabrikam.com", anchor, "plus");
    let server = user_stand_in_with(vec![graph_users::cloud_user(&spec)]).await;

    let found = lookup(&server, &by_anchor(anchor)).await;

    assert_eq!(only(&found).on_premises_immutable_id.as_deref(), Some(anchor));
    let asked = user_requests(&server).await;
    assert_eq!(query_of(&asked[0], "$filter"), Some(format!("onPremisesImmutableId eq '{anchor}'")));
}

#[tokio::test]
async fn an_object_id_is_path_encoded_and_a_404_is_not_found() {
    let server = user_stand_in().await;
    let keys = CloudUserKeys { object_id: Some("a/b#c".into()), ..CloudUserKeys::default() };

    let found = lookup(&server, &keys).await;

    assert!(found.found.is_empty() && found.error.is_none(), "{found:#?}");
    let asked = user_requests(&server).await;
    assert_eq!(asked[0].url.path(), "/v1.0/users/a%2Fb%23c");
}

#[tokio::test]
async fn at_most_ten_users_are_kept_even_when_graph_ignores_top() {
    let server = user_stand_in().await;
    let many: Vec<Value> =
        (0..12).map(|i| json!({"id": format!("u{i}"), "userPrincipalName": "dup@fabrikam.com"})).collect();
    fault(&server, get(USERS_PATH).respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": many}))))
        .await;

    let found = lookup(&server, &by_upn("dup@fabrikam.com")).await;

    assert_eq!(found.found.len(), 10);
    assert!(found.found[0].unreadable.contains_key("onPremisesSyncEnabled"), "a missing field is unreadable");
}

#[tokio::test]
async fn tokens_and_secrets_echoed_in_a_user_error_are_scrubbed() {
    let echo = graph_error(400, "BadRequest", &format!("Token '{TOKEN}' with secret {SECRET} is not allowed."));
    let (found, _server) = lookup_with_fault(echo).await;
    let error = found.error.as_deref().expect("an error");
    assert!(error.contains("Token '***' with secret *** is not allowed."), "{error}");

    let server = user_stand_in().await;
    let (cred, opts) = (secret_cred(), opts(&server));
    let session = sign_in(&cred, &opts, &|_: &str| {}).await.expect("signed in");
    let shown = format!("{session:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains(SECRET), "{shown}");
    assert!(shown.contains(CLIENT_ID), "{shown}");
}

#[tokio::test]
async fn a_failed_sign_in_is_the_tenant_facts_error() {
    let server = user_stand_in().await;
    let denied = entra_error(401, "invalid_client", 7000215, "Invalid client secret provided.");
    fault(&server, post(&token_path()).respond_with(denied)).await;
    let (cred, opts) = (secret_cred(), opts(&server));

    let facts = sign_in(&cred, &opts, &|_: &str| {}).await.expect_err("refused");

    assert!(facts.sign_in_error.as_deref().is_some_and(|e| e.starts_with("the client secret is wrong")), "{facts:#?}");
    assert!(user_requests(&server).await.is_empty());
}

#[tokio::test]
async fn the_device_code_flow_prompts_once_for_the_tenant_and_the_user() {
    let server = device_stand_in(900, pending(), 1).await;
    graph_users::mount_users(&server, graph_users::sample_users()).await;
    let prompts = Mutex::new(Vec::new());
    let on_prompt = |message: &str| prompts.lock().unwrap().push(message.to_owned());
    let (cred, opts) = (device_cred(), opts(&server));

    let session = sign_in(&cred, &opts, &on_prompt).await.expect("signed in");
    let facts = session.read_tenant().await;
    let found = session.find_user(&by_upn(sample::IN_SYNC_UPN)).await;

    assert_eq!(prompts.into_inner().unwrap(), [DEVICE_MESSAGE]);
    assert_eq!(requests_to(&server, &devicecode_path()).await.len(), 1);
    assert_eq!(requests_to(&server, &token_path()).await.len(), 2, "one pending poll, then the token");
    assert_eq!(facts.sync.as_ref().expect("sync read with the user's token").password_sync_enabled, Some(true));
    assert_eq!(only(&found).id, sample::IN_SYNC_ID);
    let bearer = format!("Bearer {}", user_token());
    let asked = user_requests(&server).await;
    assert_eq!(asked[0].headers.get("authorization").map(|v| v.to_str().unwrap()), Some(bearer.as_str()));
    assert_no_secrets(&facts);
    assert_no_secrets(&found);
}

/// A stand-in that serves every synced user in pages of `page` linked by
/// `@odata.nextLink`, with page `fail_at` (1-based) answering 503 for ever.
struct SyncedUsers {
    base: String,
    total: usize,
    page: usize,
    fail_at: Option<usize>,
}

impl wiremock::Respond for SyncedUsers {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let skip: usize =
            request.url.query_pairs().find(|(k, _)| k == "$skiptoken").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let advanced = request.headers.get("ConsistencyLevel").is_some_and(|v| v == "eventual");
        if !advanced {
            return ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "Request_UnsupportedQuery"}}));
        }
        if self.fail_at == Some(skip / self.page + 1) {
            return ResponseTemplate::new(503).set_body_json(json!({"error": {"code": "serviceNotAvailable"}}));
        }
        let end = (skip + self.page).min(self.total);
        let value: Vec<Value> = (skip..end)
            .map(|i| {
                json!({"id": format!("{i:08}-0000-4000-8000-000000000000"), "userPrincipalName": format!("u{i}@fabrikam.com"),
                       "onPremisesSyncEnabled": true, "onPremisesImmutableId": format!("{i:022}=="),
                       "lastPasswordChangeDateTime": "2026-11-24T10:00:00Z"})
            })
            .collect();
        let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": value});
        if skip == 0 {
            body["@odata.count"] = json!(self.total);
        }
        if end < self.total {
            body["@odata.nextLink"] = json!(format!("{}/v1.0/users?$skiptoken={end}&$top={}", self.base, self.page));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

async fn every_synced_user(
    total: usize,
    page: usize,
    fail_at: Option<usize>,
) -> (Vec<String>, phs_sources::graph::UsersRead) {
    let server = stand_in(TOKEN).await;
    Mock::given(method("GET"))
        .and(path(USERS_PATH))
        .respond_with(SyncedUsers { base: server.uri(), total, page, fail_at })
        .mount(&server)
        .await;
    let (cred, opts) = (secret_cred(), opts(&server));
    let session = sign_in(&cred, &opts, &|_: &str| {}).await.expect("signed in");
    let mut seen = Vec::new();
    let read = session.for_each_synced_user(&mut |u| seen.push(u.id)).await;
    (seen, read)
}

/// Every synced user, across pages, each once, in order.
#[tokio::test]
async fn every_synced_user_is_read_across_pages() {
    let (seen, read) = every_synced_user(2_500, 999, None).await;
    assert_eq!(read.error, None);
    assert_eq!((read.users, seen.len(), read.left_out()), (2_500, 2_500, Some(0)));
    assert_eq!(seen[1_000], "00001000-0000-4000-8000-000000000000");
}

/// The stand-in fails in the middle of the paging (503 beyond the retry
/// budget): the read says how many users it handed on, never a silently
/// shorter list.
#[tokio::test]
async fn a_failure_in_the_middle_of_the_paging_says_how_much_is_missing() {
    let (seen, read) = every_synced_user(2_500, 999, Some(2)).await;
    assert_eq!((read.users, seen.len()), (999, 999));
    assert_eq!((read.expected, read.left_out()), (Some(2_500), Some(1_501)));
    let why = read.error.expect("an error");
    assert!(why.contains("503") || why.to_lowercase().contains("server error"), "{why}");
    assert!(!why.contains(SECRET) && !why.contains(TOKEN), "{why}");
}

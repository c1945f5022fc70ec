//! A Microsoft Graph stand-in for `benches/audit.sh`: the sign-in and the
//! synced-users query `phs-doctor audit` makes, for a tenant of N synced
//! users made up on the fly, page by page (never the whole list in memory).
//!
//!     graph_standin --users N [--match M] [--port P]
//!
//! Users 1..=M carry the anchors of the bench DC's users `bench000001`…
//! (mS-DS-ConsistencyGuid = "PHSB" + 4 zero bytes + the index as 8 bytes
//! big-endian, see benches/audit.sh); the others are synthetic and have no
//! AD user. Prints the URL it listens on (127.0.0.1 only), then serves
//! until killed. The responses follow what the CLI tests' stand-in serves
//! (crates/cli/tests/support): the token endpoint, the tenant reads, and
//! `GET /v1.0/users?$filter=onPremisesSyncEnabled eq true` as an advanced
//! query (400 Request_UnsupportedQuery without `ConsistencyLevel:
//! eventual`), `$top` a page (at most 999), `@odata.count` on the first
//! page, `@odata.nextLink` with a `$skiptoken` on the same host.

use base64::Engine as _;
use serde_json::{json, Value};
use std::io::Write as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

// The tests' stand-in parts, shared rather than copied: the tenant's
// sign-in and reads, and Graph's error shape.
#[path = "../tests/support/graph_users.rs"]
mod graph_users;
#[path = "../tests/support/tenant.rs"]
mod tenant;
use graph_users::graph_error;
use tenant::{mount_tenant, Org};

/// The bench DC's domain (benches/audit.sh).
const DOMAIN: &str = "bench.example.test";
const DOMAIN_DN: &str = "DC=bench,DC=example,DC=test";
/// Graph's largest page for /users.
const MAX_TOP: u64 = 999;

struct Args {
    users: u64,
    matching: u64,
    port: u16,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { users: 0, matching: 0, port: 0 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--users" => args.users = number(&value)?,
            "--match" => args.matching = number(&value)?,
            "--port" => args.port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if args.matching > args.users {
        return Err("--match cannot exceed --users".into());
    }
    Ok(args)
}

/// The anchor (mS-DS-ConsistencyGuid) of the bench DC's user `index`.
fn bench_anchor(index: u64) -> [u8; 16] {
    let mut guid = [0u8; 16];
    guid[..4].copy_from_slice(b"PHSB");
    guid[8..].copy_from_slice(&index.to_be_bytes());
    guid
}

/// Synced user `index` (1-based) in the user resource's documented shape,
/// with exactly the properties the audit `$select`s. Its password and its
/// last sync are `last_sync`, the stand-in's start: later than the bench
/// DC's pwdLastSet (set when its users were added), so a joined user is in sync.
fn user(index: u64, matching: u64, last_sync: &str) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    // The synthetic users' anchors start with "PHSC": no AD user has them.
    let (sam, anchor) = if index <= matching {
        (format!("bench{index:06}"), b64(&bench_anchor(index)))
    } else {
        let mut guid = bench_anchor(index);
        guid[3] = b'C';
        (format!("cloud{index:07}"), b64(&guid))
    };
    let upn = format!("{sam}@{DOMAIN}");
    json!({
        "id": format!("be7c0000-0000-4000-8000-{index:012x}"),
        "userPrincipalName": upn,
        "accountEnabled": true,
        "onPremisesSyncEnabled": true,
        "onPremisesImmutableId": anchor,
        "onPremisesLastSyncDateTime": last_sync,
        "lastPasswordChangeDateTime": last_sync,
        "onPremisesSamAccountName": sam,
        "onPremisesDistinguishedName": format!("CN={sam},OU=Bench Users,{DOMAIN_DN}"),
        "onPremisesDomainName": DOMAIN,
        // Not the DC's SIDs: the join must come from the anchor.
        "onPremisesSecurityIdentifier": format!("S-1-5-21-1111111111-2222222222-3333333333-{}", 100000 + index),
        "onPremisesUserPrincipalName": upn,
        "onPremisesProvisioningErrors": [],
        "passwordPolicies": "DisablePasswordExpiration",
    })
}

/// `GET /v1.0/users` for the synced-users query, one page made per request.
struct SyncedUsers {
    users: u64,
    matching: u64,
    base: String,
    last_sync: String,
}

impl Respond for SyncedUsers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        if param("$filter").map(str::trim) != Some("onPremisesSyncEnabled eq true") {
            return graph_error(
                400,
                "Request_UnsupportedQuery",
                "The bench stand-in serves the synced-users query only.",
            );
        }
        // A filter on onPremisesSyncEnabled is an advanced query.
        let advanced = request.headers.get("ConsistencyLevel").is_some_and(|v| v == "eventual");
        if !advanced {
            return graph_error(400, "Request_UnsupportedQuery", "Unsupported query.");
        }
        let top = param("$top").and_then(|t| t.parse::<u64>().ok()).unwrap_or(100).clamp(1, MAX_TOP);
        let start = match param("$skiptoken") {
            None => 0,
            Some(t) => match t.parse::<u64>() {
                Ok(n) if n <= self.users => n,
                _ => return graph_error(400, "Request_BadRequest", "Invalid $skiptoken."),
            },
        };
        let end = (start + top).min(self.users);
        let value: Vec<Value> = (start + 1..=end).map(|i| user(i, self.matching, &self.last_sync)).collect();
        let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": value});
        if start == 0 && param("$count") == Some("true") {
            body["@odata.count"] = json!(self.users);
        }
        if end < self.users {
            // The same query again (as sent, still encoded) with a token:
            // Graph's tokens are opaque, ours is the next index.
            let raw = request.url.query().unwrap_or_default();
            let mut kept: Vec<&str> = raw.split('&').filter(|p| !p.starts_with("$skiptoken=")).collect();
            let token = format!("$skiptoken={end}");
            kept.push(&token);
            let next = kept.join("&");
            body["@odata.nextLink"] = json!(format!("{}/v1.0/users?{}", self.base, next));
        }
        ResponseTemplate::new(200).set_body_raw(serde_json::to_vec(&body).expect("JSON"), "application/json")
    }
}

#[tokio::main]
async fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("graph_standin: {e}\nusage: graph_standin --users N [--match M] [--port P]");
        std::process::exit(2);
    });
    let listener = std::net::TcpListener::bind(("127.0.0.1", args.port)).expect("bind 127.0.0.1");
    // Recording would keep every request for the whole run.
    let server = MockServer::builder().listener(listener).disable_request_recording().start().await;
    let last_sync = jiff::Timestamp::now().round(jiff::Unit::Second).expect("round").to_string();
    // PHS on, password sync just now: the audit reads none of it but the sign-in.
    mount_tenant(&server, &Org { name: "Bench", domains: &["bench.onmicrosoft.com"] }, 0, 200).await;
    let users = SyncedUsers { users: args.users, matching: args.matching, base: server.uri(), last_sync };
    Mock::given(method("GET")).and(path("/v1.0/users")).respond_with(users).mount(&server).await;
    println!("{}", server.uri());
    std::io::stdout().flush().expect("stdout");
    std::future::pending::<()>().await;
}

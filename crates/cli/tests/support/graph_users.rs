//! The Graph stand-in's users (`GET /v1.0/users`, the user resource of
//! Graph v1.0, and `onPremisesProvisioningError`), in Microsoft's
//! documented shapes. Shared by the CLI tests (through `support`) and the
//! source tests (crates/sources/tests/graph.rs includes this file), so it
//! depends on nothing but wiremock and serde_json.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One cloud user in the user resource's documented JSON shape, with the
/// properties the user checks `$select`. `immutable_id` None is a
/// cloud-only user (no on-premises properties, onPremisesSyncEnabled null).
pub struct CloudUserSpec<'a> {
    pub id: &'a str,
    pub upn: &'a str,
    pub immutable_id: Option<&'a str>,
    /// `lastPasswordChangeDateTime`, RFC 3339.
    pub last_password_change: &'a str,
    /// `onPremisesLastSyncDateTime`, RFC 3339 (ignored for a cloud-only user).
    pub last_sync: &'a str,
    /// (sAMAccountName, DNS domain) of the AD account.
    pub on_premises: Option<(&'a str, &'a str)>,
    /// `onPremisesProvisioningErrors` entries: (category, propertyCausingError, value, occurredDateTime).
    pub provisioning_errors: &'a [(&'a str, &'a str, &'a str, &'a str)],
}

/// A user synced from `fabrikam.com` as `sam`, in sync: last directory
/// sync [`sample::LAST_SYNC`], password changed [`sample::PASSWORD_CHANGED`].
pub fn synced_user<'a>(id: &'a str, upn: &'a str, anchor: &'a str, sam: &'a str) -> CloudUserSpec<'a> {
    CloudUserSpec {
        id,
        upn,
        immutable_id: Some(anchor),
        last_password_change: sample::PASSWORD_CHANGED,
        last_sync: sample::LAST_SYNC,
        on_premises: Some((sam, "fabrikam.com")),
        provisioning_errors: &[],
    }
}

/// The user resource for `spec`.
pub fn cloud_user(spec: &CloudUserSpec) -> Value {
    let errors: Vec<Value> = spec
        .provisioning_errors
        .iter()
        .map(|(category, property, value, at)| {
            json!({"category": category, "occurredDateTime": at, "propertyCausingError": property, "value": value})
        })
        .collect();
    let synced = spec.immutable_id.is_some();
    let (sam, dns) = spec.on_premises.unwrap_or_default();
    let on_prem = |v: &str| if synced && !v.is_empty() { json!(v) } else { Value::Null };
    let domain_dn: Vec<String> = dns.split('.').map(|label| format!("DC={label}")).collect();
    let user_dn = on_prem(&format!("CN={sam},OU=Staff,{}", domain_dn.join(",")));
    json!({
        "id": spec.id,
        "userPrincipalName": spec.upn,
        "accountEnabled": true,
        "onPremisesSyncEnabled": if synced { json!(true) } else { Value::Null },
        "onPremisesImmutableId": spec.immutable_id,
        "onPremisesLastSyncDateTime": if synced { json!(spec.last_sync) } else { Value::Null },
        "lastPasswordChangeDateTime": spec.last_password_change,
        "onPremisesSamAccountName": on_prem(sam),
        "onPremisesDistinguishedName": if spec.on_premises.is_some() { user_dn } else { Value::Null },
        "onPremisesDomainName": on_prem(dns),
        "onPremisesSecurityIdentifier": if synced { json!("S-1-5-21-1004336348-1177238915-682003330-1107") } else { Value::Null },
        "onPremisesUserPrincipalName": if synced { json!(spec.upn) } else { Value::Null },
        "onPremisesProvisioningErrors": errors,
        // PHS writes this on every synced user while the cloud password
        // policy feature is off (phs-spec.md §5.3).
        "passwordPolicies": if synced { json!("DisablePasswordExpiration") } else { Value::Null },
    })
}

/// Serves `GET /v1.0/users` for `users` (user resources, see
/// [`cloud_user`]) the way Graph does: `$filter` with `eq` on
/// onPremisesImmutableId and userPrincipalName, on onPremisesSamAccountName
/// only as an advanced query (`ConsistencyLevel: eventual` and
/// `$count=true`, else 400 Request_UnsupportedQuery), `$select` and `$top`
/// applied; `/v1.0/users/{id or UPN}` with 404 Request_ResourceNotFound.
pub async fn mount_users(server: &MockServer, users: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path_regex("^/v1\\.0/users(/[^/]+)?$"))
        .respond_with(Users(users))
        .mount(server)
        .await;
}

struct Users(Vec<Value>);

impl Respond for Users {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let select = |user: &Value| match param("$select") {
            Some(fields) => {
                let keep: Vec<&str> = fields.split(',').collect();
                let map = user.as_object().map(|m| {
                    m.iter().filter(|(k, _)| keep.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
                });
                Value::Object(map.unwrap_or_default())
            }
            None => user.clone(),
        };
        let context = "https://graph.microsoft.com/v1.0/$metadata#users";
        if let Some(key) = request.url.path().strip_prefix("/v1.0/users/") {
            let key = percent_decoded(key);
            return match self.0.iter().find(|u| u["id"] == key.as_str() || same_text(&u["userPrincipalName"], &key)) {
                Some(u) => {
                    let mut body = select(u);
                    body["@odata.context"] = json!(format!("{context}/$entity"));
                    ResponseTemplate::new(200).set_body_json(body)
                }
                None => graph_error(
                    404,
                    "Request_ResourceNotFound",
                    &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
                ),
            };
        }
        let Some(filter) = param("$filter") else {
            let all: Vec<Value> = self.0.iter().map(select).collect();
            return ResponseTemplate::new(200).set_body_json(json!({"@odata.context": context, "value": all}));
        };
        // Every synced user (the audit): an advanced query on a boolean.
        if filter.trim() == "onPremisesSyncEnabled eq true" {
            let advanced = request.headers.get("ConsistencyLevel").is_some_and(|v| v == "eventual");
            if !advanced {
                return graph_error(400, "Request_UnsupportedQuery", "Unsupported query.");
            }
            // Paged as Graph pages: `$top` a page, the next page's link
            // on the same host with a `$skiptoken`, the total on the first.
            let top = param("$top").and_then(|t| t.parse().ok()).unwrap_or(100usize);
            let skip = param("$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0usize);
            let synced: Vec<&Value> = self.0.iter().filter(|u| u["onPremisesSyncEnabled"] == true).collect();
            let page: Vec<Value> = synced.iter().skip(skip).take(top).map(|u| select(u)).collect();
            let mut body = json!({"@odata.context": context, "value": page});
            if skip == 0 && param("$count") == Some("true") {
                body["@odata.count"] = json!(synced.len());
            }
            if skip + top < synced.len() {
                // wiremock's request URL names no real host; the Host header does.
                let host = request.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
                let mut next = request.url.clone();
                let _ = next.set_host(Some(host.split(':').next().unwrap_or(host)));
                let _ = next.set_port(host.split(':').nth(1).and_then(|p| p.parse().ok()));
                let kept: Vec<(String, String)> = query.iter().filter(|(k, _)| k != "$skiptoken").cloned().collect();
                next.query_pairs_mut().clear().extend_pairs(kept).append_pair("$skiptoken", &(skip + top).to_string());
                body["@odata.nextLink"] = json!(next.to_string());
            }
            return ResponseTemplate::new(200).set_body_json(body);
        }
        let Some((property, value)) = eq_filter(filter) else {
            return graph_error(400, "Request_UnsupportedQuery", "Unsupported query.");
        };
        let advanced =
            request.headers.get("ConsistencyLevel").is_some_and(|v| v == "eventual") && param("$count") == Some("true");
        let matches = |u: &Value| match property.as_str() {
            "onPremisesImmutableId" => u[&property] == value.as_str(),
            "userPrincipalName" | "onPremisesSamAccountName" => same_text(&u[&property], &value),
            _ => false,
        };
        match property.as_str() {
            "onPremisesImmutableId" | "userPrincipalName" => {}
            "onPremisesSamAccountName" if advanced => {}
            _ => {
                return graph_error(
                    400,
                    "Request_UnsupportedQuery",
                    &format!("Unsupported or invalid query filter clause specified for property '{property}' of resource 'User'."),
                )
            }
        }
        let top = param("$top").and_then(|t| t.parse().ok()).unwrap_or(100);
        let found: Vec<Value> = self.0.iter().filter(|u| matches(u)).take(top).map(select).collect();
        let mut body = json!({"@odata.context": context, "value": found});
        if advanced {
            body["@odata.count"] = json!(found_len(&body));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

fn found_len(body: &Value) -> usize {
    body["value"].as_array().map_or(0, Vec::len)
}

/// Graph compares UPNs and sAMAccountNames without regard to case.
fn same_text(v: &Value, text: &str) -> bool {
    v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(text))
}

/// `property eq 'literal'` with the literal's doubled quotes undone; None
/// for any other filter.
fn eq_filter(filter: &str) -> Option<(String, String)> {
    let (property, literal) = filter.split_once(" eq ")?;
    let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    // A lone quote inside would have ended the literal.
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    Some((property.trim().to_owned(), inner.replace("''", "'")))
}

/// A path segment's `%XX` escapes decoded (a `+` stays a `+` in a path).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Graph error: `{"error":{"code","message","innerError"}}`.
pub fn graph_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "code": code, "message": message,
        "innerError": {"date": "2024-05-01T10:00:00", "request-id": "5e1c2d3b-4a59-4687-9a8b-7c6d5e4f3a2b"}
    }}))
}

/// The anchors, UPNs and object ids of [`sample_users`].
pub mod sample {
    pub const IN_SYNC_UPN: &str = "ann.lee@fabrikam.com";
    pub const IN_SYNC_ANCHOR: &str = "IH4pQeDhy0Cgu9/1sOJxtQ==";
    pub const IN_SYNC_ID: &str = "5a3b1c2d-0e4f-4a6b-8c7d-9e0f1a2b3c01";
    /// Its cloud password change is older than AD's ("the new password never arrived").
    pub const STALE_UPN: &str = "bo.chen@fabrikam.com";
    pub const STALE_ANCHOR: &str = "q83vEjRWeJC8mqvN7/ASNA==";
    /// Its onPremisesImmutableId is not the anchor AD has for the same UPN.
    pub const OTHER_ANCHOR_UPN: &str = "cy.diaz@fabrikam.com";
    pub const OTHER_ANCHOR_CLOUD: &str = "AAECAwQFBgcICQoLDA0ODw==";
    pub const OTHER_ANCHOR_AD: &str = "8PHy8/T19vf4+fr7/P3+/w==";
    /// A PropertyConflict on UserPrincipalName.
    pub const CONFLICT_UPN: &str = "dee.ek@fabrikam.com";
    pub const CONFLICT_ANCHOR: &str = "3q2+7wABAgMEBQYHCAkKCw==";
    /// Cloud-only: onPremisesSyncEnabled null, no anchor.
    pub const CLOUD_ONLY_UPN: &str = "eve.fox@fabrikam.onmicrosoft.com";
    pub const CLOUD_ONLY_ID: &str = "5a3b1c2d-0e4f-4a6b-8c7d-9e0f1a2b3c05";
    /// Directory sync and the in-sync users' password changes.
    pub const LAST_SYNC: &str = "2024-05-01T10:00:00Z";
    pub const PASSWORD_CHANGED: &str = "2024-04-30T08:00:00Z";
    /// The stale user's cloud password change (AD's is later).
    pub const STALE_PASSWORD_CHANGED: &str = "2024-03-01T08:00:00Z";
    pub const CONFLICT_AT: &str = "2024-04-29T07:30:00Z";
}

/// The five users the user checks are tested against: in sync, the new
/// password never arrived, a different immutableId, a provisioning error,
/// cloud-only.
pub fn sample_users() -> Vec<Value> {
    use sample::*;
    let conflict = [("PropertyConflict", "UserPrincipalName", CONFLICT_UPN, CONFLICT_AT)];
    let specs = [
        synced_user(IN_SYNC_ID, IN_SYNC_UPN, IN_SYNC_ANCHOR, "ann"),
        CloudUserSpec {
            last_password_change: STALE_PASSWORD_CHANGED,
            ..synced_user("5a3b1c2d-0e4f-4a6b-8c7d-9e0f1a2b3c02", STALE_UPN, STALE_ANCHOR, "bo")
        },
        synced_user("5a3b1c2d-0e4f-4a6b-8c7d-9e0f1a2b3c03", OTHER_ANCHOR_UPN, OTHER_ANCHOR_CLOUD, "cy"),
        CloudUserSpec {
            provisioning_errors: &conflict,
            ..synced_user("5a3b1c2d-0e4f-4a6b-8c7d-9e0f1a2b3c04", CONFLICT_UPN, CONFLICT_ANCHOR, "dee")
        },
        CloudUserSpec { immutable_id: None, on_premises: None, ..synced_user(CLOUD_ONLY_ID, CLOUD_ONLY_UPN, "", "") },
    ];
    specs.iter().map(cloud_user).collect()
}

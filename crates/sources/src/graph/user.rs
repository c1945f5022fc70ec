//! One user in the tenant (`GET /v1.0/users`, least privilege
//! `User.Read.All`, application or delegated): searched by every key the
//! other sources gave, in a fixed order, stopping at the first query that
//! finds someone. A failed query ends the search with an error, so "not
//! found" is only ever said after every query completed.

use super::client::{percent_encoded, GraphClient, ReadError};
use super::read::{boolean, field, time};
use phs_model::user::{CloudUser, CloudUserLookup, ProvisioningError};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a 403 on `/users` means.
const USER_PERMISSION: &str = "needs User.Read.All (application or delegated)";
/// The properties the user checks read (phs-spec.md §5.3); the on-premises
/// ones are returned only when `$select` names them.
pub(crate) const USER_SELECT: &str = "id,userPrincipalName,accountEnabled,onPremisesSyncEnabled,onPremisesImmutableId,\
                           onPremisesLastSyncDateTime,lastPasswordChangeDateTime,onPremisesSamAccountName,\
                           onPremisesDistinguishedName,onPremisesDomainName,onPremisesSecurityIdentifier,\
                           onPremisesUserPrincipalName,onPremisesProvisioningErrors,passwordPolicies";
/// Users kept from one query: a key that matches more is ambiguous anyway,
/// and a handful shows that.
const MAX_USERS: usize = 10;
/// Longest string kept from Graph's answer, in bytes.
const MAX_TEXT: usize = 4096;
/// Provisioning errors kept per user; Graph lists one per conflicting property.
const MAX_PROVISIONING_ERRORS: usize = 20;
const PROVISIONING_ERRORS: &str = "onPremisesProvisioningErrors";

/// The keys the other sources give for one user, each optional; tried
/// surest first: the anchors, the object id, the UPN, the sAMAccountName.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudUserKeys {
    pub upn: Option<String>,
    /// onPremisesImmutableId candidates in base64 (the consistency GUID and
    /// the objectGUID anchor may differ).
    pub immutable_ids: Vec<String>,
    /// The cloud user's object id.
    pub object_id: Option<String>,
    /// (domain, sAMAccountName); the domain is a DNS name or a NetBIOS name.
    pub on_premises_sam: Option<(String, String)>,
}

/// One query: what the lookup records of it, where it goes, and how.
struct Query {
    /// Human-readable (`/v1.0/users?$filter=… eq '…'`), never the token.
    shown: String,
    url: String,
    kind: QueryKind,
    /// Keep only users of this on-premises domain (see [`in_domain`]).
    domain: Option<String>,
}

enum QueryKind {
    /// `$filter` on the collection: an empty `value` is "not found".
    /// `advanced`: Graph's advanced query (`ConsistencyLevel: eventual`).
    Filter { advanced: bool },
    /// `/users/{key}`: 404 is "not found".
    Key,
}

/// Runs the queries in order and records each; the caller stamps and
/// scrubs the result.
pub(crate) async fn find(graph: &GraphClient<'_>, keys: &CloudUserKeys) -> CloudUserLookup {
    let mut lookup = CloudUserLookup::default();
    let queries = queries(graph, keys);
    if queries.is_empty() {
        // Nothing was searched, so nothing can be said to be missing.
        lookup.error = Some("nothing to search the tenant by: no anchor, object id, UPN or sAMAccountName".to_owned());
        return lookup;
    }
    for query in queries {
        lookup.queries.push(query.shown.clone());
        match run(graph, &query).await {
            Ok(users) => {
                let users = match &query.domain {
                    Some(domain) => in_domain(users, domain),
                    None => users,
                };
                if !users.is_empty() {
                    lookup.found = users.iter().map(parse_user).collect();
                    break;
                }
            }
            Err(e) => {
                lookup.error = Some(format!("{}: {}", query.shown, e.describe(USER_PERMISSION)));
                break;
            }
        }
    }
    lookup
}

/// The queries for `keys`, surest first: the anchors (what Entra Connect
/// joined on), the object id, the UPN, the sAMAccountName.
fn queries(graph: &GraphClient<'_>, keys: &CloudUserKeys) -> Vec<Query> {
    let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut out: Vec<Query> = Vec::new();
    let mut anchors: Vec<String> = Vec::new();
    for anchor in keys.immutable_ids.iter().filter_map(|a| given(Some(a))) {
        // The consistency GUID and the objectGUID anchor are often the same.
        if !anchors.contains(&anchor) {
            out.push(filter(graph, "onPremisesImmutableId", &anchor, false));
            anchors.push(anchor);
        }
    }
    if let Some(id) = given(keys.object_id.as_deref()) {
        out.push(Query {
            url: graph.url(&format!("/v1.0/users/{}?$select={USER_SELECT}", percent_encoded(&id))),
            shown: format!("/v1.0/users/{id}"),
            kind: QueryKind::Key,
            domain: None,
        });
    }
    if let Some(upn) = given(keys.upn.as_deref()) {
        // A filter, not /users/{upn}: an on-premises UPN may hold
        // characters (`/`, `#`, a leading `$`) that Graph's key segment
        // parses specially, while a quoted OData literal carries any text.
        out.push(filter(graph, "userPrincipalName", &upn, false));
    }
    if let Some((domain, sam)) = &keys.on_premises_sam {
        if let Some(sam) = given(Some(sam)) {
            // Graph filters onPremisesSamAccountName only as an advanced query.
            let mut q = filter(graph, "onPremisesSamAccountName", &sam, true);
            q.domain = given(Some(domain));
            out.push(q);
        }
    }
    out
}

/// `$filter=property eq 'value'` on the collection, at most [`MAX_USERS`].
/// `advanced`: as Graph's advanced query (with `$count=true`).
fn filter(graph: &GraphClient<'_>, property: &str, value: &str, advanced: bool) -> Query {
    let expr = format!("{property} eq '{}'", odata_string(value));
    let count = if advanced { "&$count=true" } else { "" };
    Query {
        url: graph.url(&format!(
            "/v1.0/users?$filter={}&$select={USER_SELECT}&$top={MAX_USERS}{count}",
            percent_encoded(&expr)
        )),
        shown: format!("/v1.0/users?$filter={expr}"),
        kind: QueryKind::Filter { advanced },
        domain: None,
    }
}

/// An OData string literal's content: a quote is doubled.
fn odata_string(value: &str) -> String {
    value.replace('\'', "''")
}

/// The users one query found (at most [`MAX_USERS`]); empty when none.
async fn run(graph: &GraphClient<'_>, query: &Query) -> Result<Vec<Value>, ReadError> {
    match query.kind {
        QueryKind::Key => match graph.get(&query.url).await {
            Ok(user) => Ok(vec![user]),
            Err(ReadError::Status(s)) if s.status == 404 => Ok(Vec::new()),
            Err(e) => Err(e),
        },
        QueryKind::Filter { advanced } => {
            let headers: &[(&str, &str)] = if advanced { &[("ConsistencyLevel", "eventual")] } else { &[] };
            // One page: $top bounds it, and more than MAX_USERS matches
            // would not be kept anyway.
            let page = graph.get_with(&query.url, headers).await?;
            match page.get("value") {
                Some(Value::Array(users)) => Ok(users.iter().take(MAX_USERS).cloned().collect()),
                _ => Err(ReadError::Invalid(format!("Graph's answer to {} has no 'value' list", query.shown))),
            }
        }
    }
}

/// The users of `domain` when it is a DNS name (onPremisesDomainName);
/// all of them for a NetBIOS name, which Graph does not know.
fn in_domain(users: Vec<Value>, domain: &str) -> Vec<Value> {
    if !domain.contains('.') {
        return users;
    }
    users
        .into_iter()
        .filter(|u| {
            u.get("onPremisesDomainName").and_then(Value::as_str).is_some_and(|d| d.eq_ignore_ascii_case(domain))
        })
        .collect()
}

/// A user resource as [`CloudUser`]; what cannot be used is recorded in
/// `unreadable`, never guessed.
pub(crate) fn parse_user(obj: &Value) -> CloudUser {
    let mut bad = BTreeMap::new();
    let mut s = |key: &str| string(obj, key, &mut bad);
    let mut user = CloudUser {
        id: s("id").unwrap_or_default(),
        user_principal_name: s("userPrincipalName"),
        on_premises_immutable_id: s("onPremisesImmutableId"),
        on_premises_sam_account_name: s("onPremisesSamAccountName"),
        on_premises_distinguished_name: s("onPremisesDistinguishedName"),
        on_premises_domain_name: s("onPremisesDomainName"),
        on_premises_security_identifier: s("onPremisesSecurityIdentifier"),
        on_premises_user_principal_name: s("onPremisesUserPrincipalName"),
        password_policies: s("passwordPolicies"),
        ..CloudUser::default()
    };
    user.account_enabled = boolean(obj, "accountEnabled", &mut bad);
    user.on_premises_sync_enabled = boolean(obj, "onPremisesSyncEnabled", &mut bad);
    for (key, slot) in [
        ("onPremisesLastSyncDateTime", &mut user.on_premises_last_sync),
        ("lastPasswordChangeDateTime", &mut user.last_password_change),
    ] {
        *slot = field(obj, key, &mut bad).and_then(|v| time(v, key, &mut bad));
    }
    user.provisioning_errors = provisioning_errors(obj, &mut bad);
    user.unreadable = bad;
    user
}

fn provisioning_errors(obj: &Value, bad: &mut BTreeMap<String, String>) -> Vec<ProvisioningError> {
    let list = match field(obj, PROVISIONING_ERRORS, bad) {
        Some(Value::Array(list)) => list,
        Some(Value::Null) | None => return Vec::new(),
        Some(other) => {
            bad.insert(PROVISIONING_ERRORS.to_owned(), format!("not a list: {}", capped(&other.to_string())));
            return Vec::new();
        }
    };
    if list.len() > MAX_PROVISIONING_ERRORS {
        bad.insert(
            PROVISIONING_ERRORS.to_owned(),
            format!("{} entries; the first {MAX_PROVISIONING_ERRORS} kept", list.len()),
        );
    }
    list.iter()
        .take(MAX_PROVISIONING_ERRORS)
        .enumerate()
        .map(|(i, e)| {
            // Each entry's own fields are optional in Graph's schema: an
            // absent one is simply unknown, so only bad values are recorded.
            let mut own = BTreeMap::new();
            let mut s = |key: &str| e.get(key).and_then(|_| string(e, key, &mut own));
            let entry = ProvisioningError {
                category: s("category"),
                property_causing_error: s("propertyCausingError"),
                value: s("value"),
                occurred: e.get("occurredDateTime").and_then(|v| time(v, "occurredDateTime", &mut own)),
            };
            for (key, why) in own {
                bad.insert(format!("{PROVISIONING_ERRORS}[{i}].{key}"), why);
            }
            entry
        })
        .collect()
}

/// The string field `key`, cut to [`MAX_TEXT`] bytes; null is `None`, a
/// missing field or another type is recorded in `bad`.
fn string(obj: &Value, key: &str, bad: &mut BTreeMap<String, String>) -> Option<String> {
    match field(obj, key, bad)? {
        Value::String(s) => {
            if s.len() > MAX_TEXT {
                bad.insert(key.to_owned(), format!("{} bytes long; cut to {MAX_TEXT}", s.len()));
            }
            Some(capped(s))
        }
        Value::Null => None,
        other => {
            bad.insert(key.to_owned(), format!("not a string: {}", capped(&other.to_string())));
            None
        }
    }
}

/// At most [`MAX_TEXT`] bytes, cut at a character boundary.
fn capped(s: &str) -> String {
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odata_literals_double_quotes() {
        assert_eq!(odata_string("o'brien''s"), "o''brien''''s");
        assert_eq!(odata_string("plain+/="), "plain+/=");
    }

    #[test]
    fn long_strings_are_cut_at_a_character_boundary_and_recorded() {
        let long = format!("a{}", "é".repeat(MAX_TEXT));
        let mut bad = BTreeMap::new();
        let kept = string(&json!({ "k": long }), "k", &mut bad).expect("a string");
        assert!(kept.len() <= MAX_TEXT && kept.len() >= MAX_TEXT - 1, "{}", kept.len());
        assert!(long.starts_with(&kept));
        assert!(bad["k"].contains("cut to 4096"), "{bad:?}");
    }

    #[test]
    fn a_user_with_bad_values_keeps_the_good_ones() {
        let u = parse_user(&json!({
            "id": "u1", "userPrincipalName": "ann@contoso.com", "accountEnabled": "yes",
            "onPremisesSyncEnabled": null, "onPremisesImmutableId": null,
            "onPremisesLastSyncDateTime": "not a time", "lastPasswordChangeDateTime": "2024-05-01T10:00:00Z",
            "onPremisesSamAccountName": 7, "onPremisesDistinguishedName": null, "onPremisesDomainName": null,
            "onPremisesSecurityIdentifier": null, "onPremisesUserPrincipalName": null,
            "onPremisesProvisioningErrors": [{"category": "PropertyConflict", "occurredDateTime": "soon",
                                              "propertyCausingError": "UserPrincipalName", "value": "ann@contoso.com"}],
            "passwordPolicies": null
        }));
        assert_eq!(u.id, "u1");
        assert_eq!(u.on_premises_sync_enabled, None);
        assert_eq!(u.last_password_change, Some("2024-05-01T10:00:00Z".parse().unwrap()));
        assert_eq!(u.provisioning_errors[0].property_causing_error.as_deref(), Some("UserPrincipalName"));
        assert_eq!(u.provisioning_errors[0].occurred, None);
        let keys: Vec<&str> = u.unreadable.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "accountEnabled",
                "onPremisesLastSyncDateTime",
                "onPremisesProvisioningErrors[0].occurredDateTime",
                "onPremisesSamAccountName"
            ]
        );
    }

    #[test]
    fn a_dns_domain_narrows_sam_matches_a_netbios_name_does_not() {
        let users =
            vec![json!({"onPremisesDomainName": "lab1.example.test"}), json!({"onPremisesDomainName": "lab2.test"})];
        assert_eq!(in_domain(users.clone(), "LAB1.example.test").len(), 1);
        assert_eq!(in_domain(users, "LAB1").len(), 2);
    }
}

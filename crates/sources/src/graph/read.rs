//! The Graph reads the tenant checks need, as facts: the directory
//! synchronization features (is PHS on?) and the organization's sync times
//! (is it still arriving?).

use super::client::{GraphClient, ReadError};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use phs_model::graph::fields::{LAST_PASSWORD_SYNC, LAST_SYNC, SYNC_ENABLED, VERIFIED_DOMAINS};
use phs_model::graph::{OnPremisesSync, Organization};
use serde_json::Value;
use std::collections::BTreeMap;

const SYNC_PERMISSION: &str = "needs OnPremDirectorySynchronization.Read.All (delegated, signed in as a Global \
                               Administrator; application permissions are not supported for this API)";
const ORG_PERMISSION: &str = "needs Organization.Read.All (or Directory.Read.All)";
const ORG_SELECT: &str = "id,displayName,verifiedDomains,onPremisesSyncEnabled,onPremisesLastSyncDateTime";

/// `GET /v1.0/directory/onPremisesSynchronization`: the first object's
/// `features` booleans; `None` when Graph answers with no object at all (the
/// tenant has no directory synchronization).
pub(crate) async fn sync_features(graph: &GraphClient<'_>, app_only: bool) -> Result<Option<OnPremisesSync>, String> {
    let url = graph.url("/v1.0/directory/onPremisesSynchronization");
    let items = graph.get_collection(&url).await.map_err(|e| {
        let mut hint = SYNC_PERMISSION.to_owned();
        if app_only {
            hint.push_str("; this was an app-only sign-in: use the device code flow as a Global Administrator");
        }
        e.describe(&hint)
    })?;
    match items.first() {
        Some(first) => parse_sync(first).map(Some),
        None => Ok(None),
    }
}

fn parse_sync(obj: &Value) -> Result<OnPremisesSync, String> {
    let Some(features) = obj.get("features").and_then(Value::as_object) else {
        return Err("the onPremisesSynchronization object has no 'features'".to_owned());
    };
    let all: std::collections::BTreeMap<String, bool> =
        features.iter().filter_map(|(k, v)| v.as_bool().map(|b| (k.clone(), b))).collect();
    Ok(OnPremisesSync {
        password_sync_enabled: all.get("passwordSyncEnabled").copied(),
        user_force_password_change_on_logon_enabled: all.get("userForcePasswordChangeOnLogonEnabled").copied(),
        cloud_password_policy_for_password_synced_users_enabled: all
            .get("cloudPasswordPolicyForPasswordSyncedUsersEnabled")
            .copied(),
        features: all,
    })
}

/// What the organization reads produced: the facts, or why the whole read
/// failed. A field that could not be read is in [`Organization::unreadable`].
pub(crate) struct OrgOutcome {
    pub organization: Option<Organization>,
    pub error: Option<String>,
}

/// `GET /v1.0/organization`, asking for the last password sync time too;
/// when v1.0 doesn't know that field, or answers it with null, beta.
pub(crate) async fn organization(graph: &GraphClient<'_>) -> OrgOutcome {
    let failed = |e: String| OrgOutcome { organization: None, error: Some(e) };
    let with_password = graph.url(&format!("/v1.0/organization?$select={ORG_SELECT},{LAST_PASSWORD_SYNC}"));
    // v1.0 answers 400 for a $select naming a property it doesn't have;
    // then ask again without it.
    let (items, asked_password) = match graph.get_collection(&with_password).await {
        Ok(items) => (items, true),
        Err(ReadError::Status(s)) if s.status == 400 => {
            match graph.get_collection(&graph.url(&format!("/v1.0/organization?$select={ORG_SELECT}"))).await {
                Ok(items) => (items, false),
                Err(e) => return failed(e.describe(ORG_PERMISSION)),
            }
        }
        Err(e) => return failed(e.describe(ORG_PERMISSION)),
    };
    let Some(obj) = items.first() else {
        return failed("Graph returned no organization object".to_owned());
    };
    let mut org =
        Organization { id: text(obj, "id"), display_name: text(obj, "displayName"), ..Organization::default() };
    let unreadable = &mut org.unreadable;
    org.on_premises_sync_enabled = boolean(obj, SYNC_ENABLED, unreadable);
    org.on_premises_last_sync = field(obj, LAST_SYNC, unreadable).and_then(|v| time(v, LAST_SYNC, unreadable));
    org.verified_domains = match field(obj, VERIFIED_DOMAINS, unreadable) {
        Some(Value::Array(list)) => {
            list.iter().filter_map(|d| d.get("name").and_then(Value::as_str)).map(str::to_ascii_lowercase).collect()
        }
        Some(other) => {
            unreadable.insert(VERIFIED_DOMAINS.to_owned(), format!("not a list: {other}"));
            Vec::new()
        }
        None => Vec::new(),
    };
    let from_v1 = obj.get(LAST_PASSWORD_SYNC).filter(|_| asked_password);
    if let Some(v) = from_v1.filter(|v| !v.is_null()) {
        org.on_premises_last_password_sync = time(v, LAST_PASSWORD_SYNC, &mut org.unreadable);
        org.last_password_sync_source = Some("v1.0".to_owned());
        return OrgOutcome { organization: Some(org), error: None };
    }
    // v1.0 lacks the field, or answers null, as it may for a property only
    // beta fills in: beta decides, and a v1.0 null is "never received" only
    // when beta agrees.
    let v1_null = from_v1.is_some();
    let (v1_said, from_beta, both_null) = if v1_null {
        ("v1.0 answered null", "beta (v1.0 answered null)", "v1.0 and beta: null (no password sync request recorded)")
    } else {
        ("v1.0 does not have it", "beta", "beta: null (no password sync request recorded)")
    };
    match beta_password_sync(graph, org.id.as_deref()).await {
        Ok(Some(v)) => {
            org.on_premises_last_password_sync = time(&v, LAST_PASSWORD_SYNC, &mut org.unreadable);
            org.last_password_sync_source = Some(from_beta.to_owned());
        }
        Ok(None) => {
            org.last_password_sync_source = Some(both_null.to_owned());
            org.password_sync_never_received = true;
        }
        Err(why) => {
            let unconfirmed = if v1_null { ", so the null is not confirmed" } else { "" };
            org.unreadable.insert(LAST_PASSWORD_SYNC.to_owned(), format!("{v1_said}, and {why}{unconfirmed}"));
        }
    }
    OrgOutcome { organization: Some(org), error: None }
}

/// `GET /beta/organization?$select=id,onPremisesLastPasswordSyncDateTime`:
/// the field's value (`None` for Graph's null), or why there is none.
async fn beta_password_sync(graph: &GraphClient<'_>, id: Option<&str>) -> Result<Option<Value>, String> {
    let url = graph.url(&format!("/beta/organization?$select=id,{LAST_PASSWORD_SYNC}"));
    let items = match graph.get_collection(&url).await {
        Ok(items) => items,
        Err(ReadError::Status(s)) if s.status == 404 => {
            return Err(format!("the beta endpoint returned 404 ({})", s.detail()))
        }
        Err(e) => return Err(format!("the beta read failed: {}", e.describe(ORG_PERMISSION))),
    };
    // The same organization as v1.0's, when there's a choice.
    let obj = items.iter().find(|o| id.is_some() && o.get("id").and_then(Value::as_str) == id).or(items.first());
    let Some(obj) = obj else {
        return Err("the beta endpoint returned no organization object".to_owned());
    };
    match obj.get(LAST_PASSWORD_SYNC) {
        Some(Value::Null) => Ok(None),
        Some(v) => Ok(Some(v.clone())),
        None => Err(format!("the beta answer has no {LAST_PASSWORD_SYNC} field")),
    }
}

pub(crate) fn text(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The field `key` of Graph's answer; a field the answer lacks is recorded
/// in `unreadable` (a missing field is no answer, unlike a null).
pub(crate) fn field<'v>(obj: &'v Value, key: &str, unreadable: &mut BTreeMap<String, String>) -> Option<&'v Value> {
    let v = obj.get(key);
    if v.is_none() {
        unreadable.insert(key.to_owned(), "missing from Graph's answer".to_owned());
    }
    v
}

/// The boolean field `key`: null is `None`; a missing field or another
/// type is recorded in `unreadable`.
pub(crate) fn boolean(obj: &Value, key: &str, unreadable: &mut BTreeMap<String, String>) -> Option<bool> {
    match field(obj, key, unreadable) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Null) | None => None,
        Some(other) => {
            unreadable.insert(key.to_owned(), format!("not a boolean: {other}"));
            None
        }
    }
}

/// Graph timestamps are ISO 8601 in UTC; a value without an offset is
/// taken as UTC. Null is `None`; one that doesn't parse is recorded in
/// `unreadable`, not guessed.
pub(crate) fn time(value: &Value, key: &str, unreadable: &mut BTreeMap<String, String>) -> Option<Timestamp> {
    if value.is_null() {
        return None;
    }
    let parsed = value.as_str().and_then(|s| {
        s.parse::<Timestamp>().ok().or_else(|| {
            s.parse::<DateTime>().ok().and_then(|dt| dt.to_zoned(TimeZone::UTC).ok()).map(|z| z.timestamp())
        })
    });
    if parsed.is_none() {
        unreadable.insert(key.to_owned(), format!("not a timestamp: {value}"));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn features_keep_every_boolean() {
        let obj = json!({"id": "t", "features": {
            "passwordSyncEnabled": true,
            "userForcePasswordChangeOnLogonEnabled": false,
            "softMatchOnUpnEnabled": true,
            "notABool": "x"
        }});
        let s = parse_sync(&obj).expect("features");
        assert_eq!(s.password_sync_enabled, Some(true));
        assert_eq!(s.user_force_password_change_on_logon_enabled, Some(false));
        assert_eq!(s.cloud_password_policy_for_password_synced_users_enabled, None);
        assert_eq!(s.features.len(), 3);
        assert!(parse_sync(&json!({"id": "t"})).is_err());
    }

    #[test]
    fn times_parse_or_are_recorded_unreadable() {
        let mut bad = BTreeMap::new();
        let want: Timestamp = "2024-05-01T10:00:00Z".parse().expect("test time");
        assert_eq!(time(&json!("2024-05-01T10:00:00Z"), "a", &mut bad), Some(want));
        assert_eq!(time(&json!("2024-05-01T10:00:00"), "b", &mut bad), Some(want));
        assert_eq!(time(&json!("2024-05-01T12:00:00+02:00"), "c", &mut bad), Some(want));
        assert_eq!(time(&Value::Null, "d", &mut bad), None);
        assert!(bad.is_empty());
        assert_eq!(time(&json!("yesterday"), "e", &mut bad), None);
        assert_eq!(time(&json!(1714557600), "f", &mut bad), None);
        assert_eq!(bad.get("e").map(String::as_str), Some("not a timestamp: \"yesterday\""));
        assert_eq!(bad.get("f").map(String::as_str), Some("not a timestamp: 1714557600"));
    }

    #[test]
    fn a_missing_field_is_recorded_a_null_is_not() {
        let mut bad = BTreeMap::new();
        let obj = json!({"onPremisesSyncEnabled": null});
        assert_eq!(field(&obj, "onPremisesSyncEnabled", &mut bad), Some(&Value::Null));
        assert!(bad.is_empty());
        assert_eq!(field(&obj, "onPremisesLastSyncDateTime", &mut bad), None);
        assert_eq!(bad.get("onPremisesLastSyncDateTime").map(String::as_str), Some("missing from Graph's answer"));
    }
}

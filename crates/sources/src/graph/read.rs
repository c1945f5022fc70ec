//! The Graph reads the tenant checks need, as facts: the directory
//! synchronization features (is PHS on?) and the organization's sync times
//! (is it still arriving?).

use super::client::{GraphClient, ReadError};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use phs_model::graph::{OnPremisesSync, Organization};
use serde_json::Value;

const SYNC_PERMISSION: &str = "needs OnPremDirectorySynchronization.Read.All (delegated, signed in as a Global \
                               Administrator; application permissions are not supported for this API)";
const ORG_PERMISSION: &str = "needs Organization.Read.All (or Directory.Read.All)";
const PASSWORD_SYNC_FIELD: &str = "onPremisesLastPasswordSyncDateTime";
const ORG_SELECT: &str = "id,displayName,onPremisesSyncEnabled,onPremisesLastSyncDateTime";

/// `GET /v1.0/directory/onPremisesSynchronization`: the first object's
/// `features` booleans.
pub(crate) async fn sync_features(graph: &GraphClient<'_>, app_only: bool) -> Result<OnPremisesSync, String> {
    let url = graph.url("/v1.0/directory/onPremisesSynchronization");
    let items = graph.get_collection(&url).await.map_err(|e| {
        let mut hint = SYNC_PERMISSION.to_owned();
        if app_only {
            hint.push_str("; this was an app-only sign-in: use the device code flow as a Global Administrator");
        }
        e.describe(&hint)
    })?;
    let first = items.first().ok_or(
        "Graph returned no onPremisesSynchronization object: the tenant has no directory synchronization set up",
    )?;
    parse_sync(first)
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

/// What the organization reads produced: the facts, and what went wrong
/// (the whole read, or a field that didn't parse).
pub(crate) struct OrgOutcome {
    pub organization: Option<Organization>,
    pub error: Option<String>,
}

/// `GET /v1.0/organization`, asking for the last password sync time too;
/// when v1.0 doesn't know that field, beta.
pub(crate) async fn organization(graph: &GraphClient<'_>) -> OrgOutcome {
    let failed = |e: String| OrgOutcome { organization: None, error: Some(e) };
    let with_password = graph.url(&format!("/v1.0/organization?$select={ORG_SELECT},{PASSWORD_SYNC_FIELD}"));
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
    let mut notes = Vec::new();
    let mut org = Organization {
        id: text(obj, "id"),
        display_name: text(obj, "displayName"),
        on_premises_sync_enabled: obj.get("onPremisesSyncEnabled").and_then(Value::as_bool),
        on_premises_last_sync: time(obj, "onPremisesLastSyncDateTime", &mut notes),
        ..Organization::default()
    };
    match obj.get(PASSWORD_SYNC_FIELD).filter(|_| asked_password) {
        // v1.0 knows the property: its answer stands, null included.
        Some(Value::Null) => {
            org.last_password_sync_source = Some("v1.0: null (no password sync request recorded)".to_owned());
            org.password_sync_never_received = true;
        }
        Some(_) => {
            org.on_premises_last_password_sync = time(obj, PASSWORD_SYNC_FIELD, &mut notes);
            org.last_password_sync_source = Some("v1.0".to_owned());
        }
        None => {
            let (at, source) = beta_password_sync(graph, org.id.as_deref(), &mut notes).await;
            org.password_sync_never_received = at.is_none() && source.starts_with("beta: null");
            org.on_premises_last_password_sync = at;
            org.last_password_sync_source = Some(source);
        }
    }
    OrgOutcome { organization: Some(org), error: (!notes.is_empty()).then(|| notes.join("; ")) }
}

/// `GET /beta/organization?$select=id,onPremisesLastPasswordSyncDateTime`:
/// the time, and where it came from or why it's missing.
async fn beta_password_sync(
    graph: &GraphClient<'_>,
    id: Option<&str>,
    notes: &mut Vec<String>,
) -> (Option<Timestamp>, String) {
    let url = graph.url(&format!("/beta/organization?$select=id,{PASSWORD_SYNC_FIELD}"));
    let items = match graph.get_collection(&url).await {
        Ok(items) => items,
        Err(ReadError::Status(s)) if s.status == 404 => {
            return (None, format!("beta endpoint returned 404 ({})", s.detail()))
        }
        Err(e) => return (None, format!("beta endpoint failed: {}", e.describe(ORG_PERMISSION))),
    };
    // The same organization as v1.0's, when there's a choice.
    let obj = items.iter().find(|o| id.is_some() && o.get("id").and_then(Value::as_str) == id).or(items.first());
    match obj.and_then(|o| o.get(PASSWORD_SYNC_FIELD)) {
        // `organization` reads the "beta: null" prefix as "never received".
        Some(Value::Null) => (None, "beta: null (no password sync request recorded)".to_owned()),
        Some(_) => {
            let at = obj.and_then(|o| time(o, PASSWORD_SYNC_FIELD, notes));
            (at, "beta".to_owned())
        }
        None if obj.is_none() => (None, "beta endpoint returned no organization object".to_owned()),
        None => (None, format!("beta endpoint has no {PASSWORD_SYNC_FIELD} field")),
    }
}

fn text(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Graph timestamps are ISO 8601 in UTC; a value without an offset is
/// taken as UTC. One that doesn't parse becomes a note, not a guess.
fn time(obj: &Value, key: &str, notes: &mut Vec<String>) -> Option<Timestamp> {
    let value = obj.get(key)?;
    if value.is_null() {
        return None;
    }
    let parsed = value.as_str().and_then(|s| {
        s.parse::<Timestamp>().ok().or_else(|| {
            s.parse::<DateTime>().ok().and_then(|dt| dt.to_zoned(TimeZone::UTC).ok()).map(|z| z.timestamp())
        })
    });
    if parsed.is_none() {
        notes.push(format!("{key} is not a timestamp: {value}"));
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
    fn times_parse_or_note() {
        let mut notes = Vec::new();
        let obj = json!({"a": "2024-05-01T10:00:00Z", "b": "2024-05-01T10:00:00", "c": null, "d": "yesterday"});
        let want: Timestamp = "2024-05-01T10:00:00Z".parse().expect("test time");
        assert_eq!(time(&obj, "a", &mut notes), Some(want));
        assert_eq!(time(&obj, "b", &mut notes), Some(want));
        assert_eq!(time(&obj, "c", &mut notes), None);
        assert_eq!(time(&obj, "missing", &mut notes), None);
        assert!(notes.is_empty());
        assert_eq!(time(&obj, "d", &mut notes), None);
        assert_eq!(notes, vec!["d is not a timestamp: \"yesterday\"".to_owned()]);
    }
}

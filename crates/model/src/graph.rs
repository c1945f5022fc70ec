//! Facts read from Microsoft Entra ID through Microsoft Graph: the tenant's
//! on-premises synchronization features and the organization's sync times.
//! Never a token or a client secret.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TenantFacts {
    /// The tenant asked (GUID or domain).
    pub tenant: String,
    /// `client-secret`, `client-certificate` or `device-code`.
    pub flow: String,
    /// Who signed in: the application (client) id, or the user's name for
    /// the device code flow.
    pub signed_in_as: Option<String>,
    /// The Graph base URL used (sovereign clouds differ).
    pub graph_url: String,
    /// When the Graph answers arrived, by the clock of the machine that read
    /// them: the time the tenant's facts describe, whatever time the
    /// snapshot or the evaluation names. None in snapshots written before
    /// phs-doctor recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<Timestamp>,
    /// The access token's `tid` claim: the tenant Entra ID signed us in to
    /// (read from the token's payload, never verified; the token itself is
    /// never kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_tenant_id: Option<String>,
    /// Set when sign-in failed; then nothing else was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_error: Option<String>,
    /// `GET /v1.0/directory/onPremisesSynchronization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<OnPremisesSync>,
    /// Graph answered the read with an empty collection: the tenant has no
    /// directory synchronization configuration at all (unlike a failed read,
    /// which is `sync_error`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_directory_sync: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_error: Option<String>,
    /// `GET /v1.0/organization` (and beta for the last password sync time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_error: Option<String>,
}

/// The tenant's directory synchronization features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OnPremisesSync {
    pub password_sync_enabled: Option<bool>,
    pub user_force_password_change_on_logon_enabled: Option<bool>,
    pub cloud_password_policy_for_password_synced_users_enabled: Option<bool>,
    /// Every boolean feature as Graph returned it, by its Graph name.
    pub features: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Organization {
    pub id: Option<String>,
    pub display_name: Option<String>,
    /// The organization's verified domains (`verifiedDomains[].name`), the
    /// initial `*.onmicrosoft.com` one included: what the sync server's
    /// Entra connector account must belong to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified_domains: Vec<String>,
    /// true: synced; false: was synced, now off; None: never synced.
    pub on_premises_sync_enabled: Option<bool>,
    pub on_premises_last_sync: Option<Timestamp>,
    /// `onPremisesLastPasswordSyncDateTime`: the last password sync request
    /// the tenant received (beta; None when Graph has no such field).
    pub on_premises_last_password_sync: Option<Timestamp>,
    /// Where the last password sync time came from (`v1.0`, `beta`), or why
    /// it is missing.
    pub last_password_sync_source: Option<String>,
    /// Graph answered the last password sync time with null: the tenant has
    /// never received a password sync (unlike a field Graph lacks).
    #[serde(default)]
    pub password_sync_never_received: bool,
    /// Fields Graph did not answer usably, by their Graph name, with why: a
    /// field missing from the answer, a time that does not parse, a read
    /// that failed. Their `None` above is then no answer, never a "null".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable: BTreeMap<String, String>,
}

impl Organization {
    /// Why `field` (its Graph name) has no usable value, when it has none.
    pub fn unreadable(&self, field: &str) -> Option<&str> {
        self.unreadable.get(field).map(String::as_str)
    }
}

/// Graph's field names, shared by the reader that fills [`Organization`]
/// and the rules that say which field was missing.
pub mod fields {
    pub const SYNC_ENABLED: &str = "onPremisesSyncEnabled";
    pub const LAST_SYNC: &str = "onPremisesLastSyncDateTime";
    pub const LAST_PASSWORD_SYNC: &str = "onPremisesLastPasswordSyncDateTime";
    pub const VERIFIED_DOMAINS: &str = "verifiedDomains";
    pub const PASSWORD_SYNC_ENABLED: &str = "passwordSyncEnabled";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tenant facts as snapshots stored them before the read time, the
    /// token's tenant, the verified domains and the unreadable fields.
    #[test]
    fn older_tenant_facts_still_read() {
        let old = r#"{"tenant":"contoso.onmicrosoft.com","flow":"client-secret","signed_in_as":"app",
            "graph_url":"https://graph.microsoft.com","sync":{"password_sync_enabled":true,
            "user_force_password_change_on_logon_enabled":null,
            "cloud_password_policy_for_password_synced_users_enabled":null,"features":{"passwordSyncEnabled":true}},
            "organization":{"id":"t","display_name":"Contoso","on_premises_sync_enabled":true,
            "on_premises_last_sync":"2026-11-24T11:40:00Z","on_premises_last_password_sync":null,
            "last_password_sync_source":"beta endpoint returned 404 (x)"}}"#;
        let t: TenantFacts = serde_json::from_str(old).expect("old shape");
        assert_eq!((t.read_at, t.token_tenant_id.as_deref(), t.no_directory_sync), (None, None, false));
        let org = t.organization.expect("organization");
        assert!(org.verified_domains.is_empty() && org.unreadable.is_empty() && !org.password_sync_never_received);
        // Written again, the new fields stay out until they are set.
        let json = serde_json::to_string(&TenantFacts::default()).unwrap();
        assert!(!json.contains("read_at") && !json.contains("no_directory_sync"), "{json}");
    }
}

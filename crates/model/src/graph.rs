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
    /// Set when sign-in failed; then nothing else was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_error: Option<String>,
    /// `GET /v1.0/directory/onPremisesSynchronization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<OnPremisesSync>,
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
}

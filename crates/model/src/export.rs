//! Facts read from the sync server's configuration export
//! (`Get-ADSyncServerConfiguration -Path <dir>`).

use crate::Guid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The whole export folder, reduced to what password hash sync depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServerConfig {
    /// The folder it was read from, as given.
    pub path: String,
    /// `server` attribute of `GlobalSettings/MV.xml`, when present.
    pub server_name: Option<String>,
    /// `export-date` attribute of `GlobalSettings/MV.xml`, verbatim (local server time).
    pub export_date: Option<String>,
    pub connectors: Vec<Connector>,
    /// Every `parameter-values/parameter` found under `GlobalSettings/*.xml`, by name.
    /// Empty parameters are kept with an empty value.
    pub global_parameters: BTreeMap<String, String>,
    pub sync_rules: Vec<SyncRule>,
    /// The product version of the installed binaries, verbatim, when some
    /// evidence states it. The export does not: its
    /// `Microsoft.Synchronize.ServerConfigurationVersion` is the version the
    /// configuration was last written by, and the Entra connector's
    /// `extension-config/assembly-version` is a connector DLL's version. The
    /// reader leaves this `None`; a source that reads the installed build
    /// (e.g. `miiserver.exe`'s file version) fills it in, and PHS015 compares
    /// the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_version: Option<String>,
}

impl ServerConfig {
    pub fn global(&self, name: &str) -> Option<&str> {
        self.global_parameters.get(name).map(String::as_str)
    }

    pub fn ad_connectors(&self) -> impl Iterator<Item = (&Connector, &AdConnector)> {
        self.connectors.iter().filter_map(|c| c.ad.as_ref().map(|ad| (c, ad)))
    }

    pub fn entra_connectors(&self) -> impl Iterator<Item = &Connector> {
        self.connectors.iter().filter(|c| c.kind == ConnectorKind::EntraId)
    }

    pub fn connector(&self, id: &Guid) -> Option<&Connector> {
        self.connectors.iter().find(|c| &c.id == id)
    }

    /// The group an AD connector's objects must be members of to be synced,
    /// when group-based filtering is on (`Microsoft.OptionalFeature.GroupFiltering`
    /// is `True` and the connector names a group).
    pub fn group_filter<'a>(&self, ad: &'a AdConnector) -> Option<&'a str> {
        let on =
            self.global("Microsoft.OptionalFeature.GroupFiltering").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        ad.group_filter_dn.as_deref().filter(|_| on)
    }

    /// Whether some AD connector filters by group (then a user's memberOf decides scope).
    pub fn filters_by_group(&self) -> bool {
        self.ad_connectors().any(|(_, ad)| self.group_filter(ad).is_some())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    /// category `AD`: an on-premises Active Directory forest.
    ActiveDirectory,
    /// category `Extensible2` with subtype `Windows Azure Active Directory (Microsoft)`.
    EntraId,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connector {
    pub id: Guid,
    pub name: String,
    /// `category` verbatim (`AD`, `Extensible2`, ...).
    pub category: String,
    /// `subtype` verbatim; empty for AD connectors.
    pub subtype: String,
    pub kind: ConnectorKind,
    /// The file the connector was read from.
    pub file: String,
    /// Present for AD connectors only.
    pub ad: Option<AdConnector>,
    /// Present for the Entra connector only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra: Option<EntraConnector>,
}

impl Connector {
    /// The tenant domain this connector names, for the Entra connector: the
    /// domain of its connector account (`Sync_<server>_<id>@<tenant>.onmicrosoft.com`),
    /// else the wizard's default name (`<tenant>.onmicrosoft.com - AAD`).
    /// Lower case; None when neither names a domain.
    pub fn entra_tenant_domain(&self) -> Option<String> {
        if self.kind != ConnectorKind::EntraId {
            return None;
        }
        let from_account =
            self.entra.as_ref().and_then(|e| e.account.as_deref()).and_then(
                |a| match crate::names::AccountName::parse(a) {
                    crate::names::AccountName::Upn { suffix, .. } => Some(suffix),
                    _ => None,
                },
            );
        let from_name = self.name.strip_suffix(" - AAD").map(str::trim);
        [from_account, from_name].into_iter().flatten().find(|d| looks_like_domain(d)).map(str::to_ascii_lowercase)
    }
}

fn looks_like_domain(s: &str) -> bool {
    s.contains('.')
        && !s.starts_with('.')
        && !s.ends_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// What the Entra connector's export says about the tenant it writes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EntraConnector {
    /// The Entra connector account: `MAConfig` parameter `UserName`
    /// (`Sync_<server>_<id>@<tenant>.onmicrosoft.com`).
    pub account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AdConnector {
    pub forest_name: Option<String>,
    /// `forest-login-domain`: the domain of the AD DS connector account.
    pub login_domain: Option<String>,
    /// `forest-login-user`: the AD DS connector account (sAMAccountName style).
    pub login_user: Option<String>,
    /// `password-hash-sync-config`; absent when the export has no such element.
    pub phs: Option<PhsChannel>,
    pub partitions: Vec<Partition>,
    /// The group the wizard's "synchronize selected" (group-based filtering)
    /// pilot limits this forest to: the connector parameter
    /// `Connector.GroupFilteringGroupDn`, when set. It applies only while the
    /// global parameter `Microsoft.OptionalFeature.GroupFiltering` is `True`
    /// ([`ServerConfig::group_filter`]), as Microsoft's object sync
    /// diagnostics read the two together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_filter_dn: Option<String>,
}

/// The per-connector password hash sync channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhsChannel {
    pub enabled: bool,
    /// The connector (normally the Entra connector) the hashes go to.
    pub target: Option<Guid>,
}

/// A directory partition of an AD connector; selected domain partitions are the
/// domains password hash sync reads from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Partition {
    pub id: Option<Guid>,
    /// Partition DN, e.g. `DC=contoso,DC=com`.
    pub dn: String,
    /// Domain FQDN (`custom-data/adma-partition-data/name`, else `display-name`).
    pub fqdn: Option<String>,
    pub selected: bool,
    pub is_domain: bool,
    pub inclusions: Vec<String>,
    pub exclusions: Vec<String>,
    /// `filter/object-classes/object-class`: the object types the connector
    /// imports from this partition (empty: not stated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_classes: Vec<String>,
    pub preferred_dcs: Vec<String>,
    pub last_dc: Option<String>,
    /// Per-partition alternate credentials, when configured.
    pub login_user: Option<String>,
    pub login_domain: Option<String>,
}

impl Partition {
    /// The domain's DNS name, the one heading every report gives it: the
    /// export's own FQDN when present, else the `DC=` labels of the DN, else
    /// the DN itself (a partition without `DC=` labels has no DNS name).
    pub fn domain_name(&self) -> String {
        self.fqdn.clone().or_else(|| crate::names::dn_to_fqdn(&self.dn)).unwrap_or_else(|| self.dn.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SyncRule {
    pub id: Option<Guid>,
    pub name: String,
    /// `Inbound` or `Outbound`.
    pub direction: String,
    pub connector: Option<Guid>,
    pub disabled: bool,
    pub precedence: Option<i64>,
    pub source_object_type: Option<String>,
    pub target_object_type: Option<String>,
    pub enable_password_sync: bool,
    pub file: String,
    /// `immutable-tag` (`Microsoft.InfromADUserAccountEnabled.004`): present on
    /// the wizard's own rules, absent on rules an administrator wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable_tag: Option<String>,
    /// `linkType`: `Provision` (creates the target object) or `Join`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_type: Option<String>,
    /// The scoping filter (`synchronizationCriteria`): the rule applies to an
    /// object that meets every condition of at least one group. No group:
    /// the rule applies to every object of its source type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<ScopeGroup>,
    /// The join rules (`relationshipCriteria`): tried group by group, a group
    /// joining when all its conditions match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join: Vec<JoinGroup>,
}

/// One group of a sync rule's scoping filter (`synchronizationCriteria/conditions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScopeGroup {
    pub conditions: Vec<ScopeCondition>,
}

/// `scope`: `csAttribute`, `csOperator` (`EQUAL`, `NOTEQUAL`, `NOTSTARTSWITH`,
/// `ISNOTNULL`, `ISBITNOTSET`, `ISMEMBEROF`, ...), `csValue`; all verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScopeCondition {
    pub attribute: String,
    pub operator: String,
    /// Empty for the operators that take no value (`ISNULL`, `ISNOTNULL`).
    pub value: String,
}

/// One group of a sync rule's join rules (`relationshipCriteria/conditions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct JoinGroup {
    pub conditions: Vec<JoinCondition>,
}

/// `condition`: the connector space attribute matched against the metaverse one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct JoinCondition {
    pub cs_attribute: String,
    /// `ilmAttribute`: the metaverse attribute.
    pub mv_attribute: String,
    pub case_sensitive: bool,
}

//! One user, as each live source sees it: the identity the analyst asked
//! for, the Active Directory object and the cloud user. The sync engine's
//! objects for that user come from cmdlet files, like every other server
//! evidence ([`crate::sync_engine`]).
//!
//! A lookup records where it searched and what failed, so that "not found"
//! is only ever said of a search that completed.

use crate::{Guid, Timestamp};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything collected about one user (`phs-doctor user IDENTITY`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEvidence {
    pub query: UserQuery,
    /// Live AD, over the `[ad]` connection; None when AD was not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad: Option<AdUserLookup>,
    /// The tenant through Graph; None when Graph was not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudUserLookup>,
}

/// The identity as given, and what kind of identifier it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserQuery {
    /// Verbatim, as the analyst typed it.
    pub text: String,
    pub kind: IdentityKind,
    /// `--connector`: the AD connector (forest) a bare name belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
}

/// What an identity names, parsed. Each form is matched against AD and the
/// tenant in its own way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "form")]
pub enum IdentityKind {
    /// `CN=...,DC=...`: a distinguished name.
    Dn { dn: String },
    /// `DOMAIN\name`: NetBIOS domain and sAMAccountName.
    DownLevel { domain: String, name: String },
    /// `name@suffix`: a userPrincipalName (or a mail-like UPN).
    Upn { upn: String },
    /// An objectGUID in text form.
    ObjectGuid { guid: Guid },
    /// A sourceAnchor / immutableId: base64 of the anchor bytes, given as
    /// base64 or as the Entra connector space's `CN={hex}` form.
    Anchor { anchor: SourceAnchor },
    /// A bare sAMAccountName (needs `--connector` when several forests are synced).
    SamAccountName { name: String },
}

/// Why an identity could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadIdentity(pub String);

impl std::fmt::Display for BadIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest identity accepted: a DN may be long, but not unbounded.
pub const MAX_IDENTITY_CHARS: usize = 2048;

impl UserQuery {
    /// Parses an identity. The order matters: a GUID is also valid base64
    /// text in no sense that matters (it has dashes), a DN has `=` before
    /// its first comma, `DOMAIN\name` has one backslash, a UPN one `@`, an
    /// anchor is base64 of at least 16 bytes (`==` padded for a GUID) or
    /// `CN={hex}`; anything else is a bare sAMAccountName.
    pub fn parse(text: &str, connector: Option<&str>) -> Result<UserQuery, BadIdentity> {
        let t = text.trim();
        if t.is_empty() {
            return Err(BadIdentity("the identity is empty".into()));
        }
        if t.chars().count() > MAX_IDENTITY_CHARS {
            return Err(BadIdentity(format!("the identity is longer than {MAX_IDENTITY_CHARS} characters")));
        }
        if t.chars().any(char::is_control) {
            return Err(BadIdentity("the identity contains control characters".into()));
        }
        let kind = if let Some(anchor) = SourceAnchor::from_entra_cs_dn(t) {
            IdentityKind::Anchor { anchor }
        } else if let Some(guid) = Guid::parse(t) {
            IdentityKind::ObjectGuid { guid }
        } else if looks_like_dn(t) {
            IdentityKind::Dn { dn: t.to_owned() }
        } else if let Some((domain, name)) = t.split_once('\\') {
            if domain.is_empty() || name.is_empty() || name.contains('\\') {
                return Err(BadIdentity(format!("{t:?} is not DOMAIN\\name")));
            }
            IdentityKind::DownLevel { domain: domain.to_owned(), name: name.to_owned() }
        } else if t.contains('@') {
            let (user, suffix) = t.rsplit_once('@').unwrap_or_default();
            if user.is_empty() || suffix.is_empty() {
                return Err(BadIdentity(format!("{t:?} is not a user principal name")));
            }
            IdentityKind::Upn { upn: t.to_owned() }
        } else if let Some(anchor) = SourceAnchor::from_base64(t) {
            IdentityKind::Anchor { anchor }
        } else {
            IdentityKind::SamAccountName { name: t.to_owned() }
        };
        Ok(UserQuery { text: t.to_owned(), kind, connector: connector.map(str::to_owned) })
    }
}

/// `CN=x,...` / `OU=x,...`: an attribute type, `=`, before any comma.
fn looks_like_dn(t: &str) -> bool {
    let first = t.split(',').next().unwrap_or_default();
    match first.split_once('=') {
        Some((ty, _)) => !ty.is_empty() && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && t.contains(','),
        None => false,
    }
}

/// The bytes of a sourceAnchor (immutableId). For an objectGUID or an
/// mS-DS-ConsistencyGuid anchor they are the attribute's 16 raw bytes, in
/// the order AD stores them (the first three fields little-endian).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceAnchor(Vec<u8>);

impl SourceAnchor {
    pub fn from_bytes(bytes: Vec<u8>) -> SourceAnchor {
        SourceAnchor(bytes)
    }

    /// Standard base64 with padding, as Entra ID stores onPremisesImmutableId.
    /// At least 16 bytes: shorter base64 is more likely a plain name.
    pub fn from_base64(text: &str) -> Option<SourceAnchor> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()?;
        (bytes.len() >= 16 && bytes.len() <= 256).then_some(SourceAnchor(bytes))
    }

    /// `CN={hex}`, the Entra connector space's DN: the upper-case hex of the
    /// base64 text's ASCII bytes.
    pub fn from_entra_cs_dn(text: &str) -> Option<SourceAnchor> {
        let t = text.trim();
        let hex = t.get(..4).filter(|p| p.eq_ignore_ascii_case("CN={"))?;
        let hex = t[hex.len()..].strip_suffix('}')?;
        if hex.len() % 2 != 0 || hex.len() > 1024 {
            return None;
        }
        let ascii: Option<Vec<u8>> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
        SourceAnchor::from_base64(std::str::from_utf8(&ascii?).ok()?)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }

    /// The Entra connector space DN for this anchor (`CN={hex}`).
    pub fn to_entra_cs_dn(&self) -> String {
        let hex: String = self.to_base64().bytes().map(|b| format!("{b:02X}")).collect();
        format!("CN={{{hex}}}")
    }

    /// The GUID these 16 bytes store, in text form, when they are 16 bytes.
    pub fn as_guid(&self) -> Option<Guid> {
        let b: &[u8; 16] = self.0.as_slice().try_into().ok()?;
        Some(guid_from_ad_bytes(b))
    }

    /// The anchor of an objectGUID given in text form.
    pub fn from_guid(guid: &Guid) -> SourceAnchor {
        SourceAnchor(guid_to_ad_bytes(guid).to_vec())
    }
}

impl TryFrom<String> for SourceAnchor {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map(SourceAnchor)
            .map_err(|e| format!("not base64: {e}"))
    }
}

impl From<SourceAnchor> for String {
    fn from(a: SourceAnchor) -> String {
        a.to_base64()
    }
}

/// objectGUID's 16 stored bytes as text: Data1, Data2 and Data3 are
/// little-endian, the last eight bytes are in order.
pub fn guid_from_ad_bytes(b: &[u8; 16]) -> Guid {
    let text = format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    );
    Guid::parse(&text).expect("32 hex digits in GUID form")
}

/// The inverse of [`guid_from_ad_bytes`].
pub fn guid_to_ad_bytes(g: &Guid) -> [u8; 16] {
    let hex: Vec<u8> = g
        .as_str()
        .bytes()
        .filter(|b| *b != b'-')
        .collect::<Vec<u8>>()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
        .collect();
    let mut out = [0u8; 16];
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    for (i, &from) in order.iter().enumerate() {
        out[i] = hex[from];
    }
    out
}

/// The search for the user in Active Directory: every domain asked, what
/// was found, and what failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AdUserLookup {
    /// One entry per domain searched, in order.
    pub searched: Vec<DomainSearch>,
    /// Every object that matched (more than one: the identity is ambiguous).
    pub found: Vec<AdUser>,
    /// When nothing matched: users whose sAMAccountName or UPN starts like
    /// the identity, at most a handful (`domain`, `sAMAccountName`, `UPN`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub near: Vec<String>,
}

impl AdUserLookup {
    /// Domains whose search did not complete, with why.
    pub fn failures(&self) -> impl Iterator<Item = &DomainSearch> {
        self.searched.iter().filter(|s| s.error.is_some())
    }
}

/// One domain's search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DomainSearch {
    pub connector: String,
    pub domain: String,
    /// The DC asked, when one answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    /// The LDAP filter used (values escaped).
    pub filter: String,
    /// Set when the search did not complete: nothing can be said of this domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The user's AD object, the attributes that decide password sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AdUser {
    pub connector: String,
    pub domain: String,
    pub dn: String,
    pub object_guid: Option<Guid>,
    /// `mS-DS-ConsistencyGuid`, raw bytes (base64 in JSON), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency_guid: Option<SourceAnchor>,
    pub object_sid: Option<String>,
    pub sam_account_name: Option<String>,
    pub user_principal_name: Option<String>,
    /// Every value of objectClass (`top`, `person`, ..., `user` or `inetOrgPerson`).
    pub object_classes: Vec<String>,
    pub user_account_control: Option<u32>,
    /// `msDS-User-Account-Control-Computed` (lockout, password expired), as the DC computes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_account_control_computed: Option<u32>,
    /// FILETIME values as stored (100 ns since 1601). pwdLastSet 0: must change at next logon.
    pub pwd_last_set: Option<i64>,
    /// 0 and i64::MAX: never expires.
    pub account_expires: Option<i64>,
    pub lockout_time: Option<i64>,
    pub admin_description: Option<String>,
    /// Group DNs, read when the export filters by group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_of: Vec<String>,
    /// `whenChanged`, as the DC wrote it (generalized time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_changed: Option<String>,
}

/// userAccountControl bits that matter here ([MS-ADTS] 2.2.16).
pub mod uac {
    pub const ACCOUNTDISABLE: u32 = 0x0002;
    pub const LOCKOUT: u32 = 0x0010;
    pub const PASSWD_NOTREQD: u32 = 0x0020;
    pub const NORMAL_ACCOUNT: u32 = 0x0200;
    pub const DONT_EXPIRE_PASSWORD: u32 = 0x1_0000;
    pub const SMARTCARD_REQUIRED: u32 = 0x4_0000;
    pub const PASSWORD_EXPIRED: u32 = 0x80_0000;
}

impl AdUser {
    /// The anchor Entra Connect would use: mS-DS-ConsistencyGuid when set,
    /// else objectGUID (the default of every Connect build since 1.1.524,
    /// and objectGUID before it).
    pub fn anchor(&self) -> Option<SourceAnchor> {
        self.consistency_guid.clone().or_else(|| self.object_guid.as_ref().map(SourceAnchor::from_guid))
    }

    /// The objectGUID anchor, whatever the consistency GUID says.
    pub fn object_guid_anchor(&self) -> Option<SourceAnchor> {
        self.object_guid.as_ref().map(SourceAnchor::from_guid)
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.object_classes.iter().any(|c| c.eq_ignore_ascii_case(class))
    }
}

/// The search for the user in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CloudUserLookup {
    /// When Graph answered (the machine's clock).
    pub read_at: Option<Timestamp>,
    /// Each query asked, in order (`$filter=...`, `/users/{upn}`).
    pub queries: Vec<String>,
    pub found: Vec<CloudUser>,
    /// Set when a query failed: nothing can be said of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A user as Graph reports it (`GET /v1.0/users`, `User.Read.All`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CloudUser {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub account_enabled: Option<bool>,
    /// true: synced from AD; false: was synced, now cloud-only; None: never synced.
    pub on_premises_sync_enabled: Option<bool>,
    pub on_premises_immutable_id: Option<String>,
    pub on_premises_last_sync: Option<Timestamp>,
    pub last_password_change: Option<Timestamp>,
    pub on_premises_sam_account_name: Option<String>,
    pub on_premises_distinguished_name: Option<String>,
    pub on_premises_domain_name: Option<String>,
    pub on_premises_security_identifier: Option<String>,
    pub on_premises_user_principal_name: Option<String>,
    /// `passwordPolicies` verbatim (`DisablePasswordExpiration`, ...).
    pub password_policies: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisioning_errors: Vec<ProvisioningError>,
    /// Graph property name → why its value could not be used (missing from
    /// the answer, not a timestamp, cut at the length cap): such a field is
    /// unknown, not empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable: BTreeMap<String, String>,
}

/// One `onPremisesProvisioningErrors` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProvisioningError {
    pub category: Option<String>,
    pub occurred: Option<Timestamp>,
    pub property_causing_error: Option<String>,
    pub value: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> IdentityKind {
        UserQuery::parse(text, None).expect(text).kind
    }

    #[test]
    fn each_identity_form_is_told_apart() {
        assert!(matches!(kind("CN=Ann Lee,OU=Staff,DC=lab1,DC=example,DC=test"), IdentityKind::Dn { .. }));
        assert!(
            matches!(kind("LAB1\\ann"), IdentityKind::DownLevel { ref domain, ref name } if domain == "LAB1" && name == "ann")
        );
        assert!(matches!(kind("ann@lab1.example.test"), IdentityKind::Upn { .. }));
        assert!(matches!(kind("{8C4B1F0E-2D3A-4B5C-9D8E-7F6A5B4C3D2E}"), IdentityKind::ObjectGuid { .. }));
        assert!(matches!(kind("IH4pQeDhy0Cgu9/1sOJxtQ=="), IdentityKind::Anchor { .. }));
        assert!(matches!(kind("ann"), IdentityKind::SamAccountName { .. }));
        // Eight letters are valid base64 of six bytes, but too short for an anchor.
        assert!(matches!(kind("annalees"), IdentityKind::SamAccountName { .. }));
    }

    #[test]
    fn bad_identities_are_refused_with_a_reason() {
        for bad in ["", "  ", "LAB1\\", "\\ann", "a\\b\\c", "@lab1", "ann@", "ann\u{1b}[31m"] {
            assert!(UserQuery::parse(bad, None).is_err(), "{bad:?}");
        }
        assert!(UserQuery::parse(&"a".repeat(MAX_IDENTITY_CHARS + 1), None).is_err());
    }

    /// The example of phs-spec.md §2.2: the Entra connector space DN is the
    /// hex of the base64 text, and both forms give the same anchor.
    #[test]
    fn the_entra_cs_dn_form_decodes_to_the_immutable_id() {
        let a = SourceAnchor::from_base64("IH4pQeDhy0Cgu9/1sOJxtQ==").unwrap();
        let dn = a.to_entra_cs_dn();
        assert!(dn.starts_with("CN={4948347051"), "{dn}");
        assert!(dn.ends_with("3D3D}"), "{dn}");
        assert_eq!(SourceAnchor::from_entra_cs_dn(&dn), Some(a.clone()));
        assert_eq!(kind(&dn), IdentityKind::Anchor { anchor: a });
        assert_eq!(SourceAnchor::from_entra_cs_dn("CN={4G}"), None);
    }

    /// objectGUID bytes are mixed-endian: the text form swaps the first
    /// three fields, and the anchor is the stored bytes.
    #[test]
    fn guid_bytes_round_trip_in_microsoft_order() {
        let g = Guid::parse("01020304-0506-0708-090a-0b0c0d0e0f10").unwrap();
        let bytes = guid_to_ad_bytes(&g);
        assert_eq!(bytes, [4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16]);
        assert_eq!(guid_from_ad_bytes(&bytes), g);
        let anchor = SourceAnchor::from_guid(&g);
        assert_eq!(anchor.as_guid(), Some(g));
        assert_eq!(SourceAnchor::from_base64(&anchor.to_base64()), Some(anchor));
    }

    #[test]
    fn the_anchor_prefers_the_consistency_guid() {
        let g = Guid::parse("01020304-0506-0708-090a-0b0c0d0e0f10").unwrap();
        let mut u = AdUser { object_guid: Some(g.clone()), ..AdUser::default() };
        assert_eq!(u.anchor(), Some(SourceAnchor::from_guid(&g)));
        let other = SourceAnchor::from_bytes(vec![7; 16]);
        u.consistency_guid = Some(other.clone());
        assert_eq!(u.anchor(), Some(other));
        assert_eq!(u.object_guid_anchor(), Some(SourceAnchor::from_guid(&g)));
    }
}

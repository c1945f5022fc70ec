//! One user in live Active Directory (`phs-doctor user IDENTITY`): find the
//! object the identity names, in the domains the per-domain checks already
//! reached, and read the attributes that decide password hash sync.
//!
//! The search runs after the checks, on the DC each domain used and with the
//! same connector credential, over the same session code ([`super::ldap`]):
//! the same transports (LDAPS, else StartTLS; plain LDAP only when
//! [`AdOptions::allow_plain_ldap`] chose it), the same certificate checks, the
//! same bind. The password goes only into that bind; every error is made
//! from results and I/O errors, never from a request.
//!
//! "Not found" is only ever said of a domain whose search completed: a
//! failed bind or search is that domain's `error`, and a credential refused in
//! one domain is not tried in the next one of its connector (one more
//! bad-password count would tell nothing new). Values read from the DC are
//! untrusted: their number and length are capped, and a malformed value is
//! left out, never a panic.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use ldap3::Scope;
use phs_model::names::{normalize_dn, split_rdns};
use phs_model::user::{guid_from_ad_bytes, guid_to_ad_bytes, AdUser, AdUserLookup, DomainSearch, IdentityKind};
use phs_model::{SourceAnchor, UserQuery};

use super::ldap::{
    bind_session, crossref_netbios, dc_label, describe_result, escape_bytes, escape_value, root_dse_on, sid_text, Conn,
    Entry, SearchRequest,
};
use super::{AdOptions, Secret};

/// One domain to search, as its check reached it.
#[derive(Debug, Clone)]
pub struct UserSearchTarget {
    pub connector: String,
    /// Domain FQDN.
    pub domain: String,
    pub partition_dn: String,
    /// The DC the domain's check used (`DomainFacts.ldap.dc`): its host name
    /// (certificates are checked against it) and address.
    pub dc_host: String,
    pub dc_addr: IpAddr,
    /// `DOMAIN\user` or a UPN, as the check bound ([`super::DomainTarget::bind_identity`]).
    pub bind_identity: String,
    pub secret: Arc<Secret>,
}

/// Every object class that is a user to Entra Connect's AD connector,
/// inetOrgPerson included: in AD and in Samba an inetOrgPerson is a
/// subclass of user with objectCategory Person.
pub(crate) const USER_FILTER: &str = "(&(objectCategory=person)(objectClass=user))";

/// Attributes read for the user (memberOf apart).
pub(crate) const USER_ATTRS: &[&str] = &[
    "distinguishedName",
    "objectGUID",
    "mS-DS-ConsistencyGuid",
    "objectSid",
    "sAMAccountName",
    "userPrincipalName",
    "objectClass",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "pwdLastSet",
    "accountExpires",
    "lockoutTime",
    "adminDescription",
    "whenChanged",
];

/// More objects than this matching one identity in one domain is not an
/// answer: the search is reported as failed (size limit), not as a list.
pub const MAX_MATCHES: i32 = 10;
/// Near matches listed, in all (and the size limit of each near search).
pub const MAX_NEAR: usize = 5;
/// How many leading characters of the name a near match shares.
pub const NEAR_PREFIX_CHARS: usize = 3;
/// memberOf values kept.
pub const MAX_MEMBER_OF: usize = 1000;
/// Longest text value kept, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;
/// objectClass values kept (a user has four or five).
const MAX_CLASSES: usize = 32;
/// Longest anchor accepted (as [`SourceAnchor::from_base64`]).
const MAX_ANCHOR_BYTES: usize = 256;

/// rc 4 (sizeLimitExceeded) and rc 32 (noSuchObject).
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const NO_SUCH_OBJECT: u32 = 32;

/// Search `targets` for the user `query` names. Which domains are asked
/// depends on the form: a DN only in the domain whose partition holds it, a
/// `DOMAIN\name` in the domain of that NetBIOS (or DNS) name (in every
/// domain whose NetBIOS name could not be read), a bare name in
/// `query.connector`'s domains (every domain without it), the other forms
/// everywhere. A domain not asked is not in `searched`; `searched` is empty
/// when no domain could hold the identity (a DN outside every partition, a
/// NetBIOS name of no domain here), which is "not found" as well.
///
/// When nothing is found and the identity has a name, `near` lists users
/// whose sAMAccountName or UPN starts with its first
/// [`NEAR_PREFIX_CHARS`] characters, at most [`MAX_NEAR`].
pub async fn find_user(
    targets: &[UserSearchTarget],
    query: &UserQuery,
    want_member_of: bool,
    opts: &AdOptions,
) -> AdUserLookup {
    let mut lookup = AdUserLookup::default();
    let mut attrs: Vec<&str> = USER_ATTRS.to_vec();
    if want_member_of {
        attrs.push("memberOf");
    }
    let holding = holding_partition(targets, &query.kind);
    let mut refused: HashSet<(String, String)> = HashSet::new();
    // Bound sessions, for the search and then the near matches.
    let mut sessions: Vec<(usize, Conn)> = Vec::new();
    let mut netbios: Vec<Option<String>> = vec![None; targets.len()];
    // Each domain's search with its place in `targets`, put in that order at the end.
    let mut searched: Vec<(usize, DomainSearch)> = Vec::new();

    for (i, target) in targets.iter().enumerate() {
        if !may_hold(target, query, holding.as_deref()) {
            continue;
        }
        let credential = (target.connector.to_lowercase(), target.bind_identity.trim().to_lowercase());
        let search = DomainSearch {
            connector: target.connector.clone(),
            domain: target.domain.clone(),
            filter: user_filter(&query.kind).map(|(_, f)| f).unwrap_or_default(),
            ..DomainSearch::default()
        };
        if refused.contains(&credential) {
            searched.push((
                i,
                DomainSearch {
                    error: Some(format!(
                        "not searched: the DC of another domain of connector {} refused the credential of {} (a \
                     second bind would only add a bad-password count)",
                        target.connector, target.bind_identity
                    )),
                    ..search
                },
            ));
            continue;
        }
        match bind_session(&target.dc_host, target.dc_addr, &target.bind_identity, &target.secret, opts).await {
            Ok(mut conn) => {
                if matches!(query.kind, IdentityKind::DownLevel { .. }) {
                    let config_nc = root_dse_on(&mut conn).await.ok().and_then(|(_, config)| config);
                    netbios[i] = crossref_netbios(&mut conn, &target.partition_dn, config_nc.as_deref()).await;
                }
                sessions.push((i, conn));
            }
            Err(failure) => {
                if failure.refused {
                    refused.insert(credential);
                }
                let dc = failure.refused.then(|| dc_label(&target.dc_host, target.dc_addr));
                searched.push((i, DomainSearch { dc, error: Some(failure.words), ..search }));
            }
        }
    }

    // The domains asked: for DOMAIN\name, the one of that name, and those
    // whose name is unknown.
    let asked: Vec<usize> = sessions
        .iter()
        .map(|(i, _)| *i)
        .filter(|&i| match &query.kind {
            IdentityKind::DownLevel { domain, .. } => netbios[i].as_deref().is_none_or(|nb| {
                nb.eq_ignore_ascii_case(domain) || targets[i].domain.trim_end_matches('.').eq_ignore_ascii_case(domain)
            }),
            _ => true,
        })
        .collect();
    let mut completed = Vec::new();
    for (i, conn) in sessions.iter_mut().filter(|(i, _)| asked.contains(i)) {
        let target = &targets[*i];
        let (found, search) = search_domain(conn, target, &query.kind, &attrs).await;
        if search.error.is_none() {
            completed.push(*i);
        }
        lookup.found.extend(found);
        searched.push((*i, search));
    }

    if lookup.found.is_empty() {
        if let Some(prefix) = near_prefix(&query.kind) {
            // No domain of that NetBIOS name: the same name elsewhere is the likely answer.
            let near_in: Vec<usize> =
                if asked.is_empty() { sessions.iter().map(|(i, _)| *i).collect() } else { completed };
            for (i, conn) in sessions.iter_mut().filter(|(i, _)| near_in.contains(i)) {
                let room = MAX_NEAR.saturating_sub(lookup.near.len());
                if room == 0 {
                    break;
                }
                lookup.near.extend(near_matches(conn, &targets[*i], &prefix, room).await);
            }
        }
    }
    for (_, conn) in sessions {
        conn.close().await;
    }
    searched.sort_by_key(|(i, _)| *i);
    lookup.searched = searched.into_iter().map(|(_, s)| s).collect();
    lookup
}

/// Search one domain; the objects found and the search as a fact.
async fn search_domain(
    conn: &mut Conn,
    target: &UserSearchTarget,
    kind: &IdentityKind,
    attrs: &[&str],
) -> (Vec<AdUser>, DomainSearch) {
    let mut search = DomainSearch {
        connector: target.connector.clone(),
        domain: target.domain.clone(),
        dc: Some(dc_label(&target.dc_host, target.dc_addr)),
        ..DomainSearch::default()
    };
    let Some((base_dn, filter)) = user_filter(kind) else {
        search.error = Some("the identity gives no LDAP filter".into());
        return (Vec::new(), search);
    };
    search.filter = filter.clone();
    let (base, scope) = match base_dn {
        Some(dn) => (dn, Scope::Base),
        None => (target.partition_dn.clone(), Scope::Subtree),
    };
    let request =
        SearchRequest { base: &base, scope, filter: &filter, attrs, sd_flags: false, size_limit: Some(MAX_MATCHES) };
    match conn.search_answer(&request).await {
        Err(e) => {
            search.error = Some(format!("search {filter} under {base}: {e}"));
            (Vec::new(), search)
        }
        // The DN read in its own partition: no such object is "not there".
        Ok(answer) if answer.result.rc == NO_SUCH_OBJECT && scope == Scope::Base => (Vec::new(), search),
        Ok(answer) if answer.result.rc == SIZE_LIMIT_EXCEEDED => {
            search.error = Some(format!(
                "search {filter} under {base}: more than {MAX_MATCHES} objects match ({}); the identity names no \
                 one user",
                describe_result(&answer.result)
            ));
            (Vec::new(), search)
        }
        Ok(answer) if answer.result.rc != 0 => {
            search.error = Some(format!("search {filter} under {base}: {}", describe_result(&answer.result)));
            (Vec::new(), search)
        }
        Ok(answer) => {
            let found = answer.entries.iter().map(|e| decode_user(e, &target.connector, &target.domain)).collect();
            (found, search)
        }
    }
}

/// Users of one domain whose sAMAccountName or UPN starts with `prefix`, as
/// `domain: sAMAccountName (UPN)`. A failed near search only leaves the list
/// shorter: the domain's own search already completed.
async fn near_matches(conn: &mut Conn, target: &UserSearchTarget, prefix: &str, room: usize) -> Vec<String> {
    let filter = near_filter(prefix);
    let limit = i32::try_from(room.min(MAX_NEAR)).unwrap_or(1);
    let attrs = ["sAMAccountName", "userPrincipalName"];
    let request = SearchRequest {
        base: &target.partition_dn,
        scope: Scope::Subtree,
        filter: &filter,
        attrs: &attrs,
        sd_flags: false,
        size_limit: Some(limit),
    };
    let Ok(answer) = conn.search_answer(&request).await else {
        return Vec::new();
    };
    // Size limit exceeded still carries the first entries: that is the point.
    if answer.result.rc != 0 && answer.result.rc != SIZE_LIMIT_EXCEEDED {
        return Vec::new();
    }
    answer
        .entries
        .iter()
        .take(room)
        .filter_map(|e| {
            let sam = capped_text(e.first_bytes("sAMAccountName")?);
            Some(match e.first_bytes("userPrincipalName").map(capped_text) {
                Some(upn) if !upn.is_empty() => format!("{}: {sam} ({upn})", target.domain),
                _ => format!("{}: {sam}", target.domain),
            })
        })
        .collect()
}

/// The search for an identity: a base DN for a base-scope read (None: the
/// domain partition, subtree) and the filter, values escaped (RFC 4515;
/// binary values as `\xx`).
pub fn user_filter(kind: &IdentityKind) -> Option<(Option<String>, String)> {
    let within = |term: String| format!("(&(objectCategory=person)(objectClass=user){term})");
    Some(match kind {
        IdentityKind::Dn { dn } => (Some(dn.clone()), USER_FILTER.to_owned()),
        IdentityKind::DownLevel { name, .. } | IdentityKind::SamAccountName { name } => {
            (None, within(format!("(sAMAccountName={})", escape_value(name))))
        }
        // userPrincipalName only: Connect may sign users in by mail, but the
        // identity asked for is the UPN.
        IdentityKind::Upn { upn } => (None, within(format!("(userPrincipalName={})", escape_value(upn)))),
        IdentityKind::ObjectGuid { guid } => {
            (None, within(format!("(objectGUID={})", escape_bytes(&guid_to_ad_bytes(guid)))))
        }
        IdentityKind::Anchor { anchor } => {
            let bytes = anchor.bytes();
            let consistency = format!("(mS-DS-ConsistencyGuid={})", escape_bytes(bytes));
            // An anchor of 16 bytes may also be the objectGUID itself (the
            // anchor of builds before 1.1.524, and of users without a
            // consistency GUID); longer anchors are no GUID.
            let term = if bytes.len() == 16 {
                format!("(|{consistency}(objectGUID={}))", escape_bytes(bytes))
            } else {
                consistency
            };
            (None, within(term))
        }
    })
}

/// `(&person(|(sAMAccountName=ann*)(userPrincipalName=ann*)))`.
fn near_filter(prefix: &str) -> String {
    let p = escape_value(prefix);
    format!("(&(objectCategory=person)(objectClass=user)(|(sAMAccountName={p}*)(userPrincipalName={p}*)))")
}

/// The first characters of the identity's name, for near matches: the
/// sAMAccountName, the UPN's part before `@`, the value of a DN's first
/// RDN. None for a GUID or an anchor (no name to resemble).
fn near_prefix(kind: &IdentityKind) -> Option<String> {
    let name = match kind {
        IdentityKind::DownLevel { name, .. } | IdentityKind::SamAccountName { name } => name.as_str(),
        IdentityKind::Upn { upn } => upn.rsplit_once('@').map_or(upn.as_str(), |(user, _)| user),
        IdentityKind::Dn { dn } => {
            let first = split_rdns(dn).into_iter().next().unwrap_or_default();
            return first.split_once('=').map(|(_, v)| unescape_dn_value(v)).and_then(|v| prefix_of(&v));
        }
        IdentityKind::ObjectGuid { .. } | IdentityKind::Anchor { .. } => return None,
    };
    prefix_of(name)
}

fn prefix_of(name: &str) -> Option<String> {
    let prefix: String = name.trim().chars().take(NEAR_PREFIX_CHARS).collect();
    (!prefix.is_empty()).then_some(prefix)
}

/// `Lee\, Ann` -> `Lee, Ann` (RFC 4514 escapes of special characters;
/// hex pairs are kept as written, good enough for a prefix).
fn unescape_dn_value(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.trim().chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// For a DN: the longest partition DN among the targets that is a suffix of
/// it (a child domain's partition is also under its parent's name). None
/// for the other forms, or when no partition holds the DN.
fn holding_partition(targets: &[UserSearchTarget], kind: &IdentityKind) -> Option<String> {
    let IdentityKind::Dn { dn } = kind else { return None };
    let dn = normalize_dn(dn);
    targets
        .iter()
        .map(|t| normalize_dn(&t.partition_dn))
        .filter(|p| !p.is_empty() && (dn == *p || dn.ends_with(&format!(",{p}"))))
        .max_by_key(String::len)
}

/// Whether the target is asked at all, before any bind.
fn may_hold(target: &UserSearchTarget, query: &UserQuery, holding: Option<&str>) -> bool {
    match &query.kind {
        IdentityKind::Dn { .. } => holding.is_some_and(|p| normalize_dn(&target.partition_dn) == p),
        IdentityKind::SamAccountName { .. } => {
            query.connector.as_deref().is_none_or(|c| c.trim().eq_ignore_ascii_case(target.connector.trim()))
        }
        _ => true,
    }
}

/// A text value, at most [`MAX_VALUE_BYTES`] (cut at a character boundary).
fn capped_text(raw: &[u8]) -> String {
    let head = &raw[..raw.len().min(MAX_VALUE_BYTES)];
    let mut text = String::from_utf8_lossy(head).into_owned();
    if text.len() > MAX_VALUE_BYTES {
        let mut cut = MAX_VALUE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

fn first_text(entry: &Entry, attr: &str) -> Option<String> {
    entry.first_bytes(attr).map(capped_text)
}

fn texts(entry: &Entry, attr: &str, cap: usize) -> Vec<String> {
    entry.values(attr).iter().take(cap).map(|v| capped_text(v)).collect()
}

/// The user's object as [`AdUser`]. A value of the wrong shape (a GUID that
/// is not 16 bytes, a SID that does not parse) is left out.
pub(crate) fn decode_user(entry: &Entry, connector: &str, domain: &str) -> AdUser {
    let dn = first_text(entry, "distinguishedName")
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| capped_text(entry.dn.as_bytes()));
    AdUser {
        connector: connector.to_owned(),
        domain: domain.to_owned(),
        dn,
        object_guid: entry
            .first_bytes("objectGUID")
            .and_then(|b| <&[u8; 16]>::try_from(b).ok())
            .map(guid_from_ad_bytes),
        consistency_guid: entry
            .first_bytes("mS-DS-ConsistencyGuid")
            .filter(|b| !b.is_empty() && b.len() <= MAX_ANCHOR_BYTES)
            .map(|b| SourceAnchor::from_bytes(b.to_vec())),
        object_sid: entry.first_bytes("objectSid").and_then(sid_text),
        sam_account_name: first_text(entry, "sAMAccountName"),
        user_principal_name: first_text(entry, "userPrincipalName"),
        object_classes: texts(entry, "objectClass", MAX_CLASSES),
        user_account_control: entry.first_u32_bits("userAccountControl"),
        user_account_control_computed: entry.first_u32_bits("msDS-User-Account-Control-Computed"),
        pwd_last_set: entry.first_i64("pwdLastSet"),
        account_expires: entry.first_i64("accountExpires"),
        lockout_time: entry.first_i64("lockoutTime"),
        admin_description: first_text(entry, "adminDescription"),
        member_of: texts(entry, "memberOf", MAX_MEMBER_OF),
        when_changed: first_text(entry, "whenChanged"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phs_model::Guid;

    fn filter(kind: IdentityKind) -> String {
        user_filter(&kind).expect("a filter").1
    }

    #[test]
    fn names_are_escaped_in_filters() {
        let name = "a*b(c)d\\e\0f".to_owned();
        let f = filter(IdentityKind::SamAccountName { name: name.clone() });
        assert_eq!(f, "(&(objectCategory=person)(objectClass=user)(sAMAccountName=a\\2ab\\28c\\29d\\5ce\\00f))");
        assert!(ldap3::parse_filter(&f).is_ok(), "{f}");
        let f = filter(IdentityKind::DownLevel { domain: "LAB1".into(), name });
        assert!(f.contains("(sAMAccountName=a\\2ab\\28c\\29d\\5ce\\00f)"), "{f}");
        let f = filter(IdentityKind::Upn { upn: "x)(objectClass=*@lab1".into() });
        assert_eq!(f, "(&(objectCategory=person)(objectClass=user)(userPrincipalName=x\\29\\28objectClass=\\2a@lab1))");
        assert!(ldap3::parse_filter(&f).is_ok());
        // Near matches: the prefix escaped, then the wildcard.
        assert_eq!(
            near_filter("a*("),
            "(&(objectCategory=person)(objectClass=user)(|(sAMAccountName=a\\2a\\28*)(userPrincipalName=a\\2a\\28*)))"
        );
    }

    #[test]
    fn a_guid_is_searched_in_the_order_ad_stores_it() {
        let guid = Guid::parse("01020304-0506-0708-090a-0b0c0d0e0f10").expect("guid");
        let f = filter(IdentityKind::ObjectGuid { guid });
        assert!(f.contains("(objectGUID=\\04\\03\\02\\01\\06\\05\\08\\07\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10)"), "{f}");
        assert!(ldap3::parse_filter(&f).is_ok());
    }

    #[test]
    fn an_anchor_is_the_consistency_guid_or_the_object_guid() {
        let bytes: Vec<u8> = (1..=16).collect();
        let f = filter(IdentityKind::Anchor { anchor: SourceAnchor::from_bytes(bytes.clone()) });
        let hex = escape_bytes(&bytes);
        assert!(f.contains(&format!("(|(mS-DS-ConsistencyGuid={hex})(objectGUID={hex}))")), "{f}");
        // Not 16 bytes: no GUID, the consistency GUID alone.
        let long = SourceAnchor::from_bytes((0..20).collect());
        let f = filter(IdentityKind::Anchor { anchor: long });
        assert!(!f.contains("objectGUID") && f.contains("mS-DS-ConsistencyGuid=\\00\\01"), "{f}");
    }

    #[test]
    fn a_dn_is_read_in_the_partition_that_holds_it() {
        let dn = "CN=Lee\\, Ann,OU=Staff,DC=Child, DC=lab1,DC=example,DC=test";
        let (base, f) = user_filter(&IdentityKind::Dn { dn: dn.into() }).expect("filter");
        assert_eq!((base.as_deref(), f.as_str()), (Some(dn), USER_FILTER));
        let target = |connector: &str, partition: &str| UserSearchTarget {
            connector: connector.into(),
            domain: "d".into(),
            partition_dn: partition.into(),
            dc_host: "dc1".into(),
            dc_addr: IpAddr::from([127, 0, 0, 2]),
            bind_identity: "LAB1\\svc".into(),
            secret: Arc::new(Secret::new("x".into())),
        };
        let targets = [
            target("lab1", "DC=lab1,DC=example,DC=test"),
            target("lab1", "dc=child,dc=LAB1,dc=example,dc=test"),
            target("lab2", "DC=lab2,DC=example,DC=test"),
        ];
        let kind = IdentityKind::Dn { dn: dn.into() };
        let holding = holding_partition(&targets, &kind);
        assert_eq!(holding.as_deref(), Some("dc=child,dc=lab1,dc=example,dc=test"));
        let query = UserQuery { text: dn.into(), kind: kind.clone(), connector: None };
        let asked: Vec<bool> = targets.iter().map(|t| may_hold(t, &query, holding.as_deref())).collect();
        assert_eq!(asked, [false, true, false]);
        // "DC=xlab1,..." is not under "DC=lab1,...": suffixes are whole RDNs.
        let outside = IdentityKind::Dn { dn: "CN=x,DC=xlab1,DC=example,DC=test".into() };
        assert_eq!(holding_partition(&targets, &outside), None);
        // A bare name is asked only in the connector given.
        let bare = UserQuery {
            text: "ann".into(),
            kind: IdentityKind::SamAccountName { name: "ann".into() },
            connector: Some("LAB2".into()),
        };
        let asked: Vec<bool> = targets.iter().map(|t| may_hold(t, &bare, None)).collect();
        assert_eq!(asked, [false, false, true]);
    }

    #[test]
    fn near_matches_start_like_the_name() {
        let p = |kind: IdentityKind| near_prefix(&kind);
        assert_eq!(p(IdentityKind::Upn { upn: "annalee@lab1.example.test".into() }).as_deref(), Some("ann"));
        assert_eq!(p(IdentityKind::SamAccountName { name: "Zoë-Ann".into() }).as_deref(), Some("Zoë"));
        assert_eq!(p(IdentityKind::DownLevel { domain: "LAB1".into(), name: "al".into() }).as_deref(), Some("al"));
        assert_eq!(p(IdentityKind::Dn { dn: "CN=Lee\\, Ann,OU=Staff,DC=lab1".into() }).as_deref(), Some("Lee"));
        assert_eq!(p(IdentityKind::Dn { dn: "CN=\\,x,DC=lab1".into() }).as_deref(), Some(",x"));
        let guid = Guid::parse("01020304-0506-0708-090a-0b0c0d0e0f10").expect("guid");
        assert_eq!(p(IdentityKind::ObjectGuid { guid }), None);
    }

    #[test]
    fn values_from_the_dc_are_decoded_and_capped() {
        let guid = Guid::parse("01020304-0506-0708-090a-0b0c0d0e0f10").expect("guid");
        let sid: phs_secdesc::Sid = "S-1-5-21-1-2-3-1105".parse().expect("sid");
        let groups: Vec<Vec<u8>> = (0..1500).map(|i| format!("CN=g{i},DC=lab1").into_bytes()).collect();
        let long = "é".repeat(3000).into_bytes();
        let entry = Entry::from_values(
            "CN=ann,DC=lab1",
            &[
                ("objectGUID", vec![guid_to_ad_bytes(&guid).to_vec()]),
                ("mS-DS-ConsistencyGuid", vec![vec![7; 16]]),
                ("objectSid", vec![sid.to_bytes()]),
                ("objectClass", vec![b"top".to_vec(), b"user".to_vec(), b"inetOrgPerson".to_vec()]),
                ("userAccountControl", vec![b"514".to_vec()]),
                ("pwdLastSet", vec![b"0".to_vec()]),
                ("adminDescription", vec![long]),
                ("memberOf", groups),
            ],
        );
        let user = decode_user(&entry, "lab1", "lab1.example.test");
        assert_eq!(user.dn, "CN=ann,DC=lab1");
        assert_eq!(user.object_guid, Some(guid));
        assert_eq!(user.consistency_guid.as_ref().map(|a| a.bytes().to_vec()), Some(vec![7; 16]));
        assert_eq!(user.object_sid.as_deref(), Some("S-1-5-21-1-2-3-1105"));
        assert!(user.has_class("inetorgperson"));
        assert_eq!((user.user_account_control, user.pwd_last_set), (Some(514), Some(0)));
        assert_eq!(user.member_of.len(), MAX_MEMBER_OF);
        let desc = user.admin_description.expect("adminDescription");
        assert!(desc.len() <= MAX_VALUE_BYTES && desc.len() > MAX_VALUE_BYTES - 4 && desc.chars().all(|c| c == 'é'));

        // Wrong shapes are left out, never a panic.
        let bad = Entry::from_values(
            "CN=x",
            &[
                ("objectGUID", vec![vec![1, 2, 3]]),
                ("objectSid", vec![b"\x01\x05junk".to_vec()]),
                ("mS-DS-ConsistencyGuid", vec![vec![]]),
            ],
        );
        let user = decode_user(&bad, "lab1", "d");
        assert_eq!((user.object_guid, user.object_sid, user.consistency_guid), (None, None, None));
        assert_eq!(user.dn, "CN=x");
    }
}

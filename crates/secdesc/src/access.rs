//! Whether a caller holds a control-access (extended) right on an object,
//! decided from the DACL the way Windows' access check does for one
//! object-specific right.
//!
//! The rules, for the single right being asked about:
//!
//! * ACEs are walked in stored order and the first one that applies decides.
//!   Windows does not re-sort: canonical order (explicit deny, explicit
//!   allow, then inherited) is the writer's job, so a non-canonical DACL is
//!   evaluated as stored, like Windows does.
//! * Inherit-only (`IO`) ACEs are skipped: they exist for child objects.
//! * An ACE applies only if its SID is in the caller's token.
//! * Its mask must include control access (`CR`, 0x100) or `GENERIC_ALL`.
//!   Full control (0x000F01FF) includes `CR`.
//! * `A`/`D` ACEs cover every extended right. `OA`/`OD` ACEs cover the right
//!   when they have no object type or their object type is the right's GUID
//!   (or, with [`check_control_access_in_class`], the object's class GUID,
//!   the root of the object-type list Windows builds).
//!
//! Windows checks a control access right with an object type list of two
//! levels: the object's structural class (`schemaIDGUID`) at level 0 and the
//! right's `rightsGuid` at level 1 (MS-ADTS 5.1.3.3.4 read with MS-DTYP
//! 2.5.3.2 and its OBJECT_TYPE_LIST). By MS-DTYP 2.5.3.2 an object ACE whose
//! ObjectType matches a node grants (or denies) that node and everything
//! below it, so an `OA`/`OD` ACE for the class with `CR` grants (denies)
//! every control access right on the object. Only the object's own class is
//! at the root: a superclass GUID (`domain`, 19195a5a-...) is not in the list
//! and does nothing. The domain-root functions here
//! ([`check_replication_rights`], [`replication_principals`]) follow
//! Windows, with [`Guid::DOMAIN_DNS_CLASS`]. Samba 4.17's DRS check puts only
//! the right's GUID in its object tree, so a class ACE decides nothing there;
//! [`check_control_access`] (no class) is that reading.
//! * The inherited-object-type GUID plays no part in the check.
//! * No DACL (null DACL) grants everything; an empty DACL grants nothing.
//!
//! Callback (conditional) and other ACE types are not evaluated; those that
//! name a SID in the token and could have decided are reported in
//! [`AccessDecision::unevaluated`] so a report can say the answer is uncertain.
//! The owner's implicit `READ_CONTROL`/`WRITE_DAC` never include control
//! access, so ownership is irrelevant here.

use std::fmt;
use std::ops::Deref;

use crate::ace::{mask, Ace, AceType};
use crate::acl::Acl;
use crate::descriptor::SecurityDescriptor;
use crate::guid::Guid;
use crate::sid::Sid;

/// The SIDs an access check compares ACE trustees with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Token {
    sids: Vec<Sid>,
}

impl Token {
    /// The token the PHS connector account gets when it calls the DC over the
    /// network: its own SID, `groups` (pass the account's `tokenGroups`, which
    /// already holds the primary group and nested and BUILTIN memberships),
    /// and the SIDs Windows adds to every such logon:
    ///
    /// * Everyone (S-1-1-0) and Authenticated Users (S-1-5-11): every
    ///   authenticated caller;
    /// * NETWORK (S-1-5-2): the replication call is a network logon;
    /// * This Organization (S-1-5-15): the account is from the same forest
    ///   (the connector account always is, or from a fully trusted one).
    ///
    /// PRINCIPAL SELF (S-1-5-10) is *not* added: it stands for the account
    /// only when the object checked is the account's own object, never a
    /// domain root. Use [`Token::with`] if you check the account's own object.
    pub fn new(account: Sid, groups: impl IntoIterator<Item = Sid>) -> Token {
        Token::from_sids(std::iter::once(account).chain(groups).chain([
            Sid::EVERYONE,
            Sid::AUTHENTICATED_USERS,
            Sid::NETWORK,
            Sid::THIS_ORGANIZATION,
        ]))
    }

    /// Exactly these SIDs (duplicates dropped), for callers who build the
    /// token themselves.
    pub fn from_sids(sids: impl IntoIterator<Item = Sid>) -> Token {
        let mut token = Token::default();
        for sid in sids {
            token = token.with(sid);
        }
        token
    }

    /// This token plus `sid`.
    pub fn with(mut self, sid: Sid) -> Token {
        if !self.sids.contains(&sid) {
            self.sids.push(sid);
        }
        self
    }

    /// The SIDs, in insertion order.
    pub fn sids(&self) -> &[Sid] {
        &self.sids
    }
}

impl Deref for Token {
    type Target = [Sid];

    fn deref(&self) -> &[Sid] {
        &self.sids
    }
}

/// An ACE and its position in the DACL (0-based), for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AceRef {
    /// Position in the DACL.
    pub index: usize,
    /// The ACE itself.
    pub ace: Ace,
}

/// Why an access check came out the way it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The object has no DACL, so nothing is restricted.
    NullDacl,
    /// The DACL has no ACEs, so nothing is granted.
    EmptyDacl,
    /// An allow ACE applied first.
    Allowed,
    /// A deny ACE applied first.
    Denied,
    /// No ACE applied, and what is not granted is denied.
    NoMatchingAce,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::NullDacl => "the object has no DACL, which grants everyone every right",
            Reason::EmptyDacl => "the DACL is empty, which grants nothing",
            Reason::Allowed => "granted by an allow ACE",
            Reason::Denied => "denied by a deny ACE that comes before any allow ACE",
            Reason::NoMatchingAce => "no ACE grants it to any SID in the token",
        })
    }
}

/// The outcome of one control-access check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDecision {
    /// The right that was checked.
    pub right: Guid,
    /// Whether the caller holds it.
    pub granted: bool,
    /// The ACE that decided (empty for a null or empty DACL or when no ACE applied).
    pub deciding: Vec<AceRef>,
    /// Why.
    pub reason: Reason,
    /// ACEs of types not evaluated (callback, alarm, ...) naming a SID in the
    /// token and placed before the decision: they might have changed it.
    pub unevaluated: Vec<AceRef>,
}

impl fmt::Display for AccessDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.right.extended_right().map(|r| r.name.to_string()).unwrap_or_else(|| self.right.to_string());
        let verdict = if self.granted { "granted" } else { "not granted" };
        write!(f, "{name}: {verdict} ({})", self.reason)?;
        for r in &self.deciding {
            write!(f, "; ACE {} {}", r.index, r.ace.to_sddl(None))?;
        }
        Ok(())
    }
}

enum Effect {
    Allow,
    Deny,
}

/// What `ace` does to `right` for a caller whose token holds its SID.
fn effect(ace: &Ace, right: &Guid, class: Option<&Guid>) -> Option<Effect> {
    if ace.flags.is_inherit_only() || ace.mask & (mask::DS_CONTROL_ACCESS | mask::GENERIC_ALL) == 0 {
        return None;
    }
    let covers = || match &ace.object_type {
        None => true,
        Some(object_type) => object_type == right || Some(object_type) == class,
    };
    match ace.kind {
        AceType::AccessAllowed => Some(Effect::Allow),
        AceType::AccessDenied => Some(Effect::Deny),
        AceType::AccessAllowedObject if covers() => Some(Effect::Allow),
        AceType::AccessDeniedObject if covers() => Some(Effect::Deny),
        _ => None,
    }
}

fn evaluate(dacl: Option<&Acl>, token: &[Sid], right: &Guid, class: Option<&Guid>) -> AccessDecision {
    let decision = |granted, deciding, reason, unevaluated| AccessDecision {
        right: *right,
        granted,
        deciding,
        reason,
        unevaluated,
    };
    let Some(dacl) = dacl else {
        return decision(true, vec![], Reason::NullDacl, vec![]);
    };
    if dacl.aces.is_empty() {
        return decision(false, vec![], Reason::EmptyDacl, vec![]);
    }
    let mut unevaluated = Vec::new();
    for (index, ace) in dacl.aces.iter().enumerate() {
        if !token.contains(&ace.sid) {
            continue;
        }
        if matches!(ace.kind, AceType::Other(_)) && !ace.flags.is_inherit_only() {
            unevaluated.push(AceRef { index, ace: ace.clone() });
            continue;
        }
        match effect(ace, right, class) {
            Some(Effect::Allow) => {
                return decision(true, vec![AceRef { index, ace: ace.clone() }], Reason::Allowed, unevaluated)
            }
            Some(Effect::Deny) => {
                return decision(false, vec![AceRef { index, ace: ace.clone() }], Reason::Denied, unevaluated)
            }
            None => {}
        }
    }
    decision(false, vec![], Reason::NoMatchingAce, unevaluated)
}

/// Whether a caller with `token` holds the control-access right `right` on
/// an object whose DACL is `dacl` (`None` = null DACL; use
/// [`SecurityDescriptor::dacl_for_access`] to get it right).
pub fn check_control_access(dacl: Option<&Acl>, token: &[Sid], right: &Guid) -> AccessDecision {
    evaluate(dacl, token, right, None)
}

/// Like [`check_control_access`], but also lets object ACEs on the object's
/// class apply (e.g. [`Guid::DOMAIN_DNS_CLASS`] for a domain root): Windows
/// puts the class at the root of the object-type list, so an `OA` ACE for the
/// class with `CR` grants every extended right on such objects. Samba's DRS
/// check does not do this, so use it when judging a Windows DC.
pub fn check_control_access_in_class(
    dacl: Option<&Acl>,
    token: &[Sid],
    right: &Guid,
    object_class: &Guid,
) -> AccessDecision {
    evaluate(dacl, token, right, Some(object_class))
}

/// Every principal named in an allow ACE that grants `right`, with its first
/// such ACE, in DACL order, one entry per SID.
///
/// A principal is dropped when an earlier deny takes the right away from it;
/// this is judged with a token of the principal plus Everyone and
/// Authenticated Users, which every authenticated caller has (denies to
/// other groups depend on memberships this function does not know). A null
/// DACL is not an [`Acl`]: check [`SecurityDescriptor::has_null_dacl`] first.
pub fn principals_with_right(dacl: &Acl, right: &Guid) -> Vec<(Sid, AceRef)> {
    principals_with(dacl, right, None)
}

fn principals_with(dacl: &Acl, right: &Guid, class: Option<&Guid>) -> Vec<(Sid, AceRef)> {
    let mut out: Vec<(Sid, AceRef)> = Vec::new();
    for (index, ace) in dacl.aces.iter().enumerate() {
        if !matches!(effect(ace, right, class), Some(Effect::Allow)) || out.iter().any(|(sid, _)| *sid == ace.sid) {
            continue;
        }
        let token = Token::from_sids([ace.sid, Sid::EVERYONE, Sid::AUTHENTICATED_USERS]);
        if evaluate(Some(dacl), &token, right, class).granted {
            out.push((ace.sid, AceRef { index, ace: ace.clone() }));
        }
    }
    out
}

/// Every trustee of an ACE that can decide `right` on an object of class
/// `class` for a caller holding its SID (an allow or a deny with control
/// access that covers the right), in DACL order, once each. These are the
/// only SIDs whose presence in a token can change the answer, so knowing a
/// principal's membership in these groups is enough to judge it exactly.
pub fn deciding_trustees(dacl: &Acl, rights: &[Guid], class: Option<&Guid>) -> Vec<Sid> {
    let mut out: Vec<Sid> = Vec::new();
    for ace in &dacl.aces {
        let decides = rights.iter().any(|right| effect(ace, right, class).is_some())
            || (matches!(ace.kind, AceType::Other(_)) && !ace.flags.is_inherit_only());
        if decides && !out.contains(&ace.sid) {
            out.push(ace.sid);
        }
    }
    out
}

/// Both rights password hash synchronization needs on each domain root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationAccess {
    /// DS-Replication-Get-Changes.
    pub get_changes: AccessDecision,
    /// DS-Replication-Get-Changes-All.
    pub get_changes_all: AccessDecision,
}

impl ReplicationAccess {
    /// Whether both rights are held (what PHS needs; without them the
    /// connector logs event 611 with "Replication access was denied").
    pub fn granted(&self) -> bool {
        self.get_changes.granted && self.get_changes_all.granted
    }

    /// The rights that are not held.
    pub fn missing(&self) -> Vec<Guid> {
        [&self.get_changes, &self.get_changes_all].iter().filter(|d| !d.granted).map(|d| d.right).collect()
    }
}

/// Checks DS-Replication-Get-Changes and DS-Replication-Get-Changes-All for
/// `token` on a domain root, each with its own deciding ACE, the way a
/// Windows DC does: with the `domainDNS` class at the root of the object type
/// list (see the module documentation), so an object ACE for that class
/// grants or denies both.
pub fn check_replication_rights(dacl: Option<&Acl>, token: &[Sid]) -> ReplicationAccess {
    let class = Some(&Guid::DOMAIN_DNS_CLASS);
    ReplicationAccess {
        get_changes: evaluate(dacl, token, &Guid::DS_REPLICATION_GET_CHANGES, class),
        get_changes_all: evaluate(dacl, token, &Guid::DS_REPLICATION_GET_CHANGES_ALL, class),
    }
}

/// The deny ACEs on a domain root that would take `right` away from a
/// caller holding their SID and that come before `decision`'s deciding ACE
/// (all of them when nothing decided), whose SID is not in `token`. When
/// the token's groups are not known, these are the ACEs that might still
/// override a grant.
pub fn replication_denies_outside(dacl: &Acl, token: &[Sid], decision: &AccessDecision) -> Vec<AceRef> {
    let end = decision.deciding.first().map(|r| r.index).unwrap_or(dacl.aces.len());
    let class = Some(&Guid::DOMAIN_DNS_CLASS);
    dacl.aces
        .iter()
        .enumerate()
        .take(end)
        .filter(|(_, ace)| !token.contains(&ace.sid))
        .filter(|(_, ace)| matches!(effect(ace, &decision.right, class), Some(Effect::Deny)))
        .map(|(index, ace)| AceRef { index, ace: ace.clone() })
        .collect()
}

/// Whether the members of `sid` are worth reading from the directory of the
/// domain `domain`: domain and BUILTIN principals are, except the groups that
/// stand for every user or computer (Domain Users, Domain Computers,
/// BUILTIN\Users, which holds Authenticated Users), whose members are
/// everyone of that kind; well-known SIDs (Everyone, SYSTEM, Enterprise
/// Domain Controllers, ...) are not directory objects at all.
pub fn members_are_read(sid: &Sid, domain: Option<&Sid>) -> bool {
    if *sid == Sid::BUILTIN_USERS {
        return false;
    }
    if sid.authority() != 5 || !matches!(sid.sub_authorities().first(), Some(21) | Some(32)) {
        return false;
    }
    let broad = [crate::sid::rid::DOMAIN_USERS, crate::sid::rid::DOMAIN_COMPUTERS];
    !broad.iter().any(|r| domain.and_then(|d| d.domain_relative(*r)).as_ref() == Some(sid))
}

/// The two replication rights, for [`deciding_trustees`].
pub const REPLICATION_RIGHTS: [Guid; 2] = [Guid::DS_REPLICATION_GET_CHANGES, Guid::DS_REPLICATION_GET_CHANGES_ALL];

/// [`deciding_trustees`] of both replication rights on a domain root, with
/// Windows' object type list (the `domainDNS` class at its root).
pub fn replication_deciding_trustees(dacl: &Acl) -> Vec<Sid> {
    deciding_trustees(dacl, &REPLICATION_RIGHTS, Some(&Guid::DOMAIN_DNS_CLASS))
}

/// A principal holding both replication rights through its own ACEs: it
/// can pull every password hash from the domain (DCSync).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationHolder {
    /// The trustee.
    pub sid: Sid,
    /// Its ACE granting DS-Replication-Get-Changes.
    pub get_changes: AceRef,
    /// Its ACE granting DS-Replication-Get-Changes-All.
    pub get_changes_all: AceRef,
}

/// Everyone named in the DACL who holds both replication rights through
/// their own ACEs, in DACL order, judged on a domain root as Windows does
/// (class ACEs count). Same caveats as [`principals_with_right`]; rights
/// split over several SIDs need the members of those groups, which is the
/// caller's part (see [`check_replication_rights`] with a built token).
pub fn replication_principals(dacl: &Acl) -> Vec<ReplicationHolder> {
    let class = Some(&Guid::DOMAIN_DNS_CLASS);
    let all = principals_with(dacl, &Guid::DS_REPLICATION_GET_CHANGES_ALL, class);
    principals_with(dacl, &Guid::DS_REPLICATION_GET_CHANGES, class)
        .into_iter()
        .filter_map(|(sid, get_changes)| {
            let (_, get_changes_all) = all.iter().find(|(s, _)| *s == sid)?;
            Some(ReplicationHolder { sid, get_changes, get_changes_all: get_changes_all.clone() })
        })
        .collect()
}

impl SecurityDescriptor {
    /// [`check_control_access`] against this descriptor's effective DACL.
    pub fn check_control_access(&self, token: &[Sid], right: &Guid) -> AccessDecision {
        check_control_access(self.dacl_for_access(), token, right)
    }

    /// [`check_replication_rights`] against this descriptor's effective DACL.
    pub fn check_replication_rights(&self, token: &[Sid]) -> ReplicationAccess {
        check_replication_rights(self.dacl_for_access(), token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GC: Guid = Guid::DS_REPLICATION_GET_CHANGES;
    const GCA: Guid = Guid::DS_REPLICATION_GET_CHANGES_ALL;

    fn domain() -> Sid {
        "S-1-5-21-738609754-2819869699-4189121830".parse().expect("valid")
    }

    fn user(rid: u32) -> Sid {
        domain().domain_relative(rid).expect("room")
    }

    fn acl(sddl: &str) -> Acl {
        let sd = SecurityDescriptor::from_sddl(&format!("D:{sddl}"), Some(&domain())).expect("fixture parses");
        sd.dacl.expect("has a DACL")
    }

    #[test]
    fn token_adds_the_network_logon_sids() {
        let token = Token::new(user(1121), [user(513), user(513)]);
        assert_eq!(
            token.sids(),
            [user(1121), user(513), Sid::EVERYONE, Sid::AUTHENTICATED_USERS, Sid::NETWORK, Sid::THIS_ORGANIZATION]
        );
        assert!(!token.contains(&Sid::PRINCIPAL_SELF));
    }

    #[test]
    fn null_and_empty_dacls() {
        let token = Token::new(user(1121), []);
        let d = check_control_access(None, &token, &GC);
        assert!(d.granted);
        assert_eq!(d.reason, Reason::NullDacl);
        let d = check_control_access(Some(&Acl::new(vec![])), &token, &GC);
        assert!(!d.granted);
        assert_eq!(d.reason, Reason::EmptyDacl);
    }

    #[test]
    fn other_types_are_reported_not_evaluated() {
        let dacl = acl("(XD;;CR;;;WD)(OA;;CR;;;WD)");
        let d = check_control_access(Some(&dacl), &Token::new(user(1121), []), &GC);
        assert!(d.granted);
        assert_eq!(d.deciding[0].index, 1);
        assert_eq!(d.unevaluated.len(), 1);
        assert!(d.to_string().starts_with("DS-Replication-Get-Changes: granted"), "{d}");
    }

    #[test]
    fn class_guid_applies_only_when_asked() {
        let dacl = acl("(OA;;CR;19195a5b-6da0-11d0-afd3-00c04fd930c9;;S-1-5-21-738609754-2819869699-4189121830-1121)");
        let token = Token::new(user(1121), []);
        assert!(!check_control_access(Some(&dacl), &token, &GCA).granted);
        assert!(check_control_access_in_class(Some(&dacl), &token, &GCA, &Guid::DOMAIN_DNS_CLASS).granted);
    }

    #[test]
    fn mask_without_control_access_does_not_count() {
        let dacl = acl("(OA;;RPWP;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;WD)(D;;RPWPLC;;;WD)");
        let d = check_control_access(Some(&dacl), &Token::new(user(1121), []), &GC);
        assert_eq!((d.granted, d.reason), (false, Reason::NoMatchingAce));
    }

    #[test]
    fn principals_skip_denied_ones_and_inherit_only_aces() {
        let dacl = acl("(OD;;CR;;;S-1-5-21-738609754-2819869699-4189121830-1107)\
             (OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;BA)(OA;;CR;1131f6ad-9c07-11d1-f79f-00c04fc2dcd2;;BA)\
             (OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;S-1-5-21-738609754-2819869699-4189121830-1107)\
             (OA;CIIO;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;AU)\
             (A;;GA;;;SY)");
        let holders: Vec<Sid> = principals_with_right(&dacl, &GC).into_iter().map(|(sid, _)| sid).collect();
        assert_eq!(holders, [Sid::BUILTIN_ADMINISTRATORS, Sid::LOCAL_SYSTEM]);
        let both: Vec<Sid> = replication_principals(&dacl).into_iter().map(|h| h.sid).collect();
        assert_eq!(both, [Sid::BUILTIN_ADMINISTRATORS, Sid::LOCAL_SYSTEM]);
    }
}

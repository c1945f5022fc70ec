//! Object ACEs whose object type is the domain root's own class, judged the
//! way Windows judges them.
//!
//! Sources followed: MS-ADTS 5.1.3.3.4 (a control access right is checked on
//! the object with CR) with the object type list a Windows DC passes to the
//! MS-DTYP 2.5.3.2 access check: the object's structural class
//! (`schemaIDGUID` of `domainDNS`, 19195a5b-6da0-11d0-afd3-00c04fd930c9) at
//! level 0 and the right's `rightsGuid` at level 1. MS-DTYP 2.5.3.2 applies
//! an object ACE whose ObjectType matches a node to that node and all its
//! descendants, so a class ACE with CR grants (or denies) every control
//! access right of the object. Samba 4.17's DRS check builds its tree from
//! the right alone and ignores such an ACE; where they differ, these tests
//! follow Windows and show the Samba reading next to it.

use phs_secdesc::{
    check_control_access, check_replication_rights, replication_deciding_trustees, replication_principals, Acl, Guid,
    Reason, SecurityDescriptor, Sid, Token,
};

const DOMAIN: &str = "S-1-5-21-3623811015-3361044348-30300820";
const DOMAIN_DNS: &str = "19195a5b-6da0-11d0-afd3-00c04fd930c9";
/// The abstract `domain` class, a superclass of domainDNS: not in the list.
const DOMAIN_CLASS: &str = "19195a5a-6da0-11d0-afd3-00c04fd930c9";
const GC: &str = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2";
const GCA: &str = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2";

fn domain() -> Sid {
    DOMAIN.parse().expect("valid")
}

fn rid(rid: u32) -> Sid {
    domain().domain_relative(rid).expect("room")
}

fn dacl(aces: &str) -> Acl {
    let sddl = format!("D:AI{aces}(A;;RPLCLORC;;;AU)(A;;0xf01ff;;;DA)");
    SecurityDescriptor::from_sddl(&sddl, Some(&domain())).expect("fixture parses").dacl.expect("a DACL")
}

fn account() -> Token {
    Token::new(rid(1601), [rid(513), rid(1602)])
}

fn both(dacl: &Acl) -> (bool, bool) {
    let access = check_replication_rights(Some(dacl), &account());
    (access.get_changes.granted, access.get_changes_all.granted)
}

#[test]
fn an_allow_on_the_domain_dns_class_grants_both_rights() {
    for trustee in [format!("{DOMAIN}-1601"), format!("{DOMAIN}-1602")] {
        let dacl = dacl(&format!("(OA;;CR;{DOMAIN_DNS};;{trustee})"));
        assert_eq!(both(&dacl), (true, true), "class ACE for {trustee}");
        let access = check_replication_rights(Some(&dacl), &account());
        assert_eq!(access.get_changes_all.deciding[0].index, 0);
        // Samba's DRS reading: the class GUID is not the right's GUID.
        let samba = check_control_access(Some(&dacl), &account(), &Guid::DS_REPLICATION_GET_CHANGES_ALL);
        assert!(!samba.granted, "Samba's tree holds only the right");
    }
}

#[test]
fn a_deny_on_the_domain_dns_class_denies_both_even_after_a_direct_allow() {
    let dacl =
        dacl(&format!("(OD;;CR;{DOMAIN_DNS};;{DOMAIN}-1602)(OA;;CR;{GC};;{DOMAIN}-1601)(OA;;CR;{GCA};;{DOMAIN}-1601)"));
    let access = check_replication_rights(Some(&dacl), &account());
    assert_eq!((access.get_changes.granted, access.get_changes_all.granted), (false, false));
    assert_eq!(access.get_changes.reason, Reason::Denied);
    // Order still rules: the same deny after the allows changes nothing.
    let dacl = dacl_after(&format!("(OD;;CR;{DOMAIN_DNS};;{DOMAIN}-1602)"));
    assert_eq!(both(&dacl), (true, true));
}

fn dacl_after(deny: &str) -> Acl {
    dacl(&format!("(OA;;CR;{GC};;{DOMAIN}-1601)(OA;;CR;{GCA};;{DOMAIN}-1601){deny}"))
}

#[test]
fn a_superclass_or_another_class_does_not_count() {
    for class in [DOMAIN_CLASS, "bf967aba-0de6-11d0-a285-00aa003049e2" /* user */] {
        let dacl = dacl(&format!("(OA;;CR;{class};;{DOMAIN}-1601)"));
        assert_eq!(both(&dacl), (false, false), "{class}");
    }
}

#[test]
fn a_class_ace_needs_control_access_and_must_not_be_inherit_only() {
    for ace in [
        format!("(OA;;RPWP;{DOMAIN_DNS};;{DOMAIN}-1601)"),
        format!("(OA;CIIO;CR;{DOMAIN_DNS};;{DOMAIN}-1601)"),
        format!("(OA;;CR;{DOMAIN_DNS};;{DOMAIN}-1700)"),
    ] {
        assert_eq!(both(&dacl(&ace)), (false, false), "{ace}");
    }
    // Inherited (ID) but effective on the object, and an inherited object
    // type, which plays no part in the check: both apply.
    for ace in [
        format!("(OA;ID;CR;{DOMAIN_DNS};;{DOMAIN}-1601)"),
        format!("(OA;;CR;{DOMAIN_DNS};bf967aba-0de6-11d0-a285-00aa003049e2;{DOMAIN}-1601)"),
    ] {
        assert_eq!(both(&dacl(&ace)), (true, true), "{ace}");
    }
}

#[test]
fn a_class_ace_holder_is_on_the_exposure_list_and_decides() {
    let dacl = dacl(&format!("(OA;;CR;{DOMAIN_DNS};;{DOMAIN}-1700)(OA;;CR;{GC};;{DOMAIN}-1701)"));
    let holders: Vec<Sid> = replication_principals(&dacl).into_iter().map(|h| h.sid).collect();
    assert!(holders.contains(&rid(1700)), "{holders:?}");
    assert!(!holders.contains(&rid(1701)), "Get-Changes alone");
    let deciding = replication_deciding_trustees(&dacl);
    assert!(deciding.contains(&rid(1700)) && deciding.contains(&rid(1701)) && deciding.contains(&rid(512)));
    assert!(!deciding.contains(&Sid::AUTHENTICATED_USERS), "read-only ACE decides nothing: {deciding:?}");
}

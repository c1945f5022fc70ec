//! Control-access evaluation scenarios for the PHS connector account.

use phs_secdesc::{check_control_access, check_replication_rights, Acl, Guid, Reason, SecurityDescriptor, Sid, Token};

const GC: &str = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2";
const GCA: &str = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2";
const DOMAIN: &str = "S-1-5-21-738609754-2819869699-4189121830";
/// The connector account (MSOL_...).
const ACCOUNT: &str = "S-1-5-21-738609754-2819869699-4189121830-1121";
/// A group the account is in.
const GROUP: &str = "S-1-5-21-738609754-2819869699-4189121830-1130";

fn dacl(aces: &str) -> Acl {
    let domain: Sid = DOMAIN.parse().expect("valid");
    let sddl = format!(
        "D:AI{}",
        aces.replace("ACCOUNT", ACCOUNT).replace("GROUP", GROUP).replace("GCA", GCA).replace("GC", GC)
    );
    SecurityDescriptor::from_sddl(&sddl, Some(&domain)).expect("fixture parses").dacl.expect("has a DACL")
}

fn account_token() -> Token {
    Token::new(ACCOUNT.parse().expect("valid"), [GROUP.parse().expect("valid")])
}

/// (Get-Changes granted, Get-Changes-All granted) and the deciding ACE indexes.
fn evaluate(aces: &str) -> ((bool, bool), (Option<usize>, Option<usize>)) {
    let dacl = dacl(aces);
    let access = check_replication_rights(Some(&dacl), &account_token());
    (
        (access.get_changes.granted, access.get_changes_all.granted),
        (
            access.get_changes.deciding.first().map(|r| r.index),
            access.get_changes_all.deciding.first().map(|r| r.index),
        ),
    )
}

#[test]
fn granted_directly() {
    assert_eq!(
        evaluate("(A;;RPLCLORC;;;AU)(OA;;CR;GC;;ACCOUNT)(OA;;CR;GCA;;ACCOUNT)"),
        ((true, true), (Some(1), Some(2)))
    );
}

#[test]
fn granted_through_a_group() {
    assert_eq!(evaluate("(OA;;CR;GC;;GROUP)(OA;;CR;GCA;;GROUP)"), ((true, true), (Some(0), Some(1))));
    // Not in the token without the group.
    let dacl = dacl("(OA;;CR;GC;;GROUP)(OA;;CR;GCA;;GROUP)");
    let alone = Token::new(ACCOUNT.parse().expect("valid"), []);
    assert!(!check_replication_rights(Some(&dacl), &alone).granted());
}

#[test]
fn get_changes_only_is_not_enough() {
    let dacl = dacl("(OA;;CR;GC;;ACCOUNT)(OA;;CR;1131f6ae-9c07-11d1-f79f-00c04fc2dcd2;;ACCOUNT)");
    let access = check_replication_rights(Some(&dacl), &account_token());
    assert!(access.get_changes.granted);
    assert!(!access.get_changes_all.granted);
    assert_eq!(access.get_changes_all.reason, Reason::NoMatchingAce);
    assert!(!access.granted());
    assert_eq!(access.missing(), [Guid::DS_REPLICATION_GET_CHANGES_ALL]);
}

#[test]
fn no_rights() {
    assert_eq!(evaluate("(A;;RPLCLORC;;;AU)(OA;;CR;GC;;BA)(OA;;CR;GCA;;BA)"), ((false, false), (None, None)));
}

#[test]
fn explicit_deny_on_a_group_overrides_a_later_allow() {
    let aces = "(OD;;CR;GCA;;GROUP)(OA;;CR;GC;;ACCOUNT)(OA;;CR;GCA;;ACCOUNT)";
    assert_eq!(evaluate(aces), ((true, false), (Some(1), Some(0))));
    let access = check_replication_rights(Some(&dacl(aces)), &account_token());
    assert_eq!(access.get_changes_all.reason, Reason::Denied);
    // A plain deny of CR covers both rights.
    assert_eq!(
        evaluate("(D;;CR;;;GROUP)(OA;;CR;GC;;ACCOUNT)(OA;;CR;GCA;;ACCOUNT)"),
        ((false, false), (Some(0), Some(0)))
    );
    // A deny for another right is irrelevant.
    assert_eq!(
        evaluate("(OD;;CR;1131f6ab-9c07-11d1-f79f-00c04fc2dcd2;;GROUP)(OA;;CR;GC;;ACCOUNT)(OA;;CR;GCA;;ACCOUNT)"),
        ((true, true), (Some(1), Some(2)))
    );
    // A deny without CR or GA is irrelevant too.
    assert_eq!(
        evaluate("(D;;WDWO;;;GROUP)(OA;;CR;GC;;ACCOUNT)(OA;;CR;GCA;;ACCOUNT)"),
        ((true, true), (Some(1), Some(2)))
    );
}

#[test]
fn inherit_only_allow_does_not_apply_to_the_object() {
    assert_eq!(evaluate("(OA;CIIO;CR;GC;;ACCOUNT)(OA;CIIO;CR;GCA;;ACCOUNT)"), ((false, false), (None, None)));
    // An inherit-only deny does not block either.
    assert_eq!(
        evaluate("(OD;CIIO;CR;;;ACCOUNT)(OA;;CR;GC;;ACCOUNT)(OA;;CR;GCA;;ACCOUNT)"),
        ((true, true), (Some(1), Some(2)))
    );
}

#[test]
fn inherited_allow_applies() {
    assert_eq!(evaluate("(OA;CIID;CR;GC;;ACCOUNT)(OA;ID;CR;GCA;;ACCOUNT)"), ((true, true), (Some(0), Some(1))));
}

#[test]
fn full_control_grants_every_extended_right() {
    assert_eq!(evaluate("(A;;GA;;;ACCOUNT)"), ((true, true), (Some(0), Some(0))));
    assert_eq!(evaluate("(A;;0x000f01ff;;;ACCOUNT)"), ((true, true), (Some(0), Some(0))));
    assert_eq!(evaluate("(A;CI;RPWPCRCCDCLCLORCWOWDSDDTSW;;;GROUP)"), ((true, true), (Some(0), Some(0))));
}

#[test]
fn object_ace_without_object_type_grants_all_extended_rights() {
    assert_eq!(evaluate("(OA;;CR;;;ACCOUNT)"), ((true, true), (Some(0), Some(0))));
    // With only an inherited object type it still has no object type.
    assert_eq!(evaluate("(OA;;CR;;bf967aba-0de6-11d0-a285-00aa003049e2;ACCOUNT)"), ((true, true), (Some(0), Some(0))));
}

#[test]
fn deny_after_allow_does_not_override() {
    assert_eq!(
        evaluate("(OA;;CR;GC;;ACCOUNT)(OA;;CR;GCA;;ACCOUNT)(D;;CR;;;ACCOUNT)(OD;;CR;GCA;;GROUP)"),
        ((true, true), (Some(0), Some(1)))
    );
}

#[test]
fn everyone_and_authenticated_users_apply() {
    assert_eq!(evaluate("(OA;;CR;GC;;WD)(OA;;CR;GCA;;AU)"), ((true, true), (Some(0), Some(1))));
    assert_eq!(
        evaluate("(OD;;CR;GCA;;WD)(OA;;CR;GC;;ACCOUNT)(OA;;CR;GCA;;ACCOUNT)"),
        ((true, false), (Some(1), Some(0)))
    );
    // NETWORK is in a network-logon token too; SELF is not (this is not the account's own object).
    assert_eq!(evaluate("(OA;;CR;GC;;NU)(OA;;CR;GCA;;PS)"), ((true, false), (Some(0), None)));
}

#[test]
fn null_dacl_grants_and_empty_dacl_denies() {
    let mut sd = SecurityDescriptor::from_sddl("O:BAD:NO_ACCESS_CONTROL", None).expect("parses");
    let token = account_token();
    let right = Guid::DS_REPLICATION_GET_CHANGES_ALL;
    let d = sd.check_control_access(&token, &right);
    assert_eq!((d.granted, d.reason), (true, Reason::NullDacl));
    sd.dacl = Some(Acl::new(vec![]));
    let d = sd.check_control_access(&token, &right);
    assert_eq!((d.granted, d.reason), (false, Reason::EmptyDacl));
    assert!(!check_control_access(Some(&Acl::default()), &token, &right).granted);
}

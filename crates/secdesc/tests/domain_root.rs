//! The realistic domain-root descriptor (see fixtures/README.md): SDDL and
//! binary round trips, agreement with Samba's own bytes and text, and the
//! replication-rights questions phs-doctor asks of it.

use phs_secdesc::{
    check_replication_rights, principals_with_right, replication_principals, Guid, SecurityDescriptor, Sid, Token,
};

const SDDL: &str = include_str!("fixtures/insecurebank-domain-root.sddl");
const SDDL_NO_DOMAIN: &str = include_str!("fixtures/insecurebank-domain-root.samba-nodomain.sddl");
const SAMBA_HEX: &str = include_str!("fixtures/insecurebank-domain-root.samba.hex");

fn domain() -> Sid {
    "S-1-5-21-738609754-2819869699-4189121830".parse().expect("valid")
}

fn rid(rid: u32) -> Sid {
    domain().domain_relative(rid).expect("room")
}

fn samba_bytes() -> Vec<u8> {
    let hex: String = SAMBA_HEX.split_whitespace().collect();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("fixture is hex")).collect()
}

#[test]
fn sddl_to_binary_to_sddl_is_identity() {
    let d = domain();
    let sd = SecurityDescriptor::from_sddl(SDDL.trim(), Some(&d)).expect("fixture parses");
    assert_eq!(sd.dacl.as_ref().map(|a| a.aces.len()), Some(48));
    let bytes = sd.to_bytes().expect("encodes");
    let back = SecurityDescriptor::parse(&bytes).expect("our bytes parse");
    assert_eq!(back, sd);
    assert_eq!(back.to_sddl(Some(&d)), SDDL.trim());
    assert_eq!(back.to_sddl(None), SDDL_NO_DOMAIN.trim());
    assert!(back.is_sddl_expressible());
}

#[test]
fn samba_bytes_parse_to_the_same_descriptor_and_text() {
    let d = domain();
    let samba = SecurityDescriptor::parse(&samba_bytes()).expect("Samba's bytes parse");
    assert_eq!(samba.to_sddl(Some(&d)), SDDL.trim());
    assert_eq!(samba.to_sddl(None), SDDL_NO_DOMAIN.trim());
    // Same content as what our SDDL parser builds; only the ACL revision may
    // differ (Samba's SDDL parser always says 4, Windows and we pick 2 for a
    // DACL without object ACEs), and here both ACLs hold object ACEs.
    let ours = SecurityDescriptor::from_sddl(SDDL.trim(), Some(&d)).expect("parses");
    assert_eq!(samba, ours);
    // Samba lays parts out owner, group, SACL, DACL; we write SACL, DACL,
    // owner, group like Windows. Same length either way.
    assert_eq!(ours.to_bytes().map(|b| b.len()), Ok(samba_bytes().len()));
}

#[test]
fn the_attacker_account_holds_both_rights() {
    let sd = SecurityDescriptor::parse(&samba_bytes()).expect("parses");
    let access = sd.check_replication_rights(&Token::new(rid(1121), [rid(513)]));
    assert!(access.granted());
    assert_eq!(
        access.get_changes.deciding[0].ace.to_sddl(None),
        format!("(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;{})", rid(1121))
    );
    assert_eq!(access.get_changes_all.deciding[0].ace.object_type, Some(Guid::DS_REPLICATION_GET_CHANGES_ALL));
}

#[test]
fn an_ordinary_user_holds_neither() {
    let sd = SecurityDescriptor::parse(&samba_bytes()).expect("parses");
    let access = sd.check_replication_rights(&Token::new(rid(1107), [rid(513)]));
    assert!(!access.granted());
    assert_eq!(access.missing(), [Guid::DS_REPLICATION_GET_CHANGES, Guid::DS_REPLICATION_GET_CHANGES_ALL]);
}

#[test]
fn enterprise_read_only_dcs_get_changes_only() {
    let sd = SecurityDescriptor::parse(&samba_bytes()).expect("parses");
    let token = Token::from_sids([rid(1001), rid(498)]);
    let access = check_replication_rights(sd.dacl_for_access(), &token);
    assert!(access.get_changes.granted);
    assert!(!access.get_changes_all.granted);
    assert!(!access.granted());
}

#[test]
fn dcsync_exposure_lists_every_holder_of_both_rights() {
    let sd = SecurityDescriptor::parse(&samba_bytes()).expect("parses");
    let dacl = sd.dacl_for_access().expect("has a DACL");
    let holders: Vec<String> = replication_principals(dacl).iter().map(|h| h.sid.to_sddl(Some(&domain()))).collect();
    // DD holds Get-Changes-All explicitly and Get-Changes only through ED,
    // which the per-principal listing does not assume; SYSTEM's full control
    // and EA's CI full control are plain A ACEs covering every right.
    assert_eq!(holders, ["S-1-5-21-738609754-2819869699-4189121830-1121", "BA", "DA", "EA", "SY"]);
    let get_changes: Vec<String> = principals_with_right(dacl, &Guid::DS_REPLICATION_GET_CHANGES)
        .iter()
        .map(|(sid, _)| sid.to_sddl(Some(&domain())))
        .collect();
    assert_eq!(get_changes, ["RO", "S-1-5-21-738609754-2819869699-4189121830-1121", "BA", "ED", "DA", "EA", "SY"]);
}

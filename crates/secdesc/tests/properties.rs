//! Property tests: binary and SDDL round trips, and no panics on any input.

use phs_secdesc::{control, Ace, AceFlags, AceType, Acl, Guid, SecurityDescriptor, Sid};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn domain() -> Sid {
    "S-1-5-21-738609754-2819869699-4189121830".parse().expect("valid")
}

/// Random SIDs, with well-known and domain-relative ones over-represented so
/// the alias paths get exercised.
fn arb_sid() -> impl Strategy<Value = Sid> {
    let random = (any::<u8>(), 0u64..(1 << 48), vec(any::<u32>(), 0..=15))
        .prop_map(|(revision, authority, subs)| Sid::new(revision, authority, &subs).expect("in range"));
    let nt = vec(0u32..600, 0..=3).prop_map(|subs| Sid::new(1, 5, &subs).expect("in range"));
    let in_domain = prop_oneof![Just(498u32), 500u32..530, Just(553u32), any::<u32>()]
        .prop_map(|rid| domain().domain_relative(rid).expect("room"));
    let well_known = prop_oneof![
        Just(Sid::EVERYONE),
        Just(Sid::BUILTIN_ADMINISTRATORS),
        Just(Sid::LOCAL_SYSTEM),
        Just(Sid::AUTHENTICATED_USERS),
        Just(Sid::ENTERPRISE_DOMAIN_CONTROLLERS),
        Just(Sid::PRINCIPAL_SELF),
        Just(Sid::new(1, 5, &[84, 0, 0, 0, 0, 0]).expect("UD")),
        Just(Sid::new(1, 16, &[8448]).expect("MP")),
    ];
    prop_oneof![random, nt, in_domain, well_known]
}

fn arb_guid() -> impl Strategy<Value = Guid> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(Guid::from_wire_bytes),
        Just(Guid::DS_REPLICATION_GET_CHANGES),
        Just(Guid::DS_REPLICATION_GET_CHANGES_ALL),
    ]
}

fn arb_mask() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), any::<u32>().prop_map(|m| m & 0xF00F_01FF), Just(0x100u32), Just(0x000F_01FF)]
}

const NAMED: [AceType; 6] = [
    AceType::AccessAllowed,
    AceType::AccessDenied,
    AceType::SystemAudit,
    AceType::AccessAllowedObject,
    AceType::AccessDeniedObject,
    AceType::SystemAuditObject,
];

/// Type bytes kept as `AceType::Other`.
fn arb_other_type() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("named types are not Other", |t| !matches!(t, 0 | 1 | 2 | 5 | 6 | 7))
}

/// A body with exactly the standard layout for `t` (what SDDL can express).
fn standard_body(t: u8, mask: u32, object_type: Option<Guid>, inherited: Option<Guid>, sid: &Sid) -> Vec<u8> {
    let mut body = mask.to_le_bytes().to_vec();
    if AceType::Other(t).has_object_layout() {
        let flags = u32::from(object_type.is_some()) | (u32::from(inherited.is_some()) << 1);
        body.extend_from_slice(&flags.to_le_bytes());
        for g in [object_type, inherited].into_iter().flatten() {
            body.extend_from_slice(&g.to_wire_bytes());
        }
    }
    sid.write_to(&mut body);
    body
}

/// Any ACE: named types with any flags, or other types with any body.
fn arb_ace() -> impl Strategy<Value = Ace> {
    let named = (0..NAMED.len(), any::<u8>(), arb_mask(), option::of(arb_guid()), option::of(arb_guid()), arb_sid())
        .prop_map(|(k, flags, mask, object_type, inherited, sid)| {
            let kind = NAMED[k];
            let (object_type, inherited) =
                if kind.has_object_layout() { (object_type, inherited) } else { (None, None) };
            Ace {
                kind,
                flags: AceFlags(flags),
                mask,
                object_type,
                inherited_object_type: inherited,
                sid,
                raw_body: None,
            }
        });
    let other = (arb_other_type(), any::<u8>(), vec(any::<u8>(), 0..48))
        .prop_map(|(t, flags, body)| Ace::other(t, AceFlags(flags), body));
    prop_oneof![4 => named, 1 => other]
}

/// ACEs that SDDL can express: known flag bits, standard bodies.
fn arb_expressible_ace() -> impl Strategy<Value = Ace> {
    (
        prop_oneof![4 => (0..NAMED.len()).prop_map(|k| NAMED[k]), 1 => arb_other_type().prop_map(AceType::Other)],
        any::<u8>(),
        arb_mask(),
        option::of(arb_guid()),
        option::of(arb_guid()),
        arb_sid(),
    )
        .prop_map(|(kind, flags, mask, object_type, inherited, sid)| {
            let flags = AceFlags(flags & AceFlags::KNOWN.0);
            let (object_type, inherited) =
                if kind.has_object_layout() { (object_type, inherited) } else { (None, None) };
            match kind {
                AceType::Other(t) => Ace::other(t, flags, standard_body(t, mask, object_type, inherited, &sid)),
                _ => Ace { kind, flags, mask, object_type, inherited_object_type: inherited, sid, raw_body: None },
            }
        })
}

fn arb_acl() -> impl Strategy<Value = Acl> {
    (any::<u8>(), vec(arb_ace(), 0..8)).prop_map(|(revision, aces)| Acl { revision, aces })
}

fn arb_sd() -> impl Strategy<Value = SecurityDescriptor> {
    (
        any::<u8>(),
        any::<u16>(),
        option::of(arb_sid()),
        option::of(arb_sid()),
        option::of(arb_acl()),
        option::of(arb_acl()),
    )
        .prop_map(|(revision, control, owner, group, sacl, dacl)| SecurityDescriptor {
            revision,
            control,
            owner,
            group,
            sacl,
            dacl,
        })
}

fn arb_expressible_acl() -> impl Strategy<Value = Acl> {
    vec(arb_expressible_ace(), 0..8).prop_map(Acl::new)
}

fn arb_expressible_sd() -> impl Strategy<Value = SecurityDescriptor> {
    let acls = (option::of(arb_expressible_acl()), option::of(arb_expressible_acl()));
    (option::of(arb_sid()), option::of(arb_sid()), acls, 0u16..8, 0u16..8).prop_map(
        |(owner, group, (dacl, sacl), dacl_flags, sacl_flags)| {
            let mut sd = SecurityDescriptor::new(owner, group, dacl, sacl);
            let acl_bits = |f: u16| {
                [control::DACL_PROTECTED, control::DACL_AUTO_INHERITED, control::DACL_AUTO_INHERIT_REQ]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| f & (1 << i) != 0)
                    .fold(0, |acc, (_, bit)| acc | bit)
            };
            if sd.dacl.is_some() {
                sd.control |= acl_bits(dacl_flags);
            }
            if sd.sacl.is_some() {
                sd.control |= acl_bits(sacl_flags) << 1;
            }
            sd
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn binary_round_trip(sd in arb_sd()) {
        let bytes = sd.to_bytes().expect("small enough to encode");
        prop_assert_eq!(SecurityDescriptor::parse(&bytes), Ok(sd));
    }

    #[test]
    fn sddl_round_trip_where_expressible(sd in arb_expressible_sd()) {
        prop_assert!(sd.is_sddl_expressible());
        for domain in [None, Some(domain())] {
            let text = sd.to_sddl(domain.as_ref());
            prop_assert_eq!(SecurityDescriptor::from_sddl(&text, domain.as_ref()), Ok(sd.clone()), "{}", text);
        }
    }

    #[test]
    fn sddl_output_always_parses_and_is_stable(sd in arb_sd()) {
        let d = domain();
        let text = sd.to_sddl(Some(&d));
        let back = SecurityDescriptor::from_sddl(&text, Some(&d));
        prop_assert!(back.is_ok(), "{} does not parse: {:?}", text, back);
        let back = back.expect("checked");
        prop_assert_eq!(back.to_sddl(Some(&d)), text);
        prop_assert!(back.is_sddl_expressible());
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        if let Ok(sd) = SecurityDescriptor::parse(&bytes) {
            let _ = sd.to_sddl(None);
        }
        let _ = Acl::parse(&bytes);
        let _ = Ace::parse(&bytes);
        let _ = Sid::parse(&bytes);
    }

    #[test]
    fn corrupted_descriptors_never_panic(sd in arb_sd(), edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = sd.to_bytes().expect("encodes");
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let len = cut.index(bytes.len() + 1);
        if let Ok(sd) = SecurityDescriptor::parse(&bytes[..len]) {
            let _ = SecurityDescriptor::from_sddl(&sd.to_sddl(None), None);
        }
    }

    #[test]
    fn random_sddl_never_panics(text in "[OGDS:();,A-Z0-9a-f\\-xé_{} ]{0,120}") {
        let _ = SecurityDescriptor::from_sddl(&text, Some(&domain()));
        let _ = SecurityDescriptor::from_sddl(&text, None);
    }
}

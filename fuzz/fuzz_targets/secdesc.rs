//! Feeds arbitrary bytes to the security-descriptor parser. Whatever parses
//! must survive every other operation: re-encoding (giving the same value
//! back), SDDL rendering (always re-parseable, stable text, and an exact
//! round trip when `is_sddl_expressible`), and the access checks. The same
//! bytes, when UTF-8, also go through the SDDL parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phs_secdesc::{check_replication_rights, principals_with_right, Guid, SecurityDescriptor, Sid, Token};

fuzz_target!(|data: &[u8]| {
    let domain = Sid::new(1, 5, &[21, 738_609_754, 2_819_869_699, 4_189_121_830]).expect("valid domain SID");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SecurityDescriptor::from_sddl(text, Some(&domain));
    }
    let Ok(sd) = SecurityDescriptor::parse(data) else {
        return;
    };

    // Parsed values re-encode to bytes that parse to the same value (the
    // bytes themselves may differ: padding and slack are not kept).
    if let Ok(bytes) = sd.to_bytes() {
        assert_eq!(SecurityDescriptor::parse(&bytes).as_ref(), Ok(&sd));
    }

    for dom in [None, Some(&domain)] {
        let text = sd.to_sddl(dom);
        let back = match SecurityDescriptor::from_sddl(&text, dom) {
            Ok(back) => back,
            Err(e) => panic!("our SDDL does not parse back: {e}\n{text}"),
        };
        assert_eq!(back.to_sddl(dom), text);
        if sd.is_sddl_expressible() {
            assert_eq!(back, sd, "{text}");
        }
    }

    let token = Token::new(domain.domain_relative(1121).expect("room"), []);
    let _ = check_replication_rights(sd.dacl_for_access(), &token);
    if let Some(dacl) = &sd.dacl {
        let _ = principals_with_right(dacl, &Guid::DS_REPLICATION_GET_CHANGES_ALL);
    }
});

//! Feeds arbitrary bytes to the RPC probe as if a DC's endpoint mapper and
//! DRSUAPI port had sent them: the BIND answers (BIND_ACK, BIND_NAK,
//! FAULT), the ept_map RESPONSE fragments, the NDR stub with its towers.
//! Whatever the bytes, every step ends in a value or an error text, never a
//! panic; an error text is one line (it goes into a report).
#![no_main]

use libfuzzer_sys::fuzz_target;
use phs_sources::ad::epm::replay_server_bytes;

fuzz_target!(|data: &[u8]| {
    for step in replay_server_bytes(data) {
        let text = match step {
            Ok(t) | Err(t) => t,
        };
        assert!(!text.contains('\n'), "a multi-line step text: {text:?}");
    }
});

//! Feeds arbitrary bytes to every export-file parser: none may panic, hang or
//! blow the stack, whatever the input (truncated, hostile, wrong encoding).
#![no_main]

use libfuzzer_sys::fuzz_target;
use phs_sources::export::{parse_connector, parse_global_settings, parse_sync_rule};

fuzz_target!(|data: &[u8]| {
    let _ = parse_connector(data, "x");
    let _ = parse_global_settings(data, "x");
    let _ = parse_sync_rule(data, "x");
});

//! Feeds arbitrary text to the sync engine object readers (one user's
//! `Get-ADSyncCSObject`, `Get-ADSyncMVObject`, `Get-ADSyncCSObjectLog` JSON):
//! none may panic, whatever the nesting, sizes or types.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phs_sources::sync_engine::{parse_cs_object_log, parse_cs_objects, parse_mv_objects};

fuzz_target!(|data: &[u8]| {
    // The readers take decoded text; a lossy decode keeps every input useful.
    let text = String::from_utf8_lossy(data);
    let _ = parse_cs_objects(&text, "x");
    let _ = parse_mv_objects(&text, "x");
    let _ = parse_cs_object_log(&text, "x");
});

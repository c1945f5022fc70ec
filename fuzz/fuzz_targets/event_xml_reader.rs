//! Feeds arbitrary bytes to the event XML reader, in both modes: the
//! pre-filter path (what `read_event_files` runs) and the full parse of every
//! record. Neither may panic or hang, whatever the input (truncated records,
//! stray `</Event>` tags, odd encodings, hostile attribute values).
#![no_main]

use libfuzzer_sys::fuzz_target;
use phs_sources::events::{scan_event_xml, Providers};

fuzz_target!(|data: &[u8]| {
    for providers in [Providers::Phs, Providers::All] {
        let mut n = 0u64;
        if let Ok(stats) = scan_event_xml(data, "fuzz.xml", providers, |_| n += 1) {
            // Every event handed out was counted as a record.
            assert!(n <= stats.records_read);
            // Building the problem text must not panic either.
            let _ = stats.problem_summary();
        }
    }
});

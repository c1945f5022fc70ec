//! Reads event files the way `phs-doctor collect --events` does and prints a
//! summary: used by `benches/eventlog-scan.sh` and for trying files by hand.
//!
//! Usage: `cargo run --release -p phs-sources --example scan_events -- [--retention-hours N] FILE...`

use phs_sources::events::{read_event_files, EventReadOptions};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut opts = EventReadOptions::default();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--retention-hours" {
            match args.next().and_then(|h| h.parse().ok()) {
                Some(h) => opts.retention_hours = h,
                None => {
                    eprintln!("--retention-hours needs a number");
                    return ExitCode::from(2);
                }
            }
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    if paths.is_empty() {
        eprintln!("usage: scan_events [--retention-hours N] FILE...");
        return ExitCode::from(2);
    }
    let (log, problems) = read_event_files(&paths, &opts);
    for p in &problems {
        let kind = if p.partial { "partly read" } else { "not read" };
        eprintln!("{kind}: {}", p.error);
    }
    let Some(log) = log else {
        return ExitCode::FAILURE;
    };
    for s in &log.sources {
        let span = match (s.oldest, s.newest) {
            (Some(o), Some(n)) => format!("{o} .. {n}"),
            _ => "no records".to_owned(),
        };
        println!(
            "{} ({}): {} records, {} Directory Synchronization, {} older than the window; {span}",
            s.path, s.format, s.records_read, s.phs_records, s.dropped_old
        );
    }
    println!("kept {} events (retention {} h)", log.events.len(), log.retention_hours);
    if let (Some(first), Some(last)) = (log.events.first(), log.events.last()) {
        println!("first kept: {} id {}; last kept: {} id {}", first.time, first.event_id, last.time, last.event_id);
    }
    ExitCode::SUCCESS
}

//! Event log reading: every producer's XML, encodings, damage, retention, evtx.

use phs_model::{CollectionProblem, Event, EventLog, SourceKind};
use phs_sources::events::{
    read_event_files, scan_event_xml, scan_evtx, EventErrorKind, EventReadOptions, Providers, ScanStats,
};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const CONNECTOR: &str = "ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

fn events_fixture(name: &str) -> PathBuf {
    fixture("events").join(name)
}

fn evtx_sample() -> PathBuf {
    fixture("evtx-classic-application/Application_no_crc32.evtx")
}

fn read(paths: &[PathBuf]) -> (Option<EventLog>, Vec<CollectionProblem>) {
    read_event_files(paths, &EventReadOptions::default())
}

fn read_ok(path: &Path) -> EventLog {
    let (log, problems) = read(&[path.to_owned()]);
    assert_eq!(problems, vec![], "{}", path.display());
    log.expect("a log")
}

fn ts(s: &str) -> phs_model::Timestamp {
    s.parse().unwrap()
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

/// The five PHS events every XML fixture holds, checked field by field.
fn assert_fixture_events(log: &EventLog, fraction_7: bool) {
    let ids: Vec<u32> = log.events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![653, 654, 611, 656, 657]);
    let src = &log.sources[0];
    assert_eq!(src.records_read, 8);
    assert_eq!(src.phs_records, 5);
    assert_eq!(src.dropped_old, 0);
    assert_eq!(src.format, "xml");
    if fraction_7 {
        assert_eq!(src.oldest, Some(ts("2024-05-06T09:58:12.1182634Z")));
        assert_eq!(src.newest, Some(ts("2024-05-06T10:23:02.7745121Z")));
    } else {
        assert_eq!(src.oldest, Some(ts("2024-05-06T09:58:12.118263400Z")));
        assert_eq!(src.newest, Some(ts("2024-05-06T10:23:02.774512100Z")));
    }

    let ping = &log.events[1];
    assert_eq!(ping.provider, "Directory Synchronization");
    assert_eq!(ping.qualifiers, Some(0));
    assert_eq!(ping.level, Some(4));
    assert_eq!(ping.record_id, Some(88231));
    assert_eq!(ping.computer.as_deref(), Some("AADC01.contoso.com"));
    assert_eq!(ping.time, ts("2024-05-06T10:15:01.912Z"));
    assert_eq!(ping.data.len(), 1);
    assert_eq!(
        ping.data[0],
        "Provision credentials ping end.  TrackingID : 0f3c9f4e-2d4b-4c55-9a0e-5b8a7d1e2c31\r\n\
         <forest-info>\r\n  <partition-name>contoso.com</partition-name>\r\n  \
         <connector-id>ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d</connector-id>\r\n</forest-info>"
    );
    assert!(ping.text().contains(CONNECTOR));

    let failure = &log.events[2];
    assert_eq!(failure.level, Some(2));
    assert_eq!(failure.time, ts("2024-05-06T10:20:33.5Z"));
    let text = &failure.data[0];
    assert!(text.starts_with("Password synchronization failed for domain: contoso.com. Details: \r\n"));
    assert!(text.contains("DrsException: RPC Error 8453: Replication access was denied."));
    assert!(text.contains("DrsRpcConnection.OnGetChanges(ReplicationState syncState)"));

    assert!(log.events[4].data[0].contains("Dn : CN=Adele Vance,OU=Users,OU=Sales,DC=contoso,DC=com"));
    assert!(log.events[4].data[0].contains("Result : Success."));
}

#[test]
fn wevtutil_xml_without_root_and_single_quotes() {
    let log = read_ok(&events_fixture("wevtutil.xml"));
    assert_fixture_events(&log, false);
    assert!(log.events.iter().all(|e| e.message.is_none()));
    assert_eq!(log.retention_hours, 168);
}

#[test]
fn wevtutil_rendered_xml_fills_the_message() {
    let log = read_ok(&events_fixture("wevtutil-rendered.xml"));
    assert_fixture_events(&log, false);
    for e in &log.events {
        assert_eq!(e.message.as_deref(), Some(e.data[0].as_str()), "{}", e.event_id);
    }
}

#[test]
fn get_winevent_to_xml_joined_by_newlines() {
    let log = read_ok(&events_fixture("get-winevent.xml"));
    assert_fixture_events(&log, true);
}

#[test]
fn get_winevent_inside_an_events_root() {
    let log = read_ok(&events_fixture("get-winevent-events-root.xml"));
    assert_fixture_events(&log, true);
}

#[test]
fn evtx_crate_xml_with_a_declaration_per_record() {
    let log = read_ok(&events_fixture("evtx-dump.xml"));
    assert_fixture_events(&log, true);
}

#[test]
fn records_concatenated_without_any_separator() {
    let text = std::fs::read_to_string(events_fixture("get-winevent.xml")).unwrap();
    let joined = text.replace("</Event>\r\n", "</Event>");
    let f = write_temp(joined.as_bytes());
    assert_fixture_events(&read_ok(f.path()), true);
}

fn utf16(text: &str, le: bool) -> Vec<u8> {
    let mut out = if le { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
    for u in text.encode_utf16() {
        out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

#[test]
fn utf16le_and_be_with_bom_and_utf8_with_bom() {
    // Windows PowerShell 5.1's `>` writes UTF-16LE with a BOM.
    let text = std::fs::read_to_string(events_fixture("get-winevent.xml")).unwrap();
    // A non-BMP character and accents check the surrogate and multi-byte paths.
    let text = text.replace("Adele Vance", "Adèle Vance 😀");
    for bytes in [utf16(&text, true), utf16(&text, false), [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()] {
        let f = write_temp(&bytes);
        let log = read_ok(f.path());
        assert_eq!(log.events.len(), 5);
        assert!(log.events[4].data[0].contains("CN=Adèle Vance 😀,OU=Users"));
    }
}

#[test]
fn truncated_file_keeps_the_events_before_the_cut_and_names_the_offset() {
    let bytes = std::fs::read(events_fixture("wevtutil.xml")).unwrap();
    // Cut inside the 656 record's data.
    let cut = memchr::memmem::find(&bytes, b"Change Date").unwrap();
    let f = write_temp(&bytes[..cut]);
    let (log, problems) = read(&[f.path().to_owned()]);
    let log = log.unwrap();
    let ids: Vec<u32> = log.events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![653, 654, 611]);
    assert_eq!(log.sources[0].records_read, 5);
    assert_eq!(problems.len(), 1);
    let p = &problems[0];
    assert!(p.partial);
    assert_eq!(p.source, SourceKind::Events);
    assert_eq!(p.location, f.path().display().to_string());
    assert!(p.error.contains(&format!("ends at byte offset {cut} inside Event/EventData/Data")), "{}", p.error);
    let record_start = memchr::memmem::rfind(&bytes[..cut], b"<Event ").unwrap();
    assert!(p.error.contains(&format!("starting at byte offset {record_start}")), "{}", p.error);
}

#[test]
fn truncated_inside_a_tag() {
    let bytes = std::fs::read(events_fixture("get-winevent.xml")).unwrap();
    let cut = memchr::memmem::rfind(&bytes, b"<TimeCreated").unwrap() + 5;
    let f = write_temp(&bytes[..cut]);
    let (log, problems) = read(&[f.path().to_owned()]);
    assert_eq!(log.unwrap().events.len(), 5);
    assert!(problems[0].error.contains("inside Event/System"), "{}", problems[0].error);
}

/// A record cut off mid-way and directly followed by a complete one (a log
/// copied while it was written): the cut one is damage with its offset, and
/// every record after it is still read.
#[test]
fn a_cut_record_followed_by_a_complete_one_loses_only_the_cut_one() {
    let path = events_fixture("wevtutil.xml");
    let bytes = std::fs::read(&path).unwrap();
    let whole: Vec<u32> = read_ok(&path).events.iter().map(|e| e.event_id).collect();
    // Cut the heartbeat (654) inside its System element and splice the next
    // record straight after the cut.
    let the_654 = memchr::memmem::find(&bytes, b">654</EventID>").unwrap();
    let start = memchr::memmem::rfind(&bytes[..the_654], b"<Event ").unwrap();
    let next = the_654 + memchr::memmem::find(&bytes[the_654..], b"<Event ").unwrap();
    let cut = the_654 + memchr::memmem::find(&bytes[the_654..], b"<TimeCreated").unwrap();
    let mut spliced = bytes[..cut].to_vec();
    spliced.extend_from_slice(&bytes[next..]);
    let f = write_temp(&spliced);
    let (log, problems) = read(&[f.path().to_owned()]);
    let ids: Vec<u32> = log.unwrap().events.iter().map(|e| e.event_id).collect();
    let mut expected = whole.clone();
    expected.remove(whole.iter().position(|&id| id == 654).unwrap());
    assert_eq!(ids, expected, "only the cut record may be lost");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert!(p.partial);
    assert!(p.error.contains(&format!("starting at byte offset {start}")), "{}", p.error);
    assert!(p.error.contains("inside Event/System"), "{}", p.error);
}

#[test]
fn garbage_file_is_reported_and_other_files_still_read() {
    let garbage = write_temp(b"PK\x03\x04 this is a zip, not an event log \xFF\xFE\x00");
    let (log, problems) = read(&[garbage.path().to_owned(), events_fixture("wevtutil.xml")]);
    let log = log.unwrap();
    assert_eq!(log.sources.len(), 1);
    assert_eq!(log.events.len(), 5);
    assert_eq!(problems.len(), 1);
    assert!(!problems[0].partial);
    assert!(problems[0].error.contains("unexpected content at byte offset 0"), "{}", problems[0].error);

    // Alone, nothing could be read.
    let (log, problems) = read(&[garbage.path().to_owned()]);
    assert_eq!(log, None);
    assert_eq!(problems.len(), 1);
}

#[test]
fn empty_file_is_an_empty_log() {
    let f = write_temp(b"");
    let log = read_ok(f.path());
    assert_eq!(log.events, vec![]);
    assert_eq!(log.sources[0].records_read, 0);
    assert_eq!(log.sources[0].oldest, None);
}

#[test]
fn missing_file_is_not_partial_and_the_rest_is_read() {
    let missing = PathBuf::from("/nonexistent/phs-doctor/Application.evtx");
    let (log, problems) = read(&[missing.clone(), events_fixture("get-winevent.xml")]);
    assert_eq!(log.unwrap().events.len(), 5);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].location, missing.display().to_string());
    assert!(!problems[0].partial);
    assert!(problems[0].error.contains("cannot open"), "{}", problems[0].error);

    let (log, problems) = read(&[missing]);
    assert_eq!(log, None);
    assert_eq!(problems.len(), 1);
    assert_eq!(read(&[]), (None, vec![]));
}

#[test]
fn a_record_with_a_bad_field_is_skipped_and_reported() {
    let text = std::fs::read_to_string(events_fixture("wevtutil.xml")).unwrap();
    let text = text
        .replace("2024-05-06T10:15:01.912000000Z", "2024-13-01")
        .replace(">88231<", ">4711<")
        // Another bad record, counted but not the first one reported.
        .replace("<EventID Qualifiers='0'>656</EventID>", "<EventID Qualifiers='0'>x656</EventID>");
    let f = write_temp(text.as_bytes());
    let (log, problems) = read(&[f.path().to_owned()]);
    let log = log.unwrap();
    let ids: Vec<u32> = log.events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![653, 611, 657]);
    assert_eq!(log.sources[0].records_read, 8);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].partial);
    let expected = format!(
        "{}: 2 records skipped, the first: TimeCreated SystemTime \"2024-13-01\" is not a valid time (record 4711)",
        f.path().display()
    );
    assert_eq!(problems[0].error, expected);
}

#[test]
fn a_bad_time_on_another_provider_is_reported_too() {
    let text = std::fs::read_to_string(events_fixture("wevtutil.xml")).unwrap();
    let text = text.replace("2024-05-06T10:17:45.000000000Z", "yesterday");
    let f = write_temp(text.as_bytes());
    let (log, problems) = read(&[f.path().to_owned()]);
    assert_eq!(log.unwrap().events.len(), 5);
    assert!(problems[0].error.contains("\"yesterday\" is not a valid time (record 88232)"), "{}", problems[0].error);
}

#[test]
fn malformed_xml_inside_a_record_names_offset_and_element_and_the_scan_goes_on() {
    let text = std::fs::read_to_string(events_fixture("wevtutil.xml")).unwrap();
    // An unescaped `&` in the 654's Computer: not well-formed.
    let bad = "<Computer>AADC01 & co</Computer>";
    let at = text.find("<EventRecordID>88231").unwrap();
    let comp = at + text[at..].find("<Computer>").unwrap();
    let text = format!("{}{}{}", &text[..comp], bad, &text[comp + "<Computer>AADC01.contoso.com</Computer>".len()..]);
    let f = write_temp(text.as_bytes());
    let (log, problems) = read(&[f.path().to_owned()]);
    let ids: Vec<u32> = log.unwrap().events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![653, 611, 656, 657]);
    let err = &problems[0].error;
    assert!(err.contains("1 record skipped"), "{err}");
    assert!(err.contains("malformed XML at byte offset"), "{err}");
    assert!(err.contains("inside Event/System/Computer"), "{err}");
    let offset: usize = err
        .split("byte offset ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(offset > comp && offset < comp + bad.len(), "{offset} vs {comp}");
}

#[test]
fn junk_between_records_is_damage_but_records_after_it_are_read() {
    let text = std::fs::read_to_string(events_fixture("get-winevent.xml")).unwrap();
    let text = format!("Exported by admin on Monday\r\n{text}");
    let f = write_temp(text.as_bytes());
    let (log, problems) = read(&[f.path().to_owned()]);
    assert_eq!(log.unwrap().events.len(), 5);
    assert!(problems[0].partial);
    assert!(problems[0].error.contains("unexpected content at byte offset 0"), "{}", problems[0].error);
    assert!(problems[0].error.contains("Exported by admin"), "{}", problems[0].error);
}

/// A PHS heartbeat at `hour` hours after 2024-05-01T00:00Z.
fn heartbeat(hour: u32, record_id: u32, provider: &str) -> String {
    let day = 1 + hour / 24;
    let h = hour % 24;
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='{provider}'/>\
         <EventID Qualifiers='0'>654</EventID><Level>4</Level><Task>0</Task><Keywords>0x80000000000000</Keywords>\
         <TimeCreated SystemTime='2024-05-{day:02}T{h:02}:00:00.000000000Z'/><EventRecordID>{record_id}</EventRecordID>\
         <Correlation/><Execution ProcessID='0' ThreadID='0'/><Channel>Application</Channel><Computer>AADC01</Computer>\
         <Security/></System><EventData><Data>Provision credentials ping end. &lt;forest-info&gt;&lt;partition-name&gt;contoso.com\
         &lt;/partition-name&gt;&lt;connector-id&gt;{CONNECTOR}&lt;/connector-id&gt;&lt;/forest-info&gt;</Data></EventData></Event>\r\n"
    )
}

#[test]
fn retention_drops_old_events_in_either_file_order() {
    // 10 days of hourly heartbeats; the newest is at hour 239.
    let hours: Vec<u32> = (0..240).collect();
    for newest_first in [false, true] {
        let mut order = hours.clone();
        if newest_first {
            order.reverse();
        }
        let text: String = order.iter().map(|h| heartbeat(*h, 1000 + h, "directory synchronization")).collect();
        let f = write_temp(text.as_bytes());
        let (log, problems) =
            read_event_files(&[f.path().to_owned()], &EventReadOptions { retention_hours: 24, ..Default::default() });
        assert_eq!(problems, vec![]);
        let log = log.unwrap();
        // Hours 215..=239 are within 24 h of the newest.
        assert_eq!(log.events.len(), 25, "newest_first={newest_first}");
        assert_eq!(log.sources[0].dropped_old, 215);
        assert_eq!(log.sources[0].phs_records, 240);
        assert_eq!(log.events[0].record_id, Some(1215));
        assert_eq!(log.events[24].record_id, Some(1239));
        assert_eq!(log.retention_hours, 24);
        assert_eq!(log.sources[0].oldest, Some(ts("2024-05-01T00:00:00Z")));
    }
}

#[test]
fn retention_across_files_counts_drops_per_file() {
    let old: String = (0..10).map(|h| heartbeat(h, h, "Directory Synchronization")).collect();
    let new: String = (100..110).map(|h| heartbeat(h, h, "Directory Synchronization")).collect();
    let (f_old, f_new) = (write_temp(old.as_bytes()), write_temp(new.as_bytes()));
    let (log, _) = read_event_files(
        &[f_old.path().to_owned(), f_new.path().to_owned()],
        &EventReadOptions { retention_hours: 48, ..Default::default() },
    );
    let log = log.unwrap();
    assert_eq!(log.events.len(), 10);
    assert_eq!(log.sources[0].dropped_old, 10);
    assert_eq!(log.sources[1].dropped_old, 0);
    assert_eq!(log.oldest(), Some(ts("2024-05-01T00:00:00Z")));
    assert_eq!(log.newest(), Some(ts("2024-05-05T13:00:00Z")));
}

/// Generates a long log on the fly, handed out in reads of awkward sizes, to
/// check records split across reads and large inputs.
struct Generated {
    next: u32,
    count: u32,
    pending: Vec<u8>,
    step: usize,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.len() < 4096 && self.next < self.count {
            let i = self.next;
            self.next += 1;
            let provider = if i % 10 != 9 { "Service Control Manager" } else { "Directory Synchronization" };
            self.pending.extend_from_slice(heartbeat(i % 200, i, provider).as_bytes());
        }
        let n = buf.len().min(self.pending.len()).min(self.step);
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.step = self.step % 997 + 13;
        Ok(n)
    }
}

#[test]
fn streaming_over_many_reads_of_odd_sizes() {
    let input = Generated { next: 0, count: 20_000, pending: Vec::new(), step: 1 };
    let mut events = Vec::new();
    let stats = scan_event_xml(input, "generated", Providers::Phs, |e| events.push(e)).unwrap();
    assert_eq!(stats.records_read, 20_000);
    assert_eq!(stats.phs_records, 2_000);
    assert_eq!(events.len(), 2_000);
    assert_eq!(stats.skipped_records, 0);
    assert_eq!(stats.damage, None);
    assert!(events.iter().all(|e| e.data[0].contains(CONNECTOR)));
}

#[test]
fn a_runaway_record_is_skipped_and_later_records_are_read() {
    let mut bytes = b"<Event><System><Provider Name='x'/>".to_vec();
    // Longer than the reader ever buffers (16 MiB limit, buffer below 32 MiB).
    bytes.extend(std::iter::repeat_n(b'a', 40 << 20));
    bytes.extend_from_slice(b"</Data></EventData></Event>\r\n");
    bytes.extend_from_slice(heartbeat(5, 7, "Directory Synchronization").as_bytes());
    let mut events = Vec::new();
    let stats = scan_event_xml(bytes.as_slice(), "big.xml", Providers::Phs, |e| events.push(e)).unwrap();
    assert_eq!(events.len(), 1);
    assert!(matches!(stats.damage.map(|d| d.kind), Some(EventErrorKind::TooLong { .. })));
}

#[test]
fn scan_event_xml_all_providers() {
    let file = std::fs::File::open(events_fixture("get-winevent.xml")).unwrap();
    let mut events: Vec<Event> = Vec::new();
    let stats = scan_event_xml(file, "get-winevent.xml", Providers::All, |e| events.push(e)).unwrap();
    assert_eq!(events.len(), 8);
    assert_eq!(stats.phs_records, 5);
    let msi = &events[3];
    assert_eq!((msi.provider.as_str(), msi.event_id), ("MsiInstaller", 1033));
    assert_eq!(msi.data.len(), 7);
    assert_eq!(msi.data[5], "(NULL)");
    assert_eq!(events[0].data[2], "");
}

fn scan_sample_all(path: &Path) -> (ScanStats, Vec<Event>) {
    let mut events = Vec::new();
    let stats = scan_evtx(path, Providers::All, |e| events.push(e)).unwrap();
    (stats, events)
}

#[test]
fn evtx_sample_maps_fields_like_the_crate_renders_them() {
    let (stats, events) = scan_sample_all(&evtx_sample());
    assert_eq!(stats.records_read, 17);
    assert_eq!(events.len(), 17);
    assert_eq!(stats.skipped_records, 0);
    assert_eq!(stats.damage, None);
    let ids: Vec<u64> = events.iter().filter_map(|e| e.record_id).collect();
    assert_eq!(ids, (426..=442).collect::<Vec<_>>());

    // Checked by hand against the crate's XML rendering of the sample.
    let sc = &events[1];
    assert_eq!(sc.provider, "SecurityCenter");
    assert_eq!((sc.event_id, sc.qualifiers, sc.level), (15, Some(0), Some(4)));
    assert_eq!(sc.time, ts("2021-03-31T23:51:47.1125180Z"));
    assert_eq!(sc.record_id, Some(427));
    assert_eq!(sc.computer.as_deref(), Some("DESKTOP-0HIJB49"));
    assert_eq!(sc.data, vec!["Windows Defender", "SECURITY_PRODUCT_STATE_ON"]);

    let wl = &events[2];
    assert_eq!(wl.provider, "Microsoft-Windows-Winlogon");
    assert_eq!((wl.event_id, wl.qualifiers), (6000, Some(32768)));
    assert_eq!(wl.time, ts("2021-03-31T23:52:03.2843934Z"));
    assert_eq!(wl.data, vec!["WSearch"]);

    let ups = &events[3];
    assert_eq!(ups.provider, "Microsoft-Windows-User Profiles Service");
    assert_eq!((ups.event_id, ups.qualifiers), (1532, None));
    assert!(ups.data.is_empty());

    let esent = &events[12];
    assert_eq!((esent.provider.as_str(), esent.event_id, esent.record_id), ("ESENT", 102, Some(438)));
    assert_eq!(esent.data[..3], ["SearchIndexer", "5960,P,98", "Windows: "]);

    let spp = &events[9];
    assert_eq!((spp.event_id, spp.qualifiers), (1003, Some(16384)));
    assert_eq!(spp.data[0], "55c92734-d682-4d71-983e-d6ec3f16059f");
    assert!(spp.data[1].starts_with("\n1: 0567073a-7d74-403b-b2d5-6b35da372d8d, 1, 0 ["));

    // The one named Data keeps its value.
    let search = &events[15];
    assert_eq!(search.provider, "Microsoft-Windows-Search");
    assert_eq!(search.data, vec!["\n"]);

    assert_eq!(stats.oldest, Some(ts("2021-03-31T23:51:45.0187674Z")));
    assert_eq!(stats.newest, Some(ts("2021-03-31T23:54:34.7048841Z")));
}

#[test]
fn evtx_sample_through_read_event_files() {
    let log = read_ok(&evtx_sample());
    assert_eq!(log.events, vec![]);
    let src = &log.sources[0];
    assert_eq!(src.format, "evtx");
    assert_eq!(src.records_read, 17);
    assert_eq!(src.phs_records, 0);
    assert_eq!(src.oldest, Some(ts("2021-03-31T23:51:45.0187674Z")));
    assert_eq!(src.newest, Some(ts("2021-03-31T23:54:34.7048841Z")));
}

#[test]
fn truncated_evtx_keeps_the_records_before_the_cut() {
    let bytes = std::fs::read(evtx_sample()).unwrap();
    // The records end near offset 4096 + 512 + ~16 KB; 20000 cuts record 438.
    let f = write_temp(&bytes[..20_000]);
    let (stats, events) = scan_sample_all(f.path());
    let ids: Vec<u64> = events.iter().filter_map(|e| e.record_id).collect();
    assert_eq!(ids, (426..=437).collect::<Vec<_>>());
    let damage = stats.damage.unwrap().to_string();
    assert!(damage.contains("truncated: it ends at byte offset 20000 inside chunk 0"), "{damage}");
    assert!(stats.first_skipped.unwrap().to_string().contains("record number 438"));

    let (log, problems) = read(&[f.path().to_owned()]);
    assert_eq!(log.unwrap().sources[0].records_read, 13);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].partial);
}

#[test]
fn evtx_cut_inside_its_header_cannot_be_read() {
    let bytes = std::fs::read(evtx_sample()).unwrap();
    let f = write_temp(&bytes[..1000]);
    let (log, problems) = read(&[f.path().to_owned()]);
    assert_eq!(log, None);
    assert!(!problems[0].partial);
    assert!(problems[0].error.contains("not a readable evtx file"), "{}", problems[0].error);
}

#[test]
fn evtx_whose_only_chunk_is_damaged_names_the_chunk() {
    let mut bytes = std::fs::read(evtx_sample()).unwrap();
    // Overwrite the chunk's magic: the crate cannot read the chunk at all.
    bytes[4096..4104].copy_from_slice(b"garbage!");
    let f = write_temp(&bytes);
    let (log, problems) = read(&[f.path().to_owned()]);
    // Nothing readable is left, so the file counts as unread, with the reason.
    assert_eq!(log, None);
    assert!(problems[0].error.contains("chunk"), "{}", problems[0].error);
}

/// A live log is preallocated: Windows creates the file at its maximum size,
/// and the chunks not yet used are zeros. Neither whole zero chunks nor a
/// zero tail shorter than a chunk (the size need not be a whole number of
/// chunks) is damage.
#[test]
fn evtx_zero_filled_space_after_the_last_chunk_is_unused_not_damage() {
    let sample = std::fs::read(evtx_sample()).unwrap();
    for (what, zeros) in [
        ("three zero chunks", 3 * 65536),
        ("two zero chunks and a short zero tail", 2 * 65536 + 61440),
        ("a short zero tail", 4096),
        ("one zero byte", 1),
    ] {
        let mut bytes = sample.clone();
        bytes.resize(sample.len() + zeros, 0);
        let f = write_temp(&bytes);
        let (log, problems) = read(&[f.path().to_owned()]);
        assert_eq!(problems, vec![], "{what}");
        let src = &log.unwrap().sources[0];
        assert_eq!(src.records_read, 17, "{what}");
        assert_eq!(src.newest, Some(ts("2021-03-31T23:54:34.7048841Z")), "{what}");
    }
}

/// What follows the last chunk and is not zeros stays a partial read naming
/// the chunk or the cut.
#[test]
fn evtx_space_after_the_last_chunk_that_is_not_zeros_is_damage() {
    let sample = std::fs::read(evtx_sample()).unwrap();
    let chunk = &sample[4096..];
    // Garbage over a whole chunk: its magic is wrong.
    let mut garbage = sample.clone();
    garbage.extend((0..65536u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    // A chunk whose header was zeroed but whose records are still there.
    let mut headless = sample.clone();
    headless.extend_from_slice(&[0; 512]);
    headless.extend_from_slice(&chunk[512..]);
    // A second copy of the chunk cut short: not zeros, so a cut.
    let mut cut = sample.clone();
    cut.extend_from_slice(&chunk[..30_000]);
    for (what, bytes, expected) in [
        ("garbage", garbage, "chunk number 1"),
        ("headless", headless, "chunk 1 has an all-zero header but data after it"),
        ("cut", cut, "truncated: it ends at byte offset 99632 inside chunk 1"),
    ] {
        let f = write_temp(&bytes);
        let (log, problems) = read(&[f.path().to_owned()]);
        assert!(log.unwrap().sources[0].records_read >= 17, "{what}");
        assert_eq!(problems.len(), 1, "{what}: {problems:?}");
        assert!(problems[0].partial, "{what}");
        assert!(problems[0].error.contains(expected), "{what}: {}", problems[0].error);
    }
}

/// Hour `h` of the heartbeat log as a time (May 2024, as [`heartbeat`] writes).
fn hour(h: u32) -> phs_model::Timestamp {
    ts("2024-05-01T00:00:00Z") + jiff::SignedDuration::from_hours(i64::from(h))
}

#[test]
fn the_retention_window_ends_at_the_evaluation_time_not_at_the_newest_record() {
    // Ten days of hourly heartbeats, read for hour 100 with 24 h retention:
    // hours 76..=100 are kept, everything after 100 is set aside, whatever
    // the order of the file.
    let hours: Vec<u32> = (0..240).collect();
    for newest_first in [false, true] {
        let mut order = hours.clone();
        if newest_first {
            order.reverse();
        }
        let text: String = order.iter().map(|h| heartbeat(*h, 1000 + h, "Directory Synchronization")).collect();
        let f = write_temp(text.as_bytes());
        let opts = EventReadOptions { retention_hours: 24, ..EventReadOptions::at(hour(100)) };
        let (log, problems) = read_event_files(&[f.path().to_owned()], &opts);
        let log = log.unwrap();
        let kept: Vec<u64> = log.events.iter().filter_map(|e| e.record_id).collect();
        assert_eq!(kept, (1076..=1100).collect::<Vec<u64>>(), "newest_first={newest_first}");
        let src = &log.sources[0];
        assert_eq!((src.after_anchor, src.newest), (139, Some(hour(100))));
        assert_eq!(src.newest_after_anchor, Some(hour(239)));
        assert_eq!(log.anchor, Some(hour(100)));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].partial && problems[0].error.contains("139 records dated after the evaluation time"));
    }
}

#[test]
fn one_forged_record_from_the_future_evicts_nothing() {
    // The old reader anchored retention on the newest record: one record
    // dated years ahead emptied the window.
    let mut text: String = (0..48).map(|h| heartbeat(h, 2000 + h, "Directory Synchronization")).collect();
    text.push_str(&heartbeat(0, 9999, "Directory Synchronization").replace("2024-05-01T", "2031-05-01T"));
    let f = write_temp(text.as_bytes());
    let (log, problems) = read_event_files(&[f.path().to_owned()], &EventReadOptions::at(hour(47)));
    let log = log.unwrap();
    assert_eq!(log.events.len(), 48);
    assert!(log.events.iter().all(|e| e.record_id != Some(9999)));
    assert_eq!(log.newest(), Some(hour(47)), "the forged record does not stretch the log's reach");
    assert!(problems[0].error.contains("2031-05-01"), "{problems:?}");
    // Its coverage ends at the real last record, so a window after it is not seen.
    assert!(log.window(hour(46), hour(47)).complete);
    assert!(!log.window(hour(47), hour(50)).complete);
}

#[test]
fn coverage_counts_the_provider_and_spots_a_filtered_export() {
    // Other providers before and after the Directory Synchronization records.
    let text = format!(
        "{}{}{}{}",
        heartbeat(1, 1, "Microsoft-Windows-Security-SPP"),
        heartbeat(5, 2, "Directory Synchronization"),
        heartbeat(9, 3, "Directory Synchronization"),
        heartbeat(20, 4, "ESENT")
    );
    let f = write_temp(text.as_bytes());
    let log = read_event_files(&[f.path().to_owned()], &EventReadOptions::at(hour(30))).0.unwrap();
    let src = &log.sources[0];
    assert_eq!((src.oldest, src.newest), (Some(hour(1)), Some(hour(20))));
    assert_eq!((src.phs_oldest, src.phs_newest), (Some(hour(5)), Some(hour(9))));
    assert!(!log.looks_provider_filtered());
    assert_eq!(log.coverage(), vec![phs_model::Span { from: hour(1), to: hour(20) }]);
    // The same records exported with a provider filter: only 5..9 is shown.
    let filtered =
        format!("{}{}", heartbeat(5, 2, "Directory Synchronization"), heartbeat(9, 3, "Directory Synchronization"));
    let f = write_temp(filtered.as_bytes());
    let log = read_event_files(&[f.path().to_owned()], &EventReadOptions::at(hour(30))).0.unwrap();
    assert!(log.looks_provider_filtered());
    assert!(!log.window(hour(6), hour(12)).complete);
    // With the export time recorded, the quiet hours after the last record are shown.
    let opts = EventReadOptions { exported_at: Some(hour(12)), ..EventReadOptions::at(hour(30)) };
    let log = read_event_files(&[f.path().to_owned()], &opts).0.unwrap();
    assert!(log.window(hour(6), hour(12)).complete);
}

#[test]
fn an_unreadable_directory_synchronization_record_is_counted_with_its_time() {
    let bad = heartbeat(7, 3, "Directory Synchronization")
        .replace("<EventID Qualifiers='0'>654</EventID>", "<EventID>abc</EventID>");
    let text = format!(
        "{}{bad}{}",
        heartbeat(5, 2, "Directory Synchronization"),
        heartbeat(9, 4, "Directory Synchronization")
    );
    let f = write_temp(text.as_bytes());
    let (log, problems) = read_event_files(&[f.path().to_owned()], &EventReadOptions::at(hour(10)));
    let log = log.unwrap();
    assert_eq!(log.events.len(), 2);
    let src = &log.sources[0];
    assert_eq!(src.phs_unreadable, 1, "{problems:?}");
    assert_eq!(src.phs_unreadable_span, Some(phs_model::Span { from: hour(7), to: hour(7) }));
    // The window holding it cannot be taken as seen; one without it can.
    assert!(!log.window(hour(6), hour(9)).complete);
    assert!(log.window(hour(8), hour(9)).complete);
}

#[test]
fn deep_nesting_is_refused_at_the_depth_cap() {
    // A million levels used to cost minutes: each start tag compared the
    // whole stack. Now the record is refused at 32 levels.
    let deep = format!(
        "{}{}{}{}</EventData></System></Event>\r\n",
        heartbeat(1, 1, "Directory Synchronization"),
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Directory Synchronization'/><EventData>",
        "<a>".repeat(1_000_000),
        "</a>".repeat(1_000_000)
    );
    let f = write_temp(deep.as_bytes());
    let (log, problems) = read_event_files(&[f.path().to_owned()], &EventReadOptions::at(hour(10)));
    assert_eq!(log.unwrap().events.len(), 1);
    assert!(problems.iter().any(|p| p.error.contains("nested deeper than 32")), "{problems:?}");
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_given_as_the_log_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("Application.evtx");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let (log, problems) = read_event_files(&[zero], &EventReadOptions::default());
    assert!(log.is_none());
    assert!(problems[0].error.contains("not a regular file (a character device)"), "{problems:?}");
    let fifo = dir.path().join("Application.xml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (_, problems) = read_event_files(&[fifo], &EventReadOptions::default());
    assert!(problems[0].error.contains("a FIFO"), "{problems:?}");
}

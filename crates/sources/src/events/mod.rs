//! The Application event log, from `.evtx` files or event XML exports.
//!
//! Only the "Directory Synchronization" provider matters to phs-doctor, and
//! a server's Application log can be gigabytes, so the readers stream: record
//! boundaries are found with a substring search, each record's provider and
//! time are picked out cheaply, and only Directory Synchronization records
//! are parsed as XML. What is kept is bounded by the retention window.
//!
//! Accepted inputs (format detected by content, not by file name):
//! - `.evtx` (magic `ElfFile\0`), through the `evtx` crate;
//! - `wevtutil qe Application /f:xml` and `/f:RenderedXml` (events
//!   concatenated without a root element), `Get-WinEvent | % { $_.ToXml() }`,
//!   either of these inside an `<Events>` root, and the `evtx` crate's own XML
//!   (an `<?xml ?>` declaration before every record);
//! - UTF-8 with or without BOM, UTF-16LE/BE with BOM (Windows PowerShell's `>`)
//!   or without one when the text starts with `<`; UTF-16 is decoded as it streams.
//!
//! What the speed costs: a record is everything up to the literal `</Event>`
//! (what every producer writes); other providers' records are only checked for
//! a readable provider and time; Directory Synchronization records that fall
//! out of the retention window are counted but never parsed, so a malformed one
//! there goes unreported. In `.evtx` files, other providers' records are not
//! even rendered (see `evtx_filter.rs`): they are counted with the time of
//! their record header, and one whose BinXML is broken goes unreported.
//!
//! Files: `stream.rs` finds records in exported XML, `xml.rs` pre-filters and
//! counts each record, `parse.rs` parses the ones that matter, `evtx.rs`
//! and `evtx_filter.rs` read `.evtx`, `decode.rs` the text encodings,
//! `time.rs` the times, `retention.rs` the window of what is kept.

mod decode;
mod evtx;
mod evtx_filter;
mod parse;
mod retention;
mod stream;
mod time;
mod xml;

use phs_model::{CollectionProblem, EventLog, EventSourceSummary, SourceKind};
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub use phs_model::events::PHS_PROVIDER;
pub use phs_model::{Event, Timestamp};

/// How [`read_event_files`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventReadOptions {
    /// Keep only events within this many hours before the anchor: memory is
    /// then bounded however long the log.
    pub retention_hours: u32,
    /// The evaluation time. The retention window ends here, and records
    /// dated after it are set aside and reported, so that one record from
    /// the future cannot push the real log out of the window. `None` (for
    /// callers without an evaluation time) ends the window at the newest
    /// record and sets nothing aside.
    pub anchor: Option<Timestamp>,
    /// When the export was made on the server, if the evidence says so
    /// (recorded in the log for its coverage).
    pub exported_at: Option<Timestamp>,
}

impl EventReadOptions {
    /// The defaults, anchored on the evaluation time.
    pub fn at(anchor: Timestamp) -> Self {
        EventReadOptions { anchor: Some(anchor), ..Default::default() }
    }
}

impl Default for EventReadOptions {
    fn default() -> Self {
        // A week: covers a weekend-long outage and the daily full-sync cycle.
        EventReadOptions { retention_hours: 168, anchor: None, exported_at: None }
    }
}

/// Which records a scan hands to its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Providers {
    /// Only "Directory Synchronization" (case-insensitive); the other records
    /// are counted and timed but not parsed, which is what makes scans fast.
    #[default]
    Phs,
    /// Every record, fully parsed (tests, inspection of small files).
    All,
}

/// What one scan saw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanStats {
    /// Every record found, from any provider, including skipped ones.
    pub records_read: u64,
    /// Records of the Directory Synchronization provider, including any
    /// skipped for a bad field and any dropped for age.
    pub phs_records: u64,
    /// Oldest and newest `TimeCreated` of any provider, and of the
    /// Directory Synchronization provider; records after the anchor are in
    /// neither.
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    pub phs_oldest: Option<Timestamp>,
    pub phs_newest: Option<Timestamp>,
    /// Records dated after the anchor (the evaluation time), set aside, and
    /// the newest of them.
    pub after_anchor: u64,
    pub newest_after_anchor: Option<Timestamp>,
    /// Directory Synchronization records that could not be read, each with
    /// its time when that much was readable.
    pub phs_unreadable: Vec<Option<Timestamp>>,
    /// Records skipped because a field was bad or the record's XML was.
    pub skipped_records: u64,
    pub first_skipped: Option<EventError>,
    /// Damage to the file itself (truncation, text outside any record, an
    /// unreadable evtx chunk): the first one, and how many places in all.
    pub damage: Option<EventError>,
    pub damage_count: u64,
}

impl ScanStats {
    /// One line for a [`CollectionProblem`], or `None` when all went well.
    pub fn problem_summary(&self) -> Option<String> {
        let skipped = self.first_skipped.as_ref().map(|first| {
            let n = self.skipped_records;
            let s = if n == 1 { "" } else { "s" };
            (first, format!("{n} record{s} skipped, the first: {}", first.kind))
        });
        let damage = self.damage.as_ref().map(|d| match self.damage_count {
            0 | 1 => d.to_string(),
            n => format!("{d} (and {} more damaged place(s))", n - 1),
        });
        // The file is named once, at the start.
        match (damage, skipped) {
            (Some(d), Some((_, s))) => Some(format!("{d}; also {s}")),
            (Some(d), None) => Some(d),
            (None, Some((first, s))) => Some(format!("{}: {s}", first.file)),
            (None, None) => None,
        }
    }
}

/// An error in an event file, naming the file and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// The file (or stream name) as the user gave it.
    pub file: String,
    pub kind: EventErrorKind,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.kind)
    }
}

impl std::error::Error for EventError {}

/// Where in a file something is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// A byte offset. For UTF-16 input it counts bytes of the text decoded
    /// to UTF-8, since mapping back to file bytes would cost a table.
    Byte { offset: u64, utf16: bool },
    /// An evtx record, by its EventRecordID.
    EvtxRecord(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Byte { offset, utf16: false } => write!(f, "at byte offset {offset}"),
            Position::Byte { offset, utf16: true } => {
                write!(f, "at byte offset {offset} of the text decoded from UTF-16")
            }
            Position::EvtxRecord(id) => write!(f, "in evtx record {id}"),
        }
    }
}

/// Which record a field error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRef {
    /// Its EventRecordID.
    Id(u64),
    /// Where it starts, when it has no usable EventRecordID.
    At(Position),
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordRef::Id(id) => write!(f, "record {id}"),
            RecordRef::At(p) => write!(f, "record {p}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventErrorKind {
    /// The file could not be opened or read.
    Io(String),
    /// The XML of a record is not well-formed.
    Malformed {
        at: Position,
        /// Slash-separated path of the element being read, e.g. `Event/System/TimeCreated`.
        element: String,
        detail: String,
    },
    /// The input ends inside a record.
    Truncated { at: Position, element: String, record_start: Position },
    /// Text between records that is neither whitespace, an XML declaration,
    /// a comment nor an `<Events>` wrapper.
    Unexpected { at: Position, found: String },
    /// No `</Event>` within the size limit: not event XML, or a runaway record.
    TooLong { at: Position, limit: usize },
    /// A field whose value is not what it must be.
    BadField { field: &'static str, value: String, expected: &'static str, record: RecordRef },
    /// A required field is absent.
    MissingField { field: &'static str, record: RecordRef },
    /// The evtx file is shorter than its last chunk.
    EvtxTruncated { len: u64, chunk: u64 },
    /// An error reported by the evtx parser (its text names the chunk or record).
    Evtx(String),
    /// UTF-16 input with unpaired surrogates or an odd final byte.
    BadUtf16 { replaced: u64 },
}

impl fmt::Display for EventErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            EventErrorKind::Malformed { at, element, detail } => {
                write!(f, "malformed XML {at} inside {element}: {detail}")
            }
            EventErrorKind::Truncated {
                at,
                element,
                record_start,
            } => write!(
                f,
                "the input ends {at} inside {element}: the last record (starting {record_start}) is cut off"
            ),
            EventErrorKind::Unexpected { at, found } => {
                write!(f, "unexpected content {at}, outside any <Event> element: {found:?}")
            }
            EventErrorKind::TooLong { at, limit } => write!(
                f,
                "no </Event> within {limit} bytes from {at}: not event XML, or a record too large to read; skipped to the next </Event>"
            ),
            EventErrorKind::BadField {
                field,
                value,
                expected,
                record,
            } => write!(f, "{field} {value:?} is not {expected} ({record})"),
            EventErrorKind::MissingField { field, record } => {
                write!(f, "{field} is missing ({record})")
            }
            EventErrorKind::EvtxTruncated { len, chunk } => write!(
                f,
                "the evtx file is truncated: it ends at byte offset {len} inside chunk {chunk}; records after the cut are lost"
            ),
            EventErrorKind::Evtx(e) => write!(f, "{e}"),
            EventErrorKind::BadUtf16 { replaced } => {
                write!(f, "{replaced} invalid UTF-16 code unit(s) were read as U+FFFD")
            }
        }
    }
}

/// Streaming parse of event XML (any producer listed in the module docs)
/// from any reader. `source` names the input in errors. Calls `on_event` for
/// each record `providers` selects, in file order.
///
/// Damage (truncation, malformed records) does not stop the scan where the
/// structure allows going on; it is reported in the returned stats. `Err`
/// means nothing could be read at all (an I/O error on the first read).
pub fn scan_event_xml<R: Read>(
    input: R,
    source: &str,
    providers: Providers,
    on_event: impl FnMut(Event),
) -> Result<ScanStats, EventError> {
    let mut handler = xml::RecordHandler::new(source, providers, xml::Output::Callback(on_event));
    stream::scan_stream(input, &mut handler)?;
    Ok(handler.into_stats())
}

/// Reads an `.evtx` file; see [`scan_event_xml`] for the callback and the
/// result. `Err` when the file cannot be opened or has no valid evtx header.
pub fn scan_evtx(path: &Path, providers: Providers, on_event: impl FnMut(Event)) -> Result<ScanStats, EventError> {
    let name = path.display().to_string();
    let file = crate::evidence_file::open(path, crate::evidence_file::cap::EVENT_LOG)
        .map_err(|e| EventError { file: name.clone(), kind: EventErrorKind::Io(e) })?;
    evtx::scan_evtx_file(file, &name, providers, xml::Output::Callback(on_event))
}

/// The magic at the start of every `.evtx` file.
const EVTX_MAGIC: &[u8; 8] = b"ElfFile\0";

/// Reads every file (format detected by content), keeps only events of the
/// "Directory Synchronization" provider (case-insensitive) within the
/// retention window, and returns them oldest first, newest last.
///
/// - A file that can't be opened or holds no event at all: a
///   [`CollectionProblem`] with `partial: false`; the other files are read.
/// - A damaged file: the events before (and, where possible, after) the
///   damage are kept, with one `partial: true` problem per file naming the
///   byte offset (XML) or chunk/record (evtx), the element, and how many
///   records were skipped.
///
/// Returns `None` only when no file could be read at all.
pub fn read_event_files(paths: &[PathBuf], opts: &EventReadOptions) -> (Option<EventLog>, Vec<CollectionProblem>) {
    let mut window = retention::Window::new(opts.retention_hours, opts.anchor);
    // Per file, in order: its name, and the error that kept it out or its
    // format and stats.
    type Outcome = (String, Result<(&'static str, ScanStats), String>);
    let mut outcomes: Vec<Outcome> = Vec::new();
    // Index in `outcomes` of each file that became a source.
    let mut source_files: Vec<usize> = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let source = source_files.len();
        let output: xml::Output<'_, fn(Event)> = xml::Output::Window { window: &mut window, source };
        let result = match open_detect(path) {
            Err(e) => Err(format!("{name}: {e}")),
            Ok((file, true)) => evtx::scan_evtx_file(file, &name, Providers::Phs, output)
                .map(|s| ("evtx", s))
                .map_err(|e| e.to_string()),
            Ok((file, false)) => stream::scan_file(file, &name, output).map(|s| ("xml", s)).map_err(|e| e.to_string()),
        };
        let result = result.and_then(|(format, stats)| match stats.problem_summary() {
            // Nothing usable: the file is not an event log at all.
            Some(summary) if stats.records_read == 0 => Err(format!("{summary}; no event record could be read")),
            _ => Ok((format, stats)),
        });
        if result.is_ok() {
            source_files.push(outcomes.len());
        }
        outcomes.push((name, result));
    }
    if source_files.is_empty() {
        let problems = outcomes.into_iter().filter_map(|(name, r)| r.err().map(|e| problem(name, e, false))).collect();
        return (None, problems);
    }
    let finished = window.finish();
    let mut dropped = finished.dropped;
    dropped.resize(source_files.len(), 0);
    // Records kept raw in the window that then failed to parse.
    for (source, time, kind) in finished.failures {
        let Some((name, Ok((_, stats)))) = source_files.get(source).and_then(|&i| outcomes.get_mut(i)) else {
            continue;
        };
        stats.phs_unreadable.push(Some(time));
        stats.skipped_records += 1;
        if stats.first_skipped.is_none() {
            stats.first_skipped = Some(EventError { file: name.clone(), kind });
        }
    }
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    for (name, result) in outcomes {
        match result {
            Err(e) => problems.push(problem(name, e, false)),
            Ok((format, stats)) => {
                if let Some(summary) = stats.problem_summary() {
                    problems.push(problem(name.clone(), summary, true));
                }
                if let (Some(anchor), Some(newest)) = (opts.anchor, stats.newest_after_anchor) {
                    problems.push(problem(name.clone(), after_anchor_words(stats.after_anchor, anchor, newest), true));
                }
                let timed: Vec<Timestamp> = stats.phs_unreadable.iter().flatten().copied().collect();
                sources.push(EventSourceSummary {
                    path: name,
                    format: format.to_owned(),
                    records_read: stats.records_read,
                    phs_records: stats.phs_records,
                    oldest: stats.oldest,
                    newest: stats.newest,
                    phs_oldest: stats.phs_oldest,
                    phs_newest: stats.phs_newest,
                    dropped_old: dropped.get(sources.len()).copied().unwrap_or(0),
                    after_anchor: stats.after_anchor,
                    newest_after_anchor: stats.newest_after_anchor,
                    phs_unreadable: stats.phs_unreadable.len() as u64,
                    phs_unreadable_span: timed
                        .iter()
                        .min()
                        .zip(timed.iter().max())
                        .map(|(&from, &to)| phs_model::Span { from, to }),
                    phs_unreadable_untimed: (stats.phs_unreadable.len() - timed.len()) as u64,
                });
            }
        }
    }
    let log = EventLog {
        sources,
        retention_hours: opts.retention_hours,
        anchor: opts.anchor,
        exported_at: opts.exported_at,
        events: finished.events,
    };
    (Some(log), problems)
}

/// Records from after the evaluation time are not evidence of anything that
/// happened before it; the causes differ in what fixes them.
fn after_anchor_words(count: u64, anchor: Timestamp, newest: Timestamp) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!(
        "{count} record{s} dated after the evaluation time {anchor} (the newest at {newest}) were set aside: the server's clock was wrong when they were written, --now is earlier than the export (deliberately looking back, or a mistake), or the records are forged"
    )
}

fn problem(location: String, error: String, partial: bool) -> CollectionProblem {
    CollectionProblem { source: SourceKind::Events, location, error, partial }
}

/// Opens a file and tells whether it starts with the evtx magic.
fn open_detect(path: &Path) -> std::io::Result<(File, bool)> {
    let mut file = crate::evidence_file::open(path, crate::evidence_file::cap::EVENT_LOG)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut head = [0u8; 8];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok((file, n == head.len() && &head == EVTX_MAGIC))
}

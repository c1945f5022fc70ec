//! Event XML: finding records in a stream, the cheap provider/time pre-filter,
//! and the full parse of the records that matter.
//!
//! A record is everything up to and including a `</Event>` end tag. That tag
//! cannot occur inside a record's text (a `<` there is always escaped), so a
//! substring search finds records without parsing the other providers' XML,
//! whichever producer wrote the file and whatever is between records.

use super::decode::{TextEncoding, Utf8Source};
use super::retention::Window;
use super::time::parse_system_time;
use super::{EventError, EventErrorKind, Position, Providers, RecordRef, ScanStats, PHS_PROVIDER};
use memchr::memmem::Finder;
use phs_model::Event;
use quick_xml::events::Event as XmlEvent;
use quick_xml::reader::Reader;
use std::io::Read;

const END_TAG: &[u8] = b"</Event>";

/// A record (or junk without any `</Event>`) longer than this is skipped: it
/// bounds memory on a file that is not event XML at all. Real records are a
/// few KB; a 611 with a long stack trace is still far below this.
const MAX_RECORD: usize = 16 << 20;

/// The read buffer starts small (a short input costs no big allocation) and
/// doubles while reads fill it, up to a few MB so reads are large and records
/// rarely straddle two reads. Past that it grows only for a record longer
/// than the free space.
const INITIAL_BUFFER: usize = 16 << 10;
const TARGET_BUFFER: usize = 4 << 20;

/// Free space below which a full-size buffer still grows before a read.
const MIN_READ: usize = 256 << 10;

/// Elements nested deeper than this inside one record are refused: real
/// records nest five deep.
const MAX_DEPTH: usize = 32;

/// How much of unexpected text an error quotes.
const QUOTE_LEN: usize = 40;

/// Where the record being handled is, to turn offsets inside it into
/// positions in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Locator {
    Stream { base: u64, utf16: bool },
    Evtx { record_id: u64 },
}

impl Locator {
    fn at(self, rel: usize) -> Position {
        match self {
            // Saturating: `rel` may be a parser's "unknown" usize::MAX.
            Locator::Stream { base, utf16 } => Position::Byte { offset: base.saturating_add(rel as u64), utf16 },
            Locator::Evtx { record_id } => Position::EvtxRecord(record_id),
        }
    }
}

struct Finders {
    start: Finder<'static>,
    /// A record start with attributes, as every producer writes it
    /// (`<Event xmlns=…>`): unlike `<Event`, it never matches the
    /// `<EventID>` / `<EventData>` inside a record, so looking for a second
    /// start in each record costs one fast pass.
    next_start: Finder<'static>,
    provider: Finder<'static>,
    system_time: Finder<'static>,
    record_id: Finder<'static>,
}

impl Finders {
    fn new() -> Self {
        Finders {
            start: Finder::new(b"<Event"),
            next_start: Finder::new(b"<Event "),
            provider: Finder::new(b"<Provider"),
            system_time: Finder::new(b"SystemTime"),
            record_id: Finder::new(b"<EventRecordID>"),
        }
    }
}

/// Where the handler sends the records it selects.
pub(crate) enum Output<'w, F> {
    /// Parse each selected record now and call back with it.
    Callback(F),
    /// Hand Directory Synchronization records to the retention window
    /// unparsed: most of a long log's PHS records fall out of the window, and
    /// parsing only the ones that stay is what keeps a scan close to I/O speed.
    Window { window: &'w mut Window, source: usize },
}

/// Receives records, keeps the counts, and hands selected events on.
pub(crate) struct RecordHandler<'a, 'w, F> {
    file: &'a str,
    providers: Providers,
    stats: ScanStats,
    output: Output<'w, F>,
    finders: Finders,
    /// Records dated after this are set aside (see [`Window`]).
    anchor: Option<jiff::Timestamp>,
}

impl<'a, 'w, F: FnMut(Event)> RecordHandler<'a, 'w, F> {
    pub(crate) fn new(file: &'a str, providers: Providers, output: Output<'w, F>) -> Self {
        let anchor = match &output {
            Output::Window { window, .. } => window.anchor(),
            Output::Callback(_) => None,
        };
        RecordHandler { file, providers, stats: ScanStats::default(), output, finders: Finders::new(), anchor }
    }

    pub(crate) fn into_stats(self) -> ScanStats {
        self.stats
    }

    pub(crate) fn error(&self, kind: EventErrorKind) -> EventError {
        EventError { file: self.file.to_owned(), kind }
    }

    pub(crate) fn damage(&mut self, kind: EventErrorKind) {
        self.stats.damage_count += 1;
        if self.stats.damage.is_none() {
            self.stats.damage = Some(self.error(kind));
        }
    }

    /// A record that was found but not used.
    pub(crate) fn skip(&mut self, kind: EventErrorKind) {
        self.stats.skipped_records += 1;
        if self.stats.first_skipped.is_none() {
            self.stats.first_skipped = Some(self.error(kind));
        }
    }

    pub(crate) fn count_record(&mut self) {
        self.stats.records_read += 1;
    }

    /// Counts a record's time; false when it is after the anchor, which
    /// sets the record aside: a record from the future (clock skew, a wrong
    /// `--now`, a forged record) must not stretch the log's reach or push
    /// the rest of the log out of retention.
    fn saw_time(&mut self, t: jiff::Timestamp, phs: bool) -> bool {
        if self.anchor.is_some_and(|a| t > a) {
            self.stats.after_anchor += 1;
            if self.stats.newest_after_anchor.is_none_or(|n| t > n) {
                self.stats.newest_after_anchor = Some(t);
            }
            return false;
        }
        widen(&mut self.stats.oldest, &mut self.stats.newest, t);
        if phs {
            widen(&mut self.stats.phs_oldest, &mut self.stats.phs_newest, t);
        }
        true
    }

    /// A Directory Synchronization record that could not be read: it may
    /// have been the one error a check looks for.
    fn phs_unreadable(&mut self, time: Option<jiff::Timestamp>) {
        self.stats.phs_unreadable.push(time);
    }

    /// Handles the bytes from the end of the previous record through the end
    /// of this one's `</Event>` (or, for evtx, one rendered record).
    pub(crate) fn segment(&mut self, seg: &[u8], loc: Locator) {
        let Some(start) = find_event_start(seg, &self.finders.start) else {
            // An end tag with no start: report it as text outside records.
            self.unexpected(seg, 0, loc);
            return;
        };
        let (gap, mut record) = seg.split_at(start);
        if let Err(at) = check_gap(gap) {
            self.unexpected(gap, at, loc);
        }
        let mut rloc = shift(loc, start);
        // A record cut off and directly followed by the next one (a log
        // copied while it was written, exports pasted together): the cut one
        // is reported, the next one still counts.
        while let Some(next) = record.get(1..).and_then(|r| self.finders.next_start.find(r)).map(|i| i + 1) {
            self.cut_off(&record[..next], rloc);
            record = &record[next..];
            rloc = shift(rloc, next);
        }
        self.stats.records_read += 1;
        self.record(record, rloc);
    }

    /// What is left after the last `</Event>`: whitespace and a closing
    /// `</Events>`, or a record cut off by the end of the input.
    pub(crate) fn tail(&mut self, tail: &[u8], loc: Locator) {
        let Some(start) = find_event_start(tail, &self.finders.start) else {
            if let Err(at) = check_gap(tail) {
                self.unexpected(tail, at, loc);
            }
            return;
        };
        let (gap, record) = tail.split_at(start);
        if let Err(at) = check_gap(gap) {
            self.unexpected(gap, at, loc);
        }
        self.cut_off(record, shift(loc, start));
    }

    /// A record that stops before its `</Event>`: named with the element the
    /// cut fell in, unless the text before the cut is already broken.
    fn cut_off(&mut self, record: &[u8], rloc: Locator) {
        let text = String::from_utf8_lossy(record);
        let element = match parse_record(&text, rloc) {
            Err(Failure::Xml { element, at, .. }) if !text.get(at..).unwrap_or("").contains('>') => element,
            Err(Failure::Eof { element }) => element,
            Err(Failure::Xml { element, at, detail }) => {
                // A real syntax error before the cut: name it as such.
                self.damage(EventErrorKind::Malformed { at: rloc.at(at), element, detail });
                return;
            }
            // `<Event .../>`: complete but empty; it has no fields to use.
            Ok(_) | Err(Failure::Field(_)) => "Event".to_owned(),
        };
        self.damage(EventErrorKind::Truncated { at: rloc.at(record.len()), element, record_start: rloc.at(0) });
    }

    fn unexpected(&mut self, text: &[u8], at: usize, loc: Locator) {
        let rest = text.get(at..).unwrap_or_default();
        let quote = rest.get(..QUOTE_LEN).unwrap_or(rest);
        self.damage(EventErrorKind::Unexpected { at: loc.at(at), found: String::from_utf8_lossy(quote).into_owned() });
    }

    /// One record, starting at its `<Event`.
    fn record(&mut self, rec: &[u8], loc: Locator) {
        let provider = provider_name(rec, &self.finders.provider);
        // Where to look for the time: TimeCreated comes after Provider.
        let from = provider.map_or(0, |(_, end)| end);
        // None when the pre-filter could not read the name: the full parse
        // then says what is wrong with the record.
        let known_phs = provider.map(|(name, _)| is_phs_name(name));
        if self.providers == Providers::Phs && known_phs == Some(false) {
            // The common case: another provider. Only its time is needed.
            match system_time(rec, from, &self.finders.system_time) {
                Some(raw) => match parse_system_time(raw) {
                    Some(t) => {
                        self.saw_time(t, false);
                    }
                    None => {
                        let record = self.record_ref(rec, loc);
                        self.skip(bad_time(raw, record));
                    }
                },
                None => {
                    let record = self.record_ref(rec, loc);
                    self.skip(EventErrorKind::MissingField { field: "TimeCreated SystemTime", record });
                }
            }
            return;
        }
        let known_phs = known_phs == Some(true);
        if known_phs {
            self.stats.phs_records += 1;
            if matches!(self.output, Output::Window { .. }) {
                let time = system_time(rec, from, &self.finders.system_time).and_then(parse_system_time);
                if let Some(time) = time {
                    if self.saw_time(time, true) {
                        if let Output::Window { window, source } = &mut self.output {
                            window.push_raw(rec, time, loc, *source);
                        }
                    }
                    return;
                }
                // Without a readable time the window cannot place it: parse
                // now, which reports what is wrong.
            }
        }
        match parse_bytes(rec, loc) {
            Ok(event) => {
                let phs = event.is_phs_provider();
                if phs && !known_phs {
                    self.stats.phs_records += 1;
                }
                if !self.saw_time(event.time, phs) {
                    return;
                }
                match &mut self.output {
                    Output::Callback(f) if phs || self.providers == Providers::All => f(event),
                    Output::Window { window, source } if phs => window.push(event, *source),
                    _ => {}
                }
            }
            Err(kind) => {
                // The record still tells how far the log reaches if its
                // time is readable.
                let time = system_time(rec, 0, &self.finders.system_time).and_then(parse_system_time);
                let in_range = time.is_none_or(|t| self.saw_time(t, known_phs));
                if known_phs && in_range {
                    self.phs_unreadable(time);
                }
                self.skip(kind);
            }
        }
    }

    /// The record's EventRecordID if it has a readable one, else its position.
    /// Only used on the error path, so it may search the whole record.
    fn record_ref(&self, rec: &[u8], loc: Locator) -> RecordRef {
        if let Locator::Evtx { record_id } = loc {
            return RecordRef::Id(record_id);
        }
        self.finders
            .record_id
            .find(rec)
            .and_then(|i| {
                let digits = rec.get(i + b"<EventRecordID>".len()..)?;
                let end = memchr::memchr(b'<', digits)?;
                std::str::from_utf8(digits.get(..end)?).ok()?.trim().parse().ok()
            })
            .map_or(RecordRef::At(loc.at(0)), RecordRef::Id)
    }
}

fn widen(oldest: &mut Option<jiff::Timestamp>, newest: &mut Option<jiff::Timestamp>, t: jiff::Timestamp) {
    if oldest.is_none_or(|o| t < o) {
        *oldest = Some(t);
    }
    if newest.is_none_or(|n| t > n) {
        *newest = Some(t);
    }
}

fn shift(loc: Locator, by: usize) -> Locator {
    match loc {
        Locator::Stream { base, utf16 } => Locator::Stream { base: base.saturating_add(by as u64), utf16 },
        evtx => evtx,
    }
}

fn bad_time(raw: &[u8], record: RecordRef) -> EventErrorKind {
    EventErrorKind::BadField {
        field: "TimeCreated SystemTime",
        value: quote(&String::from_utf8_lossy(raw)),
        expected: "a valid time",
        record,
    }
}

fn quote(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn is_phs_name(raw: &[u8]) -> bool {
    if raw.eq_ignore_ascii_case(PHS_PROVIDER.as_bytes()) {
        return true;
    }
    // An entity-encoded name is legal XML, if unusual: decode before comparing.
    if memchr::memchr(b'&', raw).is_some() {
        let text = String::from_utf8_lossy(raw);
        if let Ok(name) = quick_xml::escape::unescape(&text) {
            return name.eq_ignore_ascii_case(PHS_PROVIDER);
        }
    }
    false
}

/// Offset of the first `<Event` start tag (not `<Events`, `<EventData`, …).
fn find_event_start(seg: &[u8], finder: &Finder<'_>) -> Option<usize> {
    let mut from = 0;
    loop {
        let i = from + finder.find(seg.get(from..)?)?;
        match seg.get(i + 6) {
            None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') => return Some(i),
            Some(_) => from = i + 6,
        }
    }
}

/// Checks that text between records is only what producers put there:
/// whitespace, `<?xml ?>` declarations, comments, a DOCTYPE, and the
/// `<Events>` wrapper's tags. Returns the offset of anything else.
fn check_gap(gap: &[u8]) -> Result<(), usize> {
    let mut i = 0;
    loop {
        while gap.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        let Some(rest) = gap.get(i..).filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        let close: &[u8] = if rest.starts_with(b"<?") {
            b"?>"
        } else if rest.starts_with(b"<!--") {
            b"-->"
        } else if rest.starts_with(b"<!DOCTYPE")
            || starts_with_tag(rest, b"<Events")
            || starts_with_tag(rest, b"</Events")
        {
            b">"
        } else {
            return Err(i);
        };
        match memchr::memmem::find(rest, close) {
            Some(end) => i += end + close.len(),
            None => return Err(i),
        }
    }
}

fn starts_with_tag(s: &[u8], tag: &[u8]) -> bool {
    s.starts_with(tag) && matches!(s.get(tag.len()), Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/'))
}

/// The raw value of `<Provider Name=...>` and the offset just past the tag.
fn provider_name<'r>(rec: &'r [u8], finder: &Finder<'_>) -> Option<(&'r [u8], usize)> {
    let p = finder.find(rec)? + b"<Provider".len();
    if !matches!(rec.get(p), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        return None;
    }
    let tag_len = memchr::memchr(b'>', rec.get(p..)?)?;
    let tag = rec.get(p..p + tag_len)?;
    // The tag is short: look at each `N` rather than build a searcher.
    for at in memchr::memchr_iter(b'N', tag) {
        // `EventSourceName=` also contains `Name=`.
        if tag.get(at..at + 4) != Some(b"Name") || !tag.get(at.wrapping_sub(1)).is_some_and(|b| b.is_ascii_whitespace())
        {
            continue;
        }
        if let Some(value) = attr_value(tag, at + 4) {
            return Some((value, p + tag_len));
        }
    }
    None
}

/// The value of an attribute whose name ends just before `at`: `="…"` or `='…'`,
/// with optional whitespace around `=`.
fn attr_value(s: &[u8], mut at: usize) -> Option<&[u8]> {
    while s.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    if s.get(at) != Some(&b'=') {
        return None;
    }
    at += 1;
    while s.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    let q = *s.get(at).filter(|q| matches!(q, b'"' | b'\''))?;
    let value = s.get(at + 1..)?;
    let len = memchr::memchr(q, value)?;
    value.get(..len)
}

/// The raw SystemTime attribute value, searching from `from`.
fn system_time<'r>(rec: &'r [u8], from: usize, finder: &Finder<'_>) -> Option<&'r [u8]> {
    let rest = rec.get(from..)?;
    let i = finder.find(rest)?;
    attr_value(rest, i + b"SystemTime".len())
}

/// Why a full record parse failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The XML itself, at an offset inside the record.
    Xml { at: usize, element: String, detail: String },
    /// The record's text ended with elements open.
    Eof { element: String },
    /// A field is missing or bad.
    Field(EventErrorKind),
}

/// The fields as they appear, before validation: validation needs the
/// record id, which comes late in `System`.
#[derive(Default)]
struct RawFields {
    provider: Option<String>,
    event_id: Option<String>,
    qualifiers: Option<String>,
    level: Option<String>,
    time: Option<String>,
    record_id: Option<String>,
    computer: Option<String>,
    data: Vec<String>,
    message: Option<String>,
}

/// Which field the text being read belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    EventId,
    Level,
    RecordId,
    Computer,
    Data,
    Message,
}

fn path(stack: &[String]) -> String {
    if stack.is_empty() {
        "Event".to_owned()
    } else {
        stack.join("/")
    }
}

/// Parses one complete record from raw bytes, mapping failures to errors.
pub(crate) fn parse_bytes(rec: &[u8], loc: Locator) -> Result<Event, EventErrorKind> {
    // Lossy: a legacy-codepage export with one odd byte in a DN is still
    // worth reading; the offsets after such a byte shift slightly.
    let text = String::from_utf8_lossy(rec);
    parse_record(&text, loc).map_err(|failure| match failure {
        Failure::Field(kind) => kind,
        Failure::Xml { at, element, detail } => EventErrorKind::Malformed { at: loc.at(at), element, detail },
        Failure::Eof { element } => EventErrorKind::Malformed {
            at: loc.at(rec.len()),
            element,
            detail: "the record ends before its elements are closed".to_owned(),
        },
    })
}

/// Parses one complete record (starting at `<Event`) into an [`Event`].
pub(crate) fn parse_record(text: &str, loc: Locator) -> Result<Event, Failure> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::with_capacity(8);
    let mut raw = RawFields::default();
    let mut target: Option<Target> = None;
    let mut buf = String::new();
    let mut closed = false;
    loop {
        let ev = reader.read_event().map_err(|e| Failure::Xml {
            at: usize::try_from(reader.error_position()).unwrap_or(usize::MAX),
            element: path(&stack),
            detail: e.to_string(),
        })?;
        let xml_err = |reader: &Reader<&[u8]>, stack: &[String], detail: String| Failure::Xml {
            at: usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX),
            element: path(stack),
            detail,
        };
        match ev {
            XmlEvent::Start(ref s) | XmlEvent::Empty(ref s) => {
                let empty = matches!(ev, XmlEvent::Empty(_));
                let name = s.local_name().as_ref().to_owned();
                if closed {
                    return Err(xml_err(&reader, &stack, format!("<{name}> after the end of the record")));
                }
                if stack.is_empty() && name != "Event" {
                    return Err(xml_err(&reader, &stack, format!("expected <Event>, found <{name}>")));
                }
                if stack.len() >= MAX_DEPTH {
                    // Real records nest five deep; a deeper one is hostile or
                    // broken, and each level costs memory and time.
                    return Err(xml_err(&reader, &stack[..4], format!("elements nested deeper than {MAX_DEPTH}")));
                }
                stack.push(name);
                start_element(&stack, s, &mut raw).map_err(|d| xml_err(&reader, &stack, d))?;
                target = target_of(&stack);
                buf.clear();
                if empty {
                    end_element(target.take(), &mut buf, &mut raw);
                    stack.pop();
                    closed = stack.is_empty();
                }
            }
            XmlEvent::End(_) => {
                end_element(target.take(), &mut buf, &mut raw);
                stack.pop();
                closed = stack.is_empty();
            }
            XmlEvent::Text(t) if target.is_some() => buf.push_str(&t.xml10_content()),
            XmlEvent::CData(t) if target.is_some() => buf.push_str(&t.xml10_content()),
            XmlEvent::GeneralRef(r) if target.is_some() => match r.resolve_char_ref() {
                Ok(Some(c)) => buf.push(c),
                Ok(None) => match quick_xml::escape::resolve_predefined_entity(&r) {
                    Some(s) => buf.push_str(s),
                    None => {
                        return Err(xml_err(&reader, &stack, format!("unknown entity &{};", &*r)));
                    }
                },
                Err(e) => return Err(xml_err(&reader, &stack, e.to_string())),
            },
            XmlEvent::Eof => break,
            // Declarations, comments, processing instructions carry nothing.
            _ => {}
        }
    }
    if !closed {
        return Err(Failure::Eof { element: path(&stack) });
    }
    validate(raw, loc).map_err(Failure::Field)
}

fn target_of(stack: &[String]) -> Option<Target> {
    // Constant work per start tag: every field phs-doctor reads is three deep.
    let [a, b, c] = stack else { return None };
    match [a.as_str(), b.as_str(), c.as_str()] {
        ["Event", "System", "EventID"] => Some(Target::EventId),
        ["Event", "System", "Level"] => Some(Target::Level),
        ["Event", "System", "EventRecordID"] => Some(Target::RecordId),
        ["Event", "System", "Computer"] => Some(Target::Computer),
        ["Event", "EventData", "Data"] => Some(Target::Data),
        ["Event", "RenderingInfo", "Message"] => Some(Target::Message),
        _ => None,
    }
}

fn start_element(stack: &[String], s: &quick_xml::events::BytesStart<'_>, raw: &mut RawFields) -> Result<(), String> {
    let wanted: &[u8] = match stack {
        [a, b, c] if a == "Event" && b == "System" => match c.as_str() {
            "Provider" => b"Name",
            "EventID" => b"Qualifiers",
            "TimeCreated" => b"SystemTime",
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    for attr in s.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        if attr.key.local_name().as_ref().as_bytes() != wanted {
            continue;
        }
        let value = quick_xml::escape::unescape(&attr.value).map_err(|e| e.to_string())?.into_owned();
        match wanted {
            b"Name" => raw.provider = Some(value),
            b"Qualifiers" => raw.qualifiers = Some(value),
            _ => raw.time = Some(value),
        }
    }
    Ok(())
}

fn end_element(target: Option<Target>, buf: &mut String, raw: &mut RawFields) {
    let Some(target) = target else { return };
    let text = std::mem::take(buf);
    match target {
        Target::EventId => raw.event_id = Some(text),
        Target::Level => raw.level = Some(text),
        Target::RecordId => raw.record_id = Some(text),
        Target::Computer => raw.computer = Some(text),
        // Named `<Data Name="x">` values are kept in order too: the rules
        // only search text, and classic sources have no names anyway.
        Target::Data => raw.data.push(text),
        Target::Message => raw.message = Some(text),
    }
}

fn validate(raw: RawFields, loc: Locator) -> Result<Event, EventErrorKind> {
    let record_id = match raw.record_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| EventErrorKind::BadField {
            field: "EventRecordID",
            value: quote(s),
            expected: "a number",
            record: RecordRef::At(loc.at(0)),
        })?),
    };
    let record = match (record_id, loc) {
        (Some(id), _) | (None, Locator::Evtx { record_id: id }) => RecordRef::Id(id),
        (None, _) => RecordRef::At(loc.at(0)),
    };
    let provider = raw.provider.ok_or(EventErrorKind::MissingField { field: "System/Provider Name", record })?;
    let event_id = raw.event_id.ok_or(EventErrorKind::MissingField { field: "System/EventID", record })?;
    let event_id = number::<u32>(&event_id, "EventID", record)?;
    let qualifiers = match raw.qualifiers.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q) => Some(number::<u16>(q, "EventID Qualifiers", record)?),
    };
    let level = match raw.level.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(l) => Some(number::<u8>(l, "Level", record)?),
    };
    let time_raw = raw.time.ok_or(EventErrorKind::MissingField { field: "TimeCreated SystemTime", record })?;
    let time = parse_system_time(time_raw.as_bytes()).ok_or_else(|| bad_time(time_raw.as_bytes(), record))?;
    Ok(Event {
        provider,
        event_id,
        qualifiers,
        level,
        time,
        record_id,
        computer: raw.computer.filter(|c| !c.is_empty()),
        data: raw.data,
        message: raw.message,
    })
}

fn number<T: std::str::FromStr>(s: &str, field: &'static str, record: RecordRef) -> Result<T, EventErrorKind> {
    s.trim().parse::<T>().map_err(|_| EventErrorKind::BadField {
        field,
        value: quote(s),
        expected: "a number in range",
        record,
    })
}

/// Reads one XML file into the retention window (what `read_event_files` does).
pub(crate) fn scan_file(
    file: std::fs::File,
    name: &str,
    output: Output<'_, fn(Event)>,
) -> Result<ScanStats, EventError> {
    let mut handler = RecordHandler::new(name, Providers::Phs, output);
    scan_stream(file, &mut handler)?;
    Ok(handler.into_stats())
}

/// Reads a whole stream of event XML, handing each record to `handler`.
pub(crate) fn scan_stream<R: Read, F: FnMut(Event)>(
    input: R,
    handler: &mut RecordHandler<'_, '_, F>,
) -> Result<(), EventError> {
    let mut src = Utf8Source::new(input);
    // Zeroed once and reused: records are found in buf[pos..filled].
    let mut buf: Vec<u8> = vec![0; INITIAL_BUFFER];
    let mut filled = 0usize;
    // Offset in the decoded stream of buf[0].
    let mut base: u64 = 0;
    let mut pos = 0usize;
    let mut searched = 0usize;
    // True while skipping a region with no `</Event>` in reach.
    let mut discarding = false;
    let mut eof = false;
    let mut first_read = true;
    let end = Finder::new(END_TAG);
    let locator = |base: u64, src: &Utf8Source<R>| match src.encoding() {
        Some(TextEncoding::Utf8) | None => Locator::Stream { base: base + src.bom_len(), utf16: false },
        Some(_) => Locator::Stream { base, utf16: true },
    };
    loop {
        while let Some(i) = buf.get(searched..filled).and_then(|b| end.find(b)) {
            let stop = searched + i + END_TAG.len();
            if discarding {
                discarding = false;
            } else if let Some(seg) = buf.get(pos..stop) {
                handler.segment(seg, locator(base + pos as u64, &src));
            }
            pos = stop;
            searched = stop;
        }
        if eof {
            break;
        }
        // Resume the search where a `</Event>` split across reads could start.
        searched = filled.saturating_sub(END_TAG.len() - 1).max(pos);
        if pos > 0 {
            buf.copy_within(pos..filled, 0);
            filled -= pos;
            searched -= pos;
            base += pos as u64;
            pos = 0;
        }
        if filled > MAX_RECORD {
            if !discarding {
                let loc = locator(base, &src);
                handler.damage(EventErrorKind::TooLong { at: loc.at(0), limit: MAX_RECORD });
                discarding = true;
            }
            // Keep only what could be the start of a `</Event>`.
            let keep = END_TAG.len() - 1;
            buf.copy_within(filled - keep..filled, 0);
            base += (filled - keep) as u64;
            filled = keep;
            searched = 0;
        }
        let free = buf.len() - filled;
        if (buf.len() < TARGET_BUFFER && free < buf.len() / 2) || free < MIN_READ {
            // `filled` is at most MAX_RECORD here, so a record longer than
            // the free space keeps the buffer below about twice that.
            buf.resize(buf.len() * 2, 0);
        }
        match src.read_into(&mut buf[filled..]) {
            Ok(0) => eof = true,
            Ok(n) => filled += n,
            Err(e) if first_read => {
                return Err(handler.error(EventErrorKind::Io(e.to_string())));
            }
            Err(e) => {
                let loc = locator(base + filled as u64, &src);
                handler.damage(EventErrorKind::Io(format!("{e} ({})", loc.at(0))));
                eof = true;
            }
        }
        first_read = false;
    }
    if !discarding {
        if let Some(tail) = buf.get(pos..filled) {
            handler.tail(tail, locator(base + pos as u64, &src));
        }
    }
    // After the tail: a cut-off file's odd last byte is secondary to the cut.
    if src.replaced() > 0 {
        handler.damage(EventErrorKind::BadUtf16 { replaced: src.replaced() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Locator {
        Locator::Stream { base: 0, utf16: false }
    }

    #[test]
    fn gap_accepts_producer_wrappers_and_rejects_text() {
        assert_eq!(check_gap(b"\r\n"), Ok(()));
        assert_eq!(check_gap(b"<?xml version=\"1.0\"?>\n<Events>\n"), Ok(()));
        assert_eq!(check_gap(b"</Events>\r\n<!-- x -->"), Ok(()));
        assert_eq!(check_gap(b"  hello"), Err(2));
        assert_eq!(check_gap(b"<EventsX>"), Err(0));
        assert_eq!(check_gap(b"<?xml"), Err(0));
    }

    #[test]
    fn provider_prefilter_reads_either_quote_and_skips_event_source_name() {
        let f = Finder::new(b"<Provider");
        let rec = b"<Event><System><Provider EventSourceName='x' Name = \"Directory Synchronization\"/>";
        let (name, _) = provider_name(rec, &f).unwrap();
        assert_eq!(name, b"Directory Synchronization");
        assert!(is_phs_name(b"directory SYNCHRONIZATION"));
        assert!(is_phs_name(b"Directory&#32;Synchronization"));
        assert!(!is_phs_name(b"Directory Synchronization2"));
        assert_eq!(provider_name(b"<ProviderX Name='a'>", &f), None);
    }

    #[test]
    fn event_start_skips_lookalikes() {
        let f = Finder::new(b"<Event");
        assert_eq!(find_event_start(b"<Events><Event xmlns='x'>", &f), Some(8));
        assert_eq!(find_event_start(b"<EventData>", &f), None);
        assert_eq!(find_event_start(b"ab<Event", &f), Some(2));
    }

    #[test]
    fn parse_reports_path_and_offset() {
        let text = "<Event><System><TimeCreated SystemTime='x'/><EventID>1 & 2</EventID></System></Event>";
        match parse_record(text, loc()) {
            Err(Failure::Xml { element, .. }) => assert_eq!(element, "Event/System/EventID"),
            other => panic!("{other:?}"),
        }
    }
}

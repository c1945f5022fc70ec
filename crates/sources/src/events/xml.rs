//! Event XML records: where each one is, the cheap provider/time pre-filter,
//! and the counts; the records that matter go on to [`super::parse`].
//!
//! Records come from [`super::stream`] (exported XML, split at each
//! `</Event>`) or from the evtx reader (one rendered record at a time).

use super::parse::{bad_time, parse_bytes, parse_record, Failure};
use super::retention::Window;
use super::time::parse_system_time;
use super::{EventError, EventErrorKind, Position, Providers, RecordRef, ScanStats, PHS_PROVIDER};
use memchr::memmem::Finder;
use phs_model::Event;

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
    pub(crate) fn at(self, rel: usize) -> Position {
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

    /// A record the evtx reader found to be another provider's without
    /// rendering it: only its count and time matter.
    pub(crate) fn other_provider(&mut self, time: jiff::Timestamp) {
        self.stats.records_read += 1;
        self.saw_time(time, false);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

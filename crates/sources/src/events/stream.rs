//! Finding records in a stream of event XML.
//!
//! A record is everything up to and including a `</Event>` end tag. That tag
//! cannot occur inside a record's text (a `<` there is always escaped), so a
//! substring search finds records without parsing the other providers' XML,
//! whichever producer wrote the file and whatever is between records.

use super::decode::{TextEncoding, Utf8Source};
use super::xml::{Locator, Output, RecordHandler};
use super::{EventError, EventErrorKind, Providers, ScanStats};
use memchr::memmem::Finder;
use phs_model::Event;
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

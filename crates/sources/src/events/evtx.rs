//! `.evtx` files, through the `evtx` crate.
//!
//! Each record is rendered to XML by the crate and goes through the same
//! pre-filter and parser as exported XML, so both paths map fields the same
//! way. The crate reads one 64 KiB chunk at a time, so memory stays flat.

use super::xml::{Locator, Output, RecordHandler};
use super::{EventError, EventErrorKind, Providers, ScanStats};
use evtx::{EvtxParser, ParserSettings};
use phs_model::Event;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

const FILE_HEADER: u64 = 4096;
const CHUNK: u64 = 65536;

pub(crate) fn scan_evtx_file<F: FnMut(Event)>(
    mut file: File,
    name: &str,
    providers: Providers,
    output: Output<'_, F>,
) -> Result<ScanStats, EventError> {
    let err = |kind| EventError { file: name.to_owned(), kind };
    let len = file
        .seek(SeekFrom::End(0))
        .and_then(|len| file.seek(SeekFrom::Start(0)).map(|_| len))
        .map_err(|e| err(EventErrorKind::Io(e.to_string())))?;
    // The crate silently ignores a last chunk that is cut short. Padding it
    // with zeros up to a whole chunk lets it read the records before the cut
    // (records past it then fail, and are reported).
    let partial = len.saturating_sub(FILE_HEADER) % CHUNK;
    let padded_len = if len > FILE_HEADER && partial != 0 { len + (CHUNK - partial) } else { len };
    let input = Padded { inner: file, real_len: len, len: padded_len, pos: 0 };
    let parser = EvtxParser::from_read_seek(input)
        .map_err(|e| err(EventErrorKind::Evtx(format!("not a readable evtx file: {}", chain(&e)))))?;
    // Checksums off: a chunk with a wrong CRC (a log copied while being
    // written, or the deliberately broken sample) still holds good records.
    // Carving stale records from slack space stays off: those are leftovers
    // of overwritten or cleared records that would resurrect old events.
    let settings = ParserSettings::new().validate_checksums(false).indent(false);
    let mut parser = parser.with_configuration(settings);
    let mut handler = RecordHandler::new(name, providers, output);
    if padded_len != len {
        handler.damage(EventErrorKind::EvtxTruncated { len, chunk: (len - FILE_HEADER) / CHUNK });
    }
    for record in parser.records() {
        match record {
            Ok(r) => {
                let loc = Locator::Evtx { record_id: r.event_record_id };
                handler.segment(r.data.as_bytes(), loc);
            }
            Err(e) => {
                let text = chain(&e);
                match e {
                    // A whole chunk lost is damage to the file, not a record.
                    evtx::err::EvtxError::FailedToParseChunk { .. } => {
                        handler.damage(EventErrorKind::Evtx(text));
                    }
                    _ => {
                        handler.count_record();
                        handler.skip(EventErrorKind::Evtx(text));
                    }
                }
            }
        }
    }
    Ok(handler.into_stats())
}

/// The error and its causes on one line: the crate's top-level messages
/// name the chunk or record, the causes say what was wrong.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// A file seen as if zeros followed it up to `len`.
struct Padded {
    inner: File,
    real_len: u64,
    len: u64,
    pos: u64,
}

impl Read for Padded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        let n = if self.pos < self.real_len {
            let want = usize::try_from(self.real_len - self.pos).unwrap_or(usize::MAX).min(buf.len());
            self.inner.read(&mut buf[..want])?
        } else {
            let want = usize::try_from(self.len - self.pos).unwrap_or(usize::MAX).min(buf.len());
            buf[..want].fill(0);
            want
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Padded {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.inner.seek(SeekFrom::Start(target.min(self.real_len)))?;
        self.pos = target;
        Ok(target)
    }
}

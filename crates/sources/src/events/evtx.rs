//! `.evtx` files, through the `evtx` crate.
//!
//! The records that can be Directory Synchronization ones (see
//! [`super::evtx_filter`]), or all of them for [`Providers::All`], are
//! rendered to XML by the crate and go through the same pre-filter and parser
//! as exported XML, so both paths map fields the same way. The others are
//! never rendered: they are counted, with the time in their record header
//! (when the log service wrote them, which is their `TimeCreated`), which is
//! what makes a scan faster than a full dump. The crate reads one 64 KiB
//! chunk at a time, so memory stays flat.
//!
//! A live log is preallocated: the space after its last chunk in use is
//! zeros, not damage, and is passed over without a word.

use super::evtx_filter::{may_be_phs, TemplateMemo};
use super::xml::{Locator, Output, RecordHandler};
use super::{EventError, EventErrorKind, Providers, ScanStats};
use evtx::err::{ChunkError, DeserializationError, EvtxError};
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
    // (records past it then fail, and are reported). A short tail of zeros
    // is unused preallocated space (a live log's size need not be a whole
    // number of chunks), not a cut.
    let partial = len.saturating_sub(FILE_HEADER) % CHUNK;
    let cut = len > FILE_HEADER
        && partial != 0
        && !all_zero(&mut file, len - partial).map_err(|e| err(EventErrorKind::Io(e.to_string())))?;
    let padded_len = if cut { len + (CHUNK - partial) } else { len };
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
    if cut {
        handler.damage(EventErrorKind::EvtxTruncated { len, chunk: (len - FILE_HEADER) / CHUNK });
    }
    let all = providers == Providers::All;
    // The memo is cloned empty for each chunk, as the closure is.
    let mut memo = TemplateMemo::default();
    let seen = parser.serialized_records(move |record| {
        let record = record?;
        let (offset, size) = (record.binxml_offset as usize, record.binxml_size as usize);
        if all || may_be_phs(record.chunk.data, offset, size, &mut memo) {
            let r = record.into_xml_bytes()?;
            Ok(Seen::Rendered { record_id: r.event_record_id, xml: r.data })
        } else {
            Ok(Seen::Other { time: record.timestamp })
        }
    });
    for record in seen {
        match record {
            Ok(Seen::Rendered { record_id, xml }) => handler.segment(&xml, Locator::Evtx { record_id }),
            Ok(Seen::Other { time }) => handler.other_provider(time),
            Err(e) => {
                let text = chain(&e);
                match e {
                    EvtxError::FailedToParseChunk { chunk_id, source } if zero_magic(&source) => {
                        handler.damage(EventErrorKind::Evtx(format!(
                            "chunk {chunk_id} has an all-zero header but data after it: space the log had not finished writing, or overwritten; nothing in it could be read"
                        )));
                    }
                    // A whole chunk lost is damage to the file, not a record.
                    EvtxError::FailedToParseChunk { .. } => {
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

/// What the crate's worker hands back for one record.
enum Seen {
    Rendered {
        record_id: u64,
        xml: Vec<u8>,
    },
    /// Another provider's record, by its header's time.
    Other {
        time: jiff::Timestamp,
    },
}

/// Whether a chunk failed because its header's magic is zeros.
fn zero_magic(e: &ChunkError) -> bool {
    matches!(e, ChunkError::FailedToParseChunkHeader(DeserializationError::InvalidEvtxChunkMagic { magic }) if *magic == [0; 8])
}

/// Whether the file is all zeros from `from` to its end (a few KB at most:
/// less than one chunk). Leaves the position at the start.
fn all_zero(file: &mut File, from: u64) -> io::Result<bool> {
    file.seek(SeekFrom::Start(from))?;
    let mut tail = Vec::new();
    file.by_ref().take(CHUNK).read_to_end(&mut tail)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(tail.iter().all(|&b| b == 0))
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

#[cfg(test)]
mod tests {
    use super::super::evtx_filter::may_be_provider;
    use super::super::parse::parse_bytes;
    use super::*;
    use std::collections::BTreeMap;

    /// On the real sample, for every provider in it: the filter selects every
    /// record of that provider (what the full render says), and passes over
    /// some others; and each record header's time is its `TimeCreated`.
    #[test]
    fn the_prefilter_selects_every_record_of_each_provider_in_the_real_sample() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/evtx-classic-application/Application_no_crc32.evtx"
        );
        let bytes = std::fs::read(path).unwrap();
        let chunk = &bytes[FILE_HEADER as usize..(FILE_HEADER + CHUNK) as usize];
        let parser = EvtxParser::from_buffer(bytes.clone()).unwrap();
        let mut parser = parser.with_configuration(ParserSettings::new().validate_checksums(false));
        // Record id -> (provider, binxml offset and size), header time checked on the way.
        let mut records = BTreeMap::new();
        let seen = parser.serialized_records(|r| {
            let r = r?;
            let at = (r.binxml_offset as usize, r.binxml_size as usize, r.timestamp);
            Ok((at, r.into_xml_bytes()?))
        });
        for item in seen {
            let ((offset, size, header_time), xml) = item.unwrap();
            let event = parse_bytes(&xml.data, Locator::Evtx { record_id: xml.event_record_id }).unwrap();
            assert_eq!(event.time, header_time, "record {}", xml.event_record_id);
            records.insert(xml.event_record_id, (event.provider, offset, size));
        }
        assert_eq!(records.len(), 17);
        let providers: std::collections::BTreeSet<&str> = records.values().map(|(p, _, _)| p.as_str()).collect();
        assert!(providers.len() >= 5, "{providers:?}");
        for provider in providers {
            let mut memo = TemplateMemo::default();
            let mut passed_over = 0;
            for (id, (p, offset, size)) in &records {
                let selected = may_be_provider(provider, chunk, *offset, *size, &mut memo);
                if p == provider {
                    assert!(selected, "record {id} of {provider} was passed over");
                } else if !selected {
                    passed_over += 1;
                }
            }
            assert!(passed_over > 0, "{provider}: every record selected");
        }
        // None of them is Directory Synchronization's.
        let mut memo = TemplateMemo::default();
        assert!(records.values().all(|(_, o, s)| !may_be_phs(chunk, *o, *s, &mut memo)));
    }
}

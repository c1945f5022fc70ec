//! `.evtx` files, through the `evtx` crate.
//!
//! The records that can be Directory Synchronization ones (see
//! [`super::evtx_filter`]), or all of them for [`Providers::All`], are
//! rendered to XML by the crate and go through the same pre-filter and parser
//! as exported XML, so both paths map fields the same way. The others are
//! never rendered: they are counted, with the time in their record header
//! (when the log service wrote them, which is their `TimeCreated`), which is
//! what makes a scan faster than a full dump.
//!
//! Chunks are independent, so they are built on worker threads, one per
//! core ([`super::in_order`]), while this thread reads the next ones and
//! hands the records on in the log's order; a few 64 KiB chunks are in
//! flight at a time, so memory stays flat.
//!
//! A live log is preallocated: the space after its last chunk in use is
//! zeros, not damage, and is passed over without a word.

use super::evtx_filter::{may_be_phs, plain_chunk, TemplateMemo};
use super::in_order::{self, map_in_order};
use super::xml::{Locator, Output, RecordHandler};
use super::{EventError, EventErrorKind, Providers, ScanStats};
use evtx::err::{ChunkError, DeserializationError, EvtxError};
use evtx::{EvtxChunkData, EvtxParser, ParserSettings};
use phs_model::Event;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

const FILE_HEADER: u64 = 4096;
const CHUNK: u64 = 65536;

pub(crate) fn scan_evtx_file<F: FnMut(Event)>(
    file: File,
    name: &str,
    providers: Providers,
    output: Output<'_, F>,
) -> Result<ScanStats, EventError> {
    scan_with_workers(file, name, providers, output, in_order::workers())
}

/// [`scan_evtx_file`] with chunks built on `workers` threads (none: on this
/// one).
fn scan_with_workers<F: FnMut(Event)>(
    mut file: File,
    name: &str,
    providers: Providers,
    output: Output<'_, F>,
    workers: usize,
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
    let mut parser = parser.with_configuration(settings());
    let mut handler = RecordHandler::new(name, providers, output);
    if cut {
        handler.damage(EventErrorKind::EvtxTruncated { len, chunk: (len - FILE_HEADER) / CHUNK });
    }
    let all = providers == Providers::All;
    let chunk_settings = Arc::new(settings());
    // Chunks are read here, in order, and built on the workers; each
    // chunk's records come back in order, so the handler sees the log as
    // one pass over it would.
    let read = |chunk| read_chunk(chunk, all, &chunk_settings);
    map_in_order(parser.chunks(), workers, read, |records| {
        for record in records {
            match record {
                Ok(Seen::Rendered { record_id, xml }) => handler.segment(&xml, Locator::Evtx { record_id }),
                Ok(Seen::Other { time }) => handler.other_provider(time),
                Err(e) => evtx_error(&mut handler, e),
            }
        }
    });
    Ok(handler.into_stats())
}

/// One chunk's records, in order: rendered when they may matter, else by
/// their header's time; or the error that lost the chunk or a record.
fn read_chunk(
    chunk: Result<EvtxChunkData, EvtxError>,
    all: bool,
    settings: &Arc<ParserSettings>,
) -> Vec<Result<Seen, EvtxError>> {
    let mut chunk = match chunk {
        Ok(chunk) => chunk,
        Err(e) => return vec![Err(e)],
    };
    // Most chunks need no rendering at all: their records are counted
    // straight from the record headers, without building their BinXML.
    if !all {
        if let Some(times) = plain_chunk(&chunk.data, &chunk.header) {
            return times.into_iter().map(|time| Ok(Seen::Other { time })).collect();
        }
    }
    let number = chunk.number.unwrap_or_default();
    let mut parsed = match chunk.parse(Arc::clone(settings)) {
        Ok(parsed) => parsed,
        Err(e) => return vec![Err(EvtxError::FailedToParseChunk { chunk_id: number, source: Box::new(e) })],
    };
    let mut memo = TemplateMemo::default();
    parsed
        .iter()
        .map(|record| {
            record.and_then(|record| {
                let (offset, size) = (record.binxml_offset as usize, record.binxml_size as usize);
                if all || may_be_phs(record.chunk.data, offset, size, &mut memo) {
                    record.into_xml_bytes().map(|r| Seen::Rendered { record_id: r.event_record_id, xml: r.data })
                } else {
                    Ok(Seen::Other { time: record.timestamp })
                }
            })
        })
        .collect()
}

// Checksums off: a chunk with a wrong CRC (a log copied while being
// written, or the deliberately broken sample) still holds good records.
// Carving stale records from slack space stays off: those are leftovers
// of overwritten or cleared records that would resurrect old events.
fn settings() -> ParserSettings {
    ParserSettings::new().validate_checksums(false).indent(false)
}

/// A chunk or a record the crate could not read.
fn evtx_error<F: FnMut(Event)>(handler: &mut RecordHandler<'_, '_, F>, e: EvtxError) {
    let text = chain(&e);
    match e {
        EvtxError::FailedToParseChunk { chunk_id, source } if zero_magic(&source) => {
            handler.damage(EventErrorKind::Evtx(format!(
                "chunk {chunk_id} has an all-zero header but data after it: space the log had not finished writing, or overwritten; nothing in it could be read"
            )));
        }
        // A whole chunk lost is damage to the file, not a record.
        EvtxError::FailedToParseChunk { .. } => handler.damage(EventErrorKind::Evtx(text)),
        _ => {
            handler.count_record();
            handler.skip(EventErrorKind::Evtx(text));
        }
    }
}

/// One record, rendered or not.
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
    use super::super::PHS_PROVIDER;
    use super::*;
    use std::collections::BTreeMap;

    /// The real sample (tests/fixtures/evtx-classic-application).
    fn sample() -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/evtx-classic-application");
        std::fs::read(format!("{dir}/Application_no_crc32.evtx")).unwrap()
    }

    /// A log of `count` copies of the sample's chunk in which the records of
    /// "Microsoft-Windows-User Profiles Service" are Directory
    /// Synchronization's, as `benches/gen-evtx.py --phs-every-chunk` makes
    /// them: the name written in place, NUL-padded to the old one's length.
    fn phs_heavy_log(count: u16) -> Vec<u8> {
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let bytes = sample();
        let mut chunk = bytes[FILE_HEADER as usize..(FILE_HEADER + CHUNK) as usize].to_vec();
        let (old, mut new) = (utf16("Microsoft-Windows-User Profiles Service"), utf16(PHS_PROVIDER));
        new.resize(old.len(), 0);
        let mut renamed = 0;
        while let Some(at) = memchr::memmem::find(&chunk, &old) {
            chunk[at..at + old.len()].copy_from_slice(&new);
            renamed += 1;
        }
        // Two records, and stale copies of them past the chunk's free space.
        assert_eq!(renamed, 4);
        let mut log = bytes[..FILE_HEADER as usize].to_vec();
        // The file header's chunk count.
        log[42..44].copy_from_slice(&count.to_le_bytes());
        for _ in 0..count {
            log.extend_from_slice(&chunk);
        }
        log
    }

    /// Scans `bytes` as a file, with chunks built on `workers` threads.
    fn scan_bytes(bytes: &[u8], providers: Providers, workers: usize) -> (ScanStats, Vec<Event>) {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut events = Vec::new();
        let stats =
            scan_with_workers(file, "test.evtx", providers, Output::Callback(|e| events.push(e)), workers).unwrap();
        (stats, events)
    }

    /// Chunks built on worker threads give what one thread gives, in the same
    /// order, errors included, on the real sample and on a log whose every
    /// chunk holds Directory Synchronization records, with a lost chunk and a
    /// broken record among them.
    #[test]
    fn chunks_built_on_workers_give_the_same_events_and_stats_as_one_thread() {
        let mut heavy = phs_heavy_log(12);
        let chunk_at = |n: u64| (FILE_HEADER + n * CHUNK) as usize;
        // Chunk 4's magic gone: the chunk is lost.
        heavy[chunk_at(4)] = b'X';
        // Chunk 7's first record (a SecurityCenter one): its BinXML starts
        // with a token that does not exist, and it is rendered (every
        // provider, or the chunk holds a candidate anyway).
        heavy[chunk_at(7) + 512 + 24] = 0xee;
        let cases = [
            ("sample", sample(), Providers::All),
            ("sample", sample(), Providers::Phs),
            ("PHS-heavy", heavy.clone(), Providers::All),
            ("PHS-heavy", heavy, Providers::Phs),
        ];
        for (name, bytes, providers) in cases {
            let one = scan_bytes(&bytes, providers, 0);
            for workers in [1, 2, 3] {
                assert_eq!(scan_bytes(&bytes, providers, workers), one, "{name}, {providers:?}, {workers} workers");
            }
        }
        let (stats, events) = scan_bytes(&phs_heavy_log(12), Providers::Phs, 2);
        assert_eq!((stats.records_read, stats.phs_records, events.len()), (12 * 17, 24, 24));
        assert!(events.iter().all(|e| e.provider == PHS_PROVIDER), "{events:?}");
    }

    /// Where the errors of the PHS-heavy log above are, and that the records
    /// of the other chunks are all counted.
    #[test]
    fn a_lost_chunk_and_a_broken_record_are_reported_where_they_are() {
        let mut heavy = phs_heavy_log(12);
        let chunk_at = |n: u64| (FILE_HEADER + n * CHUNK) as usize;
        heavy[chunk_at(4)] = b'X';
        heavy[chunk_at(7) + 512 + 24] = 0xee;
        let (stats, events) = scan_bytes(&heavy, Providers::Phs, 2);
        // Chunk 4's 17 records lost; chunk 7's broken record counted, skipped.
        assert_eq!((stats.records_read, stats.phs_records, events.len()), (11 * 17, 22, 22));
        assert_eq!(stats.damage_count, 1);
        let damage = stats.damage.unwrap().to_string();
        assert!(damage.contains("chunk number 4"), "{damage}");
        assert_eq!(stats.skipped_records, 1);
        let skipped = stats.first_skipped.unwrap().to_string();
        // Every chunk is a copy, so only the count tells it was chunk 7's alone.
        assert!(skipped.contains("record number 426"), "{skipped}");
    }

    /// On the real sample, for every provider in it: the filter selects every
    /// record of that provider (what the full render says), and passes over
    /// some others; and each record header's time is its `TimeCreated`.
    #[test]
    fn the_prefilter_selects_every_record_of_each_provider_in_the_real_sample() {
        let bytes = sample();
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

    /// The chunk walk that skips the crate agrees with the crate on the real
    /// sample, and hands the chunk back to it when a record may matter or
    /// the chunk is not well-formed.
    #[test]
    fn a_plain_chunk_is_counted_from_its_record_headers_like_the_crate_reads_it() {
        let bytes = sample();
        let mut parser = EvtxParser::from_buffer(bytes).unwrap().with_configuration(settings());
        let mut chunk = parser.chunks().next().unwrap().unwrap();
        let times = plain_chunk(&chunk.data, &chunk.header).unwrap();
        let mut parsed = chunk.parse(Arc::new(settings())).unwrap();
        let crate_times: Vec<jiff::Timestamp> = parsed.iter().map(|r| r.unwrap().timestamp).collect();
        assert_eq!(times, crate_times);
        assert_eq!(times.len(), 17);

        let data = chunk.data.clone();
        // The provider's name anywhere in a record's data.
        let mut named = data.clone();
        let name: Vec<u8> = "Directory Synchronization".encode_utf16().flat_map(u16::to_le_bytes).collect();
        named[3000..3000 + name.len()].copy_from_slice(&name);
        assert_eq!(plain_chunk(&named, &chunk.header), None);
        // A record's magic broken.
        let mut broken = data.clone();
        broken[512] = 0;
        assert_eq!(plain_chunk(&broken, &chunk.header), None);
        // A header that claims one record more than there are.
        let mut header = evtx::EvtxChunkHeader::from_bytes(&data).unwrap();
        header.last_event_record_id += 1;
        assert_eq!(plain_chunk(&data, &header), None);
    }
}

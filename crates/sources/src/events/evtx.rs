//! `.evtx` files, through the `evtx` crate.
//!
//! The records that can be Directory Synchronization ones (see
//! [`super::evtx_filter`]), or all of them for [`Providers::All`], are
//! rendered to XML by the crate and go through the same pre-filter and parser
//! as exported XML, so both paths map fields the same way. The others are
//! never rendered: they are counted, with the time in their record header
//! (when the log service wrote them, which is their `TimeCreated`), which is
//! what makes a scan faster than a full dump. In a chunk that holds
//! candidates, the others are hidden from the crate, which would otherwise
//! build every record's BinXML (see [`hiding_others`]). The crate reads one
//! 64 KiB chunk at a time, so memory stays flat.
//!
//! A live log is preallocated: the space after its last chunk in use is
//! zeros, not damage, and is passed over without a word.

use super::evtx_filter::{may_be_phs, walk_chunk, TemplateMemo, WalkedRecord, RECORD_HEADER, RECORD_MAGIC};
use super::xml::{Locator, Output, RecordHandler};
use super::{EventError, EventErrorKind, Providers, ScanStats};
use evtx::err::{ChunkError, DeserializationError, EvtxError};
use evtx::{EvtxChunk, EvtxChunkData, EvtxParser, EvtxRecord, ParserSettings};
use phs_model::Event;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

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
    let mut parser = parser.with_configuration(settings());
    let mut handler = RecordHandler::new(name, providers, output);
    if cut {
        handler.damage(EventErrorKind::EvtxTruncated { len, chunk: (len - FILE_HEADER) / CHUNK });
    }
    let all = providers == Providers::All;
    let chunk_settings = Arc::new(settings());
    for chunk in parser.chunks() {
        for record in read_chunk(chunk, all, &chunk_settings) {
            match record {
                Ok(Seen::Rendered { record_id, xml }) => handler.segment(&xml, Locator::Evtx { record_id }),
                Ok(Seen::Other { time }) => handler.other_provider(time),
                Err(e) => evtx_error(&mut handler, e),
            }
        }
    }
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
    let walked = if all { None } else { walk_chunk(&chunk.data, &chunk.header) };
    let Some(walked) = walked else { return build_chunk(&mut chunk, all, settings) };
    // Most chunks need no building at all: their records are counted
    // straight from the record headers.
    if walked.iter().all(|r| !r.may_be_phs) {
        return walked.iter().map(|r| Ok(Seen::Other { time: r.time })).collect();
    }
    hiding_others(&mut chunk, &walked, settings).unwrap_or_else(|| build_chunk(&mut chunk, all, settings))
}

/// The walked records of a chunk, with the crate building only the
/// candidates; `None`, and the chunk as it was, when the crate's walk does
/// not come to each candidate in turn.
///
/// The crate builds every record it walks to, and building is most of what
/// a chunk costs; so the others are hidden from it. Their magic is zeroed:
/// the crate's walk resyncs on the next record that has one, reporting the
/// hidden ones as unreadable, which is ignored. Nothing else of theirs
/// changes, so the template definitions and names that the candidates refer
/// to in them are still there.
fn hiding_others(
    chunk: &mut EvtxChunkData,
    walked: &[WalkedRecord],
    settings: &Arc<ParserSettings>,
) -> Option<Vec<Result<Seen, EvtxError>>> {
    let hidden: Vec<usize> = walked.iter().filter(|r| !r.may_be_phs).map(|r| r.offset).collect();
    hidden.iter().for_each(|&at| chunk.data[at..at + RECORD_MAGIC.len()].fill(0));
    let records = build_candidates(chunk, walked, settings);
    if records.is_none() {
        hidden.iter().for_each(|&at| chunk.data[at..at + RECORD_MAGIC.len()].copy_from_slice(RECORD_MAGIC));
    }
    records
}

/// The chunk as the crate reads it, every record built, the candidates (or
/// all, for `all`) rendered.
fn build_chunk(chunk: &mut EvtxChunkData, all: bool, settings: &Arc<ParserSettings>) -> Vec<Result<Seen, EvtxError>> {
    let mut parsed = match parse(chunk, settings) {
        Ok(parsed) => parsed,
        Err(e) => return vec![Err(e)],
    };
    let mut memo = TemplateMemo::default();
    parsed
        .iter()
        .map(|record| {
            record.and_then(|record| {
                let (offset, size) = (record.binxml_offset as usize, record.binxml_size as usize);
                if all || may_be_phs(record.chunk.data, offset, size, &mut memo) {
                    render(record)
                } else {
                    Ok(Seen::Other { time: record.timestamp })
                }
            })
        })
        .collect()
}

/// The walked records: the others by their header's time, the candidates as
/// the crate builds and renders them once the others are hidden; `None`
/// when the crate's walk does not come to each candidate in turn.
fn build_candidates(
    chunk: &mut EvtxChunkData,
    walked: &[WalkedRecord],
    settings: &Arc<ParserSettings>,
) -> Option<Vec<Result<Seen, EvtxError>>> {
    let mut parsed = match parse(chunk, settings) {
        Ok(parsed) => parsed,
        Err(e) => return Some(vec![Err(e)]),
    };
    let mut built = parsed.iter();
    let mut out = Vec::with_capacity(walked.len());
    for record in walked {
        if !record.may_be_phs {
            out.push(Ok(Seen::Other { time: record.time }));
            continue;
        }
        let binxml = (record.offset + RECORD_HEADER) as u64;
        // The crate's next item for this candidate. What it finds between
        // candidates is the hidden records, or a record lookalike inside
        // their data: neither is the log's.
        let item = built.find_map(|item| match item {
            Ok(r) if r.binxml_offset == binxml => Some(render(r)),
            Err(EvtxError::FailedToParseRecord { record_id, source }) if record_id == record.id => {
                Some(Err(EvtxError::FailedToParseRecord { record_id, source }))
            }
            _ => None,
        })?;
        out.push(item);
    }
    Some(out)
}

/// The chunk as the crate parses it, or the error that loses it.
fn parse<'c>(chunk: &'c mut EvtxChunkData, settings: &Arc<ParserSettings>) -> Result<EvtxChunk<'c>, EvtxError> {
    let number = chunk.number.unwrap_or_default();
    chunk
        .parse(Arc::clone(settings))
        .map_err(|e| EvtxError::FailedToParseChunk { chunk_id: number, source: Box::new(e) })
}

/// A record the crate built, rendered to XML.
fn render(record: EvtxRecord<'_>) -> Result<Seen, EvtxError> {
    record.into_xml_bytes().map(|r| Seen::Rendered { record_id: r.event_record_id, xml: r.data })
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

    /// Scans `bytes` as a file.
    fn scan_bytes(bytes: &[u8], providers: Providers) -> (ScanStats, Vec<Event>) {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut events = Vec::new();
        let stats = scan_evtx_file(file, "test.evtx", providers, Output::Callback(|e| events.push(e))).unwrap();
        (stats, events)
    }

    /// The PHS-heavy log with chunk 4 lost (its magic gone) and chunk 7's
    /// first record (a SecurityCenter one, read by the crate as its chunk
    /// holds candidates) broken: its BinXML starts with a token that does
    /// not exist.
    fn damaged_phs_heavy_log() -> Vec<u8> {
        let mut log = phs_heavy_log(12);
        let chunk_at = |n: u64| (FILE_HEADER + n * CHUNK) as usize;
        log[chunk_at(4)] = b'X';
        log[chunk_at(7) + 512 + RECORD_HEADER] = 0xee;
        log
    }

    /// Reading only the candidates (the others counted from their headers or
    /// hidden from the crate) gives the same counts, times, errors and
    /// Directory Synchronization events as rendering every record.
    #[test]
    fn a_scan_for_directory_synchronization_agrees_with_a_full_render() {
        for (name, log) in
            [("sample", sample()), ("PHS-heavy", phs_heavy_log(12)), ("damaged", damaged_phs_heavy_log())]
        {
            let (phs_stats, phs_events) = scan_bytes(&log, Providers::Phs);
            let (all_stats, mut all_events) = scan_bytes(&log, Providers::All);
            all_events.retain(|e| e.provider == PHS_PROVIDER);
            assert_eq!(phs_stats, all_stats, "{name}");
            assert_eq!(phs_events, all_events, "{name}");
        }
        let (stats, events) = scan_bytes(&phs_heavy_log(12), Providers::Phs);
        assert_eq!((stats.records_read, stats.phs_records, events.len()), (12 * 17, 24, 24));
    }

    /// Where the errors of the damaged PHS-heavy log are, and that the
    /// records of the other chunks are all counted.
    #[test]
    fn a_lost_chunk_and_a_broken_record_are_reported_where_they_are() {
        let (stats, events) = scan_bytes(&damaged_phs_heavy_log(), Providers::Phs);
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

    /// The chunk walk agrees with the crate on the real sample, finds the
    /// record that may matter, and hands the chunk back to the crate when it
    /// is not well-formed.
    #[test]
    fn the_chunk_walk_finds_the_records_and_times_the_crate_reads() {
        let bytes = sample();
        let mut parser = EvtxParser::from_buffer(bytes).unwrap().with_configuration(settings());
        let mut chunk = parser.chunks().next().unwrap().unwrap();
        let walked = walk_chunk(&chunk.data, &chunk.header).unwrap();
        let mut parsed = chunk.parse(Arc::new(settings())).unwrap();
        let from_crate: Vec<(usize, u64, jiff::Timestamp)> = parsed
            .iter()
            .map(|r| r.unwrap())
            .map(|r| (r.binxml_offset as usize - RECORD_HEADER, r.event_record_id, r.timestamp))
            .collect();
        let from_walk: Vec<(usize, u64, jiff::Timestamp)> = walked.iter().map(|r| (r.offset, r.id, r.time)).collect();
        assert_eq!(from_walk, from_crate);
        assert_eq!(walked.len(), 17);
        assert!(walked.iter().all(|r| !r.may_be_phs));

        let data = chunk.data.clone();
        // The provider's name anywhere in a record's data: that record (428,
        // from 2376 to 3360) may matter.
        let mut named = data.clone();
        let name: Vec<u8> = PHS_PROVIDER.encode_utf16().flat_map(u16::to_le_bytes).collect();
        named[3000..3000 + name.len()].copy_from_slice(&name);
        let candidates: Vec<u64> =
            walk_chunk(&named, &chunk.header).unwrap().iter().filter(|r| r.may_be_phs).map(|r| r.id).collect();
        assert_eq!(candidates, [428]);
        // A record's magic broken.
        let mut broken = data.clone();
        broken[512] = 0;
        assert_eq!(walk_chunk(&broken, &chunk.header), None);
        // A header that claims one record more than there are.
        let mut header = evtx::EvtxChunkHeader::from_bytes(&data).unwrap();
        header.last_event_record_id += 1;
        assert_eq!(walk_chunk(&data, &header), None);
    }

    /// One chunk's records as text, to compare two ways of reading it.
    fn described(records: Vec<Result<Seen, EvtxError>>) -> Vec<String> {
        records
            .into_iter()
            .map(|r| match r {
                Ok(Seen::Rendered { record_id, xml }) => format!("{record_id}: {}", String::from_utf8_lossy(&xml)),
                Ok(Seen::Other { time }) => format!("other at {time}"),
                Err(e) => format!("error: {}", chain(&e)),
            })
            .collect()
    }

    /// Hiding the other records from the crate gives what the crate gives
    /// when it builds them all: when every candidate's template is its own,
    /// when a candidate's template is defined in a hidden record, and when a
    /// candidate is broken.
    #[test]
    fn hiding_the_other_records_from_the_crate_changes_no_record() {
        let log = phs_heavy_log(1);
        let chunk = &log[FILE_HEADER as usize..(FILE_HEADER + CHUNK) as usize];
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let own_template = chunk.to_vec();
        // Record 429 (at 3360) defines the template record 430 (at 4248)
        // uses; with 429 given back its own provider, 430 is the only
        // candidate.
        let mut template_elsewhere = chunk.to_vec();
        let first_name = memchr::memmem::find(chunk, &utf16(PHS_PROVIDER)).unwrap();
        assert!((3360..4248).contains(&first_name));
        let old = utf16("Microsoft-Windows-User Profiles Service");
        template_elsewhere[first_name..first_name + old.len()].copy_from_slice(&old);
        let mut broken = chunk.to_vec();
        // Record 429's BinXML: a token that does not exist.
        broken[3360 + RECORD_HEADER] = 0xee;
        let cases = [
            ("every template its own", own_template, 2),
            ("a template in a hidden record", template_elsewhere, 1),
            ("a broken candidate", broken, 1),
        ];
        for (case, data, rendered) in cases {
            let read = |data: &[u8], hide: bool| {
                let mut chunk = EvtxChunkData::new(data.to_vec(), false).unwrap();
                chunk.number = Some(0);
                let records = if hide {
                    let walked = walk_chunk(&chunk.data, &chunk.header).unwrap();
                    hiding_others(&mut chunk, &walked, &Arc::new(settings())).expect("each candidate built")
                } else {
                    build_chunk(&mut chunk, false, &Arc::new(settings()))
                };
                described(records)
            };
            let hidden = read(&data, true);
            assert_eq!(hidden, read(&data, false), "{case}");
            assert_eq!(hidden.len(), 17, "{case}");
            let shown: Vec<&String> = hidden.iter().filter(|r| r.contains(PHS_PROVIDER)).collect();
            assert_eq!(shown.len(), rendered, "{case}: {hidden:#?}");
        }
    }
}

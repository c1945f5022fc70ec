//! Which `.evtx` records can be Directory Synchronization ones, decided from
//! their BinXML bytes before anything is rendered.
//!
//! Rendering a record to XML is most of what reading an `.evtx` costs, and
//! only one provider matters. A record's text can only come from two places
//! in its chunk: its own bytes (the template instance and its substitution
//! values, an inline template definition) and the template definition it
//! refers to; element and attribute names come from the chunk's name table,
//! but a provider's name is an attribute value. So a record whose bytes and
//! template hold no UTF-16 "Directory Synchronization" (ASCII case folded,
//! as the provider is compared elsewhere) cannot be that provider's.
//!
//! Anything of another shape (no single template instance, a definition
//! outside the chunk) is rendered, so an odd record costs time, never a miss.
//! Not searched: the definitions of templates nested in a BinXML
//! substitution value; Windows writes `System/Provider` in the record's own
//! template, never in a nested one.

use super::PHS_PROVIDER;

/// A record: magic (4), size (4), record ID (8), written time (8), BinXML,
/// and a copy of the size (4).
pub(crate) const RECORD_MAGIC: &[u8; 4] = b"\x2a\x2a\x00\x00";
pub(crate) const RECORD_HEADER: usize = 24;
const CHUNK_HEADER: usize = 512;

/// A record found by walking a chunk's record headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WalkedRecord {
    /// Where its header starts in the chunk.
    pub(crate) offset: usize,
    pub(crate) id: u64,
    /// When the log service wrote it.
    pub(crate) time: jiff::Timestamp,
    /// Whether it may be a Directory Synchronization record ([`may_be_phs`]).
    pub(crate) may_be_phs: bool,
}

/// The records of a well-formed chunk: back to back from the header to the
/// free space, each with its magic and both copies of its size, numbered from
/// the header's first record ID to its last, each with a readable time.
/// `None` otherwise: the crate then reads the chunk and says what is wrong
/// with it.
pub(crate) fn walk_chunk(chunk: &[u8], header: &evtx::EvtxChunkHeader) -> Option<Vec<WalkedRecord>> {
    let end = usize::try_from(header.free_space_offset).ok().filter(|&e| e <= chunk.len())?;
    let expected = header.last_event_record_id.checked_sub(header.first_event_record_id)?.checked_add(1)?;
    let mut records = Vec::with_capacity(usize::try_from(expected).ok()?.min(chunk.len() / RECORD_HEADER));
    let mut memo = TemplateMemo::default();
    let mut at = CHUNK_HEADER;
    let mut id = header.first_event_record_id;
    while at < end {
        let field = |from: usize, len: usize| chunk.get(at + from..at + from + len);
        let u32_at = |from| field(from, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let u64_at = |from| field(from, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
        if field(0, 4)? != RECORD_MAGIC || u64_at(8)? != id {
            return None;
        }
        let size = u32_at(4)? as usize;
        if size < RECORD_HEADER + 4 || at + size > end || u32_at(size - 4)? as usize != size {
            return None;
        }
        let may_be_phs = may_be_phs(chunk, at + RECORD_HEADER, size - RECORD_HEADER - 4, &mut memo);
        records.push(WalkedRecord { offset: at, id, time: filetime(u64_at(16)?)?, may_be_phs });
        at += size;
        if id == header.last_event_record_id {
            break;
        }
        id += 1;
    }
    (records.len() as u64 == expected).then_some(records)
}

/// A FILETIME (100 ns since 1601-01-01 UTC) as a time.
fn filetime(ft: u64) -> Option<jiff::Timestamp> {
    const TICKS: u64 = 10_000_000;
    const UNIX_FROM_1601: i64 = 11_644_473_600;
    let secs = i64::try_from(ft / TICKS).ok()? - UNIX_FROM_1601;
    jiff::Timestamp::new(secs, ((ft % TICKS) * 100) as i32).ok()
}

/// BinXML tokens (MS-EVEN6 2.2.3).
const FRAGMENT_HEADER: u8 = 0x0f;
const TEMPLATE_INSTANCE: u8 = 0x0c;
/// A template definition: next offset (4), GUID (16), data size (4), data.
const DEFINITION_HEADER: usize = 24;

/// The template definitions already searched in one chunk, by offset:
/// records of a chunk share a few templates.
#[derive(Clone, Default)]
pub(crate) struct TemplateMemo(Vec<(u32, bool)>);

/// Whether the record whose BinXML is `chunk[offset..offset + size]` may be
/// a Directory Synchronization record.
pub(crate) fn may_be_phs(chunk: &[u8], offset: usize, size: usize, memo: &mut TemplateMemo) -> bool {
    may_be_provider(PHS_PROVIDER, chunk, offset, size, memo)
}

/// [`may_be_phs`] for any provider (`name` ASCII, a memo per name).
pub(crate) fn may_be_provider(name: &str, chunk: &[u8], offset: usize, size: usize, memo: &mut TemplateMemo) -> bool {
    let Some((record, end)) = offset.checked_add(size).and_then(|end| Some((chunk.get(offset..end)?, end))) else {
        return true;
    };
    if holds_name(name, record) {
        return true;
    }
    // Fragment header (4 bytes), then the template instance: token, one
    // unknown byte, template id (4), definition offset (4).
    let at = match record {
        [FRAGMENT_HEADER, _, _, _, TEMPLATE_INSTANCE, ..] => 5,
        [TEMPLATE_INSTANCE, ..] => 1,
        _ => return true,
    };
    let Some(def) = record.get(at + 5..at + 9).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) else {
        return true;
    };
    let def_at = def as usize;
    if (offset..end).contains(&def_at) {
        // Defined inline, in the bytes already searched.
        return false;
    }
    if let Some(&(_, found)) = memo.0.iter().find(|(o, _)| *o == def) {
        return found;
    }
    let start = def_at.saturating_add(DEFINITION_HEADER);
    let body = chunk
        .get(start - 4..start)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .and_then(|len| chunk.get(start..start.checked_add(len)?));
    // A definition that is not there: let the renderer say what is wrong.
    let found = body.is_none_or(|b| holds_name(name, b));
    memo.0.push((def, found));
    found
}

/// How rare each byte is as an ASCII letter in English text, either case:
/// 1 for `e` to 26 for `z`, 0 for anything else.
static RARITY: [u8; 256] = {
    let by_frequency = b"etaoinshrdlcumwfgypbvkjxqz";
    let mut rarity = [0; 256];
    let mut i = 0;
    while i < by_frequency.len() {
        rarity[by_frequency[i] as usize] = i as u8 + 1;
        rarity[by_frequency[i].to_ascii_uppercase() as usize] = i as u8 + 1;
        i += 1;
    }
    rarity
};

/// Whether `bytes` hold the provider's name in UTF-16LE, ASCII case folded,
/// at any alignment.
///
/// The scan stops at each occurrence of one of the name's letters: its
/// rarest in English text (the `z` of "Synchronization"), so that it stops
/// least often.
fn holds_name(name: &str, bytes: &[u8]) -> bool {
    let name = name.as_bytes();
    let width = name.len() * 2;
    // The first of the rarest letters (a plain loop: this runs per record).
    let (mut pivot, mut rarest) = (0, 0);
    for (i, &c) in name.iter().enumerate() {
        if RARITY[c as usize] > rarest {
            (pivot, rarest) = (i, RARITY[c as usize]);
        }
    }
    let Some(&letter) = name.get(pivot) else { return true };
    memchr::memchr2_iter(letter.to_ascii_lowercase(), letter.to_ascii_uppercase(), bytes).any(|i| {
        i.checked_sub(pivot * 2).and_then(|start| bytes.get(start..start + width)).is_some_and(|w| {
            w.chunks_exact(2).zip(name).all(|(unit, c)| unit[1] == 0 && unit[0].eq_ignore_ascii_case(c))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn the_name_is_found_in_any_case_and_at_any_offset() {
        for name in ["Directory Synchronization", "directory synchronization", "DIRECTORY SYNCHRONIZATION"] {
            for pad in 0..3 {
                let mut bytes = vec![0x41; pad];
                bytes.extend(utf16(name));
                assert!(holds_name(PHS_PROVIDER, &bytes), "{name} after {pad} bytes");
            }
        }
        // The name from the first byte, and a "z" too early to be its own.
        assert!(holds_name(PHS_PROVIDER, &utf16(PHS_PROVIDER)));
        assert!(!holds_name(PHS_PROVIDER, &utf16("zation")));
        // Other providers: the scan does not stop at one letter only.
        assert!(holds_name("SecurityCenter", &utf16("x SecurityCenter")));
        assert!(!holds_name(PHS_PROVIDER, &utf16("Directory Synchronizatio")));
        assert!(!holds_name(PHS_PROVIDER, &utf16("Directory-Synchronization")));
        // ASCII, not UTF-16: not how BinXML stores values.
        assert!(!holds_name(PHS_PROVIDER, b"Directory Synchronization\0"));
    }

    /// A chunk with a template definition at 600 and a record at 2000 that
    /// refers to it.
    fn chunk_with(template_text: &str, record_text: &str) -> (Vec<u8>, usize, usize) {
        let mut chunk = vec![0u8; 4096];
        let body = utf16(template_text);
        chunk[620..624].copy_from_slice(&(body.len() as u32).to_le_bytes());
        chunk[624..624 + body.len()].copy_from_slice(&body);
        let mut record = vec![FRAGMENT_HEADER, 1, 1, 0, TEMPLATE_INSTANCE, 1, 7, 0, 0, 0];
        record.extend(600u32.to_le_bytes());
        record.extend(utf16(record_text));
        chunk[2000..2000 + record.len()].copy_from_slice(&record);
        (chunk, 2000, record.len())
    }

    #[test]
    fn the_name_is_looked_for_in_the_record_and_in_its_template() {
        let cases = [
            ("<Provider Name='Directory Synchronization'/>", "values", true),
            ("<Provider Name=%1/>", "Directory Synchronization", true),
            ("<Provider Name=%1/>", "SecurityCenter", false),
            ("<Provider Name='Microsoft-Windows-Winlogon'/>", "WSearch", false),
        ];
        for (template, values, expected) in cases {
            let (chunk, at, len) = chunk_with(template, values);
            let mut memo = TemplateMemo::default();
            assert_eq!(may_be_phs(&chunk, at, len, &mut memo), expected, "{template} / {values}");
            // The second record of the same template gets the remembered answer.
            assert_eq!(may_be_phs(&chunk, at, len, &mut memo), expected);
        }
    }

    #[test]
    fn records_of_an_unknown_shape_are_rendered() {
        let (mut chunk, at, len) = chunk_with("x", "y");
        // A definition offset past the chunk.
        chunk[at + 10..at + 14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(may_be_phs(&chunk, at, len, &mut TemplateMemo::default()));
        // Not a template instance at all.
        chunk[at + 4] = 0x01;
        assert!(may_be_phs(&chunk, at, len, &mut TemplateMemo::default()));
        // A record past the chunk's end.
        assert!(may_be_phs(&chunk, 4000, 200, &mut TemplateMemo::default()));
    }
}

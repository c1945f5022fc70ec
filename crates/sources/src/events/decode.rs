//! Streaming text decoding for event XML exports.
//!
//! `text::decode` needs the whole file in memory; an event log export can be
//! gigabytes, so this reads it in blocks and hands the scanner UTF-8 bytes.
//! Windows PowerShell 5.1's `>` writes UTF-16LE with a BOM, `wevtutil` and
//! PowerShell 7 write UTF-8 (with or without BOM).

use std::io::{self, Read};

/// How many raw UTF-16 bytes one read asks for.
const UTF16_BLOCK: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// Reads any of the encodings above and writes UTF-8 into a caller's buffer.
pub(crate) struct Utf8Source<R> {
    inner: R,
    encoding: Option<TextEncoding>,
    /// Bytes of the byte-order mark, so UTF-8 offsets can name file offsets.
    bom_len: u64,
    /// Raw bytes read but not handed out yet: what sniffing read, and for
    /// UTF-16 the undecoded rest of a block (an odd byte, a high surrogate
    /// waiting for its low half, or what did not fit in the caller's buffer).
    raw: Vec<u8>,
    raw_pos: usize,
    raw_end: usize,
    eof: bool,
    /// UTF-16 only: unpaired surrogates replaced by U+FFFD.
    replaced: u64,
}

impl<R: Read> Utf8Source<R> {
    pub(crate) fn new(inner: R) -> Self {
        Utf8Source {
            inner,
            encoding: None,
            bom_len: 0,
            raw: Vec::new(),
            raw_pos: 0,
            raw_end: 0,
            eof: false,
            replaced: 0,
        }
    }

    pub(crate) fn encoding(&self) -> Option<TextEncoding> {
        self.encoding
    }

    pub(crate) fn bom_len(&self) -> u64 {
        self.bom_len
    }

    /// Unpaired UTF-16 surrogates seen so far (each became U+FFFD).
    pub(crate) fn replaced(&self) -> u64 {
        self.replaced
    }

    /// Writes the next decoded bytes into `out`, which must have room for at
    /// least 4 bytes (one character). Returns how many; 0 means end of input.
    pub(crate) fn read_into(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.len() < 4 {
            // Returning 0 would read as end of input.
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "decode buffer too small"));
        }
        if self.encoding.is_none() {
            self.sniff()?;
        }
        match self.encoding {
            Some(TextEncoding::Utf16Le) => self.read_utf16(out, u16::from_le_bytes),
            Some(TextEncoding::Utf16Be) => self.read_utf16(out, u16::from_be_bytes),
            _ => self.read_utf8(out),
        }
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        loop {
            match self.inner.read(buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the first few bytes and decides the encoding from the BOM, or,
    /// without one, from where the zero byte of a leading `<` is.
    fn sniff(&mut self) -> io::Result<()> {
        let mut head = [0u8; 4];
        let mut n = 0;
        while n < head.len() {
            let k = self.read_inner(&mut head[n..])?;
            if k == 0 {
                break;
            }
            n += k;
        }
        let head = &head[..n];
        let (encoding, bom) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            (TextEncoding::Utf8, 3)
        } else if head.starts_with(&[0xFF, 0xFE]) {
            (TextEncoding::Utf16Le, 2)
        } else if head.starts_with(&[0xFE, 0xFF]) {
            (TextEncoding::Utf16Be, 2)
        } else if head.starts_with(b"<\0") {
            (TextEncoding::Utf16Le, 0)
        } else if head.starts_with(b"\0<") {
            (TextEncoding::Utf16Be, 0)
        } else {
            (TextEncoding::Utf8, 0)
        };
        self.encoding = Some(encoding);
        self.bom_len = bom as u64;
        self.raw = head.get(bom..).unwrap_or_default().to_vec();
        self.raw_pos = 0;
        self.raw_end = self.raw.len();
        Ok(())
    }

    fn read_utf8(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Bytes read while sniffing come first; after that, straight through.
        if self.raw_pos < self.raw_end {
            let pending = self.raw.get(self.raw_pos..self.raw_end).unwrap_or_default();
            let n = pending.len().min(out.len());
            out[..n].copy_from_slice(&pending[..n]);
            self.raw_pos += n;
            return Ok(n);
        }
        self.read_inner(out)
    }

    fn read_utf16(&mut self, out: &mut [u8], unit: fn([u8; 2]) -> u16) -> io::Result<usize> {
        let mut written = 0;
        loop {
            // Decode what is buffered while a whole character still fits.
            while out.len() - written >= 4 {
                let Some(pair) = self.raw.get(self.raw_pos..self.raw_pos + 2) else {
                    break;
                };
                if self.raw_pos + 2 > self.raw_end {
                    break;
                }
                let u = unit([pair[0], pair[1]]);
                let c = if (0xD800..0xDC00).contains(&u) {
                    // A high surrogate needs the next unit, maybe not read yet.
                    if self.raw_pos + 4 > self.raw_end && !self.eof {
                        break;
                    }
                    let low = self
                        .raw
                        .get(self.raw_pos + 2..self.raw_pos + 4)
                        .filter(|_| self.raw_pos + 4 <= self.raw_end)
                        .map(|p| unit([p[0], p[1]]))
                        .filter(|l| (0xDC00..0xE000).contains(l));
                    match low {
                        Some(low) => {
                            self.raw_pos += 2;
                            let c = 0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                            char::from_u32(c)
                        }
                        None => None,
                    }
                } else {
                    char::from_u32(u32::from(u))
                };
                self.raw_pos += 2;
                let c = c.unwrap_or_else(|| {
                    self.replaced += 1;
                    char::REPLACEMENT_CHARACTER
                });
                written += c.encode_utf8(&mut out[written..]).len();
            }
            if written > 0 || out.len() < 4 {
                return Ok(written);
            }
            // Refill: keep the undecoded rest (at most 3 bytes) in front.
            let rest = self.raw_end - self.raw_pos;
            if self.eof {
                if rest > 0 {
                    // An odd final byte cannot be a character.
                    self.raw_pos = self.raw_end;
                    self.replaced += 1;
                    return Ok(char::REPLACEMENT_CHARACTER.encode_utf8(out).len());
                }
                return Ok(0);
            }
            self.raw.copy_within(self.raw_pos..self.raw_end, 0);
            if self.raw.len() < UTF16_BLOCK {
                self.raw.resize(UTF16_BLOCK, 0);
            }
            let mut block = std::mem::take(&mut self.raw);
            let got = self.read_inner(&mut block[rest..]);
            self.raw = block;
            self.raw_pos = 0;
            self.raw_end = rest + got?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns one byte per call, to split every unit and pair.
    struct Dribble<'a>(&'a [u8]);
    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn decode_all(bytes: &[u8]) -> (String, Option<TextEncoding>, u64) {
        // Small output slices too, to split characters across calls.
        let results: Vec<_> = [4, 5, 7, 64]
            .into_iter()
            .map(|room| {
                let mut src = Utf8Source::new(Dribble(bytes));
                let mut out = Vec::new();
                let mut buf = vec![0u8; room];
                loop {
                    let n = src.read_into(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                (String::from_utf8(out).unwrap(), src.encoding(), src.replaced())
            })
            .collect();
        assert!(results.windows(2).all(|w| w[0] == w[1]));
        results[0].clone()
    }

    #[test]
    fn utf16_le_with_surrogates_split_across_reads() {
        let text = "<a>é😀</a>";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_all(&bytes), (text.to_owned(), Some(TextEncoding::Utf16Le), 0));
    }

    #[test]
    fn utf16_be_without_bom_and_lone_surrogate() {
        let mut bytes = Vec::new();
        for u in [0x3C, 0xD800, 0x41] {
            bytes.extend_from_slice(&u16::to_be_bytes(u));
        }
        bytes.push(0x42);
        let (s, enc, replaced) = decode_all(&bytes);
        assert_eq!(s, "<\u{FFFD}A\u{FFFD}");
        assert_eq!(enc, Some(TextEncoding::Utf16Be));
        assert_eq!(replaced, 2);
    }

    #[test]
    fn utf8_bom_is_skipped_and_short_input_works() {
        assert_eq!(decode_all(b"\xEF\xBB\xBF<a/>").0, "<a/>");
        assert_eq!(decode_all(b"<a").0, "<a");
        assert_eq!(decode_all(b"").0, "");
    }
}

//! Decoding text files written on Windows: UTF-8 with or without a BOM, and
//! UTF-16 (what Windows PowerShell 5.1's `>` and `Out-File` write by default).

use std::borrow::Cow;

/// Decodes a whole file to UTF-8. Returns an error naming the byte offset of
/// the first invalid sequence.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return std::str::from_utf8(rest)
            .map(Cow::Borrowed)
            .map_err(|e| format!("invalid UTF-8 at byte offset {}", e.valid_up_to() + 3));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes).map(Cow::Owned);
    }
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|e| format!("invalid UTF-8 at byte offset {}", e.valid_up_to()))
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(format!("truncated UTF-16: odd length {}", bytes.len() + 2));
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(bytes.len() / 2);
    for (i, r) in char::decode_utf16(units).enumerate() {
        match r {
            Ok(c) => out.push(c),
            Err(_) => return Err(format!("invalid UTF-16 at byte offset {}", 2 + i * 2)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode(b"\xEF\xBB\xBF{}").unwrap(), "{}");
        assert_eq!(decode(b"{}").unwrap(), "{}");
    }

    #[test]
    fn utf16_le_and_be() {
        assert_eq!(decode(b"\xFF\xFE{\x00}\x00").unwrap(), "{}");
        assert_eq!(decode(b"\xFE\xFF\x00{\x00}").unwrap(), "{}");
    }

    #[test]
    fn errors_name_the_offset() {
        assert!(decode(b"ab\xFFcd").unwrap_err().contains("offset 2"));
        assert!(decode(b"\xFF\xFE{").unwrap_err().contains("odd length"));
    }
}

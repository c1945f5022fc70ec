//! The crate's two error types and the bounds-checked readers every binary
//! parser goes through, so no parser indexes a slice directly.

use std::fmt;

/// Why some bytes (or an SDDL string) could not be decoded.
///
/// `part` names the structure being read (`"header"`, `"owner"`, `"dacl"`,
/// `"sddl"`, ...) and `offset` is the byte offset from the start of the input
/// handed to the public entry point, so a report can point at the exact byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Which part of the structure was being decoded.
    pub part: &'static str,
    /// Byte offset from the start of the input where the problem was found.
    pub offset: usize,
    /// What was wrong there.
    pub reason: String,
}

impl ParseError {
    pub(crate) fn new(part: &'static str, offset: usize, reason: impl Into<String>) -> Self {
        ParseError { part, offset, reason: reason.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}: {}", self.part, self.offset, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Why a value could not be written in the binary form: the format's size
/// fields are 16-bit, so very large ACLs (over 64 KiB) cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    /// Which part was too large (`"ace"`, `"acl"`).
    pub part: &'static str,
    /// What limit was exceeded.
    pub reason: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode {}: {}", self.part, self.reason)
    }
}

impl std::error::Error for EncodeError {}

/// `len` bytes of `buf` starting at `at`, or an error naming what was missing.
pub(crate) fn take<'a>(
    buf: &'a [u8],
    at: usize,
    len: usize,
    part: &'static str,
    what: &str,
) -> Result<&'a [u8], ParseError> {
    at.checked_add(len).and_then(|end| buf.get(at..end)).ok_or_else(|| {
        ParseError::new(
            part,
            at,
            format!("truncated {what}: need {len} bytes, {} available", buf.len().saturating_sub(at)),
        )
    })
}

pub(crate) fn read_u8(buf: &[u8], at: usize, part: &'static str, what: &str) -> Result<u8, ParseError> {
    let b = take(buf, at, 1, part, what)?;
    Ok(b[0])
}

pub(crate) fn read_u16(buf: &[u8], at: usize, part: &'static str, what: &str) -> Result<u16, ParseError> {
    let b = take(buf, at, 2, part, what)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

pub(crate) fn read_u32(buf: &[u8], at: usize, part: &'static str, what: &str) -> Result<u32, ParseError> {
    let b = take(buf, at, 4, part, what)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

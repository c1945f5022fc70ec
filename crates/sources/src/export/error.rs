//! Errors from reading one export file. Each names the file, and where it can
//! the element path (`ma-data/private-configuration/...`) and byte offset, so a
//! support engineer can open the file at the right place.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportError {
    /// The file, relative to the export folder when read by `read_server_config`.
    pub file: String,
    /// Element path from the root, e.g. `ma-data/id`.
    pub element: Option<String>,
    /// Byte offset in the file: the start tag of `element` for value errors,
    /// the point where reading stopped for syntax errors.
    pub offset: Option<u64>,
    pub kind: ExportErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportErrorKind {
    /// The file could not be read at all.
    Io(String),
    /// Not valid UTF-8/UTF-16 (the message carries the offset).
    Encoding(String),
    /// No element at all (empty file, or only comments).
    NoRoot,
    WrongRoot {
        found: String,
        expected: String,
    },
    /// The file stops inside `element`: truncated copy. Optional parser detail.
    UnexpectedEof(Option<String>),
    /// Not well-formed XML.
    Syntax(String),
    /// Elements or text after the root element closed.
    ContentAfterRoot,
    /// A required element is absent.
    Missing,
    NotAGuid(String),
    Invalid {
        value: String,
        expected: &'static str,
    },
    /// A reader limit was reached (nesting depth, element count): no real
    /// export comes near them.
    Limit(String),
}

impl std::error::Error for ExportError {}

/// Values are quoted in messages; a corrupt file may hold megabytes of junk
/// where a GUID should be, and the message must stay one readable line.
fn short(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        return format!("{value:?}");
    }
    let cut: String = value.chars().take(MAX).collect();
    format!("{cut:?}...")
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        let el = self.element.as_deref();
        match &self.kind {
            ExportErrorKind::Io(msg) | ExportErrorKind::Encoding(msg) => f.write_str(msg)?,
            ExportErrorKind::NoRoot => f.write_str("no root element (empty file?)")?,
            ExportErrorKind::WrongRoot { found, expected } => {
                write!(f, "root element is <{found}>, expected <{expected}>")?
            }
            ExportErrorKind::UnexpectedEof(detail) => {
                match el {
                    Some(el) => write!(f, "unexpected end of file inside element {el}")?,
                    None => f.write_str("unexpected end of file")?,
                }
                if let Some(d) = detail {
                    write!(f, " ({d})")?;
                }
            }
            ExportErrorKind::Syntax(msg) => match el {
                Some(el) => write!(f, "malformed XML inside element {el}: {msg}")?,
                None => write!(f, "malformed XML outside any element: {msg}")?,
            },
            ExportErrorKind::ContentAfterRoot => f.write_str("content after the end of the root element")?,
            ExportErrorKind::Limit(what) => match el {
                Some(el) => write!(f, "element {el}: {what}")?,
                None => f.write_str(what)?,
            },
            ExportErrorKind::Missing => {
                write!(f, "element {} is missing", el.unwrap_or("?"))?;
                // The offset points at the parent, not the missing element.
                if let Some(off) = self.offset {
                    return write!(f, " (parent element at byte offset {off})");
                }
                return Ok(());
            }
            ExportErrorKind::NotAGuid(v) => write!(f, "element {}: {} is not a GUID", el.unwrap_or("?"), short(v))?,
            ExportErrorKind::Invalid { value, expected } => {
                write!(f, "element {}: {} is not {expected}", el.unwrap_or("?"), short(value))?
            }
        }
        if let Some(off) = self.offset {
            write!(f, " (byte offset {off})")?;
        }
        Ok(())
    }
}

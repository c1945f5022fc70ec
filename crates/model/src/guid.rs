//! GUIDs as Entra Connect writes them: `{AE4DB4CC-...}` in connector files,
//! lower case in file names, bare in event messages. One normalised form makes
//! them comparable everywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A GUID in canonical text form: 36 characters, upper case, no braces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Guid(String);

impl Guid {
    /// Accepts `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` with or without braces, any case.
    pub fn parse(text: &str) -> Option<Guid> {
        let t = text.trim();
        let t = t.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(t);
        let bytes = t.as_bytes();
        if bytes.len() != 36 {
            return None;
        }
        for (i, b) in bytes.iter().enumerate() {
            let dash = matches!(i, 8 | 13 | 18 | 23);
            if dash != (*b == b'-') || (!dash && !b.is_ascii_hexdigit()) {
                return None;
            }
        }
        Some(Guid(t.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every GUID written out in `text` (36 characters, any case, braces or
    /// not), in order: the ones `is_mentioned_in` would find, found in one
    /// pass whatever the number of GUIDs looked for.
    pub fn all_in(text: &str) -> impl Iterator<Item = Guid> + '_ {
        text.as_bytes().windows(36).filter_map(|w| std::str::from_utf8(w).ok()).filter_map(Guid::parse)
    }

    /// True when `text` mentions this GUID anywhere, in any case, which is how
    /// Microsoft's own diagnostics attribute a heartbeat to a connector.
    pub fn is_mentioned_in(&self, text: &str) -> bool {
        let needle = self.0.as_bytes();
        text.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Guid {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Guid::parse(&s).ok_or_else(|| format!("not a GUID: {s:?}"))
    }
}

impl From<Guid> for String {
    fn from(g: Guid) -> String {
        g.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_and_case_do_not_matter() {
        let a = Guid::parse("{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}").unwrap();
        let b = Guid::parse("AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D");
    }

    #[test]
    fn rejects_malformed() {
        assert!(Guid::parse("").is_none());
        assert!(Guid::parse("{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7}").is_none());
        assert!(Guid::parse("ae4db4ccxb16b-4eb2-acf5-837ca84e4d7d").is_none());
        assert!(Guid::parse("ge4db4cc-b16b-4eb2-acf5-837ca84e4d7d").is_none());
    }

    #[test]
    fn found_in_text_case_insensitively() {
        let g = Guid::parse("AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D").unwrap();
        assert!(g.is_mentioned_in("<connector-id>ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d</connector-id>"));
        assert!(!g.is_mentioned_in("<connector-id>be4db4cc-b16b-4eb2-acf5-837ca84e4d7d</connector-id>"));
    }
}

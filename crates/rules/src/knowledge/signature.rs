//! Substring signatures over an event's text, the way Microsoft's own PHS
//! diagnostics recognise exceptions: all of these, any of those, none of those.
//! Matching ignores case.
//!
//! A needle that begins or ends with a digit only matches a whole number
//! there: "RPC Error 8453" does not match "RPC Error 84530", nor "8453" match
//! "18453". Error numbers are what tells causes apart, so a longer number must
//! never be taken for a shorter one; no table entry has to remember this.

#[derive(Debug, Clone, Copy)]
pub struct Signature {
    pub all: &'static [&'static str],
    /// At least one of these, when not empty.
    pub any: &'static [&'static str],
    pub none: &'static [&'static str],
}

impl Signature {
    /// `lowered` must already be lower case (done once per event).
    pub fn matches(&self, lowered: &str) -> bool {
        let has = |s: &&str| contains(lowered, &s.to_ascii_lowercase());
        self.all.iter().all(has) && (self.any.is_empty() || self.any.iter().any(has)) && !self.none.iter().any(has)
    }
}

/// Whether `needle` occurs in `hay` with no digit glued to a digit at either
/// end of it.
pub fn contains(hay: &str, needle: &str) -> bool {
    let digit_first = needle.starts_with(|c: char| c.is_ascii_digit());
    let digit_last = needle.ends_with(|c: char| c.is_ascii_digit());
    if !digit_first && !digit_last {
        return hay.contains(needle);
    }
    let mut from = 0;
    while let Some(found) = hay[from..].find(needle) {
        let at = from + found;
        let end = at + needle.len();
        let before_ok = !digit_first || !hay[..at].ends_with(|c: char| c.is_ascii_digit());
        let after_ok = !digit_last || !hay[end..].starts_with(|c: char| c.is_ascii_digit());
        if before_ok && after_ok {
            return true;
        }
        // Step one character, so a match overlapping a rejected one is seen.
        from = at + hay[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Shorthand for a signature that needs every one of `all`.
pub const fn all(all: &'static [&'static str]) -> Signature {
    Signature { all, any: &[], none: &[] }
}

/// Shorthand for a signature that needs any one of `any`.
pub const fn any(any: &'static [&'static str]) -> Signature {
    Signature { all: &[], any, none: &[] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_any_none() {
        let s = Signature { all: &["RPC Error"], any: &["8453", "8456"], none: &["OnGetChanges"] };
        assert!(s.matches("rpc error 8456: rejecting"));
        assert!(!s.matches("rpc error 1722"));
        assert!(!s.matches("rpc error 8453 ongetchanges"));
        assert!(all(&[]).matches("anything"));
        assert!(!any(&["x"]).matches("abc"));
    }

    #[test]
    fn numbers_match_whole() {
        assert!(contains("rpc error 8453: denied", "rpc error 8453"));
        assert!(contains("rpc error 8453", "rpc error 8453"));
        assert!(!contains("rpc error 84530: other", "rpc error 8453"));
        assert!(!contains("code 18453.", "8453"));
        assert!(contains("code 18453 and 8453.", "8453"));
        assert!(contains("hresult: 0x80090322)", "0x80090322"));
        assert!(!contains("0x800903221", "0x80090322"));
        // Overlapping candidates: the first is glued to a digit, the second is not.
        assert!(contains("1111 11", "11"));
        // Needles without digits at their ends are plain substrings.
        assert!(contains("throttled", "throttl"));
        assert!(contains("é rpc error 1722", "rpc error 1722"));
    }
}

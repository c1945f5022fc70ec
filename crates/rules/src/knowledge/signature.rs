//! Substring signatures over an event's text, the way Microsoft's own PHS
//! diagnostics recognise exceptions: all of these, any of those, none of those.
//! Matching ignores case.

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
        let has = |s: &&str| lowered.contains(&s.to_ascii_lowercase());
        self.all.iter().all(has) && (self.any.is_empty() || self.any.iter().any(has)) && !self.none.iter().any(has)
    }
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
}

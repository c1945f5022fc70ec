//! The one table of rules. A rule's code and name never change once released;
//! its documentation (shown by `phs-doctor explain` and in reports) lives in
//! the same module as its check.

use crate::checks;
use crate::context::Context;
pub use crate::needs::Need;
use phs_model::{Finding, ScopeKind};

pub struct Rule {
    /// Stable code, `PHS` + three digits.
    pub code: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    pub scope: ScopeKind,
    /// One line: what must be true.
    pub title: &'static str,
    /// Markdown with the sections "What it checks", "Why it matters", "How to fix".
    pub doc: &'static str,
    pub references: &'static [&'static str],
    /// What must be there before `check` can judge, in the order they are
    /// tried; applied by [`Rule::run`] with one wording per need.
    pub needs: &'static [Need],
    pub check: fn(&Context) -> Vec<Finding>,
}

impl Rule {
    /// The rule's findings: its needs applied, then its check.
    pub fn run(&self, cx: &Context) -> Vec<Finding> {
        crate::needs::run(self, cx)
    }

    pub fn needs(&self, need: Need) -> bool {
        self.needs.contains(&need)
    }
}

/// Every rule, in the order of Microsoft's troubleshooter: tenant, server,
/// then each connector and each of its domains (PHS005-PHS007 and PHS014
/// judge live Active Directory facts).
pub static RULES: &[Rule] = &[
    checks::tenant::RULE,
    checks::tenant_sync::DIRECTORY_SYNC,
    checks::tenant_sync::RECENCY,
    checks::staging::RULE,
    checks::server_version::RULE,
    checks::connector::RULE,
    checks::heartbeat::RULE,
    checks::reachability::RULE,
    checks::credentials::RULE,
    checks::replication_rights::RULE,
    checks::domain_errors::RULE,
    checks::cloud_errors::RULE,
    checks::agent::RULE,
    checks::agent_errors::RULE,
    checks::exposure::RULE,
];

/// Looks a rule up by code (`PHS004`, any case) or name (`connector-heartbeat`).
pub fn rule(code_or_name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name.eq_ignore_ascii_case(code_or_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
        let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        for r in RULES {
            assert!(
                r.code.len() == 6 && r.code.starts_with("PHS") && r.code[3..].chars().all(|c| c.is_ascii_digit()),
                "{}",
                r.code
            );
            assert!(r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", r.name);
        }
        let n = codes.len();
        codes.sort();
        codes.dedup();
        names.sort();
        names.dedup();
        assert_eq!((codes.len(), names.len()), (n, n));
    }

    #[test]
    fn every_rule_is_documented() {
        for r in RULES {
            for section in ["## What it checks", "## Why it matters", "## How to fix"] {
                assert!(r.doc.contains(section), "{} lacks {section}", r.code);
            }
            assert!(!r.references.is_empty(), "{} has no references", r.code);
        }
    }

    #[test]
    fn lookup_by_code_or_name() {
        assert_eq!(rule("phs004").map(|r| r.name), Some("connector-heartbeat"));
        assert_eq!(rule("server-not-in-staging-mode").map(|r| r.code), Some("PHS002"));
        assert!(rule("PHS999").is_none());
    }
}

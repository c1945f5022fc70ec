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
    checks::user::ad_object::RULE,
    checks::user::account_state::RULE,
    checks::user::sync_scope::RULE,
    checks::user::connector_space::RULE,
    checks::user::sync_rules::RULE,
    checks::user::exported::RULE,
    checks::user::temporary_password::RULE,
    checks::user::last_attempt::RULE,
    checks::user::cloud_object::RULE,
    checks::user::anchor::RULE,
    checks::user::password_arrived::RULE,
];

/// Where a code without a rule stands. A code is never reused: a report that
/// names it must keep meaning what it meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Never assigned to a rule.
    Reserved,
    /// Was a released rule, now removed.
    Retired,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Reserved => "reserved",
            Lifecycle::Retired => "retired",
        }
    }
}

/// A code in the `PHS` range that names no rule, and why.
pub struct Unassigned {
    pub code: &'static str,
    pub lifecycle: Lifecycle,
    /// One line, for `explain` and the README.
    pub note: &'static str,
}

/// Every code up to the highest rule's that is not in [`RULES`].
pub static UNASSIGNED: &[Unassigned] = &[Unassigned {
    code: "PHS013",
    lifecycle: Lifecycle::Reserved,
    note: "Never assigned to a rule; kept unused so that no code changes meaning",
}];

/// Looks up a code without a rule (`PHS013`, any case).
pub fn unassigned(code: &str) -> Option<&'static Unassigned> {
    UNASSIGNED.iter().find(|u| u.code.eq_ignore_ascii_case(code))
}

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

    /// Rules and unassigned codes together cover PHS001 up to the highest
    /// code without a gap or a code used twice.
    #[test]
    fn every_code_is_a_rule_or_says_why_not() {
        let mut numbers: Vec<u32> = RULES
            .iter()
            .map(|r| r.code)
            .chain(UNASSIGNED.iter().map(|u| u.code))
            .map(|c| c[3..].parse().unwrap())
            .collect();
        numbers.sort();
        let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
        assert_eq!(numbers, expected);
        assert!(UNASSIGNED.iter().all(|u| rule(u.code).is_none() && !u.note.is_empty()));
        assert_eq!(unassigned("phs013").map(|u| u.lifecycle), Some(Lifecycle::Reserved));
        assert!(unassigned("PHS014").is_none());
    }

    /// One row of the README's table of checks, as the registry has it.
    fn readme_row(cells: [&str; 4]) -> String {
        format!("| {} |", cells.join(" | "))
    }

    /// The README's "## The checks" table: its first four columns (code,
    /// name, scope, title) are the registry's, rules in registry order, then
    /// the unassigned codes; the last column is free text.
    #[test]
    fn the_readme_table_of_checks_is_the_registry() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let section = readme.split("\n## The checks\n").nth(1).unwrap_or_else(|| panic!("{path}: no ## The checks"));
        let rows: Vec<String> = section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2) // header and separator
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
                readme_row([cells[0], cells[1], cells.get(2).unwrap_or(&""), cells.get(3).unwrap_or(&"")])
            })
            .collect();
        let expected: Vec<String> = RULES
            .iter()
            .map(|r| readme_row([r.code, r.name, r.scope.as_str(), r.title]))
            .chain(UNASSIGNED.iter().map(|u| readme_row([u.code, &format!("({})", u.lifecycle.as_str()), "", u.note])))
            .collect();
        assert_eq!(
            rows,
            expected,
            "{path}: the table of checks should start with these columns:\n{}",
            expected.join("\n")
        );
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

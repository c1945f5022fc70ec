//! What a rule needs before it can judge anything, declared in its registry
//! entry and applied here, with one wording per need, so no check repeats
//! "no event log" or "disabled, see PHS003" in its own words.
//!
//! Two kinds of need:
//! - evidence for the whole run (a source): when it is missing the rule does
//!   not run, and every scope it would judge gets one finding, `error` with
//!   the cause when the source was given but could not be read, else
//!   `skipped` saying how to supply it;
//! - a fact per scope ([`Need::PhsOnConnector`]): the rule runs, and each of
//!   its findings in a scope where the fact does not hold is replaced by the
//!   one `skipped` finding of that need.

use crate::context::{partition_fqdn, Context};
use crate::registry::Rule;
use phs_model::{Finding, Scope, ScopeKind, SourceKind, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The Application event log (`--events`).
    EventLog,
    /// The configuration export (`--server-config`).
    ServerConfig,
    /// The live Active Directory checks (`[ad]` or `--ad`).
    LiveAd,
    /// The tenant's facts from Microsoft Graph (`[graph]` or `--graph`).
    Tenant,
    /// Password hash sync enabled on the scope's AD connector (PHS003 judges it).
    PhsOnConnector,
}

/// Not supplied: the reason every rule that needs the event log gives.
pub const NO_EVENTS: &str = "No Application event log supplied (--events).";
const NO_EXPORT: &str = "No configuration export supplied (--server-config).";
const NO_AD: &str =
    "The live Active Directory checks did not run (an [ad] section in your own config with --trust-config, or --ad).";
const NO_TENANT: &str =
    "The tenant was not asked ([graph] in your own config with --trust-config, or --graph with the AZURE_* variables).";
const PHS_OFF: &str = "Password hash synchronization is disabled for this connector (see PHS003).";

impl Need {
    /// What the interactive menu and `explain` call it.
    pub fn describe(self) -> &'static str {
        match self {
            Need::EventLog => "the Application event log",
            Need::ServerConfig => "the configuration export",
            Need::LiveAd => "the live Active Directory checks",
            Need::Tenant => "the tenant's facts from Microsoft Graph",
            Need::PhsOnConnector => "password hash sync enabled on the connector",
        }
    }

    /// For a whole-run need that is not met: the status and reason of every
    /// finding. None when it is met (and for per-scope needs).
    fn unmet(self, cx: &Context) -> Option<(Status, String)> {
        let s = cx.snapshot;
        let (present, source, not_supplied) = match self {
            Need::EventLog => (s.server.events.is_some(), SourceKind::Events, NO_EVENTS),
            Need::ServerConfig => (s.server.config.is_some(), SourceKind::ServerConfig, NO_EXPORT),
            Need::Tenant => (s.tenant.is_some(), SourceKind::Graph, NO_TENANT),
            Need::LiveAd => {
                if s.ad.is_some() {
                    return None;
                }
                // Any problem stopped the AD checks, even one marked partial.
                return Some(match s.problems_for(SourceKind::ActiveDirectory).next() {
                    Some(p) => (Status::Error, format!("The Active Directory checks could not run: {}", p.error)),
                    None => (Status::Skipped, NO_AD.to_owned()),
                });
            }
            Need::PhsOnConnector => return None,
        };
        (!present).then(|| cx.absent(source, not_supplied))
    }
}

/// Runs `rule` with its needs applied: the first whole-run need not met
/// decides every finding; otherwise the check runs and per-scope needs
/// replace the findings of scopes where they do not hold.
pub(crate) fn run(rule: &Rule, cx: &Context) -> Vec<Finding> {
    // The user checks belong to a run about one user (`phs-doctor user`):
    // without one they have nothing to judge, not even a skip to report.
    if rule.scope == ScopeKind::User && cx.snapshot.user.is_none() {
        return Vec::new();
    }
    if let Some((status, why)) = rule.needs.iter().find_map(|n| n.unmet(cx)) {
        return scopes_of(rule.scope, cx).into_iter().map(|s| rule.finding(status, s, why.clone()).done()).collect();
    }
    let findings = (rule.check)(cx);
    if !rule.needs.contains(&Need::PhsOnConnector) {
        return findings;
    }
    let disabled: Vec<&str> = cx
        .ad_connectors()
        .into_iter()
        .filter(|(_, ad)| !ad.phs.as_ref().is_some_and(|p| p.enabled))
        .map(|(c, _)| c.name.as_str())
        .collect();
    findings
        .into_iter()
        .map(|f| match f.scope.connector.as_deref() {
            Some(c) if disabled.contains(&c) => rule.finding(Status::Skipped, f.scope, PHS_OFF).done(),
            _ => f,
        })
        .collect()
}

/// The scopes a rule of this kind judges, as far as the evidence names them:
/// each AD connector, or each selected domain of one, else the server; the
/// tenant for tenant rules.
fn scopes_of(kind: ScopeKind, cx: &Context) -> Vec<Scope> {
    let connectors = cx.ad_connectors();
    let scopes: Vec<Scope> = match kind {
        ScopeKind::Tenant => return vec![Scope::tenant()],
        ScopeKind::Connector => connectors.iter().map(|(c, _)| Scope::connector(&c.name)).collect(),
        ScopeKind::Domain => connectors
            .iter()
            .flat_map(|(c, ad)| {
                ad.partitions.iter().filter(|p| p.selected).map(|p| Scope::domain(&c.name, &partition_fqdn(p)))
            })
            .collect(),
        ScopeKind::User => return crate::checks::user::view::UserView::of(cx).map(|v| v.scope()).into_iter().collect(),
        ScopeKind::Server => Vec::new(),
    };
    if scopes.is_empty() {
        vec![Scope::server()]
    } else {
        scopes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::{Settings, RULES};
    use phs_model::Snapshot;

    fn findings_of(rule: &Rule, s: &Snapshot) -> Vec<Finding> {
        let settings = Settings::default();
        rule.run(&Context::new(s, now(), &settings))
    }

    fn rules_needing(need: Need) -> Vec<&'static Rule> {
        RULES.iter().filter(|r| r.needs(need)).collect()
    }

    /// Each source need, missing: every rule that has it first says so in
    /// the same words, in every scope it judges; a source that was given but
    /// could not be read is an error naming the file and the cause.
    #[test]
    fn a_missing_source_gives_one_wording_in_every_scope() {
        type Strip = fn(&mut Snapshot);
        let cases: [(Need, Strip, SourceKind, &str); 3] = [
            (Need::EventLog, |_| {}, SourceKind::Events, NO_EVENTS),
            (Need::Tenant, |_| {}, SourceKind::Graph, NO_TENANT),
            (Need::ServerConfig, |s| s.server.config = None, SourceKind::ServerConfig, NO_EXPORT),
        ];
        for (need, strip, source, wording) in cases {
            // The user checks run only in a run about a user (tested with them).
            let first_need = |r: &&Rule| r.needs.first() == Some(&need) && r.scope != ScopeKind::User;
            let rules: Vec<&Rule> = rules_needing(need).into_iter().filter(first_need).collect();
            assert!(!rules.is_empty(), "{need:?}");
            for rule in rules {
                let mut s = snapshot_with_export();
                strip(&mut s);
                let f = findings_of(rule, &s);
                let connectors = if s.server.config.is_some() { 2 } else { 1 };
                let expected = match rule.scope {
                    ScopeKind::Connector => connectors,
                    ScopeKind::Domain => connectors + 1,
                    _ => 1,
                };
                assert_eq!(f.len(), expected, "{} {need:?}: {f:#?}", rule.code);
                assert!(f.iter().all(|f| f.status == Status::Skipped && f.message == wording), "{}: {f:#?}", rule.code);

                s.problems.push(problem(source, "C:\\evidence\\broken.xml", "unexpected end of file at line 7"));
                let f = findings_of(rule, &s);
                for f in &f {
                    assert_eq!(f.status, Status::Error, "{}", rule.code);
                    assert_eq!(f.message, "Could not read C:\\evidence\\broken.xml: unexpected end of file at line 7");
                }
            }
        }
    }

    /// A snapshot without live AD facts: each domain the export selects is
    /// skipped by every live AD rule, or an error when the checks failed.
    #[test]
    fn without_the_ad_checks_each_selected_domain_says_why() {
        let rules = rules_needing(Need::LiveAd);
        assert_eq!(rules.iter().map(|r| r.code).collect::<Vec<_>>(), ["PHS005", "PHS006", "PHS007", "PHS014"]);
        for rule in rules {
            let mut s = snapshot_with_export();
            let f = findings_of(rule, &s);
            let domains: Vec<&str> = f.iter().filter_map(|f| f.scope.domain.as_deref()).collect();
            assert_eq!(domains, ["fabrikam.com", "emea.fabrikam.com", "tailspintoys.com"], "{}", rule.code);
            assert!(f.iter().all(|f| f.status == Status::Skipped && f.message == NO_AD), "{f:#?}");

            s.problems.push(problem(SourceKind::ActiveDirectory, "[ad]", "no password for CORP\\MSOL_4f2a9c1b7e30"));
            let f = findings_of(rule, &s);
            assert_eq!(f.len(), 3);
            for f in f {
                assert_eq!(f.status, Status::Error);
                assert_eq!(
                    f.message,
                    "The Active Directory checks could not run: no password for CORP\\MSOL_4f2a9c1b7e30"
                );
            }
        }
    }

    /// One connector with password hash sync off: each rule that needs it on
    /// skips that connector's scopes in the one wording and still judges the
    /// other connector.
    #[test]
    fn a_connector_with_phs_off_is_skipped_by_every_rule_that_needs_it_on() {
        let rules = rules_needing(Need::PhsOnConnector);
        assert_eq!(rules.iter().map(|r| r.code).collect::<Vec<_>>(), ["PHS004", "PHS008", "PHS010"]);
        for off in ["fabrikam.com", "tailspintoys.com"] {
            let mut s = snapshot_with_export();
            for c in &mut s.server.config.as_mut().unwrap().connectors {
                if c.name == off {
                    c.ad.as_mut().unwrap().phs.as_mut().unwrap().enabled = false;
                }
            }
            with_events(&mut s, vec![event(654, 10, "ping end")]);
            for rule in &rules {
                let f = findings_of(rule, &s);
                let (skipped, judged): (Vec<&Finding>, Vec<&Finding>) =
                    f.iter().partition(|f| f.scope.connector.as_deref() == Some(off));
                assert!(!skipped.is_empty() && !judged.is_empty(), "{} {off}: {f:#?}", rule.code);
                assert!(skipped.iter().all(|f| f.status == Status::Skipped && f.message == PHS_OFF), "{f:#?}");
                assert!(judged.iter().all(|f| f.message != PHS_OFF), "{f:#?}");
            }
        }
    }
}

use crate::context::Context;
use crate::registry::Rule;
use phs_model::{Finding, Scope, ScopeKind, SourceKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS001",
    name: "tenant-password-sync-enabled",
    scope: ScopeKind::Tenant,
    title: "Password hash synchronization is enabled for the tenant",
    doc: "\
## What it checks
Whether the tenant has password hash synchronization enabled: live through
Microsoft Graph (`directory/onPremisesSynchronization`, feature
`passwordSyncEnabled`) first, else as the sync server last saw it
(`Get-ADSyncAADCompanyFeature`, `PasswordHashSync`). It says which source it
used, and flags disagreement: the tenant off while connectors have it on, the
tenant on while no connector has it, or the server's cached view differing
from the live tenant.

## Why it matters
When the tenant feature is off, Entra ID refuses every hash the agent sends
(events 652/655 with Error Code 90) even though the connectors are configured
for it. The tenant and the sync server can disagree after a failed wizard run
or a change made outside the wizard.

## How to fix
Run the Entra Connect wizard, Customize synchronization options, and turn
Password Hash Synchronization on. If the tenant and the connectors disagree,
turn it off, finish the wizard, and turn it on again.

## Evidence
Graph's `passwordSyncEnabled`, the company-feature file's `PasswordHashSync`,
and which AD connectors have their own switch on.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-password-hash-synchronization",
    ],
    check,
};

const WIZARD_FIX: &str = "Run the Entra Connect wizard > Customize synchronization options and enable Password Hash Synchronization. If the tenant and the connectors disagree, disable it, finish the wizard, then enable it again.";

fn check(cx: &Context) -> Vec<Finding> {
    let tenant = cx.snapshot.tenant.as_ref();
    let from_graph = tenant.and_then(|t| t.sync.as_ref()).and_then(|s| s.password_sync_enabled);
    // Why Graph gave no answer: its own error, or a setup problem before sign-in.
    let graph_problem = tenant
        .and_then(|t| t.sign_in_error.clone().or_else(|| t.sync_error.clone()))
        .or_else(|| cx.snapshot.problems_for(SourceKind::Graph).next().map(|p| p.error.clone()));
    let features = cx.snapshot.server.company_features.as_ref();
    let from_server = features.and_then(|f| f.password_hash_sync);

    let mut evidence: Vec<(String, String)> = Vec::new();
    if let Some(t) = tenant {
        let shown = match (from_graph, &graph_problem) {
            (Some(v), _) => v.to_string(),
            (None, Some(p)) => format!("not read: {p}"),
            (None, None) => "not in Graph's answer".into(),
        };
        evidence.push((format!("Graph onPremisesSynchronization passwordSyncEnabled ({})", t.tenant), shown));
    }
    if let Some(f) = features {
        evidence.push((
            format!("Get-ADSyncAADCompanyFeature PasswordHashSync ({})", f.path),
            f.password_hash_sync.map_or("absent".to_owned(), |v| v.to_string()),
        ));
    }
    let connectors_on: Vec<&str> = cx
        .ad_connectors()
        .into_iter()
        .filter(|(_, ad)| ad.phs.as_ref().is_some_and(|p| p.enabled))
        .map(|(c, _)| c.name.as_str())
        .collect();
    let any_ad_connector = !cx.ad_connectors().is_empty();
    if any_ad_connector {
        evidence.push((
            "AD connectors with PHS enabled".into(),
            if connectors_on.is_empty() { "none".into() } else { connectors_on.join(", ") },
        ));
    }

    // The live tenant first; the sync server's cached view second.
    let (enabled, source) = match (from_graph, from_server) {
        (Some(v), _) => (v, "Microsoft Graph"),
        (None, Some(v)) => (v, "the sync server's company features"),
        (None, None) => {
            let problem = graph_problem
                .map(|p| format!("Microsoft Graph: {p}"))
                .or_else(|| {
                    cx.snapshot
                        .problems_for(SourceKind::CompanyFeatures)
                        .next()
                        .map(|p| format!("{}: {}", p.location, p.error))
                })
                .or_else(|| {
                    features.map(|f| {
                        format!(
                            "{} has no PasswordHashSync field; is it the output of Get-ADSyncAADCompanyFeature?",
                            f.path
                        )
                    })
                });
            let (status, message) = match problem {
                Some(p) => (Status::Error, format!("Could not read the tenant's password hash sync feature: {p}")),
                None => (
                    Status::Skipped,
                    "No tenant evidence: configure [graph] for the live tenant, or supply --company-features (Get-ADSyncAADCompanyFeature | ConvertTo-Json).".to_owned(),
                ),
            };
            return vec![with_evidence(RULE.finding(status, Scope::tenant(), message), evidence).done()];
        }
    };

    let mut message;
    let status;
    if enabled {
        message = format!("Password hash synchronization is enabled for the tenant (according to {source}).");
        if any_ad_connector && connectors_on.is_empty() {
            status = Status::Warn;
            message.push_str(
                " But no AD connector of the sync server has it enabled: the tenant and the server disagree.",
            );
        } else {
            status = Status::Pass;
        }
    } else {
        status = Status::Fail;
        message = format!(
            "Password hash synchronization is disabled for the tenant (according to {source}); Entra ID rejects the hashes the server sends."
        );
        if !connectors_on.is_empty() {
            message.push_str(" The sync server's connectors have it enabled: the tenant and the server disagree.");
        }
    }
    if let (None, Some(p)) = (from_graph, &graph_problem) {
        message.push_str(&format!(" The live tenant could not be asked (Microsoft Graph: {p})."));
    }
    if let (Some(g), Some(s)) = (from_graph, from_server) {
        if g != s {
            message.push_str(&format!(
                " The sync server's own view (Get-ADSyncAADCompanyFeature) says {s}, the live tenant {g}: the server's view is stale."
            ));
        }
    }
    let mut d = with_evidence(RULE.finding(status, Scope::tenant(), message), evidence);
    if status != Status::Pass {
        d = d.fix(WIZARD_FIX, &[]);
    }
    vec![d.done()]
}

fn with_evidence(mut d: crate::finding::Draft, evidence: Vec<(String, String)>) -> crate::finding::Draft {
    for (label, value) in evidence {
        d = d.evidence(&label, value);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    #[test]
    fn pass_when_enabled() {
        let mut s = snapshot();
        s.server.company_features = Some(features(true));
        assert_eq!(statuses(&run(&s, check)), [Status::Pass]);
    }

    #[test]
    fn fail_when_disabled_and_says_the_server_disagrees() {
        let mut s = snapshot_with_export();
        s.server.company_features = Some(features(false));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("disagree"), "{}", f[0].message);
        assert!(f[0].remediation.is_some());
    }

    #[test]
    fn graph_first_and_it_says_so() {
        let mut s = snapshot_with_export();
        s.tenant = Some(tenant(true, Some(10), Some(5)));
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(f[0].message.contains("according to Microsoft Graph"));
    }

    #[test]
    fn tenant_on_but_no_connector_on_warns() {
        let mut s = snapshot_with_export();
        for c in &mut s.server.config.as_mut().unwrap().connectors {
            if let Some(ad) = c.ad.as_mut() {
                ad.phs.as_mut().unwrap().enabled = false;
            }
        }
        s.tenant = Some(tenant(true, Some(10), Some(5)));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("disagree") && f[0].remediation.is_some());
    }

    #[test]
    fn stale_server_view_is_flagged_and_graph_wins() {
        let mut s = snapshot_with_export();
        s.tenant = Some(tenant(false, Some(10), None));
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("stale"), "{}", f[0].message);
    }

    #[test]
    fn graph_failure_falls_back_to_the_server_view() {
        let mut s = snapshot_with_export();
        let mut t = tenant(true, None, None);
        t.sync = None;
        t.sync_error = Some("403: needs OnPremDirectorySynchronization.Read.All".into());
        s.tenant = Some(t.clone());
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(f[0].message.contains("sync server"));
        assert!(f[0].message.contains("could not be asked"), "{}", f[0].message);
        assert!(f[0].evidence.iter().any(|e| e.value.contains("OnPremDirectorySynchronization.Read.All")));
        s.server.company_features = None;
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("Microsoft Graph: 403"));
    }

    #[test]
    fn skipped_without_evidence_and_error_when_unreadable() {
        let mut s = snapshot();
        assert_eq!(statuses(&run(&s, check)), [Status::Skipped]);
        s.problems.push(problem(SourceKind::CompanyFeatures, "features.json", "line 1 column 3: expected value"));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("expected value"));
    }
}

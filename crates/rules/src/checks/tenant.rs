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
The tenant feature `PasswordHashSync` as the sync server sees it
(`Get-ADSyncAADCompanyFeature`). Live reading through Microsoft Graph
(`passwordSyncEnabled`) comes with the Graph source.

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
The company-feature JSON file and its `PasswordHashSync` value; whether the
connectors have their own switch on.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-password-hash-synchronization",
    ],
    check,
};

const WIZARD_FIX: &str = "Run the Entra Connect wizard > Customize synchronization options and enable Password Hash Synchronization. If the tenant and the connectors disagree, disable it, finish the wizard, then enable it again.";

fn check(cx: &Context) -> Vec<Finding> {
    let scope = Scope::tenant();
    let Some(features) = &cx.snapshot.server.company_features else {
        if let Some(p) = cx.snapshot.problems_for(SourceKind::CompanyFeatures).next() {
            return vec![RULE
                .finding(Status::Error, scope, format!("Could not read the company features: {}", p.error))
                .evidence("File", &p.location)
                .done()];
        }
        return vec![RULE
            .finding(
                Status::Skipped,
                scope,
                "No company-feature evidence supplied (--company-features, from Get-ADSyncAADCompanyFeature | ConvertTo-Json).",
            )
            .done()];
    };
    let connectors_on: Vec<&str> = cx
        .ad_connectors()
        .into_iter()
        .filter(|(_, ad)| ad.phs.as_ref().is_some_and(|p| p.enabled))
        .map(|(c, _)| c.name.as_str())
        .collect();
    let draft = |status, message: String| {
        let mut d = RULE.finding(status, Scope::tenant(), message).evidence_from(
            "PasswordHashSync",
            features.password_hash_sync.map_or("absent".to_owned(), |v| v.to_string()),
            &features.path,
        );
        if !connectors_on.is_empty() {
            d = d.evidence("AD connectors with PHS enabled", connectors_on.join(", "));
        }
        d
    };
    match features.password_hash_sync {
        Some(true) => {
            vec![draft(Status::Pass, "Password hash synchronization is enabled for the tenant.".into()).done()]
        }
        Some(false) => {
            let mut message = "Password hash synchronization is disabled for the tenant; Entra ID rejects the hashes the server sends.".to_owned();
            if !connectors_on.is_empty() {
                message.push_str(
                    " The sync server's connectors still have it enabled: the tenant and the server disagree.",
                );
            }
            vec![draft(Status::Fail, message).fix(WIZARD_FIX, &[]).done()]
        }
        None => vec![draft(
            Status::Error,
            format!(
                "{} has no PasswordHashSync field; is it the output of Get-ADSyncAADCompanyFeature?",
                features.path
            ),
        )
        .done()],
    }
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
    fn skipped_without_evidence_and_error_when_unreadable() {
        let mut s = snapshot();
        assert_eq!(statuses(&run(&s, check)), [Status::Skipped]);
        s.problems.push(problem(SourceKind::CompanyFeatures, "features.json", "line 1 column 3: expected value"));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("expected value"));
    }
}

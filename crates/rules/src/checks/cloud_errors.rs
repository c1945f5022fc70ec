use crate::context::{human_duration, Context};
use crate::coverage::Basis;
use crate::knowledge::cloud_errors::{aadsts, classify, CloudErrorClass};
use crate::knowledge::event_ids::CLOUD_FAILURES;
use crate::registry::{Need, Rule};
use phs_model::{Event, Finding, Scope, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS009",
    name: "cloud-provisioning-errors",
    scope: ScopeKind::Server,
    title: "Password hashes reach Entra ID without cloud errors",
    doc: "\
## What it checks
Events 652 (a credential batch failed) and 655 (a heartbeat failed) of the
error window (default 2 hours), and the legacy builds' 0 and 115, classified: password hash sync not activated for the company (Error
Code 90), identity sync not activated (Error Code 15), access denied (Error Code
7), service busy or throttled (Error Code 81, transient: a warning), endpoint
not found (proxy, firewall), TLS negotiation failures, and sign-in failures of
the Entra connector account by AADSTS code.

## Why it matters
These are the failures between the sync server and Entra ID: hashes were read
from AD but never arrived in the cloud.

## How to fix
Follow the fix for the class found: re-enable password hash sync in the wizard
(Error Code 90), re-run the wizard to reset the Entra connector account
(access denied, sign-in failures), or open the path to the Microsoft endpoints
through the proxy and firewall.

## Evidence
Count per class, first and last occurrence, the newest message, the AADSTS code
meaning.",
    references: &[
        "https://learn.microsoft.com/troubleshoot/entra/entra-id/user-prov-sync/troubleshoot-pwd-sync",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
    ],
    needs: &[Need::EventLog],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let scope = Scope::server();
    let window = cx.settings.error_window;
    let Some(cov) = cx.window_coverage(window) else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };
    let what = "the cloud provisioning errors";
    let errors: Vec<&Event> = cx.recent(CLOUD_FAILURES, window).collect();
    let Some(newest) = errors.last() else {
        return vec![RULE
            .finding(
                Status::Pass,
                scope,
                format!("No cloud provisioning errors (events 652/655) in the last {}.", human_duration(window)),
            )
            .covered_by(&cov, Basis::Absence, what)
            .done()];
    };

    // Group by class, keeping the order of first appearance.
    let mut groups: Vec<(&'static CloudErrorClass, Vec<&Event>)> = Vec::new();
    for e in &errors {
        let class = classify(&e.text());
        match groups.iter_mut().find(|(c, _)| c.id == class.id) {
            Some((_, v)) => v.push(e),
            None => groups.push((class, vec![e])),
        }
    }
    let all_transient = groups.iter().all(|(c, _)| c.transient);
    let worst = groups.iter().find(|(c, _)| !c.transient).unwrap_or(&groups[0]);
    let status = if all_transient { Status::Warn } else { Status::Fail };
    let mut cause = worst.0.cause.to_owned();
    if let Some((code, meaning)) = worst.1.last().and_then(|e| aadsts(&e.text())) {
        cause = format!("{cause}: {code}, {meaning}");
    }
    let mut d = RULE.finding(
        status,
        scope,
        format!(
            "{} cloud provisioning errors (events 652/655) in the last {}: {}.",
            errors.len(),
            human_duration(window),
            cause
        ),
    );
    for (class, events) in &groups {
        let ids: Vec<String> = {
            let mut ids: Vec<u32> = events.iter().map(|e| e.event_id).collect();
            ids.sort();
            ids.dedup();
            ids.iter().map(u32::to_string).collect()
        };
        d = d.evidence(
            &format!("Class {}", class.id),
            format!(
                "{} events ({}), {} to {}",
                events.len(),
                ids.join("/"),
                events[0].time,
                events[events.len() - 1].time
            ),
        );
    }
    d = d.evidence("Newest message", newest.text().lines().next().unwrap_or("").trim().to_owned());
    // A transient-only warning says "it retries by itself": it rests on
    // nothing worse being in the window, so it needs the whole window too.
    let basis = if all_transient { Basis::Absence } else { Basis::Presence };
    vec![d.fix(worst.0.fix, &[]).covered_by(&cov, basis, what).done()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    const BUSY: &str = "Failed credential provisioning batch. Error: Microsoft.Online.PasswordSynchronization.ProvisionCredentialsException: Error Code: 81. Error Message: The service is currently busy. This operation will be retried automatically.";
    const NOT_ACTIVATED: &str = "Failed credential provisioning ping. Error: Error Code: 90. Error Message: Password Synchronization has not been activated for this company.";
    const SIGN_IN: &str = "Failed credential provisioning ping. Error: Microsoft.IdentityModel.Clients.ActiveDirectory.AdalServiceException: AADSTS50057: The user account is disabled.";

    #[test]
    fn pass_without_errors() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(654, 3, "ping end"), event(652, 200, NOT_ACTIVATED)]);
        assert_eq!(statuses(&run(&s, check)), [Status::Pass]);
    }

    #[test]
    fn throttling_only_warns() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(652, 10, BUSY), event(652, 40, BUSY)]);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].evidence.iter().any(|e| e.label == "Class busy-throttled" && e.value.starts_with("2 events")));
    }

    #[test]
    fn not_activated_fails_even_among_transient_errors() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(652, 10, BUSY), event(655, 20, NOT_ACTIVATED)]);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("Error Code 90"), "{}", f[0].message);
        assert!(f[0].remediation.as_ref().unwrap().summary.contains("wizard"));
    }

    #[test]
    fn sign_in_failure_names_the_aadsts_meaning() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(655, 10, SIGN_IN)]);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("AADSTS50057, the account is disabled"), "{}", f[0].message);
    }

    #[test]
    fn legacy_builds_failures_are_judged_too() {
        // Older sync tools wrote 115 and 0 for the same cloud failures.
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(115, 10, "Access to Windows Azure Active Directory has been denied.")]);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].evidence.iter().any(|e| e.label == "Class access-denied"), "{:?}", f[0].evidence);
        let mut s = snapshot_with_export();
        with_events(
            &mut s,
            vec![event(
                0,
                10,
                "The user name or password is incorrect. Verify your user name, and then type your password again.",
            )],
        );
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].evidence.iter().any(|e| e.label == "Class sign-in-failed"), "{:?}", f[0].evidence);
    }

    #[test]
    fn a_transient_warning_needs_the_whole_window_but_a_failure_does_not() {
        let mut s = snapshot_with_export();
        with_log(&mut s, vec![event(652, 20, BUSY)], 30, 0);
        assert_eq!(statuses(&run(&s, check)), [Status::Error]);
        let mut s = snapshot_with_export();
        with_log(&mut s, vec![event(655, 20, NOT_ACTIVATED)], 30, 0);
        assert_eq!(statuses(&run(&s, check)), [Status::Fail]);
    }

    #[test]
    fn skipped_without_events() {
        assert_eq!(statuses(&run(&snapshot_with_export(), check)), [Status::Skipped]);
    }
}

use crate::context::{human_duration, Context};
use crate::coverage::Basis;
use crate::knowledge::cloud_errors::{aadsts, classify, CloudErrorClass};
use crate::knowledge::event_ids::CLOUD_FAILURES;
use crate::recent_errors::newest_message;
use crate::registry::{Need, Rule};
use jiff::SignedDuration;
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
    let Some(recent) = cx.recent_errors(CLOUD_FAILURES) else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };
    let groups = by_class(&recent.events);
    let outcome = decide(&groups);
    let (status, message) = outcome.words(recent.events.len(), recent.window);
    let mut d = RULE.finding(status, Scope::server(), message);
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
    if let Some(newest) = recent.events.last() {
        d = d.evidence("Newest message", newest_message(newest));
    }
    if let CloudErrors::Found { worst, .. } = &outcome {
        d = d.fix(worst.fix, &[]);
    }
    // A transient-only warning says "it retries by itself": it rests on
    // nothing worse being in the window, so it needs the whole window too.
    let basis = match outcome {
        CloudErrors::Clear | CloudErrors::Found { all_transient: true, .. } => Basis::Absence,
        CloudErrors::Found { all_transient: false, .. } => Basis::Presence,
    };
    vec![d.covered_by(&recent.coverage, basis, "the cloud provisioning errors").done()]
}

/// The events grouped by class, in the order each class first appears.
fn by_class<'a>(errors: &[&'a Event]) -> Vec<(&'static CloudErrorClass, Vec<&'a Event>)> {
    let mut groups: Vec<(&'static CloudErrorClass, Vec<&'a Event>)> = Vec::new();
    for e in errors {
        let class = classify(&e.text());
        match groups.iter_mut().find(|(c, _)| c.id == class.id) {
            Some((_, v)) => v.push(e),
            None => groups.push((class, vec![e])),
        }
    }
    groups
}

/// What the classes found amount to: the first lasting class decides, else
/// the first class (all of them transient).
fn decide(groups: &[(&'static CloudErrorClass, Vec<&Event>)]) -> CloudErrors {
    let Some(first) = groups.first() else {
        return CloudErrors::Clear;
    };
    let (worst, events) = groups.iter().find(|(c, _)| !c.transient).unwrap_or(first);
    CloudErrors::Found {
        worst,
        aadsts: events.last().and_then(|e| aadsts(&e.text())),
        all_transient: groups.iter().all(|(c, _)| c.transient),
    }
}

/// What PHS009 decides, before [`CloudErrors::words`] puts it in words (the
/// fix is the worst class's).
enum CloudErrors {
    /// No cloud provisioning error in the window.
    Clear,
    /// Errors were found: they warn when every class is transient, else fail.
    Found {
        worst: &'static CloudErrorClass,
        /// The AADSTS code in the worst class's newest event, with its meaning.
        aadsts: Option<(String, &'static str)>,
        all_transient: bool,
    },
}

impl CloudErrors {
    fn words(&self, count: usize, window: SignedDuration) -> (Status, String) {
        let window = human_duration(window);
        match self {
            CloudErrors::Clear => {
                (Status::Pass, format!("No cloud provisioning errors (events 652/655) in the last {window}."))
            }
            CloudErrors::Found { worst, aadsts, all_transient } => {
                let cause = match aadsts {
                    Some((code, meaning)) => format!("{}: {code}, {meaning}", worst.cause),
                    None => worst.cause.to_owned(),
                };
                (
                    if *all_transient { Status::Warn } else { Status::Fail },
                    format!("{count} cloud provisioning errors (events 652/655) in the last {window}: {cause}."),
                )
            }
        }
    }
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
        let (busy, not_activated) = (event(652, 10, BUSY), event(655, 20, NOT_ACTIVATED));
        let outcome = decide(&by_class(&[&not_activated, &busy]));
        assert!(
            matches!(outcome, CloudErrors::Found { worst, all_transient: false, .. } if worst.id == "phs-not-activated")
        );
    }

    #[test]
    fn sign_in_failure_names_the_aadsts_meaning() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(655, 10, SIGN_IN)]);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        let sign_in = event(655, 10, SIGN_IN);
        let outcome = decide(&by_class(&[&sign_in]));
        assert!(matches!(
            outcome,
            CloudErrors::Found { worst, aadsts: Some((code, "the account is disabled")), .. }
                if worst.id == "sign-in-failed" && code == "AADSTS50057"
        ));
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

use super::events::{about_user, Said, UserEvent};
use super::requires::{self, cmdlets};
use super::view::{Object, UserView};
use crate::context::{filetime, Context};
use crate::knowledge::password_log::{self, LogStatus};
use crate::registry::Rule;
use jiff::SignedDuration;
use phs_model::{CsLogEntry, Finding, ScopeKind, Status, Timestamp};

pub const RULE: Rule = Rule {
    code: "PHS024",
    name: "user-last-password-sync",
    scope: ScopeKind::User,
    title: "The user's last password sync attempt succeeded",
    doc: "\
## What it checks
The newest entry of the user's password hash sync log
(`Get-ADSyncCSObjectLog -Identifier <AD connector space object id>`), and
what its status means (Success, FilteredByTarget, NoTargetConnection,
SourceConnectorNotPresent, TargetNotExportedToDirectory, Error, Unknown,
MissingAttribute, RetryRequestedByTarget, MigratedCheckDetailsForMoreInfo).
A status Microsoft does not document is reported as unrecognised, never
taken for a success. Without the log, the Application event log's events
656 (change request) and 657 (change result) speak for the user: the line
of a batch that names the user's DN or anchor, its Result and its extended
error. Those lines are evidence either way.

## Why it matters
It is the sync engine's own word on the user's password. The log keeps 7
days. An empty log has two causes: the password has not changed in those 7
days (then there was nothing to sync), or the server could not read the
user's hash from AD (then the connectivity and permission checks, PHS005 to
PHS007, find why); the user's pwdLastSet tells them apart.

## How to fix
Each status names the check that looks at its cause.

## Evidence
The newest entry's time, status and details, and pwdLastSet.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization#password-hash-synchronization-does-not-work-for-a-specific-user-account",
    ],
    needs: &[],
    check,
};

/// How long the log keeps entries by default.
const LOG_DAYS: i64 = 7;

enum Outcome<'a> {
    /// No log supplied; the event log's newest 656/657 line about the user.
    FromEvents(&'a UserEvent<'a>),
    /// No entry, and pwdLastSet within the log's days: an attempt should be there.
    NoAttemptSinceChange(Timestamp),
    /// No entry, and nothing tells the two causes apart (or the change is older).
    NoAttempt {
        changed: Option<Timestamp>,
    },
    Known(&'a CsLogEntry, &'static LogStatus),
    Unrecognised(&'a CsLogEntry),
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let changed = v.ad_user().and_then(|u| u.pwd_last_set).and_then(filetime);
    let events = about_user(cx, v.dn(), v.anchor().as_ref());
    let outcome = match &v.log {
        Object::Absent { others: false } => empty(cx, changed),
        Object::NotSupplied { error: None } if !events.is_empty() => {
            Outcome::FromEvents(events.last().expect("not empty"))
        }
        other => match requires::object(other, "password sync log", cmdlets::LOG) {
            Ok(_) => match v.last_log_entry() {
                None => empty(cx, changed),
                Some(e) => match password_log::lookup(&e.status) {
                    Some(s) => Outcome::Known(e, s),
                    None => Outcome::Unrecognised(e),
                },
            },
            Err(unmet) => return requires::unmet(&RULE, &v, unmet),
        },
    };
    let mut f = outcome.finding(&v, changed);
    // Newest first, a few: the log's own lines about the user.
    for e in events.iter().rev().take(5) {
        f = f.evidence(&format!("Event {} at {}", e.event.event_id, e.event.time), e.line.clone());
    }
    vec![f.done()]
}

fn empty<'a>(cx: &Context, changed: Option<Timestamp>) -> Outcome<'a> {
    match changed {
        Some(t) if cx.now.duration_since(t) < SignedDuration::from_hours(24 * LOG_DAYS) => {
            Outcome::NoAttemptSinceChange(t)
        }
        _ => Outcome::NoAttempt { changed },
    }
}

impl Outcome<'_> {
    fn finding(&self, v: &UserView, changed: Option<Timestamp>) -> crate::finding::Draft {
        let who = &v.query.text;
        let scope = v.scope();
        let mut f = match self {
            Outcome::FromEvents(e) => {
                let at = e.event.time;
                let (status, what) = match &e.said {
                    Said::Requested => (
                        Status::Warn,
                        format!("event 656 at {at} asked to sync the password, and no result (657) for the user follows it"),
                    ),
                    Said::Result { ok: Some(true), .. } => (Status::Pass, format!("event 657 at {at}: Success")),
                    Said::Result { ok: Some(false), extended_error } => (
                        Status::Fail,
                        format!(
                            "event 657 at {at}: Failed{}",
                            extended_error.as_deref().map_or(String::new(), |x| format!(" (extended error {x})"))
                        ),
                    ),
                    Said::Result { ok: None, .. } => {
                        (Status::Error, format!("event 657 at {at} names the user but no result phs-doctor recognises"))
                    }
                };
                let mut f = RULE.finding(
                    status,
                    scope,
                    format!(
                        "{who}'s last password sync attempt, from the event log (no password sync log supplied): {what}.{}",
                        if status == Status::Pass && changed.is_some_and(|c| at < c) {
                            " The password changed in AD after it."
                        } else {
                            ""
                        }
                    ),
                );
                if status == Status::Fail {
                    f = f.fix("See PHS008 and PHS009 for the errors of the domain and the cloud around that time.", &[]);
                }
                f
            }
            Outcome::NoAttemptSinceChange(t) => RULE
                .finding(
                    Status::Fail,
                    scope,
                    format!(
                        "{who}'s password changed in AD at {t}, within the log's {LOG_DAYS} days, and the log holds \
                         no attempt to sync it: the server could not read the hash from AD."
                    ),
                )
                .fix("See PHS005 to PHS007 (reachability, the connector account, its replication rights) for the domain.", &[]),
            Outcome::NoAttempt { changed } => RULE
                .finding(
                    Status::Warn,
                    scope,
                    format!(
                        "{who}'s password sync log holds no attempt. Either the password has not changed in the log's \
                         {LOG_DAYS} days{} (nothing to sync), or the server cannot read hashes from AD (PHS005 to \
                         PHS007); pwdLastSet tells them apart.",
                        match changed {
                            Some(t) => format!(" (pwdLastSet: {t}, so this is the likely cause)"),
                            None => String::new(),
                        }
                    ),
                ),
            Outcome::Known(e, s) => {
                let status = stale_success(e, s, changed).unwrap_or(s.status);
                let mut message = format!(
                    "{who}'s last password sync attempt{}: {} ({}).",
                    e.time.map_or(String::new(), |t| format!(", at {t}")),
                    s.name,
                    s.meaning
                );
                if status != s.status {
                    message.push_str(" The password changed in AD after it, and no newer attempt is logged.");
                }
                let f = RULE.finding(status, scope, message);
                if s.fix.is_empty() { f } else { f.fix(s.fix, &[]) }
            }
            Outcome::Unrecognised(e) => RULE.finding(
                Status::Error,
                scope,
                format!(
                    "{who}'s last password sync attempt has a status phs-doctor does not recognise: {:?} (Windows \
                     PowerShell 5.1 writes enums as numbers; save the log with PowerShell 7 or `| Select-Object \
                     *,@{{n='Status';e={{$_.Status.ToString()}}}}`).",
                    e.status
                ),
            ),
        };
        if let Outcome::Known(e, _) | Outcome::Unrecognised(e) = self {
            f = f.evidence("Status", e.status.clone());
            if let Some(t) = e.time {
                f = f.evidence("Time", t.to_string());
            }
            if let Some(d) = &e.details {
                f = f.evidence("Details", d.clone());
            }
        }
        if let Some(t) = changed {
            f = f.evidence("pwdLastSet", t.to_string());
        }
        f
    }
}

/// A success older than the latest AD change is no news about that change.
fn stale_success(e: &CsLogEntry, s: &LogStatus, changed: Option<Timestamp>) -> Option<Status> {
    (s.status == Status::Pass && e.time.zip(changed).is_some_and(|(at, ch)| at < ch)).then_some(Status::Warn)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use phs_model::Snapshot;

    fn with_log(entries: Vec<CsLogEntry>) -> Finding {
        let mut s: Snapshot = healthy();
        s.server.cs_object_logs = Some(vec![log(entries)]);
        judge(&s, check)
    }

    #[test]
    fn the_newest_entry_decides() {
        assert_eq!(with_log(vec![log_entry("Success", 170)]).status, Status::Pass);
        let f = with_log(vec![log_entry("Success", 300), log_entry("FilteredByTarget", 170)]);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("FilteredByTarget"));
        assert_eq!(with_log(vec![log_entry("RetryRequestedByTarget", 5)]).status, Status::Warn);
    }

    #[test]
    fn an_unknown_status_is_never_a_success() {
        assert_eq!(with_log(vec![log_entry("TargetConnectorNotPresent", 5)]).status, Status::Error);
        assert_eq!(with_log(vec![log_entry("0", 5)]).status, Status::Error);
    }

    #[test]
    fn a_success_before_the_latest_change_is_not_a_pass() {
        // Ann's password changed 180 min ago; a success 200 min ago is about an older one.
        assert_eq!(with_log(vec![log_entry("Success", 200)]).status, Status::Warn);
    }

    #[test]
    fn an_empty_log_names_both_causes() {
        // Changed 3 h ago: an attempt should be logged.
        assert_eq!(with_log(Vec::new()).status, Status::Fail);
        let mut s = user_snapshot(
            Some(found(phs_model::AdUser { pwd_last_set: Some(filetime_ago(60 * 24 * 30)), ..ann() })),
            None,
        );
        s.server.cs_object_logs = Some(vec![log(Vec::new())]);
        let f = judge(&s, check);
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("likely cause"), "{}", f.message);
    }

    #[test]
    fn without_the_log_the_event_log_speaks_for_the_user() {
        use crate::checks::fixtures::{event, with_events};
        let line = |result: &str| {
            format!(
                "Password Change Result - Anchor : {}, Dn : {DN}, PwdChangeOnLogon=False, Result : {result}",
                anchor().to_base64()
            )
        };
        for (result, status) in [("Success.", Status::Pass), ("Failed, Extended Error: 8453", Status::Fail)] {
            let mut s = healthy();
            s.server.cs_object_logs = None;
            with_events(&mut s, vec![event(657, 100, &line(result))]);
            let f = judge(&s, check);
            assert_eq!(f.status, status, "{f:?}");
            assert!(f.evidence.iter().any(|e| e.label.starts_with("Event 657")), "{f:?}");
        }
        let mut s = healthy();
        s.server.cs_object_logs = None;
        with_events(
            &mut s,
            vec![event(
                656,
                5,
                &format!("Password Change Request - Anchor : {}, Dn : {DN}, Change Date : x", anchor().to_base64()),
            )],
        );
        assert_eq!(judge(&s, check).status, Status::Warn);
    }

    #[test]
    fn without_the_log_it_does_not_judge() {
        let mut s = healthy();
        s.server.cs_object_logs = None;
        assert_eq!(judge(&s, check).status, Status::Skipped);
    }
}

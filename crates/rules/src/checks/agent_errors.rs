use crate::context::{human_duration, Context};
use crate::coverage::Basis;
use crate::knowledge::event_ids::{meaning, AGENT_ERRORS, HEALTH_TASK_FAILED, MD5_KEY_FAILED};
use crate::recent_errors::newest_message;
use crate::registry::{Need, Rule};
use jiff::SignedDuration;
use phs_model::{Event, Finding, Scope, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS016",
    name: "password-sync-agent-errors",
    scope: ScopeKind::Server,
    title: "The password hash sync agent reports no internal errors",
    doc: "\
## What it checks
The agent's own errors of the Directory Synchronization source within the
error window (default 2 hours): the MD5 decryption key could not be generated
(667), the health task failed during a heartbeat (662), a synchronization
context could not be initialised (612), a full password hash sync attempt
failed (621), a domain's cycle state could not be stored (665) or hit a SQL
deadlock (666), an unexpected error (603) or a failed task (604).

Event 667 fails at once: without the MD5 key no hash can be decrypted, and the
usual cause (the FIPS policy) does not go away by retrying. The others fail
when they reach the persistent error count (default 5, `--persistent-errors`)
in the window, as Microsoft's own script treats a repeated 662, and warn below
it.

## Why it matters
These failures stop password hash sync inside the agent while the service,
heartbeats of other channels and directory synchronization may look fine.

## How to fix
For 667, allow MD5 for the sync engine: add `<enforceFIPSPolicy
enabled=\"false\"/>` under `configuration/runtime` in `miiserver.exe.config`
and restart the server. For SQL deadlocks and state storage failures, check
the ADSync database (LocalDB or SQL Server) and restart the ADSync service.
For the others, read the exception in the event text, restart the ADSync
service, and upgrade Entra Connect if they recur.

## Evidence
Count per event ID, first and last occurrence, the newest message; how much
of the window the log shows (see the coverage rules of `phs-doctor explain`).",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-password-hash-synchronization",
    ],
    needs: &[Need::EventLog],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let Some(recent) = cx.recent_errors(AGENT_ERRORS) else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };
    let errors = &recent.events;
    let outcome = decide(errors, cx.settings.persistent_error_count);
    let (status, message) = outcome.words(recent.window);
    let mut d = RULE.finding(status, Scope::server(), message);
    if let Some(newest) = errors.last() {
        let mut ids: Vec<u32> = errors.iter().map(|e| e.event_id).collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            let of: Vec<&&Event> = errors.iter().filter(|e| e.event_id == id).collect();
            d = d.evidence(
                &format!("Event {id}"),
                format!("{} ({}), {} to {}", of.len(), meaning(id).unwrap_or(""), of[0].time, of[of.len() - 1].time),
            );
        }
        d = d.evidence("Newest message", newest_message(newest));
    }
    if let Some((summary, commands)) = outcome.fix() {
        d = d.fix(summary, commands);
    }
    let basis = if outcome == AgentErrors::Clear { Basis::Absence } else { Basis::Presence };
    vec![d.covered_by(&recent.coverage, basis, "the agent's internal errors").done()]
}

/// What the window's agent errors (oldest first) amount to.
fn decide(errors: &[&Event], persistent_error_count: usize) -> AgentErrors {
    let Some(newest) = errors.last() else {
        return AgentErrors::Clear;
    };
    let md5 = errors.iter().filter(|e| e.event_id == MD5_KEY_FAILED).count();
    let health = errors.iter().filter(|e| e.event_id == HEALTH_TASK_FAILED).count();
    let cause = if md5 > 0 {
        Cause::Md5Key
    } else if health >= persistent_error_count {
        Cause::HealthTask { failures: health }
    } else {
        Cause::Newest { id: newest.event_id }
    };
    AgentErrors::Found { count: errors.len(), persistent: md5 > 0 || errors.len() >= persistent_error_count, cause }
}

/// What PHS016 decides, before [`AgentErrors::words`] and
/// [`AgentErrors::fix`] put it in words.
#[derive(Debug, PartialEq)]
enum AgentErrors {
    /// No agent error in the window.
    Clear,
    /// `count` errors; persistent ones fail, intermittent ones warn.
    Found { count: usize, persistent: bool, cause: Cause },
}

/// What the message names as the errors' cause.
#[derive(Debug, PartialEq)]
enum Cause {
    /// Event 667: the FIPS policy blocks MD5 (persistent at once).
    Md5Key,
    /// Event 662 at least the persistent error count of times.
    HealthTask { failures: usize },
    /// Nothing stands out: the newest event's ID.
    Newest { id: u32 },
}

impl AgentErrors {
    fn words(&self, window: SignedDuration) -> (Status, String) {
        let window = human_duration(window);
        match self {
            AgentErrors::Clear => {
                (Status::Pass, format!("No internal errors of the password hash sync agent in the last {window}."))
            }
            AgentErrors::Found { count, persistent, cause } => {
                let cause = match cause {
                    Cause::Md5Key => "the MD5 decryption key could not be generated (event 667): the FIPS policy is enforced and blocks the MD5 that password hash sync needs".to_owned(),
                    Cause::HealthTask { failures } => format!("the health task failed during {failures} heartbeats (event 662)"),
                    Cause::Newest { id } => format!("event {id}, {}", meaning(*id).unwrap_or("an agent error")),
                };
                (
                    if *persistent { Status::Fail } else { Status::Warn },
                    format!(
                        "{count} internal errors of the password hash sync agent in the last {window} ({}): {cause}.",
                        if *persistent { "persistent" } else { "intermittent" }
                    ),
                )
            }
        }
    }

    fn fix(&self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            AgentErrors::Clear => None,
            AgentErrors::Found { cause: Cause::Md5Key, .. } => Some((
                "Allow MD5 for the sync engine: add <enforceFIPSPolicy enabled=\"false\"/> under configuration/runtime in miiserver.exe.config (in the Entra Connect Bin folder), then restart the server.",
                &["Get-ItemProperty HKLM:\\System\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy -Name Enabled"],
            )),
            AgentErrors::Found { .. } => Some((
                "Read the exception in the newest event, restart the ADSync service, and check the ADSync database if the errors are SQL ones (665, 666); upgrade Entra Connect if they recur.",
                &["Restart-Service ADSync"],
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn status_of(events: Vec<Event>) -> Status {
        let mut s = snapshot_with_export();
        with_events(&mut s, events);
        run(&s, check)[0].status
    }

    const MD5: &str = "Password hash synchronization could not generate the MD5 decryption key. Details: System.InvalidOperationException: This implementation is not part of the Windows Platform FIPS validated cryptographic algorithms.";

    #[test]
    fn one_md5_key_failure_fails_with_the_fips_fix() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(654, 5, "ping end"), event(667, 30, MD5)]);
        let f = run(&s, check);
        assert_eq!(f[0].status, Status::Fail);
        let md5 = event(667, 30, MD5);
        assert_eq!(decide(&[&md5], 5), AgentErrors::Found { count: 1, persistent: true, cause: Cause::Md5Key });
        assert!(f[0].remediation.as_ref().unwrap().commands[0].contains("FipsAlgorithmPolicy"));
    }

    #[test]
    fn health_task_failures_are_persistent_from_five_in_the_window() {
        assert_eq!(status_of((0..5).map(|i| event(662, 10 + i * 20, "health task failed")).collect()), Status::Fail);
        assert_eq!(status_of((0..4).map(|i| event(662, 10 + i * 20, "health task failed")).collect()), Status::Warn);
        // Older than the window: not counted.
        assert_eq!(status_of((0..6).map(|i| event(662, 130 + i * 20, "health task failed")).collect()), Status::Pass);
    }

    #[test]
    fn sql_deadlocks_and_state_failures_warn_then_fail() {
        assert_eq!(status_of(vec![event(666, 10, "deadlock")]), Status::Warn);
        assert_eq!(status_of((0..5).map(|i| event(665, 10 + i, "state")).collect()), Status::Fail);
    }

    #[test]
    fn nothing_seen_in_a_short_log_is_not_a_pass() {
        let mut s = snapshot_with_export();
        with_log(&mut s, vec![], 8, 0);
        let f = run(&s, check);
        assert_eq!(f[0].status, Status::Error, "{}", f[0].message);
        assert!(f[0].message.contains("8 min of the 2 h window"), "{}", f[0].message);
    }
}

use crate::context::{human_duration, Context};
use crate::coverage::Basis;
use crate::knowledge::event_ids::{meaning, AGENT_ERRORS, HEALTH_TASK_FAILED, MD5_KEY_FAILED};
use crate::registry::{Need, Rule};
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
    let scope = Scope::server();
    let window = cx.settings.error_window;
    let Some(cov) = cx.window_coverage(window) else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };
    let what = "the agent's internal errors";
    let errors: Vec<&Event> = cx.recent(AGENT_ERRORS, window).collect();
    let Some(newest) = errors.last() else {
        return vec![RULE
            .finding(
                Status::Pass,
                scope,
                format!("No internal errors of the password hash sync agent in the last {}.", human_duration(window)),
            )
            .covered_by(&cov, Basis::Absence, what)
            .done()];
    };
    let md5 = errors.iter().filter(|e| e.event_id == MD5_KEY_FAILED).count();
    let health = errors.iter().filter(|e| e.event_id == HEALTH_TASK_FAILED).count();
    let persistent = md5 > 0 || errors.len() >= cx.settings.persistent_error_count;
    let status = if persistent { Status::Fail } else { Status::Warn };
    let cause = if md5 > 0 {
        "the MD5 decryption key could not be generated (event 667): the FIPS policy is enforced and blocks the MD5 that password hash sync needs".to_owned()
    } else if health >= cx.settings.persistent_error_count {
        format!("the health task failed during {health} heartbeats (event 662)")
    } else {
        let id = newest.event_id;
        format!("event {id}, {}", meaning(id).unwrap_or("an agent error"))
    };
    let mut d = RULE.finding(
        status,
        scope,
        format!(
            "{} internal errors of the password hash sync agent in the last {} ({}): {cause}.",
            errors.len(),
            human_duration(window),
            if persistent { "persistent" } else { "intermittent" }
        ),
    );
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
    d = d.evidence("Newest message", newest.text().lines().next().unwrap_or("").trim().to_owned());
    let d = if md5 > 0 {
        d.fix(
            "Allow MD5 for the sync engine: add <enforceFIPSPolicy enabled=\"false\"/> under configuration/runtime in miiserver.exe.config (in the Entra Connect Bin folder), then restart the server.",
            &["Get-ItemProperty HKLM:\\System\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy -Name Enabled"],
        )
    } else {
        d.fix(
            "Read the exception in the newest event, restart the ADSync service, and check the ADSync database if the errors are SQL ones (665, 666); upgrade Entra Connect if they recur.",
            &["Restart-Service ADSync"],
        )
    };
    vec![d.covered_by(&cov, Basis::Presence, what).done()]
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
        assert!(f[0].remediation.as_ref().unwrap().summary.contains("enforceFIPSPolicy"));
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

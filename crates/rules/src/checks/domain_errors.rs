use crate::command;
use crate::context::{human_duration, partition_fqdn, Context};
use crate::coverage::Basis;
use crate::knowledge::event_ids::{AGENT_CYCLE, DOMAIN_SYNC_FAILED, HEARTBEAT, PREFERRED_DC_FAILED};
use crate::knowledge::sync_errors::{classify, SyncErrorClass};
use crate::registry::{Need, Rule};
use phs_model::COVERAGE_SLACK;
use phs_model::{
    AdConnector, Connector, CycleStatus, Event, Finding, Partition, PartitionSyncState, Scope, ScopeKind, SourceKind,
    Status, Timestamp,
};

pub const RULE: Rule = Rule {
    code: "PHS008",
    name: "domain-password-sync-errors",
    scope: ScopeKind::Domain,
    title: "No domain reports password synchronization errors",
    doc: "\
## What it checks
For every selected domain partition of every AD connector:
- the events 611 (\"Password synchronization failed for domain\") of the error
  window (default 2 hours) whose text names the domain, each classified by root
  cause from its exception and stack: replication access denied (RPC 8453),
  replication rejected by the DC (RPC 8456), Kerberos (wrong target principal
  name, KDC unreachable, clock skew, encryption types), bad connector
  credentials, other authentication failures, cannot resolve a DC, cannot
  locate a DC, RPC server unavailable, other RPC errors, LDAP, cryptography
  (FIPS), and internal errors; 616 (the preferred DC could not be reached) is
  shown beside them;
- the domain's row of `Get-ADSyncPartitionPasswordSyncState`: a last cycle
  `Failed`, or a last successful cycle older than the error window, is a
  failure of the domain even with no 611 in the window. Windows PowerShell 5.1
  writes the status as a number whose values are not documented: a number is
  unknown, never a failure by itself, and the cycle times decide (the last
  cycle is the successful one when their times agree). The file is weighed by
  when it was read (`gathered_at`, else its newest cycle time): read long
  before the evaluation time it cannot show that nothing succeeded since, and
  read after it (a `--now` looking back) it is not used.

The problem is persistent (fail) when the window holds the persistent error
count (default 5, `--persistent-errors`), or when the domain has gone without
a success for as long as that many of the agent's two-minute cycles take (10
minutes by default): since its last successful cycle (partition sync state),
else since the first 611 after its last heartbeat. A domain whose every
attempt failed for 5 hours is persistent whatever the count (an attempt that
hangs on time-outs logs one 611 in half an hour). Failures with successes in
between, or only just begun, warn (intermittent).

## Why it matters
The agent retries a failing domain every two minutes and writes a 611 each
time; users of that domain get no new password in the cloud while the others
work. The exception says exactly why, but it is buried in a stack trace.

## How to fix
Follow the fix for the class found: grant Replicating Directory Changes and
Replicating Directory Changes All (`Set-ADSyncPasswordHashSyncPermissions`),
update the connector account password, fix DNS or the firewall towards the
DCs (TCP 135 and the dynamic RPC ports), re-enable outbound replication on the
DC, or allow MD5 under FIPS in `miiserver.exe.config`.

## Evidence
Count, first and last occurrence, the classes seen, the newest message.",
    references: &[
        "https://learn.microsoft.com/troubleshoot/entra/entra-id/user-prov-sync/troubleshoot-pwd-sync",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
    ],
    needs: &[Need::PhsOnConnector],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let states = cx.snapshot.server.partition_sync_state.as_deref().unwrap_or(&[]);
    let mut out = Vec::new();
    for (connector, ad) in cx.ad_connectors() {
        for partition in ad.partitions.iter().filter(|p| p.selected) {
            let fqdn = partition_fqdn(partition);
            let scope = Scope::domain(&connector.name, &fqdn);
            let state = states.iter().find(|s| {
                s.dn.eq_ignore_ascii_case(&partition.dn) && s.connector_id.as_ref().is_none_or(|id| *id == connector.id)
            });
            out.push(judge_domain(cx, scope, connector, ad, partition, &fqdn, state));
        }
    }
    out
}

/// What the partition sync state says of a domain.
struct StateView {
    /// The last cycle failed, or (status unknown) was not the last successful one.
    failed: bool,
    /// The last successful cycle ended before the error window (or never).
    stale: bool,
    /// The last cycle is the last successful one, within the window.
    fresh_success: bool,
    /// Since when every cycle failed, as far as the state tells.
    failing_since: Option<Timestamp>,
    words: String,
}

/// When the partition sync state was read: the gather time when the
/// evidence says, else its newest cycle time (the agent cycles every two
/// minutes, so the file was read shortly after that).
fn state_read_at(cx: &Context) -> Option<Timestamp> {
    cx.snapshot.server.gathered_at.or_else(|| {
        let rows = cx.snapshot.server.partition_sync_state.as_deref()?;
        rows.iter().flat_map(|r| [r.last_cycle_start, r.last_cycle_end, r.last_successful_cycle_end]).flatten().max()
    })
}

/// Whether the state file describes the evaluation time.
enum StateTime {
    Current,
    /// Read before the evaluation time: a failure in it still counts, but
    /// "nothing succeeded since" cannot be told from a file that old.
    Older(Timestamp),
    /// Read after the evaluation time (`--now` looks back): it says nothing
    /// of the evaluation time.
    Later(Timestamp),
}

fn state_time(cx: &Context) -> StateTime {
    match state_read_at(cx) {
        Some(t) if t > cx.now + COVERAGE_SLACK => StateTime::Later(t),
        Some(t) if t < cx.now - COVERAGE_SLACK => StateTime::Older(t),
        _ => StateTime::Current,
    }
}

fn view_state(cx: &Context, s: &PartitionSyncState) -> Option<StateView> {
    let time = state_time(cx);
    if let StateTime::Later(_) = time {
        return None;
    }
    let current = matches!(time, StateTime::Current);
    let window_start = cx.now - cx.settings.error_window;
    let last_ok = s.last_successful_cycle_end;
    // The last cycle was the successful one when their times agree: that
    // decides even where the status is a number nobody has documented.
    let last_is_ok = match (s.last_cycle_end.or(s.last_cycle_start), last_ok) {
        (Some(last), Some(ok)) => last <= ok,
        _ => false,
    };
    let status = s.cycle_status();
    let failed = match &status {
        Some(CycleStatus::Failed) => true,
        Some(CycleStatus::Successful) => false,
        // Unknown: only the times speak, and only when there was a cycle.
        Some(CycleStatus::Unknown(_)) | None => s.last_cycle_end.is_some() && !last_is_ok,
    };
    let ok_in_window = last_ok.is_some_and(|t| t >= window_start);
    let mut words = describe_state(cx, s);
    if let StateTime::Older(t) = time {
        words.push_str(&format!(
            "; read at {t}, {} before the evaluation time, so it cannot show whether cycles succeeded since",
            human_duration(cx.now.duration_since(t))
        ));
    }
    Some(StateView {
        failed,
        stale: current && !ok_in_window && (s.last_cycle_start.is_some() || last_ok.is_some()),
        fresh_success: current && ok_in_window && !failed && (last_is_ok || status == Some(CycleStatus::Successful)),
        failing_since: (failed || !ok_in_window).then_some(last_ok).flatten(),
        words,
    })
}

fn judge_domain(
    cx: &Context,
    scope: Scope,
    connector: &Connector,
    ad: &AdConnector,
    partition: &Partition,
    fqdn: &str,
    state: Option<&PartitionSyncState>,
) -> Finding {
    let window = cx.settings.error_window;
    let threshold = cx.settings.persistent_error_count;
    let view = state.and_then(|s| view_state(cx, s));
    let state_later = match (state, state_time(cx)) {
        (Some(_), StateTime::Later(t)) => Some(t),
        _ => None,
    };
    let cov = cx.window_coverage(window);
    if cov.is_none() && view.is_none() {
        let outcome = match cx.snapshot.problems_for(SourceKind::Events).find(|p| !p.partial) {
            Some(p) => DomainSync::LogUnread { problem: format!("{}: {}", p.location, p.error) },
            None if state_later.is_some() => DomainSync::StateAfterNow,
            None => DomainSync::NotSupplied,
        };
        let (status, message) = outcome.words(cx, fqdn);
        return RULE.finding(status, scope, message).done();
    }
    let (from, now) = (cx.now - window, cx.now);
    let naming: Vec<&Event> = cx.mentions().events_naming(fqdn).filter(|e| e.time <= now).collect();
    let recent = |id: u32| naming.iter().copied().filter(move |e| e.event_id == id && e.time >= from);
    let errors: Vec<&Event> = recent(DOMAIN_SYNC_FAILED).collect();
    let dc_failures = recent(PREFERRED_DC_FAILED).count();

    // Since when the domain fails: the state's last success, else the first
    // 611 after the domain's last heartbeat in the log.
    let failing_since = view.as_ref().and_then(|v| v.failing_since).or_else(|| {
        // A heartbeat's `<forest-info>` names the partition it is for.
        let last_ok = cx
            .mentions()
            .in_partition(fqdn)
            .filter(|e| e.event_id == HEARTBEAT && e.time <= now)
            .last()
            .map(|e| e.time);
        naming
            .iter()
            .filter(|e| e.event_id == DOMAIN_SYNC_FAILED && last_ok.is_none_or(|t| e.time > t))
            .map(|e| e.time)
            .next()
    });
    // Failing without a success for as long as the persistent count of
    // cycles takes is persistent, however few attempts were logged: an
    // attempt that hangs on time-outs logs one 611 in 38 minutes.
    let persistent_after = AGENT_CYCLE * i32::try_from(threshold).unwrap_or(i32::MAX);
    let failing_long = failing_since.is_some_and(|t| cx.now.duration_since(t) >= persistent_after);
    let persistent = errors.len() >= threshold || failing_long || view.as_ref().is_some_and(|v| v.stale);
    let failing = Failing { persistent, since: failing_since };

    let outcome = decide(&errors, view.as_ref(), cov.is_some(), failing);
    let (status, message) = outcome.words(cx, fqdn);
    let mut d = RULE.finding(status, scope, message);
    if let (DomainSync::Errors { class, .. }, Some(newest)) = (&outcome, errors.last()) {
        d = d
            .evidence("Root cause", class.id)
            .evidence("Classes seen", classes_seen(&errors))
            .evidence("First / last", format!("{} / {}", errors[0].time, newest.time))
            .evidence("Newest message", headline(&newest.text()))
            .fix_commands(class.fix, commands(class, connector_account(ad), partition, fqdn));
    }
    if let DomainSync::StateFailing { .. } = outcome {
        d = d.fix(
            "Read the agent's events for this domain around the failing cycles (event 611 names the cause) and check the domain's DCs are reachable from the sync server.",
            &[
                "Get-ADSyncPartitionPasswordSyncState",
                "Get-EventLog -LogName Application -Source 'Directory Synchronization' -InstanceId 611 -Newest 5 | Format-List",
            ],
        );
    }
    if let Some(v) = &view {
        d = d.evidence("Partition sync state", v.words.clone());
    }
    if let Some(t) = state_later {
        d = d.evidence(
            "Partition sync state",
            format!("not used: read at {t}, after the evaluation time, it says nothing of the window"),
        );
    }
    if dc_failures > 0 {
        d = d.evidence("Preferred DC failures (616)", format!("{dc_failures} in the last {}", human_duration(window)));
    }
    if d.status() != Status::Pass {
        if !partition.preferred_dcs.is_empty() {
            d = d.evidence_from("Preferred DCs", partition.preferred_dcs.join(", "), &connector.file);
        }
        if let Some(dc) = &partition.last_dc {
            d = d.evidence_from("Last DC used", dc.clone(), &connector.file);
        }
    }
    match &cov {
        Some(c) => d.covered_by(c, outcome.basis(), &format!("the password sync errors of {fqdn}")).done(),
        None => d.done(),
    }
}

/// What the window's 611s of a domain (oldest first), its partition sync
/// state and whether an event log was read (`log`) amount to.
fn decide(errors: &[&Event], view: Option<&StateView>, log: bool, failing: Failing) -> DomainSync {
    if let Some(newest) = errors.last() {
        return DomainSync::Errors { count: errors.len(), class: classify(&newest.text()), failing };
    }
    match view {
        Some(v) if v.failed || v.stale => DomainSync::StateFailing { last_failed: v.failed, log, failing },
        Some(v) if !log && v.fresh_success => DomainSync::StateSucceeded,
        Some(_) if !log => DomainSync::StateUnclear,
        _ => DomainSync::Clear,
    }
}

/// Whether a failing domain's failure is persistent, and since when it fails.
#[derive(Debug, PartialEq)]
struct Failing {
    persistent: bool,
    since: Option<Timestamp>,
}

/// What PHS008 decides for one domain, before [`DomainSync::words`] puts it
/// in words.
enum DomainSync {
    /// Neither an event log nor a state to judge, because the log was unreadable.
    LogUnread { problem: String },
    /// Neither, because the only state was read after the evaluation time.
    StateAfterNow,
    /// Neither was supplied.
    NotSupplied,
    /// Events 611 in the window; the newest one's class names the cause.
    Errors { count: usize, class: &'static SyncErrorClass, failing: Failing },
    /// No 611, but the state says the domain fails (`last_failed`: its last
    /// cycle failed, else none succeeded within the window).
    StateFailing { last_failed: bool, log: bool, failing: Failing },
    /// Without a log: the state shows a recent successful cycle.
    StateSucceeded,
    /// Without a log: the state does not show whether the last cycle succeeded.
    StateUnclear,
    /// No 611 in the window of the log.
    Clear,
}

impl DomainSync {
    fn words(&self, cx: &Context, fqdn: &str) -> (Status, String) {
        let window = human_duration(cx.settings.error_window);
        let failing_words = |f: &Failing| {
            (
                if f.persistent { Status::Fail } else { Status::Warn },
                f.since.map_or(String::new(), |t| format!(", failing since {t} ({})", cx.age(t))),
            )
        };
        match self {
            DomainSync::LogUnread { problem } => {
                (Status::Error, format!("Could not read the event log: {problem}"))
            }
            DomainSync::StateAfterNow => (
                Status::Error,
                "The partition sync state was read after the evaluation time and no event log was supplied: nothing describes the window.".to_owned(),
            ),
            DomainSync::NotSupplied => (
                Status::Skipped,
                "No event log (--events) or partition sync state (--partition-sync-state) supplied.".to_owned(),
            ),
            DomainSync::Errors { count, class, failing } => {
                let (status, since_words) = failing_words(failing);
                let persistence = if failing.persistent { "persistent" } else { "intermittent" };
                (
                    status,
                    format!(
                        "{count} password synchronization errors for {fqdn} in the last {window} ({persistence}{since_words}): {}.",
                        class.cause
                    ),
                )
            }
            DomainSync::StateFailing { last_failed, log, failing } => {
                let (status, since_words) = failing_words(failing);
                let what =
                    if *last_failed { "its last cycle failed" } else { "no cycle has succeeded within the error window" };
                let log_words = if *log {
                    format!("the event log has no event 611 for it in the last {window}")
                } else {
                    "no event log was supplied to say why".to_owned()
                };
                (
                    status,
                    format!(
                        "Password synchronization is failing for {fqdn} (partition sync state: {what}{since_words}); {log_words}. If the state was exported long before the evaluation time, export it again: a stale file and a domain that stopped syncing look the same here."
                    ),
                )
            }
            DomainSync::StateSucceeded => (
                Status::Pass,
                "The last password sync cycle for this domain succeeded recently (partition sync state).".to_owned(),
            ),
            DomainSync::StateUnclear => (
                Status::Warn,
                "The partition sync state does not show whether the last password sync cycle for this domain succeeded; supply the event log to see why.".to_owned(),
            ),
            DomainSync::Clear => {
                (Status::Pass, format!("No password synchronization errors (event 611) for {fqdn} in the last {window}."))
            }
        }
    }

    /// A 611 or a failing state is something seen; the rest rests on none being seen.
    fn basis(&self) -> Basis {
        match self {
            DomainSync::Errors { .. } | DomainSync::StateFailing { .. } => Basis::Presence,
            _ => Basis::Absence,
        }
    }
}

fn classes_seen(errors: &[&Event]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for e in errors {
        let id = classify(&e.text()).id;
        match counts.iter_mut().find(|(i, _)| *i == id) {
            Some((_, n)) => *n += 1,
            None => counts.push((id, 1)),
        }
    }
    counts.iter().map(|(id, n)| format!("{id} x{n}")).collect::<Vec<_>>().join(", ")
}

fn connector_account(ad: &phs_model::AdConnector) -> (String, String) {
    (
        ad.login_user.clone().unwrap_or_else(|| "<connector account>".into()),
        ad.login_domain.clone().unwrap_or_else(|| "<account domain>".into()),
    )
}

/// The class's commands with this domain's names filled in, quoted; the
/// note says which were left out because a value cannot be quoted safely.
fn commands(
    class: &SyncErrorClass,
    (account, account_domain): (String, String),
    partition: &phs_model::Partition,
    fqdn: &str,
) -> (Vec<String>, Option<String>) {
    // The DC to test: the first preferred DC, else the one last used.
    let dc = partition.preferred_dcs.first().or(partition.last_dc.as_ref()).map_or("<DC>", String::as_str);
    // dsacls takes DOMAIN\user for a NetBIOS name and user@domain for a DNS name.
    let principal = if account_domain.contains('.') {
        format!("{account}@{account_domain}")
    } else {
        format!("{account_domain}\\{account}")
    };
    command::fill_all(
        class.commands,
        &[
            ("<account principal>", &principal),
            ("<account domain>", &account_domain),
            ("<account>", &account),
            ("<domain root DN>", &partition.dn),
            ("<domain>", fqdn),
            ("<DC>", dc),
        ],
    )
}

fn describe_state(cx: &Context, s: &PartitionSyncState) -> String {
    format!(
        "last cycle {}, last successful cycle ended {}",
        s.last_cycle_status.as_deref().unwrap_or("unknown"),
        s.last_successful_cycle_end.map_or("never".to_owned(), |t| format!("{t} ({})", cx.age(t)))
    )
}

/// The first line of an event text (the exception message), cut to a length
/// a report can show; the whole text stays in the event log.
fn headline(text: &str) -> String {
    const MAX: usize = 300;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::context::names_domain;

    const DENIED: &str = "Password synchronization failed for domain: emea.fabrikam.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsException: RPC Error 8453: Replication access was denied. There was an error calling _IDL_DRSGetNCChanges.\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.OnGetChanges(ReplicationState syncState)";
    const LOCATE: &str = "Password synchronization failed for domain: tailspintoys.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: tailspintoys.com. ---> System.DirectoryServices.ActiveDirectory.ActiveDirectoryObjectNotFoundException: The specified domain controller could not be found.\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryUtility.FindPreferredDC(String domainName)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";

    #[test]
    fn pass_without_611() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(654, 5, "ping end")]);
        assert_eq!(statuses(&run(&s, check)), [Status::Pass; 3]);
    }

    #[test]
    fn persistent_access_denied_fails_with_the_permission_command() {
        let mut s = snapshot_with_export();
        with_events(&mut s, (0..6).map(|i| event(611, 5 + i * 2, DENIED)).collect());
        let f = run(&s, check);
        let emea = for_scope(&f, "fabrikam.com", Some("emea.fabrikam.com"));
        assert_eq!(emea.status, Status::Fail);
        assert!(emea.message.starts_with("6 password"), "{}", emea.message);
        assert!(emea.evidence.iter().any(|e| e.value == "replication-access-denied"));
        let fix = emea.remediation.as_ref().unwrap();
        assert!(fix.commands.iter().any(|c| c.contains("-ADConnectorAccountName 'MSOL_4f2a9c1b7e30'")));
        assert!(fix.commands.iter().any(|c| c.contains("dsacls 'DC=emea,DC=fabrikam,DC=com'")));
        // The parent domain is not named by " emea.fabrikam.com".
        assert_eq!(for_scope(&f, "fabrikam.com", Some("fabrikam.com")).status, Status::Pass);
    }

    fn tailspin_hb(minutes_ago: i64) -> Event {
        event(
            654,
            minutes_ago,
            &format!("Provision credentials ping end.{}", forest_info("tailspintoys.com", TAILSPIN)),
        )
    }

    #[test]
    fn few_errors_warn_and_old_ones_do_not_count() {
        let mut s = snapshot_with_export();
        with_events(
            &mut s,
            vec![
                // A success (heartbeat) between the two recent errors: intermittent.
                event(611, 8, LOCATE),
                tailspin_hb(20),
                event(611, 30, LOCATE),
                event(611, 200, LOCATE),
                event(611, 300, LOCATE),
            ],
        );
        let f = run(&s, check);
        let t = for_scope(&f, "tailspintoys.com", Some("tailspintoys.com"));
        assert_eq!(t.status, Status::Warn, "{}", t.message);
        assert!(t.message.starts_with("2 password"));
        assert!(t.evidence.iter().any(|e| e.value == "cannot-locate-dc"));
    }

    #[test]
    fn failing_for_longer_than_the_window_is_persistent_whatever_the_count() {
        // One attempt every 38 minutes for 5 hours: 3 in the window, no
        // heartbeat in between.
        let mut s = snapshot_with_export();
        with_events(
            &mut s,
            vec![
                tailspin_hb(310),
                event(611, 282, LOCATE),
                event(611, 244, LOCATE),
                event(611, 206, LOCATE),
                event(611, 168, LOCATE),
                event(611, 90, LOCATE),
                event(611, 52, LOCATE),
                event(611, 14, LOCATE),
            ],
        );
        let t = run(&s, check).into_iter().find(|f| f.scope.domain.as_deref() == Some("tailspintoys.com")).unwrap();
        assert_eq!(t.status, Status::Fail, "{}", t.message);
        assert!(t.message.contains("persistent, failing since"), "{}", t.message);
        // The same from the partition state's last success, without the heartbeat.
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(611, 90, LOCATE), event(611, 52, LOCATE)]);
        s.server.partition_sync_state = Some(vec![row("DC=tailspintoys,DC=com", "Failed", 300)]);
        let t = run(&s, check).into_iter().find(|f| f.scope.domain.as_deref() == Some("tailspintoys.com")).unwrap();
        assert_eq!(t.status, Status::Fail, "{}", t.message);
    }

    fn row(dn: &str, status: &str, success_minutes_ago: i64) -> PartitionSyncState {
        let ok = now() - jiff::SignedDuration::from_mins(success_minutes_ago);
        let last = now() - jiff::SignedDuration::from_mins(1);
        let failed = !status.eq_ignore_ascii_case("successful");
        PartitionSyncState {
            connector_id: None,
            dn: dn.into(),
            last_cycle_status: Some(status.into()),
            last_successful_cycle_start: Some(ok),
            last_successful_cycle_end: Some(ok),
            last_cycle_start: Some(if failed { last } else { ok }),
            last_cycle_end: Some(if failed { last } else { ok }),
        }
    }

    #[test]
    fn a_failed_or_stale_partition_state_is_a_failure_without_any_611() {
        for (status, ok_min, want) in [
            ("Failed", 300, Status::Fail),
            // No success for 20 minutes: ten cycles failed in a row.
            ("Failed", 20, Status::Fail),
            // The last success 6 minutes ago: only just begun.
            ("Failed", 6, Status::Warn),
            // No cycle succeeded for 5 h although the status says so: stuck.
            ("Successful", 300, Status::Fail),
            ("Successful", 2, Status::Pass),
        ] {
            let mut s = snapshot_with_export();
            with_events(&mut s, vec![event(654, 5, "ping end")]);
            s.server.partition_sync_state = Some(vec![row("DC=fabrikam,DC=com", status, ok_min)]);
            s.server.gathered_at = Some(now());
            let f = run(&s, check);
            let d = for_scope(&f, "fabrikam.com", Some("fabrikam.com"));
            assert_eq!(d.status, want, "{status} {ok_min}: {}", d.message);
        }
    }

    #[test]
    fn an_old_state_file_is_not_taken_for_a_domain_that_stopped() {
        // Every row's newest time is 5 h old and nothing says when the file
        // was read: the file may simply be old. Its "Failed" still counts.
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(654, 5, "ping end")]);
        let mut old_ok = row("DC=fabrikam,DC=com", "Successful", 300);
        old_ok.last_cycle_end = old_ok.last_successful_cycle_end;
        let mut old_failed = row("DC=emea,DC=fabrikam,DC=com", "Failed", 400);
        old_failed.last_cycle_end = Some(now() - jiff::SignedDuration::from_mins(300));
        old_failed.last_cycle_start = old_failed.last_cycle_end;
        s.server.partition_sync_state = Some(vec![old_ok, old_failed]);
        let f = run(&s, check);
        let root = for_scope(&f, "fabrikam.com", Some("fabrikam.com"));
        assert_eq!(root.status, Status::Pass, "{}", root.message);
        assert!(root.evidence.iter().any(|e| e.value.contains("before the evaluation time, so it cannot show")));
        assert_eq!(for_scope(&f, "fabrikam.com", Some("emea.fabrikam.com")).status, Status::Fail);
    }

    #[test]
    fn a_state_read_after_the_evaluation_time_is_not_used() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(654, 5, "ping end")]);
        let mut later = row("DC=emea,DC=fabrikam,DC=com", "Failed", 20);
        later.last_cycle_end = Some(now() + jiff::SignedDuration::from_hours(4));
        s.server.partition_sync_state = Some(vec![later]);
        let f = run(&s, check);
        let emea = for_scope(&f, "fabrikam.com", Some("emea.fabrikam.com"));
        assert_eq!(emea.status, Status::Pass, "{}", emea.message);
        assert!(emea.evidence.iter().any(|e| e.value.starts_with("not used: read at")));
    }

    #[test]
    fn an_enum_number_is_unknown_and_only_the_times_decide() {
        // Windows PowerShell 5.1 writes the status as a number whose meaning
        // is not documented: the cycle times decide instead.
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(654, 5, "ping end")]);
        let mut ok = row("DC=fabrikam,DC=com", "Successful", 2);
        ok.last_cycle_status = Some("1".into());
        let mut bad = row("DC=emea,DC=fabrikam,DC=com", "Failed", 6);
        bad.last_cycle_status = Some("1".into());
        s.server.partition_sync_state = Some(vec![ok, bad]);
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "fabrikam.com", Some("fabrikam.com")).status, Status::Pass);
        assert_eq!(for_scope(&f, "fabrikam.com", Some("emea.fabrikam.com")).status, Status::Warn);
    }

    #[test]
    fn a_short_log_without_611_cannot_pass_but_errors_in_it_count() {
        let mut s = snapshot_with_export();
        with_log(&mut s, vec![event(611, 3, DENIED), event(611, 5, DENIED)], 8, 0);
        let f = run(&s, check);
        let emea = for_scope(&f, "fabrikam.com", Some("emea.fabrikam.com"));
        assert_eq!(emea.status, Status::Warn, "{}", emea.message);
        assert!(emea.evidence.iter().any(|e| e.label == "Window seen" && e.value.starts_with("8 min of the 2 h")));
        let root = for_scope(&f, "fabrikam.com", Some("fabrikam.com"));
        assert_eq!(root.status, Status::Error, "{}", root.message);
        assert!(root.message.contains("the log shows 8 min of the 2 h window"), "{}", root.message);
    }

    #[test]
    fn commands_name_the_preferred_dc_and_the_account() {
        let mut s = snapshot_with_export();
        let ad = s.server.config.as_mut().unwrap().connectors[1].ad.as_mut().unwrap();
        ad.partitions[0].preferred_dcs = vec!["dc02.tailspintoys.com".into()];
        ad.login_domain = Some("TAILSPINTOYS".into());
        with_events(&mut s, vec![event(611, 10, LOCATE)]);
        let f = run(&s, check);
        let t = for_scope(&f, "tailspintoys.com", Some("tailspintoys.com"));
        let cmds = &t.remediation.as_ref().unwrap().commands;
        assert!(cmds.contains(&"Test-NetConnection 'dc02.tailspintoys.com' -Port 135".to_owned()), "{cmds:?}");
        assert!(t.evidence.iter().any(|e| e.label == "Preferred DCs" && e.value == "dc02.tailspintoys.com"));
        let class = crate::knowledge::sync_errors::classify(DENIED);
        let (principal, _) = commands(class, ("svc".into(), "TAILSPINTOYS".into()), &ad_partition(), "x");
        assert!(
            principal.iter().any(|c| c.contains("'TAILSPINTOYS\\svc:CA;Replicating Directory Changes'")),
            "{principal:?}"
        );
    }

    fn ad_partition() -> phs_model::Partition {
        phs_model::Partition { dn: "DC=x".into(), ..Default::default() }
    }

    #[test]
    fn domain_matching_needs_a_word_boundary() {
        assert!(names_domain("failed for domain: contoso.com. Details", "contoso.com"));
        assert!(names_domain("domain: Contoso.Com", "contoso.com"));
        assert!(!names_domain("domain: child.contoso.com.", "contoso.com"));
        assert!(!names_domain("domain: contoso.com.au.", "contoso.com"));
        assert!(!names_domain("domain: contoso.community", "contoso.com"));
    }

    #[test]
    fn partition_state_judges_without_events() {
        let mut s = snapshot_with_export();
        let mut odd = row("DC=emea,DC=fabrikam,DC=com", "Failed", 600);
        odd.last_cycle_status = Some("FailedReplicationAccessDenied".into());
        s.server.partition_sync_state = Some(vec![row("DC=fabrikam,DC=com", "Successful", 2), odd]);
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "fabrikam.com", Some("fabrikam.com")).status, Status::Pass);
        // An unknown status name, but no success for 10 hours.
        assert_eq!(for_scope(&f, "fabrikam.com", Some("emea.fabrikam.com")).status, Status::Fail);
        assert_eq!(for_scope(&f, "tailspintoys.com", Some("tailspintoys.com")).status, Status::Skipped);
    }
}

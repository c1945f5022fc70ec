use crate::context::NO_EVENTS;
use crate::context::{human_duration, Context};
use crate::knowledge::event_ids::{lifecycle, AgentState, AGENT_ACTIVITY, LIFECYCLE_IDS};
use crate::registry::Rule;
use phs_model::{Finding, Scope, ScopeKind, SourceKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS010",
    name: "password-sync-agent-state",
    scope: ScopeKind::Server,
    title: "The password hash sync agent is running",
    doc: "\
## What it checks
The agent's lifecycle events of the Directory Synchronization source: started
(601), stopped (602, 609, 610), could not start (607), crashed with a worker
thread exception (615), paused until a full directory synchronization completes
(613). The newest of them decides, unless the agent was active after it
(heartbeats, batches, errors it wrote). With no lifecycle event, the agent must
have written something within the error window (default 2 hours): it writes a
heartbeat every 30 minutes.

## Why it matters
Password hash sync runs inside the ADSync service on its own thread. It can
stop or crash while the service and directory synchronization keep running, so
nothing else looks wrong.

## How to fix
Restart the ADSync service. If the agent crashed (615), read the exception in
the event and upgrade Entra Connect if it recurs. If it is paused (613), let the
initial full synchronization cycle complete (`Start-ADSyncSyncCycle -PolicyType
Initial` when none has run).

## Evidence
The newest lifecycle event and the newest activity after it.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler",
    ],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let scope = Scope::server();
    if cx.events().is_none() {
        let (status, message) = cx.absent(SourceKind::Events, NO_EVENTS);
        return vec![RULE.finding(status, scope, message).done()];
    }
    if let Some(cfg) = &cx.snapshot.server.config {
        let any_enabled = cfg.ad_connectors().any(|(_, ad)| ad.phs.as_ref().is_some_and(|p| p.enabled));
        if !any_enabled {
            return vec![RULE
                .finding(
                    Status::Skipped,
                    scope,
                    "Password hash synchronization is disabled for every connector (see PHS003), so the agent is not expected to run.",
                )
                .done()];
        }
    }
    let last_lifecycle = cx.up_to_now(LIFECYCLE_IDS).last();
    let last_activity = cx.up_to_now(AGENT_ACTIVITY).last();
    let window = cx.settings.error_window;

    let described = |e: &phs_model::Event| {
        let what = lifecycle(e.event_id).map_or("activity", |(_, d)| d);
        format!("{} {} at {} ({})", e.event_id, what, e.time, cx.age(e.time))
    };
    let active_after = |t| last_activity.filter(|a| a.time > t);

    let (status, message) = match last_lifecycle.map(|e| (e, lifecycle(e.event_id))) {
        Some((e, Some((state, what)))) if state != AgentState::Started && active_after(e.time).is_none() => match state
        {
            AgentState::PausedForFullSync => (
                Status::Warn,
                format!(
                    "The agent is paused until a full directory synchronization completes (event 613 {}).",
                    cx.age(e.time)
                ),
            ),
            AgentState::Crashed => (
                Status::Fail,
                format!(
                    "The agent stopped on an exception (event 615 {}) and has written nothing since.",
                    cx.age(e.time)
                ),
            ),
            _ => (
                Status::Fail,
                format!(
                    "The agent is not running: {what} (event {} {}) and nothing since.",
                    e.event_id,
                    cx.age(e.time)
                ),
            ),
        },
        _ => match last_activity {
            Some(a) if a.time >= cx.now - window => (
                Status::Pass,
                format!(
                    "The password hash sync agent is running: it last wrote event {} {}.",
                    a.event_id,
                    cx.age(a.time)
                ),
            ),
            Some(a) => (
                Status::Fail,
                format!(
                    "The agent has written nothing for {} (last event {} {}): it is not running.",
                    human_duration(cx.now.duration_since(a.time)),
                    a.event_id,
                    cx.age(a.time)
                ),
            ),
            None => (
                Status::Fail,
                "The password hash sync agent has written no event at all in the log: it is not running.".to_owned(),
            ),
        },
    };
    let mut d = RULE.finding(status, scope, message);
    if let Some(e) = last_lifecycle {
        d = d.evidence("Newest lifecycle event", described(e));
    }
    if let Some(a) = last_activity {
        d = d.evidence("Newest agent activity", described(a));
    }
    let d = match status {
        Status::Warn => d.fix(
            "Let the full synchronization cycle complete; if none has ever run, start one.",
            &["Get-ADSyncScheduler", "Start-ADSyncSyncCycle -PolicyType Initial"],
        ),
        Status::Fail => d.fix(
            "Restart the ADSync service, then check for heartbeats (event 654) within 30 minutes. If the agent crashed, read the exception in event 615 and upgrade Entra Connect if it recurs.",
            &["Restart-Service ADSync"],
        ),
        _ => d,
    };
    vec![d.done()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn status_of(events: Vec<phs_model::Event>) -> Status {
        let mut s = snapshot_with_export();
        with_events(&mut s, events);
        run(&s, check)[0].status
    }

    #[test]
    fn pass_when_active() {
        assert_eq!(status_of(vec![event(601, 400, "start"), event(654, 10, "ping end")]), Status::Pass);
    }

    #[test]
    fn fail_when_stopped_or_crashed() {
        assert_eq!(status_of(vec![event(654, 100, "ping end"), event(609, 60, "stopped")]), Status::Fail);
        assert_eq!(status_of(vec![event(654, 100, "ping end"), event(610, 60, "cannot stop")]), Status::Fail);
        assert_eq!(
            status_of(vec![event(654, 100, "ping end"), event(615, 60, "worker thread exception")]),
            Status::Fail
        );
    }

    #[test]
    fn activity_after_a_stop_means_it_restarted() {
        assert_eq!(status_of(vec![event(609, 60, "stopped"), event(654, 10, "ping end")]), Status::Pass);
    }

    #[test]
    fn paused_warns() {
        assert_eq!(status_of(vec![event(601, 90, "start"), event(613, 60, "paused")]), Status::Warn);
    }

    #[test]
    fn fail_when_not_running_at_all() {
        assert_eq!(status_of(vec![]), Status::Fail);
        assert_eq!(status_of(vec![event(654, 300, "ping end")]), Status::Fail);
    }

    #[test]
    fn skipped_when_phs_is_off_everywhere() {
        let mut s = snapshot_with_export();
        for c in &mut s.server.config.as_mut().unwrap().connectors {
            if let Some(ad) = c.ad.as_mut() {
                ad.phs.as_mut().unwrap().enabled = false;
            }
        }
        with_events(&mut s, vec![]);
        assert_eq!(run(&s, check)[0].status, Status::Skipped);
    }
}

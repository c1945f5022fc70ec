use crate::channel::ChannelState;
use crate::context::{human_duration, Context};
use crate::coverage::Basis;
use crate::knowledge::event_ids::{meaning, AgentState};
use crate::registry::{Need, Rule};
use phs_model::{Event, Finding, Scope, ScopeKind, Status, WindowCoverage};

pub const RULE: Rule = Rule {
    code: "PHS010",
    name: "password-sync-agent-state",
    scope: ScopeKind::Connector,
    title: "Each AD connector's password hash sync channel is running",
    doc: "\
## What it checks
For each AD connector's password hash sync channel, the agent's lifecycle
events of the Directory Synchronization source: started (601), stopped (602,
609, 610), could not start (607), crashed with a worker thread exception (615),
paused until a full directory synchronization completes (613). An event that
names a connector (its GUID in the `<forest-info>` block, or its name) applies
to that channel only; one that names none is the manager's and applies to
every channel. The newest applicable event decides, unless the channel itself
was active after it (its heartbeats, batches, cloud errors, errors for its
domains). Another channel's events, and the manager's own \"alive\" (663), do
not show that a channel restarted. A channel that stopped is reported at once.
With no lifecycle event, the channel must have written something within the
error window (default 2 hours): it writes a heartbeat every 30 minutes.

Without the configuration export no channel can be named, and the agent is
judged as a whole (663 then counts as activity). A \"running\" verdict needs
the log to show the whole window (see the coverage rules in PHS004).

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
    needs: &[Need::EventLog, Need::PhsOnConnector],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let Some(cov) = cx.window_coverage(cx.settings.error_window) else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };
    let Some(cfg) = &cx.snapshot.server.config else {
        // Without the export no channel can be named: judge the manager.
        return vec![judge(cx, &cov, Scope::server(), "the password hash sync agent", cx.manager_state())];
    };
    let connectors: Vec<_> = cfg.ad_connectors().collect();
    if connectors.is_empty() {
        return vec![RULE
            .finding(Status::Skipped, Scope::server(), "The export has no AD connector, so no channel to judge.")
            .done()];
    }
    connectors
        .into_iter()
        .map(|(c, ad)| {
            let scope = Scope::connector(&c.name);
            judge(cx, &cov, scope, &format!("the password hash sync channel of {}", c.name), cx.channel_state(c, ad))
        })
        .collect()
}

fn judge(cx: &Context, cov: &WindowCoverage, scope: Scope, who: &str, state: ChannelState) -> Finding {
    let described = |e: &Event| {
        let what = meaning(e.event_id).unwrap_or("activity");
        format!("{} {} at {} ({})", e.event_id, what, e.time, cx.age(e.time))
    };
    let outcome = decide(&state, cx.now - cx.settings.error_window);
    let (status, message) = outcome.words(cx, &capitalised(who));
    let mut d = RULE.finding(status, scope, message);
    if let Some((e, _, _)) = state.lifecycle {
        d = d.evidence("Newest lifecycle event", described(e));
    }
    if let Some(a) = state.activity {
        d = d.evidence("Newest activity", described(a));
    }
    if let Some((summary, commands)) = outcome.fix() {
        d = d.fix(summary, commands);
    }
    d.covered_by(cov, outcome.basis(), &format!("whether {who} runs")).done()
}

/// What a channel's (or the manager's) newest lifecycle event and activity
/// amount to; activity from `window_start` on counts as running.
fn decide<'a>(state: &ChannelState<'a>, window_start: jiff::Timestamp) -> Agent<'a> {
    match state.stopped() {
        Some((at, AgentState::PausedForFullSync, _)) => Agent::Paused { at },
        Some((at, AgentState::Crashed, _)) => Agent::Crashed { at },
        Some((at, _, what)) => Agent::Stopped { at, what },
        None => match state.activity {
            Some(last) if last.time >= window_start => Agent::Running { last },
            Some(last) => Agent::Silent { last },
            None => Agent::NeverWrote,
        },
    }
}

/// What PHS010 decides for one channel, before [`Agent::words`] and
/// [`Agent::fix`] put it in words.
#[derive(Debug, PartialEq)]
enum Agent<'a> {
    /// Paused until a full synchronization completes (613).
    Paused { at: &'a Event },
    /// Stopped on an exception (615).
    Crashed { at: &'a Event },
    /// Stopped otherwise; `what` says how.
    Stopped { at: &'a Event, what: &'static str },
    /// Wrote something within the window.
    Running { last: &'a Event },
    /// Its newest event is older than the window.
    Silent { last: &'a Event },
    /// No event of it in the whole log.
    NeverWrote,
}

impl Agent<'_> {
    fn words(&self, cx: &Context, subject: &str) -> (Status, String) {
        match self {
            Agent::Paused { at } => (
                Status::Warn,
                format!(
                    "{subject} is paused until a full directory synchronization completes (event 613 {}).",
                    cx.age(at.time)
                ),
            ),
            Agent::Crashed { at } => (
                Status::Fail,
                format!(
                    "{subject} stopped on an exception (event 615 {}) and has written nothing since.",
                    cx.age(at.time)
                ),
            ),
            Agent::Stopped { at, what } => {
                (Status::Fail, format!("{subject} is not running: {what} ({}) and nothing since.", cx.cite(at)))
            }
            Agent::Running { last } => {
                (Status::Pass, format!("{subject} is running: it last wrote {}.", cx.cite(last)))
            }
            Agent::Silent { last } => (
                Status::Fail,
                format!(
                    "{subject} has written nothing for {} (last event {} {}): it is not running.",
                    human_duration(cx.now.duration_since(last.time)),
                    last.event_id,
                    cx.age(last.time)
                ),
            ),
            Agent::NeverWrote => {
                (Status::Fail, format!("{subject} has written no event at all in the log: it is not running."))
            }
        }
    }

    /// A stop or recent activity is something the log shows; silence is not.
    fn basis(&self) -> Basis {
        match self {
            Agent::Silent { .. } | Agent::NeverWrote => Basis::Absence,
            _ => Basis::Presence,
        }
    }

    fn fix(&self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Agent::Running { .. } => None,
            Agent::Paused { .. } => Some((
                "Let the full synchronization cycle complete; if none has ever run, start one.",
                &["Get-ADSyncScheduler", "Start-ADSyncSyncCycle -PolicyType Initial"],
            )),
            _ => Some((
                "Restart the ADSync service, then check for heartbeats (event 654) within 30 minutes. If the agent crashed, read the exception in event 615 and upgrade Entra Connect if it recurs.",
                &["Restart-Service ADSync"],
            )),
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn fab(id: u32, minutes_ago: i64, text: &str) -> Event {
        event(id, minutes_ago, &format!("{text}{}", forest_info("fabrikam.com", FABRIKAM)))
    }

    fn tail(id: u32, minutes_ago: i64, text: &str) -> Event {
        event(id, minutes_ago, &format!("{text}{}", forest_info("tailspintoys.com", TAILSPIN)))
    }

    /// Statuses for (fabrikam.com, tailspintoys.com).
    fn statuses_of(events: Vec<Event>) -> (Status, Status) {
        let mut s = snapshot_with_export();
        with_events(&mut s, events);
        let f = run(&s, check);
        (for_scope(&f, "fabrikam.com", None).status, for_scope(&f, "tailspintoys.com", None).status)
    }

    #[test]
    fn pass_when_each_channel_is_active() {
        let both = vec![event(601, 400, "start"), fab(654, 10, "ping end"), tail(654, 12, "ping end")];
        assert_eq!(statuses_of(both), (Status::Pass, Status::Pass));
    }

    #[test]
    fn a_stop_naming_one_channel_fails_that_channel_only() {
        for id in [609, 610, 615] {
            let events = vec![
                fab(654, 100, "ping end"),
                tail(654, 100, "ping end"),
                tail(id, 60, "x"),
                fab(654, 10, "ping end"),
            ];
            assert_eq!(statuses_of(events), (Status::Pass, Status::Fail), "event {id}");
        }
    }

    #[test]
    fn a_manager_stop_applies_to_every_channel() {
        let events = vec![fab(654, 100, "ping end"), tail(654, 100, "ping end"), event(602, 60, "manager stopping")];
        assert_eq!(statuses_of(events), (Status::Fail, Status::Fail));
    }

    #[test]
    fn only_the_channels_own_activity_shows_it_restarted() {
        // Another channel's heartbeat and the manager's "alive" (663) do not.
        let events = vec![tail(609, 60, "stopped"), fab(654, 10, "ping end"), event(663, 5, "alive and running")];
        assert_eq!(statuses_of(events), (Status::Pass, Status::Fail));
        let events = vec![tail(609, 60, "stopped"), fab(654, 10, "ping end"), tail(654, 9, "ping end")];
        assert_eq!(statuses_of(events), (Status::Pass, Status::Pass));
    }

    #[test]
    fn a_domain_error_is_the_channels_activity() {
        let events = vec![
            event(601, 90, "start"),
            fab(654, 10, "ping end"),
            event(611, 5, "Password synchronization failed for domain: tailspintoys.com. Details: x"),
        ];
        assert_eq!(statuses_of(events), (Status::Pass, Status::Pass));
    }

    #[test]
    fn paused_warns() {
        let events = vec![event(601, 90, "start"), event(613, 60, "paused")];
        assert_eq!(statuses_of(events), (Status::Warn, Status::Warn));
    }

    #[test]
    fn fail_when_not_running_at_all() {
        assert_eq!(statuses_of(vec![]), (Status::Fail, Status::Fail));
        assert_eq!(
            statuses_of(vec![fab(654, 300, "ping end"), tail(654, 300, "ping end")]),
            (Status::Fail, Status::Fail)
        );
    }

    #[test]
    fn a_running_channel_cannot_pass_on_a_log_that_ends_early_but_a_stop_in_it_counts() {
        let mut s = snapshot_with_export();
        with_log(&mut s, vec![fab(654, 100, "ping end"), tail(609, 95, "stopped")], 600, 90);
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "fabrikam.com", None).status, Status::Error);
        assert_eq!(for_scope(&f, "tailspintoys.com", None).status, Status::Fail);
    }

    #[test]
    fn without_the_export_the_manager_is_judged() {
        let mut s = snapshot();
        with_events(&mut s, vec![event(663, 10, "alive")]);
        let f = run(&s, check);
        assert_eq!((f.len(), f[0].status), (1, Status::Pass));
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
        assert!(run(&s, check).iter().all(|f| f.status == Status::Skipped));
    }
}

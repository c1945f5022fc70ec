use crate::context::{human_duration, Context};
use crate::coverage::Basis;
use crate::knowledge::event_ids::{HEARTBEAT, PASSWORD_ACTIVITY};
use crate::registry::{Need, Rule};
use jiff::SignedDuration;
use phs_model::{Event, Finding, Scope, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS004",
    name: "connector-heartbeat",
    scope: ScopeKind::Connector,
    title: "Each AD connector's password hash sync channel sends heartbeats",
    doc: "\
## What it checks
For every AD connector with password hash sync enabled: the newest event 654
(\"Provision credentials ping end\") of the Directory Synchronization source whose
text contains the connector's GUID, within the heartbeat window (default 3 hours,
as Microsoft's troubleshooter uses). Password activity for the connector
(events 650/651/656/657) without a heartbeat is a warning, not a pass. A
channel that stopped after its last heartbeat (a lifecycle event naming it, or
the manager's, with nothing from the channel since; see PHS010) fails at once,
without waiting for the window to run out. The evidence coverage rules below
decide when the log can show a heartbeat's absence.

## Why it matters
The agent pings Entra ID about every 30 minutes when there is nothing to sync.
No heartbeat means the channel for that forest is not talking to the cloud:
the agent stopped, cannot read from AD, or cannot reach Entra ID.

## How to fix
Look at the other findings for the same connector and its domains (611 errors,
cloud errors 652/655, agent state). Then restart the ADSync service. If
nothing else is wrong and the heartbeat does not return, trigger one full
password hash sync (once only).

## Evidence
The newest heartbeat (time, record), how far the log reaches, and password
activity in the window.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-health-alert-catalog",
    ],
    needs: &[Need::EventLog, Need::ServerConfig, Need::PhsOnConnector],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let connectors = cx.ad_connectors();
    // Heartbeats are matched to connectors by GUID, so this needs the export too.
    let Some(cov) = cx.window_coverage(cx.settings.heartbeat_window) else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };

    let window = cx.settings.heartbeat_window;
    let window_start = cx.now - window;
    let mut out = Vec::new();
    // A heartbeat is the connector's when it names its GUID, or, from older
    // builds that wrote no forest-info, names no GUID at all while there is
    // only one connector.
    let single = connectors.len() == 1;
    for (connector, ad) in connectors {
        let channel = cx.channel_events(connector);
        let ours = channel.iter().filter(|c| c.by_guid || (single && !c.any_guid)).map(|c| c.event);
        let newest_hb = ours.clone().filter(|e| e.event_id == HEARTBEAT && e.time <= cx.now).last();
        let activity: Vec<&Event> = ours
            .filter(|e| PASSWORD_ACTIVITY.contains(&e.event_id) && e.time >= window_start && e.time <= cx.now)
            .collect();
        // A channel that stopped after its last heartbeat is down now, not
        // in three hours when the window runs out.
        let stopped = cx
            .channel_state(connector, ad)
            .stopped()
            .filter(|(e, _, _)| newest_hb.is_none_or(|hb| e.time > hb.time))
            .map(|(e, _, what)| (e, what));

        let outcome = decide(newest_hb, stopped, activity.len(), window_start);
        let (status, message) = outcome.words(cx, &connector.name, window);
        let mut d = RULE.finding(status, Scope::connector(&connector.name), message);
        if let Heartbeat::Stopped { by, .. } = outcome {
            d = d.evidence("Stopped by", describe(cx, by));
        }
        d = d.evidence("Connector id", format!("{{{}}}", connector.id));
        d = d.evidence(
            "Newest heartbeat (654)",
            newest_hb.map_or_else(|| "none in the log".to_owned(), |e| describe(cx, e)),
        );
        if let Some(a) = activity.last() {
            d = d.evidence(
                "Password activity in the window",
                format!("{} events (650/651/656/657), newest {}", activity.len(), describe(cx, a)),
            );
        }
        if outcome.needs_fix() {
            d = d.fix(
                "Check this connector's domain errors (PHS008), cloud errors (PHS009) and the agent state (PHS010) first. Then restart the ADSync service; if the heartbeat still does not return and nothing else is wrong, trigger a full password hash sync once.",
                &["Restart-Service ADSync", "Get-EventLog -LogName Application -Source 'Directory Synchronization' -InstanceId 654 -Newest 5"],
            );
        }
        out.push(d.covered_by(&cov, outcome.basis(), &format!("the heartbeat of {}", connector.name)).done());
    }
    out
}

/// What a connector's newest heartbeat, a stop after it and the password
/// activity in the window (`activity` events) amount to.
fn decide<'a>(
    newest_hb: Option<&'a Event>,
    stopped: Option<(&'a Event, &'static str)>,
    activity: usize,
    window_start: jiff::Timestamp,
) -> Heartbeat<'a> {
    match (newest_hb, stopped) {
        (_, Some((by, what))) => Heartbeat::Stopped { by, what },
        (Some(e), None) if e.time >= window_start => Heartbeat::Recent { at: e },
        _ if activity > 0 => Heartbeat::ActivityOnly { events: activity },
        _ => Heartbeat::Missing { last: newest_hb },
    }
}

/// What PHS004 decides for one connector, before [`Heartbeat::words`] puts
/// it in words.
#[derive(Debug, PartialEq)]
enum Heartbeat<'a> {
    /// The channel stopped after its last heartbeat (`what` says how).
    Stopped { by: &'a Event, what: &'static str },
    /// A heartbeat within the window.
    Recent { at: &'a Event },
    /// No heartbeat in the window, but password sync events are.
    ActivityOnly { events: usize },
    /// No heartbeat in the window; `last` is the newest in the log, if any.
    Missing { last: Option<&'a Event> },
}

impl Heartbeat<'_> {
    fn words(&self, cx: &Context, connector: &str, window: SignedDuration) -> (Status, String) {
        let window = human_duration(window);
        match self {
            Heartbeat::Stopped { by, what } => (
                Status::Fail,
                format!(
                    "The password hash sync channel of {connector} stopped after its last heartbeat: {what} ({}), and it has written nothing since.",
                    cx.cite(by)
                ),
            ),
            Heartbeat::Recent { at } => {
                (Status::Pass, format!("A recent heartbeat is detected for {connector}: {}.", cx.age(at.time)))
            }
            Heartbeat::ActivityOnly { events } => (
                Status::Warn,
                format!(
                    "No heartbeat (event 654) for {connector} in the last {window}, but {events} password sync events show hashes moving; the channel works at least partly."
                ),
            ),
            Heartbeat::Missing { last } => (
                Status::Fail,
                format!(
                    "No password hash sync heartbeat for {connector} in the last {window}{}.",
                    last.map_or(" and none in the whole log".to_owned(), |e| format!(
                        "; the last one was {}",
                        describe(cx, e)
                    ))
                ),
            ),
        }
    }

    /// A stop or a heartbeat is something the log shows; the rest rests on
    /// what it does not show.
    fn basis(&self) -> Basis {
        match self {
            Heartbeat::Stopped { .. } | Heartbeat::Recent { .. } => Basis::Presence,
            Heartbeat::ActivityOnly { .. } | Heartbeat::Missing { .. } => Basis::Absence,
        }
    }

    fn needs_fix(&self) -> bool {
        !matches!(self, Heartbeat::Recent { .. })
    }
}

fn describe(cx: &Context, e: &Event) -> String {
    match e.record_id {
        Some(r) => format!("{} ({}, record {r})", e.time, cx.age(e.time)),
        None => format!("{} ({})", e.time, cx.age(e.time)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn hb(connector: &str, minutes_ago: i64) -> phs_model::Event {
        event(654, minutes_ago, &format!("Provision credentials ping end.{}", forest_info("x", connector)))
    }

    #[test]
    fn pass_with_a_recent_heartbeat_per_connector() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![hb(FABRIKAM, 12), hb(TAILSPIN, 170)]);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Pass, Status::Pass]);
    }

    #[test]
    fn fail_when_the_last_heartbeat_is_too_old_and_say_when_it_was() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![hb(FABRIKAM, 12), hb(TAILSPIN, 302)]);
        let f = run(&s, check);
        let t = for_scope(&f, "tailspintoys.com", None);
        assert_eq!(t.status, Status::Fail);
        assert!(t.message.contains("5 h 2 min ago"), "{}", t.message);
        assert_eq!(for_scope(&f, "fabrikam.com", None).status, Status::Pass);
    }

    #[test]
    fn another_connectors_heartbeat_does_not_count() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![hb(FABRIKAM, 12)]);
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "tailspintoys.com", None).status, Status::Fail);
    }

    #[test]
    fn activity_without_heartbeat_warns() {
        let mut s = snapshot_with_export();
        let text = format!("Provision credentials batch end. Count: 3{}", forest_info("tailspintoys.com", TAILSPIN));
        with_events(&mut s, vec![hb(FABRIKAM, 12), event(651, 20, &text)]);
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "tailspintoys.com", None).status, Status::Warn);
    }

    #[test]
    fn error_when_the_log_ends_before_the_window() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![]);
        let log = s.server.events.as_mut().unwrap();
        log.sources[0].newest = Some(now() - jiff::SignedDuration::from_hours(10));
        log.sources[0].oldest = Some(now() - jiff::SignedDuration::from_hours(20));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error, Status::Error]);
        assert!(f[0].message.contains("ends at"));
    }

    #[test]
    fn a_log_that_starts_inside_the_window_cannot_pass() {
        let mut s = snapshot_with_export();
        with_log(&mut s, vec![hb(FABRIKAM, 12), hb(TAILSPIN, 12)], 60, 1);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error, Status::Error]);
        assert!(f[0].message.contains("only reaches back"), "{}", f[0].message);
        assert!(f[0].evidence.iter().any(|e| e.label == "What the log shows" && e.value.contains("recent heartbeat")));
    }

    #[test]
    fn a_log_that_ends_hours_before_the_evaluation_time_cannot_pass() {
        // collect or diagnose run hours after the export, without --now.
        for ends in [30, 60, 150] {
            let mut s = snapshot_with_export();
            with_log(&mut s, vec![hb(FABRIKAM, ends + 5), hb(TAILSPIN, ends + 10)], 600, ends);
            let f = run(&s, check);
            assert_eq!(statuses(&f), [Status::Error, Status::Error], "log ending {ends} min ago");
            assert!(f[0].message.contains("before the evaluation time"), "{}", f[0].message);
        }
    }

    #[test]
    fn a_stop_after_the_last_heartbeat_fails_at_once() {
        let mut s = snapshot_with_export();
        let stop = format!(
            "Password hash synchronization has stopped for the forest.{}",
            forest_info("tailspintoys.com", TAILSPIN)
        );
        with_events(&mut s, vec![hb(FABRIKAM, 12), hb(TAILSPIN, 20), event(609, 10, &stop)]);
        let f = run(&s, check);
        let t = for_scope(&f, "tailspintoys.com", None);
        assert_eq!(t.status, Status::Fail);
        let (heartbeat, stop) = (hb(TAILSPIN, 20), event(609, 10, &stop));
        let outcome =
            decide(Some(&heartbeat), Some((&stop, "stopped")), 0, now() - jiff::SignedDuration::from_hours(3));
        assert_eq!(outcome, Heartbeat::Stopped { by: &stop, what: "stopped" });
        assert_eq!(for_scope(&f, "fabrikam.com", None).status, Status::Pass);
    }

    #[test]
    fn skipped_without_events_or_when_connector_disabled() {
        let s = snapshot_with_export();
        assert_eq!(statuses(&run(&s, check)), [Status::Skipped, Status::Skipped]);
        let mut s = snapshot_with_export();
        s.server.config.as_mut().unwrap().connectors[0].ad.as_mut().unwrap().phs.as_mut().unwrap().enabled = false;
        with_events(&mut s, vec![hb(TAILSPIN, 5)]);
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "fabrikam.com", None).status, Status::Skipped);
    }

    #[test]
    fn events_after_the_evaluation_time_are_ignored() {
        // Such events only reach the rules when --now looks back at a
        // snapshot read for a later time.
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![hb(TAILSPIN, 10)]);
        let log = s.server.events.as_mut().unwrap();
        log.events.push(hb(FABRIKAM, -30));
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "fabrikam.com", None).status, Status::Fail);
    }
}

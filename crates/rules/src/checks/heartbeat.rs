use crate::context::NO_EVENTS;
use crate::context::{human_duration, Context};
use crate::knowledge::event_ids::{HEARTBEAT, PASSWORD_ACTIVITY};
use crate::registry::Rule;
use phs_model::{Event, Finding, Scope, ScopeKind, SourceKind, Status};

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
(events 650/651/656/657) without a heartbeat is a warning, not a pass. The
finding also says when the log does not reach back over the whole window or
ends before the evaluation time.

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
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let connectors = cx.ad_connectors();
    let Some(log) = cx.events() else {
        let (status, why) = cx.absent(SourceKind::Events, NO_EVENTS);
        let scopes: Vec<Scope> = if connectors.is_empty() {
            vec![Scope::server()]
        } else {
            connectors.iter().map(|(c, _)| Scope::connector(&c.name)).collect()
        };
        return scopes.into_iter().map(|s| RULE.finding(status, s, why.clone()).done()).collect();
    };
    if cx.snapshot.server.config.is_none() {
        return vec![RULE
            .finding(
                Status::Skipped,
                Scope::server(),
                "Heartbeats are matched to connectors by GUID: supply the configuration export (--server-config).",
            )
            .done()];
    }

    let window = cx.settings.heartbeat_window;
    let window_start = cx.now - window;
    let mut out = Vec::new();
    for (connector, ad) in connectors {
        let scope = Scope::connector(&connector.name);
        if !ad.phs.as_ref().is_some_and(|p| p.enabled) {
            out.push(
                RULE.finding(
                    Status::Skipped,
                    scope,
                    "Password hash synchronization is disabled for this connector (see PHS003), so no heartbeat is expected.",
                )
                .done(),
            );
            continue;
        }
        let newest_hb = cx.up_to_now(&[HEARTBEAT]).filter(|e| cx.event_is_for(e, connector)).last();
        let activity: Vec<&Event> =
            cx.recent(PASSWORD_ACTIVITY, window).filter(|e| cx.event_is_for(e, connector)).collect();

        let mut coverage = Vec::new();
        let (oldest, newest) = (log.oldest(), log.newest());
        if let Some(o) = oldest.filter(|o| *o > window_start) {
            coverage.push(format!(
                "the log only reaches back to {o} ({}), less than the {} window",
                cx.age(o),
                human_duration(window)
            ));
        }
        if let Some(n) = newest.filter(|n| *n < cx.now - jiff::SignedDuration::from_mins(35)) {
            coverage.push(format!(
                "the log ends at {n}, {} before the evaluation time",
                human_duration(cx.now.duration_since(n))
            ));
        }

        let hb_text = newest_hb.map(|e| describe(cx, e));
        let mut d = match newest_hb {
            Some(e) if e.time >= window_start => RULE.finding(
                Status::Pass,
                scope,
                format!("A recent heartbeat is detected for {}: {}.", connector.name, cx.age(e.time)),
            ),
            _ if newest.is_none_or(|n| n < window_start) => RULE.finding(
                Status::Error,
                scope,
                format!(
                    "Cannot judge the heartbeat: the event log {} the {} window before the evaluation time. Export a fresher log or set --now.",
                    newest.map_or("is empty before".to_owned(), |n| format!("ends at {n}, before")),
                    human_duration(window)
                ),
            ),
            _ if !activity.is_empty() => RULE.finding(
                Status::Warn,
                scope,
                format!(
                    "No heartbeat (event 654) for {} in the last {}, but {} password sync events show hashes moving; the channel works at least partly.",
                    connector.name,
                    human_duration(window),
                    activity.len()
                ),
            ),
            _ => RULE.finding(
                Status::Fail,
                scope,
                format!(
                    "No password hash sync heartbeat for {} in the last {}{}.",
                    connector.name,
                    human_duration(window),
                    hb_text.as_ref().map_or(" and none in the whole log".to_owned(), |t| format!("; the last one was {t}"))
                ),
            ),
        };
        d = d.evidence("Connector id", format!("{{{}}}", connector.id));
        if let Some(t) = hb_text {
            d = d.evidence("Newest heartbeat (654)", t);
        } else {
            d = d.evidence("Newest heartbeat (654)", "none in the log");
        }
        if let Some(a) = activity.last() {
            d = d.evidence(
                "Password activity in the window",
                format!("{} events (650/651/656/657), newest {}", activity.len(), describe(cx, a)),
            );
        }
        d = d.evidence(
            "Log coverage",
            match (oldest, newest) {
                (Some(o), Some(n)) => format!("{o} to {n}"),
                _ => "no records".into(),
            },
        );
        for note in &coverage {
            d = d.evidence("Note", note.clone());
        }
        let d = match d.status() {
            Status::Warn | Status::Fail => d.fix(
                "Check this connector's domain errors (PHS008), cloud errors (PHS009) and the agent state (PHS010) first. Then restart the ADSync service; if the heartbeat still does not return and nothing else is wrong, trigger a full password hash sync once.",
                &["Restart-Service ADSync", "Get-EventLog -LogName Application -Source 'Directory Synchronization' -InstanceId 654 -Newest 5"],
            ),
            _ => d,
        };
        out.push(d.done());
    }
    out
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
    fn short_log_is_noted() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![hb(FABRIKAM, 12), hb(TAILSPIN, 12)]);
        s.server.events.as_mut().unwrap().sources[0].oldest = Some(now() - jiff::SignedDuration::from_mins(60));
        let f = run(&s, check);
        assert!(f[0].evidence.iter().any(|e| e.value.contains("only reaches back")));
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
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![hb(FABRIKAM, -30), hb(TAILSPIN, 10)]);
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "fabrikam.com", None).status, Status::Fail);
    }
}

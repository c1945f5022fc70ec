//! How far a windowed check may trust the event log: one rule for every
//! check that looks at "the last N hours" of events.
//!
//! A verdict built on something the log shows (an error, a stop) stands,
//! whatever the rest of the window. A pass, and any verdict built on the
//! absence of something ("no heartbeat", "no error"), needs the log to show
//! the whole window: otherwise the finding is `error`, says how much of the
//! window was seen and why the rest was not, and keeps what was seen as
//! evidence. The coverage itself is computed once, in the model
//! ([`phs_model::EventLog::window`]).

use crate::context::{human_duration, Context};
use crate::finding::Draft;
use jiff::SignedDuration;
use phs_model::{Status, WindowCoverage};

/// The coverage rules, for `phs-doctor explain` on every windowed rule.
pub const COVERAGE_DOC: &str = "\
## Evidence coverage
This check judges a window of the Application log ending at the evaluation
time, and only the part of it the log shows:
- A file shows time from its first to its last record of any provider. A
  provider-filtered export (every record from Directory Synchronization, as
  `wevtutil qe /q:` writes it) shows time only from its first to its last
  Directory Synchronization record: what came after is unknown.
- The gather script writes `[server] gathered_at`, the moment before the
  export: the newest file then shows time up to it, even when it was quiet.
- The window ends at the evaluation time, never at the newest record.
  Records dated after the evaluation time (clock skew, a wrong --now, a
  forged record) are set aside and reported as an evidence problem; they do
  not count, and they do not shorten what the log keeps. The log keeps the
  week before the evaluation time.
- What the log shows happened (an error, a stop) counts whatever the rest of
  the window. A pass, and any verdict resting on something not happening (no
  heartbeat, no error), needs the log to show the whole window, within 5
  minutes, with every Directory Synchronization record in it readable.
  Otherwise the finding is `error`: it says how much of the window was seen,
  why the rest was not (the log ends before the evaluation time, starts inside
  the window, a gap between files, unreadable records), and keeps what was
  seen as evidence.
- Without `--now`, a run that reads no live source is evaluated at
  `gathered_at`; otherwise at the current time (or a snapshot's collection
  time).";

/// Whether a rule judges a window of the event log (and so follows the
/// coverage rules): the rules that read event IDs.
pub fn is_windowed(code: &str) -> bool {
    crate::knowledge::event_ids::READS.iter().any(|(c, _)| *c == code)
}

/// What a verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Basis {
    /// Something the log shows happened (an error, a stop, a heartbeat).
    Presence,
    /// Something the log does not show ("no 611", "no heartbeat").
    Absence,
}

impl Context<'_> {
    /// How much of the window `[now - window, now]` the event log shows;
    /// `None` without a log.
    pub fn window_coverage(&self, window: SignedDuration) -> Option<WindowCoverage> {
        self.events().map(|log| log.window(self.now - window, self.now))
    }
}

impl Draft {
    /// Applies the coverage rule (module docs) to a decided finding. `what`
    /// names what is judged, for the message: "the heartbeat of fabrikam.com".
    pub(crate) fn covered_by(self, cov: &WindowCoverage, basis: Basis, what: &str) -> Draft {
        let mut d = self.evidence("Window seen", seen_words(cov));
        let needs_all = d.status() == Status::Pass || basis == Basis::Absence;
        if cov.complete || !needs_all || !matches!(d.status(), Status::Pass | Status::Warn | Status::Fail) {
            return d;
        }
        let seen_so_far = d.message().to_owned();
        d.set(Status::Error, format!("Cannot judge {what}: {}.", unseen_words(cov)));
        d.evidence("What the log shows", seen_so_far)
            .fix(what_to_do(cov), &["wevtutil epl Application \"$env:PUBLIC\\phs-evidence\\Application.evtx\""])
    }
}

/// "2 h 52 min of the 3 h window (09:00:00Z to 11:52:10Z)".
pub(crate) fn seen_words(cov: &WindowCoverage) -> String {
    let spans: Vec<String> = cov.seen.iter().map(|s| format!("{} to {}", s.from, s.to)).collect();
    let total = if cov.seen_total >= cov.window_len() { cov.window_len() } else { cov.seen_total };
    let mut words = format!(
        "{} of the {} window ({} to {})",
        human_duration(total),
        human_duration(cov.window_len()),
        cov.window.from,
        cov.window.to
    );
    if !spans.is_empty() && total < cov.window_len() {
        words.push_str(&format!("; the log shows {}", spans.join(", ")));
    }
    if cov.unreadable > 0 {
        words.push_str(&format!(
            "; {} Directory Synchronization record(s) that may fall in it could not be read",
            cov.unreadable
        ));
    }
    words
}

/// Why part of the window is not seen, naming each cause that applies.
fn unseen_words(cov: &WindowCoverage) -> String {
    let window = human_duration(cov.window_len());
    let mut why = Vec::new();
    match (cov.log_starts, cov.log_ends) {
        (None, _) | (_, None) => why.push("the log holds no record at all".to_owned()),
        (Some(start), Some(end)) => {
            if end < cov.window.to {
                let gap = human_duration(cov.window.to.duration_since(end));
                why.push(if cov.provider_filtered && cov.exported_at.is_none() {
                    format!(
                        "the export is filtered to the Directory Synchronization provider, so it shows time only up to its last such record at {end}, {gap} before the evaluation time; whether anything happened after that is unknown"
                    )
                } else {
                    format!("the log ends at {end}, {gap} before the evaluation time")
                });
            }
            if start > cov.window.from {
                why.push(format!(
                    "the log only reaches back to {start} (older records were overwritten, cleared or not exported)"
                ));
            }
            if start <= cov.window.from && end >= cov.window.to && cov.seen.len() > 1 {
                why.push("the event files leave a gap inside the window".to_owned());
            }
        }
    }
    if cov.unreadable > 0 {
        why.push(format!("{} Directory Synchronization record(s) in it could not be read", cov.unreadable));
    }
    format!(
        "the log shows {} of the {window} window; {}",
        human_duration(cov.seen_total.min(cov.window_len())),
        why.join("; ")
    )
}

fn what_to_do(cov: &WindowCoverage) -> String {
    let ends_early = cov.log_ends.is_some_and(|e| e < cov.window.to);
    if ends_early {
        "If the log was exported at its last record, evaluate at that time (--now, or the gather script's [server] gathered_at); otherwise export a fresh log with the gather script, which records the export time.".to_owned()
    } else {
        "Export a longer log (make the Application log larger so the window is not overwritten) and run again."
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use crate::checks::fixtures::*;
    use crate::{evaluate, Settings};
    use phs_model::{Event, Status};
    use proptest::prelude::*;

    /// The rules that judge a window of the event log.
    const WINDOWED: &[&str] = &["PHS004", "PHS008", "PHS009", "PHS010", "PHS016"];

    /// A healthy 8 hours: every channel and partition heartbeats every 30
    /// minutes, hashes move, the manager is alive.
    fn healthy_day() -> Vec<Event> {
        let mut events = vec![event(601, 470, "Password Hash Sync manager is starting.")];
        for m in (2..480).step_by(30) {
            for (partition, connector) in
                [("fabrikam.com", FABRIKAM), ("emea.fabrikam.com", FABRIKAM), ("tailspintoys.com", TAILSPIN)]
            {
                events.push(event(
                    654,
                    m,
                    &format!("Provision credentials ping end.{}", forest_info(partition, connector)),
                ));
            }
            events.push(event(
                651,
                m + 7,
                &format!("Provision credentials batch end. Count: 1{}", forest_info("fabrikam.com", FABRIKAM)),
            ));
            events.push(event(663, m + 11, "Password Hash Sync manager is alive and running."));
        }
        events
    }

    fn windowed_statuses(s: &phs_model::Snapshot) -> Vec<(String, Status, String)> {
        evaluate(s, now(), &Settings::default())
            .findings
            .into_iter()
            .filter(|f| WINDOWED.contains(&f.code.as_str()))
            .map(|f| (f.code, f.status, f.message))
            .collect()
    }

    #[test]
    fn the_whole_healthy_log_passes_every_windowed_rule() {
        let mut s = snapshot_with_export();
        with_events(&mut s, healthy_day());
        for (code, status, message) in windowed_statuses(&s) {
            assert_eq!(status, Status::Pass, "{code}: {message}");
        }
    }

    proptest! {
        /// Cutting the log so that it no longer covers a rule's window (it
        /// ends early, starts late, or both) never yields `pass` for that
        /// rule, whatever else the log holds.
        #[test]
        fn a_log_cut_short_of_the_window_never_passes(
            ends_min_ago in 6i64..400,
            starts_min_ago in 0i64..480,
            drop_every in 2usize..50,
        ) {
            let mut events = healthy_day();
            // Thin the log out too: fewer events must never help a pass.
            let mut i = 0;
            events.retain(|_| { i += 1; i % drop_every != 0 });
            let starts = starts_min_ago.max(ends_min_ago + 1);
            let mut s = snapshot_with_export();
            with_log(&mut s, events, starts, ends_min_ago);
            for (code, status, message) in windowed_statuses(&s) {
                prop_assert_ne!(status, Status::Pass, "{} passed on a log from {} to {} min ago: {}", code, starts, ends_min_ago, message);
            }
        }

        /// A log that starts inside the window (overwritten or cleared)
        /// cannot pass either, even when it reaches the evaluation time.
        #[test]
        fn a_log_starting_inside_the_window_never_passes(starts_min_ago in 1i64..114) {
            let mut s = snapshot_with_export();
            with_log(&mut s, healthy_day(), starts_min_ago, 0);
            for (code, status, message) in windowed_statuses(&s) {
                prop_assert_ne!(status, Status::Pass, "{}: {}", code, message);
            }
        }
    }
}

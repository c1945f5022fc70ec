//! The Application event log, normalised from .evtx and the XML renderings,
//! and how much of time it shows (its coverage).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The provider that writes every password hash sync event.
pub const PHS_PROVIDER: &str = "Directory Synchronization";

/// One event, whatever file format it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub provider: String,
    pub event_id: u32,
    pub qualifiers: Option<u16>,
    pub level: Option<u8>,
    pub time: Timestamp,
    pub record_id: Option<u64>,
    pub computer: Option<String>,
    /// The unnamed `<Data>` insertion strings, in order. For the Directory
    /// Synchronization source the first one is the whole message.
    pub data: Vec<String>,
    /// The rendered message, when the export carried `RenderingInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Event {
    /// The text rules search in: the rendered message when present, else the
    /// insertion strings joined by new lines.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match &self.message {
            Some(m) => m.as_str().into(),
            None if self.data.len() == 1 => self.data[0].as_str().into(),
            None => self.data.join("\n").into(),
        }
    }

    pub fn is_phs_provider(&self) -> bool {
        self.provider.eq_ignore_ascii_case(PHS_PROVIDER)
    }
}

/// What one event file held. Records dated after the log's anchor (see
/// [`EventLog::anchor`]) are in the record counts and in `after_anchor`, but
/// in none of the times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventSourceSummary {
    pub path: String,
    /// `evtx` or `xml`.
    pub format: String,
    /// Every record read, from any provider.
    pub records_read: u64,
    /// Records of the Directory Synchronization provider.
    pub phs_records: u64,
    /// Oldest and newest record of any provider: how far the log reaches.
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    /// Oldest and newest record of the Directory Synchronization provider.
    #[serde(default)]
    pub phs_oldest: Option<Timestamp>,
    #[serde(default)]
    pub phs_newest: Option<Timestamp>,
    /// Records of the Directory Synchronization provider dropped because they
    /// were older than the retention window (see `EventLog::retention_hours`).
    pub dropped_old: u64,
    /// Records (any provider) dated after the anchor, set aside.
    #[serde(default)]
    pub after_anchor: u64,
    /// The newest of those.
    #[serde(default)]
    pub newest_after_anchor: Option<Timestamp>,
    /// Directory Synchronization records that could not be read, and the
    /// span of the readable times among them; `phs_unreadable_untimed` of
    /// them had no readable time at all.
    #[serde(default)]
    pub phs_unreadable: u64,
    #[serde(default)]
    pub phs_unreadable_span: Option<Span>,
    #[serde(default)]
    pub phs_unreadable_untimed: u64,
}

impl EventSourceSummary {
    /// Every record is of the Directory Synchronization provider: the export
    /// was filtered to it (`wevtutil qe /q:"*[System[Provider[@Name=...]]]"`).
    /// A real Application log always holds other providers too.
    pub fn looks_provider_filtered(&self) -> bool {
        self.records_read > 0 && self.records_read == self.phs_records
    }

    /// From the first to the last record the file shows. For a filtered
    /// export, only its Directory Synchronization records say anything.
    fn own_span(&self) -> Option<Span> {
        let (from, to) = if self.looks_provider_filtered() {
            (self.phs_oldest.or(self.oldest), self.phs_newest.or(self.newest))
        } else {
            (self.oldest, self.newest)
        };
        Some(Span { from: from?, to: to? })
    }
}

/// An interval of time, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Span {
    pub fn duration(&self) -> SignedDuration {
        self.to.duration_since(self.from)
    }

    fn clip(self, from: Timestamp, to: Timestamp) -> Option<Span> {
        let s = Span { from: self.from.max(from), to: self.to.min(to) };
        (s.from <= s.to).then_some(s)
    }
}

/// The Directory Synchronization events of every file read, newest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventLog {
    pub sources: Vec<EventSourceSummary>,
    /// Events older than this many hours before the anchor are not kept, so
    /// memory stays bounded however long the log is.
    pub retention_hours: u32,
    /// The evaluation time the log was read for: records after it were set
    /// aside, and the retention window ends here. `None` for logs read
    /// without one (then the window ends at the newest record).
    #[serde(default)]
    pub anchor: Option<Timestamp>,
    /// When the export was made on the server (`[server] gathered_at`, which
    /// the gather script writes): the log is complete up to then even when its
    /// last record is older.
    #[serde(default)]
    pub exported_at: Option<Timestamp>,
    pub events: Vec<Event>,
}

/// A log whose evidence stops at most this long before a window's end (or
/// starts this long after its start) still counts as covering it: a quiet
/// spell of a few minutes before an export is normal, and `--now` is often
/// typed to the minute. Anything longer is a window not seen.
pub const COVERAGE_SLACK: SignedDuration = SignedDuration::from_mins(5);

impl EventLog {
    /// Oldest record of any provider in any file.
    pub fn oldest(&self) -> Option<Timestamp> {
        self.sources.iter().filter_map(|s| s.oldest).min()
    }

    /// Newest record of any provider in any file.
    pub fn newest(&self) -> Option<Timestamp> {
        self.sources.iter().filter_map(|s| s.newest).max()
    }

    /// Whether any file looks filtered to the Directory Synchronization provider.
    pub fn looks_provider_filtered(&self) -> bool {
        self.sources.iter().any(EventSourceSummary::looks_provider_filtered)
    }

    /// The first instant the retention window kept.
    pub fn kept_from(&self) -> Option<Timestamp> {
        let end = self.anchor.or_else(|| self.newest())?;
        end.checked_sub(SignedDuration::from_hours(i64::from(self.retention_hours))).ok()
    }

    /// The spans of time the log shows completely, merged and oldest first:
    /// each file from its first to its last record (Directory
    /// Synchronization records only, for a filtered export), the file that
    /// reaches furthest extended to the export time, all clipped to what the
    /// retention window kept.
    pub fn coverage(&self) -> Vec<Span> {
        let mut spans: Vec<Span> = self.sources.iter().filter_map(EventSourceSummary::own_span).collect();
        // The export time says the newest file was complete until then;
        // an older file (an archive given beside it) says nothing of it.
        if let (Some(exported), Some(last)) = (self.exported_at, spans.iter_mut().max_by_key(|s| s.to)) {
            if exported > last.to {
                last.to = exported;
            }
        }
        let lower = self.kept_from().unwrap_or(Timestamp::MIN);
        let upper = self.anchor.unwrap_or(Timestamp::MAX);
        let mut spans: Vec<Span> = spans.into_iter().filter_map(|s| s.clip(lower, upper)).collect();
        spans.sort_by_key(|s| s.from);
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(m) if s.from <= m.to => m.to = m.to.max(s.to),
                _ => merged.push(s),
            }
        }
        merged
    }

    /// How much of `[from, to]` the log shows.
    pub fn window(&self, from: Timestamp, to: Timestamp) -> WindowCoverage {
        let coverage = self.coverage();
        let seen: Vec<Span> = coverage.iter().filter_map(|s| s.clip(from, to)).collect();
        let seen_total = seen.iter().fold(SignedDuration::ZERO, |acc, s| acc + s.duration());
        // Records whose time is unknown may be anywhere; timed ones count
        // when their span touches the window.
        let unreadable = self
            .sources
            .iter()
            .map(|s| {
                let timed = s.phs_unreadable - s.phs_unreadable_untimed;
                let touches = s.phs_unreadable_span.is_some_and(|u| u.clip(from, to).is_some());
                s.phs_unreadable_untimed + if touches { timed } else { 0 }
            })
            .sum();
        let missing = to.duration_since(from) - seen_total;
        WindowCoverage {
            window: Span { from, to },
            seen,
            seen_total,
            unreadable,
            complete: missing <= COVERAGE_SLACK && unreadable == 0,
            log_ends: coverage.last().map(|s| s.to),
            log_starts: coverage.first().map(|s| s.from),
            exported_at: self.exported_at,
            provider_filtered: self.looks_provider_filtered(),
        }
    }
}

/// The part of one check's window the log shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowCoverage {
    pub window: Span,
    /// The parts of the window the log shows, oldest first.
    pub seen: Vec<Span>,
    pub seen_total: SignedDuration,
    /// Directory Synchronization records that could not be read and may fall
    /// in the window: an error among them would be missed.
    pub unreadable: u64,
    /// The log shows the whole window (within [`COVERAGE_SLACK`]) and every
    /// record in it was read: "nothing happened" is then a finding.
    pub complete: bool,
    /// Where the whole log's coverage starts and ends.
    pub log_starts: Option<Timestamp>,
    pub log_ends: Option<Timestamp>,
    pub exported_at: Option<Timestamp>,
    pub provider_filtered: bool,
}

impl WindowCoverage {
    pub fn window_len(&self) -> SignedDuration {
        self.window.duration()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64, m: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + h * 3600 + m * 60).unwrap()
    }

    fn source(oldest: Timestamp, newest: Timestamp) -> EventSourceSummary {
        EventSourceSummary {
            path: "a.evtx".into(),
            format: "evtx".into(),
            records_read: 100,
            phs_records: 10,
            oldest: Some(oldest),
            newest: Some(newest),
            phs_oldest: Some(oldest),
            phs_newest: Some(newest),
            ..Default::default()
        }
    }

    fn log(sources: Vec<EventSourceSummary>, anchor: Timestamp) -> EventLog {
        EventLog { sources, retention_hours: 168, anchor: Some(anchor), exported_at: None, events: vec![] }
    }

    #[test]
    fn a_log_ending_before_the_window_end_is_incomplete_and_says_how_much_was_seen() {
        let l = log(vec![source(t(0, 0), t(10, 0))], t(12, 0));
        let w = l.window(t(9, 0), t(12, 0));
        assert!(!w.complete);
        assert_eq!(w.seen_total, SignedDuration::from_hours(1));
        let w = l.window(t(7, 0), t(10, 0));
        assert!(w.complete);
    }

    #[test]
    fn slack_allows_a_few_quiet_minutes_only() {
        let l = log(vec![source(t(0, 0), t(11, 56))], t(12, 0));
        assert!(l.window(t(9, 0), t(12, 0)).complete);
        let l = log(vec![source(t(0, 0), t(11, 54))], t(12, 0));
        assert!(!l.window(t(9, 0), t(12, 0)).complete);
    }

    #[test]
    fn export_time_extends_only_the_newest_file() {
        let mut l = log(vec![source(t(0, 0), t(2, 0)), source(t(8, 0), t(10, 0))], t(12, 0));
        l.exported_at = Some(t(12, 0));
        assert_eq!(l.coverage(), vec![Span { from: t(0, 0), to: t(2, 0) }, Span { from: t(8, 0), to: t(12, 0) }]);
        assert!(l.window(t(9, 0), t(12, 0)).complete);
        // The gap between the archive and the current log is not seen.
        let w = l.window(t(1, 0), t(9, 0));
        assert!(!w.complete);
        assert_eq!(w.seen_total, SignedDuration::from_hours(2));
    }

    #[test]
    fn coverage_never_reaches_past_the_anchor_or_before_retention() {
        let mut l = log(vec![source(t(0, 0), t(10, 0))], t(5, 0));
        l.retention_hours = 2;
        assert_eq!(l.coverage(), vec![Span { from: t(3, 0), to: t(5, 0) }]);
        assert!(!l.window(t(2, 0), t(5, 0)).complete);
    }

    #[test]
    fn a_filtered_export_covers_only_its_directory_synchronization_records() {
        let mut s = source(t(0, 0), t(11, 0));
        s.records_read = 10;
        s.phs_oldest = Some(t(1, 0));
        s.phs_newest = Some(t(9, 0));
        let l = log(vec![s], t(12, 0));
        assert!(l.looks_provider_filtered());
        assert_eq!(l.coverage(), vec![Span { from: t(1, 0), to: t(9, 0) }]);
    }

    #[test]
    fn unreadable_records_in_the_window_make_it_incomplete() {
        let mut s = source(t(0, 0), t(12, 0));
        s.phs_unreadable = 1;
        s.phs_unreadable_span = Some(Span { from: t(11, 0), to: t(11, 0) });
        let l = log(vec![s.clone()], t(12, 0));
        assert!(!l.window(t(10, 0), t(12, 0)).complete);
        assert!(l.window(t(6, 0), t(9, 0)).complete);
        s.phs_unreadable_untimed = 1;
        s.phs_unreadable = 2;
        let l = log(vec![s], t(12, 0));
        assert!(!l.window(t(6, 0), t(9, 0)).complete);
    }
}

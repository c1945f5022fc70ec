//! The retention window: keeps only events within N hours of the newest one
//! seen, whatever order the files and the records inside them come in.
//!
//! Events are appended and the list is swept for ones that fell out of the
//! window whenever it has doubled since the last sweep: amortized O(1) per
//! event for oldest-first and newest-first files alike, and memory bounded
//! by about twice what the window holds, not by how long the log is.

use super::parse::parse_bytes;
use super::xml::Locator;
use super::EventErrorKind;
use jiff::{SignedDuration, Timestamp};
use phs_model::Event;

/// Sweeps never run on fewer entries than this: not worth it.
const MIN_SWEEP: usize = 1024;

pub(crate) struct Window {
    span: SignedDuration,
    /// The evaluation time, when known: the window ends there.
    anchor: Option<Timestamp>,
    newest: Option<Timestamp>,
    entries: Vec<Entry>,
    /// Sweep when `entries` reaches this length.
    sweep_at: usize,
    /// Events dropped for age, per source index.
    dropped: Vec<u64>,
}

struct Entry {
    time: Timestamp,
    payload: Payload,
    source: usize,
}

enum Payload {
    /// Boxed so entries stay small to move.
    Event(Box<Event>),
    /// A record's XML, parsed only if it is still in the window at the end.
    Raw { xml: Box<[u8]>, loc: Locator },
}

/// What the window holds at the end.
pub(crate) struct Finished {
    /// Oldest first.
    pub(crate) events: Vec<Event>,
    /// Events dropped for age, per source index.
    pub(crate) dropped: Vec<u64>,
    /// Kept raw records that failed to parse, with their source index and time.
    pub(crate) failures: Vec<(usize, Timestamp, EventErrorKind)>,
}

impl Window {
    pub(crate) fn new(hours: u32, anchor: Option<Timestamp>) -> Self {
        Window {
            span: SignedDuration::from_hours(i64::from(hours)),
            anchor,
            newest: None,
            entries: Vec::new(),
            sweep_at: MIN_SWEEP,
            dropped: Vec::new(),
        }
    }

    pub(crate) fn anchor(&self) -> Option<Timestamp> {
        self.anchor
    }

    /// Events strictly older than this are out of the window: it ends at
    /// the anchor, else (no evaluation time known) at the newest event.
    /// Records after the anchor never reach the window (the reader sets them
    /// aside), so the newest record cannot move a window that has an anchor.
    fn cutoff(&self) -> Option<Timestamp> {
        // A window reaching before the earliest representable time keeps all.
        self.anchor.or(self.newest).and_then(|n| n.checked_sub(self.span).ok())
    }

    fn count_drop(dropped: &mut Vec<u64>, source: usize) {
        if dropped.len() <= source {
            dropped.resize(source + 1, 0);
        }
        dropped[source] += 1;
    }

    pub(crate) fn push(&mut self, event: Event, source: usize) {
        let time = event.time;
        self.insert(time, source, || Payload::Event(Box::new(event)));
    }

    /// A record known to be of the provider, with its time, not parsed yet.
    pub(crate) fn push_raw(&mut self, xml: &[u8], time: Timestamp, loc: Locator, source: usize) {
        self.insert(time, source, || Payload::Raw { xml: xml.into(), loc });
    }

    /// `payload` is only built for records that enter the window, so records
    /// already too old cost no copy.
    fn insert(&mut self, time: Timestamp, source: usize, payload: impl FnOnce() -> Payload) {
        if self.newest.is_none_or(|n| time > n) {
            self.newest = Some(time);
        }
        if self.cutoff().is_some_and(|c| time < c) {
            Self::count_drop(&mut self.dropped, source);
            return;
        }
        self.entries.push(Entry { time, payload: payload(), source });
        if self.entries.len() >= self.sweep_at {
            self.sweep();
            self.sweep_at = (self.entries.len() * 2).max(MIN_SWEEP);
        }
    }

    fn sweep(&mut self) {
        let Some(cutoff) = self.cutoff() else { return };
        let dropped = &mut self.dropped;
        self.entries.retain(|e| {
            let keep = e.time >= cutoff;
            if !keep {
                Self::count_drop(dropped, e.source);
            }
            keep
        });
    }

    /// Parses what is still raw and returns the kept events oldest first.
    pub(crate) fn finish(mut self) -> Finished {
        self.sweep();
        let mut failures = Vec::new();
        // Arrival order breaks ties, so equal times keep file order.
        let mut kept: Vec<(Event, usize)> = Vec::with_capacity(self.entries.len());
        for (seq, entry) in self.entries.into_iter().enumerate() {
            match entry.payload {
                Payload::Event(event) => kept.push((*event, seq)),
                Payload::Raw { xml, loc } => match parse_bytes(&xml, loc) {
                    // The pre-filter read the provider from the same tag,
                    // so a mismatch means odd XML; such a record is not ours.
                    Ok(event) if event.is_phs_provider() => kept.push((event, seq)),
                    Ok(_) => {}
                    Err(kind) => failures.push((entry.source, entry.time, kind)),
                },
            }
        }
        kept.sort_by(|(a, sa), (b, sb)| (a.time, a.record_id, sa).cmp(&(b.time, b.record_id, sb)));
        Finished { events: kept.into_iter().map(|(e, _)| e).collect(), dropped: self.dropped, failures }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(hour: i64, id: u64) -> Event {
        Event {
            provider: phs_model::events::PHS_PROVIDER.to_owned(),
            event_id: 654,
            qualifiers: Some(0),
            level: Some(4),
            time: Timestamp::from_second(hour * 3600).unwrap(),
            record_id: Some(id),
            computer: None,
            data: vec![],
            message: None,
        }
    }

    #[test]
    fn evicts_in_either_order() {
        for order in [[0, 1, 2, 3, 10], [10, 3, 2, 1, 0]] {
            let mut w = Window::new(8, None);
            for (i, h) in order.iter().enumerate() {
                w.push(ev(*h, i as u64), 0);
            }
            let Finished { events, dropped, .. } = w.finish();
            let hours: Vec<i64> = events.iter().map(|e| e.time.as_second() / 3600).collect();
            assert_eq!(hours, vec![2, 3, 10]);
            assert_eq!(dropped, vec![2]);
        }
    }

    #[test]
    fn an_anchor_fixes_the_window_whatever_the_newest_event() {
        // Anchored at hour 10: hour 1 is out, hour 3 is in, even though an
        // event at hour 50 arrives (the reader sets such events aside; the
        // window would not move for it anyway).
        let mut w = Window::new(8, Some(Timestamp::from_second(10 * 3600).unwrap()));
        for (i, h) in [1, 3, 9, 50].iter().enumerate() {
            w.push(ev(*h, i as u64), 0);
        }
        let hours: Vec<i64> = w.finish().events.iter().map(|e| e.time.as_second() / 3600).collect();
        assert_eq!(hours, vec![3, 9, 50]);
    }

    #[test]
    fn drops_are_counted_per_source() {
        let mut w = Window::new(1, None);
        w.push(ev(0, 1), 0);
        w.push(ev(5, 2), 1);
        // Swept lazily: both are held until a sweep or the end.
        assert_eq!(w.len(), 2);
        assert_eq!(w.finish().dropped, vec![1]);
    }

    #[test]
    fn memory_stays_bounded_over_a_long_log() {
        let mut w = Window::new(24, None);
        let mut most = 0;
        // A year of heartbeats every 30 minutes: 48 per day in the window.
        for i in 0..(365 * 48) {
            let mut e = tests_event(i);
            e.time = Timestamp::from_second(i64::from(i) * 1800).unwrap();
            w.push(e, 0);
            most = most.max(w.len());
        }
        assert!(most <= 2 * MIN_SWEEP, "{most}");
        let f = w.finish();
        assert_eq!(f.events.len(), 49);
        assert_eq!(f.dropped, vec![365 * 48 - 49]);
    }

    fn tests_event(i: u32) -> Event {
        Event {
            provider: phs_model::events::PHS_PROVIDER.to_owned(),
            event_id: 654,
            qualifiers: Some(0),
            level: Some(4),
            time: Timestamp::UNIX_EPOCH,
            record_id: Some(u64::from(i)),
            computer: None,
            data: vec![],
            message: None,
        }
    }
}

//! The errors of some event IDs within the error window, with how much of the
//! window the log shows: what the server-wide error rules (PHS009, PHS016)
//! judge, read in one place so they count and quote their events alike.

use crate::context::Context;
use jiff::SignedDuration;
use phs_model::{Event, WindowCoverage};

/// The error window's events of the IDs asked for, oldest first.
pub(crate) struct RecentErrors<'a> {
    pub(crate) window: SignedDuration,
    pub(crate) coverage: WindowCoverage,
    pub(crate) events: Vec<&'a Event>,
}

impl<'a> Context<'a> {
    /// `None` without an event log (the registry applies a rule's needs
    /// first, so a rule that needs the log never sees it).
    pub(crate) fn recent_errors(&self, ids: &'a [u32]) -> Option<RecentErrors<'a>> {
        let window = self.settings.error_window;
        let coverage = self.window_coverage(window)?;
        Some(RecentErrors { window, coverage, events: self.recent(ids, window).collect() })
    }
}

/// The newest message's first line, trimmed, for the "Newest message" evidence.
pub(crate) fn newest_message(e: &Event) -> String {
    e.text().lines().next().unwrap_or("").trim().to_owned()
}

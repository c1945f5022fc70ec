//! Progress on stderr, only on a terminal, so piped and redirected runs
//! stay clean: one spinner line per live check, or a running count (the
//! audit's users, with their rate).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::time::Duration;

pub struct Progress {
    pub bars: MultiProgress,
}

impl Progress {
    pub fn new() -> Progress {
        let target =
            if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Progress { bars: MultiProgress::with_draw_target(target) }
    }

    /// A spinner saying what is under way.
    pub fn line(&self, prefix: &str, message: &str) -> ProgressBar {
        self.add("{spinner} {prefix}: {msg} ({elapsed})", prefix, message)
    }

    /// A spinner counting `unit`s as they are handed on, with their rate.
    pub fn counter(&self, prefix: &str, unit: &str) -> ProgressBar {
        let bar = self.line(prefix, unit);
        counting(&bar, unit);
        bar
    }

    fn add(&self, template: &str, prefix: &str, message: &str) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
        // Domain, connector and tenant names come from the evidence.
        bar.set_prefix(phs_report::neutral::line(prefix).into_owned());
        bar.set_message(phs_report::neutral::line(message).into_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

/// Turns a spinner into a count of `unit`s with their rate (`bar.inc`).
pub fn counting(bar: &ProgressBar, unit: &str) {
    let template = "{spinner} {prefix}: {human_pos} {msg} ({per_sec}, {elapsed})";
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
    bar.set_message(phs_report::neutral::line(unit).into_owned());
}

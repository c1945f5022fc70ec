//! Durations as people read them, the same in every message: timeouts in
//! the network sources ("timed out after 3 s") and ages and windows in the
//! rules ("5 h 3 min ago", "in the last 2 h").

use jiff::SignedDuration;

/// `250 ms`, `1.5 s`, `56 s`, `12 min`, `5 h 3 min`, `3 days`, `2 days 5 h`.
///
/// Below a minute it is exact to a tenth of a second (a timeout of 1.5 s is
/// said as such); from a minute up it counts whole minutes and, from two
/// days, whole hours, because an age of "5 h 3 min" needs no seconds. A
/// negative duration (a time after the evaluation time) says so.
pub fn human_duration(d: SignedDuration) -> String {
    if d.is_negative() {
        return format!("{} after the evaluation time", human_duration(-d));
    }
    let secs = d.as_secs();
    if secs < 60 {
        let ms = d.as_millis();
        return if ms < 1000 {
            format!("{ms} ms")
        } else if ms % 1000 == 0 || secs >= 10 {
            format!("{secs} s")
        } else {
            format!("{:.1} s", d.as_secs_f64())
        };
    }
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, _) if h >= 48 && h % 24 == 0 => format!("{} days", h / 24),
        (h, _) if h >= 48 => format!("{} days {} h", h / 24, h % 24),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// How long ago something was: `12 min ago`; a time after the evaluation
/// time (clock skew, a log from the future) says so instead.
pub fn human_age(d: SignedDuration) -> String {
    if d.is_negative() {
        human_duration(d)
    } else {
        format!("{} ago", human_duration(d))
    }
}

/// [`human_duration`] of a `std` duration (timeouts, Retry-After).
pub fn human_std_duration(d: std::time::Duration) -> String {
    human_duration(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn below_a_minute_is_exact() {
        assert_eq!(human_std_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(human_std_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_std_duration(Duration::from_secs(3)), "3 s");
        assert_eq!(human_duration(SignedDuration::from_millis(56_400)), "56 s");
        assert_eq!(human_duration(SignedDuration::ZERO), "0 ms");
    }

    #[test]
    fn from_a_minute_whole_minutes_then_hours() {
        assert_eq!(human_duration(SignedDuration::from_secs(90)), "1 min");
        assert_eq!(human_duration(SignedDuration::from_mins(303)), "5 h 3 min");
        assert_eq!(human_duration(SignedDuration::from_hours(3)), "3 h");
        assert_eq!(human_duration(SignedDuration::from_hours(72)), "3 days");
        assert_eq!(human_duration(SignedDuration::from_hours(53)), "2 days 5 h");
        assert_eq!(human_std_duration(Duration::from_secs(1800)), "30 min");
    }

    #[test]
    fn ages_and_skew() {
        assert_eq!(human_age(SignedDuration::from_mins(12)), "12 min ago");
        assert_eq!(human_age(SignedDuration::from_mins(-12)), "12 min after the evaluation time");
        assert_eq!(human_duration(SignedDuration::from_mins(-12)), "12 min after the evaluation time");
    }
}

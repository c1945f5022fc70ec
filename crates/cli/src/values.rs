//! Parsers for the values flags, config files and the environment give as
//! text (times, durations, variables). They depend on nothing else in the binary, so every layer
//! above (config sections, resolution) can use them without a cycle.

use anyhow::{anyhow, bail, Result};
use jiff::SignedDuration;
use phs_model::Timestamp;

pub fn parse_time(text: &str) -> Result<Timestamp> {
    text.parse::<Timestamp>()
        .map_err(|e| anyhow!("--now {text:?} is not an RFC 3339 time such as 2026-11-24T12:00:00Z: {e}"))
}

/// Accepts "3h", "90m", "2h 30m", "PT3H".
pub fn parse_duration(what: &str, text: &str) -> Result<SignedDuration> {
    let d: SignedDuration =
        text.trim().parse().map_err(|e| anyhow!("{what} {text:?} is not a duration such as 3h or 90m: {e}"))?;
    if d.is_negative() || d.is_zero() {
        bail!("{what} must be positive, got {text:?}");
    }
    Ok(d)
}

/// An environment variable's value, unless unset or empty.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

//! `TimeCreated/@SystemTime` parsing.
//!
//! Every record's time is needed (oldest/newest of the whole log), so the
//! common shape `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` is parsed by hand: it is
//! several times faster than a general RFC 3339 parser, which is still used
//! for anything else (e.g. an explicit `+00:00` offset).

use jiff::Timestamp;

/// Parses a SystemTime value; `None` when it is not a valid UTC time.
pub(crate) fn parse_system_time(raw: &[u8]) -> Option<Timestamp> {
    fast(raw).or_else(|| {
        let s = std::str::from_utf8(raw).ok()?.trim();
        s.parse::<Timestamp>().ok()
    })
}

fn fast(b: &[u8]) -> Option<Timestamp> {
    // Fixed positions of "YYYY-MM-DDTHH:MM:SS", then fraction, then 'Z'.
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't')) || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if i - start >= 9 {
                return None;
            }
            nanos = nanos * 10 + u32::from(d - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
        nanos *= 10u32.pow(9 - (i - start) as u32);
    }
    if !matches!(b.get(i), Some(b'Z' | b'z')) || i + 1 != b.len() {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Timestamp::new(secs, nanos as i32).ok()
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for d in b.get(at..at + n)? {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(d - b'0');
    }
    Some(v)
}

// `%` rather than `is_multiple_of`, which needs Rust 1.87; the workspace
// declares 1.85.
#[allow(clippy::manual_is_multiple_of)]
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known
/// era-based conversion; exact for every year this parser accepts).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<String> {
        parse_system_time(s.as_bytes()).map(|t| t.to_string())
    }

    #[test]
    fn accepts_zero_to_nine_fraction_digits() {
        assert_eq!(ts("2024-01-15T22:58:19Z").as_deref(), Some("2024-01-15T22:58:19Z"));
        assert_eq!(ts("2024-01-15T22:58:19.5Z").as_deref(), Some("2024-01-15T22:58:19.5Z"));
        assert_eq!(ts("2021-03-31T23:51:47.1125180Z").as_deref(), Some("2021-03-31T23:51:47.112518Z"));
        assert_eq!(ts("2024-01-15T22:58:19.000000001Z").as_deref(), Some("2024-01-15T22:58:19.000000001Z"));
        assert_eq!(ts("2024-02-29T00:00:00Z").as_deref(), Some("2024-02-29T00:00:00Z"));
    }

    #[test]
    fn fast_path_agrees_with_jiff() {
        for s in [
            "1970-01-01T00:00:00Z",
            "1601-01-01T00:00:00Z",
            "2000-02-29T12:34:56.789Z",
            "2100-12-31T23:59:59.999999999Z",
            "2023-03-01T00:00:00.1234567Z",
        ] {
            assert_eq!(fast(s.as_bytes()), s.parse::<Timestamp>().ok(), "{s}");
        }
    }

    #[test]
    fn rejects_invalid_times() {
        for s in [
            "2024-13-01",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-15T24:00:00Z",
            "2024-01-15T22:58:19.0000000001Z",
            "2024-01-15T22:58:19.Z",
            "",
            "garbage",
        ] {
            assert_eq!(ts(s), None, "{s}");
        }
    }

    #[test]
    fn offsets_go_through_the_general_parser() {
        assert_eq!(ts("2024-01-15T23:58:19+01:00").as_deref(), Some("2024-01-15T22:58:19Z"));
    }
}

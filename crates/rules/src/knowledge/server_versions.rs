//! The lifecycle of Entra Connect Sync builds: when each was released, when
//! Microsoft retires it, which were recalled, and the dates after which old
//! builds stop synchronizing at all. The facts live in
//! `crates/rules/data/server-versions.toml` so the team can correct a date
//! without touching code; this module parses it (once, at first use) and
//! refuses a table that breaks the rules written at the top of that file.

use jiff::civil::Date;
use jiff::ToSpan;
use phs_model::ProductVersion;
use serde::Deserialize;
use std::sync::LazyLock;

/// The file name people see in findings and documentation.
pub const FILE: &str = "crates/rules/data/server-versions.toml";

const EMBEDDED: &str = include_str!("../../data/server-versions.toml");

/// How far a stated retirement may drift from "12 months after the next
/// build's release" before the entry must say why. Microsoft's own table is a
/// day off in places (2.4.21.0, 2.4.131.0); more than that is an exception or
/// a typo, and a typo should not pass unnoticed.
const RULE_TOLERANCE_DAYS: i32 = 3;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// The newest release date the table is known to be complete up to.
    pub as_of: Date,
    /// Where the facts come from (Microsoft Learn pages).
    pub sources: Vec<String>,
    #[serde(default, rename = "hard_stop")]
    pub hard_stops: Vec<HardStop>,
    /// Sorted by version (checked on load).
    #[serde(default, rename = "release")]
    pub releases: Vec<Release>,
}

/// From `from` on, builds below `below` do not synchronize at all.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardStop {
    pub below: ProductVersion,
    pub from: Date,
    pub reason: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub version: ProductVersion,
    /// Unknown only for a recalled build Microsoft gave no date for.
    pub released: Option<Date>,
    /// End of support; `None` while no newer build has been released.
    pub retired: Option<Date>,
    #[serde(default)]
    pub recalled: bool,
    pub recall_reason: Option<String>,
    /// Why `retired` departs from the 12-month rule, when it does.
    pub note: Option<String>,
}

/// Where a version sits in the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement<'a> {
    Listed(&'a Release),
    /// Not listed; the nearest lower build that was not recalled.
    Between(&'a Release),
    /// Newer than every listed build.
    Newer(&'a Release),
    /// Older than every listed (not recalled) build.
    Older(&'a Release),
}

impl Lifecycle {
    /// Parses and checks a table; the error lists every broken rule.
    pub fn parse(text: &str) -> Result<Lifecycle, String> {
        let table: Lifecycle = toml::from_str(text).map_err(|e| e.to_string())?;
        let problems = table.problems();
        if problems.is_empty() {
            Ok(table)
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn placement(&self, v: ProductVersion) -> Placement<'_> {
        if let Some(r) = self.releases.iter().find(|r| r.version == v) {
            return Placement::Listed(r);
        }
        let newest = self.releases.last().expect("a checked table has releases");
        if v > newest.version {
            return Placement::Newer(newest);
        }
        // A recalled build says nothing about its neighbours' support, so
        // an unlisted build is judged by the nearest lower regular build.
        match self.releases.iter().rev().find(|r| !r.recalled && r.version < v) {
            Some(lower) => Placement::Between(lower),
            None => Placement::Older(
                self.releases.iter().find(|r| !r.recalled).expect("a checked table has a regular release"),
            ),
        }
    }

    /// The hard stop that applies to `v` on `today`; when several do, the
    /// oldest, since synchronization has been stopped since its date.
    pub fn stop_in_force(&self, v: ProductVersion, today: Date) -> Option<&HardStop> {
        self.hard_stops.iter().filter(|h| v < h.below && today >= h.from).min_by_key(|h| h.from)
    }

    /// The next hard stop that will apply to `v` after `today`.
    pub fn stop_ahead(&self, v: ProductVersion, today: Date) -> Option<&HardStop> {
        self.hard_stops.iter().filter(|h| v < h.below && today < h.from).min_by_key(|h| h.from)
    }

    /// Every broken rule of the header of the data file, in words.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.releases.iter().all(|r| r.recalled) {
            out.push("the table lists no (regular) release".to_owned());
            return out;
        }
        if self.sources.is_empty() {
            out.push("`sources` is empty".to_owned());
        }
        for w in self.releases.windows(2) {
            if w[0].version >= w[1].version {
                out.push(format!(
                    "{} is listed before {}: sort by version, without duplicates",
                    w[0].version, w[1].version
                ));
            }
        }
        for h in &self.hard_stops {
            if h.reason.trim().is_empty() || h.source.trim().is_empty() {
                out.push(format!("hard stop below {} lacks a reason or a source", h.below));
            }
        }
        let regular: Vec<&Release> = self.releases.iter().filter(|r| !r.recalled).collect();
        for r in &self.releases {
            let v = r.version;
            match (r.recalled, &r.recall_reason) {
                (true, None) => out.push(format!("{v} is recalled without a recall_reason")),
                (false, Some(_)) => out.push(format!("{v} has a recall_reason but is not recalled")),
                (true, Some(why)) if why.trim().is_empty() => out.push(format!("{v} has an empty recall_reason")),
                _ => {}
            }
            if !r.recalled && r.released.is_none() {
                out.push(format!("{v} has no release date"));
            }
            if let (Some(released), Some(retired)) = (r.released, r.retired) {
                if retired <= released {
                    out.push(format!("{v} retires ({retired}) before it was released ({released})"));
                }
            }
        }
        for (i, r) in regular.iter().enumerate() {
            let v = r.version;
            let Some(next) = regular.get(i + 1) else {
                if let Some(retired) = r.retired {
                    out.push(format!("{v} is the newest build but retires on {retired}: no successor retires it"));
                }
                continue;
            };
            let (Some(retired), Some(next_released)) = (r.retired, next.released) else {
                if r.retired.is_none() {
                    out.push(format!("{v} has no retirement date although {} supersedes it", next.version));
                }
                continue;
            };
            if retired < next_released {
                out.push(format!("{v} retires ({retired}) before {} was released ({next_released})", next.version));
            }
            let by_rule = next_released.saturating_add(12.months());
            let drift = by_rule.until(retired).map(|s| s.get_days().abs()).unwrap_or(i32::MAX);
            if drift > RULE_TOLERANCE_DAYS && r.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                out.push(format!(
                    "{v} retires on {retired}, not 12 months after {} ({by_rule}): add a `note` saying why",
                    next.version
                ));
            }
        }
        if let Some(newest) = self.releases.iter().filter_map(|r| r.released).max() {
            if self.as_of < newest {
                out.push(format!("as_of ({}) is older than the newest release date ({newest})", self.as_of));
            }
        }
        out
    }
}

static TABLE: LazyLock<Result<Lifecycle, String>> = LazyLock::new(|| Lifecycle::parse(EMBEDDED));

/// The embedded table. A broken table is a build defect the tests catch; at
/// run time it becomes an `error` finding rather than a panic.
pub fn lifecycle() -> Result<&'static Lifecycle, &'static str> {
    TABLE.as_ref().map_err(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ProductVersion {
        s.parse().unwrap()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    const SMALL: &str = r#"
        as_of = "2026-09-16"
        sources = ["https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-version-history"]
        [[hard_stop]]
        below = "2.5.79.0"
        from = "2026-09-30"
        reason = "hardening"
        source = "https://learn.microsoft.com/"
        [[release]]
        version = "2.4.27.0"
        released = "2024-11-14"
        retired = "2026-01-15"
        [[release]]
        version = "2.4.129.0"
        released = "2025-01-15"
    "#;

    /// SMALL with one line replaced, to break one rule at a time.
    fn small_with(from: &str, to: &str) -> Result<Lifecycle, String> {
        assert!(SMALL.contains(from), "{from}");
        Lifecycle::parse(&SMALL.replacen(from, to, 1))
    }

    #[test]
    fn the_shipped_table_parses_and_keeps_its_rules() {
        let t = lifecycle().unwrap_or_else(|e| panic!("{FILE}: {e}"));
        assert!(t.releases.len() > 30);
        assert!(t.sources.iter().all(|s| s.starts_with("https://")));
        assert!(t.sources.iter().any(|s| s.ends_with("/reference-connect-version-history")));
        // Sorted and unique (also enforced by `problems`, asserted here directly).
        assert!(t.releases.windows(2).all(|w| w[0].version < w[1].version));
        for r in &t.releases {
            if let (Some(a), Some(b)) = (r.released, r.retired) {
                assert!(a < b, "{}", r.version);
            }
        }
    }

    #[test]
    fn the_shipped_table_holds_the_known_facts() {
        let t = lifecycle().unwrap();
        let stop = t.hard_stops.iter().find(|h| h.below == v("2.5.79.0")).expect("the 2026 hard stop");
        assert_eq!(stop.from, d("2026-09-30"));
        let get = |s: &str| t.releases.iter().find(|r| r.version == v(s)).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(get("2.4.27.0").retired, Some(d("2026-01-15")));
        assert_eq!(get("2.5.79.0").released, Some(d("2025-09-01")));
        assert_eq!(get("2.5.190.0").retired, Some(d("2027-02-02")));
        assert_eq!(get("1.6.16.0").retired, Some(d("2022-08-31")));
        assert!(get("2.6.79.0").recalled);
        // Only the newest regular build has no end of support.
        let open: Vec<_> = t.releases.iter().filter(|r| !r.recalled && r.retired.is_none()).collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].version, t.releases.iter().rfind(|r| !r.recalled).unwrap().version);
    }

    #[test]
    fn the_small_table_is_valid() {
        assert!(Lifecycle::parse(SMALL).is_ok(), "{:?}", Lifecycle::parse(SMALL));
    }

    #[test]
    fn unsorted_or_duplicate_releases_are_refused() {
        let e = small_with("version = \"2.4.129.0\"", "version = \"2.4.3.0\"").unwrap_err();
        assert!(e.contains("2.4.27.0 is listed before 2.4.3.0"), "{e}");
        let e = small_with("version = \"2.4.129.0\"", "version = \"2.4.27.0\"").unwrap_err();
        assert!(e.contains("without duplicates"), "{e}");
    }

    #[test]
    fn dates_out_of_order_are_refused() {
        let e = small_with("retired = \"2026-01-15\"", "retired = \"2024-01-15\"").unwrap_err();
        assert!(e.contains("before it was released"), "{e}");
        // Retired before its successor existed.
        let e = small_with("retired = \"2026-01-15\"", "retired = \"2024-12-01\"").unwrap_err();
        assert!(e.contains("before 2.4.129.0 was released"), "{e}");
    }

    #[test]
    fn a_date_off_the_12_month_rule_needs_a_note() {
        let e = small_with("retired = \"2026-01-15\"", "retired = \"2026-02-15\"").unwrap_err();
        assert!(e.contains("add a `note`"), "{e}");
        assert!(small_with("retired = \"2026-01-15\"", "retired = \"2026-02-15\"\nnote = \"exception\"").is_ok());
        // A day off, as Microsoft's table is in places, needs none.
        assert!(small_with("retired = \"2026-01-15\"", "retired = \"2026-01-16\"").is_ok());
    }

    #[test]
    fn retirement_dates_must_be_where_successors_are() {
        let e = small_with("retired = \"2026-01-15\"", "").unwrap_err();
        assert!(e.contains("no retirement date although 2.4.129.0 supersedes it"), "{e}");
        let e =
            small_with("released = \"2025-01-15\"", "released = \"2025-01-15\"\nretired = \"2026-01-15\"").unwrap_err();
        assert!(e.contains("newest build"), "{e}");
    }

    #[test]
    fn recall_flag_and_reason_go_together() {
        let e = small_with("released = \"2025-01-15\"", "released = \"2025-01-15\"\nrecalled = true").unwrap_err();
        assert!(e.contains("without a recall_reason"), "{e}");
        let e =
            small_with("released = \"2025-01-15\"", "released = \"2025-01-15\"\nrecall_reason = \"x\"").unwrap_err();
        assert!(e.contains("not recalled"), "{e}");
    }

    #[test]
    fn as_of_garbage_and_unknown_keys_are_refused() {
        let e = small_with("as_of = \"2026-09-16\"", "as_of = \"2025-01-01\"").unwrap_err();
        assert!(e.contains("as_of"), "{e}");
        assert!(small_with("version = \"2.4.27.0\"", "version = \"2.4.27\"").is_err());
        assert!(small_with("retired = \"2026-01-15\"", "retired = \"15 Jan 2026\"").is_err());
        assert!(small_with("retired = \"2026-01-15\"", "retierd = \"2026-01-15\"").is_err());
        assert!(small_with("released = \"2024-11-14\"", "").unwrap_err().contains("no release date"));
    }

    #[test]
    fn placement_of_listed_and_unlisted_builds() {
        let t = lifecycle().unwrap();
        assert!(matches!(t.placement(v("2.4.27.0")), Placement::Listed(r) if r.version == v("2.4.27.0")));
        assert!(matches!(t.placement(v("2.4.28.0")), Placement::Between(r) if r.version == v("2.4.27.0")));
        // Numeric, not textual: 2.4.100.0 lies above 2.4.27.0, below 2.4.129.0.
        assert!(matches!(t.placement(v("2.4.100.0")), Placement::Between(r) if r.version == v("2.4.27.0")));
        // Between 2.6.3.0 and the recalled 2.6.79.0, and just above it: the
        // recalled build is not the neighbour.
        assert!(matches!(t.placement(v("2.6.80.0")), Placement::Between(r) if r.version == v("2.6.3.0")));
        assert!(matches!(t.placement(v("9.0.0.0")), Placement::Newer(_)));
        assert!(matches!(t.placement(v("1.1.130.0")), Placement::Older(r) if r.version == v("1.6.16.0")));
    }

    #[test]
    fn hard_stops_by_date() {
        let t = Lifecycle::parse(SMALL).unwrap();
        assert!(t.stop_in_force(v("2.4.27.0"), d("2026-09-29")).is_none());
        assert_eq!(t.stop_ahead(v("2.4.27.0"), d("2026-09-29")).unwrap().below, v("2.5.79.0"));
        assert_eq!(t.stop_in_force(v("2.4.27.0"), d("2026-09-30")).unwrap().below, v("2.5.79.0"));
        assert!(t.stop_in_force(v("2.5.79.0"), d("2027-01-01")).is_none());
        assert!(t.stop_ahead(v("2.5.79.0"), d("2026-01-01")).is_none());
        // Two in force: the older one, since which nothing has synchronized.
        let full = lifecycle().unwrap();
        assert_eq!(full.stop_in_force(v("1.6.16.0"), d("2026-12-01")).unwrap().below, v("2.0.0.0"));
    }
}

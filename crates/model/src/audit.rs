//! Every user's password sync at once (`phs-doctor audit`): each user's
//! class, one row per user, and the counts. Rows are written out as they
//! are judged (CSV, JSON Lines); only the summary is held.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one user's password sync stands at, worst first in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditClass {
    /// Changed in AD after the cloud's last password change, by more than the lag allowed.
    PasswordNotArrived,
    /// The cloud user found for the AD user carries another anchor.
    AnchorMismatch,
    /// In scope in AD, and no cloud user has its anchor.
    NotInTenant,
    /// A synced cloud user whose anchor no AD user in scope has.
    GoneFromAd,
    /// Must change the password at next logon (pwdLastSet 0): not synced by default.
    MustChange,
    /// Disabled in AD (the cloud account is disabled too).
    Disabled,
    /// accountExpires in the past (not synced: the cloud account stays usable).
    Expired,
    /// Outside every connector's scope (domain, OU or object class).
    OutOfScope,
    /// Changed in AD within the lag allowed, not in the cloud yet.
    OnItsWay,
    /// The cloud's last password change is at or after AD's.
    InSync,
    /// A source needed for this user could not be read.
    Unjudged,
}

impl AuditClass {
    pub const ALL: [AuditClass; 11] = [
        AuditClass::PasswordNotArrived,
        AuditClass::AnchorMismatch,
        AuditClass::NotInTenant,
        AuditClass::GoneFromAd,
        AuditClass::MustChange,
        AuditClass::Disabled,
        AuditClass::Expired,
        AuditClass::OutOfScope,
        AuditClass::OnItsWay,
        AuditClass::InSync,
        AuditClass::Unjudged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditClass::PasswordNotArrived => "password_not_arrived",
            AuditClass::AnchorMismatch => "anchor_mismatch",
            AuditClass::NotInTenant => "not_in_tenant",
            AuditClass::GoneFromAd => "gone_from_ad",
            AuditClass::MustChange => "must_change",
            AuditClass::Disabled => "disabled",
            AuditClass::Expired => "expired",
            AuditClass::OutOfScope => "out_of_scope",
            AuditClass::OnItsWay => "on_its_way",
            AuditClass::InSync => "in_sync",
            AuditClass::Unjudged => "unjudged",
        }
    }
}

/// One user's line of the audit (a CSV row, a JSON Lines object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditRow {
    pub class: Option<AuditClass>,
    /// Why, in one sentence (the filter that drops the user, the lag, ...).
    pub reason: String,
    pub domain: Option<String>,
    pub dn: Option<String>,
    pub sam_account_name: Option<String>,
    pub user_principal_name: Option<String>,
    /// The source anchor, base64.
    pub anchor: Option<String>,
    pub cloud_id: Option<String>,
    pub ad_password_changed: Option<Timestamp>,
    pub cloud_password_changed: Option<Timestamp>,
    /// How long the AD change has waited for the cloud, in seconds.
    pub lag_seconds: Option<i64>,
}

impl AuditRow {
    /// The CSV columns, in order (the README documents them).
    pub const COLUMNS: [&'static str; 11] = [
        "class",
        "reason",
        "domain",
        "dn",
        "sam_account_name",
        "user_principal_name",
        "anchor",
        "cloud_id",
        "ad_password_changed",
        "cloud_password_changed",
        "lag_seconds",
    ];

    /// The row's values in [`AuditRow::COLUMNS`] order, as text.
    pub fn values(&self) -> [String; 11] {
        let t = |t: &Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        let s = |s: &Option<String>| s.clone().unwrap_or_default();
        [
            self.class.map(|c| c.as_str().to_owned()).unwrap_or_default(),
            self.reason.clone(),
            s(&self.domain),
            s(&self.dn),
            s(&self.sam_account_name),
            s(&self.user_principal_name),
            s(&self.anchor),
            s(&self.cloud_id),
            t(&self.ad_password_changed),
            t(&self.cloud_password_changed),
            self.lag_seconds.map(|l| l.to_string()).unwrap_or_default(),
        ]
    }
}

/// The counts an audit holds while its rows stream out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
// Fields added later default, so an earlier summary still reads as `--previous`.
#[serde(default)]
pub struct AuditSummary {
    /// The time the rows were judged at.
    pub evaluated_at: Option<Timestamp>,
    /// How long an AD change may wait for the cloud before it counts as not arrived.
    pub lag_allowed_seconds: Option<i64>,
    pub per_class: BTreeMap<AuditClass, u64>,
    /// Domain (or `(tenant only)`) to its counts per class.
    pub per_domain: BTreeMap<String, BTreeMap<AuditClass, u64>>,
    /// The oldest AD change that has not reached the cloud: when, and whose.
    pub oldest_unsynced: Option<(Timestamp, String)>,
    /// What could not be read, with how many users it left unjudged (when known).
    pub incomplete: Vec<Incomplete>,
    /// An earlier audit's counts (`--previous`), to tell whether it gets worse.
    pub previous: Option<Earlier>,
}

/// The counts of an earlier audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Earlier {
    pub evaluated_at: Option<Timestamp>,
    pub per_class: BTreeMap<AuditClass, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incomplete {
    pub source: String,
    pub why: String,
    /// Users left out, when the source said how many there were.
    pub users_left_out: Option<u64>,
}

impl AuditSummary {
    /// Counts one row.
    pub fn add(&mut self, row: &AuditRow) {
        let class = row.class.unwrap_or(AuditClass::Unjudged);
        *self.per_class.entry(class).or_default() += 1;
        let domain = row.domain.clone().unwrap_or_else(|| "(tenant only)".to_owned());
        *self.per_domain.entry(domain).or_default().entry(class).or_default() += 1;
        if class == AuditClass::PasswordNotArrived {
            if let Some(t) = row.ad_password_changed {
                let who = row.dn.clone().or(row.user_principal_name.clone()).unwrap_or_default();
                if self.oldest_unsynced.as_ref().is_none_or(|(old, _)| t < *old) {
                    self.oldest_unsynced = Some((t, who));
                }
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.per_class.values().sum()
    }

    /// Keeps `earlier`'s counts to compare with (not its own comparison).
    pub fn compare_with(&mut self, earlier: &AuditSummary) {
        self.previous = Some(Earlier { evaluated_at: earlier.evaluated_at, per_class: earlier.per_class.clone() });
    }

    /// The classes whose count changed since the earlier audit: (class, now, then), worst first.
    pub fn changes(&self) -> Vec<(AuditClass, u64, u64)> {
        let Some(earlier) = &self.previous else { return Vec::new() };
        let count = |m: &BTreeMap<AuditClass, u64>, c| m.get(&c).copied().unwrap_or(0);
        AuditClass::ALL
            .iter()
            .map(|&c| (c, count(&self.per_class, c), count(&earlier.per_class, c)))
            .filter(|(_, now, then)| now != then)
            .collect()
    }

    /// As for `diagnose`: 2 when some user's password did not arrive or
    /// cannot sync, 3 when a source was not read whole (or a user could not
    /// be judged), 1 for what only needs watching, 0 when all is in sync.
    pub fn exit_code(&self) -> i32 {
        use AuditClass as C;
        let any = |classes: &[AuditClass]| classes.iter().any(|c| self.per_class.contains_key(c));
        if any(&[C::PasswordNotArrived, C::AnchorMismatch, C::NotInTenant, C::MustChange]) {
            2
        } else if !self.incomplete.is_empty() || any(&[C::Unjudged]) {
            3
        } else if any(&[C::OnItsWay, C::GoneFromAd]) {
            1
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_per_class_and_domain_and_keeps_the_oldest_change() {
        let mut s = AuditSummary::default();
        let row = |class, domain: Option<&str>, changed: Option<&str>, dn: &str| AuditRow {
            class: Some(class),
            domain: domain.map(str::to_owned),
            dn: Some(dn.to_owned()),
            ad_password_changed: changed.map(|c| c.parse().unwrap()),
            ..AuditRow::default()
        };
        s.add(&row(AuditClass::PasswordNotArrived, Some("a.test"), Some("2026-11-24T10:00:00Z"), "CN=x"));
        s.add(&row(AuditClass::PasswordNotArrived, Some("b.test"), Some("2026-11-23T10:00:00Z"), "CN=y"));
        s.add(&row(AuditClass::InSync, Some("a.test"), None, "CN=z"));
        s.add(&row(AuditClass::GoneFromAd, None, None, ""));
        assert_eq!(s.total(), 4);
        assert_eq!(s.per_class[&AuditClass::PasswordNotArrived], 2);
        assert_eq!(s.per_domain["a.test"].len(), 2);
        assert!(s.per_domain.contains_key("(tenant only)"));
        assert_eq!(s.oldest_unsynced.as_ref().map(|(_, w)| w.as_str()), Some("CN=y"));
    }

    #[test]
    fn an_earlier_summary_gives_the_changes_and_reads_without_the_newer_fields() {
        let earlier: AuditSummary =
            serde_json::from_str(r#"{"per_class": {"in_sync": 10, "password_not_arrived": 1}}"#).unwrap();
        let mut s = AuditSummary::default();
        for _ in 0..4 {
            s.add(&AuditRow { class: Some(AuditClass::PasswordNotArrived), ..AuditRow::default() });
        }
        for _ in 0..10 {
            s.add(&AuditRow { class: Some(AuditClass::InSync), ..AuditRow::default() });
        }
        assert!(s.changes().is_empty(), "no earlier audit, no changes");
        s.compare_with(&earlier);
        assert_eq!(s.changes(), [(AuditClass::PasswordNotArrived, 4, 1)]);
    }

    /// The README lists the columns, in order, after "columns, in order:".
    #[test]
    fn the_readme_documents_the_columns_in_order() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (_, after) = readme.split_once("columns, in order:").unwrap_or_else(|| panic!("{path}: no column list"));
        let paragraph = after.split("\n\n").next().unwrap_or_default();
        let named: Vec<&str> = paragraph.split('`').skip(1).step_by(2).collect();
        let columns: Vec<&str> = named.iter().copied().filter(|n| AuditRow::COLUMNS.contains(n)).collect();
        assert_eq!(columns, AuditRow::COLUMNS, "{paragraph}");
    }

    #[test]
    fn every_class_has_a_distinct_name_and_the_columns_match_the_values() {
        let mut names: Vec<&str> = AuditClass::ALL.iter().map(|c| c.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), AuditClass::ALL.len());
        // Each value stands under its own column: a row whose text fields
        // hold their column's name reads back in the same order.
        let named = AuditRow {
            class: Some(AuditClass::InSync),
            reason: "reason".into(),
            domain: Some("domain".into()),
            dn: Some("dn".into()),
            sam_account_name: Some("sam_account_name".into()),
            user_principal_name: Some("user_principal_name".into()),
            anchor: Some("anchor".into()),
            cloud_id: Some("cloud_id".into()),
            ad_password_changed: Some("2026-11-24T10:00:00Z".parse().unwrap()),
            cloud_password_changed: Some("2026-11-24T11:00:00Z".parse().unwrap()),
            lag_seconds: Some(3600),
        };
        let values = named.values();
        for (i, column) in AuditRow::COLUMNS.iter().enumerate().skip(1).take(7) {
            assert_eq!(values[i], *column);
        }
        assert_eq!(
            values[0..1].iter().chain(&values[8..]).map(String::as_str).collect::<Vec<_>>(),
            ["in_sync", "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z", "3600"]
        );
    }
}

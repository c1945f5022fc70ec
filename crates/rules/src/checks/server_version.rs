use crate::context::Context;
use crate::knowledge::server_versions::{self, HardStop, Lifecycle, Placement};
use crate::registry::{Need, Rule};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use phs_model::{Finding, ProductVersion, Scope, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS015",
    name: "server-version-supported",
    scope: ScopeKind::Server,
    title: "The sync server runs a supported Entra Connect Sync build",
    doc: "\
## What it checks
The build recorded in the configuration export (global parameter
`Microsoft.Synchronize.ServerConfigurationVersion` in `GlobalSettings/MV.xml`),
judged at the evaluation time against the lifecycle table
`crates/rules/data/server-versions.toml`:

- **fail** below a hard stop in force (the table has two: builds below
  2.5.79.0 stop synchronizing on 30 September 2026, 1.x builds stopped on
  1 October 2023);
- **fail** for a recalled build (the table lists 2.6.79.0), with Microsoft's
  reason;
- **warn** for a retired build, and within 60 days of a build's retirement or
  of a hard stop coming into force;
- **pass** otherwise, naming the build and the end of its support.

A build the table does not list is judged by the nearest lower listed build
(recalled builds excepted), and the finding says so. A build newer than every
listed one passes with a note that the table may be out of date; one older
than every listed build warns. When the evidence also states the installed
product version and it differs from the configuration version, the rule fails:
an upgrade stopped halfway, and the sync engine does not run until it
completes.

## Why it matters
Microsoft retires each Entra Connect Sync 2.x build 12 months after a newer
build is released. A retired build gets no fixes and may stop working without
notice; a build below a hard stop does not synchronize at all, so no password
hash reaches Entra ID however healthy everything else looks.

## How to fix
Upgrade Entra Connect Sync to the latest build: download the installer from
the Microsoft Entra admin center (Microsoft Entra Connect > Get started >
Manage), where Microsoft moved it from the Download Center
(https://www.microsoft.com/download/details.aspx?id=47594), and run it on the
staging server first. To read the build on the server, run
`(Get-ADSyncGlobalSettingsParameter | ? Name -eq
'Microsoft.Synchronize.ServerConfigurationVersion').Value` (or look through
`Get-ADSyncGlobalSettings`). For a recalled build, uninstall it and install
the latest build.

## Evidence
The export's configuration version with its folder, the installed version
when known, and the table entry used (release and retirement dates, the table's
date). To correct or extend the table, edit
`crates/rules/data/server-versions.toml` as its header explains and run
`cargo test -p phs-rules`; no code changes.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-version-history",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-version-history-archive",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-upgrade-previous-version",
    ],
    needs: &[Need::ServerConfig],
    check,
};

pub(crate) const VERSION_PARAMETER: &str = "Microsoft.Synchronize.ServerConfigurationVersion";

/// Warn this long before a retirement or a hard stop.
const WARN_DAYS: i32 = 60;

const UPGRADE: &str = "Upgrade Entra Connect Sync to the latest build: download the installer from the Microsoft Entra admin center (Microsoft Entra Connect > Get started > Manage; Microsoft moved it there from https://www.microsoft.com/download/details.aspx?id=47594), run it on the staging server first, then on this server, and check the version afterwards.";
const READ_VERSION: &str =
    "(Get-ADSyncGlobalSettingsParameter | ? Name -eq 'Microsoft.Synchronize.ServerConfigurationVersion').Value";

/// What the evidence says about the build, decided before any word is written.
#[derive(Debug, Clone, PartialEq)]
enum Outcome<'a> {
    /// Installed binaries and configuration disagree.
    HalfUpgraded {
        installed: ProductVersion,
        configured: ProductVersion,
    },
    Stopped {
        version: ProductVersion,
        stop: &'a HardStop,
    },
    Recalled {
        version: ProductVersion,
        reason: &'a str,
    },
    /// Older than every listed build, and no hard stop says more.
    OlderThanTable {
        version: ProductVersion,
        oldest: ProductVersion,
    },
    Retired {
        version: ProductVersion,
        on: Date,
        basis: Basis,
    },
    RetiresSoon {
        version: ProductVersion,
        on: Date,
        days: i32,
        basis: Basis,
    },
    StopsSoon {
        version: ProductVersion,
        stop: &'a HardStop,
        days: i32,
    },
    /// `until` is `None` for the newest build and for builds newer than the table.
    Supported {
        version: ProductVersion,
        until: Option<Date>,
        basis: Basis,
        stop_ahead: Option<&'a HardStop>,
    },
}

/// Which table entry the dates come from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Basis {
    Listed,
    NearestLower(ProductVersion),
    NewerThanTable { newest: ProductVersion, as_of: Date },
}

fn judge(table: &Lifecycle, configured: ProductVersion, installed: Option<ProductVersion>, today: Date) -> Outcome<'_> {
    // A half-finished upgrade comes first: the engine does not run at all, so
    // which build's lifecycle applies is moot until the upgrade completes.
    if let Some(installed) = installed.filter(|i| *i != configured) {
        return Outcome::HalfUpgraded { installed, configured };
    }
    let version = configured;
    if let Some(stop) = table.stop_in_force(version, today) {
        return Outcome::Stopped { version, stop };
    }
    let (entry, basis) = match table.placement(version) {
        Placement::Listed(r) => {
            if let Some(reason) = r.recall_reason.as_deref().filter(|_| r.recalled) {
                return Outcome::Recalled { version, reason };
            }
            (Some(r), Basis::Listed)
        }
        Placement::Between(r) => (Some(r), Basis::NearestLower(r.version)),
        Placement::Newer(r) => (None, Basis::NewerThanTable { newest: r.version, as_of: table.as_of }),
        Placement::Older(r) => return Outcome::OlderThanTable { version, oldest: r.version },
    };
    let retired = entry.and_then(|r| r.retired);
    if let Some(on) = retired.filter(|on| today >= *on) {
        return Outcome::Retired { version, on, basis };
    }
    let stop_ahead = table.stop_ahead(version, today);
    let days_to = |d: Date| today.until(d).map_or(i32::MAX, |s| s.get_days());
    // Whichever comes first decides the warning.
    let soon_retired = retired.map(|on| (on, days_to(on))).filter(|(_, n)| *n <= WARN_DAYS);
    let soon_stopped = stop_ahead.map(|s| (s, days_to(s.from))).filter(|(_, n)| *n <= WARN_DAYS);
    match (soon_retired, soon_stopped) {
        (Some((_, retire_days)), Some((stop, days))) if days < retire_days => {
            Outcome::StopsSoon { version, stop, days }
        }
        (Some((on, days)), _) => Outcome::RetiresSoon { version, on, days, basis },
        (None, Some((stop, days))) => Outcome::StopsSoon { version, stop, days },
        (None, None) => Outcome::Supported { version, until: retired, basis, stop_ahead },
    }
}

impl Outcome<'_> {
    fn words(&self) -> (Status, String) {
        let status = match self {
            Outcome::HalfUpgraded { .. } | Outcome::Stopped { .. } | Outcome::Recalled { .. } => Status::Fail,
            Outcome::OlderThanTable { .. }
            | Outcome::Retired { .. }
            | Outcome::RetiresSoon { .. }
            | Outcome::StopsSoon { .. } => Status::Warn,
            Outcome::Supported { .. } => Status::Pass,
        };
        (status, self.message())
    }

    fn message(&self) -> String {
        let basis_note = |basis: &Basis| match basis {
            Basis::Listed => String::new(),
            Basis::NearestLower(lower) => {
                format!(" It is not in the lifecycle table; the dates are those of the nearest lower build, {lower}.")
            }
            Basis::NewerThanTable { .. } => String::new(),
        };
        match self {
            Outcome::HalfUpgraded { installed, configured } => format!(
                "The installed build is {installed} but the configuration is at {configured}: an upgrade stopped halfway, and the sync engine does not run until it completes."
            ),
            Outcome::Stopped { version, stop } => format!(
                "Entra Connect Sync {version} is below {}: it has not synchronized since {}. {}",
                stop.below, stop.from, stop.reason
            ),
            Outcome::Recalled { version, reason } => format!("Entra Connect Sync {version} is a recalled build. {reason}"),
            Outcome::OlderThanTable { version, oldest } => format!(
                "Entra Connect Sync {version} is not in the lifecycle table and is older than its oldest build ({oldest}): treat it as out of support."
            ),
            Outcome::Retired { version, on, basis } => format!(
                "Entra Connect Sync {version} has been out of support since {on}: it gets no fixes and may stop working without notice.{}",
                basis_note(basis)
            ),
            Outcome::RetiresSoon { version, on, days, basis } => format!(
                "Entra Connect Sync {version} reaches the end of its support on {on}, in {}.{}",
                days_words(*days),
                basis_note(basis)
            ),
            Outcome::StopsSoon { version, stop, days } => format!(
                "Entra Connect Sync {version} is below {}: it stops synchronizing on {}, in {}. {}",
                stop.below,
                stop.from,
                days_words(*days),
                stop.reason
            ),
            Outcome::Supported { version, until, basis, stop_ahead } => {
                let mut m = match (until, basis) {
                    (_, Basis::NewerThanTable { newest, as_of }) => format!(
                        "Entra Connect Sync {version} is newer than the lifecycle table (dated {as_of}, newest build {newest}); check its support in Microsoft's version history."
                    ),
                    (Some(until), _) => format!("Entra Connect Sync {version} is supported until {until}."),
                    (None, _) => format!(
                        "Entra Connect Sync {version} is supported: it is the newest build in the lifecycle table, with no announced end of support."
                    ),
                };
                m.push_str(&basis_note(basis));
                if let Some(stop) = stop_ahead {
                    m.push_str(&format!(" Builds below {} stop synchronizing on {}.", stop.below, stop.from));
                }
                m
            }
        }
    }

    fn fix(&self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Outcome::Supported { .. } => None,
            Outcome::HalfUpgraded { .. } => Some((
                "Finish the upgrade: run the Entra Connect Sync installer again (the latest build, from the Microsoft Entra admin center > Microsoft Entra Connect > Get started > Manage) and complete the wizard, then check that the configuration version matches the installed build.",
                &[READ_VERSION],
            )),
            Outcome::Recalled { .. } => Some((
                "Uninstall the recalled build and install the latest Entra Connect Sync build from the Microsoft Entra admin center (Microsoft Entra Connect > Get started > Manage), as Microsoft advises.",
                &[READ_VERSION],
            )),
            _ => Some((UPGRADE, &[READ_VERSION])),
        }
    }
}

/// Why the build could not be judged at all.
enum Unjudged<'a> {
    NoParameter,
    NotAVersion {
        raw: &'a str,
        error: String,
    },
    /// `raw` is the configured version, shown with it.
    InstalledNotAVersion {
        raw: &'a str,
        text: &'a str,
        error: String,
    },
    TableBroken {
        error: String,
    },
}

impl Unjudged<'_> {
    fn words(&self) -> (Status, String) {
        (
            Status::Error,
            match self {
                Unjudged::NoParameter => {
                    format!("The export has no {VERSION_PARAMETER} parameter (GlobalSettings/MV.xml).")
                }
                Unjudged::NotAVersion { raw, error } => {
                    format!("The export's {VERSION_PARAMETER} is not a version: {raw:?} ({error}).")
                }
                Unjudged::InstalledNotAVersion { text, error, .. } => {
                    format!("The installed version is not a version: {text:?} ({error}).")
                }
                Unjudged::TableBroken { error } => {
                    format!("The lifecycle table {} is broken: {error}", server_versions::FILE)
                }
            },
        )
    }
}

fn days_words(days: i32) -> String {
    match days {
        0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}

fn check(cx: &Context) -> Vec<Finding> {
    let scope = Scope::server();
    let Some(cfg) = &cx.snapshot.server.config else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };
    let label = format!("Export {VERSION_PARAMETER}");
    let unjudged = |why: Unjudged| {
        let (status, message) = why.words();
        let d = RULE.finding(status, scope.clone(), message);
        let d = match &why {
            Unjudged::NoParameter => d.evidence_from(&label, "parameter absent", &cfg.path),
            Unjudged::NotAVersion { raw, .. } => d.evidence_from(&label, *raw, &cfg.path),
            Unjudged::InstalledNotAVersion { raw, text, .. } => {
                d.evidence_from(&label, *raw, &cfg.path).evidence("Installed version", *text)
            }
            Unjudged::TableBroken { .. } => d,
        };
        vec![d.done()]
    };
    let Some(raw) = cfg.global(VERSION_PARAMETER) else {
        return unjudged(Unjudged::NoParameter);
    };
    let configured = match raw.parse::<ProductVersion>() {
        Ok(v) => v,
        Err(e) => return unjudged(Unjudged::NotAVersion { raw, error: e.to_string() }),
    };
    let installed = match cfg.installed_version.as_deref() {
        None => None,
        Some(text) => match text.parse::<ProductVersion>() {
            Ok(v) => Some(v),
            Err(e) => return unjudged(Unjudged::InstalledNotAVersion { raw, text, error: e.to_string() }),
        },
    };
    let table = match server_versions::lifecycle() {
        Ok(t) => t,
        Err(e) => return unjudged(Unjudged::TableBroken { error: e.to_string() }),
    };
    let today = cx.now.to_zoned(TimeZone::UTC).date();
    let outcome = judge(table, configured, installed, today);

    let (status, message) = outcome.words();
    let mut d = RULE.finding(status, scope, message).evidence_from(&label, raw, &cfg.path);
    if let Some(v) = installed {
        d = d.evidence("Installed version", v.to_string());
    }
    let judged = match &outcome {
        Outcome::HalfUpgraded { .. } => None,
        Outcome::Retired { basis: Basis::NearestLower(v), .. }
        | Outcome::RetiresSoon { basis: Basis::NearestLower(v), .. }
        | Outcome::Supported { basis: Basis::NearestLower(v), .. } => Some(*v),
        _ => Some(configured),
    };
    if let Some(entry) = judged.and_then(|v| table.releases.iter().find(|r| r.version == v)) {
        if let Some(released) = entry.released {
            d = d.evidence(&format!("{} released", entry.version), released.to_string());
        }
        if let Some(retired) = entry.retired {
            d = d.evidence(&format!("{} end of support", entry.version), retired.to_string());
        }
    }
    if let Outcome::Stopped { stop, .. } | Outcome::StopsSoon { stop, .. } = &outcome {
        d = d.evidence(&format!("Hard stop below {}", stop.below), format!("from {} ({})", stop.from, stop.source));
    }
    d = d.evidence("Lifecycle table", format!("{} (dated {})", server_versions::FILE, table.as_of));
    if let Some((summary, commands)) = outcome.fix() {
        d = d.fix(summary, commands);
    }
    vec![d.done()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::context::Settings;
    use phs_model::{CollectionProblem, Snapshot, Timestamp};

    fn v(s: &str) -> ProductVersion {
        s.parse().unwrap()
    }

    fn snapshot_with_version(version: Option<&str>, installed: Option<&str>) -> Snapshot {
        let mut s = snapshot_with_export();
        let cfg = s.server.config.as_mut().unwrap();
        if let Some(text) = version {
            cfg.global_parameters.insert(VERSION_PARAMETER.into(), text.into());
        }
        cfg.installed_version = installed.map(str::to_owned);
        s
    }

    /// The finding for `version` at `now`.
    fn at(now: &str, version: &str) -> Finding {
        at_with(now, Some(version), None)
    }

    fn at_with(now: &str, version: Option<&str>, installed: Option<&str>) -> Finding {
        let s = snapshot_with_version(version, installed);
        let now: Timestamp = now.parse().unwrap();
        let f = check(&Context::new(&s, now, &Settings::default()));
        assert_eq!(f.len(), 1);
        f.into_iter().next().unwrap()
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// What PHS015 decides for `version` on `date`, by the shipped table.
    fn outcome(date: &str, version: &str) -> Outcome<'static> {
        judge(server_versions::lifecycle().unwrap(), v(version), None, day(date))
    }

    fn evidence(f: &Finding) -> String {
        f.evidence.iter().map(|e| format!("{}={}", e.label, e.value)).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn below_the_hard_stop_fails_once_it_is_in_force() {
        // The examples' old build, on the day the hard stop came into force.
        let f = at("2026-09-30T00:00:00Z", "2.4.27.0");
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        let o = outcome("2026-09-30", "2.4.27.0");
        assert!(
            matches!(&o, Outcome::Stopped { stop, .. } if stop.below == v("2.5.79.0") && stop.from == day("2026-09-30")),
            "{o:?}"
        );
        assert!(evidence(&f).contains("Hard stop below 2.5.79.0=from 2026-09-30"), "{}", evidence(&f));
        let fix = f.remediation.as_ref().unwrap();
        assert!(fix.summary.contains("Microsoft Entra admin center") && fix.summary.contains("id=47594"));
        // A build that is otherwise still supported fails the same way.
        let f = at("2026-10-01T00:00:00Z", "2.5.76.0");
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        // 2.5.79.0 itself is above the line.
        assert_ne!(at("2026-10-01T00:00:00Z", "2.5.79.0").status, Status::Fail);
    }

    #[test]
    fn the_hard_stop_does_not_apply_before_its_date() {
        // The day before: 2.4.27.0 was already retired (warn), not stopped.
        let f = at("2026-09-29T23:59:59Z", "2.4.27.0");
        assert_eq!(f.status, Status::Warn, "{}", f.message);
        let o = outcome("2026-09-29", "2.4.27.0");
        assert_eq!(o, Outcome::Retired { version: v("2.4.27.0"), on: day("2026-01-15"), basis: Basis::Listed });
        // Mid-2025, 2.4.27.0 was supported; the pass names the coming stop.
        let f = at("2025-06-01T12:00:00Z", "2.4.27.0");
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        let o = outcome("2025-06-01", "2.4.27.0");
        assert!(
            matches!(&o, Outcome::Supported { until: Some(until), stop_ahead: Some(stop), .. }
                if *until == day("2026-01-15") && stop.below == v("2.5.79.0")),
            "{o:?}"
        );
    }

    #[test]
    fn the_1x_hard_stop_names_its_own_date() {
        let f = at("2026-11-24T12:00:00Z", "1.1.130.0");
        assert_eq!(f.status, Status::Fail);
        let o = outcome("2026-11-24", "1.1.130.0");
        assert!(
            matches!(&o, Outcome::Stopped { stop, .. } if stop.below == v("2.0.0.0") && stop.from == day("2023-10-01")),
            "{o:?}"
        );
    }

    #[test]
    fn a_recalled_build_fails_with_the_reason() {
        let f = at("2026-11-24T12:00:00Z", "2.6.79.0");
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("recalled") && f.message.contains("uninstall"), "{}", f.message);
        assert!(f.remediation.as_ref().unwrap().summary.starts_with("Uninstall the recalled build"));
    }

    #[test]
    fn a_retired_build_warns() {
        // 2.5.79.0 is above the hard stop but retired on 2026-10-23.
        let f = at("2026-11-24T12:00:00Z", "2.5.79.0");
        assert_eq!(f.status, Status::Warn, "{}", f.message);
        let retired = Outcome::Retired { version: v("2.5.79.0"), on: day("2026-10-23"), basis: Basis::Listed };
        assert_eq!(outcome("2026-11-24", "2.5.79.0"), retired);
        assert!(evidence(&f).contains("2.5.79.0 end of support=2026-10-23"), "{}", evidence(&f));
        // On its retirement day it is already retired.
        assert_eq!(outcome("2026-10-23", "2.5.79.0"), retired);
    }

    #[test]
    fn within_60_days_of_retirement_warns() {
        // 2.5.190.0 retires on 2027-02-02.
        let f = at("2026-12-04T12:00:00Z", "2.5.190.0");
        assert_eq!(f.status, Status::Warn, "{}", f.message);
        let soon =
            |days| Outcome::RetiresSoon { version: v("2.5.190.0"), on: day("2027-02-02"), days, basis: Basis::Listed };
        assert_eq!(outcome("2026-12-04", "2.5.190.0"), soon(60));
        assert!(f.remediation.is_some());
        // One day earlier it is 61 days away: pass.
        let f = at("2026-12-03T12:00:00Z", "2.5.190.0");
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert_eq!(outcome("2027-02-01", "2.5.190.0"), soon(1));
    }

    #[test]
    fn a_supported_build_passes_naming_its_support_end() {
        let f = at("2026-11-24T12:00:00Z", "2.5.190.0");
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert_eq!(f.message, "Entra Connect Sync 2.5.190.0 is supported until 2027-02-02.");
        assert!(f.remediation.is_none());
        let ev = evidence(&f);
        assert!(ev.contains("Export Microsoft.Synchronize.ServerConfigurationVersion=2.5.190.0"), "{ev}");
        assert!(ev.contains("2.5.190.0 released=2025-11-19") && ev.contains("Lifecycle table="), "{ev}");
        // The newest build has no announced end.
        let f = at("2026-11-24T12:00:00Z", "2.6.92.0");
        assert_eq!(f.status, Status::Pass);
        let o = outcome("2026-11-24", "2.6.92.0");
        assert!(matches!(o, Outcome::Supported { until: None, basis: Basis::Listed, .. }), "{o:?}");
    }

    #[test]
    fn newer_than_the_table_passes_with_a_note() {
        let f = at("2026-11-24T12:00:00Z", "2.7.5.0");
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        let o = outcome("2026-11-24", "2.7.5.0");
        assert!(
            matches!(o, Outcome::Supported { basis: Basis::NewerThanTable { as_of, .. }, .. } if as_of == day("2026-09-23")),
            "{o:?}"
        );
    }

    #[test]
    fn unlisted_builds_between_entries_use_the_nearest_lower_one() {
        // 2.5.100.0 lies between 2.5.79.0 (retired 2026-10-23) and 2.5.190.0.
        let f = at("2026-11-24T12:00:00Z", "2.5.100.0");
        assert_eq!(f.status, Status::Warn, "{}", f.message);
        let o = outcome("2026-11-24", "2.5.100.0");
        assert!(
            matches!(o, Outcome::Retired { basis: Basis::NearestLower(lower), .. } if lower == v("2.5.79.0")),
            "{o:?}"
        );
        assert!(evidence(&f).contains("2.5.79.0 end of support=2026-10-23"), "{}", evidence(&f));
        // 2.6.80.0 is just above the recalled 2.6.79.0: judged by 2.6.3.0, not recalled.
        let f = at("2026-11-24T12:00:00Z", "2.6.80.0");
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        let o = outcome("2026-11-24", "2.6.80.0");
        assert!(
            matches!(o, Outcome::Supported { until: Some(until), basis: Basis::NearestLower(lower), .. }
                if until == day("2027-07-07") && lower == v("2.6.3.0")),
            "{o:?}"
        );
        // Older than every listed build, before any hard stop: warn.
        let f = at("2021-01-01T00:00:00Z", "1.5.45.0");
        assert_eq!(f.status, Status::Warn, "{}", f.message);
        assert_eq!(
            outcome("2021-01-01", "1.5.45.0"),
            Outcome::OlderThanTable { version: v("1.5.45.0"), oldest: v("1.6.16.0") }
        );
    }

    #[test]
    fn installed_and_configured_versions_must_agree() {
        let f = at_with("2026-11-24T12:00:00Z", Some("2.5.79.0"), Some("2.5.190.0"));
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        let table = server_versions::lifecycle().unwrap();
        assert_eq!(
            judge(table, v("2.5.79.0"), Some(v("2.5.190.0")), day("2026-11-24")),
            Outcome::HalfUpgraded { installed: v("2.5.190.0"), configured: v("2.5.79.0") }
        );
        assert!(evidence(&f).contains("Installed version=2.5.190.0"));
        assert!(f.remediation.as_ref().unwrap().summary.starts_with("Finish the upgrade"));
        // Agreeing versions are judged as usual; numeric equality, not text.
        let f = at_with("2026-11-24T12:00:00Z", Some("2.5.190.0"), Some(" 2.5.190.0"));
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        let f = at_with("2026-11-24T12:00:00Z", Some("2.5.190.0"), Some("2.5.190"));
        assert_eq!(f.status, Status::Error, "{}", f.message);
        assert!(f.message.contains("\"2.5.190\""), "{}", f.message);
    }

    #[test]
    fn missing_export_is_skipped_or_an_error() {
        let mut s = snapshot();
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Skipped]);
        assert!(f[0].message.contains("--server-config"));
        s.problems.push(CollectionProblem::whole(
            phs_model::SourceKind::ServerConfig,
            "server-config",
            "no such folder",
        ));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("no such folder"), "{}", f[0].message);
    }

    #[test]
    fn an_export_without_the_parameter_is_an_error() {
        let f = at_with("2026-11-24T12:00:00Z", None, None);
        assert_eq!(f.status, Status::Error);
        assert!(f.message.contains("has no Microsoft.Synchronize.ServerConfigurationVersion"), "{}", f.message);
    }

    #[test]
    fn a_garbled_version_is_an_error_naming_the_value() {
        for garbage in ["2.4.x.0", "", "2.4.27", "latest"] {
            let f = at("2026-11-24T12:00:00Z", garbage);
            assert_eq!(f.status, Status::Error, "{garbage:?}: {}", f.message);
            assert!(f.message.contains(&format!("{garbage:?}")), "{}", f.message);
        }
    }

    #[test]
    fn the_fix_commands_are_literals() {
        // Commands must not carry evidence values: the same text whatever the build.
        for version in ["2.4.27.0", "2.5.79.0", "2.6.79.0", "1.1.130.0"] {
            let f = at("2026-11-24T12:00:00Z", version);
            let fix = f.remediation.unwrap_or_else(|| panic!("{version}: no fix"));
            assert_eq!(fix.commands, [READ_VERSION]);
            assert!(!fix.summary.contains(version));
        }
    }

    /// A table where a hard stop comes before the build's retirement, so the
    /// stop decides the warning.
    #[test]
    fn a_hard_stop_ahead_warns_before_retirement_does() {
        let table = Lifecycle::parse(
            r#"
            as_of = "2026-01-01"
            sources = ["https://learn.microsoft.com/"]
            [[hard_stop]]
            below = "3.0.0.0"
            from = "2026-06-30"
            reason = "A service change."
            source = "https://learn.microsoft.com/"
            [[release]]
            version = "2.9.0.0"
            released = "2025-12-01"
            retired = "2026-12-15"
            [[release]]
            version = "3.0.0.0"
            released = "2025-12-15"
            "#,
        )
        .unwrap();
        let o = judge(&table, v("2.9.0.0"), None, day("2026-05-31"));
        assert!(matches!(o, Outcome::StopsSoon { days: 30, .. }), "{o:?}");
        assert_eq!(o.words().0, Status::Warn);
        assert!(o.message().contains("stops synchronizing on 2026-06-30, in 30 days"), "{}", o.message());
        let o = judge(&table, v("2.9.0.0"), None, day("2026-01-31"));
        assert!(matches!(o, Outcome::Supported { stop_ahead: Some(_), .. }), "{o:?}");
        let o = judge(&table, v("2.9.0.0"), None, day("2026-06-30"));
        assert!(matches!(o, Outcome::Stopped { .. }), "{o:?}");
        assert_eq!(o.words().0, Status::Fail);
    }
}

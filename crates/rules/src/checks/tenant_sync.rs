//! PHS011 and PHS012: what Entra ID itself says about the last syncs.

use crate::context::{human_duration, Context};
use crate::registry::{Need, Rule};
use crate::tenant_view::{fresh_elsewhere, server_quiet, TenantView};
use phs_model::graph::fields::{LAST_PASSWORD_SYNC, LAST_SYNC, SYNC_ENABLED};
use phs_model::graph::{Organization, TenantFacts};
use phs_model::{Finding, Scope, ScopeKind, Status};

pub const RECENCY: Rule = Rule {
    code: "PHS011",
    name: "tenant-password-sync-recency",
    scope: ScopeKind::Tenant,
    title: "Entra ID received a password sync recently",
    doc: concat!(
        "\
## What it checks
When password hash sync is enabled for the tenant, the organization's
`onPremisesLastPasswordSyncDateTime` (Microsoft Graph) must be within the
password sync window (default 2 hours) of the time the tenant was read. The
finding compares it with `onPremisesLastSyncDateTime`, within PHS012's
directory sync window, to tell a silent password hash sync channel from a
silent directory sync. Graph's null for the password sync time means the
tenant has never received one: a warning, not a missing fact. The time is
read from v1.0, else beta; a v1.0 null is taken only when beta agrees. A
read that failed (beta answering 403, 404 or throttling beyond the retries,
a time that does not parse, a missing field) is an error with its cause.

## Why it matters
The agent sends a heartbeat about every 30 minutes even when no password
changed, so the tenant's last password sync time moves on. When it stops while
directory synchronization goes on, password hash sync is broken on the server
(the agent, its AD access or its cloud calls); when both stop, no sync server
reaches the tenant.

## How to fix
If only password sync is silent, follow the server-side findings (PHS004,
PHS008, PHS009, PHS010). If both are silent, check that the ADSync service runs
and can reach Entra ID, and that the server is not in staging mode.

## Evidence
Both times from Graph with their age at the read time, when the tenant was
read, the organization's name and id, and how it matched this server.

",
        tenant_facts_doc!()
    ),
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/graph/api/resources/organization",
    ],
    needs: &[Need::Tenant],
    check: recency,
};

pub const DIRECTORY_SYNC: Rule = Rule {
    code: "PHS012",
    name: "tenant-directory-sync-enabled",
    scope: ScopeKind::Tenant,
    title: "Directory synchronization is on for the tenant and ran recently",
    doc: concat!(
        "\
## What it checks
The organization's `onPremisesSyncEnabled` (Microsoft Graph) must be true, and
`onPremisesLastSyncDateTime` within the directory sync window (default 3 hours;
the scheduler runs every 30 minutes) of the time the tenant was read. A field
missing from Graph's answer, or a time that does not parse, is an error, not
a null.

## Why it matters
Password hash sync rides on directory synchronization: users must be
provisioned and joined before their hashes can be written. A tenant whose
directory sync was turned off (`false`), or never turned on (`null`), or
whose last sync is hours old, will not get passwords either.

## How to fix
Turn directory synchronization on for the tenant by running the Entra Connect
wizard; if it is on but stale, check the scheduler (`Get-ADSyncScheduler`), the
ADSync service and staging mode.

## Evidence
`onPremisesSyncEnabled` and the last sync time with its age at the read time,
when the tenant was read, the organization's name and id, and how it matched
this server.

",
        tenant_facts_doc!()
    ),
    references: &[
        "https://learn.microsoft.com/graph/api/resources/organization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler",
    ],
    needs: &[Need::Tenant],
    check: directory_sync,
};

fn recency(cx: &Context) -> Vec<Finding> {
    let scope = Scope::tenant();
    let Some(view) = TenantView::of(cx) else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };
    let tenant = view.facts;
    if tenant.sync.as_ref().and_then(|s| s.password_sync_enabled) == Some(false) {
        let d = RECENCY.finding(
            Status::Skipped,
            scope,
            "Password hash synchronization is disabled for the tenant (see PHS001).",
        );
        return vec![view.judged(cx, d).done()];
    }
    let org = match organization(tenant) {
        Ok(org) => org,
        Err(why) => return vec![view.with_evidence(RECENCY.finding(Status::Error, scope, why)).done()],
    };
    let last_pwd = match (org.on_premises_last_password_sync, org.unreadable(LAST_PASSWORD_SYNC)) {
        (_, Some(why)) => {
            let d = RECENCY.finding(
                Status::Error,
                scope,
                format!("Could not read the tenant's last password sync time ({LAST_PASSWORD_SYNC}): {why}."),
            );
            return vec![view.with_evidence(d).done()];
        }
        (Some(t), None) => Some(t),
        // Graph's null: PHS is on (or not known to be off) yet no hash has
        // ever arrived, the "does not work at all" case itself; judged below
        // like a stale time.
        (None, None) if org.password_sync_never_received => None,
        // An older snapshot recorded a failed read only as the source.
        (None, None) => {
            let why = org.last_password_sync_source.as_deref().unwrap_or("Graph returned no such field");
            let d = RECENCY.finding(
                Status::Error,
                scope,
                format!("Could not read the tenant's last password sync time ({LAST_PASSWORD_SYNC}): {why}."),
            );
            return vec![view.with_evidence(d).done()];
        }
    };
    let window = cx.settings.password_sync_window;
    let dir_window = cx.settings.directory_sync_window;
    let outcome = match (last_pwd.and_then(|t| view.skew(t)), last_pwd) {
        (Some(skew), _) => Recency::Skewed(skew),
        (None, Some(t)) if view.within(t, window) => Recency::Fresh { at: t, server_quiet: server_quiet(cx) },
        // Directory sync within its own window (PHS012's) means a server
        // reaches the tenant.
        _ => Recency::Silent {
            last: last_pwd,
            directory_recent: org.on_premises_last_sync.is_some_and(|t| view.within(t, dir_window)),
        },
    };
    let (status, message) = outcome.words(cx, &view, org);
    let d = RECENCY
        .finding(status, scope, message)
        .evidence("Last password sync (onPremisesLastPasswordSyncDateTime)", view.describe(last_pwd))
        .evidence("Last directory sync (onPremisesLastSyncDateTime)", last_sync_shown(&view, org));
    let d = match outcome.fix() {
        Some((summary, commands)) => d.fix(summary, commands),
        None => d,
    };
    vec![view.judged(cx, d).done()]
}

/// What PHS011 decides from a readable last password sync time, before
/// [`Recency::words`] puts it in words.
enum Recency {
    /// The time is after the read by more than the tolerated skew.
    Skewed(jiff::SignedDuration),
    /// A password sync within the window; `server_quiet` says why this
    /// server cannot be the one that sent it.
    Fresh { at: phs_model::Timestamp, server_quiet: Option<String> },
    /// None within the window (`last` None: never); whether directory sync
    /// still reaches the tenant tells which side is silent.
    Silent { last: Option<phs_model::Timestamp>, directory_recent: bool },
}

impl Recency {
    fn words(&self, cx: &Context, view: &TenantView, org: &Organization) -> (Status, String) {
        let window = cx.settings.password_sync_window;
        match self {
            Recency::Skewed(skew) => (Status::Warn, skew_message(LAST_PASSWORD_SYNC, *skew)),
            Recency::Fresh { at, server_quiet: None } => {
                (Status::Pass, format!("Entra ID received a password sync {}.", view.age(*at)))
            }
            Recency::Fresh { at, server_quiet: Some(quiet) } => (
                Status::Warn,
                format!(
                    "Entra ID received a password sync {}.{}",
                    view.age(*at),
                    fresh_elsewhere(quiet, &view.identity)
                ),
            ),
            Recency::Silent { last, directory_recent } => {
                let silent = match last {
                    Some(t) => format!(
                        "No password sync reached Entra ID for {} before the read (more than {})",
                        human_duration(view.at().duration_since(*t)),
                        human_duration(window)
                    ),
                    None => "Entra ID has never received a password sync (onPremisesLastPasswordSyncDateTime is null)"
                        .to_owned(),
                };
                let message = if *directory_recent {
                    format!(
                        "{silent}, while directory sync ran {}: directory sync reaches the tenant, only password hash sync is silent.",
                        view.describe(org.on_premises_last_sync)
                    )
                } else {
                    format!(
                        "{silent}, and no directory sync within {} either (last {}): the whole sync server is silent, and no other reaches the tenant.",
                        human_duration(cx.settings.directory_sync_window),
                        last_sync_shown(view, org)
                    )
                };
                (Status::Warn, message)
            }
        }
    }

    fn fix(&self) -> Option<(&'static str, &'static [&'static str])> {
        const SERVER_COMMANDS: &[&str] = &["Get-ADSyncScheduler", "Get-Service ADSync"];
        match self {
            Recency::Skewed(_) => Some((SKEW_FIX, &[])),
            Recency::Fresh { server_quiet: None, .. } => None,
            Recency::Fresh { server_quiet: Some(_), .. } => Some((ELSEWHERE_FIX, &[])),
            Recency::Silent { directory_recent: true, .. } => Some((
                "Follow the password hash sync findings on the server (PHS004 heartbeat, PHS008 domain errors, PHS009 cloud errors, PHS010 agent state).",
                SERVER_COMMANDS,
            )),
            Recency::Silent { directory_recent: false, .. } => Some((
                "Check that the ADSync service runs on the sync server, that it is not in staging mode, and that it can reach Entra ID.",
                SERVER_COMMANDS,
            )),
        }
    }
}

const SKEW_FIX: &str = "Set the clock of the machine that read the tenant right (w32tm /resync on Windows, chronyc makestep or timedatectl on Linux), then read the tenant again.";
const ELSEWHERE_FIX: &str = "Find what keeps the tenant fresh: the active Entra Connect server (this one may be its staging server), or a Cloud Sync agent (Entra admin center > Entra Connect > Cloud Sync). Judge that server, or make this one work.";

fn skew_message(field: &str, skew: jiff::SignedDuration) -> String {
    format!(
        "The tenant's {field} is {} after the time the tenant was read: the clock of the machine that read the tenant is behind Microsoft's by at least that much, so every age here is wrong.",
        human_duration(skew)
    )
}

fn stale(view: &TenantView, window: jiff::SignedDuration, last: Option<phs_model::Timestamp>) -> String {
    format!(
        "Directory synchronization is on but had not run for more than {} when the tenant was read (last: {}).",
        human_duration(window),
        view.describe(last)
    )
}

/// The last directory sync time as evidence, or why it could not be read.
fn last_sync_shown(view: &TenantView, org: &Organization) -> String {
    match org.unreadable(LAST_SYNC) {
        Some(why) => format!("could not be read: {why}"),
        None => view.describe(org.on_premises_last_sync),
    }
}

/// The organization Graph returned, or why there is none, worded as the
/// error finding says it.
fn organization(tenant: &TenantFacts) -> Result<&Organization, String> {
    tenant.organization.as_ref().ok_or_else(|| match &tenant.sign_in_error {
        Some(e) => format!("Could not sign in to Microsoft Entra ID: {e}"),
        None => format!(
            "Could not read the organization from Graph: {}",
            tenant.organization_error.as_deref().unwrap_or("not read")
        ),
    })
}

fn directory_sync(cx: &Context) -> Vec<Finding> {
    let scope = Scope::tenant();
    let Some(view) = TenantView::of(cx) else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };
    let org = match organization(view.facts) {
        Ok(org) => org,
        Err(why) => return vec![view.with_evidence(DIRECTORY_SYNC.finding(Status::Error, scope, why)).done()],
    };
    let window = cx.settings.directory_sync_window;
    let enabled_shown = match org.unreadable(SYNC_ENABLED) {
        Some(why) => format!("could not be read: {why}"),
        None => org.on_premises_sync_enabled.map_or("null (never synchronized)".to_owned(), |v| v.to_string()),
    };
    let unreadable = org.unreadable(SYNC_ENABLED).map(|why| (SYNC_ENABLED, why)).or_else(|| {
        org.unreadable(LAST_SYNC).filter(|_| org.on_premises_sync_enabled == Some(true)).map(|why| (LAST_SYNC, why))
    });
    let outcome = match (unreadable, org.on_premises_sync_enabled, org.on_premises_last_sync) {
        (Some((field, why)), _, _) => DirectorySync::Unreadable { field, why: why.to_owned() },
        (None, None, _) => DirectorySync::NeverEnabled,
        (None, Some(false), _) => DirectorySync::TurnedOff,
        (None, Some(true), Some(t)) => match (view.skew(t), view.within(t, window)) {
            (Some(skew), _) => DirectorySync::Skewed(skew),
            (None, true) => DirectorySync::Recent { at: t, server_quiet: server_quiet(cx) },
            (None, false) => DirectorySync::Stale { last: Some(t) },
        },
        (None, Some(true), None) => DirectorySync::Stale { last: None },
    };
    let d = DIRECTORY_SYNC
        .finding(outcome.status(), scope, outcome.message(&view, window))
        .evidence("onPremisesSyncEnabled", enabled_shown)
        .evidence("Last directory sync (onPremisesLastSyncDateTime)", last_sync_shown(&view, org));
    if let DirectorySync::Unreadable { .. } = outcome {
        return vec![view.with_evidence(d).done()];
    }
    let d = match outcome.fix() {
        Some((summary, commands)) => d.fix(summary, commands),
        None => d,
    };
    vec![view.judged(cx, d).done()]
}

/// What PHS012 decides from the organization, before it is put in words.
enum DirectorySync {
    /// A field the verdict depends on could not be read.
    Unreadable { field: &'static str, why: String },
    /// `onPremisesSyncEnabled` is null.
    NeverEnabled,
    /// `onPremisesSyncEnabled` is false: it was on before.
    TurnedOff,
    /// The last sync is after the read by more than the tolerated skew.
    Skewed(jiff::SignedDuration),
    /// A sync within the window; `server_quiet` says why this server
    /// cannot be the one that ran it.
    Recent { at: phs_model::Timestamp, server_quiet: Option<String> },
    /// No sync within the window (`last` None: no time at all).
    Stale { last: Option<phs_model::Timestamp> },
}

impl DirectorySync {
    fn status(&self) -> Status {
        match self {
            DirectorySync::Unreadable { .. } => Status::Error,
            DirectorySync::NeverEnabled | DirectorySync::TurnedOff | DirectorySync::Stale { .. } => Status::Fail,
            DirectorySync::Skewed(_) | DirectorySync::Recent { server_quiet: Some(_), .. } => Status::Warn,
            DirectorySync::Recent { server_quiet: None, .. } => Status::Pass,
        }
    }

    fn message(&self, view: &TenantView, window: jiff::SignedDuration) -> String {
        match self {
            DirectorySync::Unreadable { field, why } => format!("Could not read the tenant's {field}: {why}."),
            DirectorySync::NeverEnabled => "Directory synchronization was never enabled for this tenant.".to_owned(),
            DirectorySync::TurnedOff => "Directory synchronization is turned off for the tenant (it was on before): nothing, passwords included, is synchronized.".to_owned(),
            DirectorySync::Skewed(skew) => skew_message(LAST_SYNC, *skew),
            DirectorySync::Recent { at, server_quiet } => format!(
                "Directory synchronization is on; the last sync was {}.{}",
                view.age(*at),
                server_quiet.as_deref().map(|q| fresh_elsewhere(q, &view.identity)).unwrap_or_default()
            ),
            DirectorySync::Stale { last } => stale(view, window, *last),
        }
    }

    fn fix(&self) -> Option<(&'static str, &'static [&'static str])> {
        const WIZARD_FIX: &str = "Run the Entra Connect wizard to turn directory synchronization on, or if it is on, check the scheduler, the ADSync service and staging mode on the sync server.";
        const WIZARD_COMMANDS: &[&str] = &["Get-ADSyncScheduler", "Start-ADSyncSyncCycle -PolicyType Delta"];
        match self {
            DirectorySync::Unreadable { .. } | DirectorySync::Recent { server_quiet: None, .. } => None,
            DirectorySync::NeverEnabled | DirectorySync::TurnedOff | DirectorySync::Stale { .. } => {
                Some((WIZARD_FIX, WIZARD_COMMANDS))
            }
            DirectorySync::Skewed(_) => Some((SKEW_FIX, &[])),
            DirectorySync::Recent { server_quiet: Some(_), .. } => Some((ELSEWHERE_FIX, &[])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use jiff::SignedDuration;
    use phs_model::graph::fields::VERIFIED_DOMAINS;

    fn with_tenant(t: phs_model::TenantFacts) -> phs_model::Snapshot {
        let mut s = snapshot_with_export();
        s.tenant = Some(t);
        s
    }

    fn org(t: &mut phs_model::TenantFacts) -> &mut Organization {
        t.organization.as_mut().unwrap()
    }

    fn evidence<'a>(f: &'a Finding, label: &str) -> &'a str {
        f.evidence.iter().find(|e| e.label == label).map_or("", |e| e.value.as_str())
    }

    /// Evaluated `eval_offset` away from [`NOW`], where the fixture tenant was read.
    fn run_at(
        s: &phs_model::Snapshot,
        eval_offset: SignedDuration,
        check: fn(&Context) -> Vec<Finding>,
    ) -> Vec<Finding> {
        let settings = crate::Settings::default();
        check(&Context::new(s, now() + eval_offset, &settings))
    }

    #[test]
    fn recency_pass_and_warn_says_which_side_is_silent() {
        let f = run(&with_tenant(tenant(true, Some(20), Some(10))), recency);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(f[0].message.contains("10 min before the read"), "{}", f[0].message);
        let f = run(&with_tenant(tenant(true, Some(20), Some(300))), recency);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("only password hash sync is silent"), "{}", f[0].message);
        let f = run(&with_tenant(tenant(true, Some(400), Some(300))), recency);
        assert!(f[0].message.contains("whole sync server is silent"), "{}", f[0].message);
    }

    #[test]
    fn recency_uses_the_directory_sync_window_for_directory_sync() {
        // Directory sync 150 min ago: outside the 2 h password window, inside
        // PHS012's 3 h: directory sync does reach the tenant.
        let f = run(&with_tenant(tenant(true, Some(150), Some(300))), recency);
        assert!(f[0].message.contains("only password hash sync is silent"), "{}", f[0].message);
        let f = run(&with_tenant(tenant(true, Some(200), Some(300))), recency);
        assert!(f[0].message.contains("no directory sync within 3 h"), "{}", f[0].message);
    }

    #[test]
    fn recency_warns_when_graph_says_never_received() {
        let mut t = tenant(true, Some(20), None);
        org(&mut t).password_sync_never_received = true;
        let f = run(&with_tenant(t.clone()), recency);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("never received a password sync"), "{}", f[0].message);
        assert!(f[0].message.contains("only password hash sync is silent"), "{}", f[0].message);
        org(&mut t).on_premises_last_sync = None;
        assert!(run(&with_tenant(t), recency)[0].message.contains("whole sync server is silent"));
    }

    #[test]
    fn recency_skipped_only_when_off_or_not_asked() {
        assert_eq!(statuses(&run(&with_tenant(tenant(false, Some(20), Some(10))), recency)), [Status::Skipped]);
        assert_eq!(statuses(&run(&snapshot_with_export(), recency)), [Status::Skipped]);
    }

    #[test]
    fn a_failed_password_sync_read_is_an_error_with_its_cause_never_skipped_or_never() {
        for why in [
            "v1.0 does not have it, and the beta read failed: HTTP 403 Authorization_RequestDenied",
            "v1.0 does not have it, and the beta endpoint returned 404 (Request_ResourceNotFound)",
            "v1.0 does not have it, and the beta read failed: throttled by Microsoft Graph: gave up after 2 retries",
            "v1.0 answered null, and the beta read failed: HTTP 403, so the null is not confirmed",
            "not a timestamp: \"yesterday\"",
        ] {
            let mut t = tenant(true, Some(20), None);
            org(&mut t).unreadable.insert(LAST_PASSWORD_SYNC.into(), why.into());
            let f = run(&with_tenant(t), recency);
            assert_eq!(statuses(&f), [Status::Error], "{why}");
            assert!(f[0].message.contains(why), "{}", f[0].message);
            assert!(!f[0].message.contains("never received"), "{}", f[0].message);
        }
        // An older snapshot that recorded the failure only as the source.
        let mut t = tenant(true, Some(20), None);
        org(&mut t).last_password_sync_source = Some("beta endpoint returned 404 (Request_ResourceNotFound)".into());
        let f = run(&with_tenant(t), recency);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("404"), "{}", f[0].message);
    }

    #[test]
    fn directory_sync_states() {
        let f = run(&with_tenant(tenant(true, Some(20), Some(10))), directory_sync);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(evidence(&f[0], "Organization").contains(FABRIKAM_TENANT_ID), "{:?}", f[0].evidence);
        assert!(
            evidence(&f[0], "The sync server's tenant")
                .starts_with("yes: fabrikam.onmicrosoft.com (connector account Sync_FABRIKAM-SYNC01"),
            "{:?}",
            f[0].evidence
        );
        let f = run(&with_tenant(tenant(true, Some(600), Some(10))), directory_sync);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("had not run for more than 3 h when the tenant was read"), "{}", f[0].message);
        let mut t = tenant(true, Some(20), Some(10));
        org(&mut t).on_premises_sync_enabled = Some(false);
        assert!(run(&with_tenant(t.clone()), directory_sync)[0].message.contains("turned off"));
        org(&mut t).on_premises_sync_enabled = None;
        assert!(run(&with_tenant(t), directory_sync)[0].message.contains("never enabled"));
    }

    #[test]
    fn a_missing_or_unparseable_directory_sync_field_is_an_error_not_a_null() {
        for (field, why) in [
            (SYNC_ENABLED, "missing from Graph's answer"),
            (SYNC_ENABLED, "not a boolean: \"yes\""),
            (LAST_SYNC, "missing from Graph's answer"),
            (LAST_SYNC, "not a timestamp: \"2026-13-45\""),
        ] {
            let mut t = tenant(true, None, Some(10));
            let o = org(&mut t);
            o.unreadable.insert(field.into(), why.into());
            if field == SYNC_ENABLED {
                o.on_premises_sync_enabled = None;
            }
            let f = run(&with_tenant(t), directory_sync);
            assert_eq!(statuses(&f), [Status::Error], "{field}: {why}");
            assert!(f[0].message.contains(field) && f[0].message.contains(why), "{}", f[0].message);
            assert!(!f[0].message.contains("never enabled"), "{}", f[0].message);
        }
    }

    #[test]
    fn the_tenant_is_judged_at_its_read_time_not_the_evaluation_time() {
        // Read at NOW, fresh then: a few minutes either way still judges it.
        let s = with_tenant(tenant(true, Some(20), Some(10)));
        for offset in [SignedDuration::from_mins(-10), SignedDuration::from_mins(25)] {
            assert_eq!(statuses(&run_at(&s, offset, directory_sync)), [Status::Pass], "{offset:?}");
            assert_eq!(statuses(&run_at(&s, offset, recency)), [Status::Pass], "{offset:?}");
        }
        // Evaluated a week before or after the read (a shipped example's
        // fixed `now`, an old snapshot judged today): no verdict about then.
        for offset in
            [SignedDuration::from_hours(-8 * 24), SignedDuration::from_hours(2), SignedDuration::from_mins(-45)]
        {
            for check in [directory_sync as fn(&Context) -> Vec<Finding>, recency] {
                let f = run_at(&s, offset, check);
                assert_eq!(statuses(&f), [Status::Error], "{offset:?}");
                let m = &f[0].message;
                assert!(
                    m.contains("The tenant was read at 2026-11-24T12:00:00Z")
                        && m.contains("say nothing about the evaluation time"),
                    "{m}"
                );
                assert!(m.contains("As read:"), "what the read showed stays: {m}");
            }
        }
        // A stale tenant read far from the evaluation time is not a failure about then either.
        let s = with_tenant(tenant(true, Some(600), Some(500)));
        assert_eq!(statuses(&run_at(&s, SignedDuration::from_hours(-48), directory_sync)), [Status::Error]);
    }

    #[test]
    fn an_older_snapshot_without_a_read_time_is_judged_at_its_collection_time_and_says_so() {
        let mut t = tenant(true, Some(20), Some(10));
        t.read_at = None;
        let mut s = with_tenant(t);
        let f = run(&s, directory_sync);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(evidence(&f[0], "Tenant read at").contains("not recorded (older snapshot)"), "{:?}", f[0].evidence);
        s.collected_at = now() - SignedDuration::from_hours(30);
        assert_eq!(statuses(&run(&s, directory_sync)), [Status::Error]);
    }

    #[test]
    fn times_after_the_read_time_are_clock_skew() {
        // 2 min ahead: within the tolerance, counted as just now but reported.
        let s = with_tenant(tenant(true, Some(-2), Some(-1)));
        let f = run(&s, directory_sync);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(evidence(&f[0], "Last directory sync (onPremisesLastSyncDateTime)")
            .contains("2 min after the read time (clock skew)"));
        // 40 min and a day ahead: the clocks disagree, every age is wrong.
        for ahead in [40, 24 * 60] {
            let s = with_tenant(tenant(true, Some(-ahead), Some(-ahead)));
            for check in [directory_sync as fn(&Context) -> Vec<Finding>, recency] {
                let f = run(&s, check);
                assert_eq!(statuses(&f), [Status::Warn], "{ahead}");
                assert!(
                    f[0].message.contains("after the time the tenant was read") && f[0].message.contains("clock"),
                    "{}",
                    f[0].message
                );
                assert!(f[0].remediation.as_ref().unwrap().summary.contains("clock"));
            }
        }
    }

    #[test]
    fn another_tenant_never_passes() {
        // The export's Entra connector writes to fabrikam.onmicrosoft.com;
        // the organization that answered is Contoso.
        let mut contoso = tenant(true, Some(20), Some(10));
        contoso.tenant = "contoso.onmicrosoft.com".into();
        contoso.token_tenant_id = Some("9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d".into());
        let o = org(&mut contoso);
        o.id = Some("9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d".into());
        o.display_name = Some("Contoso".into());
        o.verified_domains = vec!["contoso.com".into(), "contoso.onmicrosoft.com".into()];
        // The token's tenant and the organization disagree.
        let mut mixed = tenant(true, Some(20), Some(10));
        mixed.token_tenant_id = Some("9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d".into());
        // Asked by a GUID that is not the organization's.
        let mut guid = tenant(true, Some(20), Some(10));
        guid.tenant = "9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d".into();
        guid.token_tenant_id = None;
        for (t, said) in [
            (contoso, "this server writes to fabrikam.onmicrosoft.com (connector account"),
            (mixed, "the access token was issued for tenant 9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d, but Graph answered for organization 5d8e2c71"),
            (guid, "tenant 9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d was asked, but organization 5d8e2c71"),
        ] {
            let s = with_tenant(t);
            for check in [directory_sync as fn(&Context) -> Vec<Finding>, recency, crate::checks::tenant::RULE.check] {
                let f = run(&s, check);
                assert_eq!(statuses(&f), [Status::Error], "{said}");
                assert!(f[0].message.starts_with("The tenant asked is not the tenant this sync server writes to"), "{}", f[0].message);
                assert!(f[0].message.contains(said), "{}", f[0].message);
                assert!(f[0].remediation.as_ref().unwrap().summary.contains("tenant_id"));
            }
        }
    }

    #[test]
    fn unreadable_verified_domains_with_an_export_block_a_pass_without_one_they_do_not() {
        let mut t = tenant(true, Some(20), Some(10));
        org(&mut t).verified_domains.clear();
        org(&mut t).unreadable.insert(VERIFIED_DOMAINS.into(), "missing from Graph's answer".into());
        let f = run(&with_tenant(t.clone()), directory_sync);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(
            f[0].message.contains("verifiedDomains could not be read (missing from Graph's answer)"),
            "{}",
            f[0].message
        );
        // Graph alone (no export): the tenant is judged, the match is "not known".
        let mut s = snapshot();
        s.tenant = Some(t);
        let f = run(&s, directory_sync);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(evidence(&f[0], "The sync server's tenant").starts_with("not known: no configuration export"));
    }

    #[test]
    fn a_fresh_tenant_with_a_quiet_server_says_something_else_keeps_it_fresh() {
        // Staging mode, from the export or the scheduler.
        let mut staged = with_tenant(tenant(true, Some(20), Some(10)));
        staged
            .server
            .config
            .as_mut()
            .unwrap()
            .global_parameters
            .insert("Microsoft.Synchronize.StagingMode".into(), "True".into());
        let mut scheduled = with_tenant(tenant(true, Some(20), Some(10)));
        scheduled.server.scheduler = Some(scheduler_state(true));
        // A log showing the whole heartbeat window without a heartbeat.
        let mut silent = with_tenant(tenant(true, Some(20), Some(10)));
        with_events(&mut silent, vec![event(654, 400, "heartbeat long ago")]);
        for (s, said) in
            [(staged, "staging mode"), (scheduled, "staging mode"), (silent, "no password hash sync heartbeat")]
        {
            for check in [directory_sync as fn(&Context) -> Vec<Finding>, recency] {
                let f = run(&s, check);
                assert_eq!(statuses(&f), [Status::Warn], "{said}");
                let m = &f[0].message;
                assert!(m.contains(said) && m.contains("another Entra Connect server, or a Cloud Sync agent"), "{m}");
                // The tenant matched the server: the wrong tenant is ruled out.
                assert!(!m.contains("not the one this server writes to"), "{m}");
            }
        }
        // A heartbeat in the window: this server keeps it fresh itself.
        let mut alive = with_tenant(tenant(true, Some(20), Some(10)));
        with_events(&mut alive, vec![event(654, 30, "heartbeat")]);
        assert_eq!(statuses(&run(&alive, recency)), [Status::Pass]);
        // Without an export to match, the wrong tenant stays a possibility.
        let mut unmatched = snapshot();
        unmatched.tenant = Some(tenant(true, Some(20), Some(10)));
        unmatched.server.scheduler = Some(scheduler_state(true));
        let f = run(&unmatched, recency);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("or the tenant asked is not the one this server writes to"), "{}", f[0].message);
    }

    #[test]
    fn a_graph_setup_problem_is_an_error() {
        let mut s = snapshot_with_export();
        s.problems.push(problem(
            phs_model::SourceKind::Graph,
            "[graph]",
            "[graph] needs tenant_id (or AZURE_TENANT_ID)",
        ));
        let f = run(&s, directory_sync);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("AZURE_TENANT_ID"));
    }

    #[test]
    fn organization_errors_are_errors() {
        let mut t = tenant(true, None, None);
        t.organization = None;
        t.organization_error = Some("403: needs Organization.Read.All".into());
        let f = run(&with_tenant(t.clone()), directory_sync);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("Organization.Read.All"));
        // A failed sign-in is named as such, not as a failed read.
        t.organization_error = None;
        t.sign_in_error = Some("the client secret is wrong (AADSTS7000215)".into());
        for f in [run(&with_tenant(t.clone()), directory_sync), run(&with_tenant(t.clone()), recency)] {
            assert_eq!(statuses(&f), [Status::Error]);
            assert!(
                f[0].message.starts_with("Could not sign in to Microsoft Entra ID: the client secret"),
                "{}",
                f[0].message
            );
        }
    }
}

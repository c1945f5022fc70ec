//! PHS011 and PHS012: what Entra ID itself says about the last syncs.

use crate::context::{human_duration, Context};
use crate::registry::Rule;
use phs_model::graph::{Organization, TenantFacts};
use phs_model::{Finding, Scope, ScopeKind, SourceKind, Status, Timestamp};

const NOT_ASKED: &str = "The tenant was not asked (configure [graph], or --graph with the AZURE_* variables).";

pub const RECENCY: Rule = Rule {
    code: "PHS011",
    name: "tenant-password-sync-recency",
    scope: ScopeKind::Tenant,
    title: "Entra ID received a password sync recently",
    doc: "\
## What it checks
When password hash sync is enabled for the tenant, the organization's
`onPremisesLastPasswordSyncDateTime` (Microsoft Graph) must be within the
password sync window (default 2 hours). The finding compares it with
`onPremisesLastSyncDateTime` to tell a silent server from a silent password
hash sync channel. Graph's null for the password sync time means the tenant
has never received one: a warning too, not a missing fact.

## Why it matters
The agent sends a heartbeat about every 30 minutes even when no password
changed, so the tenant's last password sync time moves on. When it stops while
directory synchronization goes on, password hash sync is broken on the server
(the agent, its AD access or its cloud calls); when both stop, the whole sync
server is down or cut off.

## How to fix
If only password sync is silent, follow the server-side findings (PHS004,
PHS008, PHS009, PHS010). If both are silent, check that the ADSync service runs
and can reach Entra ID, and that the server is not in staging mode.

## Evidence
Both times from Graph and their age at the evaluation time.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/graph/api/resources/organization",
    ],
    check: recency,
};

pub const DIRECTORY_SYNC: Rule = Rule {
    code: "PHS012",
    name: "tenant-directory-sync-enabled",
    scope: ScopeKind::Tenant,
    title: "Directory synchronization is on for the tenant and ran recently",
    doc: "\
## What it checks
The organization's `onPremisesSyncEnabled` (Microsoft Graph) must be true, and
`onPremisesLastSyncDateTime` within the directory sync window (default 3 hours;
the scheduler runs every 30 minutes).

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
`onPremisesSyncEnabled` and the last sync time with its age.",
    references: &[
        "https://learn.microsoft.com/graph/api/resources/organization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler",
    ],
    check: directory_sync,
};

fn describe(cx: &Context, t: Option<Timestamp>) -> String {
    t.map_or("never (null)".to_owned(), |t| format!("{t} ({})", cx.age(t)))
}

fn recency(cx: &Context) -> Vec<Finding> {
    let scope = Scope::tenant();
    let Some(tenant) = &cx.snapshot.tenant else {
        let (status, why) = cx.absent(SourceKind::Graph, NOT_ASKED);
        return vec![RECENCY.finding(status, scope, why).done()];
    };
    if tenant.sync.as_ref().and_then(|s| s.password_sync_enabled) == Some(false) {
        return vec![RECENCY
            .finding(Status::Skipped, scope, "Password hash synchronization is disabled for the tenant (see PHS001).")
            .done()];
    }
    let org = match organization(tenant) {
        Ok(org) => org,
        Err(why) => return vec![RECENCY.finding(Status::Error, scope, why).done()],
    };
    let last_pwd = match org.on_premises_last_password_sync {
        Some(t) => Some(t),
        // Graph's null: PHS is on (or not known to be off) yet no hash has
        // ever arrived, the "does not work at all" case itself; judged below
        // like a stale time.
        None if org.password_sync_never_received => None,
        None => {
            let why = org
                .last_password_sync_source
                .clone()
                .unwrap_or_else(|| "Graph returned no onPremisesLastPasswordSyncDateTime".into());
            return vec![RECENCY
                .finding(
                    Status::Skipped,
                    scope,
                    format!("The tenant's last password sync time is not available: {why}."),
                )
                .done()];
        }
    };
    let window = cx.settings.password_sync_window;
    let mut d = RECENCY
        .finding(Status::Pass, scope, String::new())
        .evidence("Last password sync (onPremisesLastPasswordSyncDateTime)", describe(cx, last_pwd))
        .evidence("Last directory sync (onPremisesLastSyncDateTime)", describe(cx, org.on_premises_last_sync));
    if let Some(t) = last_pwd.filter(|t| *t >= cx.now - window) {
        d.set(Status::Pass, format!("Entra ID received a password sync {}.", cx.age(t)));
        return vec![d.done()];
    }
    let silent = match last_pwd {
        Some(t) => format!(
            "No password sync reached Entra ID for {} (more than {})",
            human_duration(cx.now.duration_since(t)),
            human_duration(window)
        ),
        None => "Entra ID has never received a password sync (onPremisesLastPasswordSyncDateTime is null)".to_owned(),
    };
    // Directory sync within the window too means the server is alive.
    let dir_recent = org.on_premises_last_sync.is_some_and(|t| t >= cx.now - window);
    let message = if dir_recent {
        format!(
            "{silent}, while directory sync ran {}: the server works, only password hash sync is silent.",
            describe(cx, org.on_premises_last_sync)
        )
    } else {
        format!(
            "{silent}, and no directory sync either (last {}): the whole sync server is silent.",
            describe(cx, org.on_premises_last_sync)
        )
    };
    d.set(Status::Warn, message);
    let fix = if dir_recent {
        "Follow the password hash sync findings on the server (PHS004 heartbeat, PHS008 domain errors, PHS009 cloud errors, PHS010 agent state)."
    } else {
        "Check that the ADSync service runs on the sync server, that it is not in staging mode, and that it can reach Entra ID."
    };
    vec![d.fix(fix, &["Get-ADSyncScheduler", "Get-Service ADSync"]).done()]
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
    let Some(tenant) = &cx.snapshot.tenant else {
        let (status, why) = cx.absent(SourceKind::Graph, NOT_ASKED);
        return vec![DIRECTORY_SYNC.finding(status, scope, why).done()];
    };
    let org = match organization(tenant) {
        Ok(org) => org,
        Err(why) => return vec![DIRECTORY_SYNC.finding(Status::Error, scope, why).done()],
    };
    let window = cx.settings.directory_sync_window;
    let mut d = DIRECTORY_SYNC
        .finding(Status::Pass, scope, String::new())
        .evidence(
            "onPremisesSyncEnabled",
            org.on_premises_sync_enabled.map_or("null (never synchronized)".to_owned(), |v| v.to_string()),
        )
        .evidence("Last directory sync (onPremisesLastSyncDateTime)", describe(cx, org.on_premises_last_sync));
    let (status, message) = match (org.on_premises_sync_enabled, org.on_premises_last_sync) {
        (None, _) => (Status::Fail, "Directory synchronization was never enabled for this tenant.".to_owned()),
        (Some(false), _) => (
            Status::Fail,
            "Directory synchronization is turned off for the tenant (it was on before): nothing, passwords included, is synchronized.".to_owned(),
        ),
        (Some(true), Some(t)) if t >= cx.now - window => {
            (Status::Pass, format!("Directory synchronization is on; the last sync was {}.", cx.age(t)))
        }
        (Some(true), last) => (
            Status::Fail,
            format!(
                "Directory synchronization is on but has not run for more than {} (last: {}).",
                human_duration(window),
                describe(cx, last)
            ),
        ),
    };
    d.set(status, message);
    if status != Status::Pass {
        d = d.fix(
            "Run the Entra Connect wizard to turn directory synchronization on, or if it is on, check the scheduler, the ADSync service and staging mode on the sync server.",
            &["Get-ADSyncScheduler", "Start-ADSyncSyncCycle -PolicyType Delta"],
        );
    }
    vec![d.done()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn with_tenant(t: phs_model::TenantFacts) -> phs_model::Snapshot {
        let mut s = snapshot_with_export();
        s.tenant = Some(t);
        s
    }

    #[test]
    fn recency_pass_and_warn_says_which_side_is_silent() {
        assert_eq!(statuses(&run(&with_tenant(tenant(true, Some(20), Some(10))), recency)), [Status::Pass]);
        let f = run(&with_tenant(tenant(true, Some(20), Some(300))), recency);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("only password hash sync is silent"), "{}", f[0].message);
        let f = run(&with_tenant(tenant(true, Some(400), Some(300))), recency);
        assert!(f[0].message.contains("whole sync server is silent"), "{}", f[0].message);
    }

    #[test]
    fn recency_warns_when_graph_says_never_received() {
        let mut t = tenant(true, Some(20), None);
        t.organization.as_mut().unwrap().password_sync_never_received = true;
        let f = run(&with_tenant(t.clone()), recency);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("never received a password sync"), "{}", f[0].message);
        assert!(f[0].message.contains("only password hash sync is silent"), "{}", f[0].message);
        t.organization.as_mut().unwrap().on_premises_last_sync = None;
        assert!(run(&with_tenant(t), recency)[0].message.contains("whole sync server is silent"));
    }

    #[test]
    fn recency_skipped_when_off_or_unknown() {
        assert_eq!(statuses(&run(&with_tenant(tenant(false, Some(20), Some(10))), recency)), [Status::Skipped]);
        assert_eq!(statuses(&run(&with_tenant(tenant(true, Some(20), None)), recency)), [Status::Skipped]);
        assert_eq!(statuses(&run(&snapshot_with_export(), recency)), [Status::Skipped]);
    }

    #[test]
    fn directory_sync_states() {
        assert_eq!(statuses(&run(&with_tenant(tenant(true, Some(20), Some(10))), directory_sync)), [Status::Pass]);
        let f = run(&with_tenant(tenant(true, Some(600), Some(10))), directory_sync);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("has not run for more than 3 h"), "{}", f[0].message);
        let mut t = tenant(true, Some(20), Some(10));
        t.organization.as_mut().unwrap().on_premises_sync_enabled = Some(false);
        assert!(run(&with_tenant(t.clone()), directory_sync)[0].message.contains("turned off"));
        t.organization.as_mut().unwrap().on_premises_sync_enabled = None;
        assert!(run(&with_tenant(t), directory_sync)[0].message.contains("never enabled"));
    }

    #[test]
    fn a_graph_setup_problem_is_an_error() {
        let mut s = snapshot_with_export();
        s.problems.push(problem(SourceKind::Graph, "[graph]", "[graph] needs tenant_id (or AZURE_TENANT_ID)"));
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

use crate::context::Context;
use crate::registry::Rule;
use crate::tenant_view::{Identity, TenantView};
use phs_model::graph::fields::{PASSWORD_SYNC_ENABLED, SYNC_ENABLED};
use phs_model::{Finding, Scope, ScopeKind, SourceKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS001",
    name: "tenant-password-sync-enabled",
    scope: ScopeKind::Tenant,
    title: "Password hash synchronization is enabled for the tenant",
    doc: concat!(
        "\
## What it checks
Whether the tenant has password hash synchronization enabled: live through
Microsoft Graph (`directory/onPremisesSynchronization`, feature
`passwordSyncEnabled`) first, else as the sync server last saw it
(`Get-ADSyncAADCompanyFeature`, `PasswordHashSync`). It says which source it
used, and does not pass when the tenant and the server disagree: the tenant
off while connectors have it on, the tenant on while no connector has it,
the server's cached view differing from the live tenant, Graph answering that
the tenant has no directory synchronization at all, or the organization's
directory synchronization off while the feature is on.

## Why it matters
When the tenant feature is off, Entra ID refuses every hash the agent sends
(events 652/655 with Error Code 90) even though the connectors are configured
for it. The tenant and the sync server can disagree after a failed wizard run
or a change made outside the wizard, or because the tenant asked is not the
one the server writes to.

## How to fix
Run the Entra Connect wizard, Customize synchronization options, and turn
Password Hash Synchronization on. If the tenant and the connectors disagree,
turn it off, finish the wizard, and turn it on again.

## Evidence
Graph's `passwordSyncEnabled`, the company-feature file's `PasswordHashSync`,
which AD connectors have their own switch on, when the tenant was read, the
organization's name and id, and how it matched this server.

",
        tenant_facts_doc!()
    ),
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-password-hash-synchronization",
    ],
    needs: &[],
    check,
};

const WIZARD_FIX: &str = "Run the Entra Connect wizard > Customize synchronization options and enable Password Hash Synchronization. If the tenant and the connectors disagree, disable it, finish the wizard, then enable it again.";

fn check(cx: &Context) -> Vec<Finding> {
    let view = TenantView::of(cx);
    let tenant = view.as_ref().map(|v| v.facts);
    let from_graph = tenant.and_then(|t| t.sync.as_ref()).and_then(|s| s.password_sync_enabled);
    let no_directory_sync = tenant.is_some_and(|t| t.no_directory_sync);
    // Why Graph gave no answer: its own error, a feature its answer lacks,
    // or a setup problem before sign-in.
    let graph_problem = tenant
        .and_then(|t| {
            t.sign_in_error.clone().or_else(|| t.sync_error.clone()).or_else(|| {
                t.sync
                    .as_ref()
                    .filter(|s| s.password_sync_enabled.is_none())
                    .map(|_| format!("the onPremisesSynchronization answer has no {PASSWORD_SYNC_ENABLED} feature"))
            })
        })
        .or_else(|| cx.snapshot.problems_for(SourceKind::Graph).next().map(|p| p.error.clone()));
    let features = cx.snapshot.server.company_features.as_ref();
    let from_server = features.and_then(|f| f.password_hash_sync);

    let mut evidence: Vec<(String, String)> = Vec::new();
    if let Some(t) = tenant {
        let shown = match (from_graph, &graph_problem) {
            (Some(v), _) => v.to_string(),
            _ if no_directory_sync => "no onPremisesSynchronization object (no directory synchronization)".into(),
            (None, Some(p)) => format!("not read: {p}"),
            (None, None) => "not in Graph's answer".into(),
        };
        evidence.push((format!("Graph onPremisesSynchronization passwordSyncEnabled ({})", t.tenant), shown));
    }
    if let Some(f) = features {
        evidence.push((
            format!("Get-ADSyncAADCompanyFeature PasswordHashSync ({})", f.path),
            f.password_hash_sync.map_or("absent".to_owned(), |v| v.to_string()),
        ));
    }
    let connectors_on: Vec<&str> = cx
        .ad_connectors()
        .into_iter()
        .filter(|(_, ad)| ad.phs.as_ref().is_some_and(|p| p.enabled))
        .map(|(c, _)| c.name.as_str())
        .collect();
    let any_ad_connector = !cx.ad_connectors().is_empty();
    if any_ad_connector {
        evidence.push((
            "AD connectors with PHS enabled".into(),
            if connectors_on.is_empty() { "none".into() } else { connectors_on.join(", ") },
        ));
    }
    // Why neither source answered, when neither did: Graph first, then the
    // company features file.
    let unread = || {
        graph_problem
            .as_ref()
            .map(|p| format!("Microsoft Graph: {p}"))
            .or_else(|| {
                cx.snapshot
                    .problems_for(SourceKind::CompanyFeatures)
                    .next()
                    .map(|p| format!("{}: {}", p.location, p.error))
            })
            .or_else(|| {
                features.map(|f| {
                    format!(
                        "{} has no PasswordHashSync field; is it the output of Get-ADSyncAADCompanyFeature?",
                        f.path
                    )
                })
            })
    };
    let said = Said {
        graph: from_graph,
        server: from_server,
        no_directory_sync,
        graph_problem: graph_problem.as_deref(),
        same_tenant: matches!(view.as_ref().map(|v| &v.identity), Some(Identity::Same(_))),
        any_ad_connector,
        any_connector_on: !connectors_on.is_empty(),
        // The feature without directory sync does nothing (PHS012).
        org_sync: tenant
            .and_then(|t| t.organization.as_ref())
            .filter(|o| o.unreadable(SYNC_ENABLED).is_none())
            .map(|o| o.on_premises_sync_enabled),
    };
    let outcome = decide(&said, unread);
    let (status, message) = outcome.words();
    let mut d = RULE.finding(status, Scope::tenant(), message);
    if outcome.needs_fix(status) {
        d = d.fix(WIZARD_FIX, &[]);
    }
    for (label, value) in evidence {
        d = d.evidence(&label, value);
    }
    // Graph's facts go through the tenant view (read time, tenant match).
    match (&view, from_graph.is_some() || no_directory_sync) {
        (Some(v), true) => vec![v.judged(cx, d).done()],
        (Some(v), false) => vec![v.judged_without_graph(d).done()],
        (None, _) => vec![d.done()],
    }
}

/// What the tenant (Graph), the sync server's cached view of it and the
/// server's connectors say, as [`decide`] needs it.
struct Said<'a> {
    graph: Option<bool>,
    server: Option<bool>,
    /// Graph says the tenant has no onPremisesSynchronization at all.
    no_directory_sync: bool,
    /// Why Graph gave no answer.
    graph_problem: Option<&'a str>,
    /// The tenant asked is the one the server writes to.
    same_tenant: bool,
    any_ad_connector: bool,
    /// Some AD connector has password hash sync enabled.
    any_connector_on: bool,
    /// The organization's onPremisesSyncEnabled, when it was read.
    org_sync: Option<Option<bool>>,
}

/// The live tenant first; the sync server's cached view second. `unread`
/// says why neither answered.
fn decide(said: &Said, unread: impl FnOnce() -> Option<String>) -> TenantPhs {
    if said.no_directory_sync {
        return TenantPhs::NoDirectorySync {
            server_enabled: said.server == Some(true) || said.any_connector_on,
            same_tenant: said.same_tenant,
        };
    }
    let (enabled, source) = match (said.graph, said.server) {
        (Some(v), _) => (v, Source::Graph),
        (None, Some(v)) => (v, Source::Server),
        (None, None) => {
            return match unread() {
                Some(problem) => TenantPhs::Unread { problem },
                None => TenantPhs::NotSupplied,
            }
        }
    };
    let read = Read {
        source,
        graph_unasked: if said.graph.is_none() { said.graph_problem.map(str::to_owned) } else { None },
        stale_server_view: match (said.graph, said.server) {
            (Some(graph), Some(server)) if graph != server => Some(Stale { server, graph }),
            _ => None,
        },
    };
    if enabled {
        TenantPhs::Enabled {
            no_connector_on: said.any_ad_connector && !said.any_connector_on,
            org_sync: said.org_sync.filter(|v| *v != Some(true)).map(|v| match v {
                Some(_) => OrgSync::Off,
                None => OrgSync::Never,
            }),
            read,
        }
    } else {
        TenantPhs::Disabled { connectors_on: said.any_connector_on, read }
    }
}

/// What PHS001 decides, before [`TenantPhs::words`] puts it in words.
#[derive(Debug, PartialEq)]
enum TenantPhs {
    /// Graph says the tenant has no directory synchronization at all;
    /// `server_enabled`: the server has password hash sync on.
    NoDirectorySync { server_enabled: bool, same_tenant: bool },
    /// Neither source answered, and this is why.
    Unread { problem: String },
    /// Neither source was supplied.
    NotSupplied,
    /// The feature is on; `no_connector_on`: the server has AD connectors
    /// but none with it; `org_sync`: the organization's directory sync is not on.
    Enabled { no_connector_on: bool, org_sync: Option<OrgSync>, read: Read },
    /// The feature is off; `connectors_on`: the server's connectors have it.
    Disabled { connectors_on: bool, read: Read },
}

/// Where the answer came from, and what the other source adds.
#[derive(Debug, PartialEq)]
struct Read {
    source: Source,
    /// Graph could not be asked (the answer is the server's view): why.
    graph_unasked: Option<String>,
    /// The server's cached view and the live tenant disagree.
    stale_server_view: Option<Stale>,
}

#[derive(Debug, PartialEq)]
enum Source {
    Graph,
    Server,
}

#[derive(Debug, PartialEq)]
struct Stale {
    server: bool,
    graph: bool,
}

/// The organization's directory synchronization, when it is not on.
#[derive(Debug, PartialEq)]
enum OrgSync {
    /// onPremisesSyncEnabled false.
    Off,
    /// onPremisesSyncEnabled null: never on.
    Never,
}

impl TenantPhs {
    fn words(&self) -> (Status, String) {
        match self {
            TenantPhs::NoDirectorySync { server_enabled, same_tenant } => {
                let mut message = "Microsoft Graph says the tenant has no directory synchronization (onPremisesSynchronization is empty), so it has no password hash synchronization either.".to_owned();
                if *server_enabled {
                    message.push_str(" The sync server has it enabled: the tenant and the server disagree.");
                }
                if !same_tenant {
                    message.push_str(" Either directory synchronization was never activated for this tenant, or the tenant asked is not the one the server writes to (compare the organization with the Entra connector account).");
                }
                (Status::Fail, message)
            }
            TenantPhs::Unread { problem } => {
                (Status::Error, format!("Could not read the tenant's password hash sync feature: {problem}"))
            }
            TenantPhs::NotSupplied => (
                Status::Skipped,
                "No tenant evidence: configure [graph] in your own config (--trust-config) for the live tenant, or supply --company-features (Get-ADSyncAADCompanyFeature | ConvertTo-Json).".to_owned(),
            ),
            TenantPhs::Enabled { no_connector_on, org_sync, read } => {
                let mut message =
                    format!("Password hash synchronization is enabled for the tenant (according to {}).", read.source.words());
                let mut status = Status::Pass;
                if *no_connector_on {
                    status = Status::Warn;
                    message.push_str(
                        " But no AD connector of the sync server has it enabled: the tenant and the server disagree.",
                    );
                }
                if let Some(org_sync) = org_sync {
                    status = status.max(Status::Warn);
                    message.push_str(match org_sync {
                        OrgSync::Off => " But the organization's directory synchronization is turned off (onPremisesSyncEnabled false, see PHS012): the feature has no effect.",
                        OrgSync::Never => " But the organization has never had directory synchronization (onPremisesSyncEnabled null, see PHS012): the feature has no effect, or the tenant asked is not the one the server writes to.",
                    });
                }
                read.add_words(status, message)
            }
            TenantPhs::Disabled { connectors_on, read } => {
                let mut message = format!(
                    "Password hash synchronization is disabled for the tenant (according to {}); Entra ID rejects the hashes the server sends.",
                    read.source.words()
                );
                if *connectors_on {
                    message.push_str(" The sync server's connectors have it enabled: the tenant and the server disagree.");
                }
                read.add_words(Status::Fail, message)
            }
        }
    }

    /// The wizard fixes every verdict on the feature but a pass.
    fn needs_fix(&self, status: Status) -> bool {
        match self {
            TenantPhs::NoDirectorySync { .. } => true,
            TenantPhs::Unread { .. } | TenantPhs::NotSupplied => false,
            TenantPhs::Enabled { .. } | TenantPhs::Disabled { .. } => status != Status::Pass,
        }
    }
}

impl Source {
    fn words(&self) -> &'static str {
        match self {
            Source::Graph => "Microsoft Graph",
            Source::Server => "the sync server's company features",
        }
    }
}

impl Read {
    /// The message with what the other source adds, and the status that follows.
    fn add_words(&self, mut status: Status, mut message: String) -> (Status, String) {
        if let Some(p) = &self.graph_unasked {
            message.push_str(&format!(" The live tenant could not be asked (Microsoft Graph: {p})."));
        }
        if let Some(Stale { server, graph }) = &self.stale_server_view {
            status = status.max(Status::Warn);
            message.push_str(&format!(
                " The sync server's own view (Get-ADSyncAADCompanyFeature) says {server}, the live tenant {graph}: the server's view is stale, or the tenant asked is not the one the server writes to."
            ));
        }
        (status, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    /// Graph's and the server's answers, the tenant matched, connectors on,
    /// the organization's directory sync on: change what a test is about.
    fn said(graph: Option<bool>, server: Option<bool>) -> Said<'static> {
        Said {
            graph,
            server,
            no_directory_sync: false,
            graph_problem: None,
            same_tenant: true,
            any_ad_connector: true,
            any_connector_on: true,
            org_sync: Some(Some(true)),
        }
    }

    #[test]
    fn pass_when_enabled() {
        let mut s = snapshot();
        s.server.company_features = Some(features(true));
        assert_eq!(statuses(&run(&s, check)), [Status::Pass]);
    }

    #[test]
    fn fail_when_disabled_and_says_the_server_disagrees() {
        let mut s = snapshot_with_export();
        s.server.company_features = Some(features(false));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        let read = Read { source: Source::Server, graph_unasked: None, stale_server_view: None };
        assert_eq!(decide(&said(None, Some(false)), || None), TenantPhs::Disabled { connectors_on: true, read });
        assert!(f[0].remediation.is_some());
    }

    #[test]
    fn graph_first_and_it_says_so() {
        let mut s = snapshot_with_export();
        s.tenant = Some(tenant(true, Some(10), Some(5)));
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Pass]);
        let read = Read { source: Source::Graph, graph_unasked: None, stale_server_view: None };
        assert_eq!(
            decide(&said(Some(true), Some(true)), || None),
            TenantPhs::Enabled { no_connector_on: false, org_sync: None, read }
        );
    }

    #[test]
    fn tenant_on_but_no_connector_on_warns() {
        let mut s = snapshot_with_export();
        for c in &mut s.server.config.as_mut().unwrap().connectors {
            if let Some(ad) = c.ad.as_mut() {
                ad.phs.as_mut().unwrap().enabled = false;
            }
        }
        s.tenant = Some(tenant(true, Some(10), Some(5)));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].remediation.is_some());
        let off = Said { any_connector_on: false, ..said(Some(true), None) };
        assert!(matches!(decide(&off, || None), TenantPhs::Enabled { no_connector_on: true, .. }));
    }

    #[test]
    fn stale_server_view_is_flagged_and_graph_wins() {
        let mut s = snapshot_with_export();
        s.tenant = Some(tenant(false, Some(10), None));
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        let read = Read {
            source: Source::Graph,
            graph_unasked: None,
            stale_server_view: Some(Stale { server: true, graph: false }),
        };
        assert_eq!(decide(&said(Some(false), Some(true)), || None), TenantPhs::Disabled { connectors_on: true, read });
    }

    #[test]
    fn graph_failure_falls_back_to_the_server_view() {
        let mut s = snapshot_with_export();
        let mut t = tenant(true, None, None);
        t.sync = None;
        t.sync_error = Some("403: needs OnPremDirectorySynchronization.Read.All".into());
        s.tenant = Some(t.clone());
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(f[0].message.contains("sync server"));
        assert!(f[0].message.contains("could not be asked"), "{}", f[0].message);
        assert!(f[0].evidence.iter().any(|e| e.value.contains("OnPremDirectorySynchronization.Read.All")));
        s.server.company_features = None;
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("Microsoft Graph: 403"));
    }

    #[test]
    fn graph_saying_the_tenant_has_no_directory_sync_is_never_a_pass() {
        let no_sync = || {
            let mut t = tenant(true, Some(10), Some(5));
            t.sync = None;
            t.no_directory_sync = true;
            t
        };
        // With the server's own view saying enabled, with connectors on, and
        // without either: a failure each time, never the server's pass.
        let mut s = snapshot_with_export();
        s.tenant = Some(no_sync());
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(
            f[0].message.contains("no directory synchronization") && f[0].message.contains("disagree"),
            "{}",
            f[0].message
        );
        assert!(!f[0].message.contains("or the tenant asked"), "the tenant matched the export: {}", f[0].message);
        let mut s = snapshot();
        s.tenant = Some(no_sync());
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("or the tenant asked is not the one the server writes to"), "{}", f[0].message);
        assert!(f[0].evidence.iter().any(|e| e.value.contains("no onPremisesSynchronization object")));
    }

    #[test]
    fn tenant_and_server_disagreeing_is_not_a_pass() {
        // Graph on, the server's cached view off.
        let mut s = snapshot_with_export();
        s.tenant = Some(tenant(true, Some(10), Some(5)));
        s.server.company_features = Some(features(false));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("stale") && f[0].remediation.is_some(), "{}", f[0].message);
        // The feature on while the organization's directory sync is off or never on.
        for (value, said) in [(Some(false), "turned off"), (None, "never had directory synchronization")] {
            let mut t = tenant(true, Some(10), Some(5));
            t.organization.as_mut().unwrap().on_premises_sync_enabled = value;
            s.tenant = Some(t);
            s.server.company_features = None;
            let f = run(&s, check);
            assert_eq!(statuses(&f), [Status::Warn], "{value:?}");
            assert!(f[0].message.contains(said) && f[0].message.contains("PHS012"), "{}", f[0].message);
        }
    }

    #[test]
    fn graph_answering_without_the_feature_is_an_error_not_a_skip() {
        let mut t = tenant(true, Some(10), Some(5));
        t.sync.as_mut().unwrap().password_sync_enabled = None;
        let mut s = snapshot_with_export();
        s.tenant = Some(t);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("has no passwordSyncEnabled feature"), "{}", f[0].message);
        // The server's view still answers, and the gap is said.
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(
            f[0].message.contains("could not be asked") && f[0].message.contains("passwordSyncEnabled"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn the_server_view_does_not_pass_when_graph_was_pointed_at_another_tenant() {
        let mut s = snapshot_with_export();
        let mut t = tenant(true, Some(10), Some(5));
        t.sync = None;
        t.sync_error = Some("403: needs OnPremDirectorySynchronization.Read.All".into());
        t.organization.as_mut().unwrap().verified_domains = vec!["contoso.onmicrosoft.com".into()];
        s.tenant = Some(t.clone());
        s.server.company_features = Some(features(true));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(
            f[0].message.starts_with("The tenant asked is not the tenant this sync server writes to"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("according to the sync server's company features"), "{}", f[0].message);
        // Read far from the evaluation time, the server's own view still stands.
        t.organization.as_mut().unwrap().verified_domains = vec!["fabrikam.onmicrosoft.com".into()];
        t.read_at = Some(now() - jiff::SignedDuration::from_hours(72));
        s.tenant = Some(t);
        assert_eq!(statuses(&run(&s, check)), [Status::Pass]);
    }

    #[test]
    fn graph_on_but_the_organization_unread_cannot_be_matched_to_the_server() {
        let mut t = tenant(true, Some(10), Some(5));
        t.organization = None;
        t.organization_error = Some("HTTP 403 Authorization_RequestDenied: needs Organization.Read.All".into());
        let mut s = snapshot_with_export();
        s.tenant = Some(t.clone());
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("is unknown: the organization could not be read (HTTP 403"), "{}", f[0].message);
        // Graph alone, nothing to match: the feature is judged.
        let mut s = snapshot();
        s.tenant = Some(t);
        assert_eq!(statuses(&run(&s, check)), [Status::Pass]);
    }

    #[test]
    fn a_tenant_read_far_from_the_evaluation_time_does_not_pass() {
        let mut s = snapshot_with_export();
        let mut t = tenant(true, Some(10), Some(5));
        t.read_at = Some(now() + jiff::SignedDuration::from_hours(8 * 24));
        s.tenant = Some(t);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("8 days after the evaluation time"), "{}", f[0].message);
        assert!(f[0].message.contains("As read: Password hash synchronization is enabled"), "{}", f[0].message);
    }

    #[test]
    fn skipped_without_evidence_and_error_when_unreadable() {
        let mut s = snapshot();
        assert_eq!(statuses(&run(&s, check)), [Status::Skipped]);
        s.problems.push(problem(SourceKind::CompanyFeatures, "features.json", "line 1 column 3: expected value"));
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Error]);
        assert!(f[0].message.contains("expected value"));
    }
}

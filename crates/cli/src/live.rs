//! The live checks, Active Directory and the tenant, run together in one
//! runtime while a terminal shows a progress line per domain and one for the
//! tenant. Their secrets are read first, so prompts never fight the display.

use crate::config::ad::AdSection;
use crate::config::graph::GraphSection;
use crate::graph::CredentialPlan;
use crate::progress::Progress;
use indicatif::ProgressBar;
use phs_model::{CollectionProblem, IdentityKind, Snapshot, SourceKind, UserQuery};
use phs_sources::graph::CloudUserKeys;
use phs_sources::graph::Credential;
use phs_sources::graph::GraphOptions;
use phs_sources::secret::{scrub, scrub_value, Secret};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::IsTerminal;
use std::sync::Arc;

pub fn run(snap: &mut Snapshot, ad: Option<&AdSection>, graph: Option<&GraphSection>, user: Option<&UserQuery>) {
    // Everything that can fail before the network (config, secrets, prompts).
    // Group-based filtering decides scope by membership: only then is the
    // user's memberOf worth reading.
    let want_member_of = snap.server.config.as_ref().is_some_and(|c| c.filters_by_group());
    let ad_job = ad.and_then(|ad| match &snap.server.config {
        Some(cfg) => match crate::ad::prepare(cfg, ad) {
            Ok(p) => Some(p),
            Err(e) => {
                snap.problems.push(CollectionProblem::whole(SourceKind::ActiveDirectory, "[ad]", format!("{e:#}")));
                None
            }
        },
        None => {
            snap.problems.push(CollectionProblem::whole(
                SourceKind::ActiveDirectory,
                "[ad]",
                "the Active Directory checks need the configuration export (--server-config) to know the connectors and domains",
            ));
            None
        }
    });
    let graph_job = graph.and_then(|g| match crate::graph::credential(g).and_then(|c| Ok((c, g.options()?))) {
        Ok(job) => {
            if matches!(job.0.credential, phs_sources::graph::Credential::DeviceCode { .. })
                && !std::io::stdin().is_terminal()
            {
                // Monitoring runs have nobody to type the code: say why this waits.
                eprintln!(
                    "phs-doctor: the device code flow waits for a person to sign in (up to 15 minutes); unattended runs \
                     want flow = \"client-secret\" or \"client-certificate\"."
                );
            }
            Some(job)
        }
        Err(e) => {
            snap.problems.push(CollectionProblem::whole(SourceKind::Graph, "[graph]", format!("{e:#}")));
            None
        }
    });
    if ad_job.is_none() && graph_job.is_none() {
        return;
    }
    say_where_credentials_go(ad_job.as_ref(), graph_job.as_ref());
    // Every secret read for the checks, to cut out of the snapshot at the end.
    let mut passwords: Vec<Arc<Secret>> =
        ad_job.iter().flat_map(|p| &p.work).filter_map(|(_, secret)| secret.clone()).collect();
    passwords.dedup_by(|a, b| Arc::ptr_eq(a, b));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            let error = format!("cannot start the async runtime: {e}");
            if ad_job.is_some() {
                snap.problems.push(CollectionProblem::whole(SourceKind::ActiveDirectory, "runtime", error.clone()));
            }
            if graph_job.is_some() {
                snap.problems.push(CollectionProblem::whole(SourceKind::Graph, "runtime", error));
            }
            return;
        }
    };

    let progress = Progress::new();
    let domain_lines: Vec<((String, String), ProgressBar)> = ad_job
        .iter()
        .flat_map(|p| &p.work)
        .map(|(t, _)| {
            let line =
                progress.line(&format!("Domain {}", t.domain), "locating DCs, probing ports, binding, reading rights");
            ((t.connector.clone(), t.domain.clone()), line)
        })
        .collect();
    let tenant_line = graph_job.as_ref().map(|(plan, _)| {
        progress.line(&format!("Microsoft Entra ID {}", plan.credential.tenant()), "signing in and reading the tenant")
    });
    let on_domain = |facts: &phs_model::DomainFacts| {
        let key = (facts.connector.clone(), facts.domain.clone());
        if let Some((_, line)) = domain_lines.iter().find(|(k, _)| *k == key) {
            line.finish_with_message(match &facts.not_checked {
                Some(why) => format!("not checked: {}", phs_report::neutral::line(why)),
                None => "done".to_owned(),
            });
        }
    };
    let shown = progress.bars.clone();
    // The device code text comes from the sign-in server: shown, not obeyed.
    let on_prompt = move |message: &str| shown.suspend(|| eprintln!("{}", phs_report::neutral::line(message)));
    let (ad_facts, tenant, cloud_user) = runtime.block_on(async {
        let ad_fut = async {
            match ad_job {
                Some(p) => Some(p.run(&on_domain, user, want_member_of).await),
                None => None,
            }
        };
        // One sign-in serves the tenant read and, after AD answered, the
        // user lookup (a device code flow prompts once).
        let graph_fut = async {
            let (plan, opts) = graph_job.as_ref()?;
            let (session, facts) = match phs_sources::graph::sign_in(&plan.credential, opts, &on_prompt).await {
                Ok(session) => {
                    let facts = session.read_tenant().await;
                    (Some(session), facts)
                }
                Err(facts) => (None, facts),
            };
            if let Some(line) = &tenant_line {
                line.finish_with_message(match &facts.sign_in_error {
                    Some(_) => "sign-in failed",
                    None => "done",
                });
            }
            Some((session, facts))
        };
        let (ad, graph) = tokio::join!(ad_fut, graph_fut);
        let ad_user = ad.as_ref().and_then(|(_, u)| u.as_ref());
        let cloud_user = match (user, &graph) {
            (Some(q), Some((Some(session), _))) => Some(session.find_user(&cloud_keys(q, ad_user)).await),
            (Some(_), Some((None, facts))) => Some(phs_model::CloudUserLookup {
                error: Some(format!(
                    "the sign-in failed: {}",
                    facts.sign_in_error.as_deref().unwrap_or("no cause given")
                )),
                ..Default::default()
            }),
            _ => None,
        };
        (ad, graph.map(|(_, facts)| facts), cloud_user)
    });
    // The report follows on stdout; the progress lines were only for the wait.
    let _ = progress.bars.clear();
    let (ad_facts, ad_user) = match ad_facts {
        Some((facts, user)) => (Some(facts), user),
        None => (None, None),
    };
    snap.ad = ad_facts;
    if let Some(query) = user {
        snap.user = Some(phs_model::UserEvidence { query: query.clone(), ad: ad_user, cloud: cloud_user });
    }
    snap.tenant = tenant;
    let mut secrets: Vec<&Secret> = passwords.iter().map(|s| &**s).collect();
    match graph_job.as_ref().map(|(plan, _)| &plan.credential) {
        Some(Credential::ClientSecret { secret, .. }) => secrets.push(secret),
        Some(Credential::ClientCertificate { private_key_pem, .. }) => secrets.push(private_key_pem),
        _ => {}
    }
    scrub_snapshot(snap, &secrets);
}

/// What the tenant is asked by: the AD object's anchors (the consistency
/// GUID and the objectGUID may differ), UPN and sAMAccountName when AD found
/// exactly one, else what the identity itself gives.
fn cloud_keys(query: &UserQuery, ad: Option<&phs_model::AdUserLookup>) -> CloudUserKeys {
    let mut keys = CloudUserKeys::default();
    if let Some([u]) = ad.map(|l| l.found.as_slice()) {
        keys.immutable_ids =
            [u.consistency_guid.clone(), u.object_guid_anchor()].into_iter().flatten().map(|a| a.to_base64()).collect();
        keys.upn = u.user_principal_name.clone();
        keys.on_premises_sam = u.sam_account_name.clone().map(|s| (u.domain.clone(), s));
        return keys;
    }
    match &query.kind {
        IdentityKind::Anchor { anchor } => keys.immutable_ids.push(anchor.to_base64()),
        IdentityKind::ObjectGuid { guid } => {
            keys.immutable_ids.push(phs_model::SourceAnchor::from_guid(guid).to_base64())
        }
        IdentityKind::Upn { upn } => keys.upn = Some(upn.clone()),
        IdentityKind::DownLevel { domain, name } => keys.on_premises_sam = Some((domain.clone(), name.clone())),
        IdentityKind::SamAccountName { name } => {
            keys.on_premises_sam = query.connector.clone().map(|c| (c, name.clone()));
        }
        IdentityKind::Dn { .. } => {}
    }
    keys
}

/// Last line of defence: no secret read for the live checks (a connector
/// password, the client secret or key), whatever its length, is left in
/// any text of the snapshot, which is what every report and `collect`
/// write. A server, or an evidence file, may quote one. A part that cannot
/// be scrubbed without breaking it (a very short secret inside a
/// timestamp, say) is dropped, and the problem says so.
fn scrub_snapshot(snap: &mut Snapshot, secrets: &[&Secret]) {
    if secrets.is_empty() {
        return;
    }
    let mut dropped = Vec::new();
    if !scrub_part(&mut snap.server, secrets) {
        snap.server = Default::default();
        dropped.push((SourceKind::ServerConfig, "the sync server's evidence"));
    }
    if !scrub_part(&mut snap.ad, secrets) {
        snap.ad = None;
        dropped.push((SourceKind::ActiveDirectory, "the Active Directory facts"));
    }
    if !scrub_part(&mut snap.tenant, secrets) {
        snap.tenant = None;
        dropped.push((SourceKind::Graph, "the tenant facts"));
    }
    for p in &mut snap.problems {
        p.location = scrub(&p.location, secrets).into_owned();
        p.error = scrub(&p.error, secrets).into_owned();
    }
    for (source, what) in dropped {
        snap.problems.push(CollectionProblem::whole(
            source,
            "secrets",
            format!("{what} were dropped: a secret read for the live checks occurs in them and could not be cut out without breaking them"),
        ));
    }
}

/// Scrubs `part` in place; false when it does not survive the scrubbing.
fn scrub_part<T: Serialize + DeserializeOwned>(part: &mut T, secrets: &[&Secret]) -> bool {
    match scrub_value(part, secrets) {
        Ok(clean) => {
            *part = clean;
            true
        }
        Err(_) => false,
    }
}

/// Before any bind or sign-in: which host receives which credential, so an
/// analyst sees it before it happens (and a log of the run keeps it).
fn say_where_credentials_go(ad: Option<&crate::ad::Prepared>, graph: Option<&(CredentialPlan, GraphOptions)>) {
    for line in ad.iter().flat_map(|p| &p.destinations) {
        eprintln!("phs-doctor: {}", phs_report::neutral::line(line));
    }
    if let Some((plan, opts)) = graph {
        eprintln!(
            "phs-doctor: {} for tenant {} goes to {}; the access token then goes to {}",
            phs_report::neutral::line(&plan.sends),
            phs_report::neutral::line(plan.credential.tenant()),
            phs_report::neutral::line(&opts.authority),
            phs_report::neutral::line(&opts.graph_url),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phs_model::graph::{Organization, TenantFacts};

    fn snapshot_quoting(secret: &str) -> Snapshot {
        let mut snap = Snapshot::new("2026-11-25T12:00:00Z".parse().unwrap());
        snap.problems.push(CollectionProblem::whole(
            SourceKind::ActiveDirectory,
            format!("[ad] {secret}"),
            format!("the DC said: bad password '{secret}'"),
        ));
        snap.tenant = Some(TenantFacts {
            tenant: "contoso.onmicrosoft.com".into(),
            flow: "client-secret".into(),
            sign_in_error: Some(format!("AADSTS7000215: Invalid client secret provided: {secret}")),
            organization: Some(Organization {
                on_premises_last_sync: Some("2024-05-01T10:00:00Z".parse().unwrap()),
                ..Organization::default()
            }),
            ..TenantFacts::default()
        });
        snap
    }

    #[test]
    fn short_and_long_secrets_leave_the_snapshot() {
        for secret in ["pw", "S3c!", "Lab-Passw0rd-long-enough-for-anyone"] {
            let mut snap = snapshot_quoting(secret);
            let s = Secret::new(secret.to_owned());
            scrub_snapshot(&mut snap, &[&s]);
            let text = serde_json::to_string(&snap).unwrap();
            assert!(!text.contains(secret), "{secret}: {text}");
            assert_eq!(snap.problems[0].error, "the DC said: bad password '***'");
            let tenant = snap.tenant.as_ref().expect("the tenant facts are kept");
            assert!(tenant.sign_in_error.as_deref().unwrap().ends_with("provided: ***"));
            assert!(tenant.organization.as_ref().unwrap().on_premises_last_sync.is_some());
        }
    }

    #[test]
    fn a_part_that_breaks_when_scrubbed_is_dropped_and_said() {
        // "10:0" is in the last sync time: cutting it out leaves no timestamp.
        let mut snap = snapshot_quoting("10:0");
        scrub_snapshot(&mut snap, &[&Secret::new("10:0".into())]);
        assert_eq!(snap.tenant, None);
        let last = snap.problems.last().unwrap();
        assert!(last.error.starts_with("the tenant facts were dropped: a secret"), "{}", last.error);
        assert!(!serde_json::to_string(&snap).unwrap().contains("10:0"));
    }
}

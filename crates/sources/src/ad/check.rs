//! One domain, end to end, the way the sync server would reach it: locate
//! the DCs, then probe them and talk LDAP to the first that answers (see
//! [`super::select`]). Every domain of every forest runs in parallel under an
//! overall deadline, so one dead DC never stalls the run; the domains of one
//! connector share their credential's [`BindGate`].

use super::bind_gate::{BindGate, BindGates};
use super::select::{domain_deadline, select};
use super::{locate, AdOptions, DomainTarget, Secret};
use phs_model::{AdEvidence, DomainFacts};
use std::sync::Arc;
use std::time::Instant;

/// Checks one domain. `secret` None means no password source was configured:
/// reachability is still checked, the bind is not tried. `gate` is the
/// credential's: a refusal in another domain of the run stops the bind here.
pub async fn check_domain(
    target: &DomainTarget,
    secret: Option<&Secret>,
    opts: &AdOptions,
    gate: &BindGate,
) -> DomainFacts {
    let deadline = Instant::now() + domain_deadline(opts);
    let (mut locator, candidates) = locate::locate(target, opts).await;
    let chosen = select(target, candidates, secret, opts, gate, deadline).await;
    locator.not_probed.extend(chosen.not_probed);
    DomainFacts {
        connector: target.connector.clone(),
        domain: target.domain.clone(),
        partition_dn: target.partition_dn.clone(),
        account: target.bind_identity(),
        locator,
        dcs: chosen.dcs,
        ldap: chosen.ldap,
        not_checked: None,
        ldap_skipped: chosen.skipped,
    }
}

/// Checks every domain in parallel. Each domain gets an overall deadline
/// derived from the step timeouts; a domain that overruns it is reported as
/// not checked, with that reason, and the others are unaffected. `on_done`
/// hears of each domain as it finishes (a progress display).
pub async fn check_all(
    targets: Vec<(DomainTarget, Option<Arc<Secret>>)>,
    opts: &AdOptions,
    on_done: &(dyn Fn(&DomainFacts) + Send + Sync),
) -> AdEvidence {
    let deadline = domain_deadline(opts);
    let mut gates = BindGates::default();
    let mut set = tokio::task::JoinSet::new();
    for (i, (target, secret)) in targets.iter().cloned().enumerate() {
        let opts = opts.clone();
        let gate = gates.gate(&target.connector, &target.bind_identity());
        set.spawn(async move {
            // The inner deadline lets a domain stop trying DCs in time; this
            // one bounds everything else.
            let facts = tokio::time::timeout(deadline, check_domain(&target, secret.as_deref(), &opts, &gate)).await;
            (i, facts)
        });
    }
    let mut slots: Vec<Option<DomainFacts>> = vec![None; targets.len()];
    while let Some(joined) = set.join_next().await {
        let finished = match joined {
            Ok((i, Ok(facts))) => Some((i, facts)),
            Ok((i, Err(_))) => Some((
                i,
                not_checked(&targets[i].0, format!("the checks did not finish within {} s", deadline.as_secs())),
            )),
            // A panicking task is a bug; the slot stays None and is filled below.
            Err(_) => None,
        };
        if let Some((i, facts)) = finished {
            on_done(&facts);
            slots[i] = Some(facts);
        }
    }
    let domains = slots
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            f.unwrap_or_else(|| not_checked(&targets[i].0, "the check of this domain failed unexpectedly".into()))
        })
        .collect();
    AdEvidence { domains }
}

pub fn not_checked(target: &DomainTarget, why: String) -> DomainFacts {
    DomainFacts {
        connector: target.connector.clone(),
        domain: target.domain.clone(),
        partition_dn: target.partition_dn.clone(),
        account: target.bind_identity(),
        not_checked: Some(why),
        ..Default::default()
    }
}

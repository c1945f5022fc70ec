//! One domain, end to end, the way the sync server would reach it: locate
//! the DCs, probe each in parallel, then talk LDAP to the first that answers.
//! Every domain of every forest runs in parallel under an overall deadline, so
//! one dead DC never stalls the run.

use super::{epm, ldap, locate, tcp, AdOptions, DomainTarget, Secret};
use phs_model::{AdEvidence, BindFacts, DcFacts, DomainFacts, LdapFacts};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Checks one domain. `secret` None means no password source was configured:
/// reachability is still checked, the bind is not tried.
pub async fn check_domain(target: &DomainTarget, secret: Option<&Secret>, opts: &AdOptions) -> DomainFacts {
    let (locator, candidates) = locate::locate(target, opts).await;
    // Every DC is probed at the same time; results keep the locator's order.
    let mut set = tokio::task::JoinSet::new();
    for (i, c) in candidates.into_iter().enumerate() {
        let opts = opts.clone();
        set.spawn(async move { (i, probe_dc(c, &opts).await) });
    }
    let mut probed: Vec<(usize, (DcFacts, Option<IpAddr>))> = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(done) = joined {
            probed.push(done);
        }
    }
    probed.sort_by_key(|(i, _)| *i);
    let probed: Vec<(DcFacts, Option<IpAddr>)> = probed.into_iter().map(|(_, p)| p).collect();

    // LDAP on the first DC, in locator order, that answers on 389 or 636.
    let ldap_dc = probed.iter().find_map(|(dc, addr)| {
        let open: Vec<u16> =
            dc.ports.iter().filter(|p| p.open && (p.port == 389 || p.port == 636)).map(|p| p.port).collect();
        let addr = (*addr)?;
        (!open.is_empty()).then(|| (dc.host.clone(), addr, open))
    });
    let ldap = match ldap_dc {
        None => None,
        Some((host, addr, open)) => Some(match secret {
            Some(secret) => {
                let mut facts = ldap::inspect_account(target, &host, addr, secret, opts, &open).await;
                // Reachability needs the rootDSE even when TLS or the bind
                // failed: read it anonymously then.
                if facts.root_dse.is_none() {
                    match ldap::read_root_dse(&host, addr, opts).await {
                        Ok(r) => facts.root_dse = Some(r),
                        Err(e) => facts.root_dse_error = Some(e),
                    }
                }
                facts
            }
            None => {
                let root = ldap::read_root_dse(&host, addr, opts).await;
                LdapFacts {
                    dc: format!("{host} ({addr})"),
                    root_dse_error: root.as_ref().err().cloned(),
                    root_dse: root.ok(),
                    bind: BindFacts {
                        identity: target.bind_identity(),
                        error: Some(
                            "no password source is configured for this connector, so the bind was not tried".into(),
                        ),
                        ..Default::default()
                    },
                    ..Default::default()
                }
            }
        }),
    };
    DomainFacts {
        connector: target.connector.clone(),
        domain: target.domain.clone(),
        partition_dn: target.partition_dn.clone(),
        account: target.bind_identity(),
        locator,
        dcs: probed.into_iter().map(|(dc, _)| dc).collect(),
        ldap,
        not_checked: None,
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
    let mut set = tokio::task::JoinSet::new();
    for (i, (target, secret)) in targets.iter().cloned().enumerate() {
        let opts = opts.clone();
        set.spawn(async move {
            let facts = tokio::time::timeout(deadline, check_domain(&target, secret.as_deref(), &opts)).await;
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

/// Location, probes and LDAP each run their own timeouts; this bounds the sum.
fn domain_deadline(opts: &AdOptions) -> Duration {
    opts.connect_timeout * 4 + opts.operation_timeout * 8
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

/// Ports, then the DRSUAPI path when the endpoint mapper's port is open.
async fn probe_dc(c: locate::DcCandidate, opts: &AdOptions) -> (DcFacts, Option<IpAddr>) {
    let mut dc = DcFacts {
        host: c.host.clone(),
        addresses: c.addresses.iter().map(ToString::to_string).collect(),
        resolve_error: c.resolve_error.clone(),
        ports: Vec::new(),
        rpc: None,
    };
    // The first address is the one a client would use.
    let addr = c.addresses.first().copied();
    if let Some(addr) = addr {
        dc.ports = tcp::probe_ports(&c.host, addr, tcp::PHS_PORTS, opts.connect_timeout).await;
        if dc.port(epm::EPM_PORT).is_some_and(|p| p.open) {
            dc.rpc = Some(epm::probe_drsuapi(addr, opts.connect_timeout.max(opts.operation_timeout)).await);
        }
    }
    (dc, addr)
}

//! Which of a domain's located DCs are probed, and which one the LDAP work
//! (rootDSE, bind, reads) goes to, the way the DC locator picks a DC: the
//! first, in the locator's order, that answers an LDAP ping.
//!
//! 1. One DC listed by name and by address (or by two names of one address)
//!    is one DC: it keeps its first place, the name wins over the address
//!    (certificates carry names), the other spellings are kept as facts.
//! 2. Names that did not resolve are reported and never probed. The others
//!    are probed in rounds, in order, until `max_dcs` of them accept TCP on
//!    389 or 636: a DC that refuses does not use up a slot.
//! 3. Every DC that accepted TCP gets an anonymous rootDSE read at the same
//!    time (the LDAP ping). "Answers LDAP" means that read came back.
//! 4. The bind and the reads go to the first DC that answered; when it then
//!    stops answering (a timeout, a cut connection, during TLS, the bind or
//!    the reads after a good bind), the next one that answered is tried,
//!    while the domain's deadline leaves room. A DC that
//!    answers with a refusal or an untrusted certificate gives the verdict:
//!    another DC would only hide it (and count one more bad password).

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use phs_model::{BindFacts, DcFacts, DcSkip, LdapFacts, LdapPing};
use tokio::task::JoinSet;

use super::bind_gate::BindGate;
use super::ldap::{self, Reach};
use super::locate::DcCandidate;
use super::tcp::millis;
use super::{epm, tcp, AdOptions, DomainTarget, Secret};

/// Rounds of TCP probes before giving up on filling `max_dcs`: each takes
/// one connect timeout at worst (plus the endpoint mapper's operation
/// timeout), so a list of dead DCs cannot eat the domain's deadline.
const PROBE_ROUNDS: usize = 3;

/// What selection found for one domain.
#[derive(Debug, Default)]
pub struct Selection {
    /// Every DC considered, in the locator's order: unresolved ones with
    /// their resolve error, probed ones with their ports and LDAP ping.
    pub dcs: Vec<DcFacts>,
    /// LDAP facts from the DC used (`LdapFacts::dc`); None when no DC
    /// accepted TCP on an LDAP port or answered the LDAP ping.
    pub ldap: Option<LdapFacts>,
    /// DCs passed over for LDAP, in the order tried, with why.
    pub skipped: Vec<DcSkip>,
    /// Located DCs left unprobed, with why, for `DcLocator::not_probed`.
    pub not_probed: Vec<String>,
}

/// Probe the candidates and do the LDAP work on the DC chosen, all before
/// `deadline` (further DCs are not tried once the time left is shorter than
/// one more attempt could take).
pub async fn select(
    target: &DomainTarget,
    candidates: Vec<DcCandidate>,
    secret: Option<&Secret>,
    opts: &AdOptions,
    gate: &BindGate,
    deadline: Instant,
) -> Selection {
    let merged = merge_same_dc(candidates);
    let cap = opts.max_dcs.max(1);
    let mut out = Selection::default();

    // Slots of `dcs`, in order; probed in rounds.
    let mut slots: Vec<Option<(DcFacts, Option<IpAddr>)>> = vec![None; merged.len()];
    let mut waiting: Vec<usize> = Vec::new();
    for (i, (c, also)) in merged.iter().enumerate() {
        if c.addresses.is_empty() {
            slots[i] = Some((unprobed_facts(c, also), None));
        } else {
            waiting.push(i);
        }
    }
    let mut accepted = 0usize;
    let mut rounds = 0usize;
    let mut next = 0usize;
    while accepted < cap && next < waiting.len() && rounds < PROBE_ROUNDS {
        rounds += 1;
        let batch: Vec<usize> = waiting[next..].iter().copied().take(cap - accepted).collect();
        next += batch.len();
        let mut set = JoinSet::new();
        for &i in &batch {
            let (c, also) = merged[i].clone();
            let opts = opts.clone();
            set.spawn(async move { (i, probe_dc(c, also, &opts).await) });
        }
        while let Some(joined) = set.join_next().await {
            if let Ok((i, probed)) = joined {
                if ldap_ports(&probed.0).next().is_some() {
                    accepted += 1;
                }
                slots[i] = Some(probed);
            }
        }
    }
    for &i in &waiting[next..] {
        let why = if accepted >= cap {
            format!("{} DC(s) already accepted TCP (max_dcs)", cap)
        } else {
            format!("{PROBE_ROUNDS} rounds of probes were used up")
        };
        out.not_probed.push(format!("{} (not probed: {why})", merged[i].0.host));
    }
    let mut probed: Vec<(DcFacts, Option<IpAddr>)> = slots.into_iter().flatten().collect();

    // The LDAP ping, on every DC that accepted TCP, at once.
    let mut set = JoinSet::new();
    for (i, (dc, addr)) in probed.iter().enumerate() {
        let open: Vec<u16> = ldap_ports(dc).collect();
        let (Some(addr), false) = (*addr, open.is_empty()) else { continue };
        let host = dc.host.clone();
        let opts = opts.clone();
        set.spawn(async move {
            let started = Instant::now();
            let (result, transport) = ldap::read_root_dse_via(&host, addr, &opts, &open).await;
            (i, result, transport, millis(started.elapsed()))
        });
    }
    let mut roots = vec![None; probed.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, result, transport, elapsed_ms)) = joined {
            probed[i].0.ldap_ping = Some(LdapPing {
                ok: result.is_ok(),
                transport: transport.to_string(),
                elapsed_ms,
                error: result.as_ref().err().cloned(),
            });
            roots[i] = result.ok();
        }
    }

    // LDAP work on the first DC that answered, moving on while it does not.
    let attempt_budget = opts.connect_timeout * 2 + opts.operation_timeout * 3;
    for (i, (dc, addr)) in probed.iter().enumerate() {
        let (Some(ping), Some(addr)) = (&dc.ldap_ping, *addr) else { continue };
        let label = label(&dc.host, addr);
        if !ping.ok {
            let why = ping.error.clone().unwrap_or_else(|| "no answer".to_string());
            out.skipped.push(DcSkip { dc: label, reason: format!("accepts TCP but did not answer LDAP: {why}") });
            continue;
        }
        if out.ldap.is_some() {
            // The DC that was tried last did not answer; one more needs time.
            if deadline.saturating_duration_since(Instant::now()) < attempt_budget {
                out.skipped.push(DcSkip {
                    dc: label,
                    reason: "not tried: too little of the domain's deadline was left for another DC".to_string(),
                });
                continue;
            }
            if let Some(previous) = out.ldap.take() {
                out.skipped.push(DcSkip { dc: previous.dc.clone(), reason: no_answer_reason(&previous) });
            }
        }
        let open: Vec<u16> = ldap_ports(dc).collect();
        let (mut facts, reach) = match secret {
            Some(secret) => ldap::inspect_account(target, &dc.host, addr, secret, opts, &open, gate).await,
            None => (no_password_facts(target, &label), Reach::Answered),
        };
        if facts.root_dse.is_none() {
            // The ping's rootDSE stands in when the bind's connection could
            // not read it (TLS or the bind failed): same DC, same data.
            facts.root_dse = roots[i].clone();
            if facts.root_dse.is_some() {
                facts.root_dse_error = None;
            }
        }
        out.ldap = Some(facts);
        if reach == Reach::Answered {
            break;
        }
    }
    out.dcs = probed.into_iter().map(|(dc, _)| dc).collect();
    out
}

/// Why the DC that was tried did not do: the first step that got no answer.
fn no_answer_reason(facts: &LdapFacts) -> String {
    let why = [&facts.bind.error, &facts.account_error, &facts.domain_root_sd_error, &facts.root_dse_error]
        .into_iter()
        .flatten()
        .next()
        .cloned()
        .unwrap_or_else(|| "no answer".to_string());
    let after = if facts.bind.ok { " after the bind" } else { "" };
    format!("answered the LDAP ping, then stopped answering{after}: {why}")
}

fn label(host: &str, addr: IpAddr) -> String {
    if host.is_empty() || host == addr.to_string() {
        addr.to_string()
    } else {
        format!("{host} ({addr})")
    }
}

fn no_password_facts(target: &DomainTarget, label: &str) -> LdapFacts {
    LdapFacts {
        dc: label.to_string(),
        bind: BindFacts {
            identity: target.bind_identity(),
            error: Some("no password source is configured for this connector, so the bind was not tried".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// LDAP ports (389, 636) that accepted TCP.
fn ldap_ports(dc: &DcFacts) -> impl Iterator<Item = u16> + '_ {
    dc.ports.iter().filter(|p| p.open && (p.port == 389 || p.port == 636)).map(|p| p.port)
}

/// Candidates that are the same DC (an address in common) become one, at
/// the first one's place; a name is kept over an address literal.
pub fn merge_same_dc(candidates: Vec<DcCandidate>) -> Vec<(DcCandidate, Vec<String>)> {
    let mut out: Vec<(DcCandidate, Vec<String>)> = Vec::new();
    for c in candidates {
        let same = out.iter_mut().find(|(kept, _)| {
            let kept_addrs: HashSet<&IpAddr> = kept.addresses.iter().collect();
            c.addresses.iter().any(|a| kept_addrs.contains(a))
        });
        match same {
            None => out.push((c, Vec::new())),
            Some((kept, also)) => {
                let is_literal = |h: &str| h.parse::<IpAddr>().is_ok();
                if is_literal(&kept.host) && !is_literal(&c.host) {
                    also.push(std::mem::replace(&mut kept.host, c.host));
                } else {
                    also.push(c.host);
                }
                for a in c.addresses {
                    if !kept.addresses.contains(&a) {
                        kept.addresses.push(a);
                    }
                }
            }
        }
    }
    out
}

fn unprobed_facts(c: &DcCandidate, also: &[String]) -> DcFacts {
    DcFacts {
        host: c.host.clone(),
        addresses: c.addresses.iter().map(ToString::to_string).collect(),
        resolve_error: c.resolve_error.clone(),
        also_listed_as: also.to_vec(),
        ..DcFacts::default()
    }
}

/// Ports, then the DRSUAPI path when the endpoint mapper's port is open.
async fn probe_dc(c: DcCandidate, also: Vec<String>, opts: &AdOptions) -> (DcFacts, Option<IpAddr>) {
    let mut dc = unprobed_facts(&c, &also);
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

/// How long one domain may take at most: location, probe rounds, the LDAP
/// ping and a few DCs' LDAP work, each under its own timeouts.
pub fn domain_deadline(opts: &AdOptions) -> Duration {
    opts.connect_timeout * 4 + opts.operation_timeout * 8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(host: &str, addrs: &[&str]) -> DcCandidate {
        DcCandidate {
            host: host.to_string(),
            addresses: addrs.iter().map(|a| a.parse().expect("ip")).collect(),
            resolve_error: addrs.is_empty().then(|| format!("{host}: the name does not exist")),
        }
    }

    #[test]
    fn one_dc_by_name_and_by_address_counts_once() {
        let merged = merge_same_dc(vec![
            cand("10.0.0.1", &["10.0.0.1"]),
            cand("dc2.corp.example", &["10.0.0.2"]),
            cand("dc1.corp.example", &["10.0.0.1"]),
            cand("gone.corp.example", &[]),
            cand("DC1-alias.corp.example", &["10.0.0.9", "10.0.0.1"]),
        ]);
        let hosts: Vec<&str> = merged.iter().map(|(c, _)| c.host.as_str()).collect();
        assert_eq!(hosts, ["dc1.corp.example", "dc2.corp.example", "gone.corp.example"]);
        assert_eq!(merged[0].1, ["10.0.0.1", "DC1-alias.corp.example"]);
        assert_eq!(merged[0].0.addresses.len(), 2, "the alias's other address is kept");
        assert!(merged[1].1.is_empty() && merged[2].1.is_empty());
    }

    #[test]
    fn a_name_listed_first_keeps_its_place_and_name() {
        let merged = merge_same_dc(vec![cand("dc1.corp.example", &["10.0.0.1"]), cand("10.0.0.1", &["10.0.0.1"])]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].0.host, "dc1.corp.example");
        assert_eq!(merged[0].1, ["10.0.0.1"]);
    }
}

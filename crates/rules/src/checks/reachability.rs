use crate::context::Context;
use crate::registry::Rule;
use phs_model::{DcFacts, DomainFacts, Finding, Scope, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS005",
    name: "domain-reachable",
    scope: ScopeKind::Domain,
    title: "Each synced domain is reachable from the sync server",
    doc: "\
## What it checks
For every selected domain partition: its domain controllers are located (the
partition's preferred DCs, DCs named in the config, or DNS SRV
`_ldap._tcp.dc._msdcs.<domain>`), and on each DC the ports password hash sync
needs answer: LDAP 389 (and 636), Kerberos 88, the RPC endpoint mapper 135. The
rootDSE must name the partition as its `defaultNamingContext`. Then the
endpoint mapper is asked for the DRSUAPI interface
(e3514235-4b06-11d1-ab04-00c04fc2dcd2) and its dynamic port is connected to:
that is the path password hash sync itself uses to replicate hashes.

## Why it matters
The agent reads hashes with directory replication (DRSUAPI over RPC). A
firewall that lets LDAP through but blocks port 135 or the dynamic RPC ports
leaves directory synchronization working while password hash sync fails with
\"RPC server is unavailable\". A DNS name that points elsewhere, or preferred DCs
that were decommissioned, stop it too.

## How to fix
Fix DNS for the domain, open TCP 135 and the dynamic RPC range (49152-65535, or
the fixed replication port your DCs use) from the sync server to the DCs, and
list reachable DCs as preferred DCs in Synchronization Service Manager
(Configure Directory Partitions); restart the ADSync service afterwards.

## Evidence
How the DCs were located, every DC with its ports and latencies, the rootDSE
naming context, the DRSUAPI port.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-ports",
    ],
    check,
};

/// LDAP, LDAPS, Kerberos, RPC endpoint mapper.
const LDAP: u16 = 389;
const LDAPS: u16 = 636;
const KERBEROS: u16 = 88;
const EPM: u16 = 135;

/// What one DC offers password hash sync.
#[derive(Debug, PartialEq, Eq)]
enum DcVerdict {
    Usable,
    /// LDAP answers but the replication path is blocked.
    RpcBlocked(String),
    Unreachable(String),
}

fn judge_dc(dc: &DcFacts) -> DcVerdict {
    let open = |p| dc.port(p).is_some_and(|x| x.open);
    if let Some(e) = &dc.resolve_error {
        return DcVerdict::Unreachable(format!("{} does not resolve: {e}", dc.host));
    }
    if !open(LDAP) && !open(LDAPS) {
        let why = dc.port(LDAP).and_then(|p| p.error.clone()).unwrap_or_else(|| "no answer".into());
        return DcVerdict::Unreachable(format!("{}: LDAP closed ({why})", dc.host));
    }
    if !open(EPM) {
        let why = dc.port(EPM).and_then(|p| p.error.clone()).unwrap_or_else(|| "not probed".into());
        return DcVerdict::RpcBlocked(format!("{}: RPC endpoint mapper port 135 closed ({why})", dc.host));
    }
    match &dc.rpc {
        Some(r) if r.endpoint_mapper_ok && r.drsuapi_reachable => DcVerdict::Usable,
        Some(r) => DcVerdict::RpcBlocked(format!(
            "{}: {}",
            dc.host,
            r.error.clone().unwrap_or_else(|| match r.drsuapi_port {
                Some(p) => format!("DRSUAPI port {p} not reachable"),
                None => "the endpoint mapper gave no DRSUAPI port".into(),
            })
        )),
        None => DcVerdict::RpcBlocked(format!("{}: the DRSUAPI path was not probed", dc.host)),
    }
}

fn describe_dc(dc: &DcFacts) -> String {
    let mut parts: Vec<String> = dc
        .ports
        .iter()
        .map(|p| {
            if p.open {
                format!("{} open ({} ms)", p.port, p.elapsed_ms)
            } else {
                format!("{} closed ({})", p.port, p.error.as_deref().unwrap_or("no answer"))
            }
        })
        .collect();
    if let Some(r) = &dc.rpc {
        parts.push(match (r.drsuapi_port, r.drsuapi_reachable) {
            (Some(p), true) => format!("DRSUAPI on {p} reachable ({} ms)", r.elapsed_ms),
            (Some(p), false) => format!("DRSUAPI on {p} NOT reachable"),
            (None, _) => format!("DRSUAPI: {}", r.error.as_deref().unwrap_or("no endpoint")),
        });
    }
    let addr = if dc.addresses.is_empty() { String::new() } else { format!(" [{}]", dc.addresses.join(", ")) };
    format!("{}{addr}: {}", dc.host, parts.join(", "))
}

fn check(cx: &Context) -> Vec<Finding> {
    cx.per_ad_domain(&RULE, judge_domain)
}

fn judge_domain(d: &DomainFacts) -> Finding {
    let scope = Scope::domain(&d.connector, &d.domain);
    let draft = |status, message: String| {
        let mut f = RULE.finding(status, scope.clone(), message).evidence(
            "DC location",
            format!(
                "{} {}{} -> {}",
                d.locator.method,
                d.locator.query,
                d.locator.dns_server.as_ref().map_or(String::new(), |s| format!(" via {s}")),
                if d.locator.candidates.is_empty() { "nothing".into() } else { d.locator.candidates.join(", ") }
            ),
        );
        for dc in &d.dcs {
            f = f.evidence("DC", describe_dc(dc));
        }
        if let Some(ldap) = &d.ldap {
            if let Some(nc) = ldap.root_dse.as_ref().and_then(|r| r.default_naming_context.clone()) {
                f = f.evidence("rootDSE defaultNamingContext", format!("{nc} (from {})", ldap.dc));
            }
        }
        f
    };

    if d.dcs.is_empty() {
        let why = d.locator.error.clone().unwrap_or_else(|| "no domain controller found".into());
        return draft(Status::Fail, format!("No domain controller of {} could be located: {why}.", d.domain))
            .fix(
                "Check that the sync server resolves the domain's DC locator records, and review the partition's preferred DCs.",
                &[&format!("nslookup -type=SRV _ldap._tcp.dc._msdcs.{}", d.domain), &format!("nltest /dsgetdc:{}", d.domain)],
            )
            .done();
    }

    let verdicts: Vec<DcVerdict> = d.dcs.iter().map(judge_dc).collect();
    let usable = verdicts.iter().filter(|v| **v == DcVerdict::Usable).count();

    // The DC that answered LDAP must serve this partition.
    let served = d.ldap.as_ref().and_then(|l| l.root_dse.as_ref()).and_then(|r| r.default_naming_context.clone());
    if let Some(nc) = &served {
        if !nc.eq_ignore_ascii_case(&d.partition_dn) {
            return draft(
                Status::Fail,
                format!(
                    "The DC found for {} serves {nc}, not the partition {}: DNS or the preferred DCs point at another domain.",
                    d.domain, d.partition_dn
                ),
            )
            .fix("Correct the DNS records or the preferred DCs so that they name DCs of this domain.", &[])
            .done();
        }
    }

    let problems: Vec<String> = verdicts
        .iter()
        .filter_map(|v| match v {
            DcVerdict::Usable => None,
            DcVerdict::RpcBlocked(w) | DcVerdict::Unreachable(w) => Some(w.clone()),
        })
        .collect();
    let kerberos_closed: Vec<&str> =
        d.dcs.iter().filter(|dc| dc.port(KERBEROS).is_some_and(|p| !p.open)).map(|dc| dc.host.as_str()).collect();

    if usable == 0 {
        let all_rpc = verdicts.iter().all(|v| matches!(v, DcVerdict::RpcBlocked(_)));
        let message = if all_rpc {
            format!(
                "LDAP answers for {}, but the replication path password hash sync uses is blocked: {}.",
                d.domain,
                problems.join("; ")
            )
        } else {
            format!("No domain controller of {} is reachable: {}.", d.domain, problems.join("; "))
        };
        return draft(Status::Fail, message)
            .fix(
                "Open TCP 389, 88, 135 and the dynamic RPC ports (49152-65535) from the sync server to the DCs, or list reachable DCs as preferred DCs; restart ADSync afterwards.",
                &[&format!("Test-NetConnection {} -Port 135", d.dcs[0].host), &format!("nltest /dsgetdc:{} /force", d.domain)],
            )
            .done();
    }
    if served.is_none() {
        let why = d.ldap.as_ref().and_then(|l| l.root_dse_error.clone()).unwrap_or_else(|| "not read".into());
        return draft(
            Status::Warn,
            format!("The DCs of {} answer, but their rootDSE could not be read: {why}.", d.domain),
        )
        .done();
    }
    if !problems.is_empty() {
        return draft(
            Status::Warn,
            format!(
                "{usable} of {} DCs of {} are usable; the others are not: {}.",
                d.dcs.len(),
                d.domain,
                problems.join("; ")
            ),
        )
        .fix("Remove decommissioned DCs from the preferred DCs, or fix the network path to them.", &[])
        .done();
    }
    let mut f = draft(
        Status::Pass,
        format!("{} is reachable: LDAP, the RPC endpoint mapper and DRSUAPI answer on {usable} DC(s).", d.domain),
    );
    if !kerberos_closed.is_empty() {
        f = f.evidence("Note", format!("Kerberos (88) closed on {}", kerberos_closed.join(", ")));
    }
    f.done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    #[test]
    fn pass_when_everything_answers() {
        let s = snapshot_with_ad(vec![domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com")]);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(f[0].evidence.iter().any(|e| e.value.contains("DRSUAPI on 49153 reachable")));
    }

    #[test]
    fn fail_when_135_is_blocked_but_ldap_answers() {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        close_port(&mut d.dcs[0], 135, "connection refused");
        d.dcs[0].rpc = None;
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("replication path"), "{}", f[0].message);
        assert!(f[0].message.contains("135 closed (connection refused)"));
    }

    #[test]
    fn fail_when_no_dc_is_found_or_reachable() {
        let mut d = domain_facts("fabrikam.com", "nosuch.fabrikam.com", "DC=nosuch,DC=fabrikam,DC=com");
        d.dcs.clear();
        d.ldap = None;
        d.locator.error = Some("the name does not exist (NXDOMAIN)".into());
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("NXDOMAIN"));

        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        for p in [389, 636, 88, 135] {
            close_port(&mut d.dcs[0], p, "connection refused");
        }
        d.ldap = None;
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("No domain controller"));
    }

    #[test]
    fn fail_when_the_dc_serves_another_domain() {
        let d = domain_facts("fabrikam.com", "fabrikam.com", "DC=other,DC=com");
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.contains("not the partition"));
    }

    #[test]
    fn warn_when_one_of_two_dcs_is_down() {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        let mut dead = d.dcs[0].clone();
        dead.host = "dc2.fabrikam.com".into();
        for p in [389, 636, 88, 135] {
            close_port(&mut dead, p, "timed out after 3 s");
        }
        dead.rpc = None;
        d.dcs.push(dead);
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("dc2.fabrikam.com: LDAP closed (timed out after 3 s)"), "{}", f[0].message);
    }

    #[test]
    fn skipped_without_ad_facts() {
        let f = run(&snapshot_with_export(), check);
        assert_eq!(statuses(&f), [Status::Skipped; 3]);
        assert_eq!(f[1].scope.domain.as_deref(), Some("emea.fabrikam.com"));
    }
}

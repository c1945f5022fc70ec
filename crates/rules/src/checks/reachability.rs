use crate::context::Context;
use crate::finding::capped_list;
use crate::registry::{Need, Rule};
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

## How DCs are chosen
The way the DC locator does it, in the locator's order (SRV records by
priority, then weight; lists as written):
- A DC listed twice (by name and by address, or under two names of one
  address) is one DC, probed once; the other spellings are shown.
- Names that do not resolve are reported and never probed; `max_dcs`
  (default 3) counts the DCs that accept TCP on 389 or 636, so neither they
  nor DCs that refuse use up its slots. Probing goes in at most three rounds;
  DCs left over are named as not probed.
- Every DC that accepts TCP gets an anonymous rootDSE read, the LDAP ping. A
  DC \"answers LDAP\" only when that read came back; a read that timed out is
  shown with its time. (The Windows locator pings over UDP, CLDAP, MS-ADTS
  6.3.3, prefers DCs of the client's site and weighs SRV records at random;
  phs-doctor reads the rootDSE over TCP 389, the path the connector then
  uses, knows no site, and keeps a fixed order so runs compare.)
- The bind and the reads go to the first DC that answered. When it stops
  answering (timeout, connection cut), the next is tried while the domain's
  deadline allows; the finding names the DC used and every DC passed over,
  with why. A DC that answers with a refusal is not passed over: its answer
  is the verdict.
- Timeouts: `connect_timeout` for each TCP connect, `operation_timeout` for a
  TLS handshake, DNS query and each LDAP or RPC operation. A DC whose rootDSE
  read or bind takes more than 2 s works but is reported as slow, with its
  times.

## Why it matters
The agent reads hashes with directory replication (DRSUAPI over RPC). A
firewall that lets LDAP through but blocks port 135 or the dynamic RPC ports
leaves directory synchronization working while password hash sync fails with
\"RPC server is unavailable\". A DNS name that points elsewhere, or preferred DCs
that were decommissioned, stop it too. The AD connector imports over LDAP 389
(Kerberos signing and sealing); 636 is used only when the connector is set up
for TLS, so 389 closed while 636 answers is a warning. A DC found through DNS
or the preferred DCs whose name lies outside the domain's DNS suffix is
flagged: expected in a disjoint namespace, otherwise DNS or the list points
somewhere it should not.

## How to fix
Fix DNS for the domain, open TCP 389, 135 and the dynamic RPC range
(49152-65535, or the fixed replication port your DCs use) from the sync server
to the DCs, and list reachable DCs as preferred DCs in Synchronization Service
Manager (Configure Directory Partitions); restart the ADSync service afterwards.

## Evidence
How the DCs were located, every DC with its ports, latencies and LDAP ping,
the DC used for LDAP and the DCs passed over, the rootDSE naming context, the
DRSUAPI port.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-ports",
        "https://learn.microsoft.com/troubleshoot/windows-server/active-directory/how-domain-controllers-are-located",
        "https://learn.microsoft.com/openspecs/windows_protocols/ms-adts/3d71aefb-787e-4d14-9a8a-a70def9e1f6c",
    ],
    needs: &[Need::LiveAd],
    check,
};

/// LDAP, LDAPS, Kerberos, RPC endpoint mapper.
const LDAP: u16 = 389;
const LDAPS: u16 = 636;
const KERBEROS: u16 = 88;
const EPM: u16 = 135;

/// A rootDSE read is one small round trip, a bind over TLS a handful: on any
/// network a sync server should use they take milliseconds. Past this, the
/// DC works but every import (thousands of LDAP pages) will crawl.
const SLOW_MS: u64 = 2_000;

/// Fix commands; DC and domain names come from DNS and the export, so they
/// are filled in quoted (see `crate::command`).
pub(crate) const LOCATE_COMMANDS: &[&str] =
    &["nslookup -type=SRV '_ldap._tcp.dc._msdcs.<domain>'", "nltest '/dsgetdc:<domain>'"];
pub(crate) const REACH_COMMANDS: &[&str] =
    &["Test-NetConnection '<DC>' -Port 135", "nltest '/dsgetdc:<domain>' /force"];

/// At most this many located names are listed in one piece of evidence.
const NAMES_SHOWN: usize = 10;

/// What one DC offers password hash sync.
#[derive(Debug, PartialEq, Eq)]
enum DcVerdict {
    Usable,
    /// Usable, with a problem that deserves a warning (389 closed, slow).
    Degraded(String),
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
    if let Some(ping) = dc.ldap_ping.as_ref().filter(|p| !p.ok) {
        let why = ping.error.as_deref().unwrap_or("no answer");
        return DcVerdict::Unreachable(format!(
            "{}: accepts TCP but does not answer LDAP ({} ms): {why}",
            dc.host, ping.elapsed_ms
        ));
    }
    if !open(EPM) {
        let why = dc.port(EPM).and_then(|p| p.error.clone()).unwrap_or_else(|| "not probed".into());
        return DcVerdict::RpcBlocked(format!("{}: RPC endpoint mapper port 135 closed ({why})", dc.host));
    }
    match &dc.rpc {
        Some(r) if r.endpoint_mapper_ok && r.drsuapi_reachable => {}
        Some(r) => {
            return DcVerdict::RpcBlocked(format!(
                "{}: {}",
                dc.host,
                r.error.clone().unwrap_or_else(|| match r.drsuapi_port {
                    Some(p) => format!("DRSUAPI port {p} not reachable"),
                    None => "the endpoint mapper gave no DRSUAPI port".into(),
                })
            ))
        }
        None => return DcVerdict::RpcBlocked(format!("{}: the DRSUAPI path was not probed", dc.host)),
    }
    if !open(LDAP) {
        let why = dc.port(LDAP).and_then(|p| p.error.clone()).unwrap_or_else(|| "no answer".into());
        return DcVerdict::Degraded(format!(
            "{}: LDAP 389 closed ({why}) while LDAPS 636 answers; the AD connector imports over 389 with Kerberos \
             signing and sealing unless it is configured for TLS",
            dc.host
        ));
    }
    if let Some(ping) = dc.ldap_ping.as_ref().filter(|p| p.elapsed_ms > SLOW_MS) {
        return DcVerdict::Degraded(format!(
            "{}: slow: the rootDSE read over {} took {} ms (more than {SLOW_MS} ms)",
            dc.host, ping.transport, ping.elapsed_ms
        ));
    }
    DcVerdict::Usable
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
    if let Some(ping) = &dc.ldap_ping {
        parts.push(match (ping.ok, &ping.error) {
            (true, _) => format!("rootDSE read over {} ({} ms)", ping.transport, ping.elapsed_ms),
            (false, e) => format!("rootDSE NOT read ({} ms): {}", ping.elapsed_ms, e.as_deref().unwrap_or("no answer")),
        });
    }
    if let Some(r) = &dc.rpc {
        parts.push(match (r.drsuapi_port, r.drsuapi_reachable) {
            (Some(p), true) => format!("DRSUAPI on {p} reachable ({} ms)", r.elapsed_ms),
            (Some(p), false) => format!("DRSUAPI on {p} NOT reachable"),
            (None, _) => format!("DRSUAPI: {}", r.error.as_deref().unwrap_or("no endpoint")),
        });
    }
    if let Some(e) = &dc.resolve_error {
        parts.push(format!("not resolved: {e}"));
    }
    let addr = if dc.addresses.is_empty() { String::new() } else { format!(" [{}]", dc.addresses.join(", ")) };
    let also = if dc.also_listed_as.is_empty() {
        String::new()
    } else {
        format!(" (also listed as {})", dc.also_listed_as.join(", "))
    };
    format!("{}{addr}{also}: {}", dc.host, parts.join(", "))
}

/// A located DC whose name lies outside the domain's DNS suffix. Only DCs
/// that came from DNS or the export: DCs named in the config were chosen.
fn outside_suffix(d: &DomainFacts) -> Vec<&str> {
    if d.locator.method == "configured" {
        return Vec::new();
    }
    let domain = d.domain.trim_end_matches('.').to_ascii_lowercase();
    d.dcs
        .iter()
        .map(|dc| dc.host.as_str())
        .filter(|host| {
            let h = host.trim_end_matches('.').to_ascii_lowercase();
            h.parse::<std::net::IpAddr>().is_err() && h != domain && !h.ends_with(&format!(".{domain}"))
        })
        .collect()
}

fn check(cx: &Context) -> Vec<Finding> {
    cx.per_ad_domain(&RULE, judge_domain)
}

fn judge_domain(d: &DomainFacts) -> Finding {
    let outcome = decide(d);
    let (status, message) = outcome.words(d);
    let mut f = RULE.finding(status, Scope::domain(&d.connector, &d.domain), message).evidence(
        "DC location",
        format!(
            "{} {}{} -> {}",
            d.locator.method,
            capped_query(&d.locator.query),
            d.locator.dns_server.as_ref().map_or(String::new(), |s| format!(" via {s}")),
            if d.locator.candidates.is_empty() {
                "nothing".into()
            } else {
                capped_list(&d.locator.candidates, NAMES_SHOWN)
            }
        ),
    );
    for dc in &d.dcs {
        f = f.evidence("DC", describe_dc(dc));
    }
    if !d.locator.not_probed.is_empty() {
        f = f.evidence("Not probed", capped_list(&d.locator.not_probed, NAMES_SHOWN));
    }
    if let Some(ldap) = &d.ldap {
        f = f.evidence("LDAP used", ldap.dc.clone());
    }
    for skip in &d.ldap_skipped {
        f = f.evidence("LDAP passed over", format!("{}: {}", skip.dc, skip.reason));
    }
    if let Some(ldap) = &d.ldap {
        if let Some(nc) = ldap.root_dse.as_ref().and_then(|r| r.default_naming_context.clone()) {
            f = f.evidence("rootDSE defaultNamingContext", format!("{nc} (from {})", ldap.dc));
        }
    }
    if let Reach::Reachable { kerberos_closed, .. } = &outcome {
        if !kerberos_closed.is_empty() {
            f = f.evidence("Note", format!("Kerberos (88) closed on {}", kerberos_closed.join(", ")));
        }
    }
    match outcome.fix(d) {
        Some((summary, commands)) => f.fix_commands(&summary, commands).done(),
        None => f.done(),
    }
}

/// What the domain's located DCs, their probes and the LDAP connection amount to.
fn decide(d: &DomainFacts) -> Reach<'_> {
    if d.dcs.is_empty() {
        return Reach::NotLocated {
            why: d.locator.error.clone().unwrap_or_else(|| "no domain controller found".into()),
        };
    }

    let verdicts: Vec<DcVerdict> = d.dcs.iter().map(judge_dc).collect();
    let usable = verdicts.iter().filter(|v| matches!(v, DcVerdict::Usable | DcVerdict::Degraded(_))).count();

    // The DC that answered LDAP must serve this partition.
    let served = d.ldap.as_ref().and_then(|l| l.root_dse.as_ref()).and_then(|r| r.default_naming_context.clone());
    if let Some(nc) = &served {
        if !nc.eq_ignore_ascii_case(&d.partition_dn) {
            return Reach::WrongPartition { served: nc.clone() };
        }
    }

    let problems: Vec<String> = verdicts
        .iter()
        .filter_map(|v| match v {
            DcVerdict::Usable | DcVerdict::Degraded(_) => None,
            DcVerdict::RpcBlocked(w) | DcVerdict::Unreachable(w) => Some(w.clone()),
        })
        .collect();
    if usable == 0 {
        // "LDAP answers" only when a rootDSE came back; an open port is less.
        let path = if !verdicts.iter().all(|v| matches!(v, DcVerdict::RpcBlocked(_))) {
            Path::Unreachable
        } else if d.dcs.iter().any(|dc| dc.ldap_ping.as_ref().is_some_and(|p| p.ok)) {
            Path::RpcBlockedLdapAnswers
        } else {
            Path::RpcBlockedTcpOnly
        };
        return Reach::NoneUsable { path, problems };
    }
    if served.is_none() {
        let why = d.ldap.as_ref().and_then(|l| l.root_dse_error.clone()).unwrap_or_else(|| "not read".into());
        return Reach::RootDseUnread { why };
    }
    let mut degraded: Vec<String> = verdicts
        .iter()
        .filter_map(|v| match v {
            DcVerdict::Degraded(w) => Some(w.clone()),
            _ => None,
        })
        .collect();
    if let Some(slow) = d.ldap.as_ref().filter(|l| l.bind.elapsed_ms > SLOW_MS) {
        degraded.push(format!(
            "{}: slow: the {} connection and bind took {} ms (more than {SLOW_MS} ms)",
            slow.dc, slow.bind.transport, slow.bind.elapsed_ms
        ));
    }
    let outside = outside_suffix(d);
    if !outside.is_empty() {
        degraded.push(format!(
            "{} {} outside the domain's DNS suffix {}: expected only in a disjoint namespace; otherwise {} points \
             at hosts that are not this domain's DCs",
            outside.join(", "),
            if outside.len() == 1 { "is" } else { "are" },
            d.domain,
            if d.locator.method == "dns-srv" { "DNS" } else { "the preferred DC list" }
        ));
    }
    if !problems.is_empty() || !degraded.is_empty() {
        return Reach::Partly { usable, problems, degraded };
    }
    let kerberos_closed =
        d.dcs.iter().filter(|dc| dc.port(KERBEROS).is_some_and(|p| !p.open)).map(|dc| dc.host.as_str()).collect();
    Reach::Reachable { usable, kerberos_closed }
}

/// Commands filled by [`crate::command::fill_all`], with its note on those left out.
type FilledCommands = (Vec<String>, Option<String>);

/// What PHS005 decides for one domain, before [`Reach::words`] and
/// [`Reach::fix`] put it in words.
#[derive(Debug, PartialEq)]
enum Reach<'a> {
    /// No DC could be located.
    NotLocated { why: String },
    /// The DC that answered LDAP serves another partition.
    WrongPartition { served: String },
    /// No DC is usable; `problems` says why for each.
    NoneUsable { path: Path, problems: Vec<String> },
    /// DCs are usable, but the rootDSE could not be read.
    RootDseUnread { why: String },
    /// `usable` DCs work, but others do not (`problems`) or work badly (`degraded`).
    Partly { usable: usize, problems: Vec<String>, degraded: Vec<String> },
    /// Every DC works; Kerberos may be closed on some (a note, not a verdict).
    Reachable { usable: usize, kerberos_closed: Vec<&'a str> },
}

/// How far the path to a domain none of whose DCs is usable goes.
#[derive(Debug, PartialEq)]
enum Path {
    /// LDAP answered, but every DC's replication path is blocked.
    RpcBlockedLdapAnswers,
    /// The LDAP port accepts TCP, but every DC's replication path is blocked.
    RpcBlockedTcpOnly,
    /// Some DC is not reachable at all.
    Unreachable,
}

impl Reach<'_> {
    fn words(&self, d: &DomainFacts) -> (Status, String) {
        let domain = &d.domain;
        match self {
            Reach::NotLocated { why } => {
                (Status::Fail, format!("No domain controller of {domain} could be located: {why}."))
            }
            Reach::WrongPartition { served } => (
                Status::Fail,
                format!(
                    "The DC found for {domain} serves {served}, not the partition {}: DNS or the preferred DCs point at another domain.",
                    d.partition_dn
                ),
            ),
            Reach::NoneUsable { path, problems } => {
                let problems = problems.join("; ");
                (
                    Status::Fail,
                    match path {
                        Path::RpcBlockedLdapAnswers => format!(
                            "LDAP answers for {domain}, but the replication path password hash sync uses is blocked: {problems}."
                        ),
                        Path::RpcBlockedTcpOnly => format!(
                            "The LDAP port of {domain} accepts TCP, but the replication path password hash sync uses is blocked: {problems}."
                        ),
                        Path::Unreachable => format!("No domain controller of {domain} is reachable: {problems}."),
                    },
                )
            }
            Reach::RootDseUnread { why } => (
                Status::Warn,
                format!("The DCs of {domain} accept connections, but their rootDSE could not be read: {why}."),
            ),
            Reach::Partly { usable, problems, degraded } => {
                let mut said = Vec::new();
                if !problems.is_empty() {
                    said.push(format!(
                        "{usable} of {} DCs of {domain} are usable; the others are not: {}",
                        d.dcs.len(),
                        problems.join("; ")
                    ));
                }
                if !degraded.is_empty() {
                    said.push(degraded.join("; "));
                }
                let used = d.ldap.as_ref().map_or(String::new(), |l| format!(" LDAP went to {}.", l.dc));
                (Status::Warn, format!("{}.{used}", said.join(". ")))
            }
            Reach::Reachable { usable, .. } => (
                Status::Pass,
                format!("{domain} is reachable: LDAP, the RPC endpoint mapper and DRSUAPI answer on {usable} DC(s)."),
            ),
        }
    }

    /// The fix's summary and its commands, filled in quoted.
    fn fix(&self, d: &DomainFacts) -> Option<(String, FilledCommands)> {
        match self {
            Reach::NotLocated { .. } => Some((
                "Check that the sync server resolves the domain's DC locator records, and review the partition's preferred DCs.".to_owned(),
                crate::command::fill_all(LOCATE_COMMANDS, &[("<domain>", &d.domain)]),
            )),
            Reach::WrongPartition { .. } => Some((
                "Correct the DNS records or the preferred DCs so that they name DCs of this domain.".to_owned(),
                (Vec::new(), None),
            )),
            Reach::NoneUsable { .. } => Some((
                format!(
                    "Open TCP 389, 88, 135 and the dynamic RPC ports (49152-65535) from the sync server to the DCs, or list \
                     reachable DCs as preferred DCs; restart ADSync afterwards.{}",
                    silent_hint(d)
                ),
                crate::command::fill_all(REACH_COMMANDS, &[("<DC>", &d.dcs[0].host), ("<domain>", &d.domain)]),
            )),
            Reach::Partly { .. } => Some((
                format!(
                    "Remove decommissioned DCs from the preferred DCs, fix the network path to the others (TCP 389 \
                     must be open unless the connector uses TLS), and check slow DCs' load and network.{}",
                    silent_hint(d)
                ),
                (Vec::new(), None),
            )),
            Reach::RootDseUnread { .. } | Reach::Reachable { .. } => None,
        }
    }
}

/// A DC that accepts TCP and then says nothing has two usual causes; the
/// fix says both and what tells them apart.
fn silent_hint(d: &DomainFacts) -> &'static str {
    if d.dcs.iter().any(|dc| dc.ldap_ping.as_ref().is_some_and(|p| !p.ok)) {
        " A DC that accepts TCP but does not answer LDAP is either hung or overloaded (its LDAP service or the \
         whole DC), or behind a firewall, proxy or load balancer that accepts connections without passing them \
         on. Read its rootDSE on the DC itself (Get-ADRootDSE, or ldp.exe): if that answers, the network path is \
         at fault; if it hangs there too, the DC is."
    } else {
        ""
    }
}

/// A configured list of many DCs is written into the locator's query; keep
/// the evidence short.
fn capped_query(query: &str) -> String {
    let names: Vec<String> = query.split(", ").map(str::to_string).collect();
    if names.len() > NAMES_SHOWN {
        capped_list(&names, NAMES_SHOWN)
    } else {
        query.to_string()
    }
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
        assert!(matches!(
            decide(&d),
            Reach::NoneUsable { path: Path::RpcBlockedLdapAnswers, problems } if problems[0].contains("135 closed (connection refused)")
        ));
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);
    }

    #[test]
    fn fail_when_no_dc_is_found_or_reachable() {
        let mut d = domain_facts("fabrikam.com", "nosuch.fabrikam.com", "DC=nosuch,DC=fabrikam,DC=com");
        d.dcs.clear();
        d.ldap = None;
        d.locator.error = Some("the name does not exist (NXDOMAIN)".into());
        assert_eq!(decide(&d), Reach::NotLocated { why: "the name does not exist (NXDOMAIN)".into() });
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);

        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        for p in [389, 636, 88, 135] {
            close_port(&mut d.dcs[0], p, "connection refused");
        }
        d.ldap = None;
        assert!(matches!(decide(&d), Reach::NoneUsable { path: Path::Unreachable, .. }));
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);
    }

    #[test]
    fn fail_when_the_dc_serves_another_domain() {
        let d = domain_facts("fabrikam.com", "fabrikam.com", "DC=other,DC=com");
        assert!(matches!(decide(&d), Reach::WrongPartition { served } if served == "DC=other,DC=com"));
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);
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

    fn second_dc(d: &DomainFacts, host: &str, addr: &str) -> DcFacts {
        let mut dc = d.dcs[0].clone();
        dc.host = host.into();
        dc.addresses = vec![addr.into()];
        for p in &mut dc.ports {
            p.address = addr.into();
        }
        dc
    }

    fn silent(dc: &mut DcFacts, waited: &str) {
        dc.ldap_ping = Some(phs_model::LdapPing {
            ok: false,
            transport: "ldap".into(),
            elapsed_ms: 10_003,
            error: Some(format!("rootDSE read over ldap from {} (10.0.0.10): timed out after {waited}", dc.host)),
        });
    }

    #[test]
    fn a_silent_dc_does_not_hide_a_healthy_one() {
        for waited in ["10 s", "3 s"] {
            let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
            let healthy = second_dc(&d, "dc2.fabrikam.com", "10.0.0.11");
            silent(&mut d.dcs[0], waited);
            d.dcs.push(healthy);
            d.ldap.as_mut().unwrap().dc = "dc2.fabrikam.com (10.0.0.11)".into();
            d.ldap_skipped = vec![phs_model::DcSkip {
                dc: "dc1.fabrikam.com (10.0.0.10)".into(),
                reason: format!("accepts TCP but did not answer LDAP: timed out after {waited}"),
            }];
            let f = run(&snapshot_with_ad(vec![d]), check);
            assert_eq!(statuses(&f), [Status::Warn], "{}", f[0].message);
            assert!(f[0].message.contains("1 of 2 DCs"), "{}", f[0].message);
            assert!(
                f[0].message.contains("dc1.fabrikam.com: accepts TCP but does not answer LDAP"),
                "{}",
                f[0].message
            );
            assert!(f[0].message.contains(&format!("timed out after {waited}")), "{}", f[0].message);
            assert!(f[0].message.contains("LDAP went to dc2.fabrikam.com (10.0.0.11)"), "{}", f[0].message);
            let fix = &f[0].remediation.as_ref().expect("a fix").summary;
            assert!(fix.contains("hung or overloaded") && fix.contains("firewall, proxy or load balancer"), "{fix}");
            let used = f[0].evidence.iter().find(|e| e.label == "LDAP used").expect("LDAP used");
            assert_eq!(used.value, "dc2.fabrikam.com (10.0.0.11)");
            assert!(f[0]
                .evidence
                .iter()
                .any(|e| e.label == "LDAP passed over" && e.value.starts_with("dc1.fabrikam.com")));
        }
    }

    #[test]
    fn ldap_answers_only_when_the_root_dse_was_read() {
        // Every DC accepts TCP on 389 but none answers the rootDSE read.
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        let mut other = second_dc(&d, "dc2.fabrikam.com", "10.0.0.11");
        silent(&mut d.dcs[0], "10 s");
        silent(&mut other, "10 s");
        d.dcs.push(other);
        d.ldap = None;
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert!(f[0].message.starts_with("No domain controller of fabrikam.com is reachable"), "{}", f[0].message);
        assert!(!f[0].message.contains("LDAP answers"), "{}", f[0].message);
        assert!(
            f[0].evidence.iter().any(|e| e.value.contains("rootDSE NOT read (10003 ms): rootDSE read over ldap")),
            "{:?}",
            f[0].evidence
        );

        // 135 closed: with a rootDSE read "LDAP answers"; with only TCP, it does not say so.
        for (ping_ok, words) in [(true, "LDAP answers for"), (false, "LDAP port of fabrikam.com accepts TCP")] {
            let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
            close_port(&mut d.dcs[0], 135, "connection refused");
            d.dcs[0].rpc = None;
            if !ping_ok {
                d.dcs[0].ldap_ping = None;
            }
            let f = run(&snapshot_with_ad(vec![d]), check);
            assert_eq!(statuses(&f), [Status::Fail]);
            assert!(
                f[0].message.starts_with(if ping_ok { "LDAP answers for" } else { "The LDAP port" }),
                "{}",
                f[0].message
            );
            assert!(f[0].message.contains(words), "{}", f[0].message);
        }
    }

    #[test]
    fn port_389_closed_while_636_answers_is_a_warning() {
        for why in ["connection refused", "timed out after 3 s"] {
            let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
            close_port(&mut d.dcs[0], 389, why);
            d.dcs[0].ldap_ping.as_mut().unwrap().transport = "ldaps".into();
            let f = run(&snapshot_with_ad(vec![d]), check);
            assert_eq!(statuses(&f), [Status::Warn], "{why}");
            assert!(
                f[0].message.contains(&format!("LDAP 389 closed ({why}) while LDAPS 636 answers")),
                "{}",
                f[0].message
            );
            assert!(f[0].message.contains("unless it is configured for TLS"), "{}", f[0].message);
        }
    }

    #[test]
    fn a_slow_dc_is_slow_with_its_times() {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.dcs[0].ldap_ping.as_mut().unwrap().elapsed_ms = 2_512;
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("slow: the rootDSE read over ldap took 2512 ms"), "{}", f[0].message);

        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.ldap.as_mut().unwrap().bind.elapsed_ms = 7_040;
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Warn]);
        assert!(f[0].message.contains("slow: the ldaps connection and bind took 7040 ms"), "{}", f[0].message);
        assert!(!f[0].message.contains("does not answer"), "{}", f[0].message);

        // Just under the mark is a pass.
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.dcs[0].ldap_ping.as_mut().unwrap().elapsed_ms = 1_999;
        d.ldap.as_mut().unwrap().bind.elapsed_ms = 2_000;
        assert_eq!(statuses(&run(&snapshot_with_ad(vec![d]), check)), [Status::Pass]);
    }

    #[test]
    fn dcs_outside_the_domain_suffix_are_flagged_unless_configured() {
        for (method, host, flagged) in [
            ("dns-srv", "dc1.contoso-attacker.net", true),
            ("preferred-dcs", "dc7.corp.example", true),
            ("dns-srv", "dc1.notfabrikam.com", true),
            ("configured", "dc1.contoso-attacker.net", false),
            ("preferred-dcs", "10.0.0.10", false),
            ("dns-srv", "DC1.Fabrikam.COM.", false),
        ] {
            let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
            d.locator.method = method.into();
            d.dcs[0].host = host.into();
            let f = run(&snapshot_with_ad(vec![d]), check);
            let expected = if flagged { Status::Warn } else { Status::Pass };
            assert_eq!(statuses(&f), [expected], "{method} {host}: {}", f[0].message);
            if flagged {
                assert!(
                    f[0].message.contains(&format!("{host} is outside the domain's DNS suffix fabrikam.com")),
                    "{}",
                    f[0].message
                );
            }
        }
    }

    #[test]
    fn duplicates_and_unprobed_dcs_are_shown() {
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.dcs[0].also_listed_as = vec!["10.0.0.10".into()];
        d.locator.not_probed = (2..=14)
            .map(|i| format!("dc{i}.fabrikam.com (not probed: 3 DC(s) already accepted TCP (max_dcs))"))
            .collect();
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(statuses(&f), [Status::Pass]);
        assert!(f[0].evidence.iter().any(|e| e.label == "DC" && e.value.contains("(also listed as 10.0.0.10)")));
        let np = f[0].evidence.iter().find(|e| e.label == "Not probed").expect("not probed");
        assert!(np.value.starts_with("dc2.fabrikam.com") && np.value.ends_with("and 3 more"), "{}", np.value);
    }

    #[test]
    fn dc_names_from_dns_reach_the_fix_commands_quoted() {
        for (host, quoted) in [
            ("dc1.fabrikam.com", "'dc1.fabrikam.com'"),
            ("dc1.fabrikam.com';Start-Process calc;'", "'dc1.fabrikam.com'';Start-Process calc;'''"),
        ] {
            let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
            d.dcs[0].host = host.into();
            for p in [389, 636, 88, 135] {
                close_port(&mut d.dcs[0], p, "connection refused");
            }
            d.ldap = None;
            let f = run(&snapshot_with_ad(vec![d]), check);
            let cmds = f[0].remediation.as_ref().expect("a fix").commands.clone();
            assert_eq!(cmds[0], format!("Test-NetConnection {quoted} -Port 135"), "{cmds:?}");
            assert_eq!(cmds[1], "nltest '/dsgetdc:fabrikam.com' /force");
            assert!(cmds.iter().all(|c| crate::command::is_safe_powershell(c)), "{cmds:?}");
        }
        // A name PowerShell cannot carry is left out, with a note.
        let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
        d.dcs[0].host = "dc1\"\nRestart-Computer".into();
        for p in [389, 636, 88, 135] {
            close_port(&mut d.dcs[0], p, "connection refused");
        }
        d.ldap = None;
        let f = run(&snapshot_with_ad(vec![d]), check);
        let fix = f[0].remediation.as_ref().expect("a fix");
        assert_eq!(fix.commands, ["nltest '/dsgetdc:fabrikam.com' /force"]);
    }

    #[test]
    fn skipped_without_ad_facts() {
        let f = run(&snapshot_with_export(), check);
        assert_eq!(statuses(&f), [Status::Skipped; 3]);
        assert_eq!(f[1].scope.domain.as_deref(), Some("emea.fabrikam.com"));
    }
}

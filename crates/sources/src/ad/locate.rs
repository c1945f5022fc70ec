//! Find a domain's DCs the way the sync server would: the export's preferred
//! DCs, DCs named in the config file, or the DC locator's DNS SRV record
//! `_ldap._tcp.dc._msdcs.<domain>`, then each DC's A/AAAA records. Every DNS
//! query has the operation timeout, and every failure is kept as a fact in
//! words a person can act on.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use phs_model::ad::DcLocator;
use tokio::task::JoinSet;

use super::tcp::millis;
use super::{AdOptions, DomainTarget, Locator};
use crate::wording::describe_io_error;
use phs_model::human_std_duration;

/// One DC to probe: its name as located and the addresses it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcCandidate {
    /// Host name (or the IP literal, when the list gave an address).
    pub host: String,
    /// A then AAAA, in the DNS server's order; empty when resolving failed.
    pub addresses: Vec<IpAddr>,
    pub resolve_error: Option<String>,
}

/// At most this many located names are resolved. `max_dcs` is not applied
/// here: it counts DCs that accept TCP, so names that do not resolve and DCs
/// that refuse must not use up its slots (see [`super::select`]). This only
/// bounds the DNS work for a domain with very many DCs.
pub const RESOLVE_LIMIT: usize = 32;

/// Locate the DCs of `target` and resolve them. Returns the facts of how it
/// went and the candidates in the order to try (at most [`RESOLVE_LIMIT`];
/// the rest are named in `DcLocator::not_probed`); `DcLocator::candidates`
/// lists every DC found.
pub async fn locate(target: &DomainTarget, opts: &AdOptions) -> (DcLocator, Vec<DcCandidate>) {
    let started = Instant::now();
    let cap = RESOLVE_LIMIT;
    let timeout = opts.operation_timeout;
    let (mut locator, candidates) = match &target.locator {
        Locator::PreferredDcs(list) => from_list("preferred-dcs", list, target.dns_server, cap, timeout).await,
        Locator::Configured(list) => from_list("configured", list, target.dns_server, cap, timeout).await,
        Locator::DnsSrv { server } => {
            // The SRV answer comes from the domain's DNS, which also holds the
            // DCs' A records, so the same server resolves them unless none was
            // given for the SRV query.
            let server = server.or(target.dns_server);
            from_srv(&target.domain, server, cap, timeout).await
        }
    };
    locator.elapsed_ms = millis(started.elapsed());
    (locator, candidates)
}

/// A list of host names or IP literals, resolved through `server`.
async fn from_list(
    method: &str,
    list: &[String],
    server: Option<SocketAddr>,
    cap: usize,
    timeout: Duration,
) -> (DcLocator, Vec<DcCandidate>) {
    let mut names: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for entry in list {
        let name = entry.trim().trim_end_matches('.');
        if !name.is_empty() && seen.insert(name.to_ascii_lowercase()) {
            names.push(name.to_string());
        }
    }
    let mut locator = DcLocator {
        method: method.to_string(),
        query: list.join(", "),
        dns_server: server.map(|s| s.to_string()),
        candidates: names.clone(),
        ..DcLocator::default()
    };
    if names.is_empty() {
        let what = if method == "preferred-dcs" { "the list of preferred DCs" } else { "the configured DC list" };
        locator.error = Some(format!("{what} is empty"));
        return (locator, Vec::new());
    }
    locator.not_probed = beyond_limit(&mut names, cap);

    // Only build a resolver when some entry is a name: a list of addresses
    // must work even where no DNS is configured at all.
    let needs_dns = names.iter().any(|n| n.parse::<IpAddr>().is_err());
    let dns = if needs_dns { Some(Dns::new(server, timeout)) } else { None };
    let candidates = resolve_all(names, dns).await;
    if candidates.iter().all(|c| c.addresses.is_empty()) {
        locator.error = Some(no_address_error(&candidates));
    }
    (locator, candidates)
}

/// `_ldap._tcp.dc._msdcs.<domain>` SRV, ordered, then A/AAAA of each target.
async fn from_srv(
    domain: &str,
    server: Option<SocketAddr>,
    cap: usize,
    timeout: Duration,
) -> (DcLocator, Vec<DcCandidate>) {
    let domain = domain.trim().trim_end_matches('.');
    let query = format!("_ldap._tcp.dc._msdcs.{domain}");
    let mut locator = DcLocator {
        method: "dns-srv".to_string(),
        query: query.clone(),
        dns_server: server.map(|s| s.to_string()),
        ..DcLocator::default()
    };
    if domain.is_empty() {
        locator.error = Some("no domain name to look up".to_string());
        return (locator, Vec::new());
    }
    let dns = Dns::new(server, timeout);
    let resolver = match &dns.resolver {
        Ok(resolver) => resolver.clone(),
        Err(error) => {
            locator.error = Some(error.clone());
            return (locator, Vec::new());
        }
    };

    // Absolute name: the search list of the system resolver must not turn
    // a missing record into a lookup of `..._msdcs.corp.example.corp.example`.
    let lookup = tokio::time::timeout(timeout, resolver.srv_lookup(format!("{query}."))).await;
    let records = match lookup {
        Err(_) => {
            locator.error = Some(dns.timeout_text());
            return (locator, Vec::new());
        }
        Ok(Err(err)) => {
            locator.error = Some(dns.error_text(&query, "SRV", &err));
            return (locator, Vec::new());
        }
        Ok(Ok(lookup)) => lookup,
    };

    let mut srvs: Vec<(u16, u16, String)> = records
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::SRV(srv) => Some((srv.priority, srv.weight, srv.target.to_ascii())),
            _ => None,
        })
        .collect();
    // RFC 2782: lowest priority first; within a priority, heavier first (a
    // fixed order instead of the weighted random pick, so runs are comparable).
    srvs.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));

    let mut names = Vec::new();
    let mut seen = HashSet::new();
    let mut says_unavailable = false;
    for (_, _, target) in srvs {
        let host = target.trim_end_matches('.').to_string();
        if host.is_empty() {
            // Target "." means "this service is decidedly not available".
            says_unavailable = true;
            continue;
        }
        if seen.insert(host.to_ascii_lowercase()) {
            names.push(host);
        }
    }
    locator.candidates = names.clone();
    if names.is_empty() {
        locator.error = Some(if says_unavailable {
            format!("{query} says no DC offers LDAP (SRV target \".\")")
        } else {
            format!("{query} has no SRV records")
        });
        return (locator, Vec::new());
    }
    locator.not_probed = beyond_limit(&mut names, cap);

    // SRV targets are absolute names; keep them so.
    let candidates = resolve_all(names.into_iter().map(|n| format!("{n}.")).collect(), Some(dns)).await;
    let candidates: Vec<DcCandidate> = candidates
        .into_iter()
        .map(|mut c| {
            c.host = c.host.trim_end_matches('.').to_string();
            c
        })
        .collect();
    if candidates.iter().all(|c| c.addresses.is_empty()) {
        locator.error = Some(no_address_error(&candidates));
    }
    (locator, candidates)
}

/// The names past the first `cap`, taken off the list, each saying why it
/// is not probed.
fn beyond_limit(names: &mut Vec<String>, cap: usize) -> Vec<String> {
    let rest = names.split_off(cap.min(names.len()));
    rest.into_iter().map(|n| format!("{n} (not probed: only the first {cap} located DCs are resolved)")).collect()
}

fn no_address_error(candidates: &[DcCandidate]) -> String {
    match candidates {
        [only] => format!("{} did not resolve to an address", only.host),
        _ => format!("none of the {} DCs resolved to an address", candidates.len()),
    }
}

/// Resolve every name at once (IP literals pass through), keeping the order.
async fn resolve_all(names: Vec<String>, dns: Option<Dns>) -> Vec<DcCandidate> {
    let mut tasks = JoinSet::new();
    for (index, name) in names.iter().enumerate() {
        let name = name.clone();
        let dns = dns.clone();
        tasks.spawn(async move { (index, resolve_one(name, dns).await) });
    }
    let mut slots: Vec<Option<DcCandidate>> = vec![None; names.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, candidate)) = joined {
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(candidate);
            }
        }
    }
    slots
        .into_iter()
        .zip(names)
        .map(|(slot, host)| {
            // Only a panic in the task leaves a slot empty; record it rather
            // than drop the DC.
            slot.unwrap_or_else(|| DcCandidate {
                host,
                addresses: Vec::new(),
                resolve_error: Some("resolving did not complete".to_string()),
            })
        })
        .collect()
}

async fn resolve_one(host: String, dns: Option<Dns>) -> DcCandidate {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return DcCandidate { host, addresses: vec![ip], resolve_error: None };
    }
    let Some(dns) = dns else {
        return DcCandidate { host, addresses: Vec::new(), resolve_error: Some("no DNS resolver".to_string()) };
    };
    let resolver = match &dns.resolver {
        Ok(resolver) => resolver.clone(),
        Err(error) => return DcCandidate { host, addresses: Vec::new(), resolve_error: Some(error.clone()) },
    };
    let (addresses, resolve_error) = match tokio::time::timeout(dns.timeout, resolver.lookup_ip(host.as_str())).await {
        Err(_) => (Vec::new(), Some(dns.timeout_text())),
        Ok(Err(err)) => (Vec::new(), Some(dns.error_text(host.trim_end_matches('.'), "A/AAAA", &err))),
        Ok(Ok(lookup)) => {
            let mut addresses: Vec<IpAddr> = Vec::new();
            for ip in lookup.iter() {
                if !addresses.contains(&ip) {
                    addresses.push(ip);
                }
            }
            if addresses.is_empty() {
                let name = host.trim_end_matches('.');
                (addresses, Some(format!("{name} has no A or AAAA records")))
            } else {
                (addresses, None)
            }
        }
    };
    DcCandidate { host, addresses, resolve_error }
}

/// A resolver bound to one server (or the system's), with the words that
/// name it in messages.
#[derive(Clone)]
struct Dns {
    resolver: Result<TokioResolver, String>,
    /// `DNS server 10.0.0.1:53` or `the system resolver (10.0.0.1, 10.0.0.2)`.
    label: String,
    timeout: Duration,
}

impl Dns {
    fn new(server: Option<SocketAddr>, timeout: Duration) -> Dns {
        match server {
            Some(server) => {
                let mut ns = NameServerConfig::udp_and_tcp(server.ip());
                for connection in &mut ns.connections {
                    connection.port = server.port();
                }
                let config = ResolverConfig::from_name_servers(vec![ns]);
                let mut options = ResolverOpts::default();
                // Ask exactly this server what it holds: no hosts file.
                options.use_hosts_file = ResolveHosts::Never;
                Dns { resolver: build(config, options, timeout), label: format!("DNS server {server}"), timeout }
            }
            None => match hickory_resolver::system_conf::read_system_conf() {
                Ok((config, options)) => {
                    let servers: Vec<String> = config.name_servers().iter().map(|ns| ns.ip.to_string()).collect();
                    let label = if servers.is_empty() {
                        "the system resolver".to_string()
                    } else {
                        format!("the system resolver ({})", servers.join(", "))
                    };
                    Dns { resolver: build(config, options, timeout), label, timeout }
                }
                Err(err) => Dns {
                    resolver: Err(format!("the system DNS configuration could not be read: {err}")),
                    label: "the system resolver".to_string(),
                    timeout,
                },
            },
        }
    }

    fn timeout_text(&self) -> String {
        format!("no answer from {} within {}", self.label, human_std_duration(self.timeout))
    }

    /// A lookup error in words: what was asked, of whom, and what came back.
    fn error_text(&self, name: &str, kind: &str, err: &NetError) -> String {
        let from = &self.label;
        if err.is_nx_domain() {
            return format!("{name}: the name does not exist (NXDOMAIN from {from})");
        }
        match err {
            NetError::Dns(DnsError::NoRecordsFound(no)) if no.response_code == ResponseCode::NoError => {
                format!("{name}: the name exists but has no {kind} records ({from})")
            }
            NetError::Dns(DnsError::NoRecordsFound(no)) => {
                format!("{name}: no {kind} records ({} from {from})", no.response_code)
            }
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
                format!("{name}: {from} failed to answer (SERVFAIL)")
            }
            NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => {
                format!("{name}: {from} refused to answer (REFUSED)")
            }
            NetError::Dns(DnsError::ResponseCode(code)) => format!("{name}: {from} answered {code}"),
            NetError::Timeout => self.timeout_text(),
            NetError::Io(io) => format!("{name}: could not query {from}: {}", describe_io_error(io)),
            NetError::NoConnections => format!("{name}: no connection to {from}"),
            other => format!("{name}: lookup through {from} failed: {other}"),
        }
    }
}

fn build(config: ResolverConfig, mut options: ResolverOpts, timeout: Duration) -> Result<TokioResolver, String> {
    // One try per server within the operation timeout (the outer timeout
    // bounds the whole lookup anyway); both A and AAAA, since a DC reachable
    // only over IPv6 is still a DC.
    options.timeout = timeout;
    options.attempts = 1;
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    // Each locate asks afresh; a cache would only hide changes between runs.
    options.cache_size = 0;
    TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .map_err(|err| format!("could not set up the DNS resolver: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn target(locator: Locator) -> DomainTarget {
        DomainTarget {
            connector: "corp.example".to_string(),
            domain: "corp.example".to_string(),
            partition_dn: "DC=corp,DC=example".to_string(),
            account_user: "MSOL_1".to_string(),
            account_domain: "CORP".to_string(),
            locator,
            dns_server: None,
        }
    }

    #[tokio::test]
    async fn ip_literals_need_no_dns_and_max_dcs_does_not_cut_the_list() {
        let list = vec![" 10.0.0.1 ".to_string(), "10.0.0.1".to_string(), "::1".to_string(), "10.0.0.3".to_string()];
        // max_dcs counts DCs that accept TCP, later; locating keeps them all.
        let opts = AdOptions { max_dcs: 1, ..AdOptions::default() };
        let (locator, candidates) = locate(&target(Locator::PreferredDcs(list)), &opts).await;
        assert_eq!(locator.method, "preferred-dcs");
        assert_eq!(locator.candidates, vec!["10.0.0.1", "::1", "10.0.0.3"]);
        assert_eq!(locator.error, None);
        assert_eq!(candidates.len(), 3);
        assert_eq!(candidates[0].addresses, vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))]);
        assert_eq!(candidates[1].host, "::1");
        assert!(locator.not_probed.is_empty());
    }

    #[tokio::test]
    async fn a_huge_list_resolves_only_the_first_names() {
        let list: Vec<String> = (1..=40).map(|i| format!("10.0.1.{i}")).collect();
        let (locator, candidates) = locate(&target(Locator::Configured(list)), &AdOptions::default()).await;
        assert_eq!(candidates.len(), RESOLVE_LIMIT);
        assert_eq!(locator.candidates.len(), 40);
        assert_eq!(locator.not_probed.len(), 40 - RESOLVE_LIMIT);
        assert_eq!(
            locator.not_probed[0],
            format!(
                "10.0.1.{} (not probed: only the first {RESOLVE_LIMIT} located DCs are resolved)",
                RESOLVE_LIMIT + 1
            )
        );
    }

    #[tokio::test]
    async fn empty_list_is_an_error() {
        let (locator, candidates) =
            locate(&target(Locator::Configured(vec![" ".to_string()])), &AdOptions::default()).await;
        assert_eq!(locator.method, "configured");
        assert_eq!(locator.error.as_deref(), Some("the configured DC list is empty"));
        assert!(candidates.is_empty());
    }

    #[tokio::test]
    async fn silent_dns_server_times_out_in_words() {
        // A UDP socket that never answers, and no TCP listener on its port:
        // the UDP query times out.
        let silent = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind udp");
        let server = silent.local_addr().expect("addr");
        let opts = AdOptions { operation_timeout: Duration::from_millis(400), ..AdOptions::default() };
        let started = Instant::now();
        let (locator, candidates) = locate(&target(Locator::DnsSrv { server: Some(server) }), &opts).await;
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(candidates.is_empty());
        assert_eq!(locator.query, "_ldap._tcp.dc._msdcs.corp.example");
        assert_eq!(locator.dns_server, Some(server.to_string()));
        assert_eq!(locator.error, Some(format!("no answer from DNS server {server} within 400 ms")));
        drop(silent);
    }
}

//! DC location, port probes and the DRSUAPI path against the real Samba lab
//! (two AD DCs in network namespace `phslab`, see lab/README.md).
//!
//! Run inside the namespace, with the lab up:
//!
//! ```sh
//! lab/lab.sh up
//! ip netns exec phslab cargo test -p phs-sources --test ad_network_lab -- --ignored --nocapture
//! ```
//!
//! Each test stops with a clear message when the lab is missing or when it is
//! not running inside the namespace; none passes without having talked to
//! the DCs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use phs_sources::ad::epm::probe_drsuapi;
use phs_sources::ad::locate::locate;
use phs_sources::ad::tcp::{probe_ports, PHS_PORTS};
use phs_sources::ad::{AdOptions, DomainTarget, Locator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One forest's facts from `.lab/lab.json`.
struct Forest {
    domain: String,
    dc_host: String,
    ip: IpAddr,
    dns_port: u16,
}

impl Forest {
    fn dns(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.dns_port)
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lab's facts, after checking that the lab is there and that this
/// process runs inside its namespace. Panics with what to do otherwise.
fn lab() -> (Forest, Forest) {
    let root = repo_root();
    let facts = root.join(".lab/lab.json");
    let text = std::fs::read_to_string(&facts).unwrap_or_else(|e| {
        panic!(
            "the Samba lab is not set up ({}: {e}). Start it with `lab/lab.sh install && lab/lab.sh up` (as root), \
             then run `ip netns exec phslab cargo test -p phs-sources --test ad_network_lab -- --ignored`",
            facts.display()
        )
    });
    if !root.join(".lab/ready").exists() {
        panic!("the Samba lab is provisioned but not up (.lab/ready is missing): run `lab/lab.sh up`");
    }
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", facts.display()));
    let netns = json["netns"].as_str().unwrap_or("phslab").to_string();
    let here = Command::new("ip")
        .args(["netns", "identify"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match here {
        Ok(name) if name == netns => {}
        Ok(name) => panic!(
            "these tests must run inside network namespace {netns} (this process is in {:?}): \
             `ip netns exec {netns} cargo test -p phs-sources --test ad_network_lab -- --ignored`",
            if name.is_empty() { "the default namespace" } else { name.as_str() }
        ),
        Err(e) => panic!("cannot tell which network namespace this is (`ip netns identify`: {e})"),
    }
    let forest = |key: &str| {
        let f = &json["forests"][key];
        let field = |name: &str| {
            f[name].as_str().unwrap_or_else(|| panic!("{}: forests.{key}.{name} missing", facts.display())).to_string()
        };
        Forest {
            domain: field("domain"),
            dc_host: field("dc_host"),
            ip: field("ip").parse().unwrap_or_else(|e| panic!("forests.{key}.ip: {e}")),
            dns_port: f["dns_port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(53),
        }
    };
    (forest("lab1"), forest("lab2"))
}

/// Add `ip/8` to `lo` in this namespace unless it is there. Other tests (and
/// other engineers' tests) may race to add the same alias; "File exists" is
/// success.
fn ensure_loopback_alias(ip: Ipv4Addr) {
    let shown =
        Command::new("ip").args(["-o", "-4", "addr", "show", "dev", "lo"]).output().expect("run `ip addr show`");
    let listing = String::from_utf8_lossy(&shown.stdout);
    if listing.contains(&format!("inet {ip}/")) {
        return;
    }
    let added =
        Command::new("ip").args(["addr", "add", &format!("{ip}/8"), "dev", "lo"]).output().expect("run `ip addr add`");
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success() || stderr.contains("File exists"), "ip addr add {ip}/8 dev lo failed: {stderr}");
}

fn target(forest: &Forest, locator: Locator, dns_server: Option<SocketAddr>) -> DomainTarget {
    DomainTarget {
        connector: forest.domain.clone(),
        domain: forest.domain.clone(),
        partition_dn: String::new(),
        account_user: "svc-direct".to_string(),
        account_domain: String::new(),
        locator,
        dns_server,
    }
}

fn opts() -> AdOptions {
    AdOptions {
        connect_timeout: Duration::from_secs(3),
        operation_timeout: Duration::from_secs(5),
        ..AdOptions::default()
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn dns_srv_finds_each_forest_dc() {
    let (lab1, lab2) = lab();
    for forest in [&lab1, &lab2] {
        let t = target(forest, Locator::DnsSrv { server: Some(forest.dns()) }, None);
        let (locator, candidates) = locate(&t, &opts()).await;
        println!("dns-srv {}: {locator:?} -> {candidates:?}", forest.domain);
        assert_eq!(locator.method, "dns-srv");
        assert_eq!(locator.query, format!("_ldap._tcp.dc._msdcs.{}", forest.domain));
        assert_eq!(locator.dns_server, Some(forest.dns().to_string()));
        assert_eq!(locator.error, None);
        assert_eq!(candidates.len(), 1, "{candidates:?}");
        assert!(candidates[0].host.eq_ignore_ascii_case(&forest.dc_host), "{candidates:?}");
        assert_eq!(candidates[0].addresses, vec![forest.ip]);
        assert_eq!(candidates[0].resolve_error, None);
        assert!(locator.candidates[0].eq_ignore_ascii_case(&forest.dc_host));
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn dns_srv_for_a_missing_domain_says_it_does_not_exist() {
    let (lab1, _) = lab();
    let mut t = target(&lab1, Locator::DnsSrv { server: Some(lab1.dns()) }, None);
    t.domain = format!("nosuch.{}", lab1.domain);
    let (locator, candidates) = locate(&t, &opts()).await;
    println!("dns-srv {}: {locator:?}", t.domain);
    assert!(candidates.is_empty());
    assert!(locator.candidates.is_empty());
    let error = locator.error.expect("an error for a missing domain");
    assert!(error.contains("the name does not exist"), "{error}");
    assert!(error.contains(&format!("_ldap._tcp.dc._msdcs.nosuch.{}", lab1.domain)), "{error}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn preferred_dcs_with_an_address_and_a_name() {
    let (lab1, lab2) = lab();
    let list = vec![lab2.ip.to_string(), lab1.dc_host.clone(), format!("nosuch.{}", lab1.domain)];
    let t = target(&lab1, Locator::PreferredDcs(list), Some(lab1.dns()));
    let (locator, candidates) = locate(&t, &opts()).await;
    println!("preferred-dcs: {locator:?} -> {candidates:?}");
    assert_eq!(locator.method, "preferred-dcs");
    assert_eq!(locator.error, None, "two of three resolve");
    assert_eq!(candidates.len(), 3);
    assert_eq!(candidates[0].addresses, vec![lab2.ip]);
    assert_eq!(candidates[1].addresses, vec![lab1.ip]);
    assert!(candidates[2].addresses.is_empty());
    let error = candidates[2].resolve_error.as_deref().expect("the missing name has an error");
    assert!(error.contains("the name does not exist"), "{error}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn phs_ports_are_open_on_both_dcs() {
    let (lab1, lab2) = lab();
    for forest in [&lab1, &lab2] {
        let started = Instant::now();
        let probes = probe_ports(&forest.dc_host, forest.ip, PHS_PORTS, Duration::from_secs(3)).await;
        println!("ports {} ({:?} total): {probes:?}", forest.ip, started.elapsed());
        assert_eq!(probes.len(), 4);
        for (probe, &(port, service)) in probes.iter().zip(PHS_PORTS) {
            assert_eq!(probe.port, port);
            assert_eq!(probe.service, service);
            assert_eq!(probe.address, forest.ip.to_string());
            assert!(probe.open, "{probe:?}");
            assert_eq!(probe.error, None);
        }
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_stopped_dc_refuses_every_port_quickly() {
    let _ = lab();
    let stopped = Ipv4Addr::new(127, 0, 0, 11);
    ensure_loopback_alias(stopped);
    let started = Instant::now();
    let probes = probe_ports("stopped-dc", IpAddr::V4(stopped), PHS_PORTS, Duration::from_secs(3)).await;
    let took = started.elapsed();
    println!("ports {stopped} ({took:?} total): {probes:?}");
    assert!(took < Duration::from_secs(1), "refusals must not wait for the timeout: {took:?}");
    for probe in &probes {
        assert!(!probe.open, "{probe:?}");
        assert_eq!(probe.error.as_deref(), Some("connection refused"), "{probe:?}");
    }
    let rpc = probe_drsuapi(IpAddr::V4(stopped), Duration::from_secs(3)).await;
    println!("drsuapi {stopped}: {rpc:?}");
    assert!(!rpc.endpoint_mapper_ok);
    assert!(rpc.error.as_deref().is_some_and(|e| e.starts_with("endpoint mapper refused the connection")), "{rpc:?}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn drsuapi_path_works_on_both_dcs() {
    let (lab1, lab2) = lab();
    for forest in [&lab1, &lab2] {
        let rpc = probe_drsuapi(forest.ip, Duration::from_secs(3)).await;
        println!("drsuapi {}: {rpc:?}", forest.ip);
        assert_eq!(rpc.error, None, "{rpc:?}");
        assert!(rpc.endpoint_mapper_ok);
        let port = rpc.drsuapi_port.expect("a DRSUAPI port");
        assert!(port >= 1024, "dynamic port expected, got {port}");
        assert!(rpc.drsuapi_reachable);
    }
}

/// Copy one connection to `to` both ways until either side closes.
async fn forward(mut inbound: TcpStream, to: SocketAddr) {
    if let Ok(mut outbound) = TcpStream::connect(to).await {
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn endpoint_mapper_blocked_while_ldap_is_open() {
    let (lab1, _) = lab();
    // A "DC" at 127.0.0.12 that only forwards LDAP to lab1: a firewall that
    // lets 389 through and drops nothing else but has nothing on 135.
    let front = Ipv4Addr::new(127, 0, 0, 12);
    ensure_loopback_alias(front);
    let listener = TcpListener::bind((front, 389)).await.unwrap_or_else(|e| panic!("bind {front}:389: {e}"));
    let upstream = SocketAddr::new(lab1.ip, 389);
    let forwarder = tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            tokio::spawn(forward(inbound, upstream));
        }
    });

    // Prove the forwarder reaches a real LDAP server: an anonymous LDAPv3
    // simple bind (message id 1) gets a BindResponse back.
    let mut ldap = TcpStream::connect((front, 389)).await.expect("connect to the forwarder");
    let bind = [0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00];
    ldap.write_all(&bind).await.expect("send the LDAP bind");
    let mut answer = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), ldap.read(&mut answer))
        .await
        .expect("LDAP answer within 5 s")
        .expect("read the LDAP answer");
    assert!(n > 7 && answer[0] == 0x30 && answer[..n].contains(&0x61), "not a BindResponse: {:02x?}", &answer[..n]);
    drop(ldap);

    let probes = probe_ports("front", IpAddr::V4(front), PHS_PORTS, Duration::from_secs(3)).await;
    println!("ports {front}: {probes:?}");
    let by_port = |port: u16| probes.iter().find(|p| p.port == port).expect("probed");
    assert!(by_port(389).open, "{probes:?}");
    assert!(!by_port(135).open, "{probes:?}");
    assert_eq!(by_port(135).error.as_deref(), Some("connection refused"));

    let rpc = probe_drsuapi(IpAddr::V4(front), Duration::from_secs(3)).await;
    println!("drsuapi {front}: {rpc:?}");
    assert!(!rpc.endpoint_mapper_ok);
    assert_eq!(rpc.drsuapi_port, None);
    assert!(!rpc.drsuapi_reachable);
    assert_eq!(rpc.error.as_deref(), Some("endpoint mapper refused the connection (nothing listens on TCP 135)"));

    forwarder.abort();
}

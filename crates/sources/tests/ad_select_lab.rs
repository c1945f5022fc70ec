//! DC selection and reachability against the real Samba lab (lab/README.md):
//! which DCs are probed, which one the LDAP work goes to, and how silent,
//! slow, filtered and duplicated DCs are told apart, with real faults in the
//! lab's network namespace (silent listeners, delaying forwarders, nftables
//! drop rules), each removed when its test ends, also on failure.
//!
//! ```sh
//! cargo test -p phs-sources --test ad_select_lab --no-run
//! flock /tmp/phslab.lock ip netns exec phslab cargo test -p phs-sources --test ad_select_lab -- --ignored
//! ```
//!
//! A test that drops traffic to the real DC holds [`REAL_DC`] for writing,
//! so no other test of this file talks to that DC meanwhile (they hold it
//! for reading); listeners and forwarders use addresses of their own
//! (127.0.0.6x, all local in the namespace's 127/8).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phs_model::DomainFacts;
use phs_sources::ad::bind_gate::BindGate;
use phs_sources::ad::check::{check_all, check_domain};
use phs_sources::ad::locate::DcCandidate;
use phs_sources::ad::select::select;
use phs_sources::ad::{AdOptions, DomainTarget, Locator, Secret, TlsOptions};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Written by a test that faults the real lab DC (nftables on its address),
/// read by every other test that talks to it. tokio's lock: each test has
/// its own runtime, and the guard is held across awaits.
static REAL_DC: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lab's facts after checking that it is up and that this process runs
/// inside its namespace.
fn lab() -> Value {
    let path = repo_root().join(".lab/lab.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; start the lab with `lab/lab.sh install && lab/lab.sh up`", path.display())
    });
    assert!(path.with_file_name("ready").exists(), "the lab is not up (.lab/ready missing): run `lab/lab.sh up`");
    use std::os::unix::fs::MetadataExt;
    let here = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino());
    let lab = std::fs::metadata("/run/netns/phslab").map(|m| m.ino());
    match (here, lab) {
        (Ok(h), Ok(l)) if h == l => {}
        _ => panic!(
            "not inside the lab's namespace: `ip netns exec phslab cargo test -p phs-sources --test ad_select_lab -- \
             --ignored`"
        ),
    }
    serde_json::from_str(&text).expect("lab.json is JSON")
}

struct Forest(Value);

impl Forest {
    fn s(&self, key: &str) -> String {
        self.0[key].as_str().unwrap_or_else(|| panic!("lab.json forest lacks {key}")).to_string()
    }
    fn ip(&self) -> IpAddr {
        self.s("ip").parse().expect("ip")
    }
    fn dns(&self) -> SocketAddr {
        SocketAddr::new(self.ip(), 53)
    }
    fn password(&self, account: &str) -> String {
        self.0["accounts"][account]["password"].as_str().expect("password").to_string()
    }
    fn target(&self, user: &str, dcs: &[&str]) -> DomainTarget {
        DomainTarget {
            connector: self.s("domain"),
            domain: self.s("domain"),
            partition_dn: self.s("base_dn"),
            account_user: user.to_string(),
            account_domain: self.s("netbios"),
            locator: Locator::Configured(dcs.iter().map(|d| d.to_string()).collect()),
            dns_server: Some(self.dns()),
        }
    }
    fn opts(&self) -> AdOptions {
        AdOptions {
            connect_timeout: Duration::from_secs(1),
            operation_timeout: Duration::from_secs(3),
            tls: TlsOptions {
                ca_file: Some(PathBuf::from(self.0["tls"]["ca_file"].as_str().expect("ca"))),
                verify: true,
            },
            allow_plain_ldap: false,
            max_dcs: 3,
            ..AdOptions::default()
        }
    }
}

fn forests() -> (Forest, Forest) {
    let lab = lab();
    (Forest(lab["forests"]["lab1"].clone()), Forest(lab["forests"]["lab2"].clone()))
}

// ------------------------------------------------------------------ faults

/// A "DC" that accepts TCP on `ports` of `ip` and never says a word.
struct Silent(Vec<tokio::task::JoinHandle<()>>);

impl Silent {
    async fn on(ip: Ipv4Addr, ports: &[u16]) -> Silent {
        let mut tasks = Vec::new();
        for &port in ports {
            let listener = TcpListener::bind((ip, port)).await.unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
            tasks.push(tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((socket, _)) = listener.accept().await {
                    held.push(socket);
                }
            }));
        }
        Silent(tasks)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// How a forwarder treats the connections it accepts.
#[derive(Clone, Copy)]
enum Relay {
    /// Forward every connection, holding each chunk from the DC this long.
    Delay(Duration),
    /// Forward the first `n` connections, then accept and stay silent.
    First(usize),
    /// Forward the first `n` requests of each connection (the client sends
    /// one LDAP request at a time and waits), then pass nothing on.
    Requests(usize),
}

/// A "DC" at `ip` that relays each port to the real DC at `to`.
struct Forwarder(Vec<tokio::task::JoinHandle<()>>);

impl Forwarder {
    async fn on(ip: Ipv4Addr, ports: &[(u16, Relay)], to: IpAddr) -> Forwarder {
        let mut tasks = Vec::new();
        for &(port, relay) in ports {
            let listener = TcpListener::bind((ip, port)).await.unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
            let upstream = SocketAddr::new(to, port);
            tasks.push(tokio::spawn(async move {
                let mut seen = 0usize;
                let mut held = Vec::new();
                while let Ok((inbound, _)) = listener.accept().await {
                    seen += 1;
                    match relay {
                        Relay::First(n) if seen > n => held.push(inbound),
                        Relay::First(_) => {
                            tokio::spawn(relay_plain(inbound, upstream));
                        }
                        Relay::Delay(d) => {
                            tokio::spawn(relay_delayed(inbound, upstream, d));
                        }
                        Relay::Requests(n) => {
                            tokio::spawn(relay_requests(inbound, upstream, n));
                        }
                    }
                }
            }));
        }
        Forwarder(tasks)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

async fn relay_plain(mut inbound: TcpStream, to: SocketAddr) {
    if let Ok(mut outbound) = TcpStream::connect(to).await {
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}

/// Client to DC at once; DC to client one chunk at a time, each held `delay`:
/// a DC (or a link) that is slow but works.
async fn relay_delayed(inbound: TcpStream, to: SocketAddr, delay: Duration) {
    let Ok(outbound) = TcpStream::connect(to).await else { return };
    let (mut client_read, mut client_write) = inbound.into_split();
    let (mut dc_read, mut dc_write) = outbound.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut dc_write).await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match dc_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                tokio::time::sleep(delay).await;
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    up.abort();
}

/// The first `n` reads from the client reach the DC, the rest are
/// swallowed: a DC that stops answering in the middle of a session.
async fn relay_requests(inbound: TcpStream, to: SocketAddr, n: usize) {
    let Ok(outbound) = TcpStream::connect(to).await else { return };
    let (mut client_read, mut client_write) = inbound.into_split();
    let (mut dc_read, mut dc_write) = outbound.into_split();
    let down = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut dc_read, &mut client_write).await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut passed = 0usize;
    loop {
        match client_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(k) if passed < n => {
                passed += 1;
                if dc_write.write_all(&buf[..k]).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
        }
    }
    down.abort();
}

/// An nftables table of its own in the namespace, deleted when dropped.
struct NftFault(String);

impl NftFault {
    /// Drop (no answer at all: a filtering firewall) TCP to `ip` on `ports`.
    fn drop_tcp(ip: IpAddr, ports: &[u16]) -> NftFault {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("phs_select_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let set = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        let rules = format!(
            "table inet {name} {{\n chain output {{ type filter hook output priority -10; policy accept; ip daddr {ip} tcp \
             dport {{ {set} }} drop; }}\n}}\n"
        );
        let mut child = Command::new("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().expect("run nft");
        child.stdin.take().expect("stdin").write_all_sync(rules.as_bytes());
        let status = child.wait().expect("nft");
        assert!(status.success(), "nft -f failed for {rules}");
        NftFault(name)
    }
}

impl Drop for NftFault {
    fn drop(&mut self) {
        let _ = Command::new("nft").args(["delete", "table", "inet", &self.0]).status();
    }
}

trait WriteAllSync {
    fn write_all_sync(self, bytes: &[u8]);
}

impl WriteAllSync for std::process::ChildStdin {
    fn write_all_sync(mut self, bytes: &[u8]) {
        use std::io::Write;
        self.write_all(bytes).expect("write to nft");
    }
}

fn ping_of<'a>(d: &'a DomainFacts, host: &str) -> &'a phs_model::LdapPing {
    let dc = d.dcs.iter().find(|dc| dc.host == host).unwrap_or_else(|| panic!("no DC {host} in {:#?}", d.dcs));
    dc.ldap_ping.as_ref().unwrap_or_else(|| panic!("{host} has no LDAP ping: {dc:#?}"))
}

// ------------------------------------------------------------------ tests

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_silent_dc_listed_first_does_not_hide_the_healthy_dc() {
    let _shared = REAL_DC.read().await;
    let (lab1, _) = forests();
    let dc1 = lab1.s("dc_host");
    // Silent on both LDAP ports; and silent on 389 with 636 refused.
    for (ip, ports) in [(Ipv4Addr::new(127, 0, 0, 61), &[389u16, 636][..]), (Ipv4Addr::new(127, 0, 0, 62), &[389][..])]
    {
        let _silent = Silent::on(ip, ports).await;
        let secret = Secret::new(lab1.password("svc-direct"));
        let opts = lab1.opts();
        let started = Instant::now();
        let ip_text = ip.to_string();
        let d =
            check_domain(&lab1.target("svc-direct", &[&ip_text, &dc1]), Some(&secret), &opts, &BindGate::new()).await;
        let took = started.elapsed();
        println!("{ip} {ports:?} ({took:?}): skipped {:?}, used {:?}", d.ldap_skipped, d.ldap.as_ref().map(|l| &l.dc));
        let ldap = d.ldap.as_ref().expect("LDAP facts");
        assert!(ldap.dc.starts_with(&dc1), "the healthy DC was used: {}", ldap.dc);
        assert!(ldap.bind.ok && ldap.bind.tls_verified, "{:?}", ldap.bind);
        assert!(ldap.account.is_some(), "the reads went to the healthy DC too");
        let silent = ping_of(&d, &ip_text);
        assert!(!silent.ok, "{silent:?}");
        assert!(silent.error.as_deref().is_some_and(|e| e.contains("timed out after 3 s")), "{silent:?}");
        assert!(silent.elapsed_ms >= 3000, "the read waited its operation timeout: {silent:?}");
        assert_eq!(d.ldap_skipped.len(), 1, "{:?}", d.ldap_skipped);
        assert_eq!(d.ldap_skipped[0].dc, ip_text);
        assert!(d.ldap_skipped[0].reason.contains("did not answer LDAP"), "{:?}", d.ldap_skipped);
        assert!(ping_of(&d, &dc1).ok);
        // The ping runs on both at once: one operation timeout, not one per DC.
        assert!(took < Duration::from_secs(9), "{took:?}");
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_dc_that_stops_answering_after_the_ping_is_passed_over() {
    let _shared = REAL_DC.read().await;
    let (lab1, _) = forests();
    let dc1 = lab1.s("dc_host");
    // The "DC" at .63 answers the port probe and the LDAP ping (the first
    // two connections on 389, the probe's on 636 are relayed to lab1), then
    // accepts and says nothing: LDAPS and StartTLS time out in the handshake.
    let front = Ipv4Addr::new(127, 0, 0, 63);
    let _relay = Forwarder::on(front, &[(389, Relay::First(2)), (636, Relay::First(1))], lab1.ip()).await;
    let secret = Secret::new(lab1.password("svc-direct"));
    let opts = lab1.opts();
    let candidates = vec![
        // Named as the lab DC so its certificate would verify, were it answering.
        DcCandidate { host: dc1.clone(), addresses: vec![IpAddr::V4(front)], resolve_error: None },
        DcCandidate { host: dc1.clone(), addresses: vec![lab1.ip()], resolve_error: None },
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let target = lab1.target("svc-direct", &[]);
    let chosen = select(&target, candidates, Some(&secret), &opts, &BindGate::new(), deadline).await;
    println!("skipped {:?}; used {:?}", chosen.skipped, chosen.ldap.as_ref().map(|l| (&l.dc, &l.bind)));
    assert_eq!(chosen.dcs.len(), 2, "two addresses, two DCs");
    assert!(chosen.dcs[0].ldap_ping.as_ref().is_some_and(|p| p.ok), "{:?}", chosen.dcs[0].ldap_ping);
    let ldap = chosen.ldap.expect("LDAP facts");
    assert_eq!(ldap.dc, format!("{dc1} ({})", lab1.ip()));
    assert!(ldap.bind.ok, "{:?}", ldap.bind);
    assert_eq!(chosen.skipped.len(), 1, "{:?}", chosen.skipped);
    let reason = &chosen.skipped[0].reason;
    assert!(chosen.skipped[0].dc.contains("127.0.0.63"), "{:?}", chosen.skipped);
    assert!(reason.contains("stopped answering") && reason.contains("TLS handshake timed out after 3 s"), "{reason}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_slow_dc_is_reported_slow_not_as_not_answering_tls() {
    let _shared = REAL_DC.read().await;
    let (lab1, _) = forests();
    let dc1 = lab1.s("dc_host");
    // Every chunk from the DC held longer than the 1 s connect timeout (a
    // flight of a few TLS records arrives as one or two chunks), well within
    // the 5 s operation timeout: the handshake and each operation must be
    // given the operation timeout.
    for (delay, port) in [(Duration::from_millis(1200), 64u8), (Duration::from_millis(1600), 67)] {
        let front = Ipv4Addr::new(127, 0, 0, port);
        let relay = Relay::Delay(delay);
        let _relay = Forwarder::on(front, &[(389, relay), (636, relay)], lab1.ip()).await;
        let secret = Secret::new(lab1.password("svc-direct"));
        let mut opts = lab1.opts();
        opts.operation_timeout = Duration::from_secs(5);
        let candidates =
            vec![DcCandidate { host: dc1.clone(), addresses: vec![IpAddr::V4(front)], resolve_error: None }];
        let deadline = Instant::now() + Duration::from_secs(120);
        let chosen =
            select(&lab1.target("svc-direct", &[]), candidates, Some(&secret), &opts, &BindGate::new(), deadline).await;
        let ping = chosen.dcs[0].ldap_ping.clone().expect("ping");
        let ldap = chosen.ldap.expect("LDAP facts");
        println!("delay {delay:?}: ping {ping:?}; bind {:?}", ldap.bind);
        assert!(ping.ok, "{ping:?}");
        assert!(ping.elapsed_ms >= delay.as_millis() as u64, "{ping:?}");
        assert!(ldap.bind.ok, "a slow DC still binds: {:?}", ldap.bind);
        assert_eq!(ldap.bind.transport, "ldaps");
        assert!(ldap.bind.tls_verified);
        assert!(
            ldap.bind.elapsed_ms >= 2 * delay.as_millis() as u64,
            "handshake and bind both waited: {:?}",
            ldap.bind
        );
        assert!(chosen.skipped.is_empty(), "{:?}", chosen.skipped);
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn max_dcs_counts_dcs_that_accept_tcp() {
    let _shared = REAL_DC.read().await;
    let (lab1, lab2) = forests();
    let dc1 = lab1.s("dc_host");
    let secret = Secret::new(lab1.password("svc-direct"));
    let unresolved = format!("gone.{}", lab1.s("domain"));
    // 127.0.0.65: nothing listens (refused); 127.0.0.66: dropped (filtered).
    let _filtered = NftFault::drop_tcp("127.0.0.66".parse().expect("ip"), &[389, 636, 88, 135]);
    let mut opts = lab1.opts();
    opts.max_dcs = 1;
    let list = [unresolved.as_str(), "127.0.0.65", "127.0.0.66", dc1.as_str(), "127.0.0.3"];
    let d = check_domain(&lab1.target("svc-direct", &list), Some(&secret), &opts, &BindGate::new()).await;
    let hosts: Vec<&str> = d.dcs.iter().map(|dc| dc.host.as_str()).collect();
    println!("dcs {hosts:?}; not probed {:?}", d.locator.not_probed);
    assert_eq!(hosts, [unresolved.as_str(), "127.0.0.65", "127.0.0.66", dc1.as_str()]);
    assert!(d.dcs[0].resolve_error.as_deref().is_some_and(|e| e.contains("does not exist")), "{:?}", d.dcs[0]);
    assert!(d.dcs[0].ports.is_empty(), "an unresolved name is not probed");
    assert!(d.dcs[1].ports.iter().all(|p| !p.open && p.error.as_deref() == Some("connection refused")));
    assert!(d.dcs[2].ports.iter().all(|p| !p.open && p.error.as_deref().is_some_and(|e| e.contains("timed out"))));
    assert!(d.dcs[3].ports.iter().any(|p| p.port == 389 && p.open));
    assert_eq!(d.locator.not_probed.len(), 1, "{:?}", d.locator.not_probed);
    assert!(d.locator.not_probed[0].starts_with("127.0.0.3 (not probed: 1 DC(s) already accepted TCP"));
    assert!(d.ldap.as_ref().is_some_and(|l| l.dc.starts_with(&dc1) && l.bind.ok), "{:?}", d.ldap);

    // Two slots: lab2's DC accepts TCP too and is probed (it serves
    // another domain; PHS005 judges that), the refusing one still does not count.
    opts.max_dcs = 2;
    let list = ["127.0.0.65", dc1.as_str(), &lab2.s("ip")];
    let d = check_domain(&lab1.target("svc-direct", &list), Some(&secret), &opts, &BindGate::new()).await;
    assert_eq!(d.dcs.len(), 3);
    assert!(d.locator.not_probed.is_empty(), "{:?}", d.locator.not_probed);
    assert!(d.dcs[2].ldap_ping.as_ref().is_some_and(|p| p.ok), "{:?}", d.dcs[2]);
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn one_dc_by_name_and_by_address_counts_once() {
    let _shared = REAL_DC.read().await;
    let (lab1, _) = forests();
    let dc1 = lab1.s("dc_host");
    let ip = lab1.s("ip");
    let secret = Secret::new(lab1.password("svc-direct"));
    let upper = format!("{}.", dc1.to_uppercase());
    for list in [
        vec![dc1.as_str(), ip.as_str()],
        vec![ip.as_str(), dc1.as_str()],
        vec![ip.as_str(), upper.as_str(), dc1.as_str()],
    ] {
        let mut opts = lab1.opts();
        opts.max_dcs = 2;
        let d = check_domain(&lab1.target("svc-direct", &list), Some(&secret), &opts, &BindGate::new()).await;
        println!("{list:?}: {:?}", d.dcs.iter().map(|dc| (&dc.host, &dc.also_listed_as)).collect::<Vec<_>>());
        assert_eq!(d.dcs.len(), 1, "{list:?}: {:#?}", d.dcs);
        // The name is kept (the certificate names it), the address noted.
        assert!(d.dcs[0].host.eq_ignore_ascii_case(&dc1), "{list:?}: {}", d.dcs[0].host);
        assert!(d.dcs[0].also_listed_as.iter().any(|a| a == &ip), "{list:?}: {:?}", d.dcs[0].also_listed_as);
        let ldap = d.ldap.expect("LDAP facts");
        assert!(ldap.bind.ok && ldap.bind.tls_verified, "{list:?}: {:?}", ldap.bind);
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn port_389_filtered_while_636_answers() {
    let (lab1, _) = forests();
    let _only_me = REAL_DC.write().await;
    let dc1 = lab1.s("dc_host");
    let secret = Secret::new(lab1.password("svc-direct"));
    let d = {
        let _fault = NftFault::drop_tcp(lab1.ip(), &[389]);
        check_domain(&lab1.target("svc-direct", &[&dc1]), Some(&secret), &lab1.opts(), &BindGate::new()).await
    };
    let dc = &d.dcs[0];
    println!("{dc:#?}");
    let p389 = dc.port(389).expect("389 probed");
    assert!(!p389.open && p389.error.as_deref().is_some_and(|e| e.contains("timed out after 1 s")), "{p389:?}");
    assert!(dc.port(636).is_some_and(|p| p.open));
    let ping = dc.ldap_ping.as_ref().expect("ping");
    assert!(ping.ok && ping.transport == "ldaps", "the rootDSE came over LDAPS: {ping:?}");
    let ldap = d.ldap.expect("LDAP facts");
    assert_eq!(ldap.bind.transport, "ldaps");
    assert!(ldap.bind.ok);
    // The fault is gone: 389 answers again.
    let again = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect((lab1.ip(), 389))).await;
    assert!(matches!(again, Ok(Ok(_))), "389 must answer after the test: {again:?}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_refused_credential_is_not_tried_in_the_connectors_other_domains() {
    let _shared = REAL_DC.read().await;
    let (lab1, lab2) = forests();
    let account = "svc-getchanges";
    let wrong = Arc::new(Secret::new(format!("{}-not-it", lab1.password(account))));
    // One connector ("lab1") with two domains, as a forest with a child
    // domain would have: the same identity and password for both.
    let first = lab1.target(account, &[&lab1.s("dc_host")]);
    let mut second = lab1.target(account, &[&lab1.s("ip")]);
    second.domain = format!("child.{}", lab1.s("domain"));
    let before = bad_pwd_count(&lab1, account).await;
    let evidence =
        check_all(vec![(first, Some(wrong.clone())), (second, Some(wrong.clone()))], &lab1.opts(), &|_| {}).await;
    let after = bad_pwd_count(&lab1, account).await;
    reset_with_a_good_bind(&lab1, account).await;
    let binds: Vec<_> =
        evidence.domains.iter().map(|d| (d.domain.clone(), d.ldap.as_ref().expect("ldap").bind.clone())).collect();
    println!("{binds:#?}; badPwdCount {before} -> {after}");
    let refused: Vec<_> = binds.iter().filter(|(_, b)| b.result_code == Some(49)).collect();
    let not_tried: Vec<_> = binds.iter().filter(|(_, b)| b.refused_in.is_some()).collect();
    assert_eq!(refused.len(), 1, "exactly one bind was sent: {binds:#?}");
    assert_eq!(not_tried.len(), 1, "{binds:#?}");
    assert_eq!(refused[0].1.sub_code.as_deref(), Some("52e"));
    let named = not_tried[0].1.refused_in.as_deref().unwrap_or("");
    assert!(named.starts_with(&format!("{} (by ", refused[0].0)), "{named}");
    assert_eq!(not_tried[0].1.result_code, None);
    assert_eq!(after, before + 1, "one bad password counted, not two");

    // Another connector is another credential: lab2's own bind is tried.
    let wrong2 = Arc::new(Secret::new(format!("{}-not-it", lab2.password(account))));
    let t1 = lab1.target(account, &[&lab1.s("dc_host")]);
    let t2 = lab2.target(account, &[&lab2.s("dc_host")]);
    let evidence =
        check_all(vec![(t1, Some(wrong.clone())), (t2, Some(wrong2))], &lab1.opts_for_both(&lab2), &|_| {}).await;
    reset_with_a_good_bind(&lab1, account).await;
    reset_with_a_good_bind(&lab2, account).await;
    for d in &evidence.domains {
        let b = &d.ldap.as_ref().expect("ldap").bind;
        assert_eq!(b.result_code, Some(49), "{}: {b:?}", d.domain);
        assert_eq!(b.refused_in, None, "{}: {b:?}", d.domain);
    }
}

impl Forest {
    /// Options trusting both forests' CAs: a CA file holding both.
    fn opts_for_both(&self, other: &Forest) -> AdOptions {
        let mut pem = std::fs::read_to_string(self.0["tls"]["ca_file"].as_str().expect("ca")).expect("ca");
        pem.push_str(&std::fs::read_to_string(other.0["tls"]["ca_file"].as_str().expect("ca")).expect("ca"));
        let path = std::env::temp_dir().join(format!("phs-select-both-cas-{}.pem", std::process::id()));
        std::fs::write(&path, pem).expect("write the CA file");
        let mut opts = self.opts();
        opts.tls.ca_file = Some(path);
        opts
    }
}

/// The account's badPwdCount, read as the forest's Administrator.
async fn bad_pwd_count(forest: &Forest, account: &str) -> u32 {
    let admin = forest.0["admin"]["dn"].as_str().expect("admin dn").to_string();
    let password = forest.0["admin"]["password"].as_str().expect("admin password").to_string();
    let dn = forest.0["accounts"][account]["dn"].as_str().expect("dn").to_string();
    let url = format!("ldap://{}:389", forest.ip());
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&url).await.expect("connect as admin");
    ldap3::drive!(conn);
    ldap.simple_bind(&admin, &password).await.expect("admin bind").success().expect("admin bind ok");
    let (entries, _) = ldap
        .search(&dn, ldap3::Scope::Base, "(objectClass=*)", vec!["badPwdCount"])
        .await
        .expect("search")
        .success()
        .expect("search ok");
    let _ = ldap.unbind().await;
    let entry = ldap3::SearchEntry::construct(entries.into_iter().next().expect("the account"));
    entry.attrs.get("badPwdCount").and_then(|v| v.first()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// A correct bind resets the account's bad-password count (the lab locks
/// any account after three in a row).
async fn reset_with_a_good_bind(forest: &Forest, account: &str) {
    let dn = forest.0["accounts"][account]["dn"].as_str().expect("dn").to_string();
    let url = format!("ldap://{}:389", forest.ip());
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&url).await.expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(&dn, &forest.password(account)).await.expect("bind").success().expect("good bind");
    let _ = ldap.unbind().await;
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn reads_that_stop_after_a_good_bind_move_to_the_next_dc() {
    let _shared = REAL_DC.read().await;
    let (lab1, _) = forests();
    let dc1 = lab1.s("dc_host");
    // Plain LDAP (chosen, as allow_plain_ldap does) so the relay can count
    // requests: on each connection the bind and the rootDSE read reach the
    // DC, then nothing more does, so the account reads time out.
    let front = Ipv4Addr::new(127, 0, 0, 69);
    let _relay = Forwarder::on(front, &[(389, Relay::Requests(2))], lab1.ip()).await;
    let secret = Secret::new(lab1.password("svc-direct"));
    let mut opts = lab1.opts();
    opts.allow_plain_ldap = true;
    let candidates = vec![
        DcCandidate { host: dc1.clone(), addresses: vec![IpAddr::V4(front)], resolve_error: None },
        DcCandidate { host: dc1.clone(), addresses: vec![lab1.ip()], resolve_error: None },
    ];
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let chosen =
        select(&lab1.target("svc-direct", &[]), candidates, Some(&secret), &opts, &BindGate::new(), deadline).await;
    let took = started.elapsed();
    println!("({took:?}) skipped {:?}", chosen.skipped);
    let ldap = chosen.ldap.expect("LDAP facts");
    assert_eq!(ldap.dc, format!("{dc1} ({})", lab1.ip()), "the reads went to the next DC");
    assert!(ldap.bind.ok && ldap.bind.transport == "ldap", "{:?}", ldap.bind);
    assert!(ldap.account.as_ref().is_some_and(|a| a.sam_account_name.as_deref() == Some("svc-direct")), "{ldap:?}");
    assert!(ldap.domain_root_sd.is_some(), "{:?}", ldap.domain_root_sd_error);
    assert_eq!(chosen.skipped.len(), 1, "{:?}", chosen.skipped);
    let reason = &chosen.skipped[0].reason;
    assert!(chosen.skipped[0].dc.contains("127.0.0.69"), "{:?}", chosen.skipped);
    assert!(reason.contains("stopped answering after the bind") && reason.contains("timed out after 3 s"), "{reason}");
    // One read waited its timeout; the rest were not sent.
    assert!(took < Duration::from_secs(12), "{took:?}");
}

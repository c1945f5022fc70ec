//! `ad::ldap` against the Samba AD lab (lab/README.md): two forests in the
//! network namespace `phslab`, facts in `.lab/lab.json`.
//!
//! ```sh
//! lab/lab.sh install && lab/lab.sh up
//! ip netns exec phslab cargo test -p phs-sources --test ad_ldap_lab -- --ignored
//! ```
//!
//! Every account locks after 3 wrong passwords in a row in this lab, so only
//! one test binds with a wrong password (svc-norights of lab1, once), and it
//! binds correctly right after to reset the counter.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use phs_model::ad::LdapFacts;
use phs_secdesc::{SecurityDescriptor, Sid};
use phs_sources::ad::ldap::read_root_dse;
use phs_sources::ad::{AdOptions, DomainTarget, Locator, Secret, TlsOptions};
use serde_json::Value;

const GET_CHANGES_ALL: &str = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `.lab/lab.json` (or `$LAB_JSON`), after checking that the lab is up and
/// that this process runs inside its namespace.
fn lab() -> Value {
    let path = std::env::var_os("LAB_JSON").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".lab/lab.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "lab facts {} not readable ({e}): start the lab with `lab/lab.sh install && lab/lab.sh up`",
            path.display()
        )
    });
    let ready = path.with_file_name("ready");
    assert!(ready.exists(), "{} is missing: the lab is not up; run `lab/lab.sh up`", ready.display());
    check_netns();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The DCs listen only inside `phslab`; outside it every connection would be
/// refused, which would read like a product bug.
fn check_netns() {
    use std::os::unix::fs::MetadataExt;
    let here = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino());
    let lab = std::fs::metadata("/run/netns/phslab").map(|m| m.ino());
    match (here, lab) {
        (Ok(here), Ok(lab)) if here == lab => {}
        (_, Err(e)) => panic!("netns phslab not found ({e}): run `lab/lab.sh up`"),
        _ => panic!(
            "not inside the lab's network namespace: run `ip netns exec phslab cargo test -p phs-sources --test \
             ad_ldap_lab -- --ignored`"
        ),
    }
}

struct Forest {
    f: Value,
}

impl Forest {
    fn get(lab: &Value, name: &str) -> Forest {
        let f = lab["forests"][name].clone();
        assert!(f.is_object(), "lab.json has no forest {name}");
        Forest { f }
    }

    fn s(&self, key: &str) -> String {
        self.f[key].as_str().unwrap_or_else(|| panic!("lab.json forest lacks {key}")).to_string()
    }

    fn ip(&self) -> IpAddr {
        self.s("ip").parse().expect("lab ip")
    }

    fn account(&self, name: &str, key: &str) -> String {
        self.f["accounts"][name][key].as_str().unwrap_or_else(|| panic!("lab.json: no {key} for {name}")).to_string()
    }

    fn group_sid(&self, name: &str) -> String {
        self.f["groups"][name]["sid"].as_str().unwrap_or_else(|| panic!("lab.json: no group {name}")).to_string()
    }

    fn ca_file(&self) -> PathBuf {
        PathBuf::from(self.f["tls"]["ca_file"].as_str().expect("lab.json tls.ca_file"))
    }

    fn target(&self, user: &str) -> DomainTarget {
        DomainTarget {
            connector: self.s("domain"),
            domain: self.s("domain"),
            partition_dn: self.s("base_dn"),
            account_user: user.to_string(),
            account_domain: if user.contains('@') { String::new() } else { self.s("netbios") },
            locator: Locator::Configured(vec![self.s("dc_host")]),
            dns_server: None,
        }
    }

    /// Options trusting the lab CA (or not), verifying (or not).
    fn opts(&self, ca: bool, verify: bool) -> AdOptions {
        AdOptions {
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(15),
            tls: TlsOptions { ca_file: ca.then(|| self.ca_file()), verify },
            allow_plain_ldap: false,
            max_dcs: 1,
            ..AdOptions::default()
        }
    }

    async fn inspect_with(&self, user: &str, password: &str, opts: &AdOptions, ports: &[u16]) -> LdapFacts {
        let secret = Secret::new(password.to_string());
        inspect_account(&self.target(user), &self.s("dc_host"), self.ip(), &secret, opts, ports).await
    }

    /// The account's own password, lab CA trusted, both ports open.
    async fn inspect(&self, account: &str) -> LdapFacts {
        let password = self.account(account, "password");
        self.inspect_with(account, &password, &self.opts(true, true), &[389, 636]).await
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn root_dse_names_the_base_dn_on_both_forests() {
    let lab = lab();
    for name in ["lab1", "lab2"] {
        let forest = Forest::get(&lab, name);
        let dse = read_root_dse(&forest.s("dc_host"), forest.ip(), &forest.opts(true, true))
            .await
            .unwrap_or_else(|e| panic!("{name}: rootDSE: {e}"));
        assert_eq!(dse.default_naming_context.as_deref(), Some(forest.s("base_dn").as_str()), "{name}: {dse:?}");
        assert!(
            dse.dns_host_name.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(&forest.s("dc_host"))),
            "{name}: {dse:?}"
        );
        assert!(dse.sd_flags_control, "{name}: SD flags control not advertised: {dse:?}");
        assert!(dse.supported_sasl_mechanisms.iter().any(|m| m == "GSSAPI"), "{name}: {dse:?}");
        assert!(dse.domain_functionality.is_some() && dse.server_name.is_some(), "{name}: {dse:?}");
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn svc_direct_binds_over_verified_ldaps() {
    let lab = lab();
    for name in ["lab1", "lab2"] {
        let forest = Forest::get(&lab, name);
        let facts = forest.inspect("svc-direct").await;
        let bind = &facts.bind;
        assert!(bind.ok, "{name}: {bind:?}");
        assert_eq!(bind.transport, "ldaps");
        assert!(bind.tls_verified);
        assert_eq!(bind.result_code, Some(0));
        assert_eq!(bind.error, None);
        assert_eq!(bind.identity, format!("{}\\svc-direct", forest.s("netbios")));
        assert_eq!(facts.dc, format!("{} ({})", forest.s("dc_host"), forest.s("ip")));
        let dse = facts.root_dse.as_ref().unwrap_or_else(|| panic!("{name}: no rootDSE: {facts:?}"));
        assert_eq!(dse.default_naming_context.as_deref(), Some(forest.s("base_dn").as_str()));
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn starttls_when_636_is_not_offered() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    let password = forest.account("svc-direct", "password");
    let facts = forest.inspect_with("svc-direct", &password, &forest.opts(true, true), &[389]).await;
    assert!(facts.bind.ok, "{:?}", facts.bind);
    assert_eq!(facts.bind.transport, "starttls");
    assert!(facts.bind.tls_verified);
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn wrong_password_is_52e_then_a_good_bind_resets_the_count() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    let opts = forest.opts(true, true);
    let wrong = forest.inspect_with("svc-norights", "Not-the-Passw0rd-1", &opts, &[389, 636]).await;
    let bind = &wrong.bind;
    assert!(!bind.ok, "{bind:?}");
    assert_eq!(bind.result_code, Some(49), "{bind:?}");
    assert_eq!(bind.sub_code.as_deref(), Some("52e"), "{bind:?}");
    assert!(bind.server_message.as_deref().is_some_and(|m| m.contains("data 52e")), "{bind:?}");
    assert_eq!(bind.error, None);
    assert!(wrong.account.is_none() && wrong.domain_root_sd.is_none(), "nothing is read after a failed bind");
    // The rootDSE needs no credentials: still read on the same connection.
    assert!(wrong.root_dse.is_some(), "{wrong:?}");
    println!("wrong password: rc {:?} {:?}", bind.result_code, bind.server_message);

    let good = forest.inspect("svc-norights").await;
    assert!(good.bind.ok, "the correct bind after one wrong one: {:?}", good.bind);
    assert_eq!(good.account.and_then(|a| a.bad_pwd_count), Some(0), "a good bind resets badPwdCount");
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn account_states_give_their_sub_codes() {
    let lab = lab();
    for name in ["lab1", "lab2"] {
        let forest = Forest::get(&lab, name);
        for (account, code) in
            [("svc-disabled", "533"), ("svc-mustchange", "773"), ("svc-expired", "701"), ("svc-locked", "775")]
        {
            let facts = forest.inspect(account).await;
            let bind = &facts.bind;
            assert!(!bind.ok, "{name} {account}: {bind:?}");
            assert_eq!(bind.transport, "ldaps");
            assert_eq!(bind.result_code, Some(49), "{name} {account}: {bind:?}");
            assert_eq!(bind.sub_code.as_deref(), Some(code), "{name} {account}: {bind:?}");
            println!("{name} {account}: rc 49 sub {code}: {}", bind.server_message.as_deref().unwrap_or(""));
        }
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn without_the_lab_ca_the_certificate_is_not_trusted_and_no_bind_happens() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    let password = forest.account("svc-direct", "password");
    // A certificate failure must not fall back to StartTLS (nor to plain
    // LDAP, which is never a fallback), or a MITM would get the password.
    let opts = forest.opts(false, true);
    let facts = forest.inspect_with("svc-direct", &password, &opts, &[389, 636]).await;
    let bind = &facts.bind;
    assert!(!bind.ok);
    assert_eq!(bind.result_code, None, "no LDAP result: the bind was never sent: {bind:?}");
    assert_eq!(bind.transport, "ldaps");
    assert!(!bind.tls_verified);
    let error = bind.error.as_deref().unwrap_or("");
    assert!(error.contains("certificate not trusted"), "{error}");
    assert!(
        !error.contains("starttls") && !error.contains("ldap dc1"),
        "no fallback after a certificate failure: {error}"
    );
    assert!(facts.root_dse.is_none() && facts.account.is_none());
    println!("no CA: {error}");

    // StartTLS alone: the same finding.
    let facts = forest.inspect_with("svc-direct", &password, &opts, &[389]).await;
    assert_eq!(facts.bind.transport, "starttls");
    assert!(facts.bind.error.as_deref().is_some_and(|e| e.contains("certificate not trusted")), "{:?}", facts.bind);
    assert_eq!(facts.bind.result_code, None);
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_wrong_dc_name_is_a_name_mismatch() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    let password = forest.account("svc-direct", "password");
    let secret = Secret::new(password);
    let facts = inspect_account(
        &forest.target("svc-direct"),
        "dc9.lab1.example.test",
        forest.ip(),
        &secret,
        &forest.opts(true, true),
        &[636],
    )
    .await;
    let error = facts.bind.error.as_deref().unwrap_or("");
    assert!(error.contains("certificate name mismatch") && error.contains("dc9.lab1.example.test"), "{error}");
    assert!(error.contains("DNS:dc1.lab1.example.test, DNS:lab1.example.test, IP:127.0.0.2"), "the names: {error}");
    assert_eq!(facts.bind.result_code, None);
    println!("wrong name: {error}");

    // The certificate also carries the IP: no name at all verifies by address.
    let facts =
        inspect_account(&forest.target("svc-direct"), "", forest.ip(), &secret, &forest.opts(true, true), &[636]).await;
    assert!(facts.bind.ok && facts.bind.tls_verified, "{:?}", facts.bind);
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn verify_off_binds_unverified() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab2");
    let password = forest.account("svc-direct", "password");
    let facts = forest.inspect_with("svc-direct", &password, &forest.opts(false, false), &[389, 636]).await;
    assert!(facts.bind.ok, "{:?}", facts.bind);
    assert_eq!(facts.bind.transport, "ldaps");
    assert!(!facts.bind.tls_verified);
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_closed_dc_address_is_connection_refused() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    let password = forest.account("svc-direct", "password");
    let secret = Secret::new(password);
    // 127.0.0.9 is on the namespace's lo (127/8) but no DC listens there.
    let addr: IpAddr = "127.0.0.9".parse().expect("ip");
    let facts = inspect_account(
        &forest.target("svc-direct"),
        &forest.s("dc_host"),
        addr,
        &secret,
        &forest.opts(true, true),
        &[],
    )
    .await;
    let error = facts.bind.error.as_deref().unwrap_or("");
    assert!(error.contains("ldaps") && error.contains("starttls"), "both transports tried: {error}");
    assert!(error.contains("connection refused"), "{error}");
    let dse = read_root_dse(&forest.s("dc_host"), addr, &forest.opts(true, true)).await;
    assert!(dse.as_ref().is_err_and(|e| e.contains("connection refused")), "{dse:?}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_port_that_never_answers_tls_is_a_handshake_timeout() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    // A "DC" on 127.0.0.10 that accepts TCP on 636 and 389 and then says
    // nothing (binding ports below 1024 works: the tests run as root in the
    // namespace).
    let addr: IpAddr = "127.0.0.10".parse().expect("ip");
    let mut listeners = Vec::new();
    for port in [636, 389] {
        let listener = tokio::net::TcpListener::bind((addr, port)).await.expect("bind a silent port");
        listeners.push(tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        }));
    }
    // The handshake waits the operation timeout (the TCP connect alone has
    // the connect timeout, and it succeeds here).
    let mut opts = forest.opts(true, true);
    opts.connect_timeout = Duration::from_secs(5);
    opts.operation_timeout = Duration::from_secs(1);
    let secret = Secret::new(forest.account("svc-direct", "password"));
    let facts = inspect_account(&forest.target("svc-direct"), "dc1.lab1.example.test", addr, &secret, &opts, &[]).await;
    for task in listeners {
        task.abort();
    }
    let error = facts.bind.error.as_deref().unwrap_or("");
    assert!(error.contains("ldaps") && error.contains("TLS handshake timed out after 1 s"), "{error}");
    assert!(error.contains("starttls") && error.contains("timed out after 1 s"), "{error}");
    assert_eq!(facts.bind.result_code, None);
    assert!(facts.bind.elapsed_ms >= 2000, "both transports waited their timeout: {:?}", facts.bind);
    println!("silent ports: {error}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn svc_direct_account_facts() {
    let lab = lab();
    for name in ["lab1", "lab2"] {
        let forest = Forest::get(&lab, name);
        let facts = forest.inspect("svc-direct").await;
        assert_eq!(facts.account_error, None, "{name}");
        let account = facts.account.as_ref().unwrap_or_else(|| panic!("{name}: no account: {facts:?}"));
        assert_eq!(account.dn, forest.account("svc-direct", "dn"));
        assert_eq!(account.sam_account_name.as_deref(), Some("svc-direct"));
        assert_eq!(account.sid.as_deref(), Some(forest.account("svc-direct", "sid").as_str()));
        assert_eq!(account.user_account_control, Some(512));
        assert_eq!(account.account_expires, forest.f["accounts"]["svc-direct"]["account_expires"].as_i64());
        assert!(account.pwd_last_set.is_some_and(|t| t > 0), "{account:?}");
        assert_eq!(account.bad_pwd_count, Some(0));
        let domain_users = forest.group_sid("Domain Users");
        assert!(domain_users.ends_with("-513"));
        assert!(account.token_groups.contains(&domain_users), "{name}: {:?}", account.token_groups);
        assert_eq!(facts.domain_sid.as_deref(), Some(forest.s("domain_sid").as_str()));
        println!("{name} svc-direct: {account:?}");
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_upn_identity_finds_the_same_account() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    let upn = forest.account("svc-direct", "upn");
    let password = forest.account("svc-direct", "password");
    let facts = forest.inspect_with(&upn, &password, &forest.opts(true, true), &[636]).await;
    assert!(facts.bind.ok, "{:?}", facts.bind);
    assert_eq!(facts.bind.identity, upn);
    assert_eq!(facts.account.map(|a| a.dn), Some(forest.account("svc-direct", "dn")));
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn svc_nested_token_holds_inner_and_outer() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    let facts = forest.inspect("svc-nested").await;
    let account = facts.account.as_ref().unwrap_or_else(|| panic!("no account: {facts:?}"));
    for group in ["PHS Inner", "PHS Outer"] {
        let sid = forest.group_sid(group);
        assert!(account.token_groups.contains(&sid), "{group} {sid} not in {:?}", account.token_groups);
        assert_eq!(facts.sid_names.get(&sid).map(String::as_str), Some(format!("LAB1\\{group}").as_str()));
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_non_admin_reads_the_domain_root_dacl_and_its_names() {
    let lab = lab();
    for name in ["lab1", "lab2"] {
        let forest = Forest::get(&lab, name);
        let facts = forest.inspect("svc-norights").await;
        assert!(facts.bind.ok, "{name}: {:?}", facts.bind);
        assert_eq!(facts.domain_root_sd_error, None, "{name}");
        let encoded = facts.domain_root_sd.as_deref().unwrap_or_else(|| panic!("{name}: no SD: {facts:?}"));
        let raw = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
        assert!(raw.len() > 20, "{name}: {} bytes", raw.len());
        let sd = SecurityDescriptor::parse(&raw).expect("self-relative SD");
        // DACL only: that is what the SD flags control asked for.
        assert!(sd.owner.is_none() && sd.group.is_none() && sd.sacl.is_none(), "{name}: {sd:?}");
        let dacl = sd.dacl.as_ref().expect("a DACL");
        let direct: Sid = forest.account("svc-direct", "sid").parse().expect("sid");
        assert!(
            dacl.aces.iter().any(|ace| ace.sid == direct
                && ace.object_type.is_some_and(|g| g.to_string().eq_ignore_ascii_case(GET_CHANGES_ALL))),
            "{name}: no Get-Changes-All ACE for svc-direct"
        );

        let netbios = forest.s("netbios");
        let outer = forest.group_sid("PHS Outer");
        assert_eq!(facts.sid_names.get(&outer), Some(&format!("{netbios}\\PHS Outer")), "{name}");
        assert_eq!(facts.sid_names.get(&direct.to_string()), Some(&format!("{netbios}\\svc-direct")));
        assert_eq!(facts.sid_names.get("S-1-5-32-544").map(String::as_str), Some("BUILTIN\\Administrators"));
        assert_eq!(facts.sid_names.get("S-1-5-11").map(String::as_str), Some("NT AUTHORITY\\Authenticated Users"));
        let domain_admins = forest.group_sid("Domain Admins");
        assert_eq!(facts.sid_names.get(&domain_admins), Some(&format!("{netbios}\\Domain Admins")));
        // Every trustee of the DACL that lives in this domain has a name.
        let dacl_sids: BTreeSet<String> = dacl.aces.iter().map(|a| a.sid.to_string()).collect();
        let domain_sid = forest.s("domain_sid");
        let unnamed: Vec<&String> =
            dacl_sids.iter().filter(|s| s.starts_with(&domain_sid) && !facts.sid_names.contains_key(*s)).collect();
        assert!(unnamed.is_empty(), "{name}: unnamed domain SIDs in the DACL: {unnamed:?}");
        println!("{name}: DACL {} ACEs, {} bytes; {} SID names", dacl.aces.len(), raw.len(), facts.sid_names.len());
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn the_password_never_appears_in_the_facts() {
    let lab = lab();
    let forest = Forest::get(&lab, "lab1");
    // A full read (bind ok), a refused bind (server text), a TLS failure.
    let cases = [
        ("svc-direct", forest.opts(true, true)),
        ("svc-locked", forest.opts(true, true)),
        ("svc-direct", forest.opts(false, true)),
    ];
    for (account, opts) in cases {
        let password = forest.account(account, "password");
        let facts = forest.inspect_with(account, &password, &opts, &[389, 636]).await;
        let debug = format!("{facts:?} {facts:#?}");
        let json = serde_json::to_string(&facts).expect("json");
        assert!(!debug.contains(&password), "{account}: password in Debug output");
        assert!(!json.contains(&password), "{account}: password in JSON output");
        let secret = Secret::new(password.clone());
        assert!(!format!("{secret:?}").contains(&password));
    }
}

/// One account read on its own (no other domain shares its bind gate).
async fn inspect_account(
    target: &phs_sources::ad::DomainTarget,
    dc_host: &str,
    addr: std::net::IpAddr,
    secret: &phs_sources::ad::Secret,
    opts: &phs_sources::ad::AdOptions,
    open_ports: &[u16],
) -> LdapFacts {
    let gate = phs_sources::ad::bind_gate::BindGate::new();
    phs_sources::ad::ldap::inspect_account(target, dc_host, addr, secret, opts, open_ports, &gate).await.0
}

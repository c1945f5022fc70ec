//! `ad::user::find_user` against the Samba lab (lab/README.md): each
//! identity form, the seeded user states, near matches, and the failures that
//! must never read as "not found".
//!
//! ```sh
//! flock -o /tmp/phslab.lock ip netns exec phslab cargo test -p phs-sources --test ad_user_lab -- --ignored
//! ```
//!
//! The searches bind as svc-direct. One test binds with a wrong password
//! (svc-norights of lab2, once) and binds correctly right after, so the
//! lab's lockout threshold of 3 is never reached.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use phs_model::user::uac;
use phs_model::{AdUser, AdUserLookup, SourceAnchor, UserQuery};
use phs_sources::ad::user::{find_user, UserSearchTarget, MAX_NEAR};
use phs_sources::ad::{AdOptions, Secret, TlsOptions};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn lab() -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = std::env::var_os("LAB_JSON").map(PathBuf::from).unwrap_or_else(|| root.join(".lab/lab.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("lab facts {} not readable ({e}): run `lab/lab.sh up`", path.display()));
    assert!(path.with_file_name("ready").exists(), "the lab is not up: run `lab/lab.sh up`");
    // The DCs listen only inside phslab; outside, every connection is refused.
    use std::os::unix::fs::MetadataExt;
    let here = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino()).ok();
    let lab = std::fs::metadata("/run/netns/phslab").map(|m| m.ino()).ok();
    assert!(here.is_some() && here == lab, "not inside the lab's network namespace: run under `ip netns exec phslab`");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

struct Lab {
    facts: Value,
    opts: AdOptions,
}

impl Lab {
    fn new() -> Lab {
        let facts = lab();
        // One CA file trusting both forests' DCs.
        let mut pem = String::new();
        for f in ["lab1", "lab2"] {
            let ca = facts["forests"][f]["tls"]["ca_file"].as_str().expect("tls.ca_file");
            pem.push_str(&std::fs::read_to_string(ca).expect("read the lab CA"));
        }
        let ca_file = std::env::temp_dir().join(format!("phs-user-both-cas-{}.pem", std::process::id()));
        std::fs::write(&ca_file, pem).expect("write the CA file");
        let opts = AdOptions {
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(15),
            tls: TlsOptions { ca_file: Some(ca_file), verify: true },
            allow_plain_ldap: false,
            max_dcs: 1,
            ..AdOptions::default()
        };
        Lab { facts, opts }
    }

    fn s(&self, forest: &str, key: &str) -> String {
        self.facts["forests"][forest][key].as_str().unwrap_or_else(|| panic!("lab.json {forest} lacks {key}")).into()
    }

    fn account(&self, forest: &str, name: &str) -> &Value {
        let a = &self.facts["forests"][forest]["accounts"][name];
        assert!(a.is_object(), "lab.json {forest} has no account {name}: re-run `lab/lab.sh up`");
        a
    }

    fn a(&self, forest: &str, name: &str, key: &str) -> String {
        self.account(forest, name)[key].as_str().unwrap_or_else(|| panic!("lab.json: no {key} for {name}")).into()
    }

    fn i(&self, forest: &str, name: &str, key: &str) -> i64 {
        self.account(forest, name)[key].as_i64().unwrap_or_else(|| panic!("lab.json: no {key} for {name}"))
    }

    /// The forest's domain as the check reached it, bound as `user`.
    fn target_as(&self, forest: &str, user: &str, password: &str) -> UserSearchTarget {
        UserSearchTarget {
            connector: forest.into(),
            domain: self.s(forest, "domain"),
            partition_dn: self.s(forest, "base_dn"),
            dc_host: self.s(forest, "dc_host"),
            dc_addr: self.s(forest, "ip").parse().expect("lab ip"),
            bind_identity: format!("{}\\{user}", self.s(forest, "netbios")),
            secret: Arc::new(Secret::new(password.into())),
        }
    }

    fn target(&self, forest: &str) -> UserSearchTarget {
        self.target_as(forest, "svc-direct", &self.a(forest, "svc-direct", "password"))
    }

    async fn find(&self, identity: &str, connector: Option<&str>, member_of: bool) -> AdUserLookup {
        let query = UserQuery::parse(identity, connector).unwrap_or_else(|e| panic!("{identity}: {e}"));
        find_user(&[self.target("lab1"), self.target("lab2")], &query, member_of, &self.opts).await
    }

    /// The one user found, after a search that completed everywhere it went.
    async fn one(&self, identity: &str) -> AdUser {
        let lookup = self.find(identity, None, false).await;
        assert_eq!(lookup.failures().count(), 0, "{identity}: {lookup:#?}");
        assert_eq!(lookup.found.len(), 1, "{identity}: {lookup:#?}");
        lookup.found.into_iter().next().expect("one user")
    }
}

/// Now as a FILETIME (100 ns since 1601).
fn now_filetime() -> i64 {
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    (i64::try_from(unix).expect("time") + 11_644_473_600) * 10_000_000
}

#[tokio::test]
#[ignore = "needs the Samba lab (lab/lab.sh up)"]
async fn every_identity_form_finds_alice() {
    let lab = Lab::new();
    for forest in ["lab1", "lab2"] {
        let dn = lab.a(forest, "alice", "dn");
        let guid = lab.a(forest, "alice", "guid");
        let upn = lab.a(forest, "alice", "upn");
        let sid = lab.a(forest, "alice", "sid");
        let parsed = phs_model::Guid::parse(&guid).expect("guid");
        // alice's consistency GUID is her objectGUID: both anchor forms name her.
        let anchor = SourceAnchor::from_guid(&parsed);
        let identities = [
            dn.clone(),
            format!("{}\\alice", lab.s(forest, "netbios")),
            upn.clone(),
            guid.clone(),
            format!("{{{guid}}}"),
            anchor.to_base64(),
            anchor.to_entra_cs_dn(),
        ];
        for identity in &identities {
            let user = lab.one(identity).await;
            assert_eq!(user.connector, forest, "{identity}");
            assert_eq!(user.dn, dn, "{identity}");
            assert_eq!(user.object_guid.as_ref(), Some(&parsed), "{identity}");
            assert_eq!(user.object_sid.as_deref(), Some(sid.as_str()), "{identity}");
            assert_eq!(user.user_principal_name.as_deref(), Some(upn.as_str()), "{identity}");
            assert_eq!(user.consistency_guid.as_ref(), Some(&anchor), "{identity}");
            assert_eq!(user.anchor().as_ref(), Some(&anchor), "{identity}");
            assert_eq!(user.pwd_last_set, Some(lab.i(forest, "alice", "pwd_last_set")), "{identity}");
            assert!(user.has_class("user") && !user.has_class("inetOrgPerson"), "{identity}: {user:?}");
        }
        // A bare name is in both forests: the connector picks one.
        let lookup = lab.find("alice", Some(forest), false).await;
        assert_eq!(lookup.searched.len(), 1, "{lookup:#?}");
        assert_eq!(lookup.found.iter().map(|u| u.dn.as_str()).collect::<Vec<_>>(), [dn.as_str()]);
    }
    // Without one, both are found: the caller says it is ambiguous.
    let lookup = lab.find("alice", None, false).await;
    assert_eq!(lookup.found.len(), 2, "{lookup:#?}");
    // DOMAIN\name asks only the domain of that NetBIOS name.
    let lookup = lab.find("LAB2\\alice", None, false).await;
    let asked: Vec<&str> = lookup.searched.iter().map(|s| s.connector.as_str()).collect();
    assert_eq!(asked, ["lab2"], "{lookup:#?}");
    assert!(lookup.searched[0].filter.contains("(sAMAccountName=alice)"), "{lookup:#?}");
    assert_eq!(
        lookup.searched[0].dc.as_deref(),
        Some(format!("{} ({})", lab.s("lab2", "dc_host"), lab.s("lab2", "ip")).as_str())
    );
}

#[tokio::test]
#[ignore = "needs the Samba lab (lab/lab.sh up)"]
async fn the_seeded_states_read_as_seeded() {
    let lab = Lab::new();
    for forest in ["lab1", "lab2"] {
        let upn = |name: &str| lab.a(forest, name, "upn");
        let bob = lab.one(&upn("bob")).await;
        assert_eq!(bob.pwd_last_set, Some(0), "bob must change at next logon: {bob:?}");
        let carol = lab.one(&upn("carol")).await;
        assert!(carol.user_account_control.is_some_and(|u| u & uac::ACCOUNTDISABLE != 0), "{carol:?}");
        let locked = lab.one(&upn("svc-locked")).await;
        assert!(locked.lockout_time.is_some_and(|t| t > 0), "{locked:?}");
        assert_eq!(locked.lockout_time, Some(lab.i(forest, "svc-locked", "lockout_time")));

        let erin = lab.one(&upn("erin")).await;
        assert!(erin.account_expires.is_some_and(|t| t > 0 && t < now_filetime()), "{erin:?}");
        let frank = lab.one(&upn("frank")).await;
        assert!(frank.has_class("inetOrgPerson") && frank.has_class("user"), "{frank:?}");
        assert_eq!(frank.object_sid.as_deref(), Some(lab.a(forest, "frank", "sid").as_str()));
        let gina = lab.one(&format!("{}\\gina", lab.s(forest, "netbios"))).await;
        assert_eq!(gina.dn, format!("CN=gina,OU=Excluded,{}", lab.s(forest, "base_dn")));
        let hank = lab.one(&upn("hank")).await;
        assert_eq!(hank.admin_description.as_deref(), Some("User_hank"));
        let ivan = lab.one(&lab.a(forest, "ivan", "guid")).await;
        assert_eq!(ivan.dn, format!("CN=ivan,OU=Moved,{}", lab.s(forest, "base_dn")));
        let judy = lab.one(&upn("judy")).await;
        assert_eq!(judy.pwd_last_set, Some(lab.i(forest, "judy", "pwd_last_set")));
        assert!(judy.pwd_last_set > Some(lab.i(forest, "alice", "pwd_last_set")), "{judy:?}");
        assert_eq!(judy.consistency_guid, None, "only alice has a consistency GUID");

        // memberOf only when asked for.
        let dave = lab.find(&upn("dave"), None, true).await.found;
        let admins = lab.facts["forests"][forest]["groups"]["Domain Admins"]["dn"].as_str().expect("dn");
        assert!(dave.len() == 1 && dave[0].member_of.iter().any(|g| g == admins), "{dave:?}");
        let dave = lab.find(&upn("dave"), None, false).await.found;
        assert!(dave.len() == 1 && dave[0].member_of.is_empty(), "{dave:?}");
    }
}

#[tokio::test]
#[ignore = "needs the Samba lab (lab/lab.sh up)"]
async fn a_missing_user_is_not_found_with_near_matches() {
    let lab = Lab::new();
    let lookup = lab.find("alicx@lab1.example.test", None, false).await;
    assert!(lookup.found.is_empty(), "{lookup:#?}");
    assert_eq!(lookup.searched.len(), 2, "both domains searched: {lookup:#?}");
    assert_eq!(lookup.failures().count(), 0, "{lookup:#?}");
    assert!(lookup.near.contains(&"lab1.example.test: alice (alice@lab1.example.test)".to_string()), "{lookup:#?}");
    assert!(lookup.near.len() <= MAX_NEAR, "{lookup:#?}");

    // A DOMAIN of no domain here: nothing searched, the same name elsewhere offered.
    let lookup = lab.find("LAB9\\bob", None, false).await;
    assert!(lookup.found.is_empty() && lookup.searched.is_empty(), "{lookup:#?}");
    assert!(lookup.near.iter().any(|n| n.starts_with("lab2.example.test: bob")), "{lookup:#?}");

    // A DN in a partition, no object there: searched, not found, no error.
    let missing = format!("CN=nobody,OU=Staff,{}", lab.s("lab1", "base_dn"));
    let lookup = lab.find(&missing, None, false).await;
    assert_eq!(lookup.searched.len(), 1, "{lookup:#?}");
    assert!(lookup.found.is_empty() && lookup.failures().count() == 0, "{lookup:#?}");
    // A DN outside every partition: no domain could hold it.
    let lookup = lab.find("CN=alice,OU=Staff,DC=elsewhere,DC=test", None, false).await;
    assert!(lookup.found.is_empty() && lookup.failures().count() == 0, "{lookup:#?}");
    // A GUID nobody has: no name, so no near matches.
    let lookup = lab.find("01020304-0506-0708-090a-0b0c0d0e0f10", None, false).await;
    assert!(lookup.found.is_empty() && lookup.near.is_empty() && lookup.failures().count() == 0, "{lookup:#?}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (lab/lab.sh up)"]
async fn a_dc_that_does_not_answer_is_an_error_never_not_found() {
    let lab = Lab::new();
    // A "DC" that accepts TCP on both LDAP ports and never says a word.
    let ip = Ipv4Addr::new(127, 0, 0, 71);
    let mut tasks = Vec::new();
    for port in [389u16, 636] {
        let listener = TcpListener::bind((ip, port)).await.unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
        tasks.push(tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        }));
    }
    let mut silent = lab.target("lab1");
    silent.dc_addr = IpAddr::V4(ip);
    let mut opts = lab.opts.clone();
    opts.operation_timeout = Duration::from_secs(2);
    let query = UserQuery::parse("alice@lab1.example.test", None).expect("upn");
    let started = std::time::Instant::now();
    let lookup = find_user(&[lab.target("lab2"), silent], &query, false, &opts).await;
    for t in tasks {
        t.abort();
    }
    assert!(started.elapsed() < Duration::from_secs(20), "every wait is bounded: {:?}", started.elapsed());
    assert!(lookup.found.is_empty(), "{lookup:#?}");
    let failed: Vec<_> = lookup.failures().collect();
    assert_eq!(failed.len(), 1, "{lookup:#?}");
    assert_eq!(failed[0].connector, "lab1");
    assert!(failed[0].error.as_deref().is_some_and(|e| e.contains("timed out")), "{lookup:#?}");
    // lab2 answered (not found there); lab1 says nothing either way. In
    // the order of the targets, whichever failed first.
    let order: Vec<&str> = lookup.searched.iter().map(|s| s.connector.as_str()).collect();
    assert_eq!(order, ["lab2", "lab1"], "{lookup:#?}");
    assert!(lookup.searched[0].error.is_none(), "{lookup:#?}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (lab/lab.sh up)"]
async fn a_wrong_password_is_an_error_without_the_password() {
    let lab = Lab::new();
    let wrong = "Wrong-Passw0rd-for-the-user-test";
    let refused = lab.target_as("lab2", "svc-norights", wrong);
    // A second domain of the same connector and credential is not bound.
    let mut again = refused.clone();
    again.domain = "second.lab2.example.test".into();
    let query = UserQuery::parse("alice", None).expect("name");
    let lookup = find_user(&[refused, again], &query, false, &lab.opts).await;
    // Reset svc-norights' bad-password count with one good bind.
    let good = lab.target_as("lab2", "svc-norights", &lab.a("lab2", "svc-norights", "password"));
    let reset = find_user(&[good], &query, false, &lab.opts).await;
    assert_eq!(reset.failures().count(), 0, "{reset:#?}");

    assert!(lookup.found.is_empty() && lookup.near.is_empty(), "{lookup:#?}");
    assert_eq!(lookup.searched.len(), 2, "{lookup:#?}");
    let first = lookup.searched[0].error.as_deref().expect("the refusal is an error");
    assert!(first.contains("rc 49 (invalidCredentials)"), "{first}");
    let second = lookup.searched[1].error.as_deref().expect("not searched is an error");
    assert!(second.contains("not searched"), "{second}");
    let all = format!("{lookup:?}");
    assert!(!all.contains(wrong), "the password leaked: {all}");
}

#[tokio::test]
#[ignore = "needs the Samba lab (lab/lab.sh up)"]
async fn a_dc_that_stops_answering_after_the_bind_is_an_error() {
    let lab = Lab::new();
    // Plain LDAP through a relay that passes each connection's first request
    // (the bind) to the real DC and then nothing: the search gets no answer.
    let front = Ipv4Addr::new(127, 0, 0, 72);
    let dc: IpAddr = lab.s("lab1", "ip").parse().expect("ip");
    let listener = TcpListener::bind((front, 389)).await.expect("bind the relay");
    let relay = tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect((dc, 389)).await else { return };
                let (mut client_read, mut client_write) = inbound.into_split();
                let (mut dc_read, mut dc_write) = outbound.into_split();
                let down = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut dc_read, &mut client_write).await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                let mut passed = false;
                while let Ok(k) = client_read.read(&mut buf).await {
                    if k == 0 {
                        break;
                    }
                    if !passed {
                        passed = true;
                        if dc_write.write_all(&buf[..k]).await.is_err() {
                            break;
                        }
                    }
                }
                down.abort();
            });
        }
    });
    let mut target = lab.target("lab1");
    target.dc_addr = IpAddr::V4(front);
    let mut opts = lab.opts.clone();
    opts.allow_plain_ldap = true;
    opts.operation_timeout = Duration::from_secs(2);
    let query = UserQuery::parse("alice@lab1.example.test", None).expect("upn");
    let lookup = find_user(&[target], &query, false, &opts).await;
    relay.abort();
    assert!(lookup.found.is_empty() && lookup.near.is_empty(), "{lookup:#?}");
    let search = &lookup.searched[..];
    assert_eq!(search.len(), 1, "{lookup:#?}");
    assert!(search[0].dc.is_some(), "the DC answered the bind: {lookup:#?}");
    let error = search[0].error.as_deref().expect("the search failed");
    assert!(error.contains("timed out after 2 s") && error.contains("userPrincipalName=alice"), "{error}");
}

/// Every user of a domain, page by page: the same users whatever the page
/// size (several pages of 50, or one), the seeded ones among them, and a
/// wrong password gives an error with nothing handed on.
#[tokio::test]
#[ignore = "needs the Samba lab"]
async fn every_user_is_read_page_by_page() {
    use phs_sources::ad::users::{for_each_user, PAGE_SIZE};
    let lab = Lab::new();
    let target = lab.target("lab1");
    let mut paged = Vec::new();
    let read = for_each_user(&target, false, 50, &lab.opts, &mut |u: AdUser| paged.push(u.dn)).await;
    assert_eq!(read.error, None);
    let mut whole = Vec::new();
    let read_whole = for_each_user(&target, false, PAGE_SIZE, &lab.opts, &mut |u: AdUser| whole.push(u.dn)).await;
    assert_eq!(read_whole.error, None);
    paged.sort();
    whole.sort();
    assert_eq!(paged, whole);
    assert_eq!(read.users as usize, paged.len());
    let bulk = lab.facts["forests"]["lab1"]["bulk_user_count"].as_u64().unwrap() as usize;
    assert!(paged.len() > bulk, "{} users, {bulk} bulk", paged.len());
    assert!(paged.iter().any(|dn| dn.starts_with("CN=frank,")), "the inetOrgPerson is a user");
    let wrong = lab.target_as("lab1", "svc-direct", "not-the-password");
    let mut none = 0;
    let read = for_each_user(&wrong, false, 50, &lab.opts, &mut |_: AdUser| none += 1).await;
    assert!(read.error.is_some() && none == 0 && read.users == 0, "{read:?}");
}

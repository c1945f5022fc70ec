//! Replication rights against the real lab DC (lab1), judged by PHS007 and
//! PHS014: rights split over groups, broad groups, denies, class ACEs.
//!
//! Each test creates its own groups and users (unique names), adds ACEs to
//! the domain root, reads the facts as the unprivileged svc-norights (what a
//! connector account can read), judges them, and then deletes what it
//! created and writes the root's original DACL back, also when an assertion
//! failed. Tests in this file run one at a time.
//!
//!     ip netns exec phslab cargo test -p phs-doctor --test rights_lab -- --ignored

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use phs_model::{AdEvidence, DomainFacts, Finding, LdapFacts, Snapshot, Status};
use phs_secdesc::Sid;
use phs_sources::ad::ldap::build_token;
use phs_sources::ad::{AdOptions, DomainTarget, Locator, Secret, TlsOptions};
use serde_json::Value;

const GC: &str = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2";
const GCA: &str = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2";
const DOMAIN_DNS: &str = "19195a5b-6da0-11d0-afd3-00c04fd930c9";
/// LDAP_SERVER_SD_FLAGS_OID with DACL_SECURITY_INFORMATION, for ldapsearch/ldapmodify.
const SD_FLAGS: &str = "!1.2.840.113556.1.4.801=::MAMCAQQ=";

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn lab() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.lab/lab.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; start the lab with `lab/lab.sh up`", path.display()));
    let lab: Value = serde_json::from_str(&text).expect("lab.json");
    let addr = "127.0.0.2:389".parse().expect("addr");
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err() {
        panic!("the lab DC 127.0.0.2 does not answer: run inside `ip netns exec phslab` with the lab up");
    }
    lab
}

/// lab1, as the administrator who seeds scenarios.
#[derive(Clone)]
struct Lab1 {
    f: Value,
    pwfile: std::sync::Arc<tempfile::NamedTempFile>,
    suffix: String,
}

impl Lab1 {
    fn new() -> Lab1 {
        Lab1::forest("lab1")
    }

    /// Another forest of the lab (for its accounts and DC; its root DACL is
    /// not changed).
    fn forest(name: &str) -> Lab1 {
        let f = lab()["forests"][name].clone();
        let pwfile = tempfile::NamedTempFile::new().expect("temp file");
        // Owner-only by tempfile; ldapsearch -y reads the whole file.
        std::fs::write(pwfile.path(), s(&f["admin"]["password"])).expect("write password file");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock");
        let suffix = format!("{:x}", now.as_micros() & 0xff_ffff);
        Lab1 { f, pwfile: std::sync::Arc::new(pwfile), suffix }
    }

    fn get(&self, key: &str) -> String {
        s(&self.f[key])
    }

    fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.suffix)
    }

    /// samba-tool against lab1 as Administrator (password from the
    /// environment, never argv).
    fn samba_tool(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("samba-tool")
            .args(args)
            .args(["-H", &self.get("ldap_url"), "-U", "Administrator", "--use-kerberos=off"])
            .env("PASSWD", s(&self.f["admin"]["password"]))
            .output()
            .map_err(|e| format!("samba-tool: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("samba-tool {args:?}: {}", String::from_utf8_lossy(&out.stderr)))
        }
    }

    fn ldap(&self, tool: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let mut cmd = Command::new(tool);
        cmd.args(["-x", "-H", &self.get("ldap_url"), "-D", &s(&self.f["admin"]["dn"]), "-y"])
            .arg(self.pwfile.path())
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("{tool}: {e}"))?;
        if let Some(text) = stdin {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr)))
        }
    }

    /// The domain root's DACL (base64 of the binary descriptor).
    fn root_dacl(&self) -> Result<String, String> {
        let base = self.get("base_dn");
        let out = self.ldap(
            "ldapsearch",
            &["-o", "ldif-wrap=no", "-E", SD_FLAGS, "-b", &base, "-s", "base", "nTSecurityDescriptor"],
            None,
        )?;
        out.lines()
            .find_map(|l| l.strip_prefix("nTSecurityDescriptor:: "))
            .map(str::to_owned)
            .ok_or_else(|| format!("no nTSecurityDescriptor in {out}"))
    }

    /// Writes a DACL back with Samba's own bindings (ldapmodify cannot send
    /// the SD flags control with a binary value); the password goes through
    /// the environment, the descriptor through stdin.
    fn write_root_dacl(&self, b64: &str) -> Result<(), String> {
        const WRITE: &str = "import os, sys, base64, ldb\n\
from samba.samdb import SamDB\n\
from samba.param import LoadParm\n\
from samba.credentials import Credentials\n\
lp = LoadParm(); c = Credentials(); c.guess(lp)\n\
c.set_username('Administrator'); c.set_password(os.environ['LAB_ADMIN_PASSWORD'])\n\
db = SamDB(url=os.environ['LAB_URL'], credentials=c, lp=lp)\n\
m = ldb.Message(); m.dn = ldb.Dn(db, os.environ['LAB_BASE'])\n\
m['nTSecurityDescriptor'] = ldb.MessageElement(base64.b64decode(sys.stdin.read().strip()), ldb.FLAG_MOD_REPLACE, 'nTSecurityDescriptor')\n\
db.modify(m, controls=['sd_flags:1:4'])\n";
        let mut child = Command::new("/usr/bin/python3")
            .args(["-c", WRITE])
            .env("LAB_ADMIN_PASSWORD", s(&self.f["admin"]["password"]))
            .env("LAB_URL", self.get("ldap_url"))
            .env("LAB_BASE", self.get("base_dn"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3: {e}"))?;
        {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(b64.as_bytes()).map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("writing the root DACL: {}", String::from_utf8_lossy(&out.stderr)))
        }
    }

    /// Samba's Python bindings as Administrator: `code` runs with `db` (a
    /// SamDB on this DC) and `arg` (the environment's LAB_ARG) defined.
    fn samdb(&self, code: &str, arg: &str) -> Result<String, String> {
        let script = format!(
            "import os, ldb\nfrom samba.samdb import SamDB\nfrom samba.param import LoadParm\n\
             from samba.credentials import Credentials\nlp = LoadParm(); c = Credentials(); c.guess(lp)\n\
             c.set_username('Administrator'); c.set_password(os.environ['LAB_ADMIN_PASSWORD'])\n\
             db = SamDB(url=os.environ['LAB_URL'], credentials=c, lp=lp)\narg = os.environ['LAB_ARG']\n{code}\n"
        );
        let out = Command::new("/usr/bin/python3")
            .args(["-c", &script])
            .env("LAB_ADMIN_PASSWORD", s(&self.f["admin"]["password"]))
            .env("LAB_URL", self.get("ldap_url"))
            .env("LAB_ARG", arg)
            .output()
            .map_err(|e| format!("python3: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("samdb: {}", String::from_utf8_lossy(&out.stderr)))
        }
    }

    /// Adds a member by SID (Samba creates the foreignSecurityPrincipal
    /// for a SID of another forest, as AD does through a trust).
    fn add_member_sid(&self, group: &str, sid: &str) -> Result<(), String> {
        let dn = format!("CN={group},OU=Service Accounts,{}", self.get("base_dn"));
        let code = "g, sid = arg.split('|')\nm = ldb.Message(); m.dn = ldb.Dn(db, g)\n\
                    m['member'] = ldb.MessageElement('<SID=%s>' % sid, ldb.FLAG_MOD_ADD, 'member')\ndb.modify(m)";
        self.samdb(code, &format!("{dn}|{sid}")).map(|_| ())
    }

    fn delete_foreign_principal(&self, sid: &str) -> Result<(), String> {
        let code = format!(
            "dn = 'CN=%s,CN=ForeignSecurityPrincipals,{}' % arg\n\
             if db.search(base='CN=ForeignSecurityPrincipals,{}', scope=ldb.SCOPE_ONELEVEL, expression='(cn=%s)' % arg):\n    db.delete(dn)",
            self.get("base_dn"),
            self.get("base_dn")
        );
        self.samdb(&code, sid).map(|_| ())
    }

    fn target(&self, account: &str) -> DomainTarget {
        DomainTarget {
            connector: self.get("domain"),
            domain: self.get("domain"),
            partition_dn: self.get("base_dn"),
            account_user: account.to_owned(),
            account_domain: self.get("netbios"),
            locator: Locator::Configured(vec![self.get("dc_host")]),
            dns_server: None,
        }
    }

    fn dc(&self) -> (String, std::net::IpAddr) {
        (self.get("dc_host"), self.get("ip").parse().expect("ip"))
    }

    fn secret(&self, account: &str) -> Secret {
        Secret::new(s(&self.f["accounts"][account]["password"]))
    }

    fn account_sid(&self, account: &str) -> String {
        s(&self.f["accounts"][account]["sid"])
    }

    fn group_sid(&self, group: &str) -> String {
        s(&self.f["groups"][group]["sid"])
    }

    /// Adds ACEs to the domain root; samba-tool puts each new ACE first, so
    /// the last one given ends up first.
    fn add_root_aces(&self, sddl: &str) -> Result<(), String> {
        self.samba_tool(&["dsacl", "set", &format!("--objectdn={}", self.get("base_dn")), &format!("--sddl={sddl}")])
            .map(|_| ())
    }

    fn sid_of(&self, sam: &str) -> Result<String, String> {
        let out = self.ldap(
            "ldapsearch",
            &["-o", "ldif-wrap=no", "-b", &self.get("base_dn"), &format!("(sAMAccountName={sam})"), "objectSid"],
            None,
        )?;
        let b64 = out.lines().find_map(|l| l.strip_prefix("objectSid:: ")).ok_or_else(|| format!("no {sam}"))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| e.to_string())?;
        Ok(Sid::parse(&raw).map_err(|e| e.to_string())?.0.to_string())
    }

    /// What svc-norights reads of the domain over verified LDAPS.
    async fn facts_as(&self, account: &str) -> DomainFacts {
        let target = DomainTarget {
            connector: self.get("domain"),
            domain: self.get("domain"),
            partition_dn: self.get("base_dn"),
            account_user: account.to_owned(),
            account_domain: self.get("netbios"),
            locator: Locator::Configured(vec![self.get("dc_host")]),
            dns_server: None,
        };
        let opts = AdOptions {
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(20),
            tls: TlsOptions { ca_file: Some(PathBuf::from(s(&self.f["tls"]["ca_file"]))), verify: true },
            allow_plain_ldap: false,
            max_dcs: 1,
            ..AdOptions::default()
        };
        let secret = Secret::new(s(&self.f["accounts"][account]["password"]));
        let ip = self.get("ip").parse().expect("ip");
        let ldap: LdapFacts = inspect_account(&target, &self.get("dc_host"), ip, &secret, &opts, &[389, 636]).await;
        assert!(ldap.bind.ok, "{account} binds: {:?}", ldap.bind);
        DomainFacts {
            connector: target.connector.clone(),
            domain: target.domain.clone(),
            partition_dn: target.partition_dn.clone(),
            account: target.bind_identity(),
            ldap: Some(ldap),
            ..Default::default()
        }
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("lab.json: not a string: {v}")).to_owned()
}

/// PHS007 and PHS014 on one domain's facts.
fn judge(d: DomainFacts) -> (Finding, Finding) {
    let mut snapshot = Snapshot::new(jiff::Timestamp::now());
    snapshot.ad = Some(AdEvidence { domains: vec![d] });
    let diagnosis = phs_rules::evaluate(&snapshot, jiff::Timestamp::now(), &phs_rules::Settings::default());
    let pick = |code: &str| diagnosis.findings.iter().find(|f| f.code == code).cloned().expect(code);
    (pick("PHS007"), pick("PHS014"))
}

/// What a scenario created, deleted afterwards in reverse order.
#[derive(Default)]
struct Created {
    users: Vec<String>,
    groups: Vec<String>,
    computers: Vec<String>,
    /// SIDs of another forest whose foreignSecurityPrincipals were created.
    foreign: Vec<String>,
}

impl Created {
    fn cleanup(&self, lab: &Lab1, original_dacl: &str) -> Vec<String> {
        let mut errors = Vec::new();
        if let Err(e) = lab.write_root_dacl(original_dacl) {
            errors.push(e);
        }
        for u in self.users.iter().rev() {
            errors.extend(lab.samba_tool(&["user", "delete", u]).err());
        }
        for c in self.computers.iter().rev() {
            errors.extend(lab.samba_tool(&["computer", "delete", c]).err());
        }
        for g in self.groups.iter().rev() {
            errors.extend(lab.samba_tool(&["group", "delete", g]).err());
        }
        for sid in &self.foreign {
            errors.extend(lab.delete_foreign_principal(sid).err());
        }
        errors
    }
}

/// Runs `scenario` (which may panic) and cleans up after it whatever happened.
async fn with_scenario<F, Fut>(setup: impl FnOnce(&Lab1, &mut Created) -> Result<(), String>, scenario: F)
where
    F: FnOnce(Lab1) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let _one = ONE_AT_A_TIME.lock().await;
    let lab = Lab1::new();
    let original = lab.root_dacl().expect("read the root DACL");
    let mut created = Created::default();
    let outcome = match setup(&lab, &mut created) {
        // The scenario runs in a task so a failed assertion comes back here
        // as an error instead of skipping the cleanup.
        Ok(()) => tokio::spawn(scenario(lab.clone())).await.map_err(|e| e.into_panic()),
        Err(e) => Err(Box::new(format!("setup failed: {e}")) as Box<dyn std::any::Any + Send>),
    };
    let errors = created.cleanup(&lab, &original);
    assert_eq!(lab.root_dacl().as_deref(), Ok(original.as_str()), "the root DACL is restored");
    assert!(errors.is_empty(), "cleanup: {errors:?}");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Groups A and B, users and a computer, nested group N (in B):
/// u1 in A and B; u2 in A; u3 in N and A; pc1 (computer) in B; u4 in B.
fn split_setup(lab: &Lab1, c: &mut Created) -> Result<(), String> {
    let ou = "--groupou=OU=Service Accounts";
    for g in ["rA", "rB", "rN"] {
        let name = lab.name(g);
        lab.samba_tool(&["group", "add", &name, ou])?;
        c.groups.push(name);
    }
    for u in ["u1", "u2", "u3", "u4"] {
        let name = lab.name(u);
        lab.samba_tool(&["user", "add", &name, "--random-password", "--userou=OU=Service Accounts"])?;
        c.users.push(name);
    }
    let pc = lab.name("pc1");
    lab.samba_tool(&["computer", "add", &pc])?;
    c.computers.push(pc.clone());
    let add = |g: &str, members: &[String]| lab.samba_tool(&["group", "addmembers", &lab.name(g), &members.join(",")]);
    add("rA", &[lab.name("u1"), lab.name("u2"), lab.name("u3")])?;
    add("rN", &[lab.name("u3")])?;
    add("rB", &[lab.name("u1"), lab.name("rN"), format!("{pc}$"), lab.name("u4")])?;
    Ok(())
}

fn names(f: &Finding) -> String {
    format!("{}\n{:?}", f.message, f.evidence)
}

/// Whether PHS014 names `who` among those who can replicate (each has an
/// evidence line of its own; the message may cut the list short).
fn exposed(f: &Finding, who: &str) -> bool {
    f.evidence.iter().any(|e| e.label.contains(who))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn rights_split_over_two_groups_reach_exactly_their_common_members() {
    with_scenario(split_setup, |lab| async move {
        let (a, b) = (lab.sid_of(&lab.name("rA")).unwrap(), lab.sid_of(&lab.name("rB")).unwrap());
        lab.add_root_aces(&format!("(OA;;CR;{GC};;{a})(OA;;CR;{GCA};;{b})")).unwrap();
        let d = lab.facts_as("svc-norights").await;
        // The facts: B's members, transitively (u3 through N).
        let facts = d.ldap.as_ref().unwrap().rights_trustees.clone().expect("trustees read");
        let tb = facts.trustees.iter().find(|t| t.sid == b).expect("B read");
        assert_eq!(tb.kind, "group");
        assert!(tb.members_complete, "{tb:?}");
        let member_names: Vec<String> = tb.members.iter().filter_map(|m| m.name.clone()).collect();
        for n in ["u1", "u3", "u4", "rN"] {
            assert!(member_names.iter().any(|m| m.ends_with(&lab.name(n))), "{n} in {member_names:?}");
        }
        let pc =
            tb.members.iter().find(|m| m.name.as_deref().is_some_and(|n| n.contains(&lab.name("pc1")))).expect("pc1");
        assert_eq!(pc.kind, "computer");
        let (_, phs014) = judge(d);
        assert_eq!(phs014.status, Status::Warn, "{phs014:#?}");
        let said = names(&phs014);
        for yes in ["u1", "u3"] {
            assert!(exposed(&phs014, &lab.name(yes)), "{yes}: {said}");
        }
        for no in ["u2", "u4", "pc1"] {
            assert!(!exposed(&phs014, &lab.name(no)) && !phs014.message.contains(&lab.name(no)), "{no}: {said}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_broad_group_and_a_group_or_a_deny_change_who_is_exposed() {
    with_scenario(split_setup, |lab| async move {
        let b = lab.sid_of(&lab.name("rB")).unwrap();
        let n = lab.sid_of(&lab.name("rN")).unwrap();
        let original = lab.root_dacl().unwrap();

        // Domain Users has Get-Changes, B Get-Changes-All: B's users (u1,
        // u3 through N, u4), not its computer (Domain Users is not a
        // computer's primary group).
        lab.add_root_aces(&format!("(OA;;CR;{GC};;DU)(OA;;CR;{GCA};;{b})")).unwrap();
        let (_, phs014) = judge(lab.facts_as("svc-norights").await);
        assert_eq!(phs014.status, Status::Warn, "{phs014:#?}");
        for yes in ["u1", "u3", "u4"] {
            assert!(exposed(&phs014, &lab.name(yes)), "{yes}: {}", names(&phs014));
        }
        assert!(!exposed(&phs014, &lab.name("pc1")) && !exposed(&phs014, &lab.name("u2")), "{}", names(&phs014));

        // Authenticated Users instead: every member of B, whoever joins.
        lab.write_root_dacl(&original).unwrap();
        lab.add_root_aces(&format!("(OA;;CR;{GC};;AU)(OA;;CR;{GCA};;{b})")).unwrap();
        let (_, phs014) = judge(lab.facts_as("svc-norights").await);
        assert!(exposed(&phs014, &format!("every member of LAB1\\{}", lab.name("rB"))), "{}", names(&phs014));

        // A deny on N placed first: u3 loses Get-Changes-All.
        lab.write_root_dacl(&original).unwrap();
        let a = lab.sid_of(&lab.name("rA")).unwrap();
        lab.add_root_aces(&format!("(OA;;CR;{GC};;{a})(OA;;CR;{GCA};;{b})(OD;;CR;{GCA};;{n})")).unwrap();
        let (_, phs014) = judge(lab.facts_as("svc-norights").await);
        assert!(exposed(&phs014, &lab.name("u1")), "{}", names(&phs014));
        assert!(!exposed(&phs014, &lab.name("u3")), "denied through N: {}", names(&phs014));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_domain_dns_class_ace_is_judged_as_windows_judges_it() {
    // Windows: MS-ADTS 5.1.3.3.4 with the object type list of MS-DTYP
    // 2.5.3.2 (domainDNS class at level 0): a class ACE with CR grants, or
    // denies, both replication rights. Samba 4.17's DRS server builds its
    // tree from the right alone and would refuse this replication; the
    // verdict follows Windows, the reference.
    with_scenario(
        |_, _| Ok(()),
        |lab| async move {
            let original = lab.root_dacl().unwrap();
            let norights = lab.sid_of("svc-norights").unwrap();
            lab.add_root_aces(&format!("(OA;;CR;{DOMAIN_DNS};;{norights})")).unwrap();
            let (phs007, _) = judge(lab.facts_as("svc-norights").await);
            assert_eq!(phs007.status, Status::Pass, "{phs007:#?}");
            // Seen with svc-direct as the connector account, svc-norights
            // is a new holder of both rights.
            let (_, phs014) = judge(lab.facts_as("svc-direct").await);
            assert!(exposed(&phs014, "svc-norights"), "a new holder of both rights: {}", names(&phs014));

            // Domain Users through the class: every authenticated user.
            lab.write_root_dacl(&original).unwrap();
            lab.add_root_aces(&format!("(OA;;CR;{DOMAIN_DNS};;DU)")).unwrap();
            let (phs007, phs014) = judge(lab.facts_as("svc-norights").await);
            assert_eq!(phs007.status, Status::Pass, "{phs007:#?}");
            assert_eq!(phs014.status, Status::Fail, "{phs014:#?}");

            // A class deny for svc-direct, first: both rights denied.
            lab.write_root_dacl(&original).unwrap();
            let direct = lab.sid_of("svc-direct").unwrap();
            lab.add_root_aces(&format!("(OD;;CR;{DOMAIN_DNS};;{direct})")).unwrap();
            let (phs007, _) = judge(lab.facts_as("svc-direct").await);
            assert_eq!(phs007.status, Status::Fail, "{phs007:#?}");
            assert!(phs007.message.contains("explicit deny"), "{}", phs007.message);

            // The `domain` superclass is not at the root of the list.
            lab.write_root_dacl(&original).unwrap();
            lab.add_root_aces(&format!("(OA;;CR;19195a5a-6da0-11d0-afd3-00c04fd930c9;;{norights})")).unwrap();
            let (phs007, _) = judge(lab.facts_as("svc-norights").await);
            assert_eq!(phs007.status, Status::Fail, "{phs007:#?}");
        },
    )
    .await;
}

fn opts(lab: &Lab1) -> AdOptions {
    AdOptions {
        connect_timeout: Duration::from_secs(5),
        operation_timeout: Duration::from_secs(20),
        tls: TlsOptions { ca_file: Some(PathBuf::from(s(&lab.f["tls"]["ca_file"]))), verify: true },
        allow_plain_ldap: false,
        max_dcs: 1,
        ..AdOptions::default()
    }
}

fn group(lab: &Lab1, c: &mut Created, base: &str, scope: &str) -> Result<String, String> {
    let name = lab.name(base);
    lab.samba_tool(&["group", "add", &name, "--groupou=OU=Service Accounts", &format!("--group-scope={scope}")])?;
    c.groups.push(name.clone());
    Ok(name)
}

/// DL1 (domain-local) holds the global group PHS Inner, DL2 (domain-local)
/// holds DL1, U1 (universal) holds svc-nested, DL3 holds someone else.
fn token_setup(lab: &Lab1, c: &mut Created) -> Result<(), String> {
    let dl1 = group(lab, c, "tDL1", "Domain")?;
    let dl2 = group(lab, c, "tDL2", "Domain")?;
    let u1 = group(lab, c, "tU1", "Universal")?;
    let dl3 = group(lab, c, "tDL3", "Domain")?;
    lab.samba_tool(&["group", "addmembers", &dl1, "PHS Inner"])?;
    lab.samba_tool(&["group", "addmembers", &dl2, &dl1])?;
    lab.samba_tool(&["group", "addmembers", &u1, "svc-nested"])?;
    lab.samba_tool(&["group", "addmembers", &dl3, "svc-getchanges"])?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn the_token_built_from_parts_matches_what_the_dc_computes() {
    // Same domain: the DC's own tokenGroups is the reference for the parts
    // (global and universal groups + this domain's domain-local and BUILTIN
    // groups, nested).
    with_scenario(token_setup, |lab| async move {
        let (host, ip) = lab.dc();
        let target = lab.target("svc-nested");
        let secret = lab.secret("svc-nested");
        let (account, token) =
            build_token(&target, (&host, ip), &target, (&host, ip), &secret, None, &opts(&lab)).await;
        assert_eq!(token.error, None, "{token:?}");
        let account = account.expect("account read at home");
        let sid = |n: &str| lab.sid_of(&lab.name(n)).unwrap();
        let gu = &token.global_and_universal;
        for g in [lab.group_sid("PHS Inner"), lab.group_sid("PHS Outer"), lab.group_sid("Domain Users"), sid("tU1")] {
            assert!(gu.contains(&g), "{g} in global and universal {gu:?}");
        }
        assert!(!gu.iter().any(|g| *g == sid("tDL1") || g.starts_with("S-1-5-32-")), "{gu:?}");
        let res = &token.resource_groups;
        for g in [sid("tDL1"), sid("tDL2"), "S-1-5-32-545".to_owned()] {
            assert!(res.contains(&g), "{g} in resource groups {res:?}");
        }
        assert!(!res.contains(&sid("tDL3")), "{res:?}");
        // Every group of the DC's own tokenGroups is in the built token.
        let built: Vec<&String> = gu.iter().chain(res).collect();
        for g in &account.token_groups {
            assert!(built.contains(&g), "{g} of tokenGroups missing from the built token {built:?}");
        }
        println!("tokenGroups {:?}\nbuilt {built:?}", account.token_groups);
    })
    .await;
}

/// In lab1: X holds lab2's svc-nested, Y holds lab2's PHS Inner, Z holds X,
/// W holds lab2's svc-norights (all through foreignSecurityPrincipals).
fn foreign_setup(lab: &Lab1, c: &mut Created) -> Result<(), String> {
    let lab2 = Lab1::forest("lab2");
    let x = group(lab, c, "fX", "Domain")?;
    let y = group(lab, c, "fY", "Domain")?;
    let z = group(lab, c, "fZ", "Domain")?;
    let w = group(lab, c, "fW", "Domain")?;
    for (g, sid) in [
        (&x, lab2.account_sid("svc-nested")),
        (&y, lab2.group_sid("PHS Inner")),
        (&w, lab2.account_sid("svc-norights")),
    ] {
        c.foreign.push(sid.clone());
        lab.add_member_sid(g, &sid)?;
    }
    lab.samba_tool(&["group", "addmembers", &z, &x])?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn an_account_of_another_domain_gets_the_checked_domains_groups() {
    // The account (lab2's svc-nested) is read in its own domain; the token
    // for lab1 adds lab1's domain-local groups holding it or its groups
    // through foreignSecurityPrincipals, nested. The lab's two forests have
    // no trust, so lab1 is read as its own svc-norights where a forest
    // would use the connector account itself.
    with_scenario(foreign_setup, |lab| async move {
        let lab2 = Lab1::forest("lab2");
        let (h2, ip2) = lab2.dc();
        let (h1, ip1) = lab.dc();
        let home = lab2.target("svc-nested");
        let checked = lab.target("svc-norights");
        // Each lab forest has its own CA: trust both, as a forest's clients
        // trust its one enterprise CA.
        let cas = tempfile::NamedTempFile::new().expect("temp");
        let pem = |l: &Lab1| std::fs::read_to_string(s(&l.f["tls"]["ca_file"])).expect("CA file");
        std::fs::write(cas.path(), format!("{}\n{}", pem(&lab), pem(&lab2))).expect("write CAs");
        let mut both_cas = opts(&lab2);
        both_cas.tls.ca_file = Some(cas.path().to_path_buf());
        let (account, token) = build_token(
            &home,
            (&h2, ip2),
            &checked,
            (&h1, ip1),
            &lab2.secret("svc-nested"),
            Some(&lab.secret("svc-norights")),
            &both_cas,
        )
        .await;
        assert_eq!(token.error, None, "{token:?}");
        let account = account.expect("read in lab2");
        assert_eq!(account.sid.as_deref(), Some(lab2.account_sid("svc-nested").as_str()));
        assert!(token.global_and_universal.contains(&lab2.group_sid("PHS Outer")), "{token:?}");
        let sid = |n: &str| lab.sid_of(&lab.name(n)).unwrap();
        for g in ["fX", "fY", "fZ"] {
            assert!(token.resource_groups.contains(&sid(g)), "{g}: {token:?}");
        }
        assert!(!token.resource_groups.contains(&sid("fW")), "{token:?}");
        // lab2's own domain-local groups are not in it: only lab1's.
        assert!(!token.resource_groups.iter().any(|g| g.starts_with(&lab2.get("domain_sid"))), "{token:?}");

        // PHS007 for lab1 with that token: the rights through Z and Y.
        let original = lab.root_dacl().unwrap();
        for (aces, status) in [
            (format!("(OA;;CR;{GC};;{})(OA;;CR;{GCA};;{})", sid("fZ"), sid("fY")), Status::Pass),
            (format!("(OA;;CR;{GC};;{})(OA;;CR;{GCA};;{})", sid("fZ"), sid("fW")), Status::Fail),
        ] {
            lab.write_root_dacl(&original).unwrap();
            lab.add_root_aces(&aces).unwrap();
            let mut d = lab.facts_as("svc-norights").await;
            d.account = home.bind_identity();
            let l = d.ldap.as_mut().unwrap();
            l.account = Some(account.clone());
            l.account_error = None;
            l.account_token = Some(token.clone());
            let (phs007, _) = judge(d);
            assert_eq!(phs007.status, status, "{aces}: {phs007:#?}");
            if status == Status::Pass {
                assert!(
                    phs007.evidence.iter().any(|e| e.value.contains("domain-local and BUILTIN of lab1")),
                    "{phs007:#?}"
                );
            }
        }
    })
    .await;
}

/// A group of every bulk user (300 in the lab: more than one page).
fn bulk_setup(lab: &Lab1, c: &mut Created) -> Result<(), String> {
    let big = group(lab, c, "bulk", "Global")?;
    let count = lab.f["bulk_user_count"].as_u64().ok_or("bulk_user_count")?;
    let names: Vec<String> = (1..=count).map(|i| format!("bulk{i:04}")).collect();
    lab.samba_tool(&["group", "addmembers", &big, &names.join(",")])?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Samba lab (scripts/test.sh runs it)"]
async fn a_group_larger_than_a_page_is_read_whole_and_reported_capped() {
    with_scenario(bulk_setup, |lab| async move {
        let big = lab.sid_of(&lab.name("bulk")).unwrap();
        let count = lab.f["bulk_user_count"].as_u64().unwrap() as usize;
        lab.add_root_aces(&format!("(OA;;CR;{GC};;AU)(OA;;CR;{GCA};;{big})")).unwrap();
        let d = lab.facts_as("svc-norights").await;
        let facts = d.ldap.as_ref().unwrap().rights_trustees.clone().expect("trustees");
        let t = facts.trustees.iter().find(|t| t.sid == big).expect("the group");
        assert!(t.members_complete, "{:?}", t.error);
        assert_eq!(t.members.len(), count, "every member over several pages");
        assert!(t.members.iter().all(|m| m.kind == "user"));
        let (_, phs014) = judge(d);
        let e = phs014.evidence.iter().find(|e| e.label.contains(&lab.name("bulk"))).expect("group evidence");
        assert!(e.value.contains(&format!("and {} more", count - 10)), "{}", e.value);
        assert!(phs014.evidence.len() < 45, "{} evidence lines", phs014.evidence.len());
    })
    .await;
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

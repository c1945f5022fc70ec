//! LDAP against one DC: the rootDSE, the connector account's simple bind, the
//! account object with its token groups, the domain root's DACL and names for
//! the SIDs in both. Every step has a timeout and records its own failure in
//! words; one step failing never stops the others.
//!
//! Transport: the DC is dialled at the located address and its certificate is
//! checked against the DC host name (see the `tls` submodule). The bind goes over LDAPS
//! (636), else StartTLS on 389. Plain LDAP on 389 is a transport chosen
//! explicitly ([`AdOptions::allow_plain_ldap`]), never a fallback after a
//! refused StartTLS. The TCP connect has the connect timeout; the TLS
//! handshake, StartTLS and every LDAP operation have the operation timeout,
//! so a slow DC is slow, not "not answering TLS".
//!
//! The password goes to exactly one place, the simple bind request. No error
//! text built here contains it: errors are made from LDAP results, I/O and
//! TLS errors, never from a request, and never with `{:?}` of an ldap3 error
//! (whose send errors would carry the request).

mod entry;
mod membership;
mod names;
mod tls;
mod token;

pub use token::build_token;
// For the other readers of one DC (one user's object, `ad::user`): the same
// session, bind and entry decoding as the checks.
pub(crate) use entry::{escape_bytes, escape_value, Entry};
pub(crate) use token::bind as bind_session;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ldap3::controls::RawControl;
use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult, Scope, SearchOptions, SearchResult, StdStream,
};
use phs_model::ad::{AccountFacts, LdapFacts, RootDse};
use phs_secdesc::{SecurityDescriptor, Sid};
use rustls::pki_types::ServerName;
use tokio::task::JoinHandle;

use super::bind_gate::{BindGate, Refusal};
use super::tcp::{connect as tcp_connect, millis};
use super::{AdOptions, DomainTarget, Secret};
use crate::wording::{describe_io_error, io_failure};
use phs_model::{human_std_duration, AccountName, NetFailure};

/// LDAP_SERVER_SD_FLAGS_OID.
pub const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";

/// The SD flags control value: BER `SEQUENCE { INTEGER 4 }`, DACL only.
/// Without the control AD asks for the SACL as well, which needs
/// SeSecurityPrivilege, and a non-admin then gets no nTSecurityDescriptor at
/// all; the DACL alone is what the permission checks need.
const SD_FLAGS_DACL: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x04];

const ROOT_DSE_ATTRS: &[&str] = &[
    "defaultNamingContext",
    "configurationNamingContext",
    "dnsHostName",
    "serverName",
    "domainFunctionality",
    "forestFunctionality",
    "supportedSASLMechanisms",
    "supportedControl",
];

const ACCOUNT_ATTRS: &[&str] = &[
    "distinguishedName",
    "sAMAccountName",
    "objectSid",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "pwdLastSet",
    "accountExpires",
    "lockoutTime",
    "badPwdCount",
    "msDS-UserPasswordExpiryTimeComputed",
];

/// How the LDAP session is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Ldaps,
    StartTls,
    Plain,
}

impl Transport {
    /// The name recorded in `BindFacts::transport`.
    fn name(self) -> &'static str {
        match self {
            Transport::Ldaps => "ldaps",
            Transport::StartTls => "starttls",
            Transport::Plain => "ldap",
        }
    }

    fn port(self) -> u16 {
        match self {
            Transport::Ldaps => 636,
            Transport::StartTls | Transport::Plain => 389,
        }
    }

    fn tls(self) -> bool {
        self != Transport::Plain
    }
}

/// Read the rootDSE anonymously. Port 389 first, without TLS: the read sends
/// no credentials, and it also works on a DC whose certificate is broken
/// (which the bind then reports). LDAPS on 636 only when 389 cannot be reached.
pub async fn read_root_dse(dc_host: &str, addr: IpAddr, opts: &AdOptions) -> Result<RootDse, String> {
    read_root_dse_via(dc_host, addr, opts, &[]).await.0
}

/// [`read_root_dse`], skipping ports the TCP probe found closed (`open_ports`
/// empty: not probed), and saying which transport the read went over (or
/// was last tried). A DC that accepted the connection on 389 but did not
/// answer the read is not asked again over 636: it does not answer LDAP,
/// and a second wait would only eat into the domain's deadline.
pub async fn read_root_dse_via(
    dc_host: &str,
    addr: IpAddr,
    opts: &AdOptions,
    open_ports: &[u16],
) -> (Result<RootDse, String>, &'static str) {
    let open = |port: u16| open_ports.is_empty() || open_ports.contains(&port);
    let mut failures = Vec::new();
    let mut last = Transport::Plain;
    for transport in [Transport::Plain, Transport::Ldaps].into_iter().filter(|t| open(t.port())) {
        last = transport;
        match connect(dc_host, addr, transport, opts).await {
            Ok(mut conn) => {
                let result = root_dse_on(&mut conn).await.map(|(dse, _)| dse);
                conn.close().await;
                let result = result.map_err(|e| {
                    format!("rootDSE read over {} from {}: {e}", transport.name(), dc_label(dc_host, addr))
                });
                return (result, transport.name());
            }
            Err(failure) => failures.push(failure.words),
        }
    }
    if failures.is_empty() {
        failures.push(format!("neither LDAP (389) nor LDAPS (636) is open on {}", dc_label(dc_host, addr)));
    }
    (Err(failures.join("; ")), last.name())
}

/// Whether the DC answered at all during [`inspect_account`]: a DC that
/// did not (TCP, a handshake or the bind timed out or was cut) is passed over
/// for the next one; a DC that answered, even with a refusal or a
/// certificate the tool does not trust, gives the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Answered,
    NoAnswer,
}

/// Bind as the connector account and read what the checks need.
///
/// * Transport: LDAPS (636), else StartTLS on 389; plain 389 alone when
///   `opts.allow_plain_ldap`. `open_ports` (from the TCP probe; empty = not
///   probed) skips ports known to be closed. A transport is abandoned for the
///   next one when it cannot be set up (TCP, StartTLS refused, TLS handshake);
///   a certificate that fails verification stops everything instead, so the
///   password is never sent after the DC failed to prove who it is.
///   `bind.error` then lists every attempt; when a later transport works, the
///   earlier failures are not kept (the port probe has them).
/// * `bind.elapsed_ms` covers the connection, TLS and the bind itself.
/// * The rootDSE is read on the same connection after the bind (even a
///   failed one: it needs no credentials).
/// * Only after a successful bind: the account (`account` / `account_error`),
///   the domain root's DACL and SID (`domain_root_sd` / `domain_root_sd_error`,
///   `domain_sid`) and `sid_names`. When the bind failed they stay empty
///   without an error of their own; the bind facts say why.
/// * An empty password is never sent: a simple bind with an empty password
///   is an anonymous bind that "succeeds" and proves nothing.
///
/// It goes through the credential's [`BindGate`]: no bind when the same
/// credential was already refused (result 49) in another domain of this run,
/// and a refusal here closes the gate for the others (a lone call passes
/// `&BindGate::new()`). It also says whether the DC answered at all.
pub async fn inspect_account(
    target: &DomainTarget,
    dc_host: &str,
    addr: IpAddr,
    secret: &Secret,
    opts: &AdOptions,
    open_ports: &[u16],
    gate: &BindGate,
) -> (LdapFacts, Reach) {
    let mut facts = LdapFacts { dc: dc_label(dc_host, addr), ..LdapFacts::default() };
    let identity = target.bind_identity();
    facts.bind.identity = identity.clone();

    let candidates = transports(opts, open_ports);
    let Some(first) = candidates.first() else {
        facts.bind.error = Some(if opts.allow_plain_ldap {
            format!("no bind attempted: plain LDAP was chosen and port 389 is not open on {}", dc_label(dc_host, addr))
        } else {
            format!("no bind attempted: neither LDAPS (636) nor LDAP (389) is open on {}", dc_label(dc_host, addr))
        });
        return (facts, Reach::NoAnswer);
    };
    facts.bind.transport = first.name().to_string();
    if secret.expose().is_empty() {
        facts.bind.error = Some(
            "no bind attempted: the password is empty, and a simple bind with an empty password is an \
             anonymous bind that proves nothing"
                .to_string(),
        );
        return (facts, Reach::Answered);
    }
    if identity.trim().is_empty() {
        facts.bind.error = Some("no bind attempted: the connector account name is empty".to_string());
        return (facts, Reach::Answered);
    }
    if let Some(refusal) = gate.refusal().await {
        not_tried(&mut facts, &refusal);
        return (facts, Reach::Answered);
    }

    let started = Instant::now();
    let mut failures = Vec::new();
    let mut kinds = Vec::new();
    let mut connected = None;
    let mut reach = Reach::NoAnswer;
    for &transport in &candidates {
        match connect(dc_host, addr, transport, opts).await {
            Ok(conn) => {
                connected = Some((transport, conn));
                break;
            }
            Err(failure) => {
                failures.push(failure.words);
                kinds.push(failure.kind);
                if failure.answered {
                    reach = Reach::Answered;
                }
                if failure.certificate {
                    break;
                }
            }
        }
    }
    let Some((transport, mut conn)) = connected else {
        facts.bind.error = Some(failures.join("; "));
        // A TLS failure on one transport is the one to act on, whatever the others said.
        facts.bind.failure = kinds.iter().find(|k| **k == NetFailure::Tls).or(kinds.last()).copied();
        facts.bind.elapsed_ms = millis(started.elapsed());
        return (facts, reach);
    };
    facts.bind.transport = transport.name().to_string();
    facts.bind.tls_verified = transport.tls() && opts.tls.verify;

    {
        // Another domain of the connector may have been refused while this
        // one connected: look again with the gate held, and keep holding it
        // until this bind's answer is known.
        let mut held = gate.hold().await;
        if let Some(refusal) = held.as_ref() {
            not_tried(&mut facts, refusal);
            facts.bind.transport = transport.name().to_string();
            drop(held);
            conn.close().await;
            return (facts, Reach::Answered);
        }
        match conn.bind(&identity, secret).await {
            Ok(result) => {
                reach = Reach::Answered;
                if result.rc == 49 {
                    *held = Some(Refusal { domain: target.domain.clone(), dc: dc_label(dc_host, addr) });
                }
                facts.bind.ok = result.rc == 0;
                facts.bind.result_code = Some(result.rc);
                facts.bind.sub_code = parse_sub_code(&result.text);
                if !result.text.is_empty() {
                    facts.bind.server_message = Some(result.text);
                }
            }
            Err((words, kind)) => {
                facts.bind.error = Some(format!("{} bind as {identity}: {words}", transport.name()));
                facts.bind.failure = Some(kind);
            }
        }
    }
    facts.bind.elapsed_ms = millis(started.elapsed());
    if reach == Reach::NoAnswer {
        conn.close().await;
        return (facts, reach);
    }

    let mut config_nc = None;
    match root_dse_on(&mut conn).await {
        Ok((dse, config)) => {
            facts.root_dse = Some(dse);
            config_nc = config;
        }
        Err(e) => facts.root_dse_error = Some(e),
    }

    if facts.bind.ok && opts.account_reads {
        read_as_account(&mut conn, target, config_nc.as_deref(), &mut facts, secret, opts).await;
        // The bind worked and the reads then got no answer: another DC can
        // do the reads (binding again costs no bad-password count). After a
        // refused bind the refusal stands, whatever the connection does next.
        if conn.stalled.is_some() {
            reach = Reach::NoAnswer;
        }
    }
    conn.close().await;
    (facts, reach)
}

/// The bind facts of a bind left out because the credential was refused
/// elsewhere: no error and no result, only where it was refused.
fn not_tried(facts: &mut LdapFacts, refusal: &Refusal) {
    facts.bind.refused_in = Some(format!("{} (by {})", refusal.domain, refusal.dc));
    facts.bind.error = None;
}

/// `data 52e` in AD's (and Samba's) diagnostic text, e.g.
/// `80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563`
/// gives `52e`. Lower-case hex, as written.
pub fn parse_sub_code(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower.get(from..).and_then(|rest| rest.find("data ")) {
        let at = from + found;
        let word_start = at == 0 || lower.as_bytes().get(at - 1).is_some_and(|b| !b.is_ascii_alphanumeric());
        let hex: String = lower.get(at + 5..).unwrap_or("").chars().take_while(char::is_ascii_hexdigit).collect();
        if word_start && !hex.is_empty() {
            return Some(hex);
        }
        from = at + 5;
    }
    None
}

// ------------------------------------------------------------------ steps

/// Everything read as the bound account; each step records its own error.
async fn read_as_account(
    conn: &mut Conn,
    target: &DomainTarget,
    config_nc: Option<&str>,
    facts: &mut LdapFacts,
    secret: &Secret,
    opts: &AdOptions,
) {
    let netbios = netbios_name(conn, target, config_nc).await;

    match read_account(conn, target).await {
        Ok((account, token_error)) => {
            facts.account = Some(account);
            facts.account_error = token_error;
        }
        Err(e) => facts.account_error = Some(e),
    }
    // An account of another domain of the forest (the usual single connector
    // account in the forest root): read it at home, build this domain's token.
    if facts.account.is_none() {
        if let Some(home) = token::foreign_domain(target, &netbios) {
            let (account, built) = token::read_foreign_account(conn, target, &home, config_nc, secret, opts).await;
            if account.is_some() {
                facts.account_error = None;
            } else if let Some(e) = &built.error {
                facts.account_error = Some(format!("the account is in {home}, not {}: {e}", target.domain));
            }
            facts.account = account;
            facts.account_token = Some(built);
        }
    }

    let dacl_sids = read_domain_root(conn, &target.partition_dn, facts).await;

    let mut sids: BTreeSet<Sid> = dacl_sids;
    if let Some(account) = &facts.account {
        let own = account.sid.iter().chain(&account.token_groups);
        sids.extend(own.filter_map(|s| s.parse::<Sid>().ok()));
    }
    if let Some(token) = &facts.account_token {
        let built = token.global_and_universal.iter().chain(&token.resource_groups);
        sids.extend(built.filter_map(|s| s.parse::<Sid>().ok()));
    }
    // The domain SID for naming Domain Admins & co. when a search misses
    // them: the root's objectSid, else the account's SID minus its RID.
    // (An account of another domain says nothing of this domain's SID.)
    let domain_sid = facts.domain_sid.as_deref().and_then(|s| s.parse::<Sid>().ok()).or_else(|| {
        if facts.account_token.is_some() {
            return None;
        }
        let account_sid = facts.account.as_ref()?.sid.as_deref()?.parse::<Sid>().ok()?;
        account_sid.parent()
    });
    // A failed name lookup only leaves SIDs unnamed; the findings say why.
    let (sid_names, lookup_error) =
        names::resolve(conn, &target.partition_dn, &netbios, domain_sid.as_ref(), &sids).await;
    facts.sid_names = sid_names;
    facts.sid_names_error = lookup_error;
    facts.rights_trustees = membership::read_rights_trustees(
        conn,
        &target.partition_dn,
        &netbios,
        domain_sid.as_ref(),
        facts.domain_root_sd.as_deref(),
    )
    .await;
}

/// The domain's NetBIOS name from its crossRef in the configuration
/// partition; the first label of the domain, upper-cased, when that cannot be
/// read.
async fn netbios_name(conn: &mut Conn, target: &DomainTarget, config_nc: Option<&str>) -> String {
    if let Some(name) = crossref_netbios(conn, &target.partition_dn, config_nc).await {
        return name;
    }
    let from_domain = target.domain.split('.').next().unwrap_or("").trim();
    if !from_domain.is_empty() {
        return from_domain.to_ascii_uppercase();
    }
    // No domain name either: the first label of the partition DN.
    phs_model::dn_to_fqdn(&target.partition_dn)
        .and_then(|fqdn| fqdn.split('.').next().map(str::to_ascii_uppercase))
        .unwrap_or_default()
}

/// The NetBIOS name of the domain whose naming context is `partition_dn`,
/// from its crossRef in `CN=Partitions` of the configuration partition;
/// None when that cannot be read.
pub(crate) async fn crossref_netbios(conn: &mut Conn, partition_dn: &str, config_nc: Option<&str>) -> Option<String> {
    let filter = format!("(&(objectClass=crossRef)(nCName={}))", escape_value(partition_dn));
    let base = format!("CN=Partitions,{}", config_nc?);
    let entries = conn.search(&base, Scope::OneLevel, &filter, &["nETBIOSName"], false).await.ok()?;
    entries.iter().filter_map(|e| e.first_str("nETBIOSName")).find(|n| !n.is_empty())
}

/// Find the account in the domain partition and read its attributes, then
/// its tokenGroups with a BASE read (the attribute is constructed; a subtree
/// search asking for it fails as a whole on AD and Samba). The second value
/// is the tokenGroups error, if only that part failed.
async fn read_account(conn: &mut Conn, target: &DomainTarget) -> Result<(AccountFacts, Option<String>), String> {
    let user = target.account_user.trim();
    let base = target.partition_dn.as_str();
    let person = "(objectCategory=person)(objectClass=user)";
    let name = AccountName::parse(user);
    let mut filter = match name {
        AccountName::Upn { .. } => format!("(&{person}(userPrincipalName={}))", escape_value(user)),
        _ => format!("(&{person}(sAMAccountName={}))", escape_value(user)),
    };
    let mut entries = conn
        .search(base, Scope::Subtree, &filter, ACCOUNT_ATTRS, false)
        .await
        .map_err(|e| format!("account search {filter} under {base}: {e}"))?;
    // An implicit UPN (sAMAccountName@domain) binds without userPrincipalName
    // being set, so look it up the way the DC resolved it.
    if entries.is_empty() {
        if let AccountName::Upn { user: name, suffix } = name {
            if suffix.eq_ignore_ascii_case(target.domain.trim_end_matches('.')) {
                filter = format!("(&{person}(sAMAccountName={}))", escape_value(name));
                entries = conn
                    .search(base, Scope::Subtree, &filter, ACCOUNT_ATTRS, false)
                    .await
                    .map_err(|e| format!("account search {filter} under {base}: {e}"))?;
            }
        }
    }
    let entry = match entries.len() {
        1 => entries.remove(0),
        0 => {
            return Err(format!(
                "no user matches {filter} under {base}: the account is not in this domain, or it cannot see itself"
            ))
        }
        n => return Err(format!("{n} users match {filter} under {base}; expected one")),
    };

    let mut account = account_facts(&entry);
    let token_error = match conn.search(&account.dn, Scope::Base, "(objectClass=*)", &["tokenGroups"], false).await {
        Ok(entries) => match entries.first() {
            Some(entry) => read_token_groups(entry, &mut account),
            None => Some(format!("tokenGroups of {}: the base read returned no entry", account.dn)),
        },
        Err(e) => Some(format!("tokenGroups of {}: {e}", account.dn)),
    };
    Ok((account, token_error))
}

/// The account's attributes as the checks need them (tokenGroups apart).
fn account_facts(entry: &Entry) -> AccountFacts {
    AccountFacts {
        dn: entry.first_str("distinguishedName").filter(|d| !d.is_empty()).unwrap_or_else(|| entry.dn.clone()),
        sam_account_name: entry.first_str("sAMAccountName"),
        sid: entry.first_bytes("objectSid").and_then(sid_text),
        user_account_control: entry.first_u32_bits("userAccountControl"),
        user_account_control_computed: entry.first_u32_bits("msDS-User-Account-Control-Computed"),
        pwd_last_set: entry.first_i64("pwdLastSet"),
        account_expires: entry.first_i64("accountExpires"),
        lockout_time: entry.first_i64("lockoutTime"),
        bad_pwd_count: entry.first_u32("badPwdCount"),
        password_expiry: entry.first_i64("msDS-UserPasswordExpiryTimeComputed"),
        token_groups: Vec::new(),
    }
}

/// Fills the account's tokenGroups SIDs; the error says what is wrong with
/// them.
fn read_token_groups(entry: &Entry, account: &mut AccountFacts) -> Option<String> {
    let values = entry.values("tokenGroups");
    account.token_groups = values.iter().filter_map(|v| sid_text(v)).collect();
    let bad = values.len() - account.token_groups.len();
    if values.is_empty() {
        // A token always holds the primary group: no value means the
        // attribute was withheld, not that there are no groups.
        Some(format!("tokenGroups of {}: the DC returned no value (the account may not read it)", account.dn))
    } else {
        (bad > 0).then(|| format!("tokenGroups of {}: {bad} value(s) are not valid SIDs", account.dn))
    }
}

/// The domain root's DACL (SD flags control) and objectSid. Returns the
/// distinct trustee SIDs of the DACL for naming.
async fn read_domain_root(conn: &mut Conn, partition_dn: &str, facts: &mut LdapFacts) -> BTreeSet<Sid> {
    let mut trustees = BTreeSet::new();
    let attrs = ["nTSecurityDescriptor", "objectSid"];
    match conn.search(partition_dn, Scope::Base, "(objectClass=*)", &attrs, true).await {
        Ok(entries) => match entries.first() {
            Some(entry) => trustees = read_domain_root_entry(entry, partition_dn, facts),
            None => facts.domain_root_sd_error = Some(format!("the base read of {partition_dn} returned no entry")),
        },
        Err(e) => {
            facts.domain_root_sd_error =
                Some(format!("reading nTSecurityDescriptor of {partition_dn} with the SD flags control: {e}"));
            // The SID does not depend on the control; try it alone.
            if let Ok(entries) = conn.search(partition_dn, Scope::Base, "(objectClass=*)", &["objectSid"], false).await
            {
                facts.domain_sid = entries.first().and_then(|e| e.first_bytes("objectSid")).and_then(sid_text);
            }
        }
    }
    trustees
}

/// The domain root's objectSid and nTSecurityDescriptor into `facts`;
/// returns the DACL's trustees.
fn read_domain_root_entry(entry: &Entry, partition_dn: &str, facts: &mut LdapFacts) -> BTreeSet<Sid> {
    let mut trustees = BTreeSet::new();
    facts.domain_sid = entry.first_bytes("objectSid").and_then(sid_text);
    match entry.first_bytes("nTSecurityDescriptor").filter(|raw| !raw.is_empty()) {
        Some(raw) => {
            facts.domain_root_sd = Some(base64::engine::general_purpose::STANDARD.encode(raw));
            // Parsing here only feeds the SID names; the checks
            // parse the stored bytes themselves and report there.
            if let Ok(sd) = SecurityDescriptor::parse(raw) {
                if let Some(dacl) = &sd.dacl {
                    trustees.extend(dacl.aces.iter().map(|ace| ace.sid));
                }
            }
        }
        None => {
            facts.domain_root_sd_error = Some(format!(
                "the DC returned no nTSecurityDescriptor for {partition_dn} (even with the SD flags control): the \
                 account cannot read the domain root's permissions"
            ))
        }
    }
    trustees
}

/// What the attribute decoding makes of a DC's bytes: `ber` as one
/// SearchResultEntry (`[APPLICATION 4]`) read both as the connector
/// account (objectSid, userAccountControl, the FILETIMEs, badPwdCount,
/// tokenGroups) and as the domain root (objectSid, nTSecurityDescriptor).
/// `None` when the bytes are not such an entry. This is the fuzz target
/// `ldap_attributes`' way in (no network): whatever the bytes, no panic.
pub fn decode_entry_ber(ber: &[u8]) -> Option<LdapFacts> {
    let (_, tag) = ldap3::asn1::parse_tag(ber).ok()?;
    Some(facts_from_entry(&Entry::from_tag(tag)?))
}

/// [`decode_entry_ber`] for attribute values given directly, so the fuzzer
/// reaches the value decoding without first finding valid BER.
pub fn decode_attribute_values(dn: &str, attributes: &[(&str, Vec<Vec<u8>>)]) -> LdapFacts {
    facts_from_entry(&Entry::from_values(dn, attributes))
}

fn facts_from_entry(entry: &Entry) -> LdapFacts {
    let mut facts = LdapFacts::default();
    let mut account = account_facts(entry);
    facts.account_error = read_token_groups(entry, &mut account);
    facts.account = Some(account);
    let dn = entry.dn.clone();
    for sid in read_domain_root_entry(entry, &dn, &mut facts) {
        facts.sid_names.insert(sid.to_string(), sid.well_known_name(None).unwrap_or("").to_owned());
    }
    facts
}

pub(crate) async fn root_dse_on(conn: &mut Conn) -> Result<(RootDse, Option<String>), String> {
    let entries = conn.search("", Scope::Base, "(objectClass=*)", ROOT_DSE_ATTRS, false).await?;
    let entry = entries.into_iter().next().ok_or_else(|| "the rootDSE search returned no entry".to_string())?;
    let dse = RootDse {
        default_naming_context: entry.first_str("defaultNamingContext"),
        dns_host_name: entry.first_str("dnsHostName"),
        server_name: entry.first_str("serverName"),
        domain_functionality: entry.first_str("domainFunctionality"),
        forest_functionality: entry.first_str("forestFunctionality"),
        supported_sasl_mechanisms: entry.strs("supportedSASLMechanisms"),
        sd_flags_control: entry.strs("supportedControl").iter().any(|oid| oid.trim() == SD_FLAGS_OID),
    };
    Ok((dse, entry.first_str("configurationNamingContext")))
}

pub(crate) fn sid_text(raw: &[u8]) -> Option<String> {
    Sid::parse(raw).ok().map(|(sid, _)| sid.to_string())
}

// ------------------------------------------------------------------ connection

/// Transports to try, in order of preference. Plain LDAP is a choice, not a
/// fallback: when it is chosen it is the only transport, and when it is not,
/// a refused StartTLS never leads to sending the password in the clear.
fn transports(opts: &AdOptions, open_ports: &[u16]) -> Vec<Transport> {
    let open = |port: u16| open_ports.is_empty() || open_ports.contains(&port);
    if opts.allow_plain_ldap {
        return if open(389) { vec![Transport::Plain] } else { Vec::new() };
    }
    let mut order = Vec::new();
    if open(636) {
        order.push(Transport::Ldaps);
    }
    if open(389) {
        order.push(Transport::StartTls);
    }
    order
}

pub(crate) fn dc_label(dc_host: &str, addr: IpAddr) -> String {
    let host = dc_host.trim();
    if host.is_empty() || host == addr.to_string() {
        addr.to_string()
    } else {
        format!("{host} ({addr})")
    }
}

/// A failed connection set-up, in words; `certificate` when the DC's
/// certificate failed verification (no other transport is tried then);
/// `answered` when the DC answered (a certificate, a StartTLS refusal), as
/// opposed to staying silent or refusing TCP.
struct ConnectFailure {
    words: String,
    kind: NetFailure,
    certificate: bool,
    answered: bool,
}

/// One LDAP session: the handle, the task driving the socket, and the
/// per-operation timeout. `stalled` (with the first such error) once an
/// operation timed out or the connection was cut: the DC stopped answering,
/// so later operations fail at once instead of each waiting its own timeout.
pub(crate) struct Conn {
    ldap: Ldap,
    driver: JoinHandle<()>,
    op_timeout: Duration,
    stalled: Option<String>,
}

/// One search: where, which objects, which attributes; `sd_flags` asks for
/// the DACL alone ([`SD_FLAGS_OID`]), `size_limit` is set on the request.
#[derive(Clone, Copy)]
pub(crate) struct SearchRequest<'a> {
    pub base: &'a str,
    pub scope: Scope,
    pub filter: &'a str,
    pub attrs: &'a [&'a str],
    pub sd_flags: bool,
    pub size_limit: Option<i32>,
}

/// What the DC answered to a search: the entries and the result.
pub(crate) struct SearchAnswer {
    pub entries: Vec<Entry>,
    pub result: LdapResult,
}

/// The DC said nothing (in time) or the connection went away, as opposed to
/// an answer that refused.
fn is_silence(e: &LdapError) -> bool {
    matches!(
        e,
        LdapError::Timeout { .. } | LdapError::OpSend { .. } | LdapError::ResultRecv { .. } | LdapError::Io { .. }
    )
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Whatever path we leave by, the socket task does not outlive us.
        self.driver.abort();
    }
}

impl Conn {
    /// The bind's result, or why there is none in words and as a kind.
    async fn bind(&mut self, identity: &str, secret: &Secret) -> Result<LdapResult, (String, NetFailure)> {
        let timeout = self.op_timeout;
        let result = self.ldap.with_timeout(timeout).simple_bind(identity, secret.expose()).await;
        result.map_err(|e| (self.failed(&e), op_failure(&e)))
    }

    /// A search whose entries come back as raw bytes; references are dropped
    /// (ldap3's `search` filters them), any result code but 0 is an error.
    pub(crate) async fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        sd_flags: bool,
    ) -> Result<Vec<Entry>, String> {
        let answer =
            self.search_answer(&SearchRequest { base, scope, filter, attrs, sd_flags, size_limit: None }).await?;
        if answer.result.rc != 0 {
            return Err(describe_result(&answer.result));
        }
        Ok(answer.entries)
    }

    /// A search the DC answered, whatever its result code (a size limit
    /// exceeded still carries entries, noSuchObject may mean "not there");
    /// Err only when there is no answer (a timeout, a cut connection, a
    /// malformed entry).
    pub(crate) async fn search_answer(&mut self, request: &SearchRequest<'_>) -> Result<SearchAnswer, String> {
        let SearchRequest { base, scope, filter, attrs, sd_flags, size_limit } = *request;
        let timeout = self.op_timeout;
        if let Some(first) = &self.stalled {
            return Err(format!(
                "not sent: the DC stopped answering on this connection (an earlier operation: {first})"
            ));
        }
        if sd_flags {
            self.ldap.with_controls(RawControl {
                ctype: SD_FLAGS_OID.to_string(),
                crit: true,
                val: Some(SD_FLAGS_DACL.to_vec()),
            });
        }
        if let Some(limit) = size_limit {
            self.ldap.with_search_options(SearchOptions::new().sizelimit(limit));
        }
        let SearchResult(raw, result) = self
            .ldap
            .with_timeout(timeout)
            .search(base, scope, filter, attrs.to_vec())
            .await
            .map_err(|e| self.failed(&e))?;
        let entries = raw
            .into_iter()
            .map(Entry::from_result)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| "the DC sent a malformed search result entry".to_string())?;
        Ok(SearchAnswer { entries, result })
    }

    /// A subtree search read page by page (the Paged Results control, as
    /// AD wants for more than its MaxPageSize of 1,000), each entry handed
    /// to `on_entry` as it arrives so nothing is held; every page waits at
    /// most the operation timeout. `Err` carries how many entries were
    /// handed on before the search broke off: the caller says how much is
    /// missing, never a silently shorter list.
    pub(crate) async fn paged_search(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        page_size: i32,
        page_timeout: Duration,
        on_entry: &mut (dyn FnMut(Entry) + Send),
    ) -> Result<u64, (u64, String)> {
        use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
        let timeout = page_timeout;
        let adapters: Vec<Box<dyn Adapter<_, _>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(page_size))];
        let mut stream = match self
            .ldap
            .with_timeout(timeout)
            .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs.to_vec())
            .await
        {
            Ok(stream) => stream,
            Err(e) => return Err((0, self.failed(&e))),
        };
        let mut handed = 0u64;
        loop {
            match stream.next().await {
                Ok(Some(raw)) => match Entry::from_result(raw) {
                    Some(entry) => {
                        on_entry(entry);
                        handed += 1;
                    }
                    None => return Err((handed, "the DC sent a malformed search result entry".to_string())),
                },
                Ok(None) => break,
                Err(e) => {
                    let why = op_error(&e, timeout);
                    return Err((handed, why));
                }
            }
        }
        match stream.finish().await {
            result if result.rc == 0 => Ok(handed),
            result => Err((handed, describe_result(&result))),
        }
    }

    /// An operation error in words, noting the first silence of the DC.
    fn failed(&mut self, e: &LdapError) -> String {
        let words = op_error(e, self.op_timeout);
        if is_silence(e) && self.stalled.is_none() {
            self.stalled = Some(words.clone());
        }
        words
    }

    /// Unbind (bounded by the operation timeout) and stop the socket task.
    pub(crate) async fn close(mut self) {
        if self.stalled.is_none() {
            let _ = tokio::time::timeout(self.op_timeout, self.ldap.unbind()).await;
        }
        self.driver.abort();
    }
}

/// Open a session to `addr` on the transport's port. The TCP socket is ours,
/// so the address dialled is exactly the located one; ldap3 gets it through
/// `set_std_stream` with a URL naming the DC, which it uses only for TLS.
async fn connect(dc_host: &str, addr: IpAddr, transport: Transport, opts: &AdOptions) -> Result<Conn, ConnectFailure> {
    let port = transport.port();
    let sock = SocketAddr::new(addr, port);
    let fail = |words: String, kind: NetFailure, certificate: bool| ConnectFailure {
        words: format!("{} {} ({sock}): {words}", transport.name(), if dc_host.is_empty() { "DC" } else { dc_host }),
        kind,
        certificate,
        answered: certificate,
    };
    // The name only matters for TLS; plain LDAP must not fail on an odd host string.
    let expected = match tls::expected_name(dc_host, addr) {
        Ok(name) => name,
        Err(words) if transport.tls() => return Err(fail(words, NetFailure::Tls, false)),
        Err(_) => ServerName::IpAddress(addr.into()),
    };
    let stream =
        tcp_connect(addr, port, opts.connect_timeout).await.map_err(|e| fail(format!("TCP {e}"), e.kind, false))?;
    let stream = stream.into_std().map_err(|e| fail(describe_io_error(&e), io_failure(&e), false))?;

    let mut settings = LdapConnSettings::new().set_std_stream(StdStream::Tcp(stream));
    if transport.tls() {
        let config = tls::client_config(&opts.tls, expected.clone()).map_err(|w| fail(w, NetFailure::Tls, false))?;
        settings = settings.set_config(config).set_starttls(transport == Transport::StartTls);
    }
    let scheme = if transport == Transport::Ldaps { "ldaps" } else { "ldap" };
    let url = format!("{scheme}://{}:{port}", tls::url_host(&expected));

    // The handshake is an exchange with the DC, not a connect: a busy DC
    // gets the operation timeout.
    let waited = human_std_duration(opts.operation_timeout);
    match tokio::time::timeout(opts.operation_timeout, LdapConnAsync::with_settings(settings, &url)).await {
        Ok(Ok((conn, ldap))) => {
            let driver = tokio::spawn(async move {
                // Errors of the socket show up in the operations waiting on it.
                let _ = conn.drive().await;
            });
            Ok(Conn { ldap, driver, op_timeout: opts.operation_timeout, stalled: None })
        }
        Ok(Err(e)) => {
            let (words, kind, certificate) =
                describe_connect_error(&e, transport, &expected, opts.tls.ca_file.as_deref());
            let mut failure = fail(words, kind, certificate);
            failure.answered = certificate || matches!(e, LdapError::LdapResult { .. });
            Err(failure)
        }
        Err(_) => Err(match transport {
            Transport::Ldaps => fail(
                format!("TLS handshake timed out after {waited} (the port accepts TCP but does not answer TLS)"),
                NetFailure::Tls,
                false,
            ),
            Transport::StartTls => {
                fail(format!("StartTLS and TLS handshake timed out after {waited}"), NetFailure::Tls, false)
            }
            Transport::Plain => {
                fail(format!("LDAP session set-up timed out after {waited}"), NetFailure::TimedOut, false)
            }
        }),
    }
}

/// A connection set-up error in words, its kind, and whether it was the
/// certificate.
fn describe_connect_error(
    e: &LdapError,
    transport: Transport,
    expected: &ServerName<'_>,
    ca_file: Option<&Path>,
) -> (String, NetFailure, bool) {
    match e {
        LdapError::Rustls { source } => {
            let failure = tls::describe_rustls(source, expected, ca_file);
            (failure.words, NetFailure::Tls, failure.certificate)
        }
        LdapError::Io { source } => {
            // tokio-rustls hands handshake failures over as I/O errors
            // wrapping the rustls error.
            if let Some(rustls_error) = source.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                let failure = tls::describe_rustls(rustls_error, expected, ca_file);
                return (failure.words, NetFailure::Tls, failure.certificate);
            }
            use std::io::ErrorKind as K;
            let closed = matches!(source.kind(), K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted);
            if transport.tls() && closed {
                (
                    format!(
                        "TLS handshake failed: the DC closed the connection ({}); it may have no usable certificate \
                         for LDAPS",
                        describe_io_error(source)
                    ),
                    NetFailure::Tls,
                    false,
                )
            } else {
                (describe_io_error(source), io_failure(source), false)
            }
        }
        LdapError::LdapResult { result } => {
            (format!("StartTLS refused: {}", describe_result(result)), NetFailure::Tls, false)
        }
        LdapError::DNSName { source } => (format!("invalid TLS server name: {source}"), NetFailure::Tls, false),
        LdapError::Timeout { .. } => ("timed out".to_string(), NetFailure::TimedOut, false),
        other => (other.to_string(), NetFailure::Other, false),
    }
}

/// An operation error in words. Display only: the Debug form of ldap3's send
/// errors would include the request, which for a bind holds the password.
fn op_error(e: &LdapError, timeout: Duration) -> String {
    match e {
        LdapError::Timeout { .. } => format!("timed out after {}", human_std_duration(timeout)),
        LdapError::LdapResult { result } => describe_result(result),
        LdapError::Io { source } => describe_io_error(source),
        LdapError::OpSend { .. } | LdapError::ResultRecv { .. } => "the connection to the DC was closed".to_string(),
        LdapError::FilterParsing => "invalid search filter".to_string(),
        other => other.to_string(),
    }
}

/// The kind of failure an operation error is ([`op_error`] says it in words).
fn op_failure(e: &LdapError) -> NetFailure {
    match e {
        LdapError::Timeout { .. } => NetFailure::TimedOut,
        LdapError::Io { source } => io_failure(source),
        LdapError::OpSend { .. } | LdapError::ResultRecv { .. } => NetFailure::Reset,
        _ => NetFailure::Other,
    }
}

/// `rc 49 (invalidCredentials): 80090308: LdapErr: ...`.
pub(crate) fn describe_result(result: &LdapResult) -> String {
    let mut out = format!("rc {} ({})", result.rc, rc_name(result.rc));
    if !result.text.is_empty() {
        out.push_str(": ");
        out.push_str(&result.text);
    }
    if !result.refs.is_empty() {
        out.push_str(&format!(" (referral to {})", result.refs.join(", ")));
    }
    out
}

/// RFC 4511 result code names, for the codes a DC gives here.
fn rc_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// One BER element (definite length, long form when needed).
    fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n <= 0xFF => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// A SearchResultEntry as a DC sends it.
    fn entry_ber(dn: &str, attrs: &[(&str, Vec<Vec<u8>>)]) -> Vec<u8> {
        let attributes: Vec<u8> = attrs
            .iter()
            .flat_map(|(name, values)| {
                let vals: Vec<u8> = values.iter().flat_map(|v| ber(0x04, v)).collect();
                ber(0x30, &[ber(0x04, name.as_bytes()), ber(0x31, &vals)].concat())
            })
            .collect();
        ber(0x64, &[ber(0x04, dn.as_bytes()), ber(0x30, &attributes)].concat())
    }

    #[test]
    fn attribute_values_from_the_wire_decode_to_facts() {
        let domain: Sid = "S-1-5-21-4136179694-1900811514-1665429076".parse().unwrap();
        let account = domain.domain_relative(1105).unwrap();
        let group = domain.domain_relative(513).unwrap();
        let sd = SecurityDescriptor::from_sddl(
            "O:DAG:DAD:AI(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;S-1-5-21-4136179694-1900811514-1665429076-1105)(A;;RPLCLORC;;;AU)",
            Some(&domain),
        )
        .unwrap();
        let attrs = vec![
            ("sAMAccountName", vec![b"svc-direct".to_vec()]),
            ("objectSid", vec![account.to_bytes()]),
            ("userAccountControl", vec![b"66048".to_vec()]),
            ("msDS-User-Account-Control-Computed", vec![b"-2147483648".to_vec()]),
            ("pwdLastSet", vec![b"134399952000000000".to_vec()]),
            ("accountExpires", vec![b"9223372036854775807".to_vec()]),
            ("badPwdCount", vec![b"2".to_vec()]),
            ("tokenGroups", vec![group.to_bytes(), Sid::AUTHENTICATED_USERS.to_bytes(), b"\x01\x05junk".to_vec()]),
            ("nTSecurityDescriptor", vec![sd.to_bytes().unwrap()]),
        ];
        let dn = "CN=svc-direct,CN=Users,DC=lab1,DC=example,DC=test";
        let from_wire = decode_entry_ber(&entry_ber(dn, &attrs)).expect("a SearchResultEntry");
        assert_eq!(from_wire, decode_attribute_values(dn, &attrs));
        let a = from_wire.account.as_ref().unwrap();
        assert_eq!(a.dn, dn);
        assert_eq!(a.sid.as_deref(), Some("S-1-5-21-4136179694-1900811514-1665429076-1105"));
        assert_eq!(a.user_account_control, Some(66048));
        // AD's INTEGER is signed: the top bit comes back negative and is kept.
        assert_eq!(a.user_account_control_computed, Some(0x8000_0000));
        assert_eq!((a.pwd_last_set, a.account_expires), (Some(134399952000000000), Some(i64::MAX)));
        assert_eq!(a.bad_pwd_count, Some(2));
        assert_eq!(a.token_groups, [group.to_string(), "S-1-5-11".to_owned()]);
        assert_eq!(
            from_wire.account_error.as_deref(),
            Some(format!("tokenGroups of {dn}: 1 value(s) are not valid SIDs").as_str())
        );
        assert_eq!(from_wire.domain_sid, a.sid);
        assert!(from_wire.domain_root_sd.is_some());
        assert!(from_wire.sid_names.contains_key("S-1-5-11") && from_wire.sid_names.contains_key(&account.to_string()));

        // Not an entry at all, or cut short: None, never a panic.
        let whole = entry_ber(dn, &attrs);
        for cut in [0, 1, 2, 10, whole.len() / 2, whole.len() - 1] {
            assert_eq!(decode_entry_ber(&whole[..cut]), None, "cut at {cut}");
        }
        assert_eq!(decode_entry_ber(&ber(0x65, b"")), None);
    }

    #[test]
    fn sub_codes_from_ad_and_samba_text() {
        let ad = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563";
        assert_eq!(parse_sub_code(ad).as_deref(), Some("52e"));
        let samba = "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1";
        assert_eq!(parse_sub_code(samba).as_deref(), Some("775"));
        let cbt = "80090346: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 80090346, v4563";
        assert_eq!(parse_sub_code(cbt).as_deref(), Some("80090346"));
        assert_eq!(parse_sub_code("DATA 773, v1db1").as_deref(), Some("773"));
        assert_eq!(parse_sub_code("metadata 12"), None);
        assert_eq!(parse_sub_code("no data here"), None);
        assert_eq!(parse_sub_code(""), None);
    }

    #[test]
    fn transport_order() {
        let mut opts = AdOptions::default();
        assert_eq!(transports(&opts, &[]), vec![Transport::Ldaps, Transport::StartTls]);
        assert_eq!(transports(&opts, &[389, 88]), vec![Transport::StartTls]);
        assert_eq!(transports(&opts, &[88]), vec![]);
        // Plain LDAP is the chosen transport, alone: never a fallback.
        opts.allow_plain_ldap = true;
        assert_eq!(transports(&opts, &[389, 636]), vec![Transport::Plain]);
        assert_eq!(transports(&opts, &[]), vec![Transport::Plain]);
        assert_eq!(transports(&opts, &[636]), vec![]);
    }

    #[test]
    fn results_read_plainly() {
        let result = LdapResult {
            rc: 49,
            matched: String::new(),
            text: "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1".into(),
            refs: vec![],
            ctrls: vec![],
        };
        assert!(describe_result(&result).starts_with("rc 49 (invalidCredentials): 80090308"));
        assert_eq!(dc_label("dc1.lab", IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))), "dc1.lab (127.0.0.2)");
        assert_eq!(dc_label("", IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))), "127.0.0.2");
    }

    #[tokio::test]
    async fn an_empty_password_is_never_sent() {
        let target = DomainTarget {
            connector: "lab1".into(),
            domain: "lab1.example.test".into(),
            partition_dn: "DC=lab1,DC=example,DC=test".into(),
            account_user: "svc".into(),
            account_domain: "LAB1".into(),
            locator: super::super::Locator::Configured(vec![]),
            dns_server: None,
        };
        // Port 9 on loopback: nothing is dialled anyway.
        let (facts, _) = inspect_account(
            &target,
            "dc1.lab1.example.test",
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            &Secret::new(String::new()),
            &AdOptions::default(),
            &[389, 636],
            &BindGate::new(),
        )
        .await;
        assert!(!facts.bind.ok);
        assert_eq!(facts.bind.identity, "LAB1\\svc");
        assert!(facts.bind.error.as_deref().is_some_and(|e| e.contains("password is empty")), "{facts:?}");
    }
}

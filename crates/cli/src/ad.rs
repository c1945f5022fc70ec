//! Turning the export's connectors into the domains the live Active
//! Directory checks visit, and preparing that work (passwords read once,
//! destinations said) from the `[ad]` section.

use crate::config::ad::{parse_dns_server, AdSection};
use crate::secrets::PasswordSource;
use anyhow::{bail, Result};
use phs_model::{AccountName, AdEvidence, AdUserLookup, DomainSearch, IdentityKind, ServerConfig, UserQuery};
use phs_sources::ad::user::UserSearchTarget;
use phs_sources::ad::users::{for_each_user, DomainRead, PAGE_SIZE};
use phs_sources::ad::{check, AdOptions, DomainTarget, Locator, Secret};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every selected partition of every AD connector, as a domain to check, with
/// the source of its connector account password.
pub fn targets(cfg: &ServerConfig, ad: &AdSection) -> Result<Vec<(DomainTarget, Option<PasswordSource>)>> {
    let prefer_export = match ad.locator.as_deref().unwrap_or("preferred-dcs") {
        "preferred-dcs" => true,
        "dns" => false,
        other => bail!("[ad] locator {other:?}: use \"preferred-dcs\" or \"dns\""),
    };
    let global_dns = ad.dns_server.as_deref().map(parse_dns_server).transpose()?;
    for name in ad.connector.keys() {
        if !cfg.ad_connectors().any(|(c, _)| &c.name == name) {
            bail!("[ad.connector.\"{name}\"]: the export has no AD connector of that name");
        }
    }
    let mut out = Vec::new();
    for (connector, adc) in cfg.ad_connectors() {
        let section = ad.connector.get(&connector.name).cloned().unwrap_or_default();
        let password = section.password_source(&connector.name)?;
        let dns_server = section.dns_server.as_deref().map(parse_dns_server).transpose()?.or(global_dns);
        for p in adc.partitions.iter().filter(|p| p.selected) {
            let (user, domain) = match &section.account {
                Some(a) => split_account(a),
                None => (
                    p.login_user.clone().or_else(|| adc.login_user.clone()).unwrap_or_default(),
                    p.login_domain.clone().or_else(|| adc.login_domain.clone()).unwrap_or_default(),
                ),
            };
            let locator = if !section.dcs.is_empty() {
                Locator::Configured(section.dcs.clone())
            } else if prefer_export && !p.preferred_dcs.is_empty() {
                Locator::PreferredDcs(p.preferred_dcs.clone())
            } else {
                Locator::DnsSrv { server: dns_server }
            };
            out.push((
                DomainTarget {
                    connector: connector.name.clone(),
                    domain: p.domain_name(),
                    partition_dn: p.dn.clone(),
                    account_user: user,
                    account_domain: domain,
                    locator,
                    dns_server,
                },
                password.clone(),
            ));
        }
    }
    Ok(out)
}

/// The `account` of an `[ad.connector]` section as the bind needs it:
/// `DOMAIN\user` as (user, DOMAIN); a UPN or a bare name whole, without a
/// domain (the bind presents a UPN as it is).
fn split_account(a: &str) -> (String, String) {
    match AccountName::parse(a) {
        AccountName::DownLevel { domain, user } => (user.to_owned(), domain.to_owned()),
        _ => (a.to_owned(), String::new()),
    }
}

/// The live AD work, ready to run: each connector's password read once (one
/// prompt per connector, not per domain), before any progress display.
pub struct Prepared {
    pub work: Vec<(DomainTarget, Option<Arc<Secret>>)>,
    /// Domains that cannot be checked (no password), already as facts.
    pub not_checked: Vec<phs_model::DomainFacts>,
    pub options: AdOptions,
    /// Which password goes to which DCs, one line per domain, said on
    /// stderr before any bind.
    pub destinations: Vec<String>,
}

pub fn prepare(cfg: &ServerConfig, ad: &AdSection) -> Result<Prepared> {
    let options = ad.options()?;
    if !options.tls.verify {
        eprintln!("phs-doctor: WARNING: TLS certificate verification is OFF for the Active Directory checks ([ad] tls_verify = false); the connector account's password is sent to whatever answers.");
    }
    if options.allow_plain_ldap {
        eprintln!("phs-doctor: WARNING: the Active Directory binds go over plain LDAP on port 389 ([ad] allow_plain_ldap = true); the connector account's password crosses the network without TLS.");
    }
    let mut secrets: BTreeMap<String, Result<Arc<Secret>, String>> = BTreeMap::new();
    let mut work = Vec::new();
    let mut not_checked = Vec::new();
    let mut destinations = Vec::new();
    for (target, source) in targets(cfg, ad)? {
        let secret = match &source {
            None => None,
            Some(src) => {
                let entry = secrets.entry(target.connector.clone()).or_insert_with(|| {
                    src.read(&target.bind_identity()).map(Arc::new).map_err(|e| format!("{} ({})", e, src.describe()))
                });
                match entry {
                    Ok(s) => {
                        destinations.push(destination(&target, src, &options));
                        Some(s.clone())
                    }
                    Err(e) => {
                        not_checked
                            .push(check::not_checked(&target, format!("No password for the connector account: {e}.")));
                        continue;
                    }
                }
            }
        };
        work.push((target, secret));
    }
    Ok(Prepared { work, not_checked, options, destinations })
}

/// "The password of X (from Y) goes to the DCs of Z: ... over ...". Names
/// come from the export: shown neutralised by the caller.
fn destination(target: &DomainTarget, source: &PasswordSource, options: &AdOptions) -> String {
    let dcs = match &target.locator {
        Locator::Configured(list) => format!("{} (from your config)", list.join(", ")),
        Locator::PreferredDcs(list) => format!("{} (the export's preferred DCs)", list.join(", ")),
        Locator::DnsSrv { server } => format!(
            "the DCs DNS names for _ldap._tcp.dc._msdcs.{} (asking {})",
            target.domain,
            server.map_or("the system resolver".to_owned(), |s| s.to_string())
        ),
    };
    let transport = match (options.tls.verify, options.allow_plain_ldap) {
        (true, false) => "over TLS with the certificate verified",
        (false, false) => "over TLS WITHOUT certificate verification",
        (true, true) => "over TLS with the certificate verified, or plain LDAP where you allowed it",
        (false, true) => "over unverified TLS or plain LDAP",
    };
    format!(
        "the password of {} ({}) goes to the DCs of {}: {dcs}, at most {} of them, {transport}",
        target.bind_identity(),
        source.describe(),
        target.domain,
        options.max_dcs
    )
}

impl Prepared {
    /// The domain checks, then, when a user is asked, the search for that
    /// user on the DC each domain used, with the same credential: a domain
    /// whose bind did not succeed is not asked again (no extra bad-password
    /// count), and is recorded as not searched when it could hold the user.
    pub async fn run(
        self,
        on_done: &(dyn Fn(&phs_model::DomainFacts) + Send + Sync),
        user: Option<&UserQuery>,
        want_member_of: bool,
    ) -> (AdEvidence, Option<AdUserLookup>) {
        let secrets: Vec<DomainSecret> =
            self.work.iter().map(|(t, s)| ((t.connector.clone(), t.domain.clone()), s.clone())).collect();
        let options = self.options.clone();
        let mut evidence = check::check_all(self.work, &self.options, on_done).await;
        evidence.domains.extend(self.not_checked);
        let lookup = match user {
            Some(q) => Some(find_user(&evidence, &secrets, q, want_member_of, &options).await),
            None => None,
        };
        (evidence, lookup)
    }

    /// The domain checks, then every user of each domain they bound to
    /// (the audit), each handed to `on_user`; a domain that could not be
    /// read says so, with how many of its users were read.
    pub async fn audit(
        self,
        want_member_of: bool,
        on_user: &mut (dyn FnMut(phs_model::AdUser) + Send),
    ) -> (AdEvidence, Vec<DomainRead>) {
        let secrets: Vec<DomainSecret> =
            self.work.iter().map(|(t, s)| ((t.connector.clone(), t.domain.clone()), s.clone())).collect();
        // Locate and bind only: the account's reads are the diagnosis's business.
        let options = AdOptions { account_reads: false, ..self.options.clone() };
        let mut evidence = check::check_all(self.work, &options, &|_| {}).await;
        evidence.domains.extend(self.not_checked);
        let (targets, not_searched) = search_targets(&evidence, &secrets);
        let mut reads: Vec<DomainRead> = not_searched
            .into_iter()
            .map(|s| DomainRead { connector: s.connector, domain: s.domain, users: 0, error: s.error })
            .collect();
        for t in &targets {
            reads.push(for_each_user(t, want_member_of, PAGE_SIZE, &options, on_user).await);
        }
        (evidence, reads)
    }
}

/// A domain (connector, FQDN) and the connector password read for it.
type DomainSecret = ((String, String), Option<Arc<Secret>>);

/// The domains a search can reach (bound, on the DC their check used, with
/// their credential), and those it cannot, as unsearched with why.
fn search_targets(evidence: &AdEvidence, secrets: &[DomainSecret]) -> (Vec<UserSearchTarget>, Vec<DomainSearch>) {
    let mut targets = Vec::new();
    let mut not_searched = Vec::new();
    for d in &evidence.domains {
        let secret = secrets.iter().find(|(k, _)| k.0 == d.connector && k.1 == d.domain).and_then(|(_, s)| s.clone());
        let bound = d.ldap.as_ref().filter(|l| l.bind.ok);
        let has_secret = secret.is_some();
        match (bound, bound.and_then(|l| l.dc_endpoint()), secret) {
            (Some(ldap), Some((dc_host, dc_addr)), Some(secret)) => targets.push(UserSearchTarget {
                connector: d.connector.clone(),
                domain: d.domain.clone(),
                partition_dn: d.partition_dn.clone(),
                dc_host,
                dc_addr,
                bind_identity: ldap.bind.identity.clone(),
                secret,
            }),
            _ => {
                let why = why_not_searched(d, has_secret);
                not_searched.push(DomainSearch {
                    connector: d.connector.clone(),
                    domain: d.domain.clone(),
                    error: Some(why),
                    ..DomainSearch::default()
                });
            }
        }
    }
    (targets, not_searched)
}

/// Why a domain's users could not be searched, from what its checks
/// found: the cause itself, since the audit shows no findings.
fn why_not_searched(d: &phs_model::ad::DomainFacts, has_secret: bool) -> String {
    let why = if let Some(why) = &d.not_checked {
        why.clone()
    } else if let Some(e) = &d.locator.error {
        format!("no DC located ({} {}): {e}", d.locator.method, d.locator.query)
    } else if let Some(ldap) = &d.ldap {
        let bind = &ldap.bind;
        if !bind.ok {
            let what =
                [bind.error.clone(), bind.server_message.clone(), bind.result_code.map(|c| format!("LDAP result {c}"))]
                    .into_iter()
                    .flatten()
                    .next()
                    .unwrap_or_else(|| "not tried".to_owned());
            format!("the bind as {} failed: {what}", bind.identity)
        } else if !has_secret {
            "no connector password was read".to_owned()
        } else {
            "the DC's address is not known".to_owned()
        }
    } else {
        // Each DC's own failure: its name, its address lookup or its LDAP ping.
        let dcs: Vec<String> = d
            .dcs
            .iter()
            .map(|dc| {
                let failure = dc.resolve_error.clone().or_else(|| dc.ldap_ping.as_ref().and_then(|p| p.error.clone()));
                format!("{}: {}", dc.host, failure.unwrap_or_else(|| "no LDAP answer".to_owned()))
            })
            .chain(d.ldap_skipped.iter().map(|s| format!("{}: {}", s.dc, s.reason)))
            .collect();
        match dcs.is_empty() {
            true => "no DC located".to_owned(),
            false => format!("no DC answered LDAP ({})", dcs.join("; ")),
        }
    };
    format!("not searched: {why} (`phs-doctor diagnose` checks PHS005 and PHS006 show the detail)")
}

async fn find_user(
    evidence: &AdEvidence,
    secrets: &[DomainSecret],
    query: &UserQuery,
    want_member_of: bool,
    options: &AdOptions,
) -> AdUserLookup {
    let (targets, not_searched) = search_targets(evidence, secrets);
    let mut lookup = phs_sources::ad::user::find_user(&targets, query, want_member_of, options).await;
    // A domain that could not be asked counts only when it could hold the
    // user: a DN says which domain that is.
    let could_hold = |s: &DomainSearch| match &query.kind {
        IdentityKind::Dn { dn } => {
            let part = evidence.domains.iter().find(|d| d.connector == s.connector && d.domain == s.domain);
            part.is_some_and(|p| dn.to_ascii_lowercase().ends_with(&p.partition_dn.to_ascii_lowercase()))
        }
        _ => true,
    };
    lookup.searched.extend(not_searched.into_iter().filter(could_hold));
    lookup
}

//! The `[ad]` section of the config file, and turning the export's connectors
//! into the domains the live Active Directory checks visit.

use crate::inputs::parse_duration;
use crate::secrets::{PasswordSource, VarName};
use anyhow::{bail, Result};
use phs_model::{AccountName, AdEvidence, ServerConfig};
use phs_sources::ad::{check, AdOptions, DomainTarget, Locator, Secret, TlsOptions};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AdSection {
    /// `preferred-dcs` (default: the export's preferred DCs, else DNS) or `dns`.
    pub locator: Option<String>,
    /// DNS server (`ip` or `ip:port`) for SRV and host lookups; default the system resolver.
    pub dns_server: Option<String>,
    pub connect_timeout: Option<String>,
    pub operation_timeout: Option<String>,
    /// PEM file of the CAs to trust for LDAPS/StartTLS; when set, the only ones (not the system store).
    pub tls_ca_file: Option<PathBuf>,
    /// Certificate verification; turning it off is reported loudly.
    pub tls_verify: Option<bool>,
    /// Bind over plain LDAP on 389 (the only transport then; reported loudly).
    pub allow_plain_ldap: Option<bool>,
    /// DCs that accept TCP probed per domain (default 3).
    pub max_dcs: Option<usize>,
    /// Per connector (by the export's connector name).
    #[serde(default)]
    pub connector: BTreeMap<String, ConnectorSection>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSection {
    /// `DOMAIN\user` or a UPN; default the export's forest-login-domain\forest-login-user.
    pub account: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_prompt: bool,
    pub dns_server: Option<String>,
    /// DCs to use for every domain of this connector, instead of locating them.
    #[serde(default)]
    pub dcs: Vec<String>,
}

impl AdSection {
    pub fn rebase(&mut self, base: &Path) {
        if let Some(p) = self.tls_ca_file.as_mut() {
            *p = base.join(&*p);
        }
        for c in self.connector.values_mut() {
            if let Some(p) = c.password_file.as_mut() {
                *p = base.join(&*p);
            }
        }
    }

    pub fn options(&self) -> Result<AdOptions> {
        let mut o = AdOptions::default();
        if let Some(t) = &self.connect_timeout {
            o.connect_timeout = parse_duration("connect_timeout", t)?.unsigned_abs();
        }
        if let Some(t) = &self.operation_timeout {
            o.operation_timeout = parse_duration("operation_timeout", t)?.unsigned_abs();
        }
        o.tls = TlsOptions { ca_file: self.tls_ca_file.clone(), verify: self.tls_verify.unwrap_or(true) };
        o.allow_plain_ldap = self.allow_plain_ldap.unwrap_or(false);
        if let Some(n) = self.max_dcs {
            if n == 0 {
                bail!("[ad] max_dcs must be at least 1");
            }
            o.max_dcs = n;
        }
        Ok(o)
    }
}

fn parse_dns_server(text: &str) -> Result<SocketAddr> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    match text.parse::<std::net::IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, 53)),
        Err(_) => bail!("dns_server {text:?} is not an address such as 10.0.0.1 or 10.0.0.1:53"),
    }
}

impl ConnectorSection {
    fn password_source(&self, connector: &str) -> Result<Option<PasswordSource>> {
        let mut sources = Vec::new();
        if let Some(v) = &self.password_env {
            let setting = format!("[ad.connector.\"{connector}\"] password_env");
            sources.push(PasswordSource::Env(VarName::parse(&setting, v).map_err(anyhow::Error::msg)?));
        }
        if let Some(p) = &self.password_file {
            sources.push(PasswordSource::File(p.clone()));
        }
        if self.password_prompt {
            sources.push(PasswordSource::Prompt);
        }
        if sources.len() > 1 {
            bail!("[ad.connector.\"{connector}\"] names more than one password source; keep one of password_env, password_file, password_prompt");
        }
        Ok(sources.pop())
    }
}

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
    pub async fn run(self, on_done: &(dyn Fn(&phs_model::DomainFacts) + Send + Sync)) -> AdEvidence {
        let mut evidence = check::check_all(self.work, &self.options, on_done).await;
        evidence.domains.extend(self.not_checked);
        evidence
    }
}

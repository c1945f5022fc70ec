//! The `[ad]` section of the config file: where the live Active Directory
//! checks find DCs, how they connect, and where each connector account's
//! password comes from (never the password itself).

use crate::secrets::{PasswordSource, VarName};
use crate::values::parse_duration;
use anyhow::{bail, Result};
use phs_sources::ad::{AdOptions, TlsOptions};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AdSection {
    /// `preferred-dcs` (default: the export's preferred DCs, else DNS) or `dns`.
    pub locator: Option<String>,
    /// DNS server (`ip` or `ip:port`) for SRV and host lookups; default the system resolver.
    pub dns_server: Option<String>,
    pub connect_timeout: Option<String>,
    pub operation_timeout: Option<String>,
    /// One page of the audit's search of every user (default 5 min).
    pub page_timeout: Option<String>,
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
        if let Some(t) = &self.page_timeout {
            o.page_timeout = parse_duration("page_timeout", t)?.unsigned_abs();
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

pub fn parse_dns_server(text: &str) -> Result<SocketAddr> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    match text.parse::<std::net::IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, 53)),
        Err(_) => bail!("dns_server {text:?} is not an address such as 10.0.0.1 or 10.0.0.1:53"),
    }
}

impl ConnectorSection {
    pub fn password_source(&self, connector: &str) -> Result<Option<PasswordSource>> {
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

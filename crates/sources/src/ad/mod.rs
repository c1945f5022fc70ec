//! Active Directory, live: locate the domain's DCs, probe the ports password
//! hash sync needs, read the rootDSE, bind as the connector account, read the
//! account and the domain root's security descriptor. Every step has a
//! timeout and records its failure as a fact; nothing here judges.
//!
//! - [`check`]: one domain end to end, and every domain in parallel.
//! - [`locate`]: find DCs (the export's preferred DCs, configured ones, or DNS SRV).
//! - [`select`]: which DCs are probed, and which one the LDAP work goes to.
//! - [`bind_gate`]: a credential refused in one domain is not tried in the next.
//! - [`tcp`]: TCP reachability of the ports PHS needs, with latency.
//! - [`epm`]: the RPC endpoint mapper and the DRSUAPI port it hands out.
//! - [`ldap`]: rootDSE, the connector account's bind and object, the domain
//!   root's security descriptor, SID names.
//! - [`user`]: one user's object, for `phs-doctor user`.

pub mod bind_gate;
pub mod check;
pub mod epm;
pub mod ldap;
pub mod locate;
pub mod select;
pub mod tcp;
pub mod user;
pub mod users;

pub use crate::secret::Secret;

use phs_model::AccountName;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How long each step may take, and how to talk TLS.
#[derive(Debug, Clone)]
pub struct AdOptions {
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one TLS handshake, LDAP / DNS / RPC operation after connecting.
    pub operation_timeout: Duration,
    pub tls: TlsOptions,
    /// The bind goes over plain LDAP on 389, without TLS: an explicit choice
    /// of transport (the only one then), never a fallback.
    pub allow_plain_ldap: bool,
    /// At most this many DCs that accept TCP are probed per domain (names
    /// that do not resolve and DCs that refuse do not count).
    pub max_dcs: usize,
    /// How long one page of a paged search of every user may take. Longer
    /// than an operation: Samba, and a DC without an index for the filter,
    /// work out the whole result before they send the first page.
    pub page_timeout: Duration,
    /// After the bind, read what the account checks need (rights, groups,
    /// the account itself). Off for the audit, which needs only the bind:
    /// the rights' group expansion can take minutes in a large domain.
    pub account_reads: bool,
}

impl Default for AdOptions {
    fn default() -> AdOptions {
        AdOptions {
            connect_timeout: Duration::from_secs(3),
            operation_timeout: Duration::from_secs(10),
            tls: TlsOptions::default(),
            allow_plain_ldap: false,
            max_dcs: 3,
            page_timeout: Duration::from_secs(300),
            account_reads: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// CA certificates (PEM) to trust for DC certificates; when set, the only
    /// ones (the system store is not used).
    pub ca_file: Option<PathBuf>,
    /// Verify the DC's certificate. Turning it off is explicit and reported.
    pub verify: bool,
}

impl Default for TlsOptions {
    fn default() -> TlsOptions {
        TlsOptions { ca_file: None, verify: true }
    }
}

/// Where a domain's DCs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// The export's preferred DCs for the partition (host names or addresses).
    PreferredDcs(Vec<String>),
    /// DCs named in the config file.
    Configured(Vec<String>),
    /// `_ldap._tcp.dc._msdcs.<domain>` then A/AAAA, through this DNS server
    /// (None: the system resolver).
    DnsSrv { server: Option<SocketAddr> },
}

/// One domain to check, as the sync server would see it.
#[derive(Debug, Clone)]
pub struct DomainTarget {
    pub connector: String,
    /// Domain FQDN.
    pub domain: String,
    pub partition_dn: String,
    /// `forest-login-user` (sAMAccountName) or a UPN.
    pub account_user: String,
    /// `forest-login-domain` (DNS or NetBIOS name); empty for a UPN.
    pub account_domain: String,
    pub locator: Locator,
    /// DNS server for resolving DC host names (None: the system resolver).
    pub dns_server: Option<SocketAddr>,
}

impl DomainTarget {
    /// The identity presented in the bind: `DOMAIN\user`, or the UPN as is.
    pub fn bind_identity(&self) -> String {
        let upn = matches!(AccountName::parse(&self.account_user), AccountName::Upn { .. });
        if upn || self.account_domain.is_empty() {
            self.account_user.clone()
        } else {
            format!("{}\\{}", self.account_domain, self.account_user)
        }
    }
}

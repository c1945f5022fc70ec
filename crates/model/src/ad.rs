//! Facts read live from Active Directory for each synced domain: how its DCs
//! were found, which ports answer, the rootDSE, the connector account's bind
//! and object, and the domain root's security descriptor. Never a password.

use crate::NetFailure;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the Active Directory source learned, one entry per domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AdEvidence {
    pub domains: Vec<DomainFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DomainFacts {
    /// AD connector name (the forest, by default).
    pub connector: String,
    /// Domain FQDN.
    pub domain: String,
    /// The partition DN the export selects; the rootDSE must agree.
    pub partition_dn: String,
    /// The connector account as presented to the DC (`DOMAIN\user` or UPN).
    pub account: String,
    pub locator: DcLocator,
    /// Every DC considered, in the locator's order (one DC listed twice is
    /// one entry): names that did not resolve with their error, probed DCs
    /// with their ports and LDAP ping. Located DCs left unprobed are in
    /// `locator.not_probed`.
    pub dcs: Vec<DcFacts>,
    /// LDAP facts from the DC used: the first that answered the LDAP ping
    /// and kept answering.
    pub ldap: Option<LdapFacts>,
    /// Set when the domain was not probed at all, with the reason (no
    /// password source configured, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
    /// DCs that accepted TCP but were passed over for LDAP (the rootDSE read
    /// or the bind got no answer in time), in the order tried, with why.
    /// The DC finally used is `ldap.dc`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ldap_skipped: Vec<DcSkip>,
}

/// A DC passed over when choosing the one to talk LDAP to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DcSkip {
    /// `host (address)`.
    pub dc: String,
    pub reason: String,
}

/// How the domain's DCs were located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DcLocator {
    /// `preferred-dcs` (the export's list), `configured` (the config file),
    /// `dns-srv` (`_ldap._tcp.dc._msdcs.<domain>`).
    pub method: String,
    /// The DNS query or the list used.
    pub query: String,
    /// The DNS server asked, when not the system resolver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_server: Option<String>,
    pub candidates: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_ms: u64,
    /// Located DCs that were not probed because `max_dcs` DCs already
    /// accepted TCP (or the probe budget ran out), in the locator's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_probed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DcFacts {
    pub host: String,
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_error: Option<String>,
    pub ports: Vec<PortProbe>,
    /// The DRSUAPI path password hash sync uses: endpoint mapper, then the
    /// dynamic port it returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc: Option<RpcProbe>,
    /// The anonymous rootDSE read that tells whether the DC answers LDAP
    /// (the DC locator's "LDAP ping"); None when no LDAP port accepted TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_ping: Option<LdapPing>,
    /// Other names or addresses in the locator's list that turned out to be
    /// this same DC (same address): it is probed and counted once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_listed_as: Vec<String>,
}

/// One anonymous rootDSE read: `ok` only when the rootDSE came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LdapPing {
    pub ok: bool,
    /// `ldap` (389) or `ldaps` (636): the transport the read went over, or
    /// the last one tried.
    pub transport: String,
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DcFacts {
    pub fn port(&self, port: u16) -> Option<&PortProbe> {
        self.ports.iter().find(|p| p.port == port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PortProbe {
    pub port: u16,
    /// `ldap`, `ldaps`, `kerberos`, `rpc-endpoint-mapper`, ...
    pub service: String,
    pub address: String,
    pub open: bool,
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of failure `error` is, for rules to match on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<NetFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RpcProbe {
    /// The endpoint mapper answered the ept_map request.
    pub endpoint_mapper_ok: bool,
    /// The TCP port the endpoint mapper gave for DRSUAPI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drsuapi_port: Option<u16>,
    /// A TCP connection to that port succeeded.
    pub drsuapi_reachable: bool,
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LdapFacts {
    /// The DC host (and address) these facts come from.
    pub dc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_dse: Option<RootDse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_dse_error: Option<String>,
    pub bind: BindFacts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_error: Option<String>,
    /// The domain root's `nTSecurityDescriptor` (DACL only), base64 of the
    /// self-relative binary form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_root_sd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_root_sd_error: Option<String>,
    /// `objectSid` of the domain root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_sid: Option<String>,
    /// SIDs seen in the DACL and token, resolved to `DOMAIN\name` where possible.
    #[serde(default)]
    pub sid_names: BTreeMap<String, String>,
    /// Why some SIDs could not be named (they are then shown bare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid_names_error: Option<String>,
    /// The trustees whose ACEs decide the replication rights on the domain
    /// root, with the members of each group, to find who ends up holding
    /// both rights. `None`: not read (an older snapshot, or no DACL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights_trustees: Option<RightsTrustees>,
    /// The connector account's token as a DC of this domain builds it, when
    /// it was built from parts (always for an account of another domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_token: Option<AccountToken>,
}

impl LdapFacts {
    /// The DC these facts come from, as host name and address: `dc` reads
    /// `host (address)`, or the bare address when the DC was named by it.
    pub fn dc_endpoint(&self) -> Option<(String, std::net::IpAddr)> {
        let dc = self.dc.trim();
        if let Ok(addr) = dc.parse() {
            return Some((dc.to_owned(), addr));
        }
        let (host, rest) = dc.split_once(" (")?;
        let addr = rest.strip_suffix(')')?.parse().ok()?;
        Some((host.to_owned(), addr))
    }
}

/// The trustees of the domain root's ACEs that grant or deny a replication
/// right, as read from the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RightsTrustees {
    pub trustees: Vec<TrusteeFacts>,
    /// At most this many members are read per group.
    pub member_cap: usize,
}

/// One trustee: what it is and, for a group, who is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TrusteeFacts {
    pub sid: String,
    /// `user`, `computer`, `group`, `foreignSecurityPrincipal`, `other`, or
    /// `not-found` (no object in this domain has the SID), or `not-read`
    /// (the lookup failed, see `error`). Well-known and broad SIDs are not
    /// looked up and are not listed.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For a group: every member, transitively (nested groups, and users
    /// whose primary group it is), each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberFacts>,
    /// For a group: whether `members` is the whole membership. False when
    /// the read failed or stopped at the cap (see `error`).
    #[serde(default)]
    pub members_complete: bool,
    /// Why the object or its members could not be (fully) read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A member of a trustee group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MemberFacts {
    pub sid: String,
    /// `user`, `computer`, `group`, `foreignSecurityPrincipal` or `other`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The connector account's token for this domain, built the way a DC of
/// this domain builds it for a network logon: the account's global and
/// universal groups (from its own domain), plus this domain's domain-local
/// and BUILTIN groups that hold the account or any of those groups
/// (directly, through a foreignSecurityPrincipal, or nested).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AccountToken {
    /// The account's domain (DNS name, or NetBIOS name when that is all
    /// that is known).
    pub account_domain: String,
    /// Where the account and its global and universal groups were read.
    pub read_from: String,
    /// `tokenGroupsGlobalAndUniversal` of the account.
    pub global_and_universal: Vec<String>,
    /// This domain's domain-local and BUILTIN groups in the token.
    pub resource_groups: Vec<String>,
    /// Why the token could not be (fully) built; then it must not be judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RootDse {
    pub default_naming_context: Option<String>,
    pub dns_host_name: Option<String>,
    pub server_name: Option<String>,
    pub domain_functionality: Option<String>,
    pub forest_functionality: Option<String>,
    pub supported_sasl_mechanisms: Vec<String>,
    /// Whether the server advertises the SD flags control (1.2.840.113556.1.4.801).
    pub sd_flags_control: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BindFacts {
    /// `ldaps`, `starttls` or `ldap` (plain, only when explicitly allowed).
    pub transport: String,
    /// Whether the DC's certificate was verified.
    pub tls_verified: bool,
    /// The identity presented (never the password).
    pub identity: String,
    pub ok: bool,
    /// LDAP result code (49 invalid credentials, 8 stronger auth required, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_code: Option<u32>,
    /// The server's diagnostic text verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_message: Option<String>,
    /// Active Directory's `data XXX` sub-code, lower-case hex (`52e`, `775`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<String>,
    /// Connection or TLS failure before any LDAP result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of failure `error` is: [`NetFailure::Tls`] when any
    /// transport tried failed in TLS (handshake, certificate, StartTLS),
    /// else the last one's kind. None when the bind was not tried for a
    /// reason of its own (no port open, no password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<NetFailure>,
    pub elapsed_ms: u64,
    /// The bind was not tried because the same credential (connector and
    /// identity) was refused with result 49 in this domain earlier in the run:
    /// trying it again would only count another bad password. The domain,
    /// then the DC in parentheses: `lab1.example.test (by dc1 (10.0.0.1))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_in: Option<String>,
}

/// The connector account as read after a successful bind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AccountFacts {
    pub dn: String,
    pub sam_account_name: Option<String>,
    pub sid: Option<String>,
    pub user_account_control: Option<u32>,
    /// `msDS-User-Account-Control-Computed` (lockout, password expired).
    pub user_account_control_computed: Option<u32>,
    /// FILETIME values as stored (100 ns since 1601); 0 and i64::MAX mean never.
    pub pwd_last_set: Option<i64>,
    pub account_expires: Option<i64>,
    pub lockout_time: Option<i64>,
    pub bad_pwd_count: Option<u32>,
    /// `msDS-UserPasswordExpiryTimeComputed`.
    pub password_expiry: Option<i64>,
    /// `tokenGroups`: every group SID the account is in, transitively.
    pub token_groups: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dc_label_reads_back_as_host_and_address() {
        let at = |dc: &str| LdapFacts { dc: dc.into(), ..LdapFacts::default() }.dc_endpoint();
        let lab = ("dc1.lab1.example.test".to_owned(), "127.0.0.2".parse().unwrap());
        assert_eq!(at("dc1.lab1.example.test (127.0.0.2)"), Some(lab));
        assert_eq!(at("127.0.0.2"), Some(("127.0.0.2".into(), "127.0.0.2".parse().unwrap())));
        assert_eq!(at("dc1 (fe80::1)").map(|(_, a)| a.is_ipv6()), Some(true));
        assert_eq!(at("dc1"), None);
        assert_eq!(at("dc1 (not an address)"), None);
    }
}

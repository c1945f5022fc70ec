//! The connector account's token for a domain that is not its own, built
//! the way a DC of that domain builds it for a network logon (MS-PAC /
//! MS-KILE resource groups; "how access tokens are built"): the account's
//! SID and its global and universal groups, which only its own domain knows
//! (`tokenGroupsGlobalAndUniversal`), plus the checked domain's domain-local
//! and BUILTIN security groups that hold the account, any of those groups,
//! or a well-known SID every network logon carries, directly, through a
//! foreignSecurityPrincipal, or nested in another such group.
//!
//! The usual multi-domain forest has one connector account in the forest
//! root for every domain; without this, its tokenGroups (read in its own
//! domain) would carry the wrong domain's local groups.
//!
//! What is tested where (Samba 4.17 cannot host a child domain):
//! * against the lab DC: the parts of a same-domain token equal or exceed
//!   the DC's own tokenGroups (nested domain-local groups, a universal
//!   group, BUILTIN); the other lab forest's account gets lab1's groups
//!   through foreignSecurityPrincipals, nested, and not lab2's own local
//!   groups (crates/cli/tests/rights_lab.rs);
//! * with recorded facts: PHS007 on such tokens, and every failure of a part.
//!
//! Untested for want of a real multi-domain forest: the whole path inside
//! one bind (the connector account binding to a child domain's DC with its
//! root-domain identity, the crossRef lookup of its NetBIOS name, locating
//! its home DCs through DNS), member values stored as phantoms of another
//! domain of the same forest (the lab has foreignSecurityPrincipals only),
//! an alternate UPN suffix that names no domain (then the home DC is not
//! found and the token is an error), and SID history.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ldap3::Scope;
use phs_model::ad::{AccountFacts, AccountToken};
use phs_model::AccountName;
use phs_secdesc::Sid;

use super::super::locate;
use super::entry::escape_value;
use super::{connect, read_account, sid_text, transports, AdOptions, Conn, DomainTarget, Secret};

/// Nested domain-local groups are followed this deep.
const MAX_NESTING: usize = 8;

/// The SIDs a DC adds to every network logon and that a domain-local group
/// can hold (as a foreignSecurityPrincipal): Everyone, Authenticated Users,
/// NETWORK, This Organization.
const LOGON_SIDS: [Sid; 4] = [Sid::EVERYONE, Sid::AUTHENTICATED_USERS, Sid::NETWORK, Sid::THIS_ORGANIZATION];

/// The account's domain when it is not the checked one: the UPN suffix, or
/// the `DOMAIN` of `DOMAIN\user`. `None` when it is the checked domain
/// (by DNS name or NetBIOS name) or cannot be told.
pub(crate) fn foreign_domain(target: &DomainTarget, checked_netbios: &str) -> Option<String> {
    let user = target.account_user.trim();
    let domain = match AccountName::parse(user) {
        AccountName::Upn { suffix, .. } => suffix.trim(),
        _ => target.account_domain.trim(),
    };
    let same = |a: &str, b: &str| a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'));
    if domain.is_empty() || same(domain, &target.domain) || same(domain, checked_netbios) {
        return None;
    }
    Some(domain.to_owned())
}

/// This domain's domain-local and BUILTIN security groups that hold any of
/// `sids` (or each other), found with `(member=<SID=...>)`, which matches
/// a member by its SID whether it is stored as the object itself, a phantom
/// of another domain or a foreignSecurityPrincipal.
pub(crate) async fn resource_groups(conn: &mut Conn, partition_dn: &str, sids: &[Sid]) -> Result<Vec<Sid>, String> {
    let mut known: BTreeSet<Sid> = sids.iter().copied().collect();
    known.extend(LOGON_SIDS);
    let mut frontier: Vec<Sid> = known.iter().copied().collect();
    let mut found = Vec::new();
    for _ in 0..MAX_NESTING {
        if frontier.is_empty() {
            return Ok(found);
        }
        let mut next = Vec::new();
        for batch in frontier.chunks(30) {
            let terms: String = batch.iter().map(|s| format!("(member=<SID={s}>)")).collect();
            // groupType bits: 0x80000000 security, 0x4 domain-local
            // (BUILTIN groups are 0x80000005).
            let filter = format!("(&(objectClass=group)(groupType:1.2.840.113556.1.4.803:=2147483652)(|{terms}))");
            let entries = conn
                .search(partition_dn, Scope::Subtree, &filter, &["objectSid"], false)
                .await
                .map_err(|e| format!("domain-local groups of {partition_dn} holding the account: {e}"))?;
            for e in entries {
                let Some(sid) = e.first_bytes("objectSid").and_then(|raw| Sid::parse(raw).ok()).map(|(s, _)| s) else {
                    continue;
                };
                if known.insert(sid) {
                    found.push(sid);
                    next.push(sid);
                }
            }
        }
        frontier = next;
    }
    if frontier.is_empty() {
        Ok(found)
    } else {
        Err(format!("domain-local groups of {partition_dn} nest deeper than {MAX_NESTING} levels"))
    }
}

/// `tokenGroupsGlobalAndUniversal` of `dn` (a constructed attribute: a base
/// read). An empty answer is an error: the primary group is always in it.
pub(crate) async fn global_and_universal(conn: &mut Conn, dn: &str) -> Result<Vec<String>, String> {
    let attr = "tokenGroupsGlobalAndUniversal";
    let entries = conn
        .search(dn, Scope::Base, "(objectClass=*)", &[attr], false)
        .await
        .map_err(|e| format!("{attr} of {dn}: {e}"))?;
    let entry = entries.first().ok_or_else(|| format!("{attr} of {dn}: the base read returned no entry"))?;
    let values = entry.values(attr);
    let sids: Vec<String> = values.iter().filter_map(|v| sid_text(v)).collect();
    if values.is_empty() {
        return Err(format!("{attr} of {dn}: the DC returned no value (the account may not read it)"));
    }
    if sids.len() != values.len() {
        return Err(format!("{attr} of {dn}: {} value(s) are not valid SIDs", values.len() - sids.len()));
    }
    Ok(sids)
}

/// A bind that gave no session, in words; `refused` when the DC answered
/// with invalidCredentials (49): the same credential elsewhere would only add
/// a bad-password count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BindFailure {
    pub words: String,
    pub refused: bool,
}

impl From<BindFailure> for String {
    fn from(failure: BindFailure) -> String {
        failure.words
    }
}

/// Binds as `identity` on `dc` (LDAPS, else StartTLS; plain only when
/// allowed), the same rules as the main bind.
pub(crate) async fn bind(
    dc_host: &str,
    addr: IpAddr,
    identity: &str,
    secret: &Secret,
    opts: &AdOptions,
) -> Result<Conn, BindFailure> {
    let failed = |words: String, refused: bool| BindFailure { words, refused };
    if secret.expose().is_empty() {
        return Err(failed("no bind attempted: the password is empty".into(), false));
    }
    let mut failures = Vec::new();
    for transport in transports(opts, &[]) {
        match connect(dc_host, addr, transport, opts).await {
            Ok(mut conn) => {
                return match conn.bind(identity, secret).await {
                    Ok(r) if r.rc == 0 => Ok(conn),
                    Ok(r) => Err(failed(
                        format!("bind as {identity} on {dc_host} refused: {}", super::describe_result(&r)),
                        r.rc == 49,
                    )),
                    Err((words, _)) => Err(failed(format!("bind as {identity} on {dc_host}: {words}"), false)),
                };
            }
            Err(f) => {
                failures.push(f.words);
                if f.certificate {
                    break;
                }
            }
        }
    }
    Err(failed(failures.join("; "), false))
}

/// The account of another domain: located through DNS in its own domain,
/// bound and read there (its object and global and universal groups), then
/// the checked domain's resource groups through `checked`. Returns the
/// account, its token, and the error of the account read if any.
pub(crate) async fn read_foreign_account(
    checked: &mut Conn,
    target: &DomainTarget,
    account_domain: &str,
    config_nc: Option<&str>,
    secret: &Secret,
    opts: &AdOptions,
) -> (Option<AccountFacts>, AccountToken) {
    let mut token = AccountToken { account_domain: account_domain.to_owned(), ..Default::default() };
    // A NetBIOS name is turned into the DNS name through the forest's crossRefs.
    let (dns, partition) = match domain_names(checked, account_domain, config_nc).await {
        Ok(names) => names,
        Err(e) => {
            token.error = Some(e);
            return (None, token);
        }
    };
    token.account_domain = dns.clone();
    let home = DomainTarget {
        connector: target.connector.clone(),
        domain: dns.clone(),
        partition_dn: partition,
        account_user: target.account_user.clone(),
        account_domain: target.account_domain.clone(),
        locator: super::super::Locator::DnsSrv { server: target.dns_server },
        dns_server: target.dns_server,
    };
    let (_, candidates) = locate::locate(&home, opts).await;
    let Some((host, addr)) = candidates.iter().find_map(|c| Some((c.host.clone(), *c.addresses.first()?))) else {
        token.error = Some(format!("no DC of the account's domain {dns} could be located through DNS"));
        return (None, token);
    };
    token.read_from = format!("{host} ({addr})");
    let (account, sids) = match own_groups(&home, &host, addr, secret, opts).await {
        Ok(done) => done,
        Err(e) => {
            token.error = Some(e);
            return (None, token);
        }
    };
    token.global_and_universal = sids;
    match with_resource_groups(checked, &target.partition_dn, &account, &mut token).await {
        Ok(()) => {}
        Err(e) => token.error = Some(e),
    }
    (Some(account), token)
}

/// The account read in its own domain, and its global and universal groups.
pub(crate) async fn own_groups(
    home: &DomainTarget,
    host: &str,
    addr: IpAddr,
    secret: &Secret,
    opts: &AdOptions,
) -> Result<(AccountFacts, Vec<String>), String> {
    let mut conn = bind(host, addr, &home.bind_identity(), secret, opts).await?;
    let read = async {
        let (account, _) = read_account(&mut conn, home).await?;
        let sids = global_and_universal(&mut conn, &account.dn).await?;
        Ok::<_, String>((account, sids))
    }
    .await;
    conn.close().await;
    read
}

/// Adds the checked domain's resource groups to `token`.
pub(crate) async fn with_resource_groups(
    checked: &mut Conn,
    partition_dn: &str,
    account: &AccountFacts,
    token: &mut AccountToken,
) -> Result<(), String> {
    let own =
        account.sid.as_deref().and_then(|s| s.parse::<Sid>().ok()).ok_or("the account has no readable objectSid")?;
    let mut sids = vec![own];
    sids.extend(token.global_and_universal.iter().filter_map(|s| s.parse::<Sid>().ok()));
    let groups = resource_groups(checked, partition_dn, &sids).await?;
    token.resource_groups = groups.iter().map(ToString::to_string).collect();
    Ok(())
}

/// The token of `home`'s account for the domain `checked`, from two DCs:
/// the account is bound and read on `home_dc`, the resource groups are read
/// on `checked_dc` bound as `checked`'s identity (`checked_secret`, or the
/// account's own when `None`, as in one forest). Returns the account and its
/// token; `token.error` says what could not be read.
pub async fn build_token(
    home: &DomainTarget,
    home_dc: (&str, IpAddr),
    checked: &DomainTarget,
    checked_dc: (&str, IpAddr),
    secret: &Secret,
    checked_secret: Option<&Secret>,
    opts: &AdOptions,
) -> (Option<AccountFacts>, AccountToken) {
    let mut token = AccountToken {
        account_domain: home.domain.clone(),
        read_from: format!("{} ({})", home_dc.0, home_dc.1),
        ..Default::default()
    };
    let (account, sids) = match own_groups(home, home_dc.0, home_dc.1, secret, opts).await {
        Ok(done) => done,
        Err(e) => {
            token.error = Some(e);
            return (None, token);
        }
    };
    token.global_and_universal = sids;
    let bound =
        bind(checked_dc.0, checked_dc.1, &checked.bind_identity(), checked_secret.unwrap_or(secret), opts).await;
    match bound {
        Ok(mut conn) => {
            if let Err(e) = with_resource_groups(&mut conn, &checked.partition_dn, &account, &mut token).await {
                token.error = Some(e);
            }
            conn.close().await;
        }
        Err(e) => token.error = Some(e.words),
    }
    (Some(account), token)
}

/// The DNS name and naming context of a domain of the forest, from its
/// crossRef (by NetBIOS or DNS name).
async fn domain_names(conn: &mut Conn, domain: &str, config_nc: Option<&str>) -> Result<(String, String), String> {
    let by_dns = domain.contains('.');
    let Some(config_nc) = config_nc else {
        return if by_dns {
            Ok((domain.to_owned(), dn_of(domain)))
        } else {
            Err(format!(
                "the account's domain {domain} is a NetBIOS name and the forest's partitions could not be read"
            ))
        };
    };
    let filter = if by_dns {
        format!("(&(objectClass=crossRef)(dnsRoot={}))", escape_value(domain))
    } else {
        format!("(&(objectClass=crossRef)(nETBIOSName={}))", escape_value(domain))
    };
    let base = format!("CN=Partitions,{config_nc}");
    let entries = conn
        .search(&base, Scope::OneLevel, &filter, &["dnsRoot", "nCName"], false)
        .await
        .map_err(|e| format!("looking up the account's domain {domain} in {base}: {e}"))?;
    match entries.iter().find_map(|e| Some((e.first_str("dnsRoot")?, e.first_str("nCName")?))) {
        Some(found) => Ok(found),
        None if by_dns => Ok((domain.to_owned(), dn_of(domain))),
        None => Err(format!(
            "the account's domain {domain} is not a domain of this forest (no crossRef names it): an account of \
             another forest needs a trust, and its token is not built here"
        )),
    }
}

fn dn_of(dns: &str) -> String {
    dns.trim_end_matches('.').split('.').map(|l| format!("DC={l}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(user: &str, domain: &str) -> DomainTarget {
        DomainTarget {
            connector: "corp.example".into(),
            domain: "emea.corp.example".into(),
            partition_dn: "DC=emea,DC=corp,DC=example".into(),
            account_user: user.into(),
            account_domain: domain.into(),
            locator: super::super::super::Locator::Configured(vec![]),
            dns_server: None,
        }
    }

    #[test]
    fn the_account_domain_is_told_from_the_name() {
        assert_eq!(foreign_domain(&target("MSOL_1", "CORP"), "EMEA").as_deref(), Some("CORP"));
        assert_eq!(foreign_domain(&target("MSOL_1", "corp.example"), "EMEA").as_deref(), Some("corp.example"));
        assert_eq!(foreign_domain(&target("msol@corp.example", ""), "EMEA").as_deref(), Some("corp.example"));
        assert_eq!(foreign_domain(&target("MSOL_1", "EMEA"), "EMEA"), None);
        assert_eq!(foreign_domain(&target("MSOL_1", "emea.corp.example."), "EMEA"), None);
        assert_eq!(foreign_domain(&target("msol@EMEA.corp.example", ""), "EMEA"), None);
        assert_eq!(foreign_domain(&target("MSOL_1", ""), "EMEA"), None);
        assert_eq!(dn_of("corp.example."), "DC=corp,DC=example");
    }
}

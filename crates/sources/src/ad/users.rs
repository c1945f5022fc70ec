//! Every user of a domain, for the audit (`phs-doctor audit`): one paged
//! subtree search of the partition, on the DC and with the credential the
//! domain's checks used, each user handed on as it arrives so that a
//! million users are never held. The attributes and their decoding are the
//! one-user lookup's ([`super::user`]).

use super::ldap::bind_session;
use super::user::{decode_user, UserSearchTarget, USER_ATTRS, USER_FILTER};
use super::AdOptions;
use phs_model::AdUser;

/// What AD allows in one page by default (MaxPageSize).
pub const PAGE_SIZE: i32 = 1000;

/// How one domain's read ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRead {
    pub connector: String,
    pub domain: String,
    /// Users handed on.
    pub users: u64,
    /// Set when the read broke off (or never started): why. The users
    /// handed on before it are still judged; the rest are missing.
    pub error: Option<String>,
}

/// Reads every user (inetOrgPerson included) of `target`'s partition, with
/// memberOf when `want_member_of`, handing each to `on_user`; `page_size`
/// entries a page ([`PAGE_SIZE`] unless testing the paging).
pub async fn for_each_user(
    target: &UserSearchTarget,
    want_member_of: bool,
    page_size: i32,
    opts: &AdOptions,
    on_user: &mut (dyn FnMut(AdUser) + Send),
) -> DomainRead {
    let mut read =
        DomainRead { connector: target.connector.clone(), domain: target.domain.clone(), users: 0, error: None };
    let mut conn =
        match bind_session(&target.dc_host, target.dc_addr, &target.bind_identity, &target.secret, opts).await {
            Ok(conn) => conn,
            Err(failure) => {
                read.error = Some(failure.words);
                return read;
            }
        };
    let mut attrs: Vec<&str> = USER_ATTRS.to_vec();
    if want_member_of {
        attrs.push("memberOf");
    }
    let (connector, domain) = (target.connector.as_str(), target.domain.as_str());
    let mut hand = |entry| on_user(decode_user(&entry, connector, domain));
    match conn.paged_search(&target.partition_dn, USER_FILTER, &attrs, page_size, opts.page_timeout, &mut hand).await {
        Ok(n) => read.users = n,
        Err((n, why)) => {
            read.users = n;
            read.error = Some(format!("the search broke off after {n} users: {why}"));
        }
    }
    conn.close().await;
    read
}

//! Names of domains and accounts as Active Directory and Entra Connect write
//! them: a partition's DN as a DNS domain name, and an account as
//! `DOMAIN\user`, a UPN or a bare name.

/// The DNS name of a domain naming context from its DN: the `DC=` labels in
/// order (`DC=emea,DC=fabrikam,DC=com` -> `emea.fabrikam.com`, MS-ADTS
/// 3.1.1.1.5). None when the DN has no `DC=` label (an application partition
/// such as `CN=Configuration` has no DNS name of its own).
pub fn dn_to_fqdn(dn: &str) -> Option<String> {
    let labels: Vec<&str> = dn
        .split(',')
        .filter_map(|rdn| {
            let (key, value) = rdn.split_once('=')?;
            key.trim().eq_ignore_ascii_case("DC").then_some(value.trim())
        })
        .collect();
    (!labels.is_empty()).then(|| labels.join("."))
}

/// An account name in one of the forms Windows accepts at sign-in
/// ([MS-DTYP] and "User name formats" in the Windows documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountName<'a> {
    /// `DOMAIN\user` (down-level logon name): the domain, then the user.
    DownLevel { domain: &'a str, user: &'a str },
    /// `user@suffix` (user principal name); the suffix is after the last `@`.
    Upn { user: &'a str, suffix: &'a str },
    /// Neither: a sAMAccountName alone.
    Bare(&'a str),
}

impl<'a> AccountName<'a> {
    /// `DOMAIN\user` wins over `@`: `FABRIKAM\o@brien` is a down-level name.
    pub fn parse(text: &'a str) -> AccountName<'a> {
        if let Some((domain, user)) = text.split_once('\\') {
            AccountName::DownLevel { domain, user }
        } else if let Some((user, suffix)) = text.rsplit_once('@') {
            AccountName::Upn { user, suffix }
        } else {
            AccountName::Bare(text)
        }
    }

    /// The user part: the name without its domain or UPN suffix.
    pub fn user(&self) -> &'a str {
        match *self {
            AccountName::DownLevel { user, .. } | AccountName::Upn { user, .. } | AccountName::Bare(user) => user,
        }
    }

    /// The domain the name states: the NetBIOS name of `DOMAIN\user` or the
    /// UPN suffix; None for a bare name.
    pub fn domain(&self) -> Option<&'a str> {
        match *self {
            AccountName::DownLevel { domain, .. } => Some(domain),
            AccountName::Upn { suffix, .. } => Some(suffix),
            AccountName::Bare(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_from_partition_dn() {
        assert_eq!(dn_to_fqdn("DC=emea,DC=fabrikam,DC=com").as_deref(), Some("emea.fabrikam.com"));
        assert_eq!(dn_to_fqdn("dc=Lab1, dc=Example ,DC=test").as_deref(), Some("Lab1.Example.test"));
        assert_eq!(dn_to_fqdn("OU=Sync,DC=corp,DC=example").as_deref(), Some("corp.example"));
        assert_eq!(dn_to_fqdn("CN=Configuration"), None);
        assert_eq!(dn_to_fqdn(""), None);
    }

    #[test]
    fn the_three_account_forms() {
        let down = AccountName::parse("FABRIKAM\\MSOL_4f2a");
        assert_eq!(down, AccountName::DownLevel { domain: "FABRIKAM", user: "MSOL_4f2a" });
        assert_eq!((down.user(), down.domain()), ("MSOL_4f2a", Some("FABRIKAM")));
        let upn = AccountName::parse("sync@emea.fabrikam.com");
        assert_eq!((upn.user(), upn.domain()), ("sync", Some("emea.fabrikam.com")));
        assert_eq!(AccountName::parse("a@b@corp.example").domain(), Some("corp.example"));
        let bare = AccountName::parse("MSOL_4f2a");
        assert_eq!((bare.user(), bare.domain()), ("MSOL_4f2a", None));
        assert_eq!(AccountName::parse("FABRIKAM\\o@brien").user(), "o@brien");
    }
}

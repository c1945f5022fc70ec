//! Names of domains and accounts as Active Directory and Entra Connect write
//! them: a partition's DN as a DNS domain name, and an account as
//! `DOMAIN\user`, a UPN or a bare name.

/// The DNS name of a domain naming context from its DN: the `DC=` labels in
/// order (`DC=emea,DC=fabrikam,DC=com` -> `emea.fabrikam.com`, MS-ADTS
/// 3.1.1.1.5). None when the DN has no `DC=` label (an application partition
/// such as `CN=Configuration` has no DNS name of its own).
/// The RDNs of a DN, split at commas that are not escaped (`CN=Lee\, Ann`
/// is one RDN).
pub fn split_rdns(dn: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

/// A DN for comparison: RDNs trimmed, spaces around `=` gone, lower case
/// (AD compares DNs case-insensitively).
pub fn normalize_dn(dn: &str) -> String {
    split_rdns(dn)
        .iter()
        .map(|rdn| match rdn.split_once('=') {
            Some((ty, value)) => format!("{}={}", ty.trim(), value.trim()),
            None => rdn.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// `dn` is `base` or an object below it (at an RDN boundary, any case).
pub fn dn_is_under(dn: &str, base: &str) -> bool {
    let (dn, base) = (normalize_dn(dn), normalize_dn(base));
    !base.is_empty() && (dn == base || dn.ends_with(&format!(",{base}")))
}

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
    fn dns_compare_by_rdn_without_case_or_spaces() {
        assert_eq!(split_rdns("CN=Lee\\, Ann,OU=Staff"), ["CN=Lee\\, Ann", "OU=Staff"]);
        assert_eq!(normalize_dn("CN=Lee\\, Ann, OU = Staff"), "cn=lee\\, ann,ou=staff");
        assert!(dn_is_under("CN=Ann, OU=Staff,DC=Lab1,DC=example", "dc=lab1,dc=EXAMPLE"));
        assert!(dn_is_under("OU=Staff,DC=lab1", "OU=Staff,DC=lab1"));
        assert!(!dn_is_under("CN=Ann,OU=NotStaff,DC=lab1", "OU=Staff,DC=lab1"));
        assert!(!dn_is_under("CN=Ann,DC=lab10", "DC=lab1"));
        assert!(!dn_is_under("CN=Ann,DC=lab1", ""));
    }

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

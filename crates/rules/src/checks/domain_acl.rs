//! What PHS007 and PHS014 share: the domain root's DACL, decoded from the
//! snapshot, and names for the SIDs in it.

use crate::registry::Rule;
use base64::Engine;
use phs_model::{DomainFacts, Finding, LdapFacts, Scope, Status};
use phs_secdesc::{Ace, SecurityDescriptor, Sid};

pub(crate) struct DomainAcl<'a> {
    pub ldap: &'a LdapFacts,
    pub sd: SecurityDescriptor,
    pub domain_sid: Option<Sid>,
}

/// The decoded domain root descriptor, or why there is none (a sentence).
pub(crate) fn domain_acl(d: &DomainFacts) -> Result<DomainAcl<'_>, String> {
    let Some(ldap) = &d.ldap else {
        return Err(format!("{} is unreachable (see PHS005).", d.domain));
    };
    if !ldap.bind.ok {
        return Err("The connector account could not bind (see PHS006).".to_owned());
    }
    let Some(b64) = &ldap.domain_root_sd else {
        return Err(format!(
            "The domain root's security descriptor could not be read: {}",
            ldap.domain_root_sd_error.as_deref().unwrap_or("not returned")
        ));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("The domain root's security descriptor is not valid base64: {e}"))?;
    let sd = SecurityDescriptor::parse(&bytes)
        .map_err(|e| format!("The domain root's security descriptor is damaged: {e}"))?;
    let domain_sid = ldap.domain_sid.as_deref().and_then(|s| s.parse().ok());
    Ok(DomainAcl { ldap, sd, domain_sid })
}

/// The decoded descriptor, or `rule`'s finding on why there is none: an
/// error when the account bound (the read itself failed), skipped when it did
/// not (PHS005 and PHS006 judge that). Boxed: a finding is large next to
/// the descriptor.
pub(crate) fn domain_acl_or_finding<'a>(
    rule: &Rule,
    d: &'a DomainFacts,
    scope: &Scope,
) -> Result<DomainAcl<'a>, Box<Finding>> {
    domain_acl(d).map_err(|why| {
        let status = if d.ldap.as_ref().is_some_and(|l| l.bind.ok) { Status::Error } else { Status::Skipped };
        Box::new(rule.finding(status, scope.clone(), why).done())
    })
}

impl DomainAcl<'_> {
    /// `LAB1\PHS Outer (S-1-5-21-...)`, or a well-known name, or the bare SID.
    pub fn name(&self, sid: &Sid) -> String {
        let text = sid.to_string();
        if let Some(n) = self.ldap.sid_names.get(&text) {
            return format!("{n} ({text})");
        }
        // The membership read names the trustees and their members too.
        let read = self.ldap.rights_trustees.iter().flat_map(|r| &r.trustees);
        let named = read
            .clone()
            .find(|t| t.sid == text)
            .and_then(|t| t.name.clone())
            .or_else(|| read.flat_map(|t| &t.members).find(|m| m.sid == text).and_then(|m| m.name.clone()));
        if let Some(n) = named {
            return format!("{n} ({text})");
        }
        match sid.well_known_name(self.domain_sid.as_ref()) {
            Some(n) => format!("{n} ({text})"),
            None => text,
        }
    }

    /// Evidence for findings that name trustees: why some are shown as bare
    /// SIDs, when the name lookup failed.
    pub fn naming_evidence(&self, d: crate::finding::Draft) -> crate::finding::Draft {
        match &self.ldap.sid_names_error {
            Some(e) => d.evidence("SID names", format!("some SIDs could not be named: {e}")),
            None => d,
        }
    }

    /// An ACE as people read it: its position, SDDL and trustee name.
    pub fn describe(&self, index: usize, ace: &Ace) -> String {
        format!("ACE #{index} {} for {}", ace.to_sddl(self.domain_sid.as_ref()), self.name(&ace.sid))
    }
}

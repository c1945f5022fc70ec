use super::domain_acl::domain_acl;
use crate::context::Context;
use crate::registry::Rule;
use phs_model::{DomainFacts, Finding, Scope, ScopeKind, Status};
use phs_secdesc::{replication_principals, Sid};

pub const RULE: Rule = Rule {
    code: "PHS014",
    name: "replication-rights-exposure",
    scope: ScopeKind::Domain,
    title: "Only the expected principals can replicate password hashes",
    doc: "\
## What it checks
Every principal named in the domain root's DACL that holds both Replicating
Directory Changes and Replicating Directory Changes All, directly or through
full control: other than the domain controllers' groups (Domain Controllers,
Enterprise Domain Controllers, read-only DCs), SYSTEM, the administrators
(BUILTIN\\Administrators, Domain Admins, Enterprise Admins) and the AD DS
connector accounts of the sync server, each one is a warning.

## Why it matters
Holding both rights is exactly what a \"DCSync\" attack needs: that principal
can pull every password hash of the domain, including krbtgt's. Password hash
sync needs these rights for its connector account only; a group granted them
for convenience, an old sync account, or a forgotten migration tool is an
exposure.

## How to fix
Remove the replication ACEs of principals that do not need them (ADUC >
domain root > Security > Advanced, or `dsacls <domain DN> /R <principal>`), and
grant them to the connector account directly rather than to a broad group.

## Evidence
Each exposed principal with its granting ACEs.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
        "https://attack.mitre.org/techniques/T1003/006/",
    ],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    // Every connector account SID known, from any domain: a forest's account
    // may be granted rights in each of its domains.
    let connector_accounts: Vec<Sid> = cx
        .ad_domains()
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.ldap.as_ref()?.account.as_ref()?.sid.as_deref()?.parse().ok())
        .collect();
    cx.per_ad_domain(&RULE, |d| judge(d, &connector_accounts))
}

/// Who holds replication rights in every healthy domain: the DCs, SYSTEM and
/// the administrators (default domain root ACEs give Domain Admins and
/// Enterprise Admins every extended right), plus the sync server's own
/// connector accounts.
fn expected(sid: &Sid, domain: Option<&Sid>, connector_accounts: &[Sid]) -> bool {
    let domain_relative = |rid| domain.and_then(|d| d.domain_relative(rid));
    // Enterprise Admins live in the forest root domain, whose SID a child
    // domain's facts do not carry; RID 519 in a domain SID is always them.
    let enterprise_admins =
        sid.authority() == 5 && sid.sub_authorities().first() == Some(&21) && sid.rid() == Some(519);
    sid == &Sid::ENTERPRISE_DOMAIN_CONTROLLERS
        || sid == &Sid::BUILTIN_ADMINISTRATORS
        || sid == &Sid::LOCAL_SYSTEM
        || enterprise_admins
        || [512, 516, 521, 498].into_iter().any(|rid| domain_relative(rid).as_ref() == Some(sid))
        || connector_accounts.contains(sid)
}

fn judge(d: &DomainFacts, connector_accounts: &[Sid]) -> Finding {
    let scope = Scope::domain(&d.connector, &d.domain);
    let acl = match domain_acl(d) {
        Ok(a) => a,
        Err(why) => {
            let status = if d.ldap.as_ref().is_some_and(|l| l.bind.ok) { Status::Error } else { Status::Skipped };
            return RULE.finding(status, scope, why).done();
        }
    };
    let Some(dacl) = acl.sd.dacl_for_access() else {
        return RULE
            .finding(
                Status::Fail,
                scope,
                format!("The domain root {} has no DACL: everyone can replicate password hashes.", d.partition_dn),
            )
            .done();
    };
    let account_groups: Vec<String> = acl.ldap.account.as_ref().map(|a| a.token_groups.clone()).unwrap_or_default();
    let holders = replication_principals(dacl);
    let exposed: Vec<_> =
        holders.iter().filter(|h| !expected(&h.sid, acl.domain_sid.as_ref(), connector_accounts)).collect();
    if exposed.is_empty() {
        return RULE
            .finding(
                Status::Pass,
                scope,
                format!(
                    "Only domain controllers, Administrators and the connector account can replicate password hashes from {} ({} principals hold both rights).",
                    d.domain,
                    holders.len()
                ),
            )
            .done();
    }
    // Names only in the message; the SIDs and ACEs are in the evidence.
    let names: Vec<String> = exposed.iter().map(|h| short(&acl.name(&h.sid))).collect();
    let mut f = RULE.finding(
        Status::Warn,
        scope,
        format!(
            "{} principal(s) besides the domain controllers, Administrators and the connector account can replicate every password hash of {} (DCSync): {}.",
            exposed.len(),
            d.domain,
            names.join(", ")
        ),
    );
    for h in &exposed {
        let via_account =
            if account_groups.contains(&h.sid.to_string()) { " (the connector account is a member)" } else { "" };
        let sddl = |r: &phs_secdesc::AceRef| format!("ACE #{} {}", r.index, r.ace.to_sddl(acl.domain_sid.as_ref()));
        let aces = if h.get_changes.index == h.get_changes_all.index {
            sddl(&h.get_changes)
        } else {
            format!("{}; {}", sddl(&h.get_changes), sddl(&h.get_changes_all))
        };
        f = f.evidence(&format!("{}{via_account}", acl.name(&h.sid)), aces);
    }
    f = acl.naming_evidence(f);
    // Principal names come from the directory: quoted, or left out with a note.
    let mut commands = Vec::new();
    let mut note = None;
    for h in &exposed {
        let name = short(&acl.name(&h.sid)).to_owned();
        let (c, n) = crate::command::fill_all(
            &[REMOVE_PRINCIPAL],
            &[("<domain root DN>", d.partition_dn.as_str()), ("<principal>", name.as_str())],
        );
        commands.extend(c);
        note = note.or(n);
    }
    f.fix_commands(
        "Review each principal; remove the replication rights of those that do not need them (dsacls /R removes every ACE of that principal on the object, so re-grant what it legitimately needs), and grant password hash sync's rights to the connector account directly.",
        (commands, note),
    )
    .done()
}

/// Removing every ACE of one principal from the domain root.
pub(crate) const REMOVE_PRINCIPAL: &str = "dsacls '<domain root DN>' /R '<principal>'";

/// `LAB1\\PHS Outer (S-1-5-...)` -> `LAB1\\PHS Outer`.
fn short(name: &str) -> String {
    name.split(" (S-").next().unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    const GC: &str = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2";
    const GCA: &str = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2";

    fn judged(extra: &str) -> Finding {
        run(&snapshot_with_ad(vec![domain_with_acl(extra)]), check).remove(0)
    }

    #[test]
    fn defaults_and_the_connector_account_are_expected() {
        let f = judged(&format!("(OA;;CR;{GC};;{DOMAIN_SID}-1105)(OA;;CR;{GCA};;{DOMAIN_SID}-1105)"));
        assert_eq!(f.status, Status::Pass, "{f:#?}");
    }

    #[test]
    fn another_holder_is_named_with_its_aces() {
        let f = judged(&format!(
            "(OA;;CR;{GC};;{DOMAIN_SID}-1200)(OA;;CR;{GCA};;{DOMAIN_SID}-1200)(A;;GA;;;{DOMAIN_SID}-1107)"
        ));
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.starts_with("2 principal(s)"), "{}", f.message);
        assert!(f.message.contains("FABRIKAM\\old-sync"));
        assert!(f
            .evidence
            .iter()
            .any(|e| e.label.contains("PHS Outer") && e.label.contains("connector account is a member")));
        // Get-Changes alone is not an exposure.
        let f = judged(&format!("(OA;;CR;{GC};;{DOMAIN_SID}-1200)"));
        assert_eq!(f.status, Status::Pass);
    }
}

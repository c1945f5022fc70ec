use super::domain_acl::{domain_acl, DomainAcl};
use crate::command;
use crate::context::Context;
use crate::registry::Rule;
use phs_model::{DomainFacts, Finding, Scope, ScopeKind, Status};
use phs_secdesc::{AccessDecision, Guid, Sid, Token};

pub const RULE: Rule = Rule {
    code: "PHS007",
    name: "connector-account-replication-rights",
    scope: ScopeKind::Domain,
    title: "The connector account holds both replication rights on the domain root",
    doc: "\
## What it checks
For every domain whose connector account could bind: the domain root's
`nTSecurityDescriptor` (DACL, read with the SD flags control so a non-admin
account gets it) is evaluated for the account's token (its SID, its
`tokenGroups` and the well-known SIDs every network logon carries) the way
Windows does for an object-specific right: ACEs in order, inherit-only ACEs
skipped, the first allow or deny that applies decides, object ACEs must name
the right's GUID (or none), full control and generic-all include it. Both
Replicating Directory Changes (1131f6aa-9c07-11d1-f79f-00c04fc2dcd2) and
Replicating Directory Changes All (1131f6ad-9c07-11d1-f79f-00c04fc2dcd2) must be
granted. The evidence names the granting or denying ACE and its trustee.

## Why it matters
Password hash sync reads hashes with directory replication. Without both
rights on the root of each domain, the DC refuses (event 611, RPC error 8453
\"Replication access was denied\"). Rights granted on an OU do not count: the
check is made on the naming context head.

## How to fix
Grant the rights on the domain root (\"This object only\") with
`Set-ADSyncPasswordHashSyncPermissions` from the AdSyncConfig module, or with
`dsacls`; on Samba with `samba-tool dsacl set`. Remove a deny ACE that
overrides them.

## Evidence
For each right: granted or not, and the deciding ACE with its trustee.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
    ],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    cx.per_ad_domain(&RULE, judge)
}

fn judge(d: &DomainFacts) -> Finding {
    let scope = Scope::domain(&d.connector, &d.domain);
    let acl = match domain_acl(d) {
        Ok(a) => a,
        Err(why) => {
            let status = if d.ldap.as_ref().is_some_and(|l| l.bind.ok) { Status::Error } else { Status::Skipped };
            return RULE.finding(status, scope, why).done();
        }
    };
    let Some(account) = acl.ldap.account.as_ref() else {
        return RULE
            .finding(
                Status::Error,
                scope,
                "The connector account's object (its SID and groups) could not be read (see PHS006).",
            )
            .done();
    };
    let Some(account_sid) = account.sid.as_deref().and_then(|s| s.parse::<Sid>().ok()) else {
        return RULE.finding(Status::Error, scope, "The connector account's objectSid could not be read.").done();
    };
    let groups: Vec<Sid> = account.token_groups.iter().filter_map(|s| s.parse().ok()).collect();
    let token = Token::new(account_sid, groups.iter().copied());
    let access = acl.sd.check_replication_rights(&token);

    let mut f = RULE
        .finding(Status::Pass, scope, String::new())
        .evidence("Account", format!("{} ({})", d.account, account_sid));
    f = f.evidence("Token groups", format!("{} groups", groups.len()));
    f = acl.naming_evidence(f);
    for decision in [&access.get_changes, &access.get_changes_all] {
        f = f.evidence(right_name(&decision.right), explain(&acl, decision));
        for u in &decision.unevaluated {
            f = f.evidence(
                "Not evaluated",
                format!("{} (an ACE type phs-doctor does not evaluate)", acl.describe(u.index, &u.ace)),
            );
        }
    }
    if access.granted() {
        f.set(
            Status::Pass,
            format!(
                "{} holds Replicating Directory Changes and Replicating Directory Changes All on {}.",
                d.account, d.partition_dn
            ),
        );
        return f.done();
    }
    let missing: Vec<&str> = access.missing().iter().map(right_name).collect();
    let denied = [&access.get_changes, &access.get_changes_all]
        .into_iter()
        .find(|x| !x.granted && x.reason == phs_secdesc::Reason::Denied)
        .and_then(|x| x.deciding.first())
        .map(|r| format!(" An explicit deny overrides the grant: {}.", acl.describe(r.index, &r.ace)))
        .unwrap_or_default();
    f.set(
        Status::Fail,
        format!(
            "{} lacks {} on the domain root {}; password hash sync of {} fails with RPC error 8453.{denied}",
            d.account,
            missing.join(" and "),
            d.partition_dn,
            d.domain
        ),
    );
    let (user, dom) = split_account(&d.account);
    // Account names, DNs and the DC come from the export and the directory:
    // they are filled in quoted, never pasted raw.
    let dc = acl.ldap.dc.split(' ').next().unwrap_or(&acl.ldap.dc);
    let sid = account_sid.to_string();
    let values = [
        ("<account principal>", d.account.as_str()),
        ("<account domain>", dom.as_str()),
        ("<account>", user.as_str()),
        ("<domain root DN>", d.partition_dn.as_str()),
        ("<DC>", dc),
        ("<sid>", sid.as_str()),
    ];
    let (mut commands, mut note) = command::fill_all(WINDOWS_GRANT, &values);
    for right in access.missing() {
        let right = right.to_string();
        let mut with_right = values.to_vec();
        with_right.push(("<right>", right.as_str()));
        let (samba, samba_note) = command::fill_all(&[SAMBA_GRANT], &with_right);
        commands.extend(samba);
        note = note.or(samba_note);
    }
    let summary = if denied.is_empty() {
        "Grant both replication rights on the domain root (this object only) to the connector account, on Windows with the AdSyncConfig module or dsacls, on Samba with samba-tool dsacl:"
    } else {
        "Remove the deny ACE (or take the account out of the denied group), then make sure both rights are granted:"
    };
    f.fix_commands(summary, (commands, note)).done()
}

/// Granting both rights on Windows: the AdSyncConfig module, or dsacls.
pub(crate) const WINDOWS_GRANT: &[&str] = &[
    "Import-Module 'C:\\Program Files\\Microsoft Azure Active Directory Connect\\AdSyncConfig\\AdSyncConfig.psm1'",
    "Set-ADSyncPasswordHashSyncPermissions -ADConnectorAccountName '<account>' -ADConnectorAccountDomain '<account domain>'",
    "dsacls '<domain root DN>' /G '<account principal>:CA;Replicating Directory Changes' '<account principal>:CA;Replicating Directory Changes All'",
];

/// Granting one right on a Samba DC (single quotes are safe in a POSIX shell too).
pub(crate) const SAMBA_GRANT: &str =
    "samba-tool dsacl set '--objectdn=<domain root DN>' '--sddl=(OA;;CR;<right>;;<sid>)' -H 'ldap://<DC>' -U Administrator";

fn explain(acl: &DomainAcl, d: &AccessDecision) -> String {
    match d.deciding.first() {
        Some(r) => format!("{} by {}", if d.granted { "granted" } else { "DENIED" }, acl.describe(r.index, &r.ace)),
        None => format!("not granted: {}", d.reason),
    }
}

pub(crate) fn right_name(g: &Guid) -> &'static str {
    if *g == Guid::DS_REPLICATION_GET_CHANGES {
        "Replicating Directory Changes"
    } else if *g == Guid::DS_REPLICATION_GET_CHANGES_ALL {
        "Replicating Directory Changes All"
    } else {
        "another extended right"
    }
}

/// `DOMAIN\user` -> (user, DOMAIN); a UPN -> (user, domain).
fn split_account(account: &str) -> (String, String) {
    if let Some((dom, user)) = account.split_once('\\') {
        return (user.to_owned(), dom.to_owned());
    }
    if let Some((user, dom)) = account.split_once('@') {
        return (user.to_owned(), dom.to_owned());
    }
    (account.to_owned(), "<domain>".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    const GC: &str = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2";
    const GCA: &str = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2";

    fn judged(extra: &str) -> Finding {
        let f = run(&snapshot_with_ad(vec![domain_with_acl(extra)]), check);
        assert_eq!(f.len(), 1);
        f.into_iter().next().unwrap()
    }

    #[test]
    fn a_failed_name_lookup_is_said_not_hidden() {
        let mut d = domain_with_acl("");
        let f = run(&snapshot_with_ad(vec![d.clone()]), check);
        assert!(!f[0].evidence.iter().any(|e| e.label == "SID names"));
        d.ldap.as_mut().unwrap().sid_names_error = Some("search for 3 SIDs failed: size limit exceeded".into());
        let f = run(&snapshot_with_ad(vec![d]), check);
        let said = f[0].evidence.iter().find(|e| e.label == "SID names").expect("SID names evidence");
        assert!(said.value.contains("size limit exceeded"), "{}", said.value);
    }

    fn account(rid: u32) -> String {
        format!("{DOMAIN_SID}-{rid}")
    }

    #[test]
    fn granted_directly() {
        let f = judged(&format!("(OA;;CR;{GC};;{a})(OA;;CR;{GCA};;{a})", a = account(1105)));
        assert_eq!(f.status, Status::Pass, "{f:#?}");
        assert!(f
            .evidence
            .iter()
            .any(|e| e.label == "Replicating Directory Changes All" && e.value.starts_with("granted by ACE #1")));
    }

    #[test]
    fn granted_through_a_nested_group_names_the_group() {
        let f = judged(&format!("(OA;;CR;{GC};;{g})(OA;;CR;{GCA};;{g})", g = account(1107)));
        assert_eq!(f.status, Status::Pass);
        assert!(f.evidence.iter().any(|e| e.value.contains("FABRIKAM\\PHS Outer")), "{f:#?}");
    }

    #[test]
    fn get_changes_only_fails_naming_the_missing_right() {
        let f = judged(&format!("(OA;;CR;{GC};;{a})", a = account(1105)));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("lacks Replicating Directory Changes All"), "{}", f.message);
        let cmds = &f.remediation.as_ref().unwrap().commands;
        assert!(cmds.iter().any(|c| c.contains("Set-ADSyncPasswordHashSyncPermissions -ADConnectorAccountName 'MSOL_4f2a9c1b7e30' -ADConnectorAccountDomain 'fabrikam.com'")));
        assert!(cmds.iter().any(|c| c.contains(&format!("(OA;;CR;{GCA};;{})", account(1105)))));
        assert!(!cmds.iter().any(|c| c.contains(&format!("(OA;;CR;{GC};;"))), "only the missing right is granted");
    }

    #[test]
    fn no_rights_fails() {
        let f = judged("");
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("Replicating Directory Changes and Replicating Directory Changes All"));
    }

    #[test]
    fn deny_on_a_group_overrides_an_allow() {
        let f = judged(&format!(
            "(OD;;CR;{GCA};;{denied})(OA;;CR;{GC};;{allowed})(OA;;CR;{GCA};;{allowed})",
            denied = account(1106),
            allowed = account(1107)
        ));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("explicit deny") && f.message.contains("PHS Inner"), "{}", f.message);
    }

    #[test]
    fn inherit_only_grants_do_not_count_on_the_root() {
        let f = judged(&format!("(OA;CIIO;CR;{GC};;{a})(OA;CIIO;CR;{GCA};;{a})", a = account(1105)));
        assert_eq!(f.status, Status::Fail);
    }

    #[test]
    fn full_control_grants_both() {
        assert_eq!(judged(&format!("(A;;GA;;;{})", account(1105))).status, Status::Pass);
        assert_eq!(judged(&format!("(A;;0xf01ff;;;{})", account(1106))).status, Status::Pass);
    }

    #[test]
    fn skipped_or_error_without_the_descriptor() {
        let mut d = domain_with_acl("");
        d.ldap.as_mut().unwrap().bind.ok = false;
        assert_eq!(run(&snapshot_with_ad(vec![d]), check)[0].status, Status::Skipped);
        let mut d = domain_with_acl("");
        let l = d.ldap.as_mut().unwrap();
        l.domain_root_sd = None;
        l.domain_root_sd_error = Some("insufficient access".into());
        let f = run(&snapshot_with_ad(vec![d]), check);
        assert_eq!(f[0].status, Status::Error);
        assert!(f[0].message.contains("insufficient access"));
    }
}

use super::domain_acl::{domain_acl_or_finding, DomainAcl};
use crate::command;
use crate::context::Context;
use crate::registry::{Need, Rule};
use phs_model::{AccountFacts, AccountName, DomainFacts, Finding, Scope, ScopeKind, Status};
use phs_secdesc::{replication_denies_outside, AccessDecision, Guid, Sid, Token};

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
the right's GUID, none, or the `domainDNS` class (Windows checks a control
access right with the object's class at the root of its object type list,
MS-DTYP 2.5.3.2, so a class ACE grants or denies every such right; Samba
4.17 ignores it, and Windows decides here), full control and generic-all
include it. When the account lives in another domain of the forest, its
token is the one a DC of the checked domain builds: its global and
universal groups plus that domain's domain-local and BUILTIN groups holding
it. When the account's groups cannot be read, the result is an error unless
its own ACEs grant both rights and no deny for a group comes first; so is a
conditional (callback) ACE placed where it could reverse the answer. Both
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
    needs: &[Need::LiveAd],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    cx.per_ad_domain(&RULE, judge)
}

fn judge(d: &DomainFacts) -> Finding {
    let scope = Scope::domain(&d.connector, &d.domain);
    let acl = match domain_acl_or_finding(&RULE, d, &scope) {
        Ok(a) => a,
        Err(f) => return *f,
    };
    let Some(account) = acl.ldap.account.as_ref() else {
        let why = acl.ldap.account_error.as_deref().unwrap_or("the DC returned nothing");
        return RULE
            .finding(
                Status::Error,
                scope,
                format!("The connector account's object (its SID and groups) could not be read: {why} (see PHS006)."),
            )
            .done();
    };
    let Some(account_sid) = account.sid.as_deref().and_then(|s| s.parse::<Sid>().ok()) else {
        return RULE
            .finding(
                Status::Error,
                scope,
                format!(
                    "The connector account's objectSid could not be read ({}), so its rights cannot be judged.",
                    account.sid.as_deref().map(|s| format!("not a SID: {s}")).unwrap_or_else(|| "not returned".into())
                ),
            )
            .done();
    };
    let groups = match token_groups(d, acl.ldap, account) {
        Ok(groups) => groups,
        Err(why) => return without_groups(d, &acl, scope, account_sid, &why),
    };
    let token = Token::new(account_sid, groups.iter().copied());
    let access = acl.sd.check_replication_rights(&token);

    let mut evidence: Vec<(&str, String)> = vec![("Account", format!("{} ({})", d.account, account_sid))];
    evidence.push((
        "Token groups",
        match &acl.ldap.account_token {
            Some(t) => format!(
                "{} groups: {} global and universal from {} ({}), {} domain-local and BUILTIN of {}",
                groups.len(),
                t.global_and_universal.len(),
                t.account_domain,
                t.read_from,
                t.resource_groups.len(),
                d.domain
            ),
            None => format!("{} groups", groups.len()),
        },
    ));
    let mut naming = Vec::new();
    for decision in [&access.get_changes, &access.get_changes_all] {
        naming.push((right_name(&decision.right), explain(&acl, decision)));
        for u in &decision.unevaluated {
            naming.push((
                "Not evaluated",
                format!("{} (an ACE type phs-doctor does not evaluate)", acl.describe(u.index, &u.ace)),
            ));
        }
    }
    // A conditional (callback) ACE for the account's token that comes before
    // the decision could reverse it; its condition is not evaluated here.
    let reversible = [&access.get_changes, &access.get_changes_all].into_iter().find_map(|d| {
        let against = if d.granted { [0x0a, 0x0c] } else { [0x09, 0x0b] };
        d.unevaluated.iter().find(|u| matches!(u.ace.kind, phs_secdesc::AceType::Other(t) if against.contains(&t)))
    });
    let outcome = match reversible {
        Some(u) => Outcome::Conditional { ace: acl.describe(u.index, &u.ace) },
        None if access.granted() => Outcome::Granted,
        None => Outcome::Lacking {
            missing: access.missing().iter().map(right_name).collect(),
            deny: [&access.get_changes, &access.get_changes_all]
                .into_iter()
                .find(|x| !x.granted && x.reason == phs_secdesc::Reason::Denied)
                .and_then(|x| x.deciding.first())
                .map(|r| acl.describe(r.index, &r.ace)),
        },
    };
    let mut f = RULE.finding(outcome.status(), scope, outcome.message(d));
    for (label, value) in evidence {
        f = f.evidence(label, value);
    }
    f = acl.naming_evidence(f);
    for (label, value) in naming {
        f = f.evidence(label, value);
    }
    let Outcome::Lacking { deny, .. } = &outcome else {
        return f.done();
    };
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
    let summary = if deny.is_none() {
        "Grant both replication rights on the domain root (this object only) to the connector account, on Windows with the AdSyncConfig module or dsacls, on Samba with samba-tool dsacl:"
    } else {
        "Remove the deny ACE (or take the account out of the denied group), then make sure both rights are granted:"
    };
    f.fix_commands(summary, (commands, note)).done()
}

/// The account's groups in this domain's token: built from parts when the
/// source did (an account of another domain), else its `tokenGroups`. Why
/// not, when they cannot be known.
fn token_groups(d: &DomainFacts, ldap: &phs_model::LdapFacts, account: &AccountFacts) -> Result<Vec<Sid>, String> {
    let parse = |sids: &mut dyn Iterator<Item = &String>| -> Result<Vec<Sid>, String> {
        sids.map(|s| s.parse::<Sid>().map_err(|_| format!("a group SID is not valid: {s}"))).collect()
    };
    if let Some(t) = &ldap.account_token {
        if let Some(e) = &t.error {
            return Err(format!("its token for {} could not be built: {e}", d.domain));
        }
        return parse(&mut t.global_and_universal.iter().chain(&t.resource_groups));
    }
    if let Some(e) = &ldap.account_error {
        return Err(format!("its tokenGroups could not be read: {e}"));
    }
    if account.token_groups.is_empty() {
        return Err(
            "its tokenGroups came back empty, which a readable token never is (it always holds the primary group)"
                .into(),
        );
    }
    parse(&mut account.token_groups.iter())
}

/// The verdict when the account's groups are unknown: a pass only when its
/// own ACEs grant both rights and no deny ACE that a group of it could
/// carry comes first; otherwise an error naming what is missing.
fn without_groups(d: &DomainFacts, acl: &DomainAcl, scope: Scope, account_sid: Sid, why: &str) -> Finding {
    let token = Token::new(account_sid, []);
    let access = acl.sd.check_replication_rights(&token);
    let dacl = acl.sd.dacl_for_access();
    let risky: Vec<phs_secdesc::AceRef> = [&access.get_changes, &access.get_changes_all]
        .into_iter()
        .flat_map(|decision| dacl.map(|dacl| replication_denies_outside(dacl, &token, decision)).unwrap_or_default())
        .collect();
    let outcome = if access.granted() && risky.is_empty() {
        Outcome::GrantedWithoutGroups { why: why.to_owned() }
    } else {
        Outcome::GroupsUnknown { why: why.to_owned(), own_aces_grant: access.granted() }
    };
    let mut f = RULE
        .finding(outcome.status(), scope, outcome.message(d))
        .evidence("Account", format!("{} ({})", d.account, account_sid))
        .evidence("Token groups", format!("unknown: {why}"));
    for decision in [&access.get_changes, &access.get_changes_all] {
        f = f.evidence(right_name(&decision.right), format!("for the account alone: {}", explain(acl, decision)));
    }
    for r in &risky {
        f = f.evidence("Deny that may apply", acl.describe(r.index, &r.ace));
    }
    f.done()
}

/// What PHS007 decides for a domain whose account and DACL were read,
/// before it is put in words by [`Outcome::message`].
enum Outcome {
    /// Both rights, through the account's token.
    Granted,
    /// Both rights through the account's own ACEs; its groups are unknown
    /// (`why`), but no deny ACE for any group comes first.
    GrantedWithoutGroups { why: String },
    /// A conditional ACE comes before the decision and could reverse it.
    Conditional { ace: String },
    /// The groups are unknown (`why`) and could decide.
    GroupsUnknown { why: String, own_aces_grant: bool },
    /// Rights the token lacks; `deny` is the ACE that overrides a grant.
    Lacking { missing: Vec<&'static str>, deny: Option<String> },
}

impl Outcome {
    fn status(&self) -> Status {
        match self {
            Outcome::Granted | Outcome::GrantedWithoutGroups { .. } => Status::Pass,
            Outcome::Conditional { .. } | Outcome::GroupsUnknown { .. } => Status::Error,
            Outcome::Lacking { .. } => Status::Fail,
        }
    }

    fn message(&self, d: &DomainFacts) -> String {
        let (account, root) = (&d.account, &d.partition_dn);
        match self {
            Outcome::Granted => format!(
                "{account} holds Replicating Directory Changes and Replicating Directory Changes All on {root}."
            ),
            Outcome::GrantedWithoutGroups { why } => format!(
                "{account} holds Replicating Directory Changes and Replicating Directory Changes All on {root} through its own ACEs; its groups are unknown ({why}), but no deny ACE for any group comes first, so they cannot take the rights away."
            ),
            Outcome::Conditional { ace } => format!(
                "Whether {account} holds both replication rights on {root} cannot be decided: the conditional {ace} comes first and phs-doctor does not evaluate its condition."
            ),
            Outcome::GroupsUnknown { why, own_aces_grant } => {
                let detail = if *own_aces_grant {
                    " Its own ACEs grant both rights, but a deny ACE for a group it may be in comes first (see the evidence)."
                } else {
                    " The rights granted to the account itself do not cover both, and rights through its groups cannot be judged without them."
                };
                format!("Whether {account} holds both replication rights on {root} cannot be decided: {why}.{detail}")
            }
            Outcome::Lacking { missing, deny } => {
                let deny = deny.as_ref().map(|a| format!(" An explicit deny overrides the grant: {a}.")).unwrap_or_default();
                format!(
                    "{account} lacks {} on the domain root {root}; password hash sync of {} fails with RPC error 8453.{deny}",
                    missing.join(" and "),
                    d.domain
                )
            }
        }
    }
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

/// `DOMAIN\user` -> (user, DOMAIN); a UPN -> (user, domain); a bare name
/// gets a placeholder domain for the fix command.
fn split_account(account: &str) -> (String, String) {
    let name = AccountName::parse(account);
    (name.user().to_owned(), name.domain().unwrap_or("<domain>").to_owned())
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

    #[test]
    fn unreadable_token_groups_are_an_error_not_lacks_the_rights() {
        // Rights through a group, tokenGroups failed: no verdict.
        for (error, groups) in [
            (
                Some(
                    "tokenGroups of CN=MSOL_4f2a9c1b7e30,CN=Users,DC=fabrikam,DC=com: rc 50 (insufficientAccessRights)",
                ),
                vec![],
            ),
            (None, vec![]),
            (
                Some("tokenGroups of CN=MSOL_4f2a9c1b7e30,CN=Users,DC=fabrikam,DC=com: 1 value(s) are not valid SIDs"),
                vec![format!("{DOMAIN_SID}-1107")],
            ),
        ] {
            let mut d = domain_with_acl(&format!("(OA;;CR;{GC};;{g})(OA;;CR;{GCA};;{g})", g = account(1107)));
            let l = d.ldap.as_mut().unwrap();
            l.account_error = error.map(str::to_owned);
            l.account.as_mut().unwrap().token_groups = groups;
            let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
            assert_eq!(f.status, Status::Error, "{error:?}: {f:#?}");
            assert!(!f.message.contains("lacks"), "{}", f.message);
            assert!(f.message.contains("cannot be decided"), "{}", f.message);
            if let Some(e) = error {
                assert!(f.message.contains(e.split(": ").last().unwrap()), "{}", f.message);
            }
        }
    }

    #[test]
    fn without_groups_a_direct_grant_passes_unless_a_group_deny_comes_first() {
        let direct = format!("(OA;;CR;{GC};;{a})(OA;;CR;{GCA};;{a})", a = account(1105));
        for (extra, status) in [
            (direct.clone(), Status::Pass),
            // A deny for some group before the grant: the account may be in it.
            (format!("(OD;;CR;{GCA};;{}){direct}", account(1106)), Status::Error),
            // A deny placed after the grant cannot override it.
            (format!("{direct}(OD;;CR;{GCA};;{})", account(1106)), Status::Pass),
            // A deny for the whole domainDNS class, for a group, first.
            (format!("(OD;;CR;19195a5b-6da0-11d0-afd3-00c04fd930c9;;{}){direct}", account(1300)), Status::Error),
        ] {
            let mut d = domain_with_acl(&extra);
            d.ldap.as_mut().unwrap().account_error = Some("tokenGroups of X: timed out after 10 s".into());
            let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
            assert_eq!(f.status, status, "{extra}: {f:#?}");
            if status == Status::Error {
                assert!(f.evidence.iter().any(|e| e.label == "Deny that may apply"), "{f:#?}");
            }
        }
    }

    #[test]
    fn an_unreadable_account_object_says_why() {
        let mut d = domain_with_acl("");
        let l = d.ldap.as_mut().unwrap();
        l.account = None;
        l.account_error = Some(
            "account search (sAMAccountName=MSOL_4f2a9c1b7e30) under DC=fabrikam,DC=com: timed out after 10 s".into(),
        );
        let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
        assert_eq!(f.status, Status::Error);
        assert!(f.message.contains("timed out after 10 s"), "{}", f.message);
        let mut d = domain_with_acl("");
        d.ldap.as_mut().unwrap().account.as_mut().unwrap().sid = Some("not-a-sid".into());
        let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
        assert_eq!(f.status, Status::Error);
        assert!(f.message.contains("not-a-sid"), "{}", f.message);
    }

    #[test]
    fn a_class_ace_grants_or_denies_both_rights_as_on_windows() {
        // MS-DTYP 2.5.3.2 with the domainDNS class at level 0 of the object
        // type list (MS-ADTS 5.1.3.3.4): Windows' reading, not Samba's.
        let class = "19195a5b-6da0-11d0-afd3-00c04fd930c9";
        for trustee in [account(1105), account(1106), account(1107)] {
            let f = judged(&format!("(OA;;CR;{class};;{trustee})"));
            assert_eq!(f.status, Status::Pass, "{trustee}: {f:#?}");
        }
        let f = judged(&format!(
            "(OD;;CR;{class};;{})(OA;;CR;{GC};;{a})(OA;;CR;{GCA};;{a})",
            account(1107),
            a = account(1105)
        ));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("explicit deny"), "{}", f.message);
        // The abstract `domain` superclass is not in the list.
        let f = judged(&format!("(OA;;CR;19195a5a-6da0-11d0-afd3-00c04fd930c9;;{})", account(1105)));
        assert_eq!(f.status, Status::Fail);
    }

    /// The forest-root connector account (CORP\MSOL_...) checked in the child
    /// domain fabrikam.com: its token there is built from parts.
    fn foreign(resource_groups: &[&str], error: Option<&str>) -> DomainFacts {
        let root = "S-1-5-21-3000000001-3000000002-3000000003";
        let mut d = domain_with_acl("");
        d.account = "CORP\\MSOL_4f2a9c1b7e30".into();
        let l = d.ldap.as_mut().unwrap();
        let a = l.account.as_mut().unwrap();
        a.sid = Some(format!("{root}-1105"));
        a.dn = "CN=MSOL_4f2a9c1b7e30,CN=Users,DC=corp,DC=example".into();
        // Its own tokenGroups hold the root domain's local groups: never used here.
        a.token_groups = vec![format!("{root}-513"), format!("{root}-1201"), "S-1-5-32-544".into()];
        l.account_token = Some(phs_model::AccountToken {
            account_domain: "corp.example".into(),
            read_from: "dc1.corp.example (10.0.0.1)".into(),
            global_and_universal: vec![format!("{root}-513"), format!("{root}-1150")],
            resource_groups: resource_groups.iter().map(|s| s.to_string()).collect(),
            error: error.map(str::to_owned),
        });
        d
    }

    #[test]
    fn an_account_of_another_domain_is_judged_with_this_domains_token() {
        let root = "S-1-5-21-3000000001-3000000002-3000000003";
        let both = |sid: &str| format!("(OA;;CR;{GC};;{sid})(OA;;CR;{GCA};;{sid})");
        // Through a domain-local group of the checked domain that holds it.
        for (aces, groups, status) in [
            (both(&account(1400)), vec![account(1400)], Status::Pass),
            // Through its universal group from the root domain.
            (both(&format!("{root}-1150")), vec![], Status::Pass),
            // The domain-local group does not hold it here.
            (both(&account(1400)), vec![], Status::Fail),
            // BUILTIN\Administrators (which holds both rights here) is in
            // its tokenGroups at home, not in this domain: it must not count.
            (String::new(), vec![], Status::Fail),
            // Split: Get-Changes to its universal group, Get-Changes-All to a local one.
            (format!("(OA;;CR;{GC};;{root}-1150)(OA;;CR;{GCA};;{})", account(1400)), vec![account(1400)], Status::Pass),
        ] {
            let mut d = foreign(&groups.iter().map(String::as_str).collect::<Vec<_>>(), None);
            d.ldap.as_mut().unwrap().domain_root_sd = Some(domain_root_sd(&aces));
            let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
            assert_eq!(f.status, status, "{aces} {groups:?}: {f:#?}");
            let tg = f.evidence.iter().find(|e| e.label == "Token groups").expect("token evidence");
            assert!(tg.value.contains("from corp.example") && tg.value.contains("of fabrikam.com"), "{}", tg.value);
        }
    }

    #[test]
    fn a_token_that_could_not_be_built_is_an_error() {
        for why in [
            "no DC of the account's domain corp.example could be located through DNS",
            "domain-local groups of DC=fabrikam,DC=com holding the account: timed out after 10 s",
            "tokenGroupsGlobalAndUniversal of CN=MSOL,CN=Users,DC=corp,DC=example: the DC returned no value",
        ] {
            let mut d = foreign(&[], Some(why));
            d.ldap.as_mut().unwrap().domain_root_sd =
                Some(domain_root_sd(&format!("(OA;;CR;{GC};;{g})(OA;;CR;{GCA};;{g})", g = account(1400))));
            let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
            assert_eq!(f.status, Status::Error, "{why}: {f:#?}");
            assert!(f.message.contains(why), "{}", f.message);
        }
    }

    #[test]
    fn a_conditional_ace_that_could_reverse_the_answer_is_an_error() {
        let grant = format!("(OA;;CR;{GC};;{a})(OA;;CR;{GCA};;{a})", a = account(1105));
        // A conditional deny (callback ACE, type 0x0a) before a grant,
        // and a conditional allow (type 0x09) before a missing right.
        for (extra, status) in [
            (format!("(XD;;CR;;;{}){grant}", account(1107)), Status::Error),
            (format!("(XA;;CR;;;{})", account(1106)), Status::Error),
            // A conditional allow before a grant cannot take it away.
            (format!("(XA;;CR;;;{}){grant}", account(1106)), Status::Pass),
        ] {
            let f = judged(&extra);
            assert_eq!(f.status, status, "{extra}: {f:#?}");
            if status == Status::Error {
                assert!(f.message.contains("conditional"), "{}", f.message);
            }
        }
    }
}

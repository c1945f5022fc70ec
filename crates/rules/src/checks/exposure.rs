use super::domain_acl::domain_acl_or_finding;
use super::effective_rights::{who_can_replicate, Reach, Who};
use crate::context::Context;
use crate::registry::{Need, Rule};
use phs_model::{AccountName, DomainFacts, Finding, Scope, ScopeKind, Status};
use phs_secdesc::{check_replication_rights, replication_deciding_trustees, replication_principals, Sid, Token};

pub const RULE: Rule = Rule {
    code: "PHS014",
    name: "replication-rights-exposure",
    scope: ScopeKind::Domain,
    title: "Only the expected principals can replicate password hashes",
    doc: "\
## What it checks
Every principal that ends up holding both Replicating Directory Changes and
Replicating Directory Changes All on the domain root, by effective rights:
the members of every group whose ACE grants or denies one of the rights are
read from the directory (nested groups, primary-group members, foreign
principals), and each candidate's token is judged the way Windows judges it
(deny before allow, class ACEs, full control). So rights split over two SIDs
count: a broad group (Everyone, Authenticated Users, Domain Users, Domain
Computers, BUILTIN\\Users) holding one right and a group holding the other
exposes every member of that group; two ordinary groups expose their common
members. Other than the domain controllers, SYSTEM, the administrators
(BUILTIN\\Administrators, Domain Admins, Enterprise Admins, and their
members) and the AD DS connector accounts, each one is a warning; every
authenticated user (or computer) is a failure. A group whose members could
not all be read is named, and without any exposure found the result is an
error, never a pass.

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
Each exposed principal (capped, with a count of the rest) with its own ACEs
or the groups the rights come through, and each group that could not be
expanded with the cause.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
        "https://attack.mitre.org/techniques/T1003/006/",
    ],
    needs: &[Need::LiveAd],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    // Every connector account SID known, from any domain: a forest's account
    // may be granted rights in each of its domains.
    let connector_accounts: Vec<Sid> = cx
        .ad_domains()
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
    let in_a_domain = sid.authority() == 5 && sid.sub_authorities().first() == Some(&21);
    // Without the domain SID, the well-known RIDs of any domain count: a
    // missing fact must not turn Domain Admins into an exposure.
    let domain_relative = |rid| match domain {
        Some(d) => d.domain_relative(rid).as_ref() == Some(sid),
        None => in_a_domain && sid.rid() == Some(rid),
    };
    // Enterprise Admins live in the forest root domain, whose SID a child
    // domain's facts do not carry; RID 519 in a domain SID is always them.
    let enterprise_admins = in_a_domain && sid.rid() == Some(519);
    sid == &Sid::ENTERPRISE_DOMAIN_CONTROLLERS
        || sid == &Sid::BUILTIN_ADMINISTRATORS
        || sid == &Sid::LOCAL_SYSTEM
        || enterprise_admins
        || [512, 516, 521, 498].into_iter().any(domain_relative)
        || connector_accounts.contains(sid)
}

/// At most this many principals are named in a message, and this many get
/// an evidence line of their own; the rest are counted.
const NAMED_IN_MESSAGE: usize = 10;
const LISTED: usize = 25;

fn judge(d: &DomainFacts, connector_accounts: &[Sid]) -> Finding {
    let scope = Scope::domain(&d.connector, &d.domain);
    let acl = match domain_acl_or_finding(&RULE, d, &scope) {
        Ok(a) => a,
        Err(f) => return *f,
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
    // The domain SID names Domain Admins & co.; when the root's objectSid was
    // not read, the connector account's domain gives it (same domain only).
    let fallback = acl.ldap.account.as_ref().and_then(|a| a.sid.as_deref()?.parse::<Sid>().ok()?.parent());
    let domain_sid =
        acl.domain_sid.as_ref().or(if acl.ldap.account_token.is_none() { fallback.as_ref() } else { None });
    let account_groups: Vec<String> = acl.ldap.account.as_ref().map(|a| a.token_groups.clone()).unwrap_or_default();
    let holders = replication_principals(dacl);
    let deciding = replication_deciding_trustees(dacl);
    let legitimate = |sid: &Sid| expected(sid, domain_sid, connector_accounts);
    let mut found = who_can_replicate(dacl, &deciding, acl.ldap.rights_trustees.as_ref(), domain_sid, &legitimate);
    // The connector account's own object could not be read: a holder with
    // its name is likely it, but that is a guess, not a verdict.
    let mut unconfirmed: Option<String> = None;
    if acl.ldap.account.is_none() {
        let user = AccountName::parse(&d.account).user().to_ascii_lowercase();
        let is_it = |r: &Reach| match &r.who {
            Who::Principal { sid, name, .. } => {
                let n = name.clone().unwrap_or_else(|| acl.name(sid)).to_ascii_lowercase();
                !user.is_empty() && short(&n).rsplit('\\').next() == Some(user.as_str())
            }
            _ => false,
        };
        if let Some(pos) = found.reach.iter().position(is_it) {
            let r = found.reach.remove(pos);
            unconfirmed = Some(label_of(&acl, &r));
        }
    }
    let name_of = |sid: &Sid, name: Option<&String>| match name {
        Some(n) => format!("{n} ({sid})"),
        None => acl.name(sid),
    };
    let label = |r: &Reach| -> String {
        match &r.who {
            Who::Everyone { computers: false } => "every authenticated user".to_owned(),
            Who::Everyone { computers: true } => format!("every computer account of {}", d.domain),
            Who::MembersOf(g) => format!("every member of {}", short(&acl.name(g))),
            Who::Principal { sid, name, .. } => short(&name_of(sid, name.as_ref())),
        }
    };

    let unknown_names: Vec<String> = found.unknown.iter().map(|(s, _)| short(&acl.name(s))).collect();
    let outcome = match (&unconfirmed, found.reach.is_empty(), found.unknown.is_empty()) {
        (Some(who), true, true) => Exposure::Unconfirmed { who: who.clone() },
        (_, true, false) => Exposure::Undetermined { unread: list(&unknown_names) },
        (_, true, true) => Exposure::OnlyExpected { own_holders: holders.len() },
        (_, false, _) => Exposure::Exposed {
            everyone: found.reach.iter().any(|r| matches!(r.who, Who::Everyone { .. })),
            names: found.reach.iter().map(label).collect(),
            unread: (!found.unknown.is_empty()).then(|| list(&unknown_names)),
        },
    };
    let mut f = RULE.finding(outcome.status(), scope, outcome.message(&d.domain));
    f = f.evidence("Trustees deciding the rights", format!("{} SIDs in the domain root's DACL", deciding.len()));
    for (sid, why) in found.unknown.iter().take(LISTED) {
        f = f.evidence("Could not expand", format!("{}: {why}", acl.name(sid)));
    }
    if found.unknown.len() > LISTED {
        f = f.evidence("Could not expand", format!("... and {} more", found.unknown.len() - LISTED));
    }
    f = acl.naming_evidence(f);
    if let Some(who) = &unconfirmed {
        let why = acl.ldap.account_error.as_deref().unwrap_or("not returned");
        f = f.evidence(
            "Connector account",
            format!("its object could not be read ({why}); {who} holds both rights and has its name, so it is taken to be it"),
        );
    }
    if !matches!(outcome, Exposure::Exposed { .. }) {
        return f.done();
    }
    for r in found.reach.iter().take(LISTED) {
        let sid = match &r.who {
            Who::MembersOf(s) | Who::Principal { sid: s, .. } => Some(*s),
            Who::Everyone { .. } => None,
        };
        let via_account = if sid.is_some_and(|s| account_groups.contains(&s.to_string())) {
            " (the connector account is a member)"
        } else {
            ""
        };
        let own = sid.and_then(|s| holders.iter().find(|h| h.sid == s));
        let how = match (own, r.via.is_empty()) {
            (Some(h), _) if h.get_changes.index == h.get_changes_all.index => {
                format!("own ACE #{} {}", h.get_changes.index, h.get_changes.ace.to_sddl(domain_sid))
            }
            (Some(h), _) => format!(
                "own ACEs #{} {}; #{} {}",
                h.get_changes.index,
                h.get_changes.ace.to_sddl(domain_sid),
                h.get_changes_all.index,
                h.get_changes_all.ace.to_sddl(domain_sid)
            ),
            (None, true) => "the rights are split over broad groups every such principal is in".to_owned(),
            (None, false) => {
                format!("through {}", r.via.iter().map(|g| short(&acl.name(g))).collect::<Vec<_>>().join(" and "))
            }
        };
        let how = match &r.who {
            Who::MembersOf(g) => format!("{how}; {}", current_members(acl.ldap.rights_trustees.as_ref(), g)),
            _ => how,
        };
        let kind = match &r.who {
            Who::Principal { kind, .. } if !kind.is_empty() => format!(" [{kind}]"),
            _ => String::new(),
        };
        f = f.evidence(&format!("{}{kind}{via_account}", label(r)), how);
    }
    if found.reach.len() > LISTED {
        f = f.evidence("More", format!("{} more principals can replicate", found.reach.len() - LISTED));
    }
    // The ACEs to review: those of unexpected trustees that grant a right.
    let granting: Vec<Sid> = deciding
        .iter()
        .filter(|s| !legitimate(s))
        .filter(|s| {
            let token = Token::from_sids([**s]);
            let access = check_replication_rights(Some(dacl), &token);
            access.get_changes.granted || access.get_changes_all.granted
        })
        .copied()
        .collect();
    // Principal names come from the directory: quoted, or left out with a note.
    let mut commands = Vec::new();
    let mut note = None;
    for sid in granting.iter().take(LISTED) {
        let name = short(&acl.name(sid));
        let (c, n) = crate::command::fill_all(
            &[REMOVE_PRINCIPAL],
            &[("<domain root DN>", d.partition_dn.as_str()), ("<principal>", name.as_str())],
        );
        commands.extend(c);
        note = note.or(n);
    }
    f.fix_commands(
        "Review each principal; remove the replication rights of those that do not need them (dsacls /R removes every ACE of that principal on the object, so re-grant what it legitimately needs), and grant password hash sync's rights to the connector account directly. Rights split over two groups add up for everyone in both.",
        (commands, note),
    )
    .done()
}

/// A principal as named in PHS014's message.
fn label_of(acl: &super::domain_acl::DomainAcl, r: &Reach) -> String {
    match &r.who {
        Who::Principal { sid, name: Some(n), .. } => short(&format!("{n} ({sid})")),
        Who::Principal { sid, name: None, .. } | Who::MembersOf(sid) => short(&acl.name(sid)),
        Who::Everyone { .. } => "every authenticated user".to_owned(),
    }
}

/// A group's members as read, the first few by name.
fn current_members(facts: Option<&phs_model::RightsTrustees>, group: &Sid) -> String {
    let text = group.to_string();
    let Some(t) = facts.and_then(|f| f.trustees.iter().find(|t| t.sid == text)) else {
        return "its members were not read".to_owned();
    };
    if t.members.is_empty() {
        return if t.members_complete {
            "no current member".to_owned()
        } else {
            "its members were not read".to_owned()
        };
    }
    let names: Vec<String> =
        t.members.iter().take(NAMED_IN_MESSAGE).map(|m| m.name.clone().unwrap_or_else(|| m.sid.clone())).collect();
    let rest = t.members.len().saturating_sub(NAMED_IN_MESSAGE);
    let rest = if rest > 0 { format!(" and {rest} more") } else { String::new() };
    let partial = if t.members_complete { "" } else { " (not all could be read)" };
    format!("current members{partial}: {}{rest}", names.join(", "))
}

/// `a, b and c`.
fn list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What PHS014 decides for a domain whose deciding trustees were read,
/// before [`Exposure::message`] puts it in words.
enum Exposure {
    /// Only one principal besides the expected ones holds both rights, and
    /// it has the connector account's name, but that account's object could
    /// not be read to confirm it.
    Unconfirmed { who: String },
    /// Nobody unexpected found, but some groups' members (`unread`) could not be read.
    Undetermined { unread: String },
    /// Only the expected principals; `own_holders` hold both rights by their own ACEs.
    OnlyExpected { own_holders: usize },
    /// Unexpected principals can replicate; `everyone` when a broad group
    /// (every user or computer) can; `unread` groups may hide more.
    Exposed { everyone: bool, names: Vec<String>, unread: Option<String> },
}

impl Exposure {
    fn status(&self) -> Status {
        match self {
            Exposure::Unconfirmed { .. } | Exposure::Undetermined { .. } => Status::Error,
            Exposure::OnlyExpected { .. } => Status::Pass,
            Exposure::Exposed { everyone: true, .. } => Status::Fail,
            Exposure::Exposed { everyone: false, .. } => Status::Warn,
        }
    }

    fn message(&self, domain: &str) -> String {
        match self {
            Exposure::Unconfirmed { who } => format!(
                "Besides the domain controllers and Administrators, only {who} can replicate password hashes from {domain}, and it has the connector account's name; but the connector account's object could not be read (see PHS006), so that it is the connector account is not confirmed."
            ),
            Exposure::Undetermined { unread } => format!(
                "Who can replicate password hashes from {domain} could not be fully determined: the members of {unread} could not be read, and one of their members may hold both rights (see the evidence for each cause)."
            ),
            Exposure::OnlyExpected { own_holders } => format!(
                "Only domain controllers, Administrators and the connector account can replicate password hashes from {domain} ({own_holders} principals hold both rights through their own ACEs; every deciding group's members were checked)."
            ),
            Exposure::Exposed { names, unread, .. } => {
                let shown: Vec<&str> = names.iter().take(NAMED_IN_MESSAGE).map(String::as_str).collect();
                let more = names.len().saturating_sub(NAMED_IN_MESSAGE);
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                let incomplete = unread
                    .as_ref()
                    .map(|u| format!(" The members of {u} could not be read, so there may be more."))
                    .unwrap_or_default();
                format!(
                    "{} principal(s) besides the domain controllers, Administrators and the connector account can replicate every password hash of {domain} (DCSync): {}{more}.{incomplete}",
                    names.len(),
                    shown.join(", ")
                )
            }
        }
    }
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

    fn g(rid: u32) -> String {
        format!("{DOMAIN_SID}-{rid}")
    }

    #[test]
    fn rights_split_over_two_groups_reach_their_common_members_only() {
        // Backup Team {eve, frank} has Get-Changes, Migration Tool {eve,
        // MIGR01$} Get-Changes-All: only eve is in both.
        for aces in [
            format!("(OA;;CR;{GC};;{})(OA;;CR;{GCA};;{})", g(1300), g(1310)),
            format!("(OA;;CR;{GCA};;{})(OA;;CR;{GC};;{})", g(1310), g(1300)),
            // An inherited object type plays no part on the object itself.
            format!("(OA;;CR;{GC};bf967aba-0de6-11d0-a285-00aa003049e2;{})(OA;;CR;{GCA};;{})", g(1300), g(1310)),
        ] {
            let f = judged(&aces);
            assert_eq!(f.status, Status::Warn, "{aces}: {f:#?}");
            assert!(f.message.starts_with("1 principal(s)") && f.message.contains("FABRIKAM\\eve"), "{}", f.message);
            assert!(!f.message.contains("frank") && !f.message.contains("MIGR01$"), "{}", f.message);
            let eve = f.evidence.iter().find(|e| e.label.contains("eve")).expect("eve's evidence");
            assert!(eve.value.contains("Backup Team") && eve.value.contains("Migration Tool"), "{}", eve.value);
        }
        // Each group alone with one right: nobody.
        let f = judged(&format!("(OA;;CR;{GC};;{})(OA;;CR;{GCA};;{})", g(1300), g(1300) + "0"));
        assert_ne!(f.status, Status::Warn, "{f:#?}");
    }

    #[test]
    fn nesting_counts_and_members_of_a_group_are_named_once() {
        // Migration Admins holds Get-Changes and nests Migration Tool, which
        // holds Get-Changes-All: every member of Migration Tool gets both.
        let f = judged(&format!("(OA;;CR;{GC};;{})(OA;;CR;{GCA};;{})", g(1311), g(1310)));
        assert_eq!(f.status, Status::Warn, "{f:#?}");
        assert!(f.message.contains("every member of FABRIKAM\\Migration Tool"), "{}", f.message);
        assert!(!f.message.contains("mallory"), "only in the outer group: {}", f.message);
        let e = f.evidence.iter().find(|e| e.label.contains("Migration Tool")).expect("evidence");
        assert!(e.value.contains("eve") && e.value.contains("MIGR01$"), "{}", e.value);
    }

    #[test]
    fn a_broad_group_with_one_right_exposes_every_member_of_the_other() {
        // Authenticated Users + a group: every member of the group.
        let f = judged(&format!("(OA;;CR;{GC};;AU)(OA;;CR;{GCA};;{})", g(1310)));
        assert_eq!(f.status, Status::Warn, "{f:#?}");
        assert!(f.message.contains("every member of FABRIKAM\\Migration Tool"), "{}", f.message);
        // Domain Users + a group: its users, not its computers (Domain Users
        // is a user's primary group, not a computer's).
        let f = judged(&format!("(OA;;CR;{GC};;DU)(OA;;CR;{GCA};;{})", g(1310)));
        assert_eq!(f.status, Status::Warn, "{f:#?}");
        assert!(f.message.contains("FABRIKAM\\eve") && !f.message.contains("MIGR01$"), "{}", f.message);
        // Domain Computers + a group: its computers.
        let f = judged(&format!("(OA;;CR;{GC};;DC)(OA;;CR;{GCA};;{})", g(1310)));
        assert!(f.message.contains("MIGR01$") && !f.message.contains("FABRIKAM\\eve"), "{}", f.message);
        // BUILTIN\Users holds Authenticated Users: as broad as it.
        let f = judged(&format!("(OA;;CR;{GCA};;BU)(OA;;CR;{GC};;{})", g(1300)));
        assert!(f.message.contains("every member of FABRIKAM\\Backup Team"), "{}", f.message);
    }

    #[test]
    fn two_broad_groups_expose_everyone_and_fail() {
        for aces in [
            format!("(OA;;CR;{GC};;WD)(OA;;CR;{GCA};;DU)"),
            format!("(OA;;CR;{GC};;AU)(OA;;CR;{GCA};;BU)"),
            "(A;;CR;;;DU)".to_string(),
        ] {
            let f = judged(&aces);
            assert_eq!(f.status, Status::Fail, "{aces}: {f:#?}");
            assert!(f.message.contains("every authenticated user"), "{}", f.message);
        }
        let f = judged(&format!("(OA;;CR;{GC};;WD)(OA;;CR;{GCA};;DC)"));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("every computer account"), "{}", f.message);
    }

    #[test]
    fn a_deny_on_one_group_removes_its_members() {
        let f = judged(&format!("(OD;;CR;{GCA};;{})(OA;;CR;{GC};;{b})(OA;;CR;{GCA};;{b})", g(1310), b = g(1300)));
        assert_eq!(f.status, Status::Warn, "{f:#?}");
        // The group itself still hands both rights to whoever joins it.
        assert!(f.message.contains("every member of FABRIKAM\\Backup Team"), "{}", f.message);
        // A deny on the broad group takes them away from everyone.
        let f = judged(&format!("(OD;;CR;{GCA};;AU)(OA;;CR;{GC};;{b})(OA;;CR;{GCA};;{b})", b = g(1300)));
        assert_eq!(f.status, Status::Pass, "{f:#?}");
    }

    #[test]
    fn members_that_could_not_be_read_are_an_error_not_a_pass() {
        // Get-Changes to a group too big to read whole, Get-Changes-All to
        // another: its unread members may be in both.
        let f = judged(&format!("(OA;;CR;{GC};;{})(OA;;CR;{GCA};;{})", g(1320), g(1300)));
        assert_eq!(f.status, Status::Error, "{f:#?}");
        assert!(f.message.contains("All Contractors"), "{}", f.message);
        assert!(f.evidence.iter().any(|e| e.label == "Could not expand" && e.value.contains("stopped after 5000")));
        // Without any membership facts (an older snapshot): an error too.
        let mut d = domain_with_acl(&format!("(OA;;CR;{GC};;{})", g(1300)));
        d.ldap.as_mut().unwrap().rights_trustees = None;
        let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
        assert_eq!(f.status, Status::Error, "{f:#?}");
        // A trustee whose lookup failed.
        let mut d = domain_with_acl(&format!("(OA;;CR;{GC};;{})", g(1300)));
        for t in &mut d.ldap.as_mut().unwrap().rights_trustees.as_mut().unwrap().trustees {
            if t.sid == g(1300) {
                *t = phs_model::TrusteeFacts {
                    sid: g(1300),
                    kind: "not-read".into(),
                    error: Some("looking up ...: rc 3 (timeLimitExceeded)".into()),
                    ..Default::default()
                };
            }
        }
        let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
        assert_eq!(f.status, Status::Error, "{f:#?}");
        assert!(f.evidence.iter().any(|e| e.value.contains("timeLimitExceeded")));
        // An exposure found besides an unreadable group: a warning that says so.
        let f = judged(&format!("(OA;;CR;{GC};;{})(OA;;CR;{GC};;{})(OA;;CR;{GCA};;{})", g(1320), g(1300), g(1310)));
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("FABRIKAM\\eve") && f.message.contains("could not be read"), "{}", f.message);
    }

    #[test]
    fn a_principal_of_another_domain_is_said_to_be_unexpandable() {
        let other = "S-1-5-21-111-222-333-1108";
        let f = judged(&format!("(OA;;CR;{GC};;{other})"));
        assert_eq!(f.status, Status::Error, "{f:#?}");
        assert!(f.evidence.iter().any(|e| e.value.contains("another domain")), "{f:#?}");
    }

    #[test]
    fn fifteen_hundred_exposed_members_are_counted_not_listed() {
        let f = judged(&format!("(OA;;CR;{GC};;AU)(OA;;CR;{GCA};;{})", g(1330)));
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("every member of FABRIKAM\\Interns"), "{}", f.message);
        let e = f.evidence.iter().find(|e| e.label.contains("Interns")).expect("evidence");
        assert!(e.value.contains("intern0000") && e.value.contains("and 1490 more"), "{}", e.value);
        assert!(f.evidence.len() < 40, "{} evidence lines", f.evidence.len());
        // Split over Interns and Domain Users: each user named, capped.
        let f = judged(&format!("(OA;;CR;{GC};;DU)(OA;;CR;{GCA};;{})", g(1330)));
        assert!(f.message.starts_with("1500 principal(s)") && f.message.contains("and 1490 more"), "{}", f.message);
        assert!(f.evidence.len() < 40, "{} evidence lines", f.evidence.len());
        assert!(f.message.len() < 1500, "{}", f.message.len());
    }

    #[test]
    fn an_unreadable_connector_account_is_not_confirmed_by_name() {
        let aces = format!("(OA;;CR;{GC};;{a})(OA;;CR;{GCA};;{a})", a = g(1105));
        let unread = |extra: &str| {
            let mut d = domain_with_acl(&format!("{aces}{extra}"));
            let l = d.ldap.as_mut().unwrap();
            l.account = None;
            l.account_error = Some("account search (sAMAccountName=MSOL_4f2a9c1b7e30): timed out after 10 s".into());
            run(&snapshot_with_ad(vec![d]), check).remove(0)
        };
        let f = unread("");
        assert_eq!(f.status, Status::Error, "{f:#?}");
        assert!(f.message.contains("MSOL_4f2a9c1b7e30") && f.message.contains("not confirmed"), "{}", f.message);
        assert!(f.evidence.iter().any(|e| e.label == "Connector account" && e.value.contains("timed out")));
        // Another holder still warns, and the look-alike is not called an exposure.
        let f = unread(&format!("(OA;;CR;{GC};;{o})(OA;;CR;{GCA};;{o})", o = g(1200)));
        assert_eq!(f.status, Status::Warn, "{f:#?}");
        assert!(f.message.contains("old-sync") && !f.message.contains("MSOL"), "{}", f.message);
        // Read fine: the account is expected by SID, a plain pass.
        assert_eq!(judged(&aces).status, Status::Pass);
    }

    #[test]
    fn a_missing_domain_sid_does_not_make_domain_admins_an_exposure() {
        for account_readable in [true, false] {
            let mut d = domain_with_acl("");
            let l = d.ldap.as_mut().unwrap();
            l.domain_sid = None;
            if !account_readable {
                l.account = None;
                l.account_error = Some("timed out".into());
            }
            let f = run(&snapshot_with_ad(vec![d]), check).remove(0);
            assert_eq!(f.status, Status::Pass, "{f:#?}");
        }
    }
}

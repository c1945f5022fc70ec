use super::requires;
use super::rule_scope;
use super::view::{dn_is_under, normal_dn, UserView};
use crate::context::Context;
use crate::registry::{Need, Rule};
use phs_model::{AdUser, Connector, Finding, Partition, ScopeKind, ServerConfig, Status, SyncRule};

pub const RULE: Rule = Rule {
    code: "PHS019",
    name: "user-in-sync-scope",
    scope: ScopeKind::User,
    title: "The user is in the sync scope of an AD connector",
    doc: "\
## What it checks
The configuration export's filters against the user's AD object, in the
order Entra Connect applies them:
1. **Domain**: the user's domain is a partition of an AD connector, and the
   partition is selected.
2. **Organizational unit**: the nearest container of the user that the
   partition lists decides: an inclusion keeps the user, an exclusion drops
   them; with inclusions listed, a user under none is out.
3. **Object class**: the partition's object-class filter, when it has one,
   lists the user's class (`user`, or `inetOrgPerson`).
4. **Sync rule scope**: the standard inbound rules leave out objects whose
   adminDescription starts with `User_` (objects written back from the cloud);
   the finding names the filter.

## Why it matters
A user outside the scope has no connector space object: nothing about them
is synced, their password included. Microsoft's troubleshooter then says the
object is out of scope without saying which filter; this check names it.

## How to fix
Change the filter in the Entra Connect wizard (Customize synchronization
options > Domain and OU filtering), or move the user, then let a full import
and sync run.

## Evidence
The user's DN and classes, the partition, and the inclusion or exclusion
that decided.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-configure-filtering",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-objectsync",
    ],
    needs: &[Need::ServerConfig],
    check,
};

/// What PHS019 decides: the first filter that drops the user, or none.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict<'a> {
    NoConnector,
    NotSelected {
        connector: &'a Connector,
        partition: &'a Partition,
    },
    Excluded {
        by: &'a str,
    },
    NotIncluded {
        inclusions: &'a [String],
    },
    ClassFiltered {
        class: &'a str,
        allowed: &'a [String],
    },
    /// Group-based filtering is on and the user is not a direct member.
    GroupFiltered {
        group: &'a str,
    },
    /// No provisioning rule of the connector for the user's class has the
    /// user in scope: the first rule and the condition that fails.
    RuleScope {
        rule: &'a str,
        condition: String,
    },
    WrittenBack {
        value: &'a str,
    },
    InScope {
        connector: &'a Connector,
        partition: &'a Partition,
        included_by: Option<&'a str>,
        /// Scoping conditions that could not be judged (on attributes not
        /// read) while no provisioning rule was seen to hold: the pass
        /// holds only as far as the attributes read tell.
        unjudged: Vec<String>,
    },
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let user = match requires::ad_user(&v) {
        Ok(u) => u,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    let verdict = decide(cx.snapshot.server.config.as_ref(), v.connector, v.partition, user);
    vec![words(&v, user, &verdict)]
}

/// The first filter of `connector`'s `partition` (the user's home, see
/// [`super::view::home`]) that drops `u`, or none.
pub(crate) fn decide<'a>(
    cfg: Option<&'a ServerConfig>,
    connector: Option<&'a Connector>,
    partition: Option<&'a Partition>,
    u: &'a AdUser,
) -> Verdict<'a> {
    let (Some(connector), Some(partition)) = (connector, partition) else { return Verdict::NoConnector };
    if !partition.selected {
        return Verdict::NotSelected { connector, partition };
    }
    // The nearest listed container decides (the longest DN the user is under).
    let nearest = |list: &'a [String]| list.iter().filter(|c| dn_is_under(&u.dn, c)).max_by_key(|c| normal_dn(c).len());
    let inc = nearest(&partition.inclusions);
    let exc = nearest(&partition.exclusions);
    let included_by = match (inc, exc) {
        (_, Some(e)) if inc.is_none_or(|i| normal_dn(e).len() > normal_dn(i).len()) => {
            return Verdict::Excluded { by: e };
        }
        (None, _) if !partition.inclusions.is_empty() => {
            return Verdict::NotIncluded { inclusions: &partition.inclusions };
        }
        (i, _) => i.map(String::as_str),
    };
    let allowed = &partition.object_classes;
    if !allowed.is_empty() {
        let class = structural_class(u);
        if !allowed.iter().any(|c| c.eq_ignore_ascii_case(class)) {
            return Verdict::ClassFiltered { class, allowed };
        }
    }
    let class = structural_class(u);
    if let Some(cfg) = cfg {
        // Group-based filtering takes direct members only (Microsoft documents
        // that nested groups are not resolved).
        if let Some(group) = connector.ad.as_ref().and_then(|ad| cfg.group_filter(ad)) {
            if !u.member_of.iter().any(|g| normal_dn(g) == normal_dn(group)) {
                return Verdict::GroupFiltered { group };
            }
        }
        let provisioning: Vec<&SyncRule> = cfg
            .sync_rules
            .iter()
            .filter(|r| {
                r.direction.eq_ignore_ascii_case("Inbound")
                    && !r.disabled
                    && r.connector.as_ref() == Some(&connector.id)
                    && r.link_type.as_deref().is_some_and(|l| l.eq_ignore_ascii_case("Provision"))
                    && r.source_object_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(class))
            })
            .collect();
        if !provisioning.is_empty() {
            let verdicts: Vec<Option<bool>> = provisioning.iter().map(|r| rule_scope::in_scope(&r.scope, u)).collect();
            if verdicts.iter().all(|v| *v == Some(false)) {
                let rule = provisioning[0];
                let condition = rule_scope::failing(&rule.scope, u).map_or_else(String::new, |c| {
                    format!("{} {} {}", c.attribute, c.operator, c.value).trim().to_owned()
                });
                return Verdict::RuleScope { rule: &rule.name, condition };
            }
            let unjudged = if verdicts.contains(&Some(true)) {
                Vec::new()
            } else {
                provisioning.iter().flat_map(|r| rule_scope::unjudged(&r.scope, u)).collect()
            };
            return Verdict::InScope { connector, partition, included_by, unjudged };
        }
    }
    // No provisioning rule in the export to judge by: the standard rules'
    // best-known filter (objects written back from the cloud).
    if let Some(value) =
        u.admin_description.as_deref().filter(|d| d.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("User_")))
    {
        return Verdict::WrittenBack { value };
    }
    Verdict::InScope { connector, partition, included_by, unjudged: Vec::new() }
}

impl Verdict<'_> {
    /// The filter that drops the user, in a few words (the audit's reason);
    /// None when the user is in scope.
    pub(crate) fn dropped_by(&self) -> Option<String> {
        Some(match self {
            Verdict::NoConnector => "domain filtering: no AD connector reads the user's domain".to_owned(),
            Verdict::NotSelected { partition, .. } => {
                format!("domain filtering: partition {} not selected", partition.domain_name())
            }
            Verdict::Excluded { by } => format!("OU filtering: under excluded {by}"),
            Verdict::NotIncluded { .. } => "OU filtering: under no included container".to_owned(),
            Verdict::ClassFiltered { class, .. } => format!("object-class filtering: {class} not imported"),
            Verdict::GroupFiltered { group } => format!("group filtering: not a direct member of {group}"),
            Verdict::RuleScope { rule, condition } => format!("sync rule scope: {rule} ({condition})"),
            Verdict::WrittenBack { .. } => "sync rule scope: adminDescription starts with User_".to_owned(),
            Verdict::InScope { .. } => return None,
        })
    }
}

/// The most specific class the user has of those Connect syncs as users.
fn structural_class(u: &AdUser) -> &str {
    if u.has_class("inetOrgPerson") {
        "inetOrgPerson"
    } else {
        "user"
    }
}

fn words(v: &UserView, u: &AdUser, verdict: &Verdict) -> Finding {
    let who = &v.query.text;
    let (status, message, fix) = match verdict {
        Verdict::NoConnector => (
            Status::Fail,
            format!("{who} is in {}, which no AD connector of the export reads: out of scope (domain filtering).", u.domain),
            "Add the domain to the connector (Entra Connect wizard > Customize synchronization options > Domain and OU filtering), or check that this is the right sync server's export.",
        ),
        Verdict::NotSelected { connector, partition } => (
            Status::Fail,
            format!(
                "{who} is in {}, a partition of {} that is not selected: out of scope (domain filtering).",
                partition.domain_name(),
                connector.name
            ),
            "Select the domain in the Entra Connect wizard (Domain and OU filtering), then let a full import and sync run.",
        ),
        Verdict::Excluded { by } => (
            Status::Fail,
            format!("{who} is under {by}, which the connector excludes: out of scope (OU filtering)."),
            "Include the user's OU in the Entra Connect wizard (Domain and OU filtering), or move the user into an included OU; then let a full import and sync run.",
        ),
        Verdict::NotIncluded { inclusions } => (
            Status::Fail,
            format!(
                "{who} is under none of the containers the connector includes ({}): out of scope (OU filtering).",
                inclusions.join("; ")
            ),
            "Include the user's OU in the Entra Connect wizard (Domain and OU filtering), or move the user into an included OU; then let a full import and sync run.",
        ),
        Verdict::ClassFiltered { class, allowed } => (
            Status::Fail,
            format!(
                "{who} is an {class} object, and the partition's object-class filter ({}) leaves it out.",
                allowed.join(", ")
            ),
            "Add the object class to the connector's object types (Synchronization Service Manager > Connectors > Properties > Select object types), then a full import.",
        ),
        Verdict::GroupFiltered { group } => (
            Status::Fail,
            format!(
                "{who} is not a direct member of {group}, the group that group-based filtering syncs: out of scope \
                 (nested membership does not count)."
            ),
            "Add the user to the filtering group directly, or turn group-based filtering off in the Entra Connect wizard (it is meant for pilots).",
        ),
        Verdict::RuleScope { rule, condition } => (
            Status::Fail,
            format!(
                "No inbound provisioning rule has {who} in scope: the scoping filter of {rule:?} leaves the user out{}.",
                if condition.is_empty() { String::new() } else { format!(" ({condition})") }
            ),
            "Change the attribute the condition tests, or the rule's scoping filter (Synchronization Rules Editor; on a copy of a standard rule), then run a full synchronization.",
        ),
        Verdict::WrittenBack { value } => (
            Status::Fail,
            format!(
                "{who} has adminDescription {value:?}: the standard inbound rules leave out objects whose \
                 adminDescription starts with User_ (objects written back from the cloud)."
            ),
            "Clear adminDescription if the user is an on-premises user that should sync.",
        ),
        Verdict::InScope { connector, partition, included_by, unjudged } => (
            Status::Pass,
            format!(
                "{who} is in the scope of {} ({}{}){}.",
                connector.name,
                partition.domain_name(),
                included_by.map_or(String::new(), |c| format!(", included by {c}")),
                if unjudged.is_empty() {
                    String::new()
                } else {
                    "; the provisioning rules' scoping filter also tests attributes phs-doctor does not read \
                     (listed): the user's own values decide those"
                        .to_owned()
                }
            ),
            "",
        ),
    };
    let mut f = RULE.finding(status, v.scope(), message).evidence("DN", u.dn.clone());
    if let Some(p) = v.partition {
        f = f.evidence("Partition", p.dn.clone());
        for c in &p.inclusions {
            f = f.evidence("Inclusion", c.clone());
        }
        for c in &p.exclusions {
            f = f.evidence("Exclusion", c.clone());
        }
    }
    f = f.evidence("objectClass", u.object_classes.join(", "));
    if let Verdict::InScope { unjudged, .. } = verdict {
        for c in unjudged {
            f = f.evidence("Not judged", c.clone());
        }
    }
    if fix.is_empty() {
        f.done()
    } else {
        f.fix(fix, &[]).done()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use phs_model::Snapshot;

    fn partition_of(s: &mut Snapshot) -> &mut Partition {
        let cfg = s.server.config.as_mut().unwrap();
        cfg.connectors[0].ad.as_mut().unwrap().partitions.iter_mut().find(|p| p.dn == "DC=fabrikam,DC=com").unwrap()
    }

    fn with(change: impl FnOnce(&mut Snapshot)) -> Finding {
        judge_changed(change, check)
    }

    #[test]
    fn in_scope_passes_and_names_the_inclusion() {
        assert_eq!(with(|_| {}).status, Status::Pass);
        let f = with(|s| {
            let p = partition_of(s);
            p.inclusions = vec!["OU=Staff,DC=fabrikam,DC=com".into()];
            p.exclusions = vec!["DC=fabrikam,DC=com".into()];
        });
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.message.contains("included by OU=Staff"), "{}", f.message);
    }

    #[test]
    fn each_filter_is_named() {
        let f = with(|s| partition_of(s).selected = false);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("not selected"));
        let f = with(|s| partition_of(s).exclusions = vec!["ou=staff, dc=fabrikam,dc=com".into()]);
        assert!(f.message.contains("excludes"), "{}", f.message);
        let f = with(|s| partition_of(s).inclusions = vec!["OU=Sales,DC=fabrikam,DC=com".into()]);
        assert!(f.message.contains("none of the containers"), "{}", f.message);
        let f = with(|s| {
            partition_of(s).object_classes = vec!["user".into(), "contact".into()];
            let u = &mut s.user.as_mut().unwrap().ad.as_mut().unwrap().found[0];
            u.object_classes.push("inetOrgPerson".into());
        });
        assert!(f.message.contains("inetOrgPerson"), "{}", f.message);
        let f = with(|s| {
            s.user.as_mut().unwrap().ad.as_mut().unwrap().found[0].admin_description = Some("User_ann".into())
        });
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("User_"));
        let f = with(|s| {
            s.server.config.as_mut().unwrap().connectors.remove(0);
        });
        assert!(f.message.contains("no AD connector"), "{}", f.message);
    }

    /// An exclusion of an OU inside an included OU wins, and an inclusion
    /// inside an excluded OU wins: the nearest listed container decides.
    #[test]
    fn the_nearest_listed_container_decides() {
        let f = with(|s| {
            let p = partition_of(s);
            p.inclusions = vec!["DC=fabrikam,DC=com".into()];
            p.exclusions = vec!["OU=Staff,DC=fabrikam,DC=com".into()];
        });
        assert_eq!(f.status, Status::Fail);
        let f = with(|s| {
            let p = partition_of(s);
            p.inclusions = vec!["OU=Staff,DC=fabrikam,DC=com".into()];
            p.exclusions = vec!["DC=fabrikam,DC=com".into()];
        });
        assert_eq!(f.status, Status::Pass);
    }

    fn provisioning_rule(s: &mut Snapshot, scope: Vec<phs_model::export::ScopeGroup>) {
        let cfg = s.server.config.as_mut().unwrap();
        let fabrikam = cfg.connectors[0].id.clone();
        cfg.sync_rules.push(SyncRule {
            name: "In from AD - User Join".into(),
            direction: "Inbound".into(),
            connector: Some(fabrikam),
            link_type: Some("Provision".into()),
            source_object_type: Some("user".into()),
            scope,
            ..SyncRule::default()
        });
    }

    fn standard_scope() -> Vec<phs_model::export::ScopeGroup> {
        let c = |a: &str, o: &str, v: &str| phs_model::export::ScopeCondition {
            attribute: a.into(),
            operator: o.into(),
            value: v.into(),
        };
        vec![phs_model::export::ScopeGroup {
            conditions: vec![
                c("adminDescription", "NOTSTARTSWITH", "User_"),
                c("sAMAccountName", "NOTEQUAL", "krbtgt"),
            ],
        }]
    }

    /// The export's own provisioning rules decide the scope, and name the
    /// condition that fails.
    #[test]
    fn the_provisioning_rules_scope_decides() {
        let f = with(|s| provisioning_rule(s, standard_scope()));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        let f = with(|s| {
            provisioning_rule(s, standard_scope());
            s.user.as_mut().unwrap().ad.as_mut().unwrap().found[0].admin_description = Some("User_ann".into());
        });
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("In from AD - User Join") && f.message.contains("adminDescription NOTSTARTSWITH User_"),
            "{}",
            f.message
        );
        // A condition on an attribute not read decides nothing: in scope as far as can be told.
        let unknown = vec![phs_model::export::ScopeGroup {
            conditions: vec![phs_model::export::ScopeCondition {
                attribute: "isCriticalSystemObject".into(),
                operator: "NOTEQUAL".into(),
                value: "TRUE".into(),
            }],
        }];
        let f = with(|s| provisioning_rule(s, unknown));
        assert_eq!(f.status, Status::Pass);
        // ... and says which conditions it could not judge.
        assert!(
            f.evidence.iter().any(|e| e.label == "Not judged" && e.value.starts_with("isCriticalSystemObject")),
            "{f:?}"
        );
    }

    #[test]
    fn group_filtering_takes_direct_members_only() {
        let group = "CN=PHS Pilot,OU=Groups,DC=fabrikam,DC=com";
        let on = |s: &mut Snapshot| {
            let cfg = s.server.config.as_mut().unwrap();
            cfg.global_parameters.insert("Microsoft.OptionalFeature.GroupFiltering".into(), "True".into());
            cfg.connectors[0].ad.as_mut().unwrap().group_filter_dn = Some(group.into());
        };
        let f = with(on);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("PHS Pilot") && f.message.contains("direct member"), "{}", f.message);
        let f = with(|s| {
            on(s);
            s.user.as_mut().unwrap().ad.as_mut().unwrap().found[0].member_of = vec![group.to_lowercase()];
        });
        assert_eq!(f.status, Status::Pass, "{f:?}");
    }

    #[test]
    fn skipped_without_the_export_or_the_user() {
        let f = with(|s| s.server.config = None);
        assert_eq!(f.status, Status::Skipped);
        let mut s = healthy();
        s.user.as_mut().unwrap().ad = None;
        assert_eq!(judge(&s, check).status, Status::Skipped);
    }
}

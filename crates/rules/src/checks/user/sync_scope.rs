use super::requires;
use super::view::{dn_is_under, normal_dn, UserView};
use crate::context::Context;
use crate::registry::{Need, Rule};
use phs_model::{AdUser, Connector, Finding, Partition, ScopeKind, Status};

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
    NotSelected { connector: &'a Connector, partition: &'a Partition },
    Excluded { by: &'a str },
    NotIncluded { inclusions: &'a [String] },
    ClassFiltered { class: &'a str, allowed: &'a [String] },
    WrittenBack { value: &'a str },
    InScope { connector: &'a Connector, partition: &'a Partition, included_by: Option<&'a str> },
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let user = match requires::ad_user(&v) {
        Ok(u) => u,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    let verdict = decide(v.connector, v.partition, user);
    vec![words(&v, user, &verdict)]
}

/// The first filter of `connector`'s `partition` (the user's home, see
/// [`super::view::home`]) that drops `u`, or none.
pub(crate) fn decide<'a>(
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
    if let Some(value) =
        u.admin_description.as_deref().filter(|d| d.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("User_")))
    {
        return Verdict::WrittenBack { value };
    }
    Verdict::InScope { connector, partition, included_by }
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
        Verdict::WrittenBack { value } => (
            Status::Fail,
            format!(
                "{who} has adminDescription {value:?}: the standard inbound rules leave out objects whose \
                 adminDescription starts with User_ (objects written back from the cloud)."
            ),
            "Clear adminDescription if the user is an on-premises user that should sync.",
        ),
        Verdict::InScope { connector, partition, included_by } => (
            Status::Pass,
            format!(
                "{who} is in the scope of {} ({}{}).",
                connector.name,
                partition.domain_name(),
                included_by.map_or(String::new(), |c| format!(", included by {c}"))
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

    #[test]
    fn skipped_without_the_export_or_the_user() {
        let f = with(|s| s.server.config = None);
        assert_eq!(f.status, Status::Skipped);
        let mut s = healthy();
        s.user.as_mut().unwrap().ad = None;
        assert_eq!(judge(&s, check).status, Status::Skipped);
    }
}

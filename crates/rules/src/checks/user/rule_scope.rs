//! A sync rule's scoping filter (`synchronizationCriteria`) against one AD
//! user: a rule applies when every condition of at least one of its groups
//! holds. Only the attributes phs-doctor reads are judged; a condition on
//! any other attribute is "cannot tell", never a guess.

use super::view::normal_dn;
use phs_model::export::{ScopeCondition, ScopeGroup};
use phs_model::AdUser;

/// Whether `u` is in a rule's scope; None when a condition that decides it
/// names an attribute that was not read.
pub(crate) fn in_scope(groups: &[ScopeGroup], u: &AdUser) -> Option<bool> {
    if groups.is_empty() {
        return Some(true);
    }
    let mut unknown = false;
    for g in groups {
        match group_holds(g, u) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    (!unknown).then_some(false)
}

/// The first condition of `groups` that fails for `u` (for the finding), when
/// the rule does not apply.
pub(crate) fn failing<'a>(groups: &'a [ScopeGroup], u: &AdUser) -> Option<&'a ScopeCondition> {
    groups.iter().flat_map(|g| &g.conditions).find(|c| holds(c, u) == Some(false))
}

/// The conditions of `groups` that cannot be judged for `u`, as
/// `attribute OPERATOR value`.
pub(crate) fn unjudged(groups: &[ScopeGroup], u: &AdUser) -> Vec<String> {
    groups
        .iter()
        .flat_map(|g| &g.conditions)
        .filter(|c| holds(c, u).is_none())
        .map(|c| format!("{} {} {}", c.attribute, c.operator, c.value).trim().to_owned())
        .collect()
}

fn group_holds(g: &ScopeGroup, u: &AdUser) -> Option<bool> {
    let mut unknown = false;
    for c in &g.conditions {
        match holds(c, u) {
            Some(false) => return Some(false),
            Some(true) => {}
            None => unknown = true,
        }
    }
    (!unknown).then_some(true)
}

/// The user's values of an attribute the lookup reads; None for any other.
fn values(u: &AdUser, attribute: &str) -> Option<Vec<String>> {
    let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    Some(match attribute.to_ascii_lowercase().as_str() {
        "admindescription" => one(&u.admin_description),
        "samaccountname" => one(&u.sam_account_name),
        "userprincipalname" => one(&u.user_principal_name),
        "distinguishedname" => vec![u.dn.clone()],
        "objectclass" => u.object_classes.clone(),
        "useraccountcontrol" => u.user_account_control.map(|v| v.to_string()).into_iter().collect(),
        "memberof" => u.member_of.clone(),
        _ => return None,
    })
}

/// One condition. Text comparisons ignore case, as the sync engine's do.
fn holds(c: &ScopeCondition, u: &AdUser) -> Option<bool> {
    let op = c.operator.to_ascii_uppercase();
    let vals = match op.as_str() {
        // Membership is read only when group filtering is on; without it, unknown.
        "ISMEMBEROF" | "ISNOTMEMBEROF" if u.member_of.is_empty() => return None,
        _ => values(u, &c.attribute)?,
    };
    let want = c.value.to_lowercase();
    let lower: Vec<String> = vals.iter().map(|v| v.to_lowercase()).collect();
    let any = |f: &dyn Fn(&str) -> bool| lower.iter().any(|v| f(v));
    let bits = || -> Option<(u64, u64)> { Some((vals.first()?.trim().parse().ok()?, c.value.trim().parse().ok()?)) };
    Some(match op.as_str() {
        "EQUAL" => any(&|v| v == want),
        "NOTEQUAL" => !any(&|v| v == want),
        "STARTSWITH" => any(&|v| v.starts_with(&want)),
        "NOTSTARTSWITH" => !any(&|v| v.starts_with(&want)),
        "ENDSWITH" => any(&|v| v.ends_with(&want)),
        "NOTENDSWITH" => !any(&|v| v.ends_with(&want)),
        "CONTAINS" => any(&|v| v.contains(&want)),
        "NOTCONTAINS" => !any(&|v| v.contains(&want)),
        "ISNULL" => vals.is_empty(),
        "ISNOTNULL" => !vals.is_empty(),
        "ISBITSET" => bits().map(|(v, b)| v & b == b)?,
        "ISBITNOTSET" => bits().map(|(v, b)| v & b == 0)?,
        "ISMEMBEROF" => vals.iter().any(|g| normal_dn(g) == normal_dn(&c.value)),
        "ISNOTMEMBEROF" => !vals.iter().any(|g| normal_dn(g) == normal_dn(&c.value)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::ann;
    use super::*;

    fn cond(attribute: &str, operator: &str, value: &str) -> ScopeCondition {
        ScopeCondition { attribute: attribute.into(), operator: operator.into(), value: value.into() }
    }

    fn group(c: Vec<ScopeCondition>) -> ScopeGroup {
        ScopeGroup { conditions: c }
    }

    /// The standard "In from AD - User Join" scope, as the wizard writes it.
    #[test]
    fn the_standard_user_join_scope() {
        let standard = vec![group(vec![
            cond("adminDescription", "NOTSTARTSWITH", "User_"),
            cond("sAMAccountName", "NOTSTARTSWITH", "SUPPORT_388945a0"),
            cond("sAMAccountName", "NOTEQUAL", "krbtgt"),
        ])];
        assert_eq!(in_scope(&standard, &ann()), Some(true));
        let written_back = AdUser { admin_description: Some("user_ann".into()), ..ann() };
        assert_eq!(in_scope(&standard, &written_back), Some(false));
        assert_eq!(failing(&standard, &written_back).map(|c| c.attribute.as_str()), Some("adminDescription"));
        // An attribute not read decides nothing.
        let with_unknown = vec![group(vec![cond("isCriticalSystemObject", "NOTEQUAL", "TRUE")])];
        assert_eq!(in_scope(&with_unknown, &ann()), None);
    }

    #[test]
    fn any_group_may_hold_and_bits_and_membership_are_judged() {
        let enabled = vec![group(vec![cond("userAccountControl", "ISBITNOTSET", "2")])];
        assert_eq!(in_scope(&enabled, &ann()), Some(true));
        let disabled = AdUser { user_account_control: Some(514), ..ann() };
        assert_eq!(in_scope(&enabled, &disabled), Some(false));
        let two = vec![
            group(vec![cond("sAMAccountName", "EQUAL", "bob")]),
            group(vec![cond("sAMAccountName", "EQUAL", "ANN")]),
        ];
        assert_eq!(in_scope(&two, &ann()), Some(true));
        let member = vec![group(vec![cond("memberOf", "ISMEMBEROF", "CN=Pilot,OU=Groups,DC=fabrikam,DC=com")])];
        assert_eq!(in_scope(&member, &ann()), None, "memberOf not read");
        let pilot = AdUser { member_of: vec!["cn=pilot, ou=groups,dc=fabrikam,dc=com".into()], ..ann() };
        assert_eq!(in_scope(&member, &pilot), Some(true));
        assert_eq!(in_scope(&[], &ann()), Some(true));
        assert_eq!(in_scope(&[group(vec![cond("x", "WEIRDOP", "")])], &ann()), None);
    }
}

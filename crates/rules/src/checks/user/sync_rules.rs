use super::requires::{self, cmdlets};
use super::view::UserView;
use crate::context::Context;
use crate::registry::{Need, Rule};
use phs_model::{CsObject, Finding, ScopeKind, ServerConfig, Status, SyncRule};

pub const RULE: Rule = Rule {
    code: "PHS021",
    name: "user-password-sync-rules",
    scope: ScopeKind::User,
    title: "Sync rules with password sync enabled apply to the user, inbound and outbound",
    doc: "\
## What it checks
The lineage of the user's AD connector space object must hold an inbound
sync rule with **EnablePasswordSync** true (by default `In from AD - User
AccountEnabled`), and the lineage of their Entra connector space object an
outbound one (by default `Out to AAD - User Join`, newer builds `Out to
Microsoft Entra ID - User Join`). The rules' flag comes from the
configuration export; a rule is matched by its internal id, else its name.

## Why it matters
Password hash sync follows the sync rules: without a password-sync rule on
both sides, the user's hash is never sent even though everything else
about them syncs. It happens with cloned or custom rules that lost the
\"Enable Password Sync\" box, or a scoping filter that keeps the default
rule from applying.

## How to fix
In the Synchronization Rules Editor, make sure the rule that applies to the
user has \"Enable Password Sync\" checked (on a copy of a standard rule, not the
standard rule itself), or find why the standard rule's scope leaves the user
out; then run a full synchronization.

## Evidence
The rules in each lineage and their password-sync flag.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization#password-hash-synchronization-does-not-work-for-a-specific-user-account",
    ],
    needs: &[Need::ServerConfig],
    check,
};

/// One side of the path, judged.
#[derive(Debug, PartialEq)]
enum Side<'a> {
    /// The lineage applies a rule with password sync on.
    Carries(&'a str),
    /// It does not: the rules it applies.
    Lacks(Vec<String>),
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let Some(cfg) = cx.snapshot.server.config.as_ref() else { return Vec::new() };
    let sides = requires::object(&v.ad_cs, "AD connector space object", cmdlets::AD_CS).and_then(|ad| {
        let entra = requires::object(&v.entra_cs, "Entra connector space object", cmdlets::ENTRA_CS)?;
        Ok((side(cfg, ad, "Inbound"), side(cfg, entra, "Outbound")))
    });
    let (inbound, outbound) = match sides {
        Ok(s) => s,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    vec![words(&v, &inbound, &outbound)]
}

/// The export's rule for a lineage entry: by internal id, else by name on
/// the object's connector.
fn rule_of<'a>(cfg: &'a ServerConfig, cs: &CsObject, l: &phs_model::CsLineage) -> Option<&'a SyncRule> {
    cfg.sync_rules.iter().find(|r| {
        let by_id = l.sync_rule_internal_id.is_some() && r.id == l.sync_rule_internal_id;
        let by_name = l.sync_rule_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&r.name))
            && (cs.connector_id.is_none() || r.connector == cs.connector_id);
        by_id || by_name
    })
}

fn side<'a>(cfg: &'a ServerConfig, cs: &'a CsObject, direction: &str) -> Side<'a> {
    let mut applied = Vec::new();
    for l in &cs.lineage {
        match rule_of(cfg, cs, l) {
            Some(r) if r.direction.eq_ignore_ascii_case(direction) && r.enable_password_sync && !r.disabled => {
                return Side::Carries(&r.name);
            }
            Some(r) => applied.push(format!(
                "{} (password sync {})",
                r.name,
                if r.enable_password_sync { "on, but the rule is disabled" } else { "off" }
            )),
            None => {
                applied.push(format!("{} (not in the export)", l.sync_rule_name.as_deref().unwrap_or("unnamed rule")))
            }
        }
    }
    Side::Lacks(applied)
}

fn words(v: &UserView, inbound: &Side, outbound: &Side) -> Finding {
    let who = &v.query.text;
    let (status, message) = match (inbound, outbound) {
        (Side::Carries(i), Side::Carries(o)) => {
            (Status::Pass, format!("Password sync rules apply to {who}: inbound {i:?}, outbound {o:?}."))
        }
        (Side::Lacks(_), Side::Lacks(_)) => (
            Status::Fail,
            format!("No sync rule with password sync applies to {who}, inbound or outbound: the hash is never sent."),
        ),
        (Side::Lacks(_), _) => (
            Status::Fail,
            format!("No inbound sync rule with password sync applies to {who}'s AD connector space object."),
        ),
        (_, Side::Lacks(_)) => (
            Status::Fail,
            format!("No outbound sync rule with password sync applies to {who}'s Entra connector space object."),
        ),
    };
    let mut f = RULE.finding(status, v.scope(), message);
    for (label, side) in [("Inbound lineage", inbound), ("Outbound lineage", outbound)] {
        match side {
            Side::Carries(name) => f = f.evidence(label, format!("{name} (password sync on)")),
            Side::Lacks(rules) if rules.is_empty() => f = f.evidence(label, "no rule applied"),
            Side::Lacks(rules) => {
                for r in rules {
                    f = f.evidence(label, r.clone());
                }
            }
        }
    }
    if status == Status::Fail {
        f = f.fix(
            "In the Synchronization Rules Editor, give the rule that applies to the user \"Enable Password Sync\" (on a copy of a standard rule), or find why the standard rule's scope leaves the user out; then run a full synchronization.",
            &["Get-ADSyncRule | Where-Object EnablePasswordSync | Select-Object Name, Direction, Precedence, Disabled"],
        );
    }
    f.done()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use phs_model::Snapshot;

    fn with(change: impl FnOnce(&mut Snapshot)) -> Finding {
        judge_changed(change, check)
    }

    #[test]
    fn both_sides_carry_the_password() {
        let f = with(|_| {});
        assert_eq!(f.status, Status::Pass, "{f:?}");
    }

    #[test]
    fn a_rule_without_password_sync_or_disabled_fails() {
        let f = with(|s| {
            let cfg = s.server.config.as_mut().unwrap();
            for r in &mut cfg.sync_rules {
                if r.direction == "Inbound" {
                    r.enable_password_sync = false;
                }
            }
        });
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("inbound"), "{}", f.message);
        let f = with(|s| {
            let cfg = s.server.config.as_mut().unwrap();
            cfg.sync_rules.iter_mut().filter(|r| r.direction == "Outbound").for_each(|r| r.disabled = true);
        });
        assert!(f.message.contains("outbound"), "{}", f.message);
        assert!(f.evidence.iter().any(|e| e.value.contains("disabled")));
        let f = with(|s| s.server.cs_objects.as_mut().unwrap()[1].lineage.clear());
        assert_eq!(f.status, Status::Fail);
    }

    /// A rule of the same name on another connector is not the one applied.
    #[test]
    fn a_rule_is_matched_on_the_objects_connector() {
        let f = with(|s| {
            let cfg = s.server.config.as_mut().unwrap();
            cfg.sync_rules.retain(|r| {
                !(r.direction == "Inbound"
                    && r.connector.as_ref().map(|g| g.as_str()) == Some(crate::checks::fixtures::FABRIKAM))
            });
        });
        assert_eq!(f.status, Status::Fail, "{f:?}");
    }

    #[test]
    fn without_the_connector_space_objects_it_does_not_judge() {
        let f = with(|s| s.server.cs_objects = None);
        assert_eq!(f.status, Status::Skipped);
    }
}

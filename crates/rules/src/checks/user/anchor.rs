use super::requires;
use super::view::UserView;
use crate::context::Context;
use crate::registry::Rule;
use phs_model::{AdUser, CloudUser, Finding, ScopeKind, SourceAnchor, Status};

pub const RULE: Rule = Rule {
    code: "PHS026",
    name: "user-anchor-matches",
    scope: ScopeKind::User,
    title: "The cloud user's immutableId is the AD user's source anchor",
    doc: "\
## What it checks
The AD user's source anchor (mS-DS-ConsistencyGuid when set, else
objectGUID: the 16 stored bytes in base64) against the cloud user's
onPremisesImmutableId. Either attribute's value matches (a server may
anchor on objectGUID even where a consistency GUID is set); the finding
says which.

## Why it matters
The anchor is what joins a cloud user to its AD user. A cloud user found by
UPN but carrying another immutableId belongs to another AD object (or to
this user before it was deleted and re-created in AD, with a new
objectGUID): the password sync writes to the anchored user, not this one.

## How to fix
Find the AD object the immutableId belongs to (`phs-doctor user <immutableId>`
looks it up). If the cloud user should be this AD user's, hard-match it:
set its onPremisesImmutableId to the AD anchor (on a user no longer synced,
with the Graph PowerShell SDK), then run a delta synchronization.

## Evidence
Both anchors in base64 and as GUIDs.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-design-concepts#sourceanchor",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant",
    ],
    needs: &[],
    check,
};

#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Matches { by: &'static str },
    NotAnchored,
    Differs { cloud: SourceAnchor },
    NotBase64 { cloud: String },
    NoAdAnchor,
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let (ad, cloud) = match requires::ad_and_cloud(&v) {
        Ok(pair) => pair,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    let outcome = decide(ad, cloud);
    vec![words(&v, ad, cloud, &outcome)]
}

pub(crate) fn decide(ad: &AdUser, cloud: &CloudUser) -> Outcome {
    let Some(text) = cloud.on_premises_immutable_id.as_deref().filter(|t| !t.is_empty()) else {
        return Outcome::NotAnchored;
    };
    let Ok(cloud_anchor) = SourceAnchor::try_from(text.to_owned()) else {
        return Outcome::NotBase64 { cloud: text.to_owned() };
    };
    if ad.consistency_guid.is_none() && ad.object_guid.is_none() {
        return Outcome::NoAdAnchor;
    }
    if ad.consistency_guid.as_ref() == Some(&cloud_anchor) {
        return Outcome::Matches { by: "mS-DS-ConsistencyGuid" };
    }
    if ad.object_guid_anchor().as_ref() == Some(&cloud_anchor) {
        return Outcome::Matches { by: "objectGUID" };
    }
    Outcome::Differs { cloud: cloud_anchor }
}

fn shown(a: &SourceAnchor) -> String {
    match a.as_guid() {
        Some(g) => format!("{} (GUID {g})", a.to_base64()),
        None => a.to_base64(),
    }
}

fn words(v: &UserView, ad: &AdUser, cloud: &CloudUser, o: &Outcome) -> Finding {
    let who = &v.query.text;
    let cloud_name = cloud.user_principal_name.as_deref().unwrap_or(&cloud.id);
    let (status, message) = match o {
        Outcome::Matches { by } => {
            (Status::Pass, format!("{cloud_name}'s immutableId is {who}'s {by}: the cloud user is this AD user."))
        }
        Outcome::NotAnchored => (
            Status::Fail,
            format!(
                "{cloud_name} has no immutableId: it is not anchored to any AD user, so no password is synced to it."
            ),
        ),
        Outcome::Differs { .. } => (
            Status::Fail,
            format!(
                "{cloud_name}'s immutableId is not {who}'s anchor: the cloud user belongs to another AD object (or \
                 to this user before it was re-created in AD). Password sync writes to the anchored user, not this one."
            ),
        ),
        Outcome::NotBase64 { cloud } => (
            Status::Warn,
            format!(
                "{cloud_name}'s immutableId {cloud:?} is not base64: the server uses a custom source anchor, which \
                 phs-doctor cannot compare."
            ),
        ),
        Outcome::NoAdAnchor => {
            (Status::Error, format!("Neither objectGUID nor mS-DS-ConsistencyGuid was read for {who}."))
        }
    };
    let mut f = RULE.finding(status, v.scope(), message);
    if let Some(a) = &ad.consistency_guid {
        f = f.evidence("AD mS-DS-ConsistencyGuid", shown(a));
    }
    if let Some(a) = ad.object_guid_anchor() {
        f = f.evidence("AD objectGUID", shown(&a));
    }
    f = f.evidence(
        "Cloud onPremisesImmutableId",
        cloud.on_premises_immutable_id.clone().unwrap_or_else(|| "null".into()),
    );
    match o {
        Outcome::Differs { cloud } => {
            let anchor = ad.anchor().map(|a| a.to_base64()).unwrap_or_default();
            let (commands, note) = crate::command::fill_all(
                &["phs-doctor user '<immutableId>'"],
                &[("<immutableId>", &cloud.to_base64())],
            );
            f.fix_commands(
                &format!(
                    "Find which AD object the cloud user's anchor belongs to (the command looks it up). If the cloud \
                     user should be this one, hard-match it: set its onPremisesImmutableId to {anchor} while it is not \
                     synced, then run a delta synchronization."
                ),
                (commands, note),
            )
            .done()
        }
        Outcome::NotAnchored => f
            .fix("Let the sync server match it: soft match (same UPN or primary SMTP address) or hard match (set onPremisesImmutableId to the AD anchor).", &[])
            .done(),
        _ => f.done(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn with(ad: AdUser, immutable: Option<String>) -> Finding {
        let cloud = CloudUser { on_premises_immutable_id: immutable, ..cloud_ann() };
        judge(&user_snapshot(Some(found(ad)), Some(cloud_found(cloud))), check)
    }

    #[test]
    fn the_same_anchor_passes_by_either_attribute() {
        assert_eq!(decide(&ann(), &cloud_ann()), Outcome::Matches { by: "mS-DS-ConsistencyGuid" });
        let other = SourceAnchor::from_bytes(vec![5; 16]);
        let ad = AdUser { consistency_guid: Some(other), ..ann() };
        assert_eq!(decide(&ad, &cloud_ann()), Outcome::Matches { by: "objectGUID" });
        assert_eq!(with(ann(), Some(anchor().to_base64())).status, Status::Pass);
    }

    #[test]
    fn another_anchor_fails_and_names_a_quoted_lookup() {
        let f = with(ann(), Some(SourceAnchor::from_bytes(vec![7; 16]).to_base64()));
        assert_eq!(f.status, Status::Fail);
        let r = f.remediation.unwrap();
        assert!(r.commands[0].starts_with("phs-doctor user 'BwcH"), "{:?}", r.commands);
        assert_eq!(with(ann(), None).status, Status::Fail);
        assert_eq!(with(ann(), Some("not base64!".into())).status, Status::Warn);
    }
}

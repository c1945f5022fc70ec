use super::requires;
use super::view::{CloudSide, UserView};
use crate::context::Context;
use crate::registry::Rule;
use phs_model::{CloudUser, Finding, ProvisioningError, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS025",
    name: "user-in-tenant",
    scope: ScopeKind::User,
    title: "The user exists in the tenant as a synced user, without provisioning errors",
    doc: "\
## What it checks
The cloud user found through Microsoft Graph (`GET /v1.0/users`, needs
**User.Read.All**), looked up by the AD anchor as onPremisesImmutableId,
else by UPN: it exists, onPremisesSyncEnabled is true, and it has no
onPremisesProvisioningErrors. A disabled cloud account is flagged.

## Why it matters
Password hash sync writes only to a cloud user synced from AD. A cloud-only
user of the same name (onPremisesSyncEnabled null) never receives the
on-premises password; a provisioning error (a duplicate UPN or proxy
address: PropertyConflict) keeps the user from being written at all.

## How to fix
A missing user is exported by the sync server first (PHS022). A cloud-only
user is matched to the AD user by soft match (same UPN or primary SMTP
address) or hard match (set its onPremisesImmutableId to the AD anchor).
A provisioning error is fixed by removing the duplicate value.

## Evidence
The queries asked, the cloud user's id, UPN, sync flags and errors.",
    references: &[
        "https://learn.microsoft.com/graph/api/resources/user",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-syncservice-duplicate-attribute-resiliency",
    ],
    needs: &[],
    check,
};

enum Outcome<'a> {
    NotFound(&'a [String]),
    Ambiguous(&'a [CloudUser]),
    NotSynced(&'a CloudUser),
    ProvisioningErrors(&'a CloudUser),
    Disabled(&'a CloudUser),
    Synced(&'a CloudUser),
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let outcome = match (&v.cloud, requires::cloud_user(&v)) {
        (CloudSide::NotFound { queries }, _) => Outcome::NotFound(queries),
        (CloudSide::Ambiguous(users), _) => Outcome::Ambiguous(users),
        (_, Ok(u)) if !u.provisioning_errors.is_empty() => Outcome::ProvisioningErrors(u),
        (_, Ok(u)) if u.on_premises_sync_enabled != Some(true) => Outcome::NotSynced(u),
        (_, Ok(u)) if u.account_enabled == Some(false) => Outcome::Disabled(u),
        (_, Ok(u)) => Outcome::Synced(u),
        (_, Err(unmet)) => return requires::unmet(&RULE, &v, unmet),
    };
    vec![outcome.finding(&v)]
}

fn error_text(e: &ProvisioningError) -> String {
    format!(
        "{} on {}{}{}",
        e.category.as_deref().unwrap_or("error"),
        e.property_causing_error.as_deref().unwrap_or("an unnamed property"),
        e.value.as_deref().map_or(String::new(), |v| format!(" = {v}")),
        e.occurred.map_or(String::new(), |t| format!(" (since {t})"))
    )
}

impl Outcome<'_> {
    fn finding(&self, v: &UserView) -> Finding {
        let who = &v.query.text;
        let scope = v.scope();
        let (status, message, user) = match self {
            Outcome::NotFound(queries) => {
                let mut f = RULE.finding(
                    Status::Fail,
                    scope,
                    format!(
                        "{who} is not in the tenant: no cloud user has their anchor or UPN. The user was never \
                         exported (see PHS022), or was deleted in the cloud."
                    ),
                );
                for q in queries.iter() {
                    f = f.evidence("Asked", q.clone());
                }
                return f
                    .fix(
                        "Check the Entra connector space object's export (PHS022) and the tenant's deleted users.",
                        &[],
                    )
                    .done();
            }
            Outcome::Ambiguous(users) => {
                let mut f = RULE.finding(
                    Status::Error,
                    scope,
                    format!(
                        "{} cloud users match {who}: the tenant holds duplicates, or the identity is too loose.",
                        users.len()
                    ),
                );
                for u in users.iter() {
                    f = f.evidence("Match", format!("{} ({})", u.user_principal_name.as_deref().unwrap_or("?"), u.id));
                }
                return f.fix("Run phs-doctor user again with the user's anchor (immutableId) or DN.", &[]).done();
            }
            Outcome::NotSynced(u) => (
                Status::Fail,
                format!(
                    "The cloud user {} is {}: password hash sync does not write to it.",
                    u.user_principal_name.as_deref().unwrap_or(&u.id),
                    match u.on_premises_sync_enabled {
                        Some(false) => "no longer synced from AD (onPremisesSyncEnabled false)",
                        _ => "a cloud-only user (onPremisesSyncEnabled not set), not the AD user",
                    }
                ),
                u,
            ),
            Outcome::ProvisioningErrors(u) => (
                Status::Fail,
                format!(
                    "The cloud user {} has provisioning errors: {}.",
                    u.user_principal_name.as_deref().unwrap_or(&u.id),
                    u.provisioning_errors.iter().map(error_text).collect::<Vec<_>>().join("; ")
                ),
                u,
            ),
            Outcome::Disabled(u) => (
                Status::Warn,
                format!(
                    "The cloud user {} is synced but disabled (accountEnabled false): no password lets them sign in.",
                    u.user_principal_name.as_deref().unwrap_or(&u.id)
                ),
                u,
            ),
            Outcome::Synced(u) => (
                Status::Pass,
                format!("{who} is the synced cloud user {}.", u.user_principal_name.as_deref().unwrap_or(&u.id)),
                u,
            ),
        };
        let mut f = RULE.finding(status, scope, message).evidence("Cloud user id", user.id.clone());
        if let Some(upn) = &user.user_principal_name {
            f = f.evidence("userPrincipalName", upn.clone());
        }
        f = f.evidence("onPremisesSyncEnabled", user.on_premises_sync_enabled.map_or("null".into(), |b| b.to_string()));
        for e in &user.provisioning_errors {
            f = f.evidence("Provisioning error", error_text(e));
        }
        match self {
            Outcome::NotSynced(_) => f
                .fix(
                    "Match the cloud user to the AD user: soft match (same UPN or primary SMTP address), or hard match by setting its onPremisesImmutableId to the AD anchor (PHS026 shows it); then run a delta synchronization.",
                    &[],
                )
                .done(),
            Outcome::ProvisioningErrors(_) => f
                .fix("Remove the duplicate value (the property named) from the other object, or change it on this user in AD; the next sync then writes the user.", &[])
                .done(),
            _ => f.done(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn with(change: impl FnOnce(&mut CloudUser)) -> Finding {
        let mut u = cloud_ann();
        change(&mut u);
        judge(&user_snapshot(Some(found(ann())), Some(cloud_found(u))), check)
    }

    #[test]
    fn synced_passes_and_each_break_is_named() {
        assert_eq!(with(|_| {}).status, Status::Pass);
        let f = with(|u| u.on_premises_sync_enabled = None);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("cloud-only"));
        let f = with(|u| {
            u.provisioning_errors.push(ProvisioningError {
                category: Some("PropertyConflict".into()),
                property_causing_error: Some("UserPrincipalName".into()),
                value: Some("ann@fabrikam.com".into()),
                occurred: None,
            })
        });
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("PropertyConflict on UserPrincipalName"), "{}", f.message);
        assert_eq!(with(|u| u.account_enabled = Some(false)).status, Status::Warn);
    }

    #[test]
    fn not_found_fails_but_a_failed_query_is_an_error() {
        let mut l = cloud_found(cloud_ann());
        l.found.clear();
        assert_eq!(judge(&user_snapshot(None, Some(l.clone())), check).status, Status::Fail);
        l.error = Some("403: needs User.Read.All".into());
        assert_eq!(judge(&user_snapshot(None, Some(l)), check).status, Status::Error);
        assert_eq!(judge(&user_snapshot(None, None), check).status, Status::Skipped);
        let mut two = cloud_found(cloud_ann());
        two.found.push(CloudUser { id: "other".into(), ..cloud_ann() });
        assert_eq!(judge(&user_snapshot(None, Some(two)), check).status, Status::Error);
    }
}

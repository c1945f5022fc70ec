use super::view::{AdSide, UserView};
use crate::context::Context;
use crate::registry::Rule;
use phs_model::{AdUser, DomainSearch, Finding, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS017",
    name: "user-in-active-directory",
    scope: ScopeKind::User,
    title: "The user exists in Active Directory, once",
    doc: "\
## What it checks
The identity given to `phs-doctor user` (UPN, `DOMAIN\\name`, bare
sAMAccountName, DN, objectGUID, or sourceAnchor in base64 or `CN={hex}`)
is looked up over the live `[ad]` connection, with the connector account,
in every synced domain the identity can belong to. Exactly one object must
match. The finding gives its DN, objectGUID, the anchor Entra Connect uses
(mS-DS-ConsistencyGuid when set, else objectGUID, in base64), its SID and
its object classes.

## Why it matters
Every other check of the user starts from this object. A user the connector
account cannot find is a user Entra Connect cannot sync either.

## How to fix
When the user is not found, the near matches (same start of sAMAccountName
or UPN) usually show a typing error or a different sign-in name. A user in a
domain that is not synced is out of scope (see PHS019). When several objects
match, name the user by DN.

## Evidence
The domains searched, the DC and the LDAP filter of each, the object's
attributes, and for a search that did not complete, its cause.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization#password-hash-synchronization-does-not-work-for-a-specific-user-account",
    ],
    needs: &[],
    check,
};

/// What PHS017 decides.
enum Outcome<'a> {
    NotAsked(Option<&'a str>),
    Failed(&'a [&'a DomainSearch]),
    NotFound { searched: &'a [&'a DomainSearch], near: &'a [String] },
    Ambiguous(&'a [AdUser]),
    Found { user: &'a AdUser, unsearched: &'a [&'a DomainSearch] },
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let outcome = match &v.ad {
        AdSide::NotAsked { error } => Outcome::NotAsked(error.as_deref()),
        AdSide::Failed(d) => Outcome::Failed(d),
        AdSide::NotFound { searched, near } => Outcome::NotFound { searched, near },
        AdSide::Ambiguous(u) => Outcome::Ambiguous(u),
        AdSide::Found { user, unsearched } => Outcome::Found { user, unsearched },
    };
    vec![outcome.finding(&v)]
}

fn searched_evidence(mut f: crate::finding::Draft, searched: &[&DomainSearch]) -> crate::finding::Draft {
    for s in searched {
        let dc = s.dc.as_deref().unwrap_or("no DC");
        let value = match &s.error {
            Some(e) => format!("{} on {dc}: {} failed: {e}", s.domain, s.filter),
            None => format!("{} on {dc}: {}", s.domain, s.filter),
        };
        f = f.evidence("Searched", value);
    }
    f
}

impl Outcome<'_> {
    fn finding(&self, v: &UserView) -> Finding {
        let who = &v.query.text;
        let scope = v.scope();
        match self {
            Outcome::NotAsked(None) => {
                let (status, why) = super::requires::ad_user(v).err().unwrap_or((Status::Skipped, String::new()));
                RULE.finding(status, scope, why).done()
            }
            Outcome::NotAsked(Some(e)) => {
                RULE.finding(Status::Error, scope, format!("Could not look {who} up in Active Directory: {e}")).done()
            }
            Outcome::Failed(domains) => {
                let names: Vec<&str> = domains.iter().map(|d| d.domain.as_str()).collect();
                let f = RULE.finding(
                    Status::Error,
                    scope,
                    format!(
                        "Could not tell whether {who} exists: the search did not complete in {}.",
                        names.join(", ")
                    ),
                );
                searched_evidence(f, domains).done()
            }
            Outcome::NotFound { searched, near } => {
                let names: Vec<&str> = searched.iter().map(|d| d.domain.as_str()).collect();
                let mut f = RULE.finding(
                    Status::Fail,
                    scope,
                    format!(
                        "{who} is not in Active Directory: no user matches it in {} (the domains the sync server \
                         reads). Entra Connect cannot sync a user it cannot find.",
                        names.join(", ")
                    ),
                );
                f = searched_evidence(f, searched);
                for n in near.iter() {
                    f = f.evidence("Near match", n.clone());
                }
                f.fix(
                    if near.is_empty() {
                        "Check the spelling and the form of the identity (a UPN, DOMAIN\\name or the DN); a user in a \
                         domain the connector does not read is out of scope (PHS019)."
                    } else {
                        "Check the spelling: the near matches are users whose name starts the same way."
                    },
                    &[],
                )
                .done()
            }
            Outcome::Ambiguous(users) => {
                let mut f = RULE.finding(
                    Status::Error,
                    scope,
                    format!("{who} matches {} Active Directory objects; name the user by DN.", users.len()),
                );
                for u in users.iter() {
                    f = f.evidence("Match", format!("{} ({})", u.dn, u.domain));
                }
                f.fix("Run phs-doctor user again with the user's distinguished name.", &[]).done()
            }
            Outcome::Found { user, unsearched } => {
                let (status, message) = if unsearched.is_empty() {
                    (Status::Pass, format!("{who} is {} in {}.", user.dn, user.domain))
                } else {
                    let names: Vec<&str> = unsearched.iter().map(|d| d.domain.as_str()).collect();
                    (
                        Status::Warn,
                        format!(
                            "{who} is {} in {}, but {} could not be searched: another object there may carry the \
                             same name.",
                            user.dn,
                            user.domain,
                            names.join(", ")
                        ),
                    )
                };
                let mut f = RULE.finding(status, scope, message).evidence("DN", user.dn.clone());
                if let Some(g) = &user.object_guid {
                    f = f.evidence("objectGUID", g.to_string());
                }
                if let Some(a) = user.anchor() {
                    let from = if user.consistency_guid.is_some() { "mS-DS-ConsistencyGuid" } else { "objectGUID" };
                    f = f.evidence("Source anchor", format!("{} (from {from})", a.to_base64()));
                }
                for (label, value) in [
                    ("objectSid", &user.object_sid),
                    ("sAMAccountName", &user.sam_account_name),
                    ("userPrincipalName", &user.user_principal_name),
                ] {
                    if let Some(value) = value {
                        f = f.evidence(label, value.clone());
                    }
                }
                f = f.evidence("objectClass", user.object_classes.join(", "));
                searched_evidence(f, unsearched).done()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn found_once_passes_with_the_anchor() {
        let f = judge(&user_snapshot(Some(found(ann())), None), check);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.evidence.iter().any(|e| e.label == "Source anchor" && e.value.contains("mS-DS-ConsistencyGuid")));
        assert_eq!(f.scope.user.as_deref(), Some(WHO));
    }

    #[test]
    fn not_found_fails_with_near_matches_and_a_failed_search_is_an_error() {
        let mut lookup = searched_nothing();
        lookup.near = vec!["fabrikam.com: anna (anna@fabrikam.com)".into()];
        let f = judge(&user_snapshot(Some(lookup.clone()), None), check);
        assert_eq!(f.status, Status::Fail);
        assert!(f.evidence.iter().any(|e| e.label == "Near match"));
        lookup.searched[0].error = Some("timed out after 10 s".into());
        let f = judge(&user_snapshot(Some(lookup), None), check);
        assert_eq!(f.status, Status::Error, "a failed search is never 'not found'");
    }

    #[test]
    fn ambiguous_and_partly_searched() {
        let mut l = found(ann());
        l.found.push(AdUser { dn: "CN=Ann Lee,OU=Staff,DC=tailspintoys,DC=com".into(), ..ann() });
        assert_eq!(judge(&user_snapshot(Some(l), None), check).status, Status::Error);
        let mut l = found(ann());
        l.searched.push(phs_model::DomainSearch {
            domain: "tailspintoys.com".into(),
            error: Some("bind refused".into()),
            ..Default::default()
        });
        assert_eq!(judge(&user_snapshot(Some(l), None), check).status, Status::Warn);
    }

    #[test]
    fn not_asked_is_skipped_and_no_user_no_finding() {
        assert_eq!(judge(&user_snapshot(None, None), check).status, Status::Skipped);
        assert!(crate::checks::fixtures::run(&crate::checks::fixtures::snapshot(), check).is_empty());
    }
}

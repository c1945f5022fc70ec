use super::requires;
use super::view::UserView;
use crate::checks::server_version::VERSION_PARAMETER;
use crate::context::{filetime, Context};
use crate::registry::Rule;
use phs_model::{Finding, ProductVersion, ScopeKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS023",
    name: "user-temporary-password",
    scope: ScopeKind::User,
    title: "The user's password is not a temporary one that sync leaves out",
    doc: "\
## What it checks
Whether the user must change their password at next logon (pwdLastSet =
0 in AD), and if so whether this server syncs temporary passwords: that
needs Entra Connect 2.0.3.0 or later **and** the tenant feature
ForcePasswordChangeOnLogOn (Graph: userForcePasswordChangeOnLogonEnabled;
on the server: `Get-ADSyncAADCompanyFeature`). The build is the installed
one when known, else the export's ServerConfigurationVersion.

## Why it matters
By default a temporary password is not synced: the password sync log says
`FilteredByTarget`, and the user's cloud password stays the old one until
they change it on-premises. With the feature on, the temporary password is
synced and the user is asked to change it at their first cloud sign-in.

## How to fix
Any one of: the user changes their password on-premises (a sign-in to a
domain-joined computer); an administrator resets it without \"User must
change password at next logon\"; or turn the feature on
(`Set-ADSyncAADCompanyFeature -ForcePasswordChangeOnLogOn $true`, on a
build of 2.0.3.0 or later) after weighing that every temporary password
then reaches the cloud.

## Evidence
pwdLastSet, the feature as each source states it, and the build.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-password-hash-synchronization#synchronizing-temporary-passwords-and-force-password-change-on-next-logon",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
    ],
    needs: &[],
    check,
};

/// The first build that syncs temporary passwords.
const FIRST_BUILD: ProductVersion = ProductVersion::new(2, 0, 3, 0);

#[derive(Debug, PartialEq)]
enum Outcome {
    NotTemporary,
    /// pwdLastSet 0, and the server syncs it anyway.
    Synced {
        build: ProductVersion,
    },
    /// pwdLastSet 0, and the feature is off.
    FeatureOff,
    /// pwdLastSet 0 on a build that cannot sync it.
    BuildTooOld {
        build: ProductVersion,
    },
    /// pwdLastSet 0; the feature or the build could not be read.
    Unknown {
        feature: Option<bool>,
        build: Option<ProductVersion>,
    },
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let user = match requires::ad_user(&v) {
        Ok(u) => u,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    let Some(pwd_last_set) = user.pwd_last_set else {
        return vec![RULE
            .finding(Status::Error, v.scope(), "pwdLastSet was not read for the user: cannot tell.")
            .done()];
    };
    let (feature, sources) = feature(cx);
    let build = build(cx);
    let outcome = decide(pwd_last_set, feature, build);
    let mut f = words(&v, &outcome).evidence(
        "pwdLastSet",
        match filetime(pwd_last_set) {
            Some(t) => t.to_string(),
            None => format!("{pwd_last_set} (must change at next logon)"),
        },
    );
    if outcome != Outcome::NotTemporary {
        for s in sources {
            f = f.evidence("ForcePasswordChangeOnLogOn", s);
        }
        if let Some(b) = build {
            f = f.evidence("Entra Connect build", b.to_string());
        }
    }
    vec![f.done()]
}

fn decide(pwd_last_set: i64, feature: Option<bool>, build: Option<ProductVersion>) -> Outcome {
    if pwd_last_set != 0 {
        return Outcome::NotTemporary;
    }
    match (feature, build) {
        (Some(false), _) => Outcome::FeatureOff,
        (_, Some(b)) if b < FIRST_BUILD => Outcome::BuildTooOld { build: b },
        (Some(true), Some(b)) => Outcome::Synced { build: b },
        (feature, build) => Outcome::Unknown { feature, build },
    }
}

/// The feature as the tenant says it (live, so it wins) or the server last saw it.
fn feature(cx: &Context) -> (Option<bool>, Vec<String>) {
    let graph = cx
        .snapshot
        .tenant
        .as_ref()
        .and_then(|t| t.sync.as_ref())
        .and_then(|s| s.user_force_password_change_on_logon_enabled);
    let server = cx.snapshot.server.company_features.as_ref().and_then(|c| c.force_password_change_on_logon);
    let mut said = Vec::new();
    if let Some(g) = graph {
        said.push(format!("{g} (Graph userForcePasswordChangeOnLogonEnabled)"));
    }
    if let Some(s) = server {
        said.push(format!("{s} (Get-ADSyncAADCompanyFeature)"));
    }
    (graph.or(server), said)
}

fn build(cx: &Context) -> Option<ProductVersion> {
    let cfg = cx.snapshot.server.config.as_ref()?;
    cfg.installed_version.as_deref().or(cfg.global(VERSION_PARAMETER)).and_then(|t| t.parse().ok())
}

const FIX: &str = "Any one of: the user changes the password on-premises; an administrator resets it without \"User must change password at next logon\"; or turn on ForcePasswordChangeOnLogOn (Entra Connect 2.0.3.0 or later), after weighing that every temporary password then reaches the cloud.";

fn words(v: &UserView, o: &Outcome) -> crate::finding::Draft {
    let who = &v.query.text;
    let (status, message) = match o {
        Outcome::NotTemporary => (Status::Pass, format!("{who}'s password is not a temporary one.")),
        Outcome::Synced { build } => (
            Status::Pass,
            format!(
                "{who} must change their password at next logon; this server syncs temporary passwords (build \
                 {build}, ForcePasswordChangeOnLogOn on), so the cloud asks for the change at the first sign-in."
            ),
        ),
        Outcome::FeatureOff => (
            Status::Fail,
            format!(
                "{who} must change their password at next logon, and ForcePasswordChangeOnLogOn is off: a temporary \
                 password is not synced (log status FilteredByTarget); the cloud keeps the old password."
            ),
        ),
        Outcome::BuildTooOld { build } => (
            Status::Fail,
            format!(
                "{who} must change their password at next logon, and build {build} cannot sync temporary passwords \
                 (2.0.3.0 or later can): the cloud keeps the old password."
            ),
        ),
        Outcome::Unknown { feature, build } => (
            Status::Warn,
            format!(
                "{who} must change their password at next logon. Whether that password is synced could not be told \
                 ({}): with ForcePasswordChangeOnLogOn off (the default) or a build before 2.0.3.0 it is not \
                 synced; with both it is.",
                match (feature, build) {
                    (None, None) => "neither the feature nor the build is known",
                    (None, _) => "the feature is not known: supply Get-ADSyncAADCompanyFeature or ask the tenant",
                    _ => "the build is not known: supply the configuration export",
                }
            ),
        ),
    };
    let f = RULE.finding(status, v.scope(), message);
    match o {
        Outcome::FeatureOff | Outcome::BuildTooOld { .. } | Outcome::Unknown { .. } => f.fix(FIX, &[]),
        _ => f,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn v(s: &str) -> ProductVersion {
        s.parse().unwrap()
    }

    #[test]
    fn every_combination_of_flag_feature_and_build() {
        assert_eq!(decide(filetime_ago(5), Some(false), None), Outcome::NotTemporary);
        assert_eq!(decide(0, Some(false), Some(v("2.3.20.0"))), Outcome::FeatureOff);
        assert_eq!(decide(0, Some(true), Some(v("2.0.2.182"))), Outcome::BuildTooOld { build: v("2.0.2.182") });
        assert_eq!(decide(0, Some(true), Some(v("2.0.3.0"))), Outcome::Synced { build: v("2.0.3.0") });
        assert!(matches!(decide(0, None, Some(v("2.3.20.0"))), Outcome::Unknown { .. }));
        assert!(matches!(decide(0, Some(true), None), Outcome::Unknown { .. }));
    }

    #[test]
    fn the_feature_comes_from_graph_first_then_the_server() {
        let mut s = user_snapshot(Some(found(phs_model::AdUser { pwd_last_set: Some(0), ..ann() })), None);
        s.server.company_features =
            Some(phs_model::CompanyFeatures { force_password_change_on_logon: Some(false), ..Default::default() });
        s.server.config.as_mut().unwrap().installed_version = Some("2.4.18.0".into());
        assert_eq!(judge(&s, check).status, Status::Fail);
        let mut t = crate::checks::fixtures::tenant(true, Some(10), Some(10));
        t.sync.as_mut().unwrap().user_force_password_change_on_logon_enabled = Some(true);
        s.tenant = Some(t);
        let f = judge(&s, check);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert_eq!(f.evidence.iter().filter(|e| e.label == "ForcePasswordChangeOnLogOn").count(), 2);
    }

    #[test]
    fn a_normal_password_passes_and_no_pwd_last_set_is_an_error() {
        assert_eq!(judge(&healthy(), check).status, Status::Pass);
        let s = user_snapshot(Some(found(phs_model::AdUser { pwd_last_set: None, ..ann() })), None);
        assert_eq!(judge(&s, check).status, Status::Error);
    }
}

use super::connector_space::error_evidence;
use super::requires::{self, cmdlets};
use super::view::UserView;
use crate::context::Context;
use crate::registry::Rule;
use phs_model::{CsObject, Finding, ScopeKind, Status, SyncEngineError};

pub const RULE: Rule = Rule {
    code: "PHS022",
    name: "user-exported-to-entra",
    scope: ScopeKind::User,
    title: "The user's Entra connector space object is exported, without an error",
    doc: "\
## What it checks
The user's object in the Entra connector space (`Get-ADSyncCSObject` on
the Entra connector, DN `CN={hex of the anchor}`): not a placeholder, no
export error (`HasExportError`, `ExportError`), and no export still pending.

## Why it matters
Password hash sync writes a hash only to a cloud user that exists: while the
object has not been exported (status `TargetNotExportedToDirectory` in the
password sync log), or its export fails (a duplicate UPN or proxy address,
a quota, a permission), the user's password goes nowhere.

## How to fix
Fix the export error (the error's name and details say what; duplicate
attributes are also listed in the tenant as provisioning errors, see
PHS025), or let the next export run write the pending change.

## Evidence
The object's DN and id, the error's name, code, text and retries.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization#password-hash-synchronization-does-not-work-for-a-specific-user-account",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors",
    ],
    needs: &[],
    check,
};

enum Outcome<'a> {
    Placeholder(&'a CsObject),
    ExportError(&'a CsObject, Option<&'a SyncEngineError>),
    Pending(&'a CsObject, &'a str),
    Exported(&'a CsObject),
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let cs = match requires::object(&v.entra_cs, "Entra connector space object", cmdlets::ENTRA_CS) {
        Ok(cs) => cs,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    let outcome = if cs.is_placeholder == Some(true) {
        Outcome::Placeholder(cs)
    } else if cs.has_export_error == Some(true) || cs.export_error.is_some() {
        Outcome::ExportError(cs, cs.export_error.as_ref())
    } else if let Some(p) = cs.pending_export.as_deref() {
        Outcome::Pending(cs, p)
    } else {
        Outcome::Exported(cs)
    };
    vec![outcome.finding(&v)]
}

impl Outcome<'_> {
    fn finding(&self, v: &UserView) -> Finding {
        let who = &v.query.text;
        let (status, message, cs) = match self {
            Outcome::Placeholder(cs) => (
                Status::Fail,
                format!(
                    "{who}'s Entra connector space object is a placeholder: the user was never exported to Entra ID."
                ),
                cs,
            ),
            Outcome::ExportError(cs, e) => (
                Status::Fail,
                format!(
                    "{who}'s export to Entra ID fails{}: until it succeeds there is no cloud user to take the \
                     password.",
                    e.and_then(|e| e.error_name.as_deref()).map_or(String::new(), |n| format!(" ({n})"))
                ),
                cs,
            ),
            Outcome::Pending(cs, what) => (
                Status::Warn,
                format!(
                    "{who}'s Entra connector space object has an export pending ({what}): the next export run \
                     writes it; a password change may wait for it."
                ),
                cs,
            ),
            Outcome::Exported(cs) => {
                (Status::Pass, format!("{who} is exported to Entra ID, without an export error."), cs)
            }
        };
        let mut f = RULE.finding(status, v.scope(), message).evidence_from(
            "Entra connector space object",
            cs.distinguished_name.clone(),
            cs.file.clone(),
        );
        if let Some(id) = &cs.object_id {
            f = f.evidence("ObjectId", id.to_string());
        }
        match self {
            Outcome::ExportError(_, e) => {
                if let Some(e) = e {
                    f = error_evidence(f, e);
                }
                f.fix(
                    "Fix the cause the export error names (Synchronization Service Manager > Operations > the export run, or the Connect Health sync errors report), then run a delta synchronization.",
                    &["Start-ADSyncSyncCycle -PolicyType Delta"],
                )
                .done()
            }
            Outcome::Placeholder(_) => f
                .fix("Check the outbound rules' scope for the user and the Entra connector's export run history.", &[])
                .done(),
            Outcome::Pending(..) | Outcome::Exported(_) => f.done(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use phs_model::Snapshot;

    fn with(change: impl FnOnce(&mut CsObject)) -> Finding {
        let mut s: Snapshot = healthy();
        change(&mut s.server.cs_objects.as_mut().unwrap()[1]);
        judge(&s, check)
    }

    #[test]
    fn exported_passes_and_each_break_is_named() {
        assert_eq!(with(|_| {}).status, Status::Pass);
        let f = with(|cs| {
            cs.has_export_error = Some(true);
            cs.export_error = Some(SyncEngineError {
                error_name: Some("AttributeValueMustBeUnique".into()),
                retry_count: Some(4),
                ..Default::default()
            });
        });
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("AttributeValueMustBeUnique"));
        assert!(f.evidence.iter().any(|e| e.label == "Retries" && e.value == "4"));
        assert_eq!(with(|cs| cs.pending_export = Some("Add".into())).status, Status::Warn);
        assert_eq!(with(|cs| cs.is_placeholder = Some(true)).status, Status::Fail);
    }

    #[test]
    fn an_entra_object_of_another_user_is_an_error() {
        let f = with(|cs| {
            cs.distinguished_name = phs_model::SourceAnchor::from_bytes(vec![9; 16]).to_entra_cs_dn();
            cs.object_id = phs_model::Guid::parse("12345678-1234-4234-8234-123456789ABC");
        });
        assert_eq!(f.status, Status::Error, "{f:?}");
    }
}

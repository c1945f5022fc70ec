use super::requires::{self, cmdlets};
use super::view::{Object, UserView};
use crate::context::Context;
use crate::registry::Rule;
use phs_model::{ConnectorKind, CsObject, Finding, MvObject, ScopeKind, Status, SyncEngineError};

pub const RULE: Rule = Rule {
    code: "PHS020",
    name: "user-joined-in-sync-engine",
    scope: ScopeKind::User,
    title: "The user is in the AD connector space, joined to a metaverse object that reaches the Entra connector",
    doc: "\
## What it checks
From `Get-ADSyncCSObject` (the AD connector space) and `Get-ADSyncMVObject`
saved as JSON on the sync server:
- the AD connector space object exists, is not a placeholder, and is a
  connector (`IsConnector` true): joined to the metaverse, not a
  disconnector;
- it has no synchronization error;
- the metaverse object it joins has no `cloudFiltered` attribute, and its
  lineage reaches both the AD connector and the Entra connector.

## Why it matters
Password hash sync sends a user's hash only along this path: AD connector
space, metaverse, Entra connector space. A user missing from the AD
connector space is out of scope (see PHS019 for which filter); a
disconnector is filtered or never joined; `cloudFiltered` (set by the
standard rules for, among others, objects with adminDescription `User_`
or critical system objects) keeps the object out of the cloud.

## How to fix
Fix the filter that drops the user (PHS019), or the synchronization error,
then run a delta synchronization (`Start-ADSyncSyncCycle -PolicyType
Delta`).

## Evidence
The objects' ids, DNs, `IsConnector`, the error, the metaverse lineage.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization#password-hash-synchronization-does-not-work-for-a-specific-user-account",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-objectsync",
    ],
    needs: &[],
    check,
};

/// What PHS020 decides.
enum Outcome<'a> {
    NotInConnectorSpace,
    Placeholder(&'a CsObject),
    Disconnector(&'a CsObject),
    SyncError(&'a CsObject, &'a SyncEngineError),
    CloudFiltered(&'a MvObject, String),
    NoEntraLineage(&'a MvObject),
    Joined(&'a CsObject, &'a MvObject),
}

fn check(cx: &Context) -> Vec<Finding> {
    let Some(v) = UserView::of(cx) else { return Vec::new() };
    let outcome = match decide(cx, &v) {
        Ok(o) => o,
        Err(unmet) => return requires::unmet(&RULE, &v, unmet),
    };
    vec![outcome.finding(&v)]
}

fn decide<'a>(cx: &Context<'a>, v: &UserView<'a>) -> Result<Outcome<'a>, requires::Unmet> {
    let cs = match &v.ad_cs {
        // The cmdlet answered, and with nothing: the user is not in the connector space.
        Object::Absent { others: false } => return Ok(Outcome::NotInConnectorSpace),
        other => requires::object(other, "AD connector space object", cmdlets::AD_CS)?,
    };
    if cs.is_placeholder == Some(true) {
        return Ok(Outcome::Placeholder(cs));
    }
    if cs.is_connector == Some(false) {
        return Ok(Outcome::Disconnector(cs));
    }
    if let Some(e) = cs.synchronization_error.as_ref().filter(|_| cs.has_sync_error != Some(false)) {
        return Ok(Outcome::SyncError(cs, e));
    }
    let mv = requires::object(&v.mv, "metaverse object", cmdlets::MV)?;
    if let Some(values) = mv.attribute("cloudFiltered") {
        return Ok(Outcome::CloudFiltered(mv, values.join(", ")));
    }
    let entra_ids: Vec<_> = cx
        .snapshot
        .server
        .config
        .iter()
        .flat_map(|c| c.connectors.iter().filter(|c| c.kind == ConnectorKind::EntraId).map(|c| &c.id))
        .collect();
    let reaches_entra = mv.lineage.iter().any(|l| {
        l.connector_id.as_ref().is_some_and(|id| entra_ids.contains(&id))
            || l.connector_name.as_deref().is_some_and(|n| n.ends_with(" - AAD"))
    });
    if !reaches_entra {
        return Ok(Outcome::NoEntraLineage(mv));
    }
    Ok(Outcome::Joined(cs, mv))
}

impl Outcome<'_> {
    fn finding(&self, v: &UserView) -> Finding {
        let who = &v.query.text;
        let scope = v.scope();
        let cs_evidence = |f: crate::finding::Draft, cs: &CsObject| {
            let f = f.evidence_from("AD connector space object", cs.distinguished_name.clone(), cs.file.clone());
            match &cs.object_id {
                Some(id) => f.evidence("ObjectId", id.to_string()),
                None => f,
            }
        };
        match self {
            Outcome::NotInConnectorSpace => RULE
                .finding(
                    Status::Fail,
                    scope,
                    format!(
                        "{who} is not in the AD connector space: the sync engine never imported them, so it holds \
                         no password to sync. The user is out of scope (PHS019 names the filter when it can), or \
                         the object was created after the last import."
                    ),
                )
                .fix(
                    "Fix the filter that leaves the user out, or wait for the next import (Start-ADSyncSyncCycle \
                     -PolicyType Delta); then gather the connector space object again.",
                    &["Start-ADSyncSyncCycle -PolicyType Delta"],
                )
                .done(),
            Outcome::Placeholder(cs) => cs_evidence(
                RULE.finding(
                    Status::Fail,
                    scope,
                    format!("{who}'s AD connector space object is a placeholder: the object itself was never imported."),
                ),
                cs,
            )
            .fix("Check the connector's object types and the user's scope (PHS019), then run a full import.", &[])
            .done(),
            Outcome::Disconnector(cs) => cs_evidence(
                RULE.finding(
                    Status::Fail,
                    scope,
                    format!(
                        "{who} is in the AD connector space but is a disconnector (IsConnector false): not joined to \
                         the metaverse, so nothing of theirs, password included, goes on to Entra ID. The inbound \
                         rules' scope filtered the object, or no join rule matched it."
                    ),
                ),
                cs,
            )
            .fix(
                "Run the object's preview in Synchronization Service Manager (or Invoke-ADSyncSingleObjectSync) to see which rule filters it.",
                &[],
            )
            .done(),
            Outcome::SyncError(cs, e) => {
                let f = cs_evidence(
                    RULE.finding(
                        Status::Fail,
                        scope,
                        format!(
                            "{who}'s AD connector space object has a synchronization error: {}.",
                            e.error_name.as_deref().or(e.error_literal.as_deref()).unwrap_or("no name given")
                        ),
                    ),
                    cs,
                );
                error_evidence(f, e).fix("Fix the error the engine reports, then run a delta synchronization.", &[]).done()
            }
            Outcome::CloudFiltered(mv, value) => RULE
                .finding(
                    Status::Fail,
                    scope,
                    format!(
                        "{who}'s metaverse object has cloudFiltered = {value}: the standard rules keep it out of \
                         Entra ID (adminDescription starting with User_, a critical system object, or another \
                         filter of the inbound rules)."
                    ),
                )
                .evidence_from("Metaverse object", mv.object_id.as_ref().map_or("?".into(), |i| i.to_string()), mv.file.clone())
                .fix("Find which inbound rule sets cloudFiltered in the metaverse object's lineage, and remove the cause.", &[])
                .done(),
            Outcome::NoEntraLineage(mv) => {
                let mut f = RULE.finding(
                    Status::Fail,
                    scope,
                    format!(
                        "{who}'s metaverse object is not connected to the Entra connector: it was never provisioned \
                         to Entra ID (no outbound rule applied)."
                    ),
                );
                for l in &mv.lineage {
                    f = f.evidence("Lineage", l.connector_name.clone().unwrap_or_else(|| "?".into()));
                }
                f.fix("Check the outbound rules' scope for this object (Synchronization Rules Editor) and run a delta synchronization.", &[]).done()
            }
            Outcome::Joined(cs, mv) => {
                let f = RULE.finding(
                    Status::Pass,
                    scope,
                    format!("{who} is joined: AD connector space, metaverse and Entra connector."),
                );
                cs_evidence(f, cs)
                    .evidence_from(
                        "Metaverse object",
                        mv.object_id.as_ref().map_or("?".into(), |i| i.to_string()),
                        mv.file.clone(),
                    )
                    .done()
            }
        }
    }
}

/// An engine error's fields as evidence: the one wording for export and sync errors.
pub(crate) fn error_evidence(mut f: crate::finding::Draft, e: &SyncEngineError) -> crate::finding::Draft {
    for (label, value) in [
        ("Error", &e.error_name),
        ("Error code", &e.error_code),
        ("Error text", &e.error_literal),
        ("Details", &e.error_extra_details),
    ] {
        if let Some(value) = value {
            f = f.evidence(label, value.clone());
        }
    }
    if let Some(n) = e.retry_count {
        f = f.evidence("Retries", n.to_string());
    }
    if let Some(t) = e.latest_occurrence {
        f = f.evidence("Latest occurrence", t.to_string());
    }
    f
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
    fn joined_passes() {
        assert_eq!(with(|_| {}).status, Status::Pass);
    }

    #[test]
    fn each_break_is_named() {
        let f = with(|s| s.server.cs_objects.as_mut().unwrap()[0].is_connector = Some(false));
        assert!(f.message.contains("disconnector"), "{}", f.message);
        let f = with(|s| {
            s.server.mv_objects.as_mut().unwrap()[0].attributes.insert("cloudFiltered".into(), vec!["true".into()]);
        });
        assert!(f.message.contains("cloudFiltered"), "{}", f.message);
        let f = with(|s| {
            s.server.mv_objects.as_mut().unwrap()[0].lineage.pop();
        });
        assert!(f.message.contains("not connected to the Entra connector"), "{}", f.message);
        let f = with(|s| s.server.cs_objects = Some(Vec::new()));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("not in the AD connector space"), "{}", f.message);
    }

    #[test]
    fn missing_or_foreign_evidence_is_not_a_verdict() {
        let f = with(|s| s.server.mv_objects = None);
        assert_eq!(f.status, Status::Skipped, "{f:?}");
        // Only the Entra object supplied: two causes, so no verdict.
        let f = with(|s| {
            s.server.cs_objects.as_mut().unwrap().remove(0);
        });
        assert_eq!(f.status, Status::Error, "{f:?}");
        // A connector space object of someone else.
        let f = with(|s| {
            let o = &mut s.server.cs_objects.as_mut().unwrap()[0];
            o.distinguished_name = "CN=Bob,OU=Staff,DC=fabrikam,DC=com".into();
        });
        assert_eq!(f.status, Status::Error, "{f:?}");
        assert!(f.message.contains("another object"));
    }
}

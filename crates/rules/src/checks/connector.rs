use crate::context::Context;
use crate::registry::{Need, Rule};
use phs_model::{ConnectorKind, Finding, Scope, ScopeKind, ServerConfig, Status};

pub const RULE: Rule = Rule {
    code: "PHS003",
    name: "connector-password-sync-enabled",
    scope: ScopeKind::Connector,
    title: "Password hash synchronization is enabled for each AD connector",
    doc: "\
## What it checks
For every on-premises AD connector in the configuration export, the
connector's own password hash sync switch (`password-hash-sync-config/enabled`,
what `Get-ADSyncAADPasswordSyncConfiguration -SourceConnector` reports) and its
target, which must be the Entra connector. At server scope it fails when the
export has no AD connector or no Entra connector, and warns when there is more
than one Entra connector. It also looks for the sync rules that carry hashes:
an enabled inbound rule with \"Enable Password Sync\" for each AD connector, and
an outbound one for the Entra connector.

## Why it matters
Each forest has its own password hash sync channel. A connector whose switch
is off sends no hashes even when the tenant feature is on; a channel pointing
at a connector that is not the Entra connector goes nowhere; without a sync
rule that has password sync enabled, no object qualifies.

## How to fix
Turn password hash synchronization off and on again in the Entra Connect
wizard (Customize synchronization options), which rewrites every channel. The
manual equivalent is `Set-ADSyncAADPasswordSyncConfiguration -SourceConnector
<AD connector> -TargetConnector <Entra connector> -Enable $true`.

## Evidence
The connector file, its switch and target, and the matching sync rules.",
    references: &[
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-selective-password-hash-synchronization",
    ],
    needs: &[Need::ServerConfig],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let Some(cfg) = &cx.snapshot.server.config else {
        return Vec::new(); // Unreachable: the registry applies the rule's needs first.
    };

    let mut findings = server_topology(cfg);
    let entra: Vec<_> = cfg.entra_connectors().collect();
    for (connector, ad) in cfg.ad_connectors() {
        let scope = Scope::connector(&connector.name);
        let mut d = match &ad.phs {
            None => RULE
                .finding(
                    Status::Fail,
                    scope,
                    format!(
                        "AD connector {} has no password hash sync configuration: it sends no hashes.",
                        connector.name
                    ),
                )
                .evidence_from("password-hash-sync-config", "absent", &connector.file),
            Some(phs) if !phs.enabled => RULE
                .finding(
                    Status::Fail,
                    scope,
                    format!("Password hash synchronization is disabled for AD connector {}.", connector.name),
                )
                .evidence_from("password-hash-sync-config/enabled", "0", &connector.file),
            Some(phs) => {
                let target = phs.target.as_ref().and_then(|t| cfg.connector(t));
                match target {
                    Some(t) if t.kind == ConnectorKind::EntraId => RULE
                        .finding(
                            Status::Pass,
                            scope,
                            format!("Password hash synchronization is enabled for AD connector {} (target {}).", connector.name, t.name),
                        )
                        .evidence_from("password-hash-sync-config/enabled", "1", &connector.file),
                    _ => RULE
                        .finding(
                            Status::Fail,
                            scope,
                            format!(
                                "The password hash sync channel of AD connector {} targets {}, which is not the Entra connector: hashes go nowhere.",
                                connector.name,
                                match (&phs.target, target) {
                                    (Some(_), Some(t)) => format!("connector {}", t.name),
                                    (Some(id), None) => format!("{{{id}}}, a connector that does not exist"),
                                    (None, _) => "no connector".to_owned(),
                                }
                            ),
                        )
                        .evidence_from("password-hash-sync-config/enabled", "1", &connector.file),
                }
            }
        };
        if let Some(phs) = &ad.phs {
            d = d.evidence(
                "password-hash-sync-config/target",
                phs.target.as_ref().map_or("absent".into(), |t| format!("{{{t}}}")),
            );
        }
        d = d.evidence("Connector id", format!("{{{}}}", connector.id));
        let enabled = ad.phs.as_ref().is_some_and(|p| p.enabled);
        let rules = password_sync_rules(cfg, &connector.id, "inbound");
        if !cfg.sync_rules.is_empty() {
            d = d.evidence(
                "Inbound sync rules with password sync",
                if rules.is_empty() { "none".into() } else { rules.join(", ") },
            );
        }
        let mut finding = if enabled && !cfg.sync_rules.is_empty() && rules.is_empty() {
            let mut f = d
                .fix(
                    "Enable \"Enable Password Sync\" on an inbound user rule for this connector (the default is \"In from AD - User AccountEnabled\") in the Synchronization Rules Editor, or restore the default rules with the wizard.",
                    &[],
                )
                .done();
            f.status = Status::Warn;
            f.message.push_str(
                " But no enabled inbound sync rule of this connector has password sync enabled, so no user qualifies.",
            );
            f
        } else if enabled {
            d.done()
        } else {
            d.fix_commands(
                "Turn password hash synchronization off and on again in the Entra Connect wizard (Customize synchronization options), or enable this channel directly:",
                crate::command::fill_all(
                    &["Set-ADSyncAADPasswordSyncConfiguration -SourceConnector '<connector>' -TargetConnector '<Entra connector name>' -Enable $true"],
                    &[
                        ("<connector>", &connector.name),
                        ("<Entra connector name>", entra.first().map_or("<Entra connector name>", |c| c.name.as_str())),
                    ],
                ),
            )
            .done()
        };
        finding.evidence.sort_by_key(|e| e.label != "password-hash-sync-config/enabled");
        findings.push(finding);
    }
    findings
}

/// Server-scope failures: the connectors password hash sync needs at all.
fn server_topology(cfg: &ServerConfig) -> Vec<Finding> {
    let ad = cfg.ad_connectors().count();
    let entra: Vec<&str> = cfg.entra_connectors().map(|c| c.name.as_str()).collect();
    let all: Vec<String> = cfg.connectors.iter().map(|c| format!("{} ({})", c.name, c.category)).collect();
    let mut out = Vec::new();
    let base = |status, message: &str| {
        RULE.finding(status, Scope::server(), message).evidence_from(
            "Connectors in the export",
            if all.is_empty() { "none".into() } else { all.join(", ") },
            &cfg.path,
        )
    };
    if ad == 0 {
        out.push(
            base(Status::Fail, "The export has no on-premises AD connector: there is nothing to read password hashes from.")
                .fix("Add the forest with the Entra Connect wizard (Customize synchronization options > Connect your directories).", &[])
                .done(),
        );
    }
    if entra.is_empty() {
        out.push(
            base(Status::Fail, "The export has no Entra connector: there is nowhere to send password hashes.")
                .fix("Re-run the Entra Connect wizard to recreate the connection to Microsoft Entra ID.", &[])
                .done(),
        );
    } else if entra.len() > 1 {
        out.push(
            base(
                Status::Warn,
                &format!(
                    "The export has {} Entra connectors ({}); Microsoft's tools handle only one.",
                    entra.len(),
                    entra.join(", ")
                ),
            )
            .done(),
        );
    }
    if !cfg.sync_rules.is_empty() {
        for e in cfg.entra_connectors() {
            if password_sync_rules(cfg, &e.id, "outbound").is_empty() {
                out.push(
                    RULE.finding(
                        Status::Warn,
                        Scope::server(),
                        format!("No enabled outbound sync rule to {} has password sync enabled, so no hash is exported.", e.name),
                    )
                    .fix("Enable \"Enable Password Sync\" on the outbound user join rule (default \"Out to AAD - User Join\") in the Synchronization Rules Editor.", &[])
                    .done(),
                );
            }
        }
    }
    out
}

fn password_sync_rules(cfg: &ServerConfig, connector: &phs_model::Guid, direction: &str) -> Vec<String> {
    cfg.sync_rules
        .iter()
        .filter(|r| r.enable_password_sync && !r.disabled && r.direction.eq_ignore_ascii_case(direction))
        .filter(|r| r.connector.as_ref() == Some(connector))
        .map(|r| r.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use phs_model::Guid;

    #[test]
    fn pass_for_each_enabled_connector() {
        let f = run(&snapshot_with_export(), check);
        assert_eq!(statuses(&f), [Status::Pass, Status::Pass]);
        assert_eq!(for_scope(&f, "tailspintoys.com", None).status, Status::Pass);
    }

    #[test]
    fn fail_for_a_disabled_connector_with_the_exact_command() {
        let mut s = snapshot_with_export();
        s.server.config.as_mut().unwrap().connectors[1].ad.as_mut().unwrap().phs.as_mut().unwrap().enabled = false;
        let f = run(&s, check);
        let t = for_scope(&f, "tailspintoys.com", None);
        assert_eq!(t.status, Status::Fail);
        let fix = t.remediation.as_ref().unwrap();
        assert!(fix.commands[0]
            .contains("-SourceConnector 'tailspintoys.com' -TargetConnector 'fabrikam.onmicrosoft.com - AAD'"));
        assert_eq!(for_scope(&f, "fabrikam.com", None).status, Status::Pass);
    }

    #[test]
    fn fail_when_the_target_is_not_the_entra_connector() {
        let mut s = snapshot_with_export();
        s.server.config.as_mut().unwrap().connectors[0].ad.as_mut().unwrap().phs.as_mut().unwrap().target =
            Guid::parse(TAILSPIN);
        let f = run(&s, check);
        let c = for_scope(&f, "fabrikam.com", None);
        assert_eq!(c.status, Status::Fail);
        assert!(c.message.contains("not the Entra connector"), "{}", c.message);
    }

    #[test]
    fn server_scope_fails_without_ad_or_entra_connector() {
        let mut s = snapshot_with_export();
        s.server.config.as_mut().unwrap().connectors.retain(|c| c.kind == ConnectorKind::EntraId);
        let f = run(&s, check);
        assert_eq!(statuses(&f), [Status::Fail]);
        assert_eq!(f[0].scope.kind, ScopeKind::Server);

        let mut s = snapshot_with_export();
        s.server.config.as_mut().unwrap().connectors.retain(|c| c.kind != ConnectorKind::EntraId);
        let f = run(&s, check);
        assert_eq!(f[0].scope.kind, ScopeKind::Server);
        assert_eq!(f[0].status, Status::Fail);
        assert!(f[0].message.contains("no Entra connector"));
    }

    #[test]
    fn warn_without_a_password_sync_rule() {
        let mut s = snapshot_with_export();
        s.server.config.as_mut().unwrap().sync_rules[1].enable_password_sync = false;
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "tailspintoys.com", None).status, Status::Warn);
        assert_eq!(for_scope(&f, "fabrikam.com", None).status, Status::Pass);
    }

    #[test]
    fn skipped_without_export() {
        assert_eq!(statuses(&run(&snapshot(), check)), [Status::Skipped]);
    }
}

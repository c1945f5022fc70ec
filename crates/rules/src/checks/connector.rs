use crate::context::Context;
use crate::registry::{Need, Rule};
use phs_model::{ConnectorKind, Finding, PhsChannel, Scope, ScopeKind, ServerConfig, Status};

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
        let rules = password_sync_rules(cfg, &connector.id, "inbound");
        let outcome = decide(cfg, ad.phs.as_ref(), !cfg.sync_rules.is_empty() && rules.is_empty());
        let (status, message) = outcome.words(&connector.name);
        let mut d = RULE.finding(status, Scope::connector(&connector.name), message);
        d = match outcome {
            Channel::Absent => d.evidence_from("password-hash-sync-config", "absent", &connector.file),
            Channel::Disabled => d.evidence_from("password-hash-sync-config/enabled", "0", &connector.file),
            Channel::ToEntra { .. } | Channel::Elsewhere { .. } => {
                d.evidence_from("password-hash-sync-config/enabled", "1", &connector.file)
            }
        };
        if let Some(phs) = &ad.phs {
            d = d.evidence(
                "password-hash-sync-config/target",
                phs.target.as_ref().map_or("absent".into(), |t| format!("{{{t}}}")),
            );
        }
        d = d.evidence("Connector id", format!("{{{}}}", connector.id));
        if !cfg.sync_rules.is_empty() {
            d = d.evidence(
                "Inbound sync rules with password sync",
                if rules.is_empty() { "none".into() } else { rules.join(", ") },
            );
        }
        let d = match outcome {
            Channel::ToEntra { no_user_qualifies: true, .. } | Channel::Elsewhere { no_user_qualifies: true, .. } => d
                .fix(
                    "Enable \"Enable Password Sync\" on an inbound user rule for this connector (the default is \"In from AD - User AccountEnabled\") in the Synchronization Rules Editor, or restore the default rules with the wizard.",
                    &[],
                ),
            Channel::ToEntra { .. } | Channel::Elsewhere { .. } => d,
            Channel::Absent | Channel::Disabled => d.fix_commands(
                "Turn password hash synchronization off and on again in the Entra Connect wizard (Customize synchronization options), or enable this channel directly:",
                crate::command::fill_all(
                    &["Set-ADSyncAADPasswordSyncConfiguration -SourceConnector '<connector>' -TargetConnector '<Entra connector name>' -Enable $true"],
                    &[
                        ("<connector>", &connector.name),
                        ("<Entra connector name>", entra.first().map_or("<Entra connector name>", |c| c.name.as_str())),
                    ],
                ),
            ),
        };
        let mut finding = d.done();
        finding.evidence.sort_by_key(|e| e.label != "password-hash-sync-config/enabled");
        findings.push(finding);
    }
    findings
}

/// What an AD connector's password hash sync channel amounts to;
/// `no_user_qualifies`: the export has sync rules but none of them is an
/// enabled inbound rule of this connector with password sync.
fn decide<'a>(cfg: &'a ServerConfig, phs: Option<&'a PhsChannel>, no_user_qualifies: bool) -> Channel<'a> {
    let Some(phs) = phs else {
        return Channel::Absent;
    };
    if !phs.enabled {
        return Channel::Disabled;
    }
    match (&phs.target, phs.target.as_ref().and_then(|t| cfg.connector(t))) {
        (_, Some(t)) if t.kind == ConnectorKind::EntraId => Channel::ToEntra { target: &t.name, no_user_qualifies },
        (Some(_), Some(t)) => Channel::Elsewhere { target: Target::Connector(&t.name), no_user_qualifies },
        (Some(id), None) => Channel::Elsewhere { target: Target::Missing(id), no_user_qualifies },
        (None, _) => Channel::Elsewhere { target: Target::Unset, no_user_qualifies },
    }
}

/// What PHS003 decides for one AD connector, before [`Channel::words`] puts
/// it in words.
#[derive(Debug, PartialEq)]
enum Channel<'a> {
    /// The connector has no password hash sync configuration.
    Absent,
    /// The channel is configured but disabled.
    Disabled,
    /// Enabled towards the Entra connector named.
    ToEntra { target: &'a str, no_user_qualifies: bool },
    /// Enabled towards something that is not the Entra connector.
    Elsewhere { target: Target<'a>, no_user_qualifies: bool },
}

/// Where a misrouted channel sends the hashes.
#[derive(Debug, PartialEq)]
enum Target<'a> {
    /// Another connector of the export.
    Connector(&'a str),
    /// A connector ID the export does not hold.
    Missing(&'a phs_model::Guid),
    /// No target at all.
    Unset,
}

impl Channel<'_> {
    fn words(&self, connector: &str) -> (Status, String) {
        let (status, message, no_user_qualifies) = match self {
            Channel::Absent => (
                Status::Fail,
                format!("AD connector {connector} has no password hash sync configuration: it sends no hashes."),
                false,
            ),
            Channel::Disabled => (
                Status::Fail,
                format!("Password hash synchronization is disabled for AD connector {connector}."),
                false,
            ),
            Channel::ToEntra { target, no_user_qualifies } => (
                Status::Pass,
                format!("Password hash synchronization is enabled for AD connector {connector} (target {target})."),
                *no_user_qualifies,
            ),
            Channel::Elsewhere { target, no_user_qualifies } => (
                Status::Fail,
                format!(
                    "The password hash sync channel of AD connector {connector} targets {}, which is not the Entra connector: hashes go nowhere.",
                    match target {
                        Target::Connector(name) => format!("connector {name}"),
                        Target::Missing(id) => format!("{{{id}}}, a connector that does not exist"),
                        Target::Unset => "no connector".to_owned(),
                    }
                ),
                *no_user_qualifies,
            ),
        };
        // Without a rule that lets a user's password through, an enabled
        // channel sends nothing: a warning, added to a misrouted channel's
        // failure without softening it.
        if no_user_qualifies {
            return (
                status.max(Status::Warn),
                format!(
                    "{message} But no enabled inbound sync rule of this connector has password sync enabled, so no user qualifies."
                ),
            );
        }
        (status, message)
    }
}

/// What PHS003 decides for the server as a whole: the connectors password
/// hash sync needs at all.
enum Topology<'a> {
    NoAdConnector,
    NoEntraConnector,
    ManyEntraConnectors(Vec<&'a str>),
    /// No enabled outbound rule to this Entra connector has password sync.
    NoOutboundRule {
        entra: &'a str,
    },
}

impl Topology<'_> {
    fn words(&self) -> (Status, String) {
        match self {
            Topology::NoAdConnector => (
                Status::Fail,
                "The export has no on-premises AD connector: there is nothing to read password hashes from.".into(),
            ),
            Topology::NoEntraConnector => {
                (Status::Fail, "The export has no Entra connector: there is nowhere to send password hashes.".into())
            }
            Topology::ManyEntraConnectors(names) => (
                Status::Warn,
                format!(
                    "The export has {} Entra connectors ({}); Microsoft's tools handle only one.",
                    names.len(),
                    names.join(", ")
                ),
            ),
            Topology::NoOutboundRule { entra } => (
                Status::Warn,
                format!("No enabled outbound sync rule to {entra} has password sync enabled, so no hash is exported."),
            ),
        }
    }

    fn fix(&self) -> Option<&'static str> {
        match self {
            Topology::NoAdConnector => Some("Add the forest with the Entra Connect wizard (Customize synchronization options > Connect your directories)."),
            Topology::NoEntraConnector => Some("Re-run the Entra Connect wizard to recreate the connection to Microsoft Entra ID."),
            Topology::ManyEntraConnectors(_) => None,
            Topology::NoOutboundRule { .. } => Some("Enable \"Enable Password Sync\" on the outbound user join rule (default \"Out to AAD - User Join\") in the Synchronization Rules Editor."),
        }
    }
}

/// Server-scope findings: the connectors password hash sync needs at all.
fn server_topology(cfg: &ServerConfig) -> Vec<Finding> {
    let entra: Vec<&str> = cfg.entra_connectors().map(|c| c.name.as_str()).collect();
    let all: Vec<String> = cfg.connectors.iter().map(|c| format!("{} ({})", c.name, c.category)).collect();
    let mut outcomes = Vec::new();
    if cfg.ad_connectors().count() == 0 {
        outcomes.push(Topology::NoAdConnector);
    }
    if entra.is_empty() {
        outcomes.push(Topology::NoEntraConnector);
    } else if entra.len() > 1 {
        outcomes.push(Topology::ManyEntraConnectors(entra));
    }
    if !cfg.sync_rules.is_empty() {
        for e in cfg.entra_connectors() {
            if password_sync_rules(cfg, &e.id, "outbound").is_empty() {
                outcomes.push(Topology::NoOutboundRule { entra: &e.name });
            }
        }
    }
    outcomes
        .iter()
        .map(|outcome| {
            let (status, message) = outcome.words();
            let mut d = RULE.finding(status, Scope::server(), message);
            // The connector list shows what the missing connectors are missing from.
            if !matches!(outcome, Topology::NoOutboundRule { .. }) {
                d = d.evidence_from(
                    "Connectors in the export",
                    if all.is_empty() { "none".into() } else { all.join(", ") },
                    &cfg.path,
                );
            }
            match outcome.fix() {
                Some(fix) => d.fix(fix, &[]).done(),
                None => d.done(),
            }
        })
        .collect()
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
        let cfg = s.server.config.as_ref().unwrap();
        let phs = cfg.connectors[0].ad.as_ref().unwrap().phs.as_ref();
        assert_eq!(
            decide(cfg, phs, false),
            Channel::Elsewhere { target: Target::Connector("tailspintoys.com"), no_user_qualifies: false }
        );
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

    /// A misrouted channel stays a failure when no rule qualifies a user
    /// either: the warning is added, it does not soften the failure.
    #[test]
    fn a_misrouted_channel_without_a_rule_still_fails() {
        let mut s = snapshot_with_export();
        let cfg = s.server.config.as_mut().unwrap();
        cfg.connectors[1].ad.as_mut().unwrap().phs.as_mut().unwrap().target = Guid::parse(FABRIKAM);
        cfg.sync_rules[1].enable_password_sync = false;
        let t = for_scope(&run(&s, check), "tailspintoys.com", None).clone();
        assert_eq!(t.status, Status::Fail, "{t:?}");
        assert!(
            t.message.contains("not the Entra connector") && t.message.contains("no user qualifies"),
            "{}",
            t.message
        );
    }

    #[test]
    fn skipped_without_export() {
        assert_eq!(statuses(&run(&snapshot(), check)), [Status::Skipped]);
    }
}

use crate::context::{human_duration, partition_fqdn, Context};
use crate::knowledge::event_ids::DOMAIN_SYNC_FAILED;
use crate::knowledge::sync_errors::{classify, SyncErrorClass};
use crate::registry::Rule;
use phs_model::{Event, Finding, PartitionSyncState, Scope, ScopeKind, SourceKind, Status};

pub const RULE: Rule = Rule {
    code: "PHS008",
    name: "domain-password-sync-errors",
    scope: ScopeKind::Domain,
    title: "No domain reports password synchronization errors",
    doc: "\
## What it checks
For every selected domain partition of every AD connector, the events 611
(\"Password synchronization failed for domain\") of the last 2 hours whose text
names the domain, each classified by root cause from its exception and stack:
replication access denied (RPC 8453), replication rejected by the DC (RPC 8456),
bad connector credentials, cannot resolve a DC, cannot locate a DC, RPC server
unavailable, other RPC errors, LDAP, cryptography (FIPS), and internal errors.
Five or more in the window make the problem persistent (fail); fewer warn. The
domain's row of `Get-ADSyncPartitionPasswordSyncState`, when supplied, is
shown as evidence, and judges the domain when no event log is supplied.

## Why it matters
The agent retries a failing domain every two minutes and writes a 611 each
time; users of that domain get no new password in the cloud while the others
work. The exception says exactly why, but it is buried in a stack trace.

## How to fix
Follow the fix for the class found: grant Replicating Directory Changes and
Replicating Directory Changes All (`Set-ADSyncPasswordHashSyncPermissions`),
update the connector account password, fix DNS or the firewall towards the
DCs (TCP 135 and the dynamic RPC ports), re-enable outbound replication on the
DC, or allow MD5 under FIPS in `miiserver.exe.config`.

## Evidence
Count, first and last occurrence, the classes seen, the newest message.",
    references: &[
        "https://learn.microsoft.com/troubleshoot/entra/entra-id/user-prov-sync/troubleshoot-pwd-sync",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-configure-ad-ds-connector-account",
        "https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization",
    ],
    check,
};

fn check(cx: &Context) -> Vec<Finding> {
    let window = cx.settings.error_window;
    let threshold = cx.settings.persistent_error_count;
    let states = cx.snapshot.server.partition_sync_state.as_deref().unwrap_or(&[]);
    let events_problem = cx.snapshot.problems_for(SourceKind::Events).find(|p| !p.partial);
    let mut out = Vec::new();
    for (connector, ad) in cx.ad_connectors() {
        let enabled = ad.phs.as_ref().is_some_and(|p| p.enabled);
        for partition in ad.partitions.iter().filter(|p| p.selected) {
            let fqdn = partition_fqdn(partition);
            let scope = Scope::domain(&connector.name, &fqdn);
            if !enabled {
                out.push(
                    RULE.finding(
                        Status::Skipped,
                        scope,
                        "Password hash synchronization is disabled for this connector (see PHS003).",
                    )
                    .done(),
                );
                continue;
            }
            let state = states.iter().find(|s| {
                s.dn.eq_ignore_ascii_case(&partition.dn) && s.connector_id.as_ref().is_none_or(|id| *id == connector.id)
            });
            if cx.events().is_none() {
                out.push(judge_by_state(
                    cx,
                    scope,
                    state,
                    events_problem.map(|p| format!("{}: {}", p.location, p.error)),
                ));
                continue;
            }
            let errors: Vec<&Event> =
                cx.recent(&[DOMAIN_SYNC_FAILED], window).filter(|e| names_domain(&e.text(), &fqdn)).collect();
            let mut d = match errors.last() {
                None => RULE.finding(
                    Status::Pass,
                    scope,
                    format!(
                        "No password synchronization errors (event 611) for {fqdn} in the last {}.",
                        human_duration(window)
                    ),
                ),
                Some(newest) => {
                    let class = classify(&newest.text());
                    let status = if errors.len() >= threshold { Status::Fail } else { Status::Warn };
                    let persistence = if status == Status::Fail { "persistent" } else { "intermittent" };
                    RULE.finding(
                        status,
                        scope,
                        format!(
                            "{} password synchronization errors for {fqdn} in the last {} ({persistence}): {}.",
                            errors.len(),
                            human_duration(window),
                            class.cause
                        ),
                    )
                    .evidence("Root cause", class.id)
                    .evidence("Classes seen", classes_seen(&errors))
                    .evidence("First / last", format!("{} / {}", errors[0].time, newest.time))
                    .evidence("Newest message", headline(&newest.text()))
                    .fix_owned(class.fix.to_owned(), commands(class, connector_account(ad), partition, &fqdn))
                }
            };
            if let Some(s) = state {
                d = d.evidence("Partition sync state", describe_state(cx, s));
            }
            if d.status() != Status::Pass {
                if !partition.preferred_dcs.is_empty() {
                    d = d.evidence_from("Preferred DCs", partition.preferred_dcs.join(", "), &connector.file);
                }
                if let Some(dc) = &partition.last_dc {
                    d = d.evidence_from("Last DC used", dc.clone(), &connector.file);
                }
            }
            out.push(d.done());
        }
    }
    out
}

/// Without an event log, the partition sync state is the only per-domain signal.
fn judge_by_state(
    cx: &Context,
    scope: Scope,
    state: Option<&PartitionSyncState>,
    events_problem: Option<String>,
) -> Finding {
    let Some(s) = state else {
        let (status, message) = match events_problem {
            Some(p) => (Status::Error, format!("Could not read the event log: {p}")),
            None => (
                Status::Skipped,
                "No event log (--events) or partition sync state (--partition-sync-state) supplied.".to_owned(),
            ),
        };
        return RULE.finding(status, scope, message).done();
    };
    let successful = s.last_cycle_status.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("successful"));
    let fresh = s.last_successful_cycle_end.is_some_and(|t| t >= cx.now - cx.settings.error_window);
    let (status, message) = if successful && fresh {
        (
            Status::Pass,
            "The last password sync cycle for this domain succeeded recently (partition sync state).".to_owned(),
        )
    } else {
        (
            Status::Warn,
            "The partition sync state shows no recent successful password sync cycle for this domain; supply the event log to see why.".to_owned(),
        )
    };
    RULE.finding(status, scope, message).evidence("Partition sync state", describe_state(cx, s)).done()
}

/// Microsoft's script looks for " " + domain so that `contoso.com` does not
/// match `child.contoso.com`; the same here, ignoring case.
fn names_domain(text: &str, fqdn: &str) -> bool {
    let text = text.to_lowercase();
    let needle = format!(" {}", fqdn.to_lowercase());
    text.match_indices(&needle).any(|(i, m)| {
        let next = text[i + m.len()..].chars().next();
        // "contoso.com." ends a sentence; "contoso.com.au" is another domain.
        match next {
            None => true,
            Some('.') => !text[i + m.len() + 1..].starts_with(|c: char| c.is_alphanumeric()),
            Some(c) => !(c.is_alphanumeric() || c == '-'),
        }
    })
}

fn classes_seen(errors: &[&Event]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for e in errors {
        let id = classify(&e.text()).id;
        match counts.iter_mut().find(|(i, _)| *i == id) {
            Some((_, n)) => *n += 1,
            None => counts.push((id, 1)),
        }
    }
    counts.iter().map(|(id, n)| format!("{id} x{n}")).collect::<Vec<_>>().join(", ")
}

fn connector_account(ad: &phs_model::AdConnector) -> (String, String) {
    (
        ad.login_user.clone().unwrap_or_else(|| "<connector account>".into()),
        ad.login_domain.clone().unwrap_or_else(|| "<account domain>".into()),
    )
}

/// The class's commands with this domain's names filled in.
fn commands(
    class: &SyncErrorClass,
    (account, account_domain): (String, String),
    partition: &phs_model::Partition,
    fqdn: &str,
) -> Vec<String> {
    // The DC to test: the first preferred DC, else the one last used.
    let dc = partition.preferred_dcs.first().or(partition.last_dc.as_ref()).map_or("<DC>", String::as_str);
    // dsacls takes DOMAIN\user for a NetBIOS name and user@domain for a DNS name.
    let principal = if account_domain.contains('.') {
        format!("{account}@{account_domain}")
    } else {
        format!("{account_domain}\\{account}")
    };
    class
        .commands
        .iter()
        .map(|c| {
            c.replace("<account principal>", &principal)
                .replace("<account domain>", &account_domain)
                .replace("<account>", &account)
                .replace("<domain root DN>", &partition.dn)
                .replace("<domain>", fqdn)
                .replace("<DC>", dc)
        })
        .collect()
}

fn describe_state(cx: &Context, s: &PartitionSyncState) -> String {
    format!(
        "last cycle {}, last successful cycle ended {}",
        s.last_cycle_status.as_deref().unwrap_or("unknown"),
        s.last_successful_cycle_end.map_or("never".to_owned(), |t| format!("{t} ({})", cx.age(t)))
    )
}

/// The first line of an event text (the exception message), cut to a length
/// a report can show; the whole text stays in the event log.
fn headline(text: &str) -> String {
    const MAX: usize = 300;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    const DENIED: &str = "Password synchronization failed for domain: emea.fabrikam.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsException: RPC Error 8453: Replication access was denied. There was an error calling _IDL_DRSGetNCChanges.\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.OnGetChanges(ReplicationState syncState)";
    const LOCATE: &str = "Password synchronization failed for domain: tailspintoys.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: tailspintoys.com. ---> System.DirectoryServices.ActiveDirectory.ActiveDirectoryObjectNotFoundException: The specified domain controller could not be found.\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryUtility.FindPreferredDC(String domainName)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";

    #[test]
    fn pass_without_611() {
        let mut s = snapshot_with_export();
        with_events(&mut s, vec![event(654, 5, "ping end")]);
        assert_eq!(statuses(&run(&s, check)), [Status::Pass; 3]);
    }

    #[test]
    fn persistent_access_denied_fails_with_the_permission_command() {
        let mut s = snapshot_with_export();
        with_events(&mut s, (0..6).map(|i| event(611, 5 + i * 2, DENIED)).collect());
        let f = run(&s, check);
        let emea = for_scope(&f, "fabrikam.com", Some("emea.fabrikam.com"));
        assert_eq!(emea.status, Status::Fail);
        assert!(emea.message.starts_with("6 password"), "{}", emea.message);
        assert!(emea.evidence.iter().any(|e| e.value == "replication-access-denied"));
        let fix = emea.remediation.as_ref().unwrap();
        assert!(fix.commands.iter().any(|c| c.contains("-ADConnectorAccountName MSOL_4f2a9c1b7e30")));
        assert!(fix.commands.iter().any(|c| c.contains("dsacls \"DC=emea,DC=fabrikam,DC=com\"")));
        // The parent domain is not named by " emea.fabrikam.com".
        assert_eq!(for_scope(&f, "fabrikam.com", Some("fabrikam.com")).status, Status::Pass);
    }

    #[test]
    fn few_errors_warn_and_old_ones_do_not_count() {
        let mut s = snapshot_with_export();
        with_events(
            &mut s,
            vec![event(611, 10, LOCATE), event(611, 30, LOCATE), event(611, 200, LOCATE), event(611, 300, LOCATE)],
        );
        let f = run(&s, check);
        let t = for_scope(&f, "tailspintoys.com", Some("tailspintoys.com"));
        assert_eq!(t.status, Status::Warn);
        assert!(t.message.starts_with("2 password"));
        assert!(t.evidence.iter().any(|e| e.value == "cannot-locate-dc"));
    }

    #[test]
    fn commands_name_the_preferred_dc_and_the_account() {
        let mut s = snapshot_with_export();
        let ad = s.server.config.as_mut().unwrap().connectors[1].ad.as_mut().unwrap();
        ad.partitions[0].preferred_dcs = vec!["dc02.tailspintoys.com".into()];
        ad.login_domain = Some("TAILSPINTOYS".into());
        with_events(&mut s, vec![event(611, 10, LOCATE)]);
        let f = run(&s, check);
        let t = for_scope(&f, "tailspintoys.com", Some("tailspintoys.com"));
        let cmds = &t.remediation.as_ref().unwrap().commands;
        assert!(cmds.contains(&"Test-NetConnection dc02.tailspintoys.com -Port 135".to_owned()), "{cmds:?}");
        assert!(t.evidence.iter().any(|e| e.label == "Preferred DCs" && e.value == "dc02.tailspintoys.com"));
        let class = crate::knowledge::sync_errors::classify(DENIED);
        let principal = commands(class, ("svc".into(), "TAILSPINTOYS".into()), &ad_partition(), "x");
        assert!(
            principal.iter().any(|c| c.contains("\"TAILSPINTOYS\\svc:CA;Replicating Directory Changes\"")),
            "{principal:?}"
        );
    }

    fn ad_partition() -> phs_model::Partition {
        phs_model::Partition { dn: "DC=x".into(), ..Default::default() }
    }

    #[test]
    fn domain_matching_needs_a_word_boundary() {
        assert!(names_domain("failed for domain: contoso.com. Details", "contoso.com"));
        assert!(names_domain("domain: Contoso.Com", "contoso.com"));
        assert!(!names_domain("domain: child.contoso.com.", "contoso.com"));
        assert!(!names_domain("domain: contoso.com.au.", "contoso.com"));
        assert!(!names_domain("domain: contoso.community", "contoso.com"));
    }

    #[test]
    fn partition_state_judges_without_events() {
        let mut s = snapshot_with_export();
        let row = |dn: &str, status: &str, minutes_ago: i64| PartitionSyncState {
            connector_id: None,
            dn: dn.into(),
            last_cycle_status: Some(status.into()),
            last_successful_cycle_end: Some(now() - jiff::SignedDuration::from_mins(minutes_ago)),
            ..Default::default()
        };
        s.server.partition_sync_state = Some(vec![
            row("DC=fabrikam,DC=com", "Successful", 2),
            row("DC=emea,DC=fabrikam,DC=com", "FailedReplicationAccessDenied", 600),
        ]);
        let f = run(&s, check);
        assert_eq!(for_scope(&f, "fabrikam.com", Some("fabrikam.com")).status, Status::Pass);
        assert_eq!(for_scope(&f, "fabrikam.com", Some("emea.fabrikam.com")).status, Status::Warn);
        assert_eq!(for_scope(&f, "tailspintoys.com", Some("tailspintoys.com")).status, Status::Skipped);
    }
}

//! Every rule's rendered findings over a few deployments built from the
//! fixtures, recorded with insta: a change of wording, evidence or fix shows
//! up as a reviewed diff of `snapshots/*.snap`. The recorded files are
//! checked in; a run never writes them (`cargo insta review` after an
//! intended change, or `INSTA_UPDATE=always` and review the diff).

use super::fixtures::*;
use super::user::fixtures as user;
use crate::{evaluate, Settings, RULES};
use phs_model::*;
use std::fmt::Write;

const GET_CHANGES: &str = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2";
const GET_CHANGES_ALL: &str = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2";

/// The findings as a person reviews them: grouped by rule, one block each.
fn rendered(s: &Snapshot) -> String {
    rendered_of(s, |_| true)
}

/// The user checks' findings only: the rest of a user deployment is
/// recorded by the deployments above.
fn rendered_user(s: &Snapshot) -> String {
    rendered_of(s, |f| f.scope.kind == ScopeKind::User)
}

fn rendered_of(s: &Snapshot, keep: fn(&Finding) -> bool) -> String {
    let d = evaluate(s, now(), &Settings::default());
    let mut out = String::new();
    for f in d.findings.iter().filter(|f| keep(f)) {
        let scope =
            [f.scope.connector.as_deref(), f.scope.domain.as_deref(), f.scope.user.as_deref()].into_iter().flatten();
        let _ = writeln!(
            out,
            "{} {} [{}] {} {}",
            f.code,
            f.name,
            f.status.as_str(),
            f.scope.kind.as_str(),
            scope.collect::<Vec<_>>().join(" / ")
        );
        let _ = writeln!(out, "  {}", f.message);
        for e in &f.evidence {
            let from = e.source.as_deref().map(|s| format!(" (from {s})")).unwrap_or_default();
            let _ = writeln!(out, "  - {}: {}{from}", e.label, e.value);
        }
        if let Some(r) = &f.remediation {
            let _ = writeln!(out, "  fix: {}", r.summary);
            for c in &r.commands {
                let _ = writeln!(out, "    > {c}");
            }
        }
    }
    let _ = writeln!(out, "overall: {}", d.overall().as_str());
    out
}

fn channel_event(id: u32, minutes_ago: i64, text: &str, partition: &str, connector: &str) -> Event {
    event(id, minutes_ago, &format!("{text}{}", forest_info(partition, connector)))
}

fn account(rid: u32) -> String {
    format!("{DOMAIN_SID}-{rid}")
}

/// The fixture export, from a server running `version`.
fn export_of(version: &str) -> Snapshot {
    let mut s = snapshot_with_export();
    let globals = &mut s.server.config.as_mut().unwrap().global_parameters;
    globals.insert("Microsoft.Synchronize.ServerConfigurationVersion".into(), version.into());
    s
}

/// Everything supplied and healthy: tenant, server, both forests' channels
/// and the fabrikam.com domain checked live (the others were not).
fn healthy() -> Snapshot {
    let mut s = export_of("2.5.190.0");
    s.server.company_features = Some(features(true));
    s.server.scheduler = Some(scheduler_state(false));
    s.tenant = Some(tenant(true, Some(20), Some(10)));
    with_events(
        &mut s,
        vec![
            event(601, 400, "Password synchronization manager started."),
            channel_event(654, 12, "Provision credentials ping end.", "fabrikam.com", FABRIKAM),
            channel_event(654, 9, "Provision credentials ping end.", "tailspintoys.com", TAILSPIN),
            event(663, 5, "Password synchronization manager is alive and running."),
        ],
    );
    let fabrikam =
        domain_with_acl(&format!("(OA;;CR;{GET_CHANGES};;{a})(OA;;CR;{GET_CHANGES_ALL};;{a})", a = account(1105)));
    let mut emea = domain_facts("fabrikam.com", "emea.fabrikam.com", "DC=emea,DC=fabrikam,DC=com");
    emea.not_checked = Some("Not in the [ad] section's domains.".into());
    let mut tailspin = domain_facts("tailspintoys.com", "tailspintoys.com", "DC=tailspintoys,DC=com");
    tailspin.not_checked = Some("No password for TAILSPINTOYS\\MSOL_4f2a9c1b7e30 in the [ad] section.".into());
    s.ad = Some(AdEvidence { domains: vec![fabrikam, emea, tailspin] });
    s
}

/// One thing broken per rule: an old build, staging on, PHS off for
/// tailspintoys.com, replication denied for emea.fabrikam.com, cloud errors,
/// a stopped channel, a stale tenant, a closed port, a refused bind, a
/// connector account with one of the two rights and a group that can read
/// changes it should not.
fn broken() -> Snapshot {
    let mut s = export_of("2.3.20.0");
    for c in &mut s.server.config.as_mut().unwrap().connectors {
        if c.name == "tailspintoys.com" {
            c.ad.as_mut().unwrap().phs.as_mut().unwrap().enabled = false;
        }
    }
    s.server.company_features = Some(features(true));
    s.server.scheduler = Some(scheduler_state(true));
    s.tenant = Some(tenant(true, Some(400), Some(300)));
    let denied = "Password synchronization failed for domain: emea.fabrikam.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsException: RPC Error 8453: Replication access was denied.";
    let busy = "Failed credential provisioning batch. Error: Error Code: 81. Error Message: The service is currently busy. This operation will be retried automatically.";
    let mut events = vec![
        event(601, 400, "Password synchronization manager started."),
        channel_event(654, 200, "Provision credentials ping end.", "fabrikam.com", FABRIKAM),
        channel_event(609, 2, "Password synchronization channel stopped.", "fabrikam.com", FABRIKAM),
        event(652, 30, busy),
        event(666, 20, "SQL deadlock while updating the password sync state."),
    ];
    events.extend((0..6).map(|i| event(611, 5 + i * 7, denied)));
    with_events(&mut s, events);
    let fabrikam = domain_with_acl(&format!(
        "(OA;;CR;{GET_CHANGES};;{a})(OA;;CR;{GET_CHANGES};;{g})(OA;;CR;{GET_CHANGES_ALL};;{g})",
        a = account(1105),
        g = account(1300)
    ));
    let mut emea = domain_facts("fabrikam.com", "emea.fabrikam.com", "DC=emea,DC=fabrikam,DC=com");
    close_port(&mut emea.dcs[0], 135, "connection refused");
    let mut tailspin = domain_facts("tailspintoys.com", "tailspintoys.com", "DC=tailspintoys,DC=com");
    tailspin.ldap.as_mut().unwrap().bind = BindFacts {
        transport: "ldaps".into(),
        tls_verified: true,
        identity: "TAILSPINTOYS\\MSOL_4f2a9c1b7e30".into(),
        ok: false,
        result_code: Some(49),
        server_message: Some(
            "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563".into(),
        ),
        sub_code: Some("52e".into()),
        error: None,
        elapsed_ms: 4,
        refused_in: None,
        failure: None,
    };
    s.ad = Some(AdEvidence { domains: vec![fabrikam, emea, tailspin] });
    s
}

/// Sources given but unreadable: each need's error wording.
fn unreadable() -> Snapshot {
    let mut s = snapshot();
    for (source, location, error) in [
        (
            SourceKind::ServerConfig,
            "C:\\evidence\\export",
            "Connectors/Connector_{x}.xml: unexpected end of file at line 7",
        ),
        (SourceKind::Events, "C:\\evidence\\Application.evtx", "not an EVTX file: bad signature at offset 0"),
        (SourceKind::Graph, "https://graph.microsoft.com", "sign-in refused: AADSTS7000215 invalid client secret"),
        (SourceKind::ActiveDirectory, "[ad]", "no password for FABRIKAM\\MSOL_4f2a9c1b7e30"),
    ] {
        s.problems.push(problem(source, location, error));
    }
    s
}

/// Each deployment's findings, recorded under its name.
#[test]
fn every_rule_over_each_deployment() {
    type Deployment = fn() -> Snapshot;
    let deployments: [(&str, Deployment); 5] = [
        ("nothing_supplied", snapshot),
        ("the_export_alone", snapshot_with_export),
        ("every_source_unreadable", unreadable),
        ("a_healthy_deployment", healthy),
        ("a_broken_deployment", broken),
    ];
    for (name, deployment) in deployments {
        insta::assert_snapshot!(name, rendered(&deployment()));
    }
    let users: [(&str, Deployment); 2] = [("a_healthy_user", user::healthy), ("a_broken_user", broken_user)];
    for (name, deployment) in users {
        insta::assert_snapshot!(name, rendered_user(&deployment()));
    }
}

/// One user broken in a way each user check sees: disabled, must change
/// at next logon, written back from the cloud, a disconnector, no outbound
/// password rule, an export error, a FilteredByTarget attempt, a cloud user
/// with a provisioning error and another anchor, whose password is a day old.
fn broken_user() -> Snapshot {
    use phs_model::user::uac;
    let ad = AdUser {
        user_account_control: Some(uac::NORMAL_ACCOUNT | uac::ACCOUNTDISABLE),
        pwd_last_set: Some(0),
        admin_description: Some("User_ann".into()),
        ..user::ann()
    };
    let cloud = CloudUser {
        on_premises_immutable_id: Some(SourceAnchor::from_bytes(vec![7; 16]).to_base64()),
        last_password_change: Some(user::ago(60 * 24)),
        provisioning_errors: vec![ProvisioningError {
            category: Some("PropertyConflict".into()),
            property_causing_error: Some("UserPrincipalName".into()),
            value: Some(user::WHO.into()),
            occurred: Some(user::ago(60)),
        }],
        ..user::cloud_ann()
    };
    let mut s = user::user_snapshot(Some(user::found(ad)), Some(user::cloud_found(cloud)));
    let objects = s.server.cs_objects.as_mut().unwrap();
    objects[0].is_connector = Some(false);
    objects[1].lineage.clear();
    objects[1].has_export_error = Some(true);
    objects[1].export_error = Some(SyncEngineError {
        error_name: Some("AttributeValueMustBeUnique".into()),
        error_code: Some("0x8023134a".into()),
        retry_count: Some(12),
        ..Default::default()
    });
    s.server.cs_object_logs = Some(vec![user::log(vec![user::log_entry("FilteredByTarget", 30)])]);
    s
}

/// The deployments together judge every rule at least once (a verdict,
/// not only "skipped"), so every rule's wording is recorded.
#[test]
fn every_rule_gives_a_verdict_in_some_deployment() {
    let settings = Settings::default();
    let judged: Vec<String> = [healthy(), broken(), user::healthy(), broken_user()]
        .iter()
        .flat_map(|s| evaluate(s, now(), &settings).findings)
        .filter(|f| f.status != Status::Skipped)
        .map(|f| f.code)
        .collect();
    for r in RULES {
        assert!(judged.iter().any(|c| c == r.code), "{} gives no verdict in the recorded deployments", r.code);
    }
}

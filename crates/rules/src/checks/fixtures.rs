//! Snapshots built in code for the rules' pass/fail tests: a two-forest
//! deployment with password hash sync enabled everywhere, which each test
//! breaks in one way.

use crate::context::{Context, Settings};
use phs_model::*;

pub const NOW: &str = "2026-11-24T12:00:00Z";
pub const FABRIKAM: &str = "3F1C2B7A-9D4E-4C1B-8A6F-2E7D9C0B1A53";
pub const TAILSPIN: &str = "B2D4F6A8-1C3E-4F5A-9B7D-0E2C4A6B8D1F";
pub const ENTRA: &str = "C7E9A1B3-5D7F-4A2C-8E0B-1D3F5A7C9E2B";

pub fn now() -> Timestamp {
    NOW.parse().unwrap()
}

pub fn snapshot() -> Snapshot {
    Snapshot::new(now())
}

fn guid(s: &str) -> Guid {
    Guid::parse(s).unwrap()
}

fn partition(dn: &str, fqdn: &str) -> Partition {
    Partition { dn: dn.into(), fqdn: Some(fqdn.into()), selected: true, is_domain: true, ..Default::default() }
}

fn ad_connector(id: &str, name: &str, partitions: Vec<Partition>) -> Connector {
    Connector {
        id: guid(id),
        name: name.into(),
        category: "AD".into(),
        subtype: String::new(),
        kind: ConnectorKind::ActiveDirectory,
        file: format!("Connectors/Connector_{{{}}}.xml", id.to_lowercase()),
        ad: Some(AdConnector {
            forest_name: Some(name.into()),
            login_domain: Some(name.into()),
            login_user: Some("MSOL_4f2a9c1b7e30".into()),
            phs: Some(PhsChannel { enabled: true, target: Some(guid(ENTRA)) }),
            partitions,
            ..Default::default()
        }),
        entra: None,
    }
}

pub fn export() -> ServerConfig {
    let entra = Connector {
        id: guid(ENTRA),
        name: "fabrikam.onmicrosoft.com - AAD".into(),
        category: "Extensible2".into(),
        subtype: "Windows Azure Active Directory (Microsoft)".into(),
        kind: ConnectorKind::EntraId,
        file: "Connectors/Connector_{entra}.xml".into(),
        ad: None,
        entra: Some(EntraConnector {
            account: Some("Sync_FABRIKAM-SYNC01_4c2e8a1f9b37@fabrikam.onmicrosoft.com".into()),
        }),
    };
    let rule = |name: &str, direction: &str, connector: &str| SyncRule {
        id: None,
        name: name.into(),
        direction: direction.into(),
        connector: Some(guid(connector)),
        disabled: false,
        precedence: Some(100),
        source_object_type: Some("user".into()),
        target_object_type: Some("person".into()),
        enable_password_sync: true,
        file: format!("SynchronizationRules/{name}.xml"),
        ..Default::default()
    };
    ServerConfig {
        path: "server-config".into(),
        server_name: Some("FABRIKAM-SYNC01".into()),
        export_date: None,
        connectors: vec![
            ad_connector(
                FABRIKAM,
                "fabrikam.com",
                vec![
                    partition("DC=fabrikam,DC=com", "fabrikam.com"),
                    partition("DC=emea,DC=fabrikam,DC=com", "emea.fabrikam.com"),
                ],
            ),
            ad_connector(TAILSPIN, "tailspintoys.com", vec![partition("DC=tailspintoys,DC=com", "tailspintoys.com")]),
            entra,
        ],
        global_parameters: [("Microsoft.Synchronize.StagingMode".to_owned(), "False".to_owned())].into(),
        sync_rules: vec![
            rule("In from AD - User AccountEnabled", "Inbound", FABRIKAM),
            rule("In from AD - User AccountEnabled", "Inbound", TAILSPIN),
            rule("Out to AAD - User Join", "Outbound", ENTRA),
        ],
        installed_version: None,
    }
}

pub fn snapshot_with_export() -> Snapshot {
    let mut s = snapshot();
    s.server.config = Some(export());
    s
}

pub fn features(phs: bool) -> CompanyFeatures {
    CompanyFeatures { path: "company-features.json".into(), password_hash_sync: Some(phs), ..Default::default() }
}

pub fn scheduler_state(staging: bool) -> SchedulerState {
    SchedulerState { path: "scheduler.json".into(), staging_mode_enabled: Some(staging), ..Default::default() }
}

pub fn problem(source: SourceKind, location: &str, error: &str) -> CollectionProblem {
    CollectionProblem::whole(source, location, error)
}

/// A Directory Synchronization event `minutes_ago` before [`NOW`].
pub fn event(id: u32, minutes_ago: i64, text: &str) -> Event {
    Event {
        provider: "Directory Synchronization".into(),
        event_id: id,
        qualifiers: Some(0),
        level: Some(4),
        time: now() - jiff::SignedDuration::from_mins(minutes_ago),
        record_id: Some((10_000 - minutes_ago) as u64),
        computer: Some("FABRIKAM-SYNC01.fabrikam.com".into()),
        data: vec![text.into()],
        message: None,
    }
}

/// The forest-info trailer newer builds append to PHS event texts.
pub fn forest_info(partition: &str, connector: &str) -> String {
    format!("\r\n<forest-info>\r\n  <partition-name>{partition}</partition-name>\r\n  <connector-id>{}</connector-id>\r\n</forest-info>", connector.to_lowercase())
}

/// Puts events (any order) into the snapshot, with a log that covers the last 8 hours.
pub fn with_events(s: &mut Snapshot, events: Vec<Event>) {
    with_log(s, events, 8 * 60, 1);
}

/// Puts events into the snapshot with a log (of other providers too) from
/// `from_min` to `to_min` minutes before [`NOW`], read for [`NOW`]. The
/// events are cut to that span, as a real export would be.
pub fn with_log(s: &mut Snapshot, mut events: Vec<Event>, from_min: i64, to_min: i64) {
    let (from, to) =
        (now() - jiff::SignedDuration::from_mins(from_min), now() - jiff::SignedDuration::from_mins(to_min));
    events.retain(|e| e.time >= from && e.time <= to);
    events.sort_by_key(|e| e.time);
    s.server.events = Some(EventLog {
        sources: vec![EventSourceSummary {
            path: "Application.xml".into(),
            format: "xml".into(),
            records_read: events.len() as u64 + 100,
            phs_records: events.len() as u64,
            oldest: Some(from),
            newest: Some(to),
            phs_oldest: events.first().map(|e| e.time),
            phs_newest: events.last().map(|e| e.time),
            ..Default::default()
        }],
        retention_hours: 168,
        anchor: Some(now()),
        exported_at: None,
        events,
    });
}

/// The findings of the registered rule whose check is `check`, its needs
/// applied as in a real run.
pub fn run(s: &Snapshot, check: fn(&Context) -> Vec<Finding>) -> Vec<Finding> {
    let settings = Settings::default();
    let rule = crate::RULES
        .iter()
        .find(|r| std::ptr::fn_addr_eq(r.check, check))
        .unwrap_or_else(|| panic!("no registered rule has this check"));
    rule.run(&Context::new(s, now(), &settings))
}

pub fn statuses(f: &[Finding]) -> Vec<Status> {
    f.iter().map(|f| f.status).collect()
}

/// The finding for one scope (connector name, and domain when given).
pub fn for_scope<'a>(f: &'a [Finding], connector: &str, domain: Option<&str>) -> &'a Finding {
    f.iter()
        .find(|f| f.scope.connector.as_deref() == Some(connector) && f.scope.domain.as_deref() == domain)
        .unwrap_or_else(|| panic!("no finding for {connector} {domain:?} in {f:#?}"))
}

/// Live AD facts of a healthy domain: one DC with every port open, DRSUAPI
/// reachable, rootDSE naming `served_dn`, and a successful bind.
pub fn domain_facts(connector: &str, domain: &str, served_dn: &str) -> DomainFacts {
    let port = |port: u16, service: &str| PortProbe {
        port,
        service: service.into(),
        address: "10.0.0.10".into(),
        open: true,
        elapsed_ms: 1,
        error: None,
        failure: None,
    };
    DomainFacts {
        connector: connector.into(),
        domain: domain.into(),
        partition_dn: domain.split('.').map(|l| format!("DC={l}")).collect::<Vec<_>>().join(","),
        account: format!("{connector}\\MSOL_4f2a9c1b7e30"),
        locator: DcLocator {
            method: "dns-srv".into(),
            query: format!("_ldap._tcp.dc._msdcs.{domain}"),
            dns_server: None,
            candidates: vec![format!("dc1.{domain}")],
            error: None,
            elapsed_ms: 2,
            ..Default::default()
        },
        dcs: vec![DcFacts {
            host: format!("dc1.{domain}"),
            addresses: vec!["10.0.0.10".into()],
            resolve_error: None,
            ports: vec![port(389, "ldap"), port(636, "ldaps"), port(88, "kerberos"), port(135, "rpc-endpoint-mapper")],
            rpc: Some(RpcProbe {
                endpoint_mapper_ok: true,
                drsuapi_port: Some(49153),
                drsuapi_reachable: true,
                elapsed_ms: 3,
                error: None,
            }),
            ldap_ping: Some(LdapPing { ok: true, transport: "ldap".into(), elapsed_ms: 4, error: None }),
            ..Default::default()
        }],
        ldap: Some(LdapFacts {
            dc: format!("dc1.{domain}"),
            root_dse: Some(RootDse { default_naming_context: Some(served_dn.into()), ..Default::default() }),
            bind: BindFacts {
                transport: "ldaps".into(),
                tls_verified: true,
                identity: format!("{connector}\\MSOL_4f2a9c1b7e30"),
                ok: true,
                ..Default::default()
            },
            ..Default::default()
        }),
        not_checked: None,
        ..Default::default()
    }
}

pub fn close_port(dc: &mut DcFacts, port: u16, error: &str) {
    for p in dc.ports.iter_mut().filter(|p| p.port == port) {
        p.open = false;
        p.error = Some(error.into());
    }
}

pub fn snapshot_with_ad(domains: Vec<DomainFacts>) -> Snapshot {
    let mut s = snapshot_with_export();
    s.ad = Some(AdEvidence { domains });
    s
}

pub const DOMAIN_SID: &str = "S-1-5-21-1004336348-1177238915-682003330";

/// A domain root DACL as Windows ships it (the replication ACEs of the DC
/// groups and Administrators) plus `extra` ACEs in SDDL form, placed first
/// (where `samba-tool dsacl set` and dsacls put new explicit ACEs).
pub fn domain_root_sd(extra: &str) -> String {
    use base64::Engine;
    let sddl = format!(
        "D:AI{extra}(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;BA)(OA;;CR;1131f6ad-9c07-11d1-f79f-00c04fc2dcd2;;BA)\
         (OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;ED)(OA;;CR;1131f6ad-9c07-11d1-f79f-00c04fc2dcd2;;DD)\
         (OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;{DOMAIN_SID}-498)(A;;RPLCLORC;;;AU)(A;;0xf01ff;;;DA)"
    );
    let domain: phs_secdesc::Sid = DOMAIN_SID.parse().unwrap();
    let sd = phs_secdesc::SecurityDescriptor::from_sddl(&sddl, Some(&domain)).unwrap();
    base64::engine::general_purpose::STANDARD.encode(sd.to_bytes().unwrap())
}

/// A domain whose connector account (RID 1105, in groups 1106 and 1107)
/// binds, with the domain root DACL built from `extra` ACEs.
pub fn domain_with_acl(extra: &str) -> DomainFacts {
    let mut d = domain_facts("fabrikam.com", "fabrikam.com", "DC=fabrikam,DC=com");
    let ldap = d.ldap.as_mut().unwrap();
    ldap.domain_sid = Some(DOMAIN_SID.into());
    ldap.domain_root_sd = Some(domain_root_sd(extra));
    ldap.account = Some(AccountFacts {
        dn: "CN=MSOL_4f2a9c1b7e30,CN=Users,DC=fabrikam,DC=com".into(),
        sid: Some(format!("{DOMAIN_SID}-1105")),
        token_groups: vec![format!("{DOMAIN_SID}-513"), format!("{DOMAIN_SID}-1106"), format!("{DOMAIN_SID}-1107")],
        ..Default::default()
    });
    ldap.rights_trustees = Some(trustees_for(ldap.domain_root_sd.as_deref().unwrap()));
    ldap.sid_names.insert(format!("{DOMAIN_SID}-1106"), "FABRIKAM\\PHS Inner".into());
    ldap.sid_names.insert(format!("{DOMAIN_SID}-1107"), "FABRIKAM\\PHS Outer".into());
    ldap.sid_names.insert(format!("{DOMAIN_SID}-1200"), "FABRIKAM\\old-sync".into());
    d
}

/// The Fabrikam tenant's id, as Entra ID writes it (lower case).
pub const FABRIKAM_TENANT_ID: &str = "5d8e2c71-4a9b-4f3e-8c6d-1b2a3f4e5d60";

/// What Graph says of a tenant with PHS `enabled`, last directory sync and
/// last password sync `dir_min` and `pwd_min` minutes before [`NOW`], read
/// at [`NOW`]: the Fabrikam tenant the fixture export's Entra connector
/// account belongs to.
pub fn tenant(enabled: bool, dir_min: Option<i64>, pwd_min: Option<i64>) -> TenantFacts {
    let ago = |m: i64| now() - jiff::SignedDuration::from_mins(m);
    TenantFacts {
        tenant: "fabrikam.onmicrosoft.com".into(),
        flow: "client-secret".into(),
        signed_in_as: Some("app".into()),
        graph_url: "https://graph.microsoft.com".into(),
        read_at: Some(now()),
        token_tenant_id: Some(FABRIKAM_TENANT_ID.into()),
        sync: Some(OnPremisesSync { password_sync_enabled: Some(enabled), ..Default::default() }),
        organization: Some(Organization {
            id: Some(FABRIKAM_TENANT_ID.into()),
            display_name: Some("Fabrikam".into()),
            verified_domains: vec!["fabrikam.com".into(), "fabrikam.onmicrosoft.com".into()],
            on_premises_sync_enabled: Some(true),
            on_premises_last_sync: dir_min.map(ago),
            on_premises_last_password_sync: pwd_min.map(ago),
            last_password_sync_source: Some("beta".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A member as the directory lists it.
pub fn member(rid: u32, kind: &str, name: &str) -> MemberFacts {
    MemberFacts { sid: format!("{DOMAIN_SID}-{rid}"), kind: kind.into(), name: Some(format!("FABRIKAM\\{name}")) }
}

/// The principals of the fixture domain, as the source records them: kind,
/// name and (for groups) every member, transitively.
pub fn directory() -> Vec<TrusteeFacts> {
    let group = |rid: u32, name: &str, members: Vec<MemberFacts>| TrusteeFacts {
        sid: format!("{DOMAIN_SID}-{rid}"),
        kind: "group".into(),
        name: Some(format!("FABRIKAM\\{name}")),
        members,
        members_complete: true,
        error: None,
    };
    let user = |rid: u32, kind: &str, name: &str| TrusteeFacts {
        sid: format!("{DOMAIN_SID}-{rid}"),
        kind: kind.into(),
        name: Some(format!("FABRIKAM\\{name}")),
        ..Default::default()
    };
    let connector = member(1105, "user", "MSOL_4f2a9c1b7e30");
    let mut builtin_admins = group(
        0,
        "Administrators",
        vec![
            member(512, "group", "Domain Admins"),
            member(519, "group", "Enterprise Admins"),
            member(500, "user", "Administrator"),
        ],
    );
    builtin_admins.sid = "S-1-5-32-544".into();
    builtin_admins.name = Some("BUILTIN\\Administrators".into());
    let mut huge =
        group(1320, "All Contractors", (0..5000).map(|i| member(20_000 + i, "user", &format!("c{i:04}"))).collect());
    huge.members_complete = false;
    huge.error = Some("stopped after 5000 members".into());
    vec![
        builtin_admins,
        group(512, "Domain Admins", vec![member(500, "user", "Administrator")]),
        group(516, "Domain Controllers", vec![member(1000, "computer", "DC1$")]),
        group(498, "Enterprise Read-only Domain Controllers", vec![]),
        user(1105, "user", "MSOL_4f2a9c1b7e30"),
        group(1106, "PHS Inner", vec![connector.clone()]),
        group(1107, "PHS Outer", vec![member(1106, "group", "PHS Inner"), connector]),
        user(1200, "user", "old-sync"),
        group(1300, "Backup Team", vec![member(1301, "user", "eve"), member(1302, "user", "frank")]),
        group(1310, "Migration Tool", vec![member(1301, "user", "eve"), member(1303, "computer", "MIGR01$")]),
        group(
            1311,
            "Migration Admins",
            vec![
                member(1310, "group", "Migration Tool"),
                member(1301, "user", "eve"),
                member(1303, "computer", "MIGR01$"),
                member(1304, "user", "mallory"),
            ],
        ),
        huge,
        group(1330, "Interns", (0..1500).map(|i| member(30_000 + i, "user", &format!("intern{i:04}"))).collect()),
    ]
}

/// What the source records for the descriptor `sd_b64`: the deciding
/// trustees it reads, found in [`directory`] or not found.
pub fn trustees_for(sd_b64: &str) -> RightsTrustees {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(sd_b64).unwrap();
    let sd = phs_secdesc::SecurityDescriptor::parse(&raw).unwrap();
    let domain: phs_secdesc::Sid = DOMAIN_SID.parse().unwrap();
    let dir = directory();
    let trustees = phs_secdesc::replication_deciding_trustees(sd.dacl_for_access().unwrap())
        .into_iter()
        .filter(|sid| phs_secdesc::members_are_read(sid, Some(&domain)))
        .map(|sid| {
            dir.iter().find(|t| t.sid == sid.to_string()).cloned().unwrap_or(TrusteeFacts {
                sid: sid.to_string(),
                kind: "not-found".into(),
                ..Default::default()
            })
        })
        .collect();
    RightsTrustees { trustees, member_cap: 5000 }
}

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
        }),
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
    CollectionProblem { source, location: location.into(), error: error.into(), partial: false }
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
pub fn with_events(s: &mut Snapshot, mut events: Vec<Event>) {
    events.sort_by_key(|e| e.time);
    s.server.events = Some(EventLog {
        sources: vec![EventSourceSummary {
            path: "Application.xml".into(),
            format: "xml".into(),
            records_read: events.len() as u64 + 100,
            phs_records: events.len() as u64,
            oldest: Some(now() - jiff::SignedDuration::from_hours(8)),
            newest: Some(now() - jiff::SignedDuration::from_mins(1)),
            dropped_old: 0,
        }],
        retention_hours: 168,
        events,
    });
}

pub fn run(s: &Snapshot, check: fn(&Context) -> Vec<Finding>) -> Vec<Finding> {
    let settings = Settings::default();
    check(&Context::new(s, now(), &settings))
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

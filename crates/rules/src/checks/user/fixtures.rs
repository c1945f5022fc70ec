//! One user of the fixture deployment (`checks::fixtures::export`), as each
//! source sees them when all is well: Ann in fabrikam.com, her connector
//! space and metaverse objects, her password sync log and her cloud user.
//! Each test breaks one thing.

pub use crate::checks::fixtures::now;
use crate::checks::fixtures::{self as base, ENTRA, FABRIKAM};
use crate::context::Context;
use phs_model::*;

pub const WHO: &str = "ann@fabrikam.com";
pub const DN: &str = "CN=Ann Lee,OU=Staff,DC=fabrikam,DC=com";
pub const GUID: &str = "0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9";
pub const AD_CS_ID: &str = "11111111-2222-4333-8444-555555555555";
pub const MV_ID: &str = "66666666-7777-4888-8999-AAAAAAAAAAAA";
pub const ENTRA_CS_ID: &str = "BBBBBBBB-CCCC-4DDD-8EEE-FFFFFFFFFFFF";

/// FILETIME of `minutes` before the fixtures' now.
pub fn filetime_ago(minutes: i64) -> i64 {
    let t = now() - jiff::SignedDuration::from_mins(minutes);
    (t.as_second() + 11_644_473_600) * 10_000_000
}

pub fn ago(minutes: i64) -> Timestamp {
    now() - jiff::SignedDuration::from_mins(minutes)
}

fn g(s: &str) -> Guid {
    Guid::parse(s).unwrap()
}

pub fn anchor() -> SourceAnchor {
    SourceAnchor::from_guid(&g(GUID))
}

/// Ann: enabled, password changed 3 h ago, consistency GUID = objectGUID.
pub fn ann() -> AdUser {
    AdUser {
        connector: "fabrikam.com".into(),
        domain: "fabrikam.com".into(),
        dn: DN.into(),
        object_guid: Some(g(GUID)),
        consistency_guid: Some(anchor()),
        object_sid: Some("S-1-5-21-1-2-3-1105".into()),
        sam_account_name: Some("ann".into()),
        user_principal_name: Some(WHO.into()),
        object_classes: vec!["top".into(), "person".into(), "organizationalPerson".into(), "user".into()],
        user_account_control: Some(user::uac::NORMAL_ACCOUNT),
        user_account_control_computed: Some(0),
        pwd_last_set: Some(filetime_ago(180)),
        account_expires: Some(0),
        lockout_time: Some(0),
        admin_description: None,
        member_of: Vec::new(),
        when_changed: None,
    }
}

pub fn search(domain: &str) -> DomainSearch {
    DomainSearch {
        connector: "fabrikam.com".into(),
        domain: domain.into(),
        dc: Some(format!("dc1.{domain}")),
        filter: "(userPrincipalName=ann@fabrikam.com)".into(),
        error: None,
    }
}

pub fn found(u: AdUser) -> AdUserLookup {
    AdUserLookup { searched: vec![search("fabrikam.com")], found: vec![u], near: Vec::new() }
}

pub fn searched_nothing() -> AdUserLookup {
    AdUserLookup { searched: vec![search("fabrikam.com")], found: Vec::new(), near: Vec::new() }
}

/// Ann in the cloud: synced, last sync 10 min ago, password changed when AD's was.
pub fn cloud_ann() -> CloudUser {
    CloudUser {
        id: "9f8e7d6c-5b4a-4392-8180-706f5e4d3c2b".into(),
        user_principal_name: Some(WHO.into()),
        account_enabled: Some(true),
        on_premises_sync_enabled: Some(true),
        on_premises_immutable_id: Some(anchor().to_base64()),
        on_premises_last_sync: Some(ago(10)),
        last_password_change: Some(ago(178)),
        on_premises_sam_account_name: Some("ann".into()),
        on_premises_distinguished_name: Some(DN.into()),
        on_premises_domain_name: Some("fabrikam.com".into()),
        on_premises_security_identifier: Some("S-1-5-21-1-2-3-1105".into()),
        on_premises_user_principal_name: Some(WHO.into()),
        password_policies: Some("DisablePasswordExpiration".into()),
        provisioning_errors: Vec::new(),
        unreadable: Default::default(),
    }
}

pub fn cloud_found(u: CloudUser) -> CloudUserLookup {
    CloudUserLookup {
        read_at: Some(now()),
        queries: vec![format!("$filter=onPremisesImmutableId eq '{}'", anchor().to_base64())],
        found: vec![u],
        error: None,
    }
}

fn lineage(name: &str, op: &str) -> CsLineage {
    CsLineage { sync_rule_internal_id: None, sync_rule_name: Some(name.into()), operation: Some(op.into()) }
}

pub fn ad_cs() -> CsObject {
    CsObject {
        file: "ad-cs.json".into(),
        object_id: Some(g(AD_CS_ID)),
        connector_id: Some(g(FABRIKAM)),
        connector_name: Some("fabrikam.com".into()),
        connector_type: Some("AD".into()),
        partition_id: None,
        distinguished_name: DN.into(),
        object_type: Some("user".into()),
        is_connector: Some(true),
        is_transient: Some(false),
        is_placeholder: Some(false),
        has_sync_error: Some(false),
        has_export_error: Some(false),
        export_error: None,
        synchronization_error: None,
        pending_export: None,
        connected_mv_object_id: Some(g(MV_ID)),
        lineage: vec![lineage("In from AD - User Join", "Join"), lineage("In from AD - User AccountEnabled", "Join")],
        attributes: Default::default(),
    }
}

pub fn entra_cs() -> CsObject {
    CsObject {
        file: "entra-cs.json".into(),
        object_id: Some(g(ENTRA_CS_ID)),
        connector_id: Some(g(ENTRA)),
        connector_name: Some("fabrikam.onmicrosoft.com - AAD".into()),
        connector_type: Some("Extensible2".into()),
        distinguished_name: anchor().to_entra_cs_dn(),
        object_type: Some("user".into()),
        connected_mv_object_id: Some(g(MV_ID)),
        lineage: vec![lineage("Out to AAD - User Join", "Provision")],
        ..ad_cs()
    }
}

pub fn mv() -> MvObject {
    MvObject {
        file: "mv.json".into(),
        object_id: Some(g(MV_ID)),
        object_type: Some("person".into()),
        lineage: vec![
            MvLineage {
                connector_id: Some(g(FABRIKAM)),
                connector_name: Some("fabrikam.com".into()),
                connected_cs_object_dn: Some(DN.into()),
                connected_cs_object_id: Some(g(AD_CS_ID)),
            },
            MvLineage {
                connector_id: Some(g(ENTRA)),
                connector_name: Some("fabrikam.onmicrosoft.com - AAD".into()),
                connected_cs_object_dn: Some(anchor().to_entra_cs_dn()),
                connected_cs_object_id: Some(g(ENTRA_CS_ID)),
            },
        ],
        attributes: [("domainFQDN".to_owned(), vec!["fabrikam.com".to_owned()])].into(),
    }
}

pub fn log_entry(status: &str, minutes_ago: i64) -> CsLogEntry {
    CsLogEntry {
        cs_object_id: Some(g(AD_CS_ID)),
        distinguished_name: Some(DN.into()),
        time: Some(ago(minutes_ago)),
        status: status.into(),
        details: None,
    }
}

pub fn log(entries: Vec<CsLogEntry>) -> CsObjectLog {
    CsObjectLog { file: "cs-log.json".into(), entries }
}

/// The export, Ann in AD (when given) and in the tenant (when given), and
/// every sync engine object of a healthy Ann.
pub fn user_snapshot(ad: Option<AdUserLookup>, cloud: Option<CloudUserLookup>) -> Snapshot {
    let mut s = base::snapshot_with_export();
    s.server.cs_objects = Some(vec![ad_cs(), entra_cs()]);
    s.server.mv_objects = Some(vec![mv()]);
    s.server.cs_object_logs = Some(vec![log(vec![log_entry("Success", 178)])]);
    s.user = Some(UserEvidence { query: UserQuery::parse(WHO, None).unwrap(), ad, cloud });
    s
}

/// Every source healthy.
pub fn healthy() -> Snapshot {
    user_snapshot(Some(found(ann())), Some(cloud_found(cloud_ann())))
}

/// The one finding `check` gives for the snapshot's user.
pub fn judge(s: &Snapshot, check: fn(&Context) -> Vec<Finding>) -> Finding {
    let mut f = base::run(s, check);
    assert_eq!(f.len(), 1, "{f:?}");
    f.remove(0)
}

/// The one finding `check` gives for a healthy user changed by `change`.
pub fn judge_changed(change: impl FnOnce(&mut Snapshot), check: fn(&Context) -> Vec<Finding>) -> Finding {
    let mut s = healthy();
    change(&mut s);
    judge(&s, check)
}

//! Cmdlet JSON readers against PowerShell 5.1 / 7 shaped fixtures.

use phs_model::{Guid, Timestamp};
use phs_sources::cmdlets::{
    parse_company_features, parse_partition_sync_state, parse_scheduler, read_company_features,
    read_partition_sync_state, read_scheduler,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/cmdlets").join(name)
}

fn ts(s: &str) -> Option<Timestamp> {
    Some(s.parse().expect("test timestamp"))
}

const AD: &str = "AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D";
const AAD: &str = "B891884F-051E-4A83-95AF-2544101C9083";

fn guid(s: &str) -> Option<Guid> {
    Guid::parse(s)
}

#[test]
fn scheduler_ps51_utf16le() {
    let path = fixture("scheduler-ps51-utf16le.json");
    let s = read_scheduler(&path).expect("read");
    assert_eq!(s.path, path.display().to_string());
    assert_eq!(s.staging_mode_enabled, Some(false));
    assert_eq!(s.sync_cycle_enabled, Some(true));
    assert_eq!(s.scheduler_suspended, Some(false));
    assert_eq!(s.sync_cycle_in_progress, Some(false));
    assert_eq!(s.maintenance_enabled, Some(true));
    assert_eq!(s.next_sync_cycle_start, ts("2024-03-05T15:09:16Z"));
}

#[test]
fn scheduler_ps7() {
    let s = read_scheduler(&fixture("scheduler-ps7.json")).expect("read");
    assert_eq!(s.staging_mode_enabled, Some(true));
    assert_eq!(s.sync_cycle_in_progress, Some(true));
    assert_eq!(s.next_sync_cycle_start, ts("2024-03-05T15:09:16.4311035Z"));
}

#[test]
fn company_features_both_shells() {
    let path = fixture("company-features-ps51-utf8bom.json");
    let f = read_company_features(&path).expect("read 5.1");
    assert_eq!(f.path, path.display().to_string());
    assert_eq!(f.password_hash_sync, Some(true));
    assert_eq!(f.force_password_change_on_logon, Some(false));
    assert_eq!(f.user_writeback, Some(false));
    assert_eq!(f.device_writeback, Some(false));
    assert_eq!(f.unified_group_writeback, Some(false));
    assert_eq!(f.group_writeback_v2, Some(false));

    let f = read_company_features(&fixture("company-features-ps7.json")).expect("read 7");
    assert_eq!(f.password_hash_sync, Some(false));
    assert_eq!(f.force_password_change_on_logon, Some(true));
    assert_eq!(f.device_writeback, Some(true));
}

#[test]
fn partition_state_ps51() {
    let rows = read_partition_sync_state(&fixture("partition-sync-state-ps51.json")).expect("read");
    assert_eq!(rows.len(), 3);
    let r = &rows[0];
    assert_eq!(r.connector_id, guid(AD));
    assert_eq!(r.dn, "DC=contoso,DC=com");
    assert_eq!(r.last_successful_cycle_start, ts("2024-03-05T14:41:02.117Z"));
    assert_eq!(r.last_successful_cycle_end, ts("2024-03-05T14:41:03.45Z"));
    assert_eq!(r.last_cycle_start, ts("2024-03-05T14:43:02.21Z"));
    assert_eq!(r.last_cycle_end, ts("2024-03-05T14:43:02.987Z"));
    assert_eq!(r.last_cycle_status.as_deref(), Some("2"));
    // `\/Date(ms+0100)\/`: the milliseconds are already UTC.
    assert_eq!(rows[1].dn, "DC=emea,DC=contoso,DC=com");
    assert_eq!(rows[1].last_successful_cycle_start, ts("2024-02-27T09:12:40Z"));
    // DateTime.MinValue is "never".
    assert_eq!(rows[2].connector_id, guid(AAD));
    assert_eq!(rows[2].dn, "default");
    assert_eq!(rows[2].last_successful_cycle_start, None);
    assert_eq!(rows[2].last_cycle_end, None);
    assert_eq!(rows[2].last_cycle_status.as_deref(), Some("0"));
}

#[test]
fn partition_state_ps7() {
    let rows = read_partition_sync_state(&fixture("partition-sync-state-ps7.json")).expect("read");
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.connector_id, guid(AD));
    assert_eq!(r.last_successful_cycle_start, ts("2024-03-05T14:41:02.117Z"));
    // `+01:00` offset, and no zone at all (taken as UTC).
    assert_eq!(r.last_cycle_start, ts("2024-03-05T14:43:02.21Z"));
    assert_eq!(r.last_cycle_end, ts("2024-03-05T14:43:02.987Z"));
    assert_eq!(r.last_cycle_status.as_deref(), Some("Successful"));
    assert_eq!(rows[1].dn, "default");
    assert_eq!(rows[1].last_successful_cycle_start, None);
    assert_eq!(rows[1].last_cycle_status.as_deref(), Some("Unknown"));
}

#[test]
fn partition_state_single_object() {
    let rows = read_partition_sync_state(&fixture("partition-sync-state-single.json")).expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].dn, "DC=contoso,DC=com");
    assert_eq!(rows[0].last_cycle_end, ts("2024-03-05T14:43:02.987Z"));
}

#[test]
fn bad_files_name_file_and_field() {
    let path = fixture("bad-scheduler-staging-yes.json");
    let e = read_scheduler(&path).unwrap_err();
    assert_eq!(e, format!("{}: field StagingModeEnabled: expected true/false, found \"yes\"", path.display()));

    let path = fixture("bad-company-features-truncated.json");
    let e = read_company_features(&path).unwrap_err();
    assert!(e.starts_with(&format!("{}: invalid JSON: ", path.display())), "{e}");
    assert!(e.contains("line 4 column"), "{e}");

    let path = fixture("bad-partition-sync-state-guid.json");
    let e = read_partition_sync_state(&path).unwrap_err();
    assert_eq!(e, format!("{}: row 2: field ConnectorId: expected a GUID, found \"not-a-guid\"", path.display()));

    let path = fixture("bad-partition-sync-state-date.json");
    let e = read_partition_sync_state(&path).unwrap_err();
    assert!(
        e.starts_with(&format!(
            "{}: row 2: field PasswordSyncLastSuccessfulCycleStartTimestamp: expected a date, found \"/Date(yesterday)/\"",
            path.display()
        )),
        "{e}"
    );

    let path = fixture("bad-empty.json");
    assert_eq!(read_scheduler(&path).unwrap_err(), format!("{}: empty file, no JSON value", path.display()));

    let path = fixture("no-such-file.json");
    let e = read_scheduler(&path).unwrap_err();
    assert!(e.starts_with(&format!("{}: cannot open: ", path.display())), "{e}");

    // Every error is one line.
    for e in [
        read_company_features(&fixture("bad-company-features-truncated.json")).unwrap_err(),
        read_partition_sync_state(&fixture("bad-partition-sync-state-date.json")).unwrap_err(),
    ] {
        assert!(!e.contains('\n'), "{e}");
    }
}

#[test]
fn parse_functions_take_text_and_name() {
    let s = parse_scheduler(r#"{"StagingModeEnabled": "False"}"#, "scheduler.json").expect("parse");
    assert_eq!(s.path, "scheduler.json");
    assert_eq!(s.staging_mode_enabled, Some(false));
    let f = parse_company_features(r#"[{"passwordhashsync": true}]"#, "cf.json").expect("parse");
    assert_eq!(f.password_hash_sync, Some(true));
    let rows = parse_partition_sync_state(r#"{"DN": "DC=a", "ConnectorId": ""}"#, "p.json").expect("parse");
    assert_eq!(rows[0].connector_id, None);
}

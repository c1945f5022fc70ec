//! The sync engine readers against the fixtures of one user in both
//! PowerShell shapes, and against hostile or broken files.

use phs_sources::sync_engine::{
    parse_cs_object_log, parse_cs_objects, parse_mv_objects, read_cs_object_log, read_cs_objects, read_mv_objects,
    MAX_OBJECTS,
};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/cmdlets/user").join(name)
}

#[test]
fn both_powershell_shapes_read_the_same_objects() {
    for tag in ["ps7", "ps51"] {
        let ad = read_cs_objects(&fixture(&format!("ad-cs.{tag}.json"))).expect(tag);
        assert_eq!(ad.len(), 1);
        let ad = &ad[0];
        assert_eq!(ad.distinguished_name, "CN=Pat Kim,OU=Employees,DC=tailspintoys,DC=com", "{tag}");
        assert_eq!(ad.is_connector, Some(true));
        assert_eq!(ad.lineage.len(), 2);
        assert_eq!(ad.lineage[1].sync_rule_name.as_deref(), Some("In from AD - User AccountEnabled"));
        // objectGUID as a byte list becomes the base64 of its stored bytes.
        assert_eq!(ad.attribute("objectguid").unwrap(), ["cYosX007b06aGyw9Tl9qew=="]);
        let entra = &read_cs_objects(&fixture(&format!("entra-cs.{tag}.json"))).unwrap()[0];
        assert_eq!(entra.entra_anchor().map(|a| a.to_base64()).as_deref(), Some("cYosX007b06aGyw9Tl9qew=="));
        let mv = &read_mv_objects(&fixture(&format!("mv.{tag}.json"))).unwrap()[0];
        assert_eq!(mv.lineage.len(), 2);
        assert_eq!(mv.object_id, ad.connected_mv_object_id);
        let log = &read_cs_object_log(&fixture(&format!("cs-log.{tag}.json"))).unwrap()[0];
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.entries[1].status, "FilteredByTarget");
        assert_eq!(log.entries[0].time, Some("2025-11-27T10:00:00Z".parse().unwrap()), "{tag}");
    }
    // 5.1 writes the enum as its number: kept as such, never renamed.
    let log = &read_cs_object_log(&fixture("cs-log.ps51.json")).unwrap()[0];
    assert_eq!(log.entries[0].status, "1");
}

#[test]
fn nothing_found_is_no_objects_not_an_error() {
    assert!(parse_cs_objects("null", "x.json").unwrap().is_empty());
    assert!(parse_cs_object_log("[]", "log.json").unwrap().entries.is_empty());
    assert!(parse_cs_objects("", "x.json").unwrap_err().contains("empty file"));
}

#[test]
fn errors_name_the_file_the_object_and_the_element() {
    let e = parse_cs_objects(
        r#"[{"DistinguishedName":"CN=a"},{"DistinguishedName":"CN=b","Lineage":[{},{"SyncRuleName":7}]}]"#,
        "cs.json",
    )
    .unwrap_err();
    assert!(e.contains("cs.json: object 2: Lineage[1]") && e.contains("SyncRuleName"), "{e}");
    let e = parse_cs_objects(r#"{"ObjectId":"not-a-guid","DistinguishedName":"CN=a"}"#, "cs.json").unwrap_err();
    assert!(e.contains("ObjectId"), "{e}");
    let e = parse_mv_objects(r#"{"Lineage":"x"}"#, "mv.json").unwrap_err();
    assert!(e.contains("mv.json") && e.contains("Lineage"), "{e}");
    assert!(parse_cs_objects(r#"{"ConnectorName":"x"}"#, "cs.json").unwrap_err().contains("DistinguishedName"));
}

#[test]
fn hostile_sizes_are_refused_or_cut_and_said() {
    let many = format!("[{}]", vec![r#"{"DistinguishedName":"CN=a"}"#; MAX_OBJECTS + 1].join(","));
    assert!(parse_cs_objects(&many, "cs.json").unwrap_err().contains("more than"));
    let long = "x".repeat(10_000);
    let o = parse_cs_objects(
        &format!(r#"{{"DistinguishedName":"CN=a","Attributes":[{{"Name":"info","Values":["{long}"]}}]}}"#),
        "cs.json",
    )
    .unwrap();
    let v = &o[0].attribute("info").unwrap()[0];
    assert!(v.len() < 5_000 && v.contains("more characters"), "{}", v.len());
    let values = format!(
        r#"{{"DistinguishedName":"CN=a","Attributes":[{{"Name":"m","Values":[{}]}}]}}"#,
        vec!["\"v\""; 1_001].join(",")
    );
    assert!(parse_cs_objects(&values, "cs.json").unwrap_err().contains("values"));
}

#[test]
fn errors_and_pending_exports_are_read() {
    let o = &parse_cs_objects(
        r#"{"DistinguishedName":"CN={41}","HasExportError":true,
            "ExportError":{"ErrorName":"AttributeValueMustBeUnique","ErrorCode":"0x8023134a","RetryCount":3,
                           "LatestOccurrence":"2025-11-27T10:00:00Z"},
            "SynchronizationError":{"ErrorName":null,"ErrorCode":null},"PendingExport":{"Operation":"Add"}}"#,
        "cs.json",
    )
    .unwrap()[0];
    let e = o.export_error.as_ref().unwrap();
    assert_eq!((e.error_name.as_deref(), e.retry_count), (Some("AttributeValueMustBeUnique"), Some(3)));
    assert!(o.synchronization_error.is_none(), "an all-null error object is no error");
    assert_eq!(o.pending_export.as_deref(), Some("Add"));
}

//! The export reader against the real Contoso sample and against damaged exports.

use phs_model::{ConnectorKind, Guid, ServerConfig, SourceKind};
use phs_sources::export::{parse_connector, parse_global_settings, parse_sync_rule, read_server_config};
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn sample() -> PathBuf {
    fixtures().join("aadc-config-contoso-pilot")
}

const AD_FILE: &str = "Connectors/Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml";
const AAD_FILE: &str = "Connectors/Connector_{b891884f-051e-4a83-95af-2544101c9083}.xml";

fn guid(s: &str) -> Guid {
    Guid::parse(s).expect("test GUID")
}

fn read_sample() -> ServerConfig {
    let (config, problems) = read_server_config(&sample());
    assert!(problems.is_empty(), "{problems:#?}");
    config.expect("config")
}

// ---------------------------------------------------------------- real sample

#[test]
fn sample_connectors() {
    let config = read_sample();
    assert_eq!(config.path, sample().display().to_string());
    let names: Vec<&str> = config.connectors.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["contoso.com", "contoso.onmicrosoft.com - AAD"]);

    let ad = &config.connectors[0];
    assert_eq!(ad.kind, ConnectorKind::ActiveDirectory);
    assert_eq!(ad.id, guid("AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D"));
    assert_eq!(ad.category, "AD");
    assert_eq!(ad.subtype, "");
    assert_eq!(ad.file, AD_FILE);
    let a = ad.ad.as_ref().expect("AD details");
    assert_eq!(a.forest_name.as_deref(), Some("contoso.com"));
    assert_eq!(a.login_user.as_deref(), Some("MSOL_d1edb676ca03"));
    assert_eq!(a.login_domain.as_deref(), Some("contoso.com"));
    let phs = a.phs.as_ref().expect("password-hash-sync-config");
    assert!(!phs.enabled);
    assert_eq!(phs.target, Some(guid("B891884F-051E-4A83-95AF-2544101C9083")));

    assert_eq!(a.partitions.len(), 1);
    let p = &a.partitions[0];
    assert_eq!(p.id, Some(guid("dc4c27db-d13d-460a-9a82-c48aba1ee815")));
    assert_eq!(p.dn, "DC=contoso,DC=com");
    assert_eq!(p.fqdn.as_deref(), Some("contoso.com"));
    assert_eq!(p.domain_name(), "contoso.com");
    assert!(p.selected);
    assert!(p.is_domain);
    assert_eq!(p.inclusions, ["OU=CORP,DC=contoso,DC=com"]);
    assert_eq!(p.exclusions, ["DC=contoso,DC=com"]);
    assert_eq!(
        p.object_classes,
        [
            "computer",
            "contact",
            "foreignSecurityPrincipal",
            "group",
            "inetOrgPerson",
            "msDS-Device",
            "user",
            "container",
            "domainDNS",
            "organizationalUnit"
        ]
    );
    assert_eq!(p.last_dc.as_deref(), Some("CONTOSO-DC01.contoso.com"));
    assert!(p.preferred_dcs.is_empty());
    assert_eq!(p.login_user, None);
    assert_eq!(p.login_domain, None);

    let aad = &config.connectors[1];
    assert_eq!(aad.kind, ConnectorKind::EntraId);
    assert_eq!(aad.id, guid("B891884F-051E-4A83-95AF-2544101C9083"));
    assert_eq!(aad.category, "Extensible2");
    assert_eq!(aad.subtype, "Windows Azure Active Directory (Microsoft)");
    assert_eq!(aad.file, AAD_FILE);
    assert!(aad.ad.is_none());
    // The Entra connector account names the tenant the server writes to.
    let account = aad.entra.as_ref().and_then(|e| e.account.as_deref());
    assert_eq!(account, Some("Sync_CONTOSO-SYNC01_e3c03195e061@contoso.onmicrosoft.com"));
    assert_eq!(aad.entra_tenant_domain().as_deref(), Some("contoso.onmicrosoft.com"));
    assert_eq!(config.connectors[0].entra_tenant_domain(), None, "an AD connector names no tenant");

    assert_eq!(config.ad_connectors().count(), 1);
    assert_eq!(config.entra_connectors().count(), 1);
    assert_eq!(
        config.connector(&phs.target.clone().expect("target")).map(|c| c.name.as_str()),
        Some(aad.name.as_str())
    );
}

#[test]
fn sample_global_settings() {
    let config = read_sample();
    assert_eq!(config.server_name.as_deref(), Some("CONTOSO-SYNC01"));
    assert_eq!(config.export_date.as_deref(), Some("2016-05-03 14:28:09.784"));
    assert_eq!(config.global("Microsoft.Synchronize.StagingMode"), Some("False"));
    assert_eq!(config.global("Microsoft.OptionalFeature.PasswordHashSync"), Some("False"));
    assert_eq!(config.global("Microsoft.Synchronize.ServerConfigurationVersion"), Some("1.1.130.0"));
    assert_eq!(config.global("Microsoft.Synchronize.NextStartTime"), Some("Tue, 03 May 2016 14:39:16 GMT"));
    // Self-closing parameters are kept, empty.
    assert_eq!(config.global("Microsoft.SynchronizationOption.CustomAttribute"), Some(""));
    assert_eq!(config.global_parameters.len(), 37);
}

#[test]
fn sample_sync_rules() {
    let config = read_sample();
    assert_eq!(config.sync_rules.len(), 62);
    let mut sorted = config.sync_rules.clone();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(sorted, config.sync_rules, "rules are sorted by name");
    assert!(config.sync_rules.iter().all(|r| !r.disabled && r.id.is_some() && r.connector.is_some()));

    let phs: Vec<_> = config.sync_rules.iter().filter(|r| r.enable_password_sync).collect();
    assert_eq!(phs.len(), 2);
    let inbound = phs.iter().find(|r| r.name == "In from AD - User AccountEnabled").expect("inbound rule");
    assert_eq!(inbound.direction, "Inbound");
    assert_eq!(inbound.connector, Some(guid("AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D")));
    assert_eq!(inbound.precedence, Some(102));
    assert_eq!(inbound.source_object_type.as_deref(), Some("user"));
    assert_eq!(inbound.target_object_type.as_deref(), Some("person"));
    assert_eq!(inbound.id, Some(guid("0a1f95e3-265a-44fc-ad7c-80e267b05c06")));
    assert_eq!(inbound.file, "SynchronizationRules/SynchronizationRule_{0a1f95e3-265a-44fc-ad7c-80e267b05c06}.xml");
    let outbound = phs.iter().find(|r| r.name == "Out to AAD - User Join").expect("outbound rule");
    assert_eq!(outbound.direction, "Outbound");
    assert_eq!(outbound.connector, Some(guid("B891884F-051E-4A83-95AF-2544101C9083")));
    assert_eq!(outbound.precedence, Some(123));

    // Scoping, link type, tag and join rules, as the real rules hold them.
    use phs_model::{JoinCondition, ScopeCondition};
    let cond = |a: &str, o: &str, v: &str| ScopeCondition { attribute: a.into(), operator: o.into(), value: v.into() };
    assert_eq!(inbound.immutable_tag.as_deref(), Some("Microsoft.InfromADUserAccountEnabled.004"));
    assert_eq!(inbound.link_type.as_deref(), Some("Join"));
    assert_eq!(inbound.scope.len(), 1);
    assert_eq!(inbound.scope[0].conditions, [cond("userAccountControl", "ISBITNOTSET", "2")]);
    assert!(inbound.join.is_empty(), "<relationshipCriteria /> is no join rule");
    assert_eq!(outbound.link_type.as_deref(), Some("Provision"));
    assert_eq!(outbound.scope.len(), 1);
    let out_scope = &outbound.scope[0].conditions;
    assert_eq!(out_scope.len(), 5);
    assert_eq!(out_scope[2], cond("cloudFiltered", "NOTEQUAL", "True"));
    assert_eq!(out_scope[3], cond("sourceAnchor", "ISNOTNULL", ""));
    assert_eq!(
        outbound.join[0].conditions,
        [JoinCondition {
            cs_attribute: "sourceAnchor".into(),
            mv_attribute: "sourceAnchor".into(),
            case_sensitive: false
        }]
    );
    let user_join = config.sync_rules.iter().find(|r| r.name == "In from AD - User Join").expect("user join");
    assert_eq!(user_join.join.len(), 5, "one group per alternative join");
    assert_eq!(
        user_join.scope[0].conditions,
        [cond("isCriticalSystemObject", "NOTEQUAL", "TRUE"), cond("adminDescription", "NOTSTARTSWITH", "User_")]
    );
    // The sample has no group filter: the parameter is empty and the feature off.
    let (_, ad) = config.ad_connectors().next().expect("AD connector");
    assert_eq!(ad.group_filter_dn, None);
    assert_eq!(config.global("Microsoft.OptionalFeature.GroupFiltering"), Some("False"));
    assert_eq!(config.group_filter(ad), None);
    let mut on = config.clone();
    on.global_parameters.insert("Microsoft.OptionalFeature.GroupFiltering".into(), "True".into());
    let mut with_group = ad.clone();
    with_group.group_filter_dn = Some("CN=PHS Pilot,DC=contoso,DC=com".into());
    assert_eq!(on.group_filter(&with_group), Some("CN=PHS Pilot,DC=contoso,DC=com"));
    assert_eq!(config.group_filter(&with_group), None, "the group is ignored while the feature is off");
}

#[test]
fn sample_parse_functions_directly() {
    let bytes = fs::read(sample().join(AD_FILE)).expect("read");
    let start = std::time::Instant::now();
    let c = parse_connector(&bytes, AD_FILE).expect("parse");
    // Generous: debug builds are slow; release is a few ms.
    assert!(start.elapsed().as_secs() < 5);
    assert_eq!(c.name, "contoso.com");

    let mv = fs::read(sample().join("GlobalSettings/MV.xml")).expect("read");
    let g = parse_global_settings(&mv, "GlobalSettings/MV.xml").expect("parse");
    assert_eq!(g.server_name.as_deref(), Some("CONTOSO-SYNC01"));
    assert_eq!(g.file, "GlobalSettings/MV.xml");
}

/// The same content re-encoded the ways Windows tools write files.
#[test]
fn sample_in_other_encodings() {
    // The big AD connector: also shows UTF-16 input costs no more than UTF-8.
    let bytes = fs::read(sample().join(AD_FILE)).expect("read");
    let text = String::from_utf8(bytes.clone()).expect("utf-8 sample");
    let plain = parse_connector(&bytes, "f").expect("plain");

    let with_bom: Vec<u8> = [0xEF, 0xBB, 0xBF].into_iter().chain(bytes.iter().copied()).collect();
    assert_eq!(parse_connector(&with_bom, "f").expect("bom"), plain);

    let utf16le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    assert_eq!(parse_connector(&utf16le, "f").expect("utf-16le"), plain);

    let utf16be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
    assert_eq!(parse_connector(&utf16be, "f").expect("utf-16be"), plain);
}

// ---------------------------------------------------------------- damaged exports

#[test]
fn mixed_good_and_bad_files() {
    let dir = fixtures().join("export-bad/mixed");
    let (config, problems) = read_server_config(&dir);
    let config = config.expect("the good files are still read");

    // Good connectors, including the one with an upper-case `.XML`.
    let names: Vec<&str> = config.connectors.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["fabrikam.com", "fabrikam.onmicrosoft.com - AAD"]);
    let fab = config.ad_connectors().next().expect("AD connector").1;
    assert_eq!(fab.login_user.as_deref(), Some("MSOL_0123456789ab"));
    assert_eq!(fab.phs.as_ref().map(|p| p.enabled), Some(true));
    assert_eq!(fab.partitions[0].inclusions, ["DC=fabrikam,DC=com"]);
    assert!(fab.partitions[0].exclusions.is_empty());
    assert_eq!(config.connectors[1].file, "Connectors/Connector_{44444444-4444-4444-4444-444444444444}.XML");

    // MV.xml is broken, Extra.xml is not.
    assert_eq!(config.server_name, None);
    assert_eq!(config.global("Microsoft.UserSignIn.SignOnMethod"), Some("PasswordHashSync"));
    assert_eq!(config.global("Microsoft.OptionalFeature.GroupWriteBack"), Some(""));
    assert_eq!(config.global("Microsoft.Synchronize.StagingMode"), None);

    assert_eq!(config.sync_rules.len(), 1);
    assert_eq!(config.sync_rules[0].name, "In from AD - User AccountEnabled");

    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems.iter().all(|p| p.source == SourceKind::ServerConfig && p.partial));
    let find = |needle: &str| {
        problems
            .iter()
            .find(|p| p.location.contains(needle))
            .unwrap_or_else(|| panic!("no problem for {needle}: {problems:#?}"))
    };

    let truncated = find("Connector_{22222222");
    assert_eq!(
        truncated.location,
        dir.join("Connectors/Connector_{22222222-2222-2222-2222-222222222222}.xml").display().to_string()
    );
    assert!(
        truncated.error.starts_with(
            "Connectors/Connector_{22222222-2222-2222-2222-222222222222}.xml: unexpected end of file inside element \
             ma-data/private-configuration/adma-configuration (byte offset "
        ),
        "{}",
        truncated.error
    );

    let bad_id = find("Connector_{33333333");
    assert_eq!(
        bad_id.error,
        "Connectors/Connector_{33333333-3333-3333-3333-333333333333}.xml: element ma-data/id: \"xyz\" is not a GUID (byte offset 12)"
    );

    let mv = find("MV.xml");
    assert!(mv.error.starts_with("GlobalSettings/MV.xml: malformed XML inside element"), "{}", mv.error);
    assert!(mv.error.contains("saved-mv-configuration/mv-data/parameter-values/parameter"), "{}", mv.error);
    assert!(mv.error.contains("byte offset"), "{}", mv.error);

    let rule = find("000000000002");
    assert!(
        rule.error.contains("element synchronizationRule/EnablePasswordSync: \"maybe\" is not a flag"),
        "{}",
        rule.error
    );
}

#[test]
fn missing_folder() {
    let dir = fixtures().join("export-bad/does-not-exist");
    let (config, problems) = read_server_config(&dir);
    assert!(config.is_none());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].location, dir.display().to_string());
    assert!(problems[0].error.starts_with("cannot read the export folder"), "{}", problems[0].error);
    assert!(!problems[0].partial);
}

#[test]
fn a_file_instead_of_a_folder() {
    let file = sample().join(AD_FILE);
    let (config, problems) = read_server_config(&file);
    assert!(config.is_none());
    assert_eq!(problems.len(), 1);
    assert!(!problems[0].partial);
}

#[test]
fn empty_folder_reads_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (config, problems) = read_server_config(tmp.path());
    assert!(config.is_none());
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems.iter().all(|p| !p.partial));
    assert!(problems.iter().any(|p| p.error == "Connectors/: folder not found in the export"));
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn missing_connectors_folder_is_partial() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&sample().join("GlobalSettings"), &tmp.path().join("GlobalSettings"));
    copy_tree(&sample().join("SynchronizationRules"), &tmp.path().join("SynchronizationRules"));
    let (config, problems) = read_server_config(tmp.path());
    let config = config.expect("rules and settings still read");
    assert!(config.connectors.is_empty());
    assert_eq!(config.sync_rules.len(), 62);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].location, tmp.path().join("Connectors").display().to_string());
    assert!(problems[0].partial);
}

#[test]
fn folder_names_in_other_case() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&sample().join("Connectors"), &tmp.path().join("connectors"));
    copy_tree(&sample().join("GlobalSettings"), &tmp.path().join("GLOBALSETTINGS"));
    copy_tree(&sample().join("SynchronizationRules"), &tmp.path().join("synchronizationrules"));
    // Files that are not XML are ignored.
    fs::write(tmp.path().join("connectors/notes.txt"), "not xml").expect("write");
    let (config, problems) = read_server_config(tmp.path());
    assert!(problems.is_empty(), "{problems:#?}");
    let config = config.expect("config");
    assert_eq!(config.connectors.len(), 2);
    assert_eq!(config.connectors[0].file, "connectors/Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml");
    assert_eq!(config.sync_rules.len(), 62);
    assert_eq!(config.server_name.as_deref(), Some("CONTOSO-SYNC01"));
}

/// The real AD connector cut short at several points: every cut is an error
/// naming the file and the element it stopped in; the AAD connector, rules and
/// settings are still read.
#[test]
fn truncated_real_connector() {
    let ad = fs::read(sample().join(AD_FILE)).expect("read");
    let text = std::str::from_utf8(&ad).expect("utf-8");
    let at = |needle: &str| text.find(needle).expect("needle in sample");
    let cases = [
        (at("<forest-login-user>"), "ma-data/private-configuration/adma-configuration"),
        (at("<forest-login-user>") + 22, "ma-data/private-configuration/adma-configuration/forest-login-user"),
        (at("<enabled>0"), "ma-data/private-configuration/adma-configuration/password-hash-sync-config"),
        (at("</directory-schema>"), "ma-data/schema"),
        (at("<inclusion>OU=CORP"), "ma-data/ma-partition-data/partition/filter/containers/inclusions"),
        (at("<partition><id>") + 5, "ma-data/ma-partition-data"),
        (ad.len() - 3, "ma-data"),
    ];
    for (cut, element) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        copy_tree(&sample(), tmp.path());
        fs::write(tmp.path().join(AD_FILE), &ad[..cut]).expect("write");
        let (config, problems) = read_server_config(tmp.path());
        let config = config.expect("partial config");
        assert_eq!(config.connectors.len(), 1, "cut at {cut}");
        assert_eq!(config.connectors[0].kind, ConnectorKind::EntraId);
        assert_eq!(config.sync_rules.len(), 62);
        assert_eq!(problems.len(), 1, "cut at {cut}: {problems:#?}");
        let p = &problems[0];
        assert!(p.partial);
        assert_eq!(p.location, tmp.path().join(AD_FILE).display().to_string());
        let expected = format!("{AD_FILE}: unexpected end of file inside element {element}");
        assert!(p.error.starts_with(&expected), "cut at {cut}:\n  got  {}\n  want {expected}", p.error);
        assert!(p.error.contains("(byte offset "), "{}", p.error);
    }
}

#[test]
fn unreadable_file_is_reported_and_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&sample(), tmp.path());
    // A dangling symlink cannot be read whoever runs the test (root ignores file modes).
    #[cfg(unix)]
    {
        let link = tmp.path().join("Connectors/Connector_{dangling}.xml");
        std::os::unix::fs::symlink(tmp.path().join("nowhere.xml"), &link).expect("symlink");
        let (config, problems) = read_server_config(tmp.path());
        assert_eq!(config.expect("config").connectors.len(), 2);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].error.starts_with("Connectors/Connector_{dangling}.xml: cannot open:"),
            "{}",
            problems[0].error
        );
        assert!(problems[0].partial);
    }
}

#[test]
fn parse_errors_name_file_element_and_offset() {
    let e = parse_sync_rule(b"<synchronizationRule><name>x</name>", "r.xml").unwrap_err().to_string();
    assert_eq!(e, "r.xml: unexpected end of file inside element synchronizationRule (byte offset 35)");

    let e = parse_global_settings(b"\xEF\xBB\xBF<a><b>\xFF</b></a>", "g.xml").unwrap_err().to_string();
    assert_eq!(e, "g.xml: invalid UTF-8 at byte offset 9");

    let e = parse_connector(b"", "c.xml").unwrap_err().to_string();
    assert_eq!(e, "c.xml: no root element (empty file?)");

    let e = parse_connector(b"<ma-data><id>{11111111-1111-1111-1111-111111111111}</id></ma-data>", "c.xml")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "c.xml: element ma-data/name is missing (parent element at byte offset 0)");
}

#[test]
fn hostile_shapes_hit_a_limit_with_a_clear_error_not_the_memory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&sample(), tmp.path());
    let rule = std::fs::read_dir(tmp.path().join("SynchronizationRules")).unwrap().next().unwrap().unwrap().path();
    // A million empty elements: refused at the element cap.
    let many = format!("<synchronizationRule>{}</synchronizationRule>", "<a/>".repeat(1_000_000));
    std::fs::write(&rule, many).unwrap();
    let (_, problems) = read_server_config(tmp.path());
    assert!(problems.iter().any(|p| p.error.contains("more than 500000 elements")), "{problems:#?}");
    // Nesting a hundred thousand deep: refused at the depth cap.
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    std::fs::write(&rule, deep).unwrap();
    let (_, problems) = read_server_config(tmp.path());
    assert!(problems.iter().any(|p| p.error.contains("nested deeper than 64")), "{problems:#?}");
}

#[cfg(unix)]
#[test]
fn a_device_or_fifo_in_the_export_is_refused_without_hanging() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&sample(), tmp.path());
    std::os::unix::fs::symlink("/dev/zero", tmp.path().join("Connectors/Connector_{zero}.xml")).unwrap();
    let (config, problems) = read_server_config(tmp.path());
    assert_eq!(config.expect("config").connectors.len(), 2);
    assert!(problems.iter().any(|p| p.error.contains("not a regular file (a character device)")), "{problems:#?}");
}

//! `SynchronizationRules/SynchronizationRule_{guid}.xml`: root
//! `<synchronizationRule>`. Only the header fields are read; mappings,
//! scoping and join conditions are not needed to judge password hash sync.

use super::xml::{Doc, ROOT};
use super::ExportError;
use phs_model::SyncRule;

pub fn parse_sync_rule(xml: &[u8], file: &str) -> Result<SyncRule, ExportError> {
    let doc = Doc::parse(xml, file, &[])?;
    doc.expect_root("synchronizationRule")?;
    let name_node = doc.child(ROOT, "name").ok_or_else(|| doc.missing(ROOT, "name"))?;
    Ok(SyncRule {
        id: doc.child_guid(ROOT, "id")?,
        name: doc.text(name_node).to_owned(),
        direction: doc.child_text(ROOT, "direction").unwrap_or_default(),
        connector: doc.child_guid(ROOT, "connector")?,
        disabled: doc.child_flag(ROOT, "disabled")?,
        precedence: doc.child_int(ROOT, "precedence")?,
        source_object_type: doc.child_text(ROOT, "sourceObjectType"),
        target_object_type: doc.child_text(ROOT, "targetObjectType"),
        enable_password_sync: doc.child_flag(ROOT, "EnablePasswordSync")?,
        file: file.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let xml = "<synchronizationRule><EnablePasswordSync>TRUE</EnablePasswordSync><name>R</name>\
                   <disabled>True</disabled><precedence> 7 </precedence><direction>Outbound</direction>\
                   <connector>{b891884f-051e-4a83-95af-2544101c9083}</connector>\
                   <attribute-mappings><mapping><dest>x</dest><name>not the rule name</name></mapping></attribute-mappings>\
                   </synchronizationRule>";
        let r = parse_sync_rule(xml.as_bytes(), "r.xml").unwrap();
        assert_eq!(r.name, "R");
        assert!(r.enable_password_sync && r.disabled);
        assert_eq!(r.precedence, Some(7));
        assert_eq!(r.direction, "Outbound");
        assert_eq!(r.connector.unwrap().as_str(), "B891884F-051E-4A83-95AF-2544101C9083");
        assert_eq!(r.id, None);
        assert_eq!(r.source_object_type, None);
    }

    #[test]
    fn bad_fields() {
        let e = parse_sync_rule(
            b"<synchronizationRule><name>R</name><precedence>high</precedence></synchronizationRule>",
            "r.xml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("element synchronizationRule/precedence: \"high\" is not an integer"), "{e}");
        let e = parse_sync_rule(b"<synchronizationRule><id>{1}</id><name>R</name></synchronizationRule>", "r.xml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("synchronizationRule/id: \"{1}\" is not a GUID"), "{e}");
    }
}

//! `SynchronizationRules/SynchronizationRule_{guid}.xml`: root
//! `<synchronizationRule>`. The header fields, the scoping filter
//! (`synchronizationCriteria`) and the join rules (`relationshipCriteria`)
//! are read: they say whether a rule, password sync included, applies to a
//! user. Attribute mappings are not (the one that matters, `cloudFiltered`,
//! is judged from the metaverse object, where its result is).

use super::xml::{Doc, NodeId, ROOT};
use super::ExportError;
use phs_model::{JoinCondition, JoinGroup, ScopeCondition, ScopeGroup, SyncRule};

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
        immutable_tag: doc.child_text(ROOT, "immutable-tag"),
        link_type: doc.child_text(ROOT, "linkType"),
        scope: groups(&doc, "synchronizationCriteria", "scope", |n| {
            Ok(ScopeCondition {
                attribute: doc.child_text(n, "csAttribute").unwrap_or_default(),
                operator: doc.child_text(n, "csOperator").unwrap_or_default(),
                value: doc.child_text(n, "csValue").unwrap_or_default(),
            })
        })?
        .into_iter()
        .map(|conditions| ScopeGroup { conditions })
        .collect(),
        join: groups(&doc, "relationshipCriteria", "condition", |n| {
            Ok(JoinCondition {
                cs_attribute: doc.child_text(n, "csAttribute").unwrap_or_default(),
                mv_attribute: doc.child_text(n, "ilmAttribute").unwrap_or_default(),
                case_sensitive: doc.child_flag(n, "caseSensitive")?,
            })
        })?
        .into_iter()
        .map(|conditions| JoinGroup { conditions })
        .collect(),
    })
}

/// `<criteria><conditions><item/>...</conditions>...</criteria>`, the shape
/// both the scoping filter and the join rules take: one list per
/// `conditions` group, empty groups dropped (an empty group is how the
/// editor saves a rule whose filter was cleared, and it constrains nothing).
fn groups<T>(
    doc: &Doc,
    criteria: &str,
    item: &str,
    each: impl Fn(NodeId) -> Result<T, ExportError>,
) -> Result<Vec<Vec<T>>, ExportError> {
    let Some(c) = doc.child(ROOT, criteria) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for g in doc.children(c, "conditions") {
        let conditions = doc.children(g, item).map(&each).collect::<Result<Vec<T>, _>>()?;
        if !conditions.is_empty() {
            out.push(conditions);
        }
    }
    Ok(out)
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
        assert!(r.scope.is_empty() && r.join.is_empty() && r.link_type.is_none() && r.immutable_tag.is_none());
    }

    /// A hand-made rule: a group filter scope (`ISMEMBEROF`), an OR of two
    /// scope groups, an empty group (dropped) and a two-condition join.
    #[test]
    fn scope_groups_and_joins() {
        let xml = "<synchronizationRule><name>In from AD - User Join</name><linkType>Provision</linkType>\
                   <immutable-tag>Microsoft.InfromADUserJoin.003</immutable-tag>\
                   <relationshipCriteria><conditions>\
                     <condition><caseSensitive>True</caseSensitive><csAttribute>objectSid</csAttribute><ilmAttribute>objectSid</ilmAttribute></condition>\
                     <condition><csAttribute>mail</csAttribute><ilmAttribute>mail</ilmAttribute></condition>\
                   </conditions></relationshipCriteria>\
                   <synchronizationCriteria>\
                     <conditions><scope><csAttribute>memberOf</csAttribute><csOperator>ISMEMBEROF</csOperator>\
                       <csValue>CN=PHS Pilot,OU=Groups,DC=contoso,DC=com</csValue></scope></conditions>\
                     <conditions/>\
                     <conditions><scope><csAttribute>extensionAttribute15</csAttribute><csOperator>ISNOTNULL</csOperator><csValue/></scope>\
                       <scope><csAttribute>adminDescription</csAttribute><csOperator>NOTSTARTSWITH</csOperator><csValue>User_</csValue></scope></conditions>\
                   </synchronizationCriteria></synchronizationRule>";
        let r = parse_sync_rule(xml.as_bytes(), "r.xml").unwrap();
        assert_eq!(r.link_type.as_deref(), Some("Provision"));
        assert_eq!(r.immutable_tag.as_deref(), Some("Microsoft.InfromADUserJoin.003"));
        assert_eq!(r.scope.len(), 2, "{:?}", r.scope);
        assert_eq!(
            r.scope[0].conditions,
            [ScopeCondition {
                attribute: "memberOf".into(),
                operator: "ISMEMBEROF".into(),
                value: "CN=PHS Pilot,OU=Groups,DC=contoso,DC=com".into()
            }]
        );
        assert_eq!(r.scope[1].conditions.len(), 2);
        assert_eq!(r.scope[1].conditions[0].value, "");
        assert_eq!(r.join.len(), 1);
        let j = &r.join[0].conditions;
        assert_eq!(
            (j[0].cs_attribute.as_str(), j[0].mv_attribute.as_str(), j[0].case_sensitive),
            ("objectSid", "objectSid", true)
        );
        assert!(!j[1].case_sensitive);
    }

    #[test]
    fn bad_join_flag_names_the_element() {
        let e = parse_sync_rule(
            b"<synchronizationRule><name>R</name><relationshipCriteria><conditions><condition>\
              <caseSensitive>maybe</caseSensitive></condition></conditions></relationshipCriteria></synchronizationRule>",
            "r.xml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("relationshipCriteria/conditions/condition/caseSensitive"), "{e}");
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

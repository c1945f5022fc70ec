//! `Connectors/Connector_{guid}.xml`: root `<ma-data>`.

use super::xml::{Doc, NodeId, ROOT};
use super::ExportError;
use phs_model::{AdConnector, Connector, ConnectorKind, EntraConnector, Partition, PhsChannel};
use std::collections::HashMap;

/// The subtype the Entra (Azure AD) connector carries; Microsoft's own
/// documenter compares it case-insensitively, and so do we.
const ENTRA_SUBTYPE: &str = "Windows Azure Active Directory (Microsoft)";

/// Parses one connector file. `file` names it in errors and in `Connector::file`.
pub fn parse_connector(xml: &[u8], file: &str) -> Result<Connector, ExportError> {
    // `schema` holds the connector's DSML schema (1.8 MB for an AD forest);
    // nothing in it matters to password hash sync.
    let doc = Doc::parse(xml, file, &["schema"])?;
    doc.expect_root("ma-data")?;

    let id_node = doc.child(ROOT, "id").ok_or_else(|| doc.missing(ROOT, "id"))?;
    let id = match doc.guid(id_node)? {
        Some(g) => g,
        None => return Err(doc.error(id_node, super::ExportErrorKind::NotAGuid(String::new()))),
    };
    let name_node = doc.child(ROOT, "name").ok_or_else(|| doc.missing(ROOT, "name"))?;
    let name = doc.text(name_node).to_owned();
    let category = doc.child_text(ROOT, "category").unwrap_or_default();
    let subtype = doc.child_text(ROOT, "subtype").unwrap_or_default();

    let kind = if category.eq_ignore_ascii_case("AD") {
        ConnectorKind::ActiveDirectory
    } else if category.eq_ignore_ascii_case("Extensible2") && subtype.eq_ignore_ascii_case(ENTRA_SUBTYPE) {
        ConnectorKind::EntraId
    } else {
        ConnectorKind::Other
    };

    let ad = if kind == ConnectorKind::ActiveDirectory { Some(parse_ad(&doc)?) } else { None };
    let entra = (kind == ConnectorKind::EntraId).then(|| parse_entra(&doc));

    Ok(Connector { id, name, category, subtype, kind, file: doc.file().to_owned(), ad, entra })
}

/// `private-configuration/MAConfig/parameter-values`: the connector account
/// (`UserName`), which names the tenant the server writes to.
fn parse_entra(doc: &Doc) -> EntraConnector {
    let account =
        doc.find(ROOT, &["private-configuration", "MAConfig"]).and_then(|cfg| parameters(doc, cfg).remove("username"));
    EntraConnector { account }
}

fn parse_ad(doc: &Doc) -> Result<AdConnector, ExportError> {
    let mut ad = AdConnector::default();

    if let Some(cfg) = doc.find(ROOT, &["private-configuration", "adma-configuration"]) {
        // The same values also appear as connectivity parameters; older or
        // hand-edited exports may have only one of the two forms.
        let params = parameters(doc, cfg);
        let pick = |name: &str| doc.child_text(cfg, name).or_else(|| params.get(&name.to_ascii_lowercase()).cloned());
        ad.forest_name = pick("forest-name");
        ad.login_domain = pick("forest-login-domain");
        ad.login_user = pick("forest-login-user");

        if let Some(phs) = doc.child(cfg, "password-hash-sync-config") {
            ad.phs =
                Some(PhsChannel { enabled: doc.child_flag(phs, "enabled")?, target: doc.child_guid(phs, "target")? });
        }
    }

    if let Some(data) = doc.child(ROOT, "ma-partition-data") {
        for p in doc.children(data, "partition") {
            ad.partitions.push(parse_partition(doc, p)?);
        }
    }
    Ok(ad)
}

/// `parameter-values/parameter` under `parent`, by lower-cased name; the first
/// of a name wins. Non-empty values only: an empty parameter is no fallback.
fn parameters(doc: &Doc, parent: NodeId) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pv in doc.children(parent, "parameter-values") {
        for p in doc.children(pv, "parameter") {
            let (Some(name), value) = (doc.attr(p, "name"), doc.text(p)) else { continue };
            if !value.is_empty() {
                out.entry(name.to_ascii_lowercase()).or_insert_with(|| value.to_owned());
            }
        }
    }
    out
}

fn parse_partition(doc: &Doc, p: NodeId) -> Result<Partition, ExportError> {
    let custom = doc.find(p, &["custom-data", "adma-partition-data"]);
    let custom_text = |name: &str| custom.and_then(|c| doc.child_text(c, name));

    let texts = |path: &[&str], item: &str| -> Vec<String> {
        doc.find(p, path)
            .map(|list| {
                doc.children(list, item)
                    .map(|n| doc.text(n))
                    // The Entra partition has one empty `<inclusion />`: it means nothing.
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };

    Ok(Partition {
        id: doc.child_guid(p, "id")?,
        dn: doc.child_text(p, "name").or_else(|| custom_text("dn")).unwrap_or_default(),
        fqdn: custom_text("name").or_else(|| doc.child_text(p, "display-name")),
        selected: doc.child_flag(p, "selected")?,
        is_domain: match custom {
            Some(c) => doc.child_flag(c, "is-domain")?,
            None => false,
        },
        inclusions: texts(&["filter", "containers", "inclusions"], "inclusion"),
        exclusions: texts(&["filter", "containers", "exclusions"], "exclusion"),
        object_classes: texts(&["filter", "object-classes"], "object-class"),
        preferred_dcs: custom
            .and_then(|c| doc.child(c, "preferred-dcs"))
            .map(|list| {
                doc.children(list, "preferred-dc")
                    .map(|n| doc.text(n))
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        last_dc: custom_text("last-dc"),
        login_user: custom_text("login-user"),
        login_domain: custom_text("login-domain"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL_AD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<!-- hand-made -->
<ma-data>
  <subtype/>
  <category>ad</category>
  <name>fabrikam.com</name>
  <id>{11111111-2222-3333-4444-555555555555}</id>
  <schema><dsml><directory-schema><class id='user'/></directory-schema></dsml></schema>
  <private-configuration><adma-configuration>
    <parameter-values>
      <parameter name='forest-login-user' type='string'>svc_sync</parameter>
      <parameter name="forest-login-domain">FABRIKAM</parameter>
      <parameter name="forest-name"/>
    </parameter-values>
    <forest-name>fabrikam.com</forest-name>
    <password-hash-sync-config><target>{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}</target><enabled>1</enabled></password-hash-sync-config>
  </adma-configuration></private-configuration>
  <ma-partition-data>
    <partition>
      <selected>0</selected>
      <name>DC=child,DC=fabrikam,DC=com</name>
      <filter><containers><inclusions><inclusion/></inclusions><exclusions/></containers></filter>
      <custom-data><adma-partition-data>
        <is-domain>1</is-domain>
        <preferred-dcs><preferred-dc>dc1.child.fabrikam.com</preferred-dc><preferred-dc>dc2.child.fabrikam.com</preferred-dc></preferred-dcs>
        <login-user>alt</login-user><login-domain>CHILD</login-domain>
      </adma-partition-data></custom-data>
      <display-name>child.fabrikam.com</display-name>
    </partition>
  </ma-partition-data>
</ma-data>"#;

    #[test]
    fn order_quotes_and_fallbacks() {
        let c = parse_connector(MINIMAL_AD.as_bytes(), "Connectors/x.xml").unwrap();
        assert_eq!(c.kind, ConnectorKind::ActiveDirectory);
        assert_eq!(c.id.as_str(), "11111111-2222-3333-4444-555555555555");
        assert_eq!(c.file, "Connectors/x.xml");
        let ad = c.ad.unwrap();
        assert_eq!(ad.forest_name.as_deref(), Some("fabrikam.com"));
        assert_eq!(ad.login_user.as_deref(), Some("svc_sync"));
        assert_eq!(ad.login_domain.as_deref(), Some("FABRIKAM"));
        let phs = ad.phs.unwrap();
        assert!(phs.enabled);
        assert_eq!(phs.target.unwrap().as_str(), "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE");
        let p = &ad.partitions[0];
        assert!(!p.selected);
        assert!(p.is_domain);
        assert!(p.id.is_none());
        assert_eq!(p.dn, "DC=child,DC=fabrikam,DC=com");
        assert_eq!(p.fqdn.as_deref(), Some("child.fabrikam.com"));
        assert!(p.inclusions.is_empty() && p.exclusions.is_empty());
        assert_eq!(p.preferred_dcs.len(), 2);
        assert_eq!(p.login_user.as_deref(), Some("alt"));
        assert_eq!(p.login_domain.as_deref(), Some("CHILD"));
    }

    #[test]
    fn phs_absent_and_other_kinds() {
        let xml =
            "<ma-data><id>11111111-2222-3333-4444-555555555555</id><name>n</name><category>AD</category></ma-data>";
        let c = parse_connector(xml.as_bytes(), "f").unwrap();
        assert_eq!(c.ad.unwrap().phs, None);

        let xml = "<ma-data><id>11111111-2222-3333-4444-555555555555</id><name>n</name>\
                   <category>EXTENSIBLE2</category><subtype>windows azure active directory (microsoft)</subtype></ma-data>";
        let c = parse_connector(xml.as_bytes(), "f").unwrap();
        assert_eq!(c.kind, ConnectorKind::EntraId);
        assert!(c.ad.is_none());
        assert_eq!(c.entra.as_ref().map(|e| e.account.as_deref()), Some(None));
        assert_eq!(c.entra_tenant_domain(), None, "neither an account nor a default name");

        let xml = "<ma-data><id>11111111-2222-3333-4444-555555555555</id><name>n</name><category>Extensible2</category><subtype>Generic LDAP</subtype></ma-data>";
        assert_eq!(parse_connector(xml.as_bytes(), "f").unwrap().kind, ConnectorKind::Other);
    }

    #[test]
    fn the_entra_connector_names_its_tenant() {
        let entra = |name: &str, params: &str| {
            let xml = format!(
                "<ma-data><id>11111111-2222-3333-4444-555555555555</id><name>{name}</name><category>Extensible2</category>\
                 <subtype>Windows Azure Active Directory (Microsoft)</subtype><private-configuration><MAConfig>\
                 <parameter-values>{params}</parameter-values></MAConfig></private-configuration></ma-data>"
            );
            parse_connector(xml.as_bytes(), "f").unwrap()
        };
        let user =
            |v: &str| format!("<parameter name=\"UserName\" type=\"string\" use=\"connectivity\">{v}</parameter>");
        // The account wins over the (renamable) connector name.
        let c = entra("fabrikam.onmicrosoft.com - AAD", &user("Sync_SYNC02_0a1b2c3d4e5f@Contoso.onmicrosoft.com"));
        assert_eq!(
            c.entra.as_ref().unwrap().account.as_deref(),
            Some("Sync_SYNC02_0a1b2c3d4e5f@Contoso.onmicrosoft.com")
        );
        assert_eq!(c.entra_tenant_domain().as_deref(), Some("contoso.onmicrosoft.com"));
        // No account: the wizard's default name.
        let c = entra("Tailspin.onmicrosoft.com - AAD", "<parameter name=\"Password\" encrypted=\"1\" />");
        assert_eq!(c.entra_tenant_domain().as_deref(), Some("tailspin.onmicrosoft.com"));
        // A renamed connector and an account without a domain name nothing.
        let c = entra("Entra ID", &user("Sync_SYNC02_0a1b2c3d4e5f"));
        assert_eq!(c.entra_tenant_domain(), None);
    }

    #[test]
    fn bad_values_name_the_element() {
        let xml = "<ma-data><id>xyz</id><name>n</name></ma-data>";
        let e = parse_connector(xml.as_bytes(), "f.xml").unwrap_err().to_string();
        assert_eq!(e, "f.xml: element ma-data/id: \"xyz\" is not a GUID (byte offset 9)");

        let xml = "<ma-data><name>n</name></ma-data>";
        let e = parse_connector(xml.as_bytes(), "f.xml").unwrap_err().to_string();
        assert!(e.contains("element ma-data/id is missing"), "{e}");

        let xml = "<ma-data><id>11111111-2222-3333-4444-555555555555</id><name>n</name><category>AD</category>\
                   <private-configuration><adma-configuration><password-hash-sync-config><enabled>yes</enabled>\
                   </password-hash-sync-config></adma-configuration></private-configuration></ma-data>";
        let e = parse_connector(xml.as_bytes(), "f.xml").unwrap_err().to_string();
        assert!(
            e.contains(
                "element ma-data/private-configuration/adma-configuration/password-hash-sync-config/enabled: \"yes\""
            ),
            "{e}"
        );

        let e = parse_connector(b"<synchronizationRule/>", "f.xml").unwrap_err().to_string();
        assert!(e.contains("root element is <synchronizationRule>, expected <ma-data>"), "{e}");
    }
}

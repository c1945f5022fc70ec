//! `GlobalSettings/*.xml`. The 1.1 sample has only `MV.xml` (root
//! `saved-mv-configuration`); later builds may add files, so any root is
//! accepted and every `parameter-values/parameter` is collected.

use super::xml::{Doc, ROOT};
use super::ExportError;
use std::collections::BTreeMap;

/// What one global settings file contributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalSettingsFile {
    pub file: String,
    /// Root attribute `server` (MV.xml), when present and non-empty.
    pub server_name: Option<String>,
    /// Root attribute `export-date`, verbatim (server local time).
    pub export_date: Option<String>,
    /// Parameter name → value; self-closing parameters map to `""`.
    /// When a name repeats, the first occurrence wins.
    pub parameters: BTreeMap<String, String>,
}

pub fn parse_global_settings(xml: &[u8], file: &str) -> Result<GlobalSettingsFile, ExportError> {
    // MV.xml carries the metaverse DSML schema; skip it like the connector's.
    let doc = Doc::parse(xml, file, &["schema"])?;
    let nonempty = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut out = GlobalSettingsFile {
        file: file.to_owned(),
        server_name: nonempty(doc.attr(ROOT, "server")),
        export_date: nonempty(doc.attr(ROOT, "export-date")),
        parameters: BTreeMap::new(),
    };
    for id in doc.all() {
        let under_values = doc.parent(id).is_some_and(|p| doc.name(p).eq_ignore_ascii_case("parameter-values"));
        if !under_values || !doc.name(id).eq_ignore_ascii_case("parameter") {
            continue;
        }
        // A parameter without a name cannot be looked up; skip it rather than
        // lose the rest of the file.
        let Some(name) = doc.attr(id, "name").map(str::trim).filter(|n| !n.is_empty()) else { continue };
        out.parameters.entry(name.to_owned()).or_insert_with(|| doc.text(id).to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_parameters_anywhere() {
        let xml = r#"<saved-mv-configuration export-date='2016-05-03 14:28:09.784' server='SRV'>
<!--WARNING> do not edit </WARNING-->
<mv-data><schema><dsml:dsml xmlns:dsml="x"><dsml:parameter-values><parameter name="InSchema">x</parameter></dsml:parameter-values></dsml:dsml></schema>
 <parameter-values>
   <parameter name="A" type="string">True</parameter>
   <parameter name="Empty" />
   <parameter>no name</parameter>
   <parameter name="A">second</parameter>
 </parameter-values>
 <other><parameter-values><parameter name='B'> 1 </parameter></parameter-values></other>
 <parameter name="NotUnderValues">x</parameter>
</mv-data></saved-mv-configuration>"#;
        let g = parse_global_settings(xml.as_bytes(), "GlobalSettings/MV.xml").unwrap();
        assert_eq!(g.server_name.as_deref(), Some("SRV"));
        assert_eq!(g.export_date.as_deref(), Some("2016-05-03 14:28:09.784"));
        assert_eq!(g.parameters.get("A").map(String::as_str), Some("True"));
        assert_eq!(g.parameters.get("Empty").map(String::as_str), Some(""));
        assert_eq!(g.parameters.get("B").map(String::as_str), Some("1"));
        assert!(!g.parameters.contains_key("InSchema"));
        assert!(!g.parameters.contains_key("NotUnderValues"));
        assert_eq!(g.parameters.len(), 3);
    }

    #[test]
    fn other_roots_without_attributes() {
        let g = parse_global_settings(
            b"<x><parameter-values><parameter name='P'>v</parameter></parameter-values></x>",
            "f",
        )
        .unwrap();
        assert_eq!(g.server_name, None);
        assert_eq!(g.parameters.len(), 1);
    }
}

//! Search result entries as raw bytes, and filter escaping.
//!
//! ldap3's `SearchEntry::construct` panics on a malformed entry and sorts
//! values into text and binary by whether they happen to be UTF-8, so an
//! `objectSid` can land on either side. Entries come from the network, so
//! this module walks the BER structure itself, keeps every value as bytes and
//! returns `None` instead of panicking; callers decide per attribute whether
//! a value is text or binary.

use std::collections::HashMap;

use ldap3::asn1::StructureTag;
use ldap3::ResultEntry;

/// One entry: its DN and every attribute (name lower-cased) with its values
/// verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Entry {
    pub dn: String,
    attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl Entry {
    /// Decode a SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName,
    /// attributes SEQUENCE OF SEQUENCE { type, vals SET OF value } }`).
    /// `None` when the structure is not that.
    pub fn from_result(entry: ResultEntry) -> Option<Entry> {
        Entry::from_tag(entry.0)
    }

    pub fn from_tag(tag: StructureTag) -> Option<Entry> {
        let mut parts = tag.match_id(4)?.expect_constructed()?.into_iter();
        let dn = String::from_utf8_lossy(&parts.next()?.expect_primitive()?).into_owned();
        let mut attrs: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for attribute in parts.next()?.expect_constructed()? {
            let mut fields = attribute.expect_constructed()?.into_iter();
            let name = String::from_utf8_lossy(&fields.next()?.expect_primitive()?).to_ascii_lowercase();
            let values = fields.next()?.expect_constructed()?;
            let slot = attrs.entry(name).or_default();
            for value in values {
                slot.push(value.expect_primitive()?);
            }
        }
        Some(Entry { dn, attrs })
    }

    /// An entry from attribute values as they are, for decoding them
    /// without the BER around them.
    pub fn from_values(dn: &str, attributes: &[(&str, Vec<Vec<u8>>)]) -> Entry {
        let mut attrs: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for (name, values) in attributes {
            attrs.entry(name.to_ascii_lowercase()).or_default().extend(values.iter().cloned());
        }
        Entry { dn: dn.to_owned(), attrs }
    }

    /// All values of `name` (case-insensitive); empty when absent.
    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        self.attrs.get(&name.to_ascii_lowercase()).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn first_bytes(&self, name: &str) -> Option<&[u8]> {
        self.values(name).first().map(Vec::as_slice)
    }

    /// The first value as text (lossy: directory strings are UTF-8).
    pub fn first_str(&self, name: &str) -> Option<String> {
        self.first_bytes(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn strs(&self, name: &str) -> Vec<String> {
        self.values(name).iter().map(|v| String::from_utf8_lossy(v).into_owned()).collect()
    }

    /// An INTEGER / Large-Integer attribute (decimal text on the wire).
    pub fn first_i64(&self, name: &str) -> Option<i64> {
        self.first_str(name)?.trim().parse().ok()
    }

    /// A 32-bit flags attribute. AD's INTEGER syntax is signed, so a value
    /// with the top bit set comes back negative; keep the bits.
    pub fn first_u32_bits(&self, name: &str) -> Option<u32> {
        let value = self.first_i64(name)?;
        if let Ok(v) = u32::try_from(value) {
            Some(v)
        } else {
            i32::try_from(value).ok().map(|v| v as u32)
        }
    }

    pub fn first_u32(&self, name: &str) -> Option<u32> {
        u32::try_from(self.first_i64(name)?).ok()
    }
}

/// An assertion value in a search filter: RFC 4515 escapes for the special
/// characters (`*`, `(`, `)`, `\`, NUL).
pub(crate) fn escape_value(value: &str) -> String {
    ldap3::ldap_escape(value).into_owned()
}

/// A binary assertion value (a SID): every byte as `\xx`.
pub(crate) fn escape_bytes(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value {
        out.push_str(&format!("\\{byte:02x}"));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ldap3::asn1::{TagClass, PL};

    fn prim(id: u64, bytes: &[u8]) -> StructureTag {
        StructureTag { class: TagClass::Universal, id, payload: PL::P(bytes.to_vec()) }
    }

    fn cons(class: TagClass, id: u64, inner: Vec<StructureTag>) -> StructureTag {
        StructureTag { class, id, payload: PL::C(inner) }
    }

    /// A SearchResultEntry as the codec hands it over.
    pub(crate) fn entry_tag(dn: &str, attrs: &[(&str, &[&[u8]])]) -> StructureTag {
        let attributes = attrs
            .iter()
            .map(|(name, values)| {
                let vals = values.iter().map(|v| prim(4, v)).collect();
                cons(TagClass::Universal, 16, vec![prim(4, name.as_bytes()), cons(TagClass::Universal, 17, vals)])
            })
            .collect();
        cons(TagClass::Application, 4, vec![prim(4, dn.as_bytes()), cons(TagClass::Universal, 16, attributes)])
    }

    #[test]
    fn entry_keeps_binary_values_that_happen_to_be_utf8() {
        // A SID whose bytes are all valid UTF-8 is where ldap3's own
        // SearchEntry would file it under text.
        let sid = [1u8, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
        let tag = entry_tag("CN=x,DC=lab", &[("objectSid", &[&sid]), ("userAccountControl", &[b"512"])]);
        let entry = Entry::from_tag(tag).expect("well-formed entry");
        assert_eq!(entry.dn, "CN=x,DC=lab");
        assert_eq!(entry.first_bytes("OBJECTSID"), Some(&sid[..]));
        assert_eq!(entry.first_u32_bits("userAccountControl"), Some(512));
        assert!(entry.values("missing").is_empty());
    }

    #[test]
    fn negative_flags_keep_their_bits() {
        let entry = Entry::from_tag(entry_tag("CN=x", &[("uac", &[b"-2147483136"])])).expect("entry");
        assert_eq!(entry.first_u32_bits("uac"), Some(0x8000_0200));
        assert_eq!(entry.first_u32("uac"), None);
    }

    #[test]
    fn malformed_entries_are_none_not_a_panic() {
        assert_eq!(Entry::from_tag(prim(4, b"x")), None);
        let no_attrs = cons(TagClass::Application, 4, vec![prim(4, b"CN=x")]);
        assert_eq!(Entry::from_tag(no_attrs), None);
        let wrong_app = cons(TagClass::Application, 5, vec![]);
        assert_eq!(Entry::from_tag(wrong_app), None);
        let primitive_value_set = cons(
            TagClass::Application,
            4,
            vec![
                prim(4, b"CN=x"),
                cons(TagClass::Universal, 16, vec![cons(TagClass::Universal, 16, vec![prim(4, b"a"), prim(4, b"v")])]),
            ],
        );
        assert_eq!(Entry::from_tag(primitive_value_set), None);
    }

    #[test]
    fn filter_escapes() {
        assert_eq!(escape_value("svc*(x)\\"), "svc\\2a\\28x\\29\\5c");
        assert_eq!(escape_value("PHS Outer"), "PHS Outer");
        assert_eq!(escape_bytes(&[1, 0x05, 0xff]), "\\01\\05\\ff");
        // What ldap3 itself accepts as a binary assertion.
        assert!(ldap3::parse_filter(format!("(objectSid={})", escape_bytes(&[0, 0x2a, 0xff]))).is_ok());
    }
}

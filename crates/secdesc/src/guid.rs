//! GUIDs as they appear in object ACEs (MS-DTYP 2.3.4.2): 16 bytes whose
//! first three fields are little-endian, plus the extended-right GUIDs that
//! password hash synchronization depends on.

use std::fmt;
use std::str::FromStr;

use crate::error::{take, ParseError};

/// A GUID, stored in Windows wire order: `Data1` (u32) and `Data2`/`Data3`
/// (u16) little-endian, `Data4` (8 bytes) as-is. Text form is the usual
/// lower-case `1131f6aa-9c07-11d1-f79f-00c04fc2dcd2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid([u8; 16]);

/// An AD control-access right (extended right) this crate knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedRight {
    /// The `rightsGuid` of the `controlAccessRight` object.
    pub guid: Guid,
    /// The right's CN in the Extended-Rights container.
    pub name: &'static str,
    /// The display name the Windows ACL editor shows.
    pub display_name: &'static str,
}

impl Guid {
    /// DS-Replication-Get-Changes ("Replicating Directory Changes"): needed
    /// by the PHS connector account on every synced domain's root.
    pub const DS_REPLICATION_GET_CHANGES: Guid =
        Guid::from_fields(0x1131_f6aa, 0x9c07, 0x11d1, [0xf7, 0x9f, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2]);
    /// DS-Replication-Get-Changes-All ("Replicating Directory Changes All"):
    /// the right that releases secret attributes (password hashes).
    pub const DS_REPLICATION_GET_CHANGES_ALL: Guid =
        Guid::from_fields(0x1131_f6ad, 0x9c07, 0x11d1, [0xf7, 0x9f, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2]);
    /// DS-Replication-Get-Changes-In-Filtered-Set.
    pub const DS_REPLICATION_GET_CHANGES_IN_FILTERED_SET: Guid =
        Guid::from_fields(0x89e9_5b76, 0x444d, 0x4c62, [0x99, 0x1a, 0x0f, 0xac, 0xbe, 0xda, 0x64, 0x0c]);
    /// DS-Replication-Synchronize ("Replication Synchronization").
    pub const DS_REPLICATION_SYNCHRONIZE: Guid =
        Guid::from_fields(0x1131_f6ab, 0x9c07, 0x11d1, [0xf7, 0x9f, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2]);
    /// DS-Replication-Manage-Topology ("Manage Replication Topology").
    pub const DS_REPLICATION_MANAGE_TOPOLOGY: Guid =
        Guid::from_fields(0x1131_f6ac, 0x9c07, 0x11d1, [0xf7, 0x9f, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2]);
    /// Read-Only-Replication-Secret-Synchronization (what RODCs use; some
    /// public tables confuse it with Get-Changes-All, so it is named here to
    /// keep reports from mislabelling it).
    pub const READ_ONLY_REPLICATION_SECRET_SYNCHRONIZATION: Guid =
        Guid::from_fields(0x1131_f6ae, 0x9c07, 0x11d1, [0xf7, 0x9f, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2]);
    /// The `schemaIDGUID` of the `domainDNS` class (the object class of a
    /// domain's naming-context head). Windows puts it at the root of the
    /// object-type list when checking a control-access right on the domain.
    pub const DOMAIN_DNS_CLASS: Guid =
        Guid::from_fields(0x1919_5a5b, 0x6da0, 0x11d0, [0xaf, 0xd3, 0x00, 0xc0, 0x4f, 0xd9, 0x30, 0xc9]);

    /// The extended rights this crate names, for reports.
    pub const EXTENDED_RIGHTS: &'static [ExtendedRight] = &[
        ExtendedRight {
            guid: Guid::DS_REPLICATION_GET_CHANGES,
            name: "DS-Replication-Get-Changes",
            display_name: "Replicating Directory Changes",
        },
        ExtendedRight {
            guid: Guid::DS_REPLICATION_GET_CHANGES_ALL,
            name: "DS-Replication-Get-Changes-All",
            display_name: "Replicating Directory Changes All",
        },
        ExtendedRight {
            guid: Guid::DS_REPLICATION_GET_CHANGES_IN_FILTERED_SET,
            name: "DS-Replication-Get-Changes-In-Filtered-Set",
            display_name: "Replicating Directory Changes In Filtered Set",
        },
        ExtendedRight {
            guid: Guid::DS_REPLICATION_SYNCHRONIZE,
            name: "DS-Replication-Synchronize",
            display_name: "Replication Synchronization",
        },
        ExtendedRight {
            guid: Guid::DS_REPLICATION_MANAGE_TOPOLOGY,
            name: "DS-Replication-Manage-Topology",
            display_name: "Manage Replication Topology",
        },
        ExtendedRight {
            guid: Guid::READ_ONLY_REPLICATION_SECRET_SYNCHRONIZATION,
            name: "Read-Only-Replication-Secret-Synchronization",
            display_name: "Read Only Replication Secret Synchronization",
        },
    ];

    /// Builds a GUID from its four textual fields.
    pub const fn from_fields(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Guid {
        let a = data1.to_le_bytes();
        let b = data2.to_le_bytes();
        let c = data3.to_le_bytes();
        let d = data4;
        Guid([a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }

    /// Wraps 16 bytes already in wire order (as found in an ACE).
    pub const fn from_wire_bytes(bytes: [u8; 16]) -> Guid {
        Guid(bytes)
    }

    /// The 16 bytes in wire order.
    pub const fn to_wire_bytes(&self) -> [u8; 16] {
        self.0
    }

    /// The four textual fields: `(data1, data2, data3, data4)`.
    pub fn fields(&self) -> (u32, u16, u16, [u8; 8]) {
        let b = self.0;
        let mut d4 = [0u8; 8];
        d4.copy_from_slice(&b[8..]);
        (
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            d4,
        )
    }

    /// Reads a wire-order GUID from the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Guid, ParseError> {
        Guid::parse_at(bytes, 0, "guid")
    }

    pub(crate) fn parse_at(buf: &[u8], at: usize, part: &'static str) -> Result<Guid, ParseError> {
        let raw = take(buf, at, 16, part, "GUID")?;
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(raw);
        Ok(Guid(bytes))
    }

    /// The extended right with this `rightsGuid`, if it is one we name.
    pub fn extended_right(&self) -> Option<&'static ExtendedRight> {
        Guid::EXTENDED_RIGHTS.iter().find(|r| r.guid == *self)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c, d) = self.fields();
        write!(
            f,
            "{a:08x}-{b:04x}-{c:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in either case, with or
/// without surrounding braces (event logs print `{...}`).
impl FromStr for Guid {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Guid, ParseError> {
        let bad = |offset: usize, why: &str| ParseError::new("guid", offset, format!("{s:?} is not a GUID: {why}"));
        let (inner, base) = match s.strip_prefix('{') {
            Some(rest) => (rest.strip_suffix('}').ok_or_else(|| bad(0, "unbalanced brace"))?, 1),
            None => (s, 0),
        };
        let bytes = inner.as_bytes();
        if bytes.len() != 36 {
            return Err(bad(base, "expected 36 characters"));
        }
        let mut digits = [0u8; 32];
        let mut n = 0;
        for (i, &ch) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if ch != b'-' {
                    return Err(bad(base + i, "expected '-'"));
                }
                continue;
            }
            let v = (ch as char).to_digit(16).ok_or_else(|| bad(base + i, "expected a hex digit"))?;
            // 32 hex digits exactly: the length and dash checks above guarantee it.
            if let Some(slot) = digits.get_mut(n) {
                *slot = v as u8;
            }
            n += 1;
        }
        let byte = |i: usize| (digits[2 * i] << 4) | digits[2 * i + 1];
        let data1 = u32::from_be_bytes([byte(0), byte(1), byte(2), byte(3)]);
        let data2 = u16::from_be_bytes([byte(4), byte(5)]);
        let data3 = u16::from_be_bytes([byte(6), byte(7)]);
        let mut data4 = [0u8; 8];
        for (i, slot) in data4.iter_mut().enumerate() {
            *slot = byte(8 + i);
        }
        Ok(Guid::from_fields(data1, data2, data3, data4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_order_of_get_changes() {
        let g: Guid = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2".parse().expect("parses");
        assert_eq!(g, Guid::DS_REPLICATION_GET_CHANGES);
        assert_eq!(
            g.to_wire_bytes(),
            [0xaa, 0xf6, 0x31, 0x11, 0x07, 0x9c, 0xd1, 0x11, 0xf7, 0x9f, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2]
        );
        assert_eq!(Guid::parse(&g.to_wire_bytes()), Ok(g));
        assert_eq!(g.to_string(), "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2");
        assert_eq!(
            Guid::DS_REPLICATION_GET_CHANGES_ALL.to_wire_bytes()[..4],
            [0xad, 0xf6, 0x31, 0x11],
            "Get-Changes-All differs only in the first byte on the wire"
        );
    }

    #[test]
    fn constants_match_their_text() {
        for (g, text) in [
            (Guid::DS_REPLICATION_GET_CHANGES_ALL, "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"),
            (Guid::DS_REPLICATION_GET_CHANGES_IN_FILTERED_SET, "89e95b76-444d-4c62-991a-0facbeda640c"),
            (Guid::DS_REPLICATION_SYNCHRONIZE, "1131f6ab-9c07-11d1-f79f-00c04fc2dcd2"),
            (Guid::DS_REPLICATION_MANAGE_TOPOLOGY, "1131f6ac-9c07-11d1-f79f-00c04fc2dcd2"),
            (Guid::READ_ONLY_REPLICATION_SECRET_SYNCHRONIZATION, "1131f6ae-9c07-11d1-f79f-00c04fc2dcd2"),
            (Guid::DOMAIN_DNS_CLASS, "19195a5b-6da0-11d0-afd3-00c04fd930c9"),
        ] {
            assert_eq!(g.to_string(), text);
            assert_eq!(text.parse::<Guid>(), Ok(g));
        }
    }

    #[test]
    fn braces_and_upper_case() {
        assert_eq!("{1131F6AD-9C07-11D1-F79F-00C04FC2DCD2}".parse(), Ok(Guid::DS_REPLICATION_GET_CHANGES_ALL));
        for bad in [
            "",
            "{1131f6ad-9c07-11d1-f79f-00c04fc2dcd2",
            "1131f6ad9c0711d1f79f00c04fc2dcd2",
            "1131f6ad-9c07-11d1-f79f-00c04fc2dcdg",
        ] {
            assert!(bad.parse::<Guid>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            Guid::DS_REPLICATION_GET_CHANGES_ALL.extended_right().map(|r| r.name),
            Some("DS-Replication-Get-Changes-All")
        );
        assert_eq!(Guid::DOMAIN_DNS_CLASS.extended_right(), None);
        assert!(Guid::parse(&[0; 15]).is_err());
    }
}

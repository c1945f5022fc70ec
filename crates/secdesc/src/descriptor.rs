//! The self-relative security descriptor (MS-DTYP 2.4.6): a 20-byte header
//! with four offsets, and the owner, group, SACL and DACL wherever those
//! offsets point. This is the form of AD's `nTSecurityDescriptor` attribute.

use crate::acl::Acl;
use crate::error::{read_u16, read_u32, read_u8, take, EncodeError, ParseError};
use crate::sid::Sid;

/// `SECURITY_DESCRIPTOR_CONTROL` bits (MS-DTYP 2.4.6).
pub mod control {
    /// `OD`: the owner came from a default.
    pub const OWNER_DEFAULTED: u16 = 0x0001;
    /// `GD`: the group came from a default.
    pub const GROUP_DEFAULTED: u16 = 0x0002;
    /// `DP`: the descriptor has a DACL (possibly a null one: offset 0).
    pub const DACL_PRESENT: u16 = 0x0004;
    /// `DD`: the DACL came from a default.
    pub const DACL_DEFAULTED: u16 = 0x0008;
    /// `SP`: the descriptor has a SACL.
    pub const SACL_PRESENT: u16 = 0x0010;
    /// `SD`: the SACL came from a default.
    pub const SACL_DEFAULTED: u16 = 0x0020;
    /// `DT`: the DACL is trusted (set by trusted code only).
    pub const DACL_TRUSTED: u16 = 0x0040;
    /// `SS`: server security.
    pub const SERVER_SECURITY: u16 = 0x0080;
    /// `DC`: DACL auto-inherit required (SDDL `AR` on `D:`).
    pub const DACL_AUTO_INHERIT_REQ: u16 = 0x0100;
    /// `SC`: SACL auto-inherit required (SDDL `AR` on `S:`).
    pub const SACL_AUTO_INHERIT_REQ: u16 = 0x0200;
    /// `DI`: the DACL was built with auto-inheritance (SDDL `AI` on `D:`).
    pub const DACL_AUTO_INHERITED: u16 = 0x0400;
    /// `SI`: the SACL was built with auto-inheritance (SDDL `AI` on `S:`).
    pub const SACL_AUTO_INHERITED: u16 = 0x0800;
    /// `PD`: the DACL blocks inheritance from the parent (SDDL `P` on `D:`).
    pub const DACL_PROTECTED: u16 = 0x1000;
    /// `PS`: the SACL blocks inheritance (SDDL `P` on `S:`).
    pub const SACL_PROTECTED: u16 = 0x2000;
    /// `RM`: `Sbz1` holds resource-manager control bits.
    pub const RM_CONTROL_VALID: u16 = 0x4000;
    /// `SR`: the descriptor is in self-relative form (always, for stored ones).
    pub const SELF_RELATIVE: u16 = 0x8000;
}

/// A security descriptor.
///
/// `control` is kept exactly as found; in particular a DACL can be marked
/// present with no ACL (`DACL_PRESENT` set, `dacl` `None`: a *null DACL*,
/// which grants everything), and an ACL can be stored while its present bit
/// is clear (Windows then ignores it). [`SecurityDescriptor::dacl_for_access`]
/// applies those rules. `Sbz1` is not kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecurityDescriptor {
    /// `Revision` (1).
    pub revision: u8,
    /// The control bits (see [`control`]).
    pub control: u16,
    /// The owner SID, if the descriptor carries one.
    pub owner: Option<Sid>,
    /// The primary group SID, if the descriptor carries one.
    pub group: Option<Sid>,
    /// The system ACL (auditing), if stored.
    pub sacl: Option<Acl>,
    /// The discretionary ACL (access), if stored.
    pub dacl: Option<Acl>,
}

/// Size of the self-relative header.
pub const HEADER_LEN: usize = 20;

impl SecurityDescriptor {
    /// A revision-1, self-relative descriptor with the given parts and the
    /// matching `DACL_PRESENT`/`SACL_PRESENT` bits.
    pub fn new(owner: Option<Sid>, group: Option<Sid>, dacl: Option<Acl>, sacl: Option<Acl>) -> SecurityDescriptor {
        let mut control = control::SELF_RELATIVE;
        if dacl.is_some() {
            control |= control::DACL_PRESENT;
        }
        if sacl.is_some() {
            control |= control::SACL_PRESENT;
        }
        SecurityDescriptor { revision: 1, control, owner, group, sacl, dacl }
    }

    /// Decodes a self-relative descriptor (e.g. the raw `nTSecurityDescriptor`
    /// value). The parts may sit in any order; an offset of 0 means the part
    /// is absent. Every read is bounds-checked, and errors name the part and
    /// the byte offset.
    pub fn parse(bytes: &[u8]) -> Result<SecurityDescriptor, ParseError> {
        take(bytes, 0, HEADER_LEN, "header", "security descriptor header")?;
        let revision = read_u8(bytes, 0, "header", "revision")?;
        let control = read_u16(bytes, 2, "header", "control")?;
        let owner = match part_offset(bytes, 4, "owner")? {
            Some(at) => Some(Sid::parse_at(bytes, at, "owner")?.0),
            None => None,
        };
        let group = match part_offset(bytes, 8, "group")? {
            Some(at) => Some(Sid::parse_at(bytes, at, "group")?.0),
            None => None,
        };
        let sacl = match part_offset(bytes, 12, "sacl")? {
            Some(at) => Some(Acl::parse_at(bytes, at, "sacl")?.0),
            None => None,
        };
        let dacl = match part_offset(bytes, 16, "dacl")? {
            Some(at) => Some(Acl::parse_at(bytes, at, "dacl")?.0),
            None => None,
        };
        Ok(SecurityDescriptor { revision, control, owner, group, sacl, dacl })
    }

    /// Encodes the self-relative form: header, SACL, DACL, owner, group (the
    /// order Windows' `MakeSelfRelativeSD` uses). `control` is written as is.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut body = Vec::new();
        let mut offsets = [0u32; 4];
        let mut place = |slot: usize, body: &mut Vec<u8>| -> Result<(), EncodeError> {
            let at = HEADER_LEN + body.len();
            offsets[slot] = u32::try_from(at)
                .map_err(|_| EncodeError { part: "header", reason: format!("offset {at} does not fit 32 bits") })?;
            Ok(())
        };
        if let Some(sacl) = &self.sacl {
            place(2, &mut body)?;
            sacl.write_to(&mut body)?;
        }
        if let Some(dacl) = &self.dacl {
            place(3, &mut body)?;
            dacl.write_to(&mut body)?;
        }
        if let Some(owner) = &self.owner {
            place(0, &mut body)?;
            owner.write_to(&mut body);
        }
        if let Some(group) = &self.group {
            place(1, &mut body)?;
            group.write_to(&mut body);
        }
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.push(self.revision);
        out.push(0);
        out.extend_from_slice(&self.control.to_le_bytes());
        for offset in offsets {
            out.extend_from_slice(&offset.to_le_bytes());
        }
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The DACL an access check must use: `None` means *no restriction*
    /// (everything is granted), which is the case when `DACL_PRESENT` is clear
    /// or the DACL is null. `Some(empty)` grants nothing.
    pub fn dacl_for_access(&self) -> Option<&Acl> {
        if self.control & control::DACL_PRESENT == 0 {
            None
        } else {
            self.dacl.as_ref()
        }
    }

    /// Whether access to the object is unrestricted because of a missing or
    /// null DACL: a finding in itself.
    pub fn has_null_dacl(&self) -> bool {
        self.dacl_for_access().is_none()
    }
}

/// Reads the offset stored at `field` in the header; `None` for 0. An offset
/// into the header itself is malformed (the parts follow the header).
fn part_offset(bytes: &[u8], field: usize, part: &'static str) -> Result<Option<usize>, ParseError> {
    let offset = read_u32(bytes, field, "header", "part offset")?;
    match usize::try_from(offset) {
        Ok(0) => Ok(None),
        Ok(at) if at >= HEADER_LEN => Ok(Some(at)),
        _ => Err(ParseError::new(
            part,
            field,
            format!("{part} offset {offset} points inside the {HEADER_LEN}-byte header"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ace::{mask, Ace, AceFlags};
    use crate::guid::Guid;

    fn sample() -> SecurityDescriptor {
        let dacl = Acl::new(vec![
            Ace::allowed_object(
                Sid::BUILTIN_ADMINISTRATORS,
                mask::DS_CONTROL_ACCESS,
                Some(Guid::DS_REPLICATION_GET_CHANGES),
                None,
            ),
            Ace::allowed(Sid::LOCAL_SYSTEM, mask::DS_FULL_CONTROL),
        ]);
        let sacl = Acl::new(vec![Ace::new(crate::AceType::SystemAudit, mask::DS_CONTROL_ACCESS, Sid::EVERYONE)
            .with_flags(AceFlags::SUCCESSFUL_ACCESS)]);
        let mut sd = SecurityDescriptor::new(
            Some(Sid::BUILTIN_ADMINISTRATORS),
            Some(Sid::BUILTIN_ADMINISTRATORS),
            Some(dacl),
            Some(sacl),
        );
        sd.control |= control::DACL_AUTO_INHERITED;
        sd
    }

    #[test]
    fn round_trip() {
        let sd = sample();
        let bytes = sd.to_bytes().expect("encodes");
        assert_eq!(bytes[..4], [1, 0, 0x14, 0x84]);
        assert_eq!(SecurityDescriptor::parse(&bytes), Ok(sd));
    }

    #[test]
    fn parts_in_any_order_and_absent_parts() {
        // Owner first, then DACL, as Samba lays them out, with no group/SACL.
        let owner = Sid::BUILTIN_ADMINISTRATORS.to_bytes();
        let dacl = Acl::new(vec![Ace::allowed(Sid::EVERYONE, mask::READ_CONTROL)]);
        let dacl_bytes = dacl.to_bytes().expect("encodes");
        let mut bytes = vec![1, 0, 0x04, 0x80];
        bytes.extend_from_slice(&20u32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&(20 + owner.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&owner);
        bytes.extend_from_slice(&dacl_bytes);
        let sd = SecurityDescriptor::parse(&bytes).expect("parses");
        assert_eq!(sd.owner, Some(Sid::BUILTIN_ADMINISTRATORS));
        assert_eq!(sd.group, None);
        assert_eq!(sd.sacl, None);
        assert_eq!(sd.dacl, Some(dacl));
    }

    #[test]
    fn null_and_absent_dacls() {
        let mut sd = SecurityDescriptor::new(None, None, None, None);
        assert!(sd.has_null_dacl());
        sd.control |= control::DACL_PRESENT;
        assert!(sd.has_null_dacl(), "present bit with offset 0 is a null DACL");
        sd.dacl = Some(Acl::new(vec![]));
        assert_eq!(sd.dacl_for_access().map(|a| a.aces.len()), Some(0));
        sd.control &= !control::DACL_PRESENT;
        assert!(sd.has_null_dacl(), "a stored DACL whose present bit is clear is ignored");
        let bytes = sd.to_bytes().expect("encodes");
        assert_eq!(SecurityDescriptor::parse(&bytes), Ok(sd));
    }

    #[test]
    fn errors_name_part_and_offset() {
        let bytes = sample().to_bytes().expect("encodes");
        for len in 0..bytes.len() {
            assert!(SecurityDescriptor::parse(&bytes[..len]).is_err(), "length {len}");
        }
        let e = SecurityDescriptor::parse(&bytes[..10]).expect_err("short header");
        assert_eq!((e.part, e.offset), ("header", 0));
        let mut into_header = bytes.clone();
        into_header[16..20].copy_from_slice(&8u32.to_le_bytes());
        let e = SecurityDescriptor::parse(&into_header).expect_err("DACL offset in header");
        assert_eq!((e.part, e.offset), ("dacl", 16));
        let mut far = bytes.clone();
        far[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = SecurityDescriptor::parse(&far).expect_err("owner far away");
        assert_eq!(e.part, "owner");
        assert_eq!(e.offset, u32::MAX as usize);
        assert!(e.to_string().starts_with("owner at byte 4294967295: truncated"), "{e}");
    }
}

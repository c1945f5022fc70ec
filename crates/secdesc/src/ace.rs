//! Access control entries (MS-DTYP 2.4.4): the 4-byte header, the plain
//! `ACCESS_ALLOWED`/`DENIED`/`SYSTEM_AUDIT` layouts, the object-ACE layout
//! whose GUIDs are optional, and a lossless fallback for every other type.

use std::ops::BitOr;

use crate::error::{read_u16, read_u32, read_u8, take, EncodeError, ParseError};
use crate::guid::Guid;
use crate::sid::Sid;

/// Access-mask bits (MS-DTYP 2.4.3 and the directory-service rights of
/// MS-ADTS 5.1.3.2), with their SDDL letters.
pub mod mask {
    /// `CC`: create child objects.
    pub const DS_CREATE_CHILD: u32 = 0x0000_0001;
    /// `DC`: delete child objects.
    pub const DS_DELETE_CHILD: u32 = 0x0000_0002;
    /// `LC`: list children.
    pub const DS_LIST_CHILDREN: u32 = 0x0000_0004;
    /// `SW`: validated write (self).
    pub const DS_SELF: u32 = 0x0000_0008;
    /// `RP`: read property.
    pub const DS_READ_PROPERTY: u32 = 0x0000_0010;
    /// `WP`: write property.
    pub const DS_WRITE_PROPERTY: u32 = 0x0000_0020;
    /// `DT`: delete tree.
    pub const DS_DELETE_TREE: u32 = 0x0000_0040;
    /// `LO`: list object.
    pub const DS_LIST_OBJECT: u32 = 0x0000_0080;
    /// `CR`: control access, i.e. extended rights such as the replication rights.
    pub const DS_CONTROL_ACCESS: u32 = 0x0000_0100;
    /// `SD`: delete the object.
    pub const DELETE: u32 = 0x0001_0000;
    /// `RC`: read the security descriptor (except the SACL).
    pub const READ_CONTROL: u32 = 0x0002_0000;
    /// `WD`: change the DACL.
    pub const WRITE_DAC: u32 = 0x0004_0000;
    /// `WO`: take ownership.
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    /// Synchronize (files); no SDDL letter, so Samba prints masks with it in hex.
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    /// Read/write the SACL.
    pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
    /// Maximum allowed (only meaningful in requests).
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    /// `GA`: generic all.
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    /// `GX`: generic execute.
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    /// `GW`: generic write.
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// `GR`: generic read.
    pub const GENERIC_READ: u32 = 0x8000_0000;
    /// "Full control" on a directory object: every DS right plus the standard
    /// rights (`CCDCLCSWRPWPDTLOCRSDRCWDWO`). What AD stores for `GA`.
    pub const DS_FULL_CONTROL: u32 = 0x000F_01FF;
    /// `FA` in Windows SDDL: full control plus `SYNCHRONIZE`.
    pub const FILE_ALL_ACCESS: u32 = 0x001F_01FF;
}

/// Object-ACE `Flags` bit: an `ObjectType` GUID follows.
const ACE_OBJECT_TYPE_PRESENT: u32 = 0x1;
/// Object-ACE `Flags` bit: an `InheritedObjectType` GUID follows.
const ACE_INHERITED_OBJECT_TYPE_PRESENT: u32 = 0x2;

/// The ACE types this crate understands, and `Other` for the rest.
///
/// `Other` only ever holds type bytes not named here (the parser never
/// produces `Other(0)`); such ACEs keep their body verbatim in
/// [`Ace::raw_body`] so that re-encoding is lossless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AceType {
    /// 0x00 `ACCESS_ALLOWED_ACE_TYPE` (SDDL `A`).
    AccessAllowed,
    /// 0x01 `ACCESS_DENIED_ACE_TYPE` (SDDL `D`).
    AccessDenied,
    /// 0x02 `SYSTEM_AUDIT_ACE_TYPE` (SDDL `AU`).
    SystemAudit,
    /// 0x05 `ACCESS_ALLOWED_OBJECT_ACE_TYPE` (SDDL `OA`).
    AccessAllowedObject,
    /// 0x06 `ACCESS_DENIED_OBJECT_ACE_TYPE` (SDDL `OD`).
    AccessDeniedObject,
    /// 0x07 `SYSTEM_AUDIT_OBJECT_ACE_TYPE` (SDDL `OU`).
    SystemAuditObject,
    /// Any other type byte (alarm, callback, mandatory label, ...).
    Other(u8),
}

impl AceType {
    /// Maps a wire type byte to a variant.
    pub fn from_u8(t: u8) -> AceType {
        match t {
            0x00 => AceType::AccessAllowed,
            0x01 => AceType::AccessDenied,
            0x02 => AceType::SystemAudit,
            0x05 => AceType::AccessAllowedObject,
            0x06 => AceType::AccessDeniedObject,
            0x07 => AceType::SystemAuditObject,
            other => AceType::Other(other),
        }
    }

    /// The wire type byte.
    pub fn as_u8(self) -> u8 {
        match self {
            AceType::AccessAllowed => 0x00,
            AceType::AccessDenied => 0x01,
            AceType::SystemAudit => 0x02,
            AceType::AccessAllowedObject => 0x05,
            AceType::AccessDeniedObject => 0x06,
            AceType::SystemAuditObject => 0x07,
            AceType::Other(t) => t,
        }
    }

    /// Whether the body has the object-ACE layout (mask, flags, optional
    /// GUIDs, SID). Besides the three named object types this covers the
    /// alarm-object and callback-object types, which share the layout.
    pub fn has_object_layout(self) -> bool {
        matches!(self.as_u8(), 0x05..=0x08 | 0x0B | 0x0C | 0x0F | 0x10)
    }
}

/// ACE header flags (MS-DTYP 2.4.4.1). Unknown bits are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AceFlags(pub u8);

impl AceFlags {
    /// No flags.
    pub const NONE: AceFlags = AceFlags(0);
    /// `OI`: inherited by non-container child objects.
    pub const OBJECT_INHERIT: AceFlags = AceFlags(0x01);
    /// `CI`: inherited by container child objects.
    pub const CONTAINER_INHERIT: AceFlags = AceFlags(0x02);
    /// `NP`: inheritance stops at the next level.
    pub const NO_PROPAGATE_INHERIT: AceFlags = AceFlags(0x04);
    /// `IO`: only for inheritance; does not apply to the object holding it.
    pub const INHERIT_ONLY: AceFlags = AceFlags(0x08);
    /// `ID`: this ACE was inherited from a parent.
    pub const INHERITED: AceFlags = AceFlags(0x10);
    /// `SA`: audit successful access (SACL ACEs).
    pub const SUCCESSFUL_ACCESS: AceFlags = AceFlags(0x40);
    /// `FA`: audit failed access (SACL ACEs).
    pub const FAILED_ACCESS: AceFlags = AceFlags(0x80);
    /// Every bit with an SDDL letter; anything else cannot be written in SDDL.
    pub const KNOWN: AceFlags = AceFlags(0xDF);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: AceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The `IO` bit: the ACE is skipped when checking access to this object.
    pub fn is_inherit_only(self) -> bool {
        self.contains(AceFlags::INHERIT_ONLY)
    }

    /// The `ID` bit.
    pub fn is_inherited(self) -> bool {
        self.contains(AceFlags::INHERITED)
    }
}

impl BitOr for AceFlags {
    type Output = AceFlags;

    fn bitor(self, rhs: AceFlags) -> AceFlags {
        AceFlags(self.0 | rhs.0)
    }
}

/// One access control entry.
///
/// For the named [`AceType`]s the fields are the ACE. For
/// [`AceType::Other`], `raw_body` holds the bytes after the header verbatim
/// and is what gets written back; `mask`, the GUIDs and `sid` are then a
/// best-effort decoding of it for display (`sid` is the NULL SID when the
/// body holds none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ace {
    /// The ACE type.
    pub kind: AceType,
    /// Header flags (inheritance, audit).
    pub flags: AceFlags,
    /// The access mask (see [`mask`]).
    pub mask: u32,
    /// Object ACEs only: the property, property set, class or extended right
    /// the ACE is limited to. `None` means the ACE covers all of them.
    pub object_type: Option<Guid>,
    /// Object ACEs only: the class of child objects that may inherit the ACE.
    pub inherited_object_type: Option<Guid>,
    /// The trustee.
    pub sid: Sid,
    /// `Other` types only: the body after the 4-byte header, kept verbatim.
    pub raw_body: Option<Vec<u8>>,
}

impl Ace {
    /// A plain (non-object) ACE of `kind` with no flags.
    pub fn new(kind: AceType, mask: u32, sid: Sid) -> Ace {
        Ace { kind, flags: AceFlags::NONE, mask, object_type: None, inherited_object_type: None, sid, raw_body: None }
    }

    /// `(A;;mask;;;sid)`.
    pub fn allowed(sid: Sid, mask: u32) -> Ace {
        Ace::new(AceType::AccessAllowed, mask, sid)
    }

    /// `(D;;mask;;;sid)`.
    pub fn denied(sid: Sid, mask: u32) -> Ace {
        Ace::new(AceType::AccessDenied, mask, sid)
    }

    /// `(OA;;mask;object_type;inherited_object_type;sid)`.
    pub fn allowed_object(sid: Sid, mask: u32, object_type: Option<Guid>, inherited_object_type: Option<Guid>) -> Ace {
        Ace { object_type, inherited_object_type, ..Ace::new(AceType::AccessAllowedObject, mask, sid) }
    }

    /// `(OD;;mask;object_type;inherited_object_type;sid)`.
    pub fn denied_object(sid: Sid, mask: u32, object_type: Option<Guid>, inherited_object_type: Option<Guid>) -> Ace {
        Ace { object_type, inherited_object_type, ..Ace::new(AceType::AccessDeniedObject, mask, sid) }
    }

    /// An ACE of a type this crate does not model, from its type byte, flags
    /// and body (everything after the header). A named type byte is accepted
    /// too and decoded into fields when its body is well formed; a malformed
    /// body for a named type is kept verbatim as `Other`, and its encoding will
    /// then not parse, exactly as the original bytes would not.
    pub fn other(type_byte: u8, flags: AceFlags, body: Vec<u8>) -> Ace {
        let kind = AceType::from_u8(type_byte);
        if !matches!(kind, AceType::Other(_)) {
            let mut full = Vec::with_capacity(4 + body.len());
            full.extend_from_slice(&[type_byte, flags.0, 0, 0]);
            full.extend_from_slice(&body);
            if let Ok(len) = u16::try_from(full.len()) {
                full[2..4].copy_from_slice(&len.to_le_bytes());
                if let Ok((ace, _)) = Ace::parse(&full) {
                    return ace;
                }
            }
        }
        let (mask, object_type, inherited_object_type, sid) = decode_loosely(kind, &body);
        // The loosely decoded fields, and the body exactly as it came.
        Ace {
            raw_body: Some(body),
            ..Ace::other_from_fields(type_byte, flags, mask, object_type, inherited_object_type, sid)
        }
    }

    /// An `Other` ACE whose body is the standard layout built from fields
    /// (what the SDDL parser produces for `AL`, `ML`, `XA`, ...).
    pub(crate) fn other_from_fields(
        type_byte: u8,
        flags: AceFlags,
        mask: u32,
        object_type: Option<Guid>,
        inherited_object_type: Option<Guid>,
        sid: Sid,
    ) -> Ace {
        let mut ace = Ace {
            kind: AceType::Other(type_byte),
            flags,
            mask,
            object_type,
            inherited_object_type,
            sid,
            raw_body: None,
        };
        ace.raw_body = Some(ace.standard_body());
        ace
    }

    /// The same ACE with `flags`.
    pub fn with_flags(mut self, flags: AceFlags) -> Ace {
        self.flags = flags;
        self
    }

    /// Decodes one ACE from the start of `bytes`, returning it and `AceSize`.
    pub fn parse(bytes: &[u8]) -> Result<(Ace, usize), ParseError> {
        Ace::parse_at(bytes, 0, "ace")
    }

    /// Decodes the ACE at `at`; `buf` must end where the enclosing ACL ends,
    /// so an `AceSize` running past the ACL is an error.
    pub(crate) fn parse_at(buf: &[u8], at: usize, part: &'static str) -> Result<(Ace, usize), ParseError> {
        let type_byte = read_u8(buf, at, part, "ACE type")?;
        let flags = AceFlags(read_u8(buf, at + 1, part, "ACE flags")?);
        let size = usize::from(read_u16(buf, at + 2, part, "ACE size")?);
        if size < 4 {
            return Err(ParseError::new(part, at + 2, format!("ACE size {size} is smaller than its 4-byte header")));
        }
        take(buf, at, size, part, "ACE (AceSize runs past the end of the ACL)")?;
        // Every read below is confined to this ACE.
        let ace = &buf[..at + size];
        let kind = AceType::from_u8(type_byte);
        if let AceType::Other(_) = kind {
            let body = ace[at + 4..].to_vec();
            let (mask, object_type, inherited_object_type, sid) = decode_loosely(kind, &body);
            let ace = Ace { kind, flags, mask, object_type, inherited_object_type, sid, raw_body: Some(body) };
            return Ok((ace, size));
        }
        let mask = read_u32(ace, at + 4, part, "ACE access mask")?;
        let mut object_type = None;
        let mut inherited_object_type = None;
        let mut pos = at + 8;
        if kind.has_object_layout() {
            let object_flags = read_u32(ace, pos, part, "object ACE flags")?;
            pos += 4;
            if object_flags & ACE_OBJECT_TYPE_PRESENT != 0 {
                object_type = Some(Guid::parse_at(ace, pos, part)?);
                pos += 16;
            }
            if object_flags & ACE_INHERITED_OBJECT_TYPE_PRESENT != 0 {
                inherited_object_type = Some(Guid::parse_at(ace, pos, part)?);
                pos += 16;
            }
        }
        // Bytes after the SID but inside AceSize are padding; they are not
        // kept (re-encoding writes the minimal size, as Windows does).
        let (sid, _) = Sid::parse_at(ace, pos, part)?;
        Ok((Ace { kind, flags, mask, object_type, inherited_object_type, sid, raw_body: None }, size))
    }

    /// The body a well-formed ACE of this kind has, built from the fields.
    fn standard_body(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(48 + self.sid.byte_len());
        body.extend_from_slice(&self.mask.to_le_bytes());
        if self.kind.has_object_layout() {
            let mut object_flags = 0;
            if self.object_type.is_some() {
                object_flags |= ACE_OBJECT_TYPE_PRESENT;
            }
            if self.inherited_object_type.is_some() {
                object_flags |= ACE_INHERITED_OBJECT_TYPE_PRESENT;
            }
            body.extend_from_slice(&u32::to_le_bytes(object_flags));
            for guid in [self.object_type, self.inherited_object_type].into_iter().flatten() {
                body.extend_from_slice(&guid.to_wire_bytes());
            }
        }
        self.sid.write_to(&mut body);
        body
    }

    /// Whether `raw_body` (if any) is exactly what the decoded fields would
    /// produce, i.e. nothing is lost by showing this ACE as fields (SDDL).
    pub fn fields_are_lossless(&self) -> bool {
        match &self.raw_body {
            Some(raw) if matches!(self.kind, AceType::Other(_)) => *raw == self.standard_body(),
            _ => true,
        }
    }

    /// Size of the binary form (`AceSize`).
    pub fn byte_len(&self) -> usize {
        4 + match (&self.kind, &self.raw_body) {
            (AceType::Other(_), Some(raw)) => raw.len(),
            _ => {
                let guids = if self.kind.has_object_layout() {
                    4 + 16
                        * (usize::from(self.object_type.is_some()) + usize::from(self.inherited_object_type.is_some()))
                } else {
                    0
                };
                4 + guids + self.sid.byte_len()
            }
        }
    }

    /// Appends the binary form to `out`. Fails only when an `Other` body is
    /// too large for the 16-bit `AceSize`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let size = u16::try_from(self.byte_len()).map_err(|_| EncodeError {
            part: "ace",
            reason: format!("{} bytes do not fit the 16-bit AceSize", self.byte_len()),
        })?;
        out.push(self.kind.as_u8());
        out.push(self.flags.0);
        out.extend_from_slice(&size.to_le_bytes());
        match (&self.kind, &self.raw_body) {
            (AceType::Other(_), Some(raw)) => out.extend_from_slice(raw),
            _ => out.extend_from_slice(&self.standard_body()),
        }
        Ok(())
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.byte_len());
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// Best-effort field decoding of an `Other` body: mask from the first four
/// bytes, GUIDs and SID where the layout says they are. Missing pieces become
/// zero / `None` / the NULL SID rather than errors, because the body itself is
/// kept and is the source of truth.
fn decode_loosely(kind: AceType, body: &[u8]) -> (u32, Option<Guid>, Option<Guid>, Sid) {
    let mask = read_u32(body, 0, "ace", "mask").unwrap_or(0);
    let mut pos = 4;
    let mut object_type = None;
    let mut inherited_object_type = None;
    if kind.has_object_layout() {
        let object_flags = read_u32(body, 4, "ace", "flags").unwrap_or(0);
        pos = 8;
        if object_flags & ACE_OBJECT_TYPE_PRESENT != 0 {
            object_type = Guid::parse_at(body, pos, "ace").ok();
            pos += 16;
        }
        if object_flags & ACE_INHERITED_OBJECT_TYPE_PRESENT != 0 {
            inherited_object_type = Guid::parse_at(body, pos, "ace").ok();
            pos += 16;
        }
    }
    let sid = Sid::parse_at(body, pos, "ace").map(|(sid, _)| sid).unwrap_or(Sid::NULL);
    (mask, object_type, inherited_object_type, sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain_sid(rid: u32) -> Sid {
        Sid::new(1, 5, &[21, 738_609_754, 2_819_869_699, 4_189_121_830, rid]).expect("valid")
    }

    #[test]
    fn object_ace_sid_offset_depends_on_guids() {
        let sid = Sid::BUILTIN_ADMINISTRATORS;
        let g = Guid::DS_REPLICATION_GET_CHANGES;
        for (object_type, inherited, sid_at) in
            [(None, None, 12), (Some(g), None, 28), (None, Some(g), 28), (Some(g), Some(Guid::DOMAIN_DNS_CLASS), 44)]
        {
            let ace = Ace::allowed_object(sid, mask::DS_CONTROL_ACCESS, object_type, inherited);
            let bytes = ace.to_bytes().expect("encodes");
            assert_eq!(bytes.len(), sid_at + sid.byte_len());
            assert_eq!(bytes[sid_at..], sid.to_bytes()[..]);
            assert_eq!(usize::from(u16::from_le_bytes([bytes[2], bytes[3]])), bytes.len());
            assert_eq!(Ace::parse(&bytes), Ok((ace, bytes.len())));
        }
    }

    #[test]
    fn get_changes_ace_bytes() {
        let ace = Ace::allowed_object(
            domain_sid(1121),
            mask::DS_CONTROL_ACCESS,
            Some(Guid::DS_REPLICATION_GET_CHANGES),
            None,
        );
        let bytes = ace.to_bytes().expect("encodes");
        assert_eq!(&bytes[..12], &[0x05, 0x00, 0x38, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]);
        assert_eq!(&bytes[12..16], &[0xaa, 0xf6, 0x31, 0x11]);
        assert_eq!(bytes.len(), 0x38);
    }

    #[test]
    fn plain_ace_layout() {
        let ace =
            Ace::denied(Sid::EVERYONE, mask::GENERIC_ALL).with_flags(AceFlags::CONTAINER_INHERIT | AceFlags::INHERITED);
        let bytes = ace.to_bytes().expect("encodes");
        assert_eq!(bytes, [1, 0x12, 20, 0, 0, 0, 0, 0x10, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(Ace::parse(&bytes), Ok((ace, 20)));
    }

    #[test]
    fn padding_inside_ace_size_is_accepted() {
        let ace = Ace::allowed(Sid::EVERYONE, mask::DS_CONTROL_ACCESS);
        let mut bytes = ace.to_bytes().expect("encodes");
        bytes.extend_from_slice(&[0; 4]);
        bytes[2] = 24;
        assert_eq!(Ace::parse(&bytes), Ok((ace, 24)));
    }

    #[test]
    fn other_types_round_trip_verbatim() {
        // A mandatory label (0x11) and a callback ACE with application data.
        let label = Ace::other(
            0x11,
            AceFlags::NONE,
            [1u32.to_le_bytes().to_vec(), Sid::new(1, 16, &[0x3000]).expect("ok").to_bytes()].concat(),
        );
        assert_eq!(label.mask, 1);
        assert_eq!(label.sid.to_string(), "S-1-16-12288");
        assert!(label.fields_are_lossless());
        let mut callback_body = 0x100u32.to_le_bytes().to_vec();
        Sid::EVERYONE.write_to(&mut callback_body);
        callback_body.extend_from_slice(b"artx");
        let callback = Ace::other(0x09, AceFlags::NONE, callback_body);
        assert!(!callback.fields_are_lossless());
        let garbage = Ace::other(0x42, AceFlags(0x20), vec![1, 2, 3]);
        assert_eq!(garbage.sid, Sid::NULL);
        for ace in [label, callback, garbage] {
            let bytes = ace.to_bytes().expect("encodes");
            assert_eq!(Ace::parse(&bytes), Ok((ace, bytes.len())));
        }
        // A named type given as raw bytes is decoded into fields.
        let body = Ace::allowed(Sid::EVERYONE, 4).to_bytes().expect("encodes")[4..].to_vec();
        assert_eq!(Ace::other(0, AceFlags::NONE, body), Ace::allowed(Sid::EVERYONE, 4));
    }

    #[test]
    fn truncated_and_garbage_aces_are_errors() {
        let ace =
            Ace::allowed_object(domain_sid(498), mask::DS_CONTROL_ACCESS, Some(Guid::DS_REPLICATION_GET_CHANGES), None);
        let bytes = ace.to_bytes().expect("encodes");
        for len in 0..bytes.len() {
            assert!(Ace::parse(&bytes[..len]).is_err(), "length {len}");
        }
        // AceSize too small to hold the SID the body announces.
        let mut short = bytes.clone();
        short[2] = 20;
        let e = Ace::parse(&short).expect_err("SID outside AceSize");
        assert!(e.offset >= 12, "{e}");
        // AceSize below the header size.
        assert!(Ace::parse(&[0, 0, 3, 0]).is_err());
        assert!(Ace::parse(&[0, 0, 0, 0]).is_err());
    }
}

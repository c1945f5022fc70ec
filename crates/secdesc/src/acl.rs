//! Access control lists (MS-DTYP 2.4.5): an 8-byte header and the ACEs back to back.

use crate::ace::{Ace, AceType};
use crate::error::{read_u16, read_u8, take, EncodeError, ParseError};

/// `ACL_REVISION`: ACLs without object ACEs.
pub const ACL_REVISION: u8 = 2;
/// `ACL_REVISION_DS`: required once an ACL holds object ACEs.
pub const ACL_REVISION_DS: u8 = 4;

/// An ACL: its revision and its ACEs in stored order (order matters for
/// evaluation: the first applicable ACE decides).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Acl {
    /// `AclRevision` (2 or 4 in practice; other values are kept as found).
    pub revision: u8,
    /// The ACEs, in order.
    pub aces: Vec<Ace>,
}

impl Acl {
    /// An ACL holding `aces`, with the revision Windows would give it.
    pub fn new(aces: Vec<Ace>) -> Acl {
        Acl { revision: Acl::required_revision(&aces), aces }
    }

    /// [`ACL_REVISION_DS`] if any ACE has the object layout, else [`ACL_REVISION`].
    pub fn required_revision(aces: &[Ace]) -> u8 {
        if aces.iter().any(|ace| ace.kind.has_object_layout()) {
            ACL_REVISION_DS
        } else {
            ACL_REVISION
        }
    }

    /// Decodes an ACL from the start of `bytes`, returning it and `AclSize`.
    pub fn parse(bytes: &[u8]) -> Result<(Acl, usize), ParseError> {
        Acl::parse_at(bytes, 0, "acl")
    }

    /// Decodes the ACL at `at` inside `buf` (offsets stay relative to `buf`).
    ///
    /// `AclSize` may exceed the ACEs' total: Windows leaves free space at the
    /// end of ACLs it edits in place, so trailing slack is accepted and dropped.
    pub(crate) fn parse_at(buf: &[u8], at: usize, part: &'static str) -> Result<(Acl, usize), ParseError> {
        take(buf, at, 8, part, "ACL header")?;
        let revision = read_u8(buf, at, part, "ACL revision")?;
        let size = usize::from(read_u16(buf, at + 2, part, "ACL size")?);
        let count = usize::from(read_u16(buf, at + 4, part, "ACE count")?);
        if size < 8 {
            return Err(ParseError::new(part, at + 2, format!("ACL size {size} is smaller than its 8-byte header")));
        }
        take(buf, at, size, part, "ACL (AclSize runs past the end of the input)")?;
        // Confine the ACEs to AclSize.
        let acl = &buf[..at + size];
        // An ACE takes at least 4 bytes, which bounds the allocation for hostile counts.
        let mut aces = Vec::with_capacity(count.min((size - 8) / 4));
        let mut pos = at + 8;
        for index in 0..count {
            let (ace, used) = Ace::parse_at(acl, pos, part).map_err(|mut e| {
                e.reason = format!("ACE {index} of {count}: {}", e.reason);
                e
            })?;
            aces.push(ace);
            pos += used;
        }
        Ok((Acl { revision, aces }, size))
    }

    /// Size of the binary form (`AclSize`, with no slack).
    pub fn byte_len(&self) -> usize {
        8 + self.aces.iter().map(Ace::byte_len).sum::<usize>()
    }

    /// Appends the binary form. Fails when the ACL exceeds the 16-bit
    /// `AclSize`/`AceCount` limits (about 64 KiB).
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let size = u16::try_from(self.byte_len()).map_err(|_| EncodeError {
            part: "acl",
            reason: format!("{} bytes do not fit the 16-bit AclSize", self.byte_len()),
        })?;
        let count = u16::try_from(self.aces.len()).map_err(|_| EncodeError {
            part: "acl",
            reason: format!("{} ACEs do not fit the 16-bit AceCount", self.aces.len()),
        })?;
        out.push(self.revision);
        out.push(0);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for ace in &self.aces {
            ace.write_to(out)?;
        }
        Ok(())
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.byte_len());
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// ACEs of a type the access checks do not evaluate (callback, alarm, ...).
    pub fn has_unevaluated_aces(&self) -> bool {
        self.aces.iter().any(|ace| matches!(ace.kind, AceType::Other(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ace::mask;
    use crate::guid::Guid;
    use crate::sid::Sid;

    fn sample() -> Acl {
        Acl::new(vec![
            Ace::allowed_object(
                Sid::BUILTIN_ADMINISTRATORS,
                mask::DS_CONTROL_ACCESS,
                Some(Guid::DS_REPLICATION_GET_CHANGES),
                None,
            ),
            Ace::allowed(Sid::AUTHENTICATED_USERS, 0x20094),
        ])
    }

    #[test]
    fn round_trip_and_revision() {
        let acl = sample();
        assert_eq!(acl.revision, ACL_REVISION_DS);
        assert_eq!(Acl::new(vec![Ace::allowed(Sid::EVERYONE, 1)]).revision, ACL_REVISION);
        let bytes = acl.to_bytes().expect("encodes");
        assert_eq!(bytes.len(), 8 + 44 + 20);
        assert_eq!(bytes[..8], [4, 0, 72, 0, 2, 0, 0, 0]);
        assert_eq!(Acl::parse(&bytes), Ok((acl, 72)));
    }

    #[test]
    fn empty_acl() {
        let acl = Acl::new(vec![]);
        let bytes = acl.to_bytes().expect("encodes");
        assert_eq!(bytes, [2, 0, 8, 0, 0, 0, 0, 0]);
        assert_eq!(Acl::parse(&bytes), Ok((acl, 8)));
    }

    #[test]
    fn slack_after_the_aces_is_dropped() {
        let acl = sample();
        let mut bytes = acl.to_bytes().expect("encodes");
        bytes.extend_from_slice(&[0xEE; 12]);
        bytes[2] = 84;
        assert_eq!(Acl::parse(&bytes), Ok((acl, 84)));
    }

    #[test]
    fn bad_sizes_and_counts_are_errors() {
        let bytes = sample().to_bytes().expect("encodes");
        for len in 0..bytes.len() {
            assert!(Acl::parse(&bytes[..len]).is_err(), "length {len}");
        }
        let mut more_aces = bytes.clone();
        more_aces[4] = 3;
        let e = Acl::parse(&more_aces).expect_err("third ACE missing");
        assert!(e.reason.starts_with("ACE 2 of 3"), "{e}");
        assert_eq!(e.offset, 72);
        let mut tiny = bytes.clone();
        tiny[2] = 7;
        assert!(Acl::parse(&tiny).is_err());
        let mut short = bytes;
        short[2] = 60;
        assert!(Acl::parse(&short).is_err(), "second ACE runs past AclSize");
    }

    #[test]
    fn too_large_to_encode() {
        let acl = Acl::new(vec![Ace::allowed(Sid::EVERYONE, 1); 4000]);
        assert!(acl.to_bytes().is_err());
    }
}

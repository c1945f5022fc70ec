//! SDDL (MS-DTYP 2.5.1): rendering exactly as Samba 4.17's `sddl_encode`
//! (what `security.descriptor.as_sddl()` prints), and a parser for fixtures
//! and round trips.
//!
//! Samba is the reference because tests compare our text with Samba's for the
//! same binary descriptor. Where Samba and Windows differ, we print Samba's:
//!
//! * rights letters in Samba's fixed order `RP WP CR CC DC LC LO RC WO WD SD DT
//!   SW GA GR GW GX` (Windows: `CC DC LC SW RP WP DT LO CR SD RC WD WO ...`),
//!   and the whole mask as `0x%08x` once a bit has no letter; no `FA`/`KA`
//!   shortcuts on output (`0x001f01ff` stays hex);
//! * ACL flags in the order `P`, `AR`, `AI`;
//! * domain-relative aliases (`DA`, `DD`, `RO`, `EA`, ...) against the one
//!   domain SID given; Windows resolves `RO`/`EA`/`SA`/... against the forest
//!   root and often prints the numeric SID;
//! * a null DACL (present bit set, no ACL) prints nothing, where Windows
//!   prints `D:NO_ACCESS_CONTROL`; check [`SecurityDescriptor::has_null_dacl`].
//!
//! Samba crashes or prints letter soup for ACE types and flag bits it does not
//! know; there we print the Windows letters (`AL`, `OL`, `XA`, `XD`, `ZA`, `XU`,
//! `ML`, `RA`, `SP`; other type bytes as `0xNN`) and drop unknown flag bits,
//! so the output always parses back. [`is_sddl_expressible`] says whether the
//! text captures the descriptor completely.
//!
//! The parser accepts both spellings of everything above, plus Windows' file
//! and registry shortcuts (`FA` = 0x1F01FF, `FR`, `FW`, `FX`, `KA`, `KR`, `KW`,
//! `KX`, and the label rights `NR`, `NW`, `NX`) and decimal masks. Conditional
//! (callback) expressions and resource attributes are not supported.

use crate::ace::{mask, Ace, AceFlags, AceType};
use crate::acl::Acl;
use crate::descriptor::{control, SecurityDescriptor};
use crate::error::ParseError;
use crate::guid::Guid;
use crate::sid::Sid;

/// Samba's `ace_access_mask` table, in its order.
const RIGHTS: &[(&str, u32)] = &[
    ("RP", mask::DS_READ_PROPERTY),
    ("WP", mask::DS_WRITE_PROPERTY),
    ("CR", mask::DS_CONTROL_ACCESS),
    ("CC", mask::DS_CREATE_CHILD),
    ("DC", mask::DS_DELETE_CHILD),
    ("LC", mask::DS_LIST_CHILDREN),
    ("LO", mask::DS_LIST_OBJECT),
    ("RC", mask::READ_CONTROL),
    ("WO", mask::WRITE_OWNER),
    ("WD", mask::WRITE_DAC),
    ("SD", mask::DELETE),
    ("DT", mask::DS_DELETE_TREE),
    ("SW", mask::DS_SELF),
    ("GA", mask::GENERIC_ALL),
    ("GR", mask::GENERIC_READ),
    ("GW", mask::GENERIC_WRITE),
    ("GX", mask::GENERIC_EXECUTE),
];

/// Multi-bit rights accepted on input only (MS-DTYP 2.5.1.1 values).
const INPUT_ONLY_RIGHTS: &[(&str, u32)] = &[
    ("FA", mask::FILE_ALL_ACCESS),
    ("FR", 0x0012_0089),
    ("FW", 0x0012_0116),
    ("FX", 0x0012_00A0),
    ("KA", 0x000F_003F),
    ("KR", 0x0002_0019),
    ("KW", 0x0002_0006),
    ("KX", 0x0002_0019),
    ("NR", 0x0000_0001),
    ("NW", 0x0000_0002),
    ("NX", 0x0000_0004),
];

/// ACE flag letters in Samba's (and Windows') order.
const FLAGS: &[(&str, u8)] = &[
    ("OI", AceFlags::OBJECT_INHERIT.0),
    ("CI", AceFlags::CONTAINER_INHERIT.0),
    ("NP", AceFlags::NO_PROPAGATE_INHERIT.0),
    ("IO", AceFlags::INHERIT_ONLY.0),
    ("ID", AceFlags::INHERITED.0),
    ("SA", AceFlags::SUCCESSFUL_ACCESS.0),
    ("FA", AceFlags::FAILED_ACCESS.0),
];

/// ACE type letters. The first six are the ones Samba renders; the rest are
/// Windows' letters for types this crate keeps as [`AceType::Other`].
const TYPES: &[(&str, u8)] = &[
    ("A", 0x00),
    ("D", 0x01),
    ("AU", 0x02),
    ("OA", 0x05),
    ("OD", 0x06),
    ("OU", 0x07),
    ("AL", 0x03),
    ("OL", 0x08),
    ("XA", 0x09),
    ("XD", 0x0A),
    ("ZA", 0x0B),
    ("XU", 0x0D),
    ("ML", 0x11),
    ("RA", 0x12),
    ("SP", 0x13),
];

/// ACL flags as Samba orders them, for the DACL's control bits; the SACL's
/// bits are the same shifted left by one, which is how Samba renders them.
const ACL_FLAGS: &[(&str, u16)] =
    &[("P", control::DACL_PROTECTED), ("AR", control::DACL_AUTO_INHERIT_REQ), ("AI", control::DACL_AUTO_INHERITED)];

/// The SDDL letters for an access mask, Samba style: letters in table order,
/// or `0x%08x` when any bit has no letter; empty for 0.
pub fn mask_to_sddl(access_mask: u32) -> String {
    let mut rest = access_mask;
    let mut out = String::new();
    for (letters, bit) in RIGHTS {
        if rest & bit != 0 {
            out.push_str(letters);
            rest &= !bit;
        }
    }
    if rest != 0 {
        format!("0x{access_mask:08x}")
    } else {
        out
    }
}

fn flags_to_sddl(flags: AceFlags) -> String {
    FLAGS.iter().filter(|(_, bit)| flags.0 & bit != 0).map(|(letters, _)| *letters).collect()
}

fn type_to_sddl(kind: AceType) -> String {
    let t = kind.as_u8();
    match TYPES.iter().find(|(_, v)| *v == t) {
        Some((letters, _)) => (*letters).to_string(),
        None => format!("0x{t:02x}"),
    }
}

fn acl_flags_to_sddl(bits: u16) -> String {
    ACL_FLAGS.iter().filter(|(_, bit)| bits & bit != 0).map(|(letters, _)| *letters).collect()
}

/// One ACE as `(type;flags;rights;object;inherited_object;sid)`.
pub fn ace_to_sddl(ace: &Ace, domain: Option<&Sid>) -> String {
    let guid = |g: Option<Guid>| if ace.kind.has_object_layout() { g.map(|g| g.to_string()) } else { None };
    format!(
        "({};{};{};{};{};{})",
        type_to_sddl(ace.kind),
        flags_to_sddl(ace.flags),
        mask_to_sddl(ace.mask),
        guid(ace.object_type).unwrap_or_default(),
        guid(ace.inherited_object_type).unwrap_or_default(),
        ace.sid.to_sddl(domain),
    )
}

fn acl_to_sddl(out: &mut String, acl: &Acl, flag_bits: u16, domain: Option<&Sid>) {
    out.push_str(&acl_flags_to_sddl(flag_bits));
    for ace in &acl.aces {
        out.push_str(&ace_to_sddl(ace, domain));
    }
}

/// The descriptor in SDDL, as Samba 4.17 renders it. With `domain`, SIDs in
/// that domain with a well-known RID print as `DA`, `DD`, `RO`, ...
pub fn to_sddl(sd: &SecurityDescriptor, domain: Option<&Sid>) -> String {
    let mut out = String::new();
    if let Some(owner) = &sd.owner {
        out.push_str("O:");
        out.push_str(&owner.to_sddl(domain));
    }
    if let Some(group) = &sd.group {
        out.push_str("G:");
        out.push_str(&group.to_sddl(domain));
    }
    if let (true, Some(dacl)) = (sd.control & control::DACL_PRESENT != 0, &sd.dacl) {
        out.push_str("D:");
        acl_to_sddl(&mut out, dacl, sd.control, domain);
    }
    if let (true, Some(sacl)) = (sd.control & control::SACL_PRESENT != 0, &sd.sacl) {
        out.push_str("S:");
        acl_to_sddl(&mut out, sacl, sd.control >> 1, domain);
    }
    out
}

/// Whether [`to_sddl`] followed by [`from_sddl`] (with the same domain SID)
/// gives this descriptor back exactly. False for anything SDDL cannot say:
/// a revision other than 1, control bits beyond present/`P`/`AI`/`AR`/self-
/// relative, null or ignored ACLs, ACL revisions other than what Windows
/// picks for the ACEs, ACE flag bits without letters, and `Other` ACEs whose
/// body holds more than mask, GUIDs and SID.
pub fn is_sddl_expressible(sd: &SecurityDescriptor) -> bool {
    let dacl_shown = sd.control & control::DACL_PRESENT != 0;
    let sacl_shown = sd.control & control::SACL_PRESENT != 0;
    let mut allowed = control::SELF_RELATIVE;
    if dacl_shown {
        allowed |= control::DACL_PRESENT | control::DACL_PROTECTED | control::DACL_AUTO_INHERITED;
        allowed |= control::DACL_AUTO_INHERIT_REQ;
    }
    if sacl_shown {
        allowed |= control::SACL_PRESENT | control::SACL_PROTECTED | control::SACL_AUTO_INHERITED;
        allowed |= control::SACL_AUTO_INHERIT_REQ;
    }
    let acl_ok = |acl: &Acl| acl.revision == Acl::required_revision(&acl.aces) && acl.aces.iter().all(ace_expressible);
    sd.revision == 1
        && sd.control & control::SELF_RELATIVE != 0
        && sd.control & !allowed == 0
        && dacl_shown == sd.dacl.is_some()
        && sacl_shown == sd.sacl.is_some()
        && sd.dacl.iter().chain(sd.sacl.iter()).all(acl_ok)
}

fn ace_expressible(ace: &Ace) -> bool {
    let guids_fit = ace.kind.has_object_layout() || (ace.object_type.is_none() && ace.inherited_object_type.is_none());
    let body_fits = match ace.kind {
        AceType::Other(_) => ace.raw_body.is_some() && ace.fields_are_lossless(),
        _ => ace.raw_body.is_none(),
    };
    ace.flags.0 & !AceFlags::KNOWN.0 == 0 && guids_fit && body_fits
}

impl SecurityDescriptor {
    /// See [`to_sddl`].
    pub fn to_sddl(&self, domain: Option<&Sid>) -> String {
        to_sddl(self, domain)
    }

    /// See [`from_sddl`].
    pub fn from_sddl(sddl: &str, domain: Option<&Sid>) -> Result<SecurityDescriptor, ParseError> {
        from_sddl(sddl, domain)
    }

    /// See [`is_sddl_expressible`].
    pub fn is_sddl_expressible(&self) -> bool {
        is_sddl_expressible(self)
    }
}

impl Ace {
    /// See [`ace_to_sddl`].
    pub fn to_sddl(&self, domain: Option<&Sid>) -> String {
        ace_to_sddl(self, domain)
    }
}

/// Parses SDDL into a self-relative descriptor. Domain-relative aliases
/// (`DA`, `DD`, `RO`, ...) need `domain`. ACL revisions are chosen as Windows
/// does (4 with object ACEs, else 2); `control` gets `SELF_RELATIVE` plus the
/// present bits and the `P`/`AI`/`AR` flags written.
pub fn from_sddl(sddl: &str, domain: Option<&Sid>) -> Result<SecurityDescriptor, ParseError> {
    let lead = sddl.len() - sddl.trim_start().len();
    let mut parser = Parser { s: sddl.trim(), base: lead, pos: 0, domain };
    parser.descriptor()
}

struct Parser<'a> {
    s: &'a str,
    /// Offset of `s` inside the caller's string, for error positions.
    base: usize,
    pos: usize,
    domain: Option<&'a Sid>,
}

impl<'a> Parser<'a> {
    fn err(&self, at: usize, reason: impl Into<String>) -> ParseError {
        ParseError::new("sddl", self.base + at, reason)
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.s.as_bytes().get(at).copied()
    }

    /// `O:`, `G:`, `D:` or `S:` starts at `at`.
    fn section_at(&self, at: usize) -> bool {
        matches!(self.byte(at), Some(b'O' | b'G' | b'D' | b'S')) && self.byte(at + 1) == Some(b':')
    }

    fn descriptor(&mut self) -> Result<SecurityDescriptor, ParseError> {
        let mut sd = SecurityDescriptor::new(None, None, None, None);
        let mut seen = [false; 4];
        while self.pos < self.s.len() {
            if !self.section_at(self.pos) {
                return Err(self.err(self.pos, "expected O:, G:, D: or S:"));
            }
            let letter = self.byte(self.pos).unwrap_or_default();
            let slot = match letter {
                b'O' => 0,
                b'G' => 1,
                b'D' => 2,
                _ => 3,
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(self.err(self.pos, format!("{}: appears twice", letter as char)));
            }
            self.pos += 2;
            match letter {
                b'O' | b'G' => {
                    let start = self.pos;
                    // SIDs never contain ':', so the next ':' belongs to the next section.
                    let end = match self.s[start..].find(':') {
                        Some(colon) => (start + colon).saturating_sub(1).max(start),
                        None => self.s.len(),
                    };
                    let text = self.s.get(start..end).ok_or_else(|| self.err(start, "malformed SID"))?;
                    let sid = self.sid(text, start)?;
                    if letter == b'O' {
                        sd.owner = Some(sid);
                    } else {
                        sd.group = Some(sid);
                    }
                    self.pos = end;
                }
                b'D' => {
                    let (acl, flags) = self.acl()?;
                    sd.control |= control::DACL_PRESENT | flags;
                    sd.dacl = acl;
                }
                _ => {
                    let (acl, flags) = self.acl()?;
                    sd.control |= control::SACL_PRESENT | (flags << 1);
                    sd.sacl = acl;
                }
            }
        }
        Ok(sd)
    }

    /// ACL flags then `(ace)...`; returns `None` for `NO_ACCESS_CONTROL` and
    /// the flags as DACL control bits.
    fn acl(&mut self) -> Result<(Option<Acl>, u16), ParseError> {
        let mut flags = 0u16;
        let mut null = false;
        while self.pos < self.s.len() && self.byte(self.pos) != Some(b'(') && !self.section_at(self.pos) {
            let rest = &self.s[self.pos..];
            if rest.starts_with("NO_ACCESS_CONTROL") {
                null = true;
                self.pos += "NO_ACCESS_CONTROL".len();
            } else if let Some((letters, bit)) = ACL_FLAGS.iter().find(|(letters, _)| rest.starts_with(letters)) {
                flags |= bit;
                self.pos += letters.len();
            } else {
                return Err(self.err(self.pos, "unknown ACL flag (expected P, AI, AR or NO_ACCESS_CONTROL)"));
            }
        }
        let mut aces = Vec::new();
        while self.byte(self.pos) == Some(b'(') {
            let start = self.pos + 1;
            let close =
                self.s[start..].find(')').map(|i| start + i).ok_or_else(|| self.err(self.pos, "ACE without ')'"))?;
            aces.push(self.ace(start, close)?);
            self.pos = close + 1;
        }
        if self.pos < self.s.len() && !self.section_at(self.pos) {
            return Err(self.err(self.pos, "expected '(' or the next section"));
        }
        if null {
            if !aces.is_empty() {
                return Err(self.err(self.pos, "NO_ACCESS_CONTROL with ACEs"));
            }
            return Ok((None, flags));
        }
        Ok((Some(Acl::new(aces)), flags))
    }

    fn ace(&self, start: usize, end: usize) -> Result<Ace, ParseError> {
        let text = &self.s[start..end];
        let mut fields = Vec::with_capacity(6);
        let mut at = start;
        for field in text.split(';') {
            fields.push((field, at));
            at += field.len() + 1;
        }
        let [(kind_text, kind_at), (flags_text, flags_at), (rights_text, rights_at), (object_text, object_at), (inherited_text, inherited_at), (sid_text, sid_at)] =
            fields[..]
        else {
            return Err(self.err(
                start,
                format!(
                    "an ACE has 6 ';'-separated fields, found {} (conditional ACEs are not supported)",
                    fields.len()
                ),
            ));
        };
        let kind = self.ace_type(kind_text, kind_at)?;
        let flags = self.letters(flags_text, flags_at, "ACE flag", FLAGS.iter().map(|(l, b)| (*l, u32::from(*b))))?;
        let flags = AceFlags(u8::try_from(flags).unwrap_or_default());
        let access_mask = self.rights(rights_text, rights_at)?;
        let object_type = self.guid(object_text, object_at, kind)?;
        let inherited_object_type = self.guid(inherited_text, inherited_at, kind)?;
        let sid = self.sid(sid_text, sid_at)?;
        Ok(match kind {
            AceType::Other(t) => Ace::other_from_fields(t, flags, access_mask, object_type, inherited_object_type, sid),
            _ => Ace { kind, flags, mask: access_mask, object_type, inherited_object_type, sid, raw_body: None },
        })
    }

    fn ace_type(&self, text: &str, at: usize) -> Result<AceType, ParseError> {
        if let Some((_, t)) = TYPES.iter().find(|(letters, _)| *letters == text) {
            return Ok(AceType::from_u8(*t));
        }
        hex(text)
            .and_then(|v| u8::try_from(v).ok())
            .map(AceType::from_u8)
            .ok_or_else(|| self.err(at, format!("unknown ACE type {text:?}")))
    }

    /// Concatenated two-letter codes from `table`, OR-ed together.
    fn letters(
        &self,
        text: &str,
        at: usize,
        what: &str,
        table: impl Iterator<Item = (&'static str, u32)> + Clone,
    ) -> Result<u32, ParseError> {
        let mut value = 0;
        // Byte pairs rather than string slices: hostile input may hold
        // multi-byte characters, which then simply match no code.
        for (i, code) in text.as_bytes().chunks(2).enumerate() {
            let bit =
                table.clone().find(|(letters, _)| letters.as_bytes() == code).map(|(_, bit)| bit).ok_or_else(|| {
                    self.err(at + 2 * i, format!("unknown {what} {:?}", String::from_utf8_lossy(code)))
                })?;
            value |= bit;
        }
        Ok(value)
    }

    fn rights(&self, text: &str, at: usize) -> Result<u32, ParseError> {
        if text.starts_with("0x") || text.starts_with("0X") {
            return hex(text).ok_or_else(|| self.err(at, format!("bad hex access mask {text:?}")));
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().map_err(|_| self.err(at, format!("access mask {text} overflows 32 bits")));
        }
        self.letters(text, at, "access right", RIGHTS.iter().chain(INPUT_ONLY_RIGHTS).copied())
    }

    fn guid(&self, text: &str, at: usize, kind: AceType) -> Result<Option<Guid>, ParseError> {
        if text.is_empty() {
            return Ok(None);
        }
        if !kind.has_object_layout() {
            return Err(self.err(at, "a GUID on an ACE type without object GUIDs would be lost"));
        }
        text.parse().map(Some).map_err(|e: ParseError| self.err(at + e.offset, e.reason))
    }

    fn sid(&self, text: &str, at: usize) -> Result<Sid, ParseError> {
        if text.starts_with("S-") {
            return text.parse().map_err(|e: ParseError| self.err(at + e.offset, e.reason));
        }
        match Sid::from_sddl_alias(text, self.domain) {
            Ok(Some(sid)) => Ok(sid),
            Ok(None) => Err(self.err(at, format!("{text:?} is neither a SID nor a known SDDL alias"))),
            Err(reason) => Err(self.err(at, reason)),
        }
    }
}

/// `0x`-prefixed hex, at most 32 bits.
fn hex(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> Sid {
        "S-1-5-21-1-2-3".parse().expect("valid")
    }

    #[test]
    fn masks_like_samba() {
        assert_eq!(mask_to_sddl(0), "");
        assert_eq!(mask_to_sddl(mask::DS_CONTROL_ACCESS), "CR");
        assert_eq!(mask_to_sddl(mask::DS_FULL_CONTROL), "RPWPCRCCDCLCLORCWOWDSDDTSW");
        assert_eq!(mask_to_sddl(mask::FILE_ALL_ACCESS), "0x001f01ff");
        assert_eq!(mask_to_sddl(0x1000_0001), "CCGA");
        assert_eq!(mask_to_sddl(0x20094), "RPLCLORC");
        assert_eq!(mask_to_sddl(0xffff_ffff), "0xffffffff");
    }

    #[test]
    fn descriptor_round_trip_with_aliases() {
        let d = domain();
        let text = "O:BAG:DAD:PARAI(A;OICIIOID;CR;;;WD)(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;RO)\
                    (OD;CI;RPWP;;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-9-9-9-1121)S:AI(AU;SAFA;WPWOWD;;;WD)";
        let sd = from_sddl(text, Some(&d)).expect("parses");
        assert_eq!(
            sd.control,
            control::SELF_RELATIVE
                | control::DACL_PRESENT
                | control::DACL_PROTECTED
                | control::DACL_AUTO_INHERIT_REQ
                | control::DACL_AUTO_INHERITED
                | control::SACL_PRESENT
                | control::SACL_AUTO_INHERITED
        );
        assert_eq!(sd.group, d.domain_relative(512));
        assert_eq!(to_sddl(&sd, Some(&d)), text);
        assert!(sd.is_sddl_expressible());
        let numeric = to_sddl(&sd, None);
        assert!(numeric.contains("G:S-1-5-21-1-2-3-512D:"), "{numeric}");
        assert_eq!(from_sddl(&numeric, None), Ok(sd));
    }

    #[test]
    fn windows_spellings_normalise() {
        let sd = from_sddl("D:AI(A;CIIOOI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)(A;;FA;;;BA)(A;;0x000F01FF;;;AU)", None)
            .expect("parses");
        assert_eq!(
            sd.to_sddl(None),
            "D:AI(A;OICIIO;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;0x001f01ff;;;BA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;AU)"
        );
        assert_eq!(
            from_sddl("D:(A;;983551;;;WD)", None).map(|sd| sd.to_sddl(None)),
            Ok("D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;WD)".into())
        );
    }

    #[test]
    fn empty_and_null_acls() {
        let sd = from_sddl("D:S:", None).expect("parses");
        assert_eq!(sd.dacl, Some(Acl::new(vec![])));
        assert_eq!(sd.to_sddl(None), "D:S:");
        let null = from_sddl("O:SYD:NO_ACCESS_CONTROL", None).expect("parses");
        assert!(null.has_null_dacl());
        assert_eq!(null.to_sddl(None), "O:SY", "Samba prints nothing for a null DACL");
        assert!(!null.is_sddl_expressible());
        assert_eq!(from_sddl("", None), Ok(SecurityDescriptor::new(None, None, None, None)));
    }

    #[test]
    fn other_ace_types_get_windows_letters() {
        let sd = from_sddl(
            "S:(ML;;NW;;;LW)D:(XA;;CR;;;WD)(OL;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;WD)(0x42;;0x1;;;WD)",
            None,
        )
        .expect("parses");
        let dacl = sd.dacl.as_ref().expect("dacl");
        assert_eq!(dacl.aces[0].kind, AceType::Other(0x09));
        assert_eq!(dacl.revision, crate::ACL_REVISION_DS);
        assert_eq!(
            sd.to_sddl(None),
            "D:(XA;;CR;;;WD)(OL;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;WD)(0x42;;CC;;;WD)S:(ML;;DC;;;LW)"
        );
        assert!(sd.is_sddl_expressible());
        let bytes = sd.to_bytes().expect("encodes");
        assert_eq!(SecurityDescriptor::parse(&bytes), Ok(sd));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases: &[(&str, usize)] = &[
            ("X:BA", 0),
            ("O:", 2),
            ("O:ZZ", 2),
            ("O:DA", 2),
            ("O:BAO:BA", 4),
            ("D:(A;;CR;;;WD", 2),
            ("D:(A;;CR;;WD)", 3),
            ("D:(A;;CR;;;WD;x)", 3),
            ("D:(Q;;CR;;;WD)", 3),
            ("D:(A;XX;CR;;;WD)", 5),
            ("D:(A;;CRX;;;WD)", 8),
            ("D:(A;;0xZ;;;WD)", 6),
            ("D:(A;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;WD)", 9),
            ("D:(OA;;CR;1131f6aa;;WD)", 10),
            ("D:(A;;CR;;;S-1-x)", 15),
            ("D:Q(A;;CR;;;WD)", 2),
            ("D:(A;;CR;;;WD)x", 14),
            ("D:NO_ACCESS_CONTROL(A;;CR;;;WD)", 31),
            ("  O:ZZ", 4),
        ];
        for (text, offset) in cases {
            let e = from_sddl(text, None).expect_err(text);
            assert_eq!((e.part, e.offset), ("sddl", *offset), "{text}: {e}");
        }
    }
}

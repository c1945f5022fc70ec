//! Security identifiers (MS-DTYP 2.4.2): binary form, `S-1-...` text form,
//! well-known SIDs and the SDDL two-letter aliases.
//!
//! A [`Sid`] is `Copy` and needs no allocation: the format caps a SID at 15
//! sub-authorities, so they live in a fixed array. That also lets the
//! well-known SIDs be `const`s.

use std::fmt;
use std::str::FromStr;

use crate::error::{read_u8, take, ParseError};

/// The most sub-authorities a SID may have (MS-DTYP 2.4.2.2 `SID_MAX_SUB_AUTHORITIES`).
pub const MAX_SUB_AUTHORITIES: usize = 15;

/// The largest identifier authority: it is a 48-bit big-endian field.
const MAX_AUTHORITY: u64 = (1 << 48) - 1;

/// A security identifier: revision, 48-bit identifier authority and up to 15
/// sub-authorities (the last of which is the RID for account SIDs).
///
/// Equality, hashing and ordering look at the used sub-authorities only; the
/// unused array slots are always zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    revision: u8,
    authority: [u8; 6],
    count: u8,
    sub_authorities: [u32; MAX_SUB_AUTHORITIES],
}

/// Relative identifiers of well-known accounts and groups inside a domain
/// (MS-DTYP 2.4.2.4). Combine with a domain SID via [`Sid::domain_relative`].
pub mod rid {
    /// Enterprise Read-only Domain Controllers (SDDL `RO`; lives in the forest root domain).
    pub const ENTERPRISE_READONLY_DOMAIN_CONTROLLERS: u32 = 498;
    /// The built-in Administrator account (SDDL `LA`).
    pub const ADMINISTRATOR: u32 = 500;
    /// The Guest account (SDDL `LG`).
    pub const GUEST: u32 = 501;
    /// The krbtgt account.
    pub const KRBTGT: u32 = 502;
    /// Domain Admins (SDDL `DA`).
    pub const DOMAIN_ADMINS: u32 = 512;
    /// Domain Users (SDDL `DU`).
    pub const DOMAIN_USERS: u32 = 513;
    /// Domain Guests (SDDL `DG`).
    pub const DOMAIN_GUESTS: u32 = 514;
    /// Domain Computers (SDDL `DC`).
    pub const DOMAIN_COMPUTERS: u32 = 515;
    /// Domain Controllers (SDDL `DD`).
    pub const DOMAIN_CONTROLLERS: u32 = 516;
    /// Cert Publishers (SDDL `CA`).
    pub const CERT_PUBLISHERS: u32 = 517;
    /// Schema Admins (SDDL `SA`; forest root domain).
    pub const SCHEMA_ADMINS: u32 = 518;
    /// Enterprise Admins (SDDL `EA`; forest root domain).
    pub const ENTERPRISE_ADMINS: u32 = 519;
    /// Group Policy Creator Owners (SDDL `PA`).
    pub const GROUP_POLICY_CREATOR_OWNERS: u32 = 520;
    /// Read-only Domain Controllers (no SDDL alias).
    pub const READONLY_DOMAIN_CONTROLLERS: u32 = 521;
    /// Cloneable Domain Controllers (SDDL `CN`).
    pub const CLONEABLE_CONTROLLERS: u32 = 522;
    /// Protected Users (SDDL `AP`).
    pub const PROTECTED_USERS: u32 = 525;
    /// Key Admins (SDDL `KA`).
    pub const KEY_ADMINS: u32 = 526;
    /// Enterprise Key Admins (SDDL `EK`).
    pub const ENTERPRISE_KEY_ADMINS: u32 = 527;
    /// RAS and IAS Servers (SDDL `RS`).
    pub const RAS_SERVERS: u32 = 553;
}

/// Builds a revision-1 SID at compile time. Only called with literals below,
/// so an out-of-range argument is a compile error, never a runtime panic.
const fn wk(authority: u64, subs: &[u32]) -> Sid {
    assert!(subs.len() <= MAX_SUB_AUTHORITIES && authority <= MAX_AUTHORITY);
    let a = authority.to_be_bytes();
    let mut sub_authorities = [0u32; MAX_SUB_AUTHORITIES];
    let mut i = 0;
    while i < subs.len() {
        sub_authorities[i] = subs[i];
        i += 1;
    }
    Sid { revision: 1, authority: [a[2], a[3], a[4], a[5], a[6], a[7]], count: subs.len() as u8, sub_authorities }
}

impl Sid {
    /// S-1-0-0, the NULL SID.
    pub const NULL: Sid = wk(0, &[0]);
    /// S-1-1-0, Everyone (SDDL `WD`).
    pub const EVERYONE: Sid = wk(1, &[0]);
    /// S-1-3-0, CREATOR OWNER (SDDL `CO`).
    pub const CREATOR_OWNER: Sid = wk(3, &[0]);
    /// S-1-3-1, CREATOR GROUP (SDDL `CG`).
    pub const CREATOR_GROUP: Sid = wk(3, &[1]);
    /// S-1-5-2, NETWORK (SDDL `NU`): present in every network-logon token.
    pub const NETWORK: Sid = wk(5, &[2]);
    /// S-1-5-4, INTERACTIVE (SDDL `IU`).
    pub const INTERACTIVE: Sid = wk(5, &[4]);
    /// S-1-5-7, ANONYMOUS LOGON (SDDL `AN`).
    pub const ANONYMOUS: Sid = wk(5, &[7]);
    /// S-1-5-9, Enterprise Domain Controllers (SDDL `ED`).
    pub const ENTERPRISE_DOMAIN_CONTROLLERS: Sid = wk(5, &[9]);
    /// S-1-5-10, PRINCIPAL SELF (SDDL `PS`): stands for the object's own account.
    pub const PRINCIPAL_SELF: Sid = wk(5, &[10]);
    /// S-1-5-11, Authenticated Users (SDDL `AU`).
    pub const AUTHENTICATED_USERS: Sid = wk(5, &[11]);
    /// S-1-5-15, This Organization: added for accounts of the same forest.
    pub const THIS_ORGANIZATION: Sid = wk(5, &[15]);
    /// S-1-5-18, Local System (SDDL `SY`).
    pub const LOCAL_SYSTEM: Sid = wk(5, &[18]);
    /// S-1-5-32-544, BUILTIN\Administrators (SDDL `BA`).
    pub const BUILTIN_ADMINISTRATORS: Sid = wk(5, &[32, 544]);
    /// S-1-5-32-545, BUILTIN\Users (SDDL `BU`).
    pub const BUILTIN_USERS: Sid = wk(5, &[32, 545]);
    /// S-1-5-32-548, BUILTIN\Account Operators (SDDL `AO`).
    pub const ACCOUNT_OPERATORS: Sid = wk(5, &[32, 548]);
    /// S-1-5-32-551, BUILTIN\Backup Operators (SDDL `BO`).
    pub const BACKUP_OPERATORS: Sid = wk(5, &[32, 551]);
    /// S-1-5-32-554, BUILTIN\Pre-Windows 2000 Compatible Access (SDDL `RU`).
    pub const PRE_WINDOWS_2000_COMPATIBLE_ACCESS: Sid = wk(5, &[32, 554]);

    /// Builds a SID; `None` when the authority does not fit 48 bits or there
    /// are more than 15 sub-authorities.
    pub fn new(revision: u8, authority: u64, sub_authorities: &[u32]) -> Option<Sid> {
        if authority > MAX_AUTHORITY || sub_authorities.len() > MAX_SUB_AUTHORITIES {
            return None;
        }
        let a = authority.to_be_bytes();
        let mut subs = [0u32; MAX_SUB_AUTHORITIES];
        subs[..sub_authorities.len()].copy_from_slice(sub_authorities);
        Some(Sid {
            revision,
            authority: [a[2], a[3], a[4], a[5], a[6], a[7]],
            count: sub_authorities.len() as u8,
            sub_authorities: subs,
        })
    }

    /// The revision byte (1 for every SID Windows issues).
    pub fn revision(&self) -> u8 {
        self.revision
    }

    /// The 48-bit identifier authority (5 = NT AUTHORITY).
    pub fn authority(&self) -> u64 {
        let a = self.authority;
        u64::from_be_bytes([0, 0, a[0], a[1], a[2], a[3], a[4], a[5]])
    }

    /// The sub-authorities in order.
    pub fn sub_authorities(&self) -> &[u32] {
        &self.sub_authorities[..usize::from(self.count)]
    }

    /// The last sub-authority (the RID of an account SID), if there is one.
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities().last().copied()
    }

    /// This SID with `rid` appended: `domain.domain_relative(rid::DOMAIN_ADMINS)`
    /// is the domain's Domain Admins group. `None` if it already has 15 sub-authorities.
    pub fn domain_relative(&self, rid: u32) -> Option<Sid> {
        let n = usize::from(self.count);
        if n >= MAX_SUB_AUTHORITIES {
            return None;
        }
        let mut out = *self;
        out.sub_authorities[n] = rid;
        out.count += 1;
        Some(out)
    }

    /// This SID without its last sub-authority (the domain of an account SID).
    pub fn parent(&self) -> Option<Sid> {
        let n = usize::from(self.count);
        let last = n.checked_sub(1)?;
        let mut out = *self;
        out.sub_authorities[last] = 0;
        out.count -= 1;
        Some(out)
    }

    /// Whether this SID is `domain` plus exactly one RID.
    ///
    /// Mirrors Samba's `dom_sid_in_domain`, including its refusal to treat a
    /// SID with fewer than two sub-authorities as domain-relative, because the
    /// SDDL alias choice must match Samba's.
    pub fn is_in_domain(&self, domain: &Sid) -> bool {
        self.count >= 2
            && domain.count + 1 == self.count
            && self.revision == domain.revision
            && self.authority == domain.authority
            && self.sub_authorities()[..usize::from(domain.count)] == *domain.sub_authorities()
    }

    /// Size of the binary form: 8 + 4 per sub-authority.
    pub fn byte_len(&self) -> usize {
        8 + 4 * usize::from(self.count)
    }

    /// Decodes a binary SID from the start of `bytes`, returning it and the
    /// number of bytes it took.
    pub fn parse(bytes: &[u8]) -> Result<(Sid, usize), ParseError> {
        Sid::parse_at(bytes, 0, "sid")
    }

    /// Decodes a SID at `at` inside `buf`, so errors carry offsets relative to
    /// the whole input and name the enclosing part.
    pub(crate) fn parse_at(buf: &[u8], at: usize, part: &'static str) -> Result<(Sid, usize), ParseError> {
        let revision = read_u8(buf, at, part, "SID revision")?;
        let count = read_u8(buf, at + 1, part, "SID sub-authority count")?;
        if usize::from(count) > MAX_SUB_AUTHORITIES {
            return Err(ParseError::new(
                part,
                at + 1,
                format!("SID claims {count} sub-authorities; at most {MAX_SUB_AUTHORITIES} are allowed"),
            ));
        }
        let auth = take(buf, at + 2, 6, part, "SID identifier authority")?;
        let mut authority = [0u8; 6];
        authority.copy_from_slice(auth);
        let subs_len = 4 * usize::from(count);
        let subs = take(buf, at + 8, subs_len, part, "SID sub-authorities")?;
        let mut sub_authorities = [0u32; MAX_SUB_AUTHORITIES];
        for (slot, chunk) in sub_authorities.iter_mut().zip(subs.chunks_exact(4)) {
            *slot = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Ok((Sid { revision, authority, count, sub_authorities }, 8 + subs_len))
    }

    /// Appends the binary form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(self.revision);
        out.push(self.count);
        out.extend_from_slice(&self.authority);
        for sub in self.sub_authorities() {
            out.extend_from_slice(&sub.to_le_bytes());
        }
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.byte_len());
        self.write_to(&mut out);
        out
    }

    /// The SDDL two-letter alias for this SID, if it has one.
    ///
    /// Fixed SIDs (`BA`, `SY`, `WD`, ...) always resolve; domain-relative
    /// ones (`DA`, `DD`, `RO`, ...) only when `domain` is given and this SID
    /// is in it. The table and its precedence are Samba 4.17's, so our SDDL
    /// matches `security.descriptor.as_sddl()`.
    pub fn sddl_alias(&self, domain: Option<&Sid>) -> Option<&'static str> {
        let fixed = SDDL_ALIASES.iter().find_map(|(code, alias)| match alias {
            Alias::Fixed(sid) if sid == self => Some(*code),
            _ => None,
        });
        if fixed.is_some() {
            return fixed;
        }
        let domain = domain?;
        if !self.is_in_domain(domain) {
            return None;
        }
        let rid = self.rid()?;
        SDDL_ALIASES.iter().find_map(|(code, alias)| match alias {
            Alias::Rid(r) if *r == rid => Some(*code),
            _ => None,
        })
    }

    /// The SID an SDDL two-letter alias stands for.
    ///
    /// `Ok(None)` when `code` is not an alias at all; an error when it is a
    /// domain-relative alias and no domain SID was given.
    pub fn from_sddl_alias(code: &str, domain: Option<&Sid>) -> Result<Option<Sid>, String> {
        let Some((_, alias)) = SDDL_ALIASES.iter().find(|(c, _)| *c == code) else {
            return Ok(None);
        };
        match alias {
            Alias::Fixed(sid) => Ok(Some(*sid)),
            Alias::Rid(rid) => {
                let domain =
                    domain.ok_or_else(|| format!("SID alias {code} is domain-relative and needs the domain SID"))?;
                domain
                    .domain_relative(*rid)
                    .map(Some)
                    .ok_or_else(|| format!("domain SID {domain} has no room for the RID of {code}"))
            }
        }
    }

    /// The SDDL rendering: the alias when there is one, else `S-1-...`.
    pub fn to_sddl(&self, domain: Option<&Sid>) -> String {
        match self.sddl_alias(domain) {
            Some(code) => code.to_string(),
            None => self.to_string(),
        }
    }

    /// A human name for well-known SIDs (`"BUILTIN\\Administrators"`), and
    /// for domain-relative ones when `domain` is given (`"Domain Admins"`).
    pub fn well_known_name(&self, domain: Option<&Sid>) -> Option<&'static str> {
        if let Some((_, name)) = FIXED_NAMES.iter().find(|(sid, _)| sid == self) {
            return Some(name);
        }
        let domain = domain?;
        if !self.is_in_domain(domain) {
            return None;
        }
        let rid = self.rid()?;
        RID_NAMES.iter().find(|(r, _)| *r == rid).map(|(_, name)| *name)
    }
}

/// What an SDDL alias resolves to.
enum Alias {
    Fixed(Sid),
    /// A RID appended to the domain SID supplied by the caller.
    Rid(u32),
}

/// Samba 4.17's `sid_codes` table, in its order. Samba looks the fixed SIDs up
/// first and the RIDs only for SIDs inside the given domain; we do the same.
/// (Windows treats `RO`, `EA`, `SA`, `CA`, `PA`, `EK` as forest-root relative;
/// Samba, and therefore we, use the one domain SID given.)
const SDDL_ALIASES: &[(&str, Alias)] = &[
    ("WD", Alias::Fixed(Sid::EVERYONE)),
    ("CO", Alias::Fixed(Sid::CREATOR_OWNER)),
    ("CG", Alias::Fixed(Sid::CREATOR_GROUP)),
    ("OW", Alias::Fixed(wk(3, &[4]))),
    ("NU", Alias::Fixed(Sid::NETWORK)),
    ("IU", Alias::Fixed(Sid::INTERACTIVE)),
    ("SU", Alias::Fixed(wk(5, &[6]))),
    ("AN", Alias::Fixed(Sid::ANONYMOUS)),
    ("ED", Alias::Fixed(Sid::ENTERPRISE_DOMAIN_CONTROLLERS)),
    ("PS", Alias::Fixed(Sid::PRINCIPAL_SELF)),
    ("AU", Alias::Fixed(Sid::AUTHENTICATED_USERS)),
    ("RC", Alias::Fixed(wk(5, &[12]))),
    ("SY", Alias::Fixed(Sid::LOCAL_SYSTEM)),
    ("LS", Alias::Fixed(wk(5, &[19]))),
    ("NS", Alias::Fixed(wk(5, &[20]))),
    ("WR", Alias::Fixed(wk(5, &[33]))),
    ("BA", Alias::Fixed(Sid::BUILTIN_ADMINISTRATORS)),
    ("BU", Alias::Fixed(Sid::BUILTIN_USERS)),
    ("BG", Alias::Fixed(wk(5, &[32, 546]))),
    ("PU", Alias::Fixed(wk(5, &[32, 547]))),
    ("AO", Alias::Fixed(Sid::ACCOUNT_OPERATORS)),
    ("SO", Alias::Fixed(wk(5, &[32, 549]))),
    ("PO", Alias::Fixed(wk(5, &[32, 550]))),
    ("BO", Alias::Fixed(Sid::BACKUP_OPERATORS)),
    ("RE", Alias::Fixed(wk(5, &[32, 552]))),
    ("RU", Alias::Fixed(Sid::PRE_WINDOWS_2000_COMPATIBLE_ACCESS)),
    ("RD", Alias::Fixed(wk(5, &[32, 555]))),
    ("NO", Alias::Fixed(wk(5, &[32, 556]))),
    ("MU", Alias::Fixed(wk(5, &[32, 558]))),
    ("LU", Alias::Fixed(wk(5, &[32, 559]))),
    ("IS", Alias::Fixed(wk(5, &[32, 568]))),
    ("CY", Alias::Fixed(wk(5, &[32, 569]))),
    ("ER", Alias::Fixed(wk(5, &[32, 573]))),
    ("CD", Alias::Fixed(wk(5, &[32, 574]))),
    ("RA", Alias::Fixed(wk(5, &[32, 575]))),
    ("ES", Alias::Fixed(wk(5, &[32, 576]))),
    ("MS", Alias::Fixed(wk(5, &[32, 577]))),
    ("HA", Alias::Fixed(wk(5, &[32, 578]))),
    ("AA", Alias::Fixed(wk(5, &[32, 579]))),
    ("RM", Alias::Fixed(wk(5, &[32, 580]))),
    ("UD", Alias::Fixed(wk(5, &[84, 0, 0, 0, 0, 0]))),
    ("AC", Alias::Fixed(wk(15, &[2, 1]))),
    ("LW", Alias::Fixed(wk(16, &[4096]))),
    ("ME", Alias::Fixed(wk(16, &[8192]))),
    ("MP", Alias::Fixed(wk(16, &[8448]))),
    ("HI", Alias::Fixed(wk(16, &[12288]))),
    ("SI", Alias::Fixed(wk(16, &[16384]))),
    ("AS", Alias::Fixed(wk(18, &[1]))),
    ("SS", Alias::Fixed(wk(18, &[2]))),
    ("RO", Alias::Rid(rid::ENTERPRISE_READONLY_DOMAIN_CONTROLLERS)),
    ("LA", Alias::Rid(rid::ADMINISTRATOR)),
    ("LG", Alias::Rid(rid::GUEST)),
    ("DA", Alias::Rid(rid::DOMAIN_ADMINS)),
    ("DU", Alias::Rid(rid::DOMAIN_USERS)),
    ("DG", Alias::Rid(rid::DOMAIN_GUESTS)),
    ("DC", Alias::Rid(rid::DOMAIN_COMPUTERS)),
    ("DD", Alias::Rid(rid::DOMAIN_CONTROLLERS)),
    ("CA", Alias::Rid(rid::CERT_PUBLISHERS)),
    ("SA", Alias::Rid(rid::SCHEMA_ADMINS)),
    ("EA", Alias::Rid(rid::ENTERPRISE_ADMINS)),
    ("PA", Alias::Rid(rid::GROUP_POLICY_CREATOR_OWNERS)),
    ("CN", Alias::Rid(rid::CLONEABLE_CONTROLLERS)),
    ("AP", Alias::Rid(rid::PROTECTED_USERS)),
    ("KA", Alias::Rid(rid::KEY_ADMINS)),
    ("EK", Alias::Rid(rid::ENTERPRISE_KEY_ADMINS)),
    ("RS", Alias::Rid(rid::RAS_SERVERS)),
];

const FIXED_NAMES: &[(Sid, &str)] = &[
    (Sid::NULL, "NULL SID"),
    (Sid::EVERYONE, "Everyone"),
    (Sid::CREATOR_OWNER, "CREATOR OWNER"),
    (Sid::CREATOR_GROUP, "CREATOR GROUP"),
    (Sid::NETWORK, "NT AUTHORITY\\NETWORK"),
    (Sid::INTERACTIVE, "NT AUTHORITY\\INTERACTIVE"),
    (Sid::ANONYMOUS, "NT AUTHORITY\\ANONYMOUS LOGON"),
    (Sid::ENTERPRISE_DOMAIN_CONTROLLERS, "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS"),
    (Sid::PRINCIPAL_SELF, "NT AUTHORITY\\SELF"),
    (Sid::AUTHENTICATED_USERS, "NT AUTHORITY\\Authenticated Users"),
    (Sid::THIS_ORGANIZATION, "NT AUTHORITY\\This Organization"),
    (Sid::LOCAL_SYSTEM, "NT AUTHORITY\\SYSTEM"),
    (Sid::BUILTIN_ADMINISTRATORS, "BUILTIN\\Administrators"),
    (Sid::BUILTIN_USERS, "BUILTIN\\Users"),
    (Sid::ACCOUNT_OPERATORS, "BUILTIN\\Account Operators"),
    (Sid::BACKUP_OPERATORS, "BUILTIN\\Backup Operators"),
    (Sid::PRE_WINDOWS_2000_COMPATIBLE_ACCESS, "BUILTIN\\Pre-Windows 2000 Compatible Access"),
];

const RID_NAMES: &[(u32, &str)] = &[
    (rid::ENTERPRISE_READONLY_DOMAIN_CONTROLLERS, "Enterprise Read-only Domain Controllers"),
    (rid::ADMINISTRATOR, "Administrator"),
    (rid::GUEST, "Guest"),
    (rid::KRBTGT, "krbtgt"),
    (rid::DOMAIN_ADMINS, "Domain Admins"),
    (rid::DOMAIN_USERS, "Domain Users"),
    (rid::DOMAIN_GUESTS, "Domain Guests"),
    (rid::DOMAIN_COMPUTERS, "Domain Computers"),
    (rid::DOMAIN_CONTROLLERS, "Domain Controllers"),
    (rid::CERT_PUBLISHERS, "Cert Publishers"),
    (rid::SCHEMA_ADMINS, "Schema Admins"),
    (rid::ENTERPRISE_ADMINS, "Enterprise Admins"),
    (rid::GROUP_POLICY_CREATOR_OWNERS, "Group Policy Creator Owners"),
    (rid::READONLY_DOMAIN_CONTROLLERS, "Read-only Domain Controllers"),
    (rid::CLONEABLE_CONTROLLERS, "Cloneable Domain Controllers"),
    (rid::PROTECTED_USERS, "Protected Users"),
    (rid::KEY_ADMINS, "Key Admins"),
    (rid::ENTERPRISE_KEY_ADMINS, "Enterprise Key Admins"),
    (rid::RAS_SERVERS, "RAS and IAS Servers"),
];

/// `S-<revision>-<authority>-<sub>...`, formatted the way Samba's
/// `dom_sid_string` does: authorities from 0xFFFFFFFF up are printed as
/// lower-case hex (`0x...`), smaller ones in decimal.
impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let authority = self.authority();
        if authority >= u64::from(u32::MAX) {
            write!(f, "S-{}-0x{:x}", self.revision, authority)?;
        } else {
            write!(f, "S-{}-{}", self.revision, authority)?;
        }
        for sub in self.sub_authorities() {
            write!(f, "-{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({self})")
    }
}

/// Parses `S-1-5-21-...` (case-insensitive `S`). The authority may be decimal
/// or `0x` hex (Windows and Samba both print large authorities in hex); the
/// sub-authorities are decimal.
impl FromStr for Sid {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Sid, ParseError> {
        let err = |offset: usize, reason: String| ParseError::new("sid", offset, reason);
        let rest = s
            .strip_prefix("S-")
            .or_else(|| s.strip_prefix("s-"))
            .ok_or_else(|| err(0, format!("{s:?} does not start with S-")))?;
        let mut offset = 2;
        let mut fields = rest.split('-');
        let revision_text = fields.next().unwrap_or_default();
        let revision: u8 = Some(revision_text)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| err(offset, format!("bad SID revision {revision_text:?}")))?;
        offset += revision_text.len() + 1;
        let authority_text = fields.next().ok_or_else(|| err(offset, format!("{s:?} has no identifier authority")))?;
        let authority = match authority_text.strip_prefix("0x").or_else(|| authority_text.strip_prefix("0X")) {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u64::from_str_radix(hex, 16).ok()
            }
            Some(_) => None,
            None if authority_text.bytes().all(|b| b.is_ascii_digit()) => authority_text.parse().ok(),
            None => None,
        }
        .filter(|a| *a <= MAX_AUTHORITY)
        .ok_or_else(|| err(offset, format!("bad SID identifier authority {authority_text:?}")))?;
        offset += authority_text.len() + 1;
        let mut subs = Vec::new();
        for field in fields {
            // `u32::from_str` accepts a leading '+', which is not SID syntax.
            if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(offset, format!("bad SID sub-authority {field:?}")));
            }
            let sub: u32 = field.parse().map_err(|_| err(offset, format!("SID sub-authority {field} overflows")))?;
            subs.push(sub);
            offset += field.len() + 1;
        }
        Sid::new(revision, authority, &subs)
            .ok_or_else(|| err(0, format!("{s:?} has more than {MAX_SUB_AUTHORITIES} sub-authorities")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> Sid {
        s.parse().expect("test SID parses")
    }

    #[test]
    fn builtin_administrators_round_trips() {
        let ba = sid("S-1-5-32-544");
        assert_eq!(ba, Sid::BUILTIN_ADMINISTRATORS);
        let bytes = ba.to_bytes();
        assert_eq!(bytes, [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0]);
        assert_eq!(Sid::parse(&bytes), Ok((ba, 16)));
        assert_eq!(ba.to_string(), "S-1-5-32-544");
    }

    #[test]
    fn domain_sid_round_trips_and_relative_rids() {
        let domain = sid("S-1-5-21-738609754-2819869699-4189121830");
        assert_eq!(domain.to_string(), "S-1-5-21-738609754-2819869699-4189121830");
        let da = domain.domain_relative(rid::DOMAIN_ADMINS).expect("room");
        assert_eq!(da.to_string(), "S-1-5-21-738609754-2819869699-4189121830-512");
        assert_eq!(da.rid(), Some(512));
        assert_eq!(da.parent(), Some(domain));
        assert!(da.is_in_domain(&domain));
        assert!(!domain.is_in_domain(&domain));
        let bytes = da.to_bytes();
        assert_eq!(bytes.len(), 28);
        // Trailing bytes are not part of the SID.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[9, 9, 9]);
        assert_eq!(Sid::parse(&longer), Ok((da, 28)));
    }

    #[test]
    fn large_authorities_print_like_samba() {
        assert_eq!(Sid::new(1, 0xffff_fffe, &[21]).map(|s| s.to_string()), Some("S-1-4294967294-21".into()));
        assert_eq!(Sid::new(1, 0xffff_ffff, &[21]).map(|s| s.to_string()), Some("S-1-0xffffffff-21".into()));
        let big = Sid::new(1, 0xabcd_ef01_2345, &[]).expect("fits");
        assert_eq!(big.to_string(), "S-1-0xabcdef012345");
        assert_eq!(sid("S-1-0xABCDEF012345"), big);
        assert_eq!(sid("S-1-188900966474565"), big);
        assert!("S-1-0x1000000000000".parse::<Sid>().is_err());
    }

    #[test]
    fn bad_text_is_rejected() {
        for bad in ["", "S", "S-", "S-1", "S-x-5", "S-1-5-", "S-1-5--1", "S-1-5-+1", "X-1-5", "S-1-5-4294967296"] {
            assert!(bad.parse::<Sid>().is_err(), "{bad:?} should not parse");
        }
        let sixteen = format!("S-1-5{}", "-1".repeat(16));
        assert!(sixteen.parse::<Sid>().is_err());
        let fifteen = format!("S-1-5{}", "-1".repeat(15));
        assert_eq!(fifteen.parse::<Sid>().map(|s| s.sub_authorities().len()), Ok(15));
        assert_eq!("s-1-1-0".parse::<Sid>(), Ok(Sid::EVERYONE));
    }

    #[test]
    fn truncated_and_oversized_binary_is_an_error() {
        let bytes = Sid::BUILTIN_ADMINISTRATORS.to_bytes();
        for len in 0..bytes.len() {
            let e = Sid::parse(&bytes[..len]).expect_err("truncated");
            assert_eq!(e.part, "sid");
        }
        let e = Sid::parse(&[1, 16, 0, 0, 0, 0, 0, 5]).expect_err("16 subs");
        assert_eq!(e.offset, 1);
    }

    #[test]
    fn aliases_both_ways() {
        let domain = sid("S-1-5-21-1-2-3");
        assert_eq!(Sid::BUILTIN_ADMINISTRATORS.to_sddl(None), "BA");
        assert_eq!(Sid::LOCAL_SYSTEM.to_sddl(None), "SY");
        assert_eq!(Sid::AUTHENTICATED_USERS.to_sddl(None), "AU");
        assert_eq!(Sid::EVERYONE.to_sddl(None), "WD");
        assert_eq!(Sid::PRINCIPAL_SELF.to_sddl(None), "PS");
        assert_eq!(Sid::ENTERPRISE_DOMAIN_CONTROLLERS.to_sddl(None), "ED");
        let dd = domain.domain_relative(rid::DOMAIN_CONTROLLERS).expect("room");
        assert_eq!(dd.to_sddl(None), "S-1-5-21-1-2-3-516");
        assert_eq!(dd.to_sddl(Some(&domain)), "DD");
        let ro = domain.domain_relative(498).expect("room");
        assert_eq!(ro.to_sddl(Some(&domain)), "RO");
        // A SID of another domain keeps its numeric form.
        let other = sid("S-1-5-21-9-9-9-512");
        assert_eq!(other.to_sddl(Some(&domain)), "S-1-5-21-9-9-9-512");
        // -521 (Read-only Domain Controllers) has no alias.
        assert_eq!(domain.domain_relative(521).map(|s| s.to_sddl(Some(&domain))), Some("S-1-5-21-1-2-3-521".into()));
        for (code, _) in SDDL_ALIASES {
            let sid = Sid::from_sddl_alias(code, Some(&domain)).expect("resolves").expect("is an alias");
            assert_eq!(sid.to_sddl(Some(&domain)), *code);
        }
        assert_eq!(Sid::from_sddl_alias("EA", Some(&domain)), Ok(domain.domain_relative(519)));
        assert!(Sid::from_sddl_alias("DA", None).is_err());
        assert_eq!(Sid::from_sddl_alias("ZZ", None), Ok(None));
    }

    #[test]
    fn names() {
        let domain = sid("S-1-5-21-1-2-3");
        assert_eq!(Sid::BUILTIN_ADMINISTRATORS.well_known_name(None), Some("BUILTIN\\Administrators"));
        assert_eq!(
            domain.domain_relative(516).and_then(|s| s.well_known_name(Some(&domain))),
            Some("Domain Controllers")
        );
        assert_eq!(domain.domain_relative(1121).and_then(|s| s.well_known_name(Some(&domain))), None);
    }
}

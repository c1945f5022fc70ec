//! Windows security descriptors for phs-doctor: decode AD's
//! `nTSecurityDescriptor`, show it as SDDL, and decide who holds the
//! replication rights password hash synchronization depends on.
//!
//! # Why this exists
//!
//! Password hash synchronization reads hashes from each domain with the DRS
//! replication protocol, as the AD connector account. That only works if the
//! account (directly or through a group) holds both
//! **DS-Replication-Get-Changes** and **DS-Replication-Get-Changes-All** on
//! the domain root; otherwise the connector logs event 611 with
//! "Replication access was denied". The same two rights are what a DCSync
//! attack needs, so the list of everyone holding both is a security finding
//! too. Answering either question means reading the binary descriptor and
//! evaluating its DACL the way a domain controller would; no existing crate
//! does the evaluation, and the format (MS-DTYP 2.4) is small, so it is
//! written here from the specification, with no dependencies.
//!
//! # Map
//!
//! * [`sid`] has [`Sid`], well-known SIDs, domain RIDs and SDDL aliases.
//! * [`guid`] has [`Guid`] in wire order and the extended-right GUIDs.
//! * [`ace`] has [`Ace`], [`AceType`], [`AceFlags`] and the access-[`mask`] bits.
//! * [`acl`] has [`Acl`].
//! * [`descriptor`] has [`SecurityDescriptor`] (self-relative binary form).
//! * [`sddl`] renders SDDL identical to Samba 4.17's `as_sddl()`, and parses it.
//! * [`access`] answers [`check_control_access`], [`check_replication_rights`],
//!   [`principals_with_right`] and [`replication_principals`].
//!
//! ```
//! use phs_secdesc::{SecurityDescriptor, Sid, Token};
//!
//! let domain: Sid = "S-1-5-21-1-2-3".parse()?;
//! let sd = SecurityDescriptor::from_sddl(
//!     "O:BAG:BAD:AI(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;S-1-5-21-1-2-3-1121)\
//!      (OA;;CR;1131f6ad-9c07-11d1-f79f-00c04fc2dcd2;;S-1-5-21-1-2-3-1121)",
//!     Some(&domain),
//! )?;
//! // What an LDAP read of nTSecurityDescriptor returns:
//! let raw = sd.to_bytes()?;
//! let sd = SecurityDescriptor::parse(&raw)?;
//! let account = domain.domain_relative(1121).ok_or("no room")?;
//! let access = sd.check_replication_rights(&Token::new(account, []));
//! assert!(access.granted());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod access;
pub mod ace;
pub mod acl;
pub mod descriptor;
mod error;
pub mod guid;
pub mod sddl;
pub mod sid;

pub use access::{
    check_control_access, check_control_access_in_class, check_replication_rights, deciding_trustees, members_are_read,
    principals_with_right, replication_deciding_trustees, replication_denies_outside, replication_principals,
    AccessDecision, AceRef, Reason, ReplicationAccess, ReplicationHolder, Token, REPLICATION_RIGHTS,
};
pub use ace::{mask, Ace, AceFlags, AceType};
pub use acl::{Acl, ACL_REVISION, ACL_REVISION_DS};
pub use descriptor::{control, SecurityDescriptor};
pub use error::{EncodeError, ParseError};
pub use guid::{ExtendedRight, Guid};
pub use sid::{rid, Sid};

//! Sources: each reads one kind of evidence and reports facts, or an error that
//! names the file and the element or offset. None of them judges anything.
//!
//! - [`export`]: the `Get-ADSyncServerConfiguration` folder.
//! - [`cmdlets`]: ADSync cmdlet output saved with `ConvertTo-Json`.
//! - [`sync_engine`]: one user's connector space and metaverse objects and password sync log (cmdlet JSON).
//! - [`events`]: the Application event log, from .evtx or event XML.
//! - [`ad`]: Active Directory itself, live (DNS, TCP, LDAP, RPC).
//! - [`graph`]: the tenant, through Microsoft Graph.
//!
//! Every evidence file is opened through [`evidence_file`]: regular files
//! only, never blocking, within a size cap.

pub mod ad;
pub mod cmdlets;
pub mod events;
pub mod evidence_file;
pub mod export;
pub mod graph;
pub mod secret;
pub mod sync_engine;
pub mod text;
pub mod wording;

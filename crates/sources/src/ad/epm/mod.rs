//! The RPC path password hash sync itself takes to a DC: the sync engine asks
//! the DC's RPC endpoint mapper (TCP 135) where DRSUAPI (directory
//! replication, `IDL_DRSGetNCChanges`) listens, then connects to that dynamic
//! port. A firewall that opens 135 but not the dynamic range, or the reverse,
//! breaks password sync while LDAP keeps working, so both legs are probed.
//!
//! Written from the DCE 1.1 RPC specification (C706, connection-oriented
//! protocol, chapter 12; NDR, chapter 14; endpoint mapper, appendix L and
//! `ept.idl`) and MS-RPCE (little-endian data representation, `ept_map` over
//! ncacn_ip_tcp). No authentication is used: the endpoint mapper answers
//! anonymous callers, and a DRSUAPI BIND without credentials is enough to
//! prove the interface is served on the port (credentials matter only for the
//! DRSBind call, which this probe does not make).
//!
//! Everything read from the network is parsed with bounds checks; a hostile or
//! broken server yields an error naming the byte offset, never a panic. Every
//! connect, write and read runs under the caller's timeout.

mod probe;
#[cfg(test)]
mod tests;
mod wire;

pub use probe::{probe_drsuapi, replay_server_bytes, EPM_PORT};
pub use wire::EPT_S_NOT_REGISTERED;

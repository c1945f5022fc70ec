//! What phs-doctor knows about the password hash sync agent, kept as data:
//! its event IDs, and the error signatures inside its events with the cause
//! and fix each one means. Tests pair real message texts with classes.
//! Also the lifecycle of Entra Connect Sync builds (`server_versions`, read
//! from `crates/rules/data/server-versions.toml`).

pub mod bind_codes;
pub mod cloud_errors;
pub mod event_ids;
pub mod password_log;
pub mod server_versions;
pub mod signature;
pub mod single_password_sync;
pub mod sync_errors;

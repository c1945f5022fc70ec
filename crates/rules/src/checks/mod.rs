//! One module per rule: its registry entry, its documentation and its check.

pub mod agent;
pub mod agent_errors;
pub mod cloud_errors;
pub mod connector;
pub mod credentials;
pub mod domain_acl;
pub mod domain_errors;
pub(crate) mod effective_rights;
pub mod exposure;
pub mod heartbeat;
pub mod reachability;
pub mod replication_rights;
pub mod server_version;
pub mod staging;
pub mod tenant;
pub mod tenant_sync;
pub mod user;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod snapshots;

//! The checks of `phs-doctor user IDENTITY`: one user's password across AD,
//! the sync engine and the tenant, in the order of Microsoft's "does NOT
//! work for a specific user account" troubleshooter. They run only when the
//! snapshot holds a user ([`crate::needs`]); every one judges through
//! [`view::UserView`], and what a check needs from another source is
//! worded once, in [`requires`].

pub mod account_state;
pub mod ad_object;
pub mod anchor;
pub mod cloud_object;
pub mod connector_space;
pub(crate) mod events;
pub mod exported;
pub mod last_attempt;
pub mod password_arrived;
pub mod requires;
pub mod sync_rules;
pub mod sync_scope;
pub mod temporary_password;
pub(crate) mod view;

#[cfg(test)]
pub(crate) mod fixtures;

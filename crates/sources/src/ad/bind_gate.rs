//! One credential, one refusal per run. The connector account is the same
//! user and password for every domain of its connector; once a DC refused it
//! with result 49 (invalid credentials), binding it in the next domain would
//! only add a bad-password count on the account (and lock it sooner) without
//! telling anything new. The domains of a connector run in parallel, so the
//! binds of one credential go one at a time through its gate.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

/// Where the credential was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The domain whose DC refused the bind.
    pub domain: String,
    /// `host (address)` of that DC.
    pub dc: String,
}

/// The gate of one credential: held across a bind, remembers a refusal.
#[derive(Debug, Clone, Default)]
pub struct BindGate(Arc<Mutex<Option<Refusal>>>);

impl BindGate {
    /// A gate of its own (a credential used in one domain only).
    pub fn new() -> BindGate {
        BindGate::default()
    }

    /// The refusal recorded so far, without waiting for a bind in progress.
    pub async fn refusal(&self) -> Option<Refusal> {
        self.0.lock().await.clone()
    }

    /// Hold the gate for one bind.
    pub(crate) async fn hold(&self) -> tokio::sync::MutexGuard<'_, Option<Refusal>> {
        self.0.lock().await
    }
}

/// The gates of a run, one per connector and identity (case-insensitive, as
/// Active Directory compares account names): same connector, same password.
#[derive(Debug, Default)]
pub struct BindGates(HashMap<(String, String), BindGate>);

impl BindGates {
    pub fn gate(&mut self, connector: &str, identity: &str) -> BindGate {
        self.0.entry((connector.to_string(), identity.trim().to_lowercase())).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_gate_per_connector_and_identity() {
        let mut gates = BindGates::default();
        let a = gates.gate("lab1", "LAB1\\svc-direct");
        let same = gates.gate("lab1", "lab1\\SVC-DIRECT");
        let other_connector = gates.gate("lab2", "LAB1\\svc-direct");
        *a.hold().await = Some(Refusal { domain: "lab1.example.test".into(), dc: "dc1".into() });
        assert_eq!(same.refusal().await.map(|r| r.domain).as_deref(), Some("lab1.example.test"));
        assert_eq!(other_connector.refusal().await, None);
    }
}

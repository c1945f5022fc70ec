//! Event IDs of the `Directory Synchronization` source that the password hash
//! sync agent writes to the Application log (Microsoft's PHS troubleshooting
//! documentation lists them; meanings paraphrased).

/// End of a heartbeat ("Provision credentials ping end"): written about every
/// 30 minutes when there is nothing to sync.
pub const HEARTBEAT: u32 = 654;
/// A domain could not be synchronised; the text carries the .NET exception.
pub const DOMAIN_SYNC_FAILED: u32 = 611;
/// Cloud calls that failed: a credential batch (652) or a heartbeat (655).
pub const CLOUD_FAILURES: &[u32] = &[652, 655];
/// Passwords actually moving: batch start/end, change request/result.
pub const PASSWORD_ACTIVITY: &[u32] = &[650, 651, 656, 657];

/// What an agent lifecycle event says about whether the agent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Started,
    Stopped,
    FailedToStart,
    Crashed,
    PausedForFullSync,
}

/// Lifecycle events, by ID.
pub const LIFECYCLE: &[(u32, AgentState, &str)] = &[
    (601, AgentState::Started, "password hash sync manager starting"),
    (602, AgentState::Stopped, "password hash sync stopping"),
    (607, AgentState::FailedToStart, "password hash sync could not start"),
    (609, AgentState::Stopped, "password hash sync stopped"),
    (610, AgentState::Stopped, "password hash sync could not be stopped cleanly"),
    (613, AgentState::PausedForFullSync, "paused until a full directory synchronization completes"),
    (615, AgentState::Crashed, "a password hash sync worker thread stopped on an exception"),
];

/// Events that only a running agent writes: any of them after a lifecycle
/// event shows the agent went on working.
pub const AGENT_ACTIVITY: &[u32] =
    &[611, 616, 617, 618, 619, 620, 621, 622, 623, 650, 651, 652, 653, 654, 655, 656, 657, 660, 661, 662, 663];

pub fn lifecycle(id: u32) -> Option<(AgentState, &'static str)> {
    LIFECYCLE.iter().find(|(i, _, _)| *i == id).map(|(_, s, d)| (*s, *d))
}

/// Every lifecycle ID, for event queries.
pub const LIFECYCLE_IDS: &[u32] = &[601, 602, 607, 609, 610, 613, 615];

//! Event IDs of the `Directory Synchronization` source that the password hash
//! sync agent writes to the Application log: one table of every ID
//! Microsoft's PHS troubleshooting documentation lists (meanings
//! paraphrased), each either read by named rules or deliberately
//! informational with the reason. The ID groups the rules query are below
//! the table; [`READS`] declares which groups each rule reads, and a test
//! holds the table and the declarations to each other.

/// What phs-doctor does with an event ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Read by these rules.
    Judged(&'static [&'static str]),
    /// Read by no rule, on purpose: why.
    Informational(&'static str),
}

pub struct EventIdInfo {
    pub id: u32,
    pub meaning: &'static str,
    pub role: Role,
}

const fn judged(id: u32, meaning: &'static str, rules: &'static [&'static str]) -> EventIdInfo {
    EventIdInfo { id, meaning, role: Role::Judged(rules) }
}

const fn info(id: u32, meaning: &'static str, why: &'static str) -> EventIdInfo {
    EventIdInfo { id, meaning, role: Role::Informational(why) }
}

pub const TABLE: &[EventIdInfo] = &[
    judged(
        0,
        "legacy builds: password changes failed and were scheduled for retry, or the cloud credentials were refused",
        &["PHS009"],
    ),
    judged(115, "legacy builds: access to Entra ID was denied", &["PHS009"]),
    judged(601, "password hash sync manager starting", &["PHS004", "PHS010"]),
    judged(602, "password hash sync stopping", &["PHS004", "PHS010"]),
    judged(603, "unexpected error in the agent", &["PHS016"]),
    judged(604, "a password hash sync task failed", &["PHS016"]),
    info(
        605,
        "objects added to the retry queue",
        "per-user retries: the agent retries them by itself; they matter to one user's diagnosis, not to the channel",
    ),
    info(606, "objects removed from the retry queue", "per-user retries, as for 605: the agent handles them itself"),
    judged(607, "password hash sync could not start", &["PHS004", "PHS010"]),
    judged(609, "password hash sync stopped", &["PHS004", "PHS010"]),
    judged(610, "password hash sync could not be stopped cleanly", &["PHS004", "PHS010"]),
    judged(611, "password synchronization failed for a domain", &["PHS008", "PHS010"]),
    judged(612, "a synchronization context could not be initialised", &["PHS016"]),
    judged(613, "paused until a full directory synchronization completes", &["PHS004", "PHS010"]),
    info(
        614,
        "start was called while the agent was not shut down",
        "a restart race the agent recovers from; a channel that then does not run shows in PHS010",
    ),
    judged(615, "a password hash sync worker thread stopped on an exception", &["PHS004", "PHS010"]),
    judged(616, "the connection to a preferred domain controller failed", &["PHS008", "PHS010"]),
    info(
        617,
        "full password hash sync started for a forest",
        "progress of a full sync that an administrator triggered",
    ),
    info(
        618,
        "full password hash sync started for a domain",
        "progress of a full sync, like 617: it succeeds or ends in 621",
    ),
    info(
        619,
        "full password hash sync progress for a domain",
        "progress of a full sync, like 617: it succeeds or ends in 621",
    ),
    info(
        620,
        "objects that will not be retried were reported",
        "per-user results: they belong to one user's diagnosis",
    ),
    judged(621, "a full password hash sync attempt failed", &["PHS016"]),
    info(
        622,
        "full password hash sync completed for a domain",
        "progress of a full sync, like 617: it succeeds or ends in 621",
    ),
    info(
        623,
        "full password hash sync completed for a forest",
        "progress of a full sync, like 617: it succeeds or ends in 621",
    ),
    judged(650, "a credential batch started", &["PHS004", "PHS010"]),
    judged(651, "a credential batch ended", &["PHS004", "PHS010"]),
    judged(652, "a credential batch failed in the cloud", &["PHS009", "PHS010"]),
    info(653, "a heartbeat started", "only its end (654) shows the heartbeat reached Entra ID"),
    judged(654, "a heartbeat ended: the channel reached Entra ID", &["PHS004", "PHS008", "PHS010"]),
    judged(655, "a heartbeat failed in the cloud", &["PHS009", "PHS010"]),
    judged(656, "password change request for one or more users", &["PHS004", "PHS010"]),
    judged(657, "password change result for one or more users", &["PHS004", "PHS010"]),
    info(
        658,
        "Entra Domain Services credentials sync",
        "concerns Entra Domain Services, not sign-in with the synced hash",
    ),
    info(659, "password policy sync", "no failure of the channel is in it"),
    info(
        660,
        "self-healing of the tenant password sync feature started",
        "the tenant feature itself is judged by PHS001",
    ),
    info(
        661,
        "self-healing of the tenant password sync feature ended",
        "the tenant feature itself is judged by PHS001",
    ),
    judged(662, "the password hash sync health task failed during a heartbeat", &["PHS016"]),
    judged(663, "the manager is alive and running", &["PHS010"]),
    info(
        664,
        "a single-object password sync failed",
        "the result of an administrator's one-user sync; it belongs to one user's diagnosis",
    ),
    judged(665, "storing a domain's cycle state failed", &["PHS016"]),
    judged(666, "a domain's password sync failed on a SQL deadlock", &["PHS016"]),
    judged(667, "the MD5 decryption key could not be generated (FIPS policy)", &["PHS016"]),
    info(668, "objects in a batch whose only change was pwdLastSet", "a count of normal work"),
    info(
        6900,
        "legacy FIM/DirSync: a password change notification could not be handled",
        "written by the legacy password change notification service, not by Entra Connect",
    ),
];

/// The meaning of an ID, when it is one of the agent's.
pub fn meaning(id: u32) -> Option<&'static str> {
    TABLE.iter().find(|e| e.id == id).map(|e| e.meaning)
}

/// End of a heartbeat ("Provision credentials ping end"): written about every
/// 30 minutes per partition when there is nothing to sync.
pub const HEARTBEAT: u32 = 654;
/// A domain could not be synchronised; the text carries the .NET exception.
pub const DOMAIN_SYNC_FAILED: u32 = 611;
/// The preferred DC of a domain could not be reached (a warning before 611).
pub const PREFERRED_DC_FAILED: u32 = 616;
/// Cloud calls that failed: a credential batch (652), a heartbeat (655), and
/// the legacy builds' failures (0, 115).
pub const CLOUD_FAILURES: &[u32] = &[0, 115, 652, 655];
/// Passwords actually moving: batch start/end, change request/result.
pub const PASSWORD_ACTIVITY: &[u32] = &[650, 651, 656, 657];
/// The agent's own errors that name no domain.
pub const AGENT_ERRORS: &[u32] = &[603, 604, 612, 621, 662, 665, 666, 667];
/// The MD5 key generation failure: FIPS blocks password hash sync entirely.
pub const MD5_KEY_FAILED: u32 = 667;
/// The health task failing during a heartbeat.
pub const HEALTH_TASK_FAILED: u32 = 662;
/// The manager's "alive and running": says nothing of any channel.
pub const MANAGER_ALIVE: u32 = 663;

/// The agent asks each domain for changed hashes every two minutes (not
/// configurable), so a domain that fails every attempt logs a 611 this often.
pub const AGENT_CYCLE: jiff::SignedDuration = jiff::SignedDuration::from_mins(2);

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
pub const LIFECYCLE: &[(u32, AgentState)] = &[
    (601, AgentState::Started),
    (602, AgentState::Stopped),
    (607, AgentState::FailedToStart),
    (609, AgentState::Stopped),
    (610, AgentState::Stopped),
    (613, AgentState::PausedForFullSync),
    (615, AgentState::Crashed),
];

/// Every lifecycle ID, for event queries.
pub const LIFECYCLE_IDS: &[u32] = &[601, 602, 607, 609, 610, 613, 615];

/// Events only a running channel writes: any of them after a lifecycle
/// event shows the channel went on working.
pub const CHANNEL_ACTIVITY: &[u32] = &[611, 616, 650, 651, 652, 654, 655, 656, 657];

/// Events only a running agent writes, for a log read without the export
/// (no channel can be named): the channel's, plus the manager's "alive".
pub const AGENT_ACTIVITY: &[u32] = &[611, 616, 650, 651, 652, 654, 655, 656, 657, 663];

pub fn lifecycle(id: u32) -> Option<(AgentState, &'static str)> {
    let state = LIFECYCLE.iter().find(|(i, _)| *i == id).map(|(_, s)| *s)?;
    Some((state, meaning(id)?))
}

/// Which ID groups each rule reads: what the table's `Judged` entries must
/// match, so an ID cannot be read without being listed or listed without
/// being read.
pub const READS: &[(&str, &[&[u32]])] = &[
    ("PHS004", &[&[HEARTBEAT], PASSWORD_ACTIVITY, LIFECYCLE_IDS]),
    ("PHS008", &[&[DOMAIN_SYNC_FAILED, PREFERRED_DC_FAILED, HEARTBEAT]]),
    ("PHS009", &[CLOUD_FAILURES]),
    ("PHS010", &[LIFECYCLE_IDS, CHANNEL_ACTIVITY, AGENT_ACTIVITY]),
    ("PHS016", &[AGENT_ERRORS, &[MD5_KEY_FAILED, HEALTH_TASK_FAILED]]),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The IDs of the PHS event table in Microsoft's troubleshooting
    /// documentation (phs-spec.md §3.1), copied here so the test does not
    /// depend on a file outside the repository.
    const DOCUMENTED: &[u32] = &[
        0, 115, 601, 602, 603, 604, 605, 606, 607, 609, 610, 611, 612, 613, 614, 615, 616, 617, 618, 619, 620, 621,
        622, 623, 650, 651, 652, 653, 654, 655, 656, 657, 658, 659, 660, 661, 662, 663, 664, 665, 666, 667, 668, 6900,
    ];

    #[test]
    fn every_documented_id_is_judged_or_informational_with_a_reason() {
        for id in DOCUMENTED {
            let entry = TABLE.iter().find(|e| e.id == *id).unwrap_or_else(|| panic!("event {id} is not in the table"));
            match entry.role {
                Role::Judged(rules) => assert!(!rules.is_empty(), "{id}"),
                Role::Informational(why) => assert!(why.len() > 10, "{id} needs a reason"),
            }
        }
        let mut ids: Vec<u32> = TABLE.iter().map(|e| e.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "an ID is listed twice");
    }

    #[test]
    fn the_table_says_exactly_which_rules_read_each_id() {
        for entry in TABLE {
            let mut readers: Vec<&str> = READS
                .iter()
                .filter(|(_, groups)| groups.iter().any(|g| g.contains(&entry.id)))
                .map(|(code, _)| *code)
                .collect();
            readers.sort();
            let mut listed: Vec<&str> = match entry.role {
                Role::Judged(rules) => rules.to_vec(),
                Role::Informational(_) => vec![],
            };
            listed.sort();
            assert_eq!(readers, listed, "event {}: rules that read it vs the table", entry.id);
        }
        for (code, groups) in READS {
            assert!(crate::registry::rule(code).is_some(), "{code} is not a registered rule");
            for id in groups.iter().flat_map(|g| g.iter()) {
                assert!(TABLE.iter().any(|e| e.id == *id), "{code} reads {id}, which is not in the table");
            }
        }
    }

    #[test]
    fn lifecycle_ids_are_the_lifecycle_table() {
        let ids: Vec<u32> = LIFECYCLE.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, LIFECYCLE_IDS);
        assert!(LIFECYCLE_IDS.iter().all(|id| lifecycle(*id).is_some()));
    }
}

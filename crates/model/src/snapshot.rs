//! The snapshot: every fact collected, plus what could not be collected and why.
//! It never holds a secret.
//!
//! It also declares the evidence files an analyst can hand over
//! ([`EVIDENCE_INPUTS`]), next to the [`ServerEvidence`] fields they fill:
//! the command-line flags, the config file's `[server]` keys and the
//! collection loop are all derived from that one table, so a new evidence
//! file is one row, one field and its reader. A table of plain data was
//! chosen over a macro that would generate the fields: the struct stays
//! readable as it is serialised, and the table is checked against the
//! collection loop by the CLI's tests.

use crate::{AdEvidence, CompanyFeatures, EventLog, PartitionSyncState, SchedulerState, ServerConfig};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Bumped whenever a field changes meaning or a required field is added.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    /// phs-doctor version that collected it.
    pub tool_version: String,
    /// When the facts were collected; the default evaluation time of `diagnose --snapshot`.
    pub collected_at: Timestamp,
    pub server: ServerEvidence,
    /// The tenant as Microsoft Graph reports it, when the Graph checks ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<crate::TenantFacts>,
    /// Live Active Directory facts, when the AD checks ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad: Option<AdEvidence>,
    /// One user's facts from the live sources (`phs-doctor user`, `collect --user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<crate::UserEvidence>,
    /// Sources that were asked for and failed, with the cause.
    pub problems: Vec<CollectionProblem>,
}

/// The sync server's own evidence. Each part is `None` when it was not supplied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServerEvidence {
    pub config: Option<ServerConfig>,
    pub scheduler: Option<SchedulerState>,
    pub company_features: Option<CompanyFeatures>,
    pub partition_sync_state: Option<Vec<PartitionSyncState>>,
    pub events: Option<EventLog>,
    /// `Get-ADSyncCSObject` output: connector space objects (AD and Entra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cs_objects: Option<Vec<crate::CsObject>>,
    /// `Get-ADSyncMVObject` output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mv_objects: Option<Vec<crate::MvObject>>,
    /// `Get-ADSyncCSObjectLog` output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cs_object_logs: Option<Vec<crate::CsObjectLog>>,
    /// When the evidence was gathered on the server (`[server] gathered_at`):
    /// what its point-in-time facts (the partition sync state) describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gathered_at: Option<Timestamp>,
}

impl ServerEvidence {
    /// Whether the field of evidence kind `kind` holds facts (false for the
    /// live sources, which are not server evidence).
    pub fn has(&self, kind: SourceKind) -> bool {
        match kind {
            SourceKind::ServerConfig => self.config.is_some(),
            SourceKind::Scheduler => self.scheduler.is_some(),
            SourceKind::CompanyFeatures => self.company_features.is_some(),
            SourceKind::PartitionSyncState => self.partition_sync_state.is_some(),
            SourceKind::Events => self.events.is_some(),
            SourceKind::CsObject => self.cs_objects.is_some(),
            SourceKind::MvObject => self.mv_objects.is_some(),
            SourceKind::CsObjectLog => self.cs_object_logs.is_some(),
            SourceKind::ActiveDirectory | SourceKind::Graph => false,
        }
    }
}

/// Which source the problem belongs to, so a rule can say "could not evaluate"
/// instead of "evidence not supplied".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    ServerConfig,
    Scheduler,
    CompanyFeatures,
    PartitionSyncState,
    Events,
    CsObject,
    MvObject,
    CsObjectLog,
    ActiveDirectory,
    Graph,
}

/// One kind of evidence file from the sync server: how the analyst names it
/// and where its facts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceInput {
    /// The kind, also the source its reading problems are filed under.
    pub source: SourceKind,
    /// Command-line flag, without the leading dashes.
    pub flag: &'static str,
    /// Key of the config file's `[server]` section.
    pub config_key: &'static str,
    /// Placeholder in the flag's help (`FILE`, `DIR`).
    pub value_name: &'static str,
    /// More than one file: the flag repeats and the key takes a list.
    pub repeatable: bool,
    /// What the analyst passes, for `--help` (no final period, as clap shows doc comments).
    pub help: &'static str,
}

/// Every evidence file phs-doctor reads from the sync server, in the order
/// of `--help`. Each row fills one field of [`ServerEvidence`].
pub const EVIDENCE_INPUTS: &[EvidenceInput] = &[
    EvidenceInput {
        source: SourceKind::ServerConfig,
        flag: "server-config",
        config_key: "config_dir",
        value_name: "DIR",
        repeatable: false,
        help: "Folder written by Get-ADSyncServerConfiguration -Path",
    },
    EvidenceInput {
        source: SourceKind::Events,
        flag: "events",
        config_key: "events",
        value_name: "FILE",
        repeatable: true,
        help: "Application event log: .evtx, or event XML (wevtutil qe /f:xml, Get-WinEvent ToXml). Repeatable",
    },
    EvidenceInput {
        source: SourceKind::Scheduler,
        flag: "scheduler",
        config_key: "scheduler",
        value_name: "FILE",
        repeatable: false,
        help: "Get-ADSyncScheduler | ConvertTo-Json output",
    },
    EvidenceInput {
        source: SourceKind::CompanyFeatures,
        flag: "company-features",
        config_key: "company_features",
        value_name: "FILE",
        repeatable: false,
        help: "Get-ADSyncAADCompanyFeature | ConvertTo-Json output",
    },
    EvidenceInput {
        source: SourceKind::PartitionSyncState,
        flag: "partition-sync-state",
        config_key: "partition_sync_state",
        value_name: "FILE",
        repeatable: false,
        help: "Get-ADSyncPartitionPasswordSyncState | ConvertTo-Json output",
    },
    EvidenceInput {
        source: SourceKind::CsObject,
        flag: "cs-object",
        config_key: "cs_objects",
        value_name: "FILE",
        repeatable: true,
        help: "One user: Get-ADSyncCSObject -ConnectorName C -DistinguishedName DN | ConvertTo-Json -Depth 6 output, for the AD and the Entra connector. Repeatable",
    },
    EvidenceInput {
        source: SourceKind::MvObject,
        flag: "mv-object",
        config_key: "mv_objects",
        value_name: "FILE",
        repeatable: true,
        help: "One user: Get-ADSyncMVObject -Identifier ID | ConvertTo-Json -Depth 6 output. Repeatable",
    },
    EvidenceInput {
        source: SourceKind::CsObjectLog,
        flag: "cs-object-log",
        config_key: "cs_object_logs",
        value_name: "FILE",
        repeatable: true,
        help: "One user: Get-ADSyncCSObjectLog -Identifier ID -Count 10 | ConvertTo-Json -Depth 6 output. Repeatable",
    },
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionProblem {
    pub source: SourceKind,
    /// The file (or endpoint) involved.
    pub location: String,
    /// What went wrong, naming the element or offset where it can.
    pub error: String,
    /// True when part of the source was still read (e.g. one bad connector
    /// file among good ones); the rest of the facts are present.
    pub partial: bool,
}

impl CollectionProblem {
    /// A source that could not be read at all (`partial` false).
    pub fn whole(source: SourceKind, location: impl Into<String>, error: impl Into<String>) -> CollectionProblem {
        CollectionProblem { source, location: location.into(), error: error.into(), partial: false }
    }
}

impl Snapshot {
    pub fn new(collected_at: Timestamp) -> Snapshot {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            collected_at,
            server: ServerEvidence::default(),
            tenant: None,
            ad: None,
            user: None,
            problems: Vec::new(),
        }
    }

    pub fn problems_for(&self, source: SourceKind) -> impl Iterator<Item = &CollectionProblem> {
        self.problems.iter().filter(move |p| p.source == source)
    }
}

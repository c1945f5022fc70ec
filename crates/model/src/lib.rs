//! The data that joins phs-doctor's stages.
//!
//! Sources collect facts into a [`Snapshot`]; rules read a snapshot and emit
//! [`Finding`]s; renderers present findings. Everything here is plain serde
//! data: no I/O, no clock, no formatting for one output only.
//!
//! Concepts several crates need have their one home here: a partition's
//! domain name ([`Partition::domain_name`], from the export or its DN via
//! [`dn_to_fqdn`]), account names ([`AccountName`]: `DOMAIN\user`, UPN,
//! bare), durations in words ([`words`]), GUIDs in text form ([`Guid`]; the
//! 16-byte wire form of ACEs and RPC interfaces is `phs_secdesc::Guid`, and
//! the two meet through the text form) and why a network exchange failed
//! ([`NetFailure`]). The event ID table is knowledge, so it lives with the
//! rules (`phs_rules::knowledge::event_ids`).

pub mod ad;
pub mod audit;
pub mod cmdlets;
pub mod events;
pub mod export;
pub mod finding;
pub mod graph;
pub mod guid;
pub mod names;
pub mod net;
pub mod snapshot;
pub mod sync_engine;
pub mod user;
pub mod version;
pub mod words;

pub use ad::{
    AccountFacts, AccountToken, AdEvidence, BindFacts, DcFacts, DcLocator, DcSkip, DomainFacts, LdapFacts, LdapPing,
    MemberFacts, PortProbe, RightsTrustees, RootDse, RpcProbe, TrusteeFacts,
};
pub use cmdlets::{CompanyFeatures, CycleStatus, PartitionSyncState, SchedulerState};
pub use events::{Event, EventLog, EventSourceSummary, Span, WindowCoverage, COVERAGE_SLACK};
pub use export::{
    AdConnector, Connector, ConnectorKind, EntraConnector, Partition, PhsChannel, ServerConfig, SyncRule,
};
pub use finding::{Evidence, Finding, Remediation, Scope, ScopeKind, Status};
pub use graph::{OnPremisesSync, Organization, TenantFacts};
pub use guid::Guid;
pub use names::{dn_to_fqdn, AccountName};
pub use net::NetFailure;
pub use snapshot::{
    CollectionProblem, EvidenceInput, ServerEvidence, Snapshot, SourceKind, EVIDENCE_INPUTS, SCHEMA_VERSION,
};
pub use sync_engine::{CsLineage, CsLogEntry, CsObject, CsObjectLog, MvLineage, MvObject, SyncEngineError};
pub use user::{
    AdUser, AdUserLookup, CloudUser, CloudUserLookup, DomainSearch, IdentityKind, ProvisioningError, SourceAnchor,
    UserEvidence, UserQuery,
};
pub use version::{ParseVersionError, ProductVersion};
pub use words::{human_age, human_duration, human_std_duration};

/// The evaluation time and every other instant in the model.
pub use jiff::Timestamp;

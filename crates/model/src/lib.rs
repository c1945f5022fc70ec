//! The data that joins phs-doctor's stages.
//!
//! Sources collect facts into a [`Snapshot`]; rules read a snapshot and emit
//! [`Finding`]s; renderers present findings. Everything here is plain serde
//! data: no I/O, no clock, no formatting for one output only.

pub mod ad;
pub mod cmdlets;
pub mod events;
pub mod export;
pub mod finding;
pub mod graph;
pub mod guid;
pub mod names;
pub mod net;
pub mod snapshot;
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
pub use snapshot::{CollectionProblem, ServerEvidence, Snapshot, SourceKind, SCHEMA_VERSION};
pub use version::{ParseVersionError, ProductVersion};
pub use words::{human_age, human_duration, human_std_duration};

/// The evaluation time and every other instant in the model.
pub use jiff::Timestamp;

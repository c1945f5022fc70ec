//! The Application event log, normalised from .evtx and the XML renderings.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The provider that writes every password hash sync event.
pub const PHS_PROVIDER: &str = "Directory Synchronization";

/// One event, whatever file format it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub provider: String,
    pub event_id: u32,
    pub qualifiers: Option<u16>,
    pub level: Option<u8>,
    pub time: Timestamp,
    pub record_id: Option<u64>,
    pub computer: Option<String>,
    /// The unnamed `<Data>` insertion strings, in order. For the Directory
    /// Synchronization source the first one is the whole message.
    pub data: Vec<String>,
    /// The rendered message, when the export carried `RenderingInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Event {
    /// The text rules search in: the rendered message when present, else the
    /// insertion strings joined by new lines.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match &self.message {
            Some(m) => m.as_str().into(),
            None if self.data.len() == 1 => self.data[0].as_str().into(),
            None => self.data.join("\n").into(),
        }
    }

    pub fn is_phs_provider(&self) -> bool {
        self.provider.eq_ignore_ascii_case(PHS_PROVIDER)
    }
}

/// What one event file held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventSourceSummary {
    pub path: String,
    /// `evtx` or `xml`.
    pub format: String,
    /// Every record read, from any provider.
    pub records_read: u64,
    /// Records of the Directory Synchronization provider.
    pub phs_records: u64,
    /// Oldest and newest record of any provider: how far the log reaches.
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    /// Records of the Directory Synchronization provider dropped because they
    /// were older than the retention window (see `EventLog::retention_hours`).
    pub dropped_old: u64,
}

/// The Directory Synchronization events of every file read, newest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventLog {
    pub sources: Vec<EventSourceSummary>,
    /// Events older than this many hours before the newest kept event are not
    /// kept, so memory stays bounded however long the log is.
    pub retention_hours: u32,
    pub events: Vec<Event>,
}

impl EventLog {
    /// Oldest record of any provider in any file.
    pub fn oldest(&self) -> Option<Timestamp> {
        self.sources.iter().filter_map(|s| s.oldest).min()
    }

    /// Newest record of any provider in any file.
    pub fn newest(&self) -> Option<Timestamp> {
        self.sources.iter().filter_map(|s| s.newest).max()
    }
}

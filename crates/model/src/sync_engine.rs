//! One object as the sync engine holds it, from cmdlet output saved as JSON
//! on the server: `Get-ADSyncCSObject` (a connector space object, AD or
//! Entra), `Get-ADSyncMVObject` (the metaverse object joining them) and
//! `Get-ADSyncCSObjectLog` (the password hash sync log of a connector space
//! object). Windows PowerShell 5.1 and PowerShell 7 write these shapes
//! differently; the readers accept both and keep only what is here.

use crate::{Guid, SourceAnchor, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A connector space object (`Get-ADSyncCSObject -ConnectorName -DistinguishedName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CsObject {
    /// The file it was read from.
    pub file: String,
    pub object_id: Option<Guid>,
    pub connector_id: Option<Guid>,
    pub connector_name: Option<String>,
    /// `AD` or `Extensible2` (the Entra connector).
    pub connector_type: Option<String>,
    pub partition_id: Option<Guid>,
    pub distinguished_name: String,
    /// `ObjectType` (`user`, `inetOrgPerson`, `person` in the Entra space, ...).
    pub object_type: Option<String>,
    /// `IsConnector`: false is a disconnector, an object not joined to the metaverse.
    pub is_connector: Option<bool>,
    pub is_transient: Option<bool>,
    pub is_placeholder: Option<bool>,
    pub has_sync_error: Option<bool>,
    pub has_export_error: Option<bool>,
    pub export_error: Option<SyncEngineError>,
    pub synchronization_error: Option<SyncEngineError>,
    /// Set when the object has an export pending (`UnappliedExport` or the
    /// like): what the engine has yet to write to the connected directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_export: Option<String>,
    pub connected_mv_object_id: Option<Guid>,
    /// The sync rules that apply to the object.
    pub lineage: Vec<CsLineage>,
    /// Attribute name to its values, as text (binary values in base64).
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl CsObject {
    /// The anchor an Entra connector space object's DN encodes (`CN={hex}`).
    pub fn entra_anchor(&self) -> Option<SourceAnchor> {
        SourceAnchor::from_entra_cs_dn(&self.distinguished_name)
    }

    pub fn attribute(&self, name: &str) -> Option<&[String]> {
        attribute(&self.attributes, name)
    }
}

/// An attribute's values by name, in any case (the engine's names are not
/// case-sensitive).
fn attribute<'a>(attributes: &'a BTreeMap<String, Vec<String>>, name: &str) -> Option<&'a [String]> {
    attributes.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
}

/// A sync rule applied to a connector space object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CsLineage {
    pub sync_rule_internal_id: Option<Guid>,
    pub sync_rule_name: Option<String>,
    /// `Join`, `Provision`, `ImportFlow`, ... verbatim.
    pub operation: Option<String>,
}

/// An export or synchronization error on a connector space object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SyncEngineError {
    pub error_name: Option<String>,
    pub error_code: Option<String>,
    pub error_literal: Option<String>,
    pub error_extra_details: Option<String>,
    pub retry_count: Option<u32>,
    pub initial_occurrence: Option<Timestamp>,
    pub latest_occurrence: Option<Timestamp>,
}

/// A metaverse object (`Get-ADSyncMVObject -Identifier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MvObject {
    pub file: String,
    pub object_id: Option<Guid>,
    pub object_type: Option<String>,
    /// One entry per connector space object joined to it.
    pub lineage: Vec<MvLineage>,
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl MvObject {
    pub fn attribute(&self, name: &str) -> Option<&[String]> {
        attribute(&self.attributes, name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MvLineage {
    pub connector_id: Option<Guid>,
    pub connector_name: Option<String>,
    pub connected_cs_object_dn: Option<String>,
    pub connected_cs_object_id: Option<Guid>,
}

/// The password hash sync log of one connector space object
/// (`Get-ADSyncCSObjectLog -Identifier -Count`), newest first as the engine
/// returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CsObjectLog {
    pub file: String,
    pub entries: Vec<CsLogEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CsLogEntry {
    /// The connector space object the entry is about, when the entry says.
    pub cs_object_id: Option<Guid>,
    pub distinguished_name: Option<String>,
    /// When the attempt was made.
    pub time: Option<Timestamp>,
    /// The status name (`Success`, `FilteredByTarget`, ...), or the enum's
    /// number when PowerShell wrote it as one.
    pub status: String,
    /// Any detail the entry gives, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

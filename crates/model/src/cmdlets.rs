//! Facts from ADSync cmdlet output saved as JSON on the server.

use crate::Guid;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `Get-ADSyncScheduler | ConvertTo-Json`, the fields that matter here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SchedulerState {
    pub path: String,
    pub staging_mode_enabled: Option<bool>,
    pub sync_cycle_enabled: Option<bool>,
    pub scheduler_suspended: Option<bool>,
    pub sync_cycle_in_progress: Option<bool>,
    pub maintenance_enabled: Option<bool>,
    pub next_sync_cycle_start: Option<Timestamp>,
}

/// `Get-ADSyncAADCompanyFeature | ConvertTo-Json`: the tenant features as the
/// sync server last saw them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CompanyFeatures {
    pub path: String,
    pub password_hash_sync: Option<bool>,
    pub force_password_change_on_logon: Option<bool>,
    pub user_writeback: Option<bool>,
    pub device_writeback: Option<bool>,
    pub unified_group_writeback: Option<bool>,
    pub group_writeback_v2: Option<bool>,
}

/// One row of `Get-ADSyncPartitionPasswordSyncState | ConvertTo-Json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PartitionSyncState {
    pub connector_id: Option<Guid>,
    /// Partition DN (`default` for the Entra connector's partition).
    pub dn: String,
    pub last_successful_cycle_start: Option<Timestamp>,
    pub last_successful_cycle_end: Option<Timestamp>,
    pub last_cycle_start: Option<Timestamp>,
    pub last_cycle_end: Option<Timestamp>,
    /// `PasswordSyncLastCycleStatus` as text (`Successful`, ...), or the enum number.
    pub last_cycle_status: Option<String>,
}

/// `PasswordSyncLastCycleStatus`, read. Windows PowerShell 5.1 writes enums as
/// numbers, and the numbers of this enum are not documented anywhere
/// public: a number is `Unknown`, never taken for a failure or a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CycleStatus {
    Successful,
    Failed,
    /// Any other name, or a number.
    Unknown(String),
}

impl PartitionSyncState {
    pub fn cycle_status(&self) -> Option<CycleStatus> {
        let v = self.last_cycle_status.as_deref()?.trim();
        Some(if v.eq_ignore_ascii_case("successful") || v.eq_ignore_ascii_case("success") {
            CycleStatus::Successful
        } else if v.eq_ignore_ascii_case("failed") || v.eq_ignore_ascii_case("failure") {
            CycleStatus::Failed
        } else {
            CycleStatus::Unknown(v.to_owned())
        })
    }
}

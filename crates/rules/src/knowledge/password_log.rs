//! The statuses of the password hash sync log of one object
//! (`Get-ADSyncCSObjectLog`, the "Log" of a connector space object in
//! Synchronization Service Manager), as Microsoft documents them, with what
//! each means for the user and which check looks at the cause.

use phs_model::Status;

pub struct LogStatus {
    /// The name as the log writes it (matched without case).
    pub name: &'static str,
    /// The verdict of the last attempt.
    pub status: Status,
    /// What it means, in one sentence.
    pub meaning: &'static str,
    /// What to do, naming the check that looks further.
    pub fix: &'static str,
}

pub static STATUSES: &[LogStatus] = &[
    LogStatus { name: "Success", status: Status::Pass, meaning: "the password hash was synced", fix: "" },
    LogStatus {
        name: "FilteredByTarget",
        status: Status::Fail,
        meaning: "the user must change the password at next logon, so the temporary password was not synced",
        fix: "See PHS023: the user changes the password on-premises, or an administrator resets it without the flag.",
    },
    LogStatus {
        name: "NoTargetConnection",
        status: Status::Fail,
        meaning: "the object is not in the metaverse or the Entra connector space (not joined, or not provisioned)",
        fix: "See PHS020 and PHS022 for where the path from AD to Entra ID breaks.",
    },
    LogStatus {
        name: "SourceConnectorNotPresent",
        status: Status::Fail,
        meaning: "the object is not in the AD connector space",
        fix: "See PHS019 and PHS020: the user is out of scope or not imported yet.",
    },
    LogStatus {
        name: "TargetNotExportedToDirectory",
        status: Status::Fail,
        meaning: "the Entra connector space object has not been exported to Entra ID yet",
        fix: "See PHS022: an export error or a pending export holds it back.",
    },
    LogStatus {
        name: "MigratedCheckDetailsForMoreInfo",
        status: Status::Warn,
        meaning: "the entry was written before build 1.0.9125.0 and is shown in its old form",
        fix: "Open the entry's details in Synchronization Service Manager; a newer attempt gives a current status.",
    },
    LogStatus {
        name: "Error",
        status: Status::Fail,
        meaning: "the service returned an unknown error",
        fix: "Look for events 611 and 652 at the attempt's time (PHS008, PHS009) for the cause.",
    },
    LogStatus {
        name: "Unknown",
        status: Status::Fail,
        meaning: "an error happened while a batch of password hashes was processed",
        fix: "Look for events 611 and 652 at the attempt's time (PHS008, PHS009) for the cause.",
    },
    LogStatus {
        name: "MissingAttribute",
        status: Status::Warn,
        meaning: "attributes Microsoft Entra Domain Services needs (such as the Kerberos hash) are not available",
        fix: "Only Entra Domain Services is affected; see Microsoft's guide on enabling legacy hashes for it.",
    },
    LogStatus {
        name: "RetryRequestedByTarget",
        status: Status::Warn,
        meaning: "attributes were missing before, and the password hash is being synced again",
        fix: "Wait for the retry, then gather the log again.",
    },
];

/// The status of `name`; None for a name Microsoft does not document (or a
/// number, as Windows PowerShell 5.1 writes enums).
pub fn lookup(name: &str) -> Option<&'static LogStatus> {
    STATUSES.iter().find(|s| s.name.eq_ignore_ascii_case(name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_is_known_and_others_are_not() {
        for name in ["success", "FilteredByTarget", " NoTargetConnection ", "TargetNotExportedToDirectory"] {
            assert!(lookup(name).is_some(), "{name}");
        }
        // Seen in no Microsoft source (phs-spec.md §2.3), and a bare enum number.
        assert!(lookup("TargetConnectorNotPresent").is_none());
        assert!(lookup("3").is_none());
        assert!(STATUSES.iter().all(|s| s.status == Status::Pass || !s.fix.is_empty()));
    }
}

//! Whether a Windows file's DACL keeps a secret file private: only its
//! owner, SYSTEM and Administrators may read it. The judgement is plain
//! Rust over the parsed descriptor (so it is tested on every platform); on
//! Windows the descriptor comes from the open handle (`GetSecurityInfo`,
//! windows-sys).

use phs_secdesc::ace::mask;
use phs_secdesc::{AceType, SecurityDescriptor, Sid};

/// `FILE_READ_DATA` (MS-DTYP 2.4.3, file-specific right 0x1).
const FILE_READ_DATA: u32 = 0x0000_0001;

/// Rights that read the content, or let the holder give themselves that
/// right (rewrite the DACL, take ownership).
const READS_OR_GRANTS_READ: u32 = FILE_READ_DATA
    | mask::GENERIC_READ
    | mask::GENERIC_ALL
    | mask::MAXIMUM_ALLOWED
    | mask::WRITE_DAC
    | mask::WRITE_OWNER;

/// `OWNER RIGHTS` (S-1-3-4): stands for whoever owns the file.
fn is_owner_rights(sid: &Sid) -> bool {
    sid.authority() == 3 && sid.sub_authorities() == [4]
}

/// Who, besides the owner, SYSTEM and Administrators, the DACL lets read
/// the file (or change who may), as one line; `None` when nobody.
///
/// Deny ACEs are ignored: they can only take rights away, so ignoring them
/// can refuse a file Windows would protect, never accept one it would not.
/// Inherit-only ACEs do not apply to the file itself (MS-DTYP 2.4.4.1).
pub fn dacl_exposure(sd: &SecurityDescriptor) -> Option<String> {
    let Some(dacl) = sd.dacl_for_access() else {
        return Some("everyone (the file has no DACL, which grants all access)".to_owned());
    };
    let mut exposed: Vec<String> = Vec::new();
    for ace in dacl.aces.iter().filter(|a| !a.flags.is_inherit_only()) {
        let grants = match ace.kind {
            AceType::AccessAllowed | AceType::AccessAllowedObject => ace.mask & READS_OR_GRANTS_READ != 0,
            // Callback and compound allow ACEs (0x04, 0x09, 0x0B) grant
            // under conditions this check does not evaluate.
            AceType::Other(t @ (0x04 | 0x09 | 0x0B)) => {
                push_once(&mut exposed, format!("an ACE of type {t:#04x} this check cannot evaluate"));
                continue;
            }
            _ => false,
        };
        if grants && !is_allowed_reader(&ace.sid, sd.owner.as_ref()) {
            push_once(&mut exposed, describe(&ace.sid));
        }
    }
    (!exposed.is_empty()).then(|| exposed.join(", "))
}

fn is_allowed_reader(sid: &Sid, owner: Option<&Sid>) -> bool {
    // CREATOR OWNER in a file's own DACL matches no one (it only matters
    // when inherited), so it exposes nothing.
    Some(sid) == owner
        || *sid == Sid::LOCAL_SYSTEM
        || *sid == Sid::BUILTIN_ADMINISTRATORS
        || is_owner_rights(sid)
        || *sid == Sid::CREATOR_OWNER
}

fn describe(sid: &Sid) -> String {
    match sid.well_known_name(None) {
        Some(name) => format!("{name} ({sid})"),
        None => sid.to_string(),
    }
}

fn push_once(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The owner and DACL of the open file, as Windows reports them.
#[cfg(windows)]
pub(super) fn descriptor_of(file: &std::fs::File) -> Result<SecurityDescriptor, String> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::{LocalFree, ERROR_SUCCESS};
    use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_FILE_OBJECT};
    use windows_sys::Win32::Security::{
        GetSecurityDescriptorLength, DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };

    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: the handle is the open file's and outlives the call; the
    // out-pointers we do not want are null, which the API allows; on
    // success `sd` points to a self-relative descriptor that we own and
    // free with LocalFree below.
    let rc = unsafe {
        GetSecurityInfo(
            file.as_raw_handle(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != ERROR_SUCCESS || sd.is_null() {
        return Err(format!("cannot read its permissions: {}", std::io::Error::from_raw_os_error(rc as i32)));
    }
    // SAFETY: `sd` is a valid self-relative descriptor (above); its length
    // covers the whole buffer, which stays allocated until LocalFree.
    let bytes = unsafe {
        let len = GetSecurityDescriptorLength(sd) as usize;
        std::slice::from_raw_parts(sd as *const u8, len).to_vec()
    };
    // SAFETY: allocated by GetSecurityInfo with LocalAlloc, freed once.
    unsafe { LocalFree(sd) };
    SecurityDescriptor::parse(&bytes).map_err(|e| format!("cannot read its permissions (malformed descriptor: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Descriptors as `icacls` / `Get-Acl` leave them (in SDDL), judged.
    fn exposure(sddl: &str) -> Option<String> {
        dacl_exposure(&SecurityDescriptor::from_sddl(sddl, None).unwrap())
    }

    const ME: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";

    #[test]
    fn owner_system_and_administrators_only_are_private() {
        // A file in the user's profile: inherited full control for SYSTEM,
        // Administrators and the user.
        let profile = format!("O:{ME}G:{ME}D:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;{ME})");
        assert_eq!(exposure(&profile), None);
        // After `icacls f /inheritance:r /grant:r %USERNAME%:R`.
        assert_eq!(exposure(&format!("O:{ME}D:P(A;;FR;;;{ME})")), None);
        // OWNER RIGHTS, and an inherit-only entry that never applies to the file.
        assert_eq!(exposure(&format!("O:{ME}D:P(A;;FA;;;OW)(A;OICIIO;FA;;;BU)")), None);
        // A deny entry takes nothing away from the verdict.
        assert_eq!(exposure(&format!("O:{ME}D:P(D;;FA;;;WD)(A;;FA;;;{ME})")), None);
        // An empty DACL lets nobody in (not even the owner, who can still fix it).
        assert_eq!(exposure(&format!("O:{ME}D:P")), None);
    }

    #[test]
    fn others_who_may_read_are_named() {
        // C:\Temp and most folders outside the profile: Users may read.
        let temp = format!("O:{ME}D:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;{ME})(A;ID;0x1200a9;;;BU)");
        assert_eq!(exposure(&temp).as_deref(), Some("BUILTIN\\Users (S-1-5-32-545)"));
        let everyone = format!("O:{ME}D:(A;;FR;;;WD)(A;;GR;;;AU)");
        assert_eq!(
            exposure(&everyone).as_deref(),
            Some("Everyone (S-1-1-0), NT AUTHORITY\\Authenticated Users (S-1-5-11)")
        );
        // Another user with only the right to rewrite the DACL can read next.
        let other = "S-1-5-21-1004336348-1177238915-682003330-1002";
        assert_eq!(exposure(&format!("O:{ME}D:(A;;WD;;;{other})")).as_deref(), Some(other));
        // Someone else owns the file and the current user is only listed: the
        // owner is the one allowed, not the reader.
        assert_eq!(exposure(&format!("O:{other}D:(A;;FA;;;{other})(A;;FR;;;{ME})")).as_deref(), Some(ME));
    }

    #[test]
    fn no_dacl_means_everyone() {
        assert!(exposure(&format!("O:{ME}D:NO_ACCESS_CONTROL")).unwrap().starts_with("everyone"));
        let no_dacl = SecurityDescriptor::new(Sid::new(1, 5, &[18]), None, None, None);
        assert!(dacl_exposure(&no_dacl).unwrap().starts_with("everyone"));
    }

    #[test]
    fn rights_that_do_not_read_are_not_exposure() {
        // Synchronize and read attributes/permissions only: the content stays private.
        assert_eq!(exposure(&format!("O:{ME}D:(A;;FA;;;{ME})(A;;0x120080;;;BU)")), None);
    }
}

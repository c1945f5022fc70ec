//! Active Directory's bind failure sub-codes: the `data XXX` in the text of an
//! LDAP invalidCredentials (49) result, and what each means for the AD DS
//! connector account.

pub struct BindCode {
    /// Lower-case hex as AD writes it.
    pub code: &'static str,
    pub cause: &'static str,
    pub fix: &'static str,
    /// AD PowerShell that fixes it (to run by an administrator).
    pub commands: &'static [&'static str],
}

pub const CODES: &[BindCode] = &[
    BindCode {
        code: "52e",
        cause: "the password is wrong (or the account does not exist)",
        fix: "Set the connector account's current password in Synchronization Service Manager (Connectors > the AD connector > Properties > Connect to Active Directory Forest), or reset both together with the Entra Connect wizard.",
        commands: &[],
    },
    BindCode {
        code: "525",
        cause: "the account does not exist",
        fix: "Check forest-login-user and forest-login-domain of the connector; recreate the account or point the connector at the right one with the wizard.",
        commands: &[],
    },
    BindCode {
        code: "530",
        cause: "the account may not log on at this time (logon hours)",
        fix: "Clear the logon hours restriction of the connector account.",
        commands: &["Set-ADUser '<account>' -Replace @{logonHours=[byte[]](,255*21)}"],
    },
    BindCode {
        code: "531",
        cause: "the account may not log on from this computer (workstation restriction)",
        fix: "Allow the sync server in the account's \"Log On To\" list, or clear it.",
        commands: &["Set-ADUser '<account>' -LogonWorkstations $null"],
    },
    BindCode {
        code: "532",
        cause: "the password has expired",
        fix: "Reset the password, set it in Synchronization Service Manager, and consider a service-account password policy (password never expires or a managed rotation).",
        commands: &["Set-ADAccountPassword '<account>' -Reset", "Set-ADUser '<account>' -PasswordNeverExpires $true"],
    },
    BindCode {
        code: "533",
        cause: "the account is disabled",
        fix: "Enable the connector account.",
        commands: &["Enable-ADAccount '<account>'"],
    },
    BindCode {
        code: "701",
        cause: "the account has expired",
        fix: "Clear or extend the account's expiration date.",
        commands: &["Clear-ADAccountExpiration '<account>'"],
    },
    BindCode {
        code: "773",
        cause: "the password must be changed at next logon",
        fix: "Reset the password without \"User must change password at next logon\" and set it in Synchronization Service Manager.",
        commands: &["Set-ADUser '<account>' -ChangePasswordAtLogon $false"],
    },
    BindCode {
        code: "775",
        cause: "the account is locked out",
        fix: "Unlock the account, then find what locks it (an old password in use somewhere, often a second sync server or a scheduled task).",
        commands: &["Unlock-ADAccount '<account>'", "Get-ADUser '<account>' -Properties LockedOut,badPwdCount,lastBadPasswordAttempt"],
    },
];

/// The code as a whole: the source reads the entire hex run after "data "
/// (`parse_sub_code`), and this compares all of it, so "52ef" or "152e" is
/// never 52e. Leading zeros are padding, not digits of another code.
pub fn lookup(code: &str) -> Option<&'static BindCode> {
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code.trim_start_matches('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_is_known() {
        for code in ["52e", "525", "530", "531", "532", "533", "701", "773", "775"] {
            assert!(lookup(code).is_some(), "{code}");
        }
        assert_eq!(lookup("0775").map(|c| c.code), Some("775"));
        assert!(lookup("999").is_none());
    }

    #[test]
    fn codes_match_whole() {
        assert_eq!(lookup("52E").map(|c| c.code), Some("52e"));
        for longer in ["52ef", "152e", "5250", "7750", "0x775", "52e ", ""] {
            assert!(lookup(longer).is_none(), "{longer:?}");
        }
        let codes: Vec<&str> = CODES.iter().map(|c| c.code).collect();
        for (i, c) in codes.iter().enumerate() {
            assert!(codes[i + 1..].iter().all(|d| d != c), "{c} twice");
            assert!(c.chars().all(|h| h.is_ascii_hexdigit() && !h.is_ascii_uppercase()), "{c}");
        }
    }
}

//! Causes of events 652 (credential batch failed) and 655 (heartbeat failed):
//! the agent could not hand hashes to Entra ID. Recognised by the service's
//! "Error Code: N" and by the exception or AADSTS code in the text.

use super::signature::{any, Signature};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudErrorKind {
    PhsNotActivated,
    IdentitySyncNotActivated,
    AccessDenied,
    Busy,
    EndpointNotFound,
    SecurityNegotiation,
    SignIn,
    Unrecognised,
}

pub struct CloudErrorClass {
    pub kind: CloudErrorKind,
    pub id: &'static str,
    pub cause: &'static str,
    /// Numbers after "Error Code:" that mean this class.
    pub error_codes: &'static [u32],
    pub signatures: &'static [Signature],
    /// Transient classes retry by themselves: a warning, not a failure.
    pub transient: bool,
    pub fix: &'static str,
}

pub const CLASSES: &[CloudErrorClass] = &[
    CloudErrorClass {
        kind: CloudErrorKind::PhsNotActivated,
        id: "phs-not-activated",
        cause: "password hash synchronization is not activated for the company (tenant), Error Code 90",
        error_codes: &[90],
        signatures: &[any(&["Password Synchronization has not been activated"])],
        transient: false,
        fix: "Turn password hash synchronization off and on again in the Entra Connect wizard (Customize synchronization options) so the tenant feature is set again.",
    },
    CloudErrorClass {
        kind: CloudErrorKind::IdentitySyncNotActivated,
        id: "identity-sync-not-activated",
        cause: "directory synchronization is not activated for the tenant, Error Code 15",
        error_codes: &[15],
        signatures: &[any(&["synchronization has not been activated", "DirSync has not been activated"])],
        transient: false,
        fix: "Check the tenant's directory synchronization is on (Entra admin center > Entra Connect) and re-run the Entra Connect wizard.",
    },
    CloudErrorClass {
        kind: CloudErrorKind::AccessDenied,
        id: "access-denied",
        cause: "Entra ID denied the sync account access, Error Code 7",
        error_codes: &[7],
        signatures: &[any(&["Access to Windows Azure Active Directory has been denied", "Access to Azure Active Directory has been denied"])],
        transient: false,
        fix: "The Entra connector account (Sync_<server>_...) lost its role or was changed; re-run the Entra Connect wizard to reset it.",
    },
    CloudErrorClass {
        kind: CloudErrorKind::Busy,
        id: "busy-throttled",
        cause: "the service was busy or throttled the call, Error Code 81; the agent retries automatically",
        error_codes: &[81],
        signatures: &[any(&["currently busy", "throttl"])],
        transient: true,
        fix: "Nothing to do if it clears; if it persists for hours, check Microsoft 365 service health.",
    },
    CloudErrorClass {
        kind: CloudErrorKind::EndpointNotFound,
        id: "endpoint-not-found",
        cause: "the Entra ID endpoint could not be reached (proxy, firewall or DNS)",
        error_codes: &[],
        signatures: &[any(&["EndpointNotFoundException"])],
        transient: false,
        fix: "Allow the sync server to reach the Microsoft Entra endpoints over HTTPS (check the machine.config proxy settings of the ADSync service).",
    },
    CloudErrorClass {
        kind: CloudErrorKind::SecurityNegotiation,
        id: "tls-negotiation",
        cause: "the TLS connection to Entra ID could not be negotiated (TLS 1.2 not enabled, or TLS inspection)",
        error_codes: &[],
        signatures: &[any(&["SecurityNegotiationException"])],
        transient: false,
        fix: "Enable TLS 1.2 for .NET on the sync server (SchUseStrongCrypto) and exempt the Entra endpoints from TLS inspection.",
    },
    CloudErrorClass {
        kind: CloudErrorKind::SignIn,
        id: "sign-in-failed",
        cause: "the Entra connector account could not sign in",
        error_codes: &[],
        signatures: &[any(&["AADSTS", "user_realm_discovery_failed", "AdalServiceException", "MsalServiceException", "The user name or password is incorrect"])],
        transient: false,
        fix: "Re-run the Entra Connect wizard so it resets the Entra connector account's credentials; the AADSTS code says what failed.",
    },
];

pub const UNRECOGNISED: CloudErrorClass = CloudErrorClass {
    kind: CloudErrorKind::Unrecognised,
    id: "unrecognised",
    cause: "a cloud provisioning error phs-doctor does not recognise",
    error_codes: &[],
    signatures: &[],
    transient: false,
    fix: "Read the error in the event text and check the sync server's connectivity to Entra ID.",
};

/// AADSTS codes that sign-in failures of the Entra connector account carry.
pub const AADSTS: &[(&str, &str)] = &[
    ("AADSTS50034", "the account does not exist in the tenant"),
    ("AADSTS50053", "the account is locked"),
    ("AADSTS50054", "an old password was used"),
    ("AADSTS50055", "the password has expired"),
    ("AADSTS50057", "the account is disabled"),
    ("AADSTS50076", "multi-factor authentication is required (Conditional Access applies to the sync account)"),
    ("AADSTS50126", "the user name or password is wrong"),
    ("AADSTS90002", "the tenant was not found"),
];

pub fn classify(text: &str) -> &'static CloudErrorClass {
    let codes = error_codes(text);
    let lowered = text.to_lowercase();
    CLASSES
        .iter()
        .find(|c| c.error_codes.iter().any(|n| codes.contains(n)) || c.signatures.iter().any(|s| s.matches(&lowered)))
        .unwrap_or(&UNRECOGNISED)
}

/// What an AADSTS code in the text means, when it is a known one.
pub fn aadsts(text: &str) -> Option<(&'static str, &'static str)> {
    AADSTS.iter().find(|(code, _)| text.contains(code)).copied()
}

/// The numbers after every "Error Code:" (any case, any spacing).
pub fn error_codes(text: &str) -> Vec<u32> {
    let lowered = text.to_lowercase();
    let mut out = Vec::new();
    let mut rest = lowered.as_str();
    while let Some(pos) = rest.find("error code") {
        rest = &rest[pos + "error code".len()..];
        let after = rest.trim_start_matches([' ', ':', '=']);
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse() {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_ACTIVATED: &str = "Failed credential provisioning ping. Error: Microsoft.Online.PasswordSynchronization.ProvisionCredentialsException: Unable to update the password. Error Code: 90. Error Message: Password Synchronization has not been activated for this company.\r\n   at Microsoft.Online.PasswordSynchronization.CloudProvisioningProxy.ProvisionCredentials(...)";
    const IDENTITY_SYNC: &str = "Failed credential provisioning batch. Error: Microsoft.Online.PasswordSynchronization.ProvisionCredentialsException: Error Code: 15. Error Message: Directory synchronization has not been activated for this company.";
    const ACCESS_DENIED: &str = "Failed credential provisioning batch. Error: Microsoft.Online.PasswordSynchronization.ProvisionCredentialsException: Error Code: 7. Error Message: Access to Azure Active Directory has been denied.";
    const BUSY: &str = "Failed credential provisioning batch. Error: Microsoft.Online.PasswordSynchronization.ProvisionCredentialsException: Error Code: 81. Error Message: The service is currently busy. This operation will be retried automatically.";
    const ENDPOINT: &str = "Failed credential provisioning ping. Error: System.ServiceModel.EndpointNotFoundException: There was no endpoint listening at https://adminwebservice.microsoftonline.com/provisioningservice.svc that could accept the message.";
    const TLS: &str = "Failed credential provisioning ping. Error: System.ServiceModel.Security.SecurityNegotiationException: Could not establish secure channel for SSL/TLS with authority 'adminwebservice.microsoftonline.com'.";
    const SIGN_IN: &str = "Failed credential provisioning ping. Error: Microsoft.IdentityModel.Clients.ActiveDirectory.AdalServiceException: AADSTS50126: Error validating credentials due to invalid username or password.";
    const OTHER: &str =
        "Failed credential provisioning batch. Error: System.TimeoutException: The request channel timed out.";

    #[test]
    fn each_class_has_a_realistic_message() {
        for (text, kind) in [
            (NOT_ACTIVATED, CloudErrorKind::PhsNotActivated),
            (IDENTITY_SYNC, CloudErrorKind::IdentitySyncNotActivated),
            (ACCESS_DENIED, CloudErrorKind::AccessDenied),
            (BUSY, CloudErrorKind::Busy),
            (ENDPOINT, CloudErrorKind::EndpointNotFound),
            (TLS, CloudErrorKind::SecurityNegotiation),
            (SIGN_IN, CloudErrorKind::SignIn),
            (OTHER, CloudErrorKind::Unrecognised),
        ] {
            assert_eq!(classify(text).kind, kind, "{text}");
        }
    }

    #[test]
    fn error_code_numbers_do_not_match_prefixes() {
        assert_eq!(error_codes("Error Code: 70. x error code:7"), vec![70, 7]);
        assert_eq!(classify("Error Code: 70").kind, CloudErrorKind::Unrecognised);
    }

    #[test]
    fn aadsts_codes_are_explained() {
        for code in ["AADSTS50034", "AADSTS50057", "AADSTS50126", "AADSTS90002"] {
            let text = format!("AdalServiceException: {code}: something");
            assert_eq!(classify(&text).kind, CloudErrorKind::SignIn);
            assert_eq!(aadsts(&text).map(|a| a.0), Some(code));
        }
        assert_eq!(classify("AdalServiceException: user_realm_discovery_failed").kind, CloudErrorKind::SignIn);
    }
}

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

/// Order matters among signatures (the first class that matches wins); a
/// number after "Error Code:" is the service's own statement and is looked
/// up before any signature.
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
        cause: "directory synchronization is not activated for the tenant, Error Code 15 (not Error Code 90, which is password hash synchronization alone)",
        error_codes: &[15],
        // "synchronization has not been activated" is also the tail of the
        // Error Code 90 text; that one is about password sync only.
        signatures: &[Signature {
            all: &[],
            any: &["synchronization has not been activated", "DirSync has not been activated"],
            none: &["Password Synchronization has not been activated"],
        }],
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
        // Event 611 uses the same words for the AD DS connector account.
        cause: "the Entra connector account could not sign in to Entra ID (in events 652/655 \"The user name or password is incorrect\" is about this cloud account, not the AD DS connector account)",
        error_codes: &[],
        signatures: &[any(&[
            "AADSTS",
            "user_realm_discovery_failed",
            "AdalServiceException",
            "MsalServiceException",
            "invalid_grant",
            "The user name or password is incorrect",
        ])],
        transient: false,
        fix: "Re-run the Entra Connect wizard so it resets the Entra connector account's credentials; the AADSTS code says what failed (for multi-factor authentication or Conditional Access, exclude the sync account from the policy).",
    },
    // Last among the signatures: this class is transient (a warning), and a
    // loose word like "throttl" must not turn a named failure into one.
    CloudErrorClass {
        kind: CloudErrorKind::Busy,
        id: "busy-throttled",
        cause: "the service was busy or throttled the call, Error Code 81; the agent retries automatically",
        error_codes: &[81],
        signatures: &[any(&["currently busy", "throttl"])],
        transient: true,
        fix: "Nothing to do if it clears; if it persists for hours, check Microsoft 365 service health.",
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

/// AADSTS codes that sign-in failures of the Entra connector account carry,
/// with what each means for that account (Microsoft's Entra authentication
/// error code reference, paraphrased).
pub const AADSTS: &[(&str, &str)] = &[
    ("AADSTS50034", "the account does not exist in the tenant"),
    ("AADSTS500341", "the account has been deleted from the tenant"),
    ("AADSTS50053", "the account is locked (Smart Lockout after repeated wrong passwords, or sign-ins from an IP address Entra ID blocks)"),
    ("AADSTS50054", "an old password was used"),
    ("AADSTS50055", "the password has expired"),
    ("AADSTS50057", "the account is disabled"),
    ("AADSTS50058", "a silent sign-in found no signed-in session to use; it needs an interactive sign-in"),
    ("AADSTS50076", "multi-factor authentication is required (Conditional Access applies to the sync account)"),
    ("AADSTS50079", "the account must register for multi-factor authentication (a policy requires it of the sync account)"),
    ("AADSTS50126", "the user name or password is wrong"),
    ("AADSTS50173", "the grant has expired because it was revoked, typically after the account's password was changed"),
    ("AADSTS53003", "Conditional Access blocked the sign-in"),
    ("AADSTS700016", "the application was not found in the tenant"),
    ("AADSTS700027", "the client assertion (certificate) failed signature validation"),
    ("AADSTS7000215", "the client secret is wrong"),
    ("AADSTS7000222", "the client secret has expired"),
    ("AADSTS90002", "the tenant was not found"),
];

/// What an AADSTS code not in [`AADSTS`] is called.
pub const UNKNOWN_AADSTS: &str = "a code phs-doctor does not know";

pub fn classify(text: &str) -> &'static CloudErrorClass {
    let codes = error_codes(text);
    let lowered = text.to_lowercase();
    CLASSES
        .iter()
        .find(|c| c.error_codes.iter().any(|n| codes.contains(n)))
        .or_else(|| CLASSES.iter().find(|c| c.signatures.iter().any(|s| s.matches(&lowered))))
        .unwrap_or(&UNRECOGNISED)
}

/// The AADSTS code in the text and what it means: the first known code, else
/// the first code at all, named as unknown rather than dropped. A code is the
/// whole digit run after "AADSTS", so AADSTS500341 is never AADSTS50034.
pub fn aadsts(text: &str) -> Option<(String, &'static str)> {
    let codes = aadsts_codes(text);
    let known = codes.iter().find_map(|c| AADSTS.iter().find(|(k, _)| k == c));
    match known {
        Some((code, meaning)) => Some(((*code).to_owned(), *meaning)),
        None => codes.into_iter().next().map(|c| (c, UNKNOWN_AADSTS)),
    }
}

/// Every "AADSTS" followed by digits, as "AADSTS<digits>".
fn aadsts_codes(text: &str) -> Vec<String> {
    // ASCII lower-casing keeps byte offsets, so digits are read from `text`.
    let lowered = text.to_ascii_lowercase();
    lowered
        .match_indices("aadsts")
        .filter_map(|(at, m)| {
            let digits: String = text[at + m.len()..].chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
        })
        .collect()
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
        for code in ["AADSTS50034", "AADSTS50057", "AADSTS50126", "AADSTS90002", "AADSTS500341", "AADSTS7000215"] {
            let text = format!("AdalServiceException: {code}: something");
            assert_eq!(classify(&text).kind, CloudErrorKind::SignIn);
            assert_eq!(aadsts(&text).map(|a| a.0), Some(code.to_owned()));
        }
        assert_eq!(classify("AdalServiceException: user_realm_discovery_failed").kind, CloudErrorKind::SignIn);
        let codes: Vec<&str> = AADSTS.iter().map(|(c, _)| *c).collect();
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
        assert!(codes.iter().all(|c| c.len() > 6 && c[6..].chars().all(|d| d.is_ascii_digit())), "{codes:?}");
    }

    #[test]
    fn aadsts_codes_match_whole() {
        // Before, a prefix test read these as AADSTS50034 and AADSTS50126.
        let deleted = "MsalServiceException: AADSTS500341: The user account has been deleted from the directory.";
        assert_eq!(aadsts(deleted), Some(("AADSTS500341".to_owned(), "the account has been deleted from the tenant")));
        assert_eq!(aadsts("AADSTS501260: x"), Some(("AADSTS501260".to_owned(), UNKNOWN_AADSTS)));
        // Unknown codes are named, not dropped.
        assert_eq!(aadsts("AADSTS12345: x"), Some(("AADSTS12345".to_owned(), UNKNOWN_AADSTS)));
        // A known code wins over an unknown one earlier in the text.
        assert_eq!(aadsts("AADSTS99999 then AADSTS50126").map(|a| a.0), Some("AADSTS50126".to_owned()));
        assert_eq!(aadsts("aadsts50057: lower case").map(|a| a.0), Some("AADSTS50057".to_owned()));
        assert_eq!(aadsts("AADSTS without a number"), None);
        assert_eq!(aadsts("no code at all"), None);
    }

    #[test]
    fn error_code_90_is_not_900_nor_identity_sync() {
        assert_eq!(error_codes("Error Code: 900. x"), vec![900]);
        assert_eq!(
            classify("Failed credential provisioning batch. Error: Error Code: 900. Error Message: x.").kind,
            CloudErrorKind::Unrecognised
        );
        // The Error Code 90 words end in the identity-sync words: without the
        // number they must still be password sync, whatever the class order.
        let words_only = "Failed credential provisioning ping. Error: Password Synchronization has not been activated for this company.";
        assert_eq!(classify(words_only).kind, CloudErrorKind::PhsNotActivated);
        let identity = CLASSES.iter().find(|c| c.kind == CloudErrorKind::IdentitySyncNotActivated).unwrap();
        assert!(!identity.signatures.iter().any(|s| s.matches(&words_only.to_lowercase())));
        let directory = "Failed credential provisioning batch. Error: Directory synchronization has not been activated for this company.";
        assert_eq!(classify(directory).kind, CloudErrorKind::IdentitySyncNotActivated);
    }

    #[test]
    fn error_codes_decide_before_words() {
        // The number is the service's verdict: Error Code 81 stays transient
        // although its class is tried last by words, and words elsewhere in
        // the text (here "throttled") do not override another number.
        let busy = "Failed credential provisioning batch. Error: Microsoft.Online.Coexistence.ProvisionRetryException: An error occurred. Error Code: 81. Error Description: Azure Active Directory is currently busy. This operation will be retried automatically.";
        assert_eq!(classify(busy).kind, CloudErrorKind::Busy);
        let denied = "Failed credential provisioning batch. Error: Error Code: 7. Error Message: Access denied; further calls are throttled.";
        assert_eq!(classify(denied).kind, CloudErrorKind::AccessDenied);
    }

    #[test]
    fn transient_words_do_not_swallow_named_failures() {
        // "throttl" used to be tried before the exception types, turning a
        // failure into a transient warning.
        let endpoint = "Failed credential provisioning ping. Error: System.ServiceModel.EndpointNotFoundException: There was no endpoint listening at https://adminwebservice.microsoftonline.com/provisioningservice.svc that could accept the message. ---> System.Net.WebException: The remote server returned an error: (503) Server Unavailable: request throttled by the proxy.";
        assert_eq!(classify(endpoint).kind, CloudErrorKind::EndpointNotFound);
        assert!(!classify(endpoint).transient);
        let sign_in = "Failed credential provisioning ping. Error: Microsoft.Identity.Client.MsalServiceException: AADSTS50053: The account is locked; sign-in attempts are throttled.";
        assert_eq!(classify(sign_in).kind, CloudErrorKind::SignIn);
        assert_eq!(classify("The service throttled the request.").kind, CloudErrorKind::Busy);
    }

    #[test]
    fn cloud_wrong_password_is_the_entra_account() {
        let text = "Failed credential provisioning ping. Error: Microsoft.Online.PasswordSynchronization.ProvisionCredentialsException: The user name or password is incorrect. Verify your user name, and then type your password again.";
        let class = classify(text);
        assert_eq!(class.kind, CloudErrorKind::SignIn);
        assert!(class.cause.contains("Entra connector account"));
    }
}

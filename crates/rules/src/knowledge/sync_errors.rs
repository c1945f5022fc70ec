//! Root causes of event 611 ("Password synchronization failed for domain"),
//! recognised by the exception and stack frames in its text. Order matters:
//! the first class that matches wins. A 611 nests exceptions (the agent's
//! "attempting to locate a domain controller" wraps whatever went wrong inside),
//! so classes recognised by the innermost error's own words or number come
//! first, and classes recognised by a wrapper's words or by stack frames only
//! come after them: a frame says where it failed, the inner message says why.

use super::signature::{all, any, Signature};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncErrorKind {
    ReplicationAccessDenied,
    ReplicationRejected,
    KerberosWrongPrincipal,
    KerberosKdcUnreachable,
    KerberosClockSkew,
    KerberosEncryptionType,
    BadCredentials,
    CannotResolveDc,
    RpcServerUnavailable,
    OtherRpc,
    AuthenticationFailed,
    CannotLocateDc,
    Ldap,
    Cryptography,
    Internal,
    Unrecognised,
}

/// Commands may hold placeholders that the rule fills in: `<account>`,
/// `<account domain>`, `<account principal>` (DOMAIN\\user or user@domain),
/// `<domain>` (the failing domain's FQDN), `<domain root DN>`, `<DC>` (a preferred
/// or last-used DC of the partition, when the export names one).
pub struct SyncErrorClass {
    pub kind: SyncErrorKind,
    /// Stable identifier used in JSON evidence.
    pub id: &'static str,
    pub cause: &'static str,
    pub signatures: &'static [Signature],
    pub fix: &'static str,
    pub commands: &'static [&'static str],
}

pub const CLASSES: &[SyncErrorClass] = &[
    SyncErrorClass {
        kind: SyncErrorKind::ReplicationAccessDenied,
        id: "replication-access-denied",
        cause: "the AD DS connector account lacks Replicating Directory Changes / Replicating Directory Changes All on the domain root (RPC error 8453)",
        // "Error 8453" rather than a bare 8453: a bare number also matches a
        // group of a GUID or tracking ID in the text of another RPC error.
        signatures: &[any(&["Error 8453", "Replication access was denied"])],
        fix: "Grant the connector account both replication rights on the root of this domain (on the sync server, from an elevated PowerShell with the AdSyncConfig module), then wait for the next two-minute cycle.",
        commands: &[
            "Import-Module 'C:\\Program Files\\Microsoft Azure Active Directory Connect\\AdSyncConfig\\AdSyncConfig.psm1'",
            "Set-ADSyncPasswordHashSyncPermissions -ADConnectorAccountName '<account>' -ADConnectorAccountDomain '<account domain>'",
            "dsacls '<domain root DN>' /G '<account principal>:CA;Replicating Directory Changes' '<account principal>:CA;Replicating Directory Changes All'",
        ],
    },
    SyncErrorClass {
        kind: SyncErrorKind::ReplicationRejected,
        id: "replication-rejected-by-dc",
        cause: "the domain controller is rejecting replication requests (RPC error 8456): outbound replication was disabled on it",
        signatures: &[any(&["RPC Error 8456", "currently rejecting replication requests"])],
        fix: "Re-enable outbound replication on the DC (repadmin /options <DC> -DISABLE_OUTBOUND_REPL), or point the connector at other DCs with 'Only use preferred domain controllers'. Microsoft's troubleshooter does not detect this case.",
        commands: &["repadmin /options '<DC>' -DISABLE_OUTBOUND_REPL", "repadmin /options '<DC>'"],
    },
    // The Kerberos classes come before the credential classes: the agent wraps
    // these failures in the same AuthenticationException, thrown from the same
    // DirectoryEntry.Bind, as a wrong password, but the password is fine and
    // resetting it changes nothing.
    SyncErrorClass {
        kind: SyncErrorKind::KerberosWrongPrincipal,
        id: "kerberos-wrong-principal",
        cause: "Kerberos found that the DC which answered is not the machine its service ticket was issued for (SEC_E_WRONG_PRINCIPAL, 0x80090322): the sync server reached the DC by a DNS alias or an IP address, a stale DNS record points the DC's name at another machine, or the DC's ldap/ SPN is registered on a second account; the connector account's password is not the cause",
        signatures: &[any(&["target principal name is incorrect", "SEC_E_WRONG_PRINCIPAL", "0x80090322"])],
        fix: "Connect to the DC by its real FQDN (no CNAME alias or IP address in the preferred DCs of Configure Directory Partitions); check that the name's A record and the reverse (PTR) record of that address both point at this DC; find the DC's ldap/ SPN on exactly one computer account and remove duplicates.",
        commands: &["nslookup '<DC>'", "setspn -Q 'ldap/<DC>'", "setspn -X -F"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::KerberosKdcUnreachable,
        id: "kerberos-kdc-unreachable",
        cause: "no domain controller could be reached to authenticate the connector account (SEC_E_NO_AUTHENTICATING_AUTHORITY, 0x80090311, or KDC_ERR_SVC_UNAVAILABLE): Kerberos (port 88) is blocked between the sync server and the DCs, or DNS does not list reachable KDCs; the DC locator may still have found a DC over LDAP",
        signatures: &[any(&[
            "No authority could be contacted for authentication",
            "SEC_E_NO_AUTHENTICATING_AUTHORITY",
            "0x80090311",
            "KDC_ERR_SVC_UNAVAILABLE",
            "The KDC is unavailable",
            "Cannot contact any KDC",
            "no logon servers available to service the logon request",
        ])],
        fix: "Open TCP and UDP 88 from the sync server to the DCs of the connector account's domain and of this domain, and check the DNS SRV records _kerberos._tcp.<domain> name DCs the sync server can reach.",
        commands: &["nslookup -type=SRV '_kerberos._tcp.<domain>'", "Test-NetConnection '<DC>' -Port 88", "nltest '/dsgetdc:<domain>' /kdc /force"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::KerberosClockSkew,
        id: "kerberos-clock-skew",
        cause: "the sync server's clock and the DC's differ by more than Kerberos tolerates (5 minutes by default), so the DC refuses its tickets (KRB_AP_ERR_SKEW, SEC_E_TIME_SKEW 0x80090324)",
        signatures: &[any(&[
            "KRB_AP_ERR_SKEW",
            "clock skew too great",
            "SEC_E_TIME_SKEW",
            "0x80090324",
            "clocks on the client and server machines are skewed",
            "time and/or date difference between the client and server",
            "time at the primary domain controller is different from the time at the backup domain controller",
            "Error 1398",
        ])],
        fix: "Let the sync server take its time from the domain hierarchy and resynchronise it; if the DCs themselves are off, fix the time source of the forest root's PDC emulator.",
        commands: &[
            "w32tm /query /status",
            "w32tm /stripchart '/computer:<DC>' /samples:3 /dataonly",
            "w32tm /config /syncfromflags:domhier /update",
            "w32tm /resync",
        ],
    },
    SyncErrorClass {
        kind: SyncErrorKind::KerberosEncryptionType,
        id: "kerberos-encryption-type",
        cause: "the KDC and the connector account share no Kerberos encryption type (KDC_ERR_ETYPE_NOTSUPP, SEC_E_KDC_UNKNOWN_ETYPE 0x80090342): typically RC4 was turned off while the account only has RC4 keys, because its password was last set before AES was available, or msDS-SupportedEncryptionTypes or the \"Configure encryption types allowed for Kerberos\" policy excludes what the other side offers",
        signatures: &[any(&[
            "KDC_ERR_ETYPE_NOTSUPP",
            "KDC_ERR_ETYPE_NOSUPP",
            "SEC_E_KDC_UNKNOWN_ETYPE",
            "0x80090342",
            "encryption type requested is not supported by the KDC",
        ])],
        fix: "Reset the connector account's password (which creates its AES keys) and set the new one in Synchronization Service Manager; check msDS-SupportedEncryptionTypes of the account and the Kerberos encryption type policy on the sync server and the DCs.",
        commands: &["Get-ADUser '<account>' -Properties msDS-SupportedEncryptionTypes,pwdLastSet", "Set-ADAccountPassword '<account>' -Reset"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::BadCredentials,
        id: "bad-credentials",
        // 652/655 carry the same words about the Entra connector account; in a
        // 611 they are about the AD side.
        cause: "the AD DS connector account was refused when binding to the domain: wrong user name or password, or the account is locked out, disabled or its password expired (in event 611 these words are about the AD account, not the Entra connector account)",
        signatures: &[any(&[
            "The user name or password is incorrect",
            "unknown user name or bad password",
            "0x8007052e",
            "referenced account is currently locked out",
            "password for this account has expired",
            "account is currently disabled",
        ])],
        fix: "Update the connector account's password in Synchronization Service Manager (Connectors > the AD connector > Properties > Connect to Active Directory Forest) or through the Entra Connect wizard, and check the account is enabled, unlocked and not expired.",
        commands: &[],
    },
    SyncErrorClass {
        kind: SyncErrorKind::CannotResolveDc,
        id: "cannot-resolve-dc",
        cause: "the sync server could not resolve the domain controller's host name in DNS",
        signatures: &[
            all(&["DrsConnection.CreateSourceDomainInformation", "DrsConnection.ReadServerGuids"]),
            all(&["DrsConnection.CreateSourceDomainInformation", "DrsConnection.ResolveSourceHostName", "Dns.GetHostEntry"]),
            any(&["No such host is known"]),
        ],
        fix: "Fix name resolution from the sync server to the domain's DCs (nslookup <dc fqdn>, nslookup -type=SRV _ldap._tcp.dc._msdcs.<domain>), or list reachable DCs as preferred DCs for this partition.",
        commands: &["nslookup -type=SRV '_ldap._tcp.dc._msdcs.<domain>'", "nltest '/dsgetdc:<domain>'"],
    },
    // RPC classes before cannot-locate-dc: the DC locator's wrapper text also
    // surrounds RPC failures against a DC that was found.
    SyncErrorClass {
        kind: SyncErrorKind::RpcServerUnavailable,
        id: "rpc-server-unavailable",
        cause: "the RPC server (the DC's replication endpoint) is unavailable: usually a firewall blocking port 135 or the dynamic RPC ports",
        signatures: &[any(&["RPC server is unavailable", "RPC Error 1722"])],
        fix: "Open TCP 135 and the dynamic RPC range (49152-65535) from the sync server to the DCs, or restrict the DCs' replication port and open that.",
        commands: &["Test-NetConnection '<DC>' -Port 135", "portqry -n '<DC>' -e 135"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::OtherRpc,
        id: "other-rpc",
        cause: "a directory replication (RPC) call failed",
        signatures: &[any(&["RPC Error"])],
        fix: "Look up the RPC error number in the event text (8439 and 8593 point to old DCs or a domain rename and need a newer Entra Connect; 1825, a security package error, is Kerberos: check time, SPNs and DNS of the DC); check DC health with dcdiag and repadmin /showrepl.",
        commands: &["dcdiag '/s:<DC>'", "repadmin /showrepl '<DC>'"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::AuthenticationFailed,
        id: "authentication-failed",
        cause: "binding to the domain as the AD DS connector account failed authentication for a reason the event does not name in words phs-doctor knows; the password is the usual cause, Kerberos (time, SPNs, port 88) the next",
        signatures: &[
            any(&["AuthenticationException"]),
            // A failed bind while resolving the DC, unless the text says the DC
            // could not be reached at all (that is cannot-locate-dc).
            Signature {
                all: &["DirectoryEntry.Bind"],
                any: &["DrsConnection.ResolveDomainController", "DirectoryUtility.GetDomainNamingContextInfo"],
                none: &["server is not operational", "could not be contacted", "could not be found"],
            },
        ],
        fix: "Read the innermost exception of the event; test the connector account's bind (phs-doctor's AD check does), set its current password in Synchronization Service Manager if that fails, and otherwise check the sync server's clock and the DC's SPNs.",
        commands: &["w32tm /query /status", "setspn -Q 'ldap/<DC>'"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::CannotLocateDc,
        id: "cannot-locate-dc",
        cause: "the sync server could not locate a domain controller for the domain (preferred DCs unreachable or DC locator failed)",
        signatures: &[
            Signature {
                all: &["DrsConnection.ResolveDomainController"],
                any: &["DirectoryUtility.FindPreferredDC", "Domain.GetDomain"],
                none: &["DirectoryEntry.Bind"],
            },
            any(&[
                "attempting to locate a domain controller",
                "could not be contacted",
                "domain controller could not be found",
                "server is not operational",
            ]),
        ],
        fix: "Check the domain's DCs are up and reachable (DNS, LDAP 389/636, Kerberos 88, RPC 135 and the dynamic RPC ports), and review the partition's preferred DCs in Synchronization Service Manager (Configure Directory Partitions); restart the ADSync service after changing them.",
        commands: &["nltest '/dsgetdc:<domain>' /force", "Test-NetConnection '<DC>' -Port 135", "Restart-Service ADSync"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::Ldap,
        id: "ldap",
        cause: "an LDAP operation against the domain failed",
        signatures: &[any(&[".LdapException", ".DirectoryOperationException"])],
        fix: "Check LDAP connectivity and the connector account's read permissions; the exception text names the LDAP error.",
        commands: &[],
    },
    SyncErrorClass {
        kind: SyncErrorKind::Cryptography,
        id: "cryptography",
        cause: "a cryptographic operation failed, typically because FIPS mode is enforced and blocks the MD5 key derivation password hash sync needs",
        signatures: &[any(&[".CryptographicException"])],
        fix: "If the FIPS policy is enforced, add <enforceFIPSPolicy enabled=\"false\"/> under configuration/runtime in miiserver.exe.config and restart the server.",
        commands: &[],
    },
    SyncErrorClass {
        kind: SyncErrorKind::Internal,
        id: "internal",
        cause: "an internal error of the sync engine's retry handling",
        signatures: &[any(&["FimNotificationManager.GetRetryObjects", "FimNotificationManager.UpdateRetryStatus"])],
        fix: "Restart the ADSync service; if it persists, upgrade Entra Connect.",
        commands: &["Restart-Service ADSync"],
    },
];

/// The class used when no signature matches.
pub const UNRECOGNISED: SyncErrorClass = SyncErrorClass {
    kind: SyncErrorKind::Unrecognised,
    id: "unrecognised",
    cause: "an error phs-doctor does not recognise",
    signatures: &[],
    fix: "Read the exception in the event text; older builds' bugs (\"Not a valid Win32 FileTime\", \"An item with the same key has already been added\") are fixed by upgrading Entra Connect.",
    commands: &[],
};

pub fn classify(text: &str) -> &'static SyncErrorClass {
    let lowered = text.to_lowercase();
    CLASSES.iter().find(|c| c.signatures.iter().any(|s| s.matches(&lowered))).unwrap_or(&UNRECOGNISED)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Realistic 611 texts: the shapes in Microsoft's support articles, with
    /// the stack frames the agent prints.
    const ACCESS_DENIED: &str = "Password synchronization failed for domain: emea.fabrikam.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsException: RPC Error 8453: Replication access was denied. There was an error calling _IDL_DRSGetNCChanges.\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.OnGetChanges(ReplicationState syncState)\r\n   at Microsoft.Online.PasswordSynchronization.DeltaSynchronizationTask.SynchronizeCredentialsToCloud()";
    const REJECTED: &str = "Password synchronization failed for domain: fabrikam.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsException: RPC Error 8456 : The source server is currently rejecting replication requests. There was an error calling _IDL_DRSGetNCChanges.\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.OnGetChanges(ReplicationState syncState)";
    const BAD_CREDENTIALS: &str = "Password synchronization failed for domain: ChildDomain.Contoso.Com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: ChildDomain.Contoso.Com. Error: An exception occurred while attempting to locate a domain controller for domain ChildDomain.Contoso.Com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: ---> System.Security.Authentication.AuthenticationException: The user name or password is incorrect. ---> System.Runtime.InteropServices.COMException: The user name or password is incorrect.\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    const CANNOT_RESOLVE: &str = "Password synchronization failed for domain: tailspintoys.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: tailspintoys.com. ---> System.Net.Sockets.SocketException: No such host is known\r\n   at System.Net.Dns.GetHostEntry(String hostNameOrAddress)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveSourceHostName()\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.CreateSourceDomainInformation()";
    const CANNOT_LOCATE: &str = "Password synchronization failed for domain: tailspintoys.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: tailspintoys.com. ---> System.DirectoryServices.ActiveDirectory.ActiveDirectoryObjectNotFoundException: The specified domain controller dc02.tailspintoys.com could not be found.\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryUtility.FindPreferredDC(String domainName, IList`1 preferredDCs)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    const RPC_UNAVAILABLE: &str = "Password synchronization failed for domain: fabrikam.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: RPC Error 1722 : The RPC server is unavailable. Error creating the RPC binding handle\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.Bind()";
    const OTHER_RPC: &str = "Password synchronization failed for domain: contoso.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsException: RPC Error 8439 : The distinguished name specified for this replication operation is invalid. There was an error calling _IDL_DRSGetNCChanges.";
    const LDAP: &str = "Password synchronization failed for domain: contoso.com. Details: System.DirectoryServices.Protocols.LdapException: The LDAP server is unavailable.\r\n   at System.DirectoryServices.Protocols.LdapConnection.Connect()";
    const CRYPTO: &str = "Password synchronization failed for domain: contoso.com. Details: System.Security.Cryptography.CryptographicException: This implementation is not part of the Windows Platform FIPS validated cryptographic algorithms.\r\n   at System.Security.Cryptography.MD5CryptoServiceProvider..ctor()";
    const INTERNAL: &str = "Password synchronization failed for domain: contoso.com. Details: System.NullReferenceException: Object reference not set to an instance of an object.\r\n   at Microsoft.Online.PasswordSynchronization.FimNotificationManager.GetRetryObjects(Guid partitionId)";
    const UNKNOWN: &str = "Password synchronization failed for domain: contoso.com. Details: System.ArgumentOutOfRangeException: Not a valid Win32 FileTime.";

    /// Kerberos failures, in the shapes the agent prints: inside the DC
    /// locator's wrapper as an AuthenticationException over a COMException from
    /// DirectoryEntry.Bind (like BAD_CREDENTIALS), with the HRESULT only, from
    /// the naming-context lookup, or from the RPC bind of the replication call.
    const WRONG_PRINCIPAL: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: corp.contoso.com. Error: An exception occurred while attempting to locate a domain controller for domain corp.contoso.com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: ---> System.Security.Authentication.AuthenticationException: The target principal name is incorrect. ---> System.Runtime.InteropServices.COMException: The target principal name is incorrect.\r\n\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at System.DirectoryServices.DirectoryEntry.Bind()\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    const WRONG_PRINCIPAL_HRESULT: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: corp.contoso.com. ---> System.Runtime.InteropServices.COMException (0x80090322)\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at System.DirectoryServices.DirectoryEntry.get_NativeObject()\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryUtility.GetDomainNamingContextInfo(String domainName, NetworkCredential credential)";
    const WRONG_PRINCIPAL_RPC: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: RPC Error -2146893022 : The target principal name is incorrect. Error creating the RPC binding handle\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.Bind()\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.Open()";
    const KDC_UNREACHABLE: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: corp.contoso.com. Error: An exception occurred while attempting to locate a domain controller for domain corp.contoso.com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: ---> System.Security.Authentication.AuthenticationException: No authority could be contacted for authentication. ---> System.Runtime.InteropServices.COMException: No authority could be contacted for authentication.\r\n\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    const KDC_UNREACHABLE_HRESULT: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: corp.contoso.com. ---> System.Runtime.InteropServices.COMException (0x80090311)\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryUtility.GetDomainNamingContextInfo(String domainName, NetworkCredential credential)";
    const NO_LOGON_SERVERS: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: RPC Error 1311 : There are currently no logon servers available to service the logon request. Error creating the RPC binding handle\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.Bind()";
    const CLOCK_SKEW: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: corp.contoso.com. Error: An exception occurred while attempting to locate a domain controller for domain corp.contoso.com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: ---> System.Security.Authentication.AuthenticationException: The time at the primary domain controller is different from the time at the backup domain controller or member server by too large an amount. ---> System.Runtime.InteropServices.COMException: The time at the primary domain controller is different from the time at the backup domain controller or member server by too large an amount.\r\n\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    const CLOCK_SKEW_RPC: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: RPC Error 1398 : There is a time and/or date difference between the client and server. Error creating the RPC binding handle\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.Bind()";
    const CLOCK_SKEW_HRESULT: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: corp.contoso.com. ---> System.Security.Authentication.AuthenticationException: The clocks on the client and server machines are skewed. ---> System.Runtime.InteropServices.COMException (0x80090324): The clocks on the client and server machines are skewed.\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryUtility.GetDomainNamingContextInfo(String domainName, NetworkCredential credential)";
    const ENCRYPTION_TYPE: &str = "Password synchronization failed for domain: corp.contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: corp.contoso.com. Error: An exception occurred while attempting to locate a domain controller for domain corp.contoso.com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: ---> System.Security.Authentication.AuthenticationException: The encryption type requested is not supported by the KDC. ---> System.Runtime.InteropServices.COMException (0x80090342): The encryption type requested is not supported by the KDC.\r\n\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    /// Account states the DC reports in the same wrapper as a wrong password.
    const LOCKED_OUT: &str = "Password synchronization failed for domain: contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: contoso.com. Error: An exception occurred while attempting to locate a domain controller for domain contoso.com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: ---> System.Security.Authentication.AuthenticationException: The referenced account is currently locked out and may not be logged on to. ---> System.Runtime.InteropServices.COMException: The referenced account is currently locked out and may not be logged on to.\r\n\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    /// An authentication failure whose reason is neither a credential nor a
    /// Kerberos problem phs-doctor knows (the sync server's machine account).
    const AUTHENTICATION_OTHER: &str = "Password synchronization failed for domain: contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: contoso.com. Error: An exception occurred while attempting to locate a domain controller for domain contoso.com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: ---> System.Security.Authentication.AuthenticationException: The security database on the server does not have a computer account for this workstation trust relationship. ---> System.Runtime.InteropServices.COMException: The security database on the server does not have a computer account for this workstation trust relationship.\r\n\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    /// The DC could not be reached over LDAP at all: not an authentication problem.
    const SERVER_DOWN: &str = "Password synchronization failed for domain: contoso.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: contoso.com. ---> System.Runtime.InteropServices.COMException: The server is not operational.\r\n\r\n   at System.DirectoryServices.DirectoryEntry.Bind(Boolean throwIfFail)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    /// The cannot-locate shape of the two-forest example: preferred DCs unreachable.
    const PREFERRED_UNREACHABLE: &str = "Password synchronization failed for domain: tailspintoys.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: tailspintoys.com. Error: An exception occurred while attempting to locate a domain controller for domain tailspintoys.com. ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: An exception occurred while attempting to locate a domain controller for domain tailspintoys.com. ---> System.DirectoryServices.ActiveDirectory.ActiveDirectoryObjectNotFoundException: None of the preferred domain controllers configured for domain tailspintoys.com (dc02.tailspintoys.com) could be contacted, and domain controller failover is disabled for this partition.\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryUtility.FindPreferredDC(String domainName, IEnumerable`1 preferredDomainControllers, NetworkCredential credential)\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    /// The DC was found, then its RPC endpoint could not be reached.
    const RPC_UNAVAILABLE_WHILE_LOCATING: &str = "Password synchronization failed for domain: fabrikam.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: fabrikam.com. Error: An exception occurred while attempting to locate a domain controller for domain fabrikam.com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: RPC Error 1722 : The RPC server is unavailable. Error creating the RPC binding handle\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.Bind()\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.ResolveDomainController()";
    const ENDPOINT_MAPPER_WHILE_LOCATING: &str = "Password synchronization failed for domain: fabrikam.com. Details: Microsoft.Online.PasswordSynchronization.SynchronizationManagerException: Unable to open connection to domain: fabrikam.com. Error: An exception occurred while attempting to locate a domain controller for domain fabrikam.com ---> Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsCommunicationException: RPC Error 1753 : There are no more endpoints available from the endpoint mapper. Error creating the RPC binding handle\r\n   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.Bind()";

    /// Every sample with the class it must get.
    const SAMPLES: &[(&str, SyncErrorKind)] = &[
        (ACCESS_DENIED, SyncErrorKind::ReplicationAccessDenied),
        (REJECTED, SyncErrorKind::ReplicationRejected),
        (WRONG_PRINCIPAL, SyncErrorKind::KerberosWrongPrincipal),
        (WRONG_PRINCIPAL_HRESULT, SyncErrorKind::KerberosWrongPrincipal),
        (WRONG_PRINCIPAL_RPC, SyncErrorKind::KerberosWrongPrincipal),
        (KDC_UNREACHABLE, SyncErrorKind::KerberosKdcUnreachable),
        (KDC_UNREACHABLE_HRESULT, SyncErrorKind::KerberosKdcUnreachable),
        (NO_LOGON_SERVERS, SyncErrorKind::KerberosKdcUnreachable),
        (CLOCK_SKEW, SyncErrorKind::KerberosClockSkew),
        (CLOCK_SKEW_RPC, SyncErrorKind::KerberosClockSkew),
        (CLOCK_SKEW_HRESULT, SyncErrorKind::KerberosClockSkew),
        (ENCRYPTION_TYPE, SyncErrorKind::KerberosEncryptionType),
        (BAD_CREDENTIALS, SyncErrorKind::BadCredentials),
        (LOCKED_OUT, SyncErrorKind::BadCredentials),
        (CANNOT_RESOLVE, SyncErrorKind::CannotResolveDc),
        (RPC_UNAVAILABLE, SyncErrorKind::RpcServerUnavailable),
        (RPC_UNAVAILABLE_WHILE_LOCATING, SyncErrorKind::RpcServerUnavailable),
        (OTHER_RPC, SyncErrorKind::OtherRpc),
        (ENDPOINT_MAPPER_WHILE_LOCATING, SyncErrorKind::OtherRpc),
        (AUTHENTICATION_OTHER, SyncErrorKind::AuthenticationFailed),
        (CANNOT_LOCATE, SyncErrorKind::CannotLocateDc),
        (PREFERRED_UNREACHABLE, SyncErrorKind::CannotLocateDc),
        (SERVER_DOWN, SyncErrorKind::CannotLocateDc),
        (LDAP, SyncErrorKind::Ldap),
        (CRYPTO, SyncErrorKind::Cryptography),
        (INTERNAL, SyncErrorKind::Internal),
        (UNKNOWN, SyncErrorKind::Unrecognised),
    ];

    #[test]
    fn each_class_has_a_realistic_message() {
        for (text, kind) in SAMPLES {
            assert_eq!(classify(text).kind, *kind, "{text}");
        }
    }

    /// The first class whose signatures match, ignoring the classes listed:
    /// what the text would have been before those classes existed.
    fn classify_without(text: &str, left_out: &[SyncErrorKind]) -> SyncErrorKind {
        let lowered = text.to_lowercase();
        CLASSES
            .iter()
            .filter(|c| !left_out.contains(&c.kind))
            .find(|c| c.signatures.iter().any(|s| s.matches(&lowered)))
            .map_or(SyncErrorKind::Unrecognised, |c| c.kind)
    }

    #[test]
    fn kerberos_failures_are_not_bad_credentials() {
        use SyncErrorKind::*;
        let kerberos = [KerberosWrongPrincipal, KerberosKdcUnreachable, KerberosClockSkew, KerberosEncryptionType];
        // The wrong principal from DirectoryEntry.Bind inside an
        // AuthenticationException: the credential classes would take it.
        assert_eq!(classify(WRONG_PRINCIPAL).kind, KerberosWrongPrincipal);
        assert_eq!(classify_without(WRONG_PRINCIPAL, &kerberos), AuthenticationFailed);
        // Nor may the wrong-password class itself match any Kerberos text.
        let bad = CLASSES.iter().find(|c| c.kind == BadCredentials).unwrap();
        for text in [WRONG_PRINCIPAL, KDC_UNREACHABLE, CLOCK_SKEW, CLOCK_SKEW_HRESULT, ENCRYPTION_TYPE] {
            assert!(!bad.signatures.iter().any(|s| s.matches(&text.to_lowercase())), "{text}");
        }
        // The Kerberos classes sit before both credential classes.
        let pos = |k: SyncErrorKind| CLASSES.iter().position(|c| c.kind == k).unwrap();
        for k in kerberos {
            assert!(pos(k) < pos(BadCredentials) && pos(k) < pos(AuthenticationFailed), "{k:?}");
        }
        // Commands name the DC and the domain where the rule knows them.
        let spn = CLASSES.iter().find(|c| c.kind == KerberosWrongPrincipal).unwrap();
        assert!(spn.commands.contains(&"setspn -Q 'ldap/<DC>'"));
        let kdc = CLASSES.iter().find(|c| c.kind == KerberosKdcUnreachable).unwrap();
        assert!(kdc.commands.contains(&"nslookup -type=SRV '_kerberos._tcp.<domain>'"));
        let skew = CLASSES.iter().find(|c| c.kind == KerberosClockSkew).unwrap();
        assert!(skew.commands.contains(&"w32tm /resync"));
    }

    /// Each case a broad signature used to swallow, with what it became.
    #[test]
    fn broad_signatures_no_longer_swallow_specific_causes() {
        use SyncErrorKind::*;
        // "No authority could be contacted" inside the DC locator's wrapper:
        // the wrapper's words made it cannot-locate-dc, the
        // AuthenticationException bad-credentials.
        assert_eq!(classify(KDC_UNREACHABLE).kind, KerberosKdcUnreachable);
        assert_eq!(
            classify_without(KDC_UNREACHABLE, &[KerberosKdcUnreachable, AuthenticationFailed, BadCredentials]),
            CannotLocateDc
        );
        // An AuthenticationException that names no credential problem was
        // called a wrong password.
        assert_eq!(classify(AUTHENTICATION_OTHER).kind, AuthenticationFailed);
        // A bind from ResolveDomainController to a DC that is down matched the
        // bad-credentials frames.
        assert_eq!(classify(SERVER_DOWN).kind, CannotLocateDc);
        // RPC failures against a located DC, inside the locator's wrapper.
        assert_eq!(classify(RPC_UNAVAILABLE_WHILE_LOCATING).kind, RpcServerUnavailable);
        assert_eq!(classify(ENDPOINT_MAPPER_WHILE_LOCATING).kind, OtherRpc);
        // 1398 and 1311 are RPC errors, but ones with a named cause.
        assert_eq!(classify(CLOCK_SKEW_RPC).kind, KerberosClockSkew);
        assert_eq!(classify(NO_LOGON_SERVERS).kind, KerberosKdcUnreachable);
    }

    #[test]
    fn error_numbers_match_whole() {
        use SyncErrorKind::*;
        // A bare "8453" (with the OnGetChanges frame) used to mean access
        // denied; a GUID group in an 8456 text then made it one.
        let rejected_with_guid = REJECTED.replace(
            "There was an error calling",
            "Partition 6c2b7e10-8453-4d1f-9a3e-0b5c8d2f1a77. There was an error calling",
        );
        assert_eq!(classify(&rejected_with_guid).kind, ReplicationRejected);
        // A longer number is another error.
        let longer = "Password synchronization failed for domain: contoso.com. Details: Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsException: RPC Error 84530 : something else.";
        assert_eq!(classify(longer).kind, OtherRpc);
        assert_eq!(classify(&longer.replace("84530", "17220")).kind, OtherRpc);
        assert_eq!(classify(&longer.replace("84530", "8453")).kind, ReplicationAccessDenied);
        assert_eq!(classify(&longer.replace("84530", "1722")).kind, RpcServerUnavailable);
        assert_eq!(classify(&longer.replace("84530", "84560")).kind, OtherRpc);
        assert_eq!(classify(&WRONG_PRINCIPAL_HRESULT.replace("0x80090322", "0x800903221")).kind, AuthenticationFailed);
    }

    #[test]
    fn every_class_is_reachable_and_ids_are_unique() {
        for class in CLASSES {
            assert!(SAMPLES.iter().any(|(t, k)| *k == class.kind && classify(t).kind == class.kind), "{}", class.id);
        }
        let mut ids: Vec<&str> = CLASSES.iter().map(|c| c.id).collect();
        ids.push(UNRECOGNISED.id);
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}

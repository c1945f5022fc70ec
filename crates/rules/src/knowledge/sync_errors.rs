//! Root causes of event 611 ("Password synchronization failed for domain"),
//! recognised by the exception and stack frames in its text. Order matters:
//! the first class that matches wins, most specific first.

use super::signature::{all, any, Signature};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncErrorKind {
    ReplicationAccessDenied,
    ReplicationRejected,
    BadCredentials,
    CannotResolveDc,
    CannotLocateDc,
    RpcServerUnavailable,
    OtherRpc,
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
        signatures: &[any(&["RPC Error 8453", "Replication access was denied"]), all(&["8453", "DrsRpcConnection.OnGetChanges"])],
        fix: "Grant the connector account both replication rights on the root of this domain (on the sync server, from an elevated PowerShell with the AdSyncConfig module), then wait for the next two-minute cycle.",
        commands: &[
            "Import-Module \"C:\\Program Files\\Microsoft Azure Active Directory Connect\\AdSyncConfig\\AdSyncConfig.psm1\"",
            "Set-ADSyncPasswordHashSyncPermissions -ADConnectorAccountName <account> -ADConnectorAccountDomain <account domain>",
            "dsacls \"<domain root DN>\" /G \"<account principal>:CA;Replicating Directory Changes\" \"<account principal>:CA;Replicating Directory Changes All\"",
        ],
    },
    SyncErrorClass {
        kind: SyncErrorKind::ReplicationRejected,
        id: "replication-rejected-by-dc",
        cause: "the domain controller is rejecting replication requests (RPC error 8456): outbound replication was disabled on it",
        signatures: &[any(&["RPC Error 8456", "currently rejecting replication requests"])],
        fix: "Re-enable outbound replication on the DC (repadmin /options <DC> -DISABLE_OUTBOUND_REPL), or point the connector at other DCs with 'Only use preferred domain controllers'. Microsoft's troubleshooter does not detect this case.",
        commands: &["repadmin /options <DC> -DISABLE_OUTBOUND_REPL", "repadmin /options <DC>"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::BadCredentials,
        id: "bad-credentials",
        cause: "the AD DS connector account's user name or password was refused when binding to the domain",
        signatures: &[
            Signature { all: &["DirectoryEntry.Bind"], any: &["DrsConnection.ResolveDomainController", "DirectoryUtility.GetDomainNamingContextInfo"], none: &[] },
            any(&["The user name or password is incorrect", "AuthenticationException", "logon failure: unknown user name or bad password"]),
        ],
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
        commands: &["nslookup -type=SRV _ldap._tcp.dc._msdcs.<domain>", "nltest /dsgetdc:<domain>"],
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
            any(&["attempting to locate a domain controller", "could not be contacted", "domain controller could not be found"]),
        ],
        fix: "Check the domain's DCs are up and reachable (DNS, LDAP 389/636, Kerberos 88, RPC 135 and the dynamic RPC ports), and review the partition's preferred DCs in Synchronization Service Manager (Configure Directory Partitions); restart the ADSync service after changing them.",
        commands: &["nltest /dsgetdc:<domain> /force", "Test-NetConnection <DC> -Port 135", "Restart-Service ADSync"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::RpcServerUnavailable,
        id: "rpc-server-unavailable",
        cause: "the RPC server (the DC's replication endpoint) is unavailable: usually a firewall blocking port 135 or the dynamic RPC ports",
        signatures: &[any(&["RPC server is unavailable", "RPC Error 1722"])],
        fix: "Open TCP 135 and the dynamic RPC range (49152-65535) from the sync server to the DCs, or restrict the DCs' replication port and open that.",
        commands: &["Test-NetConnection <DC> -Port 135", "portqry -n <DC> -e 135"],
    },
    SyncErrorClass {
        kind: SyncErrorKind::OtherRpc,
        id: "other-rpc",
        cause: "a directory replication (RPC) call failed",
        signatures: &[any(&["RPC Error"])],
        fix: "Look up the RPC error number in the event text (8439 and 8593 point to old DCs or a domain rename and need a newer Entra Connect); check DC health with dcdiag and repadmin /showrepl.",
        commands: &["dcdiag /s:<DC>", "repadmin /showrepl <DC>"],
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

    #[test]
    fn each_class_has_a_realistic_message() {
        for (text, kind) in [
            (ACCESS_DENIED, SyncErrorKind::ReplicationAccessDenied),
            (REJECTED, SyncErrorKind::ReplicationRejected),
            (BAD_CREDENTIALS, SyncErrorKind::BadCredentials),
            (CANNOT_RESOLVE, SyncErrorKind::CannotResolveDc),
            (CANNOT_LOCATE, SyncErrorKind::CannotLocateDc),
            (RPC_UNAVAILABLE, SyncErrorKind::RpcServerUnavailable),
            (OTHER_RPC, SyncErrorKind::OtherRpc),
            (LDAP, SyncErrorKind::Ldap),
            (CRYPTO, SyncErrorKind::Cryptography),
            (INTERNAL, SyncErrorKind::Internal),
            (UNKNOWN, SyncErrorKind::Unrecognised),
        ] {
            assert_eq!(classify(text).kind, kind, "{text}");
        }
    }

    #[test]
    fn every_class_is_reachable_and_ids_are_unique() {
        let mut ids: Vec<&str> = CLASSES.iter().map(|c| c.id).collect();
        ids.push(UNRECOGNISED.id);
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}

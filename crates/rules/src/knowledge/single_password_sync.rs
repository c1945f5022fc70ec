//! Microsoft's third troubleshooting item, "Synchronize password hash for a
//! specific user account", as steps an administrator runs on the sync
//! server. phs-doctor never runs them: it prints them with the user's
//! values quoted (the values may come from hostile evidence).

use crate::command::fill_all;

/// One step: what to run (none for a step done by hand) and what it does.
pub struct Step {
    pub commands: Vec<String>,
    pub explains: &'static str,
}

const IMPORT: &str =
    "Import-Module 'C:\\Program Files\\Microsoft Azure AD Sync\\Bin\\ADSyncDiagnostics\\ADSyncDiagnostics.psm1'";

/// The steps for the user `dn` of the AD connector `connector`; a
/// placeholder stays where a value is unknown. The note says which values
/// were left out because they cannot be quoted safely.
pub fn steps(connector: Option<&str>, dn: Option<&str>) -> (Vec<Step>, Option<String>) {
    let connector = connector.unwrap_or("<AD connector name>");
    let dn = dn.unwrap_or("<user DN>");
    let values = [("<connector>", connector), ("<dn>", dn)];
    let (diagnose, note_a) = fill_all(
        &["Invoke-ADSyncDiagnostics -PasswordSync -ADConnectorName '<connector>' -DistinguishedName '<dn>'"],
        &values,
    );
    let (csobject, note_b) =
        fill_all(&["Get-ADSyncCSObject -ConnectorName '<connector>' -DistinguishedName '<dn>'"], &values);
    let steps = vec![
        Step {
            commands: vec![IMPORT.to_owned()],
            explains: "On the sync server, in an elevated Windows PowerShell: load Microsoft's troubleshooting module \
                       (it ships with Entra Connect Sync).",
        },
        Step {
            commands: diagnose,
            explains: "Microsoft's diagnostic for this user first (read-only): it checks the same path as phs-doctor \
                       user, from the server's side.",
        },
        Step {
            commands: vec!["Invoke-ADSyncDiagnostics -PasswordSync".to_owned()],
            explains: "Then choose \"Synchronize password hash for a specific user account\" and give the connector name \
                       and the DN shown above. It reads this user's current password hash from AD through the connector \
                       and sends it to Entra ID now, without waiting for the 2-minute cycle. It changes nothing in AD; it \
                       does overwrite the user's password hash in Entra ID with AD's. It cannot get past the causes the \
                       user checks find (scope, joins, sync rules, a temporary password).",
        },
        Step {
            commands: csobject
                .into_iter()
                .chain(["Get-ADSyncCSObjectLog -Identifier '<ObjectId shown by the line above>' -Count 1".to_owned()])
                .collect(),
            explains: "Afterwards, the newest entry of the user's password sync log says whether it worked \
                       (Success), or why not (see phs-doctor explain PHS024).",
        },
    ];
    (steps, note_a.or(note_b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_unsafe_ones_left_out() {
        let (s, note) = steps(Some("contoso.com"), Some("CN=O'Neil\\, Pat,OU=Staff,DC=contoso,DC=com"));
        assert!(note.is_none());
        assert!(s[1].commands[0].contains("-DistinguishedName 'CN=O''Neil\\, Pat,OU=Staff,DC=contoso,DC=com'"));
        for step in &s {
            for c in &step.commands {
                assert!(crate::command::is_safe_powershell(c), "{c}");
            }
        }
        let (s, note) = steps(Some("contoso.com"), Some("CN=x\"; Remove-Item C:\\ -Recurse; \""));
        assert!(note.is_some());
        assert!(s[1].commands.is_empty());
        let (s, _) = steps(None, None);
        assert!(s[1].commands[0].contains("'<AD connector name>'"));
    }
}

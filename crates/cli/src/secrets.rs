//! Where secrets come from (connector account passwords, the Graph client
//! secret and certificate key): an environment variable named in the config,
//! a file only its owner can read, or a hidden prompt on a terminal. Never
//! the command line, never a log, report or snapshot.

use phs_sources::ad::Secret;
use phs_sources::evidence_file;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Env(VarName),
    File(PathBuf),
    Prompt,
}

/// An environment variable's name, checked to look like one
/// (`[A-Za-z_][A-Za-z0-9_]*`). A value that doesn't is most likely the
/// secret itself typed into the wrong setting, so it is never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarName(String);

impl VarName {
    /// `setting` names where the value came from, for the error.
    pub fn parse(setting: &str, text: &str) -> Result<VarName, String> {
        let mut chars = text.chars();
        let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(VarName(text.to_owned()))
        } else {
            Err(format!(
                "{setting} must be the name of an environment variable (letters, digits and _, not starting with a \
                 digit); the value given is not one and is not shown, in case it is the secret itself"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PasswordSource {
    /// Reads the password. The error says what is wrong with the source and
    /// never contains the password.
    pub fn read(&self, account: &str) -> Result<Secret, String> {
        let value = match self {
            PasswordSource::Env(var) => match std::env::var(var.as_str()) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => {
                    return Err(format!("environment variable {} is not set", var.0))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(format!("environment variable {} is not valid Unicode", var.0))
                }
            },
            PasswordSource::File(path) => read_secret_file(path)?,
            PasswordSource::Prompt => {
                if !std::io::stdin().is_terminal() {
                    return Err("the password prompt needs a terminal; use password_env or password_file".into());
                }
                inquire::Password::new(&format!("Password of {account}:"))
                    .without_confirmation()
                    .with_display_mode(inquire::PasswordDisplayMode::Hidden)
                    .prompt()
                    .map_err(|e| format!("no password entered ({e})"))?
            }
        };
        let secret = Secret::new(value);
        if secret.expose().is_empty() {
            return Err("the password is empty".into());
        }
        Ok(secret)
    }

    pub fn describe(&self) -> String {
        match self {
            PasswordSource::Env(v) => format!("environment variable {}", v.0),
            PasswordSource::File(p) => format!("file {}", p.display()),
            PasswordSource::Prompt => "prompt".into(),
        }
    }
}

/// The secret in a file only its owner can read (see
/// [`evidence_file::read_private`]), as Windows editors and PowerShell
/// write it: a leading BOM dropped, UTF-16 decoded, and one trailing line
/// break (CRLF, LF or CR) removed. Anything else, spaces included, is part
/// of the secret.
fn read_secret_file(path: &Path) -> Result<String, String> {
    let mut bytes = evidence_file::read_private(path, evidence_file::cap::SECRET)
        .map_err(|e| format!("secret file {}: {e}", path.display()))?;
    let text = secret_text(&bytes).map_err(|e| format!("secret file {}: {e}", path.display()));
    // The raw bytes hold the secret too; don't leave them in freed memory.
    bytes.fill(0);
    std::hint::black_box(&bytes);
    text
}

fn secret_text(bytes: &[u8]) -> Result<String, String> {
    // Decoded UTF-16 is a copy of the secret: keep it where it is wiped.
    let decoded = Secret::new(phs_sources::text::decode(bytes)?.into_owned());
    let text = decoded.expose();
    let line = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .or_else(|| text.strip_suffix('\r'))
        .unwrap_or(text);
    if line.is_empty() {
        return Err(if text.is_empty() { "the file is empty" } else { "the file holds only a line break" }.to_owned());
    }
    Ok(line.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "Lab-Pässw0rd 1";

    #[cfg(unix)]
    fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    }

    fn utf16(text: &str, bom: [u8; 2], unit: fn(u16) -> [u8; 2]) -> Vec<u8> {
        let mut out = bom.to_vec();
        for u in text.encode_utf16() {
            out.extend(unit(u));
        }
        out
    }

    /// What Notepad, PowerShell 5.1 (`Out-File`, `>`, `Set-Content`) and
    /// Unix editors write, each holding the same password.
    fn encodings() -> Vec<(&'static str, Vec<u8>)> {
        let mut out = vec![
            ("bare", PASSWORD.as_bytes().to_vec()),
            ("LF", format!("{PASSWORD}\n").into_bytes()),
            ("CRLF", format!("{PASSWORD}\r\n").into_bytes()),
            ("CR", format!("{PASSWORD}\r").into_bytes()),
            ("UTF-8 BOM + CRLF", [b"\xEF\xBB\xBF".as_slice(), format!("{PASSWORD}\r\n").as_bytes()].concat()),
            ("UTF-8 BOM", [b"\xEF\xBB\xBF".as_slice(), PASSWORD.as_bytes()].concat()),
        ];
        for (name, bom, unit) in [
            ("UTF-16LE", [0xFF, 0xFE], u16::to_le_bytes as fn(u16) -> [u8; 2]),
            ("UTF-16BE", [0xFE, 0xFF], u16::to_be_bytes),
        ] {
            out.push((name, utf16(PASSWORD, bom, unit)));
            out.push((name, utf16(&format!("{PASSWORD}\r\n"), bom, unit)));
            out.push((name, utf16(&format!("{PASSWORD}\n"), bom, unit)));
        }
        out
    }

    #[test]
    fn secret_text_drops_the_bom_decodes_utf16_and_one_line_break() {
        for (name, bytes) in encodings() {
            assert_eq!(secret_text(&bytes).as_deref(), Ok(PASSWORD), "{name}");
        }
        // Only one line break goes; the rest, spaces included, is the secret.
        assert_eq!(secret_text(b"pw\n\n").as_deref(), Ok("pw\n"));
        assert_eq!(secret_text(b"pw\r\n\r\n").as_deref(), Ok("pw\r\n"));
        assert_eq!(secret_text(b"pw\n\r").as_deref(), Ok("pw\n"));
        assert_eq!(secret_text(b" pw \n").as_deref(), Ok(" pw "));
    }

    #[test]
    fn empty_secrets_and_bad_encodings_are_refused_without_content() {
        for (bytes, why) in [
            (&b""[..], "the file is empty"),
            (b"\xEF\xBB\xBF", "the file is empty"),
            (b"\xFF\xFE", "the file is empty"),
            (b"\n", "only a line break"),
            (b"\r\n", "only a line break"),
            (b"\xEF\xBB\xBF\r", "only a line break"),
            (b"\xFF\xFE\r\x00\n\x00", "only a line break"),
        ] {
            assert!(secret_text(bytes).unwrap_err().contains(why), "{bytes:?}");
        }
        let e = secret_text(b"pass\xFFword").unwrap_err();
        assert!(e.contains("invalid UTF-8 at byte offset 4") && !e.contains("pass"), "{e}");
        let e = secret_text(b"\xFF\xFEp\x00w").unwrap_err();
        assert!(e.contains("odd length"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn password_files_in_every_encoding_read_as_the_same_password() {
        let dir = tempfile::tempdir().unwrap();
        for (i, (name, bytes)) in encodings().into_iter().enumerate() {
            let p = file_with(dir.path(), &format!("pw{i}"), &bytes);
            assert_eq!(PasswordSource::File(p).read("x").unwrap().expose(), PASSWORD, "{name}");
        }
        let empty = file_with(dir.path(), "empty", b"\r\n");
        let e = PasswordSource::File(empty.clone()).read("x").unwrap_err();
        assert!(e.contains(&empty.display().to_string()) && e.contains("only a line break"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn unsafe_password_files_are_refused_and_the_error_holds_no_password() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = file_with(dir.path(), "pw", format!("{PASSWORD}\n").as_bytes());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = PasswordSource::File(p.clone()).read("x").unwrap_err();
        assert!(e.contains("chmod 600") && e.contains(&p.display().to_string()), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let e = PasswordSource::File(link).read("x").unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(!e.contains(PASSWORD));
    }

    #[test]
    fn variable_names_are_checked_and_bad_ones_never_echoed() {
        for good in ["PHS_PW", "_x", "a", "LAB1_SVC_DIRECT_PASSWORD", "Az09_"] {
            assert_eq!(VarName::parse("password_env", good).unwrap().as_str(), good);
        }
        for bad in ["Lab-Passw0rd!", "9LIVES", "", "pw with space", "PW=1", "pw$", "Pässword", "pw\n", "A-B"] {
            let e = VarName::parse("[ad.connector.\"lab1\"] password_env", bad).unwrap_err();
            assert!(e.starts_with("[ad.connector.\"lab1\"] password_env must be the name"), "{e}");
            assert!(bad.is_empty() || !e.contains(bad), "{bad:?} echoed: {e}");
        }
    }

    #[test]
    fn env_variables_are_read_and_unset_ones_named() {
        std::env::set_var("PHS_DOCTOR_TEST_SECRET", "s3cret!");
        let var = VarName::parse("password_env", "PHS_DOCTOR_TEST_SECRET").unwrap();
        assert_eq!(PasswordSource::Env(var).read("x").unwrap().expose(), "s3cret!");
        let unset = VarName::parse("password_env", "PHS_DOCTOR_TEST_UNSET").unwrap();
        let e = PasswordSource::Env(unset).read("x").unwrap_err();
        assert_eq!(e, "environment variable PHS_DOCTOR_TEST_UNSET is not set");
        std::env::set_var("PHS_DOCTOR_TEST_EMPTY", "");
        let empty = VarName::parse("password_env", "PHS_DOCTOR_TEST_EMPTY").unwrap();
        assert_eq!(PasswordSource::Env(empty).read("x").unwrap_err(), "the password is empty");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}

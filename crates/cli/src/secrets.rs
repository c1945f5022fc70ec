//! Where connector account passwords come from: an environment variable, a
//! file only its owner can read, or a hidden prompt on a terminal. Never the
//! command line, never a log, report or snapshot.

use phs_sources::ad::Secret;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Env(String),
    File(PathBuf),
    Prompt,
}

impl PasswordSource {
    /// Reads the password. The error says what is wrong with the source and
    /// never contains the password.
    pub fn read(&self, account: &str) -> Result<Secret, String> {
        let value = match self {
            PasswordSource::Env(var) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?
            }
            PasswordSource::File(path) => read_private_file(path)?,
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
        if value.is_empty() {
            return Err("the password is empty".into());
        }
        Ok(Secret::new(value))
    }

    pub fn describe(&self) -> String {
        match self {
            PasswordSource::Env(v) => format!("environment variable {v}"),
            PasswordSource::File(p) => format!("file {}", p.display()),
            PasswordSource::Prompt => "prompt".into(),
        }
    }
}

/// The whole file, without a trailing line break. Refused when group or
/// others may read it: a password file must be private.
fn read_private_file(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read password file {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "password file {} may be read by others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read password file {}: {e}", path.display()))?;
    Ok(text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_private_file() {
        std::env::set_var("PHS_DOCTOR_TEST_SECRET", "s3cret!");
        let s = PasswordSource::Env("PHS_DOCTOR_TEST_SECRET".into()).read("x").unwrap();
        assert_eq!(s.expose(), "s3cret!");
        assert!(PasswordSource::Env("PHS_DOCTOR_TEST_UNSET".into()).read("x").unwrap_err().contains("not set"));

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "filepass\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = PasswordSource::File(p.clone()).read("x").unwrap_err();
            assert!(e.contains("chmod 600") && !e.contains("filepass"), "{e}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(PasswordSource::File(p).read("x").unwrap().expose(), "filepass");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}

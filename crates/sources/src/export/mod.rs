//! The `Get-ADSyncServerConfiguration -Path <dir>` export folder:
//!
//! ```text
//! <dir>/Connectors/Connector_{guid}.xml            one per connector
//! <dir>/GlobalSettings/MV.xml (and maybe more)     global parameters
//! <dir>/SynchronizationRules/SynchronizationRule_{guid}.xml
//! ```
//!
//! Each file is parsed on its own, so one damaged file costs only its own facts;
//! the damage is reported as a [`CollectionProblem`] naming the file, element
//! and byte offset.

mod connector;
mod error;
mod global;
mod rule;
mod xml;

pub use connector::parse_connector;
pub use error::{ExportError, ExportErrorKind};
pub use global::{parse_global_settings, GlobalSettingsFile};
pub use rule::parse_sync_rule;

use phs_model::{CollectionProblem, ServerConfig, SourceKind};
use std::path::{Path, PathBuf};

const CONNECTORS: &str = "Connectors";
const GLOBAL_SETTINGS: &str = "GlobalSettings";
const SYNC_RULES: &str = "SynchronizationRules";

/// Reads the export folder. Never panics. A missing or unreadable folder, or
/// one where nothing at all could be read, gives `(None, problems)` with
/// `partial: false`. Otherwise every problem (a bad file, a missing
/// subfolder) is `partial: true` and the facts from the other files are returned.
pub fn read_server_config(dir: &Path) -> (Option<ServerConfig>, Vec<CollectionProblem>) {
    let mut problems = Vec::new();
    let entries = match list_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(problem(dir, format!("cannot read the export folder: {e}")));
            return (None, problems);
        }
    };

    let mut config = ServerConfig { path: dir.display().to_string(), ..ServerConfig::default() };
    let mut any_read = false;

    for (rel, bytes) in read_folder(dir, &entries, CONNECTORS, &mut problems) {
        match parse_connector(&bytes, &rel) {
            Ok(c) => {
                any_read = true;
                config.connectors.push(c);
            }
            Err(e) => problems.push(problem(&dir.join(&rel), e.to_string())),
        }
    }

    for (rel, bytes) in read_folder(dir, &entries, GLOBAL_SETTINGS, &mut problems) {
        match parse_global_settings(&bytes, &rel) {
            Ok(g) => {
                any_read = true;
                // Files come in name order, so "first wins" is deterministic.
                config.server_name = config.server_name.take().or(g.server_name);
                config.export_date = config.export_date.take().or(g.export_date);
                for (k, v) in g.parameters {
                    config.global_parameters.entry(k).or_insert(v);
                }
            }
            Err(e) => problems.push(problem(&dir.join(&rel), e.to_string())),
        }
    }

    for (rel, bytes) in read_folder(dir, &entries, SYNC_RULES, &mut problems) {
        match parse_sync_rule(&bytes, &rel) {
            Ok(r) => {
                any_read = true;
                config.sync_rules.push(r);
            }
            Err(e) => problems.push(problem(&dir.join(&rel), e.to_string())),
        }
    }

    config.connectors.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.file.cmp(&b.file)));
    config.sync_rules.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.file.cmp(&b.file)));

    if !any_read {
        if problems.is_empty() {
            problems.push(problem(dir, "no configuration files found in the export folder".to_owned()));
        }
        return (None, problems);
    }
    for p in &mut problems {
        p.partial = true;
    }
    (Some(config), problems)
}

/// `partial` is settled at the end, once we know whether anything was read.
fn problem(location: &Path, error: String) -> CollectionProblem {
    CollectionProblem::whole(SourceKind::ServerConfig, location.display().to_string(), error)
}

struct Entry {
    name: String,
    path: PathBuf,
    is_dir: bool,
}

/// Directory entries sorted by name (read_dir order is filesystem-dependent).
fn list_dir(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // Follow symlinks: an export copied around may contain them.
        let is_dir = path.is_dir();
        out.push(Entry { name: entry.file_name().to_string_lossy().into_owned(), path, is_dir });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Reads every `*.xml` file (extension in any case) of the subfolder `wanted`,
/// matched case-insensitively because exports get copied through tools and
/// file systems that change case. Returns (path relative to the export
/// folder, bytes). Problems are recorded for a missing folder and unreadable files.
fn read_folder(
    dir: &Path,
    entries: &[Entry],
    wanted: &str,
    problems: &mut Vec<CollectionProblem>,
) -> Vec<(String, Vec<u8>)> {
    let folder = entries
        .iter()
        .filter(|e| e.is_dir)
        .find(|e| e.name == wanted)
        .or_else(|| entries.iter().filter(|e| e.is_dir).find(|e| e.name.eq_ignore_ascii_case(wanted)));
    let Some(folder) = folder else {
        problems.push(problem(&dir.join(wanted), format!("{wanted}/: folder not found in the export")));
        return Vec::new();
    };
    let files = match list_dir(&folder.path) {
        Ok(f) => f,
        Err(e) => {
            problems.push(problem(&folder.path, format!("{}/: cannot read folder: {e}", folder.name)));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for f in files {
        let is_xml = Path::new(&f.name).extension().is_some_and(|ext| ext.eq_ignore_ascii_case("xml"));
        if f.is_dir || !is_xml {
            continue;
        }
        let rel = format!("{}/{}", folder.name, f.name);
        match crate::evidence_file::read(&f.path, crate::evidence_file::cap::EXPORT_FILE) {
            Ok(bytes) => out.push((rel, bytes)),
            Err(e) => problems.push(problem(&f.path, format!("{rel}: {e}"))),
        }
    }
    out
}

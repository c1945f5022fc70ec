//! The config file (TOML). It names the evidence and the thresholds; flags
//! override it. Paths are relative to the file's folder, so an evidence folder
//! can be zipped and judged anywhere.

use anyhow::{Context as _, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub evaluation: EvaluationSection,
    /// Live Active Directory checks; present = enabled.
    pub ad: Option<crate::ad::AdSection>,
    /// The tenant through Microsoft Graph; present = enabled.
    pub graph: Option<crate::graph::GraphSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub config_dir: Option<PathBuf>,
    #[serde(default)]
    pub events: Vec<PathBuf>,
    pub scheduler: Option<PathBuf>,
    pub company_features: Option<PathBuf>,
    pub partition_sync_state: Option<PathBuf>,
    /// When the gather script exported this evidence (RFC 3339, UTC). The
    /// event log is then known to be complete up to this time, and it is
    /// the default evaluation time of a run that reads no live source.
    pub gathered_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSection {
    pub now: Option<String>,
    pub heartbeat_window: Option<String>,
    pub error_window: Option<String>,
    pub persistent_error_count: Option<usize>,
    pub password_sync_window: Option<String>,
    pub directory_sync_window: Option<String>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let bytes = phs_sources::evidence_file::read(path, phs_sources::evidence_file::cap::CONFIG)
            .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        let text = String::from_utf8(bytes).with_context(|| format!("config file {} is not UTF-8", path.display()))?;
        let mut cfg: ConfigFile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("config file {}: {}", path.display(), e.to_string().trim_end()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let rebase = |p: &mut Option<PathBuf>| {
            if let Some(x) = p.as_mut() {
                *x = base.join(&*x);
            }
        };
        rebase(&mut cfg.server.config_dir);
        rebase(&mut cfg.server.scheduler);
        rebase(&mut cfg.server.company_features);
        rebase(&mut cfg.server.partition_sync_state);
        for e in &mut cfg.server.events {
            *e = base.join(&*e);
        }
        if let Some(ad) = cfg.ad.as_mut() {
            ad.rebase(base);
        }
        if let Some(g) = cfg.graph.as_mut() {
            g.rebase(base);
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented example of every setting must stay a valid config: it
    /// parses (unknown keys are refused), its paths rebase onto its folder,
    /// and its [ad] and [graph] sections turn into options.
    #[test]
    fn the_full_example_is_a_valid_config() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/phs-doctor.full.toml");
        let cfg = ConfigFile::load(&path).expect("examples/phs-doctor.full.toml parses");
        let export = cfg.server.config_dir.as_ref().expect("config_dir");
        assert!(export.join("Connectors").is_dir(), "{} is not an export", export.display());
        assert!(cfg.server.events.iter().all(|e| e.is_file()));
        assert_eq!(cfg.evaluation.password_sync_window.as_deref(), Some("2h"));
        assert_eq!(cfg.evaluation.directory_sync_window.as_deref(), Some("3h"));
        cfg.ad.as_ref().expect("[ad]").options().expect("[ad] options");
        let graph = cfg.graph.as_ref().expect("[graph]");
        let opts = graph.options().expect("[graph] options");
        assert_eq!(opts.timeout, std::time::Duration::from_secs(10));
        assert_eq!(graph.flow.as_deref(), Some("device-code"));
        let cred = graph.credential().expect("a device code credential needs no secret");
        assert_eq!(cred.flow(), "device-code");
        assert_eq!(cred.tenant(), "fabrikam.onmicrosoft.com");
    }
}

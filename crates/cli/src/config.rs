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
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
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

//! The evidence files to read, by kind. The kinds themselves are declared
//! once, in `phs_model::EVIDENCE_INPUTS`; this is the set of paths the
//! flags (`args`), the config file's `[server]` section (`config`) and the
//! collection loop (`collect`) all exchange, so none of them names a kind.

use phs_model::{EvidenceInput, SourceKind, EVIDENCE_INPUTS};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Paths per evidence kind; a kind without paths was not supplied.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EvidencePaths(BTreeMap<SourceKind, Vec<PathBuf>>);

impl EvidencePaths {
    pub fn get(&self, kind: SourceKind) -> &[PathBuf] {
        self.0.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// Replaces the kind's paths; none removes it.
    pub fn set(&mut self, kind: SourceKind, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            self.0.remove(&kind);
        } else {
            self.0.insert(kind, paths);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These paths, and for each kind they do not name, `base`'s: flags over
    /// the config file.
    pub fn or(&self, base: &EvidencePaths) -> EvidencePaths {
        let mut out = base.clone();
        for (kind, paths) in &self.0 {
            out.set(*kind, paths.clone());
        }
        out
    }

    /// The supplied kinds with their paths, in the declaration's order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static EvidenceInput, &[PathBuf])> + '_ {
        EVIDENCE_INPUTS.iter().map(|input| (input, self.get(input.source))).filter(|(_, paths)| !paths.is_empty())
    }

    pub fn paths_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        self.0.values_mut().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The declaration is what flags and config keys are made from: a
    /// repeated name would make one kind shadow another.
    #[test]
    fn every_evidence_kind_has_its_own_flag_key_and_source() {
        for (i, a) in EVIDENCE_INPUTS.iter().enumerate() {
            for b in &EVIDENCE_INPUTS[i + 1..] {
                assert_ne!(a.source, b.source);
                assert_ne!(a.flag, b.flag);
                assert_ne!(a.config_key, b.config_key);
            }
            assert!(!matches!(a.source, SourceKind::ActiveDirectory | SourceKind::Graph), "{a:?} is a live source");
        }
    }

    #[test]
    fn flags_win_per_kind_over_the_config() {
        let mut config = EvidencePaths::default();
        config.set(SourceKind::ServerConfig, vec!["export".into()]);
        config.set(SourceKind::Events, vec!["a.xml".into(), "b.xml".into()]);
        let mut flags = EvidencePaths::default();
        flags.set(SourceKind::Events, vec!["c.evtx".into()]);
        let merged = flags.or(&config);
        assert_eq!(merged.get(SourceKind::ServerConfig), [PathBuf::from("export")]);
        assert_eq!(merged.get(SourceKind::Events), [PathBuf::from("c.evtx")]);
        let kinds: Vec<SourceKind> = merged.iter().map(|(i, _)| i.source).collect();
        assert_eq!(kinds, [SourceKind::ServerConfig, SourceKind::Events]);
        assert!(EvidencePaths::default().or(&EvidencePaths::default()).is_empty());
    }
}

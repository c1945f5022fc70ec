//! The plan into a snapshot: every evidence file through its reader, then
//! the live sources. A piece that fails becomes a problem in the snapshot
//! and the others are still read.

use crate::live;
use crate::resolve::Plan;
use phs_model::{CollectionProblem, Snapshot, SourceKind, Timestamp};
use phs_sources::{cmdlets, events, export, sync_engine};
use std::path::{Path, PathBuf};

pub fn snapshot(plan: &Plan, collected_at: Timestamp) -> Snapshot {
    let mut snap = Snapshot::new(collected_at);
    snap.server.gathered_at = plan.gathered_at;
    for (input, paths) in plan.evidence.iter() {
        read(input.source, paths, plan.gathered_at, &mut snap);
    }
    live::run(&mut snap, plan.ad.as_ref(), plan.graph.as_ref(), plan.user.as_ref());
    if let Some(query) = &plan.user {
        // The live lookups of the user come with the live sources; without
        // them the user's facts are the server's cmdlet files alone.
        snap.user.get_or_insert_with(|| phs_model::UserEvidence { query: query.clone(), ad: None, cloud: None });
    }
    snap
}

/// Each evidence kind's reader and the snapshot field it fills: the one
/// place that joins the declaration (`phs_model::EVIDENCE_INPUTS`) to the
/// sources. `paths` is never empty; a kind that is not repeatable has one.
fn read(kind: SourceKind, paths: &[PathBuf], gathered_at: Option<Timestamp>, snap: &mut Snapshot) {
    let server = &mut snap.server;
    let problems = &mut snap.problems;
    match kind {
        SourceKind::ServerConfig => {
            let (cfg, found) = export::read_server_config(&paths[0]);
            server.config = cfg;
            problems.extend(found);
        }
        SourceKind::Events => {
            let opts = events::EventReadOptions {
                exported_at: gathered_at,
                ..events::EventReadOptions::at(snap.collected_at)
            };
            let (log, found) = events::read_event_files(paths, &opts);
            server.events = log;
            problems.extend(found);
        }
        SourceKind::Scheduler => server.scheduler = one(kind, &paths[0], cmdlets::read_scheduler, problems),
        SourceKind::CompanyFeatures => {
            server.company_features = one(kind, &paths[0], cmdlets::read_company_features, problems)
        }
        SourceKind::PartitionSyncState => {
            server.partition_sync_state = one(kind, &paths[0], cmdlets::read_partition_sync_state, problems)
        }
        SourceKind::CsObject => {
            // A file the cmdlet wrote `null` to says "not in that connector space".
            let mut empty = Vec::new();
            let read = |path: &Path| {
                let objects = sync_engine::read_cs_objects(path)?;
                if objects.is_empty() {
                    empty.push(path.display().to_string());
                }
                Ok(objects)
            };
            server.cs_objects = each(kind, paths, read, problems);
            server.cs_object_files_empty = empty;
        }
        SourceKind::MvObject => server.mv_objects = each(kind, paths, sync_engine::read_mv_objects, problems),
        SourceKind::CsObjectLog => server.cs_object_logs = each(kind, paths, sync_engine::read_cs_object_log, problems),
        // Live sources: no files, read by `live`.
        SourceKind::ActiveDirectory | SourceKind::Graph => {}
    }
}

/// A single-file reader: its facts, or a problem filed under `kind`.
fn one<T>(
    kind: SourceKind,
    path: &Path,
    reader: fn(&Path) -> Result<T, String>,
    problems: &mut Vec<CollectionProblem>,
) -> Option<T> {
    reader(path).map_err(|e| problems.push(CollectionProblem::whole(kind, path.display().to_string(), e))).ok()
}

/// A repeatable reader's facts from every file that reads, each failure a
/// problem filed under `kind` (partial when other files were read); None
/// when no file could be read.
fn each<T>(
    kind: SourceKind,
    paths: &[PathBuf],
    mut reader: impl FnMut(&Path) -> Result<Vec<T>, String>,
    problems: &mut Vec<CollectionProblem>,
) -> Option<Vec<T>> {
    let mut out = Vec::new();
    let mut read_any = false;
    let mut failed = Vec::new();
    for path in paths {
        match reader(path) {
            Ok(items) => {
                read_any = true;
                out.extend(items);
            }
            Err(e) => failed.push(CollectionProblem::whole(kind, path.display().to_string(), e)),
        }
    }
    for mut p in failed {
        p.partial = read_any;
        problems.push(p);
    }
    read_any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::EvidencePaths;
    use phs_model::EVIDENCE_INPUTS;

    fn plan(evidence: EvidencePaths) -> Plan {
        Plan {
            evidence,
            gathered_at: None,
            ad: None,
            graph: None,
            now: None,
            evaluation: Default::default(),
            user: None,
        }
    }

    /// Every declared kind reaches a reader: a file that is not there is a
    /// problem filed under that kind, naming the file.
    #[test]
    fn every_declared_kind_is_read_and_its_failure_filed_under_it() {
        let dir = tempfile::tempdir().unwrap();
        for input in EVIDENCE_INPUTS {
            let missing = dir.path().join(format!("no-{}", input.flag));
            let mut evidence = EvidencePaths::default();
            evidence.set(input.source, vec![missing.clone()]);
            let snap = snapshot(&plan(evidence), "2026-11-25T12:00:00Z".parse().unwrap());
            let filed: Vec<&CollectionProblem> = snap.problems_for(input.source).collect();
            assert!(!filed.is_empty(), "{}: no problem in {:?}", input.flag, snap.problems);
            assert!(
                filed.iter().any(|p| p.location.contains(&*missing.to_string_lossy())),
                "{}: {filed:?}",
                input.flag
            );
            assert!(snap.problems.iter().all(|p| p.source == input.source), "{}: {:?}", input.flag, snap.problems);
        }
    }

    /// The real samples land in their fields.
    #[test]
    fn the_example_evidence_fills_the_snapshot() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/two-forest-healthy");
        let cfg = crate::config::ConfigFile::load(&base.join("phs-doctor.toml"), crate::config::Trust::Evidence)
            .expect("the example config loads");
        let snap = snapshot(&plan(cfg.server.evidence.clone()), "2026-11-25T12:00:00Z".parse().unwrap());
        assert!(snap.problems.is_empty(), "{:?}", snap.problems);
        for (input, _) in cfg.server.evidence.iter() {
            let filled = snap.server.has(input.source);
            assert!(filled, "{} did not fill its field", input.flag);
        }
    }
}

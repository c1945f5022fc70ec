//! Resolves flags and the config file into one set of evidence paths and
//! settings, and reads the evidence into a snapshot.

use crate::args::InputArgs;
use crate::config::{ConfigFile, Trust};
use anyhow::{anyhow, bail, Result};
use jiff::SignedDuration;
use phs_model::{CollectionProblem, Snapshot, SourceKind, Timestamp};
use phs_rules::Settings;
use phs_sources::{cmdlets, events, export};
use std::path::PathBuf;

/// Evidence to read, after merging flags over the config file.
#[derive(Debug, Default)]
pub struct Evidence {
    pub server_config: Option<PathBuf>,
    pub events: Vec<PathBuf>,
    pub scheduler: Option<PathBuf>,
    pub company_features: Option<PathBuf>,
    pub partition_sync_state: Option<PathBuf>,
    /// When the evidence was exported on the server.
    pub gathered_at: Option<Timestamp>,
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        self.server_config.is_none()
            && self.events.is_empty()
            && self.scheduler.is_none()
            && self.company_features.is_none()
            && self.partition_sync_state.is_none()
    }
}

pub struct Resolved {
    pub evidence: Evidence,
    /// Live AD checks to run, when enabled by `[ad]` or `--ad`.
    pub ad: Option<crate::ad::AdSection>,
    /// The tenant to ask, when enabled by `[graph]` or `--graph`.
    pub graph: Option<crate::graph::GraphSection>,
    pub now: Option<Timestamp>,
    pub config: ConfigFile,
}

pub fn resolve(args: &InputArgs) -> Result<Resolved> {
    let config = match &args.config {
        Some(p) => ConfigFile::load(p, if args.trust_config { Trust::Analyst } else { Trust::Evidence })?,
        None => ConfigFile::default(),
    };
    let s = &config.server;
    let evidence = Evidence {
        server_config: args.server_config.clone().or_else(|| s.config_dir.clone()),
        events: if args.events.is_empty() { s.events.clone() } else { args.events.clone() },
        scheduler: args.scheduler.clone().or_else(|| s.scheduler.clone()),
        company_features: args.company_features.clone().or_else(|| s.company_features.clone()),
        partition_sync_state: args.partition_sync_state.clone().or_else(|| s.partition_sync_state.clone()),
        gathered_at: match &s.gathered_at {
            Some(t) => Some(
                t.parse::<Timestamp>()
                    .map_err(|e| anyhow!("[server] gathered_at {t:?} is not an RFC 3339 time: {e}"))?,
            ),
            None => None,
        },
    };
    let mut now = match args.now.as_deref().or(config.evaluation.now.as_deref()) {
        Some(t) => Some(parse_time(t)?),
        None => None,
    };
    let ad = config.ad.clone().or_else(|| args.ad.then(Default::default));
    let asked_graph = args.graph || args.tenant.is_some() || args.client_id.is_some();
    let mut graph = config.graph.clone().or_else(|| asked_graph.then(Default::default));
    if let Some(g) = &mut graph {
        // Names on the command line win over the file's; they are not secrets.
        g.tenant_id = args.tenant.clone().or(g.tenant_id.take());
        g.client_id = args.client_id.clone().or(g.client_id.take());
        g.allow_loopback_http = args.allow_loopback_http;
    }
    // Server evidence alone is judged as of its export, so a folder gathered
    // yesterday is not "silent since yesterday". Live sources are read now,
    // and their facts can only be judged at the current time.
    if now.is_none() && ad.is_none() && graph.is_none() {
        now = evidence.gathered_at;
    }
    Ok(Resolved { evidence, ad, graph, now, config })
}

pub fn parse_time(text: &str) -> Result<Timestamp> {
    text.parse::<Timestamp>()
        .map_err(|e| anyhow!("--now {text:?} is not an RFC 3339 time such as 2026-11-24T12:00:00Z: {e}"))
}

/// Accepts "3h", "90m", "2h 30m", "PT3H".
pub fn parse_duration(what: &str, text: &str) -> Result<SignedDuration> {
    let d: SignedDuration =
        text.trim().parse().map_err(|e| anyhow!("{what} {text:?} is not a duration such as 3h or 90m: {e}"))?;
    if d.is_negative() || d.is_zero() {
        bail!("{what} must be positive, got {text:?}");
    }
    Ok(d)
}

/// Thresholds: flag, else config file, else the defaults Microsoft's tools use.
pub fn settings(
    config: &ConfigFile,
    heartbeat: Option<&str>,
    errors: Option<&str>,
    persistent: Option<usize>,
) -> Result<Settings> {
    let mut s = Settings::default();
    let e = &config.evaluation;
    if let Some(t) = heartbeat.or(e.heartbeat_window.as_deref()) {
        s.heartbeat_window = parse_duration("heartbeat window", t)?;
    }
    if let Some(t) = errors.or(e.error_window.as_deref()) {
        s.error_window = parse_duration("error window", t)?;
    }
    if let Some(t) = &e.password_sync_window {
        s.password_sync_window = parse_duration("password_sync_window", t)?;
    }
    if let Some(t) = &e.directory_sync_window {
        s.directory_sync_window = parse_duration("directory_sync_window", t)?;
    }
    if let Some(n) = persistent.or(e.persistent_error_count) {
        if n == 0 {
            bail!("the persistent error count must be at least 1");
        }
        s.persistent_error_count = n;
    }
    Ok(s)
}

/// Reads every piece of evidence; a piece that fails becomes a problem in the
/// snapshot and the others are still read.
pub fn collect(
    evidence: &Evidence,
    ad: Option<&crate::ad::AdSection>,
    graph: Option<&crate::graph::GraphSection>,
    collected_at: Timestamp,
) -> Snapshot {
    let mut snap = Snapshot::new(collected_at);
    snap.server.gathered_at = evidence.gathered_at;
    let problem =
        |source, path: &PathBuf, error: String| CollectionProblem::whole(source, path.display().to_string(), error);
    if let Some(dir) = &evidence.server_config {
        let (cfg, problems) = export::read_server_config(dir);
        snap.server.config = cfg;
        snap.problems.extend(problems);
    }
    if !evidence.events.is_empty() {
        let opts = events::EventReadOptions {
            exported_at: evidence.gathered_at,
            ..events::EventReadOptions::at(collected_at)
        };
        let (log, problems) = events::read_event_files(&evidence.events, &opts);
        snap.server.events = log;
        snap.problems.extend(problems);
    }
    if let Some(p) = &evidence.scheduler {
        match cmdlets::read_scheduler(p) {
            Ok(s) => snap.server.scheduler = Some(s),
            Err(e) => snap.problems.push(problem(SourceKind::Scheduler, p, e)),
        }
    }
    if let Some(p) = &evidence.company_features {
        match cmdlets::read_company_features(p) {
            Ok(s) => snap.server.company_features = Some(s),
            Err(e) => snap.problems.push(problem(SourceKind::CompanyFeatures, p, e)),
        }
    }
    if let Some(p) = &evidence.partition_sync_state {
        match cmdlets::read_partition_sync_state(p) {
            Ok(s) => snap.server.partition_sync_state = Some(s),
            Err(e) => snap.problems.push(problem(SourceKind::PartitionSyncState, p, e)),
        }
    }
    crate::live::run(&mut snap, ad, graph);
    snap
}

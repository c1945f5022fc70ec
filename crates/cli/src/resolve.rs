//! Flags and the config file, resolved into a plan: which evidence to read,
//! which live checks to run, as of when, and the thresholds to judge by.
//! Nothing here reads evidence or touches the network; `collect` does.

use crate::args::{InputArgs, UserSelection};
use crate::config::ad::AdSection;
use crate::config::graph::GraphSection;
use crate::config::{ConfigFile, EvaluationSection, Trust};
use crate::evidence::EvidencePaths;
use crate::values::{parse_duration, parse_time};
use anyhow::{anyhow, bail, Result};
use phs_model::{Timestamp, UserQuery, EVIDENCE_INPUTS};
use phs_rules::Settings;

/// What a run collects, after merging flags over the config file.
pub struct Plan {
    pub evidence: EvidencePaths,
    /// When the evidence was exported on the server.
    pub gathered_at: Option<Timestamp>,
    /// Live AD checks to run, when enabled by `[ad]` or `--ad`.
    pub ad: Option<AdSection>,
    /// The tenant to ask, when enabled by `[graph]` or `--graph`.
    pub graph: Option<GraphSection>,
    pub now: Option<Timestamp>,
    /// The config file's thresholds, for [`settings`].
    pub evaluation: EvaluationSection,
    /// The one user to look at (`user`, `collect --user`).
    pub user: Option<UserQuery>,
}

pub fn plan(args: &InputArgs) -> Result<Plan> {
    let config = match &args.config {
        Some(p) => ConfigFile::load(p, if args.trust_config { Trust::Analyst } else { Trust::Evidence })?,
        None => ConfigFile::default(),
    };
    let s = &config.server;
    let evidence = args.evidence.or(&s.evidence);
    let gathered_at = match &s.gathered_at {
        Some(t) => Some(
            t.parse::<Timestamp>().map_err(|e| anyhow!("[server] gathered_at {t:?} is not an RFC 3339 time: {e}"))?,
        ),
        None => None,
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
        now = gathered_at;
    }
    Ok(Plan { evidence, gathered_at, ad, graph, now, evaluation: config.evaluation, user: None })
}

/// The user an identity names, parsed; the connector is for bare names.
pub fn user(identity: &str, selection: &UserSelection) -> Result<UserQuery> {
    UserQuery::parse(identity, selection.connector.as_deref()).map_err(|e| anyhow!("{e}"))
}

impl Plan {
    /// A run needs something to read: a file, or the tenant (which needs no
    /// server evidence; the AD checks do, and say so as a problem).
    pub fn require_evidence(&self) -> Result<()> {
        if self.evidence.is_empty() && self.graph.is_none() && !(self.user.is_some() && self.ad.is_some()) {
            let flags: Vec<String> = EVIDENCE_INPUTS.iter().map(|i| format!("--{} {}", i.flag, i.value_name)).collect();
            bail!("no evidence given: use --config FILE, or {}, or --snapshot FILE", flags.join(", "));
        }
        Ok(())
    }
}

/// Thresholds: flag, else config file, else the defaults Microsoft's tools use.
pub fn settings(
    plan: &Plan,
    heartbeat: Option<&str>,
    errors: Option<&str>,
    persistent: Option<usize>,
) -> Result<Settings> {
    let mut s = Settings::default();
    let e = &plan.evaluation;
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
    if let Some(t) = &e.user_password_lag {
        s.user_password_lag = parse_duration("user_password_lag", t)?;
    }
    if let Some(n) = persistent.or(e.persistent_error_count) {
        if n == 0 {
            bail!("the persistent error count must be at least 1");
        }
        s.persistent_error_count = n;
    }
    Ok(s)
}

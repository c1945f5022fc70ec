//! The live checks, Active Directory and the tenant, run together in one
//! runtime while a progress line turns on a terminal. Their secrets are read
//! first, so prompts never fight the progress display.

use crate::ad::AdSection;
use crate::graph::GraphSection;
use indicatif::{ProgressBar, ProgressStyle};
use phs_model::{CollectionProblem, Snapshot, SourceKind};
use std::io::IsTerminal;
use std::time::Duration;

fn problem(source: SourceKind, location: &str, error: String) -> CollectionProblem {
    CollectionProblem { source, location: location.into(), error, partial: false }
}

pub fn run(snap: &mut Snapshot, ad: Option<&AdSection>, graph: Option<&GraphSection>) {
    // Everything that can fail before the network (config, secrets, prompts).
    let ad_job = ad.and_then(|ad| match &snap.server.config {
        Some(cfg) => match crate::ad::prepare(cfg, ad) {
            Ok(p) => Some(p),
            Err(e) => {
                snap.problems.push(problem(SourceKind::ActiveDirectory, "[ad]", format!("{e:#}")));
                None
            }
        },
        None => {
            snap.problems.push(problem(
                SourceKind::ActiveDirectory,
                "[ad]",
                "the Active Directory checks need the configuration export (--server-config) to know the connectors and domains".into(),
            ));
            None
        }
    });
    let graph_job = graph.and_then(|g| match g.credential().and_then(|c| Ok((c, g.options()?))) {
        Ok(job) => Some(job),
        Err(e) => {
            snap.problems.push(problem(SourceKind::Graph, "[graph]", format!("{e:#}")));
            None
        }
    });
    if ad_job.is_none() && graph_job.is_none() {
        return;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            snap.problems.push(problem(SourceKind::ActiveDirectory, "runtime", e.to_string()));
            return;
        }
    };

    let progress = if std::io::stderr().is_terminal() { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    progress.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    progress.enable_steady_tick(Duration::from_millis(120));
    let domains = ad_job.as_ref().map_or(0, |p| p.work.len());
    let mut parts = Vec::new();
    if ad_job.is_some() {
        parts.push(format!("Active Directory ({domains} domains in parallel)"));
    }
    if graph_job.is_some() {
        parts.push("Microsoft Entra ID".to_owned());
    }
    progress.set_message(format!("Checking {}", parts.join(" and ")));

    let shown = progress.clone();
    let on_prompt = move |message: &str| shown.suspend(|| eprintln!("{message}"));
    let (ad_facts, tenant) = runtime.block_on(async {
        let ad_fut = async {
            match ad_job {
                Some(p) => Some(p.run().await),
                None => None,
            }
        };
        let graph_fut = async {
            match &graph_job {
                Some((cred, opts)) => Some(phs_sources::graph::collect_tenant(cred, opts, &on_prompt).await),
                None => None,
            }
        };
        tokio::join!(ad_fut, graph_fut)
    });
    progress.finish_and_clear();
    if ad_facts.is_some() {
        snap.ad = ad_facts;
    }
    if tenant.is_some() {
        snap.tenant = tenant;
    }
}

//! `phs-doctor audit`: every in-scope user's password sync at once. The
//! tenant's synced users are read first into a compact index (the only
//! thing held, see `TenantIndex`); then every AD user streams by, is
//! joined on its anchors (mS-DS-ConsistencyGuid, then objectGUID, the SID
//! as a fallback), classified and written out; the cloud users nobody
//! joined are written last. A source that broke off is in the summary with
//! how many users it left unjudged.

use crate::progress::Progress;
use crate::resolve::Plan;
use anyhow::{bail, Context as _, Result};
use phs_model::audit::{AuditRow, AuditSummary, Incomplete};
use phs_model::{AdUser, Timestamp};
use phs_report::audit::RowWriter;
use phs_rules::audit::tenant::TenantIndex;
use phs_rules::audit::{classify_ad_user, classify_cloud_only, AuditSettings, TenantRead};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Where the rows go: CSV and/or JSON Lines files.
pub struct Outputs<'a> {
    pub csv: Option<&'a Path>,
    pub jsonl: Option<&'a Path>,
}

pub fn run(plan: &Plan, out: &Outputs, lag: jiff::SignedDuration, now: Timestamp) -> Result<AuditSummary> {
    // The export decides scope; read here as `collect` reads it.
    let mut export_problems = Vec::new();
    let cfg = match plan.evidence.get(phs_model::SourceKind::ServerConfig).first() {
        Some(path) => {
            let (cfg, problems) = phs_sources::export::read_server_config(path);
            if let Some(p) = problems.iter().find(|p| !p.partial) {
                bail!("cannot read {}: {}", p.location, p.error);
            }
            // Read in part: scope is judged on what was read, and the summary says so.
            export_problems = problems;
            cfg
        }
        None => None,
    };
    let ad_job = match (&plan.ad, &cfg) {
        (Some(ad), Some(cfg)) => Some(crate::ad::prepare(cfg, ad)?),
        (Some(_), None) => bail!("the audit's AD side needs the configuration export (--server-config)"),
        (None, _) => None,
    };
    let graph_job = match &plan.graph {
        Some(g) => Some((crate::graph::credential(g)?, g.options()?)),
        None => None,
    };
    if ad_job.is_none() && graph_job.is_none() {
        bail!("the audit reads AD ([ad] or --ad) and/or the tenant ([graph] or --graph); neither is configured");
    }
    // Files are created only once the audit can start: a refused start clobbers nothing.
    let mut writers: Vec<RowWriter<BufWriter<File>>> = Vec::new();
    if let Some(p) = out.csv {
        let f = File::create(p).with_context(|| format!("cannot write {}", p.display()))?;
        writers.push(RowWriter::csv(BufWriter::new(f))?);
    }
    if let Some(p) = out.jsonl {
        let f = File::create(p).with_context(|| format!("cannot write {}", p.display()))?;
        writers.push(RowWriter::json_lines(BufWriter::new(f)));
    }
    let want_member_of = cfg.as_ref().is_some_and(|c| c.filters_by_group());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("async runtime")?;
    let progress = Progress::new();
    let mut summary =
        AuditSummary { evaluated_at: Some(now), lag_allowed_seconds: Some(lag.as_secs()), ..AuditSummary::default() };
    for p in export_problems {
        let why = format!("{}: {} (scope is judged on the rest)", p.location, p.error);
        summary.incomplete.push(Incomplete { source: "the configuration export".into(), why, users_left_out: None });
    }
    let mut write_error: Option<std::io::Error> = None;
    runtime.block_on(async {
        // The tenant first: its synced users, held by anchor and SID.
        let mut tenant = TenantIndex::new();
        let mut tenant_read = TenantRead::NotRead;
        if let Some((plan, opts)) = &graph_job {
            let line = progress.line(&format!("Microsoft Entra ID {}", plan.credential.tenant()), "signing in");
            match phs_sources::graph::sign_in(&plan.credential, opts, &|m: &str| {
                let _ = progress.bars.println(phs_report::neutral::line(m));
            })
            .await
            {
                Ok(session) => {
                    crate::progress::counting(&line, "synced users read");
                    let read = session
                        .for_each_synced_user(&mut |u| {
                            tenant.add(&u);
                            line.inc(1);
                        })
                        .await;
                    // read_at is always set once the paging ran; now is the fallback.
                    let at = read.read_at.unwrap_or(now);
                    tenant_read = if read.error.is_some() { TenantRead::Partial(at) } else { TenantRead::Whole(at) };
                    if let Some(why) = &read.error {
                        summary.incomplete.push(Incomplete {
                            source: "the tenant (Graph /users)".into(),
                            why: format!("the paging broke off after {} users: {why}", read.users),
                            users_left_out: read.left_out(),
                        });
                    }
                }
                Err(facts) => {
                    summary.incomplete.push(Incomplete {
                        source: "the tenant (Graph sign-in)".into(),
                        why: facts.sign_in_error.unwrap_or_default(),
                        users_left_out: None,
                    });
                }
            }
            line.finish_and_clear();
        }
        if graph_job.is_none() {
            summary.incomplete.push(Incomplete {
                source: "the tenant".into(),
                why: "not configured ([graph] or --graph): AD users are judged on what AD alone tells".into(),
                users_left_out: None,
            });
        }
        let settings = AuditSettings { export: cfg.as_ref(), now, tenant: tenant_read, lag };
        let mut emit = |row: AuditRow, summary: &mut AuditSummary| {
            summary.add(&row);
            for w in writers.iter_mut() {
                if let Err(e) = w.write(&row) {
                    write_error.get_or_insert(e);
                }
            }
        };
        let ad_read = ad_job.is_some();
        // Every domain read to its end; a gap means no cloud user can be called gone.
        let mut ad_whole = ad_read;
        if let Some(job) = ad_job {
            let line = progress.counter("Active Directory", "users judged");
            let mut on_user = |u: AdUser| {
                let joined = tenant.join(&u);
                let row = classify_ad_user(&settings, &u, joined.as_ref().map(|(c, _)| c));
                emit(row, &mut summary);
                line.inc(1);
            };
            let (_, reads) = job.audit(want_member_of, &mut on_user).await;
            line.finish_and_clear();
            for r in reads {
                let Some(why) = r.error else { continue };
                ad_whole = false;
                // The read's error says how many users came before the break;
                // a paged search does not say how many entries remain.
                summary.incomplete.push(Incomplete {
                    source: format!("AD domain {}", r.domain),
                    why,
                    users_left_out: None,
                });
            }
        }
        // Cloud users no AD user joined: gone from AD when AD was read
        // whole; otherwise listed unjudged, never dropped.
        if !ad_whole && tenant.unjoined_count() > 0 {
            let why = if ad_read { "AD was not read whole" } else { "AD was not read" };
            summary.incomplete.push(Incomplete {
                source: "the join".into(),
                why: format!("{why}, so the cloud users without an AD match are listed unjudged"),
                users_left_out: Some(tenant.unjoined_count() as u64),
            });
        }
        for c in tenant.unjoined() {
            if let Some(row) = classify_cloud_only(&c, ad_whole) {
                emit(row, &mut summary);
            }
        }
    });
    for w in writers {
        w.finish()?;
    }
    if let Some(e) = write_error {
        bail!("could not write the rows: {e}");
    }
    Ok(summary)
}

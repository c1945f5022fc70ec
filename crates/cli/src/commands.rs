//! The subcommands. Each returns the process exit code.

use crate::args::{AuditArgs, CollectArgs, ColorChoice, DiagnoseArgs, OutputFormat, ReportArgs, UserArgs};
use crate::{collect, resolve};
use anyhow::{bail, Context as _, Result};
use phs_model::{ScopeKind, Snapshot, Timestamp, SCHEMA_VERSION};
use phs_report::{Format, TextOptions};
use phs_rules::RULES;
use std::io::{IsTerminal, Write};
use std::path::Path;

pub fn diagnose(args: &DiagnoseArgs) -> Result<i32> {
    let plan = resolve::plan(&args.inputs)?;
    let settings = resolve::settings(
        &plan,
        args.heartbeat_window.as_deref(),
        args.error_window.as_deref(),
        args.persistent_errors,
    )?;
    let snapshot = match &args.snapshot {
        Some(path) => read_snapshot(path)?,
        None => {
            plan.require_evidence()?;
            collect::snapshot(&plan, plan.now.unwrap_or_else(current_time))
        }
    };
    let diagnosis = judge(&plan, &snapshot, &settings, &args.report.rules, |_| true)?;
    report(&args.report, &snapshot, &diagnosis)
}

/// `phs-doctor user`: the user checks only, over the same evidence and
/// live sources as `diagnose`, or over a snapshot `collect --user` wrote.
pub fn user(args: &UserArgs) -> Result<i32> {
    if args.how_to_sync {
        return how_to_sync(args);
    }
    let mut plan = resolve::plan(&args.inputs)?;
    if let Some(identity) = &args.identity {
        plan.user = Some(resolve::user(identity, &args.selection)?);
    }
    let settings = resolve::settings(&plan, None, None, None)?;
    let snapshot = match &args.snapshot {
        Some(path) => read_snapshot(path)?,
        None => {
            plan.require_evidence()?;
            collect::snapshot(&plan, plan.now.unwrap_or_else(current_time))
        }
    };
    if snapshot.user.is_none() {
        bail!("the snapshot holds no user: write it with `phs-doctor collect --user IDENTITY`");
    }
    let diagnosis = judge(&plan, &snapshot, &settings, &args.report.rules, |f| f.scope.kind == ScopeKind::User)?;
    report(&args.report, &snapshot, &diagnosis)
}

/// Microsoft's "Synchronize password hash for a specific user account", as
/// steps for the administrator: phs-doctor stays read-only.
fn how_to_sync(args: &UserArgs) -> Result<i32> {
    let Some(identity) = &args.identity else { bail!("--how-to-sync needs the user's IDENTITY") };
    let query = resolve::user(identity, &args.selection)?;
    let dn = match &query.kind {
        phs_model::IdentityKind::Dn { dn } => Some(dn.as_str()),
        _ => None,
    };
    let (steps, note) = phs_rules::knowledge::single_password_sync::steps(query.connector.as_deref(), dn);
    let mut out = format!(
        "Synchronize the password hash of {} now (run on the sync server; phs-doctor changes nothing itself):\n",
        phs_report::neutral::line(&query.text)
    );
    if dn.is_none() {
        out.push_str("  (Give the user's DN to have it filled in: `phs-doctor user IDENTITY` shows it in PHS017.)\n");
    }
    if query.connector.is_none() {
        out.push_str("  (Give --connector NAME to have the AD connector's name filled in.)\n");
    }
    for (i, step) in steps.iter().enumerate() {
        out.push_str(&format!("\n{}. {}\n", i + 1, step.explains));
        for c in &step.commands {
            out.push_str(&format!("   {}\n", phs_report::neutral::line(c)));
        }
    }
    if let Some(note) = note {
        out.push_str(&format!("\n{}\n", note.trim()));
    }
    write_output(args.report.output.as_deref(), &out)?;
    Ok(0)
}

/// The findings of every rule, then only those `keep` and `--rules` keep.
fn judge(
    plan: &resolve::Plan,
    snapshot: &Snapshot,
    settings: &phs_rules::Settings,
    rules: &[String],
    keep: fn(&phs_model::Finding) -> bool,
) -> Result<phs_rules::Diagnosis> {
    // Default evaluation time: the collection time (of the snapshot, or now).
    let now = plan.now.unwrap_or(snapshot.collected_at);
    let mut diagnosis = phs_rules::evaluate(snapshot, now, settings);
    diagnosis.findings.retain(keep);
    if !rules.is_empty() {
        let mut codes = Vec::new();
        for r in rules {
            match phs_rules::rule(r.trim()) {
                Some(rule) => codes.push(rule.code),
                None => bail!("--rules: no rule {r:?}; `phs-doctor explain` lists them"),
            }
        }
        diagnosis.findings.retain(|f| codes.contains(&f.code.as_str()));
    }
    Ok(diagnosis)
}

/// Renders the findings as asked and returns the exit code.
fn report(args: &ReportArgs, snapshot: &Snapshot, diagnosis: &phs_rules::Diagnosis) -> Result<i32> {
    let format = match args.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
        OutputFormat::Markdown => Format::Markdown,
        OutputFormat::Html => Format::Html,
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = !no_color
        && match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => to_terminal,
        };
    let rendered = phs_report::render(format, snapshot, diagnosis, TextOptions { color, verbose: args.verbose });
    write_output(args.output.as_deref(), &rendered)?;
    Ok(diagnosis.exit_code())
}

/// `phs-doctor audit`: the rows stream to the files asked, the summary goes
/// to standard output; the exit code is 2 when some user's password did
/// not arrive or cannot sync, 3 when a source was not read whole.
pub fn audit(args: &AuditArgs) -> Result<i32> {
    let plan = resolve::plan(&args.inputs)?;
    // Read before the audit: a bad file should not cost a long run.
    let earlier = args.previous.as_deref().map(read_audit_summary).transpose()?;
    let mut settings = resolve::settings(&plan, None, None, None)?;
    if let Some(lag) = &args.lag {
        settings.user_password_lag = crate::values::parse_duration("--lag", lag)?;
    }
    let outputs = crate::audit::Outputs { csv: args.csv.as_deref(), jsonl: args.jsonl.as_deref() };
    let now = plan.now.unwrap_or_else(current_time);
    let mut summary = crate::audit::run(&plan, &outputs, settings.user_password_lag, now)?;
    if let Some(earlier) = &earlier {
        summary.compare_with(earlier);
    }
    let text = match args.format {
        OutputFormat::Markdown => phs_report::audit::summary_markdown(&summary),
        OutputFormat::Html => phs_report::audit::summary_html(&summary),
        OutputFormat::Json => serde_json::to_string_pretty(&summary).context("summary")? + "\n",
        OutputFormat::Text => phs_report::audit::summary_text(&summary),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(summary.exit_code())
}

pub fn collect(args: &CollectArgs) -> Result<i32> {
    let mut plan = resolve::plan(&args.inputs)?;
    if let Some(identity) = &args.user {
        plan.user = Some(resolve::user(identity, &args.selection)?);
    }
    plan.require_evidence()?;
    let snapshot = collect::snapshot(&plan, plan.now.unwrap_or_else(current_time));
    let mut json = serde_json::to_string_pretty(&snapshot).context("cannot serialise the snapshot")?;
    json.push('\n');
    let out = (args.output.as_os_str() != "-").then_some(args.output.as_path());
    write_output(out, &json)?;
    // What went into the snapshot, on stderr so `-o -` stays pure JSON.
    if let Some(path) = out {
        eprintln!("phs-doctor: snapshot written to {}", path.display());
    }
    for line in phs_report::inputs_summary(&snapshot) {
        eprintln!("  evidence: {}", phs_report::neutral::line(&line));
    }
    for p in &snapshot.problems {
        eprintln!(
            "phs-doctor: could not read {}: {}",
            phs_report::neutral::line(&p.location),
            phs_report::neutral::line(&p.error)
        );
    }
    // Collection itself succeeded; problems are recorded in the snapshot.
    Ok(0)
}

pub fn explain(code: Option<&str>) -> Result<i32> {
    let mut out = String::new();
    match code {
        None => {
            out.push_str("phs-doctor rules (phs-doctor explain CODE for the details):\n\n");
            for r in RULES {
                out.push_str(&format!("  {}  {:<34} {:<9}  {}\n", r.code, r.name, r.scope.as_str(), r.title));
            }
            for u in phs_rules::UNASSIGNED {
                out.push_str(&format!("  {}  ({})\n", u.code, u.lifecycle.as_str()));
            }
        }
        Some(c) => match (phs_rules::rule(c), phs_rules::unassigned(c)) {
            (None, None) => bail!("no rule {c:?}; `phs-doctor explain` lists them"),
            (None, Some(u)) => out.push_str(&format!("{} is {}: {}.\n", u.code, u.lifecycle.as_str(), u.note)),
            (Some(r), _) => {
                out.push_str(&format!(
                    "{} {}\n{}\nScope: {}\n\n{}\n",
                    r.code,
                    r.name,
                    r.title,
                    r.scope.as_str(),
                    r.doc
                ));
                if !r.needs.is_empty() {
                    let needs: Vec<&str> = r.needs.iter().map(|n| n.describe()).collect();
                    out.push_str(&format!("\nNeeds: {}.\n", needs.join(", ")));
                }
                if phs_rules::is_windowed(r.code) {
                    out.push_str(&format!("\n{}\n", phs_rules::COVERAGE_DOC));
                }
                out.push_str("\n## References\n");
                for link in r.references {
                    out.push_str(&format!("- {link}\n"));
                }
            }
        },
    }
    write_output(None, &out)?;
    Ok(0)
}

/// The current time to the second: reports need no nanoseconds.
fn current_time() -> Timestamp {
    Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| Timestamp::now())
}

pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    let bytes = phs_sources::evidence_file::read(path, phs_sources::evidence_file::cap::SNAPSHOT)
        .map_err(|e| anyhow::anyhow!("cannot read snapshot {}: {e}", path.display()))?;
    let text = phs_sources::text::decode(&bytes).map_err(|e| anyhow::anyhow!("snapshot {}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("snapshot {} is not JSON", path.display()))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == SCHEMA_VERSION as u64 => {}
        Some(v) => {
            bail!("snapshot {} has schema version {v}; this phs-doctor reads version {SCHEMA_VERSION}", path.display())
        }
        None => bail!("{} is not a phs-doctor snapshot (no schema_version)", path.display()),
    }
    serde_json::from_value(value)
        .with_context(|| format!("snapshot {} does not match schema version {SCHEMA_VERSION}", path.display()))
}

/// An earlier `audit -f json` summary, as small as summaries are.
fn read_audit_summary(path: &Path) -> Result<phs_model::audit::AuditSummary> {
    let bytes = phs_sources::evidence_file::read(path, phs_sources::evidence_file::cap::AUDIT_SUMMARY)
        .map_err(|e| anyhow::anyhow!("cannot read the earlier audit {}: {e}", path.display()))?;
    let text = phs_sources::text::decode(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not an audit summary (phs-doctor audit -f json)", path.display()))
}

fn write_output(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("cannot write to standard output"),
            }
        }
    }
}

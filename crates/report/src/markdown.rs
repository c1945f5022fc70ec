//! Markdown for a ticket: a summary table, then the checklist by scope.

use crate::layout::{layout, Section};
use crate::neutral::{code_fence, code_span, markdown as md};
use crate::{counts, inputs_summary};
use phs_model::{Finding, Snapshot, Status};
use phs_rules::Diagnosis;
use std::fmt::Write;

fn icon(s: Status) -> &'static str {
    match s {
        Status::Pass => "✅ pass",
        Status::Warn => "⚠️ warn",
        Status::Fail => "❌ fail",
        Status::Error => "⛔ error",
        Status::Skipped => "➖ skipped",
    }
}

/// Table cells may not hold pipes or new lines; [`md`] escapes both.
fn cell(text: &str) -> String {
    md(text)
}

pub fn render(snapshot: &Snapshot, diagnosis: &Diagnosis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Password hash synchronization diagnosis\n");
    let _ = writeln!(out, "- Evaluated at: `{}`", diagnosis.evaluated_at);
    let _ = writeln!(out, "- Overall: **{}** (exit code {})", icon(diagnosis.overall()), diagnosis.exit_code());
    let summary: Vec<String> = counts(diagnosis).iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
    let _ = writeln!(out, "- Findings: {}", summary.join(", "));
    for line in inputs_summary(snapshot) {
        let _ = writeln!(out, "- Evidence: {}", cell(&line));
    }
    for problem in &snapshot.problems {
        let _ = writeln!(out, "- Could not read {}: {}", code_span(&problem.location), cell(&problem.error));
    }
    let _ = writeln!(out, "\n| Status | Code | Scope | Message |\n|---|---|---|---|");
    for f in &diagnosis.findings {
        let scope = [f.scope.user.as_deref(), f.scope.connector.as_deref(), f.scope.domain.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
        let scope = if scope.is_empty() { f.scope.kind.as_str().to_owned() } else { scope };
        let _ = writeln!(out, "| {} | {} | {} | {} |", icon(f.status), f.code, cell(&scope), cell(&f.message));
    }
    for section in layout(&diagnosis.findings) {
        section_md(&mut out, &section, 2);
    }
    out
}

fn section_md(out: &mut String, section: &Section, level: usize) {
    let _ = writeln!(out, "\n{} {}\n", "#".repeat(level), md(&section.title));
    for f in &section.findings {
        finding_md(out, f);
    }
    for child in &section.children {
        section_md(out, child, level + 1);
    }
}

fn finding_md(out: &mut String, f: &Finding) {
    let _ = writeln!(out, "- **{}** `{}` {}: {}", icon(f.status), f.code, f.name, md(&f.message));
    if f.status != Status::Pass {
        for e in &f.evidence {
            let source = e.source.as_ref().map_or(String::new(), |s| format!(" ({})", code_span(s)));
            let _ = writeln!(out, "  - {}: {}{source}", md(&e.label), cell(&e.value));
        }
    }
    if let Some(fix) = &f.remediation {
        let _ = writeln!(out, "  - Fix: {}", md(&fix.summary));
        if !fix.commands.is_empty() {
            // A code block shows its lines as they are: only line breaks and
            // controls are neutralised, and the fence outlasts any backticks.
            let lines: Vec<String> = fix.commands.iter().map(|c| crate::neutral::line(c).into_owned()).collect();
            let fence = code_fence(&lines);
            let _ = writeln!(out, "\n    {fence}powershell");
            for c in &lines {
                let _ = writeln!(out, "    {c}");
            }
            let _ = writeln!(out, "    {fence}\n");
        }
    }
}

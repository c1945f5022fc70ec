//! A single self-contained HTML page, for mailing or attaching to a ticket.

use crate::layout::{layout, Section};
use crate::{counts, inputs_summary};
use phs_model::{Finding, Snapshot, Status};
use phs_rules::Diagnosis;
use std::fmt::Write;

pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}\
.s{display:inline-block;min-width:4.5em;padding:0 .4em;border-radius:3px;font-weight:600;text-align:center}\
.pass{background:#d7f5dd}.warn{background:#fff1c2}.fail{background:#ffd6d6}.error{background:#f0d0ff}.skipped{background:#eee;color:#666}\
li{margin:.4em 0}code,pre{background:#f4f4f4}pre{padding:.5em;overflow-x:auto}dl{margin:.2em 0 .2em 2em;font-size:.92em}dt{font-weight:600;float:left;clear:left;margin-right:.5em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}";

pub fn render(snapshot: &Snapshot, diagnosis: &Diagnosis) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>phs-doctor report</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = writeln!(out, "<h1>Password hash synchronization diagnosis</h1>");
    let _ = writeln!(
        out,
        "<p>Evaluated at <code>{}</code>. Overall: <span class=\"s {}\">{}</span> (exit code {}).</p>",
        diagnosis.evaluated_at,
        diagnosis.overall().as_str(),
        diagnosis.overall().as_str(),
        diagnosis.exit_code()
    );
    let summary: Vec<String> = counts(diagnosis).iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
    let _ = writeln!(out, "<p>{}</p><ul>", esc(&summary.join(", ")));
    for line in inputs_summary(snapshot) {
        let _ = writeln!(out, "<li>Evidence: {}</li>", esc(&line));
    }
    for problem in &snapshot.problems {
        let _ =
            writeln!(out, "<li>Could not read <code>{}</code>: {}</li>", esc(&problem.location), esc(&problem.error));
    }
    let _ = writeln!(out, "</ul>");
    for section in layout(&diagnosis.findings) {
        section_html(&mut out, &section, 2);
    }
    out.push_str("</body></html>\n");
    out
}

fn section_html(out: &mut String, section: &Section, level: usize) {
    let _ = writeln!(out, "<h{level}>{}</h{level}><ul>", esc(&section.title));
    for f in &section.findings {
        finding_html(out, f);
    }
    out.push_str("</ul>\n");
    for child in &section.children {
        section_html(out, child, (level + 1).min(6));
    }
}

fn finding_html(out: &mut String, f: &Finding) {
    let _ = write!(
        out,
        "<li><span class=\"s {}\">{}</span> <code title=\"{}\">{}</code> {}",
        f.status.as_str(),
        f.status.as_str(),
        esc(&f.name),
        esc(&f.code),
        esc(&f.message)
    );
    if f.status != Status::Pass && !f.evidence.is_empty() {
        out.push_str("<dl>");
        for e in &f.evidence {
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(&e.label), esc(&e.value));
        }
        out.push_str("</dl>");
    }
    if let Some(fix) = &f.remediation {
        let _ = write!(out, "<p><strong>Fix:</strong> {}</p>", esc(&fix.summary));
        if !fix.commands.is_empty() {
            let cmds: Vec<String> = fix.commands.iter().map(|c| esc(c)).collect();
            let _ = write!(out, "<pre>{}</pre>", cmds.join("\n"));
        }
    }
    out.push_str("</li>\n");
}

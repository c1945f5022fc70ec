//! Text for a terminal, laid out like Microsoft's troubleshooter.

use crate::layout::{layout, Section};
use crate::neutral::line;
use crate::{counts, inputs_summary, TextOptions};
use phs_model::{Finding, Snapshot, Status};
use phs_rules::Diagnosis;
use std::fmt::Write;

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn status(&self, s: Status) -> String {
        let (label, code) = match s {
            Status::Pass => ("PASS", "32"),
            Status::Warn => ("WARN", "33"),
            Status::Fail => ("FAIL", "31;1"),
            Status::Error => ("ERROR", "35;1"),
            Status::Skipped => ("SKIP", "2"),
        };
        self.paint(code, &format!("{label:<5}"))
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

pub fn render(snapshot: &Snapshot, diagnosis: &Diagnosis, opts: TextOptions) -> String {
    let p = Painter { color: opts.color };
    let mut out = String::new();
    let _ = writeln!(out, "{}", p.bold("phs-doctor: password hash synchronization diagnosis"));
    let _ = writeln!(out, "Evaluated at {}", diagnosis.evaluated_at);
    for input in inputs_summary(snapshot) {
        let _ = writeln!(out, "{}", p.dim(&format!("  evidence: {}", line(&input))));
    }
    for problem in &snapshot.problems {
        let _ = writeln!(
            out,
            "  {} {}: {}{}",
            p.status(Status::Error),
            line(&problem.location),
            line(&problem.error),
            if problem.partial { " (the rest of it was read)" } else { "" }
        );
    }
    for section in layout(&diagnosis.findings) {
        section_text(&mut out, &p, &section, 0, opts.verbose);
    }
    let summary: Vec<String> = counts(diagnosis).iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
    let _ = writeln!(out, "\n{} {} (exit code {})", p.bold("Result:"), summary.join(", "), diagnosis.exit_code());
    out
}

fn section_text(out: &mut String, p: &Painter, section: &Section, depth: usize, verbose: bool) {
    let indent = "  ".repeat(depth);
    let _ = writeln!(out, "\n{indent}{}", p.bold(&line(&section.title)));
    for f in &section.findings {
        finding_text(out, p, f, depth + 1, verbose);
    }
    for child in &section.children {
        section_text(out, p, child, depth + 1, verbose);
    }
}

fn finding_text(out: &mut String, p: &Painter, f: &Finding, depth: usize, verbose: bool) {
    let indent = "  ".repeat(depth);
    let _ = writeln!(out, "{indent}{} {} {}", p.status(f.status), p.dim(&f.code), line(&f.message));
    let detail = format!("{indent}      ");
    let show_evidence = verbose || matches!(f.status, Status::Warn | Status::Fail | Status::Error);
    if show_evidence {
        for e in &f.evidence {
            let source = e.source.as_ref().map_or(String::new(), |s| p.dim(&format!("  [{}]", line(s))));
            let _ = writeln!(out, "{detail}{}: {}{source}", line(&e.label), line(&e.value));
        }
    }
    if let Some(fix) = &f.remediation {
        let _ = writeln!(out, "{detail}{} {}", p.bold("Fix:"), line(&fix.summary));
        for c in &fix.commands {
            let _ = writeln!(out, "{detail}  {}", p.paint("36", &format!("> {}", line(c))));
        }
    }
}

//! phs-doctor: diagnose Microsoft Entra Connect password hash synchronization.
//!
//! A thin binary over the library crates: sources collect facts into a
//! snapshot, rules judge it, renderers present the findings.

// The modules form one-way layers, each using only those above it
// (tests/module_layers.rs fails on a cycle):
//   values, secrets, evidence   value parsers, secret sources, evidence paths
//   progress                    progress lines on a terminal
//   config (ad, graph), args    the config file's sections; the flags
//   resolve                     flags and config into a plan
//   ad, graph, live, collect    the plan into a snapshot, live sources included
//   audit                       the plan into every user's row
//   commands, menu              what the user runs
mod ad;
mod args;
mod audit;
mod collect;
mod commands;
mod config;
mod evidence;
mod graph;
mod live;
mod menu;
mod progress;
mod resolve;
mod secrets;
mod values;

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;

/// Exit code for usage and input errors that stop the run before any check:
/// the same as "could not evaluate" for monitoring systems.
const EXIT_CANNOT_EVALUATE: u8 = 3;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        Some(args::Command::Diagnose(a)) => commands::diagnose(&a),
        Some(args::Command::User(a)) => commands::user(&a),
        Some(args::Command::Collect(a)) => commands::collect(&a),
        Some(args::Command::Audit(a)) => commands::audit(&a),
        Some(args::Command::Explain { code }) => commands::explain(code.as_deref()),
        Some(args::Command::Menu(inputs)) => menu::run(&inputs),
        None if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => menu::run(&args::InputArgs {
            config: std::env::var_os("PHS_DOCTOR_CONFIG").map(Into::into),
            ..Default::default()
        }),
        None => {
            eprintln!("phs-doctor: no command given and not on a terminal; try `phs-doctor diagnose --help`.");
            Ok(EXIT_CANNOT_EVALUATE as i32)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("phs-doctor: {e:#}");
            ExitCode::from(EXIT_CANNOT_EVALUATE)
        }
    }
}

//! The interactive menu, shaped like Microsoft's troubleshooting menu so
//! administrators find their way. Only items that work are listed; each one
//! calls the same code as its subcommand.

use crate::args::{AuditArgs, DiagnoseArgs, InputArgs, OutputFormat, ReportArgs, UserArgs, UserSelection};
use crate::commands;
use anyhow::Result;
use inquire::{InquireError, Select, Text};
use phs_model::SourceKind;
use std::path::PathBuf;

const PHS_MENU: &str = "Troubleshoot password hash synchronization";
const EXPLAIN: &str = "Explain a check (rule documentation)";
const TEST_AD: &str = "Test Active Directory connectivity";
const TEST_ENTRA: &str = "Test Entra ID connectivity";
const QUIT: &str = "Quit";
const NOT_AT_ALL: &str = "Password hash synchronization does NOT work at all";
const ONE_USER: &str = "Password hash synchronization does NOT work for a specific user account";
const SYNC_ONE: &str = "Synchronize password hash for a specific user account (prints the steps)";
const EVERY_USER: &str = "Audit password hash synchronization for every user (a row per user, a summary)";
const BACK: &str = "Back";

enum Next {
    Stay,
    Quit,
}

pub fn run(inputs: &InputArgs) -> Result<i32> {
    println!("phs-doctor troubleshooting\n");
    loop {
        let choice = match Select::new("Main menu", vec![PHS_MENU, TEST_ENTRA, TEST_AD, EXPLAIN, QUIT]).prompt() {
            Ok(c) => c,
            Err(e) => return cancelled(e),
        };
        let next = match choice {
            PHS_MENU => phs_menu(inputs)?,
            TEST_ENTRA => {
                // The tenant alone needs no server evidence.
                if let Some(graph_inputs) = ask_for_tenant(inputs)? {
                    run_diagnosis(graph_inputs, tenant_rules());
                }
                Next::Stay
            }
            TEST_AD => {
                let ad_inputs = InputArgs { ad: true, ..inputs.clone() };
                if let Some(inputs) = ask_for_evidence(&ad_inputs)? {
                    run_diagnosis(inputs, ad_rules());
                }
                Next::Stay
            }
            EXPLAIN => explain_menu()?,
            _ => Next::Quit,
        };
        if let Next::Quit = next {
            return Ok(0);
        }
    }
}

fn phs_menu(inputs: &InputArgs) -> Result<Next> {
    loop {
        let choice = match Select::new(PHS_MENU, vec![NOT_AT_ALL, ONE_USER, SYNC_ONE, EVERY_USER, BACK, QUIT]).prompt()
        {
            Ok(c) => c,
            Err(InquireError::OperationCanceled) => return Ok(Next::Stay),
            Err(_) => return Ok(Next::Quit),
        };
        match choice {
            NOT_AT_ALL => {
                let Some(inputs) = ask_for_evidence(inputs)? else { continue };
                run_diagnosis(inputs, Vec::new());
            }
            ONE_USER | SYNC_ONE => {
                let Some(identity) = ask_for_user()? else { continue };
                let how_to_sync = choice == SYNC_ONE;
                let inputs = if how_to_sync { Some(inputs.clone()) } else { ask_for_evidence(inputs)? };
                let Some(inputs) = inputs else { continue };
                let args = UserArgs {
                    identity: Some(identity),
                    selection: UserSelection::default(),
                    inputs,
                    snapshot: None,
                    how_to_sync,
                    report: ReportArgs::default(),
                };
                if let Err(e) = commands::user(&args) {
                    eprintln!("phs-doctor: {e:#}");
                }
                pause();
            }
            EVERY_USER => {
                let Some(inputs) = ask_for_evidence(inputs)? else { continue };
                let Some(csv) = ask_for_rows_file()? else { continue };
                let args = AuditArgs {
                    inputs,
                    csv: Some(csv.clone()),
                    jsonl: None,
                    lag: None,
                    format: OutputFormat::Text,
                    output: None,
                    previous: None,
                };
                match commands::audit(&args) {
                    Ok(code) => println!("Every user's row is in {} (exit code {code}).", csv.display()),
                    Err(e) => eprintln!("phs-doctor: {e:#}"),
                }
                pause();
            }
            BACK => return Ok(Next::Stay),
            _ => return Ok(Next::Quit),
        }
    }
}

/// One line the analyst types, trimmed; None when they leave it empty or back out.
fn ask_line(prompt: &str, help: &str, default: Option<&str>) -> Result<Option<String>> {
    let mut text = Text::new(prompt).with_help_message(help);
    if let Some(d) = default {
        text = text.with_default(d);
    }
    match text.prompt() {
        Ok(s) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Ok(_) | Err(InquireError::OperationCanceled) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Which user: the identity as the analyst types it. None when they back out.
fn ask_for_user() -> Result<Option<String>> {
    ask_line(
        "User (UPN, DOMAIN\\name, DN, objectGUID or immutableId):",
        "The user whose password does not arrive; Esc to go back",
        None,
    )
}

/// Where the audit's rows go (CSV). None when the user backs out.
fn ask_for_rows_file() -> Result<Option<PathBuf>> {
    let file =
        ask_line("CSV file for every user's row:", "Overwritten if it exists; Esc to go back", Some("phs-audit.csv"))?;
    Ok(file.map(PathBuf::from))
}

/// The rules the Entra ID connectivity item runs: those judging the tenant.
fn tenant_rules() -> Vec<String> {
    phs_rules::RULES.iter().filter(|r| r.scope == phs_model::ScopeKind::Tenant).map(|r| r.code.to_owned()).collect()
}

/// The rules the AD connectivity item runs: those needing the live AD checks.
fn ad_rules() -> Vec<String> {
    phs_rules::RULES.iter().filter(|r| r.needs(phs_rules::Need::LiveAd)).map(|r| r.code.to_owned()).collect()
}

/// Runs `diagnose` (all rules, or only `rules`) and waits for the user.
fn run_diagnosis(inputs: InputArgs, rules: Vec<String>) {
    let args = DiagnoseArgs {
        inputs,
        snapshot: None,
        heartbeat_window: None,
        error_window: None,
        persistent_errors: None,
        report: ReportArgs { rules, ..ReportArgs::default() },
    };
    // A problem with the evidence is shown, then the menu goes on.
    if let Err(e) = commands::diagnose(&args) {
        eprintln!("phs-doctor: {e:#}");
    }
    pause();
}

/// Uses the config or flags given at start; otherwise asks where the
/// evidence is. None when the user backs out.
fn ask_for_evidence(given: &InputArgs) -> Result<Option<InputArgs>> {
    let has_evidence = given.config.is_some()
        || !given.evidence.get(SourceKind::ServerConfig).is_empty()
        || !given.evidence.get(SourceKind::Events).is_empty();
    if has_evidence {
        return Ok(Some(given.clone()));
    }
    let default_config = PathBuf::from("phs-doctor.toml");
    if default_config.is_file() {
        return Ok(Some(InputArgs { config: Some(default_config), ..given.clone() }));
    }
    let ask = |prompt: &str, help: &str| Text::new(prompt).with_help_message(help).prompt();
    let export = match ask(
        "Configuration export folder (Get-ADSyncServerConfiguration -Path):",
        "Leave empty to skip; Esc to go back",
    ) {
        Ok(s) => s,
        Err(InquireError::OperationCanceled) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let events = match ask("Application event log (.evtx or XML):", "Leave empty to skip; Esc to go back") {
        Ok(s) => s,
        Err(InquireError::OperationCanceled) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut out = given.clone();
    if !export.trim().is_empty() {
        out.evidence.set(SourceKind::ServerConfig, vec![PathBuf::from(export.trim())]);
    }
    if !events.trim().is_empty() {
        out.evidence.set(SourceKind::Events, vec![PathBuf::from(events.trim())]);
    }
    Ok(Some(out))
}

/// Uses the tenant and application the config, flags or AZURE_* variables
/// name; otherwise asks for them (a person at the menu then signs in with
/// the device code flow). None when the user backs out.
fn ask_for_tenant(given: &InputArgs) -> Result<Option<InputArgs>> {
    let mut out = InputArgs { graph: true, ..given.clone() };
    let configured = crate::resolve::plan(&out).ok().and_then(|r| r.graph).unwrap_or_default();
    let questions: [(&str, &str, bool, &mut Option<String>); 2] = [
        (
            "Tenant (id or domain, e.g. contoso.onmicrosoft.com):",
            "The Entra ID tenant to ask; Esc to go back",
            configured.tenant().is_some(),
            &mut out.tenant,
        ),
        (
            "Application (client) id of phs-doctor's app registration:",
            "See the README's App registration; Esc to go back",
            configured.client().is_some(),
            &mut out.client_id,
        ),
    ];
    for (prompt, help, known, answer) in questions {
        if known {
            continue;
        }
        match Text::new(prompt).with_help_message(help).prompt() {
            Ok(s) if !s.trim().is_empty() => *answer = Some(s.trim().to_owned()),
            Ok(_) | Err(InquireError::OperationCanceled) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(out))
}

fn explain_menu() -> Result<Next> {
    let items: Vec<String> = phs_rules::RULES.iter().map(|r| format!("{} {}", r.code, r.title)).collect();
    match Select::new("Which check?", items).prompt() {
        Ok(item) => {
            let code = item.split(' ').next().unwrap_or_default();
            commands::explain(Some(code))?;
            pause();
            Ok(Next::Stay)
        }
        Err(InquireError::OperationCanceled) => Ok(Next::Stay),
        Err(_) => Ok(Next::Quit),
    }
}

fn pause() {
    let _ = Text::new("Press Enter to return to the menu").prompt();
}

fn cancelled(e: InquireError) -> Result<i32> {
    match e {
        InquireError::OperationCanceled | InquireError::OperationInterrupted => Ok(0),
        e => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists derived from the registry are the ones the menu offered
    /// when they were written out by hand.
    #[test]
    fn the_connectivity_items_run_the_tenant_and_live_ad_rules() {
        let mut tenant = tenant_rules();
        tenant.sort();
        assert_eq!(tenant, ["PHS001", "PHS011", "PHS012"]);
        assert_eq!(ad_rules(), ["PHS005", "PHS006", "PHS007", "PHS014"]);
    }
}

//! The command line. Every menu action is also a subcommand, so scripts and
//! tests never need a terminal.

use crate::evidence::EvidencePaths;
use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use phs_model::EVIDENCE_INPUTS;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "phs-doctor",
    version,
    about = "Diagnose Microsoft Entra Connect password hash synchronization",
    long_about = "Diagnose Microsoft Entra Connect password hash synchronization.\n\nWithout arguments on a terminal, opens the troubleshooting menu.\nExit codes: 0 all pass, 1 warnings, 2 failures, 3 could not evaluate."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Judge the evidence and print the checklist (exit code: 0 pass, 1 warn, 2 fail, 3 could not evaluate).
    Diagnose(DiagnoseArgs),
    /// Check one user's password sync: AD, the sync engine and the tenant (same exit codes as diagnose).
    User(UserArgs),
    /// Read the evidence and write it as a snapshot, to diagnose later or elsewhere.
    Collect(CollectArgs),
    /// Every in-scope user's password sync: AD against the tenant, one row per user (CSV, JSON Lines) and a summary.
    Audit(AuditArgs),
    /// Print what a rule checks, why it matters and how to fix it (all rules without CODE).
    Explain {
        /// A rule code (PHS004) or name (connector-heartbeat).
        code: Option<String>,
    },
    /// Open the interactive troubleshooting menu.
    Menu(InputArgs),
}

/// Where the evidence comes from. Flags override the config file.
#[derive(Args, Debug, Default, Clone)]
pub struct InputArgs {
    /// Config file (TOML); see examples/*/phs-doctor.toml. Paths in it are relative to it.
    #[arg(long, short = 'c', value_name = "FILE", env = "PHS_DOCTOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// The config file is yours, not one that came with the evidence: use its
    /// [ad] and [graph] sections (DCs, secret sources, sign-in hosts) and paths
    /// outside its folder. Without it they are ignored.
    #[arg(long)]
    pub trust_config: bool,
    /// Allow http:// for the sign-in and Graph URLs when they are on loopback
    /// (tests against a local stand-in). Never needed against Microsoft.
    #[arg(long, hide = true)]
    pub allow_loopback_http: bool,
    // The evidence files: one flag per kind of `phs_model::EVIDENCE_INPUTS`.
    #[command(flatten)]
    pub evidence: EvidencePaths,
    /// Run the live Active Directory checks (PHS005-PHS007, PHS014) with default
    /// settings even if the config file has no [ad] section.
    #[arg(long)]
    pub ad: bool,
    /// Ask the tenant through Microsoft Graph (PHS001 live, PHS011, PHS012) with
    /// the AZURE_* environment variables even if the config has no [graph] section.
    #[arg(long)]
    pub graph: bool,
    /// Tenant (id or domain) to ask through Microsoft Graph; implies --graph.
    /// Default: [graph] tenant_id, else AZURE_TENANT_ID.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Application (client) id to sign in as; implies --graph. Default:
    /// [graph] client_id, else AZURE_CLIENT_ID.
    #[arg(long, value_name = "APP_ID")]
    pub client_id: Option<String>,
    /// Evaluation time (RFC 3339). Default: the snapshot's collection time, else the config's [server] gathered_at (without live checks), else now.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
}

#[derive(Args, Debug)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Judge a snapshot written by `collect` instead of reading evidence.
    #[arg(long, value_name = "FILE", conflicts_with_all = EVIDENCE_INPUTS.iter().map(|i| i.flag).chain(["config"]))]
    pub snapshot: Option<PathBuf>,
    /// How recent a heartbeat must be (e.g. 3h, 90m).
    #[arg(long, value_name = "DURATION")]
    pub heartbeat_window: Option<String>,
    /// How far back domain and cloud errors count (e.g. 2h).
    #[arg(long, value_name = "DURATION")]
    pub error_window: Option<String>,
    /// Errors within the window that make a problem persistent.
    #[arg(long, value_name = "N")]
    pub persistent_errors: Option<usize>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// How findings are reported.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Write the report here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these rules (codes or names, comma-separated), e.g. PHS005,PHS006,PHS007,PHS014.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub rules: Vec<String>,
    /// Show the evidence of passing checks too.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl Default for ReportArgs {
    fn default() -> ReportArgs {
        ReportArgs {
            format: OutputFormat::Text,
            output: None,
            rules: Vec::new(),
            verbose: false,
            color: ColorChoice::Auto,
        }
    }
}

/// Which user, for `user` and `collect --user`.
#[derive(Args, Debug, Default, Clone)]
pub struct UserSelection {
    /// The AD connector (forest) the user belongs to, for a bare sAMAccountName.
    #[arg(long, value_name = "NAME")]
    pub connector: Option<String>,
}

#[derive(Args, Debug)]
pub struct UserArgs {
    /// The user: UPN, DOMAIN\name, sAMAccountName, DN, objectGUID, or
    /// sourceAnchor (base64, or the Entra connector space's CN={hex}).
    #[arg(value_name = "IDENTITY", required_unless_present = "snapshot")]
    pub identity: Option<String>,
    #[command(flatten)]
    pub selection: UserSelection,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Judge a snapshot written by `collect --user` instead of reading evidence.
    #[arg(long, value_name = "FILE", conflicts_with_all = EVIDENCE_INPUTS.iter().map(|i| i.flag).chain(["config", "identity"]))]
    pub snapshot: Option<PathBuf>,
    /// Print the steps that sync this user's password hash now (Microsoft's
    /// "Synchronize password hash for a specific user account"), instead of
    /// diagnosing. phs-doctor changes nothing itself.
    #[arg(long, conflicts_with = "snapshot")]
    pub how_to_sync: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args, Debug)]
pub struct CollectArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Also collect one user's facts (see `phs-doctor user --help` for the forms).
    #[arg(long, value_name = "IDENTITY")]
    pub user: Option<String>,
    #[command(flatten)]
    pub selection: UserSelection,
    /// Where to write the snapshot (JSON); `-` for standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Write every user's row here as CSV (columns in the README).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write every user's row here as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// How long an AD password change may wait for the cloud (default: [evaluation] user_password_lag, else 2h).
    #[arg(long, value_name = "DURATION")]
    pub lag: Option<String>,
    /// The summary's format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Write the summary here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// An earlier audit's summary (`-f json`): the summary says what changed since.
    #[arg(long, value_name = "FILE")]
    pub previous: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
    Markdown,
    Html,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// One flag per evidence kind, made from the declaration (clap's derive
/// needs a field per flag, which would be a second declaration).
impl Args for EvidencePaths {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        EVIDENCE_INPUTS.iter().fold(cmd, |cmd, input| {
            cmd.arg(
                Arg::new(input.flag)
                    .long(input.flag)
                    .value_name(input.value_name)
                    .help(input.help)
                    .value_parser(clap::value_parser!(PathBuf))
                    .action(if input.repeatable { ArgAction::Append } else { ArgAction::Set }),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for EvidencePaths {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut paths = EvidencePaths::default();
        paths.update_from_arg_matches(matches)?;
        Ok(paths)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for input in EVIDENCE_INPUTS {
            if let Some(given) = matches.get_many::<PathBuf>(input.flag) {
                self.set(input.source, given.cloned().collect());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use phs_model::SourceKind;

    /// clap's own consistency check: among others, every id `--snapshot`
    /// conflicts with is a flag that exists.
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    fn evidence_of(args: &[&str]) -> Result<EvidencePaths, clap::Error> {
        let cli = Cli::try_parse_from(["phs-doctor", "collect", "-o", "-"].iter().chain(args))?;
        match cli.command {
            Some(Command::Collect(c)) => Ok(c.inputs.evidence),
            other => panic!("{other:?}"),
        }
    }

    /// Each declared kind has its flag; repeatable ones collect every
    /// value, the others refuse a second.
    #[test]
    fn every_declared_kind_has_its_flag() {
        for input in EVIDENCE_INPUTS {
            let flag = format!("--{}", input.flag);
            let once = evidence_of(&[&flag, "a"]).unwrap();
            assert_eq!(once.get(input.source), [PathBuf::from("a")], "{flag}");
            assert_eq!(once.iter().count(), 1, "{flag}");
            let twice = evidence_of(&[&flag, "a", &flag, "b"]);
            match input.repeatable {
                true => assert_eq!(twice.unwrap().get(input.source), [PathBuf::from("a"), PathBuf::from("b")]),
                false => assert!(twice.is_err(), "{flag} given twice"),
            }
        }
        assert!(evidence_of(&[]).unwrap().is_empty());
        let e =
            Cli::try_parse_from(["phs-doctor", "diagnose", "--snapshot", "s.json", "--scheduler", "x"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        let mixed = evidence_of(&["--events", "a.evtx", "--server-config", "export"]).unwrap();
        assert_eq!(mixed.get(SourceKind::ServerConfig), [PathBuf::from("export")]);
    }
}

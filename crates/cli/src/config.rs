//! The config file (TOML). It names the evidence and the thresholds; flags
//! override it. Paths are relative to the file's folder, so an evidence folder
//! can be zipped and judged anywhere.
//!
//! A config file usually arrives inside an evidence folder, from a server the
//! analyst does not control, so it is untrusted unless the analyst vouches
//! for it (`--trust-config`). An untrusted config may only say where its own
//! evidence is (inside its folder) and how to judge it ([server],
//! [evaluation]). Everything that decides where a secret goes ([ad]: DCs,
//! password sources, transports; [graph]: secret sources, sign-in and Graph
//! hosts) is the analyst's alone: flags, the environment, or a config file
//! passed with `--trust-config`.
//!
//! This layer is data and value parsing only (the `[ad]` and `[graph]`
//! sections are in `config/ad.rs` and `config/graph.rs`): nothing here
//! connects, prompts or reads a secret; `ad`, `graph` and `live` do, from
//! the plan `resolve` makes.

pub mod ad;
pub mod graph;

use crate::evidence::EvidencePaths;
use anyhow::{anyhow, bail, Result};
use phs_model::{EvidenceInput, EVIDENCE_INPUTS};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub evaluation: EvaluationSection,
    /// Live Active Directory checks; present = enabled (trusted configs only).
    pub ad: Option<ad::AdSection>,
    /// The tenant through Microsoft Graph; present = enabled (trusted configs only).
    pub graph: Option<graph::GraphSection>,
}

/// The `[server]` section: one key per evidence kind (the `config_key` of
/// `phs_model::EVIDENCE_INPUTS`, a list for repeatable kinds), and
/// `gathered_at`. Unknown keys are refused, as in every other section.
#[derive(Debug, Default)]
pub struct ServerSection {
    pub evidence: EvidencePaths,
    /// When the gather script exported this evidence (RFC 3339, UTC). The
    /// event log is then known to be complete up to this time, and it is
    /// the default evaluation time of a run that reads no live source.
    pub gathered_at: Option<String>,
}

/// A key of `[server]`, checked while it is read so a TOML error points at it.
enum ServerKey {
    Evidence(&'static EvidenceInput),
    GatheredAt,
}

impl<'de> Deserialize<'de> for ServerKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ServerKey, D::Error> {
        let key = String::deserialize(d)?;
        if key == "gathered_at" {
            return Ok(ServerKey::GatheredAt);
        }
        match EVIDENCE_INPUTS.iter().find(|i| i.config_key == key) {
            Some(input) => Ok(ServerKey::Evidence(input)),
            None => {
                let expected: Vec<String> = EVIDENCE_INPUTS
                    .iter()
                    .map(|i| i.config_key)
                    .chain(["gathered_at"])
                    .map(|k| format!("`{k}`"))
                    .collect();
                Err(de::Error::custom(format!("unknown field `{key}`, expected one of {}", expected.join(", "))))
            }
        }
    }
}

impl<'de> Deserialize<'de> for ServerSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ServerSection, D::Error> {
        struct Section;
        impl<'de> Visitor<'de> for Section {
            type Value = ServerSection;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the [server] section")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ServerSection, A::Error> {
                let mut section = ServerSection::default();
                while let Some(key) = map.next_key::<ServerKey>()? {
                    match key {
                        ServerKey::GatheredAt => section.gathered_at = Some(map.next_value()?),
                        ServerKey::Evidence(input) => {
                            let paths =
                                if input.repeatable { map.next_value()? } else { vec![map.next_value::<PathBuf>()?] };
                            section.evidence.set(input.source, paths);
                        }
                    }
                }
                Ok(section)
            }
        }
        d.deserialize_map(Section)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSection {
    pub now: Option<String>,
    pub heartbeat_window: Option<String>,
    pub error_window: Option<String>,
    pub persistent_error_count: Option<usize>,
    pub password_sync_window: Option<String>,
    pub directory_sync_window: Option<String>,
    /// How long after an AD password change its absence in the cloud is
    /// still "on its way" (PHS027).
    pub user_password_lag: Option<String>,
}

/// Who wrote the config file, as far as the analyst tells us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Came with the evidence (the default): [server] and [evaluation] only,
    /// paths inside its folder.
    Evidence,
    /// The analyst's own file (`--trust-config`): every section.
    Analyst,
}

/// Keys whose values are or lead to secrets: a parse error on their line
/// never shows the value.
const SECRET_KEY_WORDS: &[&str] = &["password", "secret", "token", "key", "assertion", "credential", "pwd", "pass"];

impl ConfigFile {
    pub fn load(path: &Path, trust: Trust) -> Result<ConfigFile> {
        let bytes = phs_sources::evidence_file::read(path, phs_sources::evidence_file::cap::CONFIG)
            .map_err(|e| anyhow!("config file {}: {e}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|e| anyhow!("config file {} is not UTF-8: {e}", path.display()))?;
        let mut cfg: ConfigFile = toml::from_str(&text)
            .map_err(|e| anyhow!("config file {}: {}", path.display(), describe_error(&text, &e)))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut problems = Vec::new();
        let mut place = |p: &mut PathBuf| match place_path(base, p, trust) {
            Ok(placed) => *p = placed,
            Err(e) => problems.push(e),
        };
        for p in cfg.server.evidence.paths_mut() {
            place(p);
        }
        if let Some(first) = problems.into_iter().next() {
            bail!("config file {}: {first}", path.display());
        }
        if trust == Trust::Evidence {
            let ignored: Vec<&str> =
                [cfg.ad.take().map(|_| "[ad]"), cfg.graph.take().map(|_| "[graph]")].into_iter().flatten().collect();
            if !ignored.is_empty() {
                // Said on stderr, not in the report: nothing was collected
                // wrongly, the analyst only has to choose.
                eprintln!(
                    "phs-doctor: {} in {} not used: a config file that comes with evidence may not choose DCs, \
                     secrets or sign-in hosts. If you wrote this file yourself, pass --trust-config.",
                    ignored.join(" and "),
                    phs_report::neutral::line(&path.display().to_string()),
                );
            }
        }
        if let Some(ad) = cfg.ad.as_mut() {
            ad.rebase(base);
        }
        if let Some(g) = cfg.graph.as_mut() {
            g.rebase(base);
        }
        Ok(cfg)
    }
}

/// A path from the config, made relative to the config's folder. An
/// untrusted config may only name files inside its folder: no absolute
/// paths, no `..`, and no symbolic link leading out of it.
fn place_path(base: &Path, path: &Path, trust: Trust) -> Result<PathBuf, String> {
    let placed = base.join(path);
    if trust == Trust::Analyst {
        return Ok(placed);
    }
    let shown = phs_report::neutral::line(&path.display().to_string()).into_owned();
    if path.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!(
            "[server] path {shown:?} leaves the config's folder; a config that comes with evidence may only name \
             files inside its folder (pass --trust-config if you wrote it)"
        ));
    }
    // A link inside the folder may still point anywhere (/proc/self/environ).
    if let (Ok(real), Ok(real_base)) = (placed.canonicalize(), base.canonicalize()) {
        if !real.starts_with(&real_base) {
            return Err(format!(
                "[server] path {shown:?} is a link to a file outside the config's folder; a config that comes \
                 with evidence may only name files inside its folder (pass --trust-config if you wrote it)"
            ));
        }
    }
    Ok(placed)
}

/// A TOML error as line, column and message, never the source line itself:
/// the file may hold a secret next to the mistake. On a line whose key names
/// a secret, quoted values in the message are hidden too (serde quotes the
/// value it could not use).
fn describe_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    let Some(span) = error.span() else {
        return hide_quoted(message);
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line.split('=').next().unwrap_or("").to_ascii_lowercase();
    let message = if SECRET_KEY_WORDS.iter().any(|w| key.contains(w)) || !line.contains('=') {
        hide_quoted(message)
    } else {
        phs_report::neutral::line(message).into_owned()
    };
    format!("line {line_no}, column {column}: {message}")
}

/// The message with every quoted or back-quoted run replaced, so no value
/// from the file survives in it.
fn hide_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    for c in message.chars() {
        match open {
            Some(q) if c == q => {
                out.push_str("(value hidden)");
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                out.push(c);
                open = Some(c);
            }
            None => out.push(c),
        }
    }
    if open.is_some() {
        out.push_str("(value hidden)");
    }
    phs_report::neutral::line(&out).into_owned()
}
#[cfg(test)]
mod tests {
    use super::*;
    use phs_model::SourceKind;

    /// The documented example of every setting must stay a valid config: it
    /// parses (unknown keys are refused), its paths rebase onto its folder,
    /// and its [ad] and [graph] sections turn into options.
    #[test]
    fn the_full_example_is_a_valid_config() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/phs-doctor.full.toml");
        let cfg = ConfigFile::load(&path, Trust::Analyst).expect("examples/phs-doctor.full.toml parses");
        let export = cfg.server.evidence.get(SourceKind::ServerConfig).first().expect("config_dir");
        assert!(export.join("Connectors").is_dir(), "{} is not an export", export.display());
        assert!(cfg.server.evidence.get(SourceKind::Events).iter().all(|e| e.is_file()));
        assert_eq!(cfg.evaluation.password_sync_window.as_deref(), Some("2h"));
        assert_eq!(cfg.evaluation.directory_sync_window.as_deref(), Some("3h"));
        cfg.ad.as_ref().expect("[ad]").options().expect("[ad] options");
        let graph = cfg.graph.as_ref().expect("[graph]");
        let opts = graph.options().expect("[graph] options");
        assert_eq!(opts.timeout, std::time::Duration::from_secs(10));
        assert_eq!(graph.flow.as_deref(), Some("device-code"));
        let cred = crate::graph::credential(graph).expect("a device code credential needs no secret").credential;
        assert_eq!(cred.flow(), "device-code");
        assert_eq!(cred.tenant(), "fabrikam.onmicrosoft.com");
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The same file that gives live sections to the analyst gives nothing
    /// of them when it came with the evidence: it cannot start a bind or a
    /// sign-in, name a secret source or choose a host.
    #[test]
    fn an_evidence_config_cannot_choose_secrets_or_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[server]\nconfig_dir = \"export\"\n\n[ad]\nallow_plain_ldap = true\n[ad.connector.\"x\"]\n\
                    password_env = \"HOME\"\ndcs = [\"198.51.100.7\"]\n\n[graph]\nclient_secret_file = \"/proc/self/environ\"\n\
                    authority = \"http://198.51.100.7\"\n";
        let p = write(dir.path(), "phs-doctor.toml", text);
        let evidence = ConfigFile::load(&p, Trust::Evidence).unwrap();
        assert!(evidence.ad.is_none() && evidence.graph.is_none());
        assert_eq!(evidence.server.evidence.get(SourceKind::ServerConfig), [dir.path().join("export")]);
        let analyst = ConfigFile::load(&p, Trust::Analyst).unwrap();
        assert!(analyst.ad.is_some() && analyst.graph.is_some());
    }

    #[test]
    fn an_evidence_config_names_only_files_inside_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("evidence");
        std::fs::create_dir(&inner).unwrap();
        let secret = write(dir.path(), "outside.txt", "not evidence");
        for (value, why) in
            [("/etc/passwd", "leaves"), ("../outside.txt", "leaves"), ("logs/../../outside.txt", "leaves")]
        {
            let p = write(&inner, "phs-doctor.toml", &format!("[server]\nevents = [\"{value}\"]\n"));
            let e = ConfigFile::load(&p, Trust::Evidence).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("--trust-config"), "{value}: {e}");
            // The analyst may point anywhere.
            ConfigFile::load(&p, Trust::Analyst).unwrap();
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&secret, inner.join("app.xml")).unwrap();
            let p = write(&inner, "phs-doctor.toml", "[server]\nevents = [\"app.xml\"]\n");
            let e = ConfigFile::load(&p, Trust::Evidence).unwrap_err().to_string();
            assert!(e.contains("link to a file outside"), "{e}");
        }
        std::fs::write(inner.join("real.xml"), "<Events/>").unwrap();
        let p = write(&inner, "phs-doctor.toml", "[server]\nevents = [\"./real.xml\"]\n");
        assert_eq!(
            ConfigFile::load(&p, Trust::Evidence).unwrap().server.evidence.get(SourceKind::Events),
            [inner.join("./real.xml")]
        );
    }

    /// `[server]` has one key per declared evidence kind (a list where the
    /// kind repeats) and `gathered_at`; a key no kind declares is refused
    /// where it stands, as serde refuses unknown keys elsewhere.
    #[test]
    fn server_keys_are_the_declared_evidence_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("[server]\n");
        for input in EVIDENCE_INPUTS {
            let (key, flag) = (input.config_key, input.flag);
            text += &if input.repeatable {
                format!("{key} = [\"{flag}-1\", \"{flag}-2\"]\n")
            } else {
                format!("{key} = \"{flag}\"\n")
            };
        }
        text += "gathered_at = \"2026-11-24T12:00:00Z\"\n";
        let cfg = ConfigFile::load(&write(dir.path(), "c.toml", &text), Trust::Evidence).unwrap();
        for input in EVIDENCE_INPUTS {
            let names: Vec<String> = if input.repeatable {
                vec![format!("{}-1", input.flag), format!("{}-2", input.flag)]
            } else {
                vec![input.flag.to_owned()]
            };
            let expected: Vec<PathBuf> = names.iter().map(|n| dir.path().join(n)).collect();
            assert_eq!(cfg.server.evidence.get(input.source), expected, "{}", input.config_key);
        }
        assert_eq!(cfg.server.gathered_at.as_deref(), Some("2026-11-24T12:00:00Z"));

        for (text, line, says) in [
            ("[server]\nconfig_dir = \"x\"\nconfigdir = \"y\"\n", "line 3", "unknown field `configdir`"),
            ("[server]\nevents = \"one.xml\"\n", "line 2", "sequence"),
            ("[server]\nscheduler = [\"a.json\"]\n", "line 2", "string"),
        ] {
            let e = ConfigFile::load(&write(dir.path(), "c.toml", text), Trust::Evidence).unwrap_err().to_string();
            assert!(e.contains(line) && e.contains(says), "{text:?} -> {e}");
        }
    }

    /// A parse error says where, never what: the line may hold a password.
    #[test]
    fn toml_errors_never_echo_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "[ad.connector.\"x\"]\npassword_prompt = \"Hunter2-Sommer!\"\n",
            "[graph]\nclient_secret = \"Hunter2-Sommer!\"\n",
            "[graph]\nclient_secret_env = \"Hunter2-Sommer!\" x\n",
            "[ad.connector.\"x\"]\npassword_env = [\"Hunter2-Sommer!\"\n",
            "[graph]\ntenant_id = \"\"\"Hunter2-Sommer!\n",
            "[ad]\npw = 'Hunter2-Sommer!' = 1\n",
        ] {
            let p = write(dir.path(), "c.toml", text);
            for trust in [Trust::Evidence, Trust::Analyst] {
                let e = format!("{:#}", ConfigFile::load(&p, trust).unwrap_err());
                assert!(!e.contains("Hunter2"), "{text:?} -> {e}");
                assert!(e.contains("line "), "{text:?} -> {e}");
            }
        }
        // Not a secret: the value stays, to help fix it.
        let p = write(dir.path(), "c.toml", "[evaluation]\npersistent_error_count = \"three\"\n");
        let e = ConfigFile::load(&p, Trust::Evidence).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("three"), "{e}");
    }
}

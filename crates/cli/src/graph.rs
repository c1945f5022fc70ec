//! The `[graph]` section: how phs-doctor signs in to Microsoft Entra ID, with
//! the usual environment conventions (AZURE_TENANT_ID, AZURE_CLIENT_ID,
//! AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH) as defaults.

use crate::values::parse_duration;
use crate::secrets::{PasswordSource, VarName};
use anyhow::{anyhow, bail, Result};
use phs_sources::graph::{check_endpoint, split_key_and_certificate, Credential, GraphOptions};
use phs_sources::secret::Secret;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct GraphSection {
    /// Tenant id or domain; default AZURE_TENANT_ID.
    pub tenant_id: Option<String>,
    /// Application (client) id; default AZURE_CLIENT_ID.
    pub client_id: Option<String>,
    /// `client-secret`, `client-certificate` or `device-code`; default: a
    /// certificate when one is named, else a secret when one is given, else
    /// the device code flow.
    pub flow: Option<String>,
    /// Environment variable holding the client secret; default AZURE_CLIENT_SECRET.
    pub client_secret_env: Option<String>,
    /// File (owner-only) holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// PEM file with the private key and the certificate; default AZURE_CLIENT_CERTIFICATE_PATH.
    pub certificate_path: Option<PathBuf>,
    /// Default AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com
    /// (sovereign clouds differ).
    pub authority: Option<String>,
    /// Default https://graph.microsoft.com.
    pub graph_url: Option<String>,
    /// Per request; default 10 s.
    pub timeout: Option<String>,
    /// From the `--allow-loopback-http` flag, never from a file: lets the
    /// tests' stand-in on loopback be plain http.
    #[serde(skip)]
    pub allow_loopback_http: bool,
}

/// The credential to sign in with, and where its secret came from (for the
/// notice that says which host receives what).
pub struct CredentialPlan {
    pub credential: Credential,
    /// "the client secret from environment variable AZURE_CLIENT_SECRET", ...
    pub sends: String,
}

impl GraphSection {
    pub fn rebase(&mut self, base: &Path) {
        for p in [&mut self.client_secret_file, &mut self.certificate_path].into_iter().flatten() {
            *p = base.join(&*p);
        }
    }

    pub fn options(&self) -> Result<GraphOptions> {
        let mut o = GraphOptions::default();
        // AZURE_AUTHORITY_HOST is the Azure SDKs' name for the sign-in host.
        // (Trailing slashes are the source's to strip.)
        if let Some(a) = self.authority.clone().or_else(|| env("AZURE_AUTHORITY_HOST")) {
            o.authority = a;
        }
        if let Some(g) = &self.graph_url {
            o.graph_url = g.clone();
        }
        if let Some(t) = &self.timeout {
            o.timeout = parse_duration("[graph] timeout", t)?.unsigned_abs();
        }
        // The secret, the assertion and the token go to these two hosts.
        check_endpoint("[graph] authority", &o.authority, self.allow_loopback_http).map_err(|e| anyhow!(e))?;
        check_endpoint("[graph] graph_url", &o.graph_url, self.allow_loopback_http).map_err(|e| anyhow!(e))?;
        Ok(o)
    }

    /// The tenant to ask: the file's (or --tenant), else AZURE_TENANT_ID.
    pub fn tenant(&self) -> Option<String> {
        self.tenant_id.clone().or_else(|| env("AZURE_TENANT_ID"))
    }

    /// The application to sign in as: the file's (or --client-id), else AZURE_CLIENT_ID.
    pub fn client(&self) -> Option<String> {
        self.client_id.clone().or_else(|| env("AZURE_CLIENT_ID"))
    }

    /// The credential, with its secret read now (before any progress display).
    pub fn credential(&self) -> Result<CredentialPlan> {
        let tenant = self.tenant().ok_or_else(|| anyhow!("[graph] needs tenant_id (or AZURE_TENANT_ID)"))?;
        // The tenant becomes a path segment of the sign-in URL.
        if !is_tenant_name(&tenant) {
            bail!("[graph] tenant_id must be a tenant id (GUID) or a domain name such as contoso.onmicrosoft.com");
        }
        let client_id = self.client().ok_or_else(|| anyhow!("[graph] needs client_id (or AZURE_CLIENT_ID)"))?;
        let certificate =
            self.certificate_path.clone().or_else(|| env("AZURE_CLIENT_CERTIFICATE_PATH").map(PathBuf::from));
        let secret_env = VarName::parse(
            "[graph] client_secret_env",
            self.client_secret_env.as_deref().unwrap_or("AZURE_CLIENT_SECRET"),
        )
        .map_err(anyhow::Error::msg)?;
        let secret_source = match &self.client_secret_file {
            Some(f) => Some(PasswordSource::File(f.clone())),
            None => env(secret_env.as_str()).map(|_| PasswordSource::Env(secret_env.clone())),
        };
        let flow = match self.flow.as_deref() {
            Some(f) => f.to_owned(),
            None if certificate.is_some() => "client-certificate".into(),
            None if secret_source.is_some() => "client-secret".into(),
            None => "device-code".into(),
        };
        Ok(match flow.as_str() {
            "client-secret" => {
                let src = secret_source.ok_or_else(|| {
                    anyhow!(
                        "[graph] flow client-secret: set {} or client_secret_file (never on the command line)",
                        secret_env.as_str()
                    )
                })?;
                let secret = src.read("the client secret").map_err(|e| anyhow!("[graph] client secret: {e}"))?;
                CredentialPlan {
                    sends: format!("the client secret (from {})", src.describe()),
                    credential: Credential::ClientSecret { tenant, client_id, secret },
                }
            }
            "client-certificate" => {
                let path = certificate.ok_or_else(|| {
                    anyhow!("[graph] flow client-certificate: set certificate_path or AZURE_CLIENT_CERTIFICATE_PATH")
                })?;
                let (key, cert) = read_pem_pair(&path)?;
                CredentialPlan {
                    sends: format!("an assertion signed with the key in {}", path.display()),
                    credential: Credential::ClientCertificate {
                        tenant,
                        client_id,
                        private_key_pem: key,
                        certificate_pem: cert,
                    },
                }
            }
            "device-code" => CredentialPlan {
                sends: "a device code sign-in (no secret of ours)".to_owned(),
                credential: Credential::DeviceCode { tenant, client_id },
            },
            other => bail!("[graph] flow {other:?}: use client-secret, client-certificate or device-code"),
        })
    }
}

/// A tenant id or a domain: letters, digits, dots and hyphens, so it cannot
/// change the sign-in URL's path or host.
fn is_tenant_name(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 253
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !t.starts_with('.')
        && !t.contains("..")
}

/// An environment variable's value, unless unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The private key and the certificate from one PEM file (as Azure tooling
/// writes them). The file must be private: it holds the key.
fn read_pem_pair(path: &Path) -> Result<(Secret, String)> {
    let text = PasswordSource::File(path.to_path_buf())
        .read("the certificate key")
        .map_err(|e| anyhow!("[graph] certificate: {e}"))?;
    split_key_and_certificate(&text).map_err(|e| anyhow!("[graph] certificate_path {}: {e}", path.display()))
}

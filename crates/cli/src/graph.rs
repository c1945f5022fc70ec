//! Signing in to Microsoft Entra ID as the `[graph]` section says: the
//! credential, with its secret read now, and the account of where it goes.

use crate::config::graph::GraphSection;
use crate::secrets::{PasswordSource, VarName};
use crate::values::env;
use anyhow::{anyhow, bail, Result};
use phs_sources::graph::{split_key_and_certificate, Credential};
use phs_sources::secret::Secret;
use std::path::{Path, PathBuf};

/// The credential to sign in with, and where its secret came from (for the
/// notice that says which host receives what).
pub struct CredentialPlan {
    pub credential: Credential,
    /// "the client secret from environment variable AZURE_CLIENT_SECRET", ...
    pub sends: String,
}

/// The credential, with its secret read now (before any progress display).
pub fn credential(section: &GraphSection) -> Result<CredentialPlan> {
    let tenant = section.tenant().ok_or_else(|| anyhow!("[graph] needs tenant_id (or AZURE_TENANT_ID)"))?;
    // The tenant becomes a path segment of the sign-in URL.
    if !is_tenant_name(&tenant) {
        bail!("[graph] tenant_id must be a tenant id (GUID) or a domain name such as contoso.onmicrosoft.com");
    }
    let client_id = section.client().ok_or_else(|| anyhow!("[graph] needs client_id (or AZURE_CLIENT_ID)"))?;
    let certificate =
        section.certificate_path.clone().or_else(|| env("AZURE_CLIENT_CERTIFICATE_PATH").map(PathBuf::from));
    let secret_env = VarName::parse(
        "[graph] client_secret_env",
        section.client_secret_env.as_deref().unwrap_or("AZURE_CLIENT_SECRET"),
    )
    .map_err(anyhow::Error::msg)?;
    let secret_source = match &section.client_secret_file {
        Some(f) => Some(PasswordSource::File(f.clone())),
        None => env(secret_env.as_str()).map(|_| PasswordSource::Env(secret_env.clone())),
    };
    let flow = match section.flow.as_deref() {
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

/// A tenant id or a domain: letters, digits, dots and hyphens, so it cannot
/// change the sign-in URL's path or host.
fn is_tenant_name(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 253
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !t.starts_with('.')
        && !t.contains("..")
}

/// The private key and the certificate from one PEM file (as Azure tooling
/// writes them). The file must be private: it holds the key.
fn read_pem_pair(path: &Path) -> Result<(Secret, String)> {
    let text = PasswordSource::File(path.to_path_buf())
        .read("the certificate key")
        .map_err(|e| anyhow!("[graph] certificate: {e}"))?;
    split_key_and_certificate(&text).map_err(|e| anyhow!("[graph] certificate_path {}: {e}", path.display()))
}

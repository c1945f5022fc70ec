//! The `[graph]` section of the config file: how phs-doctor signs in to
//! Microsoft Entra ID, with the usual environment conventions
//! (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
//! AZURE_CLIENT_CERTIFICATE_PATH, AZURE_AUTHORITY_HOST) as defaults. It names
//! where secrets are; `graph` reads them.

use crate::values::{env, parse_duration};
use anyhow::{anyhow, Result};
use phs_sources::graph::{check_endpoint, GraphOptions};
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
}

//! Microsoft Entra ID through Microsoft Graph: sign-in (OAuth 2.0 client
//! credentials with a secret or a certificate, or the device code flow) and
//! the few Graph reads the tenant checks need. Tokens live in memory only.
//!
//! - `auth`: the token endpoint (three flows) and Entra's error texts.
//! - `assertion`: the signed JWT a certificate sign-in sends.
//! - `claims`: the claims read from an access token (user name, `tid`).
//! - `client`: HTTP with timeouts, throttling retries, paging, error texts.
//! - `read`: the Graph reads, turned into [`TenantFacts`].
//! - `endpoint`: which URLs may receive a credential (https only).

mod assertion;
mod auth;
mod claims;
mod client;
mod endpoint;
mod read;

pub use crate::secret::Secret;
pub use assertion::split_key_and_certificate;
pub use endpoint::check_endpoint;

use phs_model::graph::TenantFacts;
use std::time::Duration;

/// Where to sign in and what to read, and how patient to be.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// The Entra ID sign-in host, without a trailing slash. Sovereign clouds
    /// (and the tests' stand-in) differ.
    pub authority: String,
    /// The Graph base URL, without a trailing slash.
    pub graph_url: String,
    /// Every request (connect, send, whole answer) must finish within this.
    pub timeout: Duration,
    /// Retries on 429/503/504 before giving up.
    pub max_retries: u32,
    /// Cap on one wait before a retry, whatever `Retry-After` asks.
    pub max_retry_wait: Duration,
}

impl Default for GraphOptions {
    fn default() -> GraphOptions {
        GraphOptions {
            authority: "https://login.microsoftonline.com".to_owned(),
            graph_url: "https://graph.microsoft.com".to_owned(),
            timeout: Duration::from_secs(10),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(30),
        }
    }
}

impl GraphOptions {
    pub(crate) fn authority_base(&self) -> &str {
        self.authority.trim_end_matches('/')
    }

    pub(crate) fn graph_base(&self) -> &str {
        self.graph_url.trim_end_matches('/')
    }
}

/// How to sign in.
#[derive(Debug)]
pub enum Credential {
    ClientSecret {
        tenant: String,
        client_id: String,
        secret: Secret,
    },
    /// PEM private key (PKCS#8 or PKCS#1 RSA) and the PEM certificate whose
    /// SHA-256 thumbprint goes in the JWT header (`x5t#S256`).
    ClientCertificate {
        tenant: String,
        client_id: String,
        private_key_pem: Secret,
        certificate_pem: String,
    },
    /// A person signs in at a terminal; `on_prompt` shows Entra's message
    /// (URL + code).
    DeviceCode {
        tenant: String,
        client_id: String,
    },
}

impl Credential {
    /// The tenant asked (GUID or domain).
    pub fn tenant(&self) -> &str {
        match self {
            Credential::ClientSecret { tenant, .. }
            | Credential::ClientCertificate { tenant, .. }
            | Credential::DeviceCode { tenant, .. } => tenant,
        }
    }

    /// The application (client) id.
    pub fn client_id(&self) -> &str {
        match self {
            Credential::ClientSecret { client_id, .. }
            | Credential::ClientCertificate { client_id, .. }
            | Credential::DeviceCode { client_id, .. } => client_id,
        }
    }

    /// `client-secret`, `client-certificate` or `device-code`, as
    /// [`TenantFacts::flow`] records it.
    pub fn flow(&self) -> &'static str {
        match self {
            Credential::ClientSecret { .. } => "client-secret",
            Credential::ClientCertificate { .. } => "client-certificate",
            Credential::DeviceCode { .. } => "device-code",
        }
    }

    /// App-only sign-ins carry application permissions, which some Graph
    /// APIs (onPremisesSynchronization) don't accept.
    pub fn is_app_only(&self) -> bool {
        !matches!(self, Credential::DeviceCode { .. })
    }
}

/// Signs in, then reads the tenant facts. Never panics; every failure
/// becomes text in [`TenantFacts`] (`sign_in_error` / `sync_error` /
/// `organization_error`) naming the cause.
pub async fn collect_tenant(
    cred: &Credential,
    opts: &GraphOptions,
    on_prompt: &(dyn Fn(&str) + Send + Sync),
) -> TenantFacts {
    let mut facts = TenantFacts {
        tenant: cred.tenant().to_owned(),
        flow: cred.flow().to_owned(),
        graph_url: opts.graph_base().to_owned(),
        ..TenantFacts::default()
    };
    let http = match client::http_client(opts) {
        Ok(h) => h,
        Err(e) => {
            facts.sign_in_error = Some(e);
            return scrubbed(facts, cred, None);
        }
    };
    let session = match auth::sign_in(&http, cred, opts, on_prompt).await {
        Ok(s) => s,
        Err(e) => {
            facts.sign_in_error = Some(e);
            return scrubbed(facts, cred, None);
        }
    };
    facts.signed_in_as = Some(session.signed_in_as.clone());
    facts.token_tenant_id = claims::tenant_id(&session.token);
    let graph = client::GraphClient::new(&http, opts, &session.token);
    // The two reads are independent; one slow endpoint shouldn't double the wait.
    let (sync, org) = tokio::join!(read::sync_features(&graph, cred.is_app_only()), read::organization(&graph));
    // Stamped when the answers are in, by this machine's clock: no time
    // Graph reports can honestly be later than this.
    facts.read_at = Some(read_time());
    match sync {
        Ok(Some(s)) => facts.sync = Some(s),
        Ok(None) => facts.no_directory_sync = true,
        Err(e) => facts.sync_error = Some(e),
    }
    facts.organization = org.organization;
    facts.organization_error = org.error;
    scrubbed(facts, cred, Some(&session))
}

/// Now, rounded up to the second: reports need no nanoseconds, and rounding
/// down could put the read before a time Graph stamped in the same second.
fn read_time() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    let up = jiff::TimestampRound::new().smallest(jiff::Unit::Second).mode(jiff::RoundMode::Ceil);
    now.round(up).unwrap_or(now)
}

/// Last line of defence: no text the user sees may carry the client secret,
/// the private key (or a line of it) or a token, whatever its length, even
/// if a server echoed one back. Every string of the facts is scrubbed, so a
/// field added later is covered too.
fn scrubbed(facts: TenantFacts, cred: &Credential, session: Option<&auth::Session>) -> TenantFacts {
    let mut key_lines: Vec<Secret> = Vec::new();
    let mut secrets: Vec<&Secret> = Vec::new();
    match cred {
        Credential::ClientSecret { secret, .. } => secrets.push(secret),
        Credential::ClientCertificate { private_key_pem, .. } => {
            secrets.push(private_key_pem);
            // A server quoting part of a key would quote whole base64 lines.
            key_lines = private_key_pem
                .expose()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("-----"))
                .map(|l| Secret::new(l.to_owned()))
                .collect();
        }
        Credential::DeviceCode { .. } => {}
    }
    secrets.extend(key_lines.iter());
    if let Some(s) = session {
        secrets.push(&s.token);
        secrets.extend(s.other_tokens.iter());
    }
    crate::secret::scrub_value(&facts, &secrets).unwrap_or_else(|e| TenantFacts {
        tenant: facts.tenant.clone(),
        flow: facts.flow.clone(),
        graph_url: facts.graph_url.clone(),
        sign_in_error: Some(format!(
            "the tenant facts were dropped: a secret occurs in them and could not be cut out without breaking them ({e})"
        )),
        ..TenantFacts::default()
    })
}

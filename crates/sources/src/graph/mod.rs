//! Microsoft Entra ID through Microsoft Graph: sign-in (OAuth 2.0 client
//! credentials with a secret or a certificate, or the device code flow) and
//! the few Graph reads the tenant checks need. Tokens live in memory only.
//!
//! - `auth`: the token endpoint (three flows) and Entra's error texts.
//! - `assertion`: the signed JWT a certificate sign-in sends.
//! - `claims`: the claims read from an access token (user name, `tid`).
//! - `client`: HTTP with timeouts, throttling retries, paging, error texts.
//! - `read`: the Graph reads, turned into [`TenantFacts`].
//! - `user`: one user's lookup, turned into [`CloudUserLookup`].
//! - `endpoint`: which URLs may receive a credential (https only).

mod assertion;
mod auth;
mod claims;
mod client;
mod endpoint;
mod read;
mod user;

pub use crate::secret::Secret;
pub use assertion::split_key_and_certificate;
pub use endpoint::check_endpoint;
pub use user::CloudUserKeys;

use phs_model::graph::TenantFacts;
use phs_model::user::CloudUserLookup;
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
    match sign_in(cred, opts, on_prompt).await {
        Ok(session) => session.read_tenant().await,
        Err(facts) => facts,
    }
}

/// A signed-in Graph client: one sign-in (one device code prompt) serves
/// the tenant read and the user lookups after it. The token stays in
/// memory, in a [`Secret`], and is never printed.
pub struct GraphSession<'c> {
    cred: &'c Credential,
    opts: GraphOptions,
    http: reqwest::Client,
    auth: auth::Session,
}

impl std::fmt::Debug for GraphSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphSession")
            .field("tenant", &self.cred.tenant())
            .field("flow", &self.cred.flow())
            .field("graph_url", &self.opts.graph_base())
            .field("signed_in_as", &self.auth.signed_in_as)
            .finish_non_exhaustive()
    }
}

/// Signs in. A failure is returned as the [`TenantFacts`] a caller records
/// (`sign_in_error` set, scrubbed), so the tenant read and the user lookup
/// report the same cause.
pub async fn sign_in<'c>(
    cred: &'c Credential,
    opts: &GraphOptions,
    on_prompt: &(dyn Fn(&str) + Send + Sync),
) -> Result<GraphSession<'c>, TenantFacts> {
    let failed = |e: String| {
        let facts = TenantFacts { sign_in_error: Some(e), ..bare_facts(cred, opts) };
        scrubbed(facts, &secrets_of(cred, None))
    };
    let http = client::http_client(opts).map_err(failed)?;
    let auth = auth::sign_in(&http, cred, opts, on_prompt).await.map_err(failed)?;
    Ok(GraphSession { cred, opts: opts.clone(), http, auth })
}

/// The facts every record of this tenant carries, before any read.
fn bare_facts(cred: &Credential, opts: &GraphOptions) -> TenantFacts {
    TenantFacts {
        tenant: cred.tenant().to_owned(),
        flow: cred.flow().to_owned(),
        graph_url: opts.graph_base().to_owned(),
        ..TenantFacts::default()
    }
}

impl GraphSession<'_> {
    fn graph(&self) -> client::GraphClient<'_> {
        client::GraphClient::new(&self.http, &self.opts, &self.auth.token)
    }

    /// Reads the tenant facts. Never panics; a failed read becomes text in
    /// [`TenantFacts`] (`sync_error` / `organization_error`).
    pub async fn read_tenant(&self) -> TenantFacts {
        let mut facts = bare_facts(self.cred, &self.opts);
        facts.signed_in_as = Some(self.auth.signed_in_as.clone());
        facts.token_tenant_id = claims::tenant_id(&self.auth.token);
        let graph = self.graph();
        // The two reads are independent; one slow endpoint shouldn't double the wait.
        let (sync, org) =
            tokio::join!(read::sync_features(&graph, self.cred.is_app_only()), read::organization(&graph));
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
        scrubbed(facts, &secrets_of(self.cred, Some(&self.auth)))
    }

    /// Every user synced from on-premises (`onPremisesSyncEnabled eq true`,
    /// an advanced query), 999 a page, each handed to `on_user` as its page
    /// arrives, scrubbed like every other read. Throttling is retried as for
    /// every read; what still fails ends the paging, and the result says how
    /// many users were handed on before it.
    pub async fn for_each_synced_user(&self, on_user: &mut (dyn FnMut(phs_model::CloudUser) + Send)) -> UsersRead {
        let graph = self.graph();
        let url = graph.url(&format!(
            "/v1.0/users?$select={}&$filter=onPremisesSyncEnabled%20eq%20true&$count=true&$top=999",
            user::USER_SELECT
        ));
        let secrets = secrets_of(self.cred, Some(&self.auth));
        let mut hand = |v: serde_json::Value| on_user(scrubbed(user::parse_user(&v), &secrets));
        let headers = [("ConsistencyLevel", "eventual")];
        let result = graph.for_each_item(&url, &headers, &mut hand).await;
        let read_at = Some(read_time());
        match result {
            Ok(p) => UsersRead { users: p.handed, expected: p.count, read_at, error: None },
            Err((p, e)) => {
                let refs: Vec<&Secret> = secrets.iter().collect();
                let why = e.describe("needs User.Read.All (application or delegated)");
                let error = Some(crate::secret::scrub(&why, &refs).into_owned());
                UsersRead { users: p.handed, expected: p.count, read_at, error }
            }
        }
    }

    /// Looks the user up by each key in turn (see [`CloudUserKeys`]). Never
    /// panics; a failed query sets [`CloudUserLookup::error`] and ends the
    /// search, so an empty `found` without an error means "not in the tenant".
    pub async fn find_user(&self, keys: &CloudUserKeys) -> CloudUserLookup {
        let mut lookup = user::find(&self.graph(), keys).await;
        lookup.read_at = Some(read_time());
        scrubbed(lookup, &secrets_of(self.cred, Some(&self.auth)))
    }
}

/// How a read of every synced user ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersRead {
    /// Users handed on.
    pub users: u64,
    /// How many synced users the tenant said it has (`@odata.count`).
    pub expected: Option<u64>,
    pub read_at: Option<jiff::Timestamp>,
    /// Set when the paging broke off: why. The users handed on before it
    /// are still judged; the rest are missing.
    pub error: Option<String>,
}

impl UsersRead {
    /// Users the tenant has and the read did not hand on, when it said how many it has.
    pub fn left_out(&self) -> Option<u64> {
        self.expected.map(|n| n.saturating_sub(self.users))
    }
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
/// if a server echoed one back. Every string of the record is scrubbed, so
/// a field added later is covered too.
fn scrubbed<T: Scrubbable>(record: T, secrets: &[Secret]) -> T {
    let secrets: Vec<&Secret> = secrets.iter().collect();
    crate::secret::scrub_value(&record, &secrets).unwrap_or_else(|e| {
        record.dropped(&format!("a secret occurs in them and could not be cut out without breaking them ({e})"))
    })
}

/// What [`scrubbed`] can clean, and what is left of it when it cannot.
trait Scrubbable: serde::Serialize + serde::de::DeserializeOwned {
    /// The record emptied of everything read, with `why` as its error.
    fn dropped(&self, why: &str) -> Self;
}

impl Scrubbable for TenantFacts {
    fn dropped(&self, why: &str) -> TenantFacts {
        TenantFacts {
            tenant: self.tenant.clone(),
            flow: self.flow.clone(),
            graph_url: self.graph_url.clone(),
            sign_in_error: Some(format!("the tenant facts were dropped: {why}")),
            ..TenantFacts::default()
        }
    }
}

impl Scrubbable for CloudUserLookup {
    fn dropped(&self, why: &str) -> CloudUserLookup {
        CloudUserLookup {
            read_at: self.read_at,
            error: Some(format!("the user lookup was dropped: {why}")),
            ..CloudUserLookup::default()
        }
    }
}

impl Scrubbable for phs_model::CloudUser {
    /// A user that cannot be cleaned keeps only its id: counted, judged as
    /// unreadable, never shown with a secret.
    fn dropped(&self, why: &str) -> phs_model::CloudUser {
        let mut u = phs_model::CloudUser { id: self.id.clone(), ..phs_model::CloudUser::default() };
        u.unreadable.insert("user".into(), format!("dropped: {why}"));
        u
    }
}

/// Copies of every secret text may have picked up: the client secret, the
/// private key and each line of it, the tokens. Wiped when dropped.
fn secrets_of(cred: &Credential, session: Option<&auth::Session>) -> Vec<Secret> {
    let copy = |s: &str| Secret::new(s.to_owned());
    let mut secrets = Vec::new();
    match cred {
        Credential::ClientSecret { secret, .. } => secrets.push(copy(secret.expose())),
        Credential::ClientCertificate { private_key_pem, .. } => {
            secrets.push(copy(private_key_pem.expose()));
            // A server quoting part of a key would quote whole base64 lines.
            secrets.extend(
                private_key_pem
                    .expose()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with("-----"))
                    .map(copy),
            );
        }
        Credential::DeviceCode { .. } => {}
    }
    if let Some(s) = session {
        secrets.push(copy(s.token.expose()));
        secrets.extend(s.other_tokens.iter().map(|t| copy(t.expose())));
    }
    secrets
}

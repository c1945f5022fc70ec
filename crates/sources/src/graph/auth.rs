//! Sign-in at the Microsoft identity platform's v2.0 token endpoint: client
//! credentials (secret or certificate) and the device code flow, and Entra's
//! error answers turned into causes a person can act on.

use super::client::{self, Reply};
use super::{assertion, Credential, GraphOptions, Secret};
use crate::secret::scrub;
use jiff::Timestamp;
use phs_model::human_std_duration;
use reqwest::Client;
use serde::Deserialize;
use std::time::{Duration, Instant};

const SERVICE: &str = "Entra ID";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Entra's documented default when the device code answer has no interval.
const DEFAULT_POLL: u64 = 5;
/// Never poll faster than this, even when a server says 0, so a broken
/// stand-in can't make us spin.
const MIN_POLL: Duration = Duration::from_millis(200);
/// The device code's lifetime when Entra doesn't say (15 minutes).
const DEFAULT_EXPIRY: u64 = 900;
/// The longest phs-doctor waits for a person, whatever `expires_in` says:
/// twice Entra's 15 minutes.
const MAX_EXPIRY: u64 = 1800;
/// The longest wait between two polls, whatever `interval` says.
const MAX_POLL: Duration = Duration::from_secs(60);

/// A signed-in session: the access token (memory only) and who it is.
pub(crate) struct Session {
    pub token: Secret,
    /// The refresh and ID tokens a delegated sign-in also hands out: never
    /// used, kept only so that text quoting them can be scrubbed.
    pub other_tokens: Vec<Secret>,
    pub signed_in_as: String,
}

/// What the token endpoint hands out.
struct Tokens {
    access: Secret,
    others: Vec<Secret>,
}

pub(crate) async fn sign_in(
    http: &Client,
    cred: &Credential,
    opts: &GraphOptions,
    on_prompt: &(dyn Fn(&str) + Send + Sync),
) -> Result<Session, String> {
    check_names(cred)?;
    let endpoint = format!("{}/{}/oauth2/v2.0", opts.authority_base(), cred.tenant());
    let token_url = format!("{endpoint}/token");
    let scope = format!("{}/.default", opts.graph_base());
    match cred {
        Credential::ClientSecret { client_id, secret, .. } => {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.expose()),
                ("scope", scope.as_str()),
            ];
            let tokens = request_token(http, opts, &token_url, &form).await?;
            Ok(Session { token: tokens.access, other_tokens: tokens.others, signed_in_as: client_id.clone() })
        }
        Credential::ClientCertificate { client_id, private_key_pem, certificate_pem, .. } => {
            let jwt =
                assertion::client_assertion(client_id, &token_url, private_key_pem, certificate_pem, Timestamp::now())?;
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", jwt.expose()),
                ("scope", scope.as_str()),
            ];
            // A server quoting the assertion back must not put it in front of anyone.
            let tokens =
                request_token(http, opts, &token_url, &form).await.map_err(|e| scrub(&e, &[&jwt]).into_owned())?;
            Ok(Session { token: tokens.access, other_tokens: tokens.others, signed_in_as: client_id.clone() })
        }
        Credential::DeviceCode { client_id, .. } => {
            let tokens = device_code(http, opts, &endpoint, client_id, &scope, on_prompt).await?;
            let signed_in_as = user_of(&tokens.access).unwrap_or_else(|| "user (device code)".to_owned());
            Ok(Session { token: tokens.access, other_tokens: tokens.others, signed_in_as })
        }
    }
}

/// The tenant goes into the URL path: refuse anything that isn't a GUID or
/// a domain name before it makes a strange URL.
fn check_names(cred: &Credential) -> Result<(), String> {
    let tenant = cred.tenant();
    if tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
        return Err(format!("the tenant {tenant:?} is not a tenant id (GUID) or domain name"));
    }
    if cred.client_id().trim().is_empty() {
        return Err("no application (client) id given".to_owned());
    }
    Ok(())
}

async fn request_token(http: &Client, opts: &GraphOptions, url: &str, form: &[(&str, &str)]) -> Result<Tokens, String> {
    let reply = client::send(opts, SERVICE, url, || http.post(url).form(form)).await.map_err(|e| e.to_string())?;
    if !reply.status.is_success() {
        return Err(describe_token_error(reply.status.as_u16(), &reply.body));
    }
    token_from(reply)
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

fn token_from(mut reply: Reply) -> Result<Tokens, String> {
    let parsed = serde_json::from_slice::<TokenReply>(&reply.body);
    // The raw answer holds the token too; don't leave it in freed memory.
    reply.body.fill(0);
    match parsed {
        Ok(TokenReply { access_token: Some(t), refresh_token, id_token }) if !t.is_empty() => Ok(Tokens {
            access: Secret::new(t),
            others: [refresh_token, id_token].into_iter().flatten().map(Secret::new).collect(),
        }),
        Ok(TokenReply { refresh_token, id_token, .. }) => {
            drop([refresh_token, id_token].map(|t| t.map(Secret::new)));
            Err(format!("the token endpoint answered HTTP {} without an access_token", reply.status.as_u16()))
        }
        Err(e) => Err(format!("the token endpoint's answer is not JSON: {e}")),
    }
}

#[derive(Deserialize)]
struct DeviceCodeReply {
    device_code: Option<String>,
    user_code: Option<String>,
    verification_uri: Option<String>,
    message: Option<String>,
    expires_in: Option<serde_json::Value>,
    interval: Option<serde_json::Value>,
}

/// How long to wait for the person, and how often to ask, from the server's
/// `expires_in` and `interval`, each bounded: a hostile or broken server
/// must not make phs-doctor wait for ever, spin, or overflow a clock.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Polling {
    lifetime: Duration,
    interval: Duration,
    /// The server's lifetime, when it was over [`MAX_EXPIRY`].
    asked_lifetime: Option<f64>,
}

impl Polling {
    fn from_reply(
        expires_in: Option<&serde_json::Value>,
        interval: Option<&serde_json::Value>,
    ) -> Result<Polling, String> {
        let lifetime = seconds("expires_in", expires_in)?.unwrap_or(DEFAULT_EXPIRY as f64);
        // `seconds` lets only finite numbers through.
        if lifetime < 1.0 {
            return Err(format!(
                "the device code endpoint gave the code a lifetime of {lifetime} s (expires_in): it is expired before \
                 anyone can sign in; a server answering so is broken, or is not Entra ID"
            ));
        }
        let capped = lifetime > MAX_EXPIRY as f64;
        let every = seconds("interval", interval)?.unwrap_or(DEFAULT_POLL as f64);
        // Zero and negative intervals mean "no wait": poll at the floor.
        let every = if every > 0.0 { Duration::from_secs_f64(every.min(MAX_POLL.as_secs_f64())) } else { MIN_POLL };
        Ok(Polling {
            lifetime: Duration::from_secs(lifetime.min(MAX_EXPIRY as f64) as u64),
            interval: every.clamp(MIN_POLL, MAX_POLL),
            asked_lifetime: capped.then_some(lifetime),
        })
    }

    /// RFC 8628 §3.5: add five seconds to the interval for this and every
    /// later request, within the cap.
    fn slow_down(&mut self) {
        self.interval = self.interval.saturating_add(Duration::from_secs(5)).min(MAX_POLL);
    }

    fn timed_out(&self) -> String {
        let mut text = format!(
            "nobody completed the device code sign-in within {}; run again and sign in sooner",
            human_std_duration(self.lifetime)
        );
        if let Some(asked) = self.asked_lifetime {
            text.push_str(&format!(" (the server allowed {asked} s; phs-doctor waits {MAX_EXPIRY} s at most)"));
        }
        text
    }
}

/// A number of seconds as a device code answer gives it: a JSON number, or
/// a string of digits as the older v1.0 endpoint sent. `None` when absent.
fn seconds(field: &str, value: Option<&serde_json::Value>) -> Result<Option<f64>, String> {
    let parsed = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(text)) => text.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match parsed.filter(|v| v.is_finite()) {
        Some(v) => Ok(Some(v)),
        None => Err(format!("the device code endpoint's {field} is not a number of seconds")),
    }
}

/// RFC 8628 as Entra implements it: get a code, show the message, poll.
async fn device_code(
    http: &Client,
    opts: &GraphOptions,
    endpoint: &str,
    client_id: &str,
    scope: &str,
    on_prompt: &(dyn Fn(&str) + Send + Sync),
) -> Result<Tokens, String> {
    let dc_url = format!("{endpoint}/devicecode");
    let token_url = format!("{endpoint}/token");
    let form = [("client_id", client_id), ("scope", scope)];
    let reply = client::send(opts, SERVICE, &dc_url, || http.post(&dc_url).form(&form))
        .await
        .map_err(|e| format!("device code sign-in could not start: {e}"))?;
    if !reply.status.is_success() {
        return Err(format!(
            "device code sign-in could not start: {}",
            describe_token_error(reply.status.as_u16(), &reply.body)
        ));
    }
    let dc: DeviceCodeReply = serde_json::from_slice(&reply.body)
        .map_err(|e| format!("the device code endpoint's answer is not JSON: {e}"))?;
    let Some(code) = dc.device_code.filter(|c| !c.is_empty()).map(Secret::new) else {
        return Err("the device code endpoint answered without a device_code".to_owned());
    };
    // Whatever the server says from here on, the device code stays out of it.
    let hide = |text: String| scrub(&text, &[&code]).into_owned();
    let polling = Polling::from_reply(dc.expires_in.as_ref(), dc.interval.as_ref()).map_err(hide)?;
    let message = dc.message.filter(|m| !m.is_empty()).unwrap_or_else(|| {
        format!(
            "To sign in, open {} and enter the code {}.",
            dc.verification_uri.as_deref().unwrap_or("https://microsoft.com/devicelogin"),
            dc.user_code.as_deref().unwrap_or("(none given)")
        )
    });
    on_prompt(&hide(message));
    poll_for_token(http, opts, &token_url, client_id, &code, polling).await.map_err(hide)
}

async fn poll_for_token(
    http: &Client,
    opts: &GraphOptions,
    token_url: &str,
    client_id: &str,
    code: &Secret,
    mut polling: Polling,
) -> Result<Tokens, String> {
    let started = Instant::now();
    loop {
        let remaining = polling.lifetime.saturating_sub(started.elapsed());
        tokio::time::sleep(polling.interval.min(remaining)).await;
        if started.elapsed() >= polling.lifetime {
            return Err(polling.timed_out());
        }
        let form = [("grant_type", DEVICE_CODE_GRANT), ("client_id", client_id), ("device_code", code.expose())];
        let reply = client::send(opts, SERVICE, token_url, || http.post(token_url).form(&form))
            .await
            .map_err(|e| e.to_string())?;
        if reply.status.is_success() {
            return token_from(reply);
        }
        let error = serde_json::from_slice::<TokenError>(&reply.body).ok().and_then(|e| e.error);
        match error.as_deref() {
            Some("authorization_pending") => {}
            Some("slow_down") => polling.slow_down(),
            Some("authorization_declined") => {
                return Err("the sign-in was declined at the device code prompt (authorization_declined)".to_owned())
            }
            Some("expired_token") => {
                return Err(format!(
                    "the device code expired before the sign-in was completed (expired_token); run again and sign \
                     in within {}",
                    human_std_duration(polling.lifetime)
                ))
            }
            Some("bad_verification_code") => {
                return Err(
                    "Entra ID did not recognise the device code it had issued (bad_verification_code)".to_owned()
                )
            }
            _ => return Err(describe_token_error(reply.status.as_u16(), &reply.body)),
        }
    }
}

/// The user name in a delegated access token's claims. Read, not verified:
/// the token is Graph's to verify; this is only a label for the report.
fn user_of(token: &Secret) -> Option<String> {
    super::claims::claim(token, &["preferred_username", "upn", "unique_name", "email"])
}

/// An OAuth error answer from Entra.
#[derive(Deserialize, Default)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
    error_codes: Option<Vec<u64>>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
}

/// The cause, then Entra's own words: "the client secret is wrong (send the
/// secret's Value, not its Secret ID) (AADSTS7000215: Invalid client secret
/// provided. …; HTTP 401 invalid_client; trace ID …; correlation ID …)".
pub(crate) fn describe_token_error(status: u16, body: &[u8]) -> String {
    let parsed =
        serde_json::from_slice::<TokenError>(body).ok().filter(|e| e.error.is_some() || e.error_description.is_some());
    let Some(e) = parsed else {
        return format!("the token endpoint answered HTTP {status} without an OAuth error ({})", snippet(body));
    };
    let description = e.error_description.as_deref().unwrap_or("");
    let code = e.error_codes.as_ref().and_then(|c| c.first().copied()).or_else(|| aadsts_in(description));
    let cause =
        code.and_then(known_cause).map(str::to_owned).unwrap_or_else(|| generic_cause(e.error.as_deref(), status));
    // The first line is the message; Entra appends Trace ID, Correlation
    // ID and Timestamp lines, given separately below.
    let first_line = description.lines().next().unwrap_or("").trim();
    let mut detail = Vec::new();
    match code {
        Some(c) if !first_line.contains(&format!("AADSTS{c}")) => {
            detail.push(if first_line.is_empty() { format!("AADSTS{c}") } else { format!("AADSTS{c}: {first_line}") })
        }
        _ if !first_line.is_empty() => detail.push(first_line.to_owned()),
        _ => {}
    }
    detail.push(match &e.error {
        Some(err) => format!("HTTP {status} {err}"),
        None => format!("HTTP {status}"),
    });
    if let Some(t) = &e.trace_id {
        detail.push(format!("trace ID {t}"));
    }
    if let Some(c) = &e.correlation_id {
        detail.push(format!("correlation ID {c}"));
    }
    format!("{cause} ({})", detail.join("; "))
}

/// "AADSTS7000215: …" → 7000215.
fn aadsts_in(text: &str) -> Option<u64> {
    let at = text.find("AADSTS")? + "AADSTS".len();
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// What the common AADSTS codes mean for this tool (Microsoft's "Microsoft
/// Entra authentication and authorization error codes" reference).
fn known_cause(code: u64) -> Option<&'static str> {
    Some(match code {
        90002 => {
            "the tenant was not found: check the tenant id or domain, and that the authority is that tenant's cloud"
        }
        900023 => "the tenant id or domain is not valid",
        90014 => "the token request is missing a required field",
        50059 => "no tenant was named: app sign-ins need a tenant id or domain, not 'common'",
        700016 => {
            "the application (client) id was not found in the tenant: wrong client id, or the app is registered in \
             another tenant and has no service principal here"
        }
        7000215 => "the client secret is wrong (send the secret's Value, not its Secret ID)",
        7000222 => "the client secret has expired: create a new one in the app registration",
        700027 => {
            "the certificate assertion was not accepted: the certificate is not uploaded to the app registration, \
             the private key does not belong to it, or the assertion is malformed"
        }
        700024 => "the client assertion is outside its validity time: check this machine's clock",
        700025 => "the app is a public client: it signs in without a secret or certificate",
        7000218 => {
            "the app does not allow public client flows: turn on 'Allow public client flows' in the app \
             registration to use the device code flow"
        }
        7000112 => "the application is disabled in the tenant",
        500011 => "Microsoft Graph is not known in this tenant: check the Graph URL for this cloud",
        70011 => "the requested scope is not valid for this app",
        65001 => "the app's permissions have not been consented to in this tenant",
        50126 => "wrong user name or password",
        50034 => "the user account does not exist in this tenant",
        50053 => "the account is locked after too many sign-in attempts",
        50055 => "the user's password has expired",
        50057 => "the user account is disabled",
        50076 | 50079 => "multi-factor authentication is required for this sign-in",
        53003 => "the sign-in was blocked by a Conditional Access policy",
        _ => return None,
    })
}

fn generic_cause(error: Option<&str>, status: u16) -> String {
    match error {
        Some("invalid_client") => "the client credentials were rejected".to_owned(),
        Some("unauthorized_client") => "the application is not allowed to use this sign-in flow".to_owned(),
        Some("invalid_scope") => "the requested scope was refused".to_owned(),
        Some("invalid_grant") => "the sign-in grant was refused".to_owned(),
        Some("invalid_request") => "the token request was refused".to_owned(),
        Some("access_denied") => "access was denied".to_owned(),
        Some("temporarily_unavailable") => "Entra ID is temporarily unavailable; try again later".to_owned(),
        _ => format!("sign-in failed (HTTP {status})"),
    }
}

/// A short, printable start of a body that isn't an OAuth error (a proxy's
/// HTML page, say).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "empty body".to_owned();
    }
    let cut: String = flat.chars().take(200).collect();
    if cut.len() < flat.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_secret_names_cause_code_and_ids() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: t1\r\nCorrelation ID: c1\r\nTimestamp: 2024-01-01 00:00:00Z","error_codes":[7000215],"trace_id":"t1","correlation_id":"c1"}"#;
        let text = describe_token_error(401, body);
        assert!(text.starts_with("the client secret is wrong"), "{text}");
        assert!(text.contains("AADSTS7000215: Invalid client secret provided."), "{text}");
        assert!(!text.contains("Trace ID:"), "{text}");
        assert!(text.contains("HTTP 401 invalid_client; trace ID t1; correlation ID c1"), "{text}");
    }

    #[test]
    fn code_from_description_when_codes_missing() {
        let body = br#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found."}"#;
        let text = describe_token_error(400, body);
        assert!(text.starts_with("the tenant was not found"), "{text}");
        assert!(text.contains("AADSTS90002"), "{text}");
    }

    #[test]
    fn unknown_and_non_oauth_answers() {
        let text = describe_token_error(400, br#"{"error":"invalid_grant","error_codes":[1234567]}"#);
        assert_eq!(text, "the sign-in grant was refused (AADSTS1234567; HTTP 400 invalid_grant)");
        let text = describe_token_error(502, b"<html>\n<body>Bad   gateway</body></html>");
        assert_eq!(
            text,
            "the token endpoint answered HTTP 502 without an OAuth error (<html> <body>Bad gateway</body></html>)"
        );
    }

    #[test]
    fn user_from_claims() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let payload = URL_SAFE_NO_PAD.encode(br#"{"upn":"a@contoso.com","preferred_username":"admin@contoso.com"}"#);
        let token = Secret::new(format!("eyJhbGciOiJub25lIn0.{payload}.sig"));
        assert_eq!(user_of(&token).as_deref(), Some("admin@contoso.com"));
        assert_eq!(user_of(&Secret::new("opaque-token".into())), None);
    }

    #[test]
    fn polling_is_bounded_whatever_the_server_says() {
        use serde_json::json;
        let p = |e: serde_json::Value, i: serde_json::Value| Polling::from_reply(Some(&e), Some(&i));
        let capped = p(json!(u64::MAX), json!(u64::MAX)).unwrap();
        assert_eq!((capped.lifetime, capped.interval), (Duration::from_secs(MAX_EXPIRY), MAX_POLL));
        assert_eq!(capped.asked_lifetime, Some(u64::MAX as f64));
        assert!(capped.timed_out().contains("phs-doctor waits 1800 s at most"), "{}", capped.timed_out());
        let usual = p(json!(900), json!(5)).unwrap();
        assert_eq!(
            (usual.lifetime, usual.interval, usual.asked_lifetime),
            (Duration::from_secs(900), Duration::from_secs(5), None)
        );
        let defaults = Polling::from_reply(None, None).unwrap();
        assert_eq!((defaults.lifetime, defaults.interval), (Duration::from_secs(900), Duration::from_secs(5)));
        assert_eq!(p(json!(900), json!(-3)).unwrap().interval, MIN_POLL);
        assert_eq!(p(json!(900), json!(0.001)).unwrap().interval, MIN_POLL);
        assert_eq!(p(json!(1.9), json!(0)).unwrap().lifetime, Duration::from_secs(1));
        for bad in [json!(0), json!(-1), json!(0.99), json!(i64::MIN)] {
            assert!(p(bad.clone(), json!(5)).unwrap_err().contains("lifetime of"), "{bad}");
        }
        // slow_down adds 5 s each time, up to the cap, without overflow.
        let mut slowed = p(json!(900), json!(58)).unwrap();
        slowed.slow_down();
        assert_eq!(slowed.interval, MAX_POLL);
        slowed.slow_down();
        assert_eq!(slowed.interval, MAX_POLL);
    }

    #[test]
    fn tenant_must_be_a_name() {
        let bad = Credential::DeviceCode { tenant: "x/../y".into(), client_id: "c".into() };
        assert!(check_names(&bad).is_err());
        let good = Credential::DeviceCode { tenant: "contoso.onmicrosoft.com".into(), client_id: "c".into() };
        assert!(check_names(&good).is_ok());
    }
}

//! HTTP for both the Entra token endpoint and Graph: one client with the
//! per-request timeout, retries on throttling, `@odata.nextLink` paging, and
//! error texts that name the cause (never the token).

use super::{GraphOptions, Secret};
use crate::wording::io_error_words;
use jiff::Timestamp;
use phs_model::human_std_duration;
use reqwest::header::{HeaderMap, ACCEPT, LOCATION, RETRY_AFTER};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// Graph and Entra answers here are a few kilobytes; anything far larger is
/// not the API we meant to talk to.
const MAX_BODY: usize = 4 << 20;
/// Bound on `@odata.nextLink` pages followed for one collection.
const MAX_PAGES: usize = 50;

/// The shared HTTP client. Redirects are not followed: neither Graph nor the
/// token endpoint redirects API calls, and a redirect must not carry the
/// token or the client secret elsewhere.
pub(crate) fn http_client(opts: &GraphOptions) -> Result<Client, String> {
    Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("phs-doctor/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", deepest_cause(&e)))
}

/// A complete answer (after any throttling retries).
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
    pub location: Option<String>,
}

/// Why no answer came back.
#[derive(Debug)]
pub(crate) enum SendError {
    /// Connection, TLS, timeout: already worded for the user.
    Transport(String),
    /// Still 429/503/504 after every retry.
    GaveUp { service: &'static str, status: u16, retries: u32, retry_after: Option<Duration> },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Transport(s) => f.write_str(s),
            SendError::GaveUp { service, status, retries, retry_after } => {
                let tries = if *retries == 1 { "1 retry".to_owned() } else { format!("{retries} retries") };
                if *status == 429 {
                    write!(f, "throttled by {service}: gave up after {tries}")?;
                } else {
                    write!(f, "{service} unavailable (HTTP {status}): gave up after {tries}")?;
                }
                match retry_after {
                    Some(d) => write!(f, " (Retry-After {})", human_std_duration(*d)),
                    None => f.write_str(" (no Retry-After)"),
                }
            }
        }
    }
}

/// Sends the request `make` builds, again after each 429/503/504 (waiting
/// what `Retry-After` asks, at most `max_retry_wait`), at most
/// `max_retries` times. `make` is called per attempt because a request can
/// be sent only once.
pub(crate) async fn send(
    opts: &GraphOptions,
    service: &'static str,
    url: &str,
    make: impl Fn() -> RequestBuilder,
) -> Result<Reply, SendError> {
    let mut retries = 0u32;
    loop {
        let resp = make().send().await.map_err(|e| SendError::Transport(describe_transport(&e, url, opts.timeout)))?;
        let status = resp.status();
        if matches!(status.as_u16(), 429 | 503 | 504) {
            let asked = retry_after(resp.headers(), Timestamp::now());
            if retries >= opts.max_retries {
                return Err(SendError::GaveUp { service, status: status.as_u16(), retries, retry_after: asked });
            }
            // Without Retry-After, back off 1, 2, 4 … s.
            let wait = asked.unwrap_or_else(|| Duration::from_secs(1u64 << retries.min(16))).min(opts.max_retry_wait);
            drop(resp);
            tokio::time::sleep(wait).await;
            retries += 1;
            continue;
        }
        let request_id = header_text(resp.headers(), "request-id");
        let location = header_text(resp.headers(), LOCATION.as_str());
        let body = read_body(resp, url, opts.timeout).await?;
        return Ok(Reply { status, body, request_id, location });
    }
}

async fn read_body(mut resp: reqwest::Response, url: &str, timeout: Duration) -> Result<Vec<u8>, SendError> {
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(SendError::Transport(format!(
                        "the answer from {} is larger than {} MiB; is this really Microsoft Graph / Entra ID?",
                        without_query(url),
                        MAX_BODY >> 20
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(SendError::Transport(describe_transport(&e, url, timeout))),
        }
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    let ahead = at.duration_since(now);
    // A date in the past means "now".
    Some(Duration::try_from(ahead).unwrap_or(Duration::ZERO))
}

/// "cannot reach https://…: connection refused / timed out after 10 s / TLS …".
pub(crate) fn describe_transport(err: &reqwest::Error, url: &str, timeout: Duration) -> String {
    let target = without_query(url);
    if err.is_timeout() {
        return format!("cannot reach {target}: timed out after {}", human_std_duration(timeout));
    }
    if let Some(tls) = tls_cause(err) {
        return format!("cannot reach {target}: TLS: {tls}");
    }
    if let Some(why) = io_kind(err).and_then(io_error_words) {
        return format!("cannot reach {target}: {why}");
    }
    if err.is_dns() {
        return format!("cannot reach {target}: name lookup failed: {}", deepest_cause(err));
    }
    if err.is_body() || err.is_decode() {
        return format!("the answer from {target} broke off: {}", deepest_cause(err));
    }
    format!("cannot reach {target}: {}", deepest_cause(err))
}

fn tls_cause(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t.to_string());
        }
        // io::Error hides the error it wraps from source(); look inside.
        if let Some(t) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(t) = t.downcast_ref::<rustls::Error>() {
                return Some(t.to_string());
            }
        }
        source = e.source();
    }
    None
}

fn io_kind(err: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

/// The innermost message: reqwest's own text repeats the URL and says
/// little ("error sending request").
pub(crate) fn deepest_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// `value` percent-encoded for a URL path segment or query value: every
/// byte but RFC 3986's unreserved characters as `%XX`, so that `+`, `/`,
/// `#`, `'`, `&` and spaces reach Graph as the characters they are.
pub(crate) fn percent_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// Graph refused or failed a read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Send(SendError),
    Status(Box<GraphStatus>),
    /// An answer we can't use (not JSON, a nextLink to another host, …).
    Invalid(String),
}

/// A non-2xx answer from Graph, with its `{"error":{"code","message"}}`.
#[derive(Debug)]
pub(crate) struct GraphStatus {
    pub status: u16,
    pub url: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub location: Option<String>,
}

impl GraphStatus {
    fn from_reply(reply: &Reply, url: &str) -> GraphStatus {
        let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
        let error = body.as_ref().and_then(|b| b.get("error"));
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned).filter(|s| !s.is_empty());
        let code = text(error.and_then(|e| e.get("code")));
        let message = text(error.and_then(|e| e.get("message")));
        let inner_id = text(error.and_then(|e| e.get("innerError")).and_then(|i| i.get("request-id")));
        GraphStatus {
            status: reply.status.as_u16(),
            url: without_query(url).to_owned(),
            code,
            message,
            request_id: reply.request_id.clone().or(inner_id),
            location: reply.location.clone(),
        }
    }

    /// "HTTP 403 Authorization_RequestDenied: Insufficient privileges …; request-id …".
    pub(crate) fn detail(&self) -> String {
        let mut s = format!("HTTP {}", self.status);
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => s.push_str(&format!(" {c}: {m}")),
            (Some(c), None) => s.push_str(&format!(" {c}")),
            (None, Some(m)) => s.push_str(&format!(": {m}")),
            (None, None) => {}
        }
        if let Some(id) = &self.request_id {
            s.push_str(&format!("; request-id {id}"));
        }
        s
    }
}

impl ReadError {
    /// The text a user sees; `forbidden` names the permission a 403 means.
    pub(crate) fn describe(&self, forbidden: &str) -> String {
        match self {
            ReadError::Send(e) => e.to_string(),
            ReadError::Invalid(s) => s.clone(),
            ReadError::Status(s) => match s.status {
                401 => format!("the token was rejected (expired or wrong audience): {}", s.detail()),
                403 => format!("access denied ({}): {forbidden}", s.detail()),
                404 => format!(
                    "{} not found ({}): wrong Graph URL for this cloud, or the API is not available",
                    s.url,
                    s.detail()
                ),
                300..=399 => format!(
                    "Graph answered {} with a redirect to {} ({}); not following it with the token",
                    s.url,
                    s.location.as_deref().unwrap_or("nowhere"),
                    s.detail()
                ),
                500..=599 => format!("Graph server error on {} ({}); try again later", s.url, s.detail()),
                _ => format!("Graph refused {} ({})", s.url, s.detail()),
            },
        }
    }
}

/// Graph reads with one bearer token.
pub(crate) struct GraphClient<'a> {
    http: &'a Client,
    opts: &'a GraphOptions,
    token: &'a Secret,
}

impl<'a> GraphClient<'a> {
    pub(crate) fn new(http: &'a Client, opts: &'a GraphOptions, token: &'a Secret) -> GraphClient<'a> {
        GraphClient { http, opts, token }
    }

    /// `path_and_query` starts with `/v1.0/` or `/beta/`.
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.opts.graph_base())
    }

    pub(crate) async fn get(&self, url: &str) -> Result<Value, ReadError> {
        self.get_with(url, &[]).await
    }

    /// [`GraphClient::get`] with extra request headers (`ConsistencyLevel:
    /// eventual` for Graph's advanced queries).
    pub(crate) async fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Result<Value, ReadError> {
        let reply = send(self.opts, "Graph", url, || {
            let mut req = self.http.get(url).bearer_auth(self.token.expose()).header(ACCEPT, "application/json");
            for (name, value) in headers {
                req = req.header(*name, *value);
            }
            req
        })
        .await
        .map_err(ReadError::Send)?;
        if !reply.status.is_success() {
            return Err(ReadError::Status(Box::new(GraphStatus::from_reply(&reply, url))));
        }
        serde_json::from_slice(&reply.body)
            .map_err(|e| ReadError::Invalid(format!("Graph's answer from {} is not JSON: {e}", without_query(url))))
    }

    /// Every object of a collection (`{"value":[…]}`), following
    /// `@odata.nextLink`. A single object (no `value`) is a collection of one.
    pub(crate) async fn get_collection(&self, url: &str) -> Result<Vec<Value>, ReadError> {
        let mut items = Vec::new();
        let mut next = Some(url.to_owned());
        let mut pages = 0;
        while let Some(page_url) = next.take() {
            // The callers use the first objects; a runaway nextLink chain
            // isn't worth more requests.
            if pages == MAX_PAGES {
                break;
            }
            pages += 1;
            let Value::Object(mut page) = self.get(&page_url).await? else {
                return Err(ReadError::Invalid(format!(
                    "Graph's answer from {} is not a JSON object",
                    without_query(&page_url)
                )));
            };
            let link = page.remove("@odata.nextLink");
            match page.remove("value") {
                Some(Value::Array(values)) => items.extend(values),
                Some(_) => {
                    return Err(ReadError::Invalid(format!(
                        "Graph's answer from {}: 'value' is not an array",
                        without_query(&page_url)
                    )))
                }
                None => {
                    items.push(Value::Object(page));
                    break;
                }
            }
            next = match link {
                Some(Value::String(link)) => Some(self.checked_link(link)?),
                Some(Value::Null) | None => None,
                Some(_) => return Err(ReadError::Invalid("Graph's @odata.nextLink is not a string".to_owned())),
            };
        }
        Ok(items)
    }

    /// Every object of a collection, page by page, each handed to `on_item`
    /// as its page arrives (nothing is held), following `@odata.nextLink` on
    /// the configured Graph host only, with no cap on the pages. `Err`
    /// carries how far the paging got before it broke off.
    pub(crate) async fn for_each_item(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        on_item: &mut (dyn FnMut(Value) + Send),
    ) -> Result<Paging, (Paging, ReadError)> {
        let mut paging = Paging::default();
        let mut next = Some(url.to_owned());
        while let Some(page_url) = next.take() {
            let page = match self.get_with(&page_url, headers).await {
                Ok(page) => page,
                Err(e) => return Err((paging, e)),
            };
            let Value::Object(mut page) = page else {
                let why = format!("Graph's answer from {} is not a JSON object", without_query(&page_url));
                return Err((paging, ReadError::Invalid(why)));
            };
            if paging.pages == 0 {
                paging.count = page.get("@odata.count").and_then(Value::as_u64);
            }
            paging.pages += 1;
            match page.remove("value") {
                Some(Value::Array(values)) => {
                    for v in values {
                        on_item(v);
                        paging.handed += 1;
                    }
                }
                _ => {
                    let why = format!("Graph's answer from {}: no 'value' array", without_query(&page_url));
                    return Err((paging, ReadError::Invalid(why)));
                }
            }
            next = match page.remove("@odata.nextLink") {
                Some(Value::String(link)) => match self.checked_link(link) {
                    Ok(link) => Some(link),
                    Err(e) => return Err((paging, e)),
                },
                Some(Value::Null) | None => None,
                Some(_) => {
                    let why = "Graph's @odata.nextLink is not a string".to_owned();
                    return Err((paging, ReadError::Invalid(why)));
                }
            };
        }
        Ok(paging)
    }

    /// The token goes only to the Graph host we were configured with.
    fn checked_link(&self, link: String) -> Result<String, ReadError> {
        let origin = |u: &Url| (u.scheme().to_owned(), u.host_str().map(str::to_owned), u.port_or_known_default());
        let base = Url::parse(self.opts.graph_base()).ok();
        match (Url::parse(&link), base) {
            (Ok(l), Some(b)) if origin(&l) == origin(&b) => Ok(link),
            (Ok(l), _) => Err(ReadError::Invalid(format!(
                "Graph's @odata.nextLink points to {}, not to {}; not sending the token there",
                l.origin().ascii_serialization(),
                self.opts.graph_base()
            ))),
            (Err(e), _) => Err(ReadError::Invalid(format!("Graph's @odata.nextLink is not a URL: {e}"))),
        }
    }
}

/// How far a paged read got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Paging {
    /// Objects handed on.
    pub handed: u64,
    pub pages: u64,
    /// The first page's `@odata.count` (asked with `$count=true`): how
    /// many objects the collection holds, so a break can say how many are
    /// missing.
    pub count: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(v).expect("test header"));
        h
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now: Timestamp = "2024-01-10T10:34:45Z".parse().expect("test time");
        assert_eq!(retry_after(&headers("120"), now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(&headers(" 0 "), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("Wed, 10 Jan 2024 10:35:15 GMT"), now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&headers("Wed, 10 Jan 2024 10:00:00 GMT"), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encoded("a-Z.0_~"), "a-Z.0_~");
        assert_eq!(percent_encoded("o'b #1/a+b=&?"), "o%27b%20%231%2Fa%2Bb%3D%26%3F");
        assert_eq!(percent_encoded("é"), "%C3%A9");
    }

    #[test]
    fn gave_up_texts() {
        let e = SendError::GaveUp {
            service: "Graph",
            status: 429,
            retries: 3,
            retry_after: Some(Duration::from_secs(120)),
        };
        assert_eq!(e.to_string(), "throttled by Graph: gave up after 3 retries (Retry-After 2 min)");
        let e = SendError::GaveUp { service: "Graph", status: 503, retries: 1, retry_after: None };
        assert_eq!(e.to_string(), "Graph unavailable (HTTP 503): gave up after 1 retry (no Retry-After)");
    }
}

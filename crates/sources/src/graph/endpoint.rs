//! Which sign-in and Graph URLs may receive a credential. The client secret,
//! the client assertion and the access token travel to these hosts, so they
//! must be https; plain http is accepted only on loopback, and only when the
//! analyst asks for it (tests against a local stand-in).

use reqwest::Url;
use std::net::IpAddr;

/// Checks `url` (named `what` in the error) as a place a credential may go.
pub fn check_endpoint(what: &str, url: &str, allow_loopback_http: bool) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|e| format!("{what} is not a URL ({e})"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{what} must not carry a user name or password"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!("{what} must be a base URL, without a query or fragment"));
    }
    let host = parsed.host_str().unwrap_or("");
    if host.is_empty() {
        return Err(format!("{what} has no host"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(host) && allow_loopback_http => Ok(()),
        "http" if is_loopback(host) => Err(format!(
            "{what} {host} is plain http: credentials go only over https (http on loopback needs --allow-loopback-http, for tests)"
        )),
        "http" => Err(format!("{what} {host} is plain http: credentials go only over https")),
        other => Err(format!("{what} has scheme {other:?}: use https")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        // A name could resolve anywhere; only the conventional one counts.
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::check_endpoint;

    #[test]
    fn only_https_or_opted_in_loopback_http() {
        for ok in ["https://login.microsoftonline.com", "https://graph.microsoft.us/", "https://10.0.0.1:8443"] {
            check_endpoint("authority", ok, false).unwrap();
        }
        for (url, allow) in [
            ("http://login.microsoftonline.com", true),
            ("http://198.51.100.7", true),
            ("http://127.0.0.1:8080", false),
            ("http://127.0.0.1.attacker.example", true),
            ("ftp://127.0.0.1", true),
            ("https://user:pw@login.microsoftonline.com", false),
            ("https://login.microsoftonline.com/?x=1", false),
            ("login.microsoftonline.com", false),
            ("file:///proc/self/environ", true),
        ] {
            assert!(check_endpoint("authority", url, allow).is_err(), "{url} accepted");
        }
        for loopback in ["http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:80", "http://localhost:1"] {
            check_endpoint("graph_url", loopback, true).unwrap();
        }
    }
}

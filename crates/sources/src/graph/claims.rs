//! Claims read from an access token's payload: labels for the report and
//! the tenant the token was issued for. Read, never verified (the token is
//! Graph's to verify), and never kept: only the claim's value leaves here.

use super::Secret;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use phs_model::Guid;
use serde_json::Value;

/// The first of `names` the token's payload has as a non-empty string.
pub(crate) fn claim(token: &Secret, names: &[&str]) -> Option<String> {
    let payload = token.expose().split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).or_else(|_| URL_SAFE.decode(payload)).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    names.iter().find_map(|k| claims.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned))
}

/// The `tid` claim: the tenant Entra ID issued the token for, as a
/// lower-case GUID; anything that is not a GUID is not taken.
pub(crate) fn tenant_id(token: &Secret) -> Option<String> {
    claim(token, &["tid"]).and_then(|t| Guid::parse(&t)).map(|g| g.to_string().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &str) -> Secret {
        Secret::new(format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(claims)))
    }

    #[test]
    fn tid_is_read_as_a_guid_or_not_at_all() {
        let t = token(r#"{"tid":"6F0C1A9E-3B7D-4C52-9A1E-2D8F4B6C0E13","appid":"x"}"#);
        assert_eq!(tenant_id(&t).as_deref(), Some("6f0c1a9e-3b7d-4c52-9a1e-2d8f4b6c0e13"));
        assert_eq!(tenant_id(&token(r#"{"tid":"contoso.onmicrosoft.com"}"#)), None);
        assert_eq!(tenant_id(&token(r#"{"appid":"x"}"#)), None);
        assert_eq!(tenant_id(&Secret::new("not-a-jwt".into())), None);
        assert_eq!(tenant_id(&Secret::new("a.!!!.c".into())), None);
    }
}

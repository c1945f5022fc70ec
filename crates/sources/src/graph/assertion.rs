//! The client assertion of a certificate sign-in: an RS256 JWT signed with
//! the app's private key, naming the certificate by its SHA-256 thumbprint
//! (`x5t#S256`) so Entra knows which of the app's certificates to check it
//! against.

use super::Secret;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jiff::Timestamp;
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// How long the assertion is valid. Entra accepts at most a few minutes'
/// skew around nbf/exp; ten minutes covers slow networks.
const LIFETIME_SECS: i64 = 600;

/// The labels an unencrypted RSA private key comes under: PKCS#1 and PKCS#8.
const KEY_LABELS: [&str; 2] = ["RSA PRIVATE KEY", "PRIVATE KEY"];
const ENCRYPTED_KEY: &str =
    "the private key is encrypted; give it without a passphrase (PKCS#8 'PRIVATE KEY' or PKCS#1 'RSA PRIVATE KEY')";

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// The signed JWT for `client_assertion`. `audience` is the token endpoint
/// URL. Errors name what is wrong with the key or the certificate, never
/// their content.
pub(crate) fn client_assertion(
    client_id: &str,
    audience: &str,
    private_key_pem: &Secret,
    certificate_pem: &str,
    now: Timestamp,
) -> Result<Secret, String> {
    let der = certificate_der(certificate_pem)?;
    let thumbprint = sha256(&der)?;
    let key = private_key(private_key_pem)?;
    let mut header = Header::new(Algorithm::RS256);
    header.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(thumbprint));
    let now = now.as_second();
    let claims = Claims {
        aud: audience,
        iss: client_id,
        sub: client_id,
        jti: unique_id(),
        nbf: now,
        iat: now,
        exp: now + LIFETIME_SECS,
    };
    jsonwebtoken::encode(&header, &claims, &key)
        .map(Secret::new)
        .map_err(|e| format!("cannot sign the client assertion with the private key: {e}"))
}

/// The DER of the first (leaf) certificate in `pem`.
fn certificate_der(pem: &str) -> Result<Vec<u8>, String> {
    let body = pem_body(pem, "CERTIFICATE")
        .ok_or("the certificate is not PEM: no -----BEGIN CERTIFICATE----- … -----END CERTIFICATE----- block")?;
    let der = STANDARD
        .decode(body.split_whitespace().collect::<String>())
        .map_err(|e| format!("the certificate's PEM block is not valid base64: {e}"))?;
    // Every X.509 certificate is an ASN.1 SEQUENCE; anything else was not
    // a certificate, and its thumbprint would match nothing in Entra.
    if der.first() != Some(&0x30) {
        return Err("the certificate's PEM block does not hold a DER certificate".to_owned());
    }
    Ok(der)
}

fn private_key(pem: &Secret) -> Result<EncodingKey, String> {
    let text = pem.expose();
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(ENCRYPTED_KEY.to_owned());
    }
    // Only the key's own block, so a file holding the certificate first
    // (as Azure tooling writes them) still works. Kept in a Secret: it is
    // the private key.
    let block =
        KEY_LABELS.iter().find_map(|label| pem_block(text, label)).map(|b| Secret::new(b.to_owned())).ok_or(
            "the private key is not PEM: no -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY----- block",
        )?;
    EncodingKey::from_rsa_pem(block.expose().as_bytes()).map_err(|e| {
        format!(
            "the private key is not a usable RSA key (PKCS#8 'PRIVATE KEY' or PKCS#1 'RSA PRIVATE KEY', at least \
             2048 bits): {e}"
        )
    })
}

/// Splits a PEM file holding the private key and the certificate (in either
/// order, as Azure tooling writes them) into the key, kept secret, and the
/// certificate. Errors name what is missing, never the content.
pub fn split_key_and_certificate(pem: &Secret) -> Result<(Secret, String), String> {
    let text = pem.expose();
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(ENCRYPTED_KEY.to_owned());
    }
    let key = KEY_LABELS
        .iter()
        .find_map(|label| pem_block(text, label))
        .ok_or("no -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY----- block")?;
    let cert = pem_block(text, "CERTIFICATE").ok_or("no -----BEGIN CERTIFICATE----- block")?;
    Ok((Secret::new(key.to_owned()), cert.to_owned()))
}

/// The whole `-----BEGIN label-----` … `-----END label-----` block.
fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin_marker = format!("-----BEGIN {label}-----");
    let end_marker = format!("-----END {label}-----");
    let begin = text.find(&begin_marker)?;
    let end = text[begin..].find(&end_marker)? + begin + end_marker.len();
    Some(&text[begin..end])
}

/// The base64 between the markers.
fn pem_body<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let block = pem_block(text, label)?;
    let inner = block.strip_prefix(&format!("-----BEGIN {label}-----"))?;
    inner.strip_suffix(&format!("-----END {label}-----"))
}

fn sha256(data: &[u8]) -> Result<Vec<u8>, String> {
    // jsonwebtoken's aws-lc-rs provider already carries SHA-256; no second
    // hashing crate for one thumbprint.
    let digest = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.key_utils.compute_digest;
    digest(data, ThumbprintHash::SHA256).map_err(|e| format!("cannot hash the certificate: {e}"))
}

/// A `jti` no two assertions share: Entra rejects a replayed one. It
/// needs to be unique, not secret, so std's randomly keyed hasher over a
/// counter, the time and the process id is enough.
fn unique_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_u64(salt);
        h.finish()
    };
    let (a, b) = (half(1), half(2));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_vector() {
        let d = sha256(b"abc").expect("sha256");
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn pem_blocks() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nMAo=\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n";
        assert_eq!(pem_body(text, "CERTIFICATE").map(str::trim), Some("MAo="));
        assert_eq!(pem_block(text, "RSA PRIVATE KEY"), None);
        assert_eq!(pem_block(text, "PRIVATE KEY"), Some("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----"));
        assert_eq!(certificate_der(text).expect("der"), vec![0x30, 0x0a]);
        assert!(certificate_der("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err());
        assert!(certificate_der("no pem").is_err());
    }

    #[test]
    fn key_errors_name_the_problem() {
        let enc = Secret::new("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA\n-----END ENCRYPTED PRIVATE KEY-----".into());
        assert!(private_key(&enc).err().is_some_and(|e| e.contains("encrypted")));
        let none = Secret::new("hello".into());
        assert!(private_key(&none).err().is_some_and(|e| e.contains("not PEM")));
    }

    #[test]
    fn ids_differ() {
        let a = unique_id();
        let b = unique_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}

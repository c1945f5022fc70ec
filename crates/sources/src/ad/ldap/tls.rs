//! The TLS side of an LDAP connection: which certificates to trust, which
//! name to check, and TLS failures in words.
//!
//! The DC is dialled at the address the locator found, but its certificate
//! must be checked against the DC's *name*: that is what a DC certificate
//! carries and what the sync server checks. ldap3 takes the name to check
//! from the URL host, and the connection comes from a socket we opened
//! ourselves (`LdapConnSettings::set_std_stream`), so the URL host is never
//! resolved. On top of that the verifier below pins the expected name, so
//! what is checked never depends on how the URL had to be spelled (an IPv6
//! literal is not a valid URL-derived server name in ldap3).

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::ad::TlsOptions;

/// The name the certificate must match: the DC host name, or its address
/// when no name is known (or the "name" is an address literal).
pub(crate) fn expected_name(dc_host: &str, addr: IpAddr) -> Result<ServerName<'static>, String> {
    let host = dc_host.trim().trim_end_matches('.').trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Ok(ServerName::IpAddress(addr.into()));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_string())
        .map_err(|_| format!("'{dc_host}' is not a valid DNS name to check the DC's certificate against"))
}

/// The host part of the URL handed to ldap3: the DNS name (sent as SNI), an
/// IPv4 literal, or for IPv6 a placeholder (ldap3 cannot turn `[::1]` into a
/// server name; the pinned verifier checks the real address anyway).
pub(crate) fn url_host(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_string(),
        ServerName::IpAddress(ip) => match IpAddr::from(*ip) {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(_) => "ipv6-literal.invalid".to_string(),
        },
        _ => "dc.invalid".to_string(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The system trust store, loaded once per process. Unreadable entries are
/// skipped: one bad file in /etc/ssl/certs must not make every DC untrusted.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA file {} is not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("the CA file {} holds no certificate", path.display()));
    }
    Ok(certs)
}

/// The rustls client configuration for one DC. With `verify` off every
/// certificate is accepted (the caller reports `tls_verified: false`). With
/// a CA file, its certificates are the only trust anchors: the DCs' internal
/// CA is what was meant, and a public CA that issued a certificate for the
/// DC's name must not be enough to receive the connector's password.
pub(crate) fn client_config(tls: &TlsOptions, expected: ServerName<'static>) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    if !tls.verify {
        let verifier = DcVerifier { cert: CertCheck::AcceptAny, provider };
        let config = builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth();
        return Ok(Arc::new(config));
    }
    let roots = trust_anchors(tls)?;
    if roots.is_empty() {
        return Err("no trusted CA certificates: the system store is empty and no CA file was given".to_string());
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let verifier = DcVerifier { cert: CertCheck::Pinned { inner, expected }, provider };
    Ok(Arc::new(builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()))
}

/// The CAs trusted for DC certificates: the CA file alone when one is set,
/// else the system store.
fn trust_anchors(tls: &TlsOptions) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match &tls.ca_file {
        Some(path) => {
            for cert in read_ca_file(path)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("the CA file {} holds an unusable certificate: {e}", path.display()))?;
            }
        }
        None => {
            roots.add_parsable_certificates(system_roots().iter().cloned());
        }
    }
    Ok(roots)
}

/// The certificate check, and the handshake signature checks every session
/// gets, with or without it: a session is at least bound to the key the DC
/// presented.
#[derive(Debug)]
struct DcVerifier {
    cert: CertCheck,
    provider: Arc<CryptoProvider>,
}

#[derive(Debug)]
enum CertCheck {
    /// WebPKI verification against a fixed name, whatever name the
    /// connection was opened with.
    Pinned { inner: Arc<WebPkiServerVerifier>, expected: ServerName<'static> },
    /// `verify = false`: any certificate.
    AcceptAny,
}

impl ServerCertVerifier for DcVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.cert {
            CertCheck::Pinned { inner, expected } => {
                inner.verify_server_cert(end_entity, intermediates, expected, ocsp_response, now)
            }
            CertCheck::AcceptAny => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Why a TLS handshake failed, in words, and whether the failure was the
/// certificate check (as opposed to the server not speaking TLS at all).
pub(crate) struct TlsFailure {
    pub words: String,
    pub certificate: bool,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words)
    }
}

/// A rustls error from the handshake with the DC, said plainly. `expected`
/// is the name checked, `ca_file` the extra trust anchor file if any.
pub(crate) fn describe_rustls(err: &rustls::Error, expected: &ServerName<'_>, ca_file: Option<&Path>) -> TlsFailure {
    let name = server_name_text(expected);
    let trust = match ca_file {
        Some(path) => format!("is not in the CA file {} (the only CAs trusted when it is set)", path.display()),
        None => "is not in the system store (and no CA file was given)".to_string(),
    };
    let cert = |words: String| TlsFailure { words, certificate: true };
    match err {
        rustls::Error::InvalidCertificate(problem) => match problem {
            CertificateError::UnknownIssuer => {
                cert(format!("certificate not trusted: the CA that issued the DC's certificate {trust}"))
            }
            CertificateError::NotValidForName => {
                cert(format!("certificate name mismatch: the DC's certificate is not valid for {name}"))
            }
            CertificateError::NotValidForNameContext { presented, .. } => cert(format!(
                "certificate name mismatch: the DC's certificate is not valid for {name} (it names {})",
                if presented.is_empty() {
                    "no subjectAltName".to_string()
                } else {
                    presented.iter().map(|p| presented_name(p)).collect::<Vec<_>>().join(", ")
                }
            )),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                cert(format!("certificate expired: {problem}"))
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                cert(format!("certificate not yet valid: {problem}"))
            }
            CertificateError::Revoked => cert("certificate revoked".to_string()),
            other => cert(format!("certificate rejected: {other}")),
        },
        rustls::Error::AlertReceived(alert) => {
            TlsFailure { words: format!("TLS handshake failed: the DC sent the alert {alert:?}"), certificate: false }
        }
        other => TlsFailure { words: format!("TLS handshake failed: {other}"), certificate: false },
    }
}

/// rustls lists the certificate's names as `DnsName("x")` / `IpAddress(1.2.3.4)`;
/// show them the way openssl and certificate viewers do (`DNS:x`, `IP:1.2.3.4`).
fn presented_name(raw: &str) -> String {
    let unwrap = |prefix: &str| raw.strip_prefix(prefix)?.strip_suffix(')').map(|v| v.trim_matches('"').to_string());
    if let Some(dns) = unwrap("DnsName(") {
        format!("DNS:{dns}")
    } else if let Some(ip) = unwrap("IpAddress(") {
        format!("IP:{ip}")
    } else {
        raw.to_string()
    }
}

pub(crate) fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => format!("'{}'", dns.as_ref()),
        ServerName::IpAddress(ip) => format!("the address {}", IpAddr::from(*ip)),
        _ => "the DC".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LAB: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn names_to_check() {
        let name = expected_name("dc1.lab1.example.test.", LAB).expect("dns name");
        assert_eq!(url_host(&name), "dc1.lab1.example.test");
        let by_ip = expected_name("", LAB).expect("address");
        assert_eq!(by_ip, ServerName::IpAddress(LAB.into()));
        assert_eq!(url_host(&by_ip), "127.0.0.2");
        let v6 = expected_name("[::1]", LAB).expect("v6 literal");
        assert_eq!(url_host(&v6), "ipv6-literal.invalid");
        assert!(expected_name("not a name", LAB).is_err());
    }

    #[test]
    fn certificate_errors_read_plainly() {
        let name = expected_name("dc1.lab1.example.test", LAB).expect("name");
        let e = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let failure = describe_rustls(&e, &name, None);
        assert!(failure.certificate);
        assert!(failure.words.starts_with("certificate not trusted"), "{}", failure.words);
        let e = rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: name.clone(),
            presented: vec!["DnsName(\"other.example\")".to_string(), "IpAddress(127.0.0.2)".to_string()],
        });
        let failure = describe_rustls(&e, &name, None);
        assert!(
            failure.words.contains("name mismatch")
                && failure.words.ends_with("(it names DNS:other.example, IP:127.0.0.2)"),
            "{}",
            failure.words
        );
        let e = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        assert!(!describe_rustls(&e, &name, None).certificate);
    }

    #[test]
    fn verify_off_needs_no_roots() {
        let tls = TlsOptions { ca_file: None, verify: false };
        let name = expected_name("dc1.lab1.example.test", LAB).expect("name");
        assert!(client_config(&tls, name).is_ok());
    }

    #[test]
    fn a_ca_file_replaces_the_system_store() {
        // The repository's test certificate as the CA file: exactly it is
        // trusted, none of the system store's CAs (over a hundred on Debian).
        let pem = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/graph-signin/test-cert.pem");
        let tls = TlsOptions { ca_file: Some(pem.clone()), verify: true };
        let roots = trust_anchors(&tls).expect("roots");
        assert_eq!(roots.len(), 1, "only the CA file is trusted");
        // Without a CA file the system store is what is trusted.
        let system = trust_anchors(&TlsOptions { ca_file: None, verify: true }).expect("system roots");
        assert_eq!(system.is_empty(), system_roots().is_empty());
        let failure = describe_rustls(
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &expected_name("dc1.lab1.example.test", LAB).expect("name"),
            Some(&pem),
        );
        assert!(failure.words.contains("the only CAs trusted"), "{}", failure.words);
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let tls = TlsOptions { ca_file: Some("/nonexistent/lab-ca.pem".into()), verify: true };
        let name = expected_name("dc1.lab1.example.test", LAB).expect("name");
        let err = client_config(&tls, name).expect_err("a missing CA file is an error");
        assert!(err.contains("/nonexistent/lab-ca.pem"), "{err}");
    }
}

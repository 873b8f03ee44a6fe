//! The client configuration: ring's provider, Mozilla's roots and the certificate authorities a
//! caller trusts, read from PEM text.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls::client::WantsClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, ConfigBuilder, RootCertStore, WantsVerifier};

/// Most certificate authorities a caller may add to Mozilla's roots (a system bundle has a few
/// hundred): PEM text is read up to this many certificates, whatever its size.
pub const MAX_CA_CERTS: usize = 4096;

/// ring's provider. ring, not aws-lc-rs: aws-lc-rs is a C build with CMake, heavy on small
/// machines. rustls 0.23.48 deprecates ring's provider for its lack of post-quantum key exchange;
/// classical key exchange is what a chat client's traffic and a conformance run get until ring
/// has one.
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Where every client configuration starts: ring's provider and rustls's safe protocol versions
/// (TLS 1.2 and 1.3), the certificate verification still to choose.
pub fn config_builder() -> Result<ConfigBuilder<ClientConfig, WantsVerifier>, rustls::Error> {
    ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()
}

/// A configuration that trusts Mozilla's roots and the certificate authorities in `extra`.
pub fn client_config(extra: RootCertStore) -> Result<Arc<ClientConfig>, rustls::Error> {
    Ok(Arc::new(
        with_mozilla_roots(config_builder()?, extra).with_no_client_auth(),
    ))
}

/// The configuration that trusts Mozilla's roots alone, made once and shared.
pub fn mozilla_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    static MOZILLA: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = MOZILLA.get() {
        return Ok(config.clone());
    }
    let config = client_config(RootCertStore::empty())?;
    Ok(MOZILLA.get_or_init(|| config).clone())
}

fn with_mozilla_roots(
    builder: ConfigBuilder<ClientConfig, WantsVerifier>,
    mut roots: RootCertStore,
) -> ConfigBuilder<ClientConfig, WantsClientCert> {
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    builder.with_root_certificates(roots)
}

/// Adds every certificate of PEM text (one or more `-----BEGIN CERTIFICATE-----` blocks; other
/// blocks, such as keys, are skipped) to `roots`, which then holds at most [`MAX_CA_CERTS`].
/// Returns how many were added.
pub fn add_pem_certificates(roots: &mut RootCertStore, pem: &[u8]) -> Result<usize, CaCertError> {
    let room = MAX_CA_CERTS.saturating_sub(roots.len());
    let certificates = CertificateDer::pem_slice_iter(pem)
        .take(room + 1)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CaCertError::NotPem(e.to_string()))?;
    if certificates.is_empty() {
        return Err(CaCertError::NoCertificate);
    }
    if certificates.len() > room {
        return Err(CaCertError::TooMany);
    }
    let added = certificates.len();
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|e| CaCertError::NotARoot(e.to_string()))?;
    }
    Ok(added)
}

/// Why PEM text gave no certificate authority to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaCertError {
    /// It is not PEM (the parser's account of it).
    NotPem(String),
    /// It holds no certificate (a DER file, a key alone, a wrong file).
    NoCertificate,
    /// It would take the authorities past [`MAX_CA_CERTS`].
    TooMany,
    /// rustls cannot use a certificate of it as a root (its account of why).
    NotARoot(String),
}

impl fmt::Display for CaCertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaCertError::NotPem(why) => write!(f, "not PEM certificates: {why}"),
            CaCertError::NoCertificate => {
                f.write_str("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
            }
            CaCertError::TooMany => {
                write!(f, "more than {MAX_CA_CERTS} certificate authorities in all")
            }
            CaCertError::NotARoot(why) => {
                write!(f, "a certificate rustls cannot use as a root: {why}")
            }
        }
    }
}

impl std::error::Error for CaCertError {}

#[cfg(test)]
mod tests {
    use super::*;

    const CERTIFICATE: &str = include_str!("testdata/self-signed.pem");

    #[test]
    fn pem_text_must_hold_certificates() {
        let mut roots = RootCertStore::empty();
        assert_eq!(
            add_pem_certificates(&mut roots, b"no certificate here"),
            Err(CaCertError::NoCertificate)
        );
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            add_pem_certificates(&mut roots, key_only.as_bytes()),
            Err(CaCertError::NoCertificate)
        );
        let broken = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            add_pem_certificates(&mut roots, broken.as_bytes()),
            Err(CaCertError::NotPem(_))
        ));
        assert!(roots.is_empty());
        assert_eq!(
            add_pem_certificates(&mut roots, CERTIFICATE.as_bytes()),
            Ok(1)
        );
        assert_eq!(roots.len(), 1);
    }

    #[test]
    fn the_authorities_are_bounded_in_all() {
        let mut roots = RootCertStore::empty();
        let many = CERTIFICATE.repeat(MAX_CA_CERTS - 1);
        assert_eq!(
            add_pem_certificates(&mut roots, many.as_bytes()),
            Ok(MAX_CA_CERTS - 1)
        );
        let two = CERTIFICATE.repeat(2);
        assert_eq!(
            add_pem_certificates(&mut roots, two.as_bytes()),
            Err(CaCertError::TooMany)
        );
        assert_eq!(
            roots.len(),
            MAX_CA_CERTS - 1,
            "nothing added past the bound"
        );
        assert_eq!(
            add_pem_certificates(&mut roots, CERTIFICATE.as_bytes()),
            Ok(1)
        );
    }

    #[test]
    fn configurations_trust_mozilla_and_the_extra_roots() {
        let mozilla = mozilla_config().unwrap();
        assert!(
            Arc::ptr_eq(&mozilla, &mozilla_config().unwrap()),
            "made once"
        );
        let mut extra = RootCertStore::empty();
        add_pem_certificates(&mut extra, CERTIFICATE.as_bytes()).unwrap();
        assert!(client_config(extra).is_ok());
    }
}

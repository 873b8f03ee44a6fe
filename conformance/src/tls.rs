//! TLS for `wss://` endpoints, on the runtime's TLS stack (`agentwire_runtime::tls`: rustls with
//! ring, Mozilla's roots plus PEM certificate authorities, what a refused certificate means):
//! the `--ca-cert` files, `--insecure`, and what a handshake shows (version and certificate
//! subject).
//!
//! The server name (SNI) is the URL's host, as tungstenite passes it; an IP address is checked
//! against the certificate's IP addresses and sends no SNI, as RFC 6066 says.

use std::path::Path;
use std::sync::Arc;

use agentwire_runtime::tls::{self as stack, TlsFailure};
use anyhow::{Context, Result, anyhow, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;

use crate::report::TlsSession;

/// Largest `--ca-cert` file read.
const MAX_CA_FILE_BYTES: u64 = 16 << 20;

/// How to trust a `wss://` server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM files of certificate authorities to trust besides Mozilla's roots (`--ca-cert`).
    pub ca_certs: Vec<std::path::PathBuf>,
    /// Accept any certificate (`--insecure`): the connection is encrypted, but who answers is
    /// not verified.
    pub insecure: bool,
}

/// The client configuration of these options: Mozilla's roots and the `--ca-cert` files, or no
/// verification at all with `insecure`.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>> {
    if options.insecure {
        let verifier = Arc::new(AcceptAnyCertificate(stack::provider()));
        let builder = stack::config_builder().context("the TLS versions of the crypto provider")?;
        return Ok(Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth(),
        ));
    }
    let mut extra = RootCertStore::empty();
    for file in &options.ca_certs {
        let pem = read_ca_file(file)?;
        stack::add_pem_certificates(&mut extra, &pem)
            .map_err(|e| anyhow!("--ca-cert {}: {e}", file.display()))?;
    }
    stack::client_config(extra).context("the TLS configuration")
}

/// The configuration of a `wss://` target given no options: Mozilla's roots.
pub fn default_config() -> Arc<ClientConfig> {
    stack::mozilla_config().expect("the default TLS configuration builds")
}

/// A `--ca-cert` file, bounded in size.
fn read_ca_file(file: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("--ca-cert {}: cannot read", file.display()))?
        .len();
    if size > MAX_CA_FILE_BYTES {
        bail!(
            "--ca-cert {}: {size} bytes, more than a certificate file holds",
            file.display()
        );
    }
    std::fs::read(file).with_context(|| format!("--ca-cert {}", file.display()))
}

/// What the TLS session of an open connection shows: its version and the subject of the
/// server's certificate. `None` for a plain `ws://` connection.
pub fn session_of(stream: &MaybeTlsStream<TcpStream>, verified: bool) -> Option<TlsSession> {
    let MaybeTlsStream::Rustls(tls) = stream else {
        return None;
    };
    let (_, connection) = tls.get_ref();
    let version = connection
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("unknown")
        .replace('_', ".")
        .replace("TLSv1.", "TLS 1.");
    let subject = connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| subject_of(leaf.as_ref()));
    Some(TlsSession {
        version,
        subject,
        verified,
    })
}

/// The subject of a DER certificate, as RFC 4514 writes it (`CN=example.com,O=...`).
pub fn subject_of(der: &[u8]) -> Option<String> {
    use x509_cert::der::Decode as _;
    let certificate = x509_cert::Certificate::from_der(der).ok()?;
    Some(certificate.tbs_certificate.subject.to_string())
}

/// The certificate or TLS failure behind a failed connection, if that is what it was.
pub fn tls_failure(error: &std::io::Error) -> Option<String> {
    Some(match stack::failure_of(error)? {
        TlsFailure::Certificate { cause, detail } => {
            format!("the server's certificate was not accepted ({detail}): {cause}")
        }
        TlsFailure::Handshake(reason) => format!("the TLS handshake failed: {reason}"),
        other => format!("the TLS handshake failed: {other:?}"),
    })
}

/// `--insecure`: any certificate is accepted, but the handshake's signatures are still checked,
/// so the connection is encrypted with the key of the certificate the server showed.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let error = client_config(&TlsOptions {
            ca_certs: vec![empty],
            insecure: false,
        })
        .unwrap_err();
        assert!(
            format!("{error:#}").contains("no PEM certificate"),
            "{error:#}"
        );
        let missing = dir.path().join("missing.pem");
        let error = client_config(&TlsOptions {
            ca_certs: vec![missing],
            insecure: false,
        })
        .unwrap_err();
        assert!(format!("{error:#}").contains("cannot read"), "{error:#}");
        assert!(client_config(&TlsOptions::default()).is_ok());
    }

    #[test]
    fn a_certificate_names_its_subject() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "conformance test");
        let certificate = params.self_signed(&key).unwrap();
        assert_eq!(
            subject_of(certificate.der()).as_deref(),
            Some("CN=conformance test")
        );
        assert_eq!(subject_of(b"not DER"), None);
    }
}

//! What a failed TLS handshake means: a certificate not accepted, and why, or another failure.

use rustls::CertificateError;

use super::CertificateCause;

/// What went wrong in a TLS handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate was not accepted.
    Certificate {
        /// Why.
        cause: CertificateCause,
        /// rustls's account of it: `UnknownIssuer`, or with context, e.g. `certificate not valid
        /// for name "example.com"; certificate is only valid for DnsName("localhost")`.
        detail: String,
    },
    /// The handshake failed otherwise (an alert, no version in common, not TLS at all): rustls's
    /// account of it.
    Handshake(String),
}

/// The TLS failure behind an I/O error, if that is what it was: tokio-rustls (under
/// tokio-tungstenite) reports a failed handshake as an I/O error around rustls's own.
pub fn failure_of(error: &std::io::Error) -> Option<TlsFailure> {
    let rustls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(match rustls {
        rustls::Error::InvalidCertificate(why) => TlsFailure::Certificate {
            cause: cause_of(why),
            detail: why.to_string(),
        },
        other => TlsFailure::Handshake(other.to_string()),
    })
}

/// The cause of a certificate error of rustls.
pub fn cause_of(error: &CertificateError) -> CertificateCause {
    match error {
        CertificateError::UnknownIssuer => CertificateCause::UnknownIssuer,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            CertificateCause::NotValidForName
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            CertificateCause::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            CertificateCause::NotValidYet
        }
        CertificateError::Revoked => CertificateCause::Revoked,
        _ => CertificateCause::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_name_their_cause() {
        let wrong_name = CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("example.com")
                .unwrap()
                .to_owned(),
            presented: vec!["DnsName(\"localhost\")".into()],
        };
        assert_eq!(cause_of(&wrong_name), CertificateCause::NotValidForName);
        assert_eq!(
            cause_of(&CertificateError::UnknownIssuer),
            CertificateCause::UnknownIssuer
        );
        assert_eq!(
            cause_of(&CertificateError::BadSignature),
            CertificateCause::Invalid
        );
    }

    #[test]
    fn io_errors_around_rustls_errors_are_tls_failures() {
        let wrapped = |error: rustls::Error| {
            failure_of(&std::io::Error::new(std::io::ErrorKind::InvalidData, error))
        };
        assert_eq!(
            wrapped(CertificateError::Expired.into()),
            Some(TlsFailure::Certificate {
                cause: CertificateCause::Expired,
                detail: "Expired".into()
            })
        );
        assert!(matches!(
            wrapped(rustls::Error::AlertReceived(
                rustls::AlertDescription::HandshakeFailure
            )),
            Some(TlsFailure::Handshake(_))
        ));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(failure_of(&refused), None);
    }
}

//! TLS for clients of `wss://` servers, one stack for the generated clients
//! (`ConnectOptions::ca_cert`) and the conformance suite (`--ca-cert`): rustls with the ring
//! provider, Mozilla's roots (`webpki-roots`) plus certificate authorities given as PEM, and what
//! a refused certificate means.
//!
//! [`CertificateCause`] is in every build, since a client's errors name it whatever the features;
//! the rest needs the feature `tls`.

#[cfg(feature = "tls")]
mod config;
#[cfg(feature = "tls")]
mod failure;

use std::fmt;

#[cfg(feature = "tls")]
pub use config::{
    CaCertError, MAX_CA_CERTS, add_pem_certificates, client_config, config_builder, mozilla_config,
    provider,
};
#[cfg(feature = "tls")]
pub use failure::{TlsFailure, cause_of, failure_of};

/// Why a server's TLS certificate was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertificateCause {
    /// No trusted authority signed it: a self-signed certificate, or one from a private CA that
    /// is not trusted.
    UnknownIssuer,
    /// It is not valid for the URL's host.
    NotValidForName,
    /// It has expired.
    Expired,
    /// It is not valid yet.
    NotValidYet,
    /// Its issuer revoked it.
    Revoked,
    /// Something else is wrong with it (a bad signature, encoding or purpose).
    Invalid,
}

impl fmt::Display for CertificateCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertificateCause::UnknownIssuer => {
                "no trusted authority signed it (a self-signed certificate, or a private CA's)"
            }
            CertificateCause::NotValidForName => "it is not valid for the URL's host",
            CertificateCause::Expired => "it has expired",
            CertificateCause::NotValidYet => "it is not valid yet",
            CertificateCause::Revoked => "it was revoked",
            CertificateCause::Invalid => "it is invalid",
        })
    }
}

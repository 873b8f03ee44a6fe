//! How a client's connections are opened: plain TCP for `ws://`, TLS for `wss://` (feature
//! `tls`: rustls with ring, Mozilla's roots from `webpki-roots` plus the certificate
//! authorities of [`ConnectOptions::ca_cert`]), and what a failed TLS handshake means.
//!
//! The server name (SNI) is the URL's host, as tokio-tungstenite passes it; an IP address is
//! checked against the certificate's IP addresses and sends no SNI, as RFC 6066 says. Without
//! the feature a `wss://` URL is refused before anything is sent, naming the feature, whatever
//! TLS another crate of the build may have turned on in tokio-tungstenite.

use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::connection::Socket;
use super::error::ClientError;
use super::options::ConnectOptions;
use super::url::redact;

/// Whether a URL asks for TLS.
fn is_secure(url: &str) -> bool {
    url.trim_start()
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("wss://"))
}

/// A client's way of opening connections, made once per [`connect`](super::ClientCore::connect)
/// so that reconnecting reuses it (and its TLS session cache).
#[derive(Clone)]
pub(crate) struct Transport {
    /// The TLS configuration, for a `wss://` URL.
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Transport {
    /// The transport of the options' URL; fails for a certificate authority that is no PEM
    /// certificate, or for `wss://` in a build without TLS.
    pub(crate) fn new(options: &ConnectOptions) -> Result<Self, ClientError> {
        let secure = is_secure(&options.url);
        #[cfg(feature = "tls")]
        {
            let tls = match secure {
                true => Some(secure::client_config(&options.ca_certs)?),
                false => None,
            };
            Ok(Self { tls })
        }
        #[cfg(not(feature = "tls"))]
        {
            if secure {
                return Err(ClientError::Connect {
                    url: redact(&options.url),
                    reason: "wss:// needs TLS, which comes with the `tls` feature of the \
                             protocol's crate (features = [\"tls\"]); this build has only ws://"
                        .into(),
                });
            }
            Ok(Self {})
        }
    }

    /// Connects and makes the WebSocket handshake (and the TLS one first, for `wss://`).
    pub(crate) async fn handshake(
        &self,
        request: Request,
        config: WebSocketConfig,
    ) -> Result<(Socket, Response), tungstenite::Error> {
        #[cfg(feature = "tls")]
        {
            use tokio_tungstenite::Connector;
            let connector = match &self.tls {
                Some(config) => Connector::Rustls(config.clone()),
                None => Connector::Plain,
            };
            tokio_tungstenite::connect_async_tls_with_config(
                request,
                Some(config),
                false,
                Some(connector),
            )
            .await
        }
        #[cfg(not(feature = "tls"))]
        {
            tokio_tungstenite::connect_async_with_config(request, Some(config), false).await
        }
    }
}

/// The error of a handshake that failed: a certificate not accepted, a TLS handshake that
/// failed otherwise, or a connection that could not be made.
pub(crate) fn connect_error(url: &str, error: tungstenite::Error) -> ClientError {
    #[cfg(feature = "tls")]
    if let tungstenite::Error::Io(io) = &error {
        match crate::tls::failure_of(io) {
            Some(crate::tls::TlsFailure::Certificate { cause, detail }) => {
                return ClientError::Certificate {
                    url: redact(url),
                    cause,
                    detail,
                };
            }
            Some(crate::tls::TlsFailure::Handshake(reason)) => {
                return ClientError::Connect {
                    url: redact(url),
                    reason: format!("the TLS handshake failed: {reason}"),
                };
            }
            None => {}
        }
    }
    // (`wss://` without the feature never gets here: `Transport::new` refuses it first.)
    ClientError::Connect {
        url: redact(url),
        reason: error.to_string(),
    }
}

/// The client's side of the shared TLS stack: its configuration from `ConnectOptions`.
#[cfg(feature = "tls")]
mod secure {
    use std::sync::Arc;

    use rustls::{ClientConfig, RootCertStore};

    use crate::client::error::ClientError;
    use crate::tls;

    /// The configuration: Mozilla's roots and the PEM certificate authorities of
    /// `ConnectOptions::ca_cert`.
    pub(super) fn client_config(ca_certs: &[String]) -> Result<Arc<ClientConfig>, ClientError> {
        let built = if ca_certs.is_empty() {
            tls::mozilla_config()
        } else {
            let mut extra = RootCertStore::empty();
            for (index, pem) in ca_certs.iter().enumerate() {
                tls::add_pem_certificates(&mut extra, pem.as_bytes()).map_err(|e| {
                    ClientError::Usage(format!("ConnectOptions::ca_cert #{}: {e}", index + 1))
                })?;
            }
            tls::client_config(extra)
        };
        built.map_err(|e| ClientError::Usage(format!("the TLS configuration: {e}")))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn certificate_authorities_are_named_by_their_place() {
            let pem = include_str!("../tls/testdata/self-signed.pem");
            assert!(client_config(&[]).is_ok());
            assert!(client_config(&[pem.into()]).is_ok());
            let error = client_config(&[pem.into(), "no certificate here".into()]).unwrap_err();
            assert!(
                matches!(&error, ClientError::Usage(text)
                    if text.starts_with("ConnectOptions::ca_cert #2: no PEM certificate")),
                "{error}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wss_urls_ask_for_tls() {
        assert!(is_secure("wss://example.com"));
        assert!(is_secure(" WSS://example.com/ws"));
        assert!(!is_secure("ws://example.com"));
        assert!(!is_secure("wss:"));
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_the_feature_wss_is_refused_naming_it() {
        let error = Transport::new(&ConnectOptions::new("wss://example.com/ws?token=secret"))
            .err()
            .expect("no TLS in this build");
        let text = error.to_string();
        assert!(text.contains("`tls` feature"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}

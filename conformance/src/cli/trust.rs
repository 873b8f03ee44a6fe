//! `--ca-cert` and `--insecure`: how `run` and `proxy` trust a `wss://` server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;

use super::usage;
use crate::tls::{TlsOptions, client_config};

/// How to trust a `wss://` server's certificate.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// For wss://: also trust the certificate authorities of this PEM file (a private CA, or the
    /// system's bundle); repeatable. Mozilla's roots are always trusted.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// For wss://: do not verify the server's certificate (a warning says so every time: nothing
    /// then proves who answered).
    #[arg(long, conflicts_with = "ca_cert")]
    pub insecure: bool,
}

impl TlsArgs {
    /// Whether either flag was given.
    pub fn given(&self) -> bool {
        self.insecure || !self.ca_cert.is_empty()
    }

    /// The TLS configuration for a URL given with `url_flag`: `None` for a `ws://` one, where
    /// either flag is a usage error (it would be silently ignored); an unusable `--ca-cert` file
    /// is one too. `--insecure` warns on stderr.
    pub fn trust(&self, secure: bool, url_flag: &str) -> Result<Option<Arc<rustls::ClientConfig>>> {
        if !secure {
            if self.given() {
                return Err(usage(format!(
                    "--ca-cert and --insecure apply to wss:// URLs only: pass {url_flag} wss://..."
                )));
            }
            return Ok(None);
        }
        let options = TlsOptions {
            ca_certs: self.ca_cert.clone(),
            insecure: self.insecure,
        };
        let config = client_config(&options).map_err(|e| usage(format!("{e:#}")))?;
        if self.insecure {
            eprintln!(
                "conformance: warning: --insecure: the server's certificate is not verified, so \
                 nothing here proves who answered"
            );
        }
        Ok(Some(config))
    }
}

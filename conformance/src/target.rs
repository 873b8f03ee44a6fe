//! The endpoint under test: where to connect, with which headers, parameters and credentials.

use std::collections::BTreeMap;
use std::sync::Arc;

use agentwire_spec::ProtocolSource;
use anyhow::{Result, bail};

use crate::util::percent_encode;

/// Shown instead of a credential in reports.
pub const REDACTED: &str = "<redacted>";

/// Where and how to reach the server.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `ws://host:port`, without a trailing slash.
    origin: String,
    /// The path of `--url`, when it names one; otherwise the documented path is used.
    path: Option<String>,
    /// The query of `--url`, without `?`.
    query: Option<String>,
    /// Extra handshake headers (`--header K:V`).
    pub headers: Vec<(String, String)>,
    /// Values of path parameters (`--param name=value`); the documented examples fill the rest.
    pub params: BTreeMap<String, String>,
    /// A valid credential (`--token`).
    pub token: Option<String>,
    /// The secret the server verifies HS256 JWTs with (`--jwt-secret`).
    pub jwt_secret: Option<String>,
    /// How to trust a `wss://` server (`--ca-cert`, `--insecure`); Mozilla's roots when `None`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Whether `tls` skips verifying the certificate (`--insecure`).
    pub insecure: bool,
}

impl Target {
    /// Reads a WebSocket URL: `ws://` or `wss://` then `HOST[:PORT][/PATH][?QUERY]`. User info
    /// is refused (it would show in reports: pass credentials with `--token` or `--header`), and
    /// so are a fragment and a port that is not a number from 1 to 65535.
    pub fn parse(url: &str) -> Result<Self> {
        let scheme_end = url.find("://").unwrap_or(0);
        let scheme = url[..scheme_end].to_ascii_lowercase();
        if scheme != "ws" && scheme != "wss" {
            bail!("{url}: not a WebSocket URL (it must start with ws:// or wss://)");
        }
        let rest = &url[scheme_end + 3..];
        if rest.contains('#') {
            bail!("{url}: a WebSocket URL has no fragment (#...)");
        }
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            bail!(
                "{url}: user info in the URL is not supported (it would show in reports); pass credentials with --token or --header"
            );
        }
        let (host, port) = match authority.rsplit_once(':') {
            // An IPv6 literal without a port: `[::1]`.
            Some((host, port)) if !port.ends_with(']') => (host, Some(port)),
            _ => (authority, None),
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            bail!("{url}: no host");
        }
        if let Some(port) = port
            && !port.parse::<u16>().is_ok_and(|p| p > 0)
        {
            bail!("{url}: the port {port:?} is not a number from 1 to 65535");
        }
        let (path, query) = match tail.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (tail, None),
        };
        let path = (!path.is_empty() && path != "/").then(|| path.to_string());
        Ok(Self {
            origin: format!("{scheme}://{authority}"),
            path,
            query: query.filter(|q| !q.is_empty()),
            ..Self::default()
        })
    }

    /// Whether connections use TLS (`wss://`).
    pub fn is_secure(&self) -> bool {
        self.origin.starts_with("wss://")
    }

    /// The TLS configuration of a `wss://` target and whether it verifies certificates; `None`
    /// for `ws://`.
    pub fn tls(&self) -> Option<(Arc<rustls::ClientConfig>, bool)> {
        self.is_secure().then(|| {
            let config = self.tls.clone().unwrap_or_else(crate::tls::default_config);
            (config, !self.insecure)
        })
    }

    /// Whether `--url` named a path, which then replaces the documented one.
    pub fn overrides_path(&self) -> bool {
        self.path.is_some()
    }

    /// The path to connect to: the one of `--url`, or the documented path with its parameters
    /// filled from `--param` or the documented examples.
    pub fn endpoint_path(&self, protocol: &ProtocolSource) -> String {
        if let Some(path) = &self.path {
            return path.clone();
        }
        let endpoint = &protocol.description.endpoint;
        let mut path = endpoint.path.clone();
        for param in &endpoint.path_params {
            let value = self.params.get(&param.name).unwrap_or(&param.example);
            path = path.replace(&format!("{{{}}}", param.name), &percent_encode(value));
        }
        path
    }

    /// The URL to connect to, with an optional extra query parameter (a credential).
    pub fn url(&self, protocol: &ProtocolSource, extra: Option<(&str, &str)>) -> String {
        let mut url = format!("{}{}", self.origin, self.endpoint_path(protocol));
        let mut query: Vec<String> = self.query.iter().cloned().collect();
        if let Some((name, value)) = extra {
            query.push(format!(
                "{}={}",
                percent_encode(name),
                percent_encode(value)
            ));
        }
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }

    /// The URL as shown in reports: a credential in the query is redacted.
    pub fn shown_url(&self, protocol: &ProtocolSource, extra: Option<&str>) -> String {
        let mut url = format!("{}{}", self.origin, self.endpoint_path(protocol));
        let mut query: Vec<String> = self.query.iter().cloned().collect();
        if let Some(name) = extra {
            query.push(format!("{}={REDACTED}", percent_encode(name)));
        }
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("ws://127.0.0.1:9000").unwrap();
        assert_eq!(t.origin, "ws://127.0.0.1:9000");
        assert!(t.path.is_none());
        let t = Target::parse("ws://h:1/ws/meet?x=1").unwrap();
        assert_eq!(t.path.as_deref(), Some("/ws/meet"));
        assert_eq!(t.query.as_deref(), Some("x=1"));
        let secure = Target::parse("WSS://example.com/ws").unwrap();
        assert_eq!(secure.origin, "wss://example.com");
        assert!(secure.is_secure() && secure.tls().is_some_and(|(_, verified)| verified));
        assert!(!t.is_secure() && t.tls().is_none());
        assert!(Target::parse("http://h").is_err());
        assert!(Target::parse("ws://").is_err());
        assert_eq!(
            Target::parse("WS://[::1]:8080/ws").unwrap().origin,
            "ws://[::1]:8080"
        );
        assert!(Target::parse("ws://[::1]").is_ok());
        for bad in [
            "ws://h:notaport",
            "ws://h:0",
            "ws://h:65536",
            "ws://h:",
            "ws://user:pw@h:1",
            "ws://h:1/ws#x",
            "ws//h:1",
            "h:1",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}

//! How to connect: [`ConnectOptions`] and [`Reconnect`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::spec::AuthVia;

/// The default wait for a reply, for a stream's next frame, and for connecting.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to connect to a server. Build it with [`ConnectOptions::new`] and the methods that add to
/// it: `ConnectOptions::new("ws://localhost:8080/ws").token(token)`.
#[derive(Clone)]
pub struct ConnectOptions {
    /// The server: `ws://host:port` (the client appends the protocol's endpoint path, filled from
    /// `params`), or the endpoint's whole URL (`ws://host:port/ws`), used as given when it has a
    /// path. `wss://` needs the `tls` feature; without it connecting says so.
    pub url: String,
    /// Certificate authorities to trust for `wss://` besides Mozilla's roots, as PEM text (one or
    /// more `-----BEGIN CERTIFICATE-----` blocks each, 4096 certificates at most in all): a
    /// private CA, or a test server's self-signed certificate. Text without a certificate fails
    /// `connect` with [`ClientError::Usage`]; a `ws://` URL does not read them.
    ///
    /// [`ClientError::Usage`]: super::ClientError::Usage
    pub ca_certs: Vec<String>,
    /// The credential, for protocols with authentication.
    pub token: Option<String>,
    /// How to pass it; by default the first the protocol documents, query parameter preferred.
    pub auth_via: Option<AuthVia>,
    /// Values of the endpoint's path parameters, used when the client appends the path.
    pub params: BTreeMap<String, String>,
    /// Other handshake headers (an `Origin` a server wants, say).
    pub headers: Vec<(String, String)>,
    /// How long a request waits for its reply, a stream for its next frame, and a message for
    /// the session it needs; default 10 s.
    pub timeout: Duration,
    /// How long connecting (handshake and first-message authentication) may take; default 10 s.
    pub connect_timeout: Duration,
    /// Whether and how to reconnect when the connection is lost; default never.
    pub reconnect: Option<Reconnect>,
}

impl ConnectOptions {
    /// Options for a server at `url`, with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ca_certs: Vec::new(),
            token: None,
            auth_via: None,
            params: BTreeMap::new(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_TIMEOUT,
            reconnect: None,
        }
    }

    /// Also trusting the certificate authorities of this PEM text for `wss://` (say
    /// `std::fs::read_to_string("ca.pem")?`). Mozilla's roots stay trusted.
    pub fn ca_cert(mut self, pem: impl Into<String>) -> Self {
        self.ca_certs.push(pem.into());
        self
    }

    /// With a credential.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Passing the credential this way.
    pub fn auth_via(mut self, via: AuthVia) -> Self {
        self.auth_via = Some(via);
        self
    }

    /// With a path parameter's value.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// With a handshake header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// With another wait for replies.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// With another limit on connecting.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Reconnecting when the connection is lost.
    pub fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = Some(reconnect);
        self
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a secret, and header values may be.
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ConnectOptions")
            .field("url", &super::url::redact(&self.url))
            .field("ca_certs", &self.ca_certs.len())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("auth_via", &self.auth_via)
            .field("params", &self.params)
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect", &self.reconnect)
            .finish()
    }
}

/// Backoff between reconnection attempts: `initial_delay * factor^attempt`, capped at
/// `max_delay`, then jittered to a random delay between half of it and all of it, so that clients
/// the same outage dropped do not all come back at once. A connection closed with 1008 (Policy
/// Violation) or with a close code the protocol documents is not reopened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reconnect {
    /// Attempts after a connection is lost; default 5.
    pub retries: u32,
    /// Delay before the first attempt; default 250 ms.
    pub initial_delay: Duration,
    /// Longest delay; default 10 s.
    pub max_delay: Duration,
    /// Growth of the delay; default 2.
    pub factor: f64,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            retries: 5,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            factor: 2.0,
        }
    }
}

impl Reconnect {
    /// The delay before attempt `attempt` (from 0), given a random number in `[0, 1)`.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let grown =
            self.initial_delay.as_secs_f64() * self.factor.max(1.0).powi(attempt.min(64) as i32);
        let capped = grown.min(self.max_delay.as_secs_f64()).max(0.0);
        // Equal jitter: somewhere between half the delay and all of it.
        Duration::from_secs_f64(capped / 2.0 + capped * random.clamp(0.0, 1.0) / 2.0)
    }
}

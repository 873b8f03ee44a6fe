//! What a server enforces: size, connection, rate and time limits.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

/// Limits and timings of a server. Generated crates start from the values their protocol
/// documents (`default_config()`); every value can be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Largest text or binary message the protocol accepts, in bytes. A larger message is a
    /// [`Problem::TooLarge`](super::Problem) the protocol answers.
    pub max_message_bytes: usize,
    /// Largest message read at all: beyond it the connection is closed with 1009 (Message Too
    /// Big) without reading the rest. At least `max_message_bytes`.
    pub hard_max_message_bytes: usize,
    /// Most simultaneous connections from one IP address; further handshakes are refused with
    /// HTTP 429. 100 by default.
    pub max_connections_per_ip: Option<usize>,
    /// Most simultaneous connections in all, handshakes under way included; further
    /// handshakes are refused with HTTP 503 (Service Unavailable). 10,000 by default.
    pub max_connections: Option<usize>,
    /// Handshakes under way from one IP address (refusals included): a connection beyond them
    /// is closed at once, without reading its request. 32 by default. At least 1.
    pub max_handshakes_per_ip: usize,
    /// Handshakes under way in all (refusals included): a connection beyond them is closed at
    /// once. 512 by default. At least 1.
    pub max_handshakes: usize,
    /// How long a connection may send no message before it is closed with 1001 (Going Away).
    /// `None` or zero: never. 5 minutes by default.
    pub idle_timeout: Option<Duration>,
    /// How often the server sends a WebSocket ping to keep the connection alive. `None` or
    /// zero: never. 30 seconds by default.
    pub ping_interval: Option<Duration>,
    /// Messages each connection may send, on average and in a burst.
    pub rate_limit: Option<RateLimit>,
    /// Control frames (pings and pongs) each connection may send, on average and in a burst;
    /// beyond it the connection is closed with 1008 (Policy Violation): every ping asks for a
    /// pong. 10 a second with bursts of 20 by default.
    pub control_rate_limit: Option<RateLimit>,
    /// How long a client may take to complete the WebSocket handshake. Not zero. 5 seconds by
    /// default.
    pub handshake_timeout: Duration,
    /// How long a connection that authenticates with its first message may take to send it,
    /// from the end of the handshake (see [`App::awaiting_credential`](super::App)); past it,
    /// the connection is refused as the protocol refuses a missing credential. Not zero.
    pub auth_timeout: Duration,
    /// How long one write to a client may wait for the client to take it. A client that stops
    /// reading blocks the server's writes once the socket buffers are full; past this it is
    /// dropped (no close frame can reach it). Not zero.
    pub send_timeout: Duration,
    /// Bytes queued for a connection by other connections (relays), each frame counted with
    /// 64 bytes of bookkeeping, before it is considered too slow and closed with 1013 (Try
    /// Again Later). A frame alone in the queue always fits. 256 KiB by default. At least 1.
    pub max_outbox_bytes: usize,
    /// Bytes the whole server may hold in messages being received and output waiting to be
    /// sent (replies being written, relays queued): a connection whose next bytes would go
    /// beyond it is closed with 1013 (Try Again Later) before they are taken in, except that
    /// each connection may always hold
    /// [`GUARANTEED_BYTES_PER_CONNECTION`](super::GUARANTEED_BYTES_PER_CONNECTION). 256 MiB by
    /// default; a budget below `hard_max_message_bytes` refuses the largest messages.
    pub memory_budget_bytes: usize,
    /// How long a graceful shutdown waits for connections to finish.
    pub shutdown_grace: Duration,
}

/// A rate limit per connection: a sustained rate and a burst above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Messages per second, sustained.
    pub per_second: NonZeroU32,
    /// Messages that may arrive at once.
    pub burst: NonZeroU32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 1 << 20,
            hard_max_message_bytes: 4 << 20,
            max_connections_per_ip: Some(100),
            max_connections: Some(10_000),
            max_handshakes_per_ip: 32,
            max_handshakes: 512,
            idle_timeout: Some(Duration::from_secs(300)),
            ping_interval: Some(Duration::from_secs(30)),
            rate_limit: None,
            control_rate_limit: RateLimit::new(10, 20),
            handshake_timeout: Duration::from_secs(5),
            auth_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            max_outbox_bytes: 256 * 1024,
            memory_budget_bytes: 256 << 20,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl ServerConfig {
    /// The configuration with a documented maximum message size: messages up to four times
    /// larger are read and answered as too large, bigger ones close the connection.
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self.hard_max_message_bytes = bytes.saturating_mul(4).max(bytes.saturating_add(1024));
        self
    }

    /// Whether the configuration can work. [`serve`](super::serve) refuses one that cannot:
    /// a size limit of 0 (no message could be read) or a hard limit below it, a connection
    /// limit of 0 (every connection would be refused; `None` is no limit), a zero handshake,
    /// authentication or send timeout (nothing could finish in time), an outbox of 0 bytes, and no
    /// handshakes. Zero idle
    /// timeouts and ping intervals are not errors: they mean never, as `None` does. Rate
    /// limits cannot be 0 ([`RateLimit::new`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let error = |text: String| Err(ConfigError(text));
        if self.max_message_bytes == 0 {
            return error("max_message_bytes is 0: no message could be read".into());
        }
        if self.hard_max_message_bytes < self.max_message_bytes {
            return error(format!(
                "hard_max_message_bytes ({}) is below max_message_bytes ({})",
                self.hard_max_message_bytes, self.max_message_bytes
            ));
        }
        if self.max_connections_per_ip == Some(0) {
            return error(
                "max_connections_per_ip is 0: every connection would be refused (None is no limit)"
                    .into(),
            );
        }
        if self.max_connections == Some(0) {
            return error(
                "max_connections is 0: every connection would be refused (None is no limit)".into(),
            );
        }
        if self.handshake_timeout.is_zero() {
            return error("handshake_timeout is 0: no handshake could finish".into());
        }
        if self.auth_timeout.is_zero() {
            return error("auth_timeout is 0: no credential could arrive in time".into());
        }
        if self.send_timeout.is_zero() {
            return error("send_timeout is 0: no write could finish".into());
        }
        if self.max_outbox_bytes == 0 {
            return error("max_outbox_bytes is 0: nothing could be relayed".into());
        }
        if self.max_handshakes == 0 || self.max_handshakes_per_ip == 0 {
            return error(
                "max_handshakes or max_handshakes_per_ip is 0: no handshake could start".into(),
            );
        }
        Ok(())
    }

    /// The idle timeout in force: `None` when there is none (zero included).
    pub(crate) fn idle(&self) -> Option<Duration> {
        self.idle_timeout.filter(|d| !d.is_zero())
    }

    /// The ping interval in force: `None` when there is none (zero included).
    pub(crate) fn ping(&self) -> Option<Duration> {
        self.ping_interval.filter(|d| !d.is_zero())
    }
}

/// Why a [`ServerConfig`] cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl RateLimit {
    /// A limit of `per_second` messages a second with bursts of `burst`; `None` when either is 0.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        Some(Self {
            per_second: NonZeroU32::new(per_second)?,
            burst: NonZeroU32::new(burst)?,
        })
    }
}

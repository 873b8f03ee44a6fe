//! The WebSocket server that generated skeletons run on (feature `server`).
//!
//! [`serve`] accepts TCP connections; closes at once those beyond the handshakes allowed under
//! way (per IP and in all); refuses those over the global connection limit (HTTP 503), over the
//! per-IP limit (HTTP 429) and at another path (HTTP 404); completes the handshake within a
//! timeout, and runs one task per connection. That task enforces the message size, rate and
//! control-frame limits, pings on the configured interval, closes idle connections and those
//! whose credential expires, drops clients that stop reading (`send_timeout`), delivers what
//! other connections queue for it, and hands every text message to the [`App`], whose [`Reply`]
//! it sends. Bytes held in messages being received and output waiting to be sent are charged
//! to the server's memory budget before they are held ([`ServerStats`] reads it). Shutting
//! down closes every connection with 1001 (Going Away). The runtime's README says how each
//! limit is computed.

mod accept;
mod admission;
mod app;
mod budget;
mod config;
mod connection;
pub mod endpoint;
mod metered;
mod shared;

pub use accept::{Server, serve};
pub use app::{
    App, CloseWith, Connection, ConnectionInfo, Credential, CredentialSource, CredentialSpec,
    Detached, Gone, Invalid, Opened, Outbox, Problem, Refusal, Reply,
};
pub use budget::GUARANTEED_BYTES_PER_CONNECTION;
pub use config::{ConfigError, RateLimit, ServerConfig};
/// Re-exported so that generated skeletons need no dependency of their own.
pub use futures_util::{Stream, stream};
pub use shared::ServerStats;
pub use tokio::net::TcpListener;

/// WebSocket close codes the runtime and the protocols use.
pub mod close_code {
    /// The endpoint is going away: idle timeout or server shutdown.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame that breaks RFC 6455 (reserved bits or opcodes, an unmasked or fragmented
    /// control frame...).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message that is not UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A message that is not allowed (socializer: authentication failure).
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A message too big to process.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// An unexpected condition on the server.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The connection could not keep up, or the server's memory budget has no room for it.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

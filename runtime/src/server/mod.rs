//! The WebSocket server that generated skeletons run on (feature `server`).
//!
//! [`serve`] accepts TCP connections, refuses those over the global limit (HTTP 503), over the
//! per-IP limit (HTTP 429) and at another path (HTTP 404), completes the handshake within a
//! timeout (answering at most [`MAX_REFUSALS_IN_FLIGHT`] refusals at once, dropping further
//! connections over a limit unanswered), and runs one task per
//! connection. That task enforces the message size and rate limits, pings on the configured
//! interval, closes idle connections, drops clients that stop reading (`send_timeout`), delivers
//! what other connections queue for it, and hands
//! every text message to the [`App`], whose [`Reply`] it sends. Shutting down closes every
//! connection with 1001 (Going Away).

mod accept;
mod app;
mod config;
mod connection;
pub mod endpoint;
mod shared;

pub use accept::{MAX_REFUSALS_IN_FLIGHT, serve};
pub use app::{
    App, CloseWith, Connection, ConnectionInfo, Credential, CredentialSource, CredentialSpec,
    Detached, Gone, Invalid, Opened, Outbox, Problem, Refusal, Reply,
};
pub use config::{ConfigError, RateLimit, ServerConfig};
/// Re-exported so that generated skeletons need no dependency of their own.
pub use futures_util::{Stream, stream};
pub use tokio::net::TcpListener;

/// WebSocket close codes the runtime and the protocols use.
pub mod close_code {
    /// The endpoint is going away: idle timeout or server shutdown.
    pub const GOING_AWAY: u16 = 1001;
    /// A message that is not allowed (socializer: authentication failure).
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A message too big to process.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// An unexpected condition on the server.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The connection could not keep up.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

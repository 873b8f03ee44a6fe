//! Runtime support for the crates `cargo xtask codegen` generates from `schema/`.
//!
//! [`wire`] holds what the generated types use to accept exactly what their schemas accept:
//! integers that may be written `1.0`, constants, checked strings, numbers and arrays, and the
//! decoding of messages by their discriminators.
//!
//! [`server`] (feature `server`) is the WebSocket server the generated skeletons run on: accept
//! loop, endpoint matching, credentials, limits, keep-alive and graceful shutdown. What a
//! protocol does with each message is the skeleton's and its handler's business.
//!
//! [`client`] (feature `client`) is the WebSocket client core the generated clients run on:
//! authentication, correlation of replies with their requests, streams, sessions, events,
//! timeouts and reconnection, driven by a description of the protocol. `wss://` needs the
//! feature `tls` as well.
//!
//! [`tls`] (feature `tls`) is the TLS stack of clients, shared by the generated clients and the
//! conformance suite: rustls with ring, Mozilla's roots and the certificate authorities a caller
//! trusts, and what a refused certificate means.

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(feature = "server")]
pub mod server;
pub mod tls;
pub mod wire;

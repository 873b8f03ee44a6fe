//! Spec-driven code generation for WebSocket chat-agent protocols.
//!
//! `agentwire-spec` loads and checks `schema/`; this crate reads a loaded protocol into one
//! intermediate [`model`] and emits code from that model ([`emit`]): Rust types and server
//! skeletons, TypeScript bindings and AsyncAPI documents. [`generate`] is everything
//! `cargo xtask codegen` writes.

pub mod corpus;
pub mod emit;
pub mod generate;
pub mod model;

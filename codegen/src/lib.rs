//! Spec-driven code generation for WebSocket chat-agent protocols.
//!
//! `schema/` holds, per protocol, JSON Schemas transcribed from the protocol's document and a
//! `protocol.json` description of what schemas cannot say. This crate loads and checks them
//! ([`workspace`]), reads them into one intermediate [`model`], and emits code from that model.

pub mod corpus;
pub mod emit;
pub mod error;
pub mod examples;
pub mod generate;
pub mod model;
pub mod protocol;
pub mod source;
pub mod tree;
pub mod workspace;

pub use error::{Error, Result};
pub use source::SCHEMA_BASE_URI;
pub use workspace::{ProtocolSource, Workspace};

/// A schemars schema as checked in below `schema/`: with the `$id` its file name gives.
fn checked_in_schema(schema: schemars::Schema, file: &str) -> serde_json::Value {
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "$id".into(),
            serde_json::Value::String(format!("{SCHEMA_BASE_URI}{file}")),
        );
    }
    value
}

//! The one reading of agentwire's protocol documents, shared by the generator and the suite.
//!
//! `schema/` holds, per protocol, JSON Schemas transcribed from the protocol's document, a
//! `protocol.json` description of what schemas cannot say, and the document's own examples. This
//! crate loads and checks them ([`workspace`]): where the files come from ([`tree`]), the schema
//! set and its validators ([`source`]), the description format ([`protocol`]) and the examples'
//! index ([`examples`]), what message schemas annotate ([`annotations`]), how a frame's message
//! is picked by its discriminators ([`union`]), and where a quoted sentence stands in its document
//! ([`quote`]).
//! It generates no code: `agentwire-codegen` builds its model on it, and
//! `agentwire-conformance` checks live servers with it, each without the other.

pub mod annotations;
pub mod error;
pub mod examples;
pub mod protocol;
pub mod quote;
pub mod source;
pub mod tree;
pub mod union;
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

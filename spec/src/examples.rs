//! The format of `schema/<id>/examples/index.json`: the documents' examples, kept verbatim, and
//! invalid examples that each break one documented rule.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::protocol::Direction;

/// Every example of one protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ExampleIndex")]
pub struct ExampleIndex {
    /// Path of this format's JSON Schema, relative to the file.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The documents' examples of messages: each must validate.
    pub valid: Vec<ValidExample>,
    /// Frames that each break one documented rule: each must be rejected.
    #[serde(default)]
    pub invalid: Vec<InvalidExample>,
    /// Example blocks of the documents that are not messages (templates, pseudo-JSON).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_messages: Vec<NotMessage>,
}

/// An example of the documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidExample {
    /// Path relative to the examples folder; `.jsonc` files may hold comments.
    pub file: String,
    /// Who sends the message.
    pub direction: Direction,
    /// The message it is an example of.
    pub message: String,
    /// Where the document shows it (several renderings may show the same text).
    pub sources: Vec<SourceLine>,
    /// False when the document shows the message only as code, transcribed to JSON.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub verbatim: bool,
    /// The code the example was transcribed from, when not verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<String>,
}

/// A line of a source document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceLine {
    /// The document, relative to the protocol folder.
    pub document: String,
    /// The 1-based line where the example starts.
    pub line: u32,
}

/// A frame that breaks one documented rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvalidExample {
    /// Path relative to the examples folder.
    pub file: String,
    /// The entry point it is validated against.
    pub direction: Direction,
    /// The message the error concerns; absent when the frame is no message of that direction.
    #[serde(default)]
    pub message: Option<String>,
    /// The rule it breaks, in the document's words where it has them.
    pub breaks: String,
    /// JSON Pointer of the offending value in the frame.
    pub pointer: String,
    /// The schema keyword that must reject it.
    pub keyword: String,
    /// For `required`: the missing property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// An example block that is not a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotMessage {
    /// Path relative to the examples folder.
    pub file: String,
    /// Where the document shows it.
    pub sources: Vec<SourceLine>,
    /// Why it is not a message.
    pub why: String,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl ExampleIndex {
    /// The JSON Schema of this format, as checked in at `schema/examples.schema.json`.
    pub fn json_schema() -> Value {
        crate::checked_in_schema(schemars::schema_for!(ExampleIndex), "examples.schema.json")
    }

    /// Every file the index names.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        let valid = self.valid.iter().map(|e| e.file.as_str());
        let invalid = self.invalid.iter().map(|e| e.file.as_str());
        let other = self.not_messages.iter().map(|e| e.file.as_str());
        valid.chain(invalid).chain(other)
    }
}

/// Parses the text of an example file: JSON, or JSON with comments when its name ends in `.jsonc`.
pub fn parse_example(path: &Path, text: &str) -> Result<Value> {
    let parsed = if path.extension().is_some_and(|ext| ext == "jsonc") {
        serde_json::from_reader(json_comments::StripComments::new(text.as_bytes()))
    } else {
        serde_json::from_str(text)
    };
    parsed.map_err(|e| Error::in_file(path, format!("not valid JSON: {e}")))
}

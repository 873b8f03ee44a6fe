//! What a message's schema says of its values beyond what it accepts: `contentEncoding: base64`
//! (an annotation in draft 2020-12: the value is a string either way) and agentwire's own
//! [`LOOSE_KEYWORD`], which marks a value the schema accepts in more JSON kinds than the
//! document's examples show, so that the suite can warn about drift the schema tolerates.
//!
//! Both are found by walking the message's schema through `$ref`s, `allOf`/`anyOf`/`oneOf` and
//! `properties`, and are reported at the instance pointer they apply to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::source::{SchemaDocument, SchemaSet};
use crate::union::join;

/// The schema keyword of a loose value: `{"expected": [kinds], "note": "..."}`.
pub const LOOSE_KEYWORD: &str = "x-agentwire-loose";

/// Deepest walk through a message's schema (`$ref` chains included).
const MAX_DEPTH: usize = 16;

/// The JSON kinds JSON Schema's `type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number without a fractional part.
    Integer,
    /// Any number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonKind {
    /// Whether a value is of this kind (an integer is a number too).
    pub fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (JsonKind::Null, Value::Null)
            | (JsonKind::Boolean, Value::Bool(_))
            | (JsonKind::Number, Value::Number(_))
            | (JsonKind::String, Value::String(_))
            | (JsonKind::Array, Value::Array(_))
            | (JsonKind::Object, Value::Object(_)) => true,
            (JsonKind::Integer, Value::Number(n)) => agentwire_runtime::wire::is_integral(n),
            _ => false,
        }
    }

    /// The most precise kind of a value.
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Boolean,
            Value::Number(n) if agentwire_runtime::wire::is_integral(n) => JsonKind::Integer,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }

    /// Its name in JSON Schema.
    pub fn name(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Boolean => "boolean",
            JsonKind::Integer => "integer",
            JsonKind::Number => "number",
            JsonKind::String => "string",
            JsonKind::Array => "array",
            JsonKind::Object => "object",
        }
    }
}

/// The value of [`LOOSE_KEYWORD`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LooseSpec {
    /// The kinds the document's examples show for this value (and any its words imply, as
    /// NOTES.md reads them); a value of another kind is accepted by the schema but is drift
    /// worth a warning.
    pub expected: Vec<JsonKind>,
    /// Why the schema accepts more (see NOTES.md), in one sentence.
    pub note: String,
}

/// An annotation, where it applies and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotated<T> {
    /// JSON Pointer of the annotated value in a frame of the message.
    pub pointer: String,
    /// Absolute URI of the annotating schema, with a JSON Pointer fragment.
    pub location: String,
    /// What the annotation says.
    pub value: T,
}

/// The annotations of one message's schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageAnnotations {
    /// Values annotated `contentEncoding: base64`.
    pub base64: Vec<Annotated<()>>,
    /// Values marked loose.
    pub loose: Vec<Annotated<LooseSpec>>,
}

impl MessageAnnotations {
    /// Reads the annotations of the schema with this absolute URI; a malformed
    /// [`LOOSE_KEYWORD`] is an error naming its file and pointer.
    pub fn of(set: &SchemaSet, uri: &str) -> Result<Self> {
        let resolved = set
            .resolve_absolute(uri)
            .map_err(|e| Error::message(format!("{uri}: {e}")))?;
        let mut out = Self::default();
        let start = Place {
            document: resolved.document,
            at: resolved.pointer.clone(),
        };
        walk(set, &start, resolved.schema, "", 0, &mut out)?;
        out.base64.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        out.base64.dedup_by(|a, b| a.pointer == b.pointer);
        Ok(out)
    }

    /// Whether the value at `pointer` is annotated `contentEncoding: base64`.
    pub fn is_base64(&self, pointer: &str) -> bool {
        self.base64.iter().any(|a| a.pointer == pointer)
    }
}

/// Where a schema sits: its document and the pointer inside it.
struct Place<'a> {
    document: &'a SchemaDocument,
    at: String,
}

impl Place<'_> {
    fn child(&self, tokens: &[&str]) -> String {
        tokens.iter().fold(self.at.clone(), |at, t| join(&at, t))
    }

    fn location(&self, tokens: &[&str]) -> String {
        format!("{}#{}", self.document.uri, self.child(tokens))
    }
}

fn walk(
    set: &SchemaSet,
    place: &Place<'_>,
    schema: &Value,
    pointer: &str,
    depth: usize,
    out: &mut MessageAnnotations,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let Some(object) = schema.as_object() else {
        return Ok(());
    };
    if object.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
        out.base64.push(Annotated {
            pointer: pointer.to_string(),
            location: place.location(&["contentEncoding"]),
            value: (),
        });
    }
    if let Some(loose) = object.get(LOOSE_KEYWORD) {
        let file = set.display(place.document);
        let at = place.child(&[LOOSE_KEYWORD]);
        let spec: LooseSpec = serde_json::from_value(loose.clone()).map_err(|e| {
            Error::at(
                &file,
                &at,
                format!("not a loose value (`{{\"expected\": [kinds], \"note\": text}}`): {e}"),
            )
        })?;
        if spec.expected.is_empty() {
            return Err(Error::at(&file, &at, "`expected` names no kind"));
        }
        out.loose.push(Annotated {
            pointer: pointer.to_string(),
            location: place.location(&[LOOSE_KEYWORD]),
            value: spec,
        });
    }
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let target = set.resolve(place.document, reference)?;
        let next = Place {
            document: target.document,
            at: target.pointer.clone(),
        };
        walk(set, &next, target.schema, pointer, depth + 1, out)?;
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = object.get(key) {
            for (i, branch) in branches.iter().enumerate() {
                let index = i.to_string();
                let next = Place {
                    document: place.document,
                    at: place.child(&[key, &index]),
                };
                walk(set, &next, branch, pointer, depth + 1, out)?;
            }
        }
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        for (name, property) in properties {
            let next = Place {
                document: place.document,
                at: place.child(&["properties", name]),
            };
            walk(set, &next, property, &join(pointer, name), depth + 1, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_admit_what_json_schema_types_accept() {
        let cases = [
            (JsonKind::Integer, json!(3), true),
            (JsonKind::Integer, json!(3.0), true),
            (JsonKind::Integer, json!(3.5), false),
            (JsonKind::Number, json!(3), true),
            (JsonKind::Boolean, json!(null), false),
            (JsonKind::Null, json!(null), true),
            (JsonKind::String, json!("x"), true),
            (JsonKind::Object, json!([]), false),
        ];
        for (kind, value, admitted) in cases {
            assert_eq!(kind.admits(&value), admitted, "{kind:?} {value}");
        }
        assert_eq!(JsonKind::of(&json!(false)).name(), "boolean");
        assert_eq!(JsonKind::of(&json!(2.5)).name(), "number");
    }
}

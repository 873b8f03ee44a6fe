//! Frame validation against one direction's entry point (`server.schema.json` or
//! `client.schema.json`).
//!
//! The entry points select the message by discriminator with `if`/`then`; validating a frame
//! against the whole entry point evaluates every branch's `if`. The suite validates every frame it
//! receives, so it takes a faster path that gives the same answer: [`Union::select`] picks the one
//! message schema from the discriminators, and a *residual* schema (the entry point without its
//! variant branches: top-level keywords and tag-only branches) checks the rest. Only when that
//! says "invalid", or no variant matches, is the whole entry point run for its detailed errors
//! (JSON Pointer, keyword, absolute schema location).

use agentwire_spec::ProtocolSource;
use std::collections::HashMap;
use std::sync::Arc;

use agentwire_spec::protocol::{Direction, ProtocolDescription, Rule};
use agentwire_spec::source::{SchemaDocument, SchemaSet, validator_in};
use agentwire_spec::union::{TagValue, Union, join};
use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use jsonschema::{Registry, Validator};
use serde_json::Value;

use crate::report::RuleLevel;

/// Longest schema error message kept (the frame itself is in the evidence, shortened).
const MAX_ERROR_MESSAGE_BYTES: usize = 512;
/// Most schema errors reported for one frame.
const MAX_ERRORS_PER_FRAME: usize = 16;
/// Deepest `$ref` chain followed when looking for `contentEncoding` annotations.
const MAX_ANNOTATION_DEPTH: usize = 16;

/// Validates frames of one direction of one protocol.
#[derive(Debug)]
pub struct FrameValidator {
    union: Union,
    entry: Validator,
    /// When every variant is told by one string at the same place (the common case): the path
    /// to it and the variant of each value, so selection is one walk and one lookup.
    tags: Option<(Vec<String>, HashMap<String, usize>)>,
    variants: Vec<VariantCheck>,
    /// The sentence this direction's framing (JSON text frames) rests on, if a rule quotes one.
    framing: Option<Arc<str>>,
    /// The sentence a frame that selects no message breaks (`unmatched`), and its level.
    unmatched: Option<(Arc<str>, RuleLevel)>,
}

#[derive(Debug)]
struct VariantCheck {
    // Shared with every verdict, so that judging a frame allocates nothing when it is valid.
    message: Arc<str>,
    /// The message's schema and the entry point's residual, in one validator.
    validator: Validator,
    level: RuleLevel,
    /// The sentence the message's rule rests on.
    quote: Arc<str>,
    base64_pointers: Vec<String>,
    /// Whether a discriminator's value tells the message (not only an absence).
    tagged: bool,
}

/// What validation found in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The message the frame's discriminators select.
    pub message: Option<Arc<str>>,
    /// The level of that message's rule in `protocol.json`; when no message matches, the level
    /// of `unmatched` (required without one).
    pub level: RuleLevel,
    /// The sentence that message's rule rests on; when no message matches, the one `unmatched`
    /// cites (none without one).
    pub quote: Option<Arc<str>>,
    /// Schema errors; empty when the frame is valid.
    pub errors: Vec<SchemaError>,
    /// Values annotated `contentEncoding: base64` that do not decode, by JSON Pointer.
    pub undecodable: Vec<String>,
}

impl Verdict {
    /// Whether the entry point accepts the frame.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One schema error.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// JSON Pointer of the offending value in the frame.
    pub instance_pointer: String,
    /// The keyword that rejects it.
    pub keyword: String,
    /// Absolute URI of the keyword, with a JSON Pointer fragment.
    pub schema_location: String,
    /// The validator's message.
    pub message: String,
}

/// The validators of both directions of one protocol.
#[derive(Debug)]
pub struct ProtocolValidators {
    /// Frames the server sends.
    pub server: FrameValidator,
    /// Frames a client sends.
    pub client: FrameValidator,
}

impl ProtocolValidators {
    /// Builds both validators; `registry` holds every schema of the workspace.
    pub fn new(
        schemas: &SchemaSet,
        registry: &Registry<'_>,
        protocol: &ProtocolSource,
    ) -> Result<Self> {
        Ok(Self {
            server: FrameValidator::new(schemas, registry, protocol, Direction::Server)?,
            client: FrameValidator::new(schemas, registry, protocol, Direction::Client)?,
        })
    }

    /// The validator of one direction.
    pub fn of(&self, direction: Direction) -> &FrameValidator {
        match direction {
            Direction::Server => &self.server,
            Direction::Client => &self.client,
        }
    }
}

impl FrameValidator {
    /// Builds the validator of one direction of a protocol.
    pub fn new(
        schemas: &SchemaSet,
        registry: &Registry<'_>,
        protocol: &ProtocolSource,
        direction: Direction,
    ) -> Result<Self> {
        let union = protocol.union(direction).clone();
        let entry = validator_in(registry, &union.uri)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("building the validator of {}", union.uri))?;
        let residual = residual_schema(schemas, &union);
        let mut variants = Vec::new();
        for (index, variant) in union.variants.iter().enumerate() {
            let message = protocol
                .message_name(&variant.schema_uri)
                .ok_or_else(|| anyhow!("{} names no message of protocol.json", variant.schema_uri))?
                .to_string();
            let validator = match &residual {
                Some(residual) => {
                    let mut schema = residual.clone();
                    let uri = union
                        .uri
                        .replace(".schema.json", &format!(".residual-{index}.schema.json"));
                    schema["$id"] = Value::String(uri);
                    let reference = serde_json::json!({"$ref": variant.schema_uri});
                    match schema.get_mut("allOf").and_then(Value::as_array_mut) {
                        Some(branches) => branches.push(reference),
                        None => schema["allOf"] = Value::Array(vec![reference]),
                    }
                    jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft202012)
                        .with_registry(registry)
                        .offline()
                        .should_validate_formats(true)
                        .build(&schema)
                        .map_err(|e| {
                            anyhow!(
                                "{} with the residual of {}: {e}",
                                variant.schema_uri,
                                union.uri
                            )
                        })?
                }
                None => validator_in(registry, &variant.schema_uri)
                    .map_err(|e| anyhow!("{e}"))
                    .with_context(|| format!("building the validator of {}", variant.schema_uri))?,
            };
            let rule = &protocol.description.messages[&message].rule;
            let (level, quote) = (RuleLevel::from(rule.level), rule.quote.clone());
            let base64_pointers = base64_pointers(schemas, &variant.schema_uri);
            let tagged = variant
                .when
                .iter()
                .any(|test| matches!(test.value, TagValue::Equals(_)));
            variants.push(VariantCheck {
                message: message.into(),
                validator,
                level,
                quote: quote.into(),
                base64_pointers,
                tagged,
            });
        }
        let tags = tag_index(&union);
        let framing = framing_rule(&protocol.description).map(|(rule, _)| {
            let quote: Arc<str> = rule.quote.as_str().into();
            quote
        });
        let unmatched = (direction == Direction::Server)
            .then_some(protocol.description.unmatched.as_ref())
            .flatten()
            .map(|rule| (rule.quote.as_str().into(), RuleLevel::from(rule.level)));
        Ok(Self {
            union,
            entry,
            tags,
            variants,
            framing,
            unmatched,
        })
    }

    /// Whether a discriminator's value tells `message` (a RIXA response is told only by the
    /// absence of `type`: nothing about the frame names it).
    pub fn is_tagged(&self, message: &str) -> bool {
        self.variants
            .iter()
            .any(|v| &*v.message == message && v.tagged)
    }

    /// The sentence a frame that is no JSON text (a binary frame, text that does not parse) breaks:
    /// see [`framing_rule`]; `None` when no rule of the protocol quotes one.
    pub fn framing(&self) -> Option<&Arc<str>> {
        self.framing.as_ref()
    }

    /// The message a frame's discriminators select.
    pub fn message_of(&self, frame: &Value) -> Option<&str> {
        self.position(frame).map(|i| &*self.variants[i].message)
    }

    fn position(&self, frame: &Value) -> Option<usize> {
        if let Some((path, index)) = &self.tags {
            let mut at = frame;
            for token in path {
                at = at.as_object()?.get(token)?;
            }
            return index.get(at.as_str()?).copied();
        }
        self.union.variants.iter().position(|v| v.matches(frame))
    }

    /// Whether the entry point accepts the frame, by the fast path only.
    pub fn is_valid(&self, frame: &Value) -> bool {
        match self.position(frame) {
            Some(i) => self.fast_valid(i, frame),
            None => self.entry.is_valid(frame),
        }
    }

    fn fast_valid(&self, index: usize, frame: &Value) -> bool {
        self.variants[index].validator.is_valid(frame)
    }

    /// Validates a frame: which message it is, its schema errors, its undecodable base64 values.
    pub fn validate(&self, frame: &Value) -> Verdict {
        let position = self.position(frame);
        let unmatched_level = self.unmatched.as_ref().map_or(RuleLevel::Required, |u| u.1);
        let mut verdict = Verdict {
            message: position.map(|i| self.variants[i].message.clone()),
            level: position.map_or(unmatched_level, |i| self.variants[i].level),
            quote: match position {
                Some(i) => Some(self.variants[i].quote.clone()),
                None => self.unmatched.as_ref().map(|u| u.0.clone()),
            },
            errors: Vec::new(),
            undecodable: Vec::new(),
        };
        let valid = match position {
            Some(i) => self.fast_valid(i, frame),
            None => false,
        };
        if !valid {
            verdict.errors = errors_of(&self.entry, frame);
            if verdict.errors.is_empty()
                && let Some(i) = position
            {
                verdict.errors = errors_of(&self.variants[i].validator, frame);
            }
        }
        if let Some(i) = position {
            for pointer in &self.variants[i].base64_pointers {
                if let Some(Value::String(text)) = frame.pointer(pointer)
                    && base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .is_err()
                {
                    verdict.undecodable.push(pointer.clone());
                }
            }
        }
        verdict
    }

    /// The JSON Pointers of every discriminator, in order of first use.
    pub fn discriminators(&self) -> Vec<&str> {
        self.union.discriminators()
    }

    /// The union this validator checks.
    pub fn union(&self) -> &Union {
        &self.union
    }

    /// The instance pointers annotated `contentEncoding: base64` in a message.
    pub fn base64_pointers(&self, message: &str) -> &[String] {
        self.variants
            .iter()
            .find(|v| &*v.message == message)
            .map_or(&[], |v| v.base64_pointers.as_slice())
    }
}

/// The rule of `protocol.json` that a frame which is no JSON text breaks (its `framing`), with its
/// JSON Pointer; `None` when the document says nowhere that frames are JSON.
pub fn framing_rule(description: &ProtocolDescription) -> Option<(&Rule, String)> {
    description
        .framing
        .as_ref()
        .map(|rule| (rule, "/framing".to_string()))
}

fn errors_of(validator: &Validator, frame: &Value) -> Vec<SchemaError> {
    validator
        .iter_errors(frame)
        .take(MAX_ERRORS_PER_FRAME)
        .map(|error| SchemaError {
            instance_pointer: error.instance_path().as_str().to_string(),
            keyword: error.kind().keyword().to_string(),
            schema_location: error
                .absolute_keyword_location()
                .map(|uri| uri.as_str().to_string())
                .unwrap_or_else(|| format!("#{}", error.schema_path().as_str())),
            // The validator's message quotes the offending value, which may be most of a frame.
            message: crate::util::clip(&error.to_string(), MAX_ERROR_MESSAGE_BYTES),
        })
        .collect()
}

/// The one-string-at-one-place index of a union, when it has that shape.
fn tag_index(union: &Union) -> Option<(Vec<String>, HashMap<String, usize>)> {
    let first = union.variants.first()?.when.first()?.pointer.clone();
    let mut index = HashMap::new();
    for (i, variant) in union.variants.iter().enumerate() {
        match variant.when.as_slice() {
            [test] if test.pointer == first => match &test.value {
                TagValue::Equals(Value::String(tag)) => {
                    index.insert(tag.clone(), i);
                }
                _ => return None,
            },
            _ => return None,
        }
    }
    let path = crate::util::pointer_tokens(&first).collect();
    Some((path, index))
}

/// The entry point without its variant branches, or `None` when nothing remains to check
/// beyond what a variant's own schema checks.
fn residual_schema(schemas: &SchemaSet, union: &Union) -> Option<Value> {
    let document = schemas.get(&union.uri)?;
    let mut value = document.value.clone();
    let object = value.as_object_mut()?;
    if object.contains_key("$ref") {
        // A lone-`$ref` entry point: the variant's schema is the whole check.
        return None;
    }
    let variant_branches: Vec<usize> = union
        .variants
        .iter()
        .filter_map(|v| {
            v.pointer
                .strip_prefix("/allOf/")?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    if let Some(Value::Array(branches)) = object.get_mut("allOf") {
        let kept: Vec<Value> = branches
            .iter()
            .enumerate()
            .filter(|(i, _)| !variant_branches.contains(i))
            .map(|(_, b)| b.clone())
            .collect();
        *branches = kept;
    }
    if object
        .get("allOf")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        object.remove("allOf");
    }
    let residual_uri = union.uri.replace(".schema.json", ".residual.schema.json");
    object.insert("$id".into(), Value::String(residual_uri));
    Some(value)
}

/// Instance pointers of every property annotated `contentEncoding: base64`, following `$ref`s.
fn base64_pointers(schemas: &SchemaSet, uri: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(resolved) = schemas.resolve_absolute(uri) {
        walk_annotations(schemas, resolved.document, resolved.schema, "", 0, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn walk_annotations(
    schemas: &SchemaSet,
    document: &SchemaDocument,
    schema: &Value,
    pointer: &str,
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth > MAX_ANNOTATION_DEPTH {
        return;
    }
    let Some(object) = schema.as_object() else {
        return;
    };
    if object.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
        out.push(pointer.to_string());
    }
    if let Some(reference) = object.get("$ref").and_then(Value::as_str)
        && let Ok(target) = schemas.resolve(document, reference)
    {
        walk_annotations(
            schemas,
            target.document,
            target.schema,
            pointer,
            depth + 1,
            out,
        );
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = object.get(key) {
            for branch in branches {
                walk_annotations(schemas, document, branch, pointer, depth + 1, out);
            }
        }
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        for (name, property) in properties {
            walk_annotations(
                schemas,
                document,
                property,
                &join(pointer, name),
                depth + 1,
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::framing_rule;
    use crate::schemas::Schemas;

    #[test]
    fn the_framing_rule_is_the_one_protocol_json_names() {
        let schemas = Schemas::embedded().expect("the embedded schemas");
        let rule = |id: &str| {
            let protocol = schemas.protocol(id).expect("a protocol");
            framing_rule(&protocol.description).map(|(rule, pointer)| (rule.quote.clone(), pointer))
        };
        for (id, quote) in [
            (
                "datagram",
                "All the data over the WebSocket must be represented as JSON.",
            ),
            (
                "rixa",
                "The server will respond to these commands with JSON messages.",
            ),
            (
                "generalbots",
                "All messages are JSON objects with a type field:",
            ),
        ] {
            assert_eq!(rule(id), Some((quote.into(), "/framing".into())), "{id}");
        }
        // Their documents say nowhere that frames are JSON.
        for id in ["generalbots-meet", "socializer"] {
            assert_eq!(rule(id), None, "{id}");
        }
    }
}

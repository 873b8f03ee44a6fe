//! AsyncAPI 3.0 documents, one per protocol: `generated/asyncapi/<id>.asyncapi.json`.
//!
//! AsyncAPI is how WebSocket APIs are described to tools (viewers, mock servers, generators), so
//! each protocol is exported as one document built with `serde_json` from the loaded
//! [`Workspace`]: nothing here names a protocol, so a new `schema/<id>/` folder gets a document.
//!
//! A WebSocket connection is one AsyncAPI channel. The document takes the client's point of
//! view, as the protocols' documents do: client messages are `send` operations, server messages
//! `receive` operations, and a request's answers are the `reply` of its `send` operation.
//! What AsyncAPI has a place for goes there (servers, security schemes, the `ws` channel
//! binding, path parameters, correlation ids, message examples); the rest of `protocol.json`
//! (limits, reactions, close codes, sessions, relays, error codes and every rule's quote and
//! level) goes into `x-agentwire-*` extensions next to the object it concerns.
//!
//! Payloads are the message schemas, made self-contained and read as draft-07 AsyncAPI Schema
//! Objects: why that format, and how 2020-12 is carried over, is told in its `schema` module.
//!
//! Every map is filled in a fixed order (the entry points' order of messages, the order of
//! `protocol.json`, sorted keys for bundled schemas) and nothing depends on the clock, so the
//! output is byte-identical from run to run.

mod connection;
mod correlation;
mod messages;
mod operations;
mod schema;

use std::collections::BTreeMap;

use agentwire_spec::error::{Error, Result};
use agentwire_spec::protocol::Direction;
use agentwire_spec::union::Variant;
use agentwire_spec::workspace::{ProtocolSource, Workspace};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The AsyncAPI version the documents are written in.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

/// Folder of the documents, relative to the repository root.
pub const OUTPUT_DIR: &str = "generated/asyncapi";

/// Folder of the schema sources, relative to the repository root; `x-agentwire-*` source paths
/// start with it.
const SCHEMA_DIR: &str = "schema";

/// One AsyncAPI document per protocol, by path relative to the repository root.
pub fn emit(workspace: &Workspace) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for protocol in &workspace.protocols {
        let document = document(workspace, protocol)?;
        let mut text = serde_json::to_string_pretty(&document)
            .map_err(|e| Error::in_file(&protocol.dir, format!("AsyncAPI document: {e}")))?;
        text.push('\n');
        files.insert(path_of(&protocol.id), text.into_bytes());
    }
    Ok(files)
}

/// Where the document of a protocol is written, relative to the repository root.
pub fn path_of(id: &str) -> String {
    format!("{OUTPUT_DIR}/{id}.asyncapi.json")
}

/// The AsyncAPI document of one protocol.
pub fn document(workspace: &Workspace, protocol: &ProtocolSource) -> Result<Value> {
    let context = Context::new(protocol)?;
    let mut bundle = schema::Bundle::new(&workspace.schemas);
    let correlation = correlation::CorrelationIds::of(&context);
    let messages = messages::messages(&context, &mut bundle, &correlation)?;
    let connection = connection::Connection::of(&context)?;
    let operations = operations::operations(&context);
    let description = &protocol.description;

    let mut info = Map::new();
    info.insert("title".into(), json!(description.title));
    info.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    info.insert("description".into(), json!(description.summary));
    info.insert("x-agentwire-protocol".into(), json!(protocol.id));
    info.insert(
        "x-agentwire-documents".into(),
        Value::Array(
            description
                .documents
                .iter()
                .map(|d| json!({"file": context.source_path(&d.file), "origin": d.origin}))
                .collect(),
        ),
    );
    info.insert(
        "x-agentwire-sources".into(),
        json!({
            "protocol": context.source_path("protocol.json"),
            "client": context.source_path("client.schema.json"),
            "server": context.source_path("server.schema.json"),
            "examples": context.source_path("examples/index.json"),
            "notes": context.source_path("NOTES.md"),
        }),
    );

    let mut channel = connection.channel;
    channel.insert(
        "messages".into(),
        Value::Object(
            context
                .messages
                .iter()
                .map(|m| (m.key.clone(), json!({"$ref": m.component_ref()})))
                .collect(),
        ),
    );
    channel.extend(extensions(&context));

    let mut components = Map::new();
    components.insert("schemas".into(), Value::Object(bundle.into_components()?));
    components.insert("messages".into(), Value::Object(messages));
    if !connection.security_schemes.is_empty() {
        components.insert(
            "securitySchemes".into(),
            Value::Object(connection.security_schemes),
        );
    }
    if !correlation.is_empty() {
        components.insert(
            "correlationIds".into(),
            Value::Object(correlation.components()),
        );
    }

    Ok(json!({
        "asyncapi": ASYNCAPI_VERSION,
        "id": format!("urn:agentwire:{}", protocol.id),
        "info": info,
        "defaultContentType": "application/json",
        "servers": connection.servers,
        "channels": {context.channel.clone(): channel},
        "operations": operations,
        "components": components,
    }))
}

/// What `protocol.json` says about the connection as a whole and AsyncAPI has no field for.
fn extensions(context: &Context<'_>) -> Map<String, Value> {
    let description = &context.protocol.description;
    let mut out = Map::new();
    out.insert(
        "x-agentwire-endpoint".into(),
        to_json(&description.endpoint),
    );
    if let Some(auth) = &description.auth {
        out.insert("x-agentwire-auth".into(), to_json(auth));
    }
    if let Some(sessions) = &description.sessions {
        out.insert("x-agentwire-sessions".into(), to_json(sessions));
    }
    if !description.limits.is_empty() {
        out.insert("x-agentwire-limits".into(), to_json(&description.limits));
    }
    if !description.reactions.is_empty() {
        out.insert(
            "x-agentwire-reactions".into(),
            to_json(&description.reactions),
        );
    }
    if !description.close_codes.is_empty() {
        out.insert(
            "x-agentwire-close-codes".into(),
            to_json(&description.close_codes),
        );
    }
    out
}

/// One protocol, with the names and keys every part of its document refers to.
#[derive(Debug)]
struct Context<'a> {
    protocol: &'a ProtocolSource,
    /// Key of the one channel (the WebSocket connection).
    channel: String,
    /// Every message: client messages, then server messages, each in its entry point's order.
    messages: Vec<MessageEntry<'a>>,
}

/// A message of the protocol and the keys it is known by in the document.
#[derive(Debug)]
struct MessageEntry<'a> {
    /// The name in `protocol.json` (the schema file stem).
    name: &'a str,
    /// Its key in `components.messages` and in the channel's `messages`.
    key: String,
    /// Who sends it.
    direction: Direction,
    /// Absolute URI of its schema.
    schema_uri: &'a str,
    /// The entry point's branch that selects it.
    variant: &'a Variant,
    /// Its key in `operations`.
    operation: String,
    /// Key of the channel it belongs to.
    channel: String,
}

impl<'a> Context<'a> {
    fn new(protocol: &'a ProtocolSource) -> Result<Self> {
        let file = protocol.dir.join("protocol.json");
        let channel = component_key(&protocol.id);
        let mut messages: Vec<MessageEntry<'a>> = Vec::new();
        for direction in [Direction::Client, Direction::Server] {
            let union = protocol.union(direction);
            for variant in &union.variants {
                let name = protocol.message_name(&variant.schema_uri).ok_or_else(|| {
                    Error::at(
                        &file,
                        "/messages",
                        format!("no message has the schema {}", variant.schema_uri),
                    )
                })?;
                let key = component_key(name);
                if let Some(other) = messages.iter().find(|m| m.key == key) {
                    return Err(Error::at(
                        &file,
                        format!("/messages/{name}"),
                        format!(
                            "messages {name:?} and {:?} would share the AsyncAPI key {key:?}",
                            other.name
                        ),
                    ));
                }
                let verb = match direction {
                    Direction::Client => "send",
                    Direction::Server => "receive",
                };
                messages.push(MessageEntry {
                    name,
                    operation: format!("{verb}_{key}"),
                    key,
                    direction,
                    schema_uri: &variant.schema_uri,
                    variant,
                    channel: channel.clone(),
                });
            }
        }
        Ok(Self {
            protocol,
            channel,
            messages,
        })
    }

    /// The entry of a message named in `protocol.json` (the loader checked that it exists).
    fn message(&self, name: &str) -> Option<&MessageEntry<'a>> {
        self.messages.iter().find(|m| m.name == name)
    }

    /// `#/channels/<channel>/messages/<key>` of each named message, in the given order, once.
    fn channel_refs<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        for name in names {
            if let Some(entry) = self.message(name) {
                let reference = json!({"$ref": entry.channel_ref()});
                if !out.contains(&reference) {
                    out.push(reference);
                }
            }
        }
        out
    }

    /// `#/channels/<channel>`.
    fn channel_ref(&self) -> Value {
        json!({"$ref": format!("#/channels/{}", self.channel)})
    }

    /// A path relative to the protocol folder, as a path relative to the repository root.
    fn source_path(&self, relative: &str) -> String {
        agentwire_spec::tree::join_relative(&format!("{SCHEMA_DIR}/{}", self.protocol.id), relative)
    }
}

impl MessageEntry<'_> {
    /// `#/components/messages/<key>`.
    fn component_ref(&self) -> String {
        format!("#/components/messages/{}", self.key)
    }

    /// `#/channels/<channel>/messages/<key>`: operations must name a channel's messages.
    fn channel_ref(&self) -> String {
        format!("#/channels/{}/messages/{}", self.channel, self.key)
    }
}

/// A name as an AsyncAPI component key (`^[\w\d.\-_]+$`): other characters become `_`.
///
/// Keys are also used in `$ref` JSON Pointers; the allowed characters need no escaping there.
fn component_key(name: &str) -> String {
    let key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() { "_".into() } else { key }
}

/// The first sentence of a description, for a `summary`; `None` when it is the whole text.
///
/// A sentence ends at a full stop followed by a space and a capital letter, unless the stop
/// belongs to an abbreviation such as "e.g.", or at a blank line.
fn first_sentence(text: &str) -> Option<&str> {
    let text = text.trim();
    let paragraph = text.split("\n\n").next().unwrap_or(text);
    let bytes = paragraph.as_bytes();
    let mut end = paragraph.len();
    for (i, c) in paragraph.char_indices() {
        if c != '.' || i + 2 >= bytes.len() {
            continue;
        }
        let next_is_space = bytes[i + 1].is_ascii_whitespace();
        let then_capital = paragraph[i + 1..]
            .trim_start()
            .chars()
            .next()
            .is_some_and(char::is_uppercase);
        let word = paragraph[..i]
            .rsplit(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or_default();
        let abbreviation =
            ["e.g", "i.e", "etc", "vs", "cf"].contains(&word.to_lowercase().as_str());
        if next_is_space && then_capital && !abbreviation {
            end = i + 1;
            break;
        }
    }
    let sentence = paragraph[..end].trim();
    (sentence.len() < text.len()).then_some(sentence)
}

/// A `protocol.json` value as JSON, for an `x-agentwire-*` extension.
fn to_json<T: Serialize>(value: &T) -> Value {
    // The protocol types are plain data with string keys: serialising them cannot fail.
    serde_json::to_value(value).expect("protocol descriptions serialise to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_keys_keep_allowed_characters_only() {
        assert_eq!(component_key("generalbots-meet"), "generalbots-meet");
        assert_eq!(component_key("a/b c~d"), "a_b_c_d");
        assert_eq!(component_key(""), "_");
    }

    #[test]
    fn first_sentences_skip_abbreviations() {
        assert_eq!(first_sentence("One. Two."), Some("One."));
        assert_eq!(
            first_sentence("Error: e.g. code X. More here."),
            Some("Error: e.g. code X.")
        );
        assert_eq!(first_sentence("Only one sentence."), None);
        assert_eq!(first_sentence("Intro.\n\nDetails follow"), Some("Intro."));
        assert_eq!(first_sentence("Version 1.2 is out"), None);
    }
}

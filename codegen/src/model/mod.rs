//! The intermediate model between the schemas and every emitter: one protocol's messages, the
//! unions that tell them apart, and every type they use. Emitters read only this model (and the
//! protocol description it carries); none reads schema files.

mod build;
pub mod naming;
pub mod pattern;
pub mod types;

use std::collections::HashMap;

use agentwire_spec::error::{Error, Result};
use agentwire_spec::examples::ValidExample;
use agentwire_spec::protocol::{Direction, ProtocolDescription};
use agentwire_spec::workspace::{ProtocolSource, Workspace};
use serde_json::Value;

/// How a message is told apart, as `agentwire-spec` reads it from the entry points.
pub use agentwire_spec::union::{TagTest, TagValue};
pub use types::*;

/// One protocol, ready for the emitters.
#[derive(Debug, Clone)]
pub struct ProtocolModel {
    /// The protocol id.
    pub id: String,
    /// `protocol.json`.
    pub description: ProtocolDescription,
    /// Every message, client messages first, each in its entry point's order.
    pub messages: Vec<Message>,
    /// The union of messages a client may send.
    pub client: UnionModel,
    /// The union of messages the server may send.
    pub server: UnionModel,
    /// Every named type, in the order first met.
    pub types: Vec<TypeDef>,
    /// The documents' examples, with their frames.
    pub examples: Vec<(ValidExample, Value)>,
    /// Index in `types` of each type name.
    type_index: HashMap<String, usize>,
    /// Index in `messages` of each message's type name.
    message_index: HashMap<String, usize>,
}

/// One message of a protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its name in `protocol.json` (the schema file stem), e.g. `session_create`.
    pub name: String,
    /// Who sends it.
    pub direction: Direction,
    /// The name of its type, e.g. `SessionCreate`.
    pub type_name: String,
    /// Absolute URI of its schema.
    pub schema_uri: String,
    /// How a frame is recognised as this message.
    pub when: Vec<TagTest>,
}

/// The messages of one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionModel {
    /// The union's type name, from the entry point's title (`ClientMessage`, `ServerMessage`).
    pub name: String,
    /// The entry point's description.
    pub doc: String,
    /// Absolute URI of the entry point.
    pub schema_uri: String,
    /// Who sends these messages.
    pub direction: Direction,
    /// Names of the messages, in the entry point's order.
    pub messages: Vec<String>,
}

impl ProtocolModel {
    /// Reads one protocol of a workspace into the model.
    pub fn build(workspace: &Workspace, protocol: &ProtocolSource) -> Result<Self> {
        let mut reader = build::TypeReader::new(&workspace.schemas);
        let mut messages = Vec::new();
        let mut unions = Vec::new();
        for direction in [Direction::Client, Direction::Server] {
            let union = protocol.union(direction);
            let mut names = Vec::new();
            for variant in &union.variants {
                let name = protocol
                    .message_name(&variant.schema_uri)
                    .expect("the loader checked every variant is named");
                let type_name = reader.named(&variant.schema_uri)?;
                messages.push(Message {
                    name: name.to_string(),
                    direction,
                    type_name,
                    schema_uri: variant.schema_uri.clone(),
                    when: variant.when.clone(),
                });
                names.push(name.to_string());
            }
            if !naming::is_type_name(&union.title) {
                return Err(Error::at(
                    protocol.dir.join(entry_file(direction)),
                    "/title",
                    "the title is the union's PascalCase type name",
                ));
            }
            unions.push(UnionModel {
                name: union.title.clone(),
                doc: union.description.clone(),
                schema_uri: union.uri.clone(),
                direction,
                messages: names,
            });
        }
        let server = unions.pop().expect("two unions");
        let client = unions.pop().expect("two unions");
        let type_index = reader
            .types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let message_index = messages
            .iter()
            .enumerate()
            .map(|(i, m)| (m.type_name.clone(), i))
            .collect();
        let model = Self {
            type_index,
            message_index,
            id: protocol.id.clone(),
            description: protocol.description.clone(),
            messages,
            client,
            server,
            types: reader.types,
            examples: protocol
                .valid_examples()
                .into_iter()
                .map(|(e, v)| (e.clone(), v.clone()))
                .collect(),
        };
        model.check(protocol)?;
        Ok(model)
    }

    /// Reads every protocol of a workspace.
    pub fn build_all(workspace: &Workspace) -> Result<Vec<Self>> {
        workspace
            .protocols
            .iter()
            .map(|p| Self::build(workspace, p))
            .collect()
    }

    /// The named type with this name.
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.type_index.get(name).map(|&i| &self.types[i])
    }

    /// The message whose type has this name.
    pub fn message_of_type(&self, type_name: &str) -> Option<&Message> {
        self.message_index
            .get(type_name)
            .map(|&i| &self.messages[i])
    }

    /// The description of a message's type (empty when it has none).
    pub fn message_doc(&self, message: &Message) -> &str {
        self.type_def(&message.type_name)
            .and_then(|d| d.doc.as_deref())
            .unwrap_or_default()
    }

    /// The message with this name.
    pub fn message(&self, name: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.name == name)
    }

    /// The union of one direction.
    pub fn union(&self, direction: Direction) -> &UnionModel {
        match direction {
            Direction::Client => &self.client,
            Direction::Server => &self.server,
        }
    }

    /// The messages of one direction, in order.
    pub fn messages_of(&self, direction: Direction) -> impl Iterator<Item = &Message> {
        self.messages
            .iter()
            .filter(move |m| m.direction == direction)
    }

    /// Messages are objects (so that their tags can be read); type names do not collide with
    /// the unions', nor the unions with each other; property names stay distinct once made
    /// identifiers, and so do message names.
    fn check(&self, protocol: &ProtocolSource) -> Result<()> {
        let in_entry = |direction| protocol.dir.join(entry_file(direction));
        for message in &self.messages {
            let def = self
                .type_def(&message.type_name)
                .expect("every message has a type");
            if !matches!(def.kind, TypeKind::Struct(_)) {
                return Err(Error::at(
                    in_entry(message.direction),
                    "",
                    format!(
                        "message {} ({}) is not an object with properties",
                        message.name, def.origin
                    ),
                ));
            }
        }
        if self.client.name == self.server.name {
            return Err(Error::at(
                in_entry(Direction::Server),
                "/title",
                "the client and server unions need different titles",
            ));
        }
        for union in [&self.client, &self.server] {
            if let Some(clash) = self.type_def(&union.name) {
                return Err(Error::at(
                    in_entry(union.direction),
                    "/title",
                    format!(
                        "{} is also the name of the type of {}",
                        clash.name, clash.origin
                    ),
                ));
            }
        }
        let mut message_names = std::collections::BTreeMap::new();
        for message in &self.messages {
            // The server skeleton has `on_<message>` methods beside `on_invalid` and `on_close`.
            if message.direction == Direction::Client
                && ["invalid", "close"].contains(&message.name.as_str())
            {
                return Err(Error::at(
                    protocol.dir.join("protocol.json"),
                    format!("/messages/{}", message.name),
                    "`invalid` and `close` are reserved message names",
                ));
            }
            if let Some(other) =
                message_names.insert(naming::snake_case(&message.name), &message.name)
            {
                return Err(Error::at(
                    protocol.dir.join("protocol.json"),
                    "/messages",
                    format!(
                        "messages {other} and {} would get the same identifiers",
                        message.name
                    ),
                ));
            }
        }
        for def in &self.types {
            let TypeKind::Struct(s) = &def.kind else {
                continue;
            };
            let mut seen = std::collections::BTreeMap::new();
            for field in &s.fields {
                if let Some(other) = seen.insert(naming::snake_case(&field.wire), &field.wire) {
                    return Err(Error::message(format!(
                        "{}: properties {other:?} and {:?} would get the same identifier",
                        def.origin, field.wire
                    )));
                }
            }
        }
        Ok(())
    }
}

fn entry_file(direction: Direction) -> &'static str {
    match direction {
        Direction::Client => "client.schema.json",
        Direction::Server => "server.schema.json",
    }
}

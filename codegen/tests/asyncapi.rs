//! The AsyncAPI documents: one per protocol, the same bytes on every run, every message with
//! its examples and operation, no reference leaving the document, and payloads that keep the
//! schemas' meaning when read as draft-07 (the dialect of AsyncAPI Schema Objects): every
//! example validates and every invalid example of a message is rejected.
//!
//! `codegen/tests/asyncapi/asyncapi.test.mjs` checks the same documents with the official
//! AsyncAPI parser.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use agentwire_codegen::emit::asyncapi;
use agentwire_spec::protocol::{Direction, ReplyForm};
use agentwire_spec::{ProtocolSource, Workspace};
use serde_json::{Value, json};

fn workspace() -> Workspace {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
    Workspace::load(&root).unwrap_or_else(|e| panic!("schema/ does not load: {e}"))
}

/// Every protocol with its emitted document, parsed back from the emitted bytes.
fn documents() -> Vec<(ProtocolSource, Value)> {
    let workspace = workspace();
    let files = asyncapi::emit(&workspace).unwrap_or_else(|e| panic!("emit: {e}"));
    workspace
        .protocols
        .into_iter()
        .map(|protocol| {
            let bytes = &files[&asyncapi::path_of(&protocol.id)];
            let document = serde_json::from_slice(bytes)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", protocol.id));
            (protocol, document)
        })
        .collect()
}

/// The message entry of the document for a message of `protocol.json`.
fn message<'d>(document: &'d Value, name: &str) -> (&'d str, &'d Value) {
    let messages = document["components"]["messages"].as_object().unwrap();
    let (key, message) = messages
        .iter()
        .find(|(_, m)| m["name"] == name)
        .unwrap_or_else(|| panic!("no message named {name}"));
    (key, message)
}

#[test]
fn one_document_per_protocol_byte_identical_across_runs() {
    let first = asyncapi::emit(&workspace()).unwrap();
    let second = asyncapi::emit(&workspace()).unwrap();
    assert_eq!(first, second, "two runs differ");
    let expected: BTreeSet<String> = workspace()
        .ids()
        .into_iter()
        .map(asyncapi::path_of)
        .collect();
    assert_eq!(first.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for id in [
        "rixa",
        "datagram",
        "socializer",
        "generalbots",
        "generalbots-meet",
    ] {
        assert!(
            first.contains_key(&asyncapi::path_of(id)),
            "{id} has no document"
        );
    }
    for (path, bytes) in &first {
        let text = std::str::from_utf8(bytes).unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap() + "\n";
        assert_eq!(
            text, pretty,
            "{path} is not pretty-printed with a final newline"
        );
        assert_eq!(value["asyncapi"], "3.0.0");
    }
}

#[test]
fn every_message_appears_with_its_examples_and_operation() {
    for (protocol, document) in documents() {
        let id = &protocol.id;
        let channel = document["channels"].as_object().unwrap();
        assert_eq!(channel.len(), 1, "{id}: one channel per connection");
        let (channel_key, channel) = channel.iter().next().unwrap();
        let messages = document["components"]["messages"].as_object().unwrap();
        assert_eq!(messages.len(), protocol.description.messages.len(), "{id}");
        for (name, info) in &protocol.description.messages {
            let (key, entry) = message(&document, name);
            assert_eq!(
                channel["messages"][key]["$ref"],
                format!("#/components/messages/{key}"),
                "{id}/{name}: not in the channel"
            );
            let (action, direction) = match info.direction {
                Direction::Client => ("send", "client"),
                Direction::Server => ("receive", "server"),
            };
            assert_eq!(entry["x-agentwire-direction"], direction, "{id}/{name}");
            let reference = json!({"$ref": format!("#/channels/{channel_key}/messages/{key}")});
            let operations: Vec<&Value> = document["operations"]
                .as_object()
                .unwrap()
                .values()
                .filter(|op| op["messages"].as_array().unwrap().contains(&reference))
                .collect();
            assert_eq!(operations.len(), 1, "{id}/{name}: one operation");
            assert_eq!(operations[0]["action"], action, "{id}/{name}");

            let expected: Vec<&Value> = protocol
                .valid_examples()
                .into_iter()
                .filter(|(example, _)| example.message == *name)
                .map(|(_, frame)| frame)
                .collect();
            let shown: Vec<&Value> = entry["examples"]
                .as_array()
                .map(|list| list.iter().map(|e| &e["payload"]).collect())
                .unwrap_or_default();
            assert_eq!(shown, expected, "{id}/{name}: examples");
        }
    }
}

#[test]
fn replies_and_correlation_ids_follow_the_exchanges() {
    for (protocol, document) in documents() {
        let id = &protocol.id;
        for exchange in &protocol.description.exchanges {
            let (request, _) = message(&document, &exchange.request);
            let operation = document["operations"]
                .as_object()
                .unwrap()
                .values()
                .find(|op| {
                    op["messages"][0]["$ref"]
                        .as_str()
                        .is_some_and(|r| r.ends_with(&format!("/messages/{request}")))
                })
                .unwrap();
            let replies: Vec<&str> = operation["reply"]["messages"]
                .as_array()
                .unwrap_or_else(|| panic!("{id}/{}: no reply", exchange.request))
                .iter()
                .map(|r| r["$ref"].as_str().unwrap())
                .collect();
            for form in &exchange.replies {
                let (names, correlation) = match form {
                    ReplyForm::Single(s) => (s.messages.clone(), &s.correlation),
                    ReplyForm::Stream(s) => (
                        vec![s.start.clone(), s.chunk.clone(), s.end.clone()],
                        &s.correlation,
                    ),
                };
                for name in &names {
                    let (key, _) = message(&document, name);
                    assert!(
                        replies
                            .iter()
                            .any(|r| r.ends_with(&format!("/messages/{key}"))),
                        "{id}/{}: {name} is not a reply",
                        exchange.request
                    );
                }
                for c in correlation {
                    let ids = &document["components"]["correlationIds"];
                    let located = |pointer: &str| {
                        let location = format!("$message.payload#{pointer}");
                        ids.as_object()
                            .unwrap()
                            .values()
                            .any(|v| v["location"] == location.as_str())
                    };
                    assert!(located(&c.request) && located(&c.reply), "{id}: {c:?}");
                }
            }
        }
    }
}

#[test]
fn documents_are_self_contained() {
    fn walk(value: &Value, at: &str, root: &Value, id: &str, schema: bool) {
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    let here = format!("{at}/{key}");
                    if schema && matches!(key.as_str(), "$id" | "$schema" | "$defs") {
                        panic!("{id}: {here} is left in a payload schema");
                    }
                    if key == "$ref" {
                        let target = child.as_str().unwrap();
                        let pointer = target
                            .strip_prefix('#')
                            .unwrap_or_else(|| panic!("{id}: {here} leaves the document"));
                        assert!(root.pointer(pointer).is_some(), "{id}: {here} is dangling");
                    }
                    // Values of these keywords are data, and property names are not keywords.
                    let data = matches!(key.as_str(), "examples" | "const" | "enum" | "default");
                    let names = matches!(key.as_str(), "properties" | "patternProperties");
                    let inside_schema = schema || key == "payload" || at == "/components/schemas";
                    match (data, names, child) {
                        (true, _, _) => {}
                        (_, true, Value::Object(properties)) => {
                            for (name, sub) in properties {
                                walk(sub, &format!("{here}/{name}"), root, id, inside_schema);
                            }
                        }
                        _ => walk(child, &here, root, id, inside_schema),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{at}/{i}"), root, id, schema);
                }
            }
            _ => {}
        }
    }
    for (protocol, document) in documents() {
        walk(&document, "", &document, &protocol.id, false);
    }
}

/// Draft-07 lets validators treat `contentEncoding` and `contentMediaType` as annotations and
/// asks them to offer a switch to do so; AsyncAPI tools (Ajv) do, 2020-12 requires it, and the
/// schemas rely on it (datagram's examples hold a placeholder where base64 text goes).
struct Annotation;

impl<'i, F: jsonschema::json::Json> jsonschema::Keyword<'i, F> for Annotation {
    fn validate(&self, _: F::Node<'i>) -> Result<(), jsonschema::ValidationError<'i>> {
        Ok(())
    }

    fn is_valid(&self, _: F::Node<'i>) -> bool {
        true
    }
}

/// A draft-07 validator for each message's payload, by message name, reading `$ref`s inside
/// the document only.
fn payload_validators(document: &Value, id: &str) -> BTreeMap<String, jsonschema::Validator> {
    let base = format!("urn:agentwire:asyncapi:{id}");
    let registry = jsonschema::Registry::new()
        .draft(jsonschema::Draft::Draft7)
        .add(
            &base,
            jsonschema::Draft::Draft7.create_resource(document.clone()),
        )
        .and_then(|builder| builder.prepare())
        .unwrap_or_else(|e| panic!("{id}: registry: {e}"));
    let messages = document["components"]["messages"].as_object().unwrap();
    messages
        .iter()
        .map(|(key, entry)| {
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .with_registry(&registry)
                .offline()
                .should_validate_formats(true)
                .with_keyword("contentEncoding", |_, _, _| Ok(Box::new(Annotation)))
                .with_keyword("contentMediaType", |_, _, _| Ok(Box::new(Annotation)))
                .build(&json!({"$ref": format!("{base}#/components/messages/{key}/payload")}))
                .unwrap_or_else(|e| panic!("{id}/{key}: payload does not compile: {e}"));
            (entry["name"].as_str().unwrap().to_string(), validator)
        })
        .collect()
}

#[test]
fn every_example_validates_against_its_payload() {
    let mut count = 0;
    for (protocol, document) in documents() {
        let validators = payload_validators(&document, &protocol.id);
        for (name, entry) in document["components"]["messages"].as_object().unwrap() {
            let name = entry["name"].as_str().unwrap_or(name);
            for example in entry["examples"].as_array().into_iter().flatten() {
                let errors: Vec<String> = validators[name]
                    .iter_errors(&example["payload"])
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{}: example {} of {name}: {errors:?}",
                    protocol.id,
                    example["name"]
                );
                count += 1;
            }
        }
    }
    assert!(count > 0, "no examples");
}

#[test]
fn every_invalid_example_of_a_message_is_rejected_by_its_payload() {
    for (protocol, document) in documents() {
        let validators = payload_validators(&document, &protocol.id);
        for (example, frame) in protocol.invalid_examples() {
            let Some(name) = &example.message else {
                continue;
            };
            assert!(
                !validators[name].is_valid(frame),
                "{}: {} is accepted by the payload of {name} (it breaks: {})",
                protocol.id,
                example.file,
                example.breaks
            );
        }
    }
}

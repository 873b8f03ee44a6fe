//! The schemas are faithful to the documents: every documented message has one, every example
//! of the documents validates, every invalid example is rejected at the offending field, and
//! every protocol description is well formed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use agentwire_spec::protocol::{Direction, ProtocolDescription};
use agentwire_spec::source::validator_in;
use agentwire_spec::tree::read_json;
use agentwire_spec::{ProtocolSource, Workspace};
use serde_json::{Value, json};

fn schema_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")
}

fn workspace() -> Workspace {
    Workspace::load(&schema_root()).unwrap_or_else(|e| panic!("schema/ does not load: {e}"))
}

/// The messages each document names, by direction: written out here, not scanned, so that a
/// schema that goes missing or one that is invented fails this test.
const DOCUMENTED: &[(&str, Direction, &[&str])] = &[
    (
        "rixa",
        Direction::Client,
        &[
            "execute_plugin_code",
            "call_plugin_function",
            "usr_msg",
            "change_setting",
            "update_plugin_setting",
            "bug_report",
            "delete_current_tracker",
            "get_chat_modes",
            "get_plugin_settings",
            "user_settings",
            "get_utilization_info",
            "get_global_settings",
            "get_chat_start_info",
        ],
    ),
    ("rixa", Direction::Server, &["response", "status"]),
    (
        "datagram",
        Direction::Client,
        &[
            "ping",
            "session_create",
            "session_resume",
            "session_status",
            "session_destroy",
            "chat_request",
        ],
    ),
    (
        "datagram",
        Direction::Server,
        &[
            "pong",
            "session_response",
            "chat_response",
            "system_message",
        ],
    ),
    ("socializer", Direction::Client, &["chat_message"]),
    (
        "socializer",
        Direction::Server,
        &["system_message", "ai_response", "error_message"],
    ),
    (
        "generalbots",
        Direction::Client,
        &[
            "auth",
            "chat_message",
            "typing_start",
            "typing_stop",
            "subscribe",
            "unsubscribe",
            "ping",
        ],
    ),
    (
        "generalbots",
        Direction::Server,
        &[
            "chat_response",
            "stream_start",
            "stream_chunk",
            "stream_end",
            "bot_typing",
            "tool_call",
            "tool_result",
            "error_message",
            "pong",
            "session_created",
            "session_closed",
        ],
    ),
    (
        "generalbots-meet",
        Direction::Client,
        &["join", "leave", "signal"],
    ),
    (
        "generalbots-meet",
        Direction::Server,
        &[
            "join_notice",
            "leave_notice",
            "signal_relay",
            "error_message",
        ],
    ),
];

#[test]
fn the_five_protocols_load() {
    assert_eq!(
        workspace().ids(),
        [
            "datagram",
            "generalbots",
            "generalbots-meet",
            "rixa",
            "socializer"
        ]
    );
}

#[test]
fn every_documented_message_has_a_schema_and_none_is_invented() {
    let workspace = workspace();
    for protocol in &workspace.protocols {
        for direction in [Direction::Client, Direction::Server] {
            let documented: BTreeSet<&str> = DOCUMENTED
                .iter()
                .filter(|(id, d, _)| *id == protocol.id && *d == direction)
                .flat_map(|(_, _, names)| names.iter().copied())
                .collect();
            let variants: BTreeSet<&str> = protocol
                .union(direction)
                .variants
                .iter()
                .map(|v| {
                    protocol
                        .message_name(&v.schema_uri)
                        .expect("variants are named")
                })
                .collect();
            assert_eq!(
                variants, documented,
                "{} {direction:?} messages",
                protocol.id
            );
            for name in &documented {
                let uri = protocol.message_uri(name).expect("message URI");
                let schema = &workspace.schemas.get(&uri).expect("schema file").value;
                for key in ["$id", "title", "description"] {
                    assert!(
                        schema
                            .get(key)
                            .and_then(Value::as_str)
                            .is_some_and(|s| !s.is_empty()),
                        "{uri} has no {key}"
                    );
                }
            }
        }
    }
}

fn entry_validator(
    workspace: &Workspace,
    protocol: &ProtocolSource,
    direction: Direction,
) -> jsonschema::Validator {
    let registry = workspace.schemas.registry().expect("registry");
    validator_in(&registry, &protocol.union(direction).uri).expect("validator")
}

#[test]
fn every_example_of_the_documents_validates_as_its_message() {
    let workspace = workspace();
    let mut count = 0;
    for protocol in &workspace.protocols {
        for direction in [Direction::Client, Direction::Server] {
            let validator = entry_validator(&workspace, protocol, direction);
            for (example, frame) in protocol.valid_examples() {
                if example.direction != direction {
                    continue;
                }
                let errors: Vec<String> = validator
                    .iter_errors(frame)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{}/{} is rejected: {errors:#?}",
                    protocol.id,
                    example.file
                );
                let selected = protocol
                    .union(direction)
                    .select(frame)
                    .expect("a variant is selected");
                assert_eq!(
                    protocol.message_name(&selected.schema_uri),
                    Some(example.message.as_str()),
                    "{}/{}",
                    protocol.id,
                    example.file
                );
                count += 1;
            }
        }
    }
    assert_eq!(
        count, 54,
        "every example of the five documents (both RIXA renderings) is checked"
    );
}

#[test]
fn every_documented_message_has_an_example() {
    let workspace = workspace();
    for protocol in &workspace.protocols {
        let shown: BTreeSet<&str> = protocol
            .examples
            .valid
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        for name in protocol.description.messages.keys() {
            // The document shows no server frame on /ws/meet (its error example is the /ws
            // one), and RIXA describes its responses in words only.
            let not_shown = (protocol.id == "generalbots-meet"
                && protocol.direction_of(name) == Some(Direction::Server))
                || (protocol.id == "rixa" && name == "response");
            assert_eq!(
                shown.contains(name.as_str()),
                !not_shown,
                "{}: {name}",
                protocol.id
            );
        }
    }
}

#[test]
fn every_invalid_example_is_rejected_at_the_offending_field_of_its_message() {
    let workspace = workspace();
    let mut count = 0;
    for protocol in &workspace.protocols {
        for direction in [Direction::Client, Direction::Server] {
            let validator = entry_validator(&workspace, protocol, direction);
            for (example, frame) in protocol.invalid_examples() {
                if example.direction != direction {
                    continue;
                }
                let errors: Vec<_> = validator.iter_errors(frame).collect();
                let describe = || {
                    errors
                        .iter()
                        .map(|e| {
                            format!(
                                "{} at {:?} ({})",
                                e,
                                e.instance_path().as_str(),
                                e.kind().keyword()
                            )
                        })
                        .collect::<Vec<_>>()
                };
                assert!(
                    !errors.is_empty(),
                    "{}/{} is accepted",
                    protocol.id,
                    example.file
                );
                let hit = errors.iter().find(|e| {
                    e.instance_path().as_str() == example.pointer
                        && e.kind().keyword() == example.keyword
                });
                let hit = hit.unwrap_or_else(|| {
                    panic!(
                        "{}/{}: no `{}` error at {:?}: {:#?}",
                        protocol.id,
                        example.file,
                        example.keyword,
                        example.pointer,
                        describe()
                    )
                });
                if let Some(missing) = &example.missing {
                    assert!(
                        hit.to_string().contains(&format!("\"{missing}\"")),
                        "{}: {hit} does not name {missing}",
                        example.file
                    );
                }
                // The error lies in the schema of the one message the frame claims to be (or in a
                // definition that schema uses), reached through that message's branch only.
                let union = protocol.union(direction);
                let branch = match &example.message {
                    Some(message) => {
                        let uri = protocol.message_uri(message).expect("message URI");
                        let variant = union
                            .variants
                            .iter()
                            .find(|v| v.schema_uri == uri)
                            .expect("variant");
                        Some(format!("/$ref{}", variant.pointer))
                    }
                    None => None,
                };
                for error in &errors {
                    let path = error.evaluation_path().as_str();
                    match &branch {
                        Some(branch) => assert!(
                            path.starts_with(branch.as_str()),
                            "{}: error {error} reached by {path}, not through {branch}",
                            example.file
                        ),
                        None => {
                            let through = union
                                .variants
                                .iter()
                                .find(|v| path.starts_with(&format!("/$ref{}", v.pointer)));
                            assert!(
                                through.is_none(),
                                "{}: error {error} reached through a message branch: {path}",
                                example.file
                            );
                        }
                    }
                }
                count += 1;
            }
        }
    }
    assert!(count >= 45, "only {count} invalid examples");
}

#[test]
fn client_frames_are_not_server_frames_except_where_a_protocol_relays_them() {
    // Datagram's ping and pong share one shape, and the meet server relays the client's own
    // join/leave/signal shapes: those are the only frames valid in both directions.
    let both_ways: &[(&str, &str)] = &[
        ("datagram", "client/ping.json"),
        ("datagram", "server/pong.json"),
        // A chat response's content holds the request's type and data, and more.
        ("datagram", "server/chat_response.json"),
        // General Bots uses `message` both ways; the response has every field of the request.
        ("generalbots", "server/chat_response.json"),
        ("generalbots-meet", "client/join.json"),
        ("generalbots-meet", "client/leave.json"),
        ("generalbots-meet", "client/signal.jsonc"),
    ];
    let workspace = workspace();
    for protocol in &workspace.protocols {
        for (example, frame) in protocol.valid_examples() {
            let other = match example.direction {
                Direction::Client => Direction::Server,
                Direction::Server => Direction::Client,
            };
            let accepted = entry_validator(&workspace, protocol, other).is_valid(frame);
            let expected = both_ways.contains(&(protocol.id.as_str(), example.file.as_str()));
            assert_eq!(
                accepted, expected,
                "{}/{} as a {other:?} frame",
                protocol.id, example.file
            );
        }
    }
}

#[test]
fn every_protocol_description_validates_against_its_format() {
    let workspace = workspace();
    let registry = workspace.schemas.registry().expect("registry");
    let validator = validator_in(
        &registry,
        &format!("{}protocol.schema.json", agentwire_spec::SCHEMA_BASE_URI),
    )
    .expect("validator");
    for protocol in &workspace.protocols {
        let raw = read_json(&protocol.dir.join("protocol.json")).expect("readable");
        let errors: Vec<String> = validator
            .iter_errors(&raw)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}/protocol.json: {errors:#?}",
            protocol.id
        );
        // And the Rust types read back exactly what the file says.
        let typed: ProtocolDescription = serde_json::from_value(raw.clone()).expect("typed");
        assert_eq!(
            serde_json::to_value(&typed).expect("serialises"),
            raw,
            "{}/protocol.json round trip",
            protocol.id
        );
    }
}

#[test]
fn the_checked_in_format_schemas_match_the_rust_types() {
    let root = schema_root();
    let stale = "is stale: run `cargo xtask codegen`";
    assert!(
        read_json(&root.join("protocol.schema.json")).unwrap()
            == ProtocolDescription::json_schema(),
        "schema/protocol.schema.json {stale}"
    );
    assert!(
        read_json(&root.join("examples.schema.json")).unwrap()
            == agentwire_spec::examples::ExampleIndex::json_schema(),
        "schema/examples.schema.json {stale}"
    );
}

#[test]
fn every_schema_file_is_a_valid_draft_2020_12_schema() {
    let workspace = workspace();
    for document in workspace.schemas.documents() {
        let errors: Vec<String> = jsonschema::draft202012::meta::validator()
            .iter_errors(&document.value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", document.path);
    }
}

#[test]
fn the_error_code_tables_match_the_error_schemas() {
    let workspace = workspace();
    for protocol in &workspace.protocols {
        let Some(table) = &protocol.description.error_codes else {
            continue;
        };
        let registry = workspace.schemas.registry().expect("registry");
        let message = validator_in(
            &registry,
            &protocol.message_uri(&table.message).expect("uri"),
        )
        .expect("validator");
        let base = protocol
            .valid_examples()
            .into_iter()
            .find(|(e, _)| e.message == table.message)
            .map(|(_, v)| v.clone());
        let base =
            base.unwrap_or_else(|| json!({"type": "error", "code": "AUTH_FAILED", "message": "x"}));
        let mut frame = base.clone();
        for code in &table.codes {
            *frame.pointer_mut(&table.pointer).expect("code field") = json!(code.code);
            assert!(
                message.is_valid(&frame),
                "{}: documented code {} rejected",
                protocol.id,
                code.code
            );
        }
        *frame.pointer_mut(&table.pointer).expect("code field") = json!("NOT_A_DOCUMENTED_CODE");
        assert!(
            !message.is_valid(&frame),
            "{}: an undocumented code is accepted",
            protocol.id
        );
    }
}

#[test]
fn every_rule_of_every_description_quotes_its_document() {
    // The loader refuses a quote that is not in the document; this proves it looks.
    let workspace = workspace();
    let rules: usize = workspace
        .protocols
        .iter()
        .map(|p| p.description.rules().len())
        .sum();
    assert!(rules > 100, "only {rules} rules");
}

/// Every string leaf of a value, with its JSON Pointer.
fn strings(value: &Value, pointer: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) => out.push((pointer, text.clone())),
        Value::Object(map) => {
            for (key, item) in map {
                strings(item, agentwire_spec::union::join(&pointer, key), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_placeholder_of_the_documents_is_marked_and_a_real_value_of_it_validates() {
    use agentwire_spec::examples::StandsFor;
    let workspace = workspace();
    let mut marked = 0;
    for protocol in &workspace.protocols {
        for (example, frame) in protocol.valid_examples() {
            // The documents write a placeholder in angle brackets: `"<base64 encoded message>"`.
            let mut leaves = Vec::new();
            strings(frame, String::new(), &mut leaves);
            for (pointer, text) in leaves {
                let bracketed = text.starts_with('<') && text.ends_with('>');
                let is_marked = example.placeholders.iter().any(|p| p.pointer == pointer);
                assert_eq!(
                    bracketed, is_marked,
                    "{}/{} {pointer} = {text:?}: a placeholder is marked, and only a placeholder",
                    protocol.id, example.file
                );
            }
            let validator = entry_validator(&workspace, protocol, example.direction);
            let mut filled = frame.clone();
            for placeholder in &example.placeholders {
                let real = match placeholder.stands_for {
                    StandsFor::Base64 => "SGVsbG8sIHdvcmxk",
                    StandsFor::Credential => "a-real-token",
                };
                *filled.pointer_mut(&placeholder.pointer).unwrap() = json!(real);
                marked += 1;
            }
            assert!(
                validator.is_valid(&filled),
                "{}/{} filled in: {filled}",
                protocol.id,
                example.file
            );
        }
    }
    // datagram's three `<base64 encoded message>`, General Bots' `<auth_token>`.
    assert_eq!(marked, 4);
}

#[test]
fn loose_values_are_marked_where_the_examples_show_one_kind_and_the_schema_accepts_more() {
    let workspace = workspace();
    let datagram = workspace.protocol("datagram").unwrap();
    let loose = |message: &str| -> Vec<(String, Vec<&'static str>)> {
        datagram.annotations[message]
            .loose
            .iter()
            .map(|l| {
                let kinds = l.value.expected.iter().map(|k| k.name()).collect();
                (l.pointer.clone(), kinds)
            })
            .collect()
    };
    assert_eq!(
        loose("chat_response"),
        [("/content/error".to_string(), vec!["boolean", "string"])]
    );
    assert_eq!(
        loose("session_response"),
        [("/content/error".to_string(), vec!["null", "string"])]
    );
    // The schema accepts what the annotation calls drift: it only annotates.
    let validator = entry_validator(&workspace, datagram, Direction::Server);
    let drift = json!({"msg": "chat", "cid": "1", "content": {"success": true, "error": null,
        "sender": "Alice", "bot": true, "type": "text", "data": "SGk="}});
    assert!(validator.is_valid(&drift));
}

#[test]
fn every_rule_is_located_in_its_document_on_the_lines_that_hold_it() {
    for protocol in &workspace().protocols {
        let main = protocol.description.documents[0].file.as_str();
        for (at, rule) in protocol.description.rules() {
            let document = rule.document.as_deref().unwrap_or(main);
            let found = protocol
                .locate(&rule.quote, Some(document))
                .unwrap_or_else(|| panic!("{} {at}: {:?} not located", protocol.id, rule.quote));
            assert_eq!(found.document, document, "{} {at}", protocol.id);
            let lines: Vec<&str> = protocol.documents[document].lines().collect();
            let span = lines[found.first_line - 1..found.last_line].join(" ");
            let first_word = rule.quote.split_whitespace().next().unwrap();
            let last_word = rule.quote.split_whitespace().last().unwrap();
            assert!(
                lines[found.first_line - 1].contains(first_word)
                    && lines[found.last_line - 1].contains(last_word),
                "{} {at}: {:?} is not on lines {}-{}: {span}",
                protocol.id,
                rule.quote,
                found.first_line,
                found.last_line
            );
        }
    }
}

//! The generated Rust types against the documents: every example decodes into the right variant
//! and encodes back to an equal JSON value; every invalid example fails to decode.

use std::path::Path;

use agentwire_spec::Workspace;

mod common;

use common::decoder_for;

fn workspace() -> Workspace {
    Workspace::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")).unwrap()
}

#[test]
fn every_example_round_trips_through_its_variant() {
    let workspace = workspace();
    let mut count = 0;
    for protocol in &workspace.protocols {
        for (example, frame) in protocol.valid_examples() {
            let decode = decoder_for(&protocol.id, example.direction);
            let (name, encoded) = decode(frame.clone())
                .unwrap_or_else(|e| panic!("{}/{}: {e}", protocol.id, example.file));
            assert_eq!(
                name, example.message,
                "{}/{} decodes as the wrong message",
                protocol.id, example.file
            );
            assert_eq!(
                &encoded, frame,
                "{}/{} does not encode back",
                protocol.id, example.file
            );
            // The text path gives the same result as the value path.
            let text = frame.to_string();
            assert_eq!(
                decode(serde_json::from_str(&text).unwrap()).unwrap().1,
                encoded
            );
            count += 1;
        }
    }
    assert_eq!(count, 54);
}

#[test]
fn every_invalid_example_fails_to_decode() {
    let workspace = workspace();
    for protocol in &workspace.protocols {
        for (example, frame) in protocol.invalid_examples() {
            let decode = decoder_for(&protocol.id, example.direction);
            let result = decode(frame.clone());
            assert!(
                result.is_err(),
                "{}/{} decodes as {:?}",
                protocol.id,
                example.file,
                result.map(|r| r.0)
            );
        }
    }
}

#[test]
fn errors_name_the_message_and_the_problem() {
    let error = agentwire_rixa::ClientMessage::from_json(r#"{"type": "usr_msg"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("usr_msg") && error.contains("content"),
        "{error}"
    );
    let error = agentwire_rixa::ClientMessage::from_json(r#"{"type": "get_weather"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("get_weather"), "{error}");
    let error = agentwire_datagram::ClientMessage::from_json("not json")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("not JSON"), "{error}");
}

#[test]
fn absent_and_null_are_kept_apart() {
    use agentwire_rixa::ServerMessage;
    // RIXA's `content` may be any value, null included: present-null and absent differ.
    let with_null = ServerMessage::from_json(r#"{"role": "x", "content": null}"#).unwrap();
    let without = ServerMessage::from_json(r#"{"role": "x"}"#).unwrap();
    assert_ne!(with_null, without);
    assert_eq!(with_null.to_json(), r#"{"role":"x","content":null}"#);
    assert_eq!(without.to_json(), r#"{"role":"x"}"#);
    // A datagram session response must show `error`, which may be null, but not be missing it.
    use agentwire_datagram::ServerMessage as Datagram;
    assert!(
        Datagram::from_json(
            r#"{"msg":"session","cid":"a","content":{"success":true,"error":null}}"#
        )
        .is_ok()
    );
    assert!(
        Datagram::from_json(r#"{"msg":"session","cid":"a","content":{"success":true}}"#).is_err()
    );
    // An optional string may be absent but not null.
    use agentwire_rixa::ClientMessage;
    assert!(ClientMessage::from_json(r#"{"type":"bug_report","report":"r"}"#).is_ok());
    assert!(
        ClientMessage::from_json(r#"{"type":"bug_report","report":"r","image":null}"#).is_err()
    );
}

#[test]
fn a_server_pong_never_decodes_as_a_client_ping() {
    // General Bots' ping and pong differ by tag: each union knows only its own direction.
    assert!(
        agentwire_generalbots::ClientMessage::from_json(
            r#"{"type":"pong","timestamp":"2024-01-01T10:00:00Z"}"#
        )
        .is_err()
    );
    assert!(agentwire_generalbots::ServerMessage::from_json(r#"{"type":"ping"}"#).is_err());
}

#[test]
fn checked_types_validate_when_built_and_decoded() {
    use agentwire_datagram::Base64Text;
    use agentwire_generalbots::Timestamp;
    use agentwire_rixa::ExecutePluginCodeContent;
    assert!(ExecutePluginCodeContent::new("#help()#").is_ok());
    assert!(ExecutePluginCodeContent::new("help()").is_err());
    assert!(Timestamp::new("2024-01-01T10:00:00Z").is_ok());
    assert!(Timestamp::new("2024-13-01T10:00:00Z").is_err());
    let text = Base64Text::encode(b"hello");
    assert_eq!(text.as_str(), "aGVsbG8=");
    assert_eq!(text.decode().unwrap(), b"hello");
    // The document's placeholder is accepted (the encoding is an annotation) but does not decode.
    let placeholder = Base64Text::new("<base64 encoded message>").unwrap();
    assert!(placeholder.decode().is_err());
}

//! The model reads the schemas as they mean: names, optional versus nullable, constraints.

use std::path::Path;

use agentwire_codegen::model::{Constrained, Encoding, Format, ProtocolModel, Ty, TypeKind};
use agentwire_spec::Workspace;

fn models() -> Vec<ProtocolModel> {
    let workspace =
        Workspace::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")).unwrap();
    ProtocolModel::build_all(&workspace).unwrap_or_else(|e| panic!("{e}"))
}

fn model(id: &str) -> ProtocolModel {
    models().into_iter().find(|m| m.id == id).unwrap()
}

/// The synthetic protocol with one schema changed at a JSON Pointer, built into the model.
fn synthetic_with(
    file: &str,
    pointer: &str,
    value: serde_json::Value,
) -> Result<ProtocolModel, agentwire_spec::Error> {
    use agentwire_spec::tree::SourceTree;
    let disk =
        SourceTree::Disk(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/synthetic/schema"));
    let mut files = Vec::new();
    for path in disk.files_below("", &|_| true).unwrap() {
        let mut text = disk.read(&path).unwrap();
        if path == file {
            let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
            *json.pointer_mut(pointer).expect("the pointer exists") = value.clone();
            text = json.to_string();
        }
        files.push((path, text));
    }
    let workspace = Workspace::from_tree(&SourceTree::embedded("synthetic", files))?;
    ProtocolModel::build(&workspace, &workspace.protocols[0])
}

#[test]
fn unsupported_constructs_are_errors_naming_file_and_pointer() {
    use serde_json::json;
    let file = "synthetic/messages/every_scalar.schema.json";
    let cases = [
        (
            "/properties/text",
            json!({"type": "string", "format": "email"}),
            "/properties/text",
            "format",
        ),
        // Keywords the generator would drop, giving a looser type:
        (
            "/properties/text",
            json!({"minLength": 3}),
            "/properties/text",
            "state the `type`",
        ),
        (
            "/properties/text",
            json!({"format": "uuid"}),
            "/properties/text",
            "state the `type`",
        ),
        (
            "/properties/text",
            json!({"const": "a", "type": "integer"}),
            "/properties/text",
            "beside `const`",
        ),
        (
            "/properties/text",
            json!({"enum": ["a", "bb"], "maxLength": 1}),
            "/properties/text",
            "beside `enum`",
        ),
        (
            "/properties/text",
            json!({"anyOf": [{"type": "string"}], "required": ["x"]}),
            "/properties/text",
            "beside `anyOf`",
        ),
        // Caught by the 2020-12 metaschema as the schema set loads.
        (
            "/properties/text",
            json!({"anyOf": []}),
            "/properties/text/anyOf",
            "not a valid JSON Schema",
        ),
        (
            "/properties/text",
            json!({"type": ["string", "null"], "format": "email"}),
            "/properties/text",
            "format",
        ),
        (
            "/properties/text",
            json!({"type": "object", "required": ["x"], "additionalProperties": false}),
            "/properties/text",
            "allows no such property",
        ),
        (
            "/properties/text",
            json!({"type": "object", "patternProperties": {"^x": {}}}),
            "/properties/text",
            "patternProperties",
        ),
        (
            "/properties/text",
            json!({"allOf": [{"type": "string"}]}),
            "/properties/text",
            "allOf",
        ),
        (
            "/properties/text",
            json!({"$ref": "../defs.schema.json#/$defs/Stamp", "minLength": 3}),
            "/properties/text",
            "beside `$ref`",
        ),
        (
            "/properties/text",
            json!({"enum": ["a", 1]}),
            "/properties/text",
            "only enumerations of strings",
        ),
        (
            "/properties/text",
            json!({"anyOf": [{"type": "integer"}, {"type": "number"}]}),
            "/properties/text",
            "two branches",
        ),
        (
            "/properties/text",
            json!({"type": "string", "pattern": "(?<=a)b"}),
            "/properties/text",
            "pattern",
        ),
        (
            "/properties/text",
            json!({"properties": {"a": {}}}),
            "/properties/text",
            "state the `type`",
        ),
    ];
    for (pointer, schema, expected_pointer, words) in cases {
        let error = synthetic_with(file, pointer, schema.clone())
            .expect_err(&format!("{schema} must be refused"));
        let shown = error.to_string();
        assert!(shown.contains("every_scalar.schema.json"), "{shown}");
        assert_eq!(error.pointer.as_deref(), Some(expected_pointer), "{shown}");
        assert!(shown.contains(words), "{shown} should say {words}");
    }
}

#[test]
fn recursive_and_aliased_schemas_are_refused_not_miscompiled() {
    use serde_json::json;
    let node = json!({"title": "Node", "type": "object", "properties": {"next": {"$ref": "#/properties/text"}}});
    let error = synthetic_with(
        "synthetic/messages/every_scalar.schema.json",
        "/properties/text",
        node,
    )
    .expect_err("recursion");
    assert!(error.to_string().contains("recursive"), "{error}");
    let sibling = json!({"$ref": "#/$defs/Stamp", "maxLength": 2, "title": "Sib"});
    let error =
        synthetic_with("synthetic/defs.schema.json", "/$defs/Color", sibling).expect_err("sibling");
    assert!(error.to_string().contains("beside `$ref`"), "{error}");
}

#[test]
fn a_nullable_object_is_an_optional_structure() {
    use agentwire_codegen::model::{Ty, TypeKind};
    let schema =
        serde_json::json!({"type": ["object", "null"], "properties": {"a": {"type": "string"}}});
    let model = synthetic_with(
        "synthetic/messages/every_scalar.schema.json",
        "/properties/text",
        schema,
    )
    .unwrap();
    let TypeKind::Struct(s) = &model.type_def("EveryScalar").unwrap().kind else {
        panic!()
    };
    let text = s.fields.iter().find(|f| f.wire == "text").unwrap();
    assert_eq!(
        text.ty,
        Ty::Nullable(Box::new(Ty::Named("EveryScalarTextObject".into())))
    );
}

#[test]
fn the_synthetic_protocol_builds() {
    let model = synthetic_with(
        "synthetic/messages/every_scalar.schema.json",
        "/properties/text",
        serde_json::json!({"type": "string"}),
    )
    .unwrap();
    assert_eq!(model.messages.len(), 8);
}

#[test]
fn datagram_reads_as_documented() {
    let m = model("datagram");
    let error = m.type_def("ErrorField").unwrap();
    assert_eq!(
        error.kind,
        TypeKind::OneOfKinds(vec![Ty::Bool, Ty::String, Ty::Null])
    );
    let TypeKind::Constrained(Constrained::String(rules)) = &m.type_def("Base64Text").unwrap().kind
    else {
        panic!()
    };
    assert_eq!(rules.encoding, Some(Encoding::Base64));
    let TypeKind::Struct(response) = &m.type_def("SessionResponseContent").unwrap().kind else {
        panic!()
    };
    let session_id = response
        .fields
        .iter()
        .find(|f| f.wire == "session_id")
        .unwrap();
    assert!(!session_id.required);
    assert_eq!(session_id.ty, Ty::Named("SessionId".into()));
    let TypeKind::Struct(ping) = &m.type_def("Ping").unwrap().kind else {
        panic!()
    };
    assert_eq!(ping.fields[2].ty, Ty::Null);
    assert!(ping.fields[2].required);
}

#[test]
fn generalbots_timestamps_are_date_times() {
    let m = model("generalbots");
    let TypeKind::Constrained(Constrained::String(rules)) = &m.type_def("Timestamp").unwrap().kind
    else {
        panic!()
    };
    assert_eq!(rules.format, Some(Format::DateTime));
    assert_eq!(
        m.type_def("ErrorCode").unwrap().kind,
        TypeKind::StringEnum(vec![
            "AUTH_FAILED".into(),
            "SESSION_NOT_FOUND".into(),
            "RATE_LIMITED".into(),
            "MESSAGE_TOO_LARGE".into(),
            "INVALID_FORMAT".into(),
            "SUBSCRIPTION_FAILED".into(),
        ])
    );
}

//! A broken schema folder is refused with an error that names the file and the JSON Pointer,
//! never a panic.

use std::fs;
use std::path::{Path, PathBuf};

use agentwire_spec::Workspace;
use serde_json::Value;

/// A copy of `schema/` to break.
fn copy_of_schemas() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema"),
        dir.path(),
    );
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

fn load_error(root: &Path) -> agentwire_spec::Error {
    Workspace::load(root).expect_err("the broken folder must be refused")
}

fn file_name(error: &agentwire_spec::Error) -> PathBuf {
    error.file.clone().expect("the error names a file")
}

#[test]
fn a_copy_of_the_schemas_loads() {
    let dir = copy_of_schemas();
    Workspace::load(dir.path()).expect("unbroken copy loads");
}

#[test]
fn an_id_that_does_not_match_the_path_is_named() {
    let dir = copy_of_schemas();
    let file = dir.path().join("rixa/messages/usr_msg.schema.json");
    edit_json(&file, |v| {
        v["$id"] = "https://agentwire.dev/schema/rixa/messages/other.schema.json".into()
    });
    let error = load_error(dir.path());
    assert_eq!(file_name(&error), file);
    assert_eq!(error.pointer.as_deref(), Some("/$id"));
}

#[test]
fn a_ref_to_a_missing_file_is_named() {
    let dir = copy_of_schemas();
    let file = dir.path().join("datagram/client.schema.json");
    edit_json(&file, |v| {
        v["allOf"][0]["then"]["$ref"] = "messages/nowhere.schema.json".into()
    });
    let error = load_error(dir.path());
    assert_eq!(file_name(&error), file);
    assert!(error.message.contains("nowhere.schema.json"), "{error}");
}

#[test]
fn overlapping_branches_are_refused() {
    let dir = copy_of_schemas();
    let file = dir.path().join("generalbots/server.schema.json");
    edit_json(&file, |v| {
        v["allOf"][1]["if"]["properties"]["type"]["const"] = "message".into()
    });
    let error = load_error(dir.path());
    assert!(error.message.contains("overlap"), "{error}");
}

#[test]
fn an_unsupported_discriminator_test_names_its_pointer() {
    let dir = copy_of_schemas();
    let file = dir.path().join("rixa/client.schema.json");
    edit_json(&file, |v| {
        v["allOf"][2]["if"]["properties"]["type"] = serde_json::json!({"enum": ["usr_msg"]})
    });
    let error = load_error(dir.path());
    assert_eq!(file_name(&error), file);
    assert_eq!(error.pointer.as_deref(), Some("/allOf/2/if"));
}

#[test]
fn a_rule_that_names_an_unknown_message_is_named() {
    let dir = copy_of_schemas();
    let file = dir.path().join("socializer/protocol.json");
    edit_json(&file, |v| v["exchanges"][0]["request"] = "hello".into());
    let error = load_error(dir.path());
    assert_eq!(file_name(&error), file);
    assert_eq!(error.pointer.as_deref(), Some("/exchanges/0/request"));
}

#[test]
fn a_rule_whose_quote_is_not_in_the_document_is_named() {
    let dir = copy_of_schemas();
    let file = dir.path().join("generalbots/protocol.json");
    edit_json(&file, |v| {
        v["limits"]["max_message_bytes"]["rule"]["quote"] = "Max message size | 1 MB".into()
    });
    let error = load_error(dir.path());
    assert_eq!(file_name(&error), file);
    assert_eq!(
        error.pointer.as_deref(),
        Some("/limits/max_message_bytes/rule")
    );
}

#[test]
fn an_unlisted_example_file_is_named() {
    let dir = copy_of_schemas();
    let stray = dir.path().join("rixa/examples/client/stray.json");
    fs::write(&stray, "{}").unwrap();
    assert_eq!(file_name(&load_error(dir.path())), stray);
}

#[test]
fn a_file_that_is_not_json_or_too_large_is_named() {
    let dir = copy_of_schemas();
    let file = dir.path().join("socializer/defs.schema.json");
    fs::write(&file, "{ not json").unwrap();
    let error = load_error(dir.path());
    assert_eq!(file_name(&error), file);
    assert!(error.message.contains("not valid JSON"), "{error}");

    let big = " ".repeat(agentwire_spec::tree::MAX_FILE_BYTES as usize + 1);
    fs::write(&file, big).unwrap();
    let error = load_error(dir.path());
    assert!(error.message.contains("limit"), "{error}");
}

#[test]
fn a_message_in_the_wrong_direction_is_named() {
    let dir = copy_of_schemas();
    let file = dir.path().join("datagram/protocol.json");
    edit_json(&file, |v| {
        v["messages"]["system_message"]["direction"] = "client".into()
    });
    let error = load_error(dir.path());
    assert_eq!(file_name(&error), file);
    assert_eq!(
        error.pointer.as_deref(),
        Some("/messages/system_message/direction")
    );
}

#[test]
fn an_embedded_copy_loads_like_the_folder() {
    use agentwire_spec::tree::SourceTree;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
    let disk = SourceTree::Disk(root.clone());
    let files = disk.files_below("", &|_| true).unwrap();
    let embedded = SourceTree::embedded(
        "embedded",
        files.iter().map(|f| (f.clone(), disk.read(f).unwrap())),
    );
    let from_memory = Workspace::from_tree(&embedded).expect("embedded copy loads");
    let from_disk = Workspace::load(&root).unwrap();
    assert_eq!(from_memory.ids(), from_disk.ids());
    for (a, b) in from_memory.protocols.iter().zip(&from_disk.protocols) {
        assert_eq!(a.description, b.description);
        assert_eq!(a.example_values, b.example_values);
        assert_eq!(a.client, b.client);
    }
}

#[test]
fn an_entry_point_must_refuse_frames_that_are_no_message() {
    // Each change would let a frame through the schema that no generated decoder reads.
    type Case = (&'static str, fn(&mut Value), &'static str);
    let cases: [Case; 5] = [
        (
            "rixa/client.schema.json",
            |v| v["properties"]["type"] = serde_json::json!({"type": "string"}),
            "/properties/type",
        ),
        (
            "rixa/client.schema.json",
            |v| {
                v["properties"]["type"]["enum"]
                    .as_array_mut()
                    .unwrap()
                    .push("extra".into())
            },
            "/properties/type",
        ),
        (
            "rixa/client.schema.json",
            |v| v["minProperties"] = 1.into(),
            "/minProperties",
        ),
        (
            "datagram/client.schema.json",
            |v| v["allOf"][1]["then"]["minProperties"] = 1.into(),
            "/allOf/1/then",
        ),
        (
            "datagram/client.schema.json",
            |v| {
                v["allOf"][1]["then"]["properties"]["content"]["properties"]["request"]["enum"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            "/allOf/1/then",
        ),
    ];
    for (file, edit, pointer) in cases {
        let dir = copy_of_schemas();
        edit_json(&dir.path().join(file), edit);
        let error = load_error(dir.path());
        assert_eq!(error.pointer.as_deref(), Some(pointer), "{file}: {error}");
    }
}

//! Snapshot of the Rust generator on the synthetic protocol, which uses every construct the
//! generator supports: the checked-in crate (`tests/synthetic/generated/`, built and linted with
//! the workspace) is exactly what the generator writes today, and writing is deterministic.

use std::fs;
use std::path::Path;

use agentwire_codegen::emit::rust::{CrateOptions, emit_crate};
use agentwire_codegen::model::ProtocolModel;
use agentwire_spec::Workspace;

fn synthetic() -> ProtocolModel {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/synthetic/schema");
    let workspace = Workspace::load(&root).unwrap();
    ProtocolModel::build(&workspace, &workspace.protocols[0]).unwrap()
}

fn options() -> CrateOptions {
    CrateOptions {
        runtime_path: "../../../../runtime".into(),
        publish: false,
        ..Default::default()
    }
}

#[test]
fn the_synthetic_crate_matches_its_snapshot() {
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/synthetic/generated");
    let files = emit_crate(&synthetic(), &options()).unwrap();
    assert!(files.len() >= 5);
    for (path, bytes) in files {
        let on_disk = fs::read(snapshot.join(&path)).unwrap_or_default();
        assert!(
            on_disk == bytes,
            "tests/synthetic/generated/{path} differs from the generator's output: run `cargo xtask codegen` and review the diff"
        );
    }
}

#[test]
fn generation_is_byte_identical_from_run_to_run() {
    let first = emit_crate(&synthetic(), &options()).unwrap();
    let second = emit_crate(&synthetic(), &options()).unwrap();
    assert_eq!(first, second);
}

#[test]
fn the_snapshot_shows_every_construct() {
    let types = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/synthetic/generated/src/types.rs"),
    )
    .unwrap();
    for needle in [
        "deny_unknown_fields)]",                    // additionalProperties: false
        "pub extra: ::std::collections::BTreeMap<", // typed additionalProperties
        "deserialize_with = \"::agentwire_runtime::wire::nullable\"", // required but nullable
        "deserialize_with = \"::agentwire_runtime::wire::present\"", // optional
        "::std::option::Option<::std::option::Option<", // optional and nullable
        "check_pattern",
        "check_length",
        "check_date_time",
        "check_uuid",
        "pub fn decode(",                         // base64
        "::agentwire_runtime::wire::NumberRules", // bounds
        "check_items",                            // array bounds
        "#[serde(untagged)]",                     // union of kinds
        "pub r#type:",                            // keyword property
        "rename = \"$meta\"",
        "rename = \"user-name\"",
        "pub self_:",
    ] {
        assert!(
            types.contains(needle),
            "the synthetic snapshot lacks {needle}"
        );
    }
}

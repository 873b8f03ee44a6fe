//! How long `cargo xtask codegen` takes: loading, the model and every emitter for today's five
//! protocols, and for synthetic protocols of 100 to 1,000 messages to show how it grows.
//!
//! Run with `cargo bench -p agentwire-codegen --bench codegen`; it prints its figures.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use agentwire_codegen::emit::rust::{CrateOptions, emit_crate};
use agentwire_codegen::emit::{asyncapi, ts};
use agentwire_codegen::generate;
use agentwire_codegen::model::ProtocolModel;
use agentwire_spec::Workspace;
use agentwire_spec::tree::SourceTree;
use serde_json::json;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
    // The first run also parses the templates and warms the allocator, as `cargo xtask
    // codegen` does once.
    let cold = Instant::now();
    black_box(generate::protocols(&Workspace::load(&root).unwrap()).unwrap());
    let cold = cold.elapsed();
    let end_to_end = median(21, || {
        let workspace = Workspace::load(&root).unwrap();
        black_box(generate::protocols(&workspace).unwrap());
    });
    let workspace = Workspace::load(&root).unwrap();
    let emit_all = median(21, || {
        black_box(generate::protocols(&workspace).unwrap());
    });
    let rust_only = median(21, || {
        for model in ProtocolModel::build_all(&workspace).unwrap() {
            black_box(emit_crate(&model, &CrateOptions::default()).unwrap());
        }
    });
    let load_only = median(21, || {
        black_box(Workspace::load(&root).unwrap());
    });
    let models = ProtocolModel::build_all(&workspace).unwrap();
    let model_only = median(21, || {
        black_box(ProtocolModel::build_all(&workspace).unwrap());
    });
    let typescript_only = median(21, || {
        for model in &models {
            black_box(ts::emit_protocol(model).unwrap());
        }
        black_box(ts::emit_shared(&models, &ts::PackageOptions::default()).unwrap());
    });
    let asyncapi_only = median(21, || {
        black_box(asyncapi::emit(&workspace).unwrap());
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("today's five protocols ({cores} cores):");
    println!(
        "  load + model + Rust, TypeScript and AsyncAPI emission  {:>7.1} ms",
        ms(end_to_end)
    );
    println!(
        "  the same, first run in the process                     {:>7.1} ms",
        ms(cold)
    );
    println!(
        "  model + every emitter (schemas already loaded)         {:>7.1} ms",
        ms(emit_all)
    );
    println!(
        "  model + Rust emission only, one thread                 {:>7.1} ms",
        ms(rust_only)
    );
    println!(
        "  load and check the schemas only                        {:>7.1} ms",
        ms(load_only)
    );
    println!(
        "  model only, one thread                                 {:>7.1} ms",
        ms(model_only)
    );
    println!(
        "  TypeScript emission only (model built), one thread     {:>7.1} ms",
        ms(typescript_only)
    );
    println!(
        "  AsyncAPI emission only, one thread                     {:>7.1} ms",
        ms(asyncapi_only)
    );
    println!();
    println!("synthetic protocols (load + model + every emitter):");
    println!(
        "{:>9} {:>12} {:>18}",
        "messages", "total (ms)", "per message (µs)"
    );
    for count in [100, 250, 500, 1000] {
        let tree = synthetic(count);
        let time = median(5, || {
            let workspace = Workspace::from_tree(&tree).unwrap();
            black_box(generate::protocols(&workspace).unwrap());
        });
        println!(
            "{count:>9} {:>12.1} {:>18.1}",
            ms(time),
            time.as_secs_f64() * 1e6 / count as f64
        );
    }
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A protocol of `count` client messages (and as many server replies), each with a tag, a
/// plain string, a bounded integer, an enumeration and a nested object.
fn synthetic(count: usize) -> SourceTree {
    const BASE: &str = "https://agentwire.dev/schema/big/";
    let mut files = Vec::new();
    let mut messages = serde_json::Map::new();
    let mut branches = Vec::new();
    let mut server_branches = Vec::new();
    let mut tags = Vec::new();
    let mut server_tags = Vec::new();
    for (direction, prefix, list, tags) in [
        ("client", "request", &mut branches, &mut tags),
        ("server", "reply", &mut server_branches, &mut server_tags),
    ] {
        for i in 0..count {
            let name = format!("{prefix}_{i}");
            tags.push(name.clone());
            let schema = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": format!("{BASE}messages/{name}.schema.json"),
                "title": format!("{}{i}", if direction == "client" { "Request" } else { "Reply" }),
                "description": format!("Message {i}."),
                "type": "object",
                "required": ["type", "text", "count"],
                "properties": {
                    "type": {"const": name},
                    "text": {"type": "string", "description": "Some text."},
                    "count": {"type": "integer", "minimum": 0, "maximum": 1000},
                    "mode": {"enum": ["fast", "slow"]},
                    "detail": {"type": "object", "properties": {"note": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}
                }
            });
            files.push((
                format!("big/messages/{name}.schema.json"),
                schema.to_string(),
            ));
            messages.insert(name.clone(), json!({"direction": direction, "rule": {"quote": "Every message has a type.", "level": "required"}}));
            list.push(json!({"if": {"properties": {"type": {"const": name}}, "required": ["type"]}, "then": {"$ref": format!("messages/{name}.schema.json")}}));
        }
    }
    // An entry point lists its tags in an `enum`, so that it refuses every other tag.
    for (file, title, list, tags) in [
        ("client", "ClientMessage", branches, tags),
        ("server", "ServerMessage", server_branches, server_tags),
    ] {
        let entry = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": format!("{BASE}{file}.schema.json"), "title": title, "type": "object", "required": ["type"], "properties": {"type": {"enum": tags}}, "allOf": list});
        files.push((format!("big/{file}.schema.json"), entry.to_string()));
    }
    let protocol = json!({
        "id": "big", "title": "Big", "summary": "A generated protocol for benchmarks.",
        "documents": [{"file": "document.md", "origin": "benchmark"}],
        "endpoint": {"path": "/big", "rule": {"quote": "Every message has a type.", "level": "required"}},
        "messages": messages,
    });
    files.push(("big/protocol.json".into(), protocol.to_string()));
    files.push(("big/document.md".into(), "Every message has a type.".into()));
    files.push((
        "big/examples/index.json".into(),
        json!({"valid": [], "invalid": []}).to_string(),
    ));
    SourceTree::embedded("big", files)
}

//! Everything `cargo xtask codegen` writes, in one function, so that the tool, the tests and the
//! benchmark all measure the same work.
//!
//! The model is read once per protocol; then the emitters run as independent jobs (a Rust crate
//! per protocol, the TypeScript package, the AsyncAPI documents) on all cores. The result is
//! merged in a fixed order, so output does not depend on scheduling.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use agentwire_spec::error::Result;
use agentwire_spec::examples::ExampleIndex;
use agentwire_spec::protocol::ProtocolDescription;
use agentwire_spec::workspace::Workspace;

use crate::emit::{asyncapi, rust, ts};
use crate::model::ProtocolModel;

/// Generated files, by path relative to the repository root.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Where the synthetic protocol (every construct the generator supports) lives, and where its
/// crate is generated as a snapshot that the workspace builds and tests.
pub const SYNTHETIC_SCHEMA: &str = "codegen/tests/synthetic/schema";
/// See [`SYNTHETIC_SCHEMA`].
pub const SYNTHETIC_CRATE: &str = "codegen/tests/synthetic/generated";

/// Every file generated from the repository at `root`: the format schemas of `schema/`, the
/// Rust crates, the TypeScript package and the AsyncAPI documents of its protocols, and the
/// synthetic protocol's crate.
pub fn all(root: &Path) -> Result<Files> {
    let workspace = Workspace::load(&root.join("schema"))?;
    let synthetic = Workspace::load(&root.join(SYNTHETIC_SCHEMA))?;
    let mut files = protocols(&workspace)?;
    files.insert(
        "schema/protocol.schema.json".into(),
        pretty(&ProtocolDescription::json_schema()),
    );
    files.insert(
        "schema/examples.schema.json".into(),
        pretty(&ExampleIndex::json_schema()),
    );
    let options = rust::CrateOptions {
        runtime_path: "../../../../runtime".into(),
        publish: false,
        ..Default::default()
    };
    for model in ProtocolModel::build_all(&synthetic)? {
        let crate_files = rust::emit_crate(&model, &options)?;
        files.extend(
            crate_files
                .into_iter()
                .map(|(path, bytes)| (format!("{SYNTHETIC_CRATE}/{path}"), bytes)),
        );
    }
    Ok(files)
}

/// The files generated from the protocols of one workspace: a Rust crate each, the TypeScript
/// package and the AsyncAPI documents.
pub fn protocols(workspace: &Workspace) -> Result<Files> {
    let models = ProtocolModel::build_all(workspace)?;
    let mut jobs: Vec<Box<dyn Fn() -> Result<Files> + Send + Sync + '_>> = Vec::new();
    // The longest jobs first, so that the cores finish together.
    for model in &models {
        jobs.push(Box::new(move || ts::emit_protocol(model)));
    }
    for model in &models {
        jobs.push(Box::new(move || {
            let crate_files = rust::emit_crate(model, &rust::CrateOptions::default())?;
            let dir = format!("{}/{}", rust::GENERATED_DIR, model.id);
            Ok(crate_files
                .into_iter()
                .map(|(path, bytes)| (format!("{dir}/{path}"), bytes))
                .collect())
        }));
    }
    jobs.push(Box::new(|| {
        ts::emit_shared(&models, &ts::PackageOptions::default())
    }));
    jobs.push(Box::new(|| asyncapi::emit(workspace)));
    let mut files = Files::new();
    for result in run_parallel(&jobs) {
        files.extend(result?);
    }
    Ok(files)
}

/// Runs jobs on every core, returning their results in job order.
fn run_parallel<T: Send>(jobs: &[Box<dyn Fn() -> T + Send + Sync + '_>]) -> Vec<T> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    let result = job();
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

fn pretty(value: &serde_json::Value) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values always serialise");
    text.push('\n');
    text.into_bytes()
}

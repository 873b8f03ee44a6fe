//! What `cargo xtask codegen` writes, and how the checked-in tree differs from it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use agentwire_codegen::Workspace;
use agentwire_codegen::emit::rust;
use agentwire_codegen::model::ProtocolModel;
use anyhow::{Context, Result};

/// Folders the generator owns entirely: a file in them that it did not produce is stale.
const OWNED_DIRS: &[&str] = &["generated", SYNTHETIC_CRATE];

/// The synthetic protocol that exercises every construct the generator supports, and where its
/// crate is generated (a snapshot that tests build and check).
const SYNTHETIC_SCHEMA: &str = "codegen/tests/synthetic/schema";
const SYNTHETIC_CRATE: &str = "codegen/tests/synthetic/generated";

/// Every generated file, by path relative to the workspace root.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Produces every generated file from `schema/`.
pub fn generate(root: &Path) -> Result<Files> {
    let schema_root = root.join("schema");
    let workspace = Workspace::load(&schema_root)
        .map_err(anyhow::Error::msg)
        .context("loading schema/")?;
    let mut files = Files::new();
    files.insert(
        "schema/protocol.schema.json".into(),
        pretty(&agentwire_codegen::protocol::ProtocolDescription::json_schema()),
    );
    files.insert(
        "schema/examples.schema.json".into(),
        pretty(&agentwire_codegen::examples::ExampleIndex::json_schema()),
    );
    let models = ProtocolModel::build_all(&workspace)
        .map_err(anyhow::Error::msg)
        .context("reading the model")?;
    for model in &models {
        let crate_files =
            rust::emit_crate(model, &rust::CrateOptions::default()).map_err(anyhow::Error::msg)?;
        let dir = format!("{}/{}", rust::GENERATED_DIR, model.id);
        files.extend(
            crate_files
                .into_iter()
                .map(|(path, bytes)| (format!("{dir}/{path}"), bytes)),
        );
    }
    files.extend(synthetic_crate(root)?);
    files.extend(agentwire_codegen::emit::asyncapi::emit(&workspace).map_err(anyhow::Error::msg)?);
    files.extend(agentwire_codegen::emit::ts::emit(&models).map_err(anyhow::Error::msg)?);
    Ok(files)
}

/// The synthetic protocol's crate: not published, and two levels deeper than the real ones.
fn synthetic_crate(root: &Path) -> Result<Files> {
    let workspace = Workspace::load(&root.join(SYNTHETIC_SCHEMA))
        .map_err(anyhow::Error::msg)
        .context("loading the synthetic protocol")?;
    let options = rust::CrateOptions {
        runtime_path: "../../../../runtime".into(),
        publish: false,
        ..Default::default()
    };
    let mut files = Files::new();
    for model in ProtocolModel::build_all(&workspace).map_err(anyhow::Error::msg)? {
        let crate_files = rust::emit_crate(&model, &options).map_err(anyhow::Error::msg)?;
        files.extend(
            crate_files
                .into_iter()
                .map(|(path, bytes)| (format!("{SYNTHETIC_CRATE}/{path}"), bytes)),
        );
    }
    Ok(files)
}

fn pretty(value: &serde_json::Value) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values always serialise");
    text.push('\n');
    text.into_bytes()
}

/// The differences between the generated files and the tree.
#[derive(Debug, Default)]
pub struct Plan {
    /// Files to create or overwrite.
    pub changed: Vec<(String, Vec<u8>)>,
    /// Files in owned folders that the generator no longer produces.
    pub removed: Vec<String>,
}

/// Compares the generated files with what is on disk.
pub fn compare(root: &Path, files: &Files) -> Result<Plan> {
    let mut plan = Plan::default();
    for (path, content) in files {
        let on_disk = fs::read(root.join(path)).ok();
        if on_disk.as_deref() != Some(content.as_slice()) {
            plan.changed.push((path.clone(), content.clone()));
        }
    }
    for dir in OWNED_DIRS {
        let owned = root.join(dir);
        if !owned.is_dir() {
            continue;
        }
        for relative in agentwire_codegen::tree::SourceTree::Disk(owned.clone())
            .files_below("", &|_| true)
            .map_err(anyhow::Error::msg)?
        {
            let path = format!("{dir}/{relative}");
            if !files.contains_key(&path) && !is_build_artifact(&path) {
                plan.removed.push(path);
            }
        }
    }
    Ok(plan)
}

/// Files that builds leave in generated folders and that are not output (npm installs, locks).
fn is_build_artifact(path: &str) -> bool {
    path.split('/')
        .any(|part| part == "node_modules" || part == "target" || part == "dist")
}

impl Plan {
    /// Whether the tree already matches.
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }

    /// One line per stale file.
    pub fn describe(&self) -> Vec<String> {
        let changed = self
            .changed
            .iter()
            .map(|(path, _)| format!("stale or missing: {path}"));
        let removed = self
            .removed
            .iter()
            .map(|path| format!("not generated: {path}"));
        changed.chain(removed).collect()
    }

    /// Writes the changes.
    pub fn apply(&self, root: &Path) -> Result<()> {
        for (path, content) in &self.changed {
            let target = root.join(path);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            fs::write(&target, content).with_context(|| format!("writing {}", target.display()))?;
        }
        for path in &self.removed {
            fs::remove_file(root.join(path)).with_context(|| format!("removing {path}"))?;
        }
        Ok(())
    }
}

//! What `cargo xtask codegen` writes, and how the checked-in tree differs from it.

use std::fs;
use std::path::Path;

use agentwire_codegen::generate;
use anyhow::{Context, Result};

/// Folders the generator owns entirely: a file in them that it did not produce is stale.
const OWNED_DIRS: &[&str] = &["generated", generate::SYNTHETIC_CRATE];

/// Every generated file, by path relative to the workspace root.
pub type Files = generate::Files;

/// Produces every generated file from `schema/` (and the synthetic protocol).
pub fn generate(root: &Path) -> Result<Files> {
    generate::all(root)
        .map_err(anyhow::Error::msg)
        .context("generating from schema/")
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
        for relative in agentwire_spec::tree::SourceTree::Disk(owned.clone())
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

//! The protocol documents the suite checks against: the copy of `schema/` embedded at build time,
//! or a folder given with `--schema-dir`, loaded and checked by `agentwire-spec`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use agentwire_spec::tree::SourceTree;
use agentwire_spec::{ProtocolSource, Workspace};
use anyhow::{Context, Result, anyhow};

use crate::validate::ProtocolValidators;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_schema.rs"));
}

/// Loaded protocols and their frame validators.
#[derive(Debug)]
pub struct Schemas {
    /// Every protocol, checked by the loader of `agentwire-spec`.
    pub workspace: Workspace,
    validators: BTreeMap<String, Arc<ProtocolValidators>>,
}

impl Schemas {
    /// The copy of `schema/` built into this binary.
    pub fn embedded() -> Result<Self> {
        let files = embedded::FILES
            .iter()
            .map(|(path, text)| (path.to_string(), text.to_string()));
        Self::from_tree(&SourceTree::embedded("<embedded schema>", files))
    }

    /// A schema folder on disk (`--schema-dir`).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_tree(&SourceTree::Disk(dir.to_path_buf()))
            .with_context(|| format!("loading the schema folder {}", dir.display()))
    }

    /// Loads, checks and compiles every protocol of a tree.
    pub fn from_tree(tree: &SourceTree) -> Result<Self> {
        let workspace = Workspace::from_tree(tree).map_err(|e| anyhow!("{e}"))?;
        let registry = workspace.schemas.registry().map_err(|e| anyhow!("{e}"))?;
        let mut validators = BTreeMap::new();
        for protocol in &workspace.protocols {
            let built = ProtocolValidators::new(&workspace.schemas, &registry, protocol)
                .with_context(|| format!("compiling the schemas of {}", protocol.id))?;
            validators.insert(protocol.id.clone(), Arc::new(built));
        }
        Ok(Self {
            workspace,
            validators,
        })
    }

    /// The protocol with this id.
    pub fn protocol(&self, id: &str) -> Option<&ProtocolSource> {
        self.workspace.protocol(id)
    }

    /// The validators of a protocol.
    pub fn validators(&self, id: &str) -> Option<Arc<ProtocolValidators>> {
        self.validators.get(id).cloned()
    }

    /// Every protocol id, sorted.
    pub fn ids(&self) -> Vec<&str> {
        self.workspace.ids()
    }
}

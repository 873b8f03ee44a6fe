//! Where the files of `schema/` come from: a directory, or a copy embedded in a program.
//!
//! Reading is bounded (file size, file count, directory depth) because a schema folder is input
//! like any other.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// Largest file the loader reads.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most files the loader accepts below one root.
pub const MAX_FILES: usize = 10_000;
/// Deepest directory nesting the loader walks.
const MAX_DEPTH: usize = 16;

/// A tree of text files addressed by `/`-separated paths relative to its root.
#[derive(Debug, Clone)]
pub enum SourceTree {
    /// Files on disk below this directory.
    Disk(PathBuf),
    /// Files held in memory; `label` stands for the root in error messages.
    Memory {
        /// What the root is called in messages.
        label: PathBuf,
        /// Contents by relative path.
        files: BTreeMap<String, String>,
    },
}

impl SourceTree {
    /// A tree of embedded files, e.g. from `include_str!`.
    pub fn embedded(
        label: impl Into<PathBuf>,
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        Self::Memory {
            label: label.into(),
            files: files.into_iter().collect(),
        }
    }

    /// The path of a file as shown in messages.
    pub fn display(&self, relative: &str) -> PathBuf {
        let root = match self {
            Self::Disk(root) => root,
            Self::Memory { label, .. } => label,
        };
        if relative.is_empty() {
            root.clone()
        } else {
            root.join(relative)
        }
    }

    /// Every file below `dir` (`""` for the root) whose name passes `keep`, sorted, as paths
    /// relative to the root.
    pub fn files_below(&self, dir: &str, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
        let name_of = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
        match self {
            Self::Disk(root) => {
                let mut out = Vec::new();
                let start = if dir.is_empty() {
                    root.clone()
                } else {
                    root.join(dir)
                };
                walk(root, &start, 0, keep, &mut out)?;
                out.sort();
                Ok(out)
            }
            Self::Memory { files, .. } => {
                let prefix = if dir.is_empty() {
                    String::new()
                } else {
                    format!("{dir}/")
                };
                Ok(files
                    .keys()
                    .filter(|p| p.starts_with(&prefix) && keep(&name_of(p)))
                    .cloned()
                    .collect())
            }
        }
    }

    /// The top-level folders of the tree, sorted.
    pub fn folders(&self) -> Result<Vec<String>> {
        match self {
            Self::Disk(root) => {
                let entries = fs::read_dir(root)
                    .map_err(|e| Error::in_file(root, format!("cannot list: {e}")))?;
                let mut out: Vec<String> = entries
                    .filter_map(|entry| entry.ok())
                    .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect();
                out.sort();
                Ok(out)
            }
            Self::Memory { files, .. } => {
                let mut out: Vec<String> = files
                    .keys()
                    .filter_map(|p| Some(p.split_once('/')?.0.to_string()))
                    .collect();
                out.sort();
                out.dedup();
                Ok(out)
            }
        }
    }

    /// Whether a file exists.
    pub fn exists(&self, relative: &str) -> bool {
        match self {
            Self::Disk(root) => root.join(relative).is_file(),
            Self::Memory { files, .. } => files.contains_key(relative),
        }
    }

    /// Reads a text file, refusing files over [`MAX_FILE_BYTES`].
    pub fn read(&self, relative: &str) -> Result<String> {
        match self {
            Self::Disk(root) => read_text(&root.join(relative)),
            Self::Memory { files, .. } => {
                let text = files
                    .get(relative)
                    .ok_or_else(|| Error::in_file(self.display(relative), "no such file"))?;
                if text.len() as u64 > MAX_FILE_BYTES {
                    return Err(Error::in_file(
                        self.display(relative),
                        format!(
                            "{} bytes is over the {MAX_FILE_BYTES} byte limit",
                            text.len()
                        ),
                    ));
                }
                Ok(text.clone())
            }
        }
    }

    /// Reads and parses a JSON file.
    pub fn read_json(&self, relative: &str) -> Result<Value> {
        serde_json::from_str(&self.read(relative)?)
            .map_err(|e| Error::in_file(self.display(relative), format!("not valid JSON: {e}")))
    }
}

/// Joins a `/`-separated path onto a folder of the tree, resolving `.` and `..`.
pub fn join_relative(folder: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Reads and parses a JSON file, refusing files over [`MAX_FILE_BYTES`].
pub fn read_json(path: &Path) -> Result<Value> {
    serde_json::from_str(&read_text(path)?)
        .map_err(|e| Error::in_file(path, format!("not valid JSON: {e}")))
}

/// Reads a text file, refusing files over [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| Error::in_file(path, format!("cannot read: {e}"));
    // Opened first and checked to be a regular file, then read no further than the limit: a
    // link to a FIFO or to /dev/zero neither hangs nor exhausts memory.
    let file = fs::File::open(path).map_err(cannot)?;
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(Error::in_file(path, "not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::in_file(
            path,
            format!("over the {MAX_FILE_BYTES} byte limit"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| Error::in_file(path, "not UTF-8 text"))
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    keep: &dyn Fn(&str) -> bool,
    out: &mut Vec<String>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::in_file(dir, "directories nest too deeply"));
    }
    let entries =
        fs::read_dir(dir).map_err(|e| Error::in_file(dir, format!("cannot list: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::in_file(dir, format!("cannot list: {e}")))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| Error::in_file(&path, e.to_string()))?;
        if kind.is_dir() {
            walk(root, &path, depth + 1, keep, out)?;
        } else if kind.is_file() && keep(&entry.file_name().to_string_lossy()) {
            if out.len() == MAX_FILES {
                return Err(Error::in_file(root, format!("more than {MAX_FILES} files")));
            }
            let relative = path.strip_prefix(root).expect("walked below the root");
            let parts: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

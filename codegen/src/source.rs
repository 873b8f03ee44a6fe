//! The schema files of `schema/`, loaded once and addressed by their `$id`.
//!
//! Every `*.schema.json` below the root is read (within size bounds), its `$id` is checked
//! against its path, and `$ref`s are resolved here, without any network access.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// Base URI of every schema `$id`: `<base><path relative to schema/>`.
pub const SCHEMA_BASE_URI: &str = "https://agentwire.dev/schema/";

/// Largest schema or data file the loader reads.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most files the loader accepts below one root.
pub const MAX_FILES: usize = 10_000;
/// Deepest directory nesting the loader walks.
const MAX_DEPTH: usize = 16;

/// One schema document.
#[derive(Debug, Clone)]
pub struct SchemaDocument {
    /// Its `$id`.
    pub uri: String,
    /// Its path relative to the schema root, with `/` separators.
    pub path: String,
    /// Its content.
    pub value: Value,
}

/// Every schema document below a root directory.
#[derive(Debug, Clone)]
pub struct SchemaSet {
    root: PathBuf,
    documents: BTreeMap<String, SchemaDocument>,
}

/// A `$ref` resolved to a document and a JSON Pointer inside it.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The document.
    pub document: &'a SchemaDocument,
    /// The pointer inside the document (`""` for the whole document).
    pub pointer: String,
    /// The schema at that pointer.
    pub schema: &'a Value,
}

impl SchemaSet {
    /// Loads every `*.schema.json` file below `root`.
    pub fn load(root: &Path) -> Result<Self> {
        let files = walk_files(root, &|name| name.ends_with(".schema.json"))?;
        let mut documents = BTreeMap::new();
        for relative in files {
            let path = root.join(&relative);
            let value = read_json(&path)?;
            let uri = format!("{SCHEMA_BASE_URI}{relative}");
            match value.get("$id").and_then(Value::as_str) {
                Some(id) if id == uri => {}
                Some(id) => {
                    return Err(Error::at(
                        &path,
                        "/$id",
                        format!("`$id` is {id:?} but the file's place gives {uri:?}"),
                    ));
                }
                None => return Err(Error::at(&path, "/$id", "a schema file needs an `$id`")),
            }
            documents.insert(
                uri.clone(),
                SchemaDocument {
                    uri,
                    path: relative,
                    value,
                },
            );
        }
        Ok(Self {
            root: root.to_path_buf(),
            documents,
        })
    }

    /// The directory the set was loaded from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every document, by `$id`.
    pub fn documents(&self) -> impl Iterator<Item = &SchemaDocument> {
        self.documents.values()
    }

    /// The document with this `$id`.
    pub fn get(&self, uri: &str) -> Option<&SchemaDocument> {
        self.documents.get(uri)
    }

    /// The document at this path relative to the root.
    pub fn by_path(&self, relative: &str) -> Option<&SchemaDocument> {
        self.documents.get(&format!("{SCHEMA_BASE_URI}{relative}"))
    }

    /// Resolves `reference`, found in the document `base`, to the schema it names.
    pub fn resolve(&self, base: &SchemaDocument, reference: &str) -> Result<Resolved<'_>> {
        let absolute = resolve_uri(&base.uri, reference)
            .map_err(|message| Error::in_file(self.root.join(&base.path), message))?;
        self.resolve_absolute(&absolute).map_err(|message| {
            Error::in_file(
                self.root.join(&base.path),
                format!("`$ref` {reference:?} does not resolve: {message}"),
            )
        })
    }

    /// Resolves an absolute URI with an optional JSON Pointer fragment.
    pub fn resolve_absolute(&self, absolute: &str) -> std::result::Result<Resolved<'_>, String> {
        let (uri, fragment) = absolute.split_once('#').unwrap_or((absolute, ""));
        let document = self
            .documents
            .get(uri)
            .ok_or_else(|| format!("no schema file has `$id` {uri:?}"))?;
        if !fragment.is_empty() && !fragment.starts_with('/') {
            return Err(format!(
                "fragment {fragment:?} is not a JSON Pointer (anchors are not supported)"
            ));
        }
        let schema = document
            .value
            .pointer(fragment)
            .ok_or_else(|| format!("{} has nothing at {fragment:?}", document.path))?;
        Ok(Resolved {
            document,
            pointer: fragment.to_string(),
            schema,
        })
    }

    /// A registry holding every document of the set, for building validators.
    pub fn registry(&self) -> Result<jsonschema::Registry<'static>> {
        jsonschema::Registry::new()
            .extend(
                self.documents
                    .values()
                    .map(|d| (d.uri.clone(), d.value.clone())),
            )
            .and_then(|builder| builder.prepare())
            .map_err(|e| Error::in_file(&self.root, format!("schema registry: {e}")))
    }

    /// A validator for the schema with this absolute URI (fragment allowed); see [`validator_in`].
    pub fn validator(&self, uri: &str) -> Result<jsonschema::Validator> {
        validator_in(&self.registry()?, uri)
    }
}

/// A validator for the schema with this absolute URI, with formats asserted and every
/// reference served from `registry`: it never touches the network.
pub fn validator_in(
    registry: &jsonschema::Registry<'_>,
    uri: &str,
) -> Result<jsonschema::Validator> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(registry)
        .offline()
        .should_validate_formats(true)
        .build(&serde_json::json!({ "$ref": uri }))
        .map_err(|e| Error::message(format!("validator for {uri}: {e}")))
}

/// Resolves a URI reference against a base URI (RFC 3986).
pub fn resolve_uri(base: &str, reference: &str) -> std::result::Result<String, String> {
    let base = jsonschema::uri::from_str(base).map_err(|e| format!("base URI {base:?}: {e}"))?;
    jsonschema::uri::resolve_against(&base.borrow(), reference)
        .map(|uri| uri.as_str().to_string())
        .map_err(|e| format!("`$ref` {reference:?}: {e}"))
}

/// Reads and parses a JSON file, refusing files over [`MAX_FILE_BYTES`].
pub fn read_json(path: &Path) -> Result<Value> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| Error::in_file(path, format!("not valid JSON: {e}")))
}

/// Reads a text file, refusing files over [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String> {
    let size = fs::metadata(path)
        .map_err(|e| Error::in_file(path, format!("cannot read: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(Error::in_file(
            path,
            format!("{size} bytes is over the {MAX_FILE_BYTES} byte limit"),
        ));
    }
    fs::read_to_string(path).map_err(|e| Error::in_file(path, format!("cannot read: {e}")))
}

/// Every file below `root` whose name passes `keep`, as `/`-separated paths relative to `root`,
/// within the loader's bounds on depth and count.
pub fn walk_files(root: &Path, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    walk(root, root, 0, keep, &mut out)?;
    out.sort();
    Ok(out)
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

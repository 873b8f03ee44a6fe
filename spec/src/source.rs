//! The schema files of `schema/`, loaded once and addressed by their `$id`.
//!
//! Every `*.schema.json` below the root is read (within size bounds), its `$id` is checked
//! against its path, and `$ref`s are resolved here, without any network access.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::tree::SourceTree;

/// Base URI of every schema `$id`: `<base><path relative to schema/>`.
pub const SCHEMA_BASE_URI: &str = "https://agentwire.dev/schema/";

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

/// Every schema document of a source tree.
#[derive(Debug, Clone)]
pub struct SchemaSet {
    tree: SourceTree,
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
    /// Loads every `*.schema.json` file of the tree.
    pub fn load(tree: &SourceTree) -> Result<Self> {
        let files = tree.files_below("", &|name| name.ends_with(".schema.json"))?;
        let mut documents = BTreeMap::new();
        for relative in files {
            let value = tree.read_json(&relative)?;
            let uri = format!("{SCHEMA_BASE_URI}{relative}");
            let path = tree.display(&relative);
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
            // A document that is not a valid 2020-12 schema would be read in ways no validator
            // reads it: refuse it here, at its pointer.
            if let Some(error) = jsonschema::draft202012::meta::validator()
                .iter_errors(&value)
                .next()
            {
                return Err(Error::at(
                    &path,
                    error.instance_path().as_str(),
                    format!("not a valid JSON Schema 2020-12: {error}"),
                ));
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
            tree: tree.clone(),
            documents,
        })
    }

    /// Where the files come from.
    pub fn tree(&self) -> &SourceTree {
        &self.tree
    }

    /// The path of a document as shown in messages.
    pub fn display(&self, document: &SchemaDocument) -> std::path::PathBuf {
        self.tree.display(&document.path)
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
            .map_err(|message| Error::in_file(self.display(base), message))?;
        self.resolve_absolute(&absolute).map_err(|message| {
            Error::in_file(
                self.display(base),
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
            .map_err(|e| Error::in_file(self.tree.display(""), format!("schema registry: {e}")))
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

//! Message schemas as self-contained AsyncAPI Schema Objects.
//!
//! # Which `schemaFormat`
//!
//! Payloads are written as plain Schema Objects without a `schemaFormat`, which in an AsyncAPI
//! 3.0.0 document means `application/vnd.aai.asyncapi+json;version=3.0.0`: the AsyncAPI Schema
//! Object, a superset of JSON Schema draft-07. Our schemas are draft 2020-12, which AsyncAPI
//! 3.0 cannot declare: the official parser accepts draft-07 and the AsyncAPI formats only, and
//! a 2020-12 `$schema` would make its validator look for a meta-schema it does not have.
//! The choice between the default format and `application/schema+json;version=draft-07`
//! (a Multi Format Schema Object) falls to the default because
//! - both mean draft-07 for the keywords we use, and every tool reads the default format while
//!   Multi Format Schema Objects are less widely supported;
//! - bundled definitions live in `components.schemas`, where a plain Schema Object is
//!   referenced directly (`#/components/schemas/<key>`), whereas a `$ref` into a Multi Format
//!   wrapper would have to point inside it.
//!
//! Everything the schemas use is draft-07 already (`if`/`then`/`else`, `const`, `examples`,
//! `format`, `contentEncoding`), except the points below. `contentEncoding` is an annotation in
//! 2020-12; draft-07 lets a validator assert it but asks for a switch to turn that off, and
//! AsyncAPI's own validator (Ajv) treats it as an annotation, so the meaning is kept.
//! The exceptions:
//! - `$defs` and references between files: every `$ref` target is copied into
//!   `components.schemas` and referenced as `#/components/schemas/<key>`, so that the parser
//!   never follows a reference to the network or the file system (our `$id`s name
//!   `https://agentwire.dev/schema/...`, which does not exist);
//! - a `$ref` with sibling keywords, which draft-07 would ignore: it moves into an `allOf`;
//! - `dependentRequired`/`dependentSchemas` (draft-07 `dependencies`) and `prefixItems`/`items`
//!   (draft-07 `items`/`additionalItems`), which are rewritten;
//! - `$id` and `$schema`, which are dropped (the message's `x-agentwire-schema` names the file).
//!
//! Keywords with no draft-07 equivalent (`unevaluatedProperties`, `$dynamicRef`, ...) are
//! refused with the file and pointer, rather than silently weakening a payload.

use std::collections::{BTreeMap, VecDeque};

use agentwire_spec::error::{Error, Result};
use agentwire_spec::source::{SCHEMA_BASE_URI, SchemaDocument, SchemaSet};
use agentwire_spec::union::join;
use serde_json::{Map, Value, json};

/// Keywords whose value is a map of schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf"];
/// Keywords whose value is one schema (or, for draft-07 `items`, a list).
const SCHEMA_VALUES: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "items",
    "additionalItems",
    "contains",
    "additionalProperties",
    "propertyNames",
];
/// Keywords that draft-07 cannot express.
const UNSUPPORTED: &[&str] = &[
    "$anchor",
    "$dynamicAnchor",
    "$dynamicRef",
    "$recursiveAnchor",
    "$recursiveRef",
    "$vocabulary",
    "unevaluatedProperties",
    "unevaluatedItems",
    "minContains",
    "maxContains",
    "contentSchema",
];

/// Converts message schemas and collects what they reference into `components.schemas`.
#[derive(Debug)]
pub(super) struct Bundle<'a> {
    set: &'a SchemaSet,
    /// The component key of every referenced schema, by absolute URI.
    keys: BTreeMap<String, String>,
    /// Referenced schemas not converted yet, by absolute URI.
    pending: VecDeque<String>,
    /// The converted components, by key.
    components: BTreeMap<String, Value>,
}

impl<'a> Bundle<'a> {
    pub(super) fn new(set: &'a SchemaSet) -> Self {
        Self {
            set,
            keys: BTreeMap::new(),
            pending: VecDeque::new(),
            components: BTreeMap::new(),
        }
    }

    /// The schema with this absolute URI (fragment allowed), converted to use inline.
    pub(super) fn schema(&mut self, uri: &str) -> Result<Value> {
        let resolved = self
            .set
            .resolve_absolute(uri)
            .map_err(|message| Error::message(format!("schema {uri}: {message}")))?;
        self.convert(resolved.document, &resolved.pointer, resolved.schema)
    }

    /// Every referenced schema, converted, by key (sorted): the `components.schemas` map.
    pub(super) fn into_components(mut self) -> Result<Map<String, Value>> {
        while let Some(uri) = self.pending.pop_front() {
            let converted = self.schema(&uri)?;
            self.components.insert(self.keys[&uri].clone(), converted);
        }
        Ok(self.components.into_iter().collect())
    }

    /// `#/components/schemas/<key>` for a `$ref` found in `document`, queuing its target.
    fn reference(&mut self, document: &SchemaDocument, reference: &str) -> Result<String> {
        let resolved = self.set.resolve(document, reference)?;
        let absolute = if resolved.pointer.is_empty() {
            resolved.document.uri.clone()
        } else {
            format!("{}#{}", resolved.document.uri, resolved.pointer)
        };
        let key = match self.keys.get(&absolute) {
            Some(key) => key.clone(),
            None => {
                let key = self.new_key(&absolute);
                self.keys.insert(absolute.clone(), key.clone());
                self.pending.push_back(absolute);
                key
            }
        };
        Ok(format!("#/components/schemas/{key}"))
    }

    /// A readable key for a schema URI, e.g. `generalbots.defs.ErrorCode` for
    /// `.../generalbots/defs.schema.json#/$defs/ErrorCode`, made unique with a number.
    fn new_key(&self, absolute: &str) -> String {
        let relative = absolute.strip_prefix(SCHEMA_BASE_URI).unwrap_or(absolute);
        let (path, pointer) = relative.split_once('#').unwrap_or((relative, ""));
        let mut parts: Vec<String> = path
            .trim_end_matches(".json")
            .trim_end_matches(".schema")
            .split('/')
            .map(str::to_owned)
            .collect();
        let mut segments = pointer.split('/').skip(1).peekable();
        if segments
            .peek()
            .is_some_and(|s| *s == "$defs" || *s == "definitions")
        {
            segments.next();
        }
        parts.extend(segments.map(|s| s.replace("~1", "/").replace("~0", "~")));
        let base = super::component_key(&parts.join("."));
        let taken = |key: &String| self.keys.values().any(|k| k == key);
        let mut key = base.clone();
        let mut n = 2;
        while taken(&key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        key
    }

    /// The draft-07 form of the schema at `pointer` in `document`.
    fn convert(
        &mut self,
        document: &SchemaDocument,
        pointer: &str,
        schema: &Value,
    ) -> Result<Value> {
        let Some(object) = schema.as_object() else {
            return Ok(schema.clone());
        };
        let set = self.set;
        let at = |key: &str| join(pointer, key);
        let fail = |key: &str, message: String| Error::at(set.display(document), at(key), message);
        let mut out = Map::new();
        let mut dependencies = Map::new();
        for (key, value) in object {
            let key = key.as_str();
            match key {
                "$schema" | "$defs" | "definitions" => {}
                "$id" if pointer.is_empty() => {}
                "$id" => {
                    return Err(fail(key, "a nested `$id` is not supported".into()));
                }
                "$ref" => {
                    let reference = value
                        .as_str()
                        .ok_or_else(|| fail(key, "`$ref` is a string".into()))?;
                    out.insert(key.into(), json!(self.reference(document, reference)?));
                }
                "dependentRequired" => {
                    let map = value
                        .as_object()
                        .ok_or_else(|| fail(key, "`dependentRequired` is an object".into()))?;
                    for (name, required) in map {
                        merge_dependency(&mut dependencies, name, required.clone());
                    }
                }
                "dependentSchemas" => {
                    let map = value
                        .as_object()
                        .ok_or_else(|| fail(key, "`dependentSchemas` is an object".into()))?;
                    for (name, sub) in map {
                        let converted = self.convert(document, &join(&at(key), name), sub)?;
                        merge_dependency(&mut dependencies, name, converted);
                    }
                }
                "prefixItems" => {
                    out.insert(
                        "items".into(),
                        self.convert_list(document, &at(key), value)?,
                    );
                }
                "items" if object.contains_key("prefixItems") => {
                    let converted = self.convert(document, &at(key), value)?;
                    out.insert("additionalItems".into(), converted);
                }
                "items" if value.is_array() => {
                    out.insert(key.into(), self.convert_list(document, &at(key), value)?);
                }
                _ if UNSUPPORTED.contains(&key) => {
                    return Err(fail(
                        key,
                        format!("`{key}` has no JSON Schema draft-07 equivalent for AsyncAPI"),
                    ));
                }
                _ if SCHEMA_MAPS.contains(&key) => {
                    let map = value
                        .as_object()
                        .ok_or_else(|| fail(key, format!("`{key}` is an object")))?;
                    let mut converted = Map::new();
                    for (name, sub) in map {
                        converted.insert(
                            name.clone(),
                            self.convert(document, &join(&at(key), name), sub)?,
                        );
                    }
                    out.insert(key.into(), Value::Object(converted));
                }
                _ if SCHEMA_LISTS.contains(&key) => {
                    out.insert(key.into(), self.convert_list(document, &at(key), value)?);
                }
                _ if SCHEMA_VALUES.contains(&key) => {
                    out.insert(key.into(), self.convert(document, &at(key), value)?);
                }
                _ => {
                    out.insert(key.into(), value.clone());
                }
            }
        }
        if !dependencies.is_empty() {
            out.insert("dependencies".into(), Value::Object(dependencies));
        }
        Ok(Value::Object(ref_without_siblings(out)))
    }

    fn convert_list(
        &mut self,
        document: &SchemaDocument,
        pointer: &str,
        value: &Value,
    ) -> Result<Value> {
        let items = value.as_array().ok_or_else(|| {
            Error::at(
                self.set.display(document),
                pointer,
                "expected a list of schemas",
            )
        })?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(self.convert(document, &format!("{pointer}/{i}"), item)?);
        }
        Ok(Value::Array(out))
    }
}

/// Adds a draft-07 `dependencies` entry; two for one property must both hold.
fn merge_dependency(dependencies: &mut Map<String, Value>, name: &str, value: Value) {
    let as_schema = |v: Value| match v {
        Value::Array(_) => json!({"required": v}),
        other => other,
    };
    let merged = match dependencies.remove(name) {
        Some(existing) => json!({"allOf": [as_schema(existing), as_schema(value)]}),
        None => value,
    };
    dependencies.insert(name.into(), merged);
}

/// Draft-07 ignores the siblings of a `$ref`; in 2020-12 they apply too, so the reference
/// moves into `allOf` (first) when it has any.
fn ref_without_siblings(mut object: Map<String, Value>) -> Map<String, Value> {
    if object.len() < 2 {
        return object;
    }
    let Some(reference) = object.shift_remove("$ref") else {
        return object;
    };
    let reference = json!({"$ref": reference});
    match object.get_mut("allOf").and_then(Value::as_array_mut) {
        Some(all) => all.insert(0, reference),
        None => {
            object.insert("allOf".into(), json!([reference]));
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentwire_spec::tree::SourceTree;

    fn set(files: &[(&str, Value)]) -> SchemaSet {
        let tree = SourceTree::embedded(
            "mem",
            files.iter().map(|(path, value)| {
                let mut value = value.clone();
                value["$id"] = json!(format!("{SCHEMA_BASE_URI}{path}"));
                (path.to_string(), value.to_string())
            }),
        );
        SchemaSet::load(&tree).expect("test schemas load")
    }

    fn uri(path: &str) -> String {
        format!("{SCHEMA_BASE_URI}{path}")
    }

    #[test]
    fn references_are_bundled_with_local_keys() {
        let set = set(&[
            (
                "p/messages/m.schema.json",
                json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "properties": {
                        "a": {"$ref": "../defs.schema.json#/$defs/A"},
                        "b": {"description": "B", "$ref": "#/$defs/B"},
                        "c": {"const": {"$ref": "data, not a reference"}}
                    },
                    "$defs": {"B": {"type": "integer"}}
                }),
            ),
            (
                "p/defs.schema.json",
                json!({"$defs": {"A": {"$ref": "#/$defs/C"}, "C": {"type": "string"}}}),
            ),
        ]);
        let mut bundle = Bundle::new(&set);
        let payload = bundle.schema(&uri("p/messages/m.schema.json")).unwrap();
        assert_eq!(
            payload,
            json!({
                "type": "object",
                "properties": {
                    "a": {"$ref": "#/components/schemas/p.defs.A"},
                    "b": {"description": "B", "allOf": [{"$ref": "#/components/schemas/p.messages.m.B"}]},
                    "c": {"const": {"$ref": "data, not a reference"}}
                }
            })
        );
        let components = bundle.into_components().unwrap();
        assert_eq!(
            Value::Object(components),
            json!({
                "p.defs.A": {"$ref": "#/components/schemas/p.defs.C"},
                "p.defs.C": {"type": "string"},
                "p.messages.m.B": {"type": "integer"}
            })
        );
    }

    #[test]
    fn newer_keywords_become_draft_07() {
        let set = set(&[(
            "p/m.schema.json",
            json!({
                "prefixItems": [{"type": "string"}],
                "items": false,
                "dependentRequired": {"a": ["b"]},
                "dependentSchemas": {"a": {"required": ["c"]}}
            }),
        )]);
        let converted = Bundle::new(&set).schema(&uri("p/m.schema.json")).unwrap();
        assert_eq!(
            converted,
            json!({
                "items": [{"type": "string"}],
                "additionalItems": false,
                "dependencies": {"a": {"allOf": [{"required": ["b"]}, {"required": ["c"]}]}}
            })
        );
    }

    #[test]
    fn inexpressible_keywords_name_file_and_pointer() {
        let set = set(&[(
            "p/m.schema.json",
            json!({"properties": {"x": {"unevaluatedProperties": false}}}),
        )]);
        let error = Bundle::new(&set)
            .schema(&uri("p/m.schema.json"))
            .unwrap_err();
        assert_eq!(error.file, Some("mem/p/m.schema.json".into()));
        assert_eq!(
            error.pointer.as_deref(),
            Some("/properties/x/unevaluatedProperties")
        );
    }
}

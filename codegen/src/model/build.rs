//! Reading schemas into model types.
//!
//! Every keyword is either understood or refused: a construct the generator does not support is
//! an error naming the file and JSON Pointer, never a silently looser type.

use std::collections::BTreeMap;

use agentwire_spec::error::{Error, Result};
use agentwire_spec::source::{SchemaDocument, SchemaSet};
use serde_json::{Map, Value};

use super::naming::{is_type_name, pascal_case};
use super::types::{
    Additional, ArrayRules, Constrained, Encoding, Field, Format, NumberRules, StringRules, Struct,
    Ty, TypeDef, TypeKind,
};

/// Keywords that only annotate: they never change what a schema accepts.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "examples",
    "default",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$schema",
    "$id",
    "$defs",
];

/// Keywords this reader understands, besides annotations.
const SUPPORTED: &[&str] = &[
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "contentEncoding",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// Collects the named types of one protocol.
pub(crate) struct TypeReader<'a> {
    set: &'a SchemaSet,
    /// The types, in the order they were first met.
    pub types: Vec<TypeDef>,
    /// Name of the type built from each schema location.
    by_origin: BTreeMap<String, String>,
    /// Index in `types` of each name.
    by_name: BTreeMap<String, usize>,
    /// Schemas whose kind is being read: meeting one again means the schema is recursive.
    reading: std::collections::BTreeSet<String>,
}

/// Where a schema sits: its document and the JSON Pointer inside it. A per-kind copy of a
/// schema (see [`TypeReader::kinds_union`]) sits in a document of its own; `shown` is then the
/// pointer of the original, so that errors point at the file's real place.
#[derive(Clone, Copy)]
struct At<'a> {
    document: &'a SchemaDocument,
    pointer: &'a str,
    shown: &'a str,
}

impl<'a> At<'a> {
    fn new(document: &'a SchemaDocument, pointer: &'a str) -> Self {
        Self {
            document,
            pointer,
            shown: "",
        }
    }
}

impl<'a> TypeReader<'a> {
    pub fn new(set: &'a SchemaSet) -> Self {
        Self {
            set,
            types: Vec::new(),
            by_origin: BTreeMap::new(),
            by_name: BTreeMap::new(),
            reading: std::collections::BTreeSet::new(),
        }
    }

    /// The named type for the schema at an absolute URI (with optional pointer fragment),
    /// reading it the first time.
    pub fn named(&mut self, uri: &str) -> Result<String> {
        let resolved = self
            .set
            .resolve_absolute(uri)
            .map_err(|e| Error::message(format!("{uri}: {e}")))?;
        let (document, pointer) = (resolved.document, resolved.pointer.clone());
        self.named_at(At::new(document, &pointer), None)
    }

    fn named_at(&mut self, at: At<'_>, fallback: Option<&str>) -> Result<String> {
        let origin = origin(at);
        if self.reading.contains(&origin) {
            return Err(self.error(
                at,
                "recursive schemas are not supported: this schema refers to itself",
            ));
        }
        if let Some(name) = self.by_origin.get(&origin) {
            return Ok(name.clone());
        }
        let schema = self.schema(at)?;
        let name = match schema.get("title").and_then(Value::as_str) {
            Some(title) => title.to_string(),
            None => match (at.pointer.rsplit_once("/$defs/"), fallback) {
                (Some((_, key)), _) if !key.contains('/') => pascal_case(key),
                (_, Some(fallback)) => fallback.to_string(),
                _ => {
                    return Err(self.error(
                        at,
                        "a schema that is referenced needs a `title` (or to sit in `$defs`)",
                    ));
                }
            },
        };
        if !is_type_name(&name) {
            return Err(self.error(at, format!("{name:?} is not a PascalCase type name")));
        }
        let index = self.reserve(at, &name, origin.clone(), description(schema))?;
        self.reading.insert(origin.clone());
        let kind = self.kind(at, &name);
        self.reading.remove(&origin);
        self.types[index].kind = kind?;
        Ok(name)
    }

    /// Reserves a type's slot before reading its kind, so that the order of types follows the
    /// order of discovery and recursive references find the name.
    fn reserve(
        &mut self,
        at: At<'_>,
        name: &str,
        origin: String,
        doc: Option<String>,
    ) -> Result<usize> {
        if let Some(&other) = self.by_name.get(name) {
            let other = &self.types[other].origin;
            return Err(self.error(
                at,
                format!("the type name {name} is already taken by {other}"),
            ));
        }
        let index = self.types.len();
        self.by_origin.insert(origin.clone(), name.to_string());
        self.by_name.insert(name.to_string(), index);
        self.types.push(TypeDef {
            name: name.to_string(),
            doc,
            origin,
            kind: TypeKind::Alias(Ty::Any),
        });
        Ok(index)
    }

    /// The kind of the named type at `at`.
    fn kind(&mut self, at: At<'_>, name: &str) -> Result<TypeKind> {
        let schema = self.schema(at)?;
        check_keywords(schema).map_err(|m| self.error(at, m))?;
        if schema.get("$ref").is_some() {
            // Reached through a `$ref` or a `$defs` entry: siblings would be dropped.
            let target = self.reference(at)?;
            return Ok(TypeKind::Alias(Ty::Named(target)));
        }
        if let Some(value) = schema.get("const") {
            return Ok(TypeKind::Const(value.clone()));
        }
        if let Some(values) = schema.get("enum") {
            return self.string_enum(at, values).map(TypeKind::StringEnum);
        }
        if is_union(schema) {
            let members = self.kinds_union(at, name)?;
            return Ok(match collapse_null(&members) {
                Some(ty) => TypeKind::Alias(ty),
                None => TypeKind::OneOfKinds(members),
            });
        }
        match type_list(schema).first().map(String::as_str) {
            Some("object") if is_struct(schema) => self.structure(at, name).map(TypeKind::Struct),
            Some("string") if has_any(schema, STRING_RULES) => self
                .string_rules(at)
                .map(|r| TypeKind::Constrained(Constrained::String(r))),
            Some(kind @ ("integer" | "number")) if has_any(schema, NUMBER_RULES) => self
                .number_rules(at, kind == "integer")
                .map(|r| TypeKind::Constrained(Constrained::Number(r))),
            Some("array") if has_any(schema, ARRAY_RULES) => {
                let items = self.items(at, name)?;
                let (min_items, max_items) =
                    (self.count(at, "minItems")?, self.count(at, "maxItems")?);
                Ok(TypeKind::Constrained(Constrained::Array(ArrayRules {
                    items,
                    min_items,
                    max_items,
                })))
            }
            _ => self.plain(at, name).map(TypeKind::Alias),
        }
    }

    /// The type of a schema used in place (a property, an item): plain types stay plain,
    /// anything that needs a name gets one (its title, or `context`).
    fn ty(&mut self, at: At<'_>, context: &str) -> Result<Ty> {
        let schema = self.schema(at)?;
        check_keywords(schema).map_err(|m| self.error(at, m))?;
        if schema.get("$ref").is_some() {
            return self.reference(at).map(Ty::Named);
        }
        if schema.get("const") == Some(&Value::Null) {
            return Ok(Ty::Null);
        }
        let named = schema.get("const").is_some()
            || schema.get("enum").is_some()
            || (type_list(schema).first().map(String::as_str) == Some("object")
                && is_struct(schema)
                && type_list(schema).len() == 1)
            || (type_list(schema).len() == 1 && needs_rules(schema));
        if named {
            return self.named_at(at, Some(context)).map(Ty::Named);
        }
        if is_union(schema) {
            let members = self.kinds_union(at, context)?;
            return match collapse_null(&members) {
                Some(ty) => Ok(ty),
                // Several kinds (besides null) need a named type of their own.
                None => self.named_at(at, Some(context)).map(Ty::Named),
            };
        }
        self.plain(at, context)
    }

    /// A schema with at most one `type` and no constraints of its own.
    fn plain(&mut self, at: At<'_>, context: &str) -> Result<Ty> {
        let schema = self.schema(at)?;
        let kind = type_list(schema).into_iter().next();
        Ok(match kind.as_deref() {
            None => Ty::Any,
            Some("null") => Ty::Null,
            Some("boolean") => Ty::Bool,
            Some("integer") => Ty::Integer,
            Some("number") => Ty::Number,
            Some("string") => Ty::String,
            Some("array") => Ty::Array(Box::new(self.items(at, context)?)),
            Some("object") => match schema.get("additionalProperties") {
                Some(Value::Object(_)) => Ty::Map(Box::new(self.child(
                    at,
                    "/additionalProperties",
                    &format!("{context}Value"),
                )?)),
                _ => Ty::Object,
            },
            Some(other) => return Err(self.error(at, format!("unknown type {other:?}"))),
        })
    }

    /// The members of a union of JSON kinds: `type: [..]`, or `anyOf`/`oneOf` whose branches
    /// accept different kinds of values (so that exactly one branch can match).
    fn kinds_union(&mut self, at: At<'_>, context: &str) -> Result<Vec<Ty>> {
        let schema = self.schema(at)?;
        let mut members = Vec::new();
        for keyword in ["anyOf", "oneOf"] {
            let Some(branches) = schema.get(keyword) else {
                continue;
            };
            if !type_list(schema).is_empty()
                || schema.get("anyOf").is_some() && schema.get("oneOf").is_some()
            {
                return Err(self.error(
                    at,
                    format!("`{keyword}` beside `type` or another union is not supported"),
                ));
            }
            let count = match branches.as_array() {
                Some(list) if !list.is_empty() => list.len(),
                Some(_) => {
                    return Err(self.error(at, format!("an empty `{keyword}` accepts nothing")));
                }
                None => return Err(self.error(at, format!("`{keyword}` is an array of schemas"))),
            };
            for i in 0..count {
                let pointer = format!("/{keyword}/{i}");
                members.push(self.child(at, &pointer, &format!("{context}{}", i + 1))?);
            }
        }
        let types = type_list(schema);
        if types.len() > 1 {
            // Each kind takes the constraints that apply to it: a copy of the schema with one type.
            for kind in types {
                // The copy keeps the keywords that apply to its kind: for the others they are
                // no-ops, as JSON Schema applies type-specific keywords to their type only.
                let mut single: Map<String, Value> = schema
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(key, _)| keywords_of(&kind).contains(&key.as_str()))
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect();
                single.insert("type".into(), Value::String(kind.clone()));
                let copy = Value::Object(single);
                members.push(self.ty_of_value(
                    at,
                    &copy,
                    &format!("{context}{}", pascal_case(&kind)),
                )?);
            }
        }
        let mut kinds: Vec<&str> = Vec::new();
        for member in &members {
            for kind in self.json_kinds(member) {
                if kinds.contains(&kind)
                    || (kind == "integer" && kinds.contains(&"number"))
                    || (kind == "number" && kinds.contains(&"integer"))
                {
                    return Err(self.error(at, format!("two branches accept {kind} values: only unions of different JSON types are supported")));
                }
                kinds.push(kind);
            }
        }
        Ok(members)
    }

    /// The type of a schema value that does not sit in a document (a per-kind copy).
    fn ty_of_value(&mut self, at: At<'_>, schema: &Value, context: &str) -> Result<Ty> {
        if needs_rules(schema) || schema.get("enum").is_some() || is_struct(schema) {
            // A constrained member is a named type of its own; it has no location of its own,
            // so it is registered under a synthetic origin.
            let origin = format!("{}#{}?{}", at.document.uri, at.pointer, context);
            if let Some(name) = self.by_origin.get(&origin) {
                return Ok(Ty::Named(name.clone()));
            }
            let holder = SchemaDocument {
                uri: at.document.uri.clone(),
                path: at.document.path.clone(),
                value: schema.clone(),
            };
            let inner = At {
                document: &holder,
                pointer: "",
                shown: at.pointer,
            };
            let name = context.to_string();
            let index = self.reserve(at, &name, origin, None)?;
            let kind = self.kind(inner, &name)?;
            self.types[index].kind = kind;
            return Ok(Ty::Named(name));
        }
        let holder = SchemaDocument {
            uri: at.document.uri.clone(),
            path: at.document.path.clone(),
            value: schema.clone(),
        };
        self.plain(
            At {
                document: &holder,
                pointer: "",
                shown: at.pointer,
            },
            context,
        )
    }

    /// The JSON kinds a type accepts, to check that union members do not overlap.
    fn json_kinds(&self, ty: &Ty) -> Vec<&'static str> {
        ty.json_kinds(&|name| self.by_name.get(name).map(|&i| &self.types[i]))
    }

    fn structure(&mut self, at: At<'_>, name: &str) -> Result<Struct> {
        let schema = self.schema(at)?;
        let required: Vec<String> = match schema.get("required") {
            None => Vec::new(),
            Some(Value::Array(names)) => names
                .iter()
                .map(|n| {
                    n.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| self.error(at, "`required` lists strings"))
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(self.error(at, "`required` is an array")),
        };
        let empty = Map::new();
        let properties = match schema.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(self.error(at, "`properties` is an object")),
        };
        let mut fields = Vec::new();
        for (wire, property) in properties {
            let pointer = agentwire_spec::union::join("/properties", wire);
            let ty = self.child(at, &pointer, &format!("{name}{}", pascal_case(wire)))?;
            fields.push(Field {
                wire: wire.clone(),
                doc: description(property),
                ty,
                required: required.contains(wire),
            });
        }
        let additional = match schema.get("additionalProperties") {
            None | Some(Value::Bool(true)) => Additional::Any,
            Some(Value::Bool(false)) => Additional::Denied,
            Some(Value::Object(_)) => Additional::Typed(self.child(
                at,
                "/additionalProperties",
                &format!("{name}Value"),
            )?),
            Some(_) => {
                return Err(self.error(at, "`additionalProperties` is a boolean or a schema"));
            }
        };
        // A required property that `properties` does not describe takes the type other
        // properties have.
        for wire in required.iter().filter(|w| !properties.contains_key(*w)) {
            let ty = match &additional {
                Additional::Any => Ty::Any,
                Additional::Typed(ty) => ty.clone(),
                Additional::Denied => {
                    return Err(self.error(at, format!("`{wire}` is required but `additionalProperties: false` allows no such property")));
                }
            };
            fields.push(Field {
                wire: wire.clone(),
                doc: None,
                ty,
                required: true,
            });
        }
        Ok(Struct { fields, additional })
    }

    fn items(&mut self, at: At<'_>, context: &str) -> Result<Ty> {
        match self.schema(at)?.get("items") {
            None | Some(Value::Bool(true)) => Ok(Ty::Any),
            Some(Value::Object(_)) => self.child(at, "/items", &format!("{context}Item")),
            Some(_) => Err(self.error(at, "`items` must be a schema")),
        }
    }

    fn string_enum(&self, at: At<'_>, values: &Value) -> Result<Vec<String>> {
        let values = values
            .as_array()
            .ok_or_else(|| self.error(at, "`enum` is an array"))?;
        let strings: Option<Vec<String>> = values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
        let strings =
            strings.ok_or_else(|| self.error(at, "only enumerations of strings are supported"))?;
        if strings.is_empty() {
            return Err(self.error(at, "an empty `enum` accepts nothing"));
        }
        let mut names: Vec<String> = strings.iter().map(|s| pascal_case(s)).collect();
        names.sort();
        if names.windows(2).any(|w| w[0] == w[1]) || names.iter().any(String::is_empty) {
            return Err(self.error(at, "enumeration values must give distinct names"));
        }
        if self
            .schema(at)?
            .get("type")
            .is_some_and(|kinds| kinds != "string")
        {
            return Err(self.error(at, "an enumeration of strings has `type: string` or none"));
        }
        Ok(strings)
    }

    fn string_rules(&self, at: At<'_>) -> Result<StringRules> {
        let schema = self.schema(at)?;
        let format = match schema.get("format").map(|f| f.as_str()) {
            None => None,
            Some(Some("date-time")) => Some(Format::DateTime),
            Some(Some("uuid")) => Some(Format::Uuid),
            Some(other) => {
                return Err(self.error(
                    at,
                    format!("format {other:?} is not supported (date-time and uuid are)"),
                ));
            }
        };
        let encoding = match schema.get("contentEncoding").map(|f| f.as_str()) {
            None => None,
            Some(Some("base64")) => Some(Encoding::Base64),
            Some(other) => {
                return Err(self.error(
                    at,
                    format!("contentEncoding {other:?} is not supported (base64 is)"),
                ));
            }
        };
        let pattern = match schema.get("pattern") {
            None => None,
            Some(Value::String(p)) => {
                super::pattern::to_rust(p).map_err(|e| self.error(at, e))?;
                Some(p.clone())
            }
            Some(_) => return Err(self.error(at, "`pattern` is a string")),
        };
        Ok(StringRules {
            min_length: self.count(at, "minLength")?,
            max_length: self.count(at, "maxLength")?,
            pattern,
            format,
            encoding,
        })
    }

    fn number_rules(&self, at: At<'_>, integer: bool) -> Result<NumberRules> {
        let bound = |key: &str| -> Result<Option<f64>> {
            match self.schema(at)?.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| self.error(at, format!("`{key}` is a number"))),
            }
        };
        let multiple_of = bound("multipleOf")?;
        if multiple_of.is_some_and(|m| m <= 0.0) {
            return Err(self.error(at, "`multipleOf` is positive"));
        }
        Ok(NumberRules {
            integer,
            minimum: bound("minimum")?,
            maximum: bound("maximum")?,
            exclusive_minimum: bound("exclusiveMinimum")?,
            exclusive_maximum: bound("exclusiveMaximum")?,
            multiple_of,
        })
    }

    fn count(&self, at: At<'_>, key: &str) -> Result<Option<u64>> {
        match self.schema(at)?.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.error(at, format!("`{key}` is a non-negative integer"))),
        }
    }

    /// The type of the schema at `at` + `suffix`.
    fn child(&mut self, at: At<'_>, suffix: &str, context: &str) -> Result<Ty> {
        let pointer = format!("{}{suffix}", at.pointer);
        self.ty(
            At {
                document: at.document,
                pointer: &pointer,
                shown: at.shown,
            },
            context,
        )
    }

    /// Follows the `$ref` of the schema at `at` to a named type.
    fn reference(&mut self, at: At<'_>) -> Result<String> {
        let reference = self
            .schema(at)?
            .get("$ref")
            .and_then(Value::as_str)
            .ok_or_else(|| self.error(at, "`$ref` is a string"))?;
        let target = self
            .set
            .resolve(at.document, reference)
            .map_err(|e| Error::at(self.set.display(at.document), at.pointer, e.message))?;
        let (document, pointer) = (target.document, target.pointer.clone());
        self.named_at(At::new(document, &pointer), None)
    }

    fn schema<'s>(&self, at: At<'s>) -> Result<&'s Value> {
        at.document
            .value
            .pointer(at.pointer)
            .ok_or_else(|| self.error(at, "nothing at this pointer"))
    }

    fn error(&self, at: At<'_>, message: impl Into<String>) -> Error {
        Error::at(
            self.set.display(at.document),
            format!("{}{}", at.shown, at.pointer),
            message,
        )
    }
}

/// A union of at most one kind besides `null`, as a plain (possibly nullable) type; `None` when
/// several kinds need a named type.
fn collapse_null(members: &[Ty]) -> Option<Ty> {
    let others: Vec<&Ty> = members.iter().filter(|t| **t != Ty::Null).collect();
    let nullable = others.len() < members.len();
    match others.as_slice() {
        [] => Some(Ty::Null),
        [single] if nullable => Some(Ty::Nullable(Box::new((*single).clone()))),
        [single] => Some((*single).clone()),
        _ => None,
    }
}

fn is_union(schema: &Value) -> bool {
    schema.get("anyOf").is_some() || schema.get("oneOf").is_some() || type_list(schema).len() > 1
}

const STRING_RULES: &[&str] = &[
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "contentEncoding",
];
const NUMBER_RULES: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];
const ARRAY_RULES: &[&str] = &["minItems", "maxItems"];

fn has_any(schema: &Value, keys: &[&str]) -> bool {
    keys.iter().any(|k| schema.get(k).is_some())
}

/// Whether a single-typed schema has constraints that need a validating type.
fn needs_rules(schema: &Value) -> bool {
    match type_list(schema).first().map(String::as_str) {
        Some("string") => has_any(schema, STRING_RULES),
        Some("integer" | "number") => has_any(schema, NUMBER_RULES),
        Some("array") => has_any(schema, ARRAY_RULES),
        _ => false,
    }
}

/// Whether an object schema describes a structure (rather than any object, or a map).
fn is_struct(schema: &Value) -> bool {
    schema.get("properties").is_some()
        || schema.get("required").is_some()
        || schema.get("additionalProperties") == Some(&Value::Bool(false))
}

/// The `type` keyword as a list.
fn type_list(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(kind)) => vec![kind.clone()],
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The keywords that apply to one JSON type (JSON Schema ignores them for other types).
fn keywords_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "string" => STRING_RULES,
        "integer" | "number" => NUMBER_RULES,
        "array" => &["items", "minItems", "maxItems"],
        "object" => &["properties", "required", "additionalProperties"],
        _ => &[],
    }
}

/// Refuses keywords the generator does not know and combinations it would read loosely: an
/// applicator (`$ref`, `const`, `enum`, `anyOf`, `oneOf`) beside another keyword it would not
/// apply, and type-specific keywords without a `type` to apply them to.
fn check_keywords(schema: &Value) -> std::result::Result<(), String> {
    let object = match schema {
        Value::Object(object) => object,
        Value::Bool(true) => return Ok(()),
        _ => return Err("a schema is an object (or `true`)".into()),
    };
    for key in object.keys() {
        if !ANNOTATIONS.contains(&key.as_str()) && !SUPPORTED.contains(&key.as_str()) {
            return Err(format!("keyword `{key}` is not supported by the generator"));
        }
    }
    if let Some(Value::Array(kinds)) = object.get("type")
        && kinds.iter().any(|k| !k.is_string())
    {
        return Err("`type` lists strings".into());
    }
    let constraining: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| !ANNOTATIONS.contains(k))
        .collect();
    let applicators: Vec<&str> = constraining
        .iter()
        .copied()
        .filter(|k| ["$ref", "const", "enum", "anyOf", "oneOf"].contains(k))
        .collect();
    if let [first, second, ..] = applicators.as_slice() {
        return Err(format!("`{first}` beside `{second}` is not supported"));
    }
    let typed = ["string", "integer", "number", "array", "object"]
        .iter()
        .flat_map(|k| keywords_of(k));
    let specific: Vec<&str> = constraining
        .iter()
        .copied()
        .filter(|k| typed.clone().any(|t| *t == *k))
        .collect();
    match applicators.first() {
        Some(&"$ref") => {
            if let Some(other) = constraining.iter().find(|k| **k != "$ref") {
                return Err(format!(
                    "`{other}` beside `$ref` is not supported: move it into the referenced schema"
                ));
            }
        }
        Some(&applicator) => {
            // `const` and `enum` may state the type of their values; nothing else joins them.
            let allowed_type =
                matches!(applicator, "const" | "enum") && const_type_agrees(object, applicator);
            if let Some(other) = constraining
                .iter()
                .find(|k| **k != applicator && !(**k == "type" && allowed_type))
            {
                return Err(format!("`{other}` beside `{applicator}` is not supported"));
            }
        }
        None => {
            if !object.contains_key("type")
                && let Some(key) = specific.first()
            {
                return Err(format!(
                    "`{key}` without `type` applies to some JSON types only: state the `type`"
                ));
            }
        }
    }
    Ok(())
}

/// Whether the `type` beside a `const` or `enum` accepts every listed value.
fn const_type_agrees(object: &Map<String, Value>, applicator: &str) -> bool {
    let values: Vec<&Value> = match (applicator, object.get(applicator)) {
        ("const", Some(value)) => vec![value],
        ("enum", Some(Value::Array(values))) => values.iter().collect(),
        _ => return false,
    };
    let kinds = type_list(&Value::Object(object.clone()));
    values.iter().all(|value| {
        let kind = super::types::kind_of(value);
        kinds
            .iter()
            .any(|k| k == kind || (k == "number" && kind == "integer"))
    })
}

fn description(schema: &Value) -> Option<String> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn origin(at: At<'_>) -> String {
    if at.pointer.is_empty() {
        at.document.uri.clone()
    } else {
        format!("{}#{}", at.document.uri, at.pointer)
    }
}

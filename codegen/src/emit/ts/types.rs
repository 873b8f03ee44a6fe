//! TypeScript types for the model's types: an interface per object type, literal types for
//! enumerations and constants, `?:` for optional properties and `| null` for nullable ones.
//!
//! Constraints that TypeScript cannot express (lengths, patterns, formats, bounds) stay plain
//! `string`/`number` types: the doc comment names them and the guards check them.

use serde::Serialize;
use serde_json::Value;

use super::names::{doc_comment, paragraphs, property_key, string_literal};
use crate::model::{
    Additional, Constrained, Encoding, NumberRules, ProtocolModel, StringRules, Ty, TypeDef,
    TypeKind,
};

/// One `export interface` or `export type` of `types.ts`.
#[derive(Debug, Serialize)]
pub struct TypeDecl {
    /// The type's name.
    pub name: String,
    /// Its doc comment, rendered.
    pub doc: String,
    /// The properties, for an object type.
    pub interface: Option<Interface>,
    /// The type expression, for every other kind.
    pub alias: Option<String>,
}

/// The body of an interface.
#[derive(Debug, Serialize)]
pub struct Interface {
    /// The properties.
    pub fields: Vec<FieldDecl>,
    /// The index signature's doc and value type, when other properties have a type.
    pub index: Option<String>,
}

/// One property of an interface.
#[derive(Debug, Serialize)]
pub struct FieldDecl {
    /// Its doc comment, rendered and indented.
    pub doc: String,
    /// The property key, quoted where needed.
    pub key: String,
    /// Whether it may be absent.
    pub optional: bool,
    /// Its type.
    pub ty: String,
}

/// The declarations of every named type of a protocol.
pub fn declarations(model: &ProtocolModel) -> Vec<TypeDecl> {
    model.types.iter().map(|def| declaration(def, "")).collect()
}

fn declaration(def: &TypeDef, prefix: &str) -> TypeDecl {
    let notes = notes(&def.kind);
    let doc = doc_comment(&paragraphs([def.doc.as_deref(), notes.as_deref()]), "");
    match &def.kind {
        TypeKind::Struct(s) => {
            let fields = s
                .fields
                .iter()
                .map(|field| FieldDecl {
                    doc: doc_comment(field.doc.as_deref().unwrap_or(""), "  "),
                    key: property_key(&field.wire),
                    optional: !field.required,
                    ty: ts_type(&field.ty, prefix),
                })
                .collect();
            let index = match &s.additional {
                Additional::Typed(_) => Some("unknown".to_string()),
                Additional::Any | Additional::Denied => None,
            };
            TypeDecl {
                name: def.name.clone(),
                doc,
                interface: Some(Interface { fields, index }),
                alias: None,
            }
        }
        kind => TypeDecl {
            name: def.name.clone(),
            doc,
            interface: None,
            alias: Some(alias(kind, prefix)),
        },
    }
}

/// The type expression of a kind other than an object type.
fn alias(kind: &TypeKind, prefix: &str) -> String {
    match kind {
        TypeKind::Struct(_) => unreachable!("object types are interfaces"),
        TypeKind::StringEnum(values) => values
            .iter()
            .map(|v| string_literal(v))
            .collect::<Vec<_>>()
            .join(" | "),
        TypeKind::Const(value) => literal_type(value),
        TypeKind::Constrained(Constrained::String(_)) => "string".into(),
        TypeKind::Constrained(Constrained::Number(_)) => "number".into(),
        TypeKind::Constrained(Constrained::Array(rules)) => {
            ts_type(&Ty::Array(Box::new(rules.items.clone())), prefix)
        }
        TypeKind::Alias(ty) => ts_type(ty, prefix),
        TypeKind::OneOfKinds(members) => members
            .iter()
            .map(|m| ts_type(m, prefix))
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

/// The TypeScript type of a model type; named types get `prefix` (a namespace import).
pub fn ts_type(ty: &Ty, prefix: &str) -> String {
    match ty {
        Ty::Any => "rt.JsonValue".into(),
        Ty::Null => "null".into(),
        Ty::Bool => "boolean".into(),
        Ty::Integer | Ty::Number => "number".into(),
        Ty::String => "string".into(),
        Ty::Object => "rt.JsonObject".into(),
        Ty::Array(item) => format!("Array<{}>", ts_type(item, prefix)),
        Ty::Map(value) => format!("{{ [key: string]: {} }}", ts_type(value, prefix)),
        Ty::Named(name) => format!("{prefix}{name}"),
        Ty::Nullable(inner) => format!("{} | null", ts_type(inner, prefix)),
    }
}

/// The literal type of a JSON value.
pub fn literal_type(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_literal(s),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(literal_type)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", property_key(k), literal_type(v)))
                .collect();
            format!("{{ {} }}", fields.join("; "))
        }
    }
}

/// What the guard checks beyond the TypeScript type, in words.
fn notes(kind: &TypeKind) -> Option<String> {
    match kind {
        TypeKind::Constrained(Constrained::String(rules)) => string_notes(rules),
        TypeKind::Constrained(Constrained::Number(rules)) => number_notes(rules),
        TypeKind::Constrained(Constrained::Array(rules)) => {
            let mut parts = Vec::new();
            if let Some(min) = rules.min_items {
                parts.push(format!("at least {min} items"));
            }
            if let Some(max) = rules.max_items {
                parts.push(format!("at most {max} items"));
            }
            checked(parts)
        }
        _ => None,
    }
}

fn string_notes(rules: &StringRules) -> Option<String> {
    let parts = rules.describe();
    let mut text = checked(parts).unwrap_or_default();
    if rules.encoding == Some(Encoding::Base64) {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str("The text is base64 (an annotation: the guards do not decode it).");
    }
    (!text.is_empty()).then_some(text)
}

fn number_notes(rules: &NumberRules) -> Option<String> {
    let mut parts = Vec::new();
    if rules.integer {
        parts.push("an integer".to_string());
    }
    let bounds = [
        (rules.minimum, "≥"),
        (rules.exclusive_minimum, ">"),
        (rules.maximum, "≤"),
        (rules.exclusive_maximum, "<"),
    ];
    for (bound, sign) in bounds {
        if let Some(value) = bound {
            parts.push(format!("{sign} {value}"));
        }
    }
    if let Some(divisor) = rules.multiple_of {
        parts.push(format!("a multiple of {divisor}"));
    }
    checked(parts)
}

fn checked(parts: Vec<String>) -> Option<String> {
    (!parts.is_empty()).then(|| format!("Checked by the guards: {}.", parts.join(", ")))
}

//! Rust identifiers for wire names.

use proc_macro2::Span;
use syn::Ident;

use crate::model::naming::{pascal_case, snake_case};

/// Keywords that can be used as raw identifiers (`r#type`).
const RAW_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

/// Keywords that cannot be raw identifiers.
const PLAIN_KEYWORDS: &[&str] = &["self", "Self", "super", "crate", "_"];

/// The field identifier for a property name: snake_case, raw where it is a keyword.
pub fn field_ident(wire: &str) -> Ident {
    let mut name = snake_case(wire);
    if name.is_empty() {
        name = "field".into();
    }
    ident(&name)
}

/// The identifier of a type name the model already made PascalCase.
pub fn type_ident(name: &str) -> Ident {
    ident(name)
}

/// The variant identifier for an enumeration value.
pub fn variant_ident(value: &str) -> Ident {
    ident(&pascal_case(value))
}

fn ident(name: &str) -> Ident {
    if RAW_KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else if PLAIN_KEYWORDS.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

//! Guards: the data of `guards.ts`. A check function per named type and a decoder per union,
//! both generated as code from the model (see [`super::checks`] and [`super::decoders`]) rather
//! than a description of the schema interpreted at run time; the `is` guard of each message; and
//! each union's table of variants, which the client core reads.

use serde::Serialize;

use super::checks::{CheckWriter, declarations};
use super::decoders::decoder;
use super::names::{camel_case, string_literal};
use crate::model::{Message, ProtocolModel, TagValue, TypeDef, TypeKind, UnionModel};

/// The check of one named type.
#[derive(Debug, Serialize)]
pub struct Guard {
    /// The type's name.
    pub type_name: String,
    /// `check<Type>`.
    pub check: String,
    /// Declarations the check uses (its values, its pattern, its members), rendered.
    pub prelude: String,
    /// The statements of the check, over `value` and `pointer`.
    pub body: String,
}

/// The `is<Type>` guard of a message.
#[derive(Debug, Serialize)]
pub struct MessageGuard {
    /// The message's name in `protocol.json`.
    pub name: String,
    /// Its type's name.
    pub type_name: String,
    /// `is<Type>`.
    pub is: String,
    /// `check<Type>`.
    pub check: String,
}

/// A union's variant table.
#[derive(Debug, Serialize)]
pub struct UnionGuard {
    /// `ClientMessage` or `ServerMessage`.
    pub name: String,
    /// The constant holding the table: `clientUnion` or `serverUnion`.
    pub constant: String,
    /// The map type of its messages: `ClientMessages` or `ServerMessages`.
    pub map: String,
    /// The name type: `ClientMessageName` or `ServerMessageName`.
    pub names: String,
    /// Every discriminator pointer, as string literals.
    pub discriminators: String,
    /// The module constant holding them: `CLIENT_DISCRIMINATORS`.
    pub tags: String,
    /// The variants.
    pub variants: Vec<VariantGuard>,
    /// The statements of `decode<Union>(value)`.
    pub decode: String,
}

/// One variant of a union.
#[derive(Debug, Serialize)]
pub struct VariantGuard {
    /// The message name, as a string literal.
    pub name: String,
    /// The tag tests, rendered as an array literal.
    pub when: String,
    /// The message's check function.
    pub check: String,
}

/// The name of a type's check function.
pub fn check_name(type_name: &str) -> String {
    format!("check{type_name}")
}

/// The name of a message's type guard.
pub fn is_name(type_name: &str) -> String {
    format!("is{type_name}")
}

/// The name of an enumeration's list of values.
pub fn values_name(type_name: &str) -> String {
    format!("{}Values", camel_case(type_name))
}

/// The checks of every named type.
pub fn guards(model: &ProtocolModel) -> Vec<Guard> {
    model.types.iter().map(|def| guard(model, def)).collect()
}

/// The `is` guards of every message.
pub fn message_guards(model: &ProtocolModel) -> Vec<MessageGuard> {
    model
        .messages
        .iter()
        .map(|m| MessageGuard {
            name: m.name.clone(),
            type_name: m.type_name.clone(),
            is: is_name(&m.type_name),
            check: check_name(&m.type_name),
        })
        .collect()
}

/// The decoder and variant table of a union.
pub fn union_guard(model: &ProtocolModel, union: &UnionModel, constant: &str) -> UnionGuard {
    let messages: Vec<&Message> = union
        .messages
        .iter()
        .filter_map(|name| model.message(name))
        .collect();
    let mut pointers: Vec<&str> = Vec::new();
    for test in messages.iter().flat_map(|m| &m.when) {
        if !pointers.contains(&test.pointer.as_str()) {
            pointers.push(&test.pointer);
        }
    }
    let variants = messages
        .iter()
        .map(|message| {
            let tests: Vec<String> = message
                .when
                .iter()
                .map(|test| match &test.value {
                    TagValue::Equals(value) => format!(
                        "{{ pointer: {}, equals: {} }}",
                        string_literal(&test.pointer),
                        value
                    ),
                    TagValue::Absent => {
                        format!("{{ pointer: {} }}", string_literal(&test.pointer))
                    }
                })
                .collect();
            VariantGuard {
                name: string_literal(&message.name),
                when: format!("[{}]", tests.join(", ")),
                check: check_name(&message.type_name),
            }
        })
        .collect();
    // `clientUnion` → `CLIENT_DISCRIMINATORS`.
    let tags = format!(
        "{}_DISCRIMINATORS",
        constant.trim_end_matches("Union").to_uppercase()
    );
    UnionGuard {
        name: union.name.clone(),
        constant: constant.to_string(),
        map: format!("{}s", union.name),
        names: format!("{}Name", union.name),
        discriminators: format!(
            "[{}]",
            pointers
                .iter()
                .map(|p| string_literal(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        variants,
        decode: decoder(model, union, &tags),
        tags,
    }
}

fn guard(model: &ProtocolModel, def: &TypeDef) -> Guard {
    let mut prelude = String::new();
    if let TypeKind::StringEnum(values) = &def.kind {
        let literals: Vec<String> = values.iter().map(|v| string_literal(v)).collect();
        prelude.push_str(&format!(
            "/** Every value of {{@link t.{}}}, in the schema's order. */\nexport const {}: readonly t.{}[] = [{}];\n",
            def.name,
            values_name(&def.name),
            def.name,
            literals.join(", ")
        ));
    }
    prelude.push_str(&declarations(def));
    if !prelude.is_empty() {
        prelude.push('\n');
    }
    Guard {
        type_name: def.name.clone(),
        check: check_name(&def.name),
        prelude,
        body: CheckWriter::new(model).function_body(def),
    }
}

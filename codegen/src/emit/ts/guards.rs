//! Guards: a check function per named type, made of the runtime's checks, and the unions that
//! select a message by its discriminators before checking it.
//!
//! Checks are emitted as code rather than interpreted from a schema at run time, so the package
//! needs no validator: every keyword the model knows maps to one runtime helper call.

use serde::Serialize;

use super::names::{camel_case, string_literal};
use super::types::ts_type;
use crate::model::{
    Additional, Constrained, Message, ProtocolModel, StringRules, TagValue, Ty, TypeDef, TypeKind,
    UnionModel,
};

/// The check of one named type.
#[derive(Debug, Serialize)]
pub struct Guard {
    /// The type's name.
    pub type_name: String,
    /// `check<Type>`.
    pub check: String,
    /// Declarations the check uses (its field table, its rules), rendered.
    pub prelude: String,
    /// The expression the check returns, over `value` and `pointer`.
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
    /// The variants.
    pub variants: Vec<VariantGuard>,
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
    model.types.iter().map(guard).collect()
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

/// The variant table of a union.
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
    }
}

fn guard(def: &TypeDef) -> Guard {
    let check = check_name(&def.name);
    let upper = constant_case(&def.name);
    let (prelude, body) = match &def.kind {
        TypeKind::Struct(s) => {
            let table = format!("{upper}_FIELDS");
            let rows: Vec<String> = s
                .fields
                .iter()
                .map(|f| {
                    format!(
                        "  [{}, {}, {}],\n",
                        string_literal(&f.wire),
                        f.required,
                        check_fn(&f.ty)
                    )
                })
                .collect();
            let extra = match &s.additional {
                Additional::Any => "\"any\"".to_string(),
                Additional::Denied => "\"denied\"".to_string(),
                Additional::Typed(ty) => check_fn(ty),
            };
            (
                format!(
                    "const {table}: readonly rt.FieldCheck[] = [\n{}];\n",
                    rows.concat()
                ),
                format!("rt.checkStruct(value, pointer, {table}, {extra})"),
            )
        }
        TypeKind::StringEnum(values) => {
            let list = values_name(&def.name);
            let literals: Vec<String> = values.iter().map(|v| string_literal(v)).collect();
            (
                format!(
                    "/** Every value of {{@link t.{}}}, in the schema's order. */\nexport const {list}: readonly t.{}[] = [{}];\n",
                    def.name,
                    def.name,
                    literals.join(", ")
                ),
                format!("rt.checkEnum(value, pointer, {list})"),
            )
        }
        TypeKind::Const(value) => (
            String::new(),
            format!("rt.checkConst(value, pointer, {value})"),
        ),
        TypeKind::Constrained(Constrained::String(rules)) => {
            let name = format!("{upper}_RULES");
            (
                format!("const {name}: rt.StringRules = {};\n", string_rules(rules)),
                format!("rt.checkStringRules(value, pointer, {name})"),
            )
        }
        TypeKind::Constrained(Constrained::Number(rules)) => {
            let mut parts = vec![format!("integer: {}", rules.integer)];
            let bounds = [
                ("minimum", rules.minimum),
                ("maximum", rules.maximum),
                ("exclusiveMinimum", rules.exclusive_minimum),
                ("exclusiveMaximum", rules.exclusive_maximum),
                ("multipleOf", rules.multiple_of),
            ];
            for (key, bound) in bounds {
                if let Some(value) = bound {
                    parts.push(format!("{key}: {}", number(value)));
                }
            }
            let name = format!("{upper}_RULES");
            (
                format!(
                    "const {name}: rt.NumberRules = {{ {} }};\n",
                    parts.join(", ")
                ),
                format!("rt.checkNumberRules(value, pointer, {name})"),
            )
        }
        TypeKind::Constrained(Constrained::Array(rules)) => (
            String::new(),
            format!(
                "rt.checkItems(value, pointer, {}, {}, {})",
                check_fn(&rules.items),
                optional_count(rules.min_items),
                optional_count(rules.max_items)
            ),
        ),
        TypeKind::Alias(ty) => (String::new(), check_call(ty)),
        TypeKind::OneOfKinds(members) => {
            let checks: Vec<String> = members.iter().map(check_fn).collect();
            let what: Vec<String> = members.iter().map(|m| ts_type(m, "")).collect();
            (
                String::new(),
                format!(
                    "rt.checkOneOf(value, pointer, [{}], {})",
                    checks.join(", "),
                    string_literal(&what.join(" or "))
                ),
            )
        }
    };
    let mut prelude = prelude;
    if !prelude.is_empty() {
        prelude.push('\n');
    }
    Guard {
        type_name: def.name.clone(),
        check,
        prelude,
        body,
    }
}

/// A check function for a type, as an expression of type `rt.Check`.
fn check_fn(ty: &Ty) -> String {
    match ty {
        Ty::Any => "rt.checkAny".into(),
        Ty::Null => "rt.checkNull".into(),
        Ty::Bool => "rt.checkBoolean".into(),
        Ty::Integer => "rt.checkInteger".into(),
        Ty::Number => "rt.checkNumber".into(),
        Ty::String => "rt.checkString".into(),
        Ty::Object => "rt.checkObject".into(),
        Ty::Named(name) => check_name(name),
        Ty::Array(_) | Ty::Map(_) | Ty::Nullable(_) => {
            format!("(v: unknown, p: string) => {}", call(ty, "v", "p"))
        }
    }
}

/// A call of a type's check on `value` at `pointer`.
fn check_call(ty: &Ty) -> String {
    call(ty, "value", "pointer")
}

fn call(ty: &Ty, value: &str, pointer: &str) -> String {
    match ty {
        Ty::Array(item) => format!("rt.checkArray({value}, {pointer}, {})", check_fn(item)),
        Ty::Map(item) => format!("rt.checkMap({value}, {pointer}, {})", check_fn(item)),
        Ty::Nullable(inner) => {
            format!("rt.checkNullable({value}, {pointer}, {})", check_fn(inner))
        }
        other => format!("{}({value}, {pointer})", check_fn(other)),
    }
}

fn string_rules(rules: &StringRules) -> String {
    let mut parts = Vec::new();
    if let Some(min) = rules.min_length {
        parts.push(format!("minLength: {min}"));
    }
    if let Some(max) = rules.max_length {
        parts.push(format!("maxLength: {max}"));
    }
    if let Some(pattern) = &rules.pattern {
        // JSON Schema patterns are ECMA-262 expressions; `u` makes them count code points.
        parts.push(format!(
            "pattern: new RegExp({}, \"u\")",
            string_literal(pattern)
        ));
    }
    match rules.format {
        Some(crate::model::Format::DateTime) => parts.push("format: \"date-time\"".into()),
        Some(crate::model::Format::Uuid) => parts.push("format: \"uuid\"".into()),
        None => {}
    }
    if parts.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", parts.join(", "))
    }
}

fn optional_count(value: Option<u64>) -> String {
    value.map_or_else(|| "undefined".into(), |v| v.to_string())
}

/// A number as a TypeScript literal.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:?}")
    }
}

/// `ChatRequestContent` → `CHAT_REQUEST_CONTENT`.
fn constant_case(name: &str) -> String {
    crate::model::naming::snake_case(name).to_uppercase()
}

//! The types of the model: what a schema means, independent of any output language.

use serde_json::Value;

/// A type with a name: a message, a shared definition, or an inline schema that needs one
/// (an object, an enumeration, a constant, a constrained scalar).
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// The name, in PascalCase, from the schema's `title`, its `$defs` key, or its place.
    pub name: String,
    /// The schema's `description`.
    pub doc: Option<String>,
    /// Absolute URI (with JSON Pointer fragment) of the schema it comes from.
    pub origin: String,
    /// What it is.
    pub kind: TypeKind,
}

/// What a named type is.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// An object with known properties.
    Struct(Struct),
    /// One of a list of strings.
    StringEnum(Vec<String>),
    /// Exactly one JSON value (a discriminator tag, say).
    Const(Value),
    /// A scalar or array with constraints that its plain type does not express.
    Constrained(Constrained),
    /// Another name for a type.
    Alias(Ty),
    /// One of several types of different JSON kinds (e.g. boolean or string).
    OneOfKinds(Vec<Ty>),
}

/// An object with known properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// The properties, in the schema's order.
    pub fields: Vec<Field>,
    /// What other properties may be.
    pub additional: Additional,
}

/// What an object's other properties may be.
#[derive(Debug, Clone, PartialEq)]
pub enum Additional {
    /// Anything (kept, so that a value survives a round trip).
    Any,
    /// Nothing: `additionalProperties: false`.
    Denied,
    /// Values of this type.
    Typed(Ty),
}

/// One property of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The property name on the wire.
    pub wire: String,
    /// The property's `description`.
    pub doc: Option<String>,
    /// Its type. A property that may be `null` has a [`Ty::Nullable`] type.
    pub ty: Ty,
    /// Whether it must be present.
    pub required: bool,
}

/// A scalar or array type with constraints.
#[derive(Debug, Clone, PartialEq)]
pub enum Constrained {
    /// A string.
    String(StringRules),
    /// A number, or an integer.
    Number(NumberRules),
    /// An array.
    Array(ArrayRules),
}

/// Constraints on a string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringRules {
    /// Fewest characters (Unicode scalar values).
    pub min_length: Option<u64>,
    /// Most characters.
    pub max_length: Option<u64>,
    /// A regular expression the text must contain a match of.
    pub pattern: Option<String>,
    /// A format the text must have.
    pub format: Option<Format>,
    /// How the text encodes binary data (an annotation: not checked on decoding).
    pub encoding: Option<Encoding>,
}

impl StringRules {
    /// The constraints in words (`at least 2 characters`, `matches `^a$``...), encoding aside.
    pub fn describe(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if let Some(min) = self.min_length {
            parts.push(format!("at least {min} characters"));
        }
        if let Some(max) = self.max_length {
            parts.push(format!("at most {max} characters"));
        }
        if let Some(pattern) = &self.pattern {
            parts.push(format!("matches `{pattern}`"));
        }
        match self.format {
            Some(Format::DateTime) => parts.push("an RFC 3339 date-time".into()),
            Some(Format::Uuid) => parts.push("a hyphenated UUID".into()),
            None => {}
        }
        parts
    }
}

/// Formats the generator checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 3339 `date-time`.
    DateTime,
    /// RFC 4122 UUID in its hyphenated form.
    Uuid,
}

/// Encodings of binary data in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// RFC 4648 base64.
    Base64,
}

/// Constraints on a number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumberRules {
    /// Whether only integers are allowed.
    pub integer: bool,
    /// Inclusive lower bound.
    pub minimum: Option<f64>,
    /// Inclusive upper bound.
    pub maximum: Option<f64>,
    /// Exclusive lower bound.
    pub exclusive_minimum: Option<f64>,
    /// Exclusive upper bound.
    pub exclusive_maximum: Option<f64>,
    /// The value must be a multiple of this.
    pub multiple_of: Option<f64>,
}

/// Constraints on an array.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayRules {
    /// The type of every item.
    pub items: Ty,
    /// Fewest items.
    pub min_items: Option<u64>,
    /// Most items.
    pub max_items: Option<u64>,
}

/// A type as used by a field, an item or an alias.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// Any JSON value.
    Any,
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// Any integer (a number without a fractional part).
    Integer,
    /// Any number.
    Number,
    /// Any string.
    String,
    /// Any object.
    Object,
    /// An array of items of a type.
    Array(Box<Ty>),
    /// An object whose every value has a type.
    Map(Box<Ty>),
    /// A named type.
    Named(String),
    /// A type or `null`.
    Nullable(Box<Ty>),
}

impl Ty {
    /// Whether `null` is a value of this type.
    pub fn accepts_null(&self) -> bool {
        matches!(self, Ty::Any | Ty::Null | Ty::Nullable(_))
    }

    /// The JSON kinds this type accepts (`integer` told apart from `number`), the named types
    /// found by `lookup`.
    pub fn json_kinds<'a>(
        &self,
        lookup: &impl Fn(&str) -> Option<&'a TypeDef>,
    ) -> Vec<&'static str> {
        match self {
            Ty::Any => vec!["null", "boolean", "number", "string", "array", "object"],
            Ty::Null => vec!["null"],
            Ty::Bool => vec!["boolean"],
            Ty::Integer => vec!["integer"],
            Ty::Number => vec!["number"],
            Ty::String => vec!["string"],
            Ty::Object | Ty::Map(_) => vec!["object"],
            Ty::Array(_) => vec!["array"],
            Ty::Nullable(inner) => {
                let mut kinds = inner.json_kinds(lookup);
                kinds.push("null");
                kinds
            }
            Ty::Named(name) => match lookup(name).map(|def| &def.kind) {
                None => Vec::new(),
                Some(TypeKind::Struct(_)) => vec!["object"],
                Some(TypeKind::StringEnum(_) | TypeKind::Constrained(Constrained::String(_))) => {
                    vec!["string"]
                }
                Some(TypeKind::Const(value)) => vec![kind_of(value)],
                Some(TypeKind::Constrained(Constrained::Number(rules))) => {
                    vec![if rules.integer { "integer" } else { "number" }]
                }
                Some(TypeKind::Constrained(Constrained::Array(_))) => vec!["array"],
                Some(TypeKind::Alias(inner)) => inner.json_kinds(lookup),
                Some(TypeKind::OneOfKinds(members)) => {
                    members.iter().flat_map(|m| m.json_kinds(lookup)).collect()
                }
            },
        }
    }
}

/// The JSON kind of a value (`integer` for a number without a fraction).
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

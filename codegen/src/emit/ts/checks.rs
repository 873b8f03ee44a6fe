//! Check code: the statements that check a value against a type of the model, written out the
//! way a hand-tuned validator would be. Properties are read once by property access and checked
//! inline in declaration order; scalar named types (constants, enumerations, constrained strings
//! and numbers) are inlined where they are used; objects, arrays with bounds and unions of kinds
//! are calls of their own check functions.
//!
//! A valid value costs no allocation: the JSON Pointer of a value is only written out, as an
//! expression, in the statement that returns its failure, and a failure found by a called check
//! (which reports it below `""`) is moved under the caller's pointer on its way out.

use serde_json::Value;

use super::code::Code;
use super::guards::{check_name, values_name};
use super::names::{is_identifier, string_literal};
use super::types::ts_type;
use crate::model::{
    Additional, ArrayRules, Constrained, Format, NumberRules, ProtocolModel, StringRules, Struct,
    Ty, TypeDef, TypeKind,
};

/// The properties of `Object.prototype`: a property access would find them on any object, so
/// properties of these names are read with `rt.own`.
const PROTOTYPE_NAMES: &[&str] = &[
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
];

/// An expression reading the property `name` of the object `object`: `undefined` when absent.
pub fn read_property(object: &str, name: &str) -> String {
    if PROTOTYPE_NAMES.contains(&name) {
        format!("rt.own({object}, {})", string_literal(name))
    } else if is_identifier(name) {
        format!("{object}.{name}")
    } else {
        format!("{object}[{}]", string_literal(name))
    }
}

/// A property name as a JSON Pointer token (`~` and `/` escaped).
pub fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Where a value sits, relative to the function's `pointer`: rendered only in failures.
#[derive(Debug, Clone, Default)]
struct Place(Vec<Step>);

#[derive(Debug, Clone)]
enum Step {
    /// A property whose name is known: its escaped token.
    Property(String),
    /// An array index held by a variable.
    Index(String),
    /// A property name held by a variable (escaped at run time).
    Key(String),
}

impl Place {
    fn then(&self, step: Step) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        Self(steps)
    }

    /// The pointer as an expression over `pointer`.
    fn expression(&self) -> String {
        let mut expression = "pointer".to_string();
        let mut literal = String::new();
        for step in &self.0 {
            match step {
                Step::Property(token) => {
                    literal.push('/');
                    literal.push_str(token);
                }
                Step::Index(variable) => {
                    literal.push('/');
                    expression =
                        format!("{expression} + {} + {variable}", string_literal(&literal));
                    literal.clear();
                }
                Step::Key(variable) => {
                    if !literal.is_empty() {
                        expression = format!("{expression} + {}", string_literal(&literal));
                        literal.clear();
                    }
                    expression = format!("rt.join({expression}, {variable})");
                }
            }
        }
        if !literal.is_empty() {
            expression = format!("{expression} + {}", string_literal(&literal));
        }
        expression
    }
}

/// Writes the statements of check functions.
pub struct CheckWriter<'a> {
    model: &'a ProtocolModel,
    code: Code,
}

impl<'a> CheckWriter<'a> {
    pub fn new(model: &'a ProtocolModel) -> Self {
        Self {
            model,
            code: Code::body(),
        }
    }

    /// The body of a named type's check function, over `value` and `pointer`.
    pub fn function_body(mut self, def: &TypeDef) -> String {
        let here = Place::default();
        match &def.kind {
            TypeKind::Struct(s) => self.object(s, "value", &here),
            TypeKind::Constrained(Constrained::Array(rules)) => {
                self.array(rules, "value", &here);
            }
            TypeKind::OneOfKinds(members) => {
                self.one_of_kinds(members, &here);
                return self.code.into_text();
            }
            TypeKind::Alias(ty) => self.check(ty, "value", &here),
            _ => self.scalar(def, "value", &here),
        }
        self.code.line("return undefined;");
        self.code.into_text()
    }

    /// Returns a `type` failure, `expected <what>`, when `condition` (on `value`) holds.
    fn wrong_kind(&mut self, condition: &str, what: &str, value: &str, here: &str) {
        self.fail_if(
            condition,
            &format!(
                "rt.mismatch({here}, \"type\", {}, {value})",
                string_literal(what)
            ),
        );
    }

    /// Checks that `value` is of a scalar type's JSON kind (finite, for a number).
    fn scalar_kind(&mut self, ty: &Ty, value: &str, here: &str) {
        let (condition, what) = match ty {
            Ty::Null => (format!("{value} !== null"), "null"),
            Ty::Bool => (format!("typeof {value} !== \"boolean\""), "a boolean"),
            Ty::Integer => (
                format!("typeof {value} !== \"number\" || !Number.isInteger({value})"),
                "an integer",
            ),
            Ty::Number => (
                format!("typeof {value} !== \"number\" || !Number.isFinite({value})"),
                "a number",
            ),
            _ => (format!("typeof {value} !== \"string\""), "a string"),
        };
        self.wrong_kind(&condition, what, value, here);
    }

    /// Returns `failure` when `condition` holds.
    fn fail_if(&mut self, condition: &str, failure: &str) {
        self.code
            .line(&format!("if ({condition}) return {failure};"));
    }

    /// Checks `value` (a variable) against `ty`.
    fn check(&mut self, ty: &Ty, value: &str, at: &Place) {
        let here = at.expression();
        match ty {
            Ty::Any => self.call("rt.checkAny", value, &here),
            Ty::Null | Ty::Bool | Ty::Integer | Ty::Number | Ty::String => {
                self.scalar_kind(ty, value, &here);
            }
            Ty::Object => self.call("rt.checkObject", value, &here),
            Ty::Array(item) => {
                self.wrong_kind(
                    &format!("!Array.isArray({value})"),
                    "an array",
                    value,
                    &here,
                );
                self.items(item, value, at);
            }
            Ty::Map(item) => {
                self.wrong_kind(&format!("!rt.isObject({value})"), "an object", value, &here);
                let key = self.code.fresh("k");
                let entry = self.code.fresh("v");
                self.code.open(&format!("for (const {key} in {value}) {{"));
                // Own: a `__proto__` key would otherwise read the prototype.
                self.code
                    .line(&format!("const {entry} = rt.own({value}, {key});"));
                self.code
                    .line(&format!("if ({entry} === undefined) continue;"));
                self.check(item, &entry, &at.then(Step::Key(key)));
                self.code.close();
            }
            Ty::Nullable(inner) => {
                self.code.open(&format!("if ({value} !== null) {{"));
                self.check(inner, value, at);
                self.code.close();
            }
            Ty::Named(name) => match self.model.type_def(name) {
                Some(def) if is_inlined(&def.kind) => self.scalar(def, value, at),
                _ => self.call(&check_name(name), value, &here),
            },
        }
    }

    /// Calls a check function, which reports failures below `""`, and moves its failure here.
    fn call(&mut self, function: &str, value: &str, here: &str) {
        let failure = self.code.fresh("f");
        self.code
            .line(&format!("const {failure} = {function}({value});"));
        self.code.line(&format!(
            "if ({failure}) return rt.under({failure}, {here});"
        ));
    }

    /// Checks every item of an array already known to be one.
    fn items(&mut self, item: &Ty, array: &str, at: &Place) {
        let index = self.code.fresh("i");
        let entry = self.code.fresh("v");
        self.code.open(&format!(
            "for (let {index} = 0; {index} < {array}.length; {index}++) {{"
        ));
        self.code
            .line(&format!("const {entry}: unknown = {array}[{index}];"));
        self.check(item, &entry, &at.then(Step::Index(index)));
        self.code.close();
    }

    /// An array with bounds on its items.
    fn array(&mut self, rules: &ArrayRules, value: &str, at: &Place) {
        let here = at.expression();
        self.wrong_kind(
            &format!("!Array.isArray({value})"),
            "an array",
            value,
            &here,
        );
        self.items(&rules.items, value, at);
        if let Some(min) = rules.min_items {
            self.fail_if(
                &format!("{value}.length < {min}"),
                &format!("rt.outOfRange({here}, \"minItems\", {value}.length, {min})"),
            );
        }
        if let Some(max) = rules.max_items {
            self.fail_if(
                &format!("{value}.length > {max}"),
                &format!("rt.outOfRange({here}, \"maxItems\", {value}.length, {max})"),
            );
        }
    }

    /// An object: its properties in declaration order, then the others.
    fn object(&mut self, s: &Struct, value: &str, at: &Place) {
        let here = at.expression();
        self.wrong_kind(&format!("!rt.isObject({value})"), "an object", value, &here);
        for field in &s.fields {
            let property = self.code.fresh("v");
            let place = at.then(Step::Property(pointer_token(&field.wire)));
            self.code.line(&format!(
                "const {property} = {};",
                read_property(value, &field.wire)
            ));
            if field.required {
                self.fail_if(
                    &format!("{property} === undefined"),
                    &format!("rt.missing({})", place.expression()),
                );
                self.check(&field.ty, &property, &place);
            } else {
                self.code.open(&format!("if ({property} !== undefined) {{"));
                self.check(&field.ty, &property, &place);
                self.code.close();
            }
        }
        let extra = match &s.additional {
            // Anything goes: the schema and the type say nothing of other properties, so they are
            // not looked at (a value JSON cannot carry there would be dropped or nulled by JSON).
            Additional::Any => return,
            Additional::Denied => None,
            Additional::Typed(ty) => Some(ty),
        };
        let key = self.code.fresh("k");
        self.code.open(&format!("for (const {key} in {value}) {{"));
        if !s.fields.is_empty() {
            let cases: Vec<String> = s
                .fields
                .iter()
                .map(|f| format!("case {}:", string_literal(&f.wire)))
                .collect();
            self.code.line(&format!(
                "switch ({key}) {{ {} continue; }}",
                cases.join(" ")
            ));
        }
        let place = at.then(Step::Key(key.clone()));
        match extra {
            None => self.fail_if(
                &format!("{value}[{key}] !== undefined"),
                &format!("rt.notAllowed({})", place.expression()),
            ),
            Some(ty) => {
                let entry = self.code.fresh("v");
                // Own: a `__proto__` key would otherwise read the prototype.
                self.code
                    .line(&format!("const {entry} = rt.own({value}, {key});"));
                self.code
                    .line(&format!("if ({entry} === undefined) continue;"));
                self.check(ty, &entry, &place);
            }
        }
        self.code.close();
    }

    /// One of several types of different JSON kinds: the value's kind picks the member.
    fn one_of_kinds(&mut self, members: &[Ty], here: &Place) {
        let lookup = |name: &str| self.model.type_def(name);
        let tests: Vec<String> = members
            .iter()
            .map(|member| {
                let mut tests: Vec<&str> = Vec::new();
                for kind in member.json_kinds(&lookup) {
                    let test = kind_test(kind);
                    if !tests.contains(&test) {
                        tests.push(test);
                    }
                }
                tests.join(" || ")
            })
            .collect();
        for (member, test) in members.iter().zip(tests) {
            self.code.open(&format!("if ({test}) {{"));
            self.check(member, "value", here);
            self.code.line("return undefined;");
            self.code.close();
        }
        let what: Vec<String> = members.iter().map(|m| ts_type(m, "")).collect();
        self.code.line(&format!(
            "return rt.mismatch({}, \"type\", {}, value);",
            here.expression(),
            string_literal(&what.join(" or "))
        ));
    }

    /// A constant, an enumeration, a constrained string or number, another name for a scalar.
    fn scalar(&mut self, def: &TypeDef, value: &str, at: &Place) {
        let here = at.expression();
        match &def.kind {
            TypeKind::Const(constant) => {
                let literal = constant.to_string();
                let differs = if is_scalar(constant) {
                    format!("{value} !== {literal}")
                } else {
                    format!("!rt.jsonEqual({value}, {literal})")
                };
                self.fail_if(
                    &differs,
                    &format!(
                        "rt.mismatch({here}, \"const\", {}, {value})",
                        string_literal(&literal)
                    ),
                );
            }
            TypeKind::StringEnum(values) => {
                let cases: Vec<String> = values
                    .iter()
                    .map(|v| format!("case {}:", string_literal(v)))
                    .collect();
                self.code.open(&format!("switch ({value}) {{"));
                self.code.line(&format!("{} break;", cases.join(" ")));
                self.code.line(&format!(
                    "default: return rt.notOneOf({here}, {}, {value});",
                    values_name(&def.name)
                ));
                self.code.close();
            }
            TypeKind::Constrained(Constrained::String(rules)) => {
                self.string(def, rules, value, &here);
            }
            TypeKind::Constrained(Constrained::Number(rules)) => {
                self.number(rules, value, &here);
            }
            TypeKind::Alias(ty) => self.check(ty, value, at),
            _ => unreachable!("only scalar kinds are inlined"),
        }
    }

    fn string(&mut self, def: &TypeDef, rules: &StringRules, value: &str, here: &str) {
        self.scalar_kind(&Ty::String, value, here);
        // Lengths count code points, of which a text has at least half its UTF-16 length and
        // at most all of it: the code points are counted only when that leaves a doubt.
        if let Some(min) = rules.min_length.filter(|&m| m > 0) {
            self.fail_if(
                &format!(
                    "{value}.length < {} && rt.codePoints({value}) < {min}",
                    min.saturating_mul(2)
                ),
                &format!("rt.badLength({here}, \"minLength\", {value}, {min})"),
            );
        }
        if let Some(max) = rules.max_length {
            self.fail_if(
                &format!("{value}.length > {max} && rt.codePoints({value}) > {max}"),
                &format!("rt.badLength({here}, \"maxLength\", {value}, {max})"),
            );
        }
        if rules.pattern.is_some() {
            let pattern = pattern_name(&def.name);
            self.fail_if(
                &format!("!{pattern}.test({value})"),
                &format!("rt.noMatch({here}, {value}, {pattern})"),
            );
        }
        match rules.format {
            Some(Format::DateTime) => self.fail_if(
                &format!("!rt.isDateTime({value})"),
                &format!("rt.mismatch({here}, \"format\", \"an RFC 3339 date-time\", {value})"),
            ),
            Some(Format::Uuid) => self.fail_if(
                &format!("!rt.isUuid({value})"),
                &format!("rt.mismatch({here}, \"format\", \"a hyphenated UUID\", {value})"),
            ),
            None => {}
        }
    }

    fn number(&mut self, rules: &NumberRules, value: &str, here: &str) {
        let kind = if rules.integer {
            Ty::Integer
        } else {
            Ty::Number
        };
        self.scalar_kind(&kind, value, here);
        let bounds = [
            ("minimum", rules.minimum, "<"),
            ("maximum", rules.maximum, ">"),
            ("exclusiveMinimum", rules.exclusive_minimum, "<="),
            ("exclusiveMaximum", rules.exclusive_maximum, ">="),
        ];
        for (keyword, bound, fails) in bounds {
            if let Some(limit) = bound {
                let limit = number(limit);
                self.fail_if(
                    &format!("{value} {fails} {limit}"),
                    &format!("rt.outOfRange({here}, \"{keyword}\", {value}, {limit})"),
                );
            }
        }
        if let Some(divisor) = rules.multiple_of {
            let divisor = number(divisor);
            self.fail_if(
                &format!("!rt.isMultipleOf({value}, {divisor})"),
                &format!("rt.outOfRange({here}, \"multipleOf\", {value}, {divisor})"),
            );
        }
    }
}

/// Module declarations a named type's check needs: its pattern.
pub fn declarations(def: &TypeDef) -> String {
    match &def.kind {
        // JSON Schema patterns are ECMA-262 expressions; `u` makes them count code points.
        TypeKind::Constrained(Constrained::String(StringRules {
            pattern: Some(pattern),
            ..
        })) => format!(
            "const {} = new RegExp({}, \"u\");\n",
            pattern_name(&def.name),
            string_literal(pattern)
        ),
        _ => String::new(),
    }
}

/// A test of `value` for one JSON kind.
fn kind_test(kind: &str) -> &'static str {
    match kind {
        "null" => "value === null",
        "boolean" => "typeof value === \"boolean\"",
        "integer" | "number" => "typeof value === \"number\"",
        "string" => "typeof value === \"string\"",
        "array" => "Array.isArray(value)",
        _ => "rt.isObject(value)",
    }
}

/// Whether a named type's check is written inline where it is used: a scalar's.
fn is_inlined(kind: &TypeKind) -> bool {
    matches!(
        kind,
        TypeKind::Const(_)
            | TypeKind::StringEnum(_)
            | TypeKind::Constrained(Constrained::String(_) | Constrained::Number(_))
            | TypeKind::Alias(Ty::Null | Ty::Bool | Ty::Integer | Ty::Number | Ty::String)
    )
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// `Timestamp` → `TIMESTAMP_PATTERN`.
fn pattern_name(type_name: &str) -> String {
    format!("{}_PATTERN", constant_case(type_name))
}

/// `ChatRequestContent` → `CHAT_REQUEST_CONTENT`.
fn constant_case(name: &str) -> String {
    crate::model::naming::snake_case(name).to_uppercase()
}

/// A number as a TypeScript literal.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_read_by_access_unless_object_prototype_has_the_name() {
        assert_eq!(read_property("value", "type"), "value.type");
        assert_eq!(read_property("v1", "user-name"), "v1[\"user-name\"]");
        assert_eq!(
            read_property("value", "constructor"),
            "rt.own(value, \"constructor\")"
        );
        assert_eq!(
            read_property("value", "__proto__"),
            "rt.own(value, \"__proto__\")"
        );
    }

    #[test]
    fn pointers_are_written_as_one_expression_for_the_failure() {
        let here = Place::default();
        assert_eq!(here.expression(), "pointer");
        let field = here.then(Step::Property(pointer_token("a/b~c")));
        assert_eq!(field.expression(), "pointer + \"/a~1b~0c\"");
        let item = field
            .then(Step::Property("items".into()))
            .then(Step::Index("i3".into()));
        assert_eq!(item.expression(), "pointer + \"/a~1b~0c/items/\" + i3");
        let entry = item.then(Step::Key("k4".into()));
        assert_eq!(
            entry.expression(),
            "rt.join(pointer + \"/a~1b~0c/items/\" + i3, k4)"
        );
        let deeper = entry.then(Step::Property("x".into()));
        assert_eq!(
            deeper.expression(),
            "rt.join(pointer + \"/a~1b~0c/items/\" + i3, k4) + \"/x\""
        );
    }
}

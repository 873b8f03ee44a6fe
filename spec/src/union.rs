//! The message unions of a protocol's entry points (`client.schema.json`, `server.schema.json`).
//!
//! An entry point selects the message with `if`/`then` branches on discriminator values, so
//! that a validator reports errors against the one message a frame claims to be:
//!
//! ```json
//! {"allOf": [{"if": {"properties": {"type": {"const": "ping"}}, "required": ["type"]},
//!             "then": {"$ref": "messages/ping.schema.json"}}]}
//! ```
//!
//! A branch whose `then` is a lone `$ref` is a variant; other branches (guards) may only narrow
//! discriminators (for example the allowed `content.request` values once `msg` is `session`).
//! An entry point that is a lone `$ref` has a single, untagged variant.
//!
//! The entry point must also refuse every frame that selects no variant, or a frame could be
//! valid without being any message. So an entry point with branches is `type: object`, lists the
//! values of each top-level discriminator in `properties` (an `enum`), requires it unless a
//! variant is told by its absence, and each nested discriminator is enumerated by a guard.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::source::{SchemaDocument, SchemaSet};

/// The messages one side of a protocol may send.
#[derive(Debug, Clone, PartialEq)]
pub struct Union {
    /// `$id` of the entry point.
    pub uri: String,
    /// Its `title`.
    pub title: String,
    /// Its `description`.
    pub description: String,
    /// The messages, in the entry point's order.
    pub variants: Vec<Variant>,
}

/// One message of a union, and how a frame is recognised as it.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Every test must hold for a frame to be this message.
    pub when: Vec<TagTest>,
    /// Absolute URI of the message's schema.
    pub schema_uri: String,
    /// Where the branch sits in the entry point.
    pub pointer: String,
}

/// A test on one discriminator of a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TagTest {
    /// JSON Pointer of the discriminator, e.g. `/type` or `/content/request`.
    pub pointer: String,
    /// What it must be.
    pub value: TagValue,
}

/// What a discriminator must be.
#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    /// Present and equal to this value.
    Equals(Value),
    /// Absent.
    Absent,
}

impl Variant {
    /// Whether `frame` carries this variant's discriminator values (compared as JSON Schema
    /// compares, as the generated decoders do).
    pub fn matches(&self, frame: &Value) -> bool {
        use agentwire_runtime::wire::{tag_absent, tag_equals};
        self.when.iter().all(|test| match &test.value {
            TagValue::Equals(expected) => tag_equals(frame, &test.pointer, expected),
            TagValue::Absent => tag_absent(frame, &test.pointer),
        })
    }
}

impl Union {
    /// Reads the union of an entry point document.
    pub fn from_entry_point(set: &SchemaSet, entry: &SchemaDocument) -> Result<Self> {
        let file = set.display(entry);
        let object = entry
            .value
            .as_object()
            .ok_or_else(|| Error::at(&file, "", "an entry point is an object"))?;
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        let title = text("title")
            .ok_or_else(|| Error::at(&file, "/title", "an entry point needs a title"))?;
        let description = text("description").unwrap_or_default();
        let mut variants = Vec::new();
        let mut guards = Vec::new();
        for key in object.keys() {
            if !ENTRY_KEYWORDS.contains(&key.as_str()) {
                return Err(Error::at(
                    &file,
                    format!("/{key}"),
                    format!(
                        "`{key}` is not supported in an entry point: put constraints in the message schemas"
                    ),
                ));
            }
        }
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            if let Some(key) = object
                .keys()
                .find(|k| ["type", "required", "properties"].contains(&k.as_str()))
            {
                return Err(Error::at(
                    &file,
                    format!("/{key}"),
                    "an entry point that is a `$ref` has nothing beside it",
                ));
            }
            if object.contains_key("allOf") {
                return Err(Error::at(
                    &file,
                    "/$ref",
                    "an entry point has either a `$ref` or `allOf` branches",
                ));
            }
            let target = set.resolve(entry, reference)?;
            variants.push(Variant {
                when: Vec::new(),
                schema_uri: absolute(target),
                pointer: "/$ref".into(),
            });
        } else {
            let branches = object
                .get("allOf")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    Error::at(
                        &file,
                        "",
                        "an entry point needs `allOf` branches or a `$ref`",
                    )
                })?;
            for (index, branch) in branches.iter().enumerate() {
                let pointer = format!("/allOf/{index}");
                let branch = branch
                    .as_object()
                    .filter(|b| b.contains_key("if") && b.contains_key("then"));
                let branch = branch.ok_or_else(|| {
                    Error::at(&file, &pointer, "a branch is {\"if\": ..., \"then\": ...}")
                })?;
                let then = &branch["then"];
                let Some(reference) = lone_ref(then) else {
                    let mut condition = Vec::new();
                    read_tests(&branch["if"], "", &mut condition)
                        .map_err(|message| Error::at(&file, format!("{pointer}/if"), message))?;
                    let mut narrowed = Vec::new();
                    read_narrowing(then, "", &mut narrowed)
                        .map_err(|message| Error::at(&file, format!("{pointer}/then"), message))?;
                    guards.push(Guard {
                        condition,
                        narrowed,
                        pointer: pointer.clone(),
                    });
                    continue;
                };
                let mut when = Vec::new();
                read_tests(&branch["if"], "", &mut when)
                    .map_err(|message| Error::at(&file, format!("{pointer}/if"), message))?;
                if when.is_empty() {
                    return Err(Error::at(
                        &file,
                        format!("{pointer}/if"),
                        "a variant needs a discriminator test",
                    ));
                }
                let target = set.resolve(entry, reference)?;
                variants.push(Variant {
                    when,
                    schema_uri: absolute(target),
                    pointer: format!("{pointer}/then/$ref"),
                });
            }
        }
        let union = Self {
            uri: entry.uri.clone(),
            title,
            description,
            variants,
        };
        union
            .check_distinct()
            .map_err(|message| Error::in_file(&file, message))?;
        if !union.variants.iter().all(|v| v.when.is_empty()) {
            union
                .check_closed(object, &guards)
                .map_err(|(pointer, message)| Error::at(&file, pointer, message))?;
        }
        Ok(union)
    }

    /// The entry point refuses every frame whose discriminators select no variant.
    fn check_closed(
        &self,
        entry: &serde_json::Map<String, Value>,
        guards: &[Guard],
    ) -> std::result::Result<(), (String, String)> {
        if entry.get("type") != Some(&Value::String("object".into())) {
            return Err((
                "/type".into(),
                "an entry point with branches is `\"type\": \"object\"`".into(),
            ));
        }
        let top: Vec<&str> = self
            .discriminators()
            .into_iter()
            .filter(|p| p.matches('/').count() == 1)
            .collect();
        let required = names(entry.get("required")).map_err(|m| ("/required".to_string(), m))?;
        let properties = entry.get("properties").and_then(Value::as_object);
        for pointer in &top {
            let tag = unescape(&pointer[1..]);
            let mut values = Vec::new();
            let mut absent = false;
            for variant in &self.variants {
                match variant
                    .when
                    .iter()
                    .find(|t| t.pointer == *pointer)
                    .map(|t| &t.value)
                {
                    Some(TagValue::Equals(value)) => values.push(value.clone()),
                    Some(TagValue::Absent) => absent = true,
                    None => {
                        return Err((
                            variant.pointer.clone(),
                            format!("every variant tests the discriminator {pointer}"),
                        ));
                    }
                }
            }
            if absent == required.contains(&tag.as_str()) {
                let want = if absent {
                    "must not be `required`: a variant is told by its absence"
                } else {
                    "must be `required`"
                };
                return Err((
                    "/required".into(),
                    format!("the discriminator `{tag}` {want}"),
                ));
            }
            let listed = properties
                .and_then(|p| p.get(&tag))
                .and_then(allowed_values);
            if listed.is_none_or(|listed| !same_values(&listed, &values)) {
                return Err((
                    format!("/properties/{}", &pointer[1..]),
                    format!(
                        "the discriminator `{tag}` must list exactly its variants' values in an `enum`"
                    ),
                ));
            }
        }
        if let Some(extra) = properties
            .into_iter()
            .flat_map(|p| p.keys())
            .find(|k| !top.contains(&join("", k).as_str()))
        {
            return Err((
                format!("/properties/{extra}"),
                "an entry point's `properties` only enumerate discriminators".into(),
            ));
        }
        // Every nested discriminator is enumerated by a guard that the variants testing it meet.
        for variant in &self.variants {
            for test in variant
                .when
                .iter()
                .filter(|t| t.pointer.matches('/').count() > 1)
            {
                let guard = guards.iter().find(|g| {
                    g.condition.iter().all(|c| variant.when.contains(c))
                        && g.narrowed.iter().any(|(p, _)| *p == test.pointer)
                });
                let Some(guard) = guard else {
                    return Err((
                        variant.pointer.clone(),
                        format!(
                            "no branch enumerates the values of {} for this variant",
                            test.pointer
                        ),
                    ));
                };
                let (_, listed) = guard
                    .narrowed
                    .iter()
                    .find(|(p, _)| *p == test.pointer)
                    .expect("found above");
                let values: Vec<Value> = self
                    .variants
                    .iter()
                    .filter(|v| guard.condition.iter().all(|c| v.when.contains(c)))
                    .filter_map(|v| {
                        match v
                            .when
                            .iter()
                            .find(|t| t.pointer == test.pointer)
                            .map(|t| &t.value)
                        {
                            Some(TagValue::Equals(value)) => Some(value.clone()),
                            _ => None,
                        }
                    })
                    .collect();
                if !same_values(listed, &values) {
                    return Err((
                        format!("{}/then", guard.pointer),
                        format!(
                            "the values of {} must be exactly its variants' values",
                            test.pointer
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The variant a frame's discriminators select, if any.
    pub fn select(&self, frame: &Value) -> Option<&Variant> {
        self.variants.iter().find(|variant| variant.matches(frame))
    }

    /// Every discriminator pointer, in order of first use.
    pub fn discriminators(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for test in self.variants.iter().flat_map(|v| &v.when) {
            if !out.contains(&test.pointer.as_str()) {
                out.push(&test.pointer);
            }
        }
        out
    }

    /// No frame may select two variants: each pair differs in some discriminator (compared as
    /// JSON Schema compares: `1` and `1.0` are the same value).
    fn check_distinct(&self) -> std::result::Result<(), String> {
        for (i, a) in self.variants.iter().enumerate() {
            for b in &self.variants[i + 1..] {
                let exclusive = a.when.iter().any(|ta| {
                    b.when.iter().any(|tb| {
                        ta.pointer == tb.pointer
                            && match (&ta.value, &tb.value) {
                                (TagValue::Equals(x), TagValue::Equals(y)) => {
                                    !agentwire_runtime::wire::json_equal(x, y)
                                }
                                (TagValue::Absent, TagValue::Absent) => false,
                                _ => true,
                            }
                    })
                });
                if !exclusive {
                    return Err(format!(
                        "branches {} and {} can match the same frame: their discriminator tests overlap",
                        a.pointer, b.pointer
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The keywords an entry point may have.
const ENTRY_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "type",
    "required",
    "properties",
    "allOf",
    "$ref",
];

/// A branch that is not a message: under a condition, it narrows discriminators to listed values.
#[derive(Debug)]
struct Guard {
    condition: Vec<TagTest>,
    narrowed: Vec<(String, Vec<Value>)>,
    pointer: String,
}

/// Reads a guard's `then`: `type: object`, `required` and `properties` down to `enum`s (or
/// `const`s) on discriminators, and nothing else.
fn read_narrowing(
    schema: &Value,
    prefix: &str,
    out: &mut Vec<(String, Vec<Value>)>,
) -> std::result::Result<(), String> {
    let object = schema.as_object().ok_or("a branch is an object")?;
    for key in object.keys() {
        if !matches!(key.as_str(), "type" | "required" | "properties") {
            return Err(format!(
                "`{key}` in a branch that is not a message: such branches may only narrow discriminators"
            ));
        }
    }
    if object.get("type").is_some_and(|t| t != "object") {
        return Err("a narrowing branch's `type` is \"object\"".into());
    }
    let required = names(object.get("required"))?;
    for (name, property) in object
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let pointer = join(prefix, name);
        match allowed_values(property) {
            Some(values) => {
                if !required.contains(&name.as_str()) {
                    return Err(format!(
                        "the narrowed discriminator `{name}` must also be `required`"
                    ));
                }
                out.push((pointer, values));
            }
            None => read_narrowing(property, &pointer, out)?,
        }
    }
    Ok(())
}

/// The values a `{"enum": [...]}` or `{"const": v}` schema allows.
fn allowed_values(schema: &Value) -> Option<Vec<Value>> {
    let object = schema.as_object().filter(|o| o.len() == 1)?;
    match (object.get("enum"), object.get("const")) {
        (Some(Value::Array(values)), _) => Some(values.clone()),
        (_, Some(value)) => Some(vec![value.clone()]),
        _ => None,
    }
}

fn same_values(a: &[Value], b: &[Value]) -> bool {
    use agentwire_runtime::wire::json_equal;
    a.iter().all(|x| b.iter().any(|y| json_equal(x, y)))
        && b.iter().all(|y| a.iter().any(|x| json_equal(x, y)))
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn absolute(resolved: crate::source::Resolved<'_>) -> String {
    if resolved.pointer.is_empty() {
        resolved.document.uri.clone()
    } else {
        format!("{}#{}", resolved.document.uri, resolved.pointer)
    }
}

fn lone_ref(schema: &Value) -> Option<&str> {
    let object = schema.as_object()?;
    (object.len() == 1).then(|| object.get("$ref")?.as_str())?
}

/// Reads discriminator tests from an `if` schema: `properties` with `const`s (nested for tags
/// inside objects), the matching `required`, and `not: {required: [tag]}` for an absent tag.
fn read_tests(
    schema: &Value,
    prefix: &str,
    out: &mut Vec<TagTest>,
) -> std::result::Result<(), String> {
    let object = schema
        .as_object()
        .ok_or("a discriminator test is an object")?;
    for key in object.keys() {
        if !matches!(key.as_str(), "properties" | "required" | "not") {
            return Err(format!("`{key}` is not supported in a discriminator test"));
        }
    }
    if let Some(not) = object.get("not") {
        let absent = not
            .as_object()
            .filter(|n| n.len() == 1)
            .and_then(|n| n.get("required")?.as_array())
            .ok_or("`not` in a discriminator test is {\"required\": [tag]}")?;
        for tag in absent {
            let tag = tag.as_str().ok_or("required names are strings")?;
            out.push(TagTest {
                pointer: join(prefix, tag),
                value: TagValue::Absent,
            });
        }
    }
    let required = names(object.get("required"))?;
    if let Some(properties) = object.get("properties") {
        let properties: &Map<String, Value> =
            properties.as_object().ok_or("`properties` is an object")?;
        for (name, test) in properties {
            if !required.contains(&name.as_str()) {
                return Err(format!(
                    "the tested property `{name}` must also be `required`"
                ));
            }
            let pointer = join(prefix, name);
            match test.as_object().and_then(|t| t.get("const")) {
                Some(value) if test.as_object().is_some_and(|t| t.len() == 1) => {
                    out.push(TagTest {
                        pointer,
                        value: TagValue::Equals(value.clone()),
                    })
                }
                Some(_) => {
                    return Err(format!("the test on `{name}` has keywords besides `const`"));
                }
                None => read_tests(test, &pointer, out)?,
            }
        }
    }
    Ok(())
}

fn names(value: Option<&Value>) -> std::result::Result<Vec<&str>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .as_array()
        .ok_or("`required` is an array")?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| "required names are strings".to_string())
        })
        .collect()
}

/// Appends a property name to a JSON Pointer, escaping it.
pub fn join(prefix: &str, name: &str) -> String {
    format!("{prefix}/{}", name.replace('~', "~0").replace('/', "~1"))
}

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
//! A branch whose `then` is a lone `$ref` is a variant; other branches only constrain the tag
//! values (for example the allowed `content.request` values once `msg` is `session`). An entry
//! point that is a lone `$ref` has a single, untagged variant.

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
    /// Whether `frame` carries this variant's discriminator values.
    pub fn matches(&self, frame: &Value) -> bool {
        self.when.iter().all(|test| {
            let found = agentwire_runtime::wire::lookup(frame, &test.pointer);
            match &test.value {
                TagValue::Equals(expected) => found == Some(expected),
                TagValue::Absent => found.is_none(),
            }
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
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
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
        Ok(union)
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

    /// No frame may select two variants: each pair differs in some discriminator.
    fn check_distinct(&self) -> std::result::Result<(), String> {
        for (i, a) in self.variants.iter().enumerate() {
            for b in &self.variants[i + 1..] {
                let exclusive = a.when.iter().any(|ta| {
                    b.when.iter().any(|tb| {
                        ta.pointer == tb.pointer
                            && match (&ta.value, &tb.value) {
                                (TagValue::Equals(x), TagValue::Equals(y)) => x != y,
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

//! A corpus of instances for agreement tests: valid frames generated from the model, and near
//! misses made from them by changing one thing (drop a field, change its type, break a
//! constraint, change the tag, add a property, null a value).
//!
//! Whether an instance is valid is not decided here: the tests ask the `jsonschema` validator,
//! and check that every generated decoder agrees with it.

use std::collections::HashMap;

use agentwire_spec::error::{Error, Result};
use agentwire_spec::protocol::Direction;
use serde_json::{Map, Value, json};

use crate::model::{
    Additional, Constrained, Format, NumberRules, ProtocolModel, StringRules, Ty, TypeKind,
};

/// One instance of the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The entry point it is checked against.
    pub direction: Direction,
    /// The frame.
    pub value: Value,
    /// How it was made, e.g. `valid session_create` or `drop /content/settings`.
    pub how: String,
}

/// Generates `count` instances (about one valid frame for three near misses), deterministically
/// from `seed`.
pub fn generate(model: &ProtocolModel, count: usize, seed: u64) -> Result<Vec<Instance>> {
    let mut generator = Generator::new(model, seed)?;
    let mut out = Vec::with_capacity(count + 8);
    let messages: Vec<_> = model.messages.iter().collect();
    if messages.is_empty() {
        return Err(Error::message(format!(
            "{}: a protocol without messages has no corpus",
            model.id
        )));
    }
    while out.len() < count {
        let message = messages[generator.rng.usize(..messages.len())];
        let mut sites = Vec::new();
        let value = generator.valid(&Ty::Named(message.type_name.clone()), "", &mut sites, 0)?;
        for _ in 0..3 {
            if let Some((mutated, how)) = generator.mutate(&value, &sites, message) {
                out.push(Instance {
                    direction: message.direction,
                    value: mutated,
                    how,
                });
            }
        }
        out.push(Instance {
            direction: message.direction,
            value,
            how: format!("valid {}", message.name),
        });
    }
    out.truncate(count);
    Ok(out)
}

/// A place in a generated value, and the type found there.
#[derive(Debug, Clone)]
struct Site {
    pointer: String,
    ty: Ty,
    /// `Some(required)` for an object property.
    field: Option<bool>,
    /// For an object with named properties: what other properties may be.
    additional: Option<Additional>,
}

struct Generator<'m> {
    model: &'m ProtocolModel,
    rng: fastrand::Rng,
    /// Strings to try where text has constraints: every string of the examples, and stock ones.
    strings: Vec<String>,
    patterns: HashMap<String, regex::Regex>,
}

const MAX_DEPTH: usize = 6;

impl<'m> Generator<'m> {
    fn new(model: &'m ProtocolModel, seed: u64) -> Result<Self> {
        let mut strings: Vec<String> = STOCK_STRINGS.iter().map(|s| s.to_string()).collect();
        for (_, example) in &model.examples {
            collect_strings(example, &mut strings);
        }
        strings.sort();
        strings.dedup();
        let mut patterns = HashMap::new();
        for def in &model.types {
            if let TypeKind::Constrained(Constrained::String(StringRules {
                pattern: Some(p),
                ..
            })) = &def.kind
            {
                let regex = crate::model::pattern::to_rust(p)
                    .and_then(|translated| {
                        regex::Regex::new(&translated).map_err(|e| e.to_string())
                    })
                    .map_err(|e| Error::message(format!("{}: {e}", def.origin)))?;
                patterns.insert(p.clone(), regex);
            }
        }
        Ok(Self {
            model,
            rng: fastrand::Rng::with_seed(seed),
            strings,
            patterns,
        })
    }

    /// A value of `ty`, recording every site inside it.
    fn valid(
        &mut self,
        ty: &Ty,
        pointer: &str,
        sites: &mut Vec<Site>,
        depth: usize,
    ) -> Result<Value> {
        Ok(match ty {
            Ty::Any => self.any_value(depth),
            Ty::Null => Value::Null,
            Ty::Bool => Value::Bool(self.rng.bool()),
            Ty::Integer => self.pick(&[
                json!(0),
                json!(7),
                json!(-42),
                json!(1234567890123_i64),
                json!(3.0),
                json!(9007199254740993_u64),
            ]),
            Ty::Number => self.pick(&[
                json!(0.5),
                json!(-1.25),
                json!(3),
                json!(1e-3),
                json!(2.0e10),
            ]),
            Ty::String => Value::String(self.pick_str()),
            Ty::Object => self.any_object(depth),
            Ty::Array(item) => {
                let n = self.rng.usize(0..3);
                let mut items = Vec::new();
                for i in 0..n {
                    let p = format!("{pointer}/{i}");
                    let v = self.valid(item, &p, sites, depth + 1)?;
                    sites.push(Site {
                        pointer: p,
                        ty: (**item).clone(),
                        field: None,
                        additional: None,
                    });
                    items.push(v);
                }
                Value::Array(items)
            }
            Ty::Map(value_ty) => {
                let mut map = Map::new();
                for i in 0..self.rng.usize(0..3) {
                    let key = format!("key{i}");
                    let p = format!("{pointer}/{key}");
                    let v = self.valid(value_ty, &p, sites, depth + 1)?;
                    sites.push(Site {
                        pointer: p,
                        ty: (**value_ty).clone(),
                        field: None,
                        additional: None,
                    });
                    map.insert(key, v);
                }
                Value::Object(map)
            }
            Ty::Nullable(inner) => {
                if self.rng.u8(..4) == 0 {
                    Value::Null
                } else {
                    self.valid(inner, pointer, sites, depth)?
                }
            }
            Ty::Named(name) => self.named(name, pointer, sites, depth)?,
        })
    }

    fn named(
        &mut self,
        name: &str,
        pointer: &str,
        sites: &mut Vec<Site>,
        depth: usize,
    ) -> Result<Value> {
        let def = self
            .model
            .type_def(name)
            .ok_or_else(|| Error::message(format!("unknown type {name}")))?;
        Ok(match &def.kind {
            TypeKind::Struct(s) => {
                sites.push(Site {
                    pointer: pointer.to_string(),
                    ty: Ty::Named(name.to_string()),
                    field: None,
                    additional: Some(s.additional.clone()),
                });
                let mut object = Map::new();
                for field in &s.fields {
                    // Optional fields appear half of the time (always, near the top).
                    if !field.required && depth < MAX_DEPTH && self.rng.bool() {
                        continue;
                    }
                    let p = agentwire_spec::union::join(pointer, &field.wire);
                    let v = self.valid(&field.ty, &p, sites, depth + 1)?;
                    sites.push(Site {
                        pointer: p,
                        ty: field.ty.clone(),
                        field: Some(field.required),
                        additional: None,
                    });
                    object.insert(field.wire.clone(), v);
                }
                match &s.additional {
                    Additional::Any if self.rng.u8(..4) == 0 => {
                        object
                            .entry("x_extra")
                            .or_insert_with(|| json!({"any": [1, "two"]}));
                    }
                    Additional::Typed(ty) if self.rng.bool() => {
                        let p = format!("{pointer}/x_extra");
                        if !object.contains_key("x_extra") {
                            let v = self.valid(ty, &p, sites, depth + 1)?;
                            sites.push(Site {
                                pointer: p,
                                ty: ty.clone(),
                                field: None,
                                additional: None,
                            });
                            object.insert("x_extra".into(), v);
                        }
                    }
                    _ => {}
                }
                Value::Object(object)
            }
            TypeKind::StringEnum(values) => {
                Value::String(values[self.rng.usize(..values.len())].clone())
            }
            TypeKind::Const(value) => value.clone(),
            TypeKind::Constrained(Constrained::String(rules)) => {
                let candidates = self.string_candidates(rules, true);
                if candidates.is_empty() {
                    return Err(Error::message(format!(
                        "{}: no stock or example string meets its constraints; add an example",
                        def.origin
                    )));
                }
                Value::String(candidates[self.rng.usize(..candidates.len())].clone())
            }
            TypeKind::Constrained(Constrained::Number(rules)) => {
                let candidates = number_candidates(rules, true);
                if candidates.is_empty() {
                    return Err(Error::message(format!(
                        "{}: no candidate number meets its bounds",
                        def.origin
                    )));
                }
                candidates[self.rng.usize(..candidates.len())].clone()
            }
            TypeKind::Constrained(Constrained::Array(rules)) => {
                let min = rules.min_items.unwrap_or(0) as usize;
                let max = rules.max_items.map_or(min + 2, |m| m as usize).max(min);
                let n = self.rng.usize(min..=max.min(min + 3));
                let mut items = Vec::new();
                for i in 0..n {
                    let p = format!("{pointer}/{i}");
                    let v = self.valid(&rules.items, &p, sites, depth + 1)?;
                    sites.push(Site {
                        pointer: p,
                        ty: rules.items.clone(),
                        field: None,
                        additional: None,
                    });
                    items.push(v);
                }
                Value::Array(items)
            }
            TypeKind::Alias(ty) => {
                let ty = ty.clone();
                self.valid(&ty, pointer, sites, depth)?
            }
            TypeKind::OneOfKinds(members) => {
                let member = members[self.rng.usize(..members.len())].clone();
                self.valid(&member, pointer, sites, depth)?
            }
        })
    }

    /// A near miss: the valid frame with one thing changed.
    fn mutate(
        &mut self,
        value: &Value,
        sites: &[Site],
        message: &crate::model::Message,
    ) -> Option<(Value, String)> {
        let mut out = value.clone();
        let how = match self.rng.u8(..11) {
            0 => {
                let fields: Vec<&Site> = sites.iter().filter(|s| s.field.is_some()).collect();
                let site = fields.get(self.rng.usize(..fields.len().max(1)))?;
                remove(&mut out, &site.pointer)?;
                format!("drop {}", site.pointer)
            }
            1 => {
                let site = &sites[self.rng.usize(..sites.len())];
                let replacement = self.other_kind(out.pointer(&site.pointer)?);
                *out.pointer_mut(&site.pointer)? = replacement;
                format!("retype {}", site.pointer)
            }
            2 | 3 => {
                let site = &sites[self.rng.usize(..sites.len())];
                let broken = self.broken(&site.ty, out.pointer(&site.pointer)?)?;
                *out.pointer_mut(&site.pointer)? = broken;
                format!("break {}", site.pointer)
            }
            4 => {
                let site = &sites[self.rng.usize(..sites.len())];
                *out.pointer_mut(&site.pointer)? = Value::Null;
                format!("null {}", site.pointer)
            }
            5 => {
                let objects: Vec<&Site> = sites.iter().filter(|s| s.additional.is_some()).collect();
                let site = objects.get(self.rng.usize(..objects.len().max(1)))?;
                let extra = self.pick(&[json!("text"), json!(5), json!(null), json!({"k": 1})]);
                out.pointer_mut(&site.pointer)?
                    .as_object_mut()?
                    .insert("zz_unknown".into(), extra);
                format!(
                    "add a property to {}",
                    if site.pointer.is_empty() {
                        "/"
                    } else {
                        &site.pointer
                    }
                )
            }
            6 => {
                // Another message's tags, or an unknown tag value.
                let tests = &message.when;
                let test = tests.get(self.rng.usize(..tests.len().max(1)))?;
                let others: Vec<&crate::model::Message> = self
                    .model
                    .messages
                    .iter()
                    .filter(|m| m.name != message.name)
                    .collect();
                let other = others.get(self.rng.usize(..others.len().max(1)));
                let replacement = match (
                    self.rng.bool(),
                    other.and_then(|o| o.when.iter().find(|t| t.pointer == test.pointer)),
                ) {
                    (true, Some(t)) => match &t.value {
                        crate::model::TagValue::Equals(v) => v.clone(),
                        crate::model::TagValue::Absent => return None,
                    },
                    _ => json!("no_such_message"),
                };
                *out.pointer_mut(&test.pointer)? = replacement;
                format!("retag {}", test.pointer)
            }
            7 => {
                out = self.pick(&[json!([]), json!("frame"), json!(1), json!(null), json!({})]);
                "not the message at all".to_string()
            }
            9 => {
                // A value in the shape serde's derived enums also take: `{"value": null}`.
                let site = &sites[self.rng.usize(..sites.len())];
                let at = out.pointer_mut(&site.pointer)?;
                let key = at
                    .as_str()
                    .map_or_else(|| "value".to_string(), str::to_owned);
                *at = json!({ key: null });
                format!("wrap {} in an object", site.pointer)
            }
            10 => {
                // An object's values as an array: serde's derived structs read those too.
                let objects: Vec<&Site> = sites.iter().filter(|s| s.additional.is_some()).collect();
                let site = objects.get(self.rng.usize(..objects.len().max(1)))?;
                let at = out.pointer_mut(&site.pointer)?;
                let values: Vec<Value> = at.as_object()?.values().cloned().collect();
                *at = Value::Array(values);
                format!(
                    "replace {} by the array of its values",
                    if site.pointer.is_empty() {
                        "/"
                    } else {
                        &site.pointer
                    }
                )
            }
            _ => {
                let tests = &message.when;
                let test = tests.get(self.rng.usize(..tests.len().max(1)))?;
                remove(&mut out, &test.pointer)?;
                format!("untag {}", test.pointer)
            }
        };
        Some((out, how))
    }

    /// A value of `ty` that most likely breaks one of its constraints.
    fn broken(&mut self, ty: &Ty, current: &Value) -> Option<Value> {
        Some(match ty {
            Ty::Integer => self.pick(&[json!(0.5), json!(-1.5), json!("7")]),
            Ty::Nullable(inner) => return self.broken(inner, current),
            Ty::Named(name) => match &self.model.type_def(name)?.kind {
                TypeKind::StringEnum(values) => {
                    self.pick(&[json!("not_listed"), json!(values[0].to_uppercase() + "_")])
                }
                TypeKind::Const(value) => match value {
                    Value::String(s) => json!(format!("{s}_not")),
                    _ => json!("not the constant"),
                },
                TypeKind::Constrained(Constrained::String(rules)) => {
                    let rules = rules.clone();
                    let candidates = self.string_candidates(&rules, false);
                    Value::String(
                        candidates
                            .get(self.rng.usize(..candidates.len().max(1)))?
                            .clone(),
                    )
                }
                TypeKind::Constrained(Constrained::Number(rules)) => {
                    let candidates = number_candidates(rules, false);
                    candidates
                        .get(self.rng.usize(..candidates.len().max(1)))?
                        .clone()
                }
                TypeKind::Constrained(Constrained::Array(rules)) => {
                    let items = current.as_array()?.clone();
                    let too_many = rules.max_items.is_some_and(|max| items.len() as u64 >= max)
                        || self.rng.bool();
                    if too_many && !items.is_empty() {
                        let mut longer = items.clone();
                        while longer.len() as u64 <= rules.max_items.unwrap_or(0) {
                            longer.push(items[0].clone());
                        }
                        Value::Array(longer)
                    } else {
                        Value::Array(Vec::new())
                    }
                }
                TypeKind::Alias(inner) => {
                    let inner = inner.clone();
                    return self.broken(&inner, current);
                }
                _ => self.other_kind(current),
            },
            _ => self.other_kind(current),
        })
    }

    /// Strings that meet (`valid`) or most likely break the constraints.
    fn string_candidates(&self, rules: &StringRules, valid: bool) -> Vec<String> {
        let mut pool = self.strings.clone();
        for n in [rules.min_length, rules.max_length].into_iter().flatten() {
            for len in [n.saturating_sub(1), n, n + 1] {
                pool.push(
                    "ab".repeat(len as usize)
                        .chars()
                        .take(len as usize)
                        .collect(),
                );
            }
        }
        pool.into_iter()
            .filter(|s| self.meets(rules, s) == valid)
            .collect()
    }

    fn meets(&self, rules: &StringRules, text: &str) -> bool {
        agentwire_runtime::wire::check_length("", text, rules.min_length, rules.max_length).is_ok()
            && rules
                .pattern
                .as_ref()
                .is_none_or(|p| self.patterns[p].is_match(text))
            && match rules.format {
                Some(Format::DateTime) => agentwire_runtime::wire::is_date_time(text),
                Some(Format::Uuid) => agentwire_runtime::wire::is_uuid(text),
                None => true,
            }
    }

    fn other_kind(&mut self, current: &Value) -> Value {
        let choices = [
            json!(null),
            json!(true),
            json!(12),
            json!(1.5),
            json!("text"),
            json!([1]),
            json!({"a": 1}),
        ];
        loop {
            let choice = self.pick(&choices);
            if std::mem::discriminant(&choice) != std::mem::discriminant(current) {
                return choice;
            }
        }
    }

    fn any_value(&mut self, depth: usize) -> Value {
        match self.rng.u8(..7) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.bool()),
            2 => json!(self.rng.i32(-1000..1000)),
            3 => json!(0.25),
            4 => Value::String(self.pick_str()),
            5 if depth < MAX_DEPTH => json!([self.any_value(depth + 1)]),
            _ => self.any_object(depth),
        }
    }

    fn any_object(&mut self, depth: usize) -> Value {
        if depth >= MAX_DEPTH {
            return json!({});
        }
        json!({ "k": self.any_value(depth + 1) })
    }

    fn pick_str(&mut self) -> String {
        self.strings[self.rng.usize(..self.strings.len())].clone()
    }

    fn pick(&mut self, values: &[Value]) -> Value {
        values[self.rng.usize(..values.len())].clone()
    }
}

/// Strings every corpus tries, beside the examples' own: empty, Unicode, dates, UUIDs, base64.
const STOCK_STRINGS: &[&str] = &[
    "",
    "a",
    "hello",
    "Ünïcödé 漢字 🙂",
    "line\nbreak",
    "#x#",
    "#",
    "2024-01-01T10:00:00Z",
    "2024-02-29T23:59:59.123+05:30",
    "1990-12-31T23:59:60Z",
    "2024-13-01T10:00:00Z",
    "2025-10-01T20:00:00",
    "2025-10-01T20:00:00.000000",
    "2025-10-01 20:00:00",
    "550e8400-e29b-41d4-a716-446655440000",
    "550e8400e29b41d4a716446655440000",
    "aGVsbG8=",
    "not base64!",
    "ABC-12",
    "abc-12",
];

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            collect_strings(v, out);
        }),
        _ => {}
    }
}

/// Numbers at and around the bounds that meet (`valid`) or break them.
fn number_candidates(rules: &NumberRules, valid: bool) -> Vec<Value> {
    let mut pool: Vec<f64> = vec![0.0, 1.0, -1.0, 0.5, 2.5, 7.0, 1000.0, -1000.0, 0.3];
    for bound in [
        rules.minimum,
        rules.maximum,
        rules.exclusive_minimum,
        rules.exclusive_maximum,
    ]
    .into_iter()
    .flatten()
    {
        pool.extend([
            bound,
            bound - 1.0,
            bound + 1.0,
            bound - 0.5,
            bound + 0.5,
            bound + 0.25,
        ]);
    }
    if let (Some(lo), Some(hi)) = (
        rules.minimum.or(rules.exclusive_minimum),
        rules.maximum.or(rules.exclusive_maximum),
    ) {
        pool.push((lo + hi) / 2.0);
    }
    if let Some(m) = rules.multiple_of {
        pool.extend([m, m * 3.0, m * 3.0 + m / 3.0, -m]);
    }
    let bounds = agentwire_runtime::wire::NumberRules {
        minimum: rules.minimum,
        maximum: rules.maximum,
        exclusive_minimum: rules.exclusive_minimum,
        exclusive_maximum: rules.exclusive_maximum,
        multiple_of: rules.multiple_of,
    };
    let meets = |v: f64| {
        (!rules.integer || v.fract() == 0.0)
            && serde_json::Number::from_f64(v)
                .is_some_and(|n| agentwire_runtime::wire::check_number("", &n, &bounds).is_ok())
    };
    pool.sort_by(f64::total_cmp);
    pool.dedup();
    pool.into_iter()
        .filter(|v| v.is_finite() && meets(*v) == valid)
        .map(|v| {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                json!(v as i64)
            } else {
                json!(v)
            }
        })
        .collect()
}

fn remove(value: &mut Value, pointer: &str) -> Option<()> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let key = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent)? {
        Value::Object(map) => map.remove(&key).map(|_| ()),
        Value::Array(items) => {
            let index: usize = key.parse().ok()?;
            (index < items.len()).then(|| {
                items.remove(index);
            })
        }
        _ => None,
    }
}

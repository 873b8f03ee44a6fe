//! Building outgoing frames: values placed at JSON Pointers, correlation ids made up.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use super::spec::FreshId;

/// Sets the value at a JSON Pointer, creating the objects on the way (and replacing what is not
/// an object there).
pub(crate) fn place(target: &mut Value, pointer: &str, value: Value) {
    let keys: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|k| k.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, path)) = keys.split_last() else {
        *target = value;
        return;
    };
    let mut current = target;
    for key in path {
        current = object(current)
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    object(current).insert(last.clone(), value);
}

/// The value as an object, made one if it is not.
fn object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

/// The text at a JSON Pointer, or `""`.
pub(crate) fn text_at(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Makes up correlation ids.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    counter: AtomicU64,
}

impl Ids {
    /// A fresh id of a kind.
    pub(crate) fn fresh(&self, kind: FreshId) -> Value {
        if kind == FreshId::Integer {
            return Value::from(self.counter.fetch_add(1, Ordering::Relaxed) + 1);
        }
        let hex = format!("{:016x}{:016x}", random_u64(), random_u64());
        match kind {
            FreshId::Uuid => Value::String(format!(
                "{}-{}-4{}-a{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[13..16],
                &hex[17..20],
                &hex[20..]
            )),
            _ => Value::String(hex),
        }
    }
}

/// 64 random bits: correlation ids and backoff jitter need no cryptographic randomness, only
/// values that differ between clients and calls. The standard library's hasher keys are random
/// per process; a counter and the clock make each call differ.
pub(crate) fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    if let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since.as_nanos());
    }
    hasher.finish()
}

/// A random number in `[0, 1)`.
pub(crate) fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_placed_at_pointers_creating_objects() {
        let mut frame = json!({"cid": "given"});
        place(&mut frame, "/content/request", json!("create"));
        place(&mut frame, "/msg", json!("session"));
        place(&mut frame, "/a~1b", json!(1));
        assert_eq!(
            frame,
            json!({"cid": "given", "content": {"request": "create"}, "msg": "session", "a/b": 1})
        );
        assert_eq!(text_at(&frame, "/content/request"), "create");
        assert_eq!(text_at(&frame, "/nothing"), "");
    }

    #[test]
    fn fresh_ids_have_their_kind_and_differ() {
        let ids = Ids::default();
        let [a, b] = [ids.fresh(FreshId::Hex), ids.fresh(FreshId::Hex)];
        assert_ne!(a, b);
        let a = a.as_str().unwrap();
        assert!(
            a.len() == 32 && a.bytes().all(|c| c.is_ascii_hexdigit()),
            "{a}"
        );
        let uuid = ids.fresh(FreshId::Uuid);
        assert!(
            crate::wire::check_uuid("Uuid", uuid.as_str().unwrap()).is_ok(),
            "{uuid}"
        );
        assert_eq!(ids.fresh(FreshId::Integer), json!(1));
        assert_eq!(ids.fresh(FreshId::Integer), json!(2));
        assert!((0.0..1.0).contains(&random_unit()));
    }
}

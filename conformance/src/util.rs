//! Small helpers on JSON values, identifiers and URLs.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

/// Longest string kept whole in evidence.
const MAX_EVIDENCE_STRING: usize = 512;
/// Most array items and object members kept in evidence.
const MAX_EVIDENCE_ITEMS: usize = 64;
/// Deepest nesting kept in evidence.
const MAX_EVIDENCE_DEPTH: usize = 32;
/// Most values (of any kind, at any depth) kept of one value in evidence.
pub const MAX_EVIDENCE_NODES: usize = 1000;

/// A fresh identifier: 32 lowercase hex characters, unique within the process and random across
/// runs. 32 characters because some servers insist on that length for correlation ids.
pub fn fresh_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let state = RandomState::new();
    let mut hasher = state.build_hasher();
    hasher.write_u64(count);
    let high = hasher.finish();
    let mut hasher = state.build_hasher();
    hasher.write_u64(high ^ count.rotate_left(17));
    format!("{:016x}{:016x}", high, hasher.finish() ^ count)
}

/// The unescaped reference tokens of a JSON Pointer (RFC 6901): `/a~1b/c` gives `a/b`, `c`.
/// The inverse of `agentwire_spec::union::join`.
pub fn pointer_tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer.split('/').skip(1).map(unescape)
}

/// One reference token unescaped: `~1` is `/`, then `~0` is `~`.
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Sets the value at a JSON Pointer, creating objects on the way. Returns false when the path
/// crosses a value that is neither an object nor an array.
pub fn set_pointer(target: &mut Value, pointer: &str, new: Value) -> bool {
    if pointer.is_empty() {
        *target = new;
        return true;
    }
    let tokens: Vec<String> = pointer_tokens(pointer).collect();
    let mut current = target;
    for (i, token) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        if current.is_null() {
            *current = Value::Object(Map::new());
        }
        current = match current {
            Value::Object(map) => {
                if last {
                    map.insert(token.clone(), new);
                    return true;
                }
                map.entry(token.clone()).or_insert(Value::Null)
            }
            Value::Array(items) => {
                let Some(item) = token.parse::<usize>().ok().and_then(|i| items.get_mut(i)) else {
                    return false;
                };
                if last {
                    *item = new;
                    return true;
                }
                item
            }
            _ => return false,
        };
    }
    false
}

/// Removes the member at a JSON Pointer; returns it.
pub fn remove_pointer(target: &mut Value, pointer: &str) -> Option<Value> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let last = unescape(last);
    target.pointer_mut(parent)?.as_object_mut()?.remove(&last)
}

/// A copy of a value fit for a report: long strings, long arrays and deep nesting shortened, and
/// at most [`MAX_EVIDENCE_NODES`] values kept in all (a wide, nested frame stays small).
pub fn shorten(value: &Value) -> Value {
    let mut budget = MAX_EVIDENCE_NODES;
    shorten_at(value, 0, &mut budget)
}

fn shorten_at(value: &Value, depth: usize, budget: &mut usize) -> Value {
    if depth >= MAX_EVIDENCE_DEPTH {
        return Value::String("… (nested deeper)".into());
    }
    if *budget == 0 {
        return Value::String("… (more)".into());
    }
    *budget -= 1;
    match value {
        Value::String(text) if text.len() > MAX_EVIDENCE_STRING => {
            Value::String(format!("{}… ({} bytes)", prefix(text, 96), text.len()))
        }
        Value::Array(items) => {
            let mut out: Vec<Value> = Vec::new();
            for item in items.iter().take(MAX_EVIDENCE_ITEMS) {
                if *budget == 0 {
                    break;
                }
                out.push(shorten_at(item, depth + 1, budget));
            }
            if items.len() > out.len() {
                out.push(Value::String(format!("… ({} items)", items.len())));
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, item) in map.iter().take(MAX_EVIDENCE_ITEMS) {
                if *budget == 0 {
                    break;
                }
                out.insert(key.clone(), shorten_at(item, depth + 1, budget));
            }
            if map.len() > out.len() {
                out.insert("…".into(), Value::String(format!("{} members", map.len())));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// At most `max` bytes of a string, cut on a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A JSON value in a sentence of a finding: its JSON text, clipped (it may come from the server).
pub fn quoted(value: &Value) -> String {
    clip(&value.to_string(), 200)
}

/// A printable summary of a text that is not JSON.
pub fn summarize_text(text: &str) -> String {
    clip(text, 200)
}

/// A text of at most about `max` bytes: cut on a character boundary, saying how long it was.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        text.to_string()
    } else {
        format!("{}… ({} bytes)", prefix(text, max), text.len())
    }
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether a token can travel as a cookie's value: RFC 6265's cookie-octets only (printable
/// US-ASCII but whitespace, `"`, `,`, `;` and `\`).
pub fn cookie_safe(token: &str) -> bool {
    token
        .bytes()
        .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_wide_nested_value_is_shortened_to_a_bounded_size() {
        let row: Vec<Value> = (0..64).map(|i| json!(i)).collect();
        let plane: Vec<Value> = (0..64).map(|_| Value::Array(row.clone())).collect();
        let cube = Value::Array((0..64).map(|_| Value::Array(plane.clone())).collect());
        assert!(cube.to_string().len() > 500_000);
        let shown = shorten(&cube);
        assert!(
            shown.to_string().len() < 16 << 10,
            "{}",
            shown.to_string().len()
        );
        // Small values are kept whole.
        let small = json!({"type": "pong", "items": [1, 2, {"a": "b"}]});
        assert_eq!(shorten(&small), small);
    }

    #[test]
    fn cookie_safe_is_rfc_6265_cookie_octets() {
        assert!(super::cookie_safe(
            "eyJhbGciOi.J9-_x~!#$%&'()*+/:<=>?@[]^`{|}"
        ));
        for bad in ["a b", "a\tb", "a\"b", "a,b", "a;b", "a\\b", "é", "a\u{7f}"] {
            assert!(!super::cookie_safe(bad), "{bad:?}");
        }
    }
}

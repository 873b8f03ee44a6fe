//! Request frames, built from the protocol's own valid examples (`examples/index.json`) and
//! patched with what a scenario needs: fresh correlation values, the session id, a credential, a
//! room; or broken on purpose (unknown discriminator, missing field, oversized).

use agentwire_spec::ProtocolSource;
use agentwire_spec::protocol::{AuthMethod, Correlation, Direction};
use agentwire_spec::union::TagValue;
use base64::Engine as _;
use serde_json::Value;

use crate::schemas::Schemas;
use crate::util::{fresh_id, remove_pointer, set_pointer};
use crate::validate::ProtocolValidators;

/// The text put into base64-annotated fields whose example value does not decode.
const SAMPLE_TEXT: &str = "Hello from the agentwire conformance suite";
/// The discriminator value no protocol documents.
pub const UNKNOWN_TAG: &str = "conformance_unknown_type";

/// Builds the client frames of one protocol.
#[derive(Debug, Clone, Copy)]
pub struct Requests<'a> {
    /// The protocol.
    pub protocol: &'a ProtocolSource,
    /// Its validators.
    pub validators: &'a ProtocolValidators,
    /// Every schema, to read a message's required fields.
    pub schemas: &'a Schemas,
}

/// A request ready to send, and the values its reply must echo.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The frame.
    pub frame: Value,
    /// Whether `client.schema.json` accepts it (a protocol whose examples need patching may not).
    pub valid: bool,
}

impl<'a> Requests<'a> {
    /// The first valid example of a client message.
    pub fn example(&self, message: &str) -> Option<Value> {
        self.protocol
            .valid_examples()
            .into_iter()
            .find(|(e, _)| e.direction == Direction::Client && e.message == message)
            .map(|(_, v)| v.clone())
    }

    /// A request of `message` from its example, with fresh values at the correlation pointers,
    /// the session id where `sessions.id_in_requests` puts it, and decodable base64 text.
    pub fn build(
        &self,
        message: &str,
        session: Option<&str>,
        correlation: &[Correlation],
    ) -> Option<Built> {
        let mut frame = self.example(message)?;
        for pointer in self.validators.client.base64_pointers(message) {
            if let Some(Value::String(text)) = frame.pointer(pointer)
                && base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .is_err()
            {
                let encoded = base64::engine::general_purpose::STANDARD.encode(SAMPLE_TEXT);
                set_pointer(&mut frame, pointer, Value::String(encoded));
            }
        }
        let session_pointer = self.session_pointer(message);
        if let (Some(pointer), Some(id)) = (session_pointer, session) {
            set_pointer(&mut frame, pointer, Value::String(id.to_string()));
        }
        for c in correlation {
            if Some(c.request.as_str()) == session_pointer && session.is_some() {
                continue;
            }
            let fresh = match frame.pointer(&c.request) {
                Some(Value::Number(_)) => Value::from(fresh_number()),
                _ => Value::String(fresh_id()),
            };
            set_pointer(&mut frame, &c.request, fresh);
        }
        let valid = self.validators.client.is_valid(&frame);
        Some(Built { frame, valid })
    }

    /// Where a message names its session, if it does.
    pub fn session_pointer(&self, message: &str) -> Option<&'a str> {
        self.protocol
            .description
            .sessions
            .as_ref()?
            .id_in_requests
            .get(message)
            .map(String::as_str)
    }

    /// The first-message authentication frame carrying `token`.
    pub fn auth_message(&self, message: &str, pointer: &str, token: &str) -> Option<Value> {
        let mut frame = self.example(message)?;
        set_pointer(&mut frame, pointer, Value::String(token.to_string()));
        Some(frame)
    }

    /// Client messages worth breaking, best first: the exchanges' requests, then every other
    /// example; never an authentication message (those are the auth checks' business).
    fn candidates(&self) -> Vec<(String, Value)> {
        let d = &self.protocol.description;
        let auth: Vec<&str> = d
            .auth
            .iter()
            .flat_map(|a| &a.methods)
            .filter_map(|m| match m {
                AuthMethod::FirstMessage { message, .. } => Some(message.as_str()),
                _ => None,
            })
            .collect();
        let mut names: Vec<&str> = d.exchanges.iter().map(|e| e.request.as_str()).collect();
        names.extend(d.relays.iter().map(|r| r.request.as_str()));
        for (example, _) in self.protocol.valid_examples() {
            if example.direction == Direction::Client {
                names.push(example.message.as_str());
            }
        }
        let mut out: Vec<(String, Value)> = Vec::new();
        for name in names {
            if auth.contains(&name) || out.iter().any(|(n, _)| n == name) {
                continue;
            }
            if let Some(built) = self.build(name, Some("conformance-session"), &[]) {
                out.push((name.to_string(), built.frame));
            }
        }
        out
    }

    /// A valid request whose first discriminator names no documented message.
    pub fn unknown_type(&self) -> Option<(String, Value)> {
        for (name, mut frame) in self.candidates() {
            let Some(variant) = self.validators.client.union().select(&frame) else {
                continue;
            };
            let Some(test) = variant
                .when
                .iter()
                .find(|t| matches!(&t.value, TagValue::Equals(Value::String(_))))
            else {
                continue;
            };
            let pointer = test.pointer.clone();
            set_pointer(&mut frame, &pointer, Value::String(UNKNOWN_TAG.into()));
            if self.validators.client.message_of(&frame).is_none() {
                return Some((
                    format!("`{name}` with {pointer} set to {UNKNOWN_TAG:?}"),
                    frame,
                ));
            }
        }
        None
    }

    /// A valid request without one of its required fields (never a discriminator).
    pub fn missing_field(&self) -> Option<(String, Value)> {
        let tags = self.validators.client.discriminators();
        for (name, mut frame) in self.candidates() {
            let Some(uri) = self.protocol.message_uri(&name) else {
                continue;
            };
            let Ok(resolved) = self.schemas.workspace.schemas.resolve_absolute(&uri) else {
                continue;
            };
            let required: Vec<String> = resolved
                .schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for field in required {
                let pointer = agentwire_spec::union::join("", &field);
                if tags.contains(&pointer.as_str()) {
                    continue;
                }
                if remove_pointer(&mut frame, &pointer).is_some()
                    && !self.validators.client.is_valid(&frame)
                {
                    return Some((format!("`{name}` without `{field}`"), frame));
                }
            }
        }
        None
    }

    /// A valid request to pad to a size: the first candidate (the first exchange's request, with a
    /// placeholder session id where it names one), else the first relay's or example's.
    pub fn paddable(&self) -> Option<(String, Value)> {
        self.candidates().into_iter().next()
    }
}

/// A fresh number for numeric correlation values.
fn fresh_number() -> u64 {
    u64::from_str_radix(&fresh_id()[..12], 16).unwrap_or(1)
}

/// Grows a frame to exactly `size` bytes of JSON by lengthening its longest string that is not at
/// a protected pointer (discriminators, correlation, session), or by adding a `padding` member.
pub fn pad(frame: &Value, protected: &[&str], size: usize) -> Value {
    let mut frame = frame.clone();
    let mut strings = Vec::new();
    string_leaves(&frame, String::new(), &mut strings);
    let target = strings
        .into_iter()
        .filter(|(pointer, _)| !protected.contains(&pointer.as_str()))
        .max_by_key(|(_, len)| *len)
        .map(|(pointer, _)| pointer);
    let pointer = match target {
        Some(pointer) => pointer,
        None => {
            set_pointer(&mut frame, "/padding", Value::String(String::new()));
            "/padding".to_string()
        }
    };
    let current = frame.to_string().len();
    if size > current
        && let Some(Value::String(text)) = frame.pointer_mut(&pointer)
    {
        text.push_str(&"x".repeat(size - current));
    }
    frame
}

fn string_leaves(value: &Value, pointer: String, out: &mut Vec<(String, usize)>) {
    match value {
        Value::String(text) => out.push((pointer, text.len())),
        Value::Object(map) => {
            for (key, item) in map {
                string_leaves(item, agentwire_spec::union::join(&pointer, key), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pads_to_the_exact_size() {
        let frame = json!({"type": "message", "content": "hi"});
        let padded = pad(&frame, &["/type"], 1000);
        assert_eq!(padded.to_string().len(), 1000);
        assert_eq!(padded["type"], "message");
        let padded = pad(&json!({"type": "ping"}), &["/type"], 500);
        assert_eq!(padded.to_string().len(), 500);
        assert!(padded.get("padding").is_some());
    }
}

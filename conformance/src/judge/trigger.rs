//! Bad input, named the way `protocol.json`'s reactions name it: which [`Trigger`] a frame a
//! client sent is, so that the reaction the document gives for it can be looked up (the proxy
//! awaits it, and with `--enforce` answers it itself).

use agentwire_spec::protocol::Trigger;
use serde_json::Value;

use crate::validate::{FrameValidator, Verdict};

/// What a client frame was, as far as bad input goes.
#[derive(Debug, Clone, Copy)]
pub enum Sent<'a> {
    /// A text frame that is not JSON.
    NotJson,
    /// A binary frame: no trigger names one.
    Binary,
    /// A JSON value and its verdict against `client.schema.json`.
    Json(&'a Value, &'a Verdict),
}

/// The trigger a client frame is, or `None` when it is a valid message or bad in a way no
/// trigger names (a binary frame; a message whose only fault is a value's format or range).
pub fn trigger_of(validator: &FrameValidator, sent: Sent<'_>) -> Option<Trigger> {
    let (value, verdict) = match sent {
        Sent::NotJson => return Some(Trigger::MalformedJson),
        Sent::Binary => return None,
        Sent::Json(value, verdict) => (value, verdict),
    };
    if verdict.is_valid() {
        return None;
    }
    if !value.is_object() {
        return Some(Trigger::NotAnObject);
    }
    if verdict.message.is_none() {
        let tagged = validator
            .discriminators()
            .iter()
            .any(|pointer| value.pointer(pointer).is_some());
        return Some(if tagged {
            Trigger::UnknownType
        } else {
            Trigger::MissingDiscriminator
        });
    }
    let keyword = |k: &str| verdict.errors.iter().any(|e| e.keyword == k);
    if keyword("required") {
        Some(Trigger::MissingField)
    } else if keyword("type") {
        Some(Trigger::WrongFieldType)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schemas;
    use serde_json::json;

    #[test]
    fn client_frames_are_named_as_the_reactions_name_them() {
        let schemas = Schemas::embedded().expect("schemas");
        let validators = schemas.validators("generalbots").expect("generalbots");
        let client = &validators.client;
        let name = |value: Value| {
            let verdict = client.validate(&value);
            trigger_of(client, Sent::Json(&value, &verdict))
        };
        let cases = [
            (json!({"type": "ping"}), None),
            (json!([1, 2]), Some(Trigger::NotAnObject)),
            (json!("ping"), Some(Trigger::NotAnObject)),
            (
                json!({"content": "hi"}),
                Some(Trigger::MissingDiscriminator),
            ),
            (json!({"type": "launch"}), Some(Trigger::UnknownType)),
            (json!({"type": "message"}), Some(Trigger::MissingField)),
            (
                json!({"type": "message", "content": 7, "session_id": "s"}),
                Some(Trigger::WrongFieldType),
            ),
        ];
        for (frame, wanted) in cases {
            assert_eq!(name(frame.clone()), wanted, "{frame}");
        }
        assert_eq!(
            trigger_of(client, Sent::NotJson),
            Some(Trigger::MalformedJson)
        );
        assert_eq!(trigger_of(client, Sent::Binary), None);
    }
}

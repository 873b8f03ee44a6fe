//! Whether a frame is the documented answer to a request: one of the exchange's reply messages,
//! correlated the documented way, of the kind the description names, and never of a kind the
//! server also sends on its own (a greeting is no answer).

use agentwire_spec::protocol::{Exchange, ProtocolDescription, ReplyForm};
use serde_json::Value;

use crate::judge::{correlate, expectation_failure};
use crate::util::quoted;

/// What kind of frame a frame is: its message and, where the description names a value that
/// tells kinds of that message apart (RIXA's `role`), that value.
#[derive(Debug, Clone, PartialEq)]
pub struct Kind {
    /// The message its discriminators select.
    pub message: Option<String>,
    /// The message's kind pointer and the value there.
    pub value: Option<(String, Value)>,
}

impl Kind {
    /// The kind of `frame`, selected as `message`.
    pub fn of(description: &ProtocolDescription, message: Option<&str>, frame: &Value) -> Self {
        let value = message
            .and_then(|m| description.messages.get(m))
            .and_then(|info| info.kind.as_ref())
            .and_then(|pointer| Some((pointer.clone(), frame.pointer(pointer)?.clone())));
        Self {
            message: message.map(str::to_string),
            value,
        }
    }

    /// `` `response` with /role "intro" ``.
    pub fn describe(&self) -> String {
        let message = self.message.as_deref().unwrap_or("frame");
        match &self.value {
            Some((pointer, value)) => format!("`{message}` with {pointer} {}", quoted(value)),
            None => format!("`{message}`"),
        }
    }
}

/// A received frame, as the matching reads it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// The message its discriminators select.
    pub message: Option<&'a str>,
    /// The frame.
    pub frame: &'a Value,
    /// Whether it is valid against `server.schema.json`.
    pub valid: bool,
    /// Whether its message is told by a discriminator's value, not only by an absence (a RIXA
    /// response is any object without `type`: that names no kind).
    pub tagged: bool,
    /// Its kind.
    pub kind: &'a Kind,
}

/// What a frame is to a request waiting for its answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// The documented reply, in this form of the exchange's replies.
    Reply(usize),
    /// A reply of the right message and correlation but of another kind than the form names
    /// (RIXA's role): kept, and taken only if no better reply arrives in time; why it is not one.
    Fallback(usize, String),
    /// A reply message that is not the answer (wrong correlation, a kind sent unprompted, a
    /// frame that breaks its schema where nothing else tells the answer); why.
    Miss(String),
    /// No reply message of this exchange: judged on its own.
    Unrelated,
}

/// Judges one frame against the replies `exchange` documents for `request`. `unprompted` are the
/// kinds the server sent on its own before the request: where a reply form has no correlation,
/// a frame of such a kind is never the answer.
pub fn match_reply(
    description: &ProtocolDescription,
    exchange: &Exchange,
    request: &Value,
    seen: Seen<'_>,
    unprompted: &[Kind],
) -> Match {
    let Some(message) = seen.message else {
        return Match::Unrelated;
    };
    let mut best = Match::Unrelated;
    for (form, reply) in exchange.replies.iter().enumerate() {
        let (correlation, expect) = match reply {
            ReplyForm::Single(single) if single.messages.iter().any(|m| m == message) => {
                (&single.correlation, single.expect.as_slice())
            }
            ReplyForm::Stream(stream) if stream.start == message => (&stream.correlation, &[][..]),
            _ => continue,
        };
        let miss = if let Err(why) = correlate(correlation, request, seen.frame) {
            Some(format!("a `{message}` {why}"))
        } else if correlation.is_empty() && unprompted.contains(seen.kind) {
            Some(format!(
                "a {}, a kind of frame the server also sent unprompted",
                seen.kind.describe()
            ))
        } else if correlation.is_empty() && !seen.tagged && !seen.valid {
            Some(format!(
                "a `{message}` that breaks its schema, and nothing else tells it is the answer"
            ))
        } else {
            None
        };
        if let Some(why) = miss {
            if best == Match::Unrelated {
                best = Match::Miss(why);
            }
            continue;
        }
        // The kind the form names (an expected value at the message's kind pointer).
        let kind_pointer = description
            .messages
            .get(message)
            .and_then(|m| m.kind.as_ref());
        let wrong_kind = expect
            .iter()
            .filter(|e| e.equals.is_some() && Some(&e.pointer) == kind_pointer)
            .find_map(|e| expectation_failure(e, seen.frame));
        match wrong_kind {
            None => return Match::Reply(form),
            Some(why) if !matches!(best, Match::Fallback(..)) => {
                best = Match::Fallback(form, format!("a `{message}` whose {why}"));
            }
            Some(_) => {}
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schemas;
    use serde_json::json;

    fn schemas() -> Schemas {
        Schemas::embedded().expect("schemas")
    }

    /// A request: its message and frame.
    type Request<'a> = (&'a str, Value);
    /// A received frame: its message, the frame, whether it is valid.
    type Received<'a> = (Option<&'a str>, Value, bool);

    /// Matches `frame` (selected as `message`) against `protocol`'s exchange of `request`.
    fn judge(
        schemas: &Schemas,
        protocol: &str,
        request: Request<'_>,
        frame: Received<'_>,
        unprompted: &[Value],
    ) -> Match {
        let description = &schemas.protocol(protocol).unwrap().description;
        let exchange = description
            .exchanges
            .iter()
            .find(|e| e.request == request.0)
            .unwrap();
        let (message, value, valid) = frame;
        let kind = Kind::of(description, message, &value);
        let unprompted: Vec<Kind> = unprompted
            .iter()
            .map(|v| Kind::of(description, message, v))
            .collect();
        let seen = Seen {
            message,
            frame: &value,
            valid,
            tagged: message != Some("response"),
            kind: &kind,
        };
        match_reply(description, exchange, &request.1, seen, &unprompted)
    }

    #[test]
    fn frames_against_the_documented_reply() {
        let s = schemas();
        let greeting = json!({"role": "intro", "content": "hi"});
        let modes = json!({"role": "chat_modes", "content": []});
        let ping = json!({"msg": "ping", "cid": "a", "content": null});
        let rixa_modes = ("get_chat_modes", json!({"type": "get_chat_modes"}));
        let rixa_code = (
            "execute_plugin_code",
            json!({"type": "execute_plugin_code"}),
        );
        // (protocol, request, received frame, frames seen unprompted, what it is)
        type Case<'a> = (&'a str, Request<'a>, Received<'a>, Vec<Value>, &'a str);
        let cases: Vec<Case<'_>> = vec![
            // The role the exchange names answers; another role is kept as a fallback.
            (
                "rixa",
                rixa_modes.clone(),
                (Some("response"), modes.clone(), true),
                vec![],
                "reply",
            ),
            (
                "rixa",
                rixa_modes.clone(),
                (Some("response"), json!({"role": "x"}), true),
                vec![],
                "fallback",
            ),
            // A greeting's kind, seen before the request, is never the answer.
            (
                "rixa",
                rixa_code.clone(),
                (Some("response"), greeting.clone(), true),
                vec![greeting.clone()],
                "miss",
            ),
            (
                "rixa",
                rixa_code.clone(),
                (Some("response"), modes.clone(), true),
                vec![greeting.clone()],
                "reply",
            ),
            (
                "rixa",
                rixa_modes,
                (Some("response"), greeting.clone(), true),
                vec![greeting],
                "miss",
            ),
            // Nothing tells a RIXA response is the answer but its arrival: it must be valid.
            (
                "rixa",
                rixa_code.clone(),
                (Some("response"), json!({"role": 1}), false),
                vec![],
                "miss",
            ),
            // An error is a documented reply; a frame of no message is unrelated.
            (
                "rixa",
                rixa_code.clone(),
                (Some("status"), json!({"type": "status"}), false),
                vec![],
                "reply",
            ),
            (
                "rixa",
                rixa_code,
                (None, json!({"type": "error"}), false),
                vec![],
                "unrelated",
            ),
            // Correlation by cid.
            (
                "datagram",
                ("ping", json!({"cid": "a"})),
                (Some("pong"), ping.clone(), true),
                vec![],
                "reply",
            ),
            (
                "datagram",
                ("ping", json!({"cid": "b"})),
                (Some("pong"), ping, true),
                vec![],
                "miss",
            ),
            (
                "datagram",
                ("ping", json!({"cid": "a"})),
                (Some("system_message"), json!({}), true),
                vec![],
                "unrelated",
            ),
            // A stream's start answers as well as a single reply.
            (
                "generalbots",
                ("chat_message", json!({"session_id": "s"})),
                (
                    Some("stream_start"),
                    json!({"session_id": "s", "message_id": "m"}),
                    true,
                ),
                vec![],
                "reply",
            ),
        ];
        for (protocol, request, frame, unprompted, wanted) in cases {
            let shown = format!("{protocol} {} {}", request.0, frame.1);
            let found = judge(&s, protocol, request, frame, &unprompted);
            let name = match found {
                Match::Reply(_) => "reply",
                Match::Fallback(..) => "fallback",
                Match::Miss(_) => "miss",
                Match::Unrelated => "unrelated",
            };
            assert_eq!(name, wanted, "{shown}: {found:?}");
        }
    }

    #[test]
    fn kinds_name_their_value() {
        let s = schemas();
        let rixa = &s.protocol("rixa").unwrap().description;
        let kind = Kind::of(rixa, Some("response"), &json!({"role": "intro"}));
        assert_eq!(kind.describe(), "`response` with /role \"intro\"");
        let plain = Kind::of(rixa, Some("status"), &json!({"type": "status"}));
        assert_eq!(plain.describe(), "`status`");
        assert_ne!(
            kind,
            Kind::of(rixa, Some("response"), &json!({"role": "chat_modes"}))
        );
    }
}

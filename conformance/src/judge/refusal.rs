//! Refusals: whether what a server answered a request naming a session it must not serve (never
//! created, or made on another connection) is a documented refusal, or a success.

use agentwire_spec::protocol::{Exchange, Outcome, ProtocolDescription};
use serde_json::Value;

use crate::judge::{Kind, Match, Seen, match_reply, reply_outcome};

/// What a frame is to a request that must be refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A documented refusal, described.
    Refused(String),
    /// An answer of the request's exchange that is no refusal: the request was served; why.
    Served(String),
    /// A frame of a refusal's message (or a reply of the exchange) that is not about this
    /// request, or not what a refusal shows; why.
    Miss(String),
    /// Nothing to do with the request: judged on its own.
    Unrelated,
}

/// Judges one frame. `exchange` is the request's own exchange, if it has one: its replies, when
/// correlated with the request and none of the documented refusals, show the request served.
pub fn refusal(
    description: &ProtocolDescription,
    exchange: Option<&Exchange>,
    outcomes: &[Outcome],
    request: &Value,
    seen: Seen<'_>,
    unprompted: &[Kind],
) -> Refusal {
    let Some(message) = seen.message else {
        return Refusal::Unrelated;
    };
    let answer = exchange.map(|e| match_reply(description, e, request, seen, unprompted));
    let answers = matches!(answer, Some(Match::Reply(_) | Match::Fallback(..)));
    if let Some(Match::Miss(why)) = answer {
        // A reply of the exchange about another request (another cid): not this answer.
        return Refusal::Miss(why);
    }
    match reply_outcome(outcomes, message, seen.frame) {
        Some(Ok(how)) => Refusal::Refused(how),
        Some(Err(why)) if answers => Refusal::Served(why),
        Some(Err(why)) => Refusal::Miss(why),
        None if answers => Refusal::Served(format!(
            "answered by `{message}`, as if the session could be used"
        )),
        None => Refusal::Unrelated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentwire_spec::protocol::Expectation;
    use serde_json::json;

    fn datagram() -> ProtocolDescription {
        let schemas = crate::schemas::Schemas::embedded().expect("schemas");
        schemas
            .protocol("datagram")
            .expect("datagram")
            .description
            .clone()
    }

    fn seen<'a>(message: &'a str, frame: &'a Value, kind: &'a Kind) -> Seen<'a> {
        Seen {
            message: Some(message),
            frame,
            valid: true,
            tagged: true,
            kind,
        }
    }

    #[test]
    fn a_success_is_no_refusal_and_a_stray_reply_is_no_answer() {
        let d = datagram();
        let resume = d
            .exchanges
            .iter()
            .find(|e| e.request == "session_resume")
            .unwrap();
        let refused = [Outcome::Reply {
            message: "session_response".into(),
            expect: vec![Expectation {
                pointer: "/content/success".into(),
                equals: Some(json!(false)),
                rule: None,
            }],
        }];
        let request = json!({"msg": "session", "cid": "c1", "content": {"request": "resume", "session_id": "nope"}});
        let kind = Kind {
            message: Some("session_response".into()),
            value: None,
        };
        let judge = |frame: Value| {
            refusal(
                &d,
                Some(resume),
                &refused,
                &request,
                seen("session_response", &frame, &kind),
                &[],
            )
        };
        let failure = json!({"msg": "session", "cid": "c1", "content": {"success": false, "error": "no such session"}});
        assert!(matches!(judge(failure), Refusal::Refused(_)));
        let success =
            json!({"msg": "session", "cid": "c1", "content": {"success": true, "error": null}});
        let Refusal::Served(why) = judge(success) else {
            panic!("a success serves the request");
        };
        assert!(why.contains("/content/success is true, not false"), "{why}");
        let other =
            json!({"msg": "session", "cid": "c2", "content": {"success": true, "error": null}});
        assert!(matches!(judge(other), Refusal::Miss(_)));
    }

    #[test]
    fn an_error_of_the_documented_code_refuses_and_a_reply_serves() {
        let schemas = crate::schemas::Schemas::embedded().expect("schemas");
        let d = &schemas.protocol("generalbots").unwrap().description;
        let chat = d
            .exchanges
            .iter()
            .find(|e| e.request == "chat_message")
            .unwrap();
        let outcomes = &d.sessions.as_ref().unwrap().unknown[0].outcomes;
        let request = json!({"type": "message", "session_id": "nope", "content": "hi"});
        let cases = [
            (
                "error_message",
                json!({"type": "error", "code": "SESSION_NOT_FOUND", "message": "x"}),
                "refused",
            ),
            (
                "error_message",
                json!({"type": "error", "code": "RATE_LIMITED", "message": "x"}),
                "miss",
            ),
            (
                "chat_response",
                json!({"type": "message", "session_id": "nope", "message_id": "m", "role": "assistant", "content": "hi", "timestamp": "2024-01-01T10:00:01Z"}),
                "served",
            ),
            (
                "stream_start",
                json!({"type": "stream_start", "session_id": "nope", "message_id": "m"}),
                "served",
            ),
            (
                "bot_typing",
                json!({"type": "bot_typing", "session_id": "nope", "is_typing": true}),
                "unrelated",
            ),
        ];
        for (message, frame, expected) in cases {
            let kind = Kind {
                message: Some(message.into()),
                value: None,
            };
            let found = match refusal(
                d,
                Some(chat),
                outcomes,
                &request,
                seen(message, &frame, &kind),
                &[],
            ) {
                Refusal::Refused(_) => "refused",
                Refusal::Served(_) => "served",
                Refusal::Miss(_) => "miss",
                Refusal::Unrelated => "unrelated",
            };
            assert_eq!(found, expected, "{frame}");
        }
    }
}

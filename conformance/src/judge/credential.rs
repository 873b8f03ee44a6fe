//! Whether the run's own credential was refused: then every check that needs it would fail for
//! the user's mistake (a wrong `--token`, a wrong `--jwt-secret`), not the server's, so the run
//! stops with one message instead (exit 2).

use agentwire_spec::ProtocolSource;
use agentwire_spec::protocol::{Outcome, Trigger};

use crate::judge::{OutcomeSeen, close_outcome, reply_outcome};
use crate::report::{Evidence, FrameDirection};

/// The documented refusals of an invalid or expired credential (not those of a missing one,
/// which may be any close).
pub fn refusals(protocol: &ProtocolSource) -> Vec<Outcome> {
    protocol
        .description
        .reactions
        .iter()
        .filter(|r| matches!(r.trigger, Trigger::AuthInvalid | Trigger::AuthExpired))
        .flat_map(|r| r.outcomes.iter().cloned())
        .collect()
}

/// How a connection that presented the run's valid credential was refused, if what it received
/// (its evidence, in order) shows one of `refusals`: the documented error reply, or a close with
/// a documented code.
pub fn refused(refusals: &[Outcome], evidence: &[Evidence]) -> Option<String> {
    evidence.iter().find_map(|e| match e {
        Evidence::Frame {
            direction: FrameDirection::Received,
            json: Some(value),
            message: Some(message),
            ..
        } => reply_outcome(refusals, message, value).and_then(Result::ok),
        Evidence::Close { code, reason, .. } => {
            match close_outcome(refusals, *code, reason, Vec::new()) {
                OutcomeSeen::Matched(how) => Some(how),
                OutcomeSeen::Missing(_) => None,
            }
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentwire_spec::protocol::Expectation;
    use serde_json::json;

    fn received(message: &str, value: serde_json::Value) -> Evidence {
        Evidence::Frame {
            connection: "first".into(),
            direction: FrameDirection::Received,
            json: Some(value),
            text: None,
            bytes: None,
            message: Some(message.into()),
        }
    }

    fn close(code: Option<u16>) -> Evidence {
        Evidence::Close {
            connection: "first".into(),
            code,
            reason: "bye".into(),
        }
    }

    #[test]
    fn only_the_documented_refusal_counts() {
        let auth_failed = [Outcome::Reply {
            message: "error_message".into(),
            expect: vec![Expectation {
                pointer: "/code".into(),
                equals: Some(json!("AUTH_FAILED")),
                rule: None,
            }],
        }];
        let policy = [Outcome::Close { codes: vec![1008] }];
        let cases: [(&[Outcome], Vec<Evidence>, bool); 7] = [
            (
                &auth_failed,
                vec![
                    received("error_message", json!({"code": "AUTH_FAILED"})),
                    close(Some(1008)),
                ],
                true,
            ),
            (
                &auth_failed,
                vec![received("error_message", json!({"code": "RATE_LIMITED"}))],
                false,
            ),
            (
                &auth_failed,
                vec![received("pong", json!({"code": "AUTH_FAILED"}))],
                false,
            ),
            (&auth_failed, vec![close(Some(1008))], false),
            (&policy, vec![close(Some(1008))], true),
            (&policy, vec![close(Some(1011))], false),
            (&policy, vec![close(None)], false),
        ];
        for (refusals, evidence, expected) in cases {
            assert_eq!(
                refused(refusals, &evidence).is_some(),
                expected,
                "{evidence:?}"
            );
        }
    }
}

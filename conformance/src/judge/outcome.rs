//! Reactions: whether what a server did (a reply, a close, a refused handshake) is one of the
//! outcomes `protocol.json` documents for bad input, failed authentication or exceeded limits.

use agentwire_spec::protocol::Outcome;
use serde_json::Value;

use crate::connection::DialError;
use crate::judge::{describe_close, expectation_failure};

/// What a reaction check saw.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeSeen {
    /// A documented outcome, described.
    Matched(String),
    /// None; what came instead.
    Missing(Vec<String>),
}

/// Judges a received frame against the documented reply outcomes: `Some(Ok(how))` when it is
/// one, `Some(Err(why))` when it is a documented reply's message without what that reply shows,
/// `None` when no reply outcome names its message.
pub fn reply_outcome(
    outcomes: &[Outcome],
    message: &str,
    value: &Value,
) -> Option<Result<String, String>> {
    let mut miss = None;
    for outcome in outcomes {
        let Outcome::Reply {
            message: wanted,
            expect,
        } = outcome
        else {
            continue;
        };
        if wanted != message {
            continue;
        }
        let wrong: Vec<String> = expect
            .iter()
            .filter_map(|e| expectation_failure(e, value))
            .collect();
        if wrong.is_empty() {
            return Some(Ok(format!("answered with `{message}`")));
        }
        miss.get_or_insert_with(|| format!("a `{message}` whose {}", wrong.join(", ")));
    }
    miss.map(Err)
}

/// Judges a close against the documented close outcomes.
pub fn close_outcome(
    outcomes: &[Outcome],
    code: Option<u16>,
    reason: &str,
    mut mismatches: Vec<String>,
) -> OutcomeSeen {
    for outcome in outcomes {
        if let Outcome::Close { codes } = outcome {
            match code {
                Some(code) if codes.is_empty() || codes.contains(&code) => {
                    return OutcomeSeen::Matched(describe_close(Some(code), reason));
                }
                None if codes.is_empty() => {
                    return OutcomeSeen::Matched(format!("closed ({reason})"));
                }
                _ => {}
            }
        }
    }
    let documented = documented_outcomes(outcomes);
    mismatches.push(format!(
        "the connection {}; documented: {documented}",
        describe_close(code, reason)
    ));
    OutcomeSeen::Missing(mismatches)
}

/// Judges a refused handshake against the documented close outcomes: refusing the handshake is a
/// way of closing only where no close code is documented.
pub fn refusal_outcome(outcomes: &[Outcome], error: &DialError) -> OutcomeSeen {
    let codeless_close = outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Close { codes } if codes.is_empty()));
    if codeless_close {
        return OutcomeSeen::Matched(format!("refused: {error}"));
    }
    OutcomeSeen::Missing(vec![format!(
        "{error}, but the document says: {}",
        documented_outcomes(outcomes)
    )])
}

/// The documented outcomes in words.
pub fn documented_outcomes(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Reply { message, expect } => {
                let what: Vec<String> = expect
                    .iter()
                    .map(|e| match &e.equals {
                        Some(v) => format!("{} = {v}", e.pointer),
                        None => format!("{} present", e.pointer),
                    })
                    .collect();
                if what.is_empty() {
                    format!("a `{message}` reply")
                } else {
                    format!("a `{message}` reply with {}", what.join(", "))
                }
            }
            Outcome::Close { codes } if codes.is_empty() => "closing the connection".into(),
            Outcome::Close { codes } => format!(
                "closing with {}",
                codes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        })
        .collect::<Vec<_>>()
        .join(", or ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentwire_spec::protocol::Expectation;
    use serde_json::json;

    fn error_reply(code: &str) -> Outcome {
        Outcome::Reply {
            message: "error_message".into(),
            expect: vec![Expectation {
                pointer: "/code".into(),
                equals: Some(json!(code)),
                rule: None,
            }],
        }
    }

    #[test]
    fn replies_are_judged_by_message_and_expectation() {
        let outcomes = [error_reply("AUTH_FAILED")];
        let cases = [
            ("error_message", json!({"code": "AUTH_FAILED"}), Some(true)),
            (
                "error_message",
                json!({"code": "RATE_LIMITED"}),
                Some(false),
            ),
            ("error_message", json!({}), Some(false)),
            ("pong", json!({"code": "AUTH_FAILED"}), None),
        ];
        for (message, frame, expected) in cases {
            let found = reply_outcome(&outcomes, message, &frame).map(|r| r.is_ok());
            assert_eq!(found, expected, "{message} {frame}");
        }
    }

    #[test]
    fn closes_match_the_documented_codes() {
        let any = [Outcome::Close { codes: vec![] }];
        let policy = [Outcome::Close { codes: vec![1008] }];
        let matched = |seen: OutcomeSeen| matches!(seen, OutcomeSeen::Matched(_));
        assert!(matched(close_outcome(&any, Some(1011), "", vec![])));
        assert!(matched(close_outcome(&any, None, "reset", vec![])));
        assert!(matched(close_outcome(&policy, Some(1008), "", vec![])));
        let OutcomeSeen::Missing(why) = close_outcome(&policy, Some(1011), "boom", vec![]) else {
            panic!("1011 is not 1008");
        };
        assert!(why[0].contains("1011 (internal error: boom)"), "{why:?}");
        assert!(why[0].contains("closing with 1008"), "{why:?}");
        assert!(!matched(close_outcome(&policy, None, "reset", vec![])));
    }

    #[test]
    fn a_refused_handshake_is_a_close_only_where_no_code_is_documented() {
        let refused = DialError::Refused(403);
        let matched = |seen: OutcomeSeen| matches!(seen, OutcomeSeen::Matched(_));
        assert!(matched(refusal_outcome(
            &[Outcome::Close { codes: vec![] }],
            &refused
        )));
        assert!(!matched(refusal_outcome(
            &[Outcome::Close { codes: vec![1008] }],
            &refused
        )));
        assert!(!matched(refusal_outcome(
            &[error_reply("AUTH_FAILED")],
            &refused
        )));
    }

    #[test]
    fn outcomes_read_as_words() {
        let outcomes = [
            error_reply("X"),
            Outcome::Close {
                codes: vec![1008, 1011],
            },
        ];
        assert_eq!(
            documented_outcomes(&outcomes),
            "a `error_message` reply with /code = \"X\", or closing with 1008 or 1011"
        );
    }
}

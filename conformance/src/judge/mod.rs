//! Pure judgements: what the frames, closes, refusals and timings a conversation captured say
//! about a server. Nothing here does I/O; every function is tested by tables without a server.
//!
//! - [`reply`]: whether a frame is the documented answer to a request (kind, correlation).
//! - [`answer`]: the verdict on a whole answer: silence, a close, expectations, a stream.
//! - [`outcome`]: whether a reaction to bad input is one the document names.
//! - [`close`]: close codes, closes in answer to valid messages, refusals that leave nothing to
//!   test.
//! - [`refusal`]: whether a request naming a session the server must not serve was refused.
//! - [`busy`]: what became of a request sent while the server was busy with another.
//! - [`credential`]: whether the run's own credential was refused.
//! - [`trigger`]: which bad input (a reaction's trigger) a client frame is.

pub mod answer;
pub mod busy;
pub mod close;
pub mod credential;
pub mod outcome;
pub mod refusal;
pub mod reply;
pub mod trigger;

use std::time::Duration;

use agentwire_spec::protocol::{Correlation, Expectation};
use serde_json::Value;

use crate::report::{Evidence, Severity};
use crate::util::quoted;

pub use close::{Closed, close_code_name, closed_in_answer, describe_close, untestable};
pub use outcome::{
    OutcomeSeen, close_outcome, documented_outcomes, refusal_outcome, reply_outcome,
};
pub use refusal::{Refusal, refusal};
pub use reply::{Kind, Match, Seen, match_reply};

/// Most near misses (wrong correlation, undocumented replies) kept while waiting for an answer.
pub const MAX_NEAR_MISSES: usize = 8;

/// A conclusion to record: what was found, and where it compares, what was expected and received.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// What was found, in one line.
    pub message: String,
    /// What the document led the suite to expect.
    pub expected: Option<String>,
    /// What the server did instead.
    pub received: Option<String>,
    /// How long after the request the server did it, or the wait ended.
    pub elapsed: Option<Duration>,
}

impl Finding {
    /// A finding without a comparison.
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            message: message.into(),
            expected: None,
            received: None,
            elapsed: None,
        }
    }
}

impl From<Finding> for Evidence {
    fn from(finding: Finding) -> Self {
        Evidence::Finding {
            severity: finding.severity,
            message: finding.message,
            expected: finding.expected,
            received: finding.received,
            elapsed_ms: finding.elapsed.map(|d| d.as_millis() as u64),
        }
    }
}

/// Notes a near miss, keeping at most [`MAX_NEAR_MISSES`] (a flood of wrong answers stays small).
pub fn note(misses: &mut Vec<String>, why: String) {
    if misses.len() < MAX_NEAR_MISSES {
        misses.push(why);
    }
}

/// `" (instead: a, b)"` for a non-empty list of near misses.
pub fn describe(mismatches: &[String]) -> String {
    if mismatches.is_empty() {
        String::new()
    } else {
        format!(" (instead: {})", mismatches.join("; "))
    }
}

/// Checks that a reply copies the request's values; the reason when it does not.
pub fn correlate(
    correlation: &[Correlation],
    request: &Value,
    reply: &Value,
) -> Result<(), String> {
    for c in correlation {
        let wanted = request.pointer(&c.request);
        let found = reply.pointer(&c.reply);
        if wanted != found {
            return Err(format!(
                "whose {} is {}, not the request's {} ({})",
                c.reply,
                found.map_or("absent".into(), quoted),
                c.request,
                wanted.map_or("absent".into(), quoted)
            ));
        }
    }
    Ok(())
}

/// Why a frame does not show an expectation, if it does not.
pub fn expectation_failure(expectation: &Expectation, frame: &Value) -> Option<String> {
    let found = frame.pointer(&expectation.pointer);
    match (&expectation.equals, found) {
        (Some(wanted), Some(found)) if wanted == found => None,
        (Some(wanted), Some(found)) => Some(format!(
            "{} is {}, not {wanted}",
            expectation.pointer,
            quoted(found)
        )),
        (Some(wanted), None) => Some(format!("{} is absent, not {wanted}", expectation.pointer)),
        (None, Some(_)) => None,
        (None, None) => Some(format!("{} is absent", expectation.pointer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_huge_value_from_the_server_is_clipped_in_findings() {
        let echo = [Correlation {
            request: "/cid".into(),
            reply: "/cid".into(),
        }];
        let reply = json!({"cid": "x".repeat(1 << 20)});
        let why = correlate(&echo, &json!({"cid": "1"}), &reply).unwrap_err();
        assert!(why.len() < 1024, "{} bytes", why.len());
        assert!(why.contains("bytes)"), "{why}");
        assert!(correlate(&echo, &json!({"cid": "1"}), &json!({"cid": "1"})).is_ok());
    }

    #[test]
    fn expectations_name_what_is_wrong() {
        let role = |equals: Option<Value>| Expectation {
            pointer: "/role".into(),
            equals,
            rule: None,
        };
        let cases = [
            (
                role(Some(json!("chat_modes"))),
                json!({"role": "chat_modes"}),
                None,
            ),
            (
                role(Some(json!("chat_modes"))),
                json!({"role": "intro"}),
                Some("/role is \"intro\", not \"chat_modes\""),
            ),
            (
                role(Some(json!("chat_modes"))),
                json!({}),
                Some("/role is absent, not \"chat_modes\""),
            ),
            (role(None), json!({"role": 1}), None),
            (role(None), json!({}), Some("/role is absent")),
        ];
        for (expectation, frame, why) in cases {
            assert_eq!(
                expectation_failure(&expectation, &frame).as_deref(),
                why,
                "{frame}"
            );
        }
    }

    #[test]
    fn near_misses_stay_few() {
        let mut misses = Vec::new();
        for i in 0..100 {
            note(&mut misses, format!("miss {i}"));
        }
        assert_eq!(misses.len(), MAX_NEAR_MISSES);
        assert_eq!(describe(&[]), "");
        assert_eq!(describe(&["a".into(), "b".into()]), " (instead: a; b)");
    }
}

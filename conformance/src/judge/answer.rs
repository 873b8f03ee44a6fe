//! The verdict on an answer: silence where a reply is documented, a close in answer to a valid
//! request, what the reply must show, and a stream that holds together.

use std::time::Duration;

use agentwire_spec::protocol::{Exchange, ProtocolDescription, ReplyForm, StreamReply};
use serde_json::Value;

use crate::conversation::{Answer, Chunk, Reply, StreamEnd};
use crate::judge::{Finding, closed_in_answer, describe, expectation_failure};
use crate::report::Severity;
use crate::util::{prefix, quoted};

/// What the exchange documents, in one line: `` `pong` answering `ping` within 2000 ms ``.
pub fn expected(exchange: &Exchange, budget: Duration) -> String {
    let forms: Vec<String> = exchange
        .replies
        .iter()
        .map(|reply| match reply {
            ReplyForm::Single(single) => single
                .messages
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" or "),
            ReplyForm::Stream(stream) => format!("a `{}`…`{}` stream", stream.start, stream.end),
        })
        .collect();
    format!(
        "{} answering `{}` within {} ms",
        forms.join(", or "),
        exchange.request,
        budget.as_millis()
    )
}

/// What an answer to `exchange` breaks, at the exchange's `level`; a close in answer to the
/// request fails whatever the level when the request was a valid documented message
/// (`request_valid`) and was sent, unless the document says the connection may end there.
pub fn exchange(
    description: &ProtocolDescription,
    exchange: &Exchange,
    answer: &Answer,
    level: Severity,
    request_valid: bool,
) -> Vec<Finding> {
    let request = &exchange.request;
    let expected = expected(exchange, answer.budget);
    let request_valid = request_valid && answer.sent;
    let mut findings = Vec::new();
    let after = match &answer.reply {
        Reply::Nothing => {
            let crash = answer
                .closed
                .as_ref()
                .filter(|_| request_valid)
                .and_then(|closed| closed_in_answer(description, request, None, closed));
            let finding = match (&answer.closed, crash) {
                (Some(_), Some(crash)) => Finding {
                    expected: Some(expected),
                    ..crash
                },
                (Some(closed), None) => Finding {
                    severity: level,
                    message: if answer.sent {
                        format!("the connection ended before `{request}` was answered")
                    } else {
                        format!("the connection ended before `{request}` could be sent")
                    },
                    expected: Some(expected),
                    received: Some(format!("the connection {}", closed.describe())),
                    elapsed: Some(closed.after),
                },
                (None, _) => Finding {
                    severity: level,
                    message: format!(
                        "`{request}` was not answered within {} ms",
                        answer.budget.as_millis()
                    ),
                    expected: Some(expected),
                    received: Some(match answer.near_misses.as_slice() {
                        [] => format!("nothing in {} ms", answer.elapsed.as_millis()),
                        misses => format!("no documented reply{}", describe(misses)),
                    }),
                    elapsed: Some(answer.elapsed),
                },
            };
            findings.push(finding);
            return findings;
        }
        Reply::Single {
            frame,
            form,
            message,
        } => {
            findings.push(Finding::new(
                Severity::Info,
                format!(
                    "answered by `{message}` after {} ms",
                    answer.elapsed.as_millis()
                ),
            ));
            if let Some(ReplyForm::Single(single)) = exchange.replies.get(*form) {
                for expectation in &single.expect {
                    let Some(why) = expectation_failure(expectation, frame) else {
                        continue;
                    };
                    let rule = expectation.rule.as_ref();
                    findings.push(Finding {
                        severity: rule.map_or(level, |r| Severity::from(r.level)),
                        message: format!(
                            "the `{message}` answering `{request}`: {why}{}",
                            rule.map(|r| format!(" (\"{}\")", r.quote))
                                .unwrap_or_default()
                        ),
                        expected: Some(match &expectation.equals {
                            Some(value) => format!("{} = {value}", expectation.pointer),
                            None => format!("{} present", expectation.pointer),
                        }),
                        received: Some(match frame.pointer(&expectation.pointer) {
                            Some(found) => format!("{} = {}", expectation.pointer, quoted(found)),
                            None => format!("no {}", expectation.pointer),
                        }),
                        elapsed: Some(answer.elapsed),
                    });
                }
            }
            message.as_str()
        }
        Reply::Stream { start, form, .. } => {
            let opened = match exchange.replies.get(*form) {
                Some(ReplyForm::Stream(stream)) => stream.start.as_str(),
                _ => "stream",
            };
            findings.push(Finding::new(
                Severity::Info,
                format!(
                    "answered by a stream opened with `{opened}` ({} bytes) in {} ms",
                    start.to_string().len(),
                    answer.elapsed.as_millis()
                ),
            ));
            opened
        }
    };
    if let Some(closed) = &answer.closed
        && request_valid
        && let Some(crash) = closed_in_answer(description, request, Some(after), closed)
    {
        findings.push(crash);
    }
    findings
}

/// What a streamed answer breaks: one stream id throughout, chunks with text that join to the
/// end frame's text, an end within the budget.
pub fn stream(
    stream: &StreamReply,
    start: &Value,
    chunks: &[Chunk],
    end: &StreamEnd,
    level: Severity,
    budget: Duration,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let id = start.pointer(&stream.stream_id).cloned();
    if id.is_none() {
        findings.push(Finding::new(
            level,
            format!(
                "`{}` has no stream id at {}",
                stream.start, stream.stream_id
            ),
        ));
    }
    let mut joined = String::new();
    let mut other_ids: Vec<Value> = Vec::new();
    for chunk in chunks {
        if chunk.id != id
            && let Some(other) = &chunk.id
            && !other_ids.contains(other)
        {
            other_ids.push(other.clone());
        }
        match &chunk.text {
            Some(text) => joined.push_str(text),
            None => findings.push(Finding::new(
                level,
                format!("a `{}` has no text at {}", stream.chunk, stream.chunk_text),
            )),
        }
    }
    let end = match end {
        StreamEnd::Ended(end) => end,
        StreamEnd::Unfinished => {
            findings.push(Finding::new(
                level,
                format!(
                    "the stream did not end: no `{}` within {} ms ({} chunks)",
                    stream.end,
                    budget.as_millis(),
                    chunks.len()
                ),
            ));
            return findings;
        }
        StreamEnd::TooLong => {
            // The document sets no bound on a stream's length: at most a warning.
            findings.push(Finding::new(
                Severity::Warn.min(level),
                format!(
                    "the suite stopped reading after {} `{}` chunks ({} bytes of text) without a `{}`",
                    chunks.len(),
                    stream.chunk,
                    joined.len(),
                    stream.end
                ),
            ));
            return findings;
        }
    };
    let end_id = end.pointer(&stream.stream_id).cloned();
    if end_id != id
        && let Some(other) = end_id
        && !other_ids.contains(&other)
    {
        other_ids.push(other);
    }
    if !other_ids.is_empty() {
        findings.push(Finding::new(
            level,
            format!(
                "one stream carries more than one {}: {} from `{}`, then {}",
                stream.stream_id,
                id.map_or("none".into(), |v| quoted(&v)),
                stream.start,
                other_ids.iter().map(quoted).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    findings.push(
        match end.pointer(&stream.end_text).and_then(Value::as_str) {
            Some(text) if text == joined => Finding::new(
                Severity::Info,
                format!(
                    "{} chunks join to the `{}` text ({} bytes)",
                    chunks.len(),
                    stream.end,
                    text.len()
                ),
            ),
            Some(text) => Finding {
                expected: Some(format!(
                    "`{}` {} = {:?}",
                    stream.end,
                    stream.end_text,
                    prefix(&joined, 200)
                )),
                received: Some(format!("{:?}", prefix(text, 200))),
                ..Finding::new(
                    level,
                    format!("the chunks join to other text than `{}` says", stream.end),
                )
            },
            None => Finding::new(
                level,
                format!("`{}` has no text at {}", stream.end, stream.end_text),
            ),
        },
    );
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schemas;
    use crate::judge::Closed;
    use serde_json::json;

    fn answer(reply: Reply, closed: Option<Closed>, near: &[&str]) -> Answer {
        Answer {
            reply,
            elapsed: Duration::from_millis(12),
            budget: Duration::from_millis(2000),
            sent: true,
            near_misses: near.iter().map(|s| s.to_string()).collect(),
            closed,
        }
    }

    fn crash() -> Option<Closed> {
        Some(Closed {
            code: Some(1011),
            reason: String::new(),
            after: Duration::from_millis(9),
        })
    }

    /// The worst severity and the one-line messages of the findings.
    fn verdict(findings: &[Finding]) -> (Severity, String) {
        let worst = findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info);
        let text = findings
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>();
        (worst, text.join(" | "))
    }

    #[test]
    fn answers_to_rixa_commands() {
        let schemas = Schemas::embedded().expect("schemas");
        let d = &schemas.protocol("rixa").unwrap().description;
        let by = |request: &str| d.exchanges.iter().find(|e| e.request == request).unwrap();
        let modes = |role: &str| Reply::Single {
            frame: json!({"role": role, "content": []}),
            message: "response".into(),
            form: 0,
        };
        let fail = Severity::Fail;
        let cases = [
            // (exchange, level, answer, valid request, worst, words in the findings)
            (
                by("get_chat_modes"),
                fail,
                answer(modes("chat_modes"), None, &[]),
                true,
                Severity::Info,
                "answered by `response` after 12 ms",
            ),
            // The role is an example: another one warns.
            (
                by("get_chat_modes"),
                fail,
                answer(modes("x"), None, &[]),
                true,
                Severity::Warn,
                "/role is \"x\", not \"chat_modes\"",
            ),
            (
                by("change_setting"),
                fail,
                answer(Reply::Nothing, None, &[]),
                true,
                Severity::Fail,
                "not answered within 2000 ms",
            ),
            // Silence where the document lets the server ignore a message only warns ...
            (
                by("usr_msg"),
                Severity::Warn,
                answer(Reply::Nothing, None, &[]),
                true,
                Severity::Warn,
                "not answered",
            ),
            // ... but a close in answer to it fails whatever the level.
            (
                by("usr_msg"),
                Severity::Warn,
                answer(Reply::Nothing, crash(), &[]),
                true,
                Severity::Fail,
                "closed with 1011 (internal error) in answer to `usr_msg`",
            ),
            (
                by("get_chat_modes"),
                fail,
                answer(modes("chat_modes"), crash(), &[]),
                true,
                Severity::Fail,
                "after its `response`",
            ),
            // A close in answer to a request that is not a valid message is no crash.
            (
                by("usr_msg"),
                Severity::Warn,
                answer(Reply::Nothing, crash(), &[]),
                false,
                Severity::Warn,
                "the connection ended before",
            ),
        ];
        for (exchange, level, answer, valid, worst, words) in cases {
            let (found, text) = verdict(&super::exchange(d, exchange, &answer, level, valid));
            assert_eq!(found, worst, "{}: {text}", exchange.request);
            assert!(text.contains(words), "{}: {text}", exchange.request);
        }
    }

    #[test]
    fn a_silent_or_closing_server_is_described_against_what_was_expected() {
        let schemas = Schemas::embedded().expect("schemas");
        let d = &schemas.protocol("rixa").unwrap().description;
        let exchange = d
            .exchanges
            .iter()
            .find(|e| e.request == "change_setting")
            .unwrap();
        let findings = super::exchange(
            d,
            exchange,
            &answer(Reply::Nothing, crash(), &[]),
            Severity::Fail,
            true,
        );
        let finding = &findings[0];
        assert_eq!(
            finding.expected.as_deref(),
            Some("`response` or `status` answering `change_setting` within 2000 ms")
        );
        assert_eq!(
            finding.received.as_deref(),
            Some("the connection closed with 1011 (internal error) after 9 ms")
        );
        let near = answer(
            Reply::Nothing,
            None,
            &["a `response` with /role \"intro\", a kind of frame the server also sent unprompted"],
        );
        let findings = super::exchange(d, exchange, &near, Severity::Fail, true);
        assert!(
            findings[0]
                .received
                .as_deref()
                .unwrap()
                .contains("/role \"intro\"")
        );
    }

    #[test]
    fn streams_hold_together() {
        let schemas = Schemas::embedded().expect("schemas");
        let d = &schemas.protocol("generalbots").unwrap().description;
        let Some(ReplyForm::Stream(form)) = d.exchanges[1].replies.get(1) else {
            panic!("generalbots' chat has a stream form");
        };
        let chunk = |id: &str, text: &str| Chunk {
            id: Some(json!(id)),
            text: Some(text.into()),
        };
        let start = json!({"message_id": "m"});
        let ended = |text: &str| StreamEnd::Ended(json!({"message_id": "m", "content": text}));
        let budget = Duration::from_secs(30);
        let cases = [
            (
                vec![chunk("m", "a"), chunk("m", "b")],
                ended("ab"),
                Severity::Info,
                "2 chunks join",
            ),
            (
                vec![chunk("m", "a"), chunk("m", "b")],
                ended("abc"),
                Severity::Fail,
                "join to other text",
            ),
            (
                vec![chunk("m", "a"), chunk("n", "b")],
                ended("ab"),
                Severity::Fail,
                "more than one /message_id",
            ),
            (
                vec![chunk("m", "a")],
                StreamEnd::Unfinished,
                Severity::Fail,
                "did not end",
            ),
            (
                vec![chunk("m", "a")],
                StreamEnd::TooLong,
                Severity::Warn,
                "stopped reading",
            ),
        ];
        for (chunks, end, worst, words) in cases {
            let (found, text) =
                verdict(&stream(form, &start, &chunks, &end, Severity::Fail, budget));
            assert_eq!(found, worst, "{text}");
            assert!(text.contains(words), "{text}");
        }
    }
}

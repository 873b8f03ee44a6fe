//! `exchange.<request>` and `stream.<request>`: a documented request is answered by a
//! schema-valid reply of a documented kind, correlated the documented way; a streamed answer keeps
//! one stream id and its chunks join to the end frame's text.

use agentwire_codegen::protocol::ReplyForm;
use serde_json::Value;

use crate::checks::{Answer, Ctx, Stop, StreamEnd, describe, expectation_failure};
use crate::connection::Recorder;
use crate::report::Severity;

/// Sends `exchanges[index]`'s request and judges the answer.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let (mut connection, request, _session) = ctx.prepare_exchange(index, recorder, level).await?;
    connection.send_json(&request, ctx.settings.timeout).await;
    let answer = ctx.await_answer(&mut connection, index, &request).await;
    judge(ctx, index, &answer, level, recorder);
    connection.close().await;
    Ok(())
}

/// Records what an answer breaks: no answer, or a single reply without what it must show.
pub fn judge(ctx: &Ctx<'_>, index: usize, answer: &Answer, level: Severity, recorder: &Recorder) {
    let exchange = &ctx.protocol.description.exchanges[index];
    match answer {
        Answer::Nothing(mismatches) => recorder.finding(
            level,
            format!(
                "`{}` was not answered as documented (waited up to {} ms){}",
                exchange.request,
                ctx.settings.timeout.as_millis(),
                describe(mismatches)
            ),
        ),
        Answer::Single {
            frame,
            form,
            message,
        } => {
            recorder.info(format!("answered by `{message}`"));
            if let Some(ReplyForm::Single(single)) = exchange.replies.get(*form) {
                for expectation in &single.expect {
                    if let Some(why) = expectation_failure(expectation, frame) {
                        let severity = expectation
                            .rule
                            .as_ref()
                            .map_or(level, |rule| Severity::from(rule.level));
                        let quote = expectation
                            .rule
                            .as_ref()
                            .map(|r| format!(" (\"{}\")", r.quote))
                            .unwrap_or_default();
                        recorder.finding(
                            severity,
                            format!(
                                "the `{message}` answering `{}`: {why}{quote}",
                                exchange.request
                            ),
                        );
                    }
                }
            }
        }
        Answer::Stream { start, .. } => {
            let message = ctx.validators.server.message_of(start).unwrap_or("stream");
            recorder.info(format!("answered by a stream opened with `{message}`"));
        }
    }
}

/// Sends `exchanges[index]`'s request and, if it is answered by the stream form `form`, checks the
/// stream holds together.
pub async fn run_stream(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    form: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let Some(ReplyForm::Stream(stream)) =
        ctx.protocol.description.exchanges[index].replies.get(form)
    else {
        return Err(Stop::Skip("not a stream form".into()));
    };
    let (mut connection, request, _session) = ctx.prepare_exchange(index, recorder, level).await?;
    connection.send_json(&request, ctx.settings.timeout).await;
    let answer = ctx.await_answer(&mut connection, index, &request).await;
    connection.close().await;
    let (start, chunks, end) = match answer {
        Answer::Stream {
            start,
            chunks,
            end,
            form: f,
        } if f == form => (start, chunks, end),
        Answer::Single { message, .. } => {
            return Err(Stop::Skip(format!(
                "the server answered with a single `{message}`, which the document also allows; no stream to check"
            )));
        }
        Answer::Nothing(mismatches) => {
            // The exchange check reports the missing answer; here nothing could be checked.
            return Err(Stop::Skip(format!(
                "the request was not answered{}",
                describe(&mismatches)
            )));
        }
        Answer::Stream { .. } => return Err(Stop::Skip("answered by another stream form".into())),
    };
    let id = start.pointer(&stream.stream_id).cloned();
    if id.is_none() {
        recorder.finding(
            level,
            format!(
                "`{}` has no stream id at {}",
                stream.start, stream.stream_id
            ),
        );
    }
    let mut joined = String::new();
    let mut other_ids: Vec<Value> = Vec::new();
    for chunk in &chunks {
        if chunk.id != id
            && let Some(other) = &chunk.id
            && !other_ids.contains(other)
        {
            other_ids.push(other.clone());
        }
        match &chunk.text {
            Some(text) => joined.push_str(text),
            None => recorder.finding(
                level,
                format!("a `{}` has no text at {}", stream.chunk, stream.chunk_text),
            ),
        }
    }
    let end = match end {
        StreamEnd::Ended(end) => end,
        StreamEnd::Unfinished => {
            recorder.finding(
                level,
                format!(
                    "the stream did not end: no `{}` within {} ms ({} chunks)",
                    stream.end,
                    ctx.settings.timeout.as_millis(),
                    chunks.len()
                ),
            );
            return Ok(());
        }
        StreamEnd::TooLong => {
            // The document sets no bound on a stream's length: at most a warning.
            recorder.finding(
                Severity::Warn.min(level),
                format!(
                    "the suite stopped reading after {} `{}` chunks ({} bytes of text) without a `{}`",
                    chunks.len(),
                    stream.chunk,
                    joined.len(),
                    stream.end
                ),
            );
            return Ok(());
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
        recorder.finding(
            level,
            format!(
                "one stream carries more than one {}: {} from `{}`, then {}",
                stream.stream_id,
                id.map_or("none".into(), |v| crate::util::quoted(&v)),
                stream.start,
                other_ids
                    .iter()
                    .map(crate::util::quoted)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    match end.pointer(&stream.end_text).and_then(Value::as_str) {
        Some(text) if text == joined => recorder.info(format!(
            "{} chunks join to the `{}` text ({} bytes)",
            chunks.len(),
            stream.end,
            text.len()
        )),
        Some(text) => recorder.finding(
            level,
            format!(
                "the chunks join to {:?} but `{}` says {:?}",
                crate::util::prefix(&joined, 200),
                stream.end,
                crate::util::prefix(text, 200)
            ),
        ),
        None => recorder.finding(
            level,
            format!("`{}` has no text at {}", stream.end, stream.end_text),
        ),
    }
    Ok(())
}

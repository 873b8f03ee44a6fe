//! `exchange.<request>` and `stream.<request>`: a documented request is answered within its
//! budget by a schema-valid reply of a documented kind, correlated the documented way, and the
//! connection stays open; a streamed answer keeps one stream id and its chunks join to the end
//! frame's text.

use agentwire_spec::protocol::ReplyForm;
use serde_json::Value;

use crate::checks::{Ctx, Stop};
use crate::connection::Recorder;
use crate::conversation::{Answer, Conversation, Reply, Session};
use crate::judge::{self, describe};
use crate::report::Severity;

/// Sends `exchanges[index]`'s request and judges the answer.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let (request, answer) = ask_once(ctx, index, recorder, level).await?;
    record_answer(ctx, index, &request, &answer, level, recorder);
    Ok(())
}

/// Asks `exchanges[index]`'s request on a new conversation: the request and its answer.
async fn ask_once(
    ctx: &Ctx<'_>,
    index: usize,
    recorder: &Recorder,
    level: Severity,
) -> Result<(Value, Answer), Stop> {
    let (mut conversation, request, session) =
        Conversation::for_exchange(*ctx, index, recorder, level).await?;
    let errors_before = errors_received(&conversation);
    let answer = conversation.ask(index, &request).await;
    let refused = refused_session(&conversation, session.as_ref(), &answer, errors_before);
    conversation.close().await;
    refused.map(|()| (request, answer))
}

/// Records what an answer to `exchanges[index]` breaks.
pub fn record_answer(
    ctx: &Ctx<'_>,
    index: usize,
    request: &Value,
    answer: &Answer,
    level: Severity,
    recorder: &Recorder,
) {
    let description = &ctx.protocol.description;
    let valid = ctx.validators.client.is_valid(request);
    for finding in judge::answer::exchange(
        description,
        &description.exchanges[index],
        answer,
        level,
        valid,
    ) {
        recorder.record(finding);
    }
}

/// How many error messages (`error_messages`) the conversation received so far.
pub fn errors_received(conversation: &Conversation<'_>) -> usize {
    let description = &conversation.ctx().protocol.description;
    description
        .error_messages
        .iter()
        .map(|m| conversation.received_count(m))
        .sum()
}

/// A skip when the session was the suite's choice (the document's other way of having one) and
/// the server answered the request with an error instead: that reading does not hold either, so
/// nothing could be tested.
pub fn refused_session(
    conversation: &Conversation<'_>,
    session: Option<&Session>,
    answer: &Answer,
    errors_before: usize,
) -> Result<(), Stop> {
    let chosen = session.is_some_and(|s| s.chosen);
    if chosen && answer.reply == Reply::Nothing && errors_received(conversation) > errors_before {
        return Err(Stop::Skip(
            "no way of having a session worked: none was announced, and the server answered a \
             request naming a client-chosen session id with an error (see the frames)"
                .into(),
        ));
    }
    Ok(())
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
        return Err(Stop::NotApplicable("not a stream form".into()));
    };
    let (request, answer) = ask_once(ctx, index, recorder, level).await?;
    let (start, chunks, end) = match answer.reply {
        Reply::Stream {
            start,
            chunks,
            end,
            form: f,
        } if f == form => (start, chunks, end),
        Reply::Single { message, .. } => {
            return Err(Stop::NotApplicable(format!(
                "the server answered with a single `{message}`, which the document also allows; no stream to check"
            )));
        }
        Reply::Nothing => {
            // The exchange check reports the missing answer; here nothing could be checked.
            return Err(Stop::Skip(format!(
                "the request was not answered{}",
                match &answer.closed {
                    Some(closed) => format!(" (the connection {})", closed.describe()),
                    None => describe(&answer.near_misses),
                }
            )));
        }
        Reply::Stream { .. } => {
            return Err(Stop::NotApplicable(
                "answered by another stream form".into(),
            ));
        }
    };
    for finding in judge::answer::stream(stream, &start, &chunks, &end, level, answer.budget) {
        recorder.record(finding);
    }
    let valid = ctx.validators.client.is_valid(&request);
    if let Some(crash) = answer.closed.as_ref().filter(|_| valid).and_then(|closed| {
        judge::closed_in_answer(
            &ctx.protocol.description,
            &ctx.protocol.description.exchanges[index].request,
            Some(&stream.end),
            closed,
        )
    }) {
        recorder.record(crash);
    }
    Ok(())
}

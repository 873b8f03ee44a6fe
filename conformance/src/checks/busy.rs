//! `busy.<first>.<second>`: where a document says what becomes of a request sent while the server
//! is busy with another (RIXA: a chat message while one is processed is ignored), the two are
//! sent back to back and the answers counted: one of them served, the other ignored (an error
//! message saying so is allowed). A close in answer fails whatever the level.

use crate::checks::{Ctx, Stop};
use crate::connection::Recorder;
use crate::judge::busy::{BusyAnswers, busy};
use crate::report::Severity;

/// Sends `while_busy[index]`'s two requests back to back and judges the answers.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let d = &ctx.protocol.description;
    let rule = &d.while_busy[index];
    let exchange_of = |request: &str| {
        d.exchanges
            .iter()
            .position(|e| e.request == request)
            .ok_or_else(|| Stop::NotApplicable(format!("`{request}` has no documented answer")))
    };
    let (first, second) = (exchange_of(&rule.busy_with)?, exchange_of(&rule.request)?);
    let mut conversation = ctx.connect("A", recorder, level).await?;
    let session = if ctx.needs_session(&rule.busy_with) || ctx.needs_session(&rule.request) {
        Some(conversation.open_session(level).await?.id)
    } else {
        None
    };
    let build = |request: &str| {
        ctx.requests()
            .build(request, session.as_deref(), &ctx.correlation_of(request))
            .map(|built| built.frame)
            .ok_or_else(|| Stop::NotApplicable(format!("no valid example of `{request}`")))
    };
    let (busy_with, request) = (build(&rule.busy_with)?, build(&rule.request)?);
    recorder.info(format!(
        "sending `{}` and, before its answer, `{}`",
        rule.busy_with, rule.request
    ));
    let answers = conversation
        .ask_back_to_back(&[(first, &busy_with), (second, &request)])
        .await;
    let crash = conversation.closed_in_answer(answers.served.first().map(String::as_str));
    conversation.close().await;
    if let Some(crash) = crash {
        recorder.record(crash);
        return Ok(());
    }
    let counted = BusyAnswers {
        served: answers.served.len(),
        errors: answers.errors,
    };
    recorder.record(busy(rule, counted, level));
    Ok(())
}

//! `example.<file>`: a client example of the document, sent as the document shows it (its
//! correlation ids and all), on a connection that has the session it names. Only two things are
//! changed, and the evidence says so: a placeholder (`"<base64 encoded message>"`) is filled with
//! a real value of what it describes, and the example's session id is replaced by the session
//! the connection has. Where the document gives the message an answer, it must come, as
//! documented, on an open connection; where it gives none, the connection must stay open and
//! served. A server that disconnects a client copying the document fails, and the finding quotes
//! the example.

use crate::checks::{Ctx, Stop, exchange};
use crate::connection::Recorder;
use crate::judge::{self, Finding};
use crate::report::Severity;
use crate::util::clip;

/// Sends `examples.valid[index]` as shown.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let protocol = ctx.protocol;
    let Some((example, value)) = protocol.valid_examples().into_iter().nth(index) else {
        return Err(Stop::NotApplicable("no such example".into()));
    };
    let message = &example.message;
    let place = example
        .sources
        .first()
        .map(|s| format!("{} line {}", s.document, s.line))
        .unwrap_or_else(|| format!("examples/{}", example.file));
    let quoted = format!("({place}): {}", clip(&value.to_string(), 400));
    let mut conversation = ctx.connect("A", recorder, level).await?;
    let session = if ctx.needs_session(message) {
        Some(conversation.open_session(level).await?)
    } else {
        None
    };
    let (frame, changes) = ctx.requests().from_example(
        example,
        value,
        session.as_ref().map(|s| s.id.as_str()),
        ctx.valid_token().as_deref(),
    );
    recorder.info(match changes.as_slice() {
        [] => format!("sending the document's example of `{message}` exactly as shown {quoted}"),
        changes => format!(
            "sending the document's example of `{message}` as shown {quoted}, except: {}",
            changes.join("; ")
        ),
    });
    let on_example = |finding: Finding| {
        if finding.severity == Severity::Info {
            return finding;
        }
        Finding {
            message: format!(
                "{}; the request was the document's own example {quoted}",
                finding.message
            ),
            ..finding
        }
    };
    let asked = protocol
        .description
        .exchanges
        .iter()
        .position(|e| &e.request == message);
    match asked {
        Some(index) => {
            let errors_before = exchange::errors_received(&conversation);
            let answer = conversation.ask(index, &frame).await;
            let refused =
                exchange::refused_session(&conversation, session.as_ref(), &answer, errors_before);
            conversation.close().await;
            refused?;
            let valid = ctx.validators.client.is_valid(&frame);
            let d = &protocol.description;
            for finding in judge::answer::exchange(d, &d.exchanges[index], &answer, level, valid) {
                recorder.record(on_example(finding));
            }
        }
        None => {
            if let Some(crash) = conversation.tell(&frame).await {
                recorder.record(on_example(crash));
                conversation.close().await;
                return Ok(());
            }
            let served = crate::checks::served(ctx, &mut conversation, recorder).await;
            conversation.close().await;
            match served {
                Ok(()) => recorder.info(format!(
                    "the connection is open and served after the example of `{message}`"
                )),
                Err(unserved) => recorder.record(on_example(Finding::new(
                    unserved.severity(level),
                    format!(
                        "after the example of `{message}`, the connection is not served: {}",
                        unserved.why
                    ),
                ))),
            }
        }
    }
    Ok(())
}

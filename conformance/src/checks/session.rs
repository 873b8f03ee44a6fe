//! `session.lifecycle`: a session is obtained the way `sessions.origin` says (or the document's
//! other way, where that is an open reading that does not hold), and every request that names it
//! (`id_in_requests`) or needs it (`needed_by`) is then answered; for the datagram protocol that
//! is create → chat → resume → status → destroy.

use agentwire_spec::protocol::SessionOrigin;

use crate::checks::exchange::{self, errors_received, refused_session};
use crate::checks::{Ctx, Stop};
use crate::connection::Recorder;
use crate::conversation::Reply;
use crate::report::Severity;

/// Runs the lifecycle on one connection.
pub async fn run(ctx: &Ctx<'_>, level: Severity, recorder: &Recorder) -> Result<(), Stop> {
    let d = &ctx.protocol.description;
    let Some(sessions) = &d.sessions else {
        return Err(Stop::NotApplicable("the protocol has no sessions".into()));
    };
    let origin = match &sessions.origin {
        SessionOrigin::Request { message, .. } | SessionOrigin::Announcement { message, .. } => {
            message.clone()
        }
    };
    let mut conversation = ctx.connect("A", recorder, level).await?;
    let session = conversation.open_session(level).await?;

    // Requests with an exchange, in order: those that need a session, then those that name it in
    // the order of `exchanges` (a document lists destroy last); requests without an exchange are
    // sent first, so that the answers that follow show they were taken.
    let mut with_exchange: Vec<usize> = Vec::new();
    for message in &sessions.needed_by {
        with_exchange.extend(d.exchanges.iter().position(|e| &e.request == message));
    }
    for (i, e) in d.exchanges.iter().enumerate() {
        if e.request != origin
            && sessions.id_in_requests.contains_key(&e.request)
            && !with_exchange.contains(&i)
        {
            with_exchange.push(i);
        }
    }
    let without_exchange: Vec<&String> = sessions
        .id_in_requests
        .keys()
        .filter(|m| !d.exchanges.iter().any(|e| &e.request == *m))
        .collect();
    let errors_before = errors_received(&conversation);
    for message in &without_exchange {
        if let Some(built) = ctx.requests().build(message, Some(&session.id), &[]) {
            conversation.send(&built.frame).await;
        }
    }
    for index in with_exchange {
        let request = &d.exchanges[index].request;
        let correlation = ctx.correlation_of(request);
        let Some(built) = ctx
            .requests()
            .build(request, Some(&session.id), &correlation)
        else {
            recorder.info(format!("no example of `{request}`: not sent"));
            continue;
        };
        let answer = conversation.ask(index, &built.frame).await;
        if let Err(skip) = refused_session(&conversation, Some(&session), &answer, errors_before) {
            conversation.close().await;
            return Err(skip);
        }
        exchange::record_answer(ctx, index, &built.frame, &answer, level, recorder);
        if answer.reply == Reply::Nothing && conversation.is_closed() {
            break;
        }
    }
    let errors = errors_received(&conversation) - errors_before;
    if errors > 0 {
        recorder.finding(
            level,
            format!(
                "{errors} error message(s) ({}) answered requests naming the session (see the frames)",
                d.error_messages.join(", ")
            ),
        );
    }
    conversation.close().await;
    Ok(())
}

//! `session.lifecycle`: a session is obtained the way `sessions.origin` says, and every request
//! that names it (`id_in_requests`) or needs it (`needed_by`) is then answered; for the datagram
//! protocol that is create → chat → resume → status → destroy.

use agentwire_codegen::protocol::SessionOrigin;

use crate::checks::{Answer, Ctx, Stop, exchange};
use crate::connection::Recorder;
use crate::report::Severity;

/// Runs the lifecycle on one connection.
pub async fn run(ctx: &Ctx<'_>, level: Severity, recorder: &Recorder) -> Result<(), Stop> {
    let d = &ctx.protocol.description;
    let Some(sessions) = &d.sessions else {
        return Err(Stop::Skip("the protocol has no sessions".into()));
    };
    let origin = match &sessions.origin {
        SessionOrigin::Request { message, .. } | SessionOrigin::Announcement { message, .. } => {
            message.clone()
        }
    };
    let mut connection = ctx.connect("A", recorder, level).await?;
    let session = ctx.open_session(&mut connection, recorder, level).await?;
    recorder.info(format!("session {session:?} obtained by `{origin}`"));

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
    let errors_before = d
        .error_codes
        .as_ref()
        .map_or(0, |codes| connection.received_count(&codes.message));
    for message in &without_exchange {
        if let Some(built) = ctx.requests().build(message, Some(&session), &[]) {
            connection
                .send_json(&built.frame, ctx.settings.timeout)
                .await;
        }
    }
    for index in with_exchange {
        let request = &d.exchanges[index].request;
        let correlation = ctx.correlation_of(request);
        let Some(built) = ctx.requests().build(request, Some(&session), &correlation) else {
            recorder.info(format!("no example of `{request}`: not sent"));
            continue;
        };
        connection
            .send_json(&built.frame, ctx.settings.timeout)
            .await;
        let answer = ctx.await_answer(&mut connection, index, &built.frame).await;
        exchange::judge(ctx, index, &answer, level, recorder);
        if matches!(answer, Answer::Nothing(_)) && connection.is_closed() {
            break;
        }
    }
    if let Some(codes) = &d.error_codes {
        let errors = connection.received_count(&codes.message) - errors_before;
        if errors > 0 {
            recorder.finding(
                level,
                format!(
                    "{errors} `{}` frame(s) answered requests naming the session (see the frames)",
                    codes.message
                ),
            );
        }
    }
    connection.close().await;
    Ok(())
}

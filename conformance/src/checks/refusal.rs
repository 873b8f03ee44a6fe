//! `session.unknown.<request>` and `session.foreign.<request>`: a request naming a session the
//! server must not serve (one never created; one made on another connection, where the document
//! restricts the request to the sender's own session) gets a documented refusal, not a success,
//! and the connection stays open and served.

use agentwire_spec::protocol::SessionRefusal;

use crate::checks::{Ctx, Stop};
use crate::connection::Recorder;
use crate::conversation::{Conversation, RefusalSeen};
use crate::judge::{describe, documented_outcomes};
use crate::report::Severity;
use crate::util::fresh_id;

/// Sends `request` naming a session that was never created (`foreign` false) or that another
/// connection made (`foreign` true), as `sessions.unknown[index]` / `sessions.foreign[index]` says.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    foreign: bool,
    index: usize,
    request: &str,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let Some(sessions) = &ctx.protocol.description.sessions else {
        return Err(Stop::NotApplicable("the protocol has no sessions".into()));
    };
    let refusals = if foreign {
        &sessions.foreign
    } else {
        &sessions.unknown
    };
    let refusal = &refusals[index];
    // The other connection's session, kept open while it is named.
    let mut owner = None;
    let named = if foreign {
        let mut b = ctx.connect("B", recorder, level).await?;
        let theirs = b.open_session(level).await?;
        recorder.info(format!(
            "connection B made session {:?}; A names it",
            theirs.id
        ));
        owner = Some(b);
        theirs.id
    } else {
        let id = format!("conformance-never-created-{}", fresh_id());
        recorder.info(format!("naming session {id:?}, which was never created"));
        id
    };
    let result = async {
        let mut a = ctx.connect("A", recorder, level).await?;
        if foreign {
            // A has a session of its own, so that the other one is not refused for want of any.
            if let Err(stop) = a.open_session(level).await {
                a.close().await;
                return Err(stop);
            }
        }
        let correlation = ctx.correlation_of(request);
        let Some(built) = ctx.requests().build(request, Some(&named), &correlation) else {
            a.close().await;
            return Err(Stop::NotApplicable(format!(
                "no valid example of `{request}`"
            )));
        };
        let result =
            judge_refusal(ctx, &mut a, refusal, request, &built.frame, level, foreign).await;
        a.close().await;
        result
    }
    .await;
    if let Some(b) = owner {
        b.close().await;
    }
    result
}

async fn judge_refusal(
    ctx: &Ctx<'_>,
    a: &mut Conversation<'_>,
    refusal: &SessionRefusal,
    request: &str,
    frame: &serde_json::Value,
    level: Severity,
    foreign: bool,
) -> Result<(), Stop> {
    let recorder = a.recorder().clone();
    let exchange = ctx
        .protocol
        .description
        .exchanges
        .iter()
        .position(|e| e.request == request);
    let budget = exchange.map_or(ctx.settings.timeout, |i| ctx.budget_of(i));
    a.settle().await;
    a.send(frame).await;
    let deadline = std::time::Instant::now() + budget;
    let seen = a
        .await_refusal(exchange, frame, &refusal.outcomes, deadline)
        .await;
    let whose = if foreign {
        "a session made on another connection"
    } else {
        "a session that was never created"
    };
    let documented = documented_outcomes(&refusal.outcomes);
    match seen {
        RefusalSeen::Refused(how) => recorder.info(format!("refused as documented: {how}")),
        RefusalSeen::Served(why) => recorder.record(crate::judge::Finding {
            severity: level,
            message: format!("`{request}` naming {whose} succeeded: {why}"),
            expected: Some(documented),
            received: Some(why),
            elapsed: None,
        }),
        RefusalSeen::Missing(near) => {
            if let Some(crash) = a.closed_in_answer(None) {
                recorder.record(crash);
                return Ok(());
            }
            recorder.record(crate::judge::Finding {
                severity: level,
                message: format!(
                    "`{request}` naming {whose} was not refused as documented{}",
                    describe(&near)
                ),
                expected: Some(documented),
                received: Some(match a.closed() {
                    Some(closed) => format!("the connection {}", closed.describe()),
                    None => format!("no refusal within {} ms", budget.as_millis()),
                }),
                elapsed: None,
            });
            if a.is_closed() {
                return Ok(());
            }
        }
    }
    // Whatever the answer, the connection stays open and served.
    if let Some(crash) = a.closed_in_answer(None) {
        recorder.record(crash);
        return Ok(());
    }
    if let Err(unserved) = crate::checks::served(ctx, a, &recorder).await {
        recorder.finding(
            unserved.severity(level),
            format!(
                "after `{request}` naming {whose}, the connection is not served: {}",
                unserved.why
            ),
        );
    }
    Ok(())
}

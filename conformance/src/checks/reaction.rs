//! `reaction.<trigger>`: the documented reaction to bad input and exceeded limits. The bad frames
//! are built from the protocol's own valid examples (a changed discriminator, a dropped required
//! field, padding past the size limit), so that each breaks exactly one rule.

use std::time::{Duration, Instant};

use agentwire_spec::protocol::{Outcome, ReplyForm, Trigger};
use serde_json::{Value, json};

use crate::checks::{Ctx, Stop};
use crate::connection::{DialError, Incoming, Recorder};
use crate::conversation::Conversation;
use crate::frames::pad;
use crate::judge::{
    OutcomeSeen, close_outcome, describe, describe_close, documented_outcomes, note,
    refusal_outcome, reply_outcome,
};
use crate::report::Severity;

/// Text that starts like JSON and breaks off.
pub const MALFORMED_JSON: &str = "{\"type\": \"conformance\", \"content\": ";
/// Connections opened at once by the per-IP limit check.
const DIAL_BATCH: usize = 16;

/// Runs `reactions[index]`.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let reaction = &ctx.protocol.description.reactions[index];
    let outcomes = &reaction.outcomes;
    let requests = ctx.requests();
    let bad = match reaction.trigger {
        Trigger::MalformedJson => Bad::Text(MALFORMED_JSON.to_string()),
        Trigger::NotAnObject => Bad::Json(json!(["conformance", 1])),
        Trigger::UnknownType => {
            let (what, frame) = requests.unknown_type().ok_or_else(|| {
                Stop::NotApplicable("no client message has a discriminator to change".into())
            })?;
            recorder.info(format!("sending {what}"));
            Bad::Json(frame)
        }
        Trigger::MissingField => {
            let (what, frame) = requests.missing_field().ok_or_else(|| {
                Stop::NotApplicable(
                    "no valid example has a required field besides its discriminators".into(),
                )
            })?;
            recorder.info(format!("sending {what}"));
            Bad::Json(frame)
        }
        Trigger::MissingDiscriminator => {
            let (what, frame) = requests.missing_discriminator().ok_or_else(|| {
                Stop::NotApplicable("no client message has a discriminator to leave out".into())
            })?;
            recorder.info(format!("sending {what}"));
            Bad::Json(frame)
        }
        Trigger::WrongFieldType => {
            let (what, frame) = requests.wrong_field_type().ok_or_else(|| {
                Stop::NotApplicable("no valid example has a field whose type can be changed".into())
            })?;
            recorder.info(format!("sending {what}"));
            Bad::Json(frame)
        }
        Trigger::OversizedFrame => {
            let limit = ctx
                .protocol
                .description
                .limits
                .max_message_bytes
                .as_ref()
                .ok_or_else(|| Stop::NotApplicable("no documented size limit to exceed".into()))?;
            let (what, base) = requests
                .paddable()
                .ok_or_else(|| Stop::NotApplicable("no valid example to pad".into()))?;
            let size = limit.value as usize + 1024;
            recorder.info(format!(
                "sending `{what}` padded to {size} bytes (limit {})",
                limit.value
            ));
            Bad::Json(pad(&base, &ctx.validators.client.discriminators(), size))
        }
        Trigger::RateExceeded => return burst(ctx, outcomes, level, recorder).await,
        Trigger::TooManyConnections => return connections(ctx, outcomes, level, recorder).await,
        Trigger::Idle => {
            let seconds = crate::plan::idle_seconds(ctx.protocol);
            let mut conversation = ctx.connect("A", recorder, level).await?;
            let started = Instant::now();
            let deadline = started + Duration::from_secs(seconds) + ctx.settings.timeout;
            let mut seen = conversation.await_outcome(outcomes, deadline).await;
            conversation.close().await;
            // A close long before the documented timeout is no idle timeout (a server that
            // closes every connection at once would pass otherwise).
            let elapsed = started.elapsed();
            let earliest = Duration::from_secs(seconds).mul_f64(0.9);
            if matches!(seen, OutcomeSeen::Matched(_)) && elapsed < earliest {
                seen = OutcomeSeen::Missing(vec![format!(
                    "the connection was closed after {} ms, before the documented {seconds} s of idleness",
                    elapsed.as_millis()
                )]);
            }
            report(seen, outcomes, level, recorder);
            return Ok(());
        }
        Trigger::AuthMissing | Trigger::AuthInvalid | Trigger::AuthExpired => {
            return Err(Stop::NotApplicable("judged by the auth checks".into()));
        }
    };
    let mut conversation = ctx.connect("A", recorder, level).await?;
    let sent = match &bad {
        Bad::Text(text) => conversation.send_text(text).await,
        Bad::Json(value) => conversation.send(value).await,
    };
    if !sent && !conversation.is_closed() {
        report(
            OutcomeSeen::Missing(vec!["the frame could not be sent".into()]),
            outcomes,
            level,
            recorder,
        );
    } else if outcomes.is_empty() {
        recorder
            .info("the document names no reaction: only the connection staying usable is checked");
        usable(ctx, &mut conversation, None, level).await;
    } else {
        let seen = conversation.await_outcome(outcomes, ctx.deadline()).await;
        let replied = matches!(seen, OutcomeSeen::Matched(_)) && !conversation.is_closed();
        report(seen, outcomes, level, recorder);
        if reaction.trigger.is_bad_input() && replied {
            usable(
                ctx,
                &mut conversation,
                Some("after the documented reply"),
                level,
            )
            .await;
        }
    }
    conversation.close().await;
    Ok(())
}

/// After bad input (and its documented reply, if any), the connection stays usable: the next
/// valid request is answered. The document names no close for these triggers, so closing breaks
/// the reaction's rule.
async fn usable(
    ctx: &Ctx<'_>,
    conversation: &mut Conversation<'_>,
    after: Option<&str>,
    level: Severity,
) {
    let recorder = conversation.recorder().clone();
    let after = after.map_or(String::new(), |a| format!(" {a}"));
    if let Some(closed) = conversation.closed() {
        recorder.finding(
            level,
            format!(
                "the connection {} after the bad frame{after}; the document does not say it closes, so it stays usable",
                closed.describe()
            ),
        );
        return;
    }
    match crate::checks::served(ctx, conversation, &recorder).await {
        Ok(()) => recorder.info(format!(
            "the connection is still usable{after}: the next request was answered"
        )),
        Err(unserved) => recorder.finding(
            unserved.severity(level),
            format!(
                "the connection is not usable after the bad frame{after}: {}",
                unserved.why
            ),
        ),
    }
}

enum Bad {
    Text(String),
    Json(Value),
}

fn report(seen: OutcomeSeen, outcomes: &[Outcome], level: Severity, recorder: &Recorder) {
    match seen {
        OutcomeSeen::Matched(how) => recorder.info(format!("reacted as documented: {how}")),
        OutcomeSeen::Missing(instead) => recorder.finding(
            level,
            format!(
                "no documented reaction ({}){}",
                documented_outcomes(outcomes),
                describe(&instead)
            ),
        ),
    }
}

/// Sends a bounded burst of cheap requests without waiting, then reads until every one is
/// answered, a documented rate-limit reaction shows, or the deadline passes.
async fn burst(
    ctx: &Ctx<'_>,
    outcomes: &[Outcome],
    level: Severity,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let d = &ctx.protocol.description;
    let index = ctx
        .simple_exchange()
        .or_else(|| {
            d.exchanges
                .iter()
                .position(|e| ctx.requests().example(&e.request).is_some())
        })
        .ok_or_else(|| Stop::NotApplicable("no documented request to send in a burst".into()))?;
    let exchange = &d.exchanges[index];
    let answers: Vec<&str> = exchange
        .replies
        .iter()
        .flat_map(|r| match r {
            ReplyForm::Single(s) => s.messages.iter().map(String::as_str).collect::<Vec<_>>(),
            ReplyForm::Stream(s) => vec![s.end.as_str()],
        })
        .collect();
    let (mut conversation, _, session) =
        Conversation::for_exchange(*ctx, index, recorder, level).await?;
    let session = session.map(|s| s.id);
    let correlation = ctx.correlation_of(&exchange.request);
    let count = ctx.settings.burst;
    recorder.info(format!(
        "sending {count} `{}` requests without waiting",
        exchange.request
    ));
    let started = Instant::now();
    let mut sent = 0;
    for _ in 0..count {
        let Some(built) = ctx
            .requests()
            .build(&exchange.request, session.as_deref(), &correlation)
        else {
            break;
        };
        if !conversation.send(&built.frame).await {
            break;
        }
        sent += 1;
    }
    // As long as one answer may take, and then some: the answers come one after another.
    let waited = ctx.budget_of(index) + ctx.settings.timeout;
    let deadline = Instant::now() + waited;
    let mut answered = 0;
    let mut mismatches = Vec::new();
    let seen = loop {
        if answered >= sent && sent > 0 {
            break None;
        }
        match conversation.next(deadline).await {
            Incoming::Json {
                value,
                message: Some(message),
                ..
            } => {
                let answer = answers.contains(&message.as_str());
                match reply_outcome(outcomes, &message, &value) {
                    Some(Ok(how)) => break Some(OutcomeSeen::Matched(how)),
                    Some(Err(why)) if !answer => note(&mut mismatches, why),
                    _ => {}
                }
                if answer {
                    answered += 1;
                }
            }
            Incoming::Closed { code, reason } if answered == 0 => {
                // A server that closes before answering anything shows no rate limit, whatever
                // the close says.
                note(
                    &mut mismatches,
                    format!(
                        "the connection {} before any request of the burst was answered",
                        describe_close(code, &reason)
                    ),
                );
                break Some(OutcomeSeen::Missing(mismatches.clone()));
            }
            Incoming::Closed { code, reason } => {
                break Some(close_outcome(outcomes, code, &reason, mismatches.clone()));
            }
            Incoming::Timeout => {
                conversation.timed_out(waited, "answers to the burst");
                break None;
            }
            _ => {}
        }
    };
    conversation.close().await;
    let elapsed = started.elapsed().as_millis();
    match seen {
        Some(OutcomeSeen::Matched(how)) => {
            recorder.info(format!("rate limited as documented after {answered} answers: {how}"));
        }
        Some(OutcomeSeen::Missing(instead)) => recorder.finding(
            level,
            format!(
                "the burst met an undocumented reaction ({}){}",
                documented_outcomes(outcomes),
                describe(&instead)
            ),
        ),
        None => recorder.finding(
            Severity::Warn.min(level),
            format!(
                "{sent} requests in {elapsed} ms were not rate limited ({answered} answered); the document gives no amount, so this is at most a warning{}",
                describe(&mismatches)
            ),
        ),
    }
    Ok(())
}

/// Holds as many connections as the per-IP limit allows, then opens one more, which must be
/// refused the documented way.
async fn connections(
    ctx: &Ctx<'_>,
    outcomes: &[Outcome],
    level: Severity,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let limit = ctx
        .protocol
        .description
        .limits
        .max_connections_per_ip
        .as_ref()
        .ok_or_else(|| Stop::NotApplicable("no documented per-IP connection limit".into()))?
        .value;
    if limit > ctx.settings.max_connections {
        return Err(Stop::Skip(format!(
            "the limit ({limit}) is above --max-connections ({})",
            ctx.settings.max_connections
        )));
    }
    let presented = ctx.presented()?;
    // Let the server forget the connections of earlier checks.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let quiet = Recorder::default();
    let mut held: Vec<Conversation<'_>> = Vec::new();
    let mut failures = Vec::new();
    let mut next = 0u64;
    while next < limit {
        let batch = (limit - next).min(DIAL_BATCH as u64);
        let dials = (0..batch).map(|i| {
            let name = format!("held-{}", next + i + 1);
            let quiet = quiet.clone();
            let presented = presented.clone();
            async move { Conversation::dial(*ctx, &name, &presented, &quiet).await }
        });
        for result in futures_util::future::join_all(dials).await {
            match result {
                Ok(connection) => held.push(connection),
                Err(error) => failures.push(error),
            }
        }
        next += batch;
    }
    if !failures.is_empty() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let retries = failures.len();
        failures.clear();
        for i in 0..retries {
            match Conversation::dial(*ctx, &format!("retry-{i}"), &presented, &quiet).await {
                Ok(connection) => held.push(connection),
                Err(error) => failures.push(error),
            }
        }
    }
    recorder.info(format!(
        "holding {} connections (limit {limit})",
        held.len()
    ));
    if let Some(error) = failures.first() {
        recorder.finding(
            level,
            format!(
                "only {} of the {limit} allowed connections were accepted ({} refused, e.g. {error})",
                held.len(),
                failures.len()
            ),
        );
    }
    let seen = match Conversation::dial(*ctx, "over-limit", &presented, recorder).await {
        Err(DialError::Timeout) => OutcomeSeen::Missing(vec![DialError::Timeout.to_string()]),
        Err(error) => refusal_outcome(outcomes, &error),
        Ok(mut conversation) => {
            let seen = conversation.await_outcome(outcomes, ctx.deadline()).await;
            conversation.close().await;
            seen
        }
    };
    // The refusal shows a limit only if the connections within it are still served.
    let probes = held.iter_mut().map(|c| c.ws_probe());
    let dropped = futures_util::future::join_all(probes)
        .await
        .into_iter()
        .filter(Result::is_err)
        .count();
    if dropped > 0 {
        recorder.finding(
            level,
            format!(
                "{dropped} of the {} connections within the limit were no longer served afterwards, so the server did not keep them open while refusing the one over it",
                held.len()
            ),
        );
    }
    futures_util::future::join_all(held.into_iter().map(Conversation::close)).await;
    report(seen, outcomes, level, recorder);
    Ok(())
}

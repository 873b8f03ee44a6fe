//! `limit.*`: a frame below the documented size limit is accepted (probing below 64,000 bytes,
//! since "64 KB" reads either way), and the server keeps the connection alive with pings at the
//! documented interval (slow, opt-in).

use std::time::{Duration, Instant};

use crate::checks::{Ctx, Stop};
use crate::connection::{Incoming, Recorder};
use crate::conversation::{Conversation, Reply};
use crate::frames::pad;
use crate::judge::{describe, describe_close};
use crate::report::Severity;

/// Sends a frame just below both readings of the limit and expects it to be taken.
pub async fn size_accepted(
    ctx: &Ctx<'_>,
    level: Severity,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let d = &ctx.protocol.description;
    let limit = d
        .limits
        .max_message_bytes
        .as_ref()
        .ok_or_else(|| Stop::NotApplicable("no documented size limit".into()))?
        .value as usize;
    // "64 KB" may be 65,536 or 64,000 bytes: stay below both.
    let size = limit.min(limit / 1024 * 1000).saturating_sub(100).max(1);
    let tags = ctx.validators.client.discriminators();
    let index = ctx.simple_exchange().or_else(|| {
        d.exchanges
            .iter()
            .position(|e| ctx.requests().example(&e.request).is_some())
    });
    if let Some(index) = index {
        let (mut conversation, request, _) =
            Conversation::for_exchange(*ctx, index, recorder, level).await?;
        let exchange = &d.exchanges[index];
        let mut protected: Vec<&str> = tags.clone();
        let correlation = ctx.correlation_of(&exchange.request);
        protected.extend(correlation.iter().map(|c| c.request.as_str()));
        protected.extend(ctx.requests().session_pointer(&exchange.request));
        let padded = pad(&request, &protected, size);
        recorder.info(format!(
            "sending `{}` padded to {size} bytes (limit {limit})",
            exchange.request
        ));
        let answer = conversation.ask(index, &padded).await;
        let replied = match &answer.reply {
            Reply::Single { message, .. } => Some(message.as_str()),
            Reply::Stream { .. } => Some("stream"),
            Reply::Nothing => None,
        };
        let crash = ctx
            .validators
            .client
            .is_valid(&padded)
            .then(|| conversation.closed_in_answer(replied))
            .flatten();
        if let Some(crash) = crash {
            recorder.record(crash);
        } else if replied.is_none() {
            recorder.finding(
                level,
                format!(
                    "a {size} byte `{}` (below the limit) was not answered{}",
                    exchange.request,
                    match &answer.closed {
                        Some(closed) => format!(" (the connection {})", closed.describe()),
                        None => describe(&answer.near_misses),
                    }
                ),
            );
        }
        conversation.close().await;
        return Ok(());
    }
    if !d.relays.is_empty() {
        // No request of its own: the padded frame is the one that enters a room, and another
        // connection in the room must learn of it.
        recorder.info(format!(
            "sending `{}` padded to {size} bytes (limit {limit}) into a room another connection is in",
            d.relays[0].request
        ));
        if let Err(unserved) = crate::checks::relay::round_trip(ctx, recorder, Some(size)).await {
            recorder.finding(
                unserved.severity(level),
                format!("below the limit: {}", unserved.why),
            );
        }
        return Ok(());
    }
    let (what, base) = ctx
        .requests()
        .paddable()
        .ok_or_else(|| Stop::NotApplicable("no valid example to pad".into()))?;
    let mut conversation = ctx.connect("A", recorder, level).await?;
    recorder.info(format!(
        "sending `{what}` padded to {size} bytes (limit {limit}), then a WebSocket ping"
    ));
    conversation.send(&pad(&base, &tags, size)).await;
    conversation.ping().await;
    match conversation.await_pong(ctx.deadline()).await {
        Incoming::Pong => {}
        Incoming::Closed { code, reason } => recorder.finding(
            level,
            format!(
                "the connection {} after a {size} byte frame",
                describe_close(code, &reason)
            ),
        ),
        _ => {
            conversation.timed_out(ctx.settings.timeout, "a WebSocket pong");
            recorder.finding(
                level,
                format!("no WebSocket pong after a {size} byte frame"),
            );
        }
    }
    if let Some(codes) = &d.error_codes
        && conversation.received_count(&codes.message) > 0
    {
        recorder.finding(
            level,
            format!("a {size} byte frame was answered with `{}`", codes.message),
        );
    }
    conversation.close().await;
    Ok(())
}

/// Waits for a WebSocket ping from the server within the documented interval.
pub async fn ping_interval(
    ctx: &Ctx<'_>,
    level: Severity,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let seconds = ctx
        .protocol
        .description
        .limits
        .ping_interval_seconds
        .as_ref()
        .ok_or_else(|| Stop::NotApplicable("no documented ping interval".into()))?
        .value;
    let mut conversation = ctx.connect("A", recorder, level).await?;
    let waited = Duration::from_secs(seconds) + ctx.settings.timeout;
    let deadline = Instant::now() + waited;
    loop {
        match conversation.next(deadline).await {
            Incoming::Ping => {
                recorder.info("the server pinged");
                break;
            }
            Incoming::Timeout => {
                conversation.timed_out(waited, "a WebSocket ping from the server");
                recorder.finding(level, format!("no WebSocket ping within {seconds} s"));
                break;
            }
            Incoming::Closed { .. } => {
                recorder.finding(level, "the connection ended before the server pinged");
                break;
            }
            _ => {}
        }
    }
    conversation.close().await;
    Ok(())
}

//! `relay.<request>`: a client message reaches the other participants (audience `room`) or the
//! one it names (audience `target`), as `delivered_as`, copying the documented values.
//!
//! Two connections, A and B, share a fresh room. By convention the first relay of
//! `protocol.json` is the one that enters a room (`join`): A enters, then B, and A must learn of B
//! (with B's participant id at `sender_id`). A later relay is then sent by B to the room, or by A
//! to B's id. Relays are readings (open) where the document shows no server frames, but a server
//! that closes a connection in answer to a valid message fails whatever the level.

use agentwire_spec::protocol::{Audience, Relay};
use serde_json::Value;

use crate::checks::{Ctx, Stop};
use crate::connection::Recorder;
use crate::conversation::{Awaited, Conversation, Unserved};
use crate::judge::{correlate, describe};
use crate::report::Severity;
use crate::util::{fresh_id, set_pointer};

/// Runs the scenario up to `relays[index]`.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let relays = &ctx.protocol.description.relays;
    let enter = &relays[0];
    let room = format!("conformance-room-{}", fresh_id());
    let enter_level = if index == 0 { level } else { Severity::Info };
    let (mut a, mut b) = pair(ctx, "A", "B", recorder, level).await?;
    let a_enter = build(ctx, enter, &room, None, "A")?;
    let b_enter = build(ctx, enter, &room, None, "B")?;
    let notice = enter_room(ctx, &mut a, &mut b, &a_enter, &b_enter, enter_level).await;
    let entered = crashes(&a, &b);
    if index == 0 {
        for crash in entered {
            recorder.record(crash);
        }
        if let (Some(frame), Some(pointer)) = (&notice, &enter.sender_id)
            && sender_id(enter, frame).is_none()
        {
            recorder.finding(
                level,
                format!(
                    "the `{}` carries no participant id at {pointer}, so nobody can address the new participant",
                    enter.delivered_as
                ),
            );
        }
        close(a, b).await;
        return Ok(());
    }
    let Some(notice) = notice else {
        close(a, b).await;
        let why = entered.first().map_or_else(
            || {
                format!(
                    "A did not learn that B entered the room with `{}`",
                    enter.request
                )
            },
            |crash| crash.message.clone(),
        );
        return Err(Stop::Skip(format!(
            "could not be set up: {why} (see relay.{})",
            enter.request
        )));
    };
    let b_id = sender_id(enter, &notice);
    let relay = &relays[index];
    match relay.to {
        Audience::Target => {
            let Some(b_id) = b_id else {
                close(a, b).await;
                return Err(Stop::Skip(format!(
                    "could not be set up: the `{}` carried no participant id to address B by",
                    enter.delivered_as
                )));
            };
            let request = build(ctx, relay, &room, Some(&b_id), "A")?;
            a.send(&request).await;
            await_delivery(ctx, &mut b, relay, &request, recorder, level).await;
        }
        Audience::Room => {
            let request = build(ctx, relay, &room, None, "B")?;
            b.send(&request).await;
            if let Some(frame) = await_delivery(ctx, &mut a, relay, &request, recorder, level).await
                && let (Some(pointer), Some(b_id)) = (&relay.sender_id, &b_id)
            {
                let found = frame.pointer(pointer).and_then(Value::as_str);
                if found != Some(b_id.as_str()) {
                    recorder.finding(
                        level,
                        format!(
                            "the `{}` names {pointer} = {found:?}, not B's id {b_id:?}",
                            relay.delivered_as
                        ),
                    );
                }
            }
        }
    }
    for crash in crashes(&a, &b) {
        recorder.record(crash);
    }
    close(a, b).await;
    Ok(())
}

/// An application-level proof that the server serves a protocol without requests of its own
/// (Meet): two fresh connections enter a fresh room with the first relay, and the first learns of
/// the second. With `pad_to`, the second's frame is padded to that many bytes. Findings along the
/// way are recorded as info; what failed is returned.
pub async fn round_trip(
    ctx: &Ctx<'_>,
    recorder: &Recorder,
    pad_to: Option<usize>,
) -> Result<(), Unserved> {
    let (mut a, mut b) = pair(ctx, "P1", "P2", recorder, Severity::Info)
        .await
        .map_err(|_| unserved("could not connect".into()))?;
    let result = enter_together(ctx, &mut a, &mut b, pad_to).await;
    close(a, b).await;
    result
}

/// Whether `a`, a connection already in use, is still served by a protocol without requests of
/// its own (a WebSocket pong shows nothing of the protocol): it enters a fresh room with the first
/// relay, a new connection follows, and `a` must learn of it.
pub async fn still_served(
    ctx: &Ctx<'_>,
    a: &mut Conversation<'_>,
    recorder: &Recorder,
) -> Result<(), Unserved> {
    let mut b = ctx
        .connect("B", recorder, Severity::Info)
        .await
        .map_err(|_| unserved("could not connect a second connection".into()))?;
    let result = enter_together(ctx, a, &mut b, None).await;
    b.close().await;
    result
}

fn unserved(why: String) -> Unserved {
    Unserved {
        why,
        crashed: false,
    }
}

/// `a` and then `b` enter a fresh room with the first relay; `a` must learn of `b`. With `pad_to`,
/// `b`'s frame is padded to that many bytes.
async fn enter_together(
    ctx: &Ctx<'_>,
    a: &mut Conversation<'_>,
    b: &mut Conversation<'_>,
    pad_to: Option<usize>,
) -> Result<(), Unserved> {
    let enter = ctx
        .protocol
        .description
        .relays
        .first()
        .ok_or_else(|| unserved("the protocol has no relay".into()))?;
    let room = format!("conformance-room-{}", fresh_id());
    let unbuilt = |_| {
        unserved(format!(
            "no valid example of `{}` to build from",
            enter.request
        ))
    };
    let a_enter = build(ctx, enter, &room, None, a.name()).map_err(unbuilt)?;
    let mut b_enter = build(ctx, enter, &room, None, b.name()).map_err(unbuilt)?;
    if let Some(size) = pad_to {
        let mut protected = ctx.validators.client.discriminators();
        protected.push(enter.room.as_str());
        b_enter = crate::frames::pad(&b_enter, &protected, size);
    }
    let delivered = enter_room(ctx, a, b, &a_enter, &b_enter, Severity::Info).await;
    match (crashes(a, b).into_iter().next(), delivered) {
        (Some(crash), _) => Err(Unserved {
            why: crash.message,
            crashed: true,
        }),
        (None, Some(_)) => Ok(()),
        (None, None) => Err(unserved(format!(
            "a {}-byte `{}` from one connection did not reach another in the same room as `{}`",
            b_enter.to_string().len(),
            enter.request,
            enter.delivered_as
        ))),
    }
}

/// Two ordinary conversations, connected and settled side by side.
async fn pair<'a>(
    ctx: &Ctx<'a>,
    first: &str,
    second: &str,
    recorder: &Recorder,
    level: Severity,
) -> Result<(Conversation<'a>, Conversation<'a>), Stop> {
    let (a, b) = tokio::join!(
        ctx.connect(first, recorder, level),
        ctx.connect(second, recorder, level)
    );
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Ok(one), Err(stop)) | (Err(stop), Ok(one)) => {
            one.close().await;
            Err(stop)
        }
        (Err(stop), Err(_)) => Err(stop),
    }
}

/// A enters the room, then B; the notice A receives of B, if any.
async fn enter_room(
    ctx: &Ctx<'_>,
    a: &mut Conversation<'_>,
    b: &mut Conversation<'_>,
    a_enter: &Value,
    b_enter: &Value,
    level: Severity,
) -> Option<Value> {
    let enter = &ctx.protocol.description.relays[0];
    a.send(a_enter).await;
    // A pong after the frame shows a server that reads frames in order has taken it.
    a.ping().await;
    a.await_pong(ctx.deadline()).await;
    b.send(b_enter).await;
    let recorder = a.recorder().clone();
    await_delivery(ctx, a, enter, b_enter, &recorder, level).await
}

/// The closes in answer to a valid message on either connection.
fn crashes(a: &Conversation<'_>, b: &Conversation<'_>) -> Vec<crate::judge::Finding> {
    [a, b]
        .iter()
        .filter_map(|c| c.closed_in_answer(None))
        .collect()
}

/// B's participant id in the notice of its entering.
fn sender_id(enter: &Relay, notice: &Value) -> Option<String> {
    enter
        .sender_id
        .as_deref()
        .and_then(|p| notice.pointer(p))
        .and_then(Value::as_str)
        .map(str::to_string)
}

async fn close(a: Conversation<'_>, b: Conversation<'_>) {
    tokio::join!(a.close(), b.close());
}

/// The relay's request from its example: in `room`, addressed to `target`, with fresh values in
/// every copied string so that a delivery can be traced to this request.
fn build(
    ctx: &Ctx<'_>,
    relay: &Relay,
    room: &str,
    target: Option<&str>,
    who: &str,
) -> Result<Value, Stop> {
    let mut frame = ctx.requests().example(&relay.request).ok_or_else(|| {
        Stop::NotApplicable(format!(
            "examples/index.json has no valid example of `{}`",
            relay.request
        ))
    })?;
    set_pointer(&mut frame, &relay.room, Value::String(room.to_string()));
    if let (Some(pointer), Some(target)) = (&relay.target, target) {
        set_pointer(&mut frame, pointer, Value::String(target.to_string()));
    }
    for copy in &relay.copies {
        let fixed = copy.request == relay.room || Some(&copy.request) == relay.target.as_ref();
        if !fixed && frame.pointer(&copy.request).is_some_and(Value::is_string) {
            set_pointer(
                &mut frame,
                &copy.request,
                Value::String(format!("conformance-{who}-{}", &fresh_id()[..8])),
            );
        }
    }
    Ok(frame)
}

/// Waits on `conversation` for `relay.delivered_as` copying `request`'s values.
async fn await_delivery(
    ctx: &Ctx<'_>,
    conversation: &mut Conversation<'_>,
    relay: &Relay,
    request: &Value,
    recorder: &Recorder,
    level: Severity,
) -> Option<Value> {
    let waiting_for = format!("`{}` relayed", relay.delivered_as);
    let awaited = conversation
        .await_frame(ctx.deadline(), &waiting_for, |message, value| {
            (message == relay.delivered_as).then(|| {
                correlate(&relay.copies, request, value)
                    .map_err(|why| format!("a `{message}` {why}"))
            })
        })
        .await;
    let (mut near, closed) = match awaited {
        Awaited::Found(frame) => return Some(frame),
        Awaited::Missing { near, closed } => (near, closed),
    };
    if let Some(closed) = closed {
        near.push(format!("the connection {}", closed.describe()));
    }
    let name = conversation.name();
    recorder.finding(
        level,
        format!(
            "`{}` from {} did not reach connection {name} as `{}`{}",
            relay.request,
            if name == "A" { "B" } else { "A" },
            relay.delivered_as,
            describe(&near)
        ),
    );
    None
}

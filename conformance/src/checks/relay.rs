//! `relay.<request>`: a client message reaches the other participants (audience `room`) or the
//! one it names (audience `target`), as `delivered_as`, copying the documented values.
//!
//! Two connections, A and B, share a fresh room. By convention the first relay of
//! `protocol.json` is the one that enters a room (`join`): A enters, then B, and A must learn of B
//! (with B's participant id at `sender_id`). A later relay is then sent by B to the room, or by A
//! to B's id.

use agentwire_codegen::protocol::{Audience, Relay};
use serde_json::Value;

use crate::checks::{Ctx, Stop, correlate, note};
use crate::connection::{Connection, Incoming, Recorder};
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
    let mut a = ctx.connect("A", recorder, level).await?;
    let mut b = ctx.connect("B", recorder, level).await?;
    let a_enter = build(ctx, enter, &room, None, "A")?;
    a.send_json(&a_enter, ctx.settings.timeout).await;
    // A pong after the frame shows a server that reads frames in order has taken it.
    a.ping(ctx.settings.timeout).await;
    a.await_pong(ctx.deadline()).await;
    let b_enter = build(ctx, enter, &room, None, "B")?;
    b.send_json(&b_enter, ctx.settings.timeout).await;
    let notice = await_delivery(ctx, &mut a, enter, &b_enter, recorder, enter_level).await;
    let b_id = notice.as_ref().and_then(|frame| {
        enter
            .sender_id
            .as_deref()
            .and_then(|p| frame.pointer(p))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    if index == 0 {
        if let (Some(_), Some(pointer), None) = (&notice, &enter.sender_id, &b_id) {
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
    if notice.is_none() {
        close(a, b).await;
        return Err(Stop::Skip(format!(
            "could not be set up: A did not learn that B entered the room with `{}` (see relay.{})",
            enter.request, enter.request
        )));
    }
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
            a.send_json(&request, ctx.settings.timeout).await;
            await_delivery(ctx, &mut b, relay, &request, recorder, level).await;
        }
        Audience::Room => {
            let request = build(ctx, relay, &room, None, "B")?;
            b.send_json(&request, ctx.settings.timeout).await;
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
) -> Result<(), String> {
    let enter = ctx
        .protocol
        .description
        .relays
        .first()
        .ok_or("the protocol has no relay")?;
    let room = format!("conformance-room-{}", fresh_id());
    let unbuilt = |_| format!("no valid example of `{}` to build from", enter.request);
    let a_enter = build(ctx, enter, &room, None, "P1").map_err(unbuilt)?;
    let mut b_enter = build(ctx, enter, &room, None, "P2").map_err(unbuilt)?;
    if let Some(size) = pad_to {
        let mut protected = ctx.validators.client.discriminators();
        protected.push(enter.room.as_str());
        b_enter = crate::frames::pad(&b_enter, &protected, size);
    }
    let not_connected = |_| "could not connect".to_string();
    let mut a = ctx
        .connect("P1", recorder, Severity::Info)
        .await
        .map_err(not_connected)?;
    let mut b = ctx
        .connect("P2", recorder, Severity::Info)
        .await
        .map_err(not_connected)?;
    a.send_json(&a_enter, ctx.settings.timeout).await;
    a.ping(ctx.settings.timeout).await;
    a.await_pong(ctx.deadline()).await;
    b.send_json(&b_enter, ctx.settings.timeout).await;
    let delivered = await_delivery(ctx, &mut a, enter, &b_enter, recorder, Severity::Info).await;
    close(a, b).await;
    match delivered {
        Some(_) => Ok(()),
        None => Err(format!(
            "a {}-byte `{}` from one connection did not reach another in the same room as `{}`",
            b_enter.to_string().len(),
            enter.request,
            enter.delivered_as
        )),
    }
}

async fn close(a: Connection, b: Connection) {
    a.close().await;
    b.close().await;
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
        Stop::Skip(format!(
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

/// Waits on `connection` for `relay.delivered_as` copying `request`'s values.
async fn await_delivery(
    ctx: &Ctx<'_>,
    connection: &mut Connection,
    relay: &Relay,
    request: &Value,
    recorder: &Recorder,
    level: Severity,
) -> Option<Value> {
    let deadline = ctx.deadline();
    let mut near = Vec::new();
    loop {
        match connection.recv(deadline).await {
            Incoming::Json {
                value,
                message: Some(message),
            } if message == relay.delivered_as => match correlate(&relay.copies, request, &value) {
                Ok(()) => return Some(value),
                Err(why) => note(&mut near, format!("a `{message}` {why}")),
            },
            Incoming::Timeout => {
                connection.timed_out(
                    ctx.settings.timeout,
                    format!("`{}` relayed", relay.delivered_as),
                );
                break;
            }
            Incoming::Closed { .. } => {
                note(&mut near, "the connection ended".into());
                break;
            }
            _ => {}
        }
    }
    recorder.finding(
        level,
        format!(
            "`{}` from {} did not reach connection {} as `{}`{}",
            relay.request,
            if connection.name() == "A" { "B" } else { "A" },
            connection.name(),
            relay.delivered_as,
            crate::checks::describe(&near)
        ),
    );
    None
}

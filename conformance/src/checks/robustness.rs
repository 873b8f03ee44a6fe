//! `robustness.after_bad_input`: after a connection sends malformed JSON, a deeply nested value,
//! an empty frame and a binary frame, the server still answers a new connection.

use crate::checks::reaction::MALFORMED_JSON;
use crate::checks::{Ctx, Stop};
use crate::connection::Recorder;
use crate::report::Severity;

/// Nesting depth of the hostile frame.
const DEPTH: usize = 10_000;

/// Sends the bad input on one connection (without reading it: its answers are the reaction
/// checks' business), then probes a second connection.
pub async fn run(ctx: &Ctx<'_>, level: Severity, recorder: &Recorder) -> Result<(), Stop> {
    let mut bad = ctx.connect("A", recorder, level).await?;
    let nested = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let _ = bad.send_text(MALFORMED_JSON).await
        && bad.send_text(&nested).await
        && bad.send_text("").await
        && bad.send_binary(vec![0xff, 0x00, 0x7b, 0x22]).await;
    // Its answers to the bad input are the reaction checks' business.
    bad.close_unread().await;
    let served = if ctx.simple_exchange().is_none() && !ctx.protocol.description.relays.is_empty() {
        // No request of its own to ask: a relay between two new connections shows it is served.
        crate::checks::relay::round_trip(ctx, recorder, None).await
    } else {
        let mut good = ctx.connect("B", recorder, level).await?;
        let served = good.probe().await;
        good.close().await;
        served
    };
    if let Err(unserved) = served {
        recorder.finding(
            unserved.severity(level),
            format!("after bad input on another connection: {}", unserved.why),
        );
    }
    Ok(())
}

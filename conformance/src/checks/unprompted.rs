//! `unprompted.<message>`: a message documented as sent on connect arrives without a request.

use crate::checks::{Ctx, Stop};
use crate::connection::Recorder;
use crate::conversation::Awaited;
use crate::report::Severity;

/// Connects and waits for `unprompted[index]`'s message: while settling, or until the deadline.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let wanted = &ctx.protocol.description.unprompted[index].message;
    let started = std::time::Instant::now();
    let mut conversation = ctx.connect("A", recorder, level).await?;
    if conversation.announced(wanted).is_none() {
        let deadline = started + ctx.settings.timeout;
        let waiting_for = format!("an unprompted `{wanted}`");
        let found = conversation
            .await_frame(deadline, &waiting_for, |m, _| {
                (m == wanted).then_some(Ok(()))
            })
            .await;
        if let Awaited::Missing { closed, .. } = found {
            recorder.finding(
                level,
                match closed {
                    Some(closed) => format!(
                        "the connection {} before a `{wanted}` arrived",
                        closed.describe()
                    ),
                    None => format!(
                        "no `{wanted}` arrived within {} ms of connecting",
                        ctx.settings.timeout.as_millis()
                    ),
                },
            );
        }
    }
    conversation.close().await;
    Ok(())
}

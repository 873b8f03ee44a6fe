//! `unprompted.<message>`: a message documented as sent on connect arrives without a request.

use crate::checks::{Ctx, Stop};
use crate::connection::{Incoming, Recorder};
use crate::report::Severity;

/// Connects and waits for `unprompted[index]`'s message.
pub async fn run(
    ctx: &Ctx<'_>,
    level: Severity,
    index: usize,
    recorder: &Recorder,
) -> Result<(), Stop> {
    let wanted = &ctx.protocol.description.unprompted[index].message;
    let mut connection = ctx.connect("A", recorder, level).await?;
    let deadline = ctx.deadline();
    loop {
        match connection.recv(deadline).await {
            Incoming::Json {
                message: Some(message),
                ..
            } if &message == wanted => break,
            Incoming::Timeout => {
                connection.timed_out(ctx.settings.timeout, format!("an unprompted `{wanted}`"));
                recorder.finding(level, format!("no `{wanted}` arrived after connecting"));
                break;
            }
            Incoming::Closed { .. } => {
                recorder.finding(
                    level,
                    format!("the connection ended before a `{wanted}` arrived"),
                );
                break;
            }
            _ => {}
        }
    }
    connection.close().await;
    Ok(())
}

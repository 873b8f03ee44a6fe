//! `handshake.connect`: the endpoint exists at the documented path and keeps the connection open.

use crate::checks::{Ctx, Presented, Stop};
use crate::connection::{DialError, Recorder};
use crate::conversation::Conversation;
use crate::report::Severity;

/// Connects (with the run's credential when it has one) and proves the connection is served.
pub async fn run(ctx: &Ctx<'_>, level: Severity, recorder: &Recorder) -> Result<(), Stop> {
    if ctx.target.overrides_path() {
        recorder.info(format!(
            "--url names the path {}; the documented path is {}",
            ctx.target.endpoint_path(ctx.protocol),
            ctx.protocol.description.endpoint.path
        ));
    }
    let (presented, credentialed) = match ctx.presented() {
        Ok(presented) => (presented, true),
        Err(_) => (Presented::Nothing, false),
    };
    let mut conversation = match Conversation::dial(*ctx, "A", &presented, recorder).await {
        Ok(conversation) => conversation,
        Err(DialError::Refused(status @ (401 | 403))) if !credentialed => {
            recorder.info(format!(
                "the handshake without a credential was refused with HTTP {status}: the endpoint exists; pass a credential to check more"
            ));
            return Ok(());
        }
        Err(error) => {
            recorder.finding(level, format!("no WebSocket at the endpoint: {error}"));
            return Err(Stop::Recorded);
        }
    };
    if !credentialed
        && ctx
            .protocol
            .description
            .auth
            .as_ref()
            .is_some_and(|a| a.required)
    {
        recorder.info("connected without a credential: the auth checks judge what follows");
        conversation.close().await;
        return Ok(());
    }
    conversation.settle().await;
    if let Err(why) = conversation.ws_probe().await {
        recorder.finding(level, format!("the connection is not served: {why}"));
    }
    conversation.close().await;
    Ok(())
}

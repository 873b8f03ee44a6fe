//! Having a session: the way `sessions.origin` says, and where that is an open reading that does
//! not hold, the document's other ways (`sessions.alternatives`), so that a reading of ours is
//! never a prerequisite. The evidence says which reading was used.

use agentwire_spec::protocol::{Level, SessionAlternative, SessionOrigin};
use serde_json::Value;

use crate::checks::{Ctx, Stop};
use crate::connection::Recorder;
use crate::conversation::{Awaited, Conversation, Reply};
use crate::judge::describe;
use crate::report::Severity;
use crate::util::fresh_id;

/// A session a conversation can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: String,
    /// Whether the suite chose the id (a reading where sessions come to be on first use): a
    /// server that refuses it shows that reading does not hold, not that it breaks the document.
    pub chosen: bool,
}

impl<'a> Conversation<'a> {
    /// An ordinary conversation for `exchanges[index]`: connected, with a session where its
    /// request needs one, and the request built. Returns the conversation, the request and the
    /// session.
    pub async fn for_exchange(
        ctx: Ctx<'a>,
        index: usize,
        recorder: &Recorder,
        severity: Severity,
    ) -> Result<(Self, Value, Option<Session>), Stop> {
        let exchange = &ctx.protocol.description.exchanges[index];
        let correlation = ctx.correlation_of(&exchange.request);
        if ctx.requests().example(&exchange.request).is_none() {
            return Err(Stop::NotApplicable(format!(
                "examples/index.json has no valid example of `{}` to build the request from",
                exchange.request
            )));
        }
        let mut conversation = Self::connect(ctx, "A", recorder, severity).await?;
        let session = if ctx.needs_session(&exchange.request) {
            Some(conversation.open_session(severity).await?)
        } else {
            None
        };
        let id = session.as_ref().map(|s| s.id.as_str());
        let built = ctx
            .requests()
            .build(&exchange.request, id, &correlation)
            .ok_or_else(|| Stop::NotApplicable("no example".into()))?;
        if !built.valid {
            recorder.info(format!(
                "the request built from the example of `{}` does not validate against client.schema.json",
                exchange.request
            ));
        }
        Ok((conversation, built.frame, session))
    }

    /// Obtains a session as `sessions.origin` says, or (where that is an open reading that gives
    /// none) by the first of `sessions.alternatives`; skips when no way is left.
    pub async fn open_session(&mut self, severity: Severity) -> Result<Session, Stop> {
        let ctx = self.ctx();
        let Some(sessions) = &ctx.protocol.description.sessions else {
            return Err(Stop::NotApplicable("the protocol has no sessions".into()));
        };
        let failed = match &sessions.origin {
            SessionOrigin::Announcement { message, id } => {
                match self.announcement(message, id).await {
                    Ok(session) => return Ok(session),
                    Err(why) => why,
                }
            }
            SessionOrigin::Request {
                message,
                id_in_reply,
            } => match self.created(message, id_in_reply).await {
                Ok(session) => return Ok(session),
                Err(Some(why)) => why,
                Err(None) => {
                    return Err(Stop::NotApplicable(format!(
                        "no valid example of `{message}` to create a session with"
                    )));
                }
            },
        };
        if sessions.rule.level == Level::Required {
            self.recorder().finding(severity, failed);
            return Err(Stop::Recorded);
        }
        // An open reading did not hold: the document's other way, said in the evidence.
        match sessions.alternatives.first() {
            Some(SessionAlternative::ClientChosen { rule }) => {
                let id = format!("conformance-session-{}", fresh_id());
                self.recorder().info(format!(
                    "{failed}; the document's other way is used: a client-chosen session id \
                     {id:?} (\"{}\"), the session coming to be when a request first names it",
                    rule.quote
                ));
                Ok(Session { id, chosen: true })
            }
            None => Err(Stop::Skip(format!(
                "{failed}, and the document shows no other way of having a session (the reading \
                 \"{}\" is open)",
                crate::util::prefix(sessions.rule.reading.as_deref().unwrap_or(""), 160)
            ))),
        }
    }

    /// The session a server announces on its own: seen while settling, or until the deadline.
    async fn announcement(&mut self, message: &str, pointer: &str) -> Result<Session, String> {
        let id_of = |value: &Value| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let frame = match self.announced(message).cloned() {
            Some(frame) => frame,
            None => {
                let deadline = self.ctx().deadline();
                let waiting_for = format!("`{message}` announcing a session");
                match self
                    .await_frame(deadline, &waiting_for, |m, _| {
                        (m == message).then_some(Ok(()))
                    })
                    .await
                {
                    Awaited::Found(frame) => frame,
                    Awaited::Missing {
                        closed: Some(closed),
                        ..
                    } => {
                        return Err(format!(
                            "the connection {} before `{message}` announced a session",
                            closed.describe()
                        ));
                    }
                    Awaited::Missing { .. } => {
                        return Err(format!(
                            "no `{message}` announced a session within {} ms",
                            self.ctx().settings.timeout.as_millis()
                        ));
                    }
                }
            }
        };
        match id_of(&frame) {
            Some(id) => {
                self.recorder()
                    .info(format!("session {id:?} announced by `{message}`"));
                Ok(Session { id, chosen: false })
            }
            None => Err(format!("`{message}` carries no session id at {pointer}")),
        }
    }

    /// A session created by a request; `Err(None)` when the request cannot be built.
    async fn created(&mut self, message: &str, pointer: &str) -> Result<Session, Option<String>> {
        let ctx = self.ctx();
        let correlation = ctx.correlation_of(message);
        let built = ctx
            .requests()
            .build(message, None, &correlation)
            .ok_or(None)?;
        let index = ctx
            .protocol
            .description
            .exchanges
            .iter()
            .position(|e| e.request == message);
        let Some(index) = index else {
            self.send(&built.frame).await;
            return Err(Some(format!(
                "`{message}` has no documented answer to read a session id from"
            )));
        };
        let answer = self.ask(index, &built.frame).await;
        match answer.reply {
            Reply::Single { frame, .. } => match frame.pointer(pointer).and_then(Value::as_str) {
                Some(id) => {
                    self.recorder()
                        .info(format!("session {id:?} created by `{message}`"));
                    Ok(Session {
                        id: id.to_string(),
                        chosen: false,
                    })
                }
                None => Err(Some(format!(
                    "the answer to `{message}` carries no session id at {pointer}"
                ))),
            },
            _ => Err(Some(format!(
                "`{message}` was not answered, so no session could be created{}",
                match &answer.closed {
                    Some(closed) => format!(" (the connection {})", closed.describe()),
                    None => describe(&answer.near_misses),
                }
            ))),
        }
    }
}

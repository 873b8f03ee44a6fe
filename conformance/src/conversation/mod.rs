//! The conversation with a server, one [`Conversation`] per connection: dial and present a
//! credential, settle, send, await the documented answer (correlated, a stream assembled), and
//! notice a close. The checks are short scenarios over conversations; what a conversation
//! captured is judged by [`crate::judge`].
//!
//! Settle, then match: after the handshake (and authentication) a conversation reads until the
//! server has been quiet for `--settle-ms` (bounded by the wait deadline) before its first
//! request. Frames read then are unprompted: validated and recorded, never taken as an answer,
//! and where a reply carries no correlation, no later frame of their kind is either.

pub mod answer;
pub mod session;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentwire_spec::protocol::{AuthMethod, Outcome};
use serde_json::Value;

use crate::checks::{Ctx, Presented, Stop};
use crate::connection::{Connection, Dial, DialError, Incoming, Recorder};
use crate::judge::{self, Closed, Finding, Kind, OutcomeSeen, Refusal, note};
use crate::report::Severity;
use crate::target::REDACTED;

pub use answer::{
    Answer, Answers, Chunk, MAX_STREAM_CHUNKS, MAX_STREAM_TEXT_BYTES, Reply, StreamEnd, Unserved,
};
pub use session::Session;

/// Most frames kept of those read while settling (their kinds, and announcements).
const MAX_SETTLED: usize = 16;

/// What a wait for one frame brought.
#[derive(Debug, Clone, PartialEq)]
pub enum Awaited {
    /// The frame.
    Found(Value),
    /// None before the deadline or the connection's end.
    Missing {
        /// Near misses: frames of the right message that were not it.
        near: Vec<String>,
        /// How the server ended the connection, if it did.
        closed: Option<Closed>,
    },
}

/// A JSON frame received while waiting for an answer, with what the matching reads of it.
#[derive(Debug)]
pub(crate) struct Received {
    /// The frame.
    pub value: Value,
    /// The message its discriminators select.
    pub message: Option<String>,
    valid: bool,
    tagged: bool,
    kind: Kind,
}

impl Received {
    /// The frame as the matching reads it.
    pub fn seen(&self) -> judge::Seen<'_> {
        judge::Seen {
            message: self.message.as_deref(),
            frame: &self.value,
            valid: self.valid,
            tagged: self.tagged,
            kind: &self.kind,
        }
    }
}

/// What the next wait for an answer brought.
#[derive(Debug)]
pub(crate) enum Next {
    /// A JSON frame (boxed: a frame is large, the other cases are nothing).
    Frame(Box<Received>),
    /// Nothing before the deadline.
    Timeout,
    /// The connection ended.
    Closed,
    /// Something else (not JSON, binary, a ping): already validated and recorded.
    Other,
}

/// What a wait for a refusal brought.
#[derive(Debug, Clone, PartialEq)]
pub enum RefusalSeen {
    /// A documented refusal, described.
    Refused(String),
    /// An answer that shows the request served; why.
    Served(String),
    /// Neither, before the deadline or the connection's end; near misses.
    Missing(Vec<String>),
}

/// The last client message sent.
#[derive(Debug, Clone)]
struct Sent {
    /// Its message, when it is a valid documented one.
    valid_message: Option<String>,
    /// When.
    at: Instant,
}

/// One connection's conversation with the server.
#[derive(Debug)]
pub struct Conversation<'a> {
    ctx: Ctx<'a>,
    connection: Connection,
    opened: Instant,
    settled: bool,
    /// Kinds of the frames the server sent on its own before any request.
    unprompted: Vec<Kind>,
    /// Frames read while settling that are messages, for announcements (session, welcome).
    announced: Vec<(String, Value)>,
    last_sent: Option<Sent>,
    /// Whether the connection was read for frames on their way since the last frame sent.
    drained: bool,
}

impl<'a> Conversation<'a> {
    /// Opens a connection presenting a credential the given way. The handshake is recorded; for
    /// the first-message method the authentication frame is sent right away. No settling.
    pub async fn dial(
        ctx: Ctx<'a>,
        name: &str,
        presented: &Presented,
        recorder: &Recorder,
    ) -> Result<Self, DialError> {
        let mut headers = ctx.target.headers.clone();
        let (url, shown_url, first) = match presented {
            Presented::Nothing => (
                ctx.target.url(ctx.protocol, None),
                ctx.target.shown_url(ctx.protocol, None),
                None,
            ),
            Presented::Via(index, token) => {
                let auth = ctx.protocol.description.auth.as_ref().expect("auth");
                match &auth.methods[*index] {
                    AuthMethod::QueryParameter { name, .. } => (
                        ctx.target.url(ctx.protocol, Some((name, token))),
                        ctx.target.shown_url(ctx.protocol, Some(name)),
                        None,
                    ),
                    AuthMethod::Cookie { name, .. } => {
                        headers.push(("Cookie".into(), format!("{name}={token}")));
                        (
                            ctx.target.url(ctx.protocol, None),
                            ctx.target.shown_url(ctx.protocol, None),
                            None,
                        )
                    }
                    AuthMethod::FirstMessage {
                        message, pointer, ..
                    } => (
                        ctx.target.url(ctx.protocol, None),
                        ctx.target.shown_url(ctx.protocol, None),
                        ctx.requests()
                            .auth_message(message, pointer, token)
                            .zip(ctx.requests().auth_message(message, pointer, REDACTED)),
                    ),
                }
            }
        };
        let dial = Dial {
            url,
            shown_url,
            headers,
            timeout: ctx.settings.timeout,
            max_frame_bytes: ctx.settings.max_frame_bytes,
            tls: ctx.target.tls(),
        };
        let connection =
            Connection::open(name, &dial, recorder, Arc::clone(ctx.validators)).await?;
        let mut conversation = Self {
            ctx,
            connection,
            opened: Instant::now(),
            settled: false,
            unprompted: Vec::new(),
            announced: Vec::new(),
            last_sent: None,
            drained: false,
        };
        if let Some((frame, shown)) = first {
            conversation.send_shown(&frame, &shown).await;
            // Part of connecting, judged by the auth checks: a close right after it may have
            // crossed it on the wire, so it is not taken as a close in answer to a request.
            conversation.last_sent = None;
        }
        Ok(conversation)
    }

    /// An ordinary conversation: authenticated the run's way, settled. A failed handshake is
    /// recorded at `severity`.
    pub async fn connect(
        ctx: Ctx<'a>,
        name: &str,
        recorder: &Recorder,
        severity: Severity,
    ) -> Result<Self, Stop> {
        let presented = ctx.presented()?;
        match Self::dial(ctx, name, &presented, recorder).await {
            Ok(mut conversation) => {
                conversation.settle().await;
                Ok(conversation)
            }
            Err(error) => {
                recorder.finding(severity, format!("could not connect: {error}"));
                Err(Stop::Recorded)
            }
        }
    }

    /// The context of the run.
    pub fn ctx(&self) -> Ctx<'a> {
        self.ctx
    }

    /// The connection's name in the report.
    pub fn name(&self) -> &str {
        self.connection.name()
    }

    /// The check's recorder.
    pub fn recorder(&self) -> &Recorder {
        self.connection.recorder()
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.connection.is_closed()
    }

    /// How many frames of the server message `message` arrived so far.
    pub fn received_count(&self, message: &str) -> usize {
        self.connection.received_count(message)
    }

    /// Reads until the server has been quiet for the settle window (bounded by the wait
    /// deadline); what arrives is unprompted. Once per conversation.
    pub async fn settle(&mut self) {
        if self.settled {
            return;
        }
        self.settled = true;
        let window = self.ctx.settings.settle;
        if window.is_zero() {
            return;
        }
        let started = Instant::now();
        let deadline = started + self.ctx.settings.timeout;
        let mut count = 0usize;
        loop {
            match self
                .connection
                .recv((Instant::now() + window).min(deadline))
                .await
            {
                Incoming::Json { value, message, .. } => {
                    count += 1;
                    let kind = Kind::of(&self.ctx.protocol.description, message.as_deref(), &value);
                    if !self.unprompted.contains(&kind) && self.unprompted.len() < MAX_SETTLED {
                        self.unprompted.push(kind);
                    }
                    if let Some(message) = message
                        && self.announced.len() < MAX_SETTLED
                    {
                        self.announced.push((message, value));
                    }
                }
                Incoming::NotJson | Incoming::Binary => count += 1,
                Incoming::Timeout | Incoming::Closed { .. } => break,
                Incoming::Ping | Incoming::Pong => {}
            }
        }
        if count > 0 {
            let kinds: Vec<String> = self.unprompted.iter().map(Kind::describe).collect();
            self.recorder().info(format!(
                "settled: {count} frame(s) arrived unprompted on {} within {} ms of connecting, \
                 before any request ({}): judged on their own, never taken as an answer",
                self.name(),
                started.elapsed().as_millis(),
                kinds.join(", ")
            ));
        }
    }

    /// A message the server sent while the conversation settled.
    pub fn announced(&self, message: &str) -> Option<&Value> {
        self.announced
            .iter()
            .find(|(m, _)| m == message)
            .map(|(_, value)| value)
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: &Value) -> bool {
        self.send_shown(frame, frame).await
    }

    /// Sends a JSON frame, recording `shown` instead (a credential redacted).
    pub async fn send_shown(&mut self, frame: &Value, shown: &Value) -> bool {
        let verdict = self.connection.validators().client.validate(frame);
        let valid_message = verdict
            .is_valid()
            .then(|| verdict.message.as_deref().map(str::to_string))
            .flatten();
        if !self.sending(valid_message) {
            return false;
        }
        let timeout = self.ctx.settings.timeout;
        self.connection.send_json_shown(frame, shown, timeout).await
    }

    /// Sends a text frame as is (for frames that are not JSON).
    pub async fn send_text(&mut self, text: &str) -> bool {
        if !self.sending(None) {
            return false;
        }
        let timeout = self.ctx.settings.timeout;
        self.connection.send_text(text, timeout).await
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> bool {
        if !self.sending(None) {
            return false;
        }
        let timeout = self.ctx.settings.timeout;
        self.connection.send_binary(bytes, timeout).await
    }

    /// Notes a frame about to be sent (its message when it is a valid documented one); false when
    /// the connection has ended, and nothing is sent.
    fn sending(&mut self, valid_message: Option<String>) -> bool {
        if self.is_closed() {
            return false;
        }
        self.last_sent = Some(Sent {
            valid_message,
            at: Instant::now(),
        });
        self.drained = false;
        true
    }

    /// Sends a WebSocket ping.
    pub async fn ping(&mut self) -> bool {
        self.connection.ping(self.ctx.settings.timeout).await
    }

    /// The next thing that happens on the connection, for scenarios that read it themselves (a
    /// burst, a keep-alive ping).
    pub async fn next(&mut self, deadline: Instant) -> Incoming {
        self.connection.recv(deadline).await
    }

    /// Records a wait that ran out.
    pub fn timed_out(&self, waited: Duration, waiting_for: impl Into<String>) {
        self.connection.timed_out(waited, waiting_for);
    }

    /// How the server ended the connection, timed from the last frame sent before (or the
    /// connection's start).
    pub fn closed(&self) -> Option<Closed> {
        let ended = self.connection.ended().filter(|e| e.by_server)?;
        let since = self
            .last_sent
            .as_ref()
            .map(|s| s.at)
            .filter(|at| *at <= ended.at)
            .unwrap_or(self.opened);
        Some(Closed {
            code: ended.code,
            reason: ended.reason.clone(),
            after: ended.at.saturating_duration_since(since),
        })
    }

    /// A failure when the server closed the connection in answer to the last frame sent, a valid
    /// documented message (after the server message `after`, if one answered it), where the
    /// document does not say the connection may end there.
    pub fn closed_in_answer(&self, after: Option<&str>) -> Option<Finding> {
        let sent = self.last_sent.as_ref()?;
        let message = sent.valid_message.as_deref()?;
        if self.connection.ended()?.at < sent.at {
            return None;
        }
        judge::closed_in_answer(
            &self.ctx.protocol.description,
            message,
            after,
            &self.closed()?,
        )
    }

    /// Waits for a WebSocket pong, tolerating (and validating) other frames.
    pub async fn await_pong(&mut self, deadline: Instant) -> Incoming {
        self.connection.await_pong(deadline).await
    }

    /// Waits until `deadline` for the frame `judge` accepts (`Some(Ok)`), noting near misses
    /// (`Some(Err)`); other frames are judged on their own. A timeout is recorded as waiting for
    /// `waiting_for`.
    pub async fn await_frame(
        &mut self,
        deadline: Instant,
        waiting_for: &str,
        mut judge: impl FnMut(&str, &Value) -> Option<Result<(), String>>,
    ) -> Awaited {
        let started = Instant::now();
        let mut near = Vec::new();
        loop {
            match self.connection.recv(deadline).await {
                Incoming::Json {
                    value,
                    message: Some(message),
                    ..
                } => match judge(&message, &value) {
                    Some(Ok(())) => return Awaited::Found(value),
                    Some(Err(why)) => note(&mut near, why),
                    None => {}
                },
                Incoming::Timeout => {
                    self.timed_out(deadline.saturating_duration_since(started), waiting_for);
                    return Awaited::Missing { near, closed: None };
                }
                Incoming::Closed { .. } => {
                    let closed = self.closed();
                    return Awaited::Missing { near, closed };
                }
                _ => {}
            }
        }
    }

    /// Waits for one of the documented outcomes of a reaction.
    pub async fn await_outcome(&mut self, outcomes: &[Outcome], deadline: Instant) -> OutcomeSeen {
        let started = Instant::now();
        let mut mismatches = Vec::new();
        loop {
            match self.connection.recv(deadline).await {
                Incoming::Json {
                    value,
                    message: Some(message),
                    ..
                } => match judge::reply_outcome(outcomes, &message, &value) {
                    Some(Ok(how)) => return OutcomeSeen::Matched(how),
                    Some(Err(why)) => note(&mut mismatches, why),
                    None => {}
                },
                Incoming::Closed { code, reason } => {
                    return judge::close_outcome(outcomes, code, &reason, mismatches);
                }
                Incoming::Timeout => {
                    self.timed_out(
                        deadline.saturating_duration_since(started),
                        "a documented reaction",
                    );
                    return OutcomeSeen::Missing(mismatches);
                }
                _ => {}
            }
        }
    }

    /// The next thing on the connection, a JSON frame read the way answers are matched.
    pub(crate) async fn next_frame(&mut self, deadline: Instant) -> Next {
        match self.connection.recv(deadline).await {
            Incoming::Json {
                value,
                message,
                valid,
            } => {
                let description = &self.ctx.protocol.description;
                let kind = Kind::of(description, message.as_deref(), &value);
                let tagged = message
                    .as_deref()
                    .is_some_and(|m| self.ctx.validators.server.is_tagged(m));
                Next::Frame(Box::new(Received {
                    value,
                    message,
                    valid,
                    tagged,
                    kind,
                }))
            }
            Incoming::Timeout => Next::Timeout,
            Incoming::Closed { .. } => Next::Closed,
            _ => Next::Other,
        }
    }

    /// Sends a message that has no documented answer to its sender, and reads briefly for frames
    /// on their way: the finding when the server closes the connection in answer to it.
    pub async fn tell(&mut self, frame: &Value) -> Option<Finding> {
        self.settle().await;
        if !self.send(frame).await {
            return self.closed_in_answer(None);
        }
        self.connection.drain().await;
        self.drained = true;
        self.closed_in_answer(None)
    }

    /// Waits for the refusal of `request`, a request naming a session the server must not serve:
    /// one of `outcomes`, or else an answer of its exchange (`exchanges[exchange]`) that shows it
    /// served. Frames about other requests are noted; the wait ends at `deadline`.
    pub async fn await_refusal(
        &mut self,
        exchange: Option<usize>,
        request: &Value,
        outcomes: &[Outcome],
        deadline: Instant,
    ) -> RefusalSeen {
        let ctx = self.ctx;
        let description = &ctx.protocol.description;
        let exchange = exchange.map(|i| &description.exchanges[i]);
        let started = Instant::now();
        let mut near = Vec::new();
        loop {
            let received = match self.next_frame(deadline).await {
                Next::Frame(received) => received,
                Next::Timeout => {
                    self.timed_out(
                        deadline.saturating_duration_since(started),
                        "the documented refusal",
                    );
                    return RefusalSeen::Missing(near);
                }
                Next::Closed => return RefusalSeen::Missing(near),
                Next::Other => continue,
            };
            let seen = received.seen();
            match judge::refusal(
                description,
                exchange,
                outcomes,
                request,
                seen,
                &self.unprompted,
            ) {
                Refusal::Refused(how) => return RefusalSeen::Refused(how),
                Refusal::Served(why) => return RefusalSeen::Served(why),
                Refusal::Miss(why) => note(&mut near, why),
                Refusal::Unrelated => {}
            }
        }
    }

    /// A WebSocket ping answered by a pong: the connection is open and read.
    pub async fn ws_probe(&mut self) -> Result<(), String> {
        if !self.ping().await {
            return Err("could not send a WebSocket ping".into());
        }
        match self.await_pong(self.ctx.deadline()).await {
            Incoming::Pong => Ok(()),
            Incoming::Closed { code, reason } => Err(format!(
                "the connection {} instead of answering a WebSocket ping",
                judge::describe_close(code, &reason)
            )),
            _ => {
                self.timed_out(self.ctx.settings.timeout, "a WebSocket pong");
                Err("no WebSocket pong".into())
            }
        }
    }

    /// Closes the connection politely after reading what is on its way, so that a frame sent
    /// right after the awaited answer is validated too.
    pub async fn close(self) {
        if self.drained {
            self.connection.close_unread().await;
        } else {
            self.connection.close().await;
        }
    }

    /// Closes the connection politely without reading what is on its way (for a connection whose
    /// answers another check judges).
    pub async fn close_unread(self) {
        self.connection.close_unread().await;
    }
}

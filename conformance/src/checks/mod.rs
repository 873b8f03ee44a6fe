//! The checks, and what they share: how to connect (with or without a credential), how to get a
//! session, how to wait for the answer to a request, and how to recognise a documented reaction.
//!
//! A check returns nothing: it records evidence in its [`Recorder`]; the worst severity recorded
//! decides its status. Each check opens its own connections, so checks are independent.

pub mod auth;
pub mod exchange;
pub mod handshake;
pub mod limit;
pub mod reaction;
pub mod relay;
pub mod robustness;
pub mod session;
pub mod unprompted;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentwire_codegen::ProtocolSource;
use agentwire_codegen::protocol::{AuthMethod, Credential, Outcome, ReplyForm, SessionOrigin};
use serde_json::Value;

use crate::connection::{Connection, Dial, DialError, Incoming, Recorder};
use crate::frames::Requests;
use crate::plan::{CheckKind, CheckSpec};
use crate::report::Severity;
use crate::schemas::Schemas;
use crate::target::{REDACTED, Target};
use crate::util::quoted;
use crate::validate::ProtocolValidators;

/// Most chunks of one stream read before the suite stops reading it: memory stays bounded when a
/// server streams without end.
pub const MAX_STREAM_CHUNKS: usize = 10_000;
/// Most text of one stream's chunks read before the suite stops reading it.
pub const MAX_STREAM_TEXT_BYTES: usize = 16 << 20;
/// Most near misses (wrong correlation, undocumented replies) kept while waiting for an answer.
const MAX_NEAR_MISSES: usize = 8;

/// Notes a near miss, keeping at most [`MAX_NEAR_MISSES`] (a flood of wrong answers stays small).
pub fn note(misses: &mut Vec<String>, why: String) {
    if misses.len() < MAX_NEAR_MISSES {
        misses.push(why);
    }
}

/// Everything a check needs.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The protocol.
    pub protocol: &'a ProtocolSource,
    /// Every schema.
    pub schemas: &'a Schemas,
    /// The protocol's validators.
    pub validators: &'a Arc<ProtocolValidators>,
    /// The endpoint.
    pub target: &'a Target,
    /// Timeouts and limits of the run.
    pub settings: &'a Settings,
}

/// Timeouts and limits of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Deadline of every wait.
    pub timeout: Duration,
    /// Largest frame accepted from a server.
    pub max_frame_bytes: usize,
    /// Messages in the rate-limit burst.
    pub burst: usize,
    /// Most connections the per-IP limit check opens.
    pub max_connections: u64,
}

/// The ways a check can end early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The check cannot run here (no credentials, no example to build from); the reason.
    Skip(String),
    /// The check already recorded why it failed.
    Recorded,
}

/// What a credential is attached as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// No credential.
    Nothing,
    /// This credential via this method of `auth.methods`.
    Via(usize, String),
}

impl<'a> Ctx<'a> {
    /// The request builder.
    pub fn requests(&self) -> Requests<'a> {
        Requests {
            protocol: self.protocol,
            validators: self.validators,
            schemas: self.schemas,
        }
    }

    /// A deadline one timeout from now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.settings.timeout
    }

    /// A valid credential, if the run has one: `--token`, or a JWT minted with `--jwt-secret`.
    pub fn valid_token(&self) -> Option<String> {
        if let Some(token) = &self.target.token {
            return Some(token.clone());
        }
        let auth = self.protocol.description.auth.as_ref()?;
        match (auth.credential, &self.target.jwt_secret) {
            (Credential::Jwt, Some(secret)) => crate::jwt::valid(secret).ok(),
            _ => None,
        }
    }

    /// Opens a connection presenting a credential the given way. The handshake is recorded; for
    /// the first-message method the authentication frame is sent right away.
    pub async fn dial(
        &self,
        name: &str,
        presented: &Presented,
        recorder: &Recorder,
    ) -> Result<Connection, DialError> {
        let mut headers = self.target.headers.clone();
        let (url, shown_url, first) = match presented {
            Presented::Nothing => (
                self.target.url(self.protocol, None),
                self.target.shown_url(self.protocol, None),
                None,
            ),
            Presented::Via(index, token) => {
                let method = &self
                    .protocol
                    .description
                    .auth
                    .as_ref()
                    .expect("auth")
                    .methods[*index];
                match method {
                    AuthMethod::QueryParameter { name, .. } => (
                        self.target.url(self.protocol, Some((name, token))),
                        self.target.shown_url(self.protocol, Some(name)),
                        None,
                    ),
                    AuthMethod::Cookie { name, .. } => {
                        headers.push(("Cookie".into(), format!("{name}={token}")));
                        (
                            self.target.url(self.protocol, None),
                            self.target.shown_url(self.protocol, None),
                            None,
                        )
                    }
                    AuthMethod::FirstMessage {
                        message, pointer, ..
                    } => (
                        self.target.url(self.protocol, None),
                        self.target.shown_url(self.protocol, None),
                        self.requests()
                            .auth_message(message, pointer, token)
                            .zip(self.requests().auth_message(message, pointer, REDACTED)),
                    ),
                }
            }
        };
        let dial = Dial {
            url,
            shown_url,
            headers,
            timeout: self.settings.timeout,
            max_frame_bytes: self.settings.max_frame_bytes,
        };
        let mut connection =
            Connection::open(name, &dial, recorder, Arc::clone(self.validators)).await?;
        if let Some((frame, shown)) = first {
            connection
                .send_json_shown(&frame, &shown, self.settings.timeout)
                .await;
        }
        Ok(connection)
    }

    /// How this run authenticates ordinary connections: the first documented method with the
    /// run's valid credential, nothing when the protocol needs none, or a skip when it needs one
    /// the run does not have.
    pub fn presented(&self) -> Result<Presented, Stop> {
        match &self.protocol.description.auth {
            Some(auth) if auth.required => match self.valid_token() {
                Some(token) => Ok(Presented::Via(0, token)),
                None => Err(Stop::Skip(
                    "the protocol requires a credential: pass --token, or --jwt-secret for JWTs"
                        .into(),
                )),
            },
            _ => Ok(Presented::Nothing),
        }
    }

    /// An authenticated connection; a failed handshake is recorded at `severity`.
    pub async fn connect(
        &self,
        name: &str,
        recorder: &Recorder,
        severity: Severity,
    ) -> Result<Connection, Stop> {
        let presented = self.presented()?;
        match self.dial(name, &presented, recorder).await {
            Ok(connection) => Ok(connection),
            Err(error) => {
                recorder.finding(severity, format!("could not connect: {error}"));
                Err(Stop::Recorded)
            }
        }
    }

    /// Obtains a session on the connection as `sessions.origin` says; its id.
    pub async fn open_session(
        &self,
        connection: &mut Connection,
        recorder: &Recorder,
        severity: Severity,
    ) -> Result<String, Stop> {
        let Some(sessions) = &self.protocol.description.sessions else {
            return Err(Stop::Skip("the protocol has no sessions".into()));
        };
        match &sessions.origin {
            SessionOrigin::Announcement { message, id } => {
                let deadline = self.deadline();
                loop {
                    match connection.recv(deadline).await {
                        Incoming::Json {
                            value,
                            message: Some(m),
                        } if &m == message => {
                            return match value.pointer(id).and_then(Value::as_str) {
                                Some(session) => Ok(session.to_string()),
                                None => {
                                    recorder.finding(
                                        severity,
                                        format!("`{message}` carries no session id at {id}"),
                                    );
                                    Err(Stop::Recorded)
                                }
                            };
                        }
                        Incoming::Timeout => {
                            connection.timed_out(
                                self.settings.timeout,
                                format!("`{message}` announcing a session"),
                            );
                            recorder
                                .finding(severity, format!("no `{message}` announced a session"));
                            return Err(Stop::Recorded);
                        }
                        Incoming::Closed { .. } => {
                            recorder.finding(
                                severity,
                                format!(
                                    "the connection ended before `{message}` announced a session"
                                ),
                            );
                            return Err(Stop::Recorded);
                        }
                        _ => {}
                    }
                }
            }
            SessionOrigin::Request {
                message,
                id_in_reply,
            } => {
                let correlation = self.correlation_of(message);
                let Some(built) = self.requests().build(message, None, &correlation) else {
                    return Err(Stop::Skip(format!(
                        "no valid example of `{message}` to create a session with"
                    )));
                };
                connection
                    .send_json(&built.frame, self.settings.timeout)
                    .await;
                let index = self
                    .protocol
                    .description
                    .exchanges
                    .iter()
                    .position(|e| &e.request == message);
                let answer = match index {
                    Some(i) => self.await_answer(connection, i, &built.frame).await,
                    None => Answer::Nothing(Vec::new()),
                };
                match answer {
                    Answer::Single { frame, .. } => {
                        match frame.pointer(id_in_reply).and_then(Value::as_str) {
                            Some(id) => Ok(id.to_string()),
                            None => {
                                recorder.finding(
                                    severity,
                                    format!(
                                        "the answer to `{message}` carries no session id at {id_in_reply}"
                                    ),
                                );
                                Err(Stop::Recorded)
                            }
                        }
                    }
                    _ => {
                        recorder.finding(
                            severity,
                            format!("`{message}` was not answered, so no session could be created"),
                        );
                        Err(Stop::Recorded)
                    }
                }
            }
        }
    }

    /// Whether a request needs a session on its connection first.
    pub fn needs_session(&self, message: &str) -> bool {
        self.protocol
            .description
            .sessions
            .as_ref()
            .is_some_and(|s| {
                s.id_in_requests.contains_key(message) || s.needed_by.iter().any(|m| m == message)
            })
    }

    /// The correlations of an exchange's first single reply form (what a request must carry).
    pub fn correlation_of(&self, request: &str) -> Vec<agentwire_codegen::protocol::Correlation> {
        let mut out = Vec::new();
        for exchange in self
            .protocol
            .description
            .exchanges
            .iter()
            .filter(|e| e.request == request)
        {
            for reply in &exchange.replies {
                let list = match reply {
                    ReplyForm::Single(single) => &single.correlation,
                    ReplyForm::Stream(stream) => &stream.correlation,
                };
                for c in list {
                    if !out.contains(c) {
                        out.push(c.clone());
                    }
                }
            }
        }
        out
    }

    /// Connects (authenticated), obtains a session when the exchange's request needs one, and
    /// builds the request. Returns the connection, the request and the session id.
    pub async fn prepare_exchange(
        &self,
        index: usize,
        recorder: &Recorder,
        severity: Severity,
    ) -> Result<(Connection, Value, Option<String>), Stop> {
        let exchange = &self.protocol.description.exchanges[index];
        let correlation = self.correlation_of(&exchange.request);
        if self.requests().example(&exchange.request).is_none() {
            return Err(Stop::Skip(format!(
                "examples/index.json has no valid example of `{}` to build the request from",
                exchange.request
            )));
        }
        let mut connection = self.connect("A", recorder, severity).await?;
        let session = if self.needs_session(&exchange.request) {
            Some(
                self.open_session(&mut connection, recorder, severity)
                    .await?,
            )
        } else {
            None
        };
        let built = self
            .requests()
            .build(&exchange.request, session.as_deref(), &correlation)
            .ok_or_else(|| Stop::Skip("no example".into()))?;
        if !built.valid {
            recorder.info(format!(
                "the request built from the example of `{}` does not validate against client.schema.json",
                exchange.request
            ));
        }
        Ok((connection, built.frame, session))
    }

    /// Waits for the answer to `request` in any form `exchanges[index]` allows, tolerating (and
    /// validating) unrelated frames.
    pub async fn await_answer(
        &self,
        connection: &mut Connection,
        index: usize,
        request: &Value,
    ) -> Answer {
        let exchange = &self.protocol.description.exchanges[index];
        let deadline = self.deadline();
        let mut mismatches = Vec::new();
        loop {
            let incoming = connection.recv(deadline).await;
            let (value, message) = match incoming {
                Incoming::Json {
                    value,
                    message: Some(message),
                } => (value, message),
                Incoming::Timeout => {
                    connection.timed_out(
                        self.settings.timeout,
                        format!("the answer to `{}`", exchange.request),
                    );
                    return Answer::Nothing(mismatches);
                }
                Incoming::Closed { .. } => {
                    note(
                        &mut mismatches,
                        "the connection ended before an answer arrived".into(),
                    );
                    return Answer::Nothing(mismatches);
                }
                _ => continue,
            };
            for (form, reply) in exchange.replies.iter().enumerate() {
                match reply {
                    ReplyForm::Single(single) if single.messages.contains(&message) => {
                        match correlate(&single.correlation, request, &value) {
                            Ok(()) => {
                                return Answer::Single {
                                    frame: value,
                                    message,
                                    form,
                                };
                            }
                            Err(why) => note(&mut mismatches, format!("a `{message}` {why}")),
                        }
                    }
                    ReplyForm::Stream(stream) if stream.start == message => {
                        match correlate(&stream.correlation, request, &value) {
                            Ok(()) => {
                                return self
                                    .collect_stream(connection, form, stream, value, deadline)
                                    .await;
                            }
                            Err(why) => note(&mut mismatches, format!("a `{message}` {why}")),
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    async fn collect_stream(
        &self,
        connection: &mut Connection,
        form: usize,
        stream: &agentwire_codegen::protocol::StreamReply,
        start: Value,
        deadline: Instant,
    ) -> Answer {
        let mut chunks = Vec::new();
        let mut text_bytes = 0usize;
        let end = loop {
            if chunks.len() >= MAX_STREAM_CHUNKS || text_bytes > MAX_STREAM_TEXT_BYTES {
                break StreamEnd::TooLong;
            }
            match connection.recv(deadline).await {
                Incoming::Json {
                    value,
                    message: Some(message),
                } => {
                    if message == stream.chunk {
                        // Only what the stream check reads is kept, not the frame.
                        let chunk = Chunk {
                            id: value.pointer(&stream.stream_id).cloned(),
                            text: value
                                .pointer(&stream.chunk_text)
                                .and_then(Value::as_str)
                                .map(str::to_string),
                        };
                        text_bytes += chunk.text.as_ref().map_or(0, String::len);
                        chunks.push(chunk);
                    } else if message == stream.end {
                        break StreamEnd::Ended(value);
                    }
                }
                Incoming::Timeout => {
                    connection.timed_out(self.settings.timeout, "the end of the stream");
                    break StreamEnd::Unfinished;
                }
                Incoming::Closed { .. } => break StreamEnd::Unfinished,
                _ => {}
            }
        };
        Answer::Stream {
            form,
            start,
            chunks,
            end,
        }
    }

    /// The first exchange whose request needs no session and has a valid example to build it
    /// from: the simplest request a connection can be asked.
    pub fn simple_exchange(&self) -> Option<usize> {
        self.protocol.description.exchanges.iter().position(|e| {
            !self.needs_session(&e.request) && self.requests().example(&e.request).is_some()
        })
    }

    /// A quick proof that a connection is served: the [`simple_exchange`](Self::simple_exchange)
    /// answered, or else a WebSocket pong. Returns a description of what failed.
    pub async fn probe(&self, connection: &mut Connection) -> Result<(), String> {
        let d = &self.protocol.description;
        if let Some(index) = self.simple_exchange() {
            let exchange = &d.exchanges[index];
            let correlation = self.correlation_of(&exchange.request);
            if let Some(built) = self.requests().build(&exchange.request, None, &correlation) {
                if !connection
                    .send_json(&built.frame, self.settings.timeout)
                    .await
                {
                    return Err(format!("could not send `{}`", exchange.request));
                }
                return match self.await_answer(connection, index, &built.frame).await {
                    Answer::Nothing(mismatches) => Err(format!(
                        "`{}` was not answered{}",
                        exchange.request,
                        describe(&mismatches)
                    )),
                    _ => Ok(()),
                };
            }
        }
        self.ws_probe(connection).await
    }

    /// A WebSocket ping answered by a pong: the connection is open and read.
    pub async fn ws_probe(&self, connection: &mut Connection) -> Result<(), String> {
        if !connection.ping(self.settings.timeout).await {
            return Err("could not send a WebSocket ping".into());
        }
        match connection.await_pong(self.deadline()).await {
            Incoming::Pong => Ok(()),
            Incoming::Closed { code, reason } => Err(format!(
                "the connection ended instead of answering a WebSocket ping (code {}, {reason})",
                code.map_or("none".into(), |c| c.to_string())
            )),
            _ => {
                connection.timed_out(self.settings.timeout, "a WebSocket pong");
                Err("no WebSocket pong".into())
            }
        }
    }

    /// Waits for one of the documented outcomes of a reaction on an open connection.
    pub async fn await_outcome(
        &self,
        connection: &mut Connection,
        outcomes: &[Outcome],
        deadline: Instant,
    ) -> OutcomeSeen {
        let mut mismatches = Vec::new();
        loop {
            match connection.recv(deadline).await {
                Incoming::Json {
                    value,
                    message: Some(message),
                } => match reply_outcome(outcomes, &message, &value) {
                    Some(Ok(how)) => return OutcomeSeen::Matched(how),
                    Some(Err(why)) => note(&mut mismatches, why),
                    None => {}
                },
                Incoming::Closed { code, reason } => {
                    return close_outcome(outcomes, code, &reason, mismatches);
                }
                Incoming::Timeout => {
                    connection.timed_out(
                        deadline
                            .saturating_duration_since(Instant::now())
                            .max(self.settings.timeout),
                        "a documented reaction",
                    );
                    return OutcomeSeen::Missing(mismatches);
                }
                _ => {}
            }
        }
    }
}

/// Judges a received frame against the documented reply outcomes: `Some(Ok(how))` when it is
/// one, `Some(Err(why))` when it is a documented reply's message without what that reply shows,
/// `None` when no reply outcome names its message.
pub fn reply_outcome(
    outcomes: &[Outcome],
    message: &str,
    value: &Value,
) -> Option<Result<String, String>> {
    let mut miss = None;
    for outcome in outcomes {
        let Outcome::Reply {
            message: wanted,
            expect,
        } = outcome
        else {
            continue;
        };
        if wanted != message {
            continue;
        }
        let wrong: Vec<String> = expect
            .iter()
            .filter_map(|e| expectation_failure(e, value))
            .collect();
        if wrong.is_empty() {
            return Some(Ok(format!("answered with `{message}`")));
        }
        miss.get_or_insert_with(|| format!("a `{message}` whose {}", wrong.join(", ")));
    }
    miss.map(Err)
}

/// Judges a close against the documented close outcomes.
pub fn close_outcome(
    outcomes: &[Outcome],
    code: Option<u16>,
    reason: &str,
    mut mismatches: Vec<String>,
) -> OutcomeSeen {
    for outcome in outcomes {
        if let Outcome::Close { codes } = outcome {
            match code {
                Some(code) if codes.is_empty() || codes.contains(&code) => {
                    return OutcomeSeen::Matched(format!("closed with {code}"));
                }
                None if codes.is_empty() => {
                    return OutcomeSeen::Matched(format!("closed ({reason})"));
                }
                _ => {}
            }
        }
    }
    let documented = documented_outcomes(outcomes);
    mismatches.push(match code {
        Some(code) => {
            format!("the connection was closed with {code} ({reason}); documented: {documented}")
        }
        None => format!(
            "the connection ended without a close code ({reason}); documented: {documented}"
        ),
    });
    OutcomeSeen::Missing(mismatches)
}

/// Judges a refused handshake against the documented close outcomes: refusing the handshake is a
/// way of closing only where no close code is documented.
pub fn refusal_outcome(outcomes: &[Outcome], error: &DialError) -> OutcomeSeen {
    let codeless_close = outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Close { codes } if codes.is_empty()));
    if codeless_close {
        return OutcomeSeen::Matched(format!("refused: {error}"));
    }
    OutcomeSeen::Missing(vec![format!(
        "{error}, but the document says: {}",
        documented_outcomes(outcomes)
    )])
}

/// The documented outcomes in words.
pub fn documented_outcomes(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Reply { message, expect } => {
                let what: Vec<String> = expect
                    .iter()
                    .map(|e| match &e.equals {
                        Some(v) => format!("{} = {v}", e.pointer),
                        None => format!("{} present", e.pointer),
                    })
                    .collect();
                if what.is_empty() {
                    format!("a `{message}` reply")
                } else {
                    format!("a `{message}` reply with {}", what.join(", "))
                }
            }
            Outcome::Close { codes } if codes.is_empty() => "closing the connection".into(),
            Outcome::Close { codes } => format!(
                "closing with {}",
                codes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        })
        .collect::<Vec<_>>()
        .join(", or ")
}

/// What a reaction check saw.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeSeen {
    /// A documented outcome, described.
    Matched(String),
    /// None; what came instead.
    Missing(Vec<String>),
}

/// How a request was answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A single message.
    Single {
        /// The reply.
        frame: Value,
        /// Its message name.
        message: String,
        /// Index of the reply form.
        form: usize,
    },
    /// A stream, possibly unfinished.
    Stream {
        /// Index of the reply form.
        form: usize,
        /// The start frame.
        start: Value,
        /// The chunks, in order (at most [`MAX_STREAM_CHUNKS`], and [`MAX_STREAM_TEXT_BYTES`]
        /// of text).
        chunks: Vec<Chunk>,
        /// How it ended.
        end: StreamEnd,
    },
    /// No answer; the near misses (wrong correlation, closes).
    Nothing(Vec<String>),
}

/// What the stream check reads of a chunk frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The value at the stream id's pointer.
    pub id: Option<Value>,
    /// The text at the chunk text's pointer, when it is a string.
    pub text: Option<String>,
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEnd {
    /// With this end frame.
    Ended(Value),
    /// Not before the deadline or the connection's end.
    Unfinished,
    /// Reading stopped after [`MAX_STREAM_CHUNKS`] chunks or [`MAX_STREAM_TEXT_BYTES`] of text.
    TooLong,
}

/// Checks that a reply copies the request's values; the reason when it does not.
pub fn correlate(
    correlation: &[agentwire_codegen::protocol::Correlation],
    request: &Value,
    reply: &Value,
) -> Result<(), String> {
    for c in correlation {
        let wanted = request.pointer(&c.request);
        let found = reply.pointer(&c.reply);
        if wanted != found {
            return Err(format!(
                "whose {} is {}, not the request's {} ({})",
                c.reply,
                found.map_or("absent".into(), quoted),
                c.request,
                wanted.map_or("absent".into(), quoted)
            ));
        }
    }
    Ok(())
}

/// Why a frame does not show an expectation, if it does not.
pub fn expectation_failure(
    expectation: &agentwire_codegen::protocol::Expectation,
    frame: &Value,
) -> Option<String> {
    let found = frame.pointer(&expectation.pointer);
    match (&expectation.equals, found) {
        (Some(wanted), Some(found)) if wanted == found => None,
        (Some(wanted), Some(found)) => Some(format!(
            "{} is {}, not {wanted}",
            expectation.pointer,
            quoted(found)
        )),
        (Some(wanted), None) => Some(format!("{} is absent, not {wanted}", expectation.pointer)),
        (None, Some(_)) => None,
        (None, None) => Some(format!("{} is absent", expectation.pointer)),
    }
}

/// `": a, b"` for a non-empty list of near misses.
pub fn describe(mismatches: &[String]) -> String {
    if mismatches.is_empty() {
        String::new()
    } else {
        format!(" (instead: {})", mismatches.join("; "))
    }
}

/// Runs one check, recording into `recorder`; a skip reason when it did not run.
pub async fn run(ctx: &Ctx<'_>, spec: &CheckSpec, recorder: &Recorder) -> Option<String> {
    let level = Severity::from(spec.requirement.level);
    let result = match &spec.kind {
        CheckKind::Handshake => handshake::run(ctx, level, recorder).await,
        CheckKind::Auth { method, case } => auth::run(ctx, level, *method, *case, recorder).await,
        CheckKind::Unprompted { index } => unprompted::run(ctx, level, *index, recorder).await,
        CheckKind::Exchange { index } => exchange::run(ctx, level, *index, recorder).await,
        CheckKind::Stream { index, form } => {
            exchange::run_stream(ctx, level, *index, *form, recorder).await
        }
        CheckKind::Session => session::run(ctx, level, recorder).await,
        CheckKind::Reaction { index } => reaction::run(ctx, level, *index, recorder).await,
        CheckKind::SizeAccepted => limit::size_accepted(ctx, level, recorder).await,
        CheckKind::PingInterval => limit::ping_interval(ctx, level, recorder).await,
        CheckKind::Relay { index } => relay::run(ctx, level, *index, recorder).await,
        CheckKind::Robustness => robustness::run(ctx, level, recorder).await,
    };
    match result {
        Ok(()) | Err(Stop::Recorded) => None,
        Err(Stop::Skip(reason)) => Some(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentwire_codegen::protocol::Correlation;
    use serde_json::json;

    #[test]
    fn a_huge_value_from_the_server_is_clipped_in_findings() {
        let echo = [Correlation {
            request: "/cid".into(),
            reply: "/cid".into(),
        }];
        let reply = json!({"cid": "x".repeat(1 << 20)});
        let why = correlate(&echo, &json!({"cid": "1"}), &reply).unwrap_err();
        assert!(why.len() < 1024, "{} bytes", why.len());
        assert!(why.contains("bytes)"), "{why}");
        assert!(correlate(&echo, &json!({"cid": "1"}), &json!({"cid": "1"})).is_ok());
    }
}

//! Watching a conversation the suite does not drive: a real client and a real server, seen frame
//! by frame, live by `conformance proxy` or from its transcript by `conformance validate`. Both
//! feed the same [`Watch`] the same events with the same times, so a transcript judged again
//! gives the findings the proxy printed.
//!
//! What a watch concludes, each finding naming who broke what and the sentence it rests on:
//! - every frame against its direction's entry point ([`inspect`]);
//! - what `protocol.json` says about answers ([`follow`]): a request's documented reply,
//!   correlated as `run` correlates it (the reply echoes the request's id; where nothing is
//!   echoed, the next reply answers the oldest request, and a kind the server also sent unprompted
//!   answers none), a stream that keeps one id and whose chunks join to its end, a request left
//!   unanswered past its budget, a reply to nothing, the documented reaction to bad input;
//! - closes: who closed first, with which code, and a server closing in answer to a request.
//!
//! Nothing here does I/O or reads a clock: events carry their times, so the watch is tested by
//! tables, and the proxy and a transcript's replay agree.

pub mod follow;
pub mod inspect;

use std::sync::Arc;
use std::time::Duration;

use agentwire_spec::protocol::{Direction, ProtocolDescription, ReplyBudget, Rule};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::judge::{self, Kind, describe_close};
use crate::report::Severity;
use crate::validate::ProtocolValidators;

pub use follow::Follow;
pub use inspect::Inspected;

/// Most kinds remembered of the frames a server sent before the client's first message.
const MAX_UNPROMPTED_KINDS: usize = 16;

/// What every watch of one protocol shares.
#[derive(Debug)]
pub struct Context {
    /// The protocol's description.
    pub description: ProtocolDescription,
    /// Its validators.
    pub validators: Arc<ProtocolValidators>,
    /// The budget of answers the server's own logic produces (`--timeout-ms`).
    pub control: Duration,
    /// The budget of answers a model generates (`--reply-timeout-ms`).
    pub generated: Duration,
}

impl Context {
    /// How long the answer to `exchanges[index]` may take.
    pub fn budget_of(&self, index: usize) -> Duration {
        match self.description.exchanges[index].budget {
            ReplyBudget::Control => self.control,
            ReplyBudget::Generated => self.generated,
        }
    }

    /// The client message that carries a first-message credential, if the protocol has one.
    fn auth_message(&self) -> Option<&str> {
        self.credential_in_message().map(|(message, _)| message)
    }

    /// The client message that carries a first-message credential and the JSON Pointer of the
    /// credential in it, if the protocol has one.
    pub fn credential_in_message(&self) -> Option<(&str, &str)> {
        self.description
            .auth
            .as_ref()?
            .methods
            .iter()
            .find_map(|m| match m {
                agentwire_spec::protocol::AuthMethod::FirstMessage {
                    message, pointer, ..
                } => Some((message.as_str(), pointer.as_str())),
                _ => None,
            })
    }
}

/// One conclusion about a watched connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The connection, numbered from 1 in the order clients connected.
    pub connection: u64,
    /// When, in milliseconds since the proxy started: the frame's or close's time, or the
    /// moment an answer was due.
    pub ms: f64,
    /// Whose frame or behaviour it is about: the client's or the server's.
    pub by: Direction,
    /// How bad it is: the level of the rule it rests on.
    pub severity: Severity,
    /// The protocol message concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What was found, in one line.
    pub finding: String,
    /// JSON Pointer of the offending value in the frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The schema keyword that rejects it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// Absolute URI (with JSON Pointer fragment) of the keyword in the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_location: Option<String>,
    /// What the document led the watch to expect, where the finding compares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What happened instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// The sentence of the document the finding rests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rests_on: Option<String>,
    /// JSON Pointer of that sentence's rule in `protocol.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The frame (long strings shortened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<Value>,
}

impl Finding {
    /// A finding about `by` on `connection` at `at`, with nothing else said yet.
    pub fn new(connection: u64, at: Duration, by: Direction, severity: Severity) -> Self {
        Self {
            connection,
            ms: millis(at),
            by,
            severity,
            message: None,
            finding: String::new(),
            pointer: None,
            keyword: None,
            schema_location: None,
            expected: None,
            received: None,
            rests_on: None,
            rule: None,
            frame: None,
        }
    }

    /// Cites a rule of `protocol.json` (its sentence and its JSON Pointer).
    pub fn citing(mut self, rule: &Rule, pointer: impl Into<String>) -> Self {
        self.rests_on = Some(rule.quote.clone());
        self.rule = Some(pointer.into());
        self
    }
}

/// Milliseconds, with the microseconds as decimals: the form times take in findings and
/// transcripts.
pub fn millis(at: Duration) -> f64 {
    at.as_micros() as f64 / 1000.0
}

/// The time a transcript's milliseconds stand for, to the microsecond.
pub fn from_millis(ms: f64) -> Duration {
    Duration::from_micros((ms.max(0.0) * 1000.0).round() as u64)
}

/// The watch of one connection.
#[derive(Debug)]
pub struct Watch {
    ctx: Arc<Context>,
    connection: u64,
    /// Kinds of the frames the server sent before the client's first message (its credential
    /// aside): unprompted, never an answer.
    unprompted: Vec<Kind>,
    client_spoke: bool,
    follow: Follow,
    /// Who closed first; the other side's close frame is the answer to it.
    closing: Option<Direction>,
    /// Whether the watch was stopped: nothing after is judged.
    stopped: bool,
}

impl Watch {
    /// A watch of the connection numbered `connection`.
    pub fn new(ctx: Arc<Context>, connection: u64) -> Self {
        Self {
            ctx,
            connection,
            unprompted: Vec::new(),
            client_spoke: false,
            follow: Follow::default(),
            closing: None,
            stopped: false,
        }
    }

    /// The connection's number.
    pub fn connection(&self) -> u64 {
        self.connection
    }

    /// The client asked for `path` (without the query) at `at`: a path other than the
    /// documented endpoint is the client's finding, at the endpoint rule's level.
    pub fn open(&mut self, at: Duration, path: &str) -> Vec<Finding> {
        let endpoint = &self.ctx.description.endpoint;
        if path_matches(&endpoint.path, path) {
            return Vec::new();
        }
        let mut finding = Finding::new(
            self.connection,
            at,
            Direction::Client,
            Severity::from(endpoint.rule.level),
        )
        .citing(&endpoint.rule, "/endpoint/rule");
        finding.finding = format!(
            "the client connected at {}, not at the documented endpoint {}",
            crate::util::clip(path, 200),
            endpoint.path
        );
        vec![finding]
    }

    /// A data frame from `by` at `at`. `forwarded` is false for a frame the proxy dropped
    /// (`--enforce`): it is judged, but its peer never saw it, so nothing is awaited.
    pub fn frame(
        &mut self,
        at: Duration,
        by: Direction,
        frame: &Inspected,
        forwarded: bool,
    ) -> Vec<Finding> {
        let (mut findings, going_on) = self.advance(at);
        if !going_on {
            // Frames that cross a close are not part of the conversation any more.
            return findings;
        }
        let validator = self.ctx.validators.of(by);
        findings.extend(frame.findings(
            validator,
            Finding::new(self.connection, at, by, Severity::Fail),
        ));
        if !forwarded {
            return findings;
        }
        match by {
            Direction::Client => {
                let credential =
                    frame.message().is_some() && frame.message() == self.ctx.auth_message();
                if !credential {
                    self.client_spoke = true;
                }
                findings.extend(
                    self.follow
                        .client_frame(&self.ctx, self.connection, at, frame),
                );
            }
            Direction::Server => {
                if let Inspected::Json { value, verdict } = frame {
                    let message = verdict.message.as_deref();
                    let kind = Kind::of(&self.ctx.description, message, value);
                    if !self.client_spoke
                        && !self.unprompted.contains(&kind)
                        && self.unprompted.len() < MAX_UNPROMPTED_KINDS
                    {
                        self.unprompted.push(kind.clone());
                    }
                    if let Some(message) = message {
                        let validator = &self.ctx.validators.server;
                        let seen = judge::Seen {
                            message: Some(message),
                            frame: value,
                            valid: verdict.is_valid(),
                            tagged: validator.is_tagged(message),
                            kind: &kind,
                        };
                        findings.extend(self.follow.server_message(
                            &self.ctx,
                            self.connection,
                            at,
                            seen,
                            &self.unprompted,
                            self.client_spoke,
                        ));
                    }
                }
            }
        }
        findings
    }

    /// A close frame from `by` at `at` (`code` is `None` for a close frame without one).
    pub fn close(
        &mut self,
        at: Duration,
        by: Direction,
        code: Option<u16>,
        reason: &str,
    ) -> Vec<Finding> {
        let said = format!("the {} {}", side(by), describe_close(code, reason));
        self.end(at, by, code, reason, said)
    }

    /// The connection of `by` ended at `at` without a close frame (a reset, an end of stream, a
    /// frame WebSocket does not allow).
    pub fn ended(&mut self, at: Duration, by: Direction, how: &str) -> Vec<Finding> {
        let said = format!(
            "the {}'s connection {}",
            side(by),
            describe_close(None, how)
        );
        self.end(at, by, None, how, said)
    }

    /// The first side to end the connection (the other's close answers it): said, with the
    /// document's close code cited where it names one; a server's end judged against what it
    /// was still to answer.
    fn end(
        &mut self,
        at: Duration,
        by: Direction,
        code: Option<u16>,
        reason: &str,
        said: String,
    ) -> Vec<Finding> {
        let (mut findings, going_on) = self.advance(at);
        if !going_on {
            return findings;
        }
        self.closing = Some(by);
        let mut event = Finding::new(self.connection, at, by, Severity::Info);
        event.finding = said;
        let close_codes = &self.ctx.description.close_codes;
        if let Some((i, documented)) =
            code.and_then(|code| close_codes.iter().enumerate().find(|(_, c)| c.code == code))
        {
            event.finding.push_str(&format!(
                ": a documented close code ({}, {})",
                documented.name, documented.when
            ));
            event = event.citing(&documented.rule, format!("/close_codes/{i}/rule"));
        }
        findings.push(event);
        if by == Direction::Server {
            findings.extend(self.follow.server_closed(
                &self.ctx,
                self.connection,
                at,
                code,
                reason,
            ));
        }
        self.follow.clear();
        findings
    }

    /// What was due by `at`, and whether the conversation goes on (neither side has closed, the
    /// watch has not stopped).
    fn advance(&mut self, at: Duration) -> (Vec<Finding>, bool) {
        let due = self.tick(at);
        let going_on = !self.stopped && self.closing.is_none();
        (due, going_on)
    }

    /// Judges what was due by `at`: requests unanswered, streams unfinished, reactions missing.
    pub fn tick(&mut self, at: Duration) -> Vec<Finding> {
        if self.stopped {
            return Vec::new();
        }
        self.follow.expire(&self.ctx, self.connection, at)
    }

    /// When the next answer is due, if one is awaited.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.follow.next_deadline()
    }

    /// The watch stops at `at` (the proxy stopped, or the transcript ends) without either side
    /// having closed: what was due is judged, what was not yet due is said to be unjudged.
    pub fn stop(&mut self, at: Duration) -> Vec<Finding> {
        let mut findings = self.tick(at);
        if self.stopped {
            return findings;
        }
        self.stopped = true;
        if self.closing.is_none() {
            let awaited = self.follow.awaited();
            if awaited > 0 {
                let mut note = Finding::new(self.connection, at, Direction::Server, Severity::Info);
                note.finding =
                    format!("{awaited} answer(s) still awaited when the watch stopped: not judged");
                findings.push(note);
            }
        }
        self.follow.clear();
        findings
    }
}

/// What a watch (or several) saw and found, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Connections.
    pub connections: u64,
    /// Data frames the clients sent.
    pub client_frames: u64,
    /// Data frames the servers sent.
    pub server_frames: u64,
    /// Failures and warnings of the clients.
    pub client: Counts,
    /// Failures and warnings of the servers.
    pub server: Counts,
}

/// Findings above info, by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Broken requirements.
    pub failed: u64,
    /// Broken open readings.
    pub warned: u64,
}

impl Tally {
    /// Counts findings.
    pub fn add(&mut self, findings: &[Finding]) {
        for finding in findings {
            let counts = match finding.by {
                Direction::Client => &mut self.client,
                Direction::Server => &mut self.server,
            };
            match finding.severity {
                Severity::Fail => counts.failed += 1,
                Severity::Warn => counts.warned += 1,
                Severity::Info => {}
            }
        }
    }

    /// Counts a data frame sent by `by`.
    pub fn frame(&mut self, by: Direction) {
        match by {
            Direction::Client => self.client_frames += 1,
            Direction::Server => self.server_frames += 1,
        }
    }

    /// Adds another tally.
    pub fn merge(&mut self, more: &Tally) {
        self.connections += more.connections;
        self.client_frames += more.client_frames;
        self.server_frames += more.server_frames;
        for (counts, more) in [
            (&mut self.client, more.client),
            (&mut self.server, more.server),
        ] {
            counts.failed += more.failed;
            counts.warned += more.warned;
        }
    }

    /// Whether anything failed.
    pub fn failed(&self) -> bool {
        self.client.failed + self.server.failed > 0
    }

    /// `3 connections, 40 client frames, 41 server frames; client: 1 failed, 0 warned; server: ...`.
    pub fn line(&self) -> String {
        format!(
            "{} connection(s), {} client frame(s), {} server frame(s); client: {} failed, {} \
             warned; server: {} failed, {} warned",
            self.connections,
            self.client_frames,
            self.server_frames,
            self.client.failed,
            self.client.warned,
            self.server.failed,
            self.server.warned
        )
    }
}

impl Finding {
    /// The finding in one line for people: connection, who, severity, message, pointer, what,
    /// and the sentence it rests on.
    pub fn line(&self) -> String {
        let mut line = format!(
            "#{} {} {}",
            self.connection,
            side(self.by),
            match self.severity {
                Severity::Fail => "FAIL",
                Severity::Warn => "warn",
                Severity::Info => "info",
            }
        );
        if let Some(message) = &self.message {
            line.push_str(&format!(" `{message}`"));
        }
        if let Some(pointer) = self.pointer.as_deref().filter(|p| !p.is_empty()) {
            line.push_str(&format!(" at {pointer}"));
        }
        line.push_str(&format!(": {}", self.finding));
        if let Some(received) = &self.received {
            line.push_str(&format!(" (received: {received})"));
        }
        if let Some(quote) = &self.rests_on {
            line.push_str(&format!(" | \"{quote}\""));
        }
        line
    }
}

/// `client` or `server`.
pub fn side(direction: Direction) -> &'static str {
    match direction {
        Direction::Client => "client",
        Direction::Server => "server",
    }
}

/// Whether a request path fits an endpoint template (`{name}` stands for one non-empty segment).
pub fn path_matches(template: &str, path: &str) -> bool {
    let wanted: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    wanted.len() == got.len()
        && wanted.iter().zip(&got).all(|(w, g)| {
            if w.starts_with('{') && w.ends_with('}') {
                !g.is_empty()
            } else {
                w == g
            }
        })
}

#[cfg(test)]
mod tests;

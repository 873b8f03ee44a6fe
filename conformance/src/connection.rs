//! One WebSocket connection of a check: the transport under a [`Conversation`].
//!
//! Every frame received goes through [`Connection::recv`], which validates it against
//! `server.schema.json` and records it, so that no check can forget to. Every wait has a deadline,
//! received frames are capped in size, and binary frames, non-JSON text, abrupt closes and silence
//! come back as values the checks judge: nothing a server does is an error of the tool.
//!
//! The connection is a well-behaved peer: tungstenite masks every frame it sends, a server's close
//! frame is answered at once (completing the closing handshake), and the suite closes its own
//! connections with 1000 and waits briefly for the server's answer.
//!
//! [`Conversation`]: crate::conversation::Conversation

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
};

pub use crate::recorder::Recorder;
use crate::report::{Evidence, FrameDirection, Severity};
use crate::util::{shorten, summarize_text};
use crate::validate::ProtocolValidators;

/// Longest a graceful close may take.
const CLOSE_GRACE: Duration = Duration::from_millis(200);
/// How long a connection is read, before it is closed, for frames already on their way.
pub const DRAIN_GRACE: Duration = Duration::from_millis(100);
/// Most frames read then.
const MAX_DRAINED_FRAMES: usize = 64;

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct Dial {
    /// The URL, credentials included.
    pub url: String,
    /// The URL as shown in the report.
    pub shown_url: String,
    /// Extra handshake headers.
    pub headers: Vec<(String, String)>,
    /// Deadline of the TCP connect plus handshake.
    pub timeout: Duration,
    /// Largest frame accepted from the server.
    pub max_frame_bytes: usize,
    /// For `wss://`: the TLS configuration, and whether it verifies the certificate.
    pub tls: Option<(Arc<rustls::ClientConfig>, bool)>,
}

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    /// The server answered the handshake with this HTTP status instead of 101.
    Refused(u16),
    /// No TCP connection: nothing listening, a name that does not resolve, a network down.
    Unreachable(String),
    /// The TLS handshake failed: a certificate not trusted, expired or for another name, or no
    /// common TLS version.
    Tls(String),
    /// The handshake failed otherwise.
    Failed(String),
    /// No handshake within the deadline.
    Timeout,
}

impl std::fmt::Display for DialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialError::Refused(status) => write!(f, "the handshake was refused with HTTP {status}"),
            DialError::Unreachable(why) => write!(f, "the connection failed: {why}"),
            DialError::Tls(why) => write!(f, "{why}"),
            DialError::Failed(why) => write!(f, "the connection failed: {why}"),
            DialError::Timeout => write!(f, "no handshake within the deadline"),
        }
    }
}

/// What the next wait on a connection brought.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A text frame holding JSON.
    Json {
        /// The frame.
        value: Value,
        /// The server message its discriminators select.
        message: Option<String>,
        /// Whether `server.schema.json` accepts it.
        valid: bool,
    },
    /// A text frame that is not JSON (already recorded as a violation).
    NotJson,
    /// A binary frame (already recorded as a violation).
    Binary,
    /// A WebSocket ping from the server.
    Ping,
    /// A WebSocket pong (the answer to [`Connection::ping`]).
    Pong,
    /// The connection ended: with a close frame (`code`) or without (`code` is `None`).
    Closed {
        /// The close code.
        code: Option<u16>,
        /// The close reason, or how the connection ended.
        reason: String,
    },
    /// Nothing arrived before the deadline.
    Timeout,
}

/// What a frame is, as recorded.
enum Body<'a> {
    /// JSON (shortened) and the message it is.
    Json(Value, Option<String>),
    /// Text that is not JSON.
    Text(&'a str),
    /// A binary frame of this many bytes.
    Binary(usize),
}

/// The sentence a reply breaks while a conversation awaits it, where that names its shape more
/// closely than its message's own rule (a destroy reply: the destroy section).
#[derive(Debug, Clone)]
pub struct Citation {
    /// The reply messages the sentence is about.
    pub messages: Vec<String>,
    /// The sentence.
    pub quote: Arc<str>,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The close code, when a close frame carried one.
    pub code: Option<u16>,
    /// The close reason, or how the connection ended without a close frame.
    pub reason: String,
    /// When.
    pub at: Instant,
    /// Whether the server ended it (a close frame, a reset), not the suite (a frame over its cap).
    pub by_server: bool,
}

/// One open connection of a check.
#[derive(Debug)]
pub struct Connection {
    name: String,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    recorder: Recorder,
    validators: Arc<ProtocolValidators>,
    ended: Option<Ended>,
    citation: Option<Citation>,
    /// How many frames of each server message arrived (counts, not a log: a flood stays small).
    received: HashMap<Arc<str>, usize>,
}

impl Connection {
    /// Opens a connection; the handshake is recorded either way.
    pub async fn open(
        name: &str,
        dial: &Dial,
        recorder: &Recorder,
        validators: Arc<ProtocolValidators>,
    ) -> Result<Self, DialError> {
        let result = tokio::time::timeout(dial.timeout, handshake(dial)).await;
        let result = match result {
            Ok(result) => result,
            Err(_) => Err(DialError::Timeout),
        };
        let (status, error) = match &result {
            Ok(_) => (Some(101), None),
            Err(DialError::Refused(status)) => (Some(*status), Some(result_text(&result))),
            Err(_) => (None, Some(result_text(&result))),
        };
        let verified = dial.tls.as_ref().is_some_and(|(_, verified)| *verified);
        recorder.push(Evidence::Handshake {
            connection: name.to_string(),
            url: dial.shown_url.clone(),
            status,
            error,
            tls: result
                .as_ref()
                .ok()
                .and_then(|ws| crate::tls::session_of(ws.get_ref(), verified)),
        });
        let ws = result?;
        Ok(Self {
            name: name.to_string(),
            ws,
            recorder: recorder.clone(),
            validators,
            ended: None,
            citation: None,
            received: HashMap::new(),
        })
    }

    /// The check's recorder.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The protocol's validators.
    pub fn validators(&self) -> &ProtocolValidators {
        &self.validators
    }

    /// Cites `citation` for violations of the replies it names, until set again.
    pub fn cite(&mut self, citation: Option<Citation>) {
        self.citation = citation;
    }

    /// How the connection ended, if it has.
    pub fn ended(&self) -> Option<&Ended> {
        self.ended.as_ref()
    }

    /// The connection's name in the report.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many frames of the server message `message` were received so far.
    pub fn received_count(&self, message: &str) -> usize {
        self.received.get(message).copied().unwrap_or(0)
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.ended.is_some()
    }

    /// Sends a JSON frame.
    pub async fn send_json(&mut self, value: &Value, timeout: Duration) -> bool {
        self.send_json_shown(value, value, timeout).await
    }

    /// Sends a JSON frame, recording `shown` instead (a credential redacted).
    pub async fn send_json_shown(
        &mut self,
        value: &Value,
        shown: &Value,
        timeout: Duration,
    ) -> bool {
        let message = self.validators.client.message_of(value).map(str::to_string);
        self.log_frame(FrameDirection::Sent, Body::Json(shorten(shown), message));
        self.write(Message::text(value.to_string()), timeout).await
    }

    /// Sends a text frame as is (for frames that are not JSON).
    pub async fn send_text(&mut self, text: &str, timeout: Duration) -> bool {
        self.log_frame(FrameDirection::Sent, Body::Text(text));
        self.write(Message::text(text.to_string()), timeout).await
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>, timeout: Duration) -> bool {
        self.log_frame(FrameDirection::Sent, Body::Binary(bytes.len()));
        self.write(Message::Binary(Bytes::from(bytes)), timeout)
            .await
    }

    /// Sends a WebSocket ping; [`Incoming::Pong`] answers it.
    pub async fn ping(&mut self, timeout: Duration) -> bool {
        self.write(Message::Ping(Bytes::from_static(b"conformance")), timeout)
            .await
    }

    async fn write(&mut self, message: Message, timeout: Duration) -> bool {
        if self.ended.is_some() {
            return false;
        }
        match tokio::time::timeout(timeout, self.ws.send(message)).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                self.end(None, format!("sending failed: {error}"));
                false
            }
            Err(_) => {
                self.recorder.push(Evidence::Timeout {
                    connection: self.name.clone(),
                    waited_ms: timeout.as_millis() as u64,
                    waiting_for: "the server to take a frame".into(),
                });
                false
            }
        }
    }

    fn end(&mut self, code: Option<u16>, reason: String) {
        self.end_by(code, reason, true);
    }

    fn end_by(&mut self, code: Option<u16>, reason: String, by_server: bool) {
        if self.ended.is_none() {
            self.recorder.push(Evidence::Close {
                connection: self.name.clone(),
                code,
                reason: reason.clone(),
            });
            self.ended = Some(Ended {
                code,
                reason,
                at: Instant::now(),
                by_server,
            });
        }
    }

    /// Waits until `deadline` for the next frame, validating and recording it. A passed deadline
    /// is [`Incoming::Timeout`] even when frames are ready: a server that floods frames cannot
    /// stretch a wait.
    pub async fn recv(&mut self, deadline: Instant) -> Incoming {
        if self.ended.is_some() {
            return self.closed_state();
        }
        let now = Instant::now();
        if now >= deadline {
            return Incoming::Timeout;
        }
        let wait = deadline - now;
        let next = match tokio::time::timeout(wait, self.ws.next()).await {
            Err(_) => return Incoming::Timeout,
            Ok(next) => next,
        };
        match next {
            None => {
                self.end(None, "the connection ended without a close frame".into());
                self.closed_state()
            }
            Some(Err(error)) => {
                let (reason, by_server) = match &error {
                    WsError::Capacity(e) => {
                        self.recorder.finding(
                            Severity::Warn,
                            format!(
                                "the server sent a frame over the suite's cap ({e}); the connection was dropped"
                            ),
                        );
                        (format!("a frame over the cap: {e}"), false)
                    }
                    other => (format!("the connection failed: {other}"), true),
                };
                self.end_by(None, reason, by_server);
                self.closed_state()
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = match frame {
                    Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                    None => (None, "a close frame without a code".to_string()),
                };
                self.end(code, reason);
                // tungstenite has queued the answering close frame: send it now, so the server
                // sees its closing handshake completed.
                let _ = tokio::time::timeout(CLOSE_GRACE, self.ws.flush()).await;
                self.closed_state()
            }
            Some(Ok(message)) => self.receive(message),
        }
    }

    fn closed_state(&self) -> Incoming {
        match &self.ended {
            Some(ended) => Incoming::Closed {
                code: ended.code,
                reason: ended.reason.clone(),
            },
            None => Incoming::Closed {
                code: None,
                reason: String::new(),
            },
        }
    }

    fn receive(&mut self, message: Message) -> Incoming {
        match message {
            Message::Text(text) => self.receive_text(text.as_str()),
            Message::Binary(bytes) => {
                self.log_frame(FrameDirection::Received, Body::Binary(bytes.len()));
                self.violation_without_message(
                    "a binary frame: every message the protocol documents is a JSON text frame",
                    Value::String(format!("<binary frame of {} bytes>", bytes.len())),
                );
                Incoming::Binary
            }
            Message::Ping(_) => Incoming::Ping,
            Message::Pong(_) => Incoming::Pong,
            // Handled in `recv`, which flushes the answering close frame.
            Message::Close(_) => self.closed_state(),
            Message::Frame(_) => Incoming::Timeout,
        }
    }

    fn receive_text(&mut self, text: &str) -> Incoming {
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(error) => {
                self.log_frame(FrameDirection::Received, Body::Text(text));
                self.violation_without_message(
                    &format!("a text frame that is not JSON ({error})"),
                    Value::String(summarize_text(text)),
                );
                return Incoming::NotJson;
            }
        };
        let verdict = self.validators.server.validate(&value);
        let message = verdict.message.as_deref().map(str::to_owned);
        let shown = shorten(&value);
        self.log_frame(
            FrameDirection::Received,
            Body::Json(shown.clone(), message.clone()),
        );
        let severity = Severity::from(verdict.level);
        // The sentence the frame breaks: the awaited exchange's where it names this reply's shape.
        let rests_on = match (&self.citation, &message) {
            (Some(citation), Some(m)) if citation.messages.contains(m) => {
                Some(citation.quote.to_string())
            }
            _ => verdict.quote.as_deref().map(str::to_owned),
        };
        for error in &verdict.errors {
            self.recorder.push(Evidence::Violation {
                connection: self.name.clone(),
                severity,
                message: message.clone(),
                instance_pointer: error.instance_pointer.clone(),
                keyword: error.keyword.clone(),
                schema_location: error.schema_location.clone(),
                error: error.message.clone(),
                rests_on: rests_on.clone(),
                frame: shown.clone(),
            });
        }
        for pointer in &verdict.undecodable {
            self.recorder.finding(
                Severity::Warn,
                format!(
                    "{} of a {} frame is annotated `contentEncoding: base64` but does not decode as base64",
                    pointer,
                    verdict.message.as_deref().unwrap_or("server")
                ),
            );
        }
        for drift in &verdict.drift {
            self.recorder
                .finding(Severity::Warn, drift.description.clone());
        }
        if let Some(message) = &verdict.message {
            *self.received.entry(message.clone()).or_default() += 1;
        }
        Incoming::Json {
            value,
            message,
            valid: verdict.is_valid(),
        }
    }

    fn log_frame(&self, direction: FrameDirection, body: Body<'_>) {
        let (json, text, bytes, message) = match body {
            Body::Json(value, message) => (Some(value), None, None, message),
            Body::Text(text) => (
                None,
                Some(summarize_text(text)),
                Some(text.len() as u64),
                None,
            ),
            Body::Binary(len) => (None, None, Some(len as u64), None),
        };
        self.recorder.push(Evidence::Frame {
            connection: self.name.clone(),
            direction,
            json,
            text,
            bytes,
            message,
        });
    }

    /// A frame that is no JSON text: it fails (it is no message at all), citing the sentence the
    /// protocol's framing rests on, or saying that no rule quotes one.
    fn violation_without_message(&self, error: &str, frame: Value) {
        let framing = self.validators.server.framing();
        let error = match framing {
            Some(_) => error.to_string(),
            None => format!(
                "{error}; no rule of the protocol's description quotes a sentence saying its \
                 frames are JSON (every message it documents is a JSON object)"
            ),
        };
        self.recorder.push(Evidence::Violation {
            connection: self.name.clone(),
            severity: Severity::Fail,
            message: None,
            instance_pointer: String::new(),
            keyword: "type".into(),
            schema_location: self.validators.server.union().uri.clone(),
            error,
            rests_on: framing.map(|quote| quote.to_string()),
            frame,
        });
    }

    /// Waits for a pong, tolerating (and validating) other frames.
    pub async fn await_pong(&mut self, deadline: Instant) -> Incoming {
        loop {
            match self.recv(deadline).await {
                Incoming::Pong => return Incoming::Pong,
                closed @ (Incoming::Closed { .. } | Incoming::Timeout) => return closed,
                _ => {}
            }
        }
    }

    /// Reads the connection for [`DRAIN_GRACE`] (at most 64 frames), so that frames already on
    /// their way are validated too; whether the server ended the connection meanwhile.
    pub async fn drain(&mut self) -> bool {
        let drain = Instant::now() + DRAIN_GRACE;
        for _ in 0..MAX_DRAINED_FRAMES {
            match self.recv(drain).await {
                Incoming::Timeout => break,
                Incoming::Closed { .. } => return true,
                _ => {}
            }
        }
        self.ended.is_some()
    }

    /// Closes the connection politely, without waiting long: every frame the server sent during
    /// the check is validated, not only those up to the answer the check waited for.
    pub async fn close(mut self) {
        self.drain().await;
        self.close_unread().await;
    }

    /// Closes the connection politely (1000) without reading what is on its way (for a
    /// connection whose answers another check judges), then waits briefly for the server's
    /// closing handshake.
    pub async fn close_unread(mut self) {
        if self.ended.is_some() {
            return;
        }
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let handshake = async {
            if self.ws.close(Some(normal)).await.is_ok() {
                // The server answers with its close frame, then ends the TCP connection.
                while let Some(Ok(_)) = self.ws.next().await {}
            }
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, handshake).await;
    }

    /// Records a wait that ran out.
    pub fn timed_out(&self, waited: Duration, waiting_for: impl Into<String>) {
        self.recorder.push(Evidence::Timeout {
            connection: self.name.clone(),
            waited_ms: waited.as_millis() as u64,
            waiting_for: waiting_for.into(),
        });
    }
}

fn result_text<T>(result: &Result<T, DialError>) -> String {
    match result {
        Ok(_) => String::new(),
        Err(error) => error.to_string(),
    }
}

async fn handshake(dial: &Dial) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, DialError> {
    let mut request = dial
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| DialError::Failed(format!("bad URL {}: {e}", dial.shown_url)))?;
    for (name, value) in &dial.headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName = name
            .parse()
            .map_err(|e| DialError::Failed(format!("bad header name {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| DialError::Failed(format!("bad header value for {name}: {e}")))?;
        request.headers_mut().append(name, value);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(dial.max_frame_bytes))
        .max_frame_size(Some(dial.max_frame_bytes));
    let connector = dial
        .tls
        .as_ref()
        .map(|(config, _)| Connector::Rustls(Arc::clone(config)));
    match connect_async_tls_with_config(request, Some(config), true, connector).await {
        Ok((ws, _response)) => Ok(ws),
        Err(WsError::Http(response)) => Err(DialError::Refused(response.status().as_u16())),
        Err(WsError::Io(error)) => Err(match crate::tls::tls_failure(&error) {
            Some(why) => DialError::Tls(why),
            None => DialError::Unreachable(error.to_string()),
        }),
        Err(WsError::Tls(error)) => {
            Err(DialError::Tls(format!("the TLS handshake failed: {error}")))
        }
        Err(other) => Err(DialError::Failed(other.to_string())),
    }
}

//! Test doubles: a small WebSocket server that serves each of the five protocols mostly
//! correctly, with one injected [`Fault`] that breaks one documented rule. Written for the tests
//! from the documents, independently of the suite's code.

#![allow(dead_code, clippy::result_large_err)]

pub mod proxy;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentwire_conformance::report::{ProtocolReport, Status};
use agentwire_conformance::runner::{RunOptions, Silent, run_protocol};
use agentwire_conformance::schemas::Schemas;
use agentwire_conformance::target::Target;
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// The HS256 secret of the socializer double.
pub const SECRET: &str = "double-secret";
/// The valid opaque token of the generalbots double.
pub const TOKEN: &str = "double-token";

/// One broken rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Everything as documented.
    None,
    /// Serves at another path.
    WrongPath,
    /// Closes every connection right after the handshake.
    CloseAfterHandshake,
    /// Answers one request (named) with text that is not JSON.
    NotJsonReply(&'static str),
    /// Answers one request with a binary frame.
    BinaryReply(&'static str),
    /// Never answers one request.
    Silence(&'static str),
    /// Answers one request by echoing it (a client-only message sent by the server).
    EchoRequest(&'static str),
    /// Answers with a wrong correlation id.
    WrongCid,
    /// Session create without a session id.
    NoSessionId,
    /// Chat data that is not base64.
    NotBase64,
    /// rixa: a status error without `level` for unknown commands.
    StatusWithoutLevel,
    /// rixa: get_chat_modes answered with another role.
    WrongRole,
    /// socializer: no welcome.
    NoWelcome,
    /// Accepts any present token (no 1008 / AUTH_FAILED for a bad one).
    AcceptBadToken,
    /// Accepts an expired JWT.
    AcceptExpired,
    /// Refuses bad tokens with HTTP 403 instead of closing with 1008.
    Http403OnBadToken,
    /// No error for a message missing a required field.
    NoMissingFieldError,
    /// socializer: AI responses with a timestamp that is not one.
    BadTimestamp,
    /// generalbots: pong without timestamp.
    PongWithoutTimestamp,
    /// generalbots: stream chunks that do not add up to stream_end.
    ChunksDontAddUp,
    /// generalbots: a second message_id inside one stream.
    TwoMessageIds,
    /// An undocumented error code for malformed JSON.
    UndocumentedErrorCode,
    /// No size limit.
    NoSizeLimit,
    /// No connection limit.
    NoConnectionLimit,
    /// meet: joins are not relayed.
    NoRelay,
    /// meet: join notices without participant id.
    NoParticipantId,
    /// meet: joins relayed as an undocumented type.
    UnknownServerType,
    /// meet: relays sent as binary frames.
    BinaryRelay,
    /// meet: signals not delivered.
    NoSignalRelay,
    /// Greets every connection with an undocumented frame (rixa: a response with a role, sent
    /// once the server has set the connection up, as Django Channels servers do; requests that
    /// arrive meanwhile wait for it), then behaves as the inner fault says.
    Greeted(&'static Fault),
    /// Closes the connection with this code in answer to one valid request.
    CloseOnRequest(&'static str, u16),
    /// Answers one request correctly, then closes the connection with this code.
    CloseAfterReply(&'static str, u16),
    /// rixa: answers one request with an error in a shape the document does not show.
    ErrorShape(&'static str),
    /// generalbots: no `session_created`; a session comes to be when a request first names it.
    ClientChosenSessions,
    /// generalbots: chat is answered after this many milliseconds, as a model would.
    SlowChat(u64),
    /// socializer: chat is answered with an error message, then the connection is closed (as the
    /// document allows after an unexpected error).
    ErrorThenClose,
    /// meet: the connection that sends `join` is closed (with 1000).
    CloseOnJoin,
    /// datagram: the destroy response lacks `error`, which every session response shows.
    BadDestroyReply,
    /// datagram: closes with 1002 unless `cid` is 32 characters long, as gpt4all-box does.
    ShortCidCloses,
    /// datagram: closes the connection on a status request for a session that does not exist.
    CloseOnUnknownStatus,
    /// datagram: answers a resume of a session that does not exist with `success: true`.
    ResumesUnknown,
    /// datagram: destroys any existing session, also one made on another connection.
    DestroysForeign,
    /// datagram: chat responses carry `"error": null` (every example shows a boolean).
    NullError,
    /// generalbots: closes the connection on a frame without `type`.
    CloseOnMissingType,
    /// rixa: answers every user message at once, also one sent while another is processed.
    AnswersWhileBusy,
}

/// How long the RIXA double takes to answer a user message, as a model would.
pub const THINKING: Duration = Duration::from_millis(150);

/// How long the greeting double takes to set a connection up before it greets.
pub const GREETING_DELAY: Duration = Duration::from_millis(60);

/// A running double; dropping it stops accepting.
pub struct Double {
    /// `ws://127.0.0.1:PORT` (no path: the suite uses the documented one).
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Double {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A participant of a room: its id and its connection's outbox.
type Member = (String, mpsc::UnboundedSender<Message>);

struct Shared {
    protocol: &'static str,
    fault: Fault,
    connections: AtomicUsize,
    next_id: AtomicUsize,
    rooms: Mutex<HashMap<String, Vec<Member>>>,
    /// datagram: every session created, on any connection.
    sessions: Mutex<HashSet<String>>,
}

/// Starts a double for a protocol on a free loopback port.
pub async fn start(protocol: &'static str, fault: Fault) -> Double {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let shared = Arc::new(Shared {
        protocol,
        fault,
        connections: AtomicUsize::new(0),
        next_id: AtomicUsize::new(1),
        rooms: Mutex::new(HashMap::new()),
        sessions: Mutex::new(HashSet::new()),
    });
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                serve(stream, &shared).await;
                shared.connections.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Double { url, task }
}

/// Accepts TCP connections and never answers the handshake.
pub async fn start_mute() -> Double {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    Double { url, task }
}

/// A double that refuses every WebSocket upgrade with an HTTP status (a server that wants an
/// `Origin` header answers 403, one that wants a credential 401).
pub async fn start_refusing(status: u16) -> Double {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let refuse = |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
                    let mut response = ErrorResponse::new(Some("refused".into()));
                    *response.status_mut() = StatusCode::from_u16(status).expect("a status");
                    Err(response)
                };
                let _ = tokio_tungstenite::accept_hdr_async(stream, refuse).await;
            });
        }
    });
    Double { url, task }
}

/// A WebSocket stream of a hostile double.
pub type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// A double that completes every handshake and hands the connection to `serve`; the connections
/// end with the double.
pub async fn start_with<F, Fut>(serve: F) -> Double
where
    F: Fn(Ws) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let serve = Arc::new(serve);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let serve = Arc::clone(&serve);
            connections.spawn(async move {
                if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                    serve(ws).await;
                }
            });
        }
    });
    Double { url, task }
}

/// A double whose every connection gets one hostile frame after the handshake, then silence.
pub async fn start_hostile(frame: Message) -> Double {
    start_with(move |mut ws: Ws| {
        let frame = frame.clone();
        async move {
            let _ = ws.send(frame).await;
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await
}

/// A double whose every connection gets `frame` over and over, as fast as it can send, and never
/// reads.
pub async fn start_flooding(frame: Message) -> Double {
    start_with(move |mut ws: Ws| {
        let frame = frame.clone();
        async move { while ws.send(frame.clone()).await.is_ok() {} }
    })
    .await
}

/// A generalbots double that announces a session and answers the first frame with a stream that
/// never ends: `stream_start`, then `stream_chunk`s of `chunk_bytes` of text, as fast as it can.
pub async fn start_endless_stream(chunk_bytes: usize) -> Double {
    start_with(move |mut ws: Ws| async move {
        let session = json!({"type": "session_created", "session_id": "s-1"});
        if ws.send(Message::text(session.to_string())).await.is_err() {
            return;
        }
        while let Some(Ok(message)) = ws.next().await {
            if message.is_text() {
                break;
            }
        }
        let start = json!({"type": "stream_start", "session_id": "s-1", "message_id": "m-1"});
        let chunk = json!({"type": "stream_chunk", "message_id": "m-1", "content": "x".repeat(chunk_bytes)});
        let chunk = Message::text(chunk.to_string());
        if ws.send(Message::text(start.to_string())).await.is_err() {
            return;
        }
        while ws.send(chunk.clone()).await.is_ok() {}
    })
    .await
}

/// A datagram double that answers every ping correctly and then sends a binary frame.
pub async fn start_pong_then_binary() -> Double {
    start_with(|mut ws: Ws| async move {
        while let Some(Ok(message)) = ws.next().await {
            let Ok(text) = message.to_text() else {
                continue;
            };
            let Ok(ping) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let _ = ws.send(Message::text(ping.to_string())).await;
            let _ = ws.send(Message::Binary(Bytes::from_static(b"\x00"))).await;
        }
    })
    .await
}

fn documented_path(protocol: &str) -> &'static str {
    match protocol {
        "rixa" => "/ws/",
        "datagram" => "/",
        "socializer" => "/ws/ai/ai-chat/",
        "generalbots" => "/ws",
        _ => "/ws/meet",
    }
}

#[derive(Default, Clone)]
struct Handshake {
    path: String,
    query: String,
    cookie: String,
}

fn param<'a>(text: &'a str, name: &str, separator: char) -> Option<&'a str> {
    text.split(separator)
        .map(str::trim)
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Verifies an HS256 JWT the way a careful server does.
fn jwt_verdict(token: &str) -> Result<(), &'static str> {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err("malformed");
    }
    let header: Value = engine
        .decode(parts[0])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("malformed")?;
    if header["alg"] != "HS256" {
        return Err("algorithm");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    let signature = engine.decode(parts[2]).map_err(|_| "malformed")?;
    mac.verify_slice(&signature).map_err(|_| "signature")?;
    let claims: Value = engine
        .decode(parts[1])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("malformed")?;
    if claims["exp"].as_u64().unwrap_or(0) <= now() {
        return Err("expired");
    }
    Ok(())
}

fn socializer_token(h: &Handshake) -> Option<String> {
    param(&h.query, "token", '&')
        .or_else(|| param(&h.cookie, "access_token", ';'))
        .map(str::to_string)
}

fn socializer_accepts(fault: Fault, token: Option<&str>) -> bool {
    match (token, fault) {
        (None, _) => false,
        (Some(_), Fault::AcceptBadToken) => true,
        (Some(t), Fault::AcceptExpired) => matches!(jwt_verdict(t), Ok(()) | Err("expired")),
        (Some(t), _) => jwt_verdict(t).is_ok(),
    }
}

async fn serve(stream: TcpStream, shared: &Arc<Shared>) {
    let seen = Arc::new(Mutex::new(Handshake::default()));
    let record = Arc::clone(&seen);
    let protocol = shared.protocol;
    let fault = shared.fault;
    let over_limit = shared.connections.load(Ordering::SeqCst) > 100
        && matches!(protocol, "generalbots" | "generalbots-meet")
        && fault != Fault::NoConnectionLimit;
    let callback =
        move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
            let h = Handshake {
                path: request.uri().path().to_string(),
                query: request.uri().query().unwrap_or("").to_string(),
                cookie: request
                    .headers()
                    .get("cookie")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
            };
            let refuse = |status: StatusCode| {
                let mut response = ErrorResponse::new(Some("refused".into()));
                *response.status_mut() = status;
                Err(response)
            };
            let path_ok = match (protocol, fault) {
                (_, Fault::WrongPath) => h.path == "/elsewhere",
                ("socializer", _) => h
                    .path
                    .strip_prefix(documented_path(protocol))
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains('/')),
                _ => h.path == documented_path(protocol),
            };
            if !path_ok {
                return refuse(StatusCode::NOT_FOUND);
            }
            if over_limit {
                return refuse(StatusCode::TOO_MANY_REQUESTS);
            }
            if protocol == "socializer"
                && fault == Fault::Http403OnBadToken
                && !socializer_accepts(fault, socializer_token(&h).as_deref())
            {
                return refuse(StatusCode::FORBIDDEN);
            }
            *record.lock().unwrap() = h;
            Ok(response)
        };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let handshake = seen.lock().unwrap().clone();
    let (tx, rx) = mpsc::unbounded_channel();
    let mut conn = Conn {
        ws,
        shared: Arc::clone(shared),
        tx,
        rx,
        session: None,
        authed: false,
        participant: None,
        window: (Instant::now(), 0),
        busy: Arc::default(),
    };
    if fault == Fault::CloseAfterHandshake {
        let _ = conn.ws.close(None).await;
        return;
    }
    if let Fault::Greeted(_) = fault {
        // Setting the connection up takes a while; frames sent meanwhile wait for the greeting.
        tokio::time::sleep(GREETING_DELAY).await;
        conn.send(
            json!({"role": "intro", "content": "Hello! I am the assistant. Ask me anything."}),
        )
        .await;
    }
    if !conn.open(&handshake).await {
        return;
    }
    loop {
        tokio::select! {
            incoming = conn.ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if !conn.on_text(text.as_str()).await {
                        break;
                    }
                }
                Some(Ok(Message::Binary(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            Some(out) = conn.rx.recv() => {
                if conn.ws.send(out).await.is_err() {
                    break;
                }
            }
        }
    }
    conn.leave_rooms();
}

struct Conn {
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Message>,
    rx: mpsc::UnboundedReceiver<Message>,
    session: Option<String>,
    authed: bool,
    participant: Option<String>,
    window: (Instant, usize),
    /// rixa: whether a user message is being answered.
    busy: Arc<AtomicBool>,
}

impl Conn {
    /// The fault that decides the answers (a greeting's inner fault).
    fn fault(&self) -> Fault {
        match self.shared.fault {
            Fault::Greeted(inner) => *inner,
            fault => fault,
        }
    }

    async fn send(&mut self, value: Value) {
        let _ = self.ws.send(Message::text(value.to_string())).await;
    }

    /// Closes with a code, then reads until the client's close: a server that stops reading
    /// with frames unread makes the kernel reset the connection, losing what it sent.
    async fn close(&mut self, code: u16) {
        let _ = self
            .ws
            .close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: "closed by the double".into(),
            }))
            .await;
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }

    /// After the handshake: authentication and unprompted messages. False when closed.
    async fn open(&mut self, h: &Handshake) -> bool {
        match self.shared.protocol {
            "socializer" => {
                if !socializer_accepts(self.fault(), socializer_token(h).as_deref()) {
                    self.close(1008).await;
                    return false;
                }
                if self.fault() != Fault::NoWelcome {
                    self.send(json!({"type": "system", "message": "Welcome to AI Chat, tester! How can I assist you today?", "timestamp": "2025-10-01T20:00:00.000000"})).await;
                }
                true
            }
            "generalbots" => match param(&h.query, "token", '&') {
                Some(token) if token == TOKEN || self.fault() == Fault::AcceptBadToken => {
                    self.authenticated().await;
                    true
                }
                Some(_) => {
                    self.error("AUTH_FAILED", "Invalid or expired token").await;
                    self.close(1008).await;
                    false
                }
                None => true,
            },
            _ => true,
        }
    }

    async fn authenticated(&mut self) {
        self.authed = true;
        if self.fault() == Fault::ClientChosenSessions {
            return;
        }
        let id = format!(
            "session-{}",
            self.shared.next_id.fetch_add(1, Ordering::SeqCst)
        );
        self.session = Some(id.clone());
        self.send(json!({"type": "session_created", "session_id": id}))
            .await;
    }

    async fn error(&mut self, code: &str, message: &str) {
        self.send(json!({"type": "error", "code": code, "message": message}))
            .await;
    }

    fn rate_exceeded(&mut self, limit: usize) -> bool {
        let (start, count) = &mut self.window;
        if start.elapsed() > Duration::from_secs(1) {
            *start = Instant::now();
            *count = 0;
        }
        *count += 1;
        *count > limit
    }

    /// Handles one text frame. False when the connection is to close.
    async fn on_text(&mut self, text: &str) -> bool {
        let protocol = self.shared.protocol;
        if matches!(protocol, "generalbots" | "generalbots-meet")
            && text.len() > 65536
            && self.fault() != Fault::NoSizeLimit
        {
            self.error("MESSAGE_TOO_LARGE", "Exceeds 64 KB limit").await;
            return true;
        }
        let frame: Value = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(_) => {
                match protocol {
                    "rixa" => self.send(json!({"type": "status", "level": "error", "content": "malformed JSON"})).await,
                    "socializer" => self.send(json!({"type": "error", "message": "Invalid JSON", "timestamp": "2025-10-01T20:00:02.000000"})).await,
                    "generalbots" | "generalbots-meet" => {
                        let code = if self.fault() == Fault::UndocumentedErrorCode { "BAD_JSON" } else { "INVALID_FORMAT" };
                        self.error(code, "Malformed JSON").await;
                    }
                    _ => {}
                }
                return true;
            }
        };
        match protocol {
            "rixa" => self.rixa(&frame).await,
            "datagram" => self.datagram(&frame).await,
            "socializer" => return self.socializer(&frame).await,
            "generalbots" => return self.generalbots(&frame).await,
            _ => self.meet(&frame).await,
        }
        true
    }

    /// Applies the per-request faults; true when the request was handled by one.
    async fn request_fault(&mut self, request: &str, echo: &Value) -> bool {
        match self.fault() {
            Fault::NotJsonReply(r) if r == request => {
                let _ = self.ws.send(Message::text("OK, done")).await;
                true
            }
            Fault::BinaryReply(r) if r == request => {
                let _ = self
                    .ws
                    .send(Message::Binary(Bytes::from_static(b"\x00\x01binary")))
                    .await;
                true
            }
            Fault::Silence(r) if r == request => true,
            Fault::EchoRequest(r) if r == request => {
                self.send(echo.clone()).await;
                true
            }
            Fault::CloseOnRequest(r, code) if r == request => {
                self.close(code).await;
                true
            }
            Fault::ErrorShape(r) if r == request => {
                self.send(json!({"type": "error", "content": "Something went wrong"}))
                    .await;
                true
            }
            _ => false,
        }
    }

    /// Closes after the answer to `request` when the fault says so; false when closed.
    async fn after_reply(&mut self, request: &str) -> bool {
        match self.fault() {
            Fault::CloseAfterReply(r, code) if r == request => {
                self.close(code).await;
                false
            }
            _ => true,
        }
    }

    async fn rixa(&mut self, frame: &Value) {
        let required: &[&str] = match frame["type"].as_str().unwrap_or("") {
            "execute_plugin_code" => &["content"],
            "call_plugin_function" => &["function_name"],
            "usr_msg" => &["content"],
            "change_setting" => &["setting", "value"],
            "update_plugin_setting" => &["plugin_id", "setting_id", "value"],
            "bug_report" => &["report"],
            "get_chat_start_info" => &["selected_chat_mode"],
            "delete_current_tracker"
            | "get_chat_modes"
            | "get_plugin_settings"
            | "user_settings"
            | "get_utilization_info"
            | "get_global_settings" => &[],
            _ => {
                let status = if self.fault() == Fault::StatusWithoutLevel {
                    json!({"type": "status", "content": "unknown command"})
                } else {
                    json!({"type": "status", "level": "error", "content": "unknown command"})
                };
                self.send(status).await;
                return;
            }
        };
        let kind = frame["type"].as_str().unwrap_or("").to_string();
        if required.iter().any(|f| frame.get(*f).is_none()) {
            self.send(json!({"type": "status", "level": "error", "content": "missing parameter"}))
                .await;
            return;
        }
        // Every parameter but a setting's value is text.
        if required
            .iter()
            .any(|f| *f != "value" && !frame[*f].is_string())
        {
            self.send(json!({"type": "status", "level": "error", "content": "bad parameter"}))
                .await;
            return;
        }
        if self.request_fault(&kind, frame).await {
            return;
        }
        let busy = self.busy.load(Ordering::SeqCst) && self.fault() != Fault::AnswersWhileBusy;
        if busy && matches!(kind.as_str(), "usr_msg" | "call_plugin_function") {
            self.send(json!({"type": "status", "level": "error", "content": "a message is being processed: ignored"}))
                .await;
            return;
        }
        if kind == "usr_msg" && self.fault() != Fault::AnswersWhileBusy {
            // Answered later, as a model would; the connection goes on reading meanwhile.
            self.busy.store(true, Ordering::SeqCst);
            let (busy, tx) = (Arc::clone(&self.busy), self.tx.clone());
            tokio::spawn(async move {
                tokio::time::sleep(THINKING).await;
                busy.store(false, Ordering::SeqCst);
                let answer = json!({"role": "assistant", "content": "You said something"});
                let _ = tx.send(Message::text(answer.to_string()));
            });
            return;
        }
        let role = match kind.as_str() {
            "get_chat_modes" if self.fault() == Fault::WrongRole => "modes",
            "get_chat_modes" => "chat_modes",
            "get_plugin_settings" => "plugin_settings",
            "user_settings" => "user_settings",
            "usr_msg" => "assistant",
            _ => "info",
        };
        self.send(json!({"role": role, "content": {"ok": true, "command": kind}}))
            .await;
        self.after_reply(&kind).await;
    }

    async fn datagram(&mut self, frame: &Value) {
        let cid = frame["cid"].clone();
        let msg = frame["msg"].as_str().unwrap_or("");
        let request = frame
            .pointer("/content/request")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = if msg == "session" {
            format!("session_{request}")
        } else {
            msg.to_string()
        };
        if self.fault() == Fault::ShortCidCloses && cid.as_str().is_none_or(|c| c.len() != 32) {
            self.close(1002).await;
            return;
        }
        if self.request_fault(&name, frame).await {
            return;
        }
        let reply_cid = if self.fault() == Fault::WrongCid {
            json!("0000")
        } else {
            cid
        };
        let named = frame
            .pointer("/content/session_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let exists = self.shared.sessions.lock().unwrap().contains(&named);
        let refused = |why: &str| json!({"msg": "session", "cid": reply_cid, "content": {"success": false, "error": why}});
        match request {
            "resume" if !exists && self.fault() != Fault::ResumesUnknown => {
                self.send(refused("no such session")).await;
                return;
            }
            "status" if !exists && self.fault() == Fault::CloseOnUnknownStatus => {
                self.close(1011).await;
                return;
            }
            "status" if !exists => {
                self.send(refused("no such session")).await;
                return;
            }
            "destroy" if self.fault() == Fault::DestroysForeign && exists => {
                self.shared.sessions.lock().unwrap().remove(&named);
            }
            "destroy" if self.session.as_deref() != Some(named.as_str()) => {
                self.send(refused("only the session in use can be destroyed"))
                    .await;
                return;
            }
            "resume" => self.session = Some(named.clone()),
            "destroy" => {
                self.shared.sessions.lock().unwrap().remove(&named);
                self.session = None;
            }
            _ => {}
        }
        match (msg, request) {
            ("ping", _) => {
                self.send(json!({"msg": "ping", "cid": reply_cid, "content": null}))
                    .await
            }
            ("session", "create") => {
                let id = format!("s{}", self.shared.next_id.fetch_add(1, Ordering::SeqCst));
                self.session = Some(id.clone());
                self.shared.sessions.lock().unwrap().insert(id.clone());
                let content = if self.fault() == Fault::NoSessionId {
                    json!({"success": true, "error": null})
                } else {
                    json!({"session_id": id, "success": true, "error": null})
                };
                self.send(json!({"msg": "session", "cid": reply_cid, "content": content}))
                    .await;
            }
            ("session", "status") => {
                self.send(json!({"msg": "session", "cid": reply_cid, "content": {"success": true, "error": null, "status": "idle", "settings": {"model": "m.bin", "temperature": 0.8, "seed": 1}}})).await;
            }
            ("session", "destroy") if self.fault() == Fault::BadDestroyReply => {
                self.send(
                    json!({"msg": "session", "cid": reply_cid, "content": {"success": true}}),
                )
                .await;
            }
            ("session", "resume" | "destroy") => {
                self.send(json!({"msg": "session", "cid": reply_cid, "content": {"success": true, "error": null}})).await;
            }
            ("chat", _) => {
                let data = if self.fault() == Fault::NotBase64 {
                    "plain text!".to_string()
                } else {
                    base64::engine::general_purpose::STANDARD.encode("Hello, human")
                };
                let error = if self.fault() == Fault::NullError {
                    Value::Null
                } else {
                    json!(false)
                };
                self.send(json!({"msg": "chat", "cid": reply_cid, "content": {"success": true, "error": error, "sender": "Alice", "bot": true, "type": "text", "data": data}})).await;
            }
            _ => {}
        }
    }

    async fn socializer(&mut self, frame: &Value) -> bool {
        if self.rate_exceeded(20) {
            self.close(1008).await;
            return false;
        }
        let error = json!({"type": "error", "message": "Invalid message format", "timestamp": "2025-10-01T20:00:02.000000"});
        let Some(object) = frame.as_object() else {
            self.send(error).await;
            return true;
        };
        let Some(content) = object.get("content").and_then(Value::as_str) else {
            if self.fault() != Fault::NoMissingFieldError {
                self.send(error).await;
            }
            return true;
        };
        if self.request_fault("chat_message", frame).await {
            return true;
        }
        if self.fault() == Fault::ErrorThenClose {
            self.send(json!({"type": "error", "message": "An error occurred while processing your message.", "timestamp": "2025-10-01T20:00:02.000000"})).await;
            self.close(1011).await;
            return false;
        }
        let timestamp = if self.fault() == Fault::BadTimestamp {
            "yesterday"
        } else {
            "2025-10-01T20:00:01.000000"
        };
        self.send(json!({"type": "ai_response", "message": format!("You said: {}", short(content)), "timestamp": timestamp})).await;
        true
    }

    async fn generalbots(&mut self, frame: &Value) -> bool {
        if self.fault() == Fault::CloseOnMissingType && frame.get("type").is_none() {
            self.close(1011).await;
            return false;
        }
        let kind = frame["type"].as_str().unwrap_or("").to_string();
        if !self.authed {
            if kind == "auth" && (frame["token"] == TOKEN || self.fault() == Fault::AcceptBadToken)
            {
                self.authenticated().await;
                return true;
            }
            self.error("AUTH_FAILED", "Invalid or expired token").await;
            self.close(1008).await;
            return false;
        }
        if self.rate_exceeded(20) {
            self.error("RATE_LIMITED", "Too many messages").await;
            return true;
        }
        let Some(object) = frame.as_object() else {
            self.error("INVALID_FORMAT", "not an object").await;
            return true;
        };
        let needs_session = [
            "message",
            "typing_start",
            "typing_stop",
            "subscribe",
            "unsubscribe",
        ];
        if kind == "ping" {
            if self.request_fault("ping", frame).await {
                return true;
            }
            let pong = if self.fault() == Fault::PongWithoutTimestamp {
                json!({"type": "pong"})
            } else {
                json!({"type": "pong", "timestamp": "2024-01-01T10:00:00Z"})
            };
            self.send(pong).await;
            return true;
        }
        if !needs_session.contains(&kind.as_str()) {
            self.error("INVALID_FORMAT", "unknown type").await;
            return true;
        }
        let Some(session) = object.get("session_id").and_then(Value::as_str) else {
            self.error("INVALID_FORMAT", "missing session_id").await;
            return true;
        };
        if self.fault() == Fault::ClientChosenSessions && self.session.is_none() {
            self.session = Some(session.to_string());
        }
        if Some(session) != self.session.as_deref() {
            self.error("SESSION_NOT_FOUND", "Session does not exist or has expired")
                .await;
            return true;
        }
        if kind != "message" {
            return true;
        }
        let Some(_content) = object.get("content").and_then(Value::as_str) else {
            self.error("INVALID_FORMAT", "missing content").await;
            return true;
        };
        if self.request_fault("chat_message", frame).await {
            return true;
        }
        if let Fault::SlowChat(ms) = self.fault() {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let id = format!("msg-{}", self.shared.next_id.fetch_add(1, Ordering::SeqCst));
        let session = session.to_string();
        self.send(json!({"type": "bot_typing", "session_id": session, "is_typing": true}))
            .await;
        self.send(json!({"type": "stream_start", "session_id": session, "message_id": id}))
            .await;
        let pieces = ["I'd be happy to ", "help! What's your ", "order number?"];
        for (i, piece) in pieces.iter().enumerate() {
            let chunk_id = if self.fault() == Fault::TwoMessageIds && i == 1 {
                "msg-other".to_string()
            } else {
                id.clone()
            };
            self.send(json!({"type": "stream_chunk", "message_id": chunk_id, "content": piece}))
                .await;
        }
        let mut whole = pieces.concat();
        if self.fault() == Fault::ChunksDontAddUp {
            whole.push_str(" (and more)");
        }
        self.send(json!({"type": "stream_end", "message_id": id, "content": whole}))
            .await;
        true
    }

    async fn meet(&mut self, frame: &Value) {
        let kind = frame["type"].as_str().unwrap_or("");
        let text = |field: &str| frame.get(field).is_none_or(Value::is_string);
        if !text("room_id") || !text("participant_name") || !text("target_id") {
            self.error("INVALID_FORMAT", "a field of the wrong type")
                .await;
            return;
        }
        let room = frame["room_id"].as_str().unwrap_or("").to_string();
        match kind {
            "join" if self.fault() == Fault::CloseOnJoin => self.close(1000).await,
            "join" => {
                let Some(name) = frame["participant_name"].as_str() else {
                    self.error("INVALID_FORMAT", "missing participant_name")
                        .await;
                    return;
                };
                let id = format!("p-{}", self.shared.next_id.fetch_add(1, Ordering::SeqCst));
                self.participant = Some(id.clone());
                let mut notice = json!({"type": "join", "room_id": room, "participant_name": name, "participant_id": id});
                match self.fault() {
                    Fault::NoParticipantId => {
                        notice.as_object_mut().unwrap().remove("participant_id");
                    }
                    Fault::UnknownServerType => notice["type"] = json!("joined"),
                    _ => {}
                }
                if self.fault() != Fault::NoRelay {
                    self.broadcast(&room, &notice, &id);
                }
                self.shared
                    .rooms
                    .lock()
                    .unwrap()
                    .entry(room)
                    .or_default()
                    .push((id, self.tx.clone()));
            }
            "leave" => {
                let Some(id) = self.participant.clone() else {
                    return;
                };
                self.leave_rooms();
                self.broadcast(
                    &room,
                    &json!({"type": "leave", "room_id": room, "participant_id": id}),
                    &id,
                );
            }
            "signal" => {
                let target = frame["target_id"].as_str().unwrap_or("");
                if self.fault() == Fault::NoSignalRelay {
                    return;
                }
                let relayed = json!({"type": "signal", "room_id": room, "target_id": target, "signal": frame["signal"], "sender_id": self.participant});
                let rooms = self.shared.rooms.lock().unwrap();
                if let Some(members) = rooms.get(&room) {
                    for (id, tx) in members {
                        if id == target {
                            let _ = tx.send(self.message(&relayed));
                        }
                    }
                }
            }
            _ => self.error("INVALID_FORMAT", "unknown type").await,
        }
    }

    fn message(&self, value: &Value) -> Message {
        if self.fault() == Fault::BinaryRelay {
            Message::Binary(Bytes::from(value.to_string().into_bytes()))
        } else {
            Message::text(value.to_string())
        }
    }

    fn broadcast(&self, room: &str, value: &Value, except: &str) {
        let rooms = self.shared.rooms.lock().unwrap();
        if let Some(members) = rooms.get(room) {
            for (id, tx) in members {
                if id != except {
                    let _ = tx.send(self.message(value));
                }
            }
        }
    }

    fn leave_rooms(&self) {
        if let Some(me) = &self.participant {
            let mut rooms = self.shared.rooms.lock().unwrap();
            for members in rooms.values_mut() {
                members.retain(|(id, _)| id != me);
            }
        }
    }
}

/// At most 40 characters of a text.
pub fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

/// The schemas, loaded once per test binary.
pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas::embedded().expect("embedded schemas load"))
}

/// Runs the suite of `protocol` against a double with `fault`.
pub async fn check(protocol: &'static str, fault: Fault, timeout_ms: u64) -> ProtocolReport {
    let double = start(protocol, fault).await;
    run_against(protocol, &double.url, timeout_ms).await
}

/// Runs the suite against a URL, with the doubles' credentials.
pub async fn run_against(protocol: &str, url: &str, timeout_ms: u64) -> ProtocolReport {
    // Model-generated replies get the same short budget: a withheld chat answer costs one wait.
    let options = RunOptions {
        timeout: Duration::from_millis(timeout_ms),
        reply_timeout: Duration::from_millis(timeout_ms),
        ..RunOptions::default()
    };
    run_with(protocol, url, &options).await
}

/// Runs the suite with `options` against a URL, with the doubles' credentials.
pub async fn run_with(protocol: &str, url: &str, options: &RunOptions) -> ProtocolReport {
    let mut target = Target::parse(url).expect("url");
    match protocol {
        "socializer" => target.jwt_secret = Some(SECRET.into()),
        "generalbots" => target.token = Some(TOKEN.into()),
        _ => {}
    }
    run_protocol(schemas(), protocol, &target, options, &Silent)
        .await
        .expect("the suite runs")
}

/// Runs the checks `only` selects against a URL, with the doubles' credentials.
pub async fn run_only(protocol: &str, url: &str, timeout_ms: u64, only: &[&str]) -> ProtocolReport {
    let mut target = Target::parse(url).expect("url");
    target.token = Some(TOKEN.into());
    let options = RunOptions {
        timeout: Duration::from_millis(timeout_ms),
        reply_timeout: Duration::from_millis(timeout_ms),
        only: only.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    };
    run_protocol(schemas(), protocol, &target, &options, &Silent)
        .await
        .expect("the suite runs")
}

/// The ids of the checks with a status.
pub fn with_status(report: &ProtocolReport, status: Status) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.status == status)
        .map(|c| c.id.clone())
        .collect()
}

/// A readable dump of a report's non-passing checks, for assertion messages.
pub fn dump(report: &ProtocolReport) -> String {
    let mut out = String::new();
    for check in &report.checks {
        if check.status != Status::Pass {
            out.push_str(&format!(
                "{} {}: {}\n",
                check.status.as_str(),
                check.id,
                agentwire_conformance::output::human::detail(check)
            ));
        }
    }
    out
}

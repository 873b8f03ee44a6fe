//! One client's connection, run by a task of its own: it owns the socket, sends what the client
//! asks it to, gives each frame to the request it answers (the protocol's way: an id the reply
//! copies, a session, a stream id, or the next such message), tracks the session, tells the
//! event streams, and reopens a lost connection with backoff when asked to.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Protocol;
use super::error::{ClientError, FrameError};
use super::events::{CloseInfo, Event, Subscribers};
use super::frame::{Ids, place, random_unit, text_at};
use super::options::{ConnectOptions, Reconnect};
use super::reply::{Part, Sink};
use super::spec::{AuthMethod, Correlation, ProtocolSpec, ReplyForm, SessionOrigin, StreamForm};
use super::transport::{self, Transport};
use super::url;
use crate::wire::DecodeError;

/// The socket of a client connection.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The largest frame or message the client reads: 16 MiB.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// How long closing may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a client stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// Never connected.
    Idle,
    /// Opening its first connection.
    Connecting,
    /// Connected.
    Open,
    /// Lost its connection and will open another.
    Reconnecting(CloseInfo),
    /// Closed, by the server (with how) or by the client.
    Closed(Option<CloseInfo>),
}

impl Status {
    /// The error of sending now: not connected, and why.
    pub(crate) fn not_open(&self, id: &str) -> ClientError {
        match self {
            Status::Closed(Some(info)) | Status::Reconnecting(info) => ClientError::Closed {
                code: info.code,
                reason: info.reason.clone(),
            },
            Status::Idle | Status::Closed(None) => {
                ClientError::Usage(format!("the {id} client is not connected: call connect"))
            }
            Status::Connecting | Status::Open => {
                ClientError::Usage(format!("the {id} client is still connecting"))
            }
        }
    }
}

/// What a client and its connection share.
#[derive(Debug)]
pub(crate) struct Shared<M> {
    pub(crate) spec: &'static ProtocolSpec,
    pub(crate) status: watch::Sender<Status>,
    pub(crate) session: watch::Sender<Option<Value>>,
    pub(crate) subscribers: Subscribers<M>,
    pub(crate) ids: Ids,
}

impl<M: Clone> Shared<M> {
    pub(crate) fn new(spec: &'static ProtocolSpec) -> Self {
        Self {
            spec,
            status: watch::Sender::new(Status::Idle),
            session: watch::Sender::new(None),
            subscribers: Subscribers::new(),
            ids: Ids::default(),
        }
    }

    /// A connection opened: a session the server announces is the new connection's.
    pub(crate) fn opened(&self) {
        if matches!(self.spec.sessions, Some(SessionOrigin::Announcement { .. })) {
            self.session.send_replace(None);
        }
        self.status.send_replace(Status::Open);
        self.subscribers.emit(Event::Opened);
    }
}

/// What the client asks its connection to do.
pub(crate) enum Command<M> {
    /// Send a request and wait for its answer.
    Request { pending: Pending<M>, text: String },
    /// Send a message nothing answers.
    Send {
        text: String,
        done: oneshot::Sender<Result<(), ClientError>>,
    },
    /// Close the connection (and stop reconnecting).
    Close { done: oneshot::Sender<()> },
}

/// A request waiting for its answer.
pub(crate) struct Pending<M> {
    request: &'static str,
    frame: Value,
    forms: &'static [ReplyForm],
    sink: Box<dyn Sink<M>>,
    /// The stream form and the stream's id, once its start frame has arrived.
    stream: Option<(&'static StreamForm, Option<Value>)>,
}

impl<M> Pending<M> {
    pub(crate) fn new(
        request: &'static str,
        frame: Value,
        forms: &'static [ReplyForm],
        sink: Box<dyn Sink<M>>,
    ) -> Self {
        Self {
            request,
            frame,
            forms,
            sink,
            stream: None,
        }
    }

    /// Whether it waits for a message of this name.
    fn awaits(&self, name: &str) -> bool {
        match &self.stream {
            Some((form, _)) => name == form.chunk || name == form.end,
            None => self.forms.iter().any(|form| match form {
                ReplyForm::Single { messages, .. } => messages.contains(&name),
                ReplyForm::Stream(stream) => stream.start == name,
            }),
        }
    }
}

/// Opens a connection: the handshake (the credential in the URL or a cookie), then the
/// credential as the first message where it goes there.
pub(crate) async fn open<P: Protocol>(
    spec: &'static ProtocolSpec,
    options: &ConnectOptions,
    transport: &Transport,
) -> Result<Socket, ClientError> {
    let method = url::auth_method(spec, options.auth_via)?;
    let target = url::endpoint_url(spec, options, method)?;
    let request = url::request(&target, options, method)?;
    let shown = url::redact(&target);
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let handshake = transport.handshake(request, config);
    let (mut socket, _) = match tokio::time::timeout(options.connect_timeout, handshake).await {
        Err(_) => {
            return Err(ClientError::Connect {
                url: shown,
                reason: format!(
                    "no handshake within {} ms",
                    options.connect_timeout.as_millis()
                ),
            });
        }
        Ok(Err(tungstenite::Error::Http(response))) => {
            return Err(ClientError::Refused {
                url: shown,
                status: response.status().as_u16(),
            });
        }
        Ok(Err(error)) => return Err(transport::connect_error(&target, error)),
        Ok(Ok(opened)) => opened,
    };
    if let (Some(AuthMethod::FirstMessage { message, pointer }), Some(token)) =
        (method, &options.token)
    {
        let text = auth_message::<P>(spec, message, pointer, token)?;
        let sent = tokio::time::timeout(options.connect_timeout, socket.send(Message::text(text)));
        match sent.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                return Err(ClientError::Connect {
                    url: shown,
                    reason: format!("sending the credential: {error}"),
                });
            }
            Err(_) => {
                return Err(ClientError::Connect {
                    url: shown,
                    reason: "the server did not take the credential in time".into(),
                });
            }
        }
    }
    Ok(socket)
}

/// The message that carries the credential, checked.
fn auth_message<P: Protocol>(
    spec: &ProtocolSpec,
    message: &'static str,
    pointer: &str,
    token: &str,
) -> Result<String, ClientError> {
    let mut frame = Value::Object(Default::default());
    if let Some(outgoing) = spec.outgoing(message) {
        for fixed in outgoing.fixed {
            place(&mut frame, fixed.pointer, fixed_value(message, fixed.json)?);
        }
    }
    place(&mut frame, pointer, Value::String(token.to_string()));
    let (_, checked) = P::check(frame).map_err(|error| ClientError::Invalid {
        message,
        reason: error.to_string(),
    })?;
    Ok(checked.to_string())
}

/// A value the schema fixes, from the generated JSON text.
pub(crate) fn fixed_value(message: &'static str, json: &str) -> Result<Value, ClientError> {
    serde_json::from_str(json).map_err(|error| ClientError::Invalid {
        message,
        reason: format!("the generated value {json} is not JSON: {error}"),
    })
}

/// How a conversation on one socket ended.
enum End {
    /// Every handle of the client was dropped.
    Dropped,
    /// The client closed it.
    ClosedByClient,
    /// The server closed it, or it broke.
    Lost(CloseInfo),
}

/// A client's connection task.
pub(crate) struct Connection<P: Protocol> {
    shared: Arc<Shared<P::Incoming>>,
    options: ConnectOptions,
    transport: Transport,
    pending: Vec<Pending<P::Incoming>>,
    /// The close frame the server sent, once it has.
    close_frame: Option<CloseInfo>,
}

impl<P: Protocol> Connection<P> {
    pub(crate) fn new(
        shared: Arc<Shared<P::Incoming>>,
        options: ConnectOptions,
        transport: Transport,
    ) -> Self {
        Self {
            shared,
            options,
            transport,
            pending: Vec::new(),
            close_frame: None,
        }
    }

    /// Runs the connection until the client closes it, drops it, or it is lost for good.
    pub(crate) async fn run(
        mut self,
        mut socket: Socket,
        mut commands: mpsc::Receiver<Command<P::Incoming>>,
    ) {
        loop {
            self.close_frame = None;
            let info = match self.converse(&mut socket, &mut commands).await {
                End::Dropped => return,
                End::ClosedByClient => {
                    let info = CloseInfo {
                        code: 1000,
                        reason: "closed by the client".into(),
                        reconnecting: false,
                    };
                    self.lost(info);
                    return;
                }
                End::Lost(info) => info,
            };
            let policy = self.options.reconnect;
            let reconnecting = policy.is_some_and(|p| p.retries > 0)
                && info.code != 1008
                && !self.shared.spec.close_codes.contains(&info.code);
            self.lost(CloseInfo {
                reconnecting,
                ..info.clone()
            });
            let Some(policy) = policy.filter(|_| reconnecting) else {
                return;
            };
            match self.reopen(&mut commands, policy, info).await {
                Some(reopened) => {
                    socket = reopened;
                    self.shared.opened();
                }
                None => return,
            }
        }
    }

    /// The connection closed: requests waiting fail, the status and the event streams say so.
    fn lost(&mut self, info: CloseInfo) {
        let error = ClientError::Closed {
            code: info.code,
            reason: info.reason.clone(),
        };
        for mut pending in self.pending.drain(..) {
            pending.sink.fail(error.clone());
        }
        self.shared.status.send_replace(if info.reconnecting {
            Status::Reconnecting(info.clone())
        } else {
            Status::Closed(Some(info.clone()))
        });
        self.shared.subscribers.emit(Event::Closed(info));
    }

    /// Serves the client and reads frames until the connection ends.
    async fn converse(
        &mut self,
        socket: &mut Socket,
        commands: &mut mpsc::Receiver<Command<P::Incoming>>,
    ) -> End {
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None => {
                        close(socket).await;
                        return End::Dropped;
                    }
                    Some(Command::Close { done }) => {
                        close(socket).await;
                        let _ = done.send(());
                        return End::ClosedByClient;
                    }
                    Some(Command::Send { text, done }) => {
                        let _ = done.send(self.transmit(socket, text).await);
                    }
                    Some(Command::Request { mut pending, text }) => {
                        match self.transmit(socket, text).await {
                            Ok(()) => self.pending.push(pending),
                            Err(error) => pending.sink.fail(error),
                        }
                    }
                },
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.receive(text.as_str()),
                    Some(Ok(Message::Binary(bytes))) => {
                        let error = FrameError::new(
                            None,
                            format!("a binary frame of {} bytes (the protocol sends JSON text)", bytes.len()),
                            "",
                        );
                        self.shared.subscribers.emit(Event::Invalid(error));
                    }
                    Some(Ok(Message::Close(frame))) => {
                        // Read on: tungstenite answers the close, then the stream ends.
                        self.close_frame = Some(match frame {
                            Some(frame) => CloseInfo {
                                code: u16::from(frame.code),
                                reason: frame.reason.to_string(),
                                reconnecting: false,
                            },
                            None => CloseInfo {
                                code: 1005,
                                reason: String::new(),
                                reconnecting: false,
                            },
                        });
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return End::Lost(self.ended(Some(error))),
                    None => return End::Lost(self.ended(None)),
                },
            }
        }
    }

    /// How the connection ended: the server's close frame, or 1006 and what broke.
    fn ended(&self, error: Option<tungstenite::Error>) -> CloseInfo {
        self.close_frame.clone().unwrap_or_else(|| CloseInfo {
            code: 1006,
            reason: error.map_or_else(
                || "the connection ended without a close frame".into(),
                |e| e.to_string(),
            ),
            reconnecting: false,
        })
    }

    /// Sends a frame, within the client's timeout.
    async fn transmit(&self, socket: &mut Socket, text: String) -> Result<(), ClientError> {
        let timeout = self.options.timeout;
        match tokio::time::timeout(timeout, socket.send(Message::text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                let info = self.ended(Some(error));
                Err(ClientError::Closed {
                    code: info.code,
                    reason: info.reason,
                })
            }
            Err(_) => Err(ClientError::Timeout {
                what: "the server did not take the frame".into(),
                after: timeout,
            }),
        }
    }

    /// Waits and reopens the connection, attempt after attempt; serves the client meanwhile
    /// (requests fail; a close stops it). `None` when it gave up or was told to stop.
    async fn reopen(
        &mut self,
        commands: &mut mpsc::Receiver<Command<P::Incoming>>,
        policy: Reconnect,
        lost: CloseInfo,
    ) -> Option<Socket> {
        for attempt in 0..policy.retries {
            let wait = tokio::time::sleep(policy.delay(attempt, random_unit()));
            let (spec, options) = (self.shared.spec, self.options.clone());
            let transport = self.transport.clone();
            let opened = async move {
                wait.await;
                open::<P>(spec, &options, &transport).await
            };
            tokio::pin!(opened);
            let result = loop {
                tokio::select! {
                    result = &mut opened => break result,
                    command = commands.recv() => {
                        if !self.refuse_while_reconnecting(command) {
                            return None;
                        }
                    }
                }
            };
            match result {
                Ok(socket) => return Some(socket),
                Err(error) if attempt + 1 == policy.retries => {
                    let info = CloseInfo {
                        reconnecting: false,
                        ..lost.clone()
                    };
                    self.shared.status.send_replace(Status::Closed(Some(info)));
                    let failure = ClientError::Connect {
                        url: url::redact(&self.options.url),
                        reason: format!(
                            "reconnecting failed after {} attempts: {error}",
                            policy.retries
                        ),
                    };
                    self.shared.subscribers.emit(Event::Error(failure));
                }
                Err(_) => {}
            }
        }
        None
    }

    /// Answers a command while there is no connection; whether to go on reconnecting.
    fn refuse_while_reconnecting(&mut self, command: Option<Command<P::Incoming>>) -> bool {
        let status = self.shared.status.borrow().clone();
        let error = || status.not_open(self.shared.spec.id);
        match command {
            None => false,
            Some(Command::Close { done }) => {
                self.shared.status.send_replace(Status::Closed(None));
                let _ = done.send(());
                false
            }
            Some(Command::Send { done, .. }) => {
                let _ = done.send(Err(error()));
                true
            }
            Some(Command::Request { mut pending, .. }) => {
                pending.sink.fail(error());
                true
            }
        }
    }

    /// A text frame arrived: decode and check it, answer a request, track the session, tell the
    /// event streams.
    fn receive(&mut self, text: &str) {
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(error) => {
                let error = FrameError::new(None, format!("not JSON: {error}"), text);
                self.shared.subscribers.emit(Event::Invalid(error));
                return;
            }
        };
        let message = match P::decode(value.clone()) {
            Ok(message) => message,
            Err(error) => {
                let name = match &error {
                    DecodeError::Invalid { message, .. } => Some(*message),
                    _ => None,
                };
                let error = FrameError::new(name, error.to_string(), text);
                if let Some(at) = name.and_then(|n| self.pending.iter().position(|p| p.awaits(n))) {
                    let mut waiting = self.pending.remove(at);
                    waiting.sink.fail(ClientError::Frame(error.clone()));
                }
                self.shared.subscribers.emit(Event::Invalid(error));
                return;
            }
        };
        let name = P::name(&message);
        self.track(name, &value);
        self.pending.retain(|p| !p.sink.is_closed());
        if !self.answer(name, &value, &message) {
            self.refuse(name, &value);
        }
        self.shared.subscribers.emit(Event::Message(message));
    }

    /// Learns the session id from an announcement.
    fn track(&self, name: &str, value: &Value) {
        if let Some(SessionOrigin::Announcement { message, id }) = self.shared.spec.sessions
            && message == name
            && let Some(id) = value.pointer(id).filter(|id| !id.is_null())
        {
            self.shared.session.send_replace(Some(id.clone()));
        }
    }

    /// Gives a frame to the first request it answers; whether one took it.
    fn answer(&mut self, name: &'static str, value: &Value, message: &P::Incoming) -> bool {
        for at in 0..self.pending.len() {
            let pending = &mut self.pending[at];
            if let Some((form, id)) = &pending.stream {
                if value.pointer(form.stream_id) != id.as_ref() {
                    continue;
                }
                if name == form.chunk {
                    let text = text_at(value, form.chunk_text);
                    pending.sink.deliver(Part::Chunk(message.clone(), text));
                    return true;
                }
                if name == form.end {
                    let text = text_at(value, form.end_text);
                    let mut done = self.pending.remove(at);
                    done.sink.deliver(Part::End(message.clone(), text));
                    return true;
                }
                continue;
            }
            for form in pending.forms {
                match form {
                    ReplyForm::Single {
                        messages,
                        correlation,
                    } if messages.contains(&name)
                        && correlated(correlation, &pending.frame, value) =>
                    {
                        let mut done = self.pending.remove(at);
                        self.granted(done.request, value);
                        done.sink.deliver(Part::Message(message.clone()));
                        return true;
                    }
                    ReplyForm::Stream(stream)
                        if stream.start == name
                            && correlated(stream.correlation, &pending.frame, value) =>
                    {
                        pending.stream = Some((stream, value.pointer(stream.stream_id).cloned()));
                        pending.sink.deliver(Part::Start(message.clone()));
                        return true;
                    }
                    _ => {}
                }
            }
        }
        false
    }

    /// Learns the session id from the reply to the request that creates sessions.
    fn granted(&self, request: &str, reply: &Value) {
        if let Some(SessionOrigin::Request {
            message,
            id_in_reply,
        }) = self.shared.spec.sessions
            && message == request
            && let Some(id) = reply.pointer(id_in_reply).filter(|id| !id.is_null())
        {
            self.shared.session.send_replace(Some(id.clone()));
        }
    }

    /// An error message that answers no request by the exchanges: the protocol does not
    /// correlate errors, so it fails the oldest request still waiting for its first frame.
    fn refuse(&mut self, name: &'static str, value: &Value) {
        let Some(errors) = self.shared.spec.errors.filter(|e| e.message == name) else {
            return;
        };
        let Some(at) = self.pending.iter().position(|p| p.stream.is_none()) else {
            return;
        };
        let code = value.pointer(errors.code).and_then(|code| match code {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        });
        let mut refused = self.pending.remove(at);
        let error = ClientError::Server {
            request: refused.request,
            message: errors.message,
            code,
            frame: Box::new(value.clone()),
        };
        refused.sink.fail(error);
    }
}

/// Whether a reply carries the values its request's correlation names.
fn correlated(correlation: &[Correlation], request: &Value, reply: &Value) -> bool {
    correlation.iter().all(|c| {
        matches!((request.pointer(c.request), reply.pointer(c.reply)), (Some(sent), Some(got)) if sent == got)
    })
}

/// Closes a socket from the client's side and reads until the server answers, within a limit.
async fn close(socket: &mut Socket) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if socket.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await;
}

//! The WebSocket client that generated clients run on (feature `client`).
//!
//! A generated crate's `client::Client` has one method per client message and leaves the rest to
//! [`ClientCore`], which knows no protocol: everything protocol-specific comes in a
//! [`ProtocolSpec`] that the generator writes from `protocol.json`, and in the generated message
//! types ([`Protocol`]). The core connects with the protocol's authentication (query parameter,
//! cookie or first message), fills in what the schema fixes, correlation ids the caller did not
//! give and the current session, checks every message it sends and every frame it receives
//! against the schemas, answers each request with its reply the way `protocol.json` correlates
//! them, turns streamed replies into a [`ReplyStream`], delivers every valid message to
//! [`Events`] streams, and reopens a lost connection with backoff when asked to.
//!
//! `wss://` needs the feature `tls` (rustls with ring): Mozilla's roots are trusted, and the
//! certificate authorities of [`ConnectOptions::ca_cert`]; a certificate that is not accepted is a
//! [`ClientError::Certificate`] that names its [`CertificateCause`].
//!
//! One task per connection owns the socket; the client talks to it through a channel, so a
//! client is cheap to share (`Arc<Client>`) and every wait has a timeout.

mod connection;
mod error;
mod events;
mod frame;
mod options;
mod reply;
mod spec;
mod transport;
mod url;

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::wire::DecodeError;
use connection::{Command, Connection, Pending, Shared, Status};
use frame::place;
use reply::{SingleSink, Sink};
use transport::Transport;

pub use crate::tls::CertificateCause;
pub use connection::MAX_MESSAGE_BYTES;
pub use error::{ClientError, FrameError};
pub use events::{CloseInfo, EVENT_BUFFER, Event, Events, Messages};
/// Re-exported so that users of generated clients need no dependency of their own to read a
/// stream.
pub use futures_util::{Stream, StreamExt};
pub use options::{ConnectOptions, DEFAULT_TIMEOUT, Reconnect};
pub use reply::{FromMessage, Never, ReplyStream, STREAM_BUFFER, StreamEvent, StreamResult};
pub use spec::{
    Auth, AuthMethod, AuthVia, Correlation, ErrorMessage, Exchange, Fixed, Fresh, FreshId,
    Outgoing, ProtocolSpec, ReplyForm, SessionOrigin, StreamForm,
};

/// How many commands (requests, sends) may wait for the connection's task.
const COMMAND_BUFFER: usize = 64;

/// A protocol, as the client core needs it: its description and its generated message types.
/// Each generated crate implements it for its `client::Protocol`.
pub trait Protocol: Send + Sync + 'static {
    /// The union of the messages the server sends (`ServerMessage`).
    type Incoming: Clone + fmt::Debug + Send + Sync + 'static;

    /// What the client knows of the protocol.
    fn spec() -> &'static ProtocolSpec;

    /// Decodes a frame the server sent, checking it against its message's schema.
    fn decode(value: Value) -> Result<Self::Incoming, DecodeError>;

    /// The name of a server message, e.g. `session_response`.
    fn name(message: &Self::Incoming) -> &'static str;

    /// Checks a message the client is about to send against its schema (`ClientMessage`):
    /// its name and the message as it will be sent.
    fn check(value: Value) -> Result<(&'static str, Value), DecodeError>;
}

/// The protocol-independent part of every generated client; see the [module](self).
pub struct ClientCore<P: Protocol> {
    options: ConnectOptions,
    shared: Arc<Shared<P::Incoming>>,
    /// The connection task's commands, while it runs.
    commands: Mutex<Option<mpsc::Sender<Command<P::Incoming>>>>,
    protocol: PhantomData<fn() -> P>,
}

impl<P: Protocol> fmt::Debug for ClientCore<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCore")
            .field("protocol", &self.shared.spec.id)
            .field("options", &self.options)
            .field("status", &*self.shared.status.borrow())
            .finish()
    }
}

impl<P: Protocol> ClientCore<P> {
    /// A client that is not connected yet: subscribe to its events, then [`ClientCore::connect`].
    pub fn new(options: ConnectOptions) -> Self {
        Self {
            options,
            shared: Arc::new(Shared::new(P::spec())),
            commands: Mutex::new(None),
            protocol: PhantomData,
        }
    }

    /// The options it connects with.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// Opens the connection and sends the credential; fails with [`ClientError::Refused`] (an
    /// HTTP status), [`ClientError::Certificate`] (a `wss://` server's certificate not trusted)
    /// or [`ClientError::Connect`]. Needs a Tokio runtime: the connection runs on a
    /// task of its own. A client closed (or lost for good) may connect again.
    pub async fn connect(&self) -> Result<(), ClientError> {
        let startable = self.shared.status.send_if_modified(|status| {
            let idle = matches!(status, Status::Idle | Status::Closed(_));
            if idle {
                *status = Status::Connecting;
            }
            idle
        });
        if !startable {
            let status = self.shared.status.borrow().clone();
            return Err(ClientError::Usage(format!(
                "the {} client is already connected or connecting ({status:?})",
                self.shared.spec.id
            )));
        }
        let opened = match Transport::new(&self.options) {
            Ok(transport) => connection::open::<P>(self.shared.spec, &self.options, &transport)
                .await
                .map(|socket| (socket, transport)),
            Err(error) => Err(error),
        };
        let (mut socket, transport) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                self.shared.status.send_if_modified(|status| {
                    set_if(status, &Status::Connecting, Status::Closed(None))
                });
                return Err(error);
            }
        };
        let (sender, receiver) = mpsc::channel(COMMAND_BUFFER);
        // `close` while connecting made the status Closed: this socket is not wanted any more.
        let still_wanted = {
            let mut commands = self.lock_commands();
            let wanted = matches!(*self.shared.status.borrow(), Status::Connecting);
            if wanted {
                *commands = Some(sender);
            }
            wanted
        };
        if !still_wanted {
            let _ = futures_util::SinkExt::close(&mut socket).await;
            return Err(ClientError::Usage(format!(
                "the {} client was closed while connecting",
                self.shared.spec.id
            )));
        }
        self.shared.opened();
        let connection = Connection::<P>::new(self.shared.clone(), self.options.clone(), transport);
        tokio::spawn(connection.run(socket, receiver));
        Ok(())
    }

    /// Closes the connection (and stops reconnecting), waiting up to 5 s for the server's
    /// answer. Requests waiting fail with [`ClientError::Closed`] (code 1000).
    pub async fn close(&self) {
        let sender = self.lock_commands().take();
        if let Some(sender) = sender {
            let (done, closed) = oneshot::channel();
            if sender.send(Command::Close { done }).await.is_ok() {
                let _ = closed.await;
            }
        }
        self.shared.status.send_if_modified(|status| {
            let open = !matches!(status, Status::Closed(_) | Status::Idle);
            if open {
                *status = Status::Closed(None);
            }
            open
        });
    }

    /// Whether the connection is open.
    pub fn is_connected(&self) -> bool {
        matches!(*self.shared.status.borrow(), Status::Open)
    }

    /// The current session's id, once the server has announced or granted one (or
    /// [`ClientCore::use_session`] set it).
    pub fn session(&self) -> Option<Value> {
        self.shared.session.borrow().clone()
    }

    /// Uses a session id learnt elsewhere (to resume one after reconnecting, say), or none.
    pub fn use_session(&self, id: Option<Value>) {
        self.shared.session.send_replace(id);
    }

    /// Every event from now on: opens, closes, valid messages, invalid frames.
    pub fn events(&self) -> Events<P::Incoming> {
        self.shared.subscribers.events()
    }

    /// Every valid message from now on: replies, pushes, and messages sent unprompted.
    pub fn messages(&self) -> Messages<P::Incoming> {
        self.shared.subscribers.messages()
    }

    /// Builds, checks and sends a message that nothing answers.
    pub async fn send(
        &self,
        name: &'static str,
        input: &impl Serialize,
    ) -> Result<(), ClientError> {
        self.ensure_open()?;
        let (_, text) = self.build(name, input).await?;
        let (done, sent) = oneshot::channel();
        self.submit(Command::Send { text, done }).await?;
        sent.await.unwrap_or_else(|_| Err(self.not_open()))
    }

    /// Sends a request and waits for its one-message answer.
    pub async fn request<R>(
        &self,
        name: &'static str,
        input: &impl Serialize,
    ) -> Result<R, ClientError>
    where
        R: FromMessage<P::Incoming> + Send + 'static,
    {
        self.ensure_open()?;
        let (frame, text) = self.build(name, input).await?;
        let (sink, reply) = SingleSink::<R>::new(name);
        self.expect(name, frame, text, Box::new(sink)).await?;
        match tokio::time::timeout(self.options.timeout, reply).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.not_open()),
            Err(_) => Err(ClientError::Timeout {
                what: format!("{name}: no reply"),
                after: self.options.timeout,
            }),
        }
    }

    /// Sends a request whose answer may be streamed.
    pub async fn stream<Single, Start, Chunk, End>(
        &self,
        name: &'static str,
        input: &impl Serialize,
    ) -> Result<ReplyStream<Single, Start, Chunk, End>, ClientError>
    where
        Single: FromMessage<P::Incoming> + Send + 'static,
        Start: FromMessage<P::Incoming> + Send + 'static,
        Chunk: FromMessage<P::Incoming> + Send + 'static,
        End: FromMessage<P::Incoming> + Send + 'static,
    {
        self.ensure_open()?;
        let (frame, text) = self.build(name, input).await?;
        let (stream, sink) = ReplyStream::new(name, self.options.timeout);
        self.expect(name, frame, text, Box::new(sink)).await?;
        Ok(stream)
    }

    /// Hands a request to the connection, which sends it and waits for its answer.
    async fn expect(
        &self,
        name: &'static str,
        frame: Value,
        text: String,
        sink: Box<dyn Sink<P::Incoming>>,
    ) -> Result<(), ClientError> {
        let replies = self.shared.spec.replies(name);
        let pending = Pending::new(name, frame, replies, sink);
        self.submit(Command::Request { pending, text }).await
    }

    async fn submit(&self, command: Command<P::Incoming>) -> Result<(), ClientError> {
        let sender = self.lock_commands().clone();
        match sender {
            Some(sender) => sender.send(command).await.map_err(|_| self.not_open()),
            None => Err(self.not_open()),
        }
    }

    /// The complete message: the input, the values the schema fixes, ids, the session;
    /// checked, and as it is sent.
    async fn build(
        &self,
        name: &'static str,
        input: &impl Serialize,
    ) -> Result<(Value, String), ClientError> {
        let spec = self.shared.spec;
        let invalid = |reason: String| ClientError::Invalid {
            message: name,
            reason,
        };
        let outgoing = spec.outgoing(name).ok_or_else(|| {
            invalid(format!(
                "the {} protocol has no client message {name}",
                spec.id
            ))
        })?;
        let mut frame = serde_json::to_value(input).map_err(|e| invalid(e.to_string()))?;
        if !frame.is_object() {
            return Err(invalid("a message is a JSON object".into()));
        }
        for fixed in outgoing.fixed {
            place(
                &mut frame,
                fixed.pointer,
                connection::fixed_value(name, fixed.json)?,
            );
        }
        for fresh in outgoing.fresh {
            if frame.pointer(fresh.pointer).is_none() {
                place(&mut frame, fresh.pointer, self.shared.ids.fresh(fresh.kind));
            }
        }
        if let Some(pointer) = outgoing.session
            && frame.pointer(pointer).is_none()
        {
            place(&mut frame, pointer, self.current_session(name).await?);
        }
        if outgoing.needs_session && self.session().is_none() {
            return Err(ClientError::Session(format!(
                "{name} needs a session: {}",
                self.session_advice()
            )));
        }
        let (checked, frame) = P::check(frame).map_err(|e| invalid(e.to_string()))?;
        if checked != name {
            return Err(invalid(format!("it reads as {checked}")));
        }
        let text = frame.to_string();
        Ok((frame, text))
    }

    /// The session a message names when the caller names none: the current one, or the one the
    /// server is about to announce.
    async fn current_session(&self, name: &str) -> Result<Value, ClientError> {
        if let Some(id) = self.session() {
            return Ok(id);
        }
        let Some(SessionOrigin::Announcement { message, .. }) = self.shared.spec.sessions else {
            return Err(ClientError::Session(format!(
                "{name} names a session and there is none: {}",
                self.session_advice()
            )));
        };
        let mut session = self.shared.session.subscribe();
        let mut status = self.shared.status.subscribe();
        let timeout = self.options.timeout;
        tokio::select! {
            known = session.wait_for(Option::is_some) => {
                let id = known.ok().and_then(|id| id.clone());
                id.ok_or_else(|| ClientError::Session(format!("{name} names a session and none is known")))
            }
            _ = status.wait_for(|s| matches!(s, Status::Closed(_))) => Err(ClientError::Session(format!(
                "{name} names a session and the connection closed before {message} arrived"
            ))),
            () = tokio::time::sleep(timeout) => Err(ClientError::Session(format!(
                "{name} names a session and no {message} arrived within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    fn session_advice(&self) -> String {
        match self.shared.spec.sessions {
            None => "pass its id".into(),
            Some(SessionOrigin::Request { message, .. }) => {
                format!("send {message} first, or pass the id")
            }
            Some(SessionOrigin::Announcement { message, .. }) => {
                format!("wait for {message}, or pass the id")
            }
        }
    }

    fn ensure_open(&self) -> Result<(), ClientError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(self.not_open())
        }
    }

    fn not_open(&self) -> ClientError {
        self.shared.status.borrow().not_open(self.shared.spec.id)
    }

    fn lock_commands(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<Command<P::Incoming>>>> {
        self.commands.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Moves a status from one value to another, if it has the first; whether it did.
fn set_if(status: &mut Status, from: &Status, to: Status) -> bool {
    let matches = status == from;
    if matches {
        *status = to;
    }
    matches
}

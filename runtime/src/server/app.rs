//! The interface between the transport and a protocol: what the generated skeleton implements,
//! and what it gets to work with.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use futures_util::Stream;
use serde::Serialize;
use tokio::sync::{Notify, mpsc};

use super::budget::Meter;
use super::close_code;

/// One protocol's behaviour on top of the transport. Generated skeletons implement it by
/// decoding frames and calling their handler's typed methods.
pub trait App: Send + Sync + 'static {
    /// The messages the server sends.
    type Out: Serialize + Send + Sync + 'static;
    /// What the server keeps per connection.
    type State: Send + 'static;

    /// A client completed the handshake at the endpoint: check its credentials (the handshake's
    /// query parameters and cookies are on `conn`) and open the connection, or refuse it.
    fn open(
        &self,
        conn: &Connection<Self::Out>,
    ) -> impl Future<Output = Opened<Self::State, Self::Out>> + Send;

    /// A text message arrived.
    fn text(
        &self,
        state: &mut Self::State,
        text: String,
        conn: &Connection<Self::Out>,
    ) -> impl Future<Output = Reply<Self::Out>> + Send;

    /// A message the transport refused (binary, too large, over the rate limit).
    fn problem(
        &self,
        state: &mut Self::State,
        problem: Problem,
        conn: &Connection<Self::Out>,
    ) -> impl Future<Output = Reply<Self::Out>> + Send;

    /// The connection is over.
    fn close(
        &self,
        state: Self::State,
        conn: &Connection<Self::Out>,
    ) -> impl Future<Output = ()> + Send;

    /// Whether the connection still waits for its credential (authentication by the first
    /// message). While it does, it has the configuration's `auth_timeout`, from the end of the
    /// handshake, to send it; past that, [`App::auth_timed_out`] refuses it. By default no
    /// connection waits.
    fn awaiting_credential(&self, state: &Self::State) -> bool {
        let _ = state;
        false
    }

    /// The connection sent no credential within `auth_timeout`: what to send before it is
    /// closed. A reply that does not close is closed with 1008 (Policy Violation) after its
    /// messages; by default that is all.
    fn auth_timed_out(
        &self,
        state: &mut Self::State,
        conn: &Connection<Self::Out>,
    ) -> impl Future<Output = Reply<Self::Out>> + Send {
        let _ = (state, conn);
        async { Reply::none() }
    }
}

/// An opened connection's state and first messages, or the refusal.
pub type Opened<S, M> = Result<(S, Reply<M>), Refusal<M>>;

/// What the server sends in answer to something, and whether it then closes the connection.
pub struct Reply<M> {
    frames: Frames<M>,
    close: Option<CloseWith>,
}

pub(crate) enum Frames<M> {
    None,
    List(Vec<M>),
    Stream(Pin<Box<dyn Stream<Item = M> + Send>>),
}

/// A close code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseWith {
    /// The WebSocket close code.
    pub code: u16,
    /// The reason, at most 123 bytes.
    pub reason: String,
}

impl CloseWith {
    /// A close code and reason; the reason is cut to 123 bytes.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: truncate_reason(reason.into()),
        }
    }
}

impl<M> Reply<M> {
    /// Nothing.
    pub fn none() -> Self {
        Self {
            frames: Frames::None,
            close: None,
        }
    }

    /// One message.
    pub fn one(message: impl Into<M>) -> Self {
        Self {
            frames: Frames::List(vec![message.into()]),
            close: None,
        }
    }

    /// Several messages, in order.
    pub fn many(messages: Vec<M>) -> Self {
        Self {
            frames: Frames::List(messages),
            close: None,
        }
    }

    /// Messages produced over time (a streamed answer), sent as they come.
    pub fn stream(messages: impl Stream<Item = M> + Send + 'static) -> Self {
        Self {
            frames: Frames::Stream(Box::pin(messages)),
            close: None,
        }
    }

    /// The same messages, then closing the connection.
    pub fn then_close(mut self, code: u16, reason: impl Into<String>) -> Self {
        self.close = Some(CloseWith {
            code,
            reason: truncate_reason(reason.into()),
        });
        self
    }

    /// Whether the reply closes the connection.
    pub fn closes(&self) -> bool {
        self.close.is_some()
    }

    pub(crate) fn into_parts(self) -> (Frames<M>, Option<CloseWith>) {
        (self.frames, self.close)
    }

    /// The reply's messages, a stream drained to its end, and the close that follows them:
    /// what the transport would send, for driving an [`App`] without a socket (tests, fuzzing).
    pub async fn collect(self) -> (Vec<M>, Option<CloseWith>) {
        let messages = match self.frames {
            Frames::None => Vec::new(),
            Frames::List(messages) => messages,
            Frames::Stream(stream) => futures_util::StreamExt::collect(stream).await,
        };
        (messages, self.close)
    }
}

impl<M> fmt::Debug for Reply<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frames = match &self.frames {
            Frames::None => "none".to_string(),
            Frames::List(list) => format!("{} messages", list.len()),
            Frames::Stream(_) => "a stream".to_string(),
        };
        f.debug_struct("Reply")
            .field("frames", &frames)
            .field("close", &self.close)
            .finish()
    }
}

/// Refusing a connection: messages to send first (possibly none), then a close.
#[derive(Debug)]
pub struct Refusal<M> {
    /// Sent before closing.
    pub messages: Vec<M>,
    /// How the connection is closed.
    pub close: CloseWith,
}

impl<M> Refusal<M> {
    /// Closing with a code and reason, sending nothing.
    pub fn close(code: u16, reason: impl Into<String>) -> Self {
        Self {
            messages: Vec::new(),
            close: CloseWith {
                code,
                reason: truncate_reason(reason.into()),
            },
        }
    }

    /// Sending a message, then closing.
    pub fn reply_then_close(message: M, code: u16, reason: impl Into<String>) -> Self {
        Self {
            messages: vec![message],
            close: CloseWith {
                code,
                reason: truncate_reason(reason.into()),
            },
        }
    }
}

/// A message the transport refused before any protocol could read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A binary message, where the protocols speak text.
    Binary {
        /// Its size in bytes.
        bytes: usize,
    },
    /// A message over the configured maximum.
    TooLarge {
        /// Its size in bytes.
        bytes: usize,
        /// The maximum.
        limit: usize,
    },
    /// A message over the connection's rate limit.
    RateLimited,
}

/// A frame that is no message of the protocol, and why.
#[derive(Debug)]
pub enum Invalid {
    /// Not JSON.
    NotJson(serde_json::Error),
    /// JSON whose discriminators name no message of the protocol (or that is not an object).
    UnknownMessage(String),
    /// A message that does not match its schema (a missing field, a wrong type...).
    BadMessage {
        /// The message its discriminators name.
        message: &'static str,
        /// What is wrong.
        error: serde_json::Error,
    },
    /// A message the transport refused before decoding.
    Transport(Problem),
}

impl From<crate::wire::DecodeError> for Invalid {
    fn from(error: crate::wire::DecodeError) -> Self {
        use crate::wire::DecodeError;
        match error {
            DecodeError::Json(e) => Invalid::NotJson(e),
            DecodeError::UnknownMessage { union, tags } => {
                Invalid::UnknownMessage(format!("no {union} has {tags}"))
            }
            DecodeError::Invalid { message, source } => Invalid::BadMessage {
                message,
                error: source,
            },
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::NotJson(e) => write!(f, "not JSON: {e}"),
            Invalid::UnknownMessage(what) => f.write_str(what),
            Invalid::BadMessage { message, error } => write!(f, "invalid {message}: {error}"),
            Invalid::Transport(Problem::Binary { bytes }) => {
                write!(f, "a binary message of {bytes} bytes")
            }
            Invalid::Transport(Problem::TooLarge { bytes, limit }) => {
                write!(f, "a message of {bytes} bytes, over the {limit} byte limit")
            }
            Invalid::Transport(Problem::RateLimited) => f.write_str("too many messages"),
        }
    }
}

/// A credential presented with the handshake.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The token.
    pub token: String,
    /// Where it was found.
    pub via: CredentialSource,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are secrets: never in logs.
        f.debug_struct("Credential")
            .field("token", &"<redacted>")
            .field("via", &self.via)
            .finish()
    }
}

/// Where a credential was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// A query parameter of the URL.
    Query(String),
    /// A cookie.
    Cookie(String),
    /// The first message.
    FirstMessage,
}

/// Where a protocol looks for credentials in the handshake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CredentialSpec {
    /// The query parameter carrying the token.
    pub query: Option<&'static str>,
    /// The cookie carrying the token.
    pub cookie: Option<&'static str>,
}

/// One connection, as the protocol sees it.
#[derive(Debug)]
pub struct Connection<M> {
    pub(crate) info: Arc<ConnectionInfo>,
    pub(crate) outbox: Outbox<M>,
    /// When the connection's credential expires.
    pub(crate) expiry: Mutex<Option<SystemTime>>,
}

/// What is known of a connection from its handshake. Its `Debug` shows the names of the query
/// parameters and cookies, not their values: they carry credentials.
pub struct ConnectionInfo {
    /// A number unique in this server's lifetime.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The request path.
    pub path: String,
    /// The endpoint's path parameters.
    pub params: Vec<(String, String)>,
    /// The query parameters.
    pub query: Vec<(String, String)>,
    /// The cookies.
    pub cookies: Vec<(String, String)>,
}

impl fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |pairs: &[(String, String)]| -> Vec<String> {
            pairs.iter().map(|(name, _)| format!("{name}=…")).collect()
        };
        f.debug_struct("ConnectionInfo")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("path", &self.path)
            .field("params", &self.params)
            .field("query", &names(&self.query))
            .field("cookies", &names(&self.cookies))
            .finish()
    }
}

impl<M> Connection<M> {
    /// A number unique in this server's lifetime.
    pub fn id(&self) -> u64 {
        self.info.id
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.info.peer
    }

    /// A path parameter of the endpoint, e.g. `client_id`.
    pub fn param(&self, name: &str) -> Option<&str> {
        find(&self.info.params, name)
    }

    /// A query parameter of the URL.
    pub fn query(&self, name: &str) -> Option<&str> {
        find(&self.info.query, name)
    }

    /// A cookie of the handshake.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        find(&self.info.cookies, name)
    }

    /// The credential the handshake carries, looked for where `spec` says.
    pub fn credential(&self, spec: &CredentialSpec) -> Option<Credential> {
        if let Some(name) = spec.query
            && let Some(token) = self.query(name)
        {
            return Some(Credential {
                token: token.to_string(),
                via: CredentialSource::Query(name.to_string()),
            });
        }
        if let Some(name) = spec.cookie
            && let Some(token) = self.cookie(name)
        {
            return Some(Credential {
                token: token.to_string(),
                via: CredentialSource::Cookie(name.to_string()),
            });
        }
        None
    }

    /// A handle that sends to this connection from anywhere (another connection's task, say).
    pub fn outbox(&self) -> Outbox<M> {
        self.outbox.clone()
    }

    /// The connection's credential expires at `at` (a token's `exp`): the transport closes the
    /// connection with 1008 (Policy Violation) when it passes, at once if it has. The earliest
    /// expiry set wins.
    pub fn expires_at(&self, at: SystemTime) {
        let mut expiry = self.expiry.lock().unwrap_or_else(|e| e.into_inner());
        if expiry.is_none_or(|set| at < set) {
            *expiry = Some(at);
        }
    }

    /// When the credential expires, if [`Connection::expires_at`] said.
    pub fn expiry(&self) -> Option<SystemTime> {
        *self.expiry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<M> Connection<M> {
    /// A connection without a socket, for driving an [`App`] directly (tests, fuzzing). What
    /// other connections queue for it, through its [`Outbox`], waits in the returned
    /// [`Detached`]; at most `max_bytes`, counted as the transport's `max_outbox_bytes`.
    pub fn detached(info: ConnectionInfo, max_bytes: usize) -> (Self, Detached) {
        let (outbox, receiver) = Outbox::new(info.id, max_bytes, Meter::unlimited());
        let queue = Arc::clone(&outbox.queue);
        let conn = Self::new(info, outbox);
        let detached = Detached {
            receiver,
            queue,
            closed: false,
        };
        (conn, detached)
    }

    pub(crate) fn new(info: ConnectionInfo, outbox: Outbox<M>) -> Self {
        Self {
            info: Arc::new(info),
            outbox,
            expiry: Mutex::new(None),
        }
    }
}

/// What other connections queued for a [detached](Connection::detached) connection.
#[derive(Debug)]
pub struct Detached {
    receiver: mpsc::UnboundedReceiver<Outgoing>,
    queue: Arc<Queue>,
    closed: bool,
}

impl Detached {
    /// The next queued frame: its JSON text, or the close another task asked for (a close
    /// asked for when the queue was full comes after what is queued). `None` when nothing is
    /// queued.
    pub fn try_next(&mut self) -> Option<Result<String, CloseWith>> {
        match self.receiver.try_recv() {
            Ok(Outgoing::Text(text, _)) => Some(Ok(text)),
            Ok(Outgoing::Close(with)) => Some(Err(with)),
            Err(_) if self.closed => None,
            Err(_) => {
                let with = self.queue.doorbell.close.get()?.clone();
                self.closed = true;
                Some(Err(with))
            }
        }
    }
}

fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Sends messages to a connection from other tasks. Sending never waits: a connection with
/// more than its `max_outbox_bytes` waiting (or for which the server's memory budget has no
/// room) is too slow to keep up and is closed.
pub struct Outbox<M> {
    pub(crate) id: u64,
    pub(crate) sender: mpsc::UnboundedSender<Outgoing>,
    pub(crate) queue: Arc<Queue>,
    pub(crate) message: PhantomData<fn(M)>,
}

/// What a connection's outboxes share: the bytes waiting, their limit, and the close asked
/// for out of band.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) doorbell: Doorbell,
    bytes: AtomicUsize,
    max_bytes: usize,
    meter: Arc<Meter>,
}

/// What a queued frame costs besides its text: the queue's own bookkeeping.
const QUEUED_FRAME_OVERHEAD: usize = 64;

impl<M> Outbox<M> {
    /// A connection's outbox, and what its task reads.
    pub(crate) fn new(
        id: u64,
        max_bytes: usize,
        meter: Arc<Meter>,
    ) -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let queue = Arc::new(Queue {
            doorbell: Doorbell::default(),
            bytes: AtomicUsize::new(0),
            max_bytes,
            meter,
        });
        let outbox = Self {
            id,
            sender,
            queue,
            message: PhantomData,
        };
        (outbox, receiver)
    }
}

impl<M> Clone for Outbox<M> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            sender: self.sender.clone(),
            queue: Arc::clone(&self.queue),
            message: PhantomData,
        }
    }
}

impl<M> fmt::Debug for Outbox<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("connection", &self.id)
            .finish()
    }
}

/// What other tasks queue for a connection.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A frame's text, and its place in the queue, given back once it is sent.
    Text(String, Queued),
    Close(CloseWith),
}

/// Bytes waiting in a connection's queue, given back when dropped.
#[derive(Debug)]
pub(crate) struct Queued {
    queue: Arc<Queue>,
    bytes: usize,
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.queue.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
        self.queue.meter.release(self.bytes);
    }
}

impl Queue {
    /// A place for `bytes` more: within the queue's limit (a frame alone in the queue always
    /// fits) and the server's budget. `None`, and the connection asked to close with 1013
    /// (Try Again Later), when there is none.
    fn reserve(self: &Arc<Self>, bytes: usize) -> Option<Queued> {
        let max = self.max_bytes;
        let fits = self
            .bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued == 0 || queued.saturating_add(bytes) <= max).then(|| queued + bytes)
            })
            .is_ok();
        if !fits {
            self.doorbell.ring(CloseWith::new(
                close_code::TRY_AGAIN_LATER,
                "too slow to keep up",
            ));
            return None;
        }
        if !self.meter.charge(bytes) {
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.doorbell.ring(CloseWith::new(
                close_code::TRY_AGAIN_LATER,
                "server busy: try again later",
            ));
            return None;
        }
        Some(Queued {
            queue: Arc::clone(self),
            bytes,
        })
    }
}

/// The connection is gone (or too slow): the message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

impl fmt::Display for Gone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the connection is closed or too slow")
    }
}

impl std::error::Error for Gone {}

impl<M: Serialize> Outbox<M> {
    /// The connection this outbox sends to.
    pub fn connection(&self) -> u64 {
        self.id
    }

    /// Queues a message for the connection. A connection with more than `max_outbox_bytes`
    /// waiting is too slow to keep up: it is asked to close with 1013 (Try Again Later), and
    /// `Gone` returned; likewise when the server's memory budget has no room for it. `Gone`
    /// too when the message cannot be serialised.
    pub fn send(&self, message: &M) -> Result<(), Gone> {
        if self.sender.is_closed() {
            return Err(Gone);
        }
        let text = serde_json::to_string(message).map_err(|_| Gone)?;
        let queued = self
            .queue
            .reserve(text.len() + QUEUED_FRAME_OVERHEAD)
            .ok_or(Gone)?;
        self.sender
            .send(Outgoing::Text(text, queued))
            .map_err(|_| Gone)
    }

    /// Asks the connection's task to close it, after the frames already queued.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        let _ = self
            .sender
            .send(Outgoing::Close(CloseWith::new(code, reason)));
    }
}

/// A close asked for out of band, when a connection's queue has no room for it. The first
/// one asked for wins.
#[derive(Debug, Default)]
pub(crate) struct Doorbell {
    close: OnceLock<CloseWith>,
    bell: Notify,
}

impl Doorbell {
    pub(crate) fn ring(&self, with: CloseWith) {
        if self.close.set(with).is_ok() {
            self.bell.notify_one();
        }
    }

    /// The close asked for, once it has been.
    pub(crate) async fn rung(&self) -> CloseWith {
        loop {
            if let Some(with) = self.close.get() {
                return with.clone();
            }
            self.bell.notified().await;
        }
    }
}

/// Close reasons are limited to 123 bytes by the WebSocket protocol.
fn truncate_reason(mut reason: String) -> String {
    if reason.len() > 123 {
        let mut cut = 123;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64) -> ConnectionInfo {
        ConnectionInfo {
            id,
            peer: "127.0.0.1:1".parse().unwrap(),
            path: "/ws".into(),
            params: Vec::new(),
            query: vec![("token".into(), "t".into())],
            cookies: Vec::new(),
        }
    }

    #[tokio::test]
    async fn replies_collect_their_messages_and_close() {
        let (messages, close) = Reply::<u32>::stream(futures_util::stream::iter([1, 2, 3]))
            .then_close(1008, "bye")
            .collect()
            .await;
        assert_eq!(messages, [1, 2, 3]);
        assert_eq!(close.unwrap().code, 1008);
        assert_eq!(
            Reply::<u32>::many(vec![4, 5]).collect().await,
            (vec![4, 5], None)
        );
        assert_eq!(Reply::<u32>::none().collect().await, (vec![], None));
    }

    #[test]
    fn connection_info_shows_no_query_or_cookie_values() {
        let mut info = info(1);
        info.query = vec![("token".into(), "s3cret-token".into())];
        info.cookies = vec![("access_token".into(), "s3cret-cookie".into())];
        let (conn, _) = Connection::<u32>::detached(info, 1);
        let shown = format!("{conn:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("token=…"), "{shown}");
        assert!(shown.contains("access_token=…"), "{shown}");
    }

    #[tokio::test]
    async fn detached_connections_queue_what_others_send() {
        // Room for two one-byte frames.
        let (conn, mut queued) =
            Connection::<u32>::detached(info(7), 2 * (1 + QUEUED_FRAME_OVERHEAD));
        assert_eq!(conn.id(), 7);
        assert_eq!(conn.query("token"), Some("t"));
        let outbox = conn.outbox();
        assert_eq!(queued.try_next(), None);
        outbox.send(&1).unwrap();
        outbox.send(&2).unwrap();
        // Full: too slow.
        assert_eq!(outbox.send(&3), Err(Gone));
        assert_eq!(queued.try_next(), Some(Ok("1".to_string())));
        assert_eq!(queued.try_next(), Some(Ok("2".to_string())));
        outbox.close(1000, "done");
        assert_eq!(queued.try_next().unwrap().unwrap_err().code, 1000);
    }
}

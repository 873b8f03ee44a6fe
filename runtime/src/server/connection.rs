//! One connection's task: limits, keep-alive, idle timeout, relays, and the app's replies.
//!
//! The app handles one message at a time, and a streamed reply is sent before the next message
//! is handled, so that replies keep the order of the messages they answer. While a handler runs
//! or a stream is under way the task still watches everything else: shutdown, the idle
//! timeout, keep-alive pings, frames other connections queue, and the client (it reads at most
//! one message ahead, and sees the client close). A connection that authenticates with its first
//! message must send it within `auth_timeout`.
//!
//! What the connection holds is charged to the server's memory budget: each message from the
//! client from its first byte (by the socket, see `metered`) until it has been handled, and
//! each reply while it is written. A reply longer than [`OUT_FRAGMENT_BYTES`] goes out in
//! fragments of that size, so that tungstenite's write buffer stays small.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Bytes, Message};

use super::app::{
    App, CloseWith, Connection, ConnectionInfo, Frames, Outbox, Outgoing, Problem, Queue, Reply,
};
use super::budget::{Held, Meter};
use super::close_code;
use super::config::ServerConfig;
use super::metered::{Metered, Refused};
use super::shared::Shared;

type Socket = WebSocketStream<Metered>;

/// The longest frame the server sends: longer messages go out in fragments.
pub(crate) const OUT_FRAGMENT_BYTES: usize = 16 * 1024;

/// A streamed reply under way.
type Streaming<M> = Pin<Box<dyn Stream<Item = M> + Send>>;

/// How long a closing connection waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Why the loop ended.
enum End {
    /// The socket failed: nothing more to send.
    Gone,
    /// The client closed: the WebSocket layer has queued the answer to its close frame.
    ClientClosed,
    /// The server closes with this code and reason.
    Close(CloseWith),
}

/// A message read from the client and not yet handled, and the bytes charged for it.
enum Input {
    Text(String, Option<Held>),
    Problem(Problem),
}

/// How a connection writes: its time limit and its share of the memory budget.
struct Writer {
    limit: Duration,
    meter: Arc<Meter>,
}

pub(crate) async fn run<A: App>(
    mut ws: Socket,
    info: ConnectionInfo,
    meter: Arc<Meter>,
    shared: &Arc<Shared<A>>,
    stopping: watch::Receiver<bool>,
) {
    let config = &shared.config;
    let writer = Writer {
        limit: config.send_timeout,
        meter: Arc::clone(&meter),
    };
    let (outbox, inbox) = Outbox::new(info.id, config.max_outbox_bytes, meter);
    let queue = Arc::clone(&outbox.queue);
    let conn = Connection::new(info, outbox);
    let (mut state, greeting) = match shared.app.open(&conn).await {
        Ok(opened) => opened,
        Err(refusal) => {
            let mut sent = None;
            for message in refusal.messages {
                if sent.is_none() {
                    sent = send(&mut ws, &message, &writer).await;
                }
            }
            if sent.is_none() {
                close(&mut ws, refusal.close, writer.limit).await;
            }
            return;
        }
    };
    let mut reader = Reader::new(config);
    let mut live = Live::new(config, inbox, queue, stopping);
    live.expire_at(conn.expiry());
    // A message read ahead while the previous one is handled or its stream sent.
    let mut ahead: Option<Input> = None;
    // The stream being sent, and the close that follows it.
    let mut streaming: Option<(Streaming<A::Out>, Option<CloseWith>)> = None;

    // The credential of first-message authentication must arrive by then.
    let auth_deadline = tokio::time::sleep_until(after(config.auth_timeout));
    tokio::pin!(auth_deadline);

    let mut end = start_reply(&mut ws, greeting, &writer, &mut streaming).await;
    while end.is_none() {
        if streaming.is_none()
            && let Some(input) = ahead.take()
        {
            let handling = async {
                match input {
                    Input::Text(text, held) => {
                        let reply = shared.app.text(&mut state, text, &conn).await;
                        drop(held);
                        reply
                    }
                    Input::Problem(problem) => shared.app.problem(&mut state, problem, &conn).await,
                }
            };
            tokio::pin!(handling);
            let reply = loop {
                tokio::select! {
                    reply = &mut handling => break Ok(reply),
                    incoming = ws.next(), if ahead.is_none() => match reader.read(incoming, ws.get_mut(), &mut live) {
                        Ok(input) => ahead = input,
                        Err(stop) => break Err(stop),
                    },
                    wake = live.wake() => if let Some(stop) = on_wake(&mut ws, wake, &writer).await {
                        break Err(stop);
                    },
                }
            };
            live.expire_at(conn.expiry());
            end = match reply {
                Ok(reply) => start_reply(&mut ws, reply, &writer, &mut streaming).await,
                Err(stop) => Some(stop),
            };
            continue;
        }
        end = tokio::select! {
            item = next_item(&mut streaming) => match item {
                Some(message) => send(&mut ws, &message, &writer).await,
                // The stream is over: the close that follows it, if any.
                None => streaming.take().and_then(|(_, close)| close).map(End::Close),
            },
            incoming = ws.next(), if ahead.is_none() => match reader.read(incoming, ws.get_mut(), &mut live) {
                Ok(input) => {
                    ahead = input;
                    None
                }
                Err(stop) => Some(stop),
            },
            wake = live.wake() => on_wake(&mut ws, wake, &writer).await,
            // A frame read is handled first: it may be the credential.
            () = &mut auth_deadline, if ahead.is_none()
                && streaming.is_none()
                && shared.app.awaiting_credential(&state) =>
            {
                let reply = shared.app.auth_timed_out(&mut state, &conn).await;
                let reply = if reply.closes() {
                    reply
                } else {
                    reply.then_close(close_code::POLICY_VIOLATION, "authentication timed out")
                };
                start_reply(&mut ws, reply, &writer, &mut streaming).await
            }
        };
    }
    match end {
        Some(End::Close(with)) => close(&mut ws, with, writer.limit).await,
        Some(End::ClientClosed) => answer_close(&mut ws).await,
        Some(End::Gone) | None => {}
    }
    // Dropped before the app closes the connection: a stream's own resources go first.
    drop(streaming);
    shared.app.close(state, &conn).await;
}

/// Reads the client's messages: the rate limits, the size limit, the idle timer.
struct Reader {
    limiter: Option<DefaultDirectRateLimiter>,
    control: Option<DefaultDirectRateLimiter>,
    max_message_bytes: usize,
}

fn limiter(limit: Option<super::RateLimit>) -> Option<DefaultDirectRateLimiter> {
    limit.map(|limit| {
        RateLimiter::direct(Quota::per_second(limit.per_second).allow_burst(limit.burst))
    })
}

impl Reader {
    fn new(config: &ServerConfig) -> Self {
        Self {
            limiter: limiter(config.rate_limit),
            control: limiter(config.control_rate_limit),
            max_message_bytes: config.max_message_bytes,
        }
    }

    /// What a frame from the client asks of the app, if anything; `Err` when the connection ends.
    fn read(
        &mut self,
        incoming: Option<Result<Message, tungstenite::Error>>,
        socket: &mut Metered,
        live: &mut Live,
    ) -> Result<Option<Input>, End> {
        let message = match incoming {
            Some(Ok(message)) => message,
            Some(Err(error)) => return Err(failed(&error)),
            None => return Err(End::Gone),
        };
        let bytes = match &message {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
            Message::Close(_) => return Err(End::ClientClosed),
            // Pings are answered by the WebSocket layer; pongs only prove the peer is there.
            // Each costs a write or a wakeup: beyond their own rate limit, an abuse.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {
                if self.control.as_ref().is_some_and(|l| l.check().is_err()) {
                    return Err(End::Close(CloseWith::new(
                        close_code::POLICY_VIOLATION,
                        "too many control frames",
                    )));
                }
                return Ok(None);
            }
        };
        let held = socket.take_message_charge();
        live.reset_idle();
        // Every message counts against the rate limit, refused ones included.
        let problem = if self.limiter.as_ref().is_some_and(|l| l.check().is_err()) {
            Some(Problem::RateLimited)
        } else if bytes > self.max_message_bytes {
            Some(Problem::TooLarge {
                bytes,
                limit: self.max_message_bytes,
            })
        } else {
            None
        };
        Ok(Some(match (problem, message) {
            (Some(problem), _) => Input::Problem(problem),
            (None, Message::Text(text)) => Input::Text(into_string(text), held),
            (None, _) => Input::Problem(Problem::Binary { bytes }),
        }))
    }
}

/// A text message's text, without copying it when tungstenite assembled it in a buffer of its
/// own (a message that came in fragments, large ones among them).
fn into_string(text: tungstenite::Utf8Bytes) -> String {
    let bytes = Vec::from(Bytes::from(text));
    // tungstenite checked that it is UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// How the connection ends when reading fails: with the close code RFC 6455 gives for what the
/// client did, or without a word when the socket is gone.
fn failed(error: &tungstenite::Error) -> End {
    let close = |code, reason: &str| End::Close(CloseWith::new(code, reason));
    match error {
        tungstenite::Error::Capacity(_) => close(close_code::MESSAGE_TOO_BIG, "message too big"),
        tungstenite::Error::Io(io) => match Refused::of(io) {
            Some(why @ Refused::TooBig) => close(close_code::MESSAGE_TOO_BIG, &why.to_string()),
            Some(why @ Refused::Busy) => close(close_code::TRY_AGAIN_LATER, &why.to_string()),
            Some(why @ Refused::Protocol(_)) => close(close_code::PROTOCOL_ERROR, &why.to_string()),
            None => End::Gone,
        },
        tungstenite::Error::Utf8(_) => close(close_code::INVALID_PAYLOAD, "invalid UTF-8"),
        tungstenite::Error::Protocol(
            ProtocolError::ResetWithoutClosingHandshake | ProtocolError::HandshakeIncomplete,
        ) => End::Gone,
        tungstenite::Error::Protocol(error) => {
            close(close_code::PROTOCOL_ERROR, &error.to_string())
        }
        _ => End::Gone,
    }
}

/// What the task watches besides the client and the work at hand.
struct Live {
    inbox: mpsc::UnboundedReceiver<Outgoing>,
    queue: Arc<Queue>,
    ping: Option<Interval>,
    idle: Option<Duration>,
    idle_deadline: Pin<Box<Sleep>>,
    /// When the connection's credential expires, and that instant as a timer.
    expiry: Option<(SystemTime, Pin<Box<Sleep>>)>,
    stopping: watch::Receiver<bool>,
}

/// Something the task must act on.
enum Wake {
    Queued(Outgoing),
    Ping,
    Idle,
    Expired,
    Stopping,
}

impl Live {
    fn new(
        config: &ServerConfig,
        inbox: mpsc::UnboundedReceiver<Outgoing>,
        queue: Arc<Queue>,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        let ping = config.ping().map(|every| {
            let mut interval = tokio::time::interval_at(after(every), every);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        let idle = config.idle();
        let idle_deadline = Box::pin(tokio::time::sleep_until(after(
            idle.unwrap_or(Duration::MAX),
        )));
        Self {
            inbox,
            queue,
            ping,
            idle,
            idle_deadline,
            expiry: None,
            stopping,
        }
    }

    /// Watches for the credential's expiry, once the app has said when it is.
    fn expire_at(&mut self, at: Option<SystemTime>) {
        let Some(at) = at else { return };
        if self.expiry.as_ref().is_some_and(|(set, _)| *set == at) {
            return;
        }
        let left = at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        self.expiry = Some((at, Box::pin(tokio::time::sleep_until(after(left)))));
    }

    fn reset_idle(&mut self) {
        if let Some(idle) = self.idle {
            self.idle_deadline.as_mut().reset(after(idle));
        }
    }

    /// The next thing to act on.
    async fn wake(&mut self) -> Wake {
        tokio::select! {
            // The connection holds a sender of its own queue, which therefore never ends.
            Some(queued) = self.inbox.recv() => Wake::Queued(queued),
            // A close asked for when the queue was full.
            with = self.queue.doorbell.rung() => Wake::Queued(Outgoing::Close(with)),
            () = tick(&mut self.ping) => Wake::Ping,
            () = &mut self.idle_deadline, if self.idle.is_some() => Wake::Idle,
            () = expired(&mut self.expiry) => Wake::Expired,
            // A dropped sender means the server is gone too.
            _ = self.stopping.changed() => Wake::Stopping,
        }
    }
}

/// Acts on a wake; `Some` when the connection ends.
async fn on_wake(ws: &mut Socket, wake: Wake, writer: &Writer) -> Option<End> {
    match wake {
        Wake::Queued(Outgoing::Text(text, queued)) => {
            // Charged while queued; written now, and given back once written.
            let sent = write(writer.limit, write_text(ws, text)).await;
            drop(queued);
            (!sent).then_some(End::Gone)
        }
        Wake::Queued(Outgoing::Close(with)) => Some(End::Close(with)),
        Wake::Ping => {
            (!write(writer.limit, ws.send(Message::Ping(Bytes::new()))).await).then_some(End::Gone)
        }
        Wake::Idle => Some(End::Close(CloseWith::new(
            close_code::GOING_AWAY,
            "idle timeout",
        ))),
        Wake::Expired => Some(End::Close(CloseWith::new(
            close_code::POLICY_VIOLATION,
            "credentials expired",
        ))),
        Wake::Stopping => Some(End::Close(CloseWith::new(
            close_code::GOING_AWAY,
            "server shutting down",
        ))),
    }
}

/// Sends a reply's messages, or keeps its stream in `streaming` to be sent as it comes; `Some`
/// when the connection ends.
async fn start_reply<M: Serialize + Send + 'static>(
    ws: &mut Socket,
    reply: Reply<M>,
    writer: &Writer,
    streaming: &mut Option<(Streaming<M>, Option<CloseWith>)>,
) -> Option<End> {
    let (frames, close_with) = reply.into_parts();
    let ended = match frames {
        Frames::None => None,
        Frames::List(messages) => {
            let texts: Vec<String> = messages
                .iter()
                .filter_map(|m| serde_json::to_string(m).ok())
                .collect();
            let bytes = texts.iter().map(String::len).sum();
            match writer.meter.hold(bytes) {
                None => Some(busy()),
                Some(held) => {
                    let sent = write(writer.limit, async {
                        for text in texts {
                            feed_text(ws, text).await?;
                        }
                        ws.flush().await
                    })
                    .await;
                    drop(held);
                    (!sent).then_some(End::Gone)
                }
            }
        }
        Frames::Stream(messages) => {
            *streaming = Some((messages, close_with));
            return None;
        }
    };
    match (ended, close_with) {
        (Some(end), _) => Some(end),
        (None, Some(with)) => Some(End::Close(with)),
        (None, None) => None,
    }
}

/// The next message of the stream under way; never, when there is none.
async fn next_item<M>(streaming: &mut Option<(Streaming<M>, Option<CloseWith>)>) -> Option<M> {
    match streaming {
        Some((stream, _)) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// Sends one message, charged while it is written; `Some` when the connection ends.
async fn send<M: Serialize>(ws: &mut Socket, message: &M, writer: &Writer) -> Option<End> {
    let Ok(text) = serde_json::to_string(message) else {
        return None;
    };
    let Some(held) = writer.meter.hold(text.len()) else {
        return Some(busy());
    };
    let sent = write(writer.limit, write_text(ws, text)).await;
    drop(held);
    (!sent).then_some(End::Gone)
}

/// The close for output the memory budget has no room for.
fn busy() -> End {
    End::Close(CloseWith::new(
        close_code::TRY_AGAIN_LATER,
        "server busy: try again later",
    ))
}

/// Writes a text message and flushes it.
async fn write_text(ws: &mut Socket, text: String) -> Result<(), tungstenite::Error> {
    feed_text(ws, text).await?;
    ws.flush().await
}

/// Queues a text message for writing: one frame, or fragments of at most
/// [`OUT_FRAGMENT_BYTES`] cut between characters.
async fn feed_text(ws: &mut Socket, text: String) -> Result<(), tungstenite::Error> {
    if text.len() <= OUT_FRAGMENT_BYTES {
        return ws.feed(Message::Text(text.into())).await;
    }
    let mut cuts = Vec::new();
    let mut at = 0;
    while text.len() - at > OUT_FRAGMENT_BYTES {
        let mut cut = at + OUT_FRAGMENT_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        cuts.push((at, cut));
        at = cut;
    }
    cuts.push((at, text.len()));
    let last = cuts.len() - 1;
    let bytes = Bytes::from(text.into_bytes());
    for (i, (from, to)) in cuts.into_iter().enumerate() {
        let opcode = if i == 0 { Data::Text } else { Data::Continue };
        let frame = Frame::message(bytes.slice(from..to), OpCode::Data(opcode), i == last);
        ws.feed(Message::Frame(frame)).await?;
    }
    Ok(())
}

/// Whether a write succeeded within `limit`. A client that stops reading leaves the write
/// pending once the socket buffers are full: past the limit it counts as gone.
async fn write<E>(limit: Duration, write: impl Future<Output = Result<(), E>>) -> bool {
    matches!(tokio::time::timeout(limit, write).await, Ok(Ok(())))
}

/// Sends a close frame and waits briefly for the client's, so that the close code arrives.
/// When reading failed (the socket refused a frame), what the client still sends is read and
/// dropped instead, briefly, so that the close frame is not lost to a reset.
async fn close(ws: &mut Socket, with: CloseWith, limit: Duration) {
    let frame = CloseFrame {
        code: CloseCode::from(with.code),
        reason: with.reason.into(),
    };
    if write(limit, ws.send(Message::Close(Some(frame)))).await {
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            if ws.get_ref().refused().is_some() {
                ws.get_mut().discard(CLOSE_DISCARD_BYTES).await;
            } else {
                // A few frames may still come before the client's close; a flood need not be
                // read to its end.
                let mut frames = 0;
                while let Some(Ok(_)) = ws.next().await {
                    frames += 1;
                    if frames > CLOSE_READ_FRAMES {
                        break;
                    }
                }
            }
        })
        .await;
    }
}

/// The most frames a closing connection reads while it waits for the client's close frame.
const CLOSE_READ_FRAMES: usize = 64;

/// The most a closing connection reads and drops after a refusal: enough for the client to
/// finish a write and read the close frame, not enough to spend the server's time on a flood.
const CLOSE_DISCARD_BYTES: usize = 256 * 1024;

/// Sends the answer to the client's close frame, which the WebSocket layer queued and sends on
/// the next read or flush: reading on until the end of the stream (briefly) sends it, so that
/// the client sees a closing handshake and not a reset.
async fn answer_close(ws: &mut Socket) {
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// The credential's expiry, or never.
async fn expired(expiry: &mut Option<(SystemTime, Pin<Box<Sleep>>)>) {
    match expiry {
        Some((_, sleep)) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// The next keep-alive tick, or never.
async fn tick(ping: &mut Option<Interval>) {
    match ping {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// The instant `duration` from now, or one that never comes (about 30 years away, as tokio's
/// own) when that is beyond what an `Instant` holds: a configured duration of `u64::MAX`
/// seconds means never, not a panic.
fn after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}

//! One connection's task: limits, keep-alive, idle timeout, relays, and the app's replies.
//!
//! The app handles one message at a time, and a streamed reply is sent before the next message
//! is handled, so that replies keep the order of the messages they answer. While a handler runs
//! or a stream is under way the task still watches everything else: shutdown, the idle
//! timeout, keep-alive pings, frames other connections queue, and the client (it reads at most
//! one message ahead, and sees the client close). A connection that authenticates with its first
//! message must send it within `auth_timeout`.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use super::app::{
    App, CloseWith, Connection, ConnectionInfo, Doorbell, Frames, Outbox, Outgoing, Problem, Reply,
};
use super::close_code;
use super::config::ServerConfig;
use super::shared::Shared;

type Socket = WebSocketStream<TcpStream>;

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

/// A message read from the client and not yet handled.
enum Input {
    Text(String),
    Problem(Problem),
}

pub(crate) async fn run<A: App>(
    mut ws: Socket,
    info: ConnectionInfo,
    shared: &Arc<Shared<A>>,
    stopping: watch::Receiver<bool>,
) {
    let config = &shared.config;
    let limit = config.send_timeout;
    let (outbox, inbox) = Outbox::new(info.id, config.outbox_capacity);
    let doorbell = Arc::clone(&outbox.doorbell);
    let conn = Connection {
        info: Arc::new(info),
        outbox,
    };
    let (mut state, greeting) = match shared.app.open(&conn).await {
        Ok(opened) => opened,
        Err(refusal) => {
            let mut sent = true;
            for message in refusal.messages {
                sent = sent && send(&mut ws, &message, limit).await;
            }
            if sent {
                close(&mut ws, refusal.close, limit).await;
            }
            return;
        }
    };
    let mut reader = Reader::new(config);
    let mut live = Live::new(config, inbox, doorbell, stopping);
    // A message read ahead while the previous one is handled or its stream sent.
    let mut ahead: Option<Input> = None;
    // The stream being sent, and the close that follows it.
    let mut streaming: Option<(Streaming<A::Out>, Option<CloseWith>)> = None;

    // The credential of first-message authentication must arrive by then.
    let auth_deadline = tokio::time::sleep_until(after(config.auth_timeout));
    tokio::pin!(auth_deadline);

    let mut end = start_reply(&mut ws, greeting, limit, &mut streaming).await;
    while end.is_none() {
        if streaming.is_none()
            && let Some(input) = ahead.take()
        {
            let handling = async {
                match input {
                    Input::Text(text) => shared.app.text(&mut state, text, &conn).await,
                    Input::Problem(problem) => shared.app.problem(&mut state, problem, &conn).await,
                }
            };
            tokio::pin!(handling);
            let reply = loop {
                tokio::select! {
                    reply = &mut handling => break Ok(reply),
                    incoming = ws.next(), if ahead.is_none() => match reader.read(incoming, &mut live) {
                        Ok(input) => ahead = input,
                        Err(stop) => break Err(stop),
                    },
                    wake = live.wake() => if let Some(stop) = on_wake(&mut ws, wake, limit).await {
                        break Err(stop);
                    },
                }
            };
            end = match reply {
                Ok(reply) => start_reply(&mut ws, reply, limit, &mut streaming).await,
                Err(stop) => Some(stop),
            };
            continue;
        }
        end = tokio::select! {
            item = next_item(&mut streaming) => match item {
                Some(message) => (!send(&mut ws, &message, limit).await).then_some(End::Gone),
                // The stream is over: the close that follows it, if any.
                None => streaming.take().and_then(|(_, close)| close).map(End::Close),
            },
            incoming = ws.next(), if ahead.is_none() => match reader.read(incoming, &mut live) {
                Ok(input) => {
                    ahead = input;
                    None
                }
                Err(stop) => Some(stop),
            },
            wake = live.wake() => on_wake(&mut ws, wake, limit).await,
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
                start_reply(&mut ws, reply, limit, &mut streaming).await
            }
        };
    }
    match end {
        Some(End::Close(with)) => close(&mut ws, with, limit).await,
        Some(End::ClientClosed) => answer_close(&mut ws).await,
        Some(End::Gone) | None => {}
    }
    // Dropped before the app closes the connection: a stream's own resources go first.
    drop(streaming);
    shared.app.close(state, &conn).await;
}

/// Reads the client's messages: the rate limit, the size limit, the idle timer.
struct Reader {
    limiter: Option<DefaultDirectRateLimiter>,
    max_message_bytes: usize,
}

impl Reader {
    fn new(config: &ServerConfig) -> Self {
        Self {
            limiter: config.rate_limit.map(|limit| {
                RateLimiter::direct(Quota::per_second(limit.per_second).allow_burst(limit.burst))
            }),
            max_message_bytes: config.max_message_bytes,
        }
    }

    /// What a frame from the client asks of the app, if anything; `Err` when the connection ends.
    fn read(
        &mut self,
        incoming: Option<Result<Message, tungstenite::Error>>,
        live: &mut Live,
    ) -> Result<Option<Input>, End> {
        let message = match incoming {
            Some(Ok(message)) => message,
            Some(Err(tungstenite::Error::Capacity(_))) => {
                return Err(End::Close(CloseWith::new(
                    close_code::MESSAGE_TOO_BIG,
                    "message too big",
                )));
            }
            Some(Err(_)) | None => return Err(End::Gone),
        };
        let bytes = match &message {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
            Message::Close(_) => return Err(End::ClientClosed),
            // Pings are answered by the WebSocket layer; pongs only prove the peer is there.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(None),
        };
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
            (None, Message::Text(text)) => Input::Text(text.as_str().to_owned()),
            (None, _) => Input::Problem(Problem::Binary { bytes }),
        }))
    }
}

/// What the task watches besides the client and the work at hand.
struct Live {
    inbox: mpsc::Receiver<Outgoing>,
    doorbell: Arc<Doorbell>,
    ping: Option<Interval>,
    idle: Option<Duration>,
    idle_deadline: Pin<Box<Sleep>>,
    stopping: watch::Receiver<bool>,
}

/// Something the task must act on.
enum Wake {
    Queued(Outgoing),
    Ping,
    Idle,
    Stopping,
}

impl Live {
    fn new(
        config: &ServerConfig,
        inbox: mpsc::Receiver<Outgoing>,
        doorbell: Arc<Doorbell>,
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
            doorbell,
            ping,
            idle,
            idle_deadline,
            stopping,
        }
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
            with = self.doorbell.rung() => Wake::Queued(Outgoing::Close(with)),
            () = tick(&mut self.ping) => Wake::Ping,
            () = &mut self.idle_deadline, if self.idle.is_some() => Wake::Idle,
            // A dropped sender means the server is gone too.
            _ = self.stopping.changed() => Wake::Stopping,
        }
    }
}

/// Acts on a wake; `Some` when the connection ends.
async fn on_wake(ws: &mut Socket, wake: Wake, limit: Duration) -> Option<End> {
    match wake {
        Wake::Queued(Outgoing::Text(text)) => {
            (!send_text(ws, text, limit).await).then_some(End::Gone)
        }
        Wake::Queued(Outgoing::Close(with)) => Some(End::Close(with)),
        Wake::Ping => {
            (!write(limit, ws.send(Message::Ping(Vec::new().into()))).await).then_some(End::Gone)
        }
        Wake::Idle => Some(End::Close(CloseWith::new(
            close_code::GOING_AWAY,
            "idle timeout",
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
    limit: Duration,
    streaming: &mut Option<(Streaming<M>, Option<CloseWith>)>,
) -> Option<End> {
    let (frames, close_with) = reply.into_parts();
    let sent = match frames {
        Frames::None => true,
        Frames::List(messages) => {
            let texts: Vec<String> = messages
                .iter()
                .filter_map(|m| serde_json::to_string(m).ok())
                .collect();
            let mut ok = true;
            for text in texts {
                if !write(limit, ws.feed(Message::Text(text.into()))).await {
                    ok = false;
                    break;
                }
            }
            ok && write(limit, ws.flush()).await
        }
        Frames::Stream(messages) => {
            *streaming = Some((messages, close_with));
            return None;
        }
    };
    match (sent, close_with) {
        (false, _) => Some(End::Gone),
        (true, Some(with)) => Some(End::Close(with)),
        (true, None) => None,
    }
}

/// The next message of the stream under way; never, when there is none.
async fn next_item<M>(streaming: &mut Option<(Streaming<M>, Option<CloseWith>)>) -> Option<M> {
    match streaming {
        Some((stream, _)) => stream.next().await,
        None => std::future::pending().await,
    }
}

async fn send<M: Serialize>(ws: &mut Socket, message: &M, limit: Duration) -> bool {
    let text = serde_json::to_string(message);
    match text {
        Ok(text) => send_text(ws, text, limit).await,
        Err(_) => true,
    }
}

async fn send_text(ws: &mut Socket, text: String, limit: Duration) -> bool {
    write(limit, ws.send(Message::Text(text.into()))).await
}

/// Whether a write succeeded within `limit`. A client that stops reading leaves the write
/// pending once the socket buffers are full: past the limit it counts as gone.
async fn write<E>(limit: Duration, write: impl Future<Output = Result<(), E>>) -> bool {
    matches!(tokio::time::timeout(limit, write).await, Ok(Ok(())))
}

/// Sends a close frame and waits briefly for the client's, so that the close code arrives.
async fn close(ws: &mut Socket, with: CloseWith, limit: Duration) {
    let frame = CloseFrame {
        code: CloseCode::from(with.code),
        reason: with.reason.into(),
    };
    if write(limit, ws.send(Message::Close(Some(frame)))).await {
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    }
}

/// Sends the answer to the client's close frame, which the WebSocket layer queued and sends on
/// the next read or flush: reading on until the end of the stream (briefly) sends it, so that
/// the client sees a closing handshake and not a reset.
async fn answer_close(ws: &mut Socket) {
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
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

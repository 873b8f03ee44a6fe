//! One connection's task: limits, keep-alive, idle timeout, relays, and the app's replies.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::accept::Shared;
use super::app::{
    App, CloseWith, Connection, ConnectionInfo, Frames, Outbox, Outgoing, Problem, Reply,
};
use super::close_code;

type Socket = WebSocketStream<TcpStream>;

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

pub(crate) async fn run<A: App>(
    mut ws: Socket,
    info: ConnectionInfo,
    shared: &Arc<Shared<A>>,
    mut stopping: watch::Receiver<bool>,
) {
    let config = &shared.config;
    let (sender, mut inbox) = mpsc::channel(config.outbox_capacity.max(1));
    let outbox = Outbox {
        id: info.id,
        sender,
        message: PhantomData,
    };
    let conn = Connection {
        info: Arc::new(info),
        outbox,
    };
    let (mut state, greeting) = match shared.app.open(&conn).await {
        Ok(opened) => opened,
        Err(refusal) => {
            let limit = config.send_timeout;
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
    let limiter: Option<DefaultDirectRateLimiter> = config.rate_limit.map(|limit| {
        RateLimiter::direct(Quota::per_second(limit.per_second).allow_burst(limit.burst))
    });
    let mut ping = config.ping_interval.map(|every| {
        let mut interval = tokio::time::interval_at(Instant::now() + every, every);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        interval
    });
    let idle = config.idle_timeout;
    let idle_deadline = tokio::time::sleep(idle.unwrap_or(Duration::from_secs(3600 * 24 * 365)));
    tokio::pin!(idle_deadline);

    let limit = config.send_timeout;
    let mut end = deliver(&mut ws, greeting, limit).await;
    while end.is_none() {
        end = tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    reset(&mut idle_deadline, idle);
                    // Every message counts against the rate limit, refused ones included.
                    let problem = if over_rate(&limiter) {
                        Some(Problem::RateLimited)
                    } else if text.len() > config.max_message_bytes {
                        Some(Problem::TooLarge { bytes: text.len(), limit: config.max_message_bytes })
                    } else {
                        None
                    };
                    let reply = match problem {
                        Some(problem) => shared.app.problem(&mut state, problem, &conn).await,
                        None => shared.app.text(&mut state, text.as_str().to_owned(), &conn).await,
                    };
                    deliver(&mut ws, reply, limit).await
                }
                Some(Ok(Message::Binary(bytes))) => {
                    reset(&mut idle_deadline, idle);
                    let problem = if over_rate(&limiter) {
                        Problem::RateLimited
                    } else if bytes.len() > config.max_message_bytes {
                        Problem::TooLarge { bytes: bytes.len(), limit: config.max_message_bytes }
                    } else {
                        Problem::Binary { bytes: bytes.len() }
                    };
                    let reply = shared.app.problem(&mut state, problem, &conn).await;
                    deliver(&mut ws, reply, limit).await
                }
                // Pings are answered by the WebSocket layer; pongs only prove the peer is there.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => None,
                Some(Ok(Message::Close(_))) => Some(End::ClientClosed),
                None => Some(End::Gone),
                Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                    Some(End::Close(CloseWith { code: close_code::MESSAGE_TOO_BIG, reason: "message too big".into() }))
                }
                Some(Err(_)) => Some(End::Gone),
            },
            queued = inbox.recv() => match queued {
                Some(Outgoing::Text(text)) => (!send_text(&mut ws, text, limit).await).then_some(End::Gone),
                Some(Outgoing::Close(with)) => Some(End::Close(with)),
                None => None,
            },
            _ = tick(&mut ping) => (!write(limit, ws.send(Message::Ping(Vec::new().into()))).await).then_some(End::Gone),
            () = &mut idle_deadline, if idle.is_some() => {
                Some(End::Close(CloseWith { code: close_code::GOING_AWAY, reason: "idle timeout".into() }))
            }
            _ = stopping.changed() => {
                Some(End::Close(CloseWith { code: close_code::GOING_AWAY, reason: "server shutting down".into() }))
            }
        };
    }
    match end {
        Some(End::Close(with)) => close(&mut ws, with, limit).await,
        Some(End::ClientClosed) => answer_close(&mut ws).await,
        Some(End::Gone) | None => {}
    }
    shared.app.close(state, &conn).await;
}

/// Sends a reply; `Some` when the connection ends.
async fn deliver<M: Serialize>(ws: &mut Socket, reply: Reply<M>, limit: Duration) -> Option<End> {
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
        Frames::Stream(mut messages) => {
            let mut ok = true;
            while let Some(message) = messages.next().await {
                if !send(ws, &message, limit).await {
                    ok = false;
                    break;
                }
            }
            ok
        }
    };
    match (sent, close_with) {
        (false, _) => Some(End::Gone),
        (true, Some(with)) => Some(End::Close(with)),
        (true, None) => None,
    }
}

async fn send<M: Serialize>(ws: &mut Socket, message: &M, limit: Duration) -> bool {
    // Serialised before any await, so that the future does not hold the message.
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

/// Takes a place under the rate limit; `true` when there is none left.
fn over_rate(limiter: &Option<DefaultDirectRateLimiter>) -> bool {
    limiter.as_ref().is_some_and(|l| l.check().is_err())
}

fn reset(deadline: &mut std::pin::Pin<&mut tokio::time::Sleep>, idle: Option<Duration>) {
    if let Some(idle) = idle {
        deadline.as_mut().reset(Instant::now() + idle);
    }
}

/// The next keep-alive tick, or never.
async fn tick(ping: &mut Option<tokio::time::Interval>) {
    match ping {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

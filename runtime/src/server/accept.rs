//! The accept loop: the global and per-IP connection limits, the handshake, and graceful
//! shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::app::{App, ConnectionInfo};
use super::config::ServerConfig;
use super::connection;
use super::endpoint::{PathTemplate, cookie_pairs, query_pairs};
use super::shared::Shared;

/// The read buffer of a connection. tungstenite's default, 128 KiB, is sized for bulk reads;
/// chat connections are many and mostly quiet, and with it each one held about 135 KiB once
/// connected (the load benchmark: 1,000 clients, 135 MiB; 19 MiB with 8 KiB, at a higher rate).
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Handshakes under way that end in a refusal (HTTP 503 or 429). Each waits for the client's
/// request, for at most `handshake_timeout`; beyond this many at once, a connection over a
/// limit is dropped without an answer, so that a server's tasks stay bounded by its
/// connection limit plus this.
pub const MAX_REFUSALS_IN_FLIGHT: usize = 128;

/// Serves `app` at the endpoint `path` (a template such as `/ws/ai/ai-chat/{client_id}`) on
/// `listener`, until `shutdown` completes; then closes every connection with 1001 (Going Away)
/// and waits for them, at most `config.shutdown_grace`.
///
/// A configuration that cannot work ([`ServerConfig::validate`]) is an error of kind
/// `InvalidInput`, before any connection is accepted. A listener that can accept nothing more
/// (not listening, not a socket) ends serving, gracefully, with an error naming its address;
/// other accept errors (out of file descriptors, a connection reset before it was accepted)
/// pause accepting for 50 ms.
pub async fn serve<A: App>(
    listener: TcpListener,
    path: &str,
    app: A,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    config.validate().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid server configuration: {e}"),
        )
    })?;
    let grace = config.shutdown_grace;
    let shared = Arc::new(Shared {
        app,
        config,
        template: PathTemplate::new(path),
        ips: Mutex::new(HashMap::new()),
        connections: AtomicUsize::new(0),
        refusals: AtomicUsize::new(0),
        next_id: AtomicU64::new(1),
    });
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut failure = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tasks.spawn(handle(stream, peer, Arc::clone(&shared), stopping.clone()));
                }
                Err(error) if listener_unusable(&error) => {
                    let at = listener
                        .local_addr()
                        .map_or_else(|_| "the listener".to_string(), |a| a.to_string());
                    failure = Some(io::Error::new(
                        error.kind(),
                        format!("cannot accept connections on {at}: {error}"),
                    ));
                    break;
                }
                // Out of file descriptors, a connection reset before it was accepted, and the
                // like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tasks.abort_all();
    }
    failure.map_or(Ok(()), Err)
}

/// Whether an accept error says the listener itself can accept nothing more (it is not
/// listening, or not a socket at all), rather than something about one connection or a
/// shortage that passes: `serve` then ends with it.
fn listener_unusable(error: &io::Error) -> bool {
    // EINVAL: not listening. EBADF and ENOTSOCK (Linux numbers): no socket.
    error.kind() == io::ErrorKind::InvalidInput
        || (cfg!(target_os = "linux") && matches!(error.raw_os_error(), Some(9 | 88)))
}

/// A place under the per-IP limit, given back when dropped.
struct IpSlot<A: App> {
    shared: Arc<Shared<A>>,
    ip: IpAddr,
}

impl<A: App> Drop for IpSlot<A> {
    fn drop(&mut self) {
        let mut ips = self.shared.ips.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = ips.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                ips.remove(&self.ip);
            }
        }
    }
}

/// A place under a count's limit (the global one, or that of refusals in flight), given back
/// when dropped.
struct Slot<A: App> {
    shared: Arc<Shared<A>>,
    count: fn(&Shared<A>) -> &AtomicUsize,
}

impl<A: App> Drop for Slot<A> {
    fn drop(&mut self) {
        (self.count)(&self.shared).fetch_sub(1, Ordering::AcqRel);
    }
}

fn take<A: App>(
    shared: &Arc<Shared<A>>,
    count: fn(&Shared<A>) -> &AtomicUsize,
    max: usize,
) -> Option<Slot<A>> {
    count(shared)
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then(|| n + 1)
        })
        .ok()?;
    Some(Slot {
        shared: Arc::clone(shared),
        count,
    })
}

fn take_slot<A: App>(shared: &Arc<Shared<A>>, ip: IpAddr) -> Option<IpSlot<A>> {
    let mut ips = shared.ips.lock().unwrap_or_else(|e| e.into_inner());
    let count = ips.entry(ip).or_insert(0);
    if shared
        .config
        .max_connections_per_ip
        .is_some_and(|max| *count >= max)
    {
        return None;
    }
    *count += 1;
    Some(IpSlot {
        shared: Arc::clone(shared),
        ip,
    })
}

async fn handle<A: App>(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared<A>>,
    stopping: watch::Receiver<bool>,
) {
    let max = shared.config.max_connections.unwrap_or(usize::MAX);
    let global = take(&shared, |s| &s.connections, max);
    let over_global_limit = global.is_none();
    // Not counted against its address when refused anyway.
    let slot = global.as_ref().and_then(|_| take_slot(&shared, peer.ip()));
    let over_limit = slot.is_none();
    // A refusal is answered only while few are under way: beyond, the connection is dropped
    // at once.
    let _refusal = if over_limit {
        match take(&shared, |s| &s.refusals, MAX_REFUSALS_IN_FLIGHT) {
            Some(refusal) => Some(refusal),
            None => return,
        }
    } else {
        None
    };
    let mut seen: Option<Handshake> = None;
    let template = &shared.template;
    // The error type is tungstenite's; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        if over_global_limit {
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many connections to this server",
            ));
        }
        if over_limit {
            return Err(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many connections from this address",
            ));
        }
        let uri = request.uri();
        let Some(params) = template.matches(uri.path()) else {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "no WebSocket endpoint at this path",
            ));
        };
        let query = uri.query().map(query_pairs).unwrap_or_default();
        let cookies = cookie_pairs(
            request
                .headers()
                .get_all("cookie")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        seen = Some(Handshake {
            path: uri.path().to_string(),
            params,
            query,
            cookies,
        });
        Ok(response)
    };
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(shared.config.hard_max_message_bytes))
        .max_frame_size(Some(shared.config.hard_max_message_bytes));
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config));
    let Ok(Ok(ws)) = tokio::time::timeout(shared.config.handshake_timeout, handshake).await else {
        return;
    };
    let Some(Handshake {
        path,
        params,
        query,
        cookies,
    }) = seen
    else {
        return;
    };
    let info = ConnectionInfo {
        id: shared.next_id.fetch_add(1, Ordering::Relaxed),
        peer,
        path,
        params,
        query,
        cookies,
    };
    connection::run(ws, info, &shared, stopping).await;
    drop(slot);
    drop(global);
}

/// What the handshake callback saw of the request.
struct Handshake {
    path: String,
    params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
}

fn refuse(status: StatusCode, why: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(why.to_string()));
    *response.status_mut() = status;
    response
}

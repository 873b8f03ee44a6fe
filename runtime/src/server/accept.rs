//! The accept loop: handshakes and connections admitted within their limits (`admission`), the
//! handshake, and graceful shutdown.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::admission::{Gate, Pass};
use super::app::{App, ConnectionInfo};
use super::budget::Meter;
use super::config::ServerConfig;
use super::connection;
use super::endpoint::{PathTemplate, cookie_pairs, query_pairs};
use super::metered::{Metered, PIECE_BYTES};
use super::shared::{ServerStats, Shared};

/// The read buffer of a connection. tungstenite's default, 128 KiB, is sized for bulk reads;
/// chat connections are many and mostly quiet, and with it each one held about 135 KiB once
/// connected (the load benchmark: 1,000 clients, 135 MiB; 19 MiB with 8 KiB, at a higher rate).
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Output gathered before it is written to the socket.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;

/// The most output tungstenite holds for a connection (its frames, fragments of at most
/// [`connection::OUT_FRAGMENT_BYTES`], and the pongs it queues by itself): beyond, writes fail
/// and the connection ends, so that a client that sends pings and reads nothing cannot grow it.
const MAX_WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// A server ready to run: [`Server::stats`] reads its figures while it does.
pub struct Server<A> {
    listener: TcpListener,
    shared: Arc<Shared<A>>,
}

impl<A> fmt::Debug for Server<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("stats", &self.shared.stats)
            .finish_non_exhaustive()
    }
}

impl<A: App> Server<A> {
    /// A server of `app` at the endpoint `path` (a template such as
    /// `/ws/ai/ai-chat/{client_id}`) on `listener`. A configuration that cannot work
    /// ([`ServerConfig::validate`]) is an error of kind `InvalidInput`.
    pub fn new(
        listener: TcpListener,
        path: &str,
        app: A,
        config: ServerConfig,
    ) -> io::Result<Self> {
        config.validate().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid server configuration: {e}"),
            )
        })?;
        let stats = ServerStats::new(config.memory_budget_bytes);
        let gate = Arc::new(Gate::new(stats.clone()));
        let shared = Arc::new(Shared {
            app,
            config,
            template: PathTemplate::new(path),
            gate,
            stats,
            next_id: AtomicU64::new(1),
        });
        Ok(Self { listener, shared })
    }

    /// The server's live figures.
    pub fn stats(&self) -> ServerStats {
        self.shared.stats.clone()
    }

    /// Serves until `shutdown` completes; then closes every connection with 1001 (Going Away)
    /// and waits for them, at most `config.shutdown_grace`.
    ///
    /// A listener that can accept nothing more (not listening, not a socket) ends serving,
    /// gracefully, with an error naming its address; other accept errors (out of file
    /// descriptors, a connection reset before it was accepted) pause accepting for 50 ms.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Self { listener, shared } = self;
        let grace = shared.config.shutdown_grace;
        let (stop, stopping) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut failure = None;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Beyond the handshake limits, closed at once: nothing read, no task.
                        let Some(handshake) = shared.gate.enter_handshake(peer.ip(), &shared.config) else {
                            continue;
                        };
                        let _ = stream.set_nodelay(true);
                        tasks.spawn(handle(stream, peer, handshake, Arc::clone(&shared), stopping.clone()));
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
}

/// Serves `app` at the endpoint `path` (a template such as `/ws/ai/ai-chat/{client_id}`) on
/// `listener`, until `shutdown` completes: [`Server::new`], then [`Server::run`].
pub async fn serve<A: App>(
    listener: TcpListener,
    path: &str,
    app: A,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    Server::new(listener, path, app, config)?
        .run(shutdown)
        .await
}

/// Whether an accept error says the listener itself can accept nothing more (it is not
/// listening, or not a socket at all), rather than something about one connection or a
/// shortage that passes: `serve` then ends with it.
fn listener_unusable(error: &io::Error) -> bool {
    // EINVAL: not listening. EBADF and ENOTSOCK (Linux numbers): no socket.
    error.kind() == io::ErrorKind::InvalidInput
        || (cfg!(target_os = "linux") && matches!(error.raw_os_error(), Some(9 | 88)))
}

async fn handle<A: App>(
    stream: TcpStream,
    peer: SocketAddr,
    handshake: Pass,
    shared: Arc<Shared<A>>,
    stopping: watch::Receiver<bool>,
) {
    // Over a connection limit, the handshake is answered with the refusal.
    let admitted = shared.gate.enter_connection(peer.ip(), &shared.config);
    let mut seen: Option<Handshake> = None;
    let template = &shared.template;
    // The error type is tungstenite's; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        match &admitted {
            Err(StatusCode::SERVICE_UNAVAILABLE) => {
                return Err(refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many connections to this server",
                ));
            }
            Err(status) => {
                return Err(refuse(*status, "too many connections from this address"));
            }
            Ok(_) => {}
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
    let config = &shared.config;
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(Some(config.hard_max_message_bytes))
        // The socket shows tungstenite no longer frame (see `metered`).
        .max_frame_size(Some(PIECE_BYTES.max(config.hard_max_message_bytes)));
    let meter = Meter::new(Arc::clone(shared.stats.budget()));
    let socket = Metered::new(stream, Arc::clone(&meter), config.hard_max_message_bytes);
    let handshaking =
        tokio_tungstenite::accept_hdr_async_with_config(socket, callback, Some(ws_config));
    let Ok(Ok(ws)) = tokio::time::timeout(config.handshake_timeout, handshaking).await else {
        return;
    };
    drop(handshake);
    let (
        Ok(connection),
        Some(Handshake {
            path,
            params,
            query,
            cookies,
        }),
    ) = (admitted, seen)
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
    connection::run(ws, info, meter, &shared, stopping).await;
    drop(connection);
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

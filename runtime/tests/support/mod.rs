//! A small App driven by the text of each message, served on a loopback port, and a client
//! that reads what the server does with timeouts.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agentwire_runtime::server::{
    App, Connection, Opened, Outbox, Problem, Reply, Server as Runtime, ServerConfig, ServerStats,
    TcpListener, stream,
};
use futures_util::{SinkExt, StreamExt};
use serde::{Serialize, Serializer};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(5);

/// What the test app sends: text, or a value that cannot be serialised.
#[derive(Debug, Clone)]
pub enum Out {
    Text(String),
    Unserialisable,
}

impl Serialize for Out {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Text(text) => serializer.serialize_str(text),
            Out::Unserialisable => Err(serde::ser::Error::custom("cannot be serialised")),
        }
    }
}

/// What the app saw, for the tests to check.
#[derive(Debug, Default)]
pub struct Seen {
    pub closed: AtomicUsize,
    pub problems: std::sync::Mutex<Vec<Problem>>,
    pub outboxes: std::sync::Mutex<Vec<Outbox<Out>>>,
}

/// The app: what it answers is what the message says.
///
/// - `echo:X` → `"X"`
/// - `many:N` → N messages `"0"`, `"1"`…
/// - `pending` → a stream that never yields
/// - `stream:N` → a stream of N messages, then its end
/// - `slow` → a handler that never returns
/// - `unserialisable` → a message that cannot be serialised
/// - `close:CODE` → closing with CODE
/// - anything else → `"?"`
#[derive(Debug, Clone, Default)]
pub struct TestApp {
    pub seen: Arc<Seen>,
}

impl App for TestApp {
    type Out = Out;
    type State = ();

    async fn open(&self, conn: &Connection<Out>) -> Opened<(), Out> {
        self.seen.outboxes.lock().unwrap().push(conn.outbox());
        Ok(((), Reply::none()))
    }

    async fn text(&self, _state: &mut (), text: String, _conn: &Connection<Out>) -> Reply<Out> {
        let (verb, arg) = text.split_once(':').unwrap_or((text.as_str(), ""));
        match verb {
            "echo" => Reply::one(Out::Text(arg.to_string())),
            "many" => Reply::many(
                (0..arg.parse::<usize>().unwrap())
                    .map(|i| Out::Text(i.to_string()))
                    .collect(),
            ),
            "pending" => Reply::stream(stream::pending()),
            "stream" => Reply::stream(stream::iter(
                (0..arg.parse::<usize>().unwrap()).map(|i| Out::Text(i.to_string())),
            )),
            "slow" => std::future::pending().await,
            "unserialisable" => Reply::one(Out::Unserialisable),
            "close" => Reply::none().then_close(arg.parse().unwrap(), "asked to"),
            _ => Reply::one(Out::Text("?".into())),
        }
    }

    async fn problem(
        &self,
        _state: &mut (),
        problem: Problem,
        _conn: &Connection<Out>,
    ) -> Reply<Out> {
        self.seen.problems.lock().unwrap().push(problem);
        Reply::one(Out::Text("problem".into()))
    }

    async fn close(&self, _state: (), _conn: &Connection<Out>) {
        self.seen.closed.fetch_add(1, Ordering::SeqCst);
    }
}

/// A test server on 127.0.0.1:0.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    pub stats: ServerStats,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

/// Serves [`TestApp`] at `/ws/{id}` with `config`.
pub async fn start(config: ServerConfig) -> Server {
    start_at("/ws/{id}", config).await
}

/// Serves [`TestApp`] at `path` with `config`.
pub async fn start_at(path: &'static str, config: ServerConfig) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = TestApp::default();
    let seen = Arc::clone(&app.seen);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Runtime::new(listener, path, app, config).expect("a valid configuration");
    let stats = server.stats();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        seen,
        stats,
        stop: Some(stop),
        task,
    }
}

impl Server {
    pub fn url(&self) -> String {
        format!("ws://{}/ws/test", self.addr)
    }

    pub async fn client(&self) -> Client {
        connect(&self.url()).await.expect("the handshake succeeds")
    }

    /// Starts shutting down; the task ends once every connection is closed.
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// How many connections the app saw close.
    pub fn closed(&self) -> usize {
        self.seen.closed.load(Ordering::SeqCst)
    }

    /// Waits until the app has seen `n` connections close.
    pub async fn wait_closed(&self, n: usize) {
        within(
            async {
                while self.closed() < n {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            },
            "the connections to close",
        )
        .await;
    }
}

pub async fn connect(
    request: impl tungstenite::client::IntoClientRequest + Unpin,
) -> Result<Client, tungstenite::Error> {
    let (ws, _) = within(tokio_tungstenite::connect_async(request), "the handshake").await?;
    Ok(Client { ws })
}

/// Runs `future`, failing the test when it takes longer than [`WAIT`].
pub async fn within<F: std::future::Future>(future: F, what: &str) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// What the server did next.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Text(String),
    Ping,
    /// A close frame and its code.
    Close(Option<u16>, String),
    /// The connection ended without a close frame.
    Ended(String),
}

#[derive(Debug)]
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn send(&mut self, text: &str) {
        within(self.ws.send(Message::text(text)), "sending")
            .await
            .expect("sent");
    }

    pub async fn next_event_within(&mut self, wait: Duration) -> Option<Event> {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next()).await.ok()?;
            return Some(match next {
                Some(Ok(Message::Text(text))) => Event::Text(text.as_str().to_string()),
                Some(Ok(Message::Ping(_))) => Event::Ping,
                Some(Ok(Message::Close(frame))) => match frame {
                    Some(frame) => Event::Close(Some(frame.code.into()), frame.reason.to_string()),
                    None => Event::Close(None, String::new()),
                },
                Some(Ok(_)) => continue,
                Some(Err(error)) => Event::Ended(error.to_string()),
                None => Event::Ended("end of stream".into()),
            });
        }
    }

    pub async fn next_event(&mut self) -> Event {
        self.next_event_within(WAIT)
            .await
            .unwrap_or_else(|| panic!("nothing from the server within {WAIT:?}"))
    }

    /// The next text frame, skipping pings: the JSON string it carries.
    pub async fn recv(&mut self) -> String {
        loop {
            match self.next_event().await {
                Event::Text(text) => {
                    return serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("not a JSON string: {e}: {text}"));
                }
                Event::Ping => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The close code and reason, skipping pings; fails on a text frame.
    pub async fn recv_close(&mut self) -> (u16, String) {
        loop {
            match self.next_event().await {
                Event::Ping => continue,
                Event::Close(Some(code), reason) => return (code, reason),
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }
}

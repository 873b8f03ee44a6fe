//! What every socket test shares: starting a reference server on port 0 with a configuration,
//! and a client that sends and receives with timeouts.
//!
//! Every text frame the server sends is decoded as the protocol's generated `ServerMessage`
//! before a test sees it: a frame that does not decode fails the test, whatever it checks.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use agentwire_reference::{Options, Running, start};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(5);

/// A protocol of the reference servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Rixa,
    Datagram,
    Socializer,
    GeneralBots,
    Meet,
}

impl Protocol {
    pub const ALL: [Protocol; 5] = [
        Protocol::Rixa,
        Protocol::Datagram,
        Protocol::Socializer,
        Protocol::GeneralBots,
        Protocol::Meet,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Protocol::Rixa => "rixa",
            Protocol::Datagram => "datagram",
            Protocol::Socializer => "socializer",
            Protocol::GeneralBots => "generalbots",
            Protocol::Meet => "generalbots-meet",
        }
    }

    /// The name of the server message `text` is, by the generated `ServerMessage`; an error
    /// when it is none.
    pub fn decode(self, text: &str) -> Result<&'static str, String> {
        fn name<M, E: std::fmt::Display>(
            decoded: Result<M, E>,
            name: fn(&M) -> &'static str,
        ) -> Result<&'static str, String> {
            decoded.map(|m| name(&m)).map_err(|e| e.to_string())
        }
        match self {
            Protocol::Rixa => name(
                agentwire_rixa::ServerMessage::from_json(text),
                agentwire_rixa::ServerMessage::name,
            ),
            Protocol::Datagram => name(
                agentwire_datagram::ServerMessage::from_json(text),
                agentwire_datagram::ServerMessage::name,
            ),
            Protocol::Socializer => name(
                agentwire_socializer::ServerMessage::from_json(text),
                agentwire_socializer::ServerMessage::name,
            ),
            Protocol::GeneralBots => name(
                agentwire_generalbots::ServerMessage::from_json(text),
                agentwire_generalbots::ServerMessage::name,
            ),
            Protocol::Meet => name(
                agentwire_generalbots_meet::ServerMessage::from_json(text),
                agentwire_generalbots_meet::ServerMessage::name,
            ),
        }
    }
}

/// A reference server for a test.
#[derive(Debug)]
pub struct Server {
    pub protocol: Protocol,
    pub running: Running,
}

/// Starts `protocol`'s reference server on 127.0.0.1:0 with its documented configuration,
/// changed by `configure`.
pub async fn start_with(protocol: Protocol, configure: impl FnOnce(&mut Options)) -> Server {
    let mut options = Options::new(protocol.id()).expect("a known protocol");
    configure(&mut options);
    let running = start(options, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the server starts");
    Server { protocol, running }
}

/// Starts `protocol`'s reference server with its documented configuration.
pub async fn start_server(protocol: Protocol) -> Server {
    start_with(protocol, |_| {}).await
}

impl Server {
    /// The endpoint's URL (path parameters filled in).
    pub fn url(&self) -> &str {
        &self.running.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// The endpoint's URL with `?token=` (or `&token=`) appended.
    pub fn url_with_token(&self, token: &str) -> String {
        let sep = if self.url().contains('?') { '&' } else { '?' };
        format!("{}{sep}token={token}", self.url())
    }

    /// A token the server accepts.
    pub fn token(&self) -> String {
        self.running
            .token
            .clone()
            .expect("this protocol has tokens")
    }

    /// A client at the endpoint, with a valid token in the URL for the protocols that need one.
    pub async fn client(&self) -> Client {
        match self.protocol {
            Protocol::Socializer | Protocol::GeneralBots => {
                self.connect(&self.url_with_token(&self.token())).await
            }
            _ => self.connect(self.url()).await,
        }
    }

    /// A client at the endpoint (with a valid token where one is needed) whose connection
    /// comes from `ip`, a loopback address other than 127.0.0.1: another client machine.
    pub async fn client_from(&self, ip: std::net::IpAddr) -> Client {
        let url = match self.protocol {
            Protocol::Socializer | Protocol::GeneralBots => self.url_with_token(&self.token()),
            _ => self.url().to_string(),
        };
        connect_from(self.protocol, ip, self.addr(), &url)
            .await
            .expect("the handshake succeeds")
    }

    /// A client at `url`; the handshake must succeed.
    pub async fn connect(&self, url: &str) -> Client {
        self.try_connect(url).await.expect("the handshake succeeds")
    }

    /// A client at `url`, or the handshake's error.
    pub async fn try_connect(&self, url: &str) -> Result<Client, tungstenite::Error> {
        self.try_connect_request(url.into_client_request().unwrap())
            .await
    }

    /// A client at `url` whose handshake carries a `Cookie` header.
    pub async fn connect_with_cookie(&self, url: &str, cookie: &str) -> Client {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(cookie).unwrap());
        self.try_connect_request(request)
            .await
            .expect("the handshake succeeds")
    }

    pub async fn try_connect_request(
        &self,
        request: tungstenite::handshake::client::Request,
    ) -> Result<Client, tungstenite::Error> {
        connect_to(self.protocol, request).await
    }

    /// The HTTP status a handshake at `url` is refused with; fails if it succeeds.
    pub async fn refused_status(&self, url: &str) -> u16 {
        refused_with(self.protocol, url).await
    }
}

/// A client of a `protocol` server, or the handshake's error.
pub async fn connect_to(
    protocol: Protocol,
    request: impl IntoClientRequest + Unpin,
) -> Result<Client, tungstenite::Error> {
    let (ws, _) = within(tokio_tungstenite::connect_async(request), "the handshake").await?;
    Ok(Client { protocol, ws })
}

/// A client of a `protocol` server at `addr`, connecting from `ip`, or the handshake's error.
pub async fn connect_from(
    protocol: Protocol,
    ip: std::net::IpAddr,
    addr: SocketAddr,
    url: &str,
) -> Result<Client, tungstenite::Error> {
    let socket = match ip {
        std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }?;
    socket.bind(SocketAddr::new(ip, 0))?;
    let stream = within(socket.connect(addr), "connecting").await?;
    let _ = stream.set_nodelay(true);
    let (ws, _) = within(
        tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)),
        "the handshake",
    )
    .await?;
    Ok(Client { protocol, ws })
}

/// The HTTP status a handshake is refused with; fails if it succeeds.
pub async fn refused_with(protocol: Protocol, url: &str) -> u16 {
    match connect_to(protocol, url).await {
        Ok(_) => panic!("the handshake at {url} succeeded"),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("the handshake at {url} failed without an HTTP status: {other}"),
    }
}

/// What the server did next, seen by a client.
#[derive(Debug)]
pub enum Event {
    /// A text frame: its message name (decoded as the protocol's `ServerMessage`) and JSON.
    Text(&'static str, Value),
    /// A WebSocket ping.
    Ping,
    /// A close frame, with its code (`None` for a close frame without one).
    Close(Option<u16>),
    /// The connection ended without a close frame (reset, EOF).
    Ended(String),
}

/// A WebSocket client of a reference server.
#[derive(Debug)]
pub struct Client {
    pub protocol: Protocol,
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Runs `future`, failing the test when it takes longer than [`WAIT`].
pub async fn within<F: std::future::Future>(future: F, what: &str) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

impl Client {
    pub async fn send_text(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        within(self.ws.send(Message::text(text)), "sending")
            .await
            .expect("the frame is sent");
    }

    pub async fn send(&mut self, message: &Value) {
        self.send_text(message.to_string()).await;
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        within(self.ws.send(Message::binary(bytes)), "sending")
            .await
            .expect("the frame is sent");
    }

    /// The next event within `wait`, or `None`. Text frames must decode.
    pub async fn next_event_within(&mut self, wait: Duration) -> Option<Event> {
        loop {
            let next = tokio::time::timeout(wait, self.ws.next()).await.ok()?;
            let event = match next {
                Some(Ok(Message::Text(text))) => {
                    let name = self.protocol.decode(text.as_str()).unwrap_or_else(|e| {
                        panic!(
                            "the {} server sent a frame that is no server message: {e}\n{}",
                            self.protocol.id(),
                            text.as_str()
                        )
                    });
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    Event::Text(name, value)
                }
                Some(Ok(Message::Binary(bytes))) => {
                    panic!("the server sent a binary frame of {} bytes", bytes.len())
                }
                Some(Ok(Message::Ping(_))) => Event::Ping,
                Some(Ok(Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(frame))) => Event::Close(frame.map(|f| u16::from(f.code))),
                Some(Err(error)) => Event::Ended(error.to_string()),
                None => Event::Ended("end of stream".into()),
            };
            return Some(event);
        }
    }

    /// The next event (pings included); fails after [`WAIT`].
    pub async fn next_event(&mut self) -> Event {
        match self.next_event_within(WAIT).await {
            Some(event) => event,
            None => panic!("no frame from the server within {WAIT:?}"),
        }
    }

    /// The next text frame, skipping pings; fails on a close or after [`WAIT`].
    pub async fn recv_any(&mut self) -> (&'static str, Value) {
        loop {
            match self.next_event().await {
                Event::Text(name, value) => return (name, value),
                Event::Ping => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next text frame, which must be the server message `name`.
    pub async fn recv(&mut self, name: &str) -> Value {
        let (got, value) = self.recv_any().await;
        assert_eq!(got, name, "expected {name}, got {value}");
        value
    }

    /// Reads up to the close frame, skipping pings; returns the text frames before it and the
    /// close code. Fails when the connection ends without a close frame or after [`WAIT`].
    pub async fn recv_close(&mut self) -> (Vec<Value>, u16) {
        let mut before = Vec::new();
        loop {
            match self.next_event().await {
                Event::Text(_, value) => before.push(value),
                Event::Ping => continue,
                Event::Close(Some(code)) => {
                    // Answer the close, as a well-behaved client does, and see the end.
                    let _ = tokio::time::timeout(WAIT, async {
                        while let Some(Ok(_)) = self.ws.next().await {}
                    })
                    .await;
                    return (before, code);
                }
                other => panic!("expected a close frame, got {other:?} after {before:?}"),
            }
        }
    }

    /// The close code, with no text frame before it.
    pub async fn expect_close(&mut self) -> u16 {
        let (before, code) = self.recv_close().await;
        assert!(before.is_empty(), "frames before the close: {before:?}");
        code
    }

    /// Closes the connection from the client's side and waits for the server's answer.
    pub async fn close(mut self) {
        let _ = within(self.ws.close(None), "closing").await;
        let _ = within(
            async { while let Some(Ok(_)) = self.ws.next().await {} },
            "the server's close",
        )
        .await;
    }
}

/// A client past the protocol's greeting (socializer's welcome, generalbots' session).
pub async fn ready(server: &Server) -> Client {
    past_greeting(server.client().await).await
}

/// A client past the protocol's greeting, connecting from `ip` (another client machine).
pub async fn ready_from(server: &Server, ip: std::net::IpAddr) -> Client {
    past_greeting(server.client_from(ip).await).await
}

async fn past_greeting(mut client: Client) -> Client {
    match client.protocol {
        Protocol::Socializer => drop(client.recv("system_message").await),
        Protocol::GeneralBots => drop(client.recv("session_created").await),
        _ => {}
    }
    client
}

/// A message the protocol answers, and the name of the answer.
pub fn request(protocol: Protocol) -> (Value, &'static str) {
    match protocol {
        Protocol::Rixa => (json!({"type": "get_chat_modes"}), "response"),
        Protocol::Datagram => (json!({"msg": "ping", "cid": "c", "content": null}), "pong"),
        Protocol::Socializer => (json!({"content": "hi"}), "ai_response"),
        Protocol::GeneralBots => (json!({"type": "ping"}), "pong"),
        // A join is answered with the joiner's own notice.
        Protocol::Meet => (
            json!({"type": "join", "room_id": "r", "participant_name": "n"}),
            "join_notice",
        ),
    }
}

/// The connection still answers.
pub async fn answers(client: &mut Client) {
    let (message, answer) = request(client.protocol);
    client.send(&message).await;
    client.recv(answer).await;
}

/// A JWT signed with `secret` for `claims`.
pub fn sign(claims: &Value, secret: &str) -> String {
    agentwire_runtime::jwt::sign(claims, secret.as_bytes()).unwrap()
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

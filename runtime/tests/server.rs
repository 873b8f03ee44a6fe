//! The server runtime over loopback sockets, with a small app (`support/mod.rs`).

mod support;

use std::time::Duration;

use agentwire_runtime::server::{
    App, Connection, Opened, Problem, Reply, ServerConfig, TcpListener, serve,
};
use futures_util::{SinkExt, StreamExt};
use support::{Event, Out, start, within};
use tokio_tungstenite::tungstenite::{self, Message};

#[tokio::test]
async fn a_clients_close_is_answered() {
    let server = start(ServerConfig::default()).await;
    let mut client = server.client().await;
    client.send("echo:hi").await;
    assert_eq!(client.recv().await, "hi");
    within(client.ws.send(Message::Close(None)), "closing")
        .await
        .unwrap();
    // The server's close frame comes back, then the end of the stream: no reset.
    let answer = within(client.ws.next(), "the server's close").await;
    assert!(
        matches!(answer, Some(Ok(Message::Close(_)))),
        "expected the server's close frame, got {answer:?}"
    );
    let end = within(client.ws.next(), "the end").await;
    assert!(end.is_none(), "expected the end of the stream, got {end:?}");
    server.wait_closed(1).await;
}

fn config() -> ServerConfig {
    ServerConfig {
        // Longer than a test waits: a connection that only ends when aborted fails the test.
        shutdown_grace: Duration::from_secs(30),
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn shutting_down_closes_a_connection_whose_stream_never_ends() {
    let mut server = start(config()).await;
    let mut client = server.client().await;
    client.send("pending").await;
    // The stream is under way when the server shuts down.
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.shut_down();
    assert_eq!(
        client.recv_close().await,
        (1001, "server shutting down".into())
    );
    within(&mut server.task, "the server to stop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.closed(), 1);
}

#[tokio::test]
async fn shutting_down_closes_a_connection_whose_handler_never_returns() {
    let mut server = start(config()).await;
    let mut client = server.client().await;
    client.send("slow").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.shut_down();
    assert_eq!(
        client.recv_close().await,
        (1001, "server shutting down".into())
    );
    within(&mut server.task, "the server to stop")
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_idle_timeout_fires_while_a_stream_never_ends() {
    let server = start(ServerConfig {
        idle_timeout: Some(Duration::from_millis(200)),
        ..config()
    })
    .await;
    let mut client = server.client().await;
    client.send("pending").await;
    assert_eq!(client.recv_close().await, (1001, "idle timeout".into()));
    server.wait_closed(1).await;
}

#[tokio::test]
async fn pings_and_relays_go_out_while_a_stream_never_ends() {
    let server = start(ServerConfig {
        ping_interval: Some(Duration::from_millis(50)),
        ..config()
    })
    .await;
    let mut client = server.client().await;
    client.send("pending").await;
    assert_eq!(client.next_event().await, Event::Ping);
    let outbox = server.seen.outboxes.lock().unwrap()[0].clone();
    outbox.send(&Out::Text("relayed".into())).unwrap();
    assert_eq!(client.recv().await, "relayed");
}

#[tokio::test]
async fn a_client_may_close_while_a_stream_never_ends() {
    let server = start(config()).await;
    let mut client = server.client().await;
    client.send("pending").await;
    within(client.ws.send(Message::Close(None)), "closing")
        .await
        .unwrap();
    let answer = within(client.ws.next(), "the server's close").await;
    assert!(matches!(answer, Some(Ok(Message::Close(_)))), "{answer:?}");
    server.wait_closed(1).await;
}

#[tokio::test]
async fn messages_sent_during_a_stream_are_answered_after_it_in_order() {
    let server = start(config()).await;
    let mut client = server.client().await;
    client.send("stream:3").await;
    client.send("echo:a").await;
    client.send("many:2").await;
    client.send("echo:b").await;
    let mut got = Vec::new();
    for _ in 0..7 {
        got.push(client.recv().await);
    }
    assert_eq!(got, ["0", "1", "2", "a", "0", "1", "b"]);
}

#[tokio::test]
async fn another_task_may_close_a_connection_through_its_outbox() {
    let server = start(config()).await;
    let mut client = server.client().await;
    client.send("echo:x").await;
    assert_eq!(client.recv().await, "x");
    let outbox = server.seen.outboxes.lock().unwrap()[0].clone();
    outbox.send(&Out::Text("last".into())).unwrap();
    outbox.close(4000, "done");
    assert_eq!(client.recv().await, "last");
    assert_eq!(client.recv_close().await, (4000, "done".into()));
}

#[tokio::test]
async fn connections_over_the_global_limit_are_refused_with_503() {
    let server = start(ServerConfig {
        max_connections: Some(2),
        ..config()
    })
    .await;
    let first = server.client().await;
    let mut second = server.client().await;
    match support::connect(&server.url()).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    // The refused handshake gave its place back, and so does a connection that ends.
    second.send("echo:still").await;
    assert_eq!(second.recv().await, "still");
    drop(first);
    server.wait_closed(1).await;
    let mut third = server.client().await;
    third.send("echo:in").await;
    assert_eq!(third.recv().await, "in");
}

/// An app that authenticates with the first message: `auth` opens the connection.
#[derive(Debug, Clone, Default)]
struct FirstMessageAuth {
    /// What `auth_timed_out` replies, if it is overridden: text, and whether it closes.
    refusal: Option<(&'static str, bool)>,
}

impl App for FirstMessageAuth {
    type Out = Out;
    /// Whether the connection is authenticated.
    type State = bool;

    async fn open(&self, _conn: &Connection<Out>) -> Opened<bool, Out> {
        Ok((false, Reply::none()))
    }

    async fn text(&self, state: &mut bool, text: String, _conn: &Connection<Out>) -> Reply<Out> {
        if *state {
            return Reply::one(Out::Text(text));
        }
        if text == "auth" {
            *state = true;
            Reply::one(Out::Text("welcome".into()))
        } else {
            Reply::none().then_close(1008, "no credential")
        }
    }

    async fn problem(&self, _: &mut bool, _: Problem, _: &Connection<Out>) -> Reply<Out> {
        Reply::none()
    }

    async fn close(&self, _state: bool, _conn: &Connection<Out>) {}

    fn awaiting_credential(&self, state: &bool) -> bool {
        !*state
    }

    async fn auth_timed_out(&self, _state: &mut bool, _conn: &Connection<Out>) -> Reply<Out> {
        match self.refusal {
            Some((text, true)) => Reply::one(Out::Text(text.into())).then_close(4001, "late"),
            Some((text, false)) => Reply::one(Out::Text(text.into())),
            None => Reply::none(),
        }
    }
}

async fn serve_app<A: App>(app: A, config: ServerConfig) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, "/ws", app, config, std::future::pending()));
    url
}

fn auth_config() -> ServerConfig {
    ServerConfig {
        auth_timeout: Duration::from_millis(200),
        ..config()
    }
}

#[tokio::test]
async fn a_connection_that_never_sends_its_credential_is_closed_after_the_auth_timeout() {
    for (refusal, expected_text, expected_close) in [
        (None, None, (1008, "authentication timed out")),
        (Some(("late", true)), Some("late"), (4001, "late")),
        (
            Some(("late", false)),
            Some("late"),
            (1008, "authentication timed out"),
        ),
    ] {
        let url = serve_app(FirstMessageAuth { refusal }, auth_config()).await;
        let mut client = support::connect(url.as_str()).await.unwrap();
        if let Some(text) = expected_text {
            assert_eq!(client.recv().await, text);
        }
        let (code, reason) = client.recv_close().await;
        assert_eq!((code, reason.as_str()), expected_close);
    }
}

#[tokio::test]
async fn an_authenticated_connection_outlives_the_auth_timeout() {
    let url = serve_app(FirstMessageAuth::default(), auth_config()).await;
    let mut client = support::connect(url.as_str()).await.unwrap();
    client.send("auth").await;
    assert_eq!(client.recv().await, "welcome");
    assert_eq!(
        client.next_event_within(Duration::from_millis(400)).await,
        None
    );
    client.send("still here").await;
    assert_eq!(client.recv().await, "still here");
}

#[tokio::test]
async fn handshakes_under_way_are_bounded_per_address() {
    let server = start(ServerConfig {
        max_handshakes_per_ip: 3,
        ..config()
    })
    .await;
    // Sockets that never send their request each hold a handshake until the timeout.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    within(
        async {
            while server.stats.handshakes() < 3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        },
        "the handshakes to start",
    )
    .await;
    // A fourth from the same address is closed at once, unanswered.
    match support::connect(&server.url()).await {
        Err(tungstenite::Error::Http(response)) => {
            panic!("expected no answer, got HTTP {}", response.status())
        }
        Err(_) => {}
        Ok(_) => panic!("the handshake succeeded over the limit"),
    }
    // Once they are gone, handshakes succeed again.
    drop(silent);
    within(
        async {
            loop {
                if let Ok(mut client) = support::connect(&server.url()).await {
                    client.send("echo:in").await;
                    assert_eq!(client.recv().await, "in");
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
        "a handshake to succeed",
    )
    .await;
}

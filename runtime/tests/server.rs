//! The server runtime over loopback sockets, with a small app (`support/mod.rs`).

mod support;

use std::time::Duration;

use agentwire_runtime::server::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use support::{Event, Out, start, within};
use tokio_tungstenite::tungstenite::Message;

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

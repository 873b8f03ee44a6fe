//! The server runtime over loopback sockets, with a small app (`support/mod.rs`).

mod support;

use agentwire_runtime::server::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use support::{start, within};
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

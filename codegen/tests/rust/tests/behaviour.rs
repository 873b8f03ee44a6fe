//! What the generated clients do where a server misbehaves or goes away, shown against scripted
//! servers and reference servers configured to drop connections: refused handshakes keep their
//! HTTP status, waits time out, invalid frames fail the request waiting for them, lost
//! connections are reopened with backoff (and not after 1008), and what is sent is exactly the
//! documented message.

mod support;

use std::future::Future;
use std::time::Duration;

use agentwire_client_tests::next_of;
use agentwire_datagram::ServerMessage;
use agentwire_datagram::client::{
    Client, ClientError, ConnectOptions, Event, PingInput, Reconnect,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// A server that runs `script` on each connection; its `ws://` origin.
async fn scripted<F, Fut>(script: F) -> String
where
    F: Fn(WebSocketStream<TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                tokio::spawn(script(socket));
            }
        }
    });
    origin
}

/// The next text frame a scripted server receives, as JSON.
async fn next_frame(socket: &mut WebSocketStream<TcpStream>) -> Option<Value> {
    while let Some(Ok(message)) = socket.next().await {
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).ok();
        }
    }
    None
}

fn quick() -> ConnectOptions {
    ConnectOptions::new("").timeout(Duration::from_millis(300))
}

#[tokio::test]
async fn a_refused_handshake_keeps_its_http_status() {
    let (running, target) = support::reference("generalbots").await;
    let url = format!("{}/nowhere", target.origin());
    let client = agentwire_generalbots::client::Client::new(
        agentwire_generalbots::client::ConnectOptions::new(url.clone()).token(target.token()),
    );
    let error = client.connect().await.unwrap_err();
    assert_eq!(error.http_status(), Some(404), "{error}");
    let shown = error.to_string();
    assert!(shown.starts_with(&format!("HTTP 404 at {url}")), "{shown}");
    assert!(
        !shown.contains(target.token()),
        "the token is not shown: {shown}"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn connecting_to_nothing_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("ws://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(ConnectOptions {
        url: origin,
        ..quick()
    });
    let error = client.connect().await.unwrap_err();
    assert!(matches!(error, ClientError::Connect { .. }), "{error}");
    assert!(!client.is_connected());
}

#[tokio::test]
async fn the_document_example_is_sent_as_the_document_shows_it() {
    let (sender, received) = tokio::sync::oneshot::channel();
    let sender = std::sync::Mutex::new(Some(sender));
    let sender = std::sync::Arc::new(sender);
    let origin = scripted(move |mut socket| {
        let sender = sender.clone();
        async move {
            let frame = next_frame(&mut socket).await;
            if let Some(sender) = sender.lock().unwrap().take() {
                let _ = sender.send(frame);
            }
            // Silent, and open.
            while next_frame(&mut socket).await.is_some() {}
        }
    })
    .await;
    let client = Client::new(ConnectOptions {
        url: origin,
        ..quick()
    });
    client.connect().await.unwrap();
    let example = &support::example("datagram", "ping");
    let cid = example["cid"].as_str().unwrap();
    // No reply comes: the wait times out.
    let error = client
        .ping(PingInput::new().with_cid(cid))
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Timeout { .. }), "{error}");
    assert_eq!(
        received.await.unwrap().as_ref(),
        Some(example),
        "the frame is the document's own"
    );
}

#[tokio::test]
async fn a_late_reply_times_the_request_out_and_still_reaches_the_streams() {
    let origin = scripted(|mut socket| async move {
        while let Some(frame) = next_frame(&mut socket).await {
            tokio::time::sleep(Duration::from_millis(600)).await;
            let pong = json!({"msg": "ping", "cid": frame["cid"], "content": null});
            let _ = socket.send(Message::text(pong.to_string())).await;
        }
    })
    .await;
    let client = Client::new(ConnectOptions {
        url: origin,
        ..quick()
    });
    let mut messages = client.messages();
    client.connect().await.unwrap();
    let error = client
        .ping(PingInput::new().with_cid("late"))
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Timeout { .. }), "{error}");
    assert!(
        error.to_string().contains("ping: no reply within 300 ms"),
        "{error}"
    );
    let pong = next_of(&mut messages, "the late pong", |m| match m {
        ServerMessage::Pong(p) => Some(p),
        _ => None,
    })
    .await;
    assert_eq!(pong.cid, "late");
}

#[tokio::test]
async fn an_invalid_frame_fails_the_request_waiting_for_it() {
    let origin = scripted(|mut socket| async move {
        while let Some(frame) = next_frame(&mut socket).await {
            // `content` of a pong is null.
            let pong = json!({"msg": "ping", "cid": frame["cid"], "content": 5});
            let _ = socket.send(Message::text(pong.to_string())).await;
        }
    })
    .await;
    let client = Client::new(ConnectOptions {
        url: origin,
        ..quick()
    });
    let mut events = client.events();
    client.connect().await.unwrap();
    let error = client.ping(PingInput::new()).await.unwrap_err();
    let ClientError::Frame(frame) = &error else {
        panic!("expected a frame error, got {error}")
    };
    assert_eq!(frame.message, Some("pong"));
    assert!(frame.frame.contains("\"content\":5"), "{frame:?}");
    let invalid = next_of(&mut events, "the invalid frame", |e| match e {
        Event::Invalid(error) => Some(error),
        _ => None,
    })
    .await;
    assert_eq!(&invalid, frame);
}

#[tokio::test]
async fn a_lost_connection_is_reopened_with_backoff() {
    let running = support::idle_closing_datagram().await;
    let client =
        Client::new(ConnectOptions::new(running.url.clone()).reconnect(support::quick_reconnect()));
    let mut events = client.events();
    client.connect().await.unwrap();
    support::idle_close_and_reopening(&mut events).await;
    client
        .ping(PingInput::new())
        .await
        .expect("a pong on the new connection");

    // The server goes away for good: the attempts fail, and the client says so.
    running.stop().await.unwrap();
    let closed = next_of(&mut events, "the shutdown close", |e| match e {
        Event::Closed(info) => Some(info),
        _ => None,
    })
    .await;
    assert!(closed.reconnecting, "{closed:?}");
    let failed = next_of(&mut events, "the failed reconnection", |e| match e {
        Event::Error(error) => Some(error),
        _ => None,
    })
    .await;
    assert!(
        failed
            .to_string()
            .contains("reconnecting failed after 3 attempts"),
        "{failed}"
    );
    let error = client.ping(PingInput::new()).await.unwrap_err();
    assert_eq!(error.close_code(), Some(closed.code), "{error}");
}

#[tokio::test]
async fn close_while_reconnecting_stops_it() {
    let running = support::reference_with("datagram", |options| {
        options.config.idle_timeout = Some(Duration::from_millis(200));
    })
    .await;
    let policy = Reconnect {
        retries: 5,
        initial_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(30),
        factor: 1.0,
    };
    let client = Client::new(ConnectOptions::new(running.url.clone()).reconnect(policy));
    let mut events = client.events();
    client.connect().await.unwrap();
    next_of(&mut events, "the idle close", |e| {
        matches!(e, Event::Closed(_)).then_some(())
    })
    .await;
    // The next attempt is 15 to 30 s away: close() does not wait for it.
    tokio::time::timeout(Duration::from_secs(5), client.close())
        .await
        .expect("close returns at once");
    assert!(!client.is_connected());
    let error = client.ping(PingInput::new()).await.unwrap_err();
    assert!(matches!(error, ClientError::Usage(_)), "{error}");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_message_naming_a_session_waits_for_the_announcement_until_the_connection_closes() {
    let origin = scripted(|mut socket| async move {
        // Never announces a session; closes after a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = socket.close(None).await;
    })
    .await;
    use agentwire_generalbots::client::{Client, ConnectOptions, TypingStartInput};
    let client = Client::new(ConnectOptions::new(origin).token("t"));
    client.connect().await.unwrap();
    let started = std::time::Instant::now();
    let error = client
        .typing_start(TypingStartInput::new())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it did not wait for the timeout"
    );
    assert!(error.to_string().contains("session_created"), "{error}");
}

#[tokio::test]
async fn a_reply_stream_nobody_reads_holds_a_bounded_number_of_frames() {
    use agentwire_generalbots::client::{
        ChatMessageInput, Client, ConnectOptions, STREAM_BUFFER, StreamExt,
    };
    let chunks = STREAM_BUFFER + 100;
    let origin = scripted(move |mut socket| async move {
        while let Some(frame) = next_frame(&mut socket).await {
            let session = frame["session_id"].clone();
            let mut frames =
                vec![json!({"type": "stream_start", "session_id": session, "message_id": "m"})];
            frames.extend(
                (0..chunks)
                    .map(|_| json!({"type": "stream_chunk", "message_id": "m", "content": "x"})),
            );
            frames.push(
                json!({"type": "stream_end", "message_id": "m", "content": "x".repeat(chunks)}),
            );
            for frame in frames {
                if socket.send(Message::text(frame.to_string())).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    let client = Client::new(ConnectOptions::new(origin).token("t"));
    let mut messages = client.messages();
    client.connect().await.unwrap();
    let input = ChatMessageInput::new("hello".into()).with_session_id("s");
    let mut reply = client.chat_message(input).await.unwrap();
    // Every frame arrives (the message stream sees the end) while nobody reads the reply.
    next_of(&mut messages, "the stream's end", |m| match m {
        agentwire_generalbots::ServerMessage::StreamEnd(end) => Some(end),
        _ => None,
    })
    .await;
    let mut read = 0;
    let error = loop {
        match reply.next().await.expect("an event") {
            Ok(_) => read += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(
        read,
        STREAM_BUFFER - 1,
        "the start and the chunks that fitted"
    );
    assert!(error.to_string().contains("waited unread"), "{error}");
    assert!(
        reply.next().await.is_none(),
        "the stream ends after its error"
    );
}

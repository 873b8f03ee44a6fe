//! General Bots: the token in the query or in the first message, the session announced and
//! filled in, pings, typing, a streamed answer (iterated, with a ping answered while it streams),
//! an answer at once, tool calls pushed before the answer, `SESSION_NOT_FOUND` as a typed error,
//! another connection's session seen through a subscription, and a forged token refused with
//! `AUTH_FAILED` and close 1008.

use agentwire_generalbots::client::{
    AuthVia, ChatMessageInput, Client, ClientError, ConnectOptions, Event, PingInput, Reconnect,
    StreamEvent, StreamExt, StreamResult, SubscribeInput, TypingStartInput, TypingStopInput,
};
use agentwire_generalbots::{ErrorCode, ServerMessage};
use serde_json::{Value, json};

use crate::{Target, WAIT, next_of, soon};

fn options(target: &Target, token: &str, via: AuthVia) -> ConnectOptions {
    ConnectOptions::new(target.origin())
        .token(token)
        .auth_via(via)
        .timeout(WAIT)
}

/// A connected client and the session the server announced.
async fn connected(target: &Target, via: AuthVia) -> (Client, String) {
    let client = Client::new(options(target, target.token(), via));
    let mut messages = client.messages();
    soon(client.connect(), "connecting")
        .await
        .expect("connects");
    let created = next_of(&mut messages, "session_created", |m| match m {
        ServerMessage::SessionCreated(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(
        client.session(),
        Some(Value::String(created.session_id.clone()))
    );
    (client, created.session_id)
}

pub(crate) async fn conversation(target: &Target) {
    for via in [AuthVia::QueryParameter, AuthVia::FirstMessage] {
        answers(target, via).await;
    }
    errors(target).await;
    subscription(target).await;
    refusal(target).await;
}

async fn answers(target: &Target, via: AuthVia) {
    let (client, session) = connected(target, via).await;
    let mut messages = client.messages();
    client.ping(PingInput::new()).await.expect("pong");
    client
        .typing_start(TypingStartInput::new())
        .await
        .expect("sent");
    client
        .typing_stop(TypingStopInput::new())
        .await
        .expect("sent");

    // A streamed answer, read as it arrives, with a ping answered meanwhile.
    let content = target.example("chat_message")["content"]
        .as_str()
        .expect("content")
        .to_string();
    let mut reply = client
        .chat_message(ChatMessageInput::new(content.clone()))
        .await
        .expect("sent");
    let read = async {
        let mut events = Vec::new();
        while let Some(event) = reply.next().await {
            events.push(event.expect("an event"));
        }
        events
    };
    let (events, pong) = tokio::join!(read, client.ping(PingInput::new()));
    pong.expect("pong while streaming");
    let chunks: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Chunk { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let Some(StreamEvent::End { text, frame }) = events.last() else {
        panic!("the last event is the end: {events:?}")
    };
    assert_eq!(*text, format!("Echo: {content}"));
    assert!(chunks.len() > 1, "several chunks: {chunks:?}");
    assert_eq!(chunks.concat(), *text, "the chunks add up to the full text");
    assert_eq!(
        reply.start().expect("started").session_id,
        session,
        "the session was filled in"
    );
    assert_eq!(frame.message_id, reply.start().expect("started").message_id);

    // `/once` is answered by one chat_response.
    let once = client
        .chat_message(ChatMessageInput::new("/once quick answer".into()))
        .await
        .expect("sent");
    match once.result().await.expect("an answer") {
        StreamResult::Message(response) => {
            assert_eq!(response.content, "Echo: quick answer");
            assert_eq!(response.role, "assistant");
        }
        other => panic!("expected one message, got {other:?}"),
    }

    // A tool call and its result are pushed before the answer.
    let tool = r#"/tool search_orders {"order_id": "12345"}"#;
    let tooled = client
        .chat_message(ChatMessageInput::new(tool.into()))
        .await
        .expect("sent");
    let StreamResult::Stream { text, chunks, .. } = tooled.result().await.expect("an answer")
    else {
        panic!("the tool answer is streamed")
    };
    assert_eq!(text, "Echo: I called search_orders.");
    assert!(!chunks.is_empty());
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let message = next_of(&mut messages, "the tool call and result", Some).await;
        match message {
            ServerMessage::ToolCall(call) => {
                assert_eq!(
                    (call.tool.as_str(), Value::Object(call.arguments)),
                    ("search_orders", json!({"order_id": "12345"}))
                );
                seen.push("call");
            }
            ServerMessage::ToolResult(result) => {
                assert_eq!(
                    result.result,
                    json!({"tool": "search_orders", "echo": {"order_id": "12345"}})
                );
                seen.push("result");
            }
            _ => {}
        }
    }
    assert_eq!(seen, ["call", "result"]);
    client.close().await;
}

async fn errors(target: &Target) {
    let (client, _) = connected(target, AuthVia::QueryParameter).await;
    let mut messages = client.messages();
    // SESSION_NOT_FOUND answers a chat in an unknown session: the request fails with it.
    let lost = ChatMessageInput::new("hello?".into()).with_session_id("no-such-session");
    let stream = client.chat_message(lost).await.expect("sent");
    let error = stream.result().await.unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Server {
                request: "chat_message",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.server_code(), Some("SESSION_NOT_FOUND"));
    // Subscribing is no request: its SUBSCRIPTION_FAILED reaches the message streams.
    client
        .subscribe(SubscribeInput::new().with_session_id("no-such-session"))
        .await
        .expect("sent");
    let failed = next_of(&mut messages, "SUBSCRIPTION_FAILED", |m| match m {
        ServerMessage::ErrorMessage(m) if m.code == ErrorCode::SubscriptionFailed => Some(m),
        _ => None,
    })
    .await;
    assert!(!failed.message.is_empty());
    // The connection goes on.
    client.ping(PingInput::new()).await.expect("pong");
    client.close().await;
}

async fn subscription(target: &Target) {
    let (alice, session) = connected(target, AuthVia::QueryParameter).await;
    let (bob, _) = connected(target, AuthVia::QueryParameter).await;
    let mut seen = bob.messages();
    bob.subscribe(SubscribeInput::new().with_session_id(session.clone()))
        .await
        .expect("sent");
    // The server handles a connection's frames in order: once bob's ping is answered, his
    // subscription is in place.
    bob.ping(PingInput::new()).await.expect("pong");
    let answer = alice
        .chat_message(ChatMessageInput::new("shared with bob".into()))
        .await
        .expect("sent");
    assert!(matches!(
        answer.result().await.expect("an answer"),
        StreamResult::Stream { .. }
    ));
    let end = next_of(&mut seen, "alice's answer, seen by bob", |m| match m {
        ServerMessage::StreamEnd(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(end.content, "Echo: shared with bob");
    alice.close().await;
    let closed = next_of(&mut seen, "session_closed", |m| match m {
        ServerMessage::SessionClosed(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(closed.session_id, session);
    bob.close().await;
}

/// A forged token: AUTH_FAILED, then close 1008, with no reconnection though one was asked for.
async fn refusal(target: &Target) {
    for via in [AuthVia::QueryParameter, AuthVia::FirstMessage] {
        let options = options(target, target.forged_token(), via).reconnect(Reconnect::default());
        let client = Client::new(options);
        let mut events = client.events();
        soon(client.connect(), "connecting")
            .await
            .expect("the handshake completes");
        let denial = next_of(&mut events, "AUTH_FAILED", |e| match e {
            Event::Message(ServerMessage::ErrorMessage(m)) => Some(m),
            _ => None,
        })
        .await;
        assert_eq!(denial.code, ErrorCode::AuthFailed, "{via}");
        let closed = next_of(&mut events, "the close", |e| match e {
            Event::Closed(info) => Some(info),
            _ => None,
        })
        .await;
        assert_eq!(
            (closed.code, closed.reconnecting),
            (1008, false),
            "{via}: {closed:?}"
        );
        let error = client.ping(PingInput::new()).await.unwrap_err();
        assert_eq!(error.close_code(), Some(1008), "{via}: {error}");
        assert!(!client.is_connected());
    }
}

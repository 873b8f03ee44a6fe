//! The General Bots `/ws` reference server over real sockets: authentication, sessions,
//! streamed and single answers, tool calls, typing indicators, subscriptions, session events,
//! error codes and the documented 64 KB limit.

mod support;

use std::time::Duration;

use agentwire_runtime::server::RateLimit;
use futures_util::SinkExt;
use serde_json::{Value, json};
use support::{Client, Protocol, Server, now, sign, start_server, start_with};
use tokio_tungstenite::tungstenite;

const POLICY_VIOLATION: u16 = 1008;

/// A client authenticated by query parameter, and its session id.
async fn session(server: &Server) -> (Client, String) {
    let mut client = server.client().await;
    let created = client.recv("session_created").await;
    let id = created["session_id"].as_str().unwrap().to_string();
    (client, id)
}

fn chat(session_id: &str, content: &str) -> Value {
    json!({"type": "message", "session_id": session_id, "content": content})
}

/// The frames that answer a chat message, up to and including `bot_typing` off.
async fn answer(client: &mut Client) -> Vec<(&'static str, Value)> {
    let mut frames = Vec::new();
    loop {
        let (name, value) = client.recv_any().await;
        let done = name == "bot_typing" && value["is_typing"] == false;
        frames.push((name, value));
        if done {
            return frames;
        }
    }
}

/// Checks a streamed answer in `session_id` and returns its message id and joined text.
fn streamed(session_id: &str, frames: &[(&'static str, Value)]) -> (String, String) {
    let names: Vec<&str> = frames.iter().map(|(n, _)| *n).collect();
    assert_eq!(names[0], "bot_typing", "{names:?}");
    assert_eq!(frames[0].1["is_typing"], true);
    assert_eq!(frames[0].1["session_id"], session_id);
    let start = names.iter().position(|n| *n == "stream_start").unwrap();
    let end = names.len() - 2;
    assert_eq!(names[end], "stream_end", "{names:?}");
    assert_eq!(frames[start].1["session_id"], session_id);
    let message_id = frames[start].1["message_id"].as_str().unwrap().to_string();
    let chunks = &frames[start + 1..end];
    assert!(!chunks.is_empty(), "{names:?}");
    let mut joined = String::new();
    for (name, chunk) in chunks {
        assert_eq!(*name, "stream_chunk");
        assert_eq!(chunk["message_id"], message_id.as_str());
        joined.push_str(chunk["content"].as_str().unwrap());
    }
    assert_eq!(frames[end].1["message_id"], message_id.as_str());
    assert_eq!(frames[end].1["content"], joined.as_str());
    let last = &frames[names.len() - 1].1;
    assert_eq!(last["session_id"], session_id);
    (message_id, joined)
}

/// Checks that a ping is answered by a pong next: nothing else was sent before it.
async fn nothing_before_pong(client: &mut Client) {
    client.send(&json!({"type": "ping"})).await;
    client.recv("pong").await;
}

#[tokio::test]
async fn a_token_in_the_query_opens_a_session() {
    let server = start_server(Protocol::GeneralBots).await;
    let (_client, id) = session(&server).await;
    assert!(!id.is_empty());
    let (_other, other_id) = session(&server).await;
    assert_ne!(id, other_id, "each connection has its own session");
}

#[tokio::test]
async fn a_token_in_the_first_message_opens_a_session() {
    let server = start_server(Protocol::GeneralBots).await;
    let mut client = server.connect(server.url()).await;
    client
        .send(&json!({"type": "auth", "token": server.token()}))
        .await;
    let created = client.recv("session_created").await;
    let id = created["session_id"].as_str().unwrap();
    client.send(&chat(id, "/once hi")).await;
    let frames = answer(&mut client).await;
    assert_eq!(frames[1].0, "chat_response");
    // A later auth message is ignored.
    client
        .send(&json!({"type": "auth", "token": "whatever"}))
        .await;
    nothing_before_pong(&mut client).await;
}

#[tokio::test]
async fn a_bad_token_gets_auth_failed_then_a_close() {
    let server = start_server(Protocol::GeneralBots).await;
    let secret = server.running.jwt_secret.clone();
    let expired = sign(&json!({"sub": "ada", "exp": now() - 10}), &secret);
    let forged = sign(&json!({"sub": "ada", "exp": now() + 60}), "other");
    for token in ["not-a-token", expired.as_str(), forged.as_str()] {
        // In the URL.
        let mut client = server.connect(&server.url_with_token(token)).await;
        let (before, code) = client.recv_close().await;
        assert_eq!(code, POLICY_VIOLATION);
        assert_eq!(
            before,
            vec![
                json!({"type": "error", "code": "AUTH_FAILED", "message": "Invalid or expired token"})
            ]
        );
        // In the first message.
        let mut client = server.connect(server.url()).await;
        client.send(&json!({"type": "auth", "token": token})).await;
        let (before, code) = client.recv_close().await;
        assert_eq!(code, POLICY_VIOLATION);
        assert_eq!(before.len(), 1);
        assert_eq!(before[0]["code"], "AUTH_FAILED");
    }
}

#[tokio::test]
async fn no_token_gets_auth_failed_then_a_close() {
    let server = start_server(Protocol::GeneralBots).await;
    for first in [
        json!({"type": "ping"}).to_string(),
        chat("550e8400-e29b-41d4-a716-446655440000", "hi").to_string(),
        json!({"type": "auth"}).to_string(),
        json!({"type": "auth", "token": 42}).to_string(),
        "{not json".to_string(),
    ] {
        let mut client = server.connect(server.url()).await;
        client.send_text(first.clone()).await;
        let (before, code) = client.recv_close().await;
        assert_eq!(code, POLICY_VIOLATION, "{first}");
        assert_eq!(before.len(), 1, "{first}: {before:?}");
        assert_eq!(before[0]["code"], "AUTH_FAILED", "{first}");
        assert_eq!(
            before[0]["message"],
            "No token: pass ?token= in the URL or send an auth message first"
        );
    }
    // A binary or oversized first frame carries no credential either, and is refused the same
    // documented way.
    for frame in [
        tungstenite::Message::binary(b"token".to_vec()),
        tungstenite::Message::text(format!(
            "{{\"type\": \"auth\", \"token\": \"{}\"}}",
            "x".repeat(70_000)
        )),
    ] {
        let mut client = server.connect(server.url()).await;
        client.ws.send(frame).await.unwrap();
        let (before, code) = client.recv_close().await;
        assert_eq!(code, POLICY_VIOLATION);
        assert_eq!(before.len(), 1, "{before:?}");
        assert_eq!(before[0]["code"], "AUTH_FAILED");
    }
}

#[tokio::test]
async fn a_client_that_never_sends_its_auth_message_gets_auth_failed_after_the_auth_timeout() {
    let server = start_with(Protocol::GeneralBots, |options| {
        options.config.auth_timeout = Duration::from_millis(200);
    })
    .await;
    let mut client = server.connect(server.url()).await;
    let (before, code) = client.recv_close().await;
    assert_eq!(code, POLICY_VIOLATION);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["code"], "AUTH_FAILED");
    // One that authenticated in time stays past it.
    let mut client = server.connect(server.url()).await;
    client
        .send(&json!({"type": "auth", "token": server.token()}))
        .await;
    client.recv("session_created").await;
    let quiet = client.next_event_within(Duration::from_millis(400)).await;
    assert!(quiet.is_none(), "{quiet:?}");
    client.send(&json!({"type": "ping"})).await;
    client.recv("pong").await;
}

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, _) = session(&server).await;
    client.send(&json!({"type": "ping"})).await;
    let pong = client.recv("pong").await;
    assert_eq!(pong["type"], "pong");
    assert!(pong["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn chat_is_answered_by_a_stream_that_joins_to_the_whole_text() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, id) = session(&server).await;
    let content = "Hello, I need help with my order number 12345 please";
    client.send(&chat(&id, content)).await;
    let frames = answer(&mut client).await;
    let (message_id, joined) = streamed(&id, &frames);
    assert_eq!(joined, format!("Echo: {content}"));
    let names: Vec<&str> = frames.iter().map(|(n, _)| *n).collect();
    assert!(
        names.iter().filter(|n| **n == "stream_chunk").count() > 1,
        "{names:?}"
    );
    // Each answer has its own message id.
    client.send(&chat(&id, "again")).await;
    let (second_id, joined) = streamed(&id, &answer(&mut client).await);
    assert_eq!(joined, "Echo: again");
    assert_ne!(message_id, second_id);
}

#[tokio::test]
async fn once_gets_a_single_response() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, id) = session(&server).await;
    client.send(&chat(&id, "/once What's my order?")).await;
    let frames = answer(&mut client).await;
    let names: Vec<&str> = frames.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["bot_typing", "chat_response", "bot_typing"]);
    assert_eq!(frames[0].1["is_typing"], true);
    let response = &frames[1].1;
    assert_eq!(response["session_id"], id.as_str());
    assert_eq!(response["role"], "assistant");
    assert_eq!(response["content"], "Echo: What's my order?");
    assert!(
        response["message_id"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[tokio::test]
async fn tool_commands_emit_a_tool_call_and_its_result() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, id) = session(&server).await;
    client
        .send(&chat(&id, r#"/tool search_orders {"order_id": "12345"}"#))
        .await;
    let frames = answer(&mut client).await;
    let names: Vec<&str> = frames.iter().map(|(n, _)| *n).collect();
    assert_eq!(&names[..3], ["bot_typing", "tool_call", "tool_result"]);
    assert_eq!(
        frames[1].1,
        json!({"type": "tool_call", "session_id": id, "tool": "search_orders", "arguments": {"order_id": "12345"}})
    );
    assert_eq!(
        frames[2].1,
        json!({"type": "tool_result", "session_id": id, "tool": "search_orders",
               "result": {"tool": "search_orders", "echo": {"order_id": "12345"}}})
    );
    let (_, joined) = streamed(&id, &frames);
    assert_eq!(joined, "Echo: I called search_orders.");

    // Arguments that are no JSON object are passed as input; none at all as {}.
    client.send(&chat(&id, "/tool lookup 12345")).await;
    let frames = answer(&mut client).await;
    assert_eq!(frames[1].1["arguments"], json!({"input": "12345"}));
    client.send(&chat(&id, "/tool clock")).await;
    let frames = answer(&mut client).await;
    assert_eq!(frames[1].1["tool"], "clock");
    assert_eq!(frames[1].1["arguments"], json!({}));
}

#[tokio::test]
async fn unknown_sessions_get_session_not_found_or_subscription_failed() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, _) = session(&server).await;
    let unknown = "550e8400-e29b-41d4-a716-446655440000";
    for kind in ["typing_start", "typing_stop", "unsubscribe"] {
        client
            .send(&json!({"type": kind, "session_id": unknown}))
            .await;
        let error = client.recv("error_message").await;
        assert_eq!(error["code"], "SESSION_NOT_FOUND", "{kind}");
    }
    client.send(&chat(unknown, "hi")).await;
    assert_eq!(
        client.recv("error_message").await,
        json!({"type": "error", "code": "SESSION_NOT_FOUND", "message": "Session does not exist or has expired"})
    );
    client
        .send(&json!({"type": "subscribe", "session_id": unknown}))
        .await;
    let error = client.recv("error_message").await;
    assert_eq!(error["code"], "SUBSCRIPTION_FAILED");
}

#[tokio::test]
async fn typing_indicators_of_a_known_session_are_accepted_silently() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, id) = session(&server).await;
    client
        .send(&json!({"type": "typing_start", "session_id": id}))
        .await;
    client
        .send(&json!({"type": "typing_stop", "session_id": id}))
        .await;
    nothing_before_pong(&mut client).await;
}

#[tokio::test]
async fn subscribers_share_a_sessions_frames_until_they_unsubscribe() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut owner, id) = session(&server).await;
    let (mut watcher, _) = session(&server).await;
    let (mut third, third_id) = session(&server).await;
    for session_id in [&id, &third_id] {
        watcher
            .send(&json!({"type": "subscribe", "session_id": session_id}))
            .await;
    }
    nothing_before_pong(&mut watcher).await;

    owner.send(&chat(&id, "shared words for everyone")).await;
    let own = answer(&mut owner).await;
    let seen = answer(&mut watcher).await;
    assert_eq!(own, seen);
    streamed(&id, &seen);

    // A subscriber's chat in the session reaches the owner too.
    watcher.send(&chat(&id, "/once from the watcher")).await;
    let reply = answer(&mut watcher).await;
    assert_eq!(answer(&mut owner).await, reply);

    watcher
        .send(&json!({"type": "unsubscribe", "session_id": id}))
        .await;
    nothing_before_pong(&mut watcher).await;
    owner.send(&chat(&id, "/once private again")).await;
    answer(&mut owner).await;
    // The owner's answer is complete, so a copy would already be queued for the watcher,
    // ahead of the third session's frames.
    third.send(&chat(&third_id, "/once third")).await;
    let third_frames = answer(&mut third).await;
    assert_eq!(answer(&mut watcher).await, third_frames);
}

#[tokio::test]
async fn subscribers_learn_that_the_owner_disconnected() {
    let server = start_server(Protocol::GeneralBots).await;
    let (owner, id) = session(&server).await;
    let (mut watcher, _) = session(&server).await;
    watcher
        .send(&json!({"type": "subscribe", "session_id": id}))
        .await;
    nothing_before_pong(&mut watcher).await;
    owner.close().await;
    assert_eq!(
        watcher.recv("session_closed").await,
        json!({"type": "session_closed", "session_id": id, "reason": "user_disconnect"})
    );
    // The session is gone.
    watcher.send(&chat(&id, "anyone?")).await;
    assert_eq!(
        watcher.recv("error_message").await["code"],
        "SESSION_NOT_FOUND"
    );
    watcher
        .send(&json!({"type": "subscribe", "session_id": id}))
        .await;
    assert_eq!(
        watcher.recv("error_message").await["code"],
        "SUBSCRIPTION_FAILED"
    );
}

#[tokio::test]
async fn bad_frames_get_invalid_format_and_the_connection_stays_open() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, id) = session(&server).await;
    let cases = [
        ("{\"type\": \"ping\"", "Malformed JSON"),
        ("not json at all", "Malformed JSON"),
        ("[{\"type\": \"ping\"}]", "no ClientMessage"),
        ("\"ping\"", "no ClientMessage"),
        ("{\"type\": \"dance\"}", "no ClientMessage"),
        ("{\"session_id\": \"x\"}", "no ClientMessage"),
        (
            "{\"type\": \"message\", \"content\": \"no session\"}",
            "invalid chat_message",
        ),
        ("{\"type\": \"subscribe\"}", "invalid subscribe"),
        // A server message is not a client message.
        (
            "{\"type\": \"pong\", \"timestamp\": \"2024-01-01T10:00:00Z\"}",
            "no ClientMessage",
        ),
    ];
    for (frame, why) in cases {
        client.send_text(frame).await;
        let error = client.recv("error_message").await;
        assert_eq!(error["code"], "INVALID_FORMAT", "{frame}");
        assert!(
            error["message"].as_str().unwrap().contains(why),
            "{frame} → {error}"
        );
    }
    client.send(&chat(&id, "/once fine")).await;
    assert_eq!(answer(&mut client).await[1].0, "chat_response");
}

#[tokio::test]
async fn messages_over_64_kb_get_message_too_large() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, id) = session(&server).await;
    // Exactly 65,536 bytes: accepted.
    let frame = |len: usize| {
        let empty = chat(&id, "/once ").to_string().len();
        chat(&id, &format!("/once {}", "a".repeat(len - empty))).to_string()
    };
    let largest = frame(65_536);
    assert_eq!(largest.len(), 65_536);
    client.send_text(largest).await;
    assert_eq!(answer(&mut client).await[1].0, "chat_response");
    // One byte more: MESSAGE_TOO_LARGE, and the connection stays open.
    client.send_text(frame(65_537)).await;
    assert_eq!(
        client.recv("error_message").await,
        json!({"type": "error", "code": "MESSAGE_TOO_LARGE", "message": "Exceeds 64 KB limit"})
    );
    nothing_before_pong(&mut client).await;
}

#[tokio::test]
async fn too_many_messages_get_rate_limited_and_the_connection_stays_open() {
    let server = start_with(Protocol::GeneralBots, |options| {
        options.config.rate_limit = RateLimit::new(1, 3);
    })
    .await;
    let (mut client, _) = session(&server).await;
    for _ in 0..5 {
        client.send(&json!({"type": "ping"})).await;
    }
    for _ in 0..3 {
        client.recv("pong").await;
    }
    for _ in 0..2 {
        assert_eq!(
            client.recv("error_message").await,
            json!({"type": "error", "code": "RATE_LIMITED", "message": "Too many messages"})
        );
    }
}

/// Whether `id` is shaped like a version-4 UUID.
fn is_uuid_v4(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
        && parts[2].starts_with('4')
        && parts[3].starts_with(['8', '9', 'a', 'b'])
}

#[tokio::test]
async fn session_ids_are_random_uuids() {
    let server = start_server(Protocol::GeneralBots).await;
    let (_a, first) = session(&server).await;
    let (_b, second) = session(&server).await;
    assert!(is_uuid_v4(&first), "{first}");
    assert!(is_uuid_v4(&second), "{second}");
    // Not a counter: random ids share no 32-bit prefix but once in 2^32 runs.
    assert_ne!(first[..8], second[..8], "{first} {second}");
}

#[tokio::test]
async fn another_users_connection_cannot_chat_or_type_in_a_session_only_watch_it() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut owner, id) = session(&server).await;
    let token = sign(
        &json!({"sub": "mallory", "exp": now() + 60}),
        &server.running.jwt_secret,
    );
    let mut other = server.connect(&server.url_with_token(&token)).await;
    other.recv("session_created").await;
    for request in [
        chat(&id, "/once hijacked"),
        json!({"type": "typing_start", "session_id": id}),
        json!({"type": "typing_stop", "session_id": id}),
    ] {
        other.send(&request).await;
        let refused = other.recv("error_message").await;
        assert_eq!(refused["code"], "SESSION_NOT_FOUND", "{request}");
    }
    // Nothing reached the owner: its own ping is answered next.
    nothing_before_pong(&mut owner).await;
    // Knowing the (unguessable) id, it may watch: the owner's answers reach it.
    other
        .send(&json!({"type": "subscribe", "session_id": id}))
        .await;
    nothing_before_pong(&mut other).await;
    owner.send(&chat(&id, "/once shared")).await;
    answer(&mut owner).await;
    let watched = answer(&mut other).await;
    assert!(
        watched
            .iter()
            .any(|(_, frame)| frame["content"] == "Echo: shared"),
        "{watched:?}"
    );
}

#[tokio::test]
async fn subscriptions_per_connection_are_bounded() {
    let server = start_with(Protocol::GeneralBots, |options| {
        options.state_limits.max_subscriptions = 2;
    })
    .await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(session(&server).await);
    }
    let (mut subscriber, own) = session(&server).await;
    let subscribe = |id: &str| json!({"type": "subscribe", "session_id": id});
    // Its own session and the same one twice do not count.
    for id in [&own, &sessions[0].1, &sessions[0].1, &sessions[1].1] {
        subscriber.send(&subscribe(id)).await;
    }
    nothing_before_pong(&mut subscriber).await;
    subscriber.send(&subscribe(&sessions[2].1)).await;
    let refused = subscriber.recv("error_message").await;
    assert_eq!(refused["code"], "SUBSCRIPTION_FAILED");
    assert!(
        refused["message"].as_str().unwrap().contains("at most 2"),
        "{refused}"
    );
    subscriber
        .send(&json!({"type": "unsubscribe", "session_id": sessions[0].1}))
        .await;
    subscriber.send(&subscribe(&sessions[2].1)).await;
    nothing_before_pong(&mut subscriber).await;
}

#[tokio::test]
async fn identity_is_the_tokens_sub_alone() {
    let server = start_server(Protocol::GeneralBots).await;
    let secret = server.running.jwt_secret.clone();
    let token = |claims: Value| server.url_with_token(&sign(&claims, &secret));
    let mut ada = server
        .connect(&token(
            json!({"sub": "u-1", "username": "ada", "exp": now() + 60}),
        ))
        .await;
    let id = ada.recv("session_created").await["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The same username under another subject is someone else.
    let mut other = server
        .connect(&token(
            json!({"sub": "u-2", "username": "ada", "exp": now() + 60}),
        ))
        .await;
    other.recv("session_created").await;
    other.send(&chat(&id, "/once mine?")).await;
    assert_eq!(
        other.recv("error_message").await["code"],
        "SESSION_NOT_FOUND"
    );
    // The same subject is the same user, whatever its username.
    let mut again = server
        .connect(&token(json!({"sub": "u-1", "exp": now() + 60})))
        .await;
    again.recv("session_created").await;
    again.send(&chat(&id, "/once mine")).await;
    assert_eq!(answer(&mut again).await.len(), 3);
    // A token without a subject names no one.
    let mut nobody = server
        .connect(&token(json!({"username": "ada", "exp": now() + 60})))
        .await;
    let (before, code) = nobody.recv_close().await;
    assert_eq!(code, POLICY_VIOLATION);
    assert_eq!(before[0]["code"], "AUTH_FAILED");
}

#[tokio::test]
async fn a_token_that_expires_while_connected_closes_the_connection_with_1008() {
    let server = start_server(Protocol::GeneralBots).await;
    let secret = server.running.jwt_secret.clone();
    for in_url in [true, false] {
        // At least 2 s from now (`exp` is in whole seconds): time to connect and be answered.
        let soon = sign(&json!({"sub": "ada", "exp": now() + 3}), &secret);
        let url = match in_url {
            true => server.url_with_token(&soon),
            false => server.url().to_string(),
        };
        let mut client = server.connect(&url).await;
        if !in_url {
            client.send(&json!({"type": "auth", "token": soon})).await;
        }
        client.recv("session_created").await;
        nothing_before_pong(&mut client).await;
        let (before, code) = client.recv_close().await;
        assert_eq!((before.len(), code), (0, POLICY_VIOLATION));
    }
}

#[tokio::test]
async fn a_long_answer_streams_in_chunks_of_tens_of_bytes_to_a_few_kb() {
    let server = start_server(Protocol::GeneralBots).await;
    let (mut client, id) = session(&server).await;
    let content = "a ".repeat(3000);
    client.send(&chat(&id, &content)).await;
    let frames = answer(&mut client).await;
    let (_, joined) = streamed(&id, &frames);
    assert_eq!(joined, format!("Echo: {content}"));
    let chunks: Vec<usize> = frames
        .iter()
        .filter(|(name, _)| *name == "stream_chunk")
        .map(|(_, frame)| frame["content"].as_str().unwrap().len())
        .collect();
    assert!(chunks.len() < 200, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|&n| n <= 2048), "{chunks:?}");
}

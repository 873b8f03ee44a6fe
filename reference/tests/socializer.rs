//! The Socializer reference server over real sockets: JWT authentication by query parameter
//! and cookie, close 1008 for every bad token, the welcome, chat, error messages, rate limit.

mod support;

use agentwire_runtime::server::RateLimit;
use serde_json::json;
use support::{Protocol, Server, now, sign, start_server, start_with};

const POLICY_VIOLATION: u16 = 1008;

fn welcome_for(name: &str) -> String {
    format!("Welcome to AI Chat, {name}! How can I assist you today?")
}

/// Connecting with `token` in the URL must complete the handshake and then close with 1008,
/// sending nothing first.
async fn closed_with_1008(server: &Server, url: &str) {
    let mut client = server.connect(url).await;
    assert_eq!(client.expect_close().await, POLICY_VIOLATION, "{url}");
}

#[tokio::test]
async fn a_valid_token_in_the_query_gets_the_welcome() {
    let server = start_server(Protocol::Socializer).await;
    let mut client = server.client().await;
    let welcome = client.recv("system_message").await;
    assert_eq!(welcome["type"], "system");
    assert_eq!(welcome["message"], welcome_for("reference-user"));
}

#[tokio::test]
async fn a_valid_token_in_the_access_token_cookie_gets_the_welcome() {
    let server = start_server(Protocol::Socializer).await;
    let token = server.token();
    let mut client = server
        .connect_with_cookie(server.url(), &format!("theme=dark; access_token={token}"))
        .await;
    let welcome = client.recv("system_message").await;
    assert_eq!(welcome["message"], welcome_for("reference-user"));
    // A cookie of another name is no credential.
    let mut other = server
        .connect_with_cookie(server.url(), &format!("token={token}"))
        .await;
    assert_eq!(other.expect_close().await, POLICY_VIOLATION);
}

#[tokio::test]
async fn the_welcome_names_the_user_of_the_token() {
    let server = start_server(Protocol::Socializer).await;
    let secret = server.running.jwt_secret.clone();
    let by_username = sign(
        &json!({"sub": "u-1", "username": "ada", "exp": now() + 60}),
        &secret,
    );
    let mut client = server.connect(&server.url_with_token(&by_username)).await;
    assert_eq!(
        client.recv("system_message").await["message"],
        welcome_for("ada")
    );
    let by_subject = sign(&json!({"sub": "grace", "exp": now() + 60}), &secret);
    let mut client = server.connect(&server.url_with_token(&by_subject)).await;
    assert_eq!(
        client.recv("system_message").await["message"],
        welcome_for("grace")
    );
}

#[tokio::test]
async fn any_client_id_in_the_path_is_accepted() {
    let server = start_server(Protocol::Socializer).await;
    let token = server.token();
    let addr = server.addr();
    for client_id in ["client-a1b2c3d4e", "x", "with%20space"] {
        let url = format!("ws://{addr}/ws/ai/ai-chat/{client_id}?token={token}");
        let mut client = server.connect(&url).await;
        client.recv("system_message").await;
    }
    for path in [
        "/ws/ai/ai-chat",
        "/ws/ai/ai-chat/",
        "/ws/ai/ai-chat/a/b",
        "/ws",
    ] {
        let url = format!("ws://{addr}{path}?token={token}");
        assert_eq!(server.refused_status(&url).await, 404, "{path}");
    }
}

#[tokio::test]
async fn a_missing_token_closes_with_1008() {
    let server = start_server(Protocol::Socializer).await;
    closed_with_1008(&server, server.url()).await;
    // An empty token is no better.
    closed_with_1008(&server, &server.url_with_token("")).await;
}

#[tokio::test]
async fn malformed_tokens_close_with_1008() {
    let server = start_server(Protocol::Socializer).await;
    for token in ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30"] {
        closed_with_1008(&server, &server.url_with_token(token)).await;
    }
    let mut client = server
        .connect_with_cookie(server.url(), "access_token=garbage")
        .await;
    assert_eq!(client.expect_close().await, POLICY_VIOLATION);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_closes_with_1008() {
    let server = start_server(Protocol::Socializer).await;
    let forged = sign(
        &json!({"sub": "mallory", "exp": now() + 60}),
        "not-the-secret",
    );
    closed_with_1008(&server, &server.url_with_token(&forged)).await;
    // A valid token with a tampered payload fails too.
    let token = server.token();
    let mut parts: Vec<&str> = token.split('.').collect();
    let other = sign(
        &json!({"sub": "admin", "exp": now() + 60}),
        "not-the-secret",
    );
    parts[1] = other.split('.').nth(1).unwrap();
    closed_with_1008(&server, &server.url_with_token(&parts.join("."))).await;
}

#[tokio::test]
async fn expired_tokens_and_tokens_without_expiry_close_with_1008() {
    let server = start_server(Protocol::Socializer).await;
    let secret = server.running.jwt_secret.clone();
    let expired = sign(&json!({"sub": "ada", "exp": now() - 10}), &secret);
    closed_with_1008(&server, &server.url_with_token(&expired)).await;
    let mut client = server
        .connect_with_cookie(server.url(), &format!("access_token={expired}"))
        .await;
    assert_eq!(client.expect_close().await, POLICY_VIOLATION);
    let forever = sign(&json!({"sub": "ada"}), &secret);
    closed_with_1008(&server, &server.url_with_token(&forever)).await;
}

#[tokio::test]
async fn alg_none_tokens_close_with_1008() {
    let server = start_server(Protocol::Socializer).await;
    let token = server.token();
    let payload = token.split('.').nth(1).unwrap();
    // {"alg":"none","typ":"JWT"}, with and without a signature.
    let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let signature = token.split('.').nth(2).unwrap();
    for unsigned in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}.{signature}"),
    ] {
        closed_with_1008(&server, &server.url_with_token(&unsigned)).await;
    }
}

#[tokio::test]
async fn chat_messages_are_answered_by_the_ai() {
    let server = start_server(Protocol::Socializer).await;
    let mut client = server.client().await;
    client.recv("system_message").await;
    client.send(&json!({"content": "Hello, AI!"})).await;
    let answer = client.recv("ai_response").await;
    assert_eq!(answer["type"], "ai_response");
    assert_eq!(
        answer["message"],
        "You said \"Hello, AI!\", reference-user (message 1)."
    );
    client.send(&json!({"content": "   "})).await;
    assert_eq!(
        client.recv("ai_response").await["message"],
        "Say something, reference-user!"
    );
    client
        .send(&json!({"content": "again", "extra": true}))
        .await;
    assert_eq!(
        client.recv("ai_response").await["message"],
        "You said \"again\", reference-user (message 3)."
    );
}

#[tokio::test]
async fn bad_messages_get_an_error_message_and_the_connection_stays_open() {
    let server = start_server(Protocol::Socializer).await;
    let mut client = server.client().await;
    client.recv("system_message").await;
    for frame in [
        "{\"content\": ",
        "hello",
        "[\"content\"]",
        "\"content\"",
        "null",
        "{}",
        "{\"message\": \"hi\"}",
        "{\"content\": 42}",
    ] {
        client.send_text(frame).await;
        let error = client.recv("error_message").await;
        assert_eq!(error["type"], "error");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid message format: "),
            "{frame} → {error}"
        );
    }
    client.send(&json!({"content": "still here"})).await;
    client.recv("ai_response").await;
}

#[tokio::test]
async fn too_many_messages_get_an_error_then_close_1008() {
    let server = start_with(Protocol::Socializer, |options| {
        options.config.rate_limit = RateLimit::new(1, 3);
    })
    .await;
    let mut client = server.client().await;
    client.recv("system_message").await;
    for i in 0..5 {
        client.send(&json!({"content": format!("m{i}")})).await;
    }
    for i in 0..3 {
        let answer = client.recv("ai_response").await;
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains(&format!("m{i}"))
        );
    }
    let (before, code) = client.recv_close().await;
    assert_eq!(code, POLICY_VIOLATION);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["type"], "error");
    assert_eq!(before[0]["message"], "Too many messages: slow down.");
}

#[tokio::test]
async fn a_token_that_expires_while_connected_closes_the_connection_with_1008() {
    let server = start_server(Protocol::Socializer).await;
    let soon = sign(
        // At least 2 s from now (`exp` is in whole seconds): time to connect and chat.
        &json!({"sub": "ada", "exp": now() + 3}),
        &server.running.jwt_secret,
    );
    let mut client = server.connect(&server.url_with_token(&soon)).await;
    client.recv("system_message").await;
    client.send(&json!({"content": "hi"})).await;
    client.recv("ai_response").await;
    assert_eq!(client.expect_close().await, POLICY_VIOLATION);
}

#[tokio::test]
async fn a_token_without_a_subject_closes_with_1008() {
    let server = start_server(Protocol::Socializer).await;
    let nameless = sign(
        &json!({"username": "ada", "exp": now() + 60}),
        &server.running.jwt_secret,
    );
    closed_with_1008(&server, &server.url_with_token(&nameless)).await;
}

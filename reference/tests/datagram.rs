//! The datagram reference server over real sockets: ping/pong, sessions, chat, bad frames.

mod support;

use agentwire_datagram::Base64Text;
use serde_json::{Value, json};
use support::{Protocol, start_server};

fn settings() -> Value {
    json!({"model": "ggml-gpt4all-l13b-snoozy.bin", "temperature": 0.8, "seed": 1234})
}

fn create(cid: &str) -> Value {
    json!({"msg": "session", "cid": cid, "content": {"request": "create", "settings": settings()}})
}

fn session(cid: &str, request: &str, id: &str) -> Value {
    json!({"msg": "session", "cid": cid, "content": {"request": request, "session_id": id}})
}

fn chat(cid: &str, data: &str) -> Value {
    json!({"msg": "chat", "cid": cid, "content": {"type": "text", "data": data}})
}

fn b64(text: &str) -> String {
    Base64Text::encode(text.as_bytes()).as_str().to_string()
}

fn decoded(data: &Value) -> String {
    let text = Base64Text::new(data.as_str().unwrap()).unwrap();
    String::from_utf8(text.decode().expect("base64")).unwrap()
}

/// Creates a session and returns its id, checking the response and the system notice.
async fn create_session(client: &mut support::Client, cid: &str) -> String {
    client.send(&create(cid)).await;
    let response = client.recv("session_response").await;
    assert_eq!(response["cid"], cid);
    assert_eq!(response["content"]["success"], true);
    assert_eq!(response["content"]["error"], Value::Null);
    let id = response["content"]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let notice = client.recv("system_message").await;
    assert_eq!(notice["cid"], cid);
    assert_eq!(
        decoded(&notice["content"]["data"]),
        format!("session {id} is ready")
    );
    id
}

#[tokio::test]
async fn ping_is_answered_with_a_ping_echoing_the_cid() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    for cid in ["1a2b3c4d", "", "0123456789abcdef0123456789abcdef"] {
        client
            .send(&json!({"msg": "ping", "cid": cid, "content": null}))
            .await;
        let pong = client.recv("pong").await;
        assert_eq!(pong, json!({"msg": "ping", "cid": cid, "content": null}));
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_with_their_cids() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    for i in 0..10 {
        client
            .send(&json!({"msg": "ping", "cid": format!("c{i}"), "content": null}))
            .await;
    }
    for i in 0..10 {
        assert_eq!(client.recv("pong").await["cid"], format!("c{i}"));
    }
}

#[tokio::test]
async fn a_session_is_created_queried_resumed_and_destroyed() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    let id = create_session(&mut client, "create-1").await;

    client.send(&session("status-1", "status", &id)).await;
    let status = client.recv("session_response").await;
    assert_eq!(status["cid"], "status-1");
    assert_eq!(status["content"]["success"], true);
    assert_eq!(status["content"]["status"], "idle");
    assert_eq!(status["content"]["settings"], settings());

    // Another connection resumes the session; it is then its session in use.
    let mut other = server.client().await;
    other.send(&session("resume-1", "resume", &id)).await;
    let resumed = other.recv("session_response").await;
    assert_eq!(resumed["cid"], "resume-1");
    assert_eq!(resumed["content"]["success"], true);
    assert_eq!(resumed["content"]["error"], Value::Null);

    other.send(&session("destroy-1", "destroy", &id)).await;
    let destroyed = other.recv("session_response").await;
    assert_eq!(destroyed["cid"], "destroy-1");
    assert_eq!(destroyed["content"]["success"], true);

    // Gone for everyone.
    client.send(&session("status-2", "status", &id)).await;
    let gone = client.recv("session_response").await;
    assert_eq!(gone["cid"], "status-2");
    assert_eq!(gone["content"]["success"], false);
    assert_eq!(
        gone["content"]["error"],
        format!("session {id} does not exist")
    );
}

#[tokio::test]
async fn sessions_get_distinct_ids() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    let first = create_session(&mut client, "a").await;
    let second = create_session(&mut client, "b").await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn unknown_sessions_fail_with_the_cid_and_a_reason() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    for (cid, request) in [("r", "resume"), ("s", "status")] {
        client.send(&session(cid, request, "no-such-session")).await;
        let failure = client.recv("session_response").await;
        assert_eq!(failure["cid"], cid);
        assert_eq!(failure["content"]["success"], false);
        assert_eq!(
            failure["content"]["error"],
            "session no-such-session does not exist"
        );
    }
}

#[tokio::test]
async fn only_the_session_in_use_can_be_destroyed() {
    let server = start_server(Protocol::Datagram).await;
    let mut owner = server.client().await;
    let id = create_session(&mut owner, "c").await;
    let mut stranger = server.client().await;
    stranger.send(&session("d", "destroy", &id)).await;
    let refused = stranger.recv("session_response").await;
    assert_eq!(refused["cid"], "d");
    assert_eq!(refused["content"]["success"], false);
    assert_eq!(
        refused["content"]["error"],
        "only the session in use can be destroyed"
    );
    // Still there.
    owner.send(&session("s", "status", &id)).await;
    assert_eq!(
        owner.recv("session_response").await["content"]["success"],
        true
    );
    // A destroyed session can no longer be destroyed or resumed.
    owner.send(&session("d1", "destroy", &id)).await;
    assert_eq!(
        owner.recv("session_response").await["content"]["success"],
        true
    );
    owner.send(&session("d2", "destroy", &id)).await;
    assert_eq!(
        owner.recv("session_response").await["content"]["success"],
        false
    );
    owner.send(&session("r", "resume", &id)).await;
    assert_eq!(
        owner.recv("session_response").await["content"]["success"],
        false
    );
}

#[tokio::test]
async fn chat_echoes_the_decoded_text_base64_encoded() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    create_session(&mut client, "c").await;
    client.send(&chat("chat-1", &b64("héllo, world"))).await;
    let response = client.recv("chat_response").await;
    assert_eq!(response["cid"], "chat-1");
    let content = &response["content"];
    assert_eq!(content["success"], true);
    assert_eq!(content["error"], false);
    assert_eq!(content["sender"], "assistant");
    assert_eq!(content["bot"], true);
    assert_eq!(content["type"], "text");
    assert_eq!(decoded(&content["data"]), "Echo: héllo, world");
}

#[tokio::test]
async fn chat_needs_a_session_and_base64() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    client.send(&chat("early", &b64("hi"))).await;
    let refused = client.recv("chat_response").await;
    assert_eq!(refused["cid"], "early");
    assert_eq!(refused["content"]["success"], false);
    assert_eq!(refused["content"]["error"], "no session: create one first");
    assert_eq!(refused["content"]["data"], "");

    create_session(&mut client, "c").await;
    client.send(&chat("bad", "<base64 encoded message>")).await;
    let refused = client.recv("chat_response").await;
    assert_eq!(refused["cid"], "bad");
    assert_eq!(refused["content"]["success"], false);
    assert_eq!(refused["content"]["error"], "data is not base64");

    // Destroying the session in use ends chatting until another is created or resumed.
    let id = create_session(&mut client, "c2").await;
    client.send(&session("d", "destroy", &id)).await;
    client.recv("session_response").await;
    client.send(&chat("late", &b64("hi"))).await;
    assert_eq!(
        client.recv("chat_response").await["content"]["success"],
        false
    );
}

#[tokio::test]
async fn bad_frames_get_a_system_message_and_the_connection_stays_open() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    // The frame, what the notice says, and its cid: the frame's own when it names one.
    let cases = [
        ("{not json", "not JSON", ""),
        ("[1, 2]", "no ClientMessage", ""),
        ("42", "no ClientMessage", ""),
        (
            r#"{"msg": "dance", "cid": "x1", "content": null}"#,
            "no ClientMessage",
            "x1",
        ),
        (r#"{"msg": "ping", "content": null}"#, "invalid ping", ""),
        (
            r#"{"msg": "ping", "cid": 7, "content": null}"#,
            "invalid ping",
            "",
        ),
        (
            r#"{"msg": "session", "cid": "x2", "content": {"request": "create"}}"#,
            "invalid session_create",
            "x2",
        ),
        // Only the server sends system messages.
        (
            r#"{"msg": "system", "cid": "x3", "content": {"type": "text", "data": ""}}"#,
            "no ClientMessage",
            "x3",
        ),
    ];
    for (frame, why, cid) in cases {
        client.send_text(frame).await;
        let notice = client.recv("system_message").await;
        assert_eq!(notice["cid"], cid, "{frame}");
        let text = decoded(&notice["content"]["data"]);
        assert!(
            text.starts_with("ignored a frame: ") && text.contains(why),
            "{frame} → {text}"
        );
    }
    client
        .send(&json!({"msg": "ping", "cid": "still", "content": null}))
        .await;
    assert_eq!(client.recv("pong").await["cid"], "still");
}

#[tokio::test]
async fn a_session_destroyed_elsewhere_can_no_longer_be_chatted_in() {
    let server = start_server(Protocol::Datagram).await;
    let mut creator = server.client().await;
    let id = create_session(&mut creator, "c").await;
    let mut other = server.client().await;
    other.send(&session("r", "resume", &id)).await;
    assert_eq!(
        other.recv("session_response").await["content"]["success"],
        true
    );
    other.send(&session("d", "destroy", &id)).await;
    assert_eq!(
        other.recv("session_response").await["content"]["success"],
        true
    );
    creator.send(&chat("after", &b64("hi"))).await;
    let refused = creator.recv("chat_response").await;
    assert_eq!(refused["cid"], "after");
    assert_eq!(refused["content"]["success"], false);
    assert_eq!(
        refused["content"]["error"],
        format!("session {id} no longer exists")
    );
}

#[tokio::test]
async fn session_ids_are_random_uuids() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    let first = create_session(&mut client, "a").await;
    let second = create_session(&mut client, "b").await;
    for id in [&first, &second] {
        let parts: Vec<&str> = id.split('-').collect();
        assert!(parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]), "{id}");
        assert!(parts[2].starts_with('4'), "{id}");
    }
    // Not a counter: random ids share no 32-bit prefix but once in 2^32 runs.
    assert_ne!(first[..8], second[..8], "{first} {second}");
}

/// The `success` and `error` of the response to `request`.
async fn outcome(client: &mut support::Client, request: &Value) -> (bool, Value) {
    client.send(request).await;
    let response = client.recv("session_response").await;
    (
        response["content"]["success"].as_bool().unwrap(),
        response["content"]["error"].clone(),
    )
}

#[tokio::test]
async fn sessions_are_bounded_by_dropping_the_one_unused_longest() {
    let server = support::start_with(Protocol::Datagram, |options| {
        options.state_limits.max_sessions = 2;
    })
    .await;
    let mut a = server.client().await;
    let first = create_session(&mut a, "1").await;
    let second = create_session(&mut a, "2").await;
    // The first is in use by no one and unused longest: it makes room for the third.
    let third = create_session(&mut a, "3").await;
    let (found, _) = outcome(&mut a, &session("r", "resume", &first)).await;
    assert!(!found);
    assert!(outcome(&mut a, &session("r", "resume", &second)).await.0);
    // Both kept sessions are in use (the second by A, the third by B): no room.
    let mut b = server.client().await;
    assert!(outcome(&mut b, &session("r", "resume", &third)).await.0);
    let mut c = server.client().await;
    let (created, error) = outcome(&mut c, &create("c")).await;
    assert!(!created);
    assert!(
        error.as_str().unwrap().contains("too many sessions"),
        "{error}"
    );
    // B leaves: its session is no longer in use and makes room.
    b.close().await;
    let mut created = false;
    for _ in 0..100 {
        created = outcome(&mut c, &create("c")).await.0;
        if created {
            c.recv("system_message").await;
            break;
        }
        // B's disconnect is handled by its own task.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(created);
    let (kept, _) = outcome(&mut c, &session("s", "status", &second)).await;
    assert!(kept, "the session in use by A is kept");
}

#[tokio::test]
async fn settings_beyond_4_kib_fail_create() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = server.client().await;
    let mut padded = settings();
    padded["padding"] = json!("x".repeat(5000));
    let request = json!({"msg": "session", "cid": "big", "content": {"request": "create", "settings": padded}});
    let (created, error) = outcome(&mut client, &request).await;
    assert!(!created);
    assert!(error.as_str().unwrap().contains("at most 4096"), "{error}");
    // Within the bound, the settings come back as sent.
    let id = create_session(&mut client, "ok").await;
    client.send(&session("s", "status", &id)).await;
    let status = client.recv("session_response").await;
    assert_eq!(status["content"]["settings"], settings());
}

#[tokio::test]
async fn one_address_cannot_push_out_the_sessions_of_another() {
    let server = support::start_with(Protocol::Datagram, |options| {
        options.state_limits.max_sessions = 3;
        options.state_limits.max_sessions_per_ip = 2;
    })
    .await;
    // A client on another machine creates a session and leaves, to resume it later.
    let mut other = server.client_from([127, 0, 0, 2].into()).await;
    let kept = create_session(&mut other, "k").await;
    other.close().await;
    // One address creating sessions over and over only pushes out its own.
    let mut greedy = server.client().await;
    let mut mine = Vec::new();
    for i in 0..10 {
        mine.push(create_session(&mut greedy, &i.to_string()).await);
    }
    let (found, _) = outcome(&mut greedy, &session("r", "resume", &mine[0])).await;
    assert!(!found, "its own oldest made room");
    // The server is full (2 + 1): a third address pushes out a session of the one holding
    // the most, unused longest.
    let mut third = server.client_from([127, 0, 0, 3].into()).await;
    create_session(&mut third, "t").await;
    let mut back = server.client_from([127, 0, 0, 2].into()).await;
    assert!(outcome(&mut back, &session("r", "resume", &kept)).await.0);
    let (found, _) = outcome(&mut greedy, &session("r", "resume", &mine[8])).await;
    assert!(!found, "the greedy address's unused session made room");
    assert!(
        outcome(&mut greedy, &session("r", "resume", &mine[9]))
            .await
            .0
    );
}

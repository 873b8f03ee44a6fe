//! datagram: requests correlated by `cid` (the document's own ids and the client's), a session's
//! life (learnt from the create reply, filled in, resumed on another connection), base64 chat,
//! and the system message pushed after a create.

use agentwire_datagram::client::{
    ChatRequestInput, Client, ClientError, ConnectOptions, PingInput, SessionCreateContentInput,
    SessionCreateInput, SessionDestroyInput, SessionResumeContentInput, SessionResumeInput,
    SessionStatusInput,
};
use agentwire_datagram::{
    Base64Text, ChatRequestContent, ErrorField, ServerMessage, SessionState, Settings,
};
use serde_json::Value;

use crate::{Target, WAIT, next_of, soon};

fn chat(text: &str) -> ChatRequestInput {
    ChatRequestInput::new(ChatRequestContent::new(
        "text".into(),
        Base64Text::encode(text.as_bytes()),
    ))
}

fn decoded(data: &Base64Text) -> String {
    String::from_utf8(data.decode().expect("base64")).expect("UTF-8")
}

pub(crate) async fn conversation(target: &Target) {
    let client = Client::new(ConnectOptions::new(target.origin()).timeout(WAIT));
    let mut messages = client.messages();
    soon(client.connect(), "connecting")
        .await
        .expect("connects");
    assert!(client.is_connected());

    // The document's own correlation id, verbatim: shorter than those the client makes up.
    let example = target.example("ping");
    let cid = example["cid"].as_str().expect("the example has a cid");
    let pong = client
        .ping(PingInput::new().with_cid(cid))
        .await
        .expect("pong");
    assert_eq!(pong.cid, cid, "the reply echoes the document's id");

    // A chat needs a session: the client refuses it before sending anything.
    let early = client.chat_request(chat("too early")).await.unwrap_err();
    assert!(matches!(early, ClientError::Session(_)), "{early}");

    // The document's create request, with its own cid and settings.
    let create = target.example("session_create");
    let settings: Settings =
        serde_json::from_value(create["content"]["settings"].clone()).expect("settings");
    let create_cid = create["cid"].as_str().expect("a cid").to_string();
    let created = client
        .session_create(
            SessionCreateInput::new(SessionCreateContentInput::new(settings.clone()))
                .with_cid(create_cid.clone()),
        )
        .await
        .expect("created");
    assert_eq!(created.cid, create_cid);
    assert!(created.content.success);
    assert_eq!(created.content.error, ErrorField::Null);
    let session = created.content.session_id.clone().expect("a session id");
    assert_eq!(
        client.session(),
        Some(Value::String(session.clone())),
        "learnt from the reply"
    );
    let notice = next_of(
        &mut messages,
        "the system message after create",
        |m| match m {
            ServerMessage::SystemMessage(m) => Some(m),
            _ => None,
        },
    )
    .await;
    assert!(decoded(&notice.content.data).contains(&format!("session {session} is ready")));

    // Four requests in flight at once, each answered by the reply that carries its cid.
    let (ping, status, chat_reply, ping2) = tokio::join!(
        client.ping(PingInput::new()),
        client.session_status(SessionStatusInput::new()),
        client.chat_request(chat("Hello, datagram!")),
        client.ping(PingInput::new().with_cid("second")),
    );
    let ping = ping.expect("pong");
    assert!(
        ping.cid.len() == 32 && ping.cid.bytes().all(|b| b.is_ascii_hexdigit()),
        "the client made up {}",
        ping.cid
    );
    assert_eq!(ping2.expect("pong").cid, "second");
    let status = status.expect("status");
    assert_eq!(status.content.status, Some(SessionState::Idle));
    assert_eq!(status.content.settings, Some(settings));
    let chat_reply = chat_reply.expect("chat");
    assert!(chat_reply.content.success);
    assert_eq!(decoded(&chat_reply.content.data), "Echo: Hello, datagram!");

    // Another connection resumes the session by id (an unknown one is refused in the reply).
    let other = Client::new(ConnectOptions::new(target.url.clone()).timeout(WAIT));
    soon(other.connect(), "connecting again")
        .await
        .expect("connects");
    let unknown = SessionResumeInput::new()
        .with_content(SessionResumeContentInput::new().with_session_id("session-none"));
    let missing = other.session_resume(unknown).await.expect("a reply");
    assert!(!missing.content.success);
    let resume = SessionResumeInput::new()
        .with_content(SessionResumeContentInput::new().with_session_id(session.clone()));
    assert!(
        other
            .session_resume(resume)
            .await
            .expect("resumed")
            .content
            .success
    );
    other.use_session(Some(Value::String(session.clone())));
    let there = other.chat_request(chat("me too")).await.expect("chat");
    assert_eq!(decoded(&there.content.data), "Echo: me too");
    other.close().await;

    let destroyed = client
        .session_destroy(SessionDestroyInput::new())
        .await
        .expect("destroyed");
    assert!(destroyed.content.success);
    let refused = client.chat_request(chat("anyone?")).await.expect("a reply");
    assert!(
        !refused.content.success,
        "a chat in a destroyed session is refused in the reply"
    );
    assert!(matches!(refused.content.error, ErrorField::String(_)));
    client.close().await;
    assert!(!client.is_connected());
    let after = client.ping(PingInput::new()).await.unwrap_err();
    assert!(
        matches!(after, ClientError::Closed { code: 1000, .. }),
        "{after}"
    );
}

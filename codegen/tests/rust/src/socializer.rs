//! socializer: a JWT in the query or in a cookie, a path parameter, the welcome message sent
//! unprompted, answers in order, and a forged token refused with close 1008.

use agentwire_socializer::ServerMessage;
use agentwire_socializer::client::{
    AiResponseOrErrorMessage as Reply, AuthVia, ChatMessageInput, Client, ClientError,
    ConnectOptions, Event, Reconnect,
};

use crate::{Target, WAIT, next_of, soon};

pub(crate) async fn conversation(target: &Target) {
    for via in [AuthVia::QueryParameter, AuthVia::Cookie] {
        let options = ConnectOptions::new(target.origin())
            .token(target.token())
            .auth_via(via)
            .param("client_id", "client-rust")
            .timeout(WAIT);
        let client = Client::new(options);
        // The welcome comes as the connection opens: subscribe before connecting.
        let mut messages = client.messages();
        soon(client.connect(), "connecting")
            .await
            .expect("connects");
        let welcome = next_of(&mut messages, "the welcome", |m| match m {
            ServerMessage::SystemMessage(m) => Some(m),
            _ => None,
        })
        .await;
        assert!(
            welcome.message.starts_with("Welcome to AI Chat"),
            "{via}: {}",
            welcome.message
        );
        let first = client
            .chat_message(ChatMessageInput::new("Hello, AI!".into()))
            .await
            .expect("answer");
        let Reply::AiResponse(first) = first else {
            panic!("{via}: the first answer is no AI response")
        };
        assert!(
            first.message.contains("Hello, AI!") && first.message.contains("message 1"),
            "{}",
            first.message
        );
        // Replies carry no id: two in flight are answered in order.
        let (second, third) = tokio::join!(
            client.chat_message(ChatMessageInput::new("two".into())),
            client.chat_message(ChatMessageInput::new("three".into())),
        );
        let text = |reply| match reply {
            Reply::AiResponse(m) => m.message,
            other => panic!("not an AI response: {other:?}"),
        };
        assert!(text(second.expect("second")).contains("message 2"));
        assert!(text(third.expect("third")).contains("message 3"));
        client.close().await;
    }

    // A forged token: the server closes with 1008 (Policy Violation), as documented; with
    // reconnection asked for, the client does not reconnect, and a request fails with the code.
    for via in [AuthVia::QueryParameter, AuthVia::Cookie] {
        let options = ConnectOptions::new(target.origin())
            .token(target.forged_token())
            .auth_via(via)
            .param("client_id", "c")
            .reconnect(Reconnect::default())
            .timeout(WAIT);
        let client = Client::new(options);
        let mut events = client.events();
        match soon(client.connect(), "connecting").await {
            // The handshake completes, then the server closes.
            Ok(()) => {}
            Err(error) => assert_eq!(error.close_code(), Some(1008), "{via}: {error}"),
        }
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
        let error = client
            .chat_message(ChatMessageInput::new("hello?".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(error, ClientError::Closed { code: 1008, .. }),
            "{via}: {error}"
        );
        assert_eq!(error.close_code(), Some(1008));
        assert!(!client.is_connected());
    }
}

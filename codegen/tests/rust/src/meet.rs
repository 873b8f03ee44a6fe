//! General Bots Meet: messages without replies, and what the server relays between connections:
//! join notices (the joiner learns its id), signals to their target only, leave notices.

use agentwire_generalbots_meet::ServerMessage;
use agentwire_generalbots_meet::client::{
    Client, ConnectOptions, JoinInput, LeaveInput, Messages, SignalInput,
};
use serde_json::{Map, Value, json};

use crate::{Target, WAIT, next_of, soon};

async fn joined_notice(messages: &mut Messages<ServerMessage>, what: &str) -> (String, String) {
    next_of(messages, what, |m| match m {
        ServerMessage::JoinNotice(n) => {
            Some((n.participant_name, n.participant_id.unwrap_or_default()))
        }
        _ => None,
    })
    .await
}

fn signal(value: Value) -> Map<String, Value> {
    value.as_object().expect("an object").clone()
}

pub(crate) async fn conversation(target: &Target) {
    let alice = Client::new(ConnectOptions::new(target.origin()).timeout(WAIT));
    let bob = Client::new(ConnectOptions::new(target.url.clone()).timeout(WAIT));
    let mut to_alice = alice.messages();
    let mut to_bob = bob.messages();
    soon(alice.connect(), "alice connecting")
        .await
        .expect("connects");
    soon(bob.connect(), "bob connecting")
        .await
        .expect("connects");

    alice
        .join(JoinInput::new("room-rust".into(), "Alice".into()))
        .await
        .expect("sent");
    let (name, alice_id) = joined_notice(&mut to_alice, "alice's own join notice").await;
    assert_eq!(name, "Alice");
    assert!(!alice_id.is_empty(), "the joiner learns its participant id");

    bob.join(JoinInput::new("room-rust".into(), "Bob".into()))
        .await
        .expect("sent");
    let (name, bob_id) = joined_notice(&mut to_alice, "bob's join, seen by alice").await;
    assert_eq!(name, "Bob");
    assert_eq!(
        joined_notice(&mut to_bob, "who is there").await,
        ("Alice".to_string(), alice_id.clone())
    );
    assert_eq!(
        joined_notice(&mut to_bob, "bob's own id").await,
        ("Bob".to_string(), bob_id.clone())
    );
    assert_ne!(alice_id, bob_id);

    let offer = json!({"type": "offer", "sdp": "v=0"});
    alice
        .signal(SignalInput::new(
            "room-rust".into(),
            bob_id.clone(),
            signal(offer.clone()),
        ))
        .await
        .expect("sent");
    let relayed = next_of(&mut to_bob, "the offer", |m| match m {
        ServerMessage::SignalRelay(r) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!(Value::Object(relayed.signal.clone()), offer);
    assert_eq!(
        relayed.sender_id.as_deref(),
        Some(alice_id.as_str()),
        "the relay names its sender"
    );
    let answer = json!({"type": "answer", "sdp": "v=0"});
    bob.signal(SignalInput::new(
        "room-rust".into(),
        alice_id.clone(),
        signal(answer.clone()),
    ))
    .await
    .expect("sent");
    let back = next_of(&mut to_alice, "the answer", |m| match m {
        ServerMessage::SignalRelay(r) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!(Value::Object(back.signal), answer);

    bob.leave(LeaveInput::new("room-rust".into()))
        .await
        .expect("sent");
    let left = next_of(&mut to_alice, "bob's leave notice", |m| match m {
        ServerMessage::LeaveNotice(n) => Some(n),
        _ => None,
    })
    .await;
    assert_eq!(
        (left.room_id.as_str(), left.participant_id.as_deref()),
        ("room-rust", Some(bob_id.as_str()))
    );
    alice.close().await;
    bob.close().await;
}

//! The General Bots Meet reference server over real sockets: rooms, join and leave notices in
//! both directions, signals relayed to their target only, disconnects, bad frames.
//!
//! Frames relayed by other connections reach a client through its queue, in order. To show
//! that something was *not* relayed to a client, a test lets the sender finish (it round-trips
//! a frame of its own), then relays something else to the client: that must be the next frame.

mod support;

use serde_json::{Value, json};
use support::{Client, Protocol, Server, start_server};

fn join(room: &str, name: &str) -> Value {
    json!({"type": "join", "room_id": room, "participant_name": name})
}

fn signal(room: &str, target: &str, data: Value) -> Value {
    json!({"type": "signal", "room_id": room, "target_id": target, "signal": data})
}

/// Joins `room` as `name`; returns the client's participant id, checking that the joiner is
/// told of everyone there (`present`, in order of their ids) and then of itself.
async fn enter(client: &mut Client, room: &str, name: &str, present: &[(&str, &str)]) -> String {
    client.send(&join(room, name)).await;
    for (id, other) in present {
        let notice = client.recv("join_notice").await;
        assert_eq!(
            notice,
            json!({"type": "join", "room_id": room, "participant_name": other, "participant_id": id})
        );
    }
    let me = client.recv("join_notice").await;
    assert_eq!(me["room_id"], room);
    assert_eq!(me["participant_name"], name);
    me["participant_id"].as_str().unwrap().to_string()
}

/// The client's earlier frames have all been handled: a frame of its own is answered.
async fn settled(client: &mut Client) {
    client.send_text("{").await;
    assert_eq!(client.recv("error_message").await["code"], "INVALID_FORMAT");
}

/// Three participants in `room-1`: (client, id) for Alice, Bob and Carol.
async fn three(server: &Server) -> [(Client, String); 3] {
    let mut alice = server.client().await;
    let mut bob = server.client().await;
    let mut carol = server.client().await;
    let a = enter(&mut alice, "room-1", "Alice", &[]).await;
    let b = enter(&mut bob, "room-1", "Bob", &[(&a, "Alice")]).await;
    assert_eq!(
        alice.recv("join_notice").await,
        json!({"type": "join", "room_id": "room-1", "participant_name": "Bob", "participant_id": b})
    );
    let c = enter(&mut carol, "room-1", "Carol", &[(&a, "Alice"), (&b, "Bob")]).await;
    for client in [&mut alice, &mut bob] {
        let notice = client.recv("join_notice").await;
        assert_eq!(notice["participant_id"], c.as_str());
        assert_eq!(notice["participant_name"], "Carol");
    }
    [(alice, a), (bob, b), (carol, c)]
}

#[tokio::test]
async fn joins_are_announced_both_ways_with_participant_ids() {
    let server = start_server(Protocol::Meet).await;
    let [(_, a), (_, b), (_, c)] = three(&server).await;
    assert!(a != b && b != c && a != c);
}

#[tokio::test]
async fn signals_reach_their_target_only_with_the_sender_id() {
    let server = start_server(Protocol::Meet).await;
    let [(mut alice, a), (mut bob, b), (mut carol, c)] = three(&server).await;
    let offer = json!({"type": "offer", "sdp": "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1"});
    alice.send(&signal("room-1", &b, offer.clone())).await;
    assert_eq!(
        bob.recv("signal_relay").await,
        json!({"type": "signal", "room_id": "room-1", "target_id": b, "signal": offer, "sender_id": a})
    );
    settled(&mut alice).await;
    // Carol got nothing: Bob's signal to her is her next frame.
    bob.send(&signal("room-1", &c, json!({"candidate": "x"})))
        .await;
    let relayed = carol.recv("signal_relay").await;
    assert_eq!(relayed["sender_id"], b.as_str());
    assert_eq!(relayed["signal"], json!({"candidate": "x"}));
    // And Alice got nothing either.
    carol.send(&signal("room-1", &a, json!({}))).await;
    assert_eq!(alice.recv("signal_relay").await["sender_id"], c.as_str());
}

#[tokio::test]
async fn signals_to_strangers_or_from_outside_the_room_go_nowhere() {
    let server = start_server(Protocol::Meet).await;
    let [(mut alice, a), (mut bob, b), (_carol, _)] = three(&server).await;
    // An outsider in another room, who knows Bob's id.
    let mut dave = server.client().await;
    let d = enter(&mut dave, "room-2", "Dave", &[]).await;
    dave.send(&signal("room-1", &b, json!({"from": "dave"})))
        .await;
    dave.send(&signal("room-2", &b, json!({"from": "dave"})))
        .await;
    settled(&mut dave).await;
    // Alice addresses someone who is not there, and Dave in the wrong room.
    alice
        .send(&signal("room-1", "participant-999", json!({})))
        .await;
    alice.send(&signal("room-1", &d, json!({}))).await;
    settled(&mut alice).await;
    alice.send(&signal("room-1", &b, json!({"n": 1}))).await;
    assert_eq!(bob.recv("signal_relay").await["sender_id"], a.as_str());
    // Dave received nothing from room-1: a join to his room is his next frame.
    let mut erin = server.client().await;
    enter(&mut erin, "room-2", "Erin", &[(&d, "Dave")]).await;
    assert_eq!(dave.recv("join_notice").await["participant_name"], "Erin");
}

#[tokio::test]
async fn leaving_is_announced_to_the_others() {
    let server = start_server(Protocol::Meet).await;
    let [(mut alice, a), (mut bob, b), (mut carol, _)] = three(&server).await;
    alice
        .send(&json!({"type": "leave", "room_id": "room-1"}))
        .await;
    for client in [&mut bob, &mut carol] {
        assert_eq!(
            client.recv("leave_notice").await,
            json!({"type": "leave", "room_id": "room-1", "participant_id": a})
        );
    }
    // Alice is told nothing, and her signals no longer reach the room.
    alice.send(&signal("room-1", &b, json!({}))).await;
    settled(&mut alice).await;
    // Leaving a room twice, or one never joined, says nothing.
    alice
        .send(&json!({"type": "leave", "room_id": "room-1"}))
        .await;
    alice
        .send(&json!({"type": "leave", "room_id": "room-9"}))
        .await;
    settled(&mut alice).await;
    // Bob's next frame is a new join, not Alice's signal or a second leave.
    let mut dan = server.client().await;
    dan.send(&join("room-1", "Dan")).await;
    assert_eq!(bob.recv("join_notice").await["participant_name"], "Dan");
}

#[tokio::test]
async fn disconnecting_is_leaving() {
    let server = start_server(Protocol::Meet).await;
    let [(alice, a), (mut bob, _), (mut carol, c)] = three(&server).await;
    alice.close().await;
    for client in [&mut bob, &mut carol] {
        assert_eq!(
            client.recv("leave_notice").await,
            json!({"type": "leave", "room_id": "room-1", "participant_id": a})
        );
    }
    // A dropped connection (no close handshake) leaves too.
    drop(carol);
    assert_eq!(
        bob.recv("leave_notice").await,
        json!({"type": "leave", "room_id": "room-1", "participant_id": c})
    );
}

#[tokio::test]
async fn a_participant_may_be_in_several_rooms() {
    let server = start_server(Protocol::Meet).await;
    let mut alice = server.client().await;
    let mut bob = server.client().await;
    let a1 = enter(&mut alice, "room-1", "Alice", &[]).await;
    let a2 = enter(&mut alice, "room-2", "Alice", &[]).await;
    assert_eq!(a1, a2, "one id per connection");
    let b = enter(&mut bob, "room-2", "Bob", &[(&a1, "Alice")]).await;
    assert_eq!(
        alice.recv("join_notice").await["participant_id"],
        b.as_str()
    );
    bob.close().await;
    let notice = alice.recv("leave_notice").await;
    assert_eq!(notice["room_id"], "room-2");
}

#[tokio::test]
async fn bad_frames_get_invalid_format_and_the_connection_stays_open() {
    let server = start_server(Protocol::Meet).await;
    let mut client = server.client().await;
    let cases = [
        ("{\"type\": \"join\"", "Malformed JSON"),
        ("[]", "no ClientMessage"),
        ("true", "no ClientMessage"),
        ("{\"type\": \"dance\"}", "no ClientMessage"),
        ("{\"type\": \"join\", \"room_id\": \"r\"}", "invalid join"),
        (
            "{\"type\": \"signal\", \"room_id\": \"r\", \"target_id\": \"t\", \"signal\": \"sdp\"}",
            "invalid signal",
        ),
    ];
    for (frame, why) in cases {
        client.send_text(frame).await;
        let error = client.recv("error_message").await;
        assert_eq!(error["type"], "error");
        assert_eq!(error["code"], "INVALID_FORMAT", "{frame}");
        assert!(
            error["message"].as_str().unwrap().contains(why),
            "{frame} → {error}"
        );
    }
    enter(&mut client, "room-1", "Alice", &[]).await;
}

/// The error a refused join gets.
async fn refused_join(client: &mut Client, room: &str, expected: &str) {
    client.send(&join(room, "X")).await;
    let error = client.recv("error_message").await;
    assert_eq!(error["code"], "SUBSCRIPTION_FAILED");
    assert!(
        error["message"].as_str().unwrap().contains(expected),
        "{error}"
    );
}

#[tokio::test]
async fn rooms_and_their_participants_are_bounded() {
    let server = support::start_with(Protocol::Meet, |options| {
        options.state_limits.max_rooms_per_connection = 2;
        options.state_limits.max_participants_per_room = 2;
        options.state_limits.max_rooms = 3;
    })
    .await;
    let mut alice = server.client().await;
    let a = enter(&mut alice, "r1", "Alice", &[]).await;
    enter(&mut alice, "r2", "Alice", &[]).await;
    refused_join(&mut alice, "r3", "at most 2 rooms").await;
    // Joining a room again is not one more room.
    enter(&mut alice, "r1", "Alice", &[]).await;
    let mut bob = server.client().await;
    enter(&mut bob, "r1", "Bob", &[(&a, "Alice")]).await;
    enter(&mut bob, "r3", "Bob", &[]).await;
    let mut carol = server.client().await;
    refused_join(&mut carol, "r1", "full").await;
    // Three rooms exist: a fourth is refused, an existing one with room is not.
    refused_join(&mut carol, "r4", "full").await;
    enter(&mut carol, "r2", "Carol", &[(&a, "Alice")]).await;
}

#[tokio::test]
async fn rooms_opened_from_one_address_and_the_names_it_holds_are_bounded() {
    let server = support::start_with(Protocol::Meet, |options| {
        options.state_limits.max_rooms_per_ip = 2;
        options.state_limits.max_name_bytes_per_ip = 40;
    })
    .await;
    let mut alice = server.client().await;
    let a = enter(&mut alice, "r1", "Alice", &[]).await;
    enter(&mut alice, "r2", "Alice", &[]).await;
    // Another connection from the same address opens no third room...
    let mut bob = server.client().await;
    refused_join(&mut bob, "r3", "too many rooms opened from this address").await;
    // ...but may join one that is open.
    enter(&mut bob, "r1", "Bob", &[(&a, "Alice")]).await;
    // Another address has its own quota.
    let mut carol = server.client_from([127, 0, 0, 2].into()).await;
    enter(&mut carol, "r3", "Carol", &[]).await;
    // A room that closes gives its place back.
    alice.send(&json!({"type": "leave", "room_id": "r2"})).await;
    enter(&mut bob, "r4", "Bob", &[]).await;
    // This address now holds r1+Alice, r1+Bob, r4+Bob: 19 of its 40 bytes of ids and names.
    bob.send(&join("r1", &"B".repeat(40))).await;
    let error = bob.recv("error_message").await;
    assert_eq!(error["code"], "SUBSCRIPTION_FAILED");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("too many bytes of room ids and names"),
        "{error}"
    );
    // A longer name that fits replaces the one held.
    enter(&mut bob, "r1", &"B".repeat(25), &[(&a, "Alice")]).await;
}

//! The attacks of issue 13, each at a scale that runs in seconds: what one client (or a few
//! addresses) does to take the server's memory or its service. Each test checks that the
//! server's accounted bytes (`Running::stats`, what its memory budget holds) stay bounded, and
//! that a client behaving well from another address (127.0.0.2) is still answered in time;
//! the benchmark `hostile` runs them at the issue's scale against a release build.
//!
//! "In time" is the median of a few round trips under 100 ms, so that a loaded machine's
//! scheduling hiccup does not fail a test while a server that starves its clients does.

mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use agentwire_runtime::server::GUARANTEED_BYTES_PER_CONNECTION;
use futures_util::future::join_all;
use serde_json::{Value, json};
use support::{
    Client, Event, Protocol, Server, answers, now, ready, ready_from, sign, start_server,
    start_with, within,
};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

/// The well-behaved client's machine.
const PROBE: [u8; 4] = [127, 0, 0, 2];

/// The `n`th attacking machine: 127.0.1.n.
fn attacker(n: u8) -> IpAddr {
    [127, 0, 1, n].into()
}

/// A client from another address connects and is answered: the median of five round trips
/// within 100 ms, every one within the test's wait.
async fn assert_served(server: &Server) {
    let mut client = ready_from(server, PROBE.into()).await;
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        answers(&mut client).await;
        times.push(started.elapsed());
    }
    times.sort();
    assert!(
        times[2] < Duration::from_millis(100),
        "{}: round trips {times:?}",
        server.protocol.id()
    );
}

/// Waits until the server's accounted bytes are back to at most `bytes`.
async fn settles_to(server: &Server, bytes: usize) {
    let stats = &server.running.stats;
    within(
        async {
            while stats.buffered_bytes() > bytes {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        },
        "the accounted bytes to come back down",
    )
    .await;
}

/// A masked client frame, encoded by tungstenite.
fn raw_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        is_final: true,
        opcode,
        mask: Some([0x11, 0x22, 0x33, 0x44]),
        ..FrameHeader::default()
    };
    let frame = Frame::from_payload(header, payload.to_vec().into());
    let mut out = Vec::new();
    frame
        .format(&mut out)
        .expect("a frame formats into a vector");
    out
}

/// Writes raw bytes on a client's socket, under the WebSocket layer; `false` once the server
/// has hung up.
async fn write_raw(client: &mut Client, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(2), client.ws.get_mut().write_all(bytes)).await,
        Ok(Ok(()))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_that_never_reads_its_pongs_is_closed() {
    let server = start_server(Protocol::Rixa).await;
    let mut flooder = server.client().await;
    let ping = raw_frame(OpCode::Control(Control::Ping), &[b'p'; 125]);
    let burst: Vec<u8> = ping.repeat(1000);
    // 128 KB of pings at a time, never reading: past its burst of 20 the server closes the
    // connection (1008), and hangs up on it within a second.
    let flood = async { while write_raw(&mut flooder, &burst).await {} };
    within(flood, "the server to hang up on the flood").await;
    assert_served(&server).await;
    assert!(server.running.stats.peak_buffered_bytes() <= 2 * GUARANTEED_BYTES_PER_CONNECTION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn padded_datagram_settings_are_refused_and_nothing_is_kept() {
    let server = start_with(Protocol::Datagram, |o| o.config.rate_limit = None).await;
    let mut client = server.client().await;
    let padding = "x".repeat(1_000_000);
    let create = json!({"msg": "session", "cid": "c", "content": {"request": "create",
        "settings": {"model": "m", "temperature": 0.8, "seed": 1, "padding": padding}}})
    .to_string();
    for _ in 0..5 {
        client.send_text(create.clone()).await;
        let refused = client.recv("session_response").await;
        assert_eq!(refused["content"]["success"], false, "{refused}");
    }
    assert_served(&server).await;
    settles_to(&server, 0).await;
    // Each message was charged while it was read and handled: about 1 MB at a time.
    let peak = server.running.stats.peak_buffered_bytes();
    assert!((1_000_000..3_000_000).contains(&peak), "{peak}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_from_one_address_take_only_its_share() {
    let server = start_server(Protocol::Datagram).await;
    let mut silent = Vec::new();
    let mut refused = 0;
    for _ in 0..130 {
        match support::connect_from(server.protocol, attacker(1), server.addr(), server.url()).await
        {
            Ok(client) => silent.push(client),
            Err(_) => refused += 1,
        }
    }
    // The runtime's default of 100 connections per address.
    assert_eq!((silent.len(), refused), (100, 30));
    assert_served(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_that_never_send_the_upgrade_do_not_starve_others() {
    let server = start_server(Protocol::Rixa).await;
    let mut sockets = Vec::new();
    for _ in 0..400 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((attacker(1), 0).into()).unwrap();
        if let Ok(stream) = socket.connect(server.addr()).await {
            sockets.push(stream);
        }
    }
    // At most 32 of them wait for their request; the rest were closed at once.
    assert!(server.running.stats.handshakes() <= 32);
    assert_served(&server).await;
    drop(sockets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_4_mb_frames_are_bounded_by_the_budget() {
    let budget = 8 << 20;
    let server = start_with(Protocol::Datagram, |o| {
        o.config.memory_budget_bytes = budget
    })
    .await;
    // 24 connections from 4 addresses each send 1 MB of a 4 MB frame and never the rest:
    // 24 MB that the budget of 8 MiB does not have.
    let header = &raw_frame(OpCode::Data(Data::Text), &vec![b' '; 4_000_000])[..14];
    let attacks = (0..24u8).map(|i| {
        let server = &server;
        async move {
            let mut client = support::connect_from(
                server.protocol,
                attacker(i % 4 + 1),
                server.addr(),
                server.url(),
            )
            .await
            .unwrap();
            let mut frame = header.to_vec();
            frame.extend(std::iter::repeat_n(0u8, 1_000_000));
            write_raw(&mut client, &frame).await;
            client
        }
    });
    let mut attackers = join_all(attacks).await;
    assert_served(&server).await;
    let stats = &server.running.stats;
    let bound = budget + 25 * GUARANTEED_BYTES_PER_CONNECTION;
    assert!(stats.peak_buffered_bytes() <= bound, "{stats:?}");
    // Those the budget had no room for were told to try again later.
    let mut busy = 0;
    for client in &mut attackers {
        if let Some(Event::Close(Some(1013))) =
            client.next_event_within(Duration::from_millis(200)).await
        {
            busy += 1;
        }
    }
    assert!(busy >= 16, "{busy} of 24 closed with 1013");
    drop(attackers);
    settles_to(&server, 0).await;
}

/// A Meet join.
fn join(room: &str, name: &str) -> Value {
    json!({"type": "join", "room_id": room, "participant_name": name})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_addresses_cannot_take_every_meet_room() {
    let server = start_with(Protocol::Meet, |o| o.config.rate_limit = None).await;
    let mut opened = 0;
    let mut clients = Vec::new();
    for address in 1..=3 {
        for connection in 0..8 {
            let mut client = ready_from(&server, attacker(address)).await;
            for room in 0..16 {
                client
                    .send(&join(&format!("{address}-{connection}-{room}"), "x"))
                    .await;
                let (name, _) = client.recv_any().await;
                opened += usize::from(name == "join_notice");
            }
            clients.push(client);
        }
    }
    // 100 rooms an address: 300 of the 384 asked for.
    assert_eq!(opened, 300);
    let mut probe = ready_from(&server, PROBE.into()).await;
    probe.send(&join("mine", "me")).await;
    probe.recv("join_notice").await;
    assert_served(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meet_members_that_never_read_cost_at_most_their_queues() {
    let server = start_with(Protocol::Meet, |o| o.config.rate_limit = None).await;
    let mut members = Vec::new();
    for _ in 0..20 {
        let mut member = ready(&server).await;
        member.send(&join("room", "m")).await;
        members.push(member);
    }
    // Rejoining with a 60 KB name, over and over: each time a 60 KB notice for every member,
    // none of whom reads. Their sockets fill, then their queues, and then they are closed.
    let mut rejoiner = ready_from(&server, attacker(1)).await;
    let long = "n".repeat(60_000);
    for _ in 0..200 {
        rejoiner.send(&join("room", &long)).await;
        loop {
            let (name, frame) = rejoiner.recv_any().await;
            if name == "join_notice" && frame["participant_name"] == long.as_str() {
                break;
            }
        }
    }
    assert_served(&server).await;
    // At most a queue (256 KiB) and a frame being written for each member.
    let peak = server.running.stats.peak_buffered_bytes();
    assert!(peak < 21 * (256 + 64) * 1024, "{peak}");
    drop(members);
    settles_to(&server, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_6_kb_chat_message_does_not_close_a_subscriber_that_reads() {
    let server = start_server(Protocol::GeneralBots).await;
    let mut owner = server.client().await;
    let id = owner.recv("session_created").await["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut subscriber = ready(&server).await;
    subscriber
        .send(&json!({"type": "subscribe", "session_id": id}))
        .await;
    subscriber.send(&json!({"type": "ping"})).await;
    subscriber.recv("pong").await;
    let content = "a ".repeat(3000);
    owner
        .send(&json!({"type": "message", "session_id": id, "content": content}))
        .await;
    // The subscriber gets the whole answer, through to its end.
    let mut frames = 0;
    loop {
        let (name, frame) = subscriber.recv_any().await;
        frames += 1;
        if name == "bot_typing" && frame["is_typing"] == false {
            break;
        }
    }
    assert!(frames < 200, "{frames} frames");
    assert_served(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_sessions_over_and_over_evicts_no_other_address_s_session() {
    let server = start_server(Protocol::Datagram).await;
    let mut other = ready_from(&server, PROBE.into()).await;
    other
        .send(
            &json!({"msg": "session", "cid": "k", "content": {"request": "create",
            "settings": {"model": "m", "temperature": 0.8, "seed": 1}}}),
        )
        .await;
    let kept = other.recv("session_response").await["content"]["session_id"].clone();
    other.close().await;
    // 300 creates from one address, on 10 connections (each within its rate limit).
    let creates = (0..10).map(|c| {
        let server = &server;
        async move {
            let mut client = ready_from(server, attacker(1)).await;
            for i in 0..30 {
                client
                    .send(
                        &json!({"msg": "session", "cid": format!("{c}-{i}"), "content": {
                        "request": "create",
                        "settings": {"model": "m", "temperature": 0.8, "seed": 1}}}),
                    )
                    .await;
                client.recv("session_response").await;
                client.recv("system_message").await;
            }
            client
        }
    });
    let _greedy = join_all(creates).await;
    let mut back = ready_from(&server, PROBE.into()).await;
    back.send(&json!({"msg": "session", "cid": "r",
        "content": {"request": "resume", "session_id": kept}}))
        .await;
    let resumed = back.recv("session_response").await;
    assert_eq!(resumed["content"]["success"], true, "{resumed}");
    assert_served(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_expires_while_its_connection_is_open_ends_it() {
    for protocol in [Protocol::Socializer, Protocol::GeneralBots] {
        let server = start_server(protocol).await;
        let soon = sign(
            // At least 2 s from now (`exp` is in whole seconds): time to be greeted.
            &json!({"sub": "ada", "exp": now() + 3}),
            &server.running.jwt_secret,
        );
        let mut client = server.connect(&server.url_with_token(&soon)).await;
        client.recv_any().await;
        let (_, code) = client.recv_close().await;
        assert_eq!(code, 1008, "{}", protocol.id());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_rfc_6455_forbids_get_its_close_code_before_the_socket_drops() {
    let server = start_server(Protocol::Rixa).await;
    let close = |payload: Vec<u8>| raw_frame(OpCode::Control(Control::Close), &payload);
    let bad_code = {
        let mut payload = u16::from(CloseCode::from(999)).to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        close(payload)
    };
    let cases = [
        (
            "invalid UTF-8",
            raw_frame(OpCode::Data(Data::Text), &[0xff, 0xfe]),
            1007,
        ),
        (
            "a reserved opcode",
            raw_frame(OpCode::Data(Data::Reserved(3)), b"x"),
            1002,
        ),
        (
            "a reserved control opcode",
            raw_frame(OpCode::Control(Control::Reserved(11)), b""),
            1002,
        ),
        ("a close code no one may send", bad_code, 1002),
        ("a one-byte close payload", close(vec![3]), 1002),
        (
            "a close reason that is not UTF-8",
            close(vec![3, 232, 0xff]),
            1007,
        ),
    ];
    for (what, frame, code) in cases {
        let mut client = ready(&server).await;
        answers(&mut client).await;
        assert!(write_raw(&mut client, &frame).await, "{what}");
        match client.next_event().await {
            Event::Close(Some(got)) => assert_eq!(got, code, "{what}"),
            other => panic!("{what}: expected close {code}, got {other:?}"),
        }
    }
    assert_served(&server).await;
}

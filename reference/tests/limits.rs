//! The transport over real sockets, for every protocol: wrong paths, binary frames, the size
//! limit and the hard cap, rate limits, the per-IP connection limit, idle timeout, keep-alive
//! pings, the handshake timeout and graceful shutdown. Timings are configured short per test.

mod support;

use std::time::Duration;

use agentwire_datagram::Base64Text;
use agentwire_runtime::server::RateLimit;
use futures_util::future::join_all;
use serde_json::json;
use support::{
    Client, Event, Protocol, Server, answers, ready, request, start_server, start_with, within,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GOING_AWAY: u16 = 1001;
const MESSAGE_TOO_BIG: u16 = 1009;

/// The next frame is the protocol's answer to a refused message: its text must contain
/// `what`, and for the General Bots protocols its code must be `code`.
async fn refused(client: &mut Client, code: &str, what: &str) {
    let (name, frame) = client.recv_any().await;
    let text = match client.protocol {
        Protocol::Rixa => {
            assert_eq!(name, "status");
            assert_eq!(frame["level"], "error");
            frame["content"].as_str().unwrap().to_string()
        }
        Protocol::Datagram => {
            assert_eq!(name, "system_message");
            let data = Base64Text::new(frame["content"]["data"].as_str().unwrap()).unwrap();
            String::from_utf8(data.decode().unwrap()).unwrap()
        }
        Protocol::Socializer => {
            assert_eq!(name, "error_message");
            frame["message"].as_str().unwrap().to_string()
        }
        Protocol::GeneralBots | Protocol::Meet => {
            assert_eq!(name, "error_message");
            assert_eq!(frame["code"], code, "{frame}");
            frame["message"].as_str().unwrap().to_string()
        }
    };
    assert!(
        text.contains(what),
        "{}: {frame} should say {what:?}",
        client.protocol.id()
    );
}

/// What the protocol says of a `bytes`-byte message over a 1024-byte limit.
fn too_large(protocol: Protocol, bytes: usize) -> String {
    match protocol {
        Protocol::GeneralBots | Protocol::Meet => "Exceeds 1 KB limit".into(),
        _ => format!("a message of {bytes} bytes, over the 1024 byte limit"),
    }
}

#[tokio::test]
async fn other_paths_are_refused_with_404() {
    for protocol in Protocol::ALL {
        let server = start_server(protocol).await;
        let addr = server.addr();
        for path in ["/nope", "/ws/other", "/ws/meet/x", "/ws/ai/ai-chat/a/b"] {
            let url = format!("ws://{addr}{path}");
            assert_eq!(
                server.refused_status(&url).await,
                404,
                "{} {path}",
                protocol.id()
            );
        }
        // The endpoint itself is served.
        ready(&server).await;
    }
}

#[tokio::test]
async fn binary_frames_are_answered_as_each_protocol_answers_bad_input() {
    for protocol in Protocol::ALL {
        let server = start_server(protocol).await;
        let mut client = ready(&server).await;
        client.send_binary(b"{\"type\": \"ping\"}".to_vec()).await;
        refused(
            &mut client,
            "INVALID_FORMAT",
            "a binary message of 16 bytes",
        )
        .await;
        answers(&mut client).await;
    }
}

#[tokio::test]
async fn oversized_messages_are_answered_and_the_connection_stays_open() {
    for protocol in Protocol::ALL {
        let server = start_with(protocol, |options| {
            options.config = options.config.clone().with_max_message_bytes(1024);
        })
        .await;
        let mut client = ready(&server).await;
        // At the limit: an ordinary message.
        let (message, answer) = request(protocol);
        let mut padded = message.clone();
        padded["padding"] = json!("");
        let room = 1024 - padded.to_string().len();
        padded["padding"] = json!("x".repeat(room));
        assert_eq!(padded.to_string().len(), 1024);
        client.send(&padded).await;
        client.recv(answer).await;
        // Over it, as text and as binary.
        padded["padding"] = json!("x".repeat(room + 1));
        client.send(&padded).await;
        refused(&mut client, "MESSAGE_TOO_LARGE", &too_large(protocol, 1025)).await;
        client.send_binary(vec![b'x'; 2000]).await;
        refused(&mut client, "MESSAGE_TOO_LARGE", &too_large(protocol, 2000)).await;
        answers(&mut client).await;
    }
}

#[tokio::test]
async fn messages_over_the_hard_cap_close_with_1009() {
    for protocol in Protocol::ALL {
        let server = start_with(protocol, |options| {
            options.config = options.config.clone().with_max_message_bytes(1024);
        })
        .await;
        let mut client = ready(&server).await;
        // Four times the limit is still answered; beyond it the connection is closed.
        client.send_text("x".repeat(4096)).await;
        refused(&mut client, "MESSAGE_TOO_LARGE", &too_large(protocol, 4096)).await;
        client.send_text("x".repeat(4097)).await;
        assert_eq!(
            client.expect_close().await,
            MESSAGE_TOO_BIG,
            "{}",
            protocol.id()
        );
    }
}

#[tokio::test]
async fn messages_over_the_rate_limit_are_refused_and_the_connection_stays_open() {
    // Socializer closes instead, and generalbots is covered in its own tests.
    for protocol in [Protocol::Rixa, Protocol::Datagram, Protocol::Meet] {
        let server = start_with(protocol, |options| {
            options.config.rate_limit = RateLimit::new(1, 3);
        })
        .await;
        let mut client = ready(&server).await;
        let (message, answer) = request(protocol);
        for _ in 0..5 {
            client.send(&message).await;
        }
        for _ in 0..3 {
            client.recv(answer).await;
        }
        for _ in 0..2 {
            refused(&mut client, "RATE_LIMITED", "oo many messages").await;
        }
    }
}

#[tokio::test]
async fn the_default_rate_limit_allows_bursts_of_40() {
    let server = start_server(Protocol::Datagram).await;
    let mut client = ready(&server).await;
    let ping = json!({"msg": "ping", "cid": "c", "content": null});
    // 20 messages a second refill the burst slowly enough for 100 quick ones to run over it.
    for _ in 0..100 {
        client.send(&ping).await;
    }
    for _ in 0..40 {
        client.recv("pong").await;
    }
    let mut limited = 0;
    for _ in 40..100 {
        if client.recv_any().await.0 == "system_message" {
            limited += 1;
        }
    }
    assert!(limited > 0, "100 messages at once were not limited");
}

/// A handshake at `server`'s endpoint that is refused with 429.
async fn refused_429(server: &Server) {
    let url = match server.protocol {
        Protocol::Socializer | Protocol::GeneralBots => server.url_with_token(&server.token()),
        _ => server.url().to_string(),
    };
    assert_eq!(server.refused_status(&url).await, 429);
}

#[tokio::test]
async fn connections_over_the_per_ip_limit_are_refused_with_429() {
    for protocol in Protocol::ALL {
        let server = start_with(protocol, |options| {
            options.config.max_connections_per_ip = Some(3);
        })
        .await;
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(ready(&server).await);
        }
        refused_429(&server).await;
        refused_429(&server).await;
        // The open connections are unaffected.
        for client in &mut clients {
            answers(client).await;
        }
        // A closed connection frees its place.
        clients.pop().unwrap().close().await;
        let mut again = None;
        for _ in 0..100 {
            if let Ok(client) = server
                .try_connect(&match protocol {
                    Protocol::Socializer | Protocol::GeneralBots => {
                        server.url_with_token(&server.token())
                    }
                    _ => server.url().to_string(),
                })
                .await
            {
                again = Some(client);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            again.is_some(),
            "{}: the place was not freed",
            protocol.id()
        );
        refused_429(&server).await;
    }
}

#[tokio::test]
async fn the_documented_limit_is_100_connections_per_ip() {
    for protocol in [Protocol::GeneralBots, Protocol::Meet] {
        let server = start_with(protocol, |options| options.config.rate_limit = None).await;
        let mut clients = Vec::new();
        for _ in 0..100 {
            clients.push(ready(&server).await);
        }
        refused_429(&server).await;
        answers(clients.last_mut().unwrap()).await;
    }
}

#[tokio::test]
async fn idle_connections_are_closed_with_1001() {
    join_all(Protocol::ALL.map(|protocol| async move {
        let server = start_with(protocol, |options| {
            options.config.idle_timeout = Some(Duration::from_millis(300));
        })
        .await;
        let mut idle = ready(&server).await;
        let mut busy = ready(&server).await;
        // A message every 50 ms keeps a connection open well past the timeout.
        let started = tokio::time::Instant::now();
        while started.elapsed() < Duration::from_millis(900) {
            answers(&mut busy).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(idle.expect_close().await, GOING_AWAY, "{}", protocol.id());
        // Once quiet, it is closed too.
        assert_eq!(busy.expect_close().await, GOING_AWAY, "{}", protocol.id());
    }))
    .await;
}

#[tokio::test]
async fn the_documented_timings_are_30_second_pings_and_a_5_minute_idle_timeout() {
    for protocol in [Protocol::GeneralBots, Protocol::Meet] {
        let options = agentwire_reference::Options::new(protocol.id()).unwrap();
        assert_eq!(options.config.ping_interval, Some(Duration::from_secs(30)));
        assert_eq!(options.config.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(options.config.max_message_bytes, 65_536);
        assert_eq!(options.config.max_connections_per_ip, Some(100));
    }
}

#[tokio::test]
async fn the_server_pings_on_the_configured_interval() {
    join_all(Protocol::ALL.map(|protocol| async move {
        let server = start_with(protocol, |options| {
            options.config.ping_interval = Some(Duration::from_millis(100));
        })
        .await;
        let mut client = ready(&server).await;
        // About ten pings in a second: on the interval, neither missing nor in bursts.
        let until = tokio::time::Instant::now() + Duration::from_secs(1);
        let mut pings = 0;
        while let Some(event) = client
            .next_event_within(until.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            match event {
                Event::Ping => pings += 1,
                other => panic!("{}: expected a ping, got {other:?}", protocol.id()),
            }
        }
        assert!(
            (5..=10).contains(&pings),
            "{}: {pings} pings",
            protocol.id()
        );
        // Answering them (tungstenite does) keeps the connection usable.
        answers(&mut client).await;
    }))
    .await;
}

#[tokio::test]
async fn without_a_ping_interval_the_server_sends_no_pings() {
    let server = start_with(Protocol::Rixa, |options| {
        options.config.ping_interval = None
    })
    .await;
    let mut client = ready(&server).await;
    assert!(
        client
            .next_event_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn shutting_down_closes_every_connection_with_1001() {
    for protocol in Protocol::ALL {
        let server = start_server(protocol).await;
        let addr = server.addr();
        let mut first = ready(&server).await;
        let mut second = ready(&server).await;
        let Server { running, .. } = server;
        let stopping = tokio::spawn(running.stop());
        assert_eq!(first.expect_close().await, GOING_AWAY, "{}", protocol.id());
        assert_eq!(second.expect_close().await, GOING_AWAY, "{}", protocol.id());
        within(stopping, "the server to stop")
            .await
            .unwrap()
            .expect("a clean stop");
        // Nothing listens any more.
        assert!(TcpStream::connect(addr).await.is_err());
    }
}

#[tokio::test]
async fn a_client_that_never_sends_the_handshake_is_dropped() {
    let server = start_with(Protocol::Meet, |options| {
        options.config.handshake_timeout = Duration::from_millis(200);
        options.config.max_connections_per_ip = Some(1);
    })
    .await;
    let mut silent = TcpStream::connect(server.addr()).await.unwrap();
    // While it holds the only place, a WebSocket client is refused.
    refused_429(&server).await;
    // The server hangs up on it without a word.
    let mut buffer = [0u8; 64];
    let read = within(silent.read(&mut buffer), "the server to hang up").await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // Half a handshake is no better.
    let mut slow = TcpStream::connect(server.addr()).await.unwrap();
    slow.write_all(b"GET /ws/meet HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let read = within(slow.read(&mut buffer), "the server to hang up").await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    drop((silent, slow));
    // The place is free again.
    let mut client = None;
    for _ in 0..100 {
        if let Ok(c) = server.try_connect(server.url()).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    answers(client.as_mut().expect("a place after the timeout")).await;
}

#[tokio::test]
async fn a_plain_http_request_is_not_upgraded() {
    let server = start_server(Protocol::Rixa).await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /ws/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    // tungstenite hangs up without an answer.
    let _ = within(stream.read_to_end(&mut response), "the server to hang up").await;
    let response = String::from_utf8_lossy(&response);
    assert!(!response.starts_with("HTTP/1.1 101"), "{response}");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped() {
    let server = start_with(Protocol::Meet, |options| {
        options.config.rate_limit = None;
        options.config.max_outbox_bytes = 4 * 60_000;
        options.config.send_timeout = Duration::from_millis(200);
    })
    .await;
    let mut victim = ready(&server).await;
    let mut flooder = ready(&server).await;
    victim
        .send(&json!({"type": "join", "room_id": "r", "participant_name": "victim"}))
        .await;
    let victim_id = victim.recv("join_notice").await["participant_id"].clone();
    flooder
        .send(&json!({"type": "join", "room_id": "r", "participant_name": "flooder"}))
        .await;
    assert_eq!(
        flooder.recv("join_notice").await["participant_name"],
        "victim"
    );
    flooder.recv("join_notice").await;
    // Signals for the victim, who reads none of them: megabytes more than the socket buffers
    // hold.
    let payload = "x".repeat(60_000);
    let signal = json!({"type": "signal", "room_id": "r", "target_id": victim_id,
                        "signal": {"sdp": payload}})
    .to_string();
    let flood = async {
        for _ in 0..600 {
            flooder.send_text(signal.clone()).await;
        }
        // The server gave up on the victim: it left the room.
        let notice = flooder.recv("leave_notice").await;
        assert_eq!(notice["participant_id"], victim_id);
    };
    within(flood, "the flood").await;
    drop(victim);
}

#[tokio::test]
async fn a_client_that_never_reads_its_replies_is_dropped() {
    let server = start_with(Protocol::Datagram, |options| {
        options.config.rate_limit = None;
        options.config.max_connections_per_ip = Some(1);
        options.config.send_timeout = Duration::from_millis(200);
    })
    .await;
    let mut greedy = ready(&server).await;
    // Large pings, whose large pongs it never reads, until the server no longer takes them
    // (its writes are stuck, so it stops reading) or hangs up.
    let ping = json!({"msg": "ping", "cid": "x".repeat(60_000), "content": null}).to_string();
    let mut sent = 0;
    loop {
        let send = futures_util::SinkExt::send(
            &mut greedy.ws,
            tokio_tungstenite::tungstenite::Message::text(ping.clone()),
        );
        match tokio::time::timeout(Duration::from_millis(500), send).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => break,
        }
        sent += 1;
        assert!(sent < 5_000, "the server never stopped reading");
    }
    // The server gives up on it, which frees its place.
    let mut again = None;
    for _ in 0..200 {
        if let Ok(client) = server.try_connect(server.url()).await {
            again = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    answers(again.as_mut().expect("the stuck connection was dropped")).await;
    drop(greedy);
}

#[tokio::test]
async fn refused_messages_count_against_the_rate_limit() {
    for protocol in [
        Protocol::Rixa,
        Protocol::Datagram,
        Protocol::GeneralBots,
        Protocol::Meet,
    ] {
        let server = start_with(protocol, |options| {
            options.config = options.config.clone().with_max_message_bytes(1024);
            options.config.rate_limit = RateLimit::new(1, 3);
        })
        .await;
        let mut client = ready(&server).await;
        client.send_binary(vec![b'x'; 10]).await;
        refused(
            &mut client,
            "INVALID_FORMAT",
            "a binary message of 10 bytes",
        )
        .await;
        client.send_text("x".repeat(2000)).await;
        refused(&mut client, "MESSAGE_TOO_LARGE", &too_large(protocol, 2000)).await;
        client.send_binary(vec![b'x'; 2000]).await;
        refused(&mut client, "MESSAGE_TOO_LARGE", &too_large(protocol, 2000)).await;
        // The burst is spent.
        let (message, _) = request(protocol);
        client.send(&message).await;
        refused(&mut client, "RATE_LIMITED", "oo many messages").await;
    }
}

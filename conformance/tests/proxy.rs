//! `conformance proxy` between real clients and real servers: the suite's own conversations and
//! the reference servers pass through it unchanged; a client's invalid frame and a server's wrong
//! reply are each reported for the side that sent them, citing the sentence; a transcript judged
//! again gives the findings the proxy printed; `--enforce` stops invalid frames; closes, refusals
//! and Ctrl-C behave as a client and a server expect; hostile peers cannot make it the weak link.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentwire_conformance::report::Status;
use agentwire_conformance::runner::{RunOptions, Silent, run_protocol};
use agentwire_conformance::target::Target;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::proxy::{Proxy, banner, interrupt, spawn, wait};
use support::{Fault, Ws, schemas, start, start_refusing, start_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// The findings among a proxy's lines, as `validate --format json` lists them (without `kind`).
fn findings(lines: &[Value]) -> Vec<Value> {
    let mut found: Vec<Value> = lines
        .iter()
        .filter(|l| l["kind"] == "finding")
        .map(|l| {
            let mut l = l.clone();
            l.as_object_mut().unwrap().remove("kind");
            l
        })
        .collect();
    sort(&mut found);
    found
}

fn sort(findings: &mut [Value]) {
    findings.sort_by_key(|f| {
        (
            f["connection"].as_u64(),
            (f["ms"].as_f64().unwrap() * 1000.0) as u64,
            f.to_string(),
        )
    });
}

/// `conformance validate --format json FILE`: its exit code and its findings.
fn validate(path: &std::path::Path) -> (Option<i32>, Vec<Value>, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["validate", "--format", "json"])
        .arg(path)
        .output()
        .expect("validate runs");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut found = report["transcripts"][0]["findings"]
        .as_array()
        .unwrap()
        .clone();
    sort(&mut found);
    (output.status.code(), found, report)
}

/// A client's connection.
type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn client(url: &str) -> Client {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    ws
}

/// The next text frame, within 5 s.
async fn next_text(ws: &mut Client) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the connection is open")
            .expect("a frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// The close frame the peer sends, within 5 s.
async fn next_close(ws: &mut Client) -> Option<CloseFrame> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a close within 5 s")
        {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_servers_pass_the_suite_through_the_proxy_and_the_record_judges_the_same() {
    let dir = tempfile::tempdir().unwrap();
    for &id in agentwire_reference::PROTOCOLS {
        let running = agentwire_reference::start(
            agentwire_reference::Options::new(id).unwrap(),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        )
        .await
        .unwrap();
        let record = dir.path().join(format!("{id}.jsonl"));
        let upstream = format!("ws://{}", running.addr);
        let proxy = Proxy::start(id, &upstream, &["--record", record.to_str().unwrap()]);
        let mut target = Target::parse(&proxy.url).unwrap();
        target.token = running.token.clone();
        target.jwt_secret = Some(running.jwt_secret.clone());
        let report = run_protocol(schemas(), id, &target, &RunOptions::default(), &Silent)
            .await
            .expect("the suite runs");
        for check in &report.checks {
            let slow = check.id == "reaction.idle" || check.id == "limit.ping_interval_seconds";
            assert!(
                check.status == Status::Pass || (slow && check.status == Status::Skip),
                "{id} {} through the proxy: {:?}\n{}",
                check.id,
                check.status,
                support::dump(&report)
            );
        }
        let (status, lines, stderr) = proxy.stop();
        let proxied = findings(&lines);
        // The reference server breaks nothing (a close in reaction to the suite's burst, which
        // the proxy cannot tell from a crash, warns); the suite's bad input is the client's.
        let server_faults: Vec<&Value> = proxied
            .iter()
            .filter(|f| f["by"] == "server" && f["severity"] == "fail")
            .collect();
        assert_eq!(server_faults, Vec::<&Value>::new(), "{id}");
        assert!(
            proxied
                .iter()
                .any(|f| f["by"] == "client" && f["severity"] == "fail"),
            "{id}: the suite's bad input is reported"
        );
        assert_eq!(status.code(), Some(1), "{id}: {stderr}");
        let summary = lines.last().unwrap();
        assert_eq!(summary["kind"], "summary", "{summary}");
        assert!(summary["connections"].as_u64().unwrap() >= 10, "{summary}");
        // Credentials stay out of the record and the report, wherever the client sent them.
        let recorded = std::fs::read_to_string(&record).unwrap();
        let printed: String = lines.iter().map(Value::to_string).collect();
        if let Some(token) = &running.token {
            assert!(
                !recorded.contains(token.as_str()),
                "{id}: the token is recorded"
            );
            assert!(
                !printed.contains(token.as_str()),
                "{id}: the token is printed"
            );
        }
        // Judged again from the record: the same findings, and the same exit code.
        let (code, judged, report) = validate(&record);
        assert_eq!(code, Some(1), "{id}: {report}");
        assert_eq!(judged, proxied, "{id}");
        running.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_client_frame_and_a_wrong_reply_are_each_reported_with_their_sentence() {
    let double = start("datagram", Fault::WrongCid).await;
    let proxy = Proxy::start("datagram", &double.url, &["--timeout-ms", "500"]);
    let mut ws = client(&proxy.url).await;
    ws.send(Message::text(
        json!({"msg": "ping", "content": null}).to_string(),
    ))
    .await
    .unwrap();
    ws.send(Message::text(
        json!({"msg": "ping", "cid": "aaaa", "content": null}).to_string(),
    ))
    .await
    .unwrap();
    // The double answers with cid 0000; the proxy forwards it unchanged.
    let pong = next_text(&mut ws).await;
    assert_eq!(pong["cid"], "0000");
    let client_fault = proxy
        .wait_for("the client's finding", |l| {
            l["kind"] == "finding" && l["by"] == "client"
        })
        .await;
    assert_eq!(client_fault["severity"], "fail");
    assert_eq!(client_fault["message"], "ping");
    assert_eq!(client_fault["keyword"], "required");
    assert_eq!(client_fault["rests_on"], "Simple Ping/Pong");
    assert_eq!(client_fault["rule"], "/messages/ping/rule");
    let wrong_reply = proxy
        .wait_for("the server's wrong reply", |l| {
            l["kind"] == "finding" && l["by"] == "server" && l["severity"] == "fail"
        })
        .await;
    assert!(
        wrong_reply["finding"]
            .as_str()
            .unwrap()
            .contains("whose /cid is \"0000\", not the request's /cid (\"aaaa\")"),
        "{wrong_reply}"
    );
    assert_eq!(wrong_reply["rests_on"], "Simple Ping/Pong");
    assert_eq!(wrong_reply["rule"], "/exchanges/0/rule");
    // Its budget spent, the request is reported unanswered too.
    let unanswered = proxy
        .wait_for("the unanswered ping", |l| {
            l["finding"]
                .as_str()
                .is_some_and(|f| f.contains("`ping` was not answered within 500 ms"))
        })
        .await;
    assert_eq!(unanswered["by"], "server");
    let _ = ws.close(None).await;
    let (status, _, _) = proxy.stop();
    assert_eq!(status.code(), Some(1));
}

/// An upstream that keeps every text frame it receives, and sends what the test gives it.
async fn recording_upstream() -> (support::Double, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&received);
    let double = start_with(move |mut ws: Ws| {
        let kept = Arc::clone(&kept);
        async move {
            while let Some(Ok(message)) = ws.next().await {
                match message {
                    Message::Text(text) => {
                        kept.lock().unwrap().push(text.to_string());
                        if text.contains("close-4001") {
                            let frame = CloseFrame {
                                code: CloseCode::Library(4001),
                                reason: "asked to".into(),
                            };
                            let _ = ws.close(Some(frame)).await;
                        } else if text.contains("hang-up") {
                            return;
                        } else {
                            let reply = json!({"role": "echo", "content": text.to_string()});
                            let _ = ws.send(Message::text(reply.to_string())).await;
                        }
                    }
                    Message::Close(frame) => {
                        kept.lock().unwrap().push(format!(
                            "close {:?}",
                            frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                        ));
                    }
                    _ => {}
                }
            }
        }
    })
    .await;
    (double, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_stops_an_invalid_frame_and_answers_with_the_documented_error() {
    let (upstream, received) = recording_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("rixa.jsonl");
    let proxy = Proxy::start(
        "rixa",
        &upstream.url,
        &["--enforce", "--record", record.to_str().unwrap()],
    );
    let mut ws = client(&format!("{}/ws/", proxy.url)).await;
    ws.send(Message::text(r#"{"type": "launch"}"#))
        .await
        .unwrap();
    let error = next_text(&mut ws).await;
    assert_eq!(
        (&error["type"], &error["level"]),
        (&json!("status"), &json!("error"))
    );
    ws.send(Message::text(r#"{"type": "get_chat_modes"}"#))
        .await
        .unwrap();
    let echo = next_text(&mut ws).await;
    assert_eq!(echo["role"], "echo");
    assert_eq!(
        *received.lock().unwrap(),
        [r#"{"type": "get_chat_modes"}"#],
        "the server never saw the invalid frame"
    );
    let dropped = proxy
        .wait_for("the dropped frame", |l| {
            l["kind"] == "frame" && l["dropped"].is_string()
        })
        .await;
    assert_eq!(dropped["direction"], "client");
    let _ = ws.close(None).await;
    let (_, lines, _) = proxy.stop();
    assert!(
        findings(&lines)
            .iter()
            .any(|f| f["by"] == "client" && f["severity"] == "fail"),
        "the invalid frame is still reported"
    );
    // The record says what was dropped and what the proxy answered.
    let text = std::fs::read_to_string(&record).unwrap();
    let entries: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["dropped"].is_string() && e["text"] == r#"{"type": "launch"}"#)
    );
    assert!(
        entries
            .iter()
            .any(|e| e["direction"] == "proxy" && e["to"] == "client" && e["text"].is_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closes_pass_through_with_their_codes() {
    let (upstream, received) = recording_upstream().await;
    let proxy = Proxy::start("rixa", &upstream.url, &[]);
    // The server closes with an application code and a reason: the client sees both.
    let mut ws = client(&format!("{}/ws/", proxy.url)).await;
    ws.send(Message::text(
        r#"{"type": "usr_msg", "content": "close-4001"}"#,
    ))
    .await
    .unwrap();
    let frame = next_close(&mut ws).await.expect("a code");
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (4001, "asked to")
    );
    // The client closes with 1000 and a reason: the server sees both.
    let mut ws = client(&format!("{}/ws/", proxy.url)).await;
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    let answer = next_close(&mut ws).await.expect("the answering close");
    assert_eq!(u16::from(answer.code), 1000);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !received
        .lock()
        .unwrap()
        .iter()
        .any(|r| r == "close Some((1000, \"bye\"))")
    {
        assert!(Instant::now() < deadline, "{:?}", received.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The server's connection ends without a close frame: the client gets 1001 (going away).
    let mut ws = client(&format!("{}/ws/", proxy.url)).await;
    ws.send(Message::text(
        r#"{"type": "usr_msg", "content": "hang-up"}"#,
    ))
    .await
    .unwrap();
    let frame = next_close(&mut ws).await.expect("a code");
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (1001, "the server's connection ended")
    );
    let (_, lines, _) = proxy.stop();
    let closes: Vec<(Value, Value)> = lines
        .iter()
        .filter(|l| l["kind"] == "close" && l["direction"] != "proxy")
        .map(|l| (l["direction"].clone(), l["code"].clone()))
        .collect();
    assert!(
        closes.contains(&(json!("server"), json!(4001))),
        "{closes:?}"
    );
    assert!(
        closes.contains(&(json!("client"), json!(1000))),
        "{closes:?}"
    );
    // A server that closes while a request awaits its answer is reported.
    assert!(
        findings(&lines).iter().any(|f| f["by"] == "server"
            && f["severity"] == "fail"
            && f["finding"].as_str().unwrap().contains("4001")),
        "{:#?}",
        findings(&lines)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_closes_both_sides_with_1001_and_flushes_the_record() {
    let (upstream, received) = recording_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("rixa.jsonl");
    let proxy = Proxy::start(
        "rixa",
        &upstream.url,
        &["--record", record.to_str().unwrap()],
    );
    let mut ws = client(&format!("{}/ws/", proxy.url)).await;
    ws.send(Message::text(r#"{"type": "get_chat_modes"}"#))
        .await
        .unwrap();
    next_text(&mut ws).await;
    let stopping = std::thread::spawn(move || proxy.stop());
    let frame = next_close(&mut ws).await.expect("a code");
    assert_eq!(u16::from(frame.code), 1001);
    let (status, lines, stderr) = stopping.join().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(lines.last().unwrap()["kind"], "summary");
    assert!(
        received
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.starts_with("close Some((1001")),
        "{:?}",
        received.lock().unwrap()
    );
    let text = std::fs::read_to_string(&record).unwrap();
    let last: Vec<Value> = text
        .lines()
        .rev()
        .take(4)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        last.iter()
            .any(|e| e["direction"] == "proxy" && e["close"]["code"] == 1001),
        "{text}"
    );
    let (code, _, _) = validate(&record);
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_passed_on_and_an_unreachable_upstream_is_a_502() {
    let refusing = start_refusing(401).await;
    let proxy = Proxy::start("socializer", &refusing.url, &[]);
    match tokio_tungstenite::connect_async(format!("{}/ws/ai/ai-chat/c?token=secret", proxy.url))
        .await
    {
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 401),
        other => panic!("expected HTTP 401, got {other:?}"),
    }
    let refused = proxy
        .wait_for("the refusal", |l| l["kind"] == "refused")
        .await;
    assert_eq!(refused["status"], 401);
    let opened = proxy.wait_for("the open", |l| l["kind"] == "open").await;
    assert_eq!(
        opened["path"], "/ws/ai/ai-chat/c?token=<redacted>",
        "credentials are redacted"
    );
    drop(proxy);
    // Nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let proxy = Proxy::start("rixa", &format!("ws://127.0.0.1:{port}"), &[]);
    match tokio_tungstenite::connect_async(format!("{}/ws/", proxy.url)).await {
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 502),
        other => panic!("expected HTTP 502, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_and_servers_cannot_make_it_the_weak_link() {
    let (upstream, _) = recording_upstream().await;
    let proxy = Proxy::start(
        "rixa",
        &upstream.url,
        &["--max-frame-bytes", "4096", "--connect-timeout-ms", "500"],
    );
    let addr = proxy.url.trim_start_matches("ws://").to_string();
    // Not HTTP at all: 400. A request that never ends: 408 after the connect timeout.
    for (sent, status) in [
        (&b"\x16\x03\x01 not http\r\n\r\n"[..], "400"),
        (&b"GET /ws/ HTTP/1.1\r\n"[..], "408"),
    ] {
        let mut raw = TcpStream::connect(&addr).await.unwrap();
        raw.write_all(sent).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), raw.read_to_string(&mut answer))
            .await
            .expect("an answer")
            .unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
    }
    // A plain HTTP request is told what this is.
    let mut raw = TcpStream::connect(&addr).await.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
    // A frame over the cap: its sender gets 1009, the server 1001, and others go on.
    let mut other = client(&format!("{}/ws/", proxy.url)).await;
    let mut big = client(&format!("{}/ws/", proxy.url)).await;
    let _ = big.send(Message::text("x".repeat(8192))).await;
    let frame = next_close(&mut big).await.expect("a code");
    assert_eq!(u16::from(frame.code), 1009);
    other
        .send(Message::text(r#"{"type": "get_chat_modes"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut other).await["role"], "echo");
    // A server's frame over the cap: the client is told with 1001, the proxy says why.
    let oversized = support::start_hostile(Message::text("y".repeat(8192))).await;
    let capped = Proxy::start("rixa", &oversized.url, &["--max-frame-bytes", "4096"]);
    let mut victim = client(&format!("{}/ws/", capped.url)).await;
    let frame = next_close(&mut victim).await.expect("a code");
    assert_eq!(u16::from(frame.code), 1001);
    capped
        .wait_for("the server's frame over the cap", |l| {
            l["kind"] == "ended"
                && l["direction"] == "server"
                && l["how"]
                    .as_str()
                    .is_some_and(|h| h.contains("over the proxy's cap"))
        })
        .await;
    // A server's binary frame passes unchanged, and is reported as the server's.
    let binary = support::start_hostile(Message::binary(vec![0u8, 159, 146, 150])).await;
    let watched = Proxy::start("rixa", &binary.url, &[]);
    let mut receiver = client(&format!("{}/ws/", watched.url)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let got = loop {
        match tokio::time::timeout_at(deadline, receiver.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => break bytes,
            Ok(Some(Ok(_))) => {}
            other => panic!("no binary frame: {other:?}"),
        }
    };
    assert_eq!(&got[..], &[0u8, 159, 146, 150]);
    let reported = watched
        .wait_for("the binary frame's finding", |l| {
            l["kind"] == "finding" && l["by"] == "server" && l["severity"] == "fail"
        })
        .await;
    assert!(
        reported["finding"]
            .as_str()
            .unwrap()
            .contains("a binary frame"),
        "{reported}"
    );
    // A client that never reads while its server floods it holds up no other client.
    let flood = start_with(|mut ws: Ws| async move {
        let frame =
            Message::text(json!({"role": "flood", "content": "x".repeat(2000)}).to_string());
        while ws.send(frame.clone()).await.is_ok() {}
    })
    .await;
    let flooded = Proxy::start("rixa", &flood.url, &[]);
    let _stuck = client(&format!("{}/ws/", flooded.url)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = client(&format!("{}/ws/", flooded.url)).await;
    let started = Instant::now();
    let first = next_text(&mut second).await;
    assert_eq!(first["role"], "flood");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Ended by its own shutdown (0 or 1 by its findings), neither a crash nor a signal.
    let (status, _, stderr) = proxy.stop();
    assert!(matches!(status.code(), Some(0 | 1)), "{status:?}: {stderr}");
}

#[test]
fn tls_flags_for_a_plain_upstream_other_schemes_and_unrecordable_frames_are_usage_errors() {
    for (args, says) in [
        (
            vec!["--upstream", "ws://127.0.0.1:9", "--insecure"],
            "apply to wss:// URLs only: pass --upstream wss://",
        ),
        (
            vec!["--upstream", "https://example.com"],
            "not a WebSocket URL (it must start with ws:// or wss://)",
        ),
        (
            vec!["--upstream", "ws://127.0.0.1:9", "--record", "x.jsonl"]
                .into_iter()
                .chain(["--max-frame-bytes", "1073741824"])
                .collect(),
            "a transcript holds frames of up to",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
            .args(["proxy", "--protocol", "rixa", "--listen", "127.0.0.1:0"])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_stdout_does_not_keep_the_proxy_from_exiting() {
    let (upstream, _) = recording_upstream().await;
    let mut child = spawn("rixa", &upstream.url, &[]);
    // The first line, then stdout is never read again: the pipe fills.
    let (url, stdout) = banner(&mut child, &upstream.url);
    let mut ws = client(&format!("{url}/ws/")).await;
    let padding = "x".repeat(2048);
    for n in 0..400 {
        let frame = json!({"type": "ping", "n": n, "padding": padding}).to_string();
        ws.send(Message::text(frame)).await.unwrap();
        let _ = next_text(&mut ws).await;
    }
    interrupt(&child);
    let status = wait(&mut child, Duration::from_secs(20));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "{status:?}: {stderr}");
    assert!(
        stderr.contains("stdout did not take the last lines"),
        "{stderr}"
    );
    drop(stdout);
}

//! The `reference` binary: its first line, its flags, its refusals.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;
use support::{Protocol, connect_to, now, refused_with, sign};

/// A `reference` process, killed when dropped.
struct Process {
    child: Child,
    url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reference(protocol: Protocol, flags: &[&str]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reference"))
        .args(["--protocol", protocol.id(), "--listen", "127.0.0.1:0"])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .trim_end()
        .to_string();
    Process { child, url }
}

#[tokio::test]
async fn the_first_line_names_the_endpoint_of_each_protocol() {
    for (protocol, path) in [
        (Protocol::Rixa, "/ws/"),
        (Protocol::Datagram, "/"),
        (Protocol::Socializer, "/ws/ai/ai-chat/reference"),
        (Protocol::GeneralBots, "/ws"),
        (Protocol::Meet, "/ws/meet"),
    ] {
        let process = reference(protocol, &[]);
        let rest = process.url.strip_prefix("ws://127.0.0.1:").unwrap();
        let (port, found) = rest.split_at(rest.find('/').unwrap());
        assert!(port.parse::<u16>().unwrap() > 0);
        assert_eq!(found, path, "{}", protocol.id());
        if matches!(
            protocol,
            Protocol::Rixa | Protocol::Datagram | Protocol::Meet
        ) {
            connect_to(protocol, process.url.as_str()).await.unwrap();
        }
    }
}

#[tokio::test]
async fn the_jwt_secret_is_the_one_given() {
    let process = reference(Protocol::Socializer, &["--jwt-secret", "s3cret"]);
    let token = sign(&json!({"sub": "ada", "exp": now() + 60}), "s3cret");
    let url = format!("{}?token={token}", process.url);
    let mut client = connect_to(Protocol::Socializer, url.as_str())
        .await
        .unwrap();
    assert_eq!(
        client.recv("system_message").await["message"],
        "Welcome to AI Chat, ada! How can I assist you today?"
    );
    let other = sign(&json!({"sub": "ada", "exp": now() + 60}), "other");
    let url = format!("{}?token={other}", process.url);
    let mut client = connect_to(Protocol::Socializer, url.as_str())
        .await
        .unwrap();
    assert_eq!(client.expect_close().await, 1008);
}

#[tokio::test]
async fn limits_are_set_by_flags() {
    let process = reference(
        Protocol::Datagram,
        &[
            "--max-connections-per-ip",
            "1",
            "--max-message-bytes",
            "100",
            "--rate-limit",
            "1/2",
        ],
    );
    let mut client = connect_to(Protocol::Datagram, process.url.as_str())
        .await
        .unwrap();
    assert_eq!(refused_with(Protocol::Datagram, &process.url).await, 429);
    let ping = json!({"msg": "ping", "cid": "c", "content": null});
    client.send(&ping).await;
    client.recv("pong").await;
    let mut big = ping.clone();
    big["cid"] = json!("x".repeat(100));
    client.send(&big).await;
    let (_, notice) = client.recv_any().await;
    assert_eq!(notice["msg"], "system");
    // The burst of 2 is spent: rate limited.
    client.send(&ping).await;
    let (name, _) = client.recv_any().await;
    assert_eq!(name, "system_message");
}

#[tokio::test]
async fn the_idle_timeout_is_set_by_a_flag() {
    let process = reference(Protocol::Meet, &["--idle-timeout", "1"]);
    let mut client = connect_to(Protocol::Meet, process.url.as_str())
        .await
        .unwrap();
    assert_eq!(client.expect_close().await, 1001);
}

#[test]
fn an_unknown_protocol_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_reference"))
        .args(["--protocol", "smtp", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("smtp"), "{stderr}");
}

#[test]
fn an_empty_jwt_secret_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_reference"))
        .args(["--protocol", "socializer", "--listen", "127.0.0.1:0"])
        .args(["--jwt-secret", ""])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("secret is empty"), "{stderr}");
}

/// Runs the binary with `flags`, which must be refused as a usage error (exit 2, nothing on
/// stdout, no panic) with a message containing `expected`.
fn refused_flags(flags: &[&str], expected: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_reference"))
        .args(["--protocol", "datagram", "--listen", "127.0.0.1:0"])
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{flags:?}");
    assert!(!stderr.contains("panicked"), "{flags:?}: {stderr}");
    assert!(stderr.contains(expected), "{flags:?}: {stderr}");
}

#[test]
fn limits_that_cannot_work_are_usage_errors() {
    refused_flags(&["--max-message-bytes", "0"], "--max-message-bytes");
    refused_flags(
        &["--max-connections-per-ip", "0"],
        "--max-connections-per-ip",
    );
    refused_flags(&["--max-connections", "0"], "--max-connections");
    refused_flags(&["--rate-limit", "0"], "--rate-limit");
    refused_flags(&["--rate-limit", "5/0"], "--rate-limit");
    refused_flags(&["--rate-limit=-1"], "--rate-limit");
    refused_flags(&["--idle-timeout=-1"], "--idle-timeout");
    refused_flags(&["--ping-interval", "soon"], "--ping-interval");
}

#[tokio::test]
async fn zero_seconds_turn_the_idle_timeout_and_pings_off() {
    // A ping interval of 0 was a panic of every connection's task; an idle timeout of 0 an
    // instant close.
    let process = reference(
        Protocol::Datagram,
        &["--idle-timeout", "0", "--ping-interval", "0"],
    );
    let mut client = connect_to(Protocol::Datagram, process.url.as_str())
        .await
        .unwrap();
    let ping = json!({"msg": "ping", "cid": "c", "content": null});
    client.send(&ping).await;
    client.recv("pong").await;
    let quiet = client
        .next_event_within(std::time::Duration::from_millis(300))
        .await;
    assert!(quiet.is_none(), "{quiet:?}");
    client.send(&ping).await;
    client.recv("pong").await;
}

#[tokio::test]
async fn the_largest_values_are_served() {
    let max = u64::MAX.to_string();
    let process = reference(
        Protocol::Datagram,
        &[
            "--idle-timeout",
            &max,
            "--ping-interval",
            &max,
            "--max-message-bytes",
            &max,
            "--max-connections-per-ip",
            &max,
            "--max-connections",
            &max,
        ],
    );
    let mut client = connect_to(Protocol::Datagram, process.url.as_str())
        .await
        .unwrap();
    client
        .send(&json!({"msg": "ping", "cid": "c", "content": null}))
        .await;
    client.recv("pong").await;
}

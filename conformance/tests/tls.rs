//! `wss://`: a reference server behind a TLS proxy whose self-signed certificate is made at test
//! time. Trusted with `--ca-cert` the run passes and its handshakes show the TLS version and the
//! certificate's subject; untrusted, the run could not test the endpoint (exit 2, naming the
//! cause); `--insecure` passes with a warning. `conformance proxy` reaches the same server as a
//! `wss://` upstream: trusted, the suite passes through it; untrusted, each client gets 502
//! naming the cause.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Output, Stdio};

use agentwire_testkit::TlsFront;
use serde_json::Value;

/// The subject of the test certificate.
const SUBJECT: &str = "agentwire conformance test server";

/// A TLS proxy in front of a reference server.
struct Proxy {
    front: TlsFront,
    _reference: agentwire_reference::Running,
}

async fn proxy(protocol: &str) -> Proxy {
    let reference = agentwire_reference::start(
        agentwire_reference::Options::new(protocol).unwrap(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    Proxy {
        front: TlsFront::start(reference.addr, &["localhost", "127.0.0.1"], SUBJECT).await,
        _reference: reference,
    }
}

async fn conformance(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
            .args(args)
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every TLS session the report's handshakes show.
fn sessions(report: &Value) -> Vec<Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["evidence"].as_array().unwrap().iter())
        .filter(|e| e["kind"] == "handshake")
        .filter_map(|e| e.get("tls").cloned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_passes_with_the_ca_cert_and_could_not_be_tested_without_it() {
    let proxy = proxy("datagram").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, proxy.front.pem()).unwrap();
    let run = |extra: &[&str]| {
        let url = proxy.front.origin();
        let mut args: Vec<String> = ["run", "--protocol", "datagram", "--url", &url]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        conformance(args)
    };

    let trusted = run(&["--ca-cert", ca.to_str().unwrap(), "--format", "json"]).await;
    assert_eq!(trusted.status.code(), Some(0), "{}", text(&trusted.stderr));
    let report: Value = serde_json::from_slice(&trusted.stdout).unwrap();
    assert!(
        report["target"]
            .as_str()
            .unwrap()
            .starts_with("wss://localhost:")
    );
    let sessions = sessions(&report);
    assert!(!sessions.is_empty(), "no TLS session in the evidence");
    for session in &sessions {
        assert!(
            session["version"].as_str().unwrap().starts_with("TLS 1."),
            "{session}"
        );
        assert_eq!(session["subject"], format!("CN={SUBJECT}"));
        assert_eq!(session["verified"], true);
    }
    let names = proxy.front.server_names();
    assert!(
        !names.is_empty() && names.iter().all(|n| n == "localhost"),
        "SNI from the URL's host: {names:?}"
    );

    let untrusted = run(&[]).await;
    let stderr = text(&untrusted.stderr);
    assert_eq!(untrusted.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("certificate was not accepted (UnknownIssuer)"),
        "{stderr}"
    );
    assert!(stderr.contains("--ca-cert"), "{stderr}");
    assert!(untrusted.stdout.is_empty());

    let insecure = run(&["--insecure", "--format", "json", "--only", "handshake"]).await;
    let stderr = text(&insecure.stderr);
    assert_eq!(insecure.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning: --insecure"), "{stderr}");
    let report: Value = serde_json::from_slice(&insecure.stdout).unwrap();
    assert!(
        self::sessions(&report)
            .iter()
            .all(|s| s["verified"] == false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_options_without_wss_and_unusable_ca_files_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("key.pem");
    std::fs::write(
        &not_pem,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let not_pem = not_pem.to_str().unwrap();
    for (args, says) in [
        (
            vec!["--url", "ws://127.0.0.1:9", "--insecure"],
            "apply to wss:// URLs only",
        ),
        (vec!["--ca-cert", not_pem], "apply to wss:// URLs only"),
        (
            vec!["--url", "wss://127.0.0.1:9", "--ca-cert", not_pem],
            "no PEM certificate",
        ),
    ] {
        let mut all = vec!["run", "--protocol", "datagram"];
        all.extend(args);
        let output = conformance(all.iter().map(|s| s.to_string()).collect()).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(stderr.contains(says), "{all:?}: {stderr}");
    }
}

/// A `conformance proxy` process in front of a `wss://` upstream; its first line read.
struct Relay {
    child: std::process::Child,
    /// `ws://127.0.0.1:PORT`.
    url: String,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Relay {
    fn start(upstream: &str, extra: &[&str]) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
            .args(["proxy", "--protocol", "datagram", "--listen", "127.0.0.1:0"])
            .args(["--upstream", upstream, "--format", "json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("conformance proxy starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let url = first
            .trim()
            .strip_prefix("proxying ")
            .and_then(|rest| rest.strip_suffix(&format!(" -> {upstream}")))
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        Self { child, url, stdout }
    }

    /// The next JSON line whose `kind` is `kind`.
    fn next(&mut self, kind: &str) -> Value {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "no {kind} line"
            );
            let value: Value = serde_json::from_str(&line).unwrap();
            if value["kind"] == kind {
                return value;
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_reaches_a_wss_upstream_it_trusts_and_refuses_one_it_does_not() {
    let tls = proxy("datagram").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, tls.front.pem()).unwrap();
    let upstream = tls.front.origin();

    let trusted = Relay::start(&upstream, &["--ca-cert", ca.to_str().unwrap()]);
    let url = trusted.url.clone();
    let through = conformance(
        ["run", "--protocol", "datagram", "--url", &url]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    )
    .await;
    assert_eq!(
        through.status.code(),
        Some(0),
        "{}{}",
        text(&through.stdout),
        text(&through.stderr)
    );
    let names = tls.front.server_names();
    assert!(
        !names.is_empty() && names.iter().all(|n| n == "localhost"),
        "SNI from the upstream's host: {names:?}"
    );
    drop(trusted);

    let mut untrusted = Relay::start(&upstream, &[]);
    match tokio_tungstenite::connect_async(format!("{}/", untrusted.url)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 502)
        }
        other => panic!("expected HTTP 502, got {other:?}"),
    }
    let refused = tokio::task::spawn_blocking(move || untrusted.next("refused"))
        .await
        .unwrap();
    let reason = refused["reason"].as_str().unwrap();
    assert!(
        reason.contains("certificate was not accepted (UnknownIssuer)"),
        "{reason}"
    );
}

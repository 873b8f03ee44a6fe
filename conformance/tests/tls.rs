//! `wss://`: a reference server behind a TLS proxy whose self-signed certificate is made at test
//! time. Trusted with `--ca-cert` the run passes and its handshakes show the TLS version and the
//! certificate's subject; untrusted, the run could not test the endpoint (exit 2, naming the
//! cause); `--insecure` passes with a warning. `conformance proxy` reaches the same server as a
//! `wss://` upstream: trusted, the suite passes through it; untrusted, each client gets 502
//! naming the cause.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Output;

use agentwire_testkit::TlsFront;
use serde_json::Value;
use support::proxy::Proxy;

/// The subject of the test certificate.
const SUBJECT: &str = "agentwire conformance test server";

/// A reference server behind a TLS front.
struct Secured {
    front: TlsFront,
    _reference: agentwire_reference::Running,
}

async fn behind_tls(protocol: &str) -> Secured {
    let reference = agentwire_reference::start(
        agentwire_reference::Options::new(protocol).unwrap(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    Secured {
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
    let proxy = behind_tls("datagram").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_reaches_a_wss_upstream_it_trusts_and_refuses_one_it_does_not() {
    let tls = behind_tls("datagram").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, tls.front.pem()).unwrap();
    let upstream = tls.front.origin();

    let trusted = Proxy::start("datagram", &upstream, &["--ca-cert", ca.to_str().unwrap()]);
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

    let untrusted = Proxy::start("datagram", &upstream, &[]);
    match tokio_tungstenite::connect_async(format!("{}/", untrusted.url)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 502)
        }
        other => panic!("expected HTTP 502, got {other:?}"),
    }
    let refused = untrusted
        .wait_for("the refusal", |l| l["kind"] == "refused")
        .await;
    let reason = refused["reason"].as_str().unwrap();
    assert!(
        reason.contains("certificate was not accepted (UnknownIssuer)"),
        "{reason}"
    );
}

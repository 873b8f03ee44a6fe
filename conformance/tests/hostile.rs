//! Hostile servers: huge frames, deeply nested JSON, binary frames, silence, a TCP listener that
//! never completes the handshake. The suite must end in bounded time, without panicking, with the
//! behaviour reported as findings.

mod support;

use std::time::{Duration, Instant};

use agentwire_conformance::report::{Evidence, ProtocolReport, Status};
use support::{
    run_against, run_only, start_endless_stream, start_flooding, start_hostile, start_mute,
    start_pong_then_binary,
};
use tokio_tungstenite::tungstenite::{Bytes, Message};

const TIMEOUT_MS: u64 = 300;
const BOUND: Duration = Duration::from_secs(20);

async fn run_bounded(protocol: &str, url: &str) -> ProtocolReport {
    let started = Instant::now();
    let report = tokio::time::timeout(BOUND, run_against(protocol, url, TIMEOUT_MS))
        .await
        .expect("the run ends in bounded time");
    assert!(started.elapsed() < BOUND);
    report
}

fn evidence_mentions(report: &ProtocolReport, needle: &str) -> bool {
    report
        .checks
        .iter()
        .flat_map(|c| &c.evidence)
        .any(|e| serde_json::to_string(e).unwrap().contains(needle))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_completes_the_handshake() {
    let mute = start_mute().await;
    let report = run_bounded("generalbots", &mute.url).await;
    let handshake = &report.checks[0];
    assert_eq!(handshake.id, "handshake.connect");
    assert_eq!(handshake.status, Status::Fail);
    assert!(evidence_mentions(
        &report,
        "no handshake within the deadline"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_frame_is_capped() {
    let huge = Message::text(format!(
        "{{\"type\": \"pong\", \"timestamp\": \"{}\"}}",
        "x".repeat(3 << 20)
    ));
    let server = start_hostile(huge).await;
    let report = run_bounded("generalbots-meet", &server.url).await;
    assert!(
        evidence_mentions(&report, "over the suite's cap"),
        "{report:#?}"
    );
    assert!(report.summary.failed > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_json_is_not_json_to_the_suite() {
    let nested = Message::text(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)));
    let server = start_hostile(nested).await;
    let report = run_bounded("datagram", &server.url).await;
    assert!(
        evidence_mentions(&report, "not JSON"),
        "{}",
        support::dump(&report)
    );
    // The finding cites the sentence datagram's framing rests on.
    assert!(
        no_json_violations(&report).all(|rests_on| rests_on
            == Some("All the data over the WebSocket must be represented as JSON.")),
        "{}",
        support::dump(&report)
    );
    assert!(report.summary.failed > 0);
}

/// The sentences cited by violations of frames that are no JSON text.
fn no_json_violations(report: &ProtocolReport) -> impl Iterator<Item = Option<&str>> {
    let found: Vec<Option<&str>> = report
        .checks
        .iter()
        .flat_map(|c| &c.evidence)
        .filter_map(|e| match e {
            Evidence::Violation {
                error, rests_on, ..
            } if error.contains("binary frame") || error.contains("not JSON") => {
                Some(rests_on.as_deref())
            }
            _ => None,
        })
        .collect();
    assert!(!found.is_empty(), "no violation of a frame that is no JSON");
    found.into_iter()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_frame_where_no_rule_says_json_says_so() {
    let server = start_hostile(Message::Binary(Bytes::from(vec![0u8; 16]))).await;
    let report = run_bounded("generalbots-meet", &server.url).await;
    assert!(no_json_violations(&report).all(|rests_on| rests_on.is_none()));
    assert!(
        evidence_mentions(
            &report,
            "no rule of the protocol's description quotes a sentence"
        ),
        "{}",
        support::dump(&report)
    );
    assert!(report.summary.failed > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_are_violations() {
    let server = start_hostile(Message::Binary(Bytes::from(vec![0u8; 4096]))).await;
    let report = run_bounded("rixa", &server.url).await;
    let violations = report
        .checks
        .iter()
        .flat_map(|c| &c.evidence)
        .filter(
            |e| matches!(e, Evidence::Violation { error, .. } if error.contains("binary frame")),
        )
        .count();
    assert!(violations > 0);
    assert!(
        no_json_violations(&report).all(|rests_on| rests_on
            == Some("The server will respond to these commands with JSON messages.")),
        "{}",
        support::dump(&report)
    );
    assert!(report.summary.failed > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_fails_without_hanging() {
    // An unsolicited pong is harmless; after it, the server never says anything.
    let server = start_hostile(Message::Pong(Bytes::from_static(b"hi"))).await;
    let report = run_bounded("socializer", &server.url).await;
    assert_eq!(report.checks[0].status, Status::Pass, "the handshake works");
    let welcome = report
        .checks
        .iter()
        .find(|c| c.id == "unprompted.system_message")
        .unwrap();
    assert_eq!(welcome.status, Status::Fail);
    assert!(evidence_mentions(&report, "\"kind\":\"timeout\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening() {
    // Bind and drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Not a verdict on a server: the run stops, naming the cause and what to check.
    let url = format!("ws://127.0.0.1:{port}");
    let mut target = agentwire_conformance::target::Target::parse(&url).unwrap();
    target.token = Some(support::TOKEN.into());
    let options = agentwire_conformance::RunOptions::default();
    let silent = agentwire_conformance::runner::Silent;
    let run =
        agentwire_conformance::run_protocol(support::schemas(), "rixa", &target, &options, &silent);
    let error = tokio::time::timeout(BOUND, run)
        .await
        .expect("the run ends in bounded time")
        .expect_err("nothing to test");
    let untestable = error
        .downcast_ref::<agentwire_conformance::Untestable>()
        .expect("an endpoint that could not be tested");
    assert!(
        untestable.cause.contains("the connection failed"),
        "{untestable}"
    );
    assert!(
        untestable.hint.contains("is the server running"),
        "{untestable}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_frames_neither_stretches_a_wait_nor_fills_memory() {
    // Frames always ready to read: a wait must still end at its deadline, not at the check's
    // budget (12 waits), and the evidence of the flood must stay bounded.
    let server = start_flooding(Message::text("{\"flood\": true}")).await;
    let timeout_ms = 500;
    let report = tokio::time::timeout(
        BOUND,
        run_only("datagram", &server.url, timeout_ms, &["exchange.ping"]),
    )
    .await
    .expect("the run ends in bounded time");
    let check = &report.checks[0];
    assert_eq!(check.status, Status::Fail, "{}", support::dump(&report));
    assert!(
        check.duration_ms < 5 * timeout_ms,
        "the wait took {} ms",
        check.duration_ms
    );
    assert!(
        check.evidence.len() < 400,
        "{} evidence items",
        check.evidence.len()
    );
    assert!(evidence_mentions(&report, "more frames were validated"));
    assert!(evidence_mentions(&report, "more findings"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_invalid_value_is_not_copied_whole_into_the_report() {
    // Under the frame cap, but the schema error message would quote the whole value.
    let big = Message::text(format!(
        "{{\"type\": \"pong\", \"timestamp\": [\"{}\"]}}",
        "x".repeat(512 << 10)
    ));
    let server = start_hostile(big).await;
    let report = run_bounded("generalbots", &server.url).await;
    let mut violations = 0;
    for evidence in report.checks.iter().flat_map(|c| &c.evidence) {
        if let Evidence::Violation { error, .. } = evidence {
            violations += 1;
            assert!(
                error.len() < 2048,
                "a {} byte error message: {}",
                error.len(),
                &error[..200]
            );
        }
    }
    assert!(violations > 0);
    let size = serde_json::to_string(&report).unwrap().len();
    assert!(size < 4 << 20, "a {size} byte report");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_stream_is_read_only_so_far() {
    // 256 KiB chunks as fast as the server can send: the suite stops at its cap on the stream's
    // text (a warning: the document sets no length) rather than holding every chunk until the
    // deadline.
    let server = start_endless_stream(256 << 10).await;
    let report = tokio::time::timeout(
        BOUND,
        run_only("generalbots", &server.url, 5000, &["stream.chat_message"]),
    )
    .await
    .expect("the run ends in bounded time");
    let check = &report.checks[0];
    assert_eq!(check.status, Status::Warn, "{}", support::dump(&report));
    assert!(evidence_mentions(&report, "stopped reading after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_meet_server_passes_nothing_but_the_handshake() {
    // Meet has no request of its own: a WebSocket pong (which any WebSocket library sends) must
    // not count as the server serving the protocol.
    let server = start_hostile(Message::Pong(Bytes::from_static(b"hi"))).await;
    let report = run_bounded("generalbots-meet", &server.url).await;
    let passed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(passed, ["handshake.connect"], "{}", support::dump(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_frame_right_after_the_answer_is_seen() {
    // The answer the check waits for is fine; what follows it on the wire is not, and is a frame
    // received during the check all the same.
    let server = start_pong_then_binary().await;
    let report = run_only("datagram", &server.url, TIMEOUT_MS, &["exchange.ping"]).await;
    assert_eq!(
        report.checks[0].status,
        Status::Fail,
        "{}",
        support::dump(&report)
    );
    assert!(evidence_mentions(&report, "a binary frame"));
}

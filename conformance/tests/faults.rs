//! The suite against deliberately faulty servers (tests/support): each fault breaks one documented
//! rule, and the suite must fail exactly the checks that receive the broken behaviour, warn where
//! the rule is open, and pass every other check.

mod support;

use agentwire_conformance::report::{Evidence, Status};
use support::{Fault, check, dump, with_status};

/// Short waits: faults that withhold an answer cost one timeout each.
const TIMEOUT_MS: u64 = 400;

async fn expect(protocol: &'static str, fault: Fault, fails: &[&str], warns: &[&str]) {
    let report = check(protocol, fault, TIMEOUT_MS).await;
    let failed = with_status(&report, Status::Fail);
    let warned = with_status(&report, Status::Warn);
    let mut fails: Vec<String> = fails.iter().map(|s| s.to_string()).collect();
    let mut warns: Vec<String> = warns.iter().map(|s| s.to_string()).collect();
    fails.sort();
    warns.sort();
    let (mut failed_sorted, mut warned_sorted) = (failed.clone(), warned.clone());
    failed_sorted.sort();
    warned_sorted.sort();
    assert_eq!(
        failed_sorted,
        fails,
        "{protocol} {fault:?}: failed checks\n{}",
        dump(&report)
    );
    assert_eq!(
        warned_sorted,
        warns,
        "{protocol} {fault:?}: warned checks\n{}",
        dump(&report)
    );
    for id in &fails {
        let check = report.checks.iter().find(|c| &c.id == id).unwrap();
        assert!(!check.requirement.quote.is_empty(), "{id} cites a sentence");
        // A schema violation of a message cites the sentence its severity comes from.
        for evidence in &check.evidence {
            if let Evidence::Violation {
                message: Some(message),
                rests_on,
                ..
            } = evidence
            {
                assert!(
                    rests_on.as_deref().is_some_and(|q| !q.is_empty()),
                    "{id}: a `{message}` violation cites no sentence"
                );
            }
        }
    }
}

macro_rules! fault_test {
    ($name:ident, $protocol:expr, $fault:expr, fails: [$($f:expr),* $(,)?], warns: [$($w:expr),* $(,)?]) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            expect($protocol, $fault, &[$($f),*], &[$($w),*]).await;
        }
    };
}

// Correct doubles: every check passes (slow ones are skipped).
fault_test!(rixa_conforms, "rixa", Fault::None, fails: [], warns: []);
fault_test!(datagram_conforms, "datagram", Fault::None, fails: [], warns: []);
fault_test!(socializer_conforms, "socializer", Fault::None, fails: [], warns: []);
fault_test!(generalbots_conforms, "generalbots", Fault::None, fails: [], warns: []);
fault_test!(meet_conforms, "generalbots-meet", Fault::None, fails: [], warns: []);

// rixa
fault_test!(rixa_reply_not_json, "rixa", Fault::NotJsonReply("get_global_settings"),
    fails: ["exchange.get_global_settings"], warns: []);
fault_test!(rixa_binary_reply, "rixa", Fault::BinaryReply("get_utilization_info"),
    fails: ["exchange.get_utilization_info"], warns: []);
fault_test!(rixa_silence, "rixa", Fault::Silence("change_setting"),
    fails: ["exchange.change_setting"], warns: []);
fault_test!(rixa_client_message_sent_by_server, "rixa", Fault::EchoRequest("bug_report"),
    fails: ["exchange.bug_report"], warns: []);
fault_test!(rixa_status_without_level, "rixa", Fault::StatusWithoutLevel,
    fails: ["reaction.unknown_type"], warns: []);
fault_test!(rixa_wrong_role_is_a_warning, "rixa", Fault::WrongRole,
    fails: [], warns: ["exchange.get_chat_modes"]);
fault_test!(rixa_close_after_handshake, "rixa", Fault::CloseAfterHandshake,
fails: [
    "exchange.execute_plugin_code", "exchange.change_setting", "exchange.update_plugin_setting",
    "exchange.bug_report", "exchange.delete_current_tracker", "exchange.get_chat_modes",
    "exchange.get_plugin_settings", "exchange.user_settings", "exchange.get_utilization_info",
    "exchange.get_global_settings", "exchange.get_chat_start_info", "robustness.after_bad_input",
],
warns: [
    "handshake.connect", "exchange.call_plugin_function", "exchange.usr_msg",
    "reaction.malformed_json", "reaction.unknown_type", "reaction.missing_field",
]);

// datagram
fault_test!(datagram_wrong_cid, "datagram", Fault::WrongCid,
    fails: [
        "exchange.ping", "exchange.session_create", "exchange.session_resume",
        "exchange.session_status", "exchange.session_destroy", "exchange.chat_request",
        "session.lifecycle", "robustness.after_bad_input",
    ],
    warns: []);
fault_test!(datagram_unanswered_session_request, "datagram", Fault::Silence("session_status"),
    fails: ["exchange.session_status", "session.lifecycle"], warns: []);
fault_test!(datagram_data_not_base64_is_a_warning, "datagram", Fault::NotBase64,
    fails: [], warns: ["exchange.chat_request", "session.lifecycle"]);
fault_test!(datagram_create_without_session_id, "datagram", Fault::NoSessionId,
    fails: [
        "exchange.session_create", "exchange.session_resume", "exchange.session_status",
        "exchange.session_destroy", "exchange.chat_request", "session.lifecycle",
    ],
    warns: []);
fault_test!(datagram_reply_not_json, "datagram", Fault::NotJsonReply("session_destroy"),
    fails: ["exchange.session_destroy", "session.lifecycle"], warns: []);
fault_test!(datagram_client_message_sent_by_server, "datagram", Fault::EchoRequest("chat"),
    fails: ["exchange.chat_request", "session.lifecycle"], warns: []);

// socializer
fault_test!(socializer_missing_welcome, "socializer", Fault::NoWelcome,
    fails: ["unprompted.system_message"], warns: []);
fault_test!(socializer_no_1008_on_bad_token, "socializer", Fault::AcceptBadToken,
    fails: [
        "auth.query.malformed", "auth.query.bad_signature", "auth.query.alg_none", "auth.query.expired",
        "auth.cookie.malformed", "auth.cookie.bad_signature", "auth.cookie.alg_none", "auth.cookie.expired",
    ],
    warns: []);
fault_test!(socializer_accepts_expired_tokens, "socializer", Fault::AcceptExpired,
    fails: ["auth.query.expired", "auth.cookie.expired"], warns: []);
fault_test!(socializer_http_403_instead_of_1008, "socializer", Fault::Http403OnBadToken,
    fails: [
        "auth.missing",
        "auth.query.malformed", "auth.query.bad_signature", "auth.query.alg_none", "auth.query.expired",
        "auth.cookie.malformed", "auth.cookie.bad_signature", "auth.cookie.alg_none", "auth.cookie.expired",
    ],
    warns: []);
fault_test!(socializer_no_error_for_missing_field, "socializer", Fault::NoMissingFieldError,
    fails: ["reaction.missing_field"], warns: []);
fault_test!(socializer_client_message_sent_by_server, "socializer", Fault::EchoRequest("chat_message"),
    fails: [
        "auth.query.valid", "auth.cookie.valid", "exchange.chat_message",
        "reaction.rate_exceeded", "robustness.after_bad_input",
    ],
    warns: []);
fault_test!(socializer_bad_timestamp, "socializer", Fault::BadTimestamp,
    fails: [
        "auth.query.valid", "auth.cookie.valid", "exchange.chat_message",
        "reaction.rate_exceeded", "robustness.after_bad_input",
    ],
    warns: []);

// A server that closes every connection at once: no check whose documented outcome is a close
// passes for it (a close after a burst nothing answered, or past a connection limit while the
// connections within it are closed too, shows no limit).
fault_test!(socializer_close_after_handshake, "socializer", Fault::CloseAfterHandshake,
    fails: [
        "handshake.connect", "auth.missing",
        "auth.query.valid", "auth.query.malformed", "auth.query.bad_signature", "auth.query.alg_none",
        "auth.query.expired", "auth.cookie.valid", "auth.cookie.malformed", "auth.cookie.bad_signature",
        "auth.cookie.alg_none", "auth.cookie.expired", "unprompted.system_message",
        "exchange.chat_message", "reaction.malformed_json", "reaction.not_an_object",
        "reaction.missing_field", "robustness.after_bad_input",
    ],
    warns: ["reaction.rate_exceeded"]);
// No session is announced (an open reading), so the chat checks name one the suite chose (the
// document's other way): the chat exchange fails, and with nothing answered no stream can be
// checked (skipped, where the open reading used to fail it).
fault_test!(generalbots_close_after_handshake, "generalbots", Fault::CloseAfterHandshake,
fails: [
    "handshake.connect", "auth.query.valid", "auth.query.malformed", "auth.first_message.valid",
    "auth.first_message.malformed", "exchange.ping", "exchange.chat_message",
    "reaction.malformed_json", "reaction.oversized_frame",
    "reaction.too_many_connections", "limit.max_message_bytes", "robustness.after_bad_input",
],
warns: [
    "unprompted.session_created", "session.lifecycle", "reaction.unknown_type",
    "reaction.missing_field", "reaction.rate_exceeded",
]);

// generalbots
fault_test!(generalbots_pong_without_timestamp, "generalbots", Fault::PongWithoutTimestamp,
    fails: [
        "auth.query.valid", "auth.first_message.valid", "exchange.ping", "reaction.rate_exceeded",
        "limit.max_message_bytes", "robustness.after_bad_input",
    ],
    warns: []);
fault_test!(generalbots_chunks_do_not_add_up, "generalbots", Fault::ChunksDontAddUp,
    fails: ["stream.chat_message"], warns: []);
fault_test!(generalbots_two_message_ids_in_one_stream, "generalbots", Fault::TwoMessageIds,
    fails: ["stream.chat_message"], warns: []);
fault_test!(generalbots_undocumented_error_code, "generalbots", Fault::UndocumentedErrorCode,
    fails: ["reaction.malformed_json"], warns: []);
fault_test!(generalbots_no_size_limit, "generalbots", Fault::NoSizeLimit,
    fails: ["reaction.oversized_frame"], warns: []);
fault_test!(generalbots_no_connection_limit, "generalbots", Fault::NoConnectionLimit,
    fails: ["reaction.too_many_connections"], warns: []);
fault_test!(generalbots_accepts_bad_tokens, "generalbots", Fault::AcceptBadToken,
    fails: ["auth.query.malformed", "auth.first_message.malformed"], warns: []);
fault_test!(generalbots_silent_ping, "generalbots", Fault::Silence("ping"),
    fails: [
        "auth.query.valid", "auth.first_message.valid", "exchange.ping",
        "limit.max_message_bytes", "robustness.after_bad_input",
    ],
    warns: []);

// generalbots-meet: its server frames are readings (open), so relay faults warn; frames that are
// no message at all, and the endpoint, fail.
fault_test!(meet_wrong_path, "generalbots-meet", Fault::WrongPath,
fails: ["handshake.connect"],
warns: [
    "relay.join", "relay.signal", "relay.leave", "reaction.malformed_json",
    "reaction.oversized_frame", "reaction.too_many_connections", "limit.max_message_bytes",
    "robustness.after_bad_input",
]);
fault_test!(meet_close_after_handshake, "generalbots-meet", Fault::CloseAfterHandshake,
fails: ["handshake.connect"],
warns: [
    "relay.join", "reaction.malformed_json", "reaction.oversized_frame",
    "reaction.too_many_connections", "limit.max_message_bytes", "robustness.after_bad_input",
]);
// Meet has no request of its own: the size and robustness checks prove it served by a relay.
fault_test!(meet_no_relay, "generalbots-meet", Fault::NoRelay,
    fails: [], warns: ["relay.join", "limit.max_message_bytes", "robustness.after_bad_input"]);
fault_test!(meet_no_participant_id, "generalbots-meet", Fault::NoParticipantId,
    fails: [], warns: ["relay.join"]);
fault_test!(meet_undocumented_server_type, "generalbots-meet", Fault::UnknownServerType,
    fails: ["relay.join", "limit.max_message_bytes", "robustness.after_bad_input"], warns: []);
fault_test!(meet_binary_relay, "generalbots-meet", Fault::BinaryRelay,
    fails: ["relay.join", "limit.max_message_bytes", "robustness.after_bad_input"], warns: []);
fault_test!(meet_no_signal_relay, "generalbots-meet", Fault::NoSignalRelay,
    fails: [], warns: ["relay.signal"]);
fault_test!(meet_undocumented_error_code, "generalbots-meet", Fault::UndocumentedErrorCode,
    fails: [], warns: ["reaction.malformed_json"]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_long_before_the_idle_timeout_is_no_idle_timeout() {
    let double = support::start("generalbots", Fault::CloseAfterHandshake).await;
    let options = agentwire_conformance::RunOptions {
        timeout: std::time::Duration::from_millis(TIMEOUT_MS),
        include_slow: true,
        only: vec!["reaction.idle".into()],
        ..Default::default()
    };
    let report = support::run_with("generalbots", &double.url, &options).await;
    assert_eq!(report.checks[0].status, Status::Fail, "{}", dump(&report));
    assert!(
        dump(&report).contains("before the documented"),
        "{}",
        dump(&report)
    );
}

// Verdicts that hold on real servers (issue 11).

// A greeting the document does not mention is no answer: settled before the first request.
fault_test!(rixa_greeting_is_no_answer, "rixa", Fault::Greeted(&Fault::None),
    fails: [], warns: []);
// ... so a command the greeting server never answers fails.
fault_test!(rixa_greeting_then_silence, "rixa", Fault::Greeted(&Fault::Silence("change_setting")),
    fails: ["exchange.change_setting"], warns: []);
// A close in answer to a valid command fails, whatever the greeting did.
fault_test!(rixa_greeting_then_1011, "rixa",
    Fault::Greeted(&Fault::CloseOnRequest("get_utilization_info", 1011)),
    fails: ["exchange.get_utilization_info"], warns: []);
// A crash right after a correct reply is seen.
fault_test!(rixa_close_right_after_a_reply, "rixa", Fault::CloseAfterReply("get_global_settings", 1011),
    fails: ["exchange.get_global_settings"], warns: []);
// An error in a shape the document does not show is no answer, and breaks the error format.
fault_test!(rixa_error_in_an_undocumented_shape, "rixa", Fault::ErrorShape("get_chat_start_info"),
    fails: ["exchange.get_chat_start_info"], warns: []);
// Meet's relays are readings (open), but closing the connection in answer to a valid join fails.
fault_test!(meet_close_on_join, "generalbots-meet", Fault::CloseOnJoin,
    fails: ["relay.join", "limit.max_message_bytes", "robustness.after_bad_input"], warns: []);
// Sessions the client chooses (the document's usage example): the open reading (announced by
// session_created) does not hold, which warns, and the required checks still pass.
fault_test!(generalbots_client_chosen_sessions, "generalbots", Fault::ClientChosenSessions,
    fails: [], warns: ["unprompted.session_created"]);
// Socializer documents that the server may close after an error message.
fault_test!(socializer_error_then_close_is_documented, "socializer", Fault::ErrorThenClose,
    fails: [], warns: []);

// A reply in the wrong shape cites its own section: the destroy reply, the destroy section.
fault_test!(datagram_bad_destroy_reply, "datagram", Fault::BadDestroyReply,
    fails: ["exchange.session_destroy", "session.lifecycle"], warns: []);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_reply_in_the_wrong_shape_cites_the_destroy_section() {
    let report = check("datagram", Fault::BadDestroyReply, TIMEOUT_MS).await;
    for id in ["exchange.session_destroy", "session.lifecycle"] {
        let check = report.checks.iter().find(|c| c.id == id).unwrap();
        let cited: Vec<Option<&str>> = check
            .evidence
            .iter()
            .filter_map(|e| match e {
                Evidence::Violation { rests_on, .. } => Some(rests_on.as_deref()),
                _ => None,
            })
            .collect();
        assert_eq!(
            cited,
            [Some(
                "This can only be sent to the session you are currently using."
            )],
            "{id}\n{}",
            dump(&report)
        );
    }
}

/// The report's human table.
fn table(report: &agentwire_conformance::ProtocolReport) -> String {
    agentwire_conformance::output::human::table(report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_names_its_code_what_was_expected_and_when() {
    let report = check(
        "rixa",
        Fault::Greeted(&Fault::CloseOnRequest("get_utilization_info", 1011)),
        TIMEOUT_MS,
    )
    .await;
    let table = table(&report);
    let line = |prefix: &str| {
        table
            .lines()
            .skip_while(|l| !l.contains("exchange.get_utilization_info"))
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line:\n{table}"))
            .to_string()
    };
    let expected = line("expected:");
    assert!(expected.contains("`response` or `status`"), "{expected}");
    let received = line("received:");
    assert!(received.contains("1011 (internal error"), "{received}");
    // The real elapsed time, not the budget.
    let ms: u64 = received
        .rsplit("after ")
        .next()
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no elapsed time: {received}"));
    assert!(ms < TIMEOUT_MS, "{received}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_chosen_reading_is_in_the_evidence() {
    let report = check("generalbots", Fault::ClientChosenSessions, TIMEOUT_MS).await;
    for id in [
        "exchange.chat_message",
        "stream.chat_message",
        "session.lifecycle",
    ] {
        let check = report.checks.iter().find(|c| c.id == id).unwrap();
        assert_eq!(check.status, Status::Pass, "{id}\n{}", dump(&report));
        let evidence = serde_json::to_string(&check.evidence).unwrap();
        assert!(
            evidence.contains("client-chosen session id"),
            "{id}: {evidence}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_in_the_wrong_shape_cites_the_error_format() {
    let report = check("rixa", Fault::ErrorShape("get_chat_start_info"), TIMEOUT_MS).await;
    let check = report
        .checks
        .iter()
        .find(|c| c.id == "exchange.get_chat_start_info")
        .unwrap();
    let cited: Vec<Option<&str>> = check
        .evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Violation { rests_on, .. } => Some(rests_on.as_deref()),
            _ => None,
        })
        .collect();
    assert_eq!(
        cited,
        [Some("Errors will be returned via a message in the format")],
        "{}",
        dump(&report)
    );
    assert!(
        table(&report)
            .contains("rests on: \"Errors will be returned via a message in the format\""),
        "{}",
        table(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_takes_seconds_passes_with_the_default_budgets() {
    let double = support::start("generalbots", Fault::SlowChat(3000)).await;
    // The default budgets: 2 s for control replies, 30 s for generated ones.
    let options = agentwire_conformance::RunOptions {
        only: vec!["exchange".into(), "stream".into(), "session".into()],
        ..Default::default()
    };
    let report = support::run_with("generalbots", &double.url, &options).await;
    assert_eq!(report.summary.passed, 4, "{}", dump(&report));
}

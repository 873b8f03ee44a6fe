//! The watch, by tables: events in, findings out, no server.

use std::sync::Arc;
use std::time::Duration;

use agentwire_spec::protocol::Direction::{self, Client, Server};
use serde_json::{Value, json};

use super::*;
use crate::Schemas;

fn schemas() -> &'static Schemas {
    static SCHEMAS: std::sync::OnceLock<Schemas> = std::sync::OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas::embedded().expect("schemas"))
}

fn watch(protocol: &str) -> Watch {
    let schemas = schemas();
    let ctx = Context {
        description: schemas.protocol(protocol).unwrap().description.clone(),
        validators: schemas.validators(protocol).unwrap(),
        control: Duration::from_millis(2000),
        generated: Duration::from_millis(30_000),
    };
    Watch::new(Arc::new(ctx), 1)
}

/// One event of a table: when (ms), who, what.
enum Event {
    Frame(u64, Direction, Value),
    Text(u64, Direction, &'static str),
    Close(u64, Direction, Option<u16>),
    Tick(u64),
}
use Event::*;

/// Feeds the events; every finding above info, as `(by, severity, text)`.
fn run(protocol: &str, events: Vec<Event>) -> Vec<Finding> {
    let mut watch = watch(protocol);
    let validators = schemas().validators(protocol).unwrap();
    let mut out = Vec::new();
    for event in events {
        out.extend(match event {
            Frame(ms, by, value) => {
                let frame = Inspected::text(&validators, by, &value.to_string());
                watch.frame(Duration::from_millis(ms), by, &frame, true)
            }
            Text(ms, by, text) => {
                let frame = Inspected::text(&validators, by, text);
                watch.frame(Duration::from_millis(ms), by, &frame, true)
            }
            Close(ms, by, code) => watch.close(Duration::from_millis(ms), by, code, ""),
            Tick(ms) => watch.tick(Duration::from_millis(ms)),
        });
    }
    out
}

fn problems(findings: &[Finding]) -> Vec<(Direction, Severity, String)> {
    findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| (f.by, f.severity, f.finding.clone()))
        .collect()
}

fn ping(cid: &str) -> Value {
    json!({"msg": "ping", "cid": cid, "content": null})
}

#[test]
fn a_correlated_answer_is_matched_by_its_id() {
    let found = run(
        "datagram",
        vec![
            Frame(0, Client, ping("a")),
            Frame(1, Client, ping("b")),
            Frame(3, Server, ping("b")),
            Frame(4, Server, ping("a")),
            Tick(10_000),
        ],
    );
    assert_eq!(problems(&found), []);
    let answered: Vec<&str> = found
        .iter()
        .filter(|f| f.finding.starts_with("answered by `pong`"))
        .map(|f| f.rests_on.as_deref().unwrap())
        .collect();
    assert_eq!(answered, ["Simple Ping/Pong", "Simple Ping/Pong"]);
}

#[test]
fn a_wrong_id_is_the_servers_and_cites_the_exchange() {
    let found = run(
        "datagram",
        vec![
            Frame(0, Client, ping("a")),
            Frame(5, Server, ping("b")),
            Tick(1_999),
        ],
    );
    let problems = problems(&found);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!((problems[0].0, problems[0].1), (Server, Severity::Fail));
    assert!(
        problems[0]
            .2
            .contains("whose /cid is \"b\", not the request's /cid (\"a\")"),
        "{problems:?}"
    );
    let finding = found.iter().find(|f| f.severity == Severity::Fail).unwrap();
    assert_eq!(finding.rests_on.as_deref(), Some("Simple Ping/Pong"));
    assert_eq!(finding.rule.as_deref(), Some("/exchanges/0/rule"));
    // The budget passes: the request was not answered, and the near miss is named.
    let found = run(
        "datagram",
        vec![
            Frame(0, Client, ping("a")),
            Frame(5, Server, ping("b")),
            Tick(2_000),
        ],
    );
    let unanswered = found
        .iter()
        .find(|f| f.finding.contains("was not answered within 2000 ms"))
        .expect("unanswered");
    assert_eq!(
        (unanswered.by, unanswered.severity, unanswered.ms),
        (Server, Severity::Fail, 2000.0)
    );
    assert!(unanswered.received.as_deref().unwrap().contains("/cid"));
}

#[test]
fn invalid_frames_are_reported_for_the_side_that_sent_them() {
    let found = run(
        "datagram",
        vec![
            Frame(0, Client, json!({"msg": "ping", "content": null})),
            Frame(
                1,
                Server,
                json!({"msg": "session", "cid": "x", "content": {"success": true}}),
            ),
        ],
    );
    let client = found.iter().find(|f| f.by == Client).expect("client");
    assert_eq!(client.severity, Severity::Fail);
    assert_eq!(client.keyword.as_deref(), Some("required"));
    assert_eq!(client.message.as_deref(), Some("ping"));
    assert_eq!(client.rests_on.as_deref(), Some("Simple Ping/Pong"));
    let server = found
        .iter()
        .find(|f| f.by == Server && f.keyword.is_some())
        .expect("server");
    assert_eq!(server.message.as_deref(), Some("session_response"));
    assert_eq!(server.rests_on.as_deref(), Some("SESSION (C/S)"));
    // Text that is not JSON breaks the framing sentence.
    let found = run("datagram", vec![Text(0, Client, "{not json")]);
    assert_eq!(
        found[0].rests_on.as_deref(),
        Some("All the data over the WebSocket must be represented as JSON.")
    );
}

#[test]
fn a_reply_to_nothing_is_noted_and_a_late_one_is_named() {
    // Before the client speaks, what the server sends is unprompted: judged on its own.
    assert_eq!(
        self::problems(&run("datagram", vec![Frame(0, Server, ping("z"))])),
        []
    );
    let found = run(
        "datagram",
        vec![
            Frame(0, Client, ping("a")),
            Frame(1, Server, ping("a")),
            Frame(2, Server, ping("z")),
        ],
    );
    assert_eq!(problems(&found), []);
    let noted = found.iter().find(|f| f.ms == 2.0).expect("noted");
    assert!(
        noted
            .finding
            .contains("a documented reply to `ping`, while no request awaited"),
        "{noted:?}"
    );
    let found = run(
        "datagram",
        vec![Frame(0, Client, ping("a")), Frame(2_500, Server, ping("a"))],
    );
    assert_eq!(
        self::problems(&found).len(),
        1,
        "{:?}",
        self::problems(&found)
    );
    assert!(found.iter().any(|f| f.finding.starts_with("a late `pong`")));
}

fn chat() -> Value {
    json!({"type": "message", "session_id": "s-1", "content": "hi"})
}

fn stream(kind: &str, id: &str, content: Option<&str>) -> Value {
    let mut frame = json!({"type": kind, "message_id": id});
    if kind == "stream_start" {
        frame["session_id"] = json!("s-1");
    }
    if let Some(content) = content {
        frame["content"] = json!(content);
    }
    frame
}

#[test]
fn a_stream_keeps_one_id_and_its_chunks_join_to_its_end() {
    let good = run(
        "generalbots",
        vec![
            Frame(0, Client, chat()),
            Frame(5, Server, stream("stream_start", "m", None)),
            Frame(6, Server, stream("stream_chunk", "m", Some("Hel"))),
            Frame(7, Server, stream("stream_chunk", "m", Some("lo"))),
            Frame(8, Server, stream("stream_end", "m", Some("Hello"))),
            Tick(60_000),
        ],
    );
    assert_eq!(problems(&good), []);
    assert!(good.iter().any(|f| f.finding.contains("2 chunks join")));
    let broken = run(
        "generalbots",
        vec![
            Frame(0, Client, chat()),
            Frame(5, Server, stream("stream_start", "m", None)),
            Frame(6, Server, stream("stream_chunk", "m", Some("Hel"))),
            Frame(7, Server, stream("stream_chunk", "other", Some("p"))),
            Frame(8, Server, stream("stream_end", "m", Some("Hello"))),
        ],
    );
    let problems = problems(&broken);
    assert!(
        problems
            .iter()
            .any(|p| p.2.contains("more than one /message_id")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .all(|p| p.0 == Server && p.1 == Severity::Fail)
    );
    let cited = broken
        .iter()
        .find(|f| f.severity == Severity::Fail)
        .unwrap();
    assert_eq!(
        cited.rule.as_deref(),
        Some("/exchanges/1/replies/1/stream/rule")
    );
    // A stream that does not end within the budget.
    let unfinished = run(
        "generalbots",
        vec![
            Frame(0, Client, chat()),
            Frame(5, Server, stream("stream_start", "m", None)),
            Tick(30_000),
        ],
    );
    assert!(
        self::problems(&unfinished)
            .iter()
            .any(|p| p.2.contains("the stream did not end")),
        "{unfinished:?}"
    );
}

#[test]
fn large_chunk_ids_count_against_what_a_stream_may_hold() {
    // Each chunk carries one character of text and a 64 KiB id: ids are the server's to size.
    let id = "i".repeat(64 << 10);
    let mut events = vec![
        Frame(0, Client, chat()),
        Frame(5, Server, stream("stream_start", &id, None)),
    ];
    for n in 0..20 {
        events.push(Frame(6 + n, Server, stream("stream_chunk", &id, Some("x"))));
    }
    let findings = run("generalbots", events);
    assert!(
        findings
            .iter()
            .any(|f| f.severity == Severity::Warn && f.finding.contains("stopped reading")),
        "{:?}",
        problems(&findings)
    );
}

#[test]
fn a_kind_sent_unprompted_never_answers() {
    let greeting = json!({"role": "intro", "content": "Hello!"});
    let found = run(
        "rixa",
        vec![
            Frame(0, Server, greeting.clone()),
            Frame(10, Client, json!({"type": "get_chat_modes"})),
            Frame(11, Server, greeting),
            Frame(
                12,
                Server,
                json!({"role": "chat_modes", "content": ["default"]}),
            ),
            Tick(10_000),
        ],
    );
    // The second greeting is no answer (and no fault: judged on its own); the modes are.
    assert_eq!(problems(&found), []);
    let answered = found
        .iter()
        .find(|f| f.finding.starts_with("answered by `response`"))
        .expect("answered");
    assert_eq!(answered.ms, 12.0);
}

#[test]
fn a_message_sent_while_the_server_is_busy_may_be_ignored() {
    let usr = json!({"type": "usr_msg", "content": "hi"});
    let notice = json!({"type": "status", "level": "error", "content": "busy"});
    let answer = json!({"role": "assistant", "content": "hello"});
    let ignored = run(
        "rixa",
        vec![
            Frame(0, Client, usr.clone()),
            Frame(1, Client, usr.clone()),
            Frame(150, Server, answer.clone()),
            Tick(60_000),
        ],
    );
    assert_eq!(problems(&ignored), []);
    let noticed = run(
        "rixa",
        vec![
            Frame(0, Client, usr.clone()),
            Frame(1, Client, usr.clone()),
            Frame(2, Server, notice),
            Frame(150, Server, answer.clone()),
        ],
    );
    assert_eq!(problems(&noticed), []);
    let served = run(
        "rixa",
        vec![
            Frame(0, Client, usr.clone()),
            Frame(1, Client, usr),
            Frame(150, Server, answer.clone()),
            Frame(300, Server, answer),
        ],
    );
    let problems = problems(&served);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].2.contains("was served too"), "{problems:?}");
    // The rule is open: a warning.
    assert_eq!(problems[0].1, Severity::Warn);
}

#[test]
fn closes_are_reported_and_a_server_closing_in_answer_fails() {
    let request = json!({"type": "chat_message", "content": "hi"});
    let crashed = run(
        "socializer",
        vec![
            Frame(0, Client, request.clone()),
            Close(9, Server, Some(1011)),
        ],
    );
    let problems = problems(&crashed);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].2.contains("1011 (internal error)"),
        "{problems:?}"
    );
    assert!(
        crashed.iter().any(|f| f.severity == Severity::Info
            && f.finding.starts_with("the server closed with 1011"))
    );
    // The client closing first, then the server's answering close: nothing wrong.
    let polite = run(
        "socializer",
        vec![
            Frame(0, Client, request),
            Close(5, Client, Some(1000)),
            Close(6, Server, Some(1000)),
        ],
    );
    assert_eq!(self::problems(&polite), []);
    // A documented close code is cited.
    let refused = run("socializer", vec![Close(0, Server, Some(1008))]);
    assert!(
        refused[0].finding.contains("a documented close code"),
        "{refused:?}"
    );
    assert!(refused[0].rests_on.is_some());
}

#[test]
fn bad_input_awaits_the_documented_reaction() {
    let invalid_format = json!({"type": "error", "code": "INVALID_FORMAT", "message": "bad"});
    let reacted = run(
        "generalbots",
        vec![
            Text(0, Client, "{not json"),
            Frame(3, Server, invalid_format),
            Tick(10_000),
        ],
    );
    let problems = problems(&reacted);
    assert_eq!(problems.len(), 1, "only the client's frame: {problems:?}");
    assert_eq!(problems[0].0, Client);
    let wrong_code = json!({"type": "error", "code": "SESSION_NOT_FOUND", "message": "bad"});
    let wrong = run(
        "generalbots",
        vec![Text(0, Client, "{not json"), Frame(3, Server, wrong_code)],
    );
    let server: Vec<_> = self::problems(&wrong)
        .into_iter()
        .filter(|p| p.0 == Server)
        .collect();
    assert_eq!(server.len(), 1, "{server:?}");
    assert!(
        server[0].2.contains("/code is \"SESSION_NOT_FOUND\""),
        "{server:?}"
    );
    let silent = run(
        "generalbots",
        vec![Text(0, Client, "{not json"), Tick(2_000)],
    );
    assert!(
        self::problems(&silent)
            .iter()
            .any(|p| p.0 == Server && p.2.contains("no documented reaction to malformed_json"))
    );
}

#[test]
fn the_path_is_the_documented_endpoint() {
    let mut rixa = watch("rixa");
    assert_eq!(rixa.open(Duration::ZERO, "/ws/"), []);
    let found = rixa.open(Duration::ZERO, "/ws");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].by, Client);
    let mut socializer = watch("socializer");
    assert_eq!(socializer.open(Duration::ZERO, "/ws/ai/ai-chat/c1"), []);
    assert_eq!(socializer.open(Duration::ZERO, "/ws/ai/ai-chat/").len(), 1);
}

#[test]
fn deadlines_are_those_of_the_exchanges_budgets() {
    let mut datagram = watch("datagram");
    let validators = schemas().validators("datagram").unwrap();
    let frame = Inspected::text(&validators, Client, &ping("a").to_string());
    datagram.frame(Duration::from_millis(10), Client, &frame, true);
    assert_eq!(datagram.next_deadline(), Some(Duration::from_millis(2010)));
    // A frame the proxy dropped awaits nothing.
    let mut dropped = watch("datagram");
    dropped.frame(Duration::ZERO, Client, &frame, false);
    assert_eq!(dropped.next_deadline(), None);
}

#[test]
fn refusals_and_error_messages_answer_without_being_served() {
    // A resume of a session that does not exist, refused as the document says.
    let resume = json!({"msg": "session", "cid": "r", "content": {"request": "resume", "session_id": "nope"}});
    let refused = json!({"msg": "session", "cid": "r", "content": {"success": false, "error": "no such session"}});
    let found = run(
        "datagram",
        vec![Frame(0, Client, resume), Frame(3, Server, refused)],
    );
    assert_eq!(problems(&found), []);
    assert!(
        found.iter().any(|f| f.finding.contains("was refused")),
        "{found:?}"
    );
    // A RIXA command answered by an error status: answered, not served, whatever its role says.
    let found = run(
        "rixa",
        vec![
            Frame(0, Client, json!({"type": "get_chat_modes"})),
            Frame(
                3,
                Server,
                json!({"type": "status", "level": "error", "content": "no"}),
            ),
        ],
    );
    assert_eq!(problems(&found), []);
    assert!(
        found
            .iter()
            .any(|f| f.finding.contains("answered, not served"))
    );
    // A General Bots error then a close: the documented refusal of a credential, not a crash.
    let denied = json!({"type": "error", "code": "AUTH_FAILED", "message": "no"});
    let found = run(
        "generalbots",
        vec![
            Frame(0, Client, json!({"type": "ping"})),
            Frame(1, Server, denied),
            Close(2, Server, Some(1008)),
        ],
    );
    assert_eq!(problems(&found), []);
    // The same close after a served answer breaks the exchange.
    let found = run(
        "generalbots",
        vec![
            Frame(0, Client, json!({"type": "ping"})),
            Frame(
                1,
                Server,
                json!({"type": "pong", "timestamp": "2024-01-01T10:00:00Z"}),
            ),
            Close(2, Server, Some(1011)),
        ],
    );
    assert_eq!(problems(&found).len(), 1, "{found:?}");
}

#[test]
fn a_request_that_needs_a_session_without_one_is_the_clients() {
    let chat = json!({"msg": "chat", "cid": "c", "content": {"type": "text", "data": "aGk="}});
    let refusal = json!({"msg": "chat", "cid": "c", "content": {"success": false, "error": "no session", "sender": "a", "bot": true, "type": "text", "data": ""}});
    let create = json!({"msg": "session", "cid": "s", "content": {"request": "create", "settings": {"model": "m", "temperature": 0.5, "seed": 1}}});
    let created = json!({"msg": "session", "cid": "s", "content": {"session_id": "x", "success": true, "error": null}});
    let destroy =
        json!({"msg": "session", "cid": "d", "content": {"request": "destroy", "session_id": "x"}});
    let destroyed =
        json!({"msg": "session", "cid": "d", "content": {"success": true, "error": null}});
    let served = json!({"msg": "chat", "cid": "c", "content": {"success": true, "error": false, "sender": "a", "bot": true, "type": "text", "data": "aGk="}});
    let found = run(
        "datagram",
        vec![
            Frame(0, Client, chat.clone()),
            Frame(1, Server, refusal.clone()),
            Frame(2, Client, create),
            Frame(3, Server, created),
            Frame(4, Client, chat.clone()),
            Frame(5, Server, served),
            Frame(6, Client, destroy),
            Frame(7, Server, destroyed),
            Frame(8, Client, chat),
            Frame(9, Server, refusal),
        ],
    );
    let problems = problems(&found);
    assert_eq!(problems.len(), 2, "{problems:?}");
    for (by, severity, what) in problems {
        assert_eq!((by, severity), (Client, Severity::Fail));
        assert!(what.contains("needs a session"), "{what}");
    }
}

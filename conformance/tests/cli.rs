//! The `conformance` binary: exit codes, the JSON report against report.schema.json, JUnit XML,
//! `validate` on good and bad frame files, and `list`.

mod support;

use std::io::Write as _;
use std::process::{Command, Output};

use serde_json::Value;
use support::{Fault, SECRET, TOKEN, start};

fn conformance(args: Vec<String>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .output()
        .expect("the binary runs")
}

async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || conformance(args))
        .await
        .unwrap()
}

/// `run` of one protocol at a URL, with more arguments.
async fn run_at(protocol: &str, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", "--protocol", protocol, "--url", url];
    args.extend_from_slice(extra);
    run(&args).await
}

/// The JSON the command printed, once it exited with `code`.
fn json_out(output: &Output, code: i32) -> Value {
    assert_eq!(output.status.code(), Some(code), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// `conformance validate --protocol P --direction D ARGS...`.
async fn validate(protocol: &str, direction: &str, args: &[&str]) -> Output {
    let mut all = vec!["validate", "--protocol", protocol, "--direction", direction];
    all.extend_from_slice(args);
    run(&all).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn report_schema() -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conforming_server_exits_0_with_a_valid_json_report() {
    let double = start("socializer", Fault::None).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let output = run_at(
        "socializer",
        &double.url,
        &[
            "--jwt-secret",
            SECRET,
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let errors: Vec<String> = report_schema()
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(report["protocol"], "socializer");
    assert_eq!(report["summary"]["failed"], 0);
    assert!(
        report["target"]
            .as_str()
            .unwrap()
            .contains("/ws/ai/ai-chat/")
    );
    assert!(!report.to_string().contains(SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_server_exits_1_and_junit_parses() {
    let double = start("generalbots", Fault::ChunksDontAddUp).await;
    let output = run_at(
        "generalbots",
        &double.url,
        &["--token", TOKEN, "--format", "junit", "--timeout-ms", "500"],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let xml = text(&output.stdout);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut suites) = (0, 0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    b"testsuite" => suites += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(suites, 1);
    assert!(cases >= 15, "{cases} testcases");
    assert_eq!(failures, 1, "{xml}");
    assert!(xml.contains("stream.chat_message"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_human_format_shows_progress_and_a_table() {
    let double = start("datagram", Fault::WrongCid).await;
    let output = run_at("datagram", &double.url, &["--timeout-ms", "300"]).await;
    assert_eq!(output.status.code(), Some(1));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(stderr.contains("datagram: running"), "{stderr}");
    assert!(stderr.contains("exchange.ping"), "{stderr}");
    assert!(stdout.contains("STATUS"), "{stdout}");
    assert!(stdout.contains("FAIL   exchange.ping"), "{stdout}");
    assert!(
        stdout.contains("rests on: \"Simple Ping/Pong\""),
        "{stdout}"
    );
    assert!(stdout.contains("passed,"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_protocols_with_only_and_skip() {
    let double = start("generalbots-meet", Fault::None).await;
    // Every protocol at one origin: only meet's endpoint exists there, so select its checks.
    let output = run_at(
        "generalbots-meet",
        &double.url,
        &[
            "--only",
            "relay",
            "--skip",
            "relay.leave",
            "--format",
            "json",
        ],
    )
    .await;
    let report = json_out(&output, 0);
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["relay.join", "relay.signal"]);
}

/// `run` against a port nobody listens on, with more arguments.
fn nowhere(protocol: &'static str, extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec!["run", "--protocol", protocol, "--url", "ws://127.0.0.1:9"];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    for args in [
        vec!["run"],
        nowhere("nope", &[]),
        vec!["run", "--protocol", "rixa", "--url", "http://127.0.0.1:9"],
        vec![
            "run",
            "--protocol",
            "rixa",
            "--url",
            "wss://u:p@127.0.0.1:9",
        ],
        nowhere("rixa", &["--insecure"]),
        nowhere("rixa", &["--baseline", "/does/not/exist.toml"]),
        nowhere("rixa", &["--write-baseline", "/does/not/exist/b.json"]),
        nowhere("rixa", &["--report", "pdf=report.pdf"]),
        nowhere("rixa", &["--jwt-secret", "s"]),
        vec!["run", "--protocol", "rixa", "--url", "ws://127.0.0.1:9/#x"],
        nowhere("rixa", &["--only", "nothing.like.this"]),
        nowhere("rixa", &["--skip", "exchange.no_such_request"]),
        nowhere("rixa", &["--header", "no-colon"]),
        nowhere("rixa", &["--header", "Bad Name:1"]),
        nowhere("rixa", &["--header", "X-Trace:a\u{7f}b"]),
        nowhere("socializer", &["--param", "client=1"]),
        nowhere("rixa", &["--all"]),
        nowhere("rixa", &["--output", "/does/not/exist/report.json"]),
        nowhere("rixa", &["--output", "/tmp"]),
        nowhere("socializer", &["--token", "a\nb"]),
        nowhere("socializer", &["--token", ""]),
        vec!["list", "--protocol", "nope"],
        vec![
            "validate",
            "--protocol",
            "rixa",
            "--direction",
            "server",
            "/does/not/exist.json",
        ],
        vec!["frobnicate"],
    ] {
        let output = run(&args).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&output.stderr)
        );
        // Refused before any check runs.
        assert!(
            !text(&output.stderr).contains("running"),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    // An unknown check id is named, so a typo in CI does not silently run everything.
    let output = run(&nowhere("rixa", &["--skip", "exchange.get_global_setings"])).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("--skip \"exchange.get_global_setings\" names no check"),
        "{}",
        text(&output.stderr)
    );
    // Without --url, the embedded reference server is the target: not a usage error.
    let output = run(&["run", "--protocol", "rixa"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("rixa: 36 passed, 0 failed"),
        "{}",
        text(&output.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_names_checks_and_sentences() {
    let output = run(&["list"]).await;
    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    for needle in [
        "handshake.connect",
        "auth.cookie.alg_none",
        "stream.chat_message",
        "session.lifecycle",
        "relay.signal",
        "reaction.too_many_connections",
        "\"If the token is invalid or missing, the server will close the connection with status code 1008 (Policy Violation).\"",
        "[--include-slow]",
    ] {
        assert!(stdout.contains(needle), "missing {needle}");
    }
    let output = run(&["list", "--protocol", "datagram", "--format", "json"]).await;
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed[0]["protocol"], "datagram");
    assert!(
        listed[0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["requirement"]["quote"].is_string())
    );
}

fn file_with(dir: &tempfile::TempDir, name: &str, content: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_recorded_frames() {
    let dir = tempfile::tempdir().unwrap();
    let good = file_with(
        &dir,
        "pong.json",
        "{\n \"type\": \"pong\",\n \"timestamp\": \"2024-01-01T10:00:00Z\"\n}\n",
    );
    let output = validate("generalbots", "server", &[&good]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("1 valid, 0 invalid"));

    let lines = file_with(
        &dir,
        "frames.jsonl",
        "{\"type\": \"pong\", \"timestamp\": \"2024-01-01T10:00:00Z\"}\n\
         {\"type\": \"pong\"}\n\
         this is not json\n\
         {\"type\": \"error\", \"code\": \"ROOM_FULL\", \"message\": \"x\"}\n",
    );
    let output = validate("generalbots", "server", &[&lines]).await;
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("frames.jsonl:2: invalid `pong`"),
        "{stdout}"
    );
    assert!(stdout.contains("required at \"\""), "{stdout}");
    assert!(stdout.contains("the message rests on: \""), "{stdout}");
    assert!(stdout.contains("frames.jsonl:3: not JSON"), "{stdout}");
    assert!(
        stdout.contains("defs.schema.json#/$defs/ErrorCode/enum"),
        "{stdout}"
    );
    assert!(stdout.contains("1 valid, 3 invalid"), "{stdout}");

    let output = validate("generalbots", "server", &["--format", "json", &lines]).await;
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["summary"]["invalid"], 3);
    assert_eq!(result["frames"][1]["errors"][0]["keyword"], "required");

    // The client direction: a server frame sent by a client is invalid.
    let output = validate("generalbots", "client", &[&good]).await;
    assert_eq!(output.status.code(), Some(1));

    // Where the document shows the placeholder "<base64 encoded message>", a value that does not
    // decode is not what it describes: invalid, at the annotation's place.
    let chat = file_with(
        &dir,
        "chat.json",
        r#"{"msg": "chat", "cid": "1", "content": {"success": true, "error": false, "sender": "A", "bot": true, "type": "text", "data": "not base64!"}}"#,
    );
    let output = validate("datagram", "server", &[&chat]).await;
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("contentEncoding at \"/content/data\"")
            && stdout.contains("defs.schema.json#/$defs/Base64Text/contentEncoding")
            && stdout.contains("placeholder \"<base64 encoded message>\""),
        "{stdout}"
    );

    // Text that is no JSON cites the sentence datagram's framing rests on.
    let garbage = file_with(&dir, "garbage.jsonl", "this is not json\n");
    let output = validate("datagram", "server", &[&garbage]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains(
            "the framing rests on: \"All the data over the WebSocket must be represented as JSON.\""
        ),
        "{}",
        text(&output.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reads_a_pretty_printed_value_whole() {
    let dir = tempfile::tempdir().unwrap();
    let validate = |path: String| async move {
        let output = validate("generalbots", "server", &["--format", "json", &path]).await;
        let code = output.status.code();
        let result: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        (code, result)
    };
    // One value over many lines, invalid (no timestamp): one frame, judged as the message it is.
    let pretty = serde_json::to_string_pretty(&serde_json::json!({"type": "pong"})).unwrap();
    assert!(pretty.lines().count() > 2);
    let (code, result) = validate(file_with(&dir, "pretty.json", &pretty)).await;
    assert_eq!(code, Some(1));
    assert_eq!(result["frames"].as_array().unwrap().len(), 1, "{result}");
    assert_eq!(result["frames"][0]["message"], "pong", "{result}");
    assert_eq!(result["frames"][0]["errors"][0]["keyword"], "required");
    // Over the bound, a pretty-printed value is one clear finding, not one per line.
    let path = dir.path().join("big.json");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"{\n  \"type\": \"pong\",\n  \"padding\": [\n")
        .unwrap();
    for _ in 0..(18 << 20) / 15 {
        file.write_all(b"    \"0123456\",\n").unwrap();
    }
    file.write_all(b"    \"end\"\n  ]\n}\n").unwrap();
    drop(file);
    let (code, result) = validate(path.to_str().unwrap().to_string()).await;
    assert_eq!(code, Some(1));
    let frames = result["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 1, "{}", frames.len());
    let error = frames[0]["errors"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("over 16 MiB") && error.contains("not JSON Lines"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_a_huge_file_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let line = "{\"type\": \"stream_chunk\", \"message_id\": \"m\", \"content\": \"some text of a chunk\"}\n";
    let mut written = 0;
    while written < 24 << 20 {
        file.write_all(line.as_bytes()).unwrap();
        written += line.len();
    }
    // One line too long to be a frame, then a valid one.
    file.write_all(&vec![b'x'; 17 << 20]).unwrap();
    file.write_all(b"\n").unwrap();
    file.write_all(line.as_bytes()).unwrap();
    drop(file);
    let started = std::time::Instant::now();
    let output = validate("generalbots", "server", &[path.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("1 invalid"), "{stdout}");
    assert!(started.elapsed().as_secs() < 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_empty_binary_and_endless_input() {
    let dir = tempfile::tempdir().unwrap();
    let validate = |path: String| async move {
        let output = validate("generalbots", "server", &[&path]).await;
        (
            output.status.code(),
            text(&output.stdout),
            text(&output.stderr),
        )
    };
    // An empty or blank recording is a finding, not a vacuous pass.
    for (name, content) in [("empty.jsonl", ""), ("blank.jsonl", "\n  \n")] {
        let (code, stdout, _) = validate(file_with(&dir, name, content)).await;
        assert_eq!(code, Some(1), "{name}: {stdout}");
        assert!(stdout.contains("holds no frame"), "{stdout}");
    }
    // Bytes that are not UTF-8: a finding for that line; the valid frame after it still counts.
    let path = dir.path().join("binary.jsonl");
    let mut bytes = vec![0xff, 0xfe, 0x00, b'{', b'\n'];
    bytes.extend_from_slice(b"{\"type\": \"pong\", \"timestamp\": \"2024-01-01T10:00:00Z\"}\n");
    std::fs::write(&path, bytes).unwrap();
    let (code, stdout, _) = validate(path.to_str().unwrap().to_string()).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("binary.jsonl:1: not UTF-8"), "{stdout}");
    assert!(stdout.contains("1 valid, 1 invalid"), "{stdout}");
    // A directory is a usage error.
    let (code, _, stderr) = validate(dir.path().to_str().unwrap().to_string()).await;
    assert_eq!(code, Some(2));
    assert!(stderr.contains("a directory"), "{stderr}");
    // An endless device: the read stops at the cap, with a finding, in bounded time and memory.
    let started = std::time::Instant::now();
    let (code, stdout, _) = validate("/dev/zero".into()).await;
    assert_eq!(code, Some(1));
    assert!(stdout.contains("not read further"), "{stdout}");
    assert!(started.elapsed().as_secs() < 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_short_by_its_deadline_does_not_pass() {
    let double = start("rixa", Fault::None).await;
    let output = run_at(
        "rixa",
        &double.url,
        &[
            "--run-timeout-ms",
            "1",
            "--concurrency",
            "1",
            "--format",
            "json",
        ],
    )
    .await;
    let report = json_out(&output, 1);
    assert_eq!(report["summary"]["skipped"], 0, "{report}");
    assert!(text(&output.stdout).contains("the run's deadline"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_timeout_bounds_the_whole_run_of_all_protocols() {
    // The reference servers: five protocols take well over 300 ms together.
    let started = std::time::Instant::now();
    let output = run(&[
        "run",
        "--all",
        "--run-timeout-ms",
        "300",
        "--format",
        "json",
    ])
    .await;
    let elapsed = started.elapsed();
    let document = json_out(&output, 1);
    let reports = document["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), 5, "{document}");
    // Bounded by the one deadline (plus starting servers and the shutdown grace), not by five.
    assert!(elapsed.as_secs_f64() < 10.0, "took {elapsed:?}");
    // The last protocol had no time left: every check fails, none is skipped or passes.
    let last = reports.last().unwrap();
    let checks = last["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    for check in checks {
        if check["skip_reason"]
            .as_str()
            .is_some_and(|r| r.contains("--include-slow"))
        {
            continue;
        }
        assert_eq!(check["status"], "fail", "{check}");
        assert!(check.to_string().contains("the run's deadline"), "{check}");
    }
}

/// A token RFC 6265 does not let travel in a cookie value.
const NOT_A_COOKIE: &str = "abc; def";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_a_cookie_cannot_carry_skips_the_cookie_method_only() {
    // Socializer takes the token by query parameter first, by cookie second: the query checks run
    // with it, the cookie's valid-credential check is skipped saying why. (A server that accepts
    // such a token: one that refused it would stop the run, see
    // `a_refused_valid_credential_exits_2_with_one_message`.)
    let double = start("socializer", Fault::AcceptBadToken).await;
    let output = run_at(
        "socializer",
        &double.url,
        &[
            "--token",
            NOT_A_COOKIE,
            "--only",
            "auth.cookie.valid",
            "--format",
            "json",
        ],
    )
    .await;
    let report = json_out(&output, 0);
    let check = &report["checks"][0];
    assert_eq!(check["status"], "skip", "{report}");
    assert!(
        check["skip_reason"]
            .as_str()
            .is_some_and(|r| r.contains("cookie value cannot carry")),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_a_cookie_cannot_carry_is_a_usage_error_where_every_connection_uses_a_cookie() {
    // The schema folder with socializer's cookie as its first (every connection's) method.
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
    copy_dir(&root, dir.path());
    let path = dir.path().join("socializer/protocol.json");
    let mut protocol: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    protocol["auth"]["methods"]
        .as_array_mut()
        .expect("methods")
        .reverse();
    std::fs::write(&path, serde_json::to_string_pretty(&protocol).unwrap()).unwrap();
    let schema_dir = dir.path().to_str().unwrap();
    let output = run(&[
        "--schema-dir",
        schema_dir,
        "run",
        "--protocol",
        "socializer",
        "--url",
        "ws://127.0.0.1:9",
        "--token",
        NOT_A_COOKIE,
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("cookie `access_token` on every connection"),
        "{}",
        text(&output.stderr)
    );
    // A cookie-safe token goes on to the run (here nothing listens: it could not be tested).
    let output = run(&[
        "--schema-dir",
        schema_dir,
        "run",
        "--protocol",
        "socializer",
        "--url",
        "ws://127.0.0.1:9",
        "--token",
        "abc",
        "--only",
        "handshake",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("could not be tested"),
        "{}",
        text(&output.stderr)
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_cites_the_error_format_for_an_error_in_another_shape() {
    let dir = tempfile::tempdir().unwrap();
    let frame = file_with(
        &dir,
        "error.json",
        r#"{"type": "error", "content": "Something went wrong"}"#,
    );
    let quote = "Errors will be returned via a message in the format";
    let output = validate("rixa", "server", &["--format", "json", &frame]).await;
    let result = json_out(&output, 1);
    assert_eq!(result["frames"][0]["rests_on"], quote, "{result}");
    let output = validate("rixa", "server", &[&frame]).await;
    assert!(
        text(&output.stdout).contains(&format!("rests on: \"{quote}\"")),
        "{}",
        text(&output.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_refuses_every_handshake_could_not_be_tested() {
    let double = support::start_refusing(403).await;
    let output = run_at("rixa", &double.url, &[]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    // One message: the cause and what to change; no table, no checks run.
    assert!(text(&output.stdout).is_empty(), "{}", text(&output.stdout));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("HTTP 403"), "{stderr}");
    assert!(stderr.contains("`Origin` header"), "{stderr}");
    assert!(stderr.contains("--header"), "{stderr}");

    let double = support::start_refusing(401).await;
    let output = run_at("rixa", &double.url, &["--format", "json"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("--token"),
        "{stderr}"
    );

    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = run_at("datagram", &format!("ws://127.0.0.1:{port}"), &[]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("could not be tested"), "{stderr}");
    assert!(stderr.contains("is the server running"), "{stderr}");
}

//! The suite as a CI gate: a run cannot go green while testing nothing. Credentials that do not
//! apply are refused, a refused credential stops the run with one message (exit 2), `--strict`
//! fails checks that were not run, and every run says how many checks ran of how many exist.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Output;

use serde_json::Value;
use support::{Fault, start};

/// Runs the binary with these arguments and environment variables.
async fn conformance(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"));
    command
        .args(args)
        .env_remove("AGENTWIRE_TOKEN")
        .env_remove("AGENTWIRE_JWT_SECRET")
        .env_remove("AGENTWIRE_STRICT");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

/// `run --protocol PROTOCOL --url URL EXTRA...`.
async fn run_at(protocol: &str, url: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["run", "--protocol", protocol, "--url", url];
    args.extend_from_slice(extra);
    conformance(&args, env).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(output: &Output, code: i32) -> Value {
    assert_eq!(output.status.code(), Some(code), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// A General Bots reference server (HS256 JWTs) with this secret.
async fn generalbots_reference(secret: &str) -> agentwire_reference::Running {
    let mut options = agentwire_reference::Options::new("generalbots").unwrap();
    options.jwt_secret = secret.to_string();
    agentwire_reference::start(options, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap()
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_secret_runs_the_auth_checks_of_generalbots() {
    let server = generalbots_reference("gate-secret").await;
    let output = run_at(
        "generalbots",
        &server.url,
        &[
            "--jwt-secret",
            "gate-secret",
            "--only",
            "auth",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    let report = json(&output, 0);
    let checks = statuses(&report);
    // Valid tokens by both methods, and the JWT cases its tokens allow.
    for id in [
        "auth.missing",
        "auth.query.valid",
        "auth.query.bad_signature",
        "auth.query.alg_none",
        "auth.query.expired",
        "auth.first_message.valid",
        "auth.first_message.expired",
    ] {
        assert!(
            checks.contains(&(id.to_string(), "pass".to_string())),
            "{id} did not pass: {checks:?}"
        );
    }
    assert_eq!(report["summary"]["skipped"], 0, "{checks:?}");
    assert_eq!(report["summary"]["ran"], checks.len(), "{checks:?}");

    // The secret from the environment does the same, and stays out of the process list.
    let output = run_at(
        "generalbots",
        &server.url,
        &["--only", "auth.query.valid", "--format", "json"],
        &[("AGENTWIRE_JWT_SECRET", "gate-secret")],
    )
    .await;
    assert_eq!(statuses(&json(&output, 0))[0].1, "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_valid_credential_exits_2_with_one_message() {
    let server = generalbots_reference("gate-secret").await;
    for (flag, value) in [
        (
            "--token",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.not-its-signature",
        ),
        ("--jwt-secret", "not-the-secret"),
    ] {
        let output = run_at("generalbots", &server.url, &[flag, value], &[]).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag}: {stderr}");
        assert_eq!(
            stderr.matches("was refused").count(),
            1,
            "{flag}: one message: {stderr}"
        );
        assert!(stderr.contains("the valid credential"), "{stderr}");
        assert!(!stderr.contains("not served"), "no check ran: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "no report: {}",
            text(&output.stdout)
        );
    }
    // The Socializer double closes with the documented 1008.
    let double = start("socializer", Fault::None).await;
    let output = run_at("socializer", &double.url, &["--jwt-secret", "wrong"], &[]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("was refused: closed with 1008"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_no_protocol_takes_is_a_usage_error_unless_it_comes_from_the_environment() {
    let double = start("datagram", Fault::None).await;
    for (flag, value) in [("--jwt-secret", "s"), ("--token", "t")] {
        let output = run_at("datagram", &double.url, &[flag, value], &[]).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(&format!("{flag}: ")), "{stderr}");
        assert!(stderr.contains("datagram"), "{stderr}");
    }
    // Socializer's credential is a JWT: its secret applies; rixa with it does not.
    let output = conformance(&["run", "--protocol", "rixa", "--jwt-secret", "s"], &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    // Set for a whole CI job, the variables are ignored where they do not apply, with a warning.
    let output = run_at(
        "datagram",
        &double.url,
        &["--only", "handshake", "--format", "json"],
        &[("AGENTWIRE_JWT_SECRET", "s"), ("AGENTWIRE_TOKEN", "t")],
    )
    .await;
    let stderr = text(&output.stderr);
    json(&output, 0);
    assert!(
        stderr.contains("warning: AGENTWIRE_JWT_SECRET is set"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: AGENTWIRE_TOKEN is set"),
        "{stderr}"
    );
    // An empty flag is a mistake too.
    let output = run_at("socializer", &double.url, &["--jwt-secret", ""], &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_fails_a_run_with_checks_not_run() {
    // General Bots without a credential: most checks cannot run.
    let double = start("generalbots", Fault::None).await;
    let args = ["run", "--protocol", "generalbots", "--url", &double.url];
    let lenient = conformance(&args, &[]).await;
    let stdout = text(&lenient.stdout);
    assert_eq!(lenient.status.code(), Some(0), "{stdout}");
    let ran = stdout
        .lines()
        .find(|l| l.starts_with("generalbots: ran "))
        .unwrap_or_else(|| panic!("no ran-of-exist line: {stdout}"));
    // "generalbots: ran N of M checks (...)": most of them did not run.
    let figures: Vec<u32> = ran
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(figures[0] * 2 < figures[1], "{ran}");
    assert!(
        stdout.contains("not run (") && stdout.contains("pass --token"),
        "{stdout}"
    );
    assert!(stdout.contains("--strict"), "{stdout}");

    let mut strict_args = args.to_vec();
    strict_args.extend(["--strict", "--format", "json"]);
    let report = json(&conformance(&strict_args, &[]).await, 1);
    let summary = &report["summary"];
    let figure = |name: &str| summary[name].as_u64().unwrap();
    assert!(figure("not_run") > 10, "{summary}");
    assert_eq!(figure("failed"), figure("not_run"), "{summary}");
    assert_eq!(
        figure("exist"),
        figure("ran") + figure("not_run") + figure("not_applicable") + figure("not_selected"),
        "{summary}"
    );
    let failed_not_run = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["skip_kind"] == "not_run")
        .expect("a check not run");
    assert_eq!(failed_not_run["status"], "fail");

    let mut env_args = args.to_vec();
    env_args.extend(["--format", "json"]);
    let report = json(
        &conformance(&env_args, &[("AGENTWIRE_STRICT", "1")]).await,
        1,
    );
    assert_eq!(report["summary"], *summary);
    // What does not apply never fails, strict or not: the JWT cases without a secret.
    let na: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["skip_kind"] == "not_applicable")
        .collect();
    assert!(
        !na.is_empty() && na.iter().all(|c| c["status"] == "skip"),
        "{na:?}"
    );
    json(
        &conformance(&env_args, &[("AGENTWIRE_STRICT", "0")]).await,
        0,
    );
}

/// The ids of a report's checks with this status.
fn with_status(report: &Value, status: &str) -> Vec<String> {
    statuses(report)
        .into_iter()
        .filter(|(_, s)| s == status)
        .map(|(id, _)| id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_hides_listed_failures_fails_on_stale_entries_and_round_trips() {
    // RIXA sending an error in a shape the document does not show: a known, accepted deviation.
    let faulty = start("rixa", Fault::ErrorShape("get_chat_start_info")).await;
    let correct = start("rixa", Fault::None).await;
    let dir = tempfile::tempdir().unwrap();
    // `run --format json` of RIXA's exchanges at a URL (the other checks only take time here).
    async fn run(url: &str, extra: &[&str]) -> Output {
        let mut args = extra.to_vec();
        args.extend(["--format", "json", "--only", "exchange"]);
        run_at("rixa", url, &args, &[]).await
    }
    let report = json(&run(&faulty.url, &[]).await, 1);
    let failed = with_status(&report, "fail");
    assert!(!failed.is_empty(), "the fault fails some check");

    for name in ["baseline.toml", "baseline.json"] {
        let path = dir.path().join(name);
        let path = path.to_str().unwrap();
        // Writing the baseline changes nothing of the run's verdict.
        json(&run(&faulty.url, &["--write-baseline", path]).await, 1);
        let written = std::fs::read_to_string(path).unwrap();
        for id in &failed {
            assert!(
                written.contains(id.as_str()),
                "{name} lacks {id}: {written}"
            );
        }
        // The listed failures no longer fail the run.
        let report = json(&run(&faulty.url, &["--baseline", path]).await, 0);
        assert_eq!(with_status(&report, "expected-fail"), failed, "{name}");
        assert!(with_status(&report, "fail").is_empty());
        assert_eq!(report["summary"]["expected_fail"], failed.len());
        let listed = &report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == "expected-fail")
            .unwrap()["baseline_reason"];
        assert!(listed.as_str().is_some_and(|r| !r.is_empty()), "{listed}");
        // Written again from the run it allowed, the baseline is the same.
        json(
            &run(&faulty.url, &["--baseline", path, "--write-baseline", path]).await,
            0,
        );
        assert_eq!(std::fs::read_to_string(path).unwrap(), written, "{name}");
        // Once the server is fixed, the entries are stale and fail the run.
        let report = json(&run(&correct.url, &["--baseline", path]).await, 1);
        assert_eq!(with_status(&report, "stale"), failed, "{name}");
        assert_eq!(report["summary"]["stale"], failed.len());
    }

    // The human table says so too.
    let path = dir.path().join("baseline.json");
    let human = run_at(
        "rixa",
        &correct.url,
        &["--baseline", path.to_str().unwrap(), "--only", "exchange"],
        &[],
    )
    .await;
    let stdout = text(&human.stdout);
    assert_eq!(human.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("STALE") && stdout.contains("stale baseline entry"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_baseline_is_a_usage_error_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content, says) in [
        (
            "b.json",
            r#"{"expected_failures": [{"check": "handshake.connect", "reason": "ok"}, {"check": "handshake.conect", "reason": "typo"}]}"#,
            "entry 2 (handshake.conect): no protocol has a check",
        ),
        (
            "b.toml",
            "[[expected_failures]]\ncheck = \"exchange.ping\"\nprotocol = \"datagram\"\n",
            "entry 1 (exchange.ping): `reason` is missing",
        ),
        ("c.json", "{not json", "not JSON"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let output = run_at(
            "datagram",
            "ws://127.0.0.1:9",
            &["--baseline", path.to_str().unwrap()],
            &[],
        )
        .await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sarif_results_point_at_the_sentence_and_html_shows_the_failure() {
    // RIXA answering a request with an error in a shape the document does not show.
    let faulty = start("rixa", Fault::ErrorShape("get_chat_start_info")).await;
    let dir = tempfile::tempdir().unwrap();
    let sarif_path = dir.path().join("report.sarif");
    let html_path = dir.path().join("report.html");
    let output = run_at(
        "rixa",
        &faulty.url,
        &[
            "--format",
            "json",
            "--report",
            &format!("sarif={}", sarif_path.display()),
            "--report",
            &format!("html={}", html_path.display()),
        ],
        &[],
    )
    .await;
    let report = json(&output, 1);
    let failed = with_status(&report, "fail");
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        report["checks"].as_array().unwrap().len(),
        "one rule per check"
    );
    let results = run["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, failed, "one result per failed check");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("schema/rixa/document."), "{uri}");
        let document = std::fs::read_to_string(root.join(uri)).unwrap();
        let line = location["region"]["startLine"].as_u64().unwrap() as usize;
        let snippet = location["region"]["snippet"]["text"].as_str().unwrap();
        let first_word = snippet.split_whitespace().next().unwrap();
        assert!(
            document.lines().nth(line - 1).unwrap().contains(first_word),
            "{uri}:{line} does not hold {snippet:?}"
        );
        assert!(
            result["message"]["text"]
                .as_str()
                .unwrap()
                .contains("Rests on")
        );
    }
    let page = std::fs::read_to_string(&html_path).unwrap();
    for id in &failed {
        assert!(
            page.contains(&format!("data-check=\"{id}\" data-status=\"fail\" open>")),
            "{id}"
        );
    }
}

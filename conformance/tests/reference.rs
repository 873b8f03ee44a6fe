//! The README's main command: with no `--url`, `conformance run --all` starts the embedded
//! reference server of each protocol and checks it. Every check passes; the only skips are the
//! checks that wait for documented timeouts (opt-in with `--include-slow`).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

#[test]
fn every_check_passes_against_every_reference_server() {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["run", "--all", "--format", "json", "--output"])
        .arg(&report_path)
        .output()
        .expect("conformance runs");
    let elapsed = started.elapsed();
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let reports = report["reports"]
        .as_array()
        .expect("one report per protocol");
    let ids: Vec<&str> = reports
        .iter()
        .map(|r| r["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "datagram",
            "generalbots",
            "generalbots-meet",
            "rixa",
            "socializer"
        ]
    );
    for protocol in reports {
        let id = protocol["protocol"].as_str().unwrap();
        for check in protocol["checks"].as_array().unwrap() {
            let status = check["status"].as_str().unwrap();
            let check_id = check["id"].as_str().unwrap();
            let slow = check_id == "reaction.idle" || check_id == "limit.ping_interval_seconds";
            match status {
                "pass" => {}
                "skip" if slow => {}
                other => panic!("{id} {check_id}: {other}: {}", check["evidence"]),
            }
        }
        assert!(
            protocol["summary"]["passed"].as_u64().unwrap() >= 9,
            "{id}: too few checks ran"
        );
    }
    // The suite's own budget: under 5 s per protocol, here for all five together.
    assert!(
        elapsed < Duration::from_secs(25),
        "the run took {elapsed:?}"
    );
}

/// `--include-slow` waits for General Bots' documented idle timeout (5 minutes): the run's
/// deadline covers it, and while it waits the progress says what for.
#[test]
fn with_the_slow_checks_the_generalbots_reference_passes() {
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["run", "--protocol", "generalbots", "--include-slow"])
        .output()
        .expect("conformance runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    for slow in ["reaction.idle", "limit.ping_interval_seconds"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with("PASS") && l.contains(slow)),
            "{slow} did not pass:\n{stdout}"
        );
    }
    assert!(
        stderr.contains("reaction.idle: waiting for the server to close an idle connection"),
        "no word of the long wait:\n{stderr}"
    );
}

//! The full suite (slow checks excluded) against a conforming local server takes well under 5 s
//! per protocol with the default timeouts. Prints the durations.

mod support;

use std::time::Instant;

use agentwire_conformance::report::Status;
use support::{Fault, check};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_suite_under_five_seconds_per_protocol() {
    for protocol in [
        "rixa",
        "datagram",
        "socializer",
        "generalbots",
        "generalbots-meet",
    ] {
        let started = Instant::now();
        let report = check(protocol, Fault::None, 2000).await;
        let elapsed = started.elapsed();
        eprintln!(
            "{protocol}: {} checks in {} ms ({} passed, {} skipped)",
            report.checks.len(),
            elapsed.as_millis(),
            report.summary.passed,
            report.summary.skipped
        );
        assert!(report.checks.iter().all(|c| c.status != Status::Fail));
        assert!(elapsed.as_secs_f64() < 5.0, "{protocol} took {elapsed:?}");
    }
}

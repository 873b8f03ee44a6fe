//! The checks under way, so that a long wait can say what it is waiting for.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a check runs before the progress says what it is waiting for.
pub const REPORT_AFTER: Duration = Duration::from_secs(10);
/// How often the progress says it again during a long wait.
pub const REPORT_EVERY: Duration = Duration::from_secs(15);

/// A check that has been running for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The check's id.
    pub check: String,
    /// What it waits for.
    pub what: String,
    /// How long it has run.
    pub elapsed: Duration,
    /// The most it may take.
    pub budget: Duration,
}

/// The checks under way.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<Vec<(String, String, Instant, Duration)>>);

impl InFlight {
    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<(String, String, Instant, Duration)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A check started.
    pub fn start(&self, check: &str, what: String, budget: Duration) {
        self.entries()
            .push((check.to_string(), what, Instant::now(), budget));
    }

    /// A check ended.
    pub fn end(&self, check: &str) {
        self.entries().retain(|(id, ..)| id != check);
    }

    /// The checks that have run for at least `after` at `now`, longest first.
    pub fn long_waits(&self, now: Instant, after: Duration) -> Vec<Waiting> {
        let mut out: Vec<Waiting> = self
            .entries()
            .iter()
            .map(|(check, what, started, budget)| Waiting {
                check: check.clone(),
                what: what.clone(),
                elapsed: now.saturating_duration_since(*started),
                budget: *budget,
            })
            .filter(|w| w.elapsed >= after)
            .collect();
        out.sort_by_key(|w| std::cmp::Reverse(w.elapsed));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_checks_running_long_are_reported_longest_first() {
        let in_flight = InFlight::default();
        in_flight.start(
            "reaction.idle",
            "the server to close".into(),
            Duration::from_secs(400),
        );
        std::thread::sleep(Duration::from_millis(20));
        in_flight.start(
            "exchange.ping",
            "its answer".into(),
            Duration::from_secs(30),
        );
        let now = Instant::now();
        let long = in_flight.long_waits(now, Duration::from_millis(10));
        assert_eq!(long.len(), 1, "{long:?}");
        assert_eq!(long[0].check, "reaction.idle");
        assert_eq!(long[0].what, "the server to close");
        let later = now + Duration::from_secs(60);
        let both = in_flight.long_waits(later, Duration::from_secs(10));
        assert_eq!(
            both.iter().map(|w| w.check.as_str()).collect::<Vec<_>>(),
            ["reaction.idle", "exchange.ping"]
        );
        in_flight.end("reaction.idle");
        assert_eq!(in_flight.long_waits(later, Duration::ZERO).len(), 1);
    }
}

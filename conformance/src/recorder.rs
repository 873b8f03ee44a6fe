//! The evidence of one check: every frame, violation, close and finding its connections record,
//! bounded so that a flood cannot fill memory, and the worst severity, which sets the status.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::judge::Finding;
use crate::report::{Evidence, Severity};

/// Most frames recorded as evidence per check; later ones are counted, still validated.
const MAX_LOGGED_FRAMES: usize = 80;
/// Most other pieces of evidence (violations, findings, closes...) recorded per check; later ones
/// are counted, and still decide the check's status.
const MAX_LOGGED_OTHER: usize = 200;

/// The evidence of one check, shared by its connections.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<RecorderState>>);

#[derive(Debug, Default)]
struct RecorderState {
    evidence: Vec<Evidence>,
    logged_frames: usize,
    unlogged_frames: usize,
    logged_other: usize,
    unlogged_other: usize,
    worst: Option<Severity>,
}

impl Recorder {
    fn state(&self) -> MutexGuard<'_, RecorderState> {
        // A poisoned lock only means another task panicked mid-push; the data is still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one piece of evidence.
    pub fn push(&self, evidence: Evidence) {
        let mut state = self.state();
        let severity = match &evidence {
            Evidence::Finding { severity, .. } | Evidence::Violation { severity, .. } => {
                Some(*severity)
            }
            _ => None,
        };
        if let Some(severity) = severity.filter(|s| *s > Severity::Info) {
            state.worst = state.worst.max(Some(severity));
        }
        if matches!(evidence, Evidence::Frame { .. }) {
            if state.logged_frames >= MAX_LOGGED_FRAMES {
                state.unlogged_frames += 1;
                return;
            }
            state.logged_frames += 1;
        } else {
            if state.logged_other >= MAX_LOGGED_OTHER {
                state.unlogged_other += 1;
                return;
            }
            state.logged_other += 1;
        }
        state.evidence.push(evidence);
    }

    /// Records a conclusion.
    pub fn finding(&self, severity: Severity, message: impl Into<String>) {
        self.push(Evidence::finding(severity, message));
    }

    /// Records a judged conclusion (with what was expected and received, where it compares).
    pub fn record(&self, finding: Finding) {
        self.push(finding.into());
    }

    /// Records an explanation.
    pub fn info(&self, message: impl Into<String>) {
        self.finding(Severity::Info, message);
    }

    /// The worst severity recorded (warn or fail), if any.
    pub fn worst(&self) -> Option<Severity> {
        self.state().worst
    }

    /// Takes the evidence out.
    pub fn take(&self) -> Vec<Evidence> {
        let mut state = self.state();
        let mut evidence = std::mem::take(&mut state.evidence);
        let unlogged = [
            (
                state.unlogged_frames,
                "frames were validated but not recorded",
            ),
            (
                state.unlogged_other,
                "findings (violations, closes, timeouts) were counted in the status but not recorded",
            ),
        ];
        for (count, what) in unlogged {
            if count > 0 {
                evidence.push(Evidence::finding(
                    Severity::Info,
                    format!("{count} more {what}"),
                ));
            }
        }
        evidence
    }
}

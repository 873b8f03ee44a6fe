//! The human format: a progress line per check on stderr while running, then a table.

use std::io::Write as _;

use crate::report::{CheckReport, Evidence, ProtocolReport, Severity, SkipKind, Status};
use crate::runner::Progress;
use crate::runner::waits::Waiting;

/// Prints one line per finished check to stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgressLines;

impl Progress for ProgressLines {
    fn start(&self, protocol: &str, total: usize) {
        eprintln!("{protocol}: running {total} checks");
    }

    fn done(&self, protocol: &str, done: usize, total: usize, check: &CheckReport) {
        let width = total.to_string().len();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "  [{done:>width$}/{total}] {:<4} {protocol} {} ({} ms)",
            check.status.as_str(),
            check.id,
            check.duration_ms
        );
    }

    fn waiting(&self, protocol: &str, waits: &[Waiting]) {
        let mut err = std::io::stderr().lock();
        for wait in waits {
            let _ = writeln!(err, "{}", waiting_line(protocol, wait));
        }
    }
}

/// The progress line of a check that has been running for a while: what it waits for, and how
/// long it has waited of the most it may take.
pub fn waiting_line(protocol: &str, wait: &Waiting) -> String {
    format!(
        "  ... {protocol} {}: waiting for {}, {} s of at most {} s",
        wait.check,
        wait.what,
        wait.elapsed.as_secs(),
        wait.budget.as_secs()
    )
}

/// The table of one protocol's report: per check its status and one line of detail; for a
/// failure or warning, what was expected and received (with the close code and the real elapsed
/// time) where the finding compares, and the sentence it rests on.
pub fn table(report: &ProtocolReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} ({}) at {}\n",
        report.protocol, report.title, report.target
    ));
    let id_width = report
        .checks
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let status_width = report
        .checks
        .iter()
        .map(|c| c.status.as_str().len())
        .max()
        .unwrap_or(6)
        .max(6);
    out.push_str(&format!(
        "  {:<status_width$} {:<id_width$}  {}\n",
        "STATUS", "CHECK", "DETAIL"
    ));
    for check in &report.checks {
        out.push_str(&format!(
            "  {:<status_width$} {:<id_width$}  {}\n",
            check.status.as_str().to_uppercase(),
            check.id,
            detail(check)
        ));
        if !matches!(
            check.status,
            Status::Fail | Status::Warn | Status::ExpectedFail | Status::Stale
        ) {
            continue;
        }
        let mut more = |label: &str, text: &str| {
            out.push_str(&format!(
                "  {:<status_width$} {:<id_width$}  {label} {}\n",
                "",
                "",
                crate::util::prefix(text, 240)
            ));
        };
        let worst = worst(check);
        if let Some(Evidence::Finding {
            expected,
            received,
            elapsed_ms,
            ..
        }) = worst
        {
            if let Some(expected) = expected {
                more("expected:", expected);
            }
            if let Some(received) = received {
                let after = match elapsed_ms {
                    Some(ms) if !received.contains(" ms") => format!(" after {ms} ms"),
                    _ => String::new(),
                };
                more("received:", &format!("{received}{after}"));
            }
        }
        // The sentence the worst finding breaks: a violated message's, else the check's.
        let quote = match worst {
            Some(Evidence::Violation {
                rests_on: Some(quote),
                ..
            }) => format!("\"{}\"", crate::util::prefix(quote, 160)),
            _ => format!(
                "\"{}\" ({}, {})",
                crate::util::prefix(&check.requirement.quote, 160),
                check.requirement.document,
                check.requirement.level.as_str()
            ),
        };
        more("rests on:", &quote);
        if let Some(reason) = &check.baseline_reason {
            more("baseline:", reason);
        }
    }
    out.push_str(&summary_lines(report));
    out
}

/// The closing lines: the statuses, how many checks ran of how many exist, and why the others
/// did not (the reasons of checks not run, which a run that proves something has none of).
pub fn summary_lines(report: &ProtocolReport) -> String {
    let s = report.summary;
    let p = &report.protocol;
    let mut out = format!(
        "{p}: {} passed, {} failed, {} skipped, {} warned",
        s.passed, s.failed, s.skipped, s.warned
    );
    if s.expected_fail > 0 || s.stale > 0 {
        out.push_str(&format!(
            ", {} expected-fail (baseline), {} stale (baseline)",
            s.expected_fail, s.stale
        ));
    }
    out.push_str(&format!(" in {} ms\n", report.duration_ms));
    out.push_str(&format!(
        "{p}: ran {} of {} checks ({} not run, {} not applicable, {} not selected)\n",
        s.ran, s.exist, s.not_run, s.not_applicable, s.not_selected
    ));
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for check in &report.checks {
        if check.skip_kind == Some(SkipKind::NotRun)
            && let Some(reason) = check.skip_reason.as_deref()
        {
            match reasons.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, count)) => *count += 1,
                None => reasons.push((reason, 1)),
            }
        }
    }
    reasons.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    for (reason, count) in reasons.iter().take(3) {
        out.push_str(&format!(
            "{p}: not run ({count}): {}\n",
            crate::util::prefix(reason, 240)
        ));
    }
    if s.not_run > 0 && s.failed == 0 {
        out.push_str(&format!(
            "{p}: {} checks were not run, so this run proves less than it could; --strict (or \
             AGENTWIRE_STRICT=1) fails it\n",
            s.not_run
        ));
    }
    out
}

/// The first of the worst findings and violations of a check: usually the cause, later ones its
/// consequences.
pub fn worst(check: &CheckReport) -> Option<&Evidence> {
    check
        .evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Finding { severity, .. } | Evidence::Violation { severity, .. }
                if *severity > Severity::Info =>
            {
                Some((*severity, e))
            }
            _ => None,
        })
        .rev()
        .max_by_key(|(severity, _)| *severity)
        .map(|(_, e)| e)
}

/// The one line that explains a check's status.
pub fn detail(check: &CheckReport) -> String {
    if let Some(reason) = &check.skip_reason {
        return reason.clone();
    }
    let line = match worst(check) {
        Some(Evidence::Finding { message, .. }) => message.clone(),
        Some(Evidence::Violation {
            message,
            instance_pointer,
            keyword,
            error,
            ..
        }) => format!(
            "schema: {} at {:?} ({keyword}): {}",
            message
                .as_deref()
                .unwrap_or("a frame of no documented message"),
            instance_pointer,
            crate::util::prefix(error, 160),
        ),
        _ => return check.title.clone(),
    };
    crate::util::prefix(&line, 300).to_string()
}

//! The human format: a progress line per check on stderr while running, then a table.

use std::io::Write as _;

use crate::report::{CheckReport, Evidence, ProtocolReport, Severity, Status};
use crate::runner::Progress;

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
}

/// The table of one protocol's report.
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
    out.push_str(&format!(
        "  {:<6} {:<id_width$}  {}\n",
        "STATUS", "CHECK", "DETAIL"
    ));
    for check in &report.checks {
        out.push_str(&format!(
            "  {:<6} {:<id_width$}  {}\n",
            check.status.as_str().to_uppercase(),
            check.id,
            detail(check)
        ));
        if matches!(check.status, Status::Fail | Status::Warn) {
            out.push_str(&format!(
                "  {:<6} {:<id_width$}  rests on: \"{}\" ({}, {})\n",
                "",
                "",
                crate::util::prefix(&check.requirement.quote, 160),
                check.requirement.document,
                check.requirement.level.as_str()
            ));
        }
    }
    let s = report.summary;
    out.push_str(&format!(
        "{}: {} passed, {} failed, {} skipped, {} warned in {} ms\n",
        report.protocol, s.passed, s.failed, s.skipped, s.warned, report.duration_ms
    ));
    out
}

/// The one line that explains a check's status.
pub fn detail(check: &CheckReport) -> String {
    if let Some(reason) = &check.skip_reason {
        return reason.clone();
    }
    let worst = check
        .evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Finding { severity, message } if *severity > Severity::Info => {
                Some((*severity, message.clone()))
            }
            Evidence::Violation {
                severity,
                message,
                instance_pointer,
                keyword,
                error,
                rests_on,
                ..
            } => Some((
                *severity,
                format!(
                    "schema: {} at {:?} ({keyword}): {}{}",
                    message.as_deref().unwrap_or("frame"),
                    instance_pointer,
                    crate::util::prefix(error, 160),
                    rests_on.as_deref().map_or(String::new(), |quote| format!(
                        " (the {} rests on \"{}\")",
                        if message.is_some() {
                            "message"
                        } else {
                            "framing"
                        },
                        crate::util::prefix(quote, 120)
                    ))
                ),
            )),
            _ => None,
        })
        // The first of the worst findings: usually the cause, later ones its consequences.
        .rev()
        .max_by_key(|(severity, _)| *severity);
    match worst {
        Some((_, message)) => crate::util::prefix(&message, 300).to_string(),
        None => check.title.clone(),
    }
}

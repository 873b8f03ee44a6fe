//! The report formats: `human` (progress while running and a table), `json` (the report types,
//! see `report.schema.json`), `junit` (one testsuite per protocol, one testcase per check),
//! `sarif` (SARIF 2.1.0 for code scanning) and `html` (one self-contained page).

pub mod html;
pub mod human;
pub mod junit;
pub mod sarif;

use crate::report::{CheckReport, Evidence, FrameDirection, ReportDocument};

/// The JSON report, pretty-printed.
pub fn json(document: &ReportDocument) -> String {
    let mut text = serde_json::to_string_pretty(document)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The sentence a check's finding rests on, and the document it is from when the check says: a
/// violated message's sentence where the worst finding is a violation citing one, else the
/// check's own.
pub fn rests_on(check: &CheckReport) -> (&str, Option<&str>) {
    match human::worst(check) {
        Some(Evidence::Violation {
            rests_on: Some(quote),
            ..
        }) => (quote, None),
        _ => (
            &check.requirement.quote,
            Some(check.requirement.document.as_str()),
        ),
    }
}

/// The evidence of a check in one line: frames each way, handshakes refused, closes, timeouts
/// and violations.
pub fn summarize_evidence(evidence: &[Evidence]) -> String {
    let (mut sent, mut received, mut refused, mut violations) = (0, 0, 0, 0);
    let mut closes = Vec::new();
    let mut timeouts = Vec::new();
    for item in evidence {
        match item {
            Evidence::Frame { direction, .. } => match direction {
                FrameDirection::Sent => sent += 1,
                FrameDirection::Received => received += 1,
            },
            Evidence::Handshake { error: Some(_), .. } => refused += 1,
            Evidence::Violation { .. } => violations += 1,
            Evidence::Close { code, reason, .. } => closes.push(
                crate::util::prefix(&crate::judge::describe_close(*code, reason), 80).to_string(),
            ),
            Evidence::Timeout { waiting_for, .. } => {
                timeouts.push(crate::util::prefix(waiting_for, 80).to_string());
            }
            _ => {}
        }
    }
    let mut parts = vec![format!("{sent} frames sent, {received} received")];
    if refused > 0 {
        parts.push(format!("{refused} handshakes failed"));
    }
    if violations > 0 {
        parts.push(format!("{violations} schema violations"));
    }
    if !closes.is_empty() {
        parts.push(format!("connection {}", closes.join("; ")));
    }
    if !timeouts.is_empty() {
        parts.push(format!("waited in vain for {}", timeouts.join("; ")));
    }
    parts.join(", ")
}

//! The report formats: `human` (progress while running and a table), `json` (the report types,
//! see `report.schema.json`) and `junit` (one testsuite per protocol, one testcase per check).

pub mod human;
pub mod junit;

use crate::report::ReportDocument;

/// The JSON report, pretty-printed.
pub fn json(document: &ReportDocument) -> String {
    let mut text = serde_json::to_string_pretty(document)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

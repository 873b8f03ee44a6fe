//! SARIF 2.1.0 (`--format sarif`), for code scanning: one run per protocol, one rule per check,
//! one result per check that failed, warned, is a stale baseline entry or an expected failure (the
//! last suppressed, as the baseline accepts it). A result's location is the protocol document and
//! the lines of the sentence the finding rests on, so code scanning annotates the document; its
//! message is the finding with its evidence summarised.

use serde_json::{Value, json};

use crate::output::human::{detail, worst};
use crate::output::{rests_on, summarize_evidence};
use crate::report::{CheckReport, Evidence, ProtocolReport, RuleLevel, Status};
use crate::schemas::Schemas;

/// Where the protocol documents are, as code scanning should resolve them: `schema/` for the
/// copy built into the binary (the repository's folder), or the `--schema-dir` folder.
#[derive(Debug, Clone)]
pub struct DocumentRoot(pub String);

impl DocumentRoot {
    /// The URI of a protocol's document, relative to the scanned repository when the root is.
    fn uri(&self, protocol: &str, document: &str) -> String {
        let root = self.0.trim_end_matches('/');
        let path = agentwire_spec::tree::join_relative(protocol, document);
        let uri = if root.is_empty() || root == "." {
            path
        } else {
            format!("{root}/{path}")
        };
        if uri.starts_with('/') {
            format!("file://{}", percent_path(&uri))
        } else {
            percent_path(&uri)
        }
    }
}

/// A path as a URI reference: each segment percent-encoded, the slashes kept.
fn percent_path(path: &str) -> String {
    path.split('/')
        .map(crate::util::percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// The SARIF log of these reports.
pub fn sarif(reports: &[ProtocolReport], schemas: &Schemas, root: &DocumentRoot) -> String {
    let runs: Vec<Value> = reports.iter().map(|r| run(r, schemas, root)).collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": runs,
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

fn run(report: &ProtocolReport, schemas: &Schemas, root: &DocumentRoot) -> Value {
    let rules: Vec<Value> = report.checks.iter().map(|c| rule(report, c)).collect();
    let results: Vec<Value> = report
        .checks
        .iter()
        .enumerate()
        .filter_map(|(index, check)| result(report, check, index, schemas, root))
        .collect();
    json!({
        "tool": {"driver": {
            "name": report.tool.name,
            "version": report.tool.version,
            "semanticVersion": report.tool.version,
            "informationUri": env!("CARGO_PKG_REPOSITORY"),
            "rules": rules,
        }},
        // One category per protocol: code scanning keeps their results apart.
        "automationDetails": {"id": format!("agentwire-conformance/{}/", report.protocol)},
        "invocations": [{"executionSuccessful": true}],
        "properties": {
            "protocol": report.protocol,
            "target": report.target,
            "summary": report.summary,
        },
        "results": results,
    })
}

/// The rule of a check: what it verifies and the sentence it rests on.
fn rule(report: &ProtocolReport, check: &CheckReport) -> Value {
    let r = &check.requirement;
    let level = match r.level {
        RuleLevel::Required => "error",
        RuleLevel::Open => "warning",
    };
    let reading = r
        .reading
        .as_deref()
        .map(|reading| format!("\n\nReading: {reading}"))
        .unwrap_or_default();
    json!({
        "id": check.id,
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": format!("\"{}\" ({}, {})", r.quote, r.document, r.level.as_str())},
        "help": {"text": format!(
            "{}. It rests on this sentence of {} ({}): \"{}\"{reading}",
            check.title, r.document, r.level.as_str(), r.quote
        )},
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": ["conformance", report.protocol.as_str()],
            "requirement": r.level.as_str(),
            "source": r.source,
        },
    })
}

/// The result of a check that did not pass, if it did not.
fn result(
    report: &ProtocolReport,
    check: &CheckReport,
    index: usize,
    schemas: &Schemas,
    root: &DocumentRoot,
) -> Option<Value> {
    let level = match check.status {
        Status::Fail | Status::Stale | Status::ExpectedFail => "error",
        Status::Warn => "warning",
        Status::Pass | Status::Skip => return None,
    };
    let (quote, document) = rests_on(check);
    let protocol = schemas.protocol(&report.protocol);
    let located = protocol.and_then(|p| p.locate(quote, document));
    let mut physical = json!({"artifactLocation": {
        "uri": root.uri(&report.protocol, located.as_ref().map_or(check.requirement.document.as_str(), |l| l.document.as_str())),
    }});
    if let Some(at) = &located {
        physical["region"] = json!({
            "startLine": at.first_line,
            "endLine": at.last_line,
            "snippet": {"text": quote},
        });
    }
    let mut result = json!({
        "ruleId": check.id,
        "ruleIndex": index,
        "level": level,
        "message": {"text": message(check, quote)},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {
            "agentwireCheck/v1": format!("{}/{}", report.protocol, check.id),
        },
        "properties": {"status": check.status.as_str(), "protocol": report.protocol},
    });
    if check.status == Status::ExpectedFail {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": check.baseline_reason.as_deref().unwrap_or("listed in the baseline"),
        }]);
    }
    Some(result)
}

/// The finding, what was expected and received, the sentence, and the evidence in short.
fn message(check: &CheckReport, quote: &str) -> String {
    let mut text = format!("{}: {}", check.status.as_str(), detail(check));
    if let Some(Evidence::Finding {
        expected, received, ..
    }) = worst(check)
    {
        if let Some(expected) = expected {
            text.push_str(&format!(
                ". Expected: {}",
                crate::util::prefix(expected, 300)
            ));
        }
        if let Some(received) = received {
            text.push_str(&format!(
                ". Received: {}",
                crate::util::prefix(received, 300)
            ));
        }
    }
    if let Some(reason) = &check.baseline_reason {
        text.push_str(&format!(". Baseline: {reason}"));
    }
    text.push_str(&format!(
        ". Rests on: \"{}\". Evidence: {}",
        crate::util::prefix(quote, 300),
        summarize_evidence(&check.evidence)
    ));
    text
}

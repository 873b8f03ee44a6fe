//! The report: what was checked, what each check rests on, what happened.
//!
//! These types are the JSON report (`--format json`); `conformance/report.schema.json` is generated
//! from them with `schemars`, so that CI systems can rely on the shape.

use agentwire_spec::protocol::Level;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What `--format json` writes: one protocol's report, or several with `--all`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "ConformanceReport")]
pub enum ReportDocument {
    /// One protocol.
    Single(ProtocolReport),
    /// Several protocols (`--all`).
    Multiple(MultiReport),
}

/// The reports of several protocols.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MultiReport {
    /// The tool that wrote the report.
    pub tool: Tool,
    /// The sums over every protocol.
    pub summary: Summary,
    /// One report per protocol, in the order run.
    pub reports: Vec<ProtocolReport>,
}

/// The result of running the suite for one protocol against one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolReport {
    /// Protocol id (the folder name below `schema/`).
    pub protocol: String,
    /// The protocol's title.
    pub title: String,
    /// The endpoint checked, with credentials redacted.
    pub target: String,
    /// The tool that wrote the report.
    pub tool: Tool,
    /// Wall time of the whole run, in milliseconds.
    pub duration_ms: u64,
    /// When the run started (the JUnit testsuite's timestamp); not part of the JSON report.
    #[serde(skip)]
    pub started_at: Option<std::time::SystemTime>,
    /// How many checks ended in each status.
    pub summary: Summary,
    /// Every check, in the suite's order (the order of `conformance list`).
    pub checks: Vec<CheckReport>,
}

impl ProtocolReport {
    /// Counts the statuses again, after they changed (the baseline).
    pub fn recount(&mut self) {
        self.summary = Summary::of(&self.checks, self.summary.exist as usize);
    }
}

/// Name and version of the tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// Always `agentwire-conformance`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Counts of check statuses, and how many of the protocol's checks ran.
///
/// `exist = ran + not_run + not_applicable + not_selected`; the status counts add up to the checks
/// listed in the report (`passed + failed + skipped + warned + expected_fail + stale`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Checks that passed.
    pub passed: u32,
    /// Checks that failed: a documented requirement was broken, or (`--strict`) a check was not
    /// run.
    pub failed: u32,
    /// Checks listed as skipped: not run, not applicable, or opt-in and not opted into.
    pub skipped: u32,
    /// Checks that found something the documents leave open.
    pub warned: u32,
    /// Failed checks the baseline lists: they do not fail the run.
    #[serde(default)]
    pub expected_fail: u32,
    /// Checks the baseline lists that no longer fail: they fail the run until the entry goes.
    #[serde(default)]
    pub stale: u32,
    /// Checks the suite has for the protocol.
    #[serde(default)]
    pub exist: u32,
    /// Checks that ran to a verdict.
    #[serde(default)]
    pub ran: u32,
    /// Selected checks the suite could not run here (no credential, the run's deadline, a
    /// prerequisite the server did not provide): a run with any is no proof; `--strict` fails
    /// them.
    #[serde(default)]
    pub not_run: u32,
    /// Checks that do not apply to this protocol or server (no documented limit, the other form
    /// of a reply): nothing to verify.
    #[serde(default)]
    pub not_applicable: u32,
    /// Checks left out by `--only`, `--skip`, or as opt-in (`--include-slow`).
    #[serde(default)]
    pub not_selected: u32,
}

impl Summary {
    /// Counts these checks, listed out of `exist` (the others were left out by `--only` or
    /// `--skip`).
    pub fn of(checks: &[CheckReport], exist: usize) -> Self {
        let mut summary = Self {
            exist: exist as u32,
            not_selected: exist.saturating_sub(checks.len()) as u32,
            ..Self::default()
        };
        for check in checks {
            summary.add(check);
        }
        summary
    }

    /// Counts one more listed check.
    fn add(&mut self, check: &CheckReport) {
        match check.status {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Skip => self.skipped += 1,
            Status::Warn => self.warned += 1,
            Status::ExpectedFail => self.expected_fail += 1,
            Status::Stale => self.stale += 1,
        }
        match check.skip_kind {
            None => self.ran += 1,
            Some(SkipKind::NotRun) => self.not_run += 1,
            Some(SkipKind::NotApplicable) => self.not_applicable += 1,
            Some(SkipKind::NotSelected) => self.not_selected += 1,
        }
    }

    /// Adds another summary.
    pub fn merge(&mut self, other: Summary) {
        let Summary {
            passed,
            failed,
            skipped,
            warned,
            expected_fail,
            stale,
            exist,
            ran,
            not_run,
            not_applicable,
            not_selected,
        } = other;
        self.passed += passed;
        self.failed += failed;
        self.skipped += skipped;
        self.warned += warned;
        self.expected_fail += expected_fail;
        self.stale += stale;
        self.exist += exist;
        self.ran += ran;
        self.not_run += not_run;
        self.not_applicable += not_applicable;
        self.not_selected += not_selected;
    }

    /// Whether the run fails: a check failed, or a baseline entry is stale.
    pub fn fails(&self) -> bool {
        self.failed > 0 || self.stale > 0
    }
}

/// Why a listed check did not run to a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// It applies, but the suite could not run it here (no credential, the run's deadline, a
    /// prerequisite the server did not provide): nothing was verified.
    NotRun,
    /// It does not apply to this protocol or server: nothing to verify.
    NotApplicable,
    /// Opt-in (it waits for a documented timeout) and not opted into with `--include-slow`.
    NotSelected,
}

impl SkipKind {
    /// The lower-case name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipKind::NotRun => "not run",
            SkipKind::NotApplicable => "not applicable",
            SkipKind::NotSelected => "not selected",
        }
    }
}

/// How a check ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything the check looked at conforms.
    Pass,
    /// Not run; `skip_reason` says why.
    Skip,
    /// Something the documents leave open (or only suggest) was not done.
    Warn,
    /// A documented requirement was broken.
    Fail,
    /// It failed, and the baseline (`--baseline`) lists it as a known failure: the run does not
    /// fail for it.
    #[serde(rename = "expected-fail")]
    ExpectedFail,
    /// The baseline lists it as a known failure, but it did not fail: the run fails until the
    /// entry is removed, so the baseline only shrinks.
    Stale,
}

impl Status {
    /// The lower-case name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Warn => "warn",
            Status::ExpectedFail => "expected-fail",
            Status::Stale => "stale",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckReport {
    /// Stable, dotted id, e.g. `exchange.ping`.
    pub id: String,
    /// How the check ended.
    pub status: Status,
    /// What the check verifies, in one line.
    pub title: String,
    /// The sentence of the document the check rests on.
    pub requirement: Requirement,
    /// Why the check did not run to a verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Whether that means nothing was verified (`not_run`: with `--strict`, or past the run's
    /// deadline, the check fails), nothing applies, or it was not selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_kind: Option<SkipKind>,
    /// The reason of the baseline entry that lists the check (`expected-fail`, `stale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_reason: Option<String>,
    /// Wall time of the check, in milliseconds.
    pub duration_ms: u64,
    /// What happened: frames sent and received, violations, closes, timeouts, findings.
    pub evidence: Vec<Evidence>,
}

/// The sentence a check rests on, and how firmly the document states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Requirement {
    /// The sentence, quoted from the document.
    pub quote: String,
    /// `required`: breaking it fails the check; `open`: at most a warning.
    pub level: RuleLevel,
    /// The document the quote is from, relative to the protocol folder.
    pub document: String,
    /// How `protocol.json` reads the sentence, where the reading is not obvious.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
    /// JSON Pointer of the rule in `protocol.json`.
    pub source: String,
}

/// How firmly a document states a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleLevel {
    /// Stated as a requirement: breaking it is a failure.
    Required,
    /// Shown or suggested: breaking it is a warning.
    Open,
}

impl RuleLevel {
    /// The lower-case name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleLevel::Required => "required",
            RuleLevel::Open => "open",
        }
    }
}

impl From<Level> for RuleLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Required => RuleLevel::Required,
            Level::Open => RuleLevel::Open,
        }
    }
}

/// How bad a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record: explains what the check did.
    Info,
    /// Breaks something the documents leave open.
    Warn,
    /// Breaks a documented requirement.
    Fail,
}

impl From<RuleLevel> for Severity {
    fn from(level: RuleLevel) -> Self {
        match level {
            RuleLevel::Required => Severity::Fail,
            RuleLevel::Open => Severity::Warn,
        }
    }
}

impl From<Level> for Severity {
    fn from(level: Level) -> Self {
        Severity::from(RuleLevel::from(level))
    }
}

/// What the TLS handshake of a `wss://` connection settled on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsSession {
    /// The protocol version, e.g. `TLS 1.3`.
    pub version: String,
    /// The subject of the server's certificate (RFC 4514), when it parses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Whether the certificate was verified; false with `--insecure`.
    pub verified: bool,
}

/// Who sent a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FrameDirection {
    /// The suite sent it (a client frame).
    Sent,
    /// The server sent it.
    Received,
}

/// One thing that happened during a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A WebSocket handshake.
    Handshake {
        /// Which connection of the check (`A`, `B`, ...).
        connection: String,
        /// The URL, credentials redacted.
        url: String,
        /// The HTTP status of the answer, when there was one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Why the handshake failed, when it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The TLS session of a `wss://` connection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<TlsSession>,
    },
    /// A frame sent or received.
    Frame {
        /// Which connection of the check.
        connection: String,
        /// Sent by the suite or received from the server.
        direction: FrameDirection,
        /// The frame, when it is JSON (long strings shortened).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        json: Option<Value>,
        /// A summary of a text frame that is not JSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// The size of a binary frame, or of a text frame too large to show.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
        /// The message the frame is, by its discriminators.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A received frame that its direction's entry point rejects.
    Violation {
        /// Which connection of the check.
        connection: String,
        /// Fail when the message's rule is required (or the frame is no message), else warn.
        severity: Severity,
        /// The message the frame claims to be, if its discriminators name one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// JSON Pointer of the offending value in the frame.
        instance_pointer: String,
        /// The schema keyword that rejects it.
        keyword: String,
        /// Absolute URI (with JSON Pointer fragment) of the keyword in the schema.
        schema_location: String,
        /// The validator's message.
        error: String,
        /// The sentence of the document the frame breaks: its message's rule in `protocol.json`
        /// (whose level sets `severity`), or the rule of the exchange it answers where that names
        /// its shape more closely (a destroy reply, the destroy section). For a frame that selects
        /// no message, the sentence `unmatched` cites (an error in another shape: the error
        /// format); for a frame that is no JSON text (binary, or text that does not parse), the
        /// sentence the protocol's framing rests on. Absent when no rule quotes one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rests_on: Option<String>,
        /// The frame (long strings shortened).
        frame: Value,
    },
    /// The connection was closed.
    Close {
        /// Which connection of the check.
        connection: String,
        /// The close code, when a close frame was received.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
        /// The close reason, or how the connection ended without a close frame.
        reason: String,
    },
    /// A wait that ran out.
    Timeout {
        /// Which connection of the check.
        connection: String,
        /// How long the suite waited, in milliseconds.
        waited_ms: u64,
        /// What it waited for.
        waiting_for: String,
    },
    /// A conclusion of the check.
    Finding {
        /// How bad it is.
        severity: Severity,
        /// What was found.
        message: String,
        /// What the document led the suite to expect, where the finding compares.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected: Option<String>,
        /// What the server did instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        received: Option<String>,
        /// How long after the request the server did it (or the wait ended), in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        elapsed_ms: Option<u64>,
    },
}

impl Evidence {
    /// A conclusion without a comparison.
    pub fn finding(severity: Severity, message: impl Into<String>) -> Self {
        Evidence::Finding {
            severity,
            message: message.into(),
            expected: None,
            received: None,
            elapsed_ms: None,
        }
    }
}

#[cfg(test)]
impl CheckReport {
    /// A check for tests: it rests on a required sentence of `document.md`, with this evidence.
    pub(crate) fn sample(id: &str, status: Status, evidence: Vec<Evidence>) -> Self {
        Self {
            id: id.into(),
            status,
            title: format!("title of {id}"),
            requirement: Requirement {
                quote: "The server answers.".into(),
                level: RuleLevel::Required,
                document: "document.md".into(),
                reading: None,
                source: "/exchanges/0/rule".into(),
            },
            skip_reason: (status == Status::Skip).then(|| "no credential".into()),
            skip_kind: (status == Status::Skip).then_some(SkipKind::NotRun),
            baseline_reason: None,
            duration_ms: 1,
            evidence,
        }
    }
}

#[cfg(test)]
impl ProtocolReport {
    /// A report for tests: these checks of a protocol, every one the protocol has.
    pub(crate) fn sample(protocol: &str, checks: Vec<CheckReport>) -> Self {
        Self {
            protocol: protocol.into(),
            title: protocol.to_uppercase(),
            target: "ws://127.0.0.1:9/".into(),
            tool: Tool::default(),
            duration_ms: 1,
            started_at: None,
            summary: Summary::of(&checks, checks.len()),
            checks,
        }
    }
}

impl ReportDocument {
    /// The JSON Schema of the report, as checked in at `conformance/report.schema.json`.
    pub fn json_schema() -> Value {
        let mut value = schemars::schema_for!(ReportDocument).to_value();
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "$id".into(),
                Value::String("https://agentwire.dev/conformance/report.schema.json".into()),
            );
        }
        value
    }

    /// Whether the run fails: a check failed, or a baseline entry is stale.
    pub fn failed(&self) -> bool {
        match self {
            ReportDocument::Single(report) => report.summary.fails(),
            ReportDocument::Multiple(multi) => multi.summary.fails(),
        }
    }
}

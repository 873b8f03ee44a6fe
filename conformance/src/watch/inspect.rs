//! One frame of a watched connection, read once: its JSON and its verdict against its direction's
//! entry point (`client.schema.json` or `server.schema.json`), and the findings the verdict holds,
//! cited as `run` cites a received frame.

use agentwire_spec::protocol::Direction;
use serde_json::Value;

use crate::judge::trigger::Sent;
use crate::report::Severity;
use crate::target::REDACTED;
use crate::util::{shorten, summarize_text};
use crate::validate::{FrameValidator, ProtocolValidators, Verdict};
use crate::watch::Finding;

/// A data frame (text or binary) as the watch reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Inspected {
    /// A text frame holding JSON, and its verdict.
    Json {
        /// The frame.
        value: Value,
        /// Its verdict against its direction's entry point.
        verdict: Verdict,
    },
    /// A text frame that is not JSON: why, and a printable summary of it.
    NotJson {
        /// The parser's error.
        error: String,
        /// The text, clipped.
        shown: String,
    },
    /// A binary frame of this many bytes.
    Binary(usize),
}

impl Inspected {
    /// Reads a text frame sent by `from`.
    pub fn text(validators: &ProtocolValidators, from: Direction, text: &str) -> Self {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                let verdict = validators.of(from).validate(&value);
                Inspected::Json { value, verdict }
            }
            Err(error) => Inspected::NotJson {
                error: error.to_string(),
                shown: summarize_text(text),
            },
        }
    }

    /// Whether its direction's entry point accepts the frame (a frame that is no JSON text never
    /// is: every documented message is a JSON object).
    pub fn is_valid(&self) -> bool {
        matches!(self, Inspected::Json { verdict, .. } if verdict.is_valid())
    }

    /// The message its discriminators select.
    pub fn message(&self) -> Option<&str> {
        match self {
            Inspected::Json { verdict, .. } => verdict.message.as_deref(),
            _ => None,
        }
    }

    /// Replaces the credential at `pointer` with `<redacted>` in the frame kept for findings, and
    /// gives the frame's text so redacted, for the record; `None` when it holds no such value. The
    /// verdict stays the one of the frame as sent.
    pub fn redact(&mut self, pointer: &str) -> Option<String> {
        let Inspected::Json { value, .. } = self else {
            return None;
        };
        let slot = value.pointer_mut(pointer)?;
        *slot = Value::String(REDACTED.into());
        Some(value.to_string())
    }

    /// The frame as bad-input triggers read it.
    pub fn as_sent(&self) -> Sent<'_> {
        match self {
            Inspected::Json { value, verdict } => Sent::Json(value, verdict),
            Inspected::NotJson { .. } => Sent::NotJson,
            Inspected::Binary(_) => Sent::Binary,
        }
    }

    /// What the verdict found, each citing the sentence it rests on: a schema error per
    /// finding, at the level of the message's rule (or of `unmatched`); a frame that is no JSON
    /// text fails, citing the sentence the framing rests on; undecodable base64 and loose values
    /// warn.
    pub fn findings(&self, validator: &FrameValidator, mut base: Finding) -> Vec<Finding> {
        let (value, verdict) = match self {
            Inspected::Json { value, verdict } => (value, verdict),
            Inspected::NotJson { error, shown } => {
                base.finding = format!("a text frame that is not JSON ({error})");
                return vec![no_message(validator, base, Value::String(shown.clone()))];
            }
            Inspected::Binary(bytes) => {
                base.finding =
                    "a binary frame: every message the protocol documents is a JSON text frame"
                        .into();
                let shown = Value::String(format!("<binary frame of {bytes} bytes>"));
                return vec![no_message(validator, base, shown)];
            }
        };
        if verdict.errors.is_empty() && verdict.undecodable.is_empty() && verdict.drift.is_empty() {
            return Vec::new();
        }
        base.message = verdict.message.as_deref().map(str::to_string);
        base.rule = Some(match &verdict.message {
            Some(message) => format!("/messages/{message}/rule"),
            None => "/unmatched".into(),
        })
        .filter(|_| verdict.quote.is_some());
        base.rests_on = verdict.quote.as_deref().map(str::to_string);
        base.frame = Some(shorten(value));
        let mut out = Vec::new();
        for error in &verdict.errors {
            out.push(Finding {
                severity: Severity::from(verdict.level),
                finding: error.message.clone(),
                pointer: Some(error.instance_pointer.clone()),
                keyword: Some(error.keyword.clone()),
                schema_location: Some(error.schema_location.clone()),
                ..base.clone()
            });
        }
        for pointer in &verdict.undecodable {
            out.push(Finding {
                severity: Severity::Warn,
                finding: format!(
                    "{pointer} is annotated `contentEncoding: base64` but does not decode as base64"
                ),
                pointer: Some(pointer.clone()),
                ..base.clone()
            });
        }
        for drift in &verdict.drift {
            out.push(Finding {
                severity: Severity::Warn,
                finding: drift.description.clone(),
                pointer: Some(drift.pointer.clone()),
                ..base.clone()
            });
        }
        out
    }
}

/// A frame that is no JSON text: it fails (it is no message at all), citing the sentence the
/// protocol's framing rests on, or saying that no rule quotes one.
fn no_message(validator: &FrameValidator, mut base: Finding, shown: Value) -> Finding {
    match validator.framing() {
        Some(quote) => {
            base.rests_on = Some(quote.to_string());
            base.rule = Some("/framing".into());
        }
        None => {
            base.finding.push_str(
                "; no rule of the protocol's description quotes a sentence saying its frames are \
                 JSON (every message it documents is a JSON object)",
            );
        }
    }
    Finding {
        severity: Severity::Fail,
        pointer: Some(String::new()),
        keyword: Some("type".into()),
        schema_location: Some(validator.union().uri.clone()),
        frame: Some(shown),
        ..base
    }
}

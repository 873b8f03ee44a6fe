//! Known failures a team accepts for now (`--baseline FILE`), so that one deviation the
//! maintainers decided to keep does not turn the whole gate off.
//!
//! A listed check that fails is reported as `expected-fail` and does not fail the run; a listed
//! check that no longer fails is `stale` and fails the run until its entry is removed, so the
//! list only shrinks. A listed check that was not run here (skipped) is left as it is. Entries
//! name a check id, optionally a protocol (without one, the entry holds for every protocol that
//! has the check), and a reason; a malformed entry, an unknown check or protocol and a duplicate
//! are usage errors naming the entry. `--write-baseline FILE` writes the run's failures, keeping
//! the reasons of entries that still fail and the entries the run did not judge.
//!
//! The file is JSON, or TOML when its name ends in `.toml`:
//!
//! ```toml
//! [[expected_failures]]
//! check = "reaction.malformed_json"
//! protocol = "rixa"
//! reason = "errors have another shape; kept until the 2.0 release"
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::plan;
use crate::report::{Evidence, ProtocolReport, Severity, Status};
use crate::schemas::Schemas;

/// Largest baseline file read.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// One known failure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// The protocol, when the entry holds for one only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The check id.
    pub check: String,
    /// Why the failure is accepted for now.
    pub reason: String,
}

impl Entry {
    fn matches(&self, protocol: &str, check: &str) -> bool {
        self.check == check && self.protocol.as_deref().is_none_or(|p| p == protocol)
    }

    fn describe(&self) -> String {
        match &self.protocol {
            Some(protocol) => format!("{protocol} {}", self.check),
            None => self.check.clone(),
        }
    }
}

/// The file as written.
#[derive(Debug, Serialize)]
struct File<'a> {
    expected_failures: &'a [Entry],
}

/// A baseline: the known failures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The entries, in the file's order.
    pub entries: Vec<Entry>,
}

/// Whether a path names a TOML file.
fn is_toml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

impl Baseline {
    /// Reads and checks a baseline file against the protocols `schemas` knows.
    pub fn read(path: &Path, schemas: &Schemas) -> Result<Self> {
        let shown = path.display();
        let metadata =
            std::fs::metadata(path).map_err(|e| anyhow!("--baseline {shown}: cannot read: {e}"))?;
        if metadata.len() > MAX_FILE_BYTES {
            bail!("--baseline {shown}: over {} MiB", MAX_FILE_BYTES >> 20);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("--baseline {shown}: cannot read: {e}"))?;
        let value: Value = if is_toml(path) {
            toml::from_str(&text).map_err(|e| anyhow!("--baseline {shown}: not TOML: {e}"))?
        } else {
            serde_json::from_str(&text).map_err(|e| anyhow!("--baseline {shown}: not JSON: {e}"))?
        };
        Self::from_value(&value, schemas).map_err(|e| anyhow!("--baseline {shown}: {e}"))
    }

    /// Checks a parsed baseline: every problem of every entry, named.
    pub fn from_value(value: &Value, schemas: &Schemas) -> Result<Self> {
        let object = value
            .as_object()
            .ok_or_else(|| anyhow!("not an object with `expected_failures`"))?;
        if let Some(key) = object.keys().find(|k| *k != "expected_failures") {
            bail!("unknown key `{key}` (the file holds `expected_failures` only)");
        }
        let list = match object.get("expected_failures") {
            None => return Ok(Self::default()),
            Some(Value::Array(list)) => list,
            Some(_) => bail!("`expected_failures` is not a list"),
        };
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for (index, item) in list.iter().enumerate() {
            let name = item
                .get("check")
                .and_then(Value::as_str)
                .map_or(String::new(), |c| format!(" ({c})"));
            match entry(item, schemas) {
                Ok(entry) if !seen.insert((entry.protocol.clone(), entry.check.clone())) => {
                    problems.push(format!("entry {}{name}: listed twice", index + 1));
                }
                Ok(entry) => entries.push(entry),
                Err(why) => problems.push(format!("entry {}{name}: {why}", index + 1)),
            }
        }
        if !problems.is_empty() {
            bail!("malformed: {}", problems.join("; "));
        }
        Ok(Self { entries })
    }

    /// The entry that lists a check of a protocol, if any.
    pub fn entry(&self, protocol: &str, check: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.matches(protocol, check))
    }

    /// Marks the known failures of a report `expected-fail` and the listed checks that did not
    /// fail `stale`, then counts again.
    pub fn apply(&self, report: &mut ProtocolReport) {
        for check in &mut report.checks {
            let Some(entry) = self.entry(&report.protocol, &check.id) else {
                continue;
            };
            match check.status {
                Status::Fail => check.status = Status::ExpectedFail,
                Status::Pass | Status::Warn => {
                    check.status = Status::Stale;
                    check.evidence.push(Evidence::finding(
                        Severity::Fail,
                        format!(
                            "stale baseline entry: the baseline lists this check as a known \
                             failure, but it did not fail here; remove the entry ({})",
                            entry.describe()
                        ),
                    ));
                }
                Status::Skip | Status::ExpectedFail | Status::Stale => continue,
            }
            check.baseline_reason = Some(entry.reason.clone());
        }
        report.recount();
    }

    /// The baseline of a run's failures: an entry per failed (or expected-fail) check, with the
    /// reason of the entry it had, else what failed; entries of this baseline the run did not
    /// judge (another protocol, a check not selected or skipped) are kept, stale ones dropped.
    pub fn of_failures(&self, reports: &[ProtocolReport]) -> Self {
        let mut entries = Vec::new();
        let judged = |entry: &Entry| {
            reports.iter().any(|report| {
                report.checks.iter().any(|check| {
                    entry.matches(&report.protocol, &check.id) && check.status != Status::Skip
                })
            })
        };
        for entry in &self.entries {
            if !judged(entry) {
                entries.push(entry.clone());
            }
        }
        for report in reports {
            for check in &report.checks {
                if !matches!(check.status, Status::Fail | Status::ExpectedFail) {
                    continue;
                }
                match self.entry(&report.protocol, &check.id) {
                    // A still-failing entry for every protocol is kept once, as it was.
                    Some(kept) if kept.protocol.is_none() => {
                        if !entries.contains(kept) {
                            entries.push(kept.clone());
                        }
                    }
                    kept => entries.push(Entry {
                        protocol: Some(report.protocol.clone()),
                        check: check.id.clone(),
                        reason: kept.map_or_else(
                            || crate::output::human::detail(check),
                            |e| e.reason.clone(),
                        ),
                    }),
                }
            }
        }
        Self { entries }
    }

    /// The file's text: TOML when the path ends in `.toml`, else JSON.
    pub fn to_text(&self, path: &Path) -> Result<String> {
        let file = File {
            expected_failures: &self.entries,
        };
        Ok(if is_toml(path) {
            toml::to_string_pretty(&file)?
        } else {
            serde_json::to_string_pretty(&file)? + "\n"
        })
    }
}

/// One entry, checked: known keys, a check of the named protocol (or of some protocol), a reason.
fn entry(item: &Value, schemas: &Schemas) -> std::result::Result<Entry, String> {
    let object = item.as_object().ok_or("not an object")?;
    if let Some(key) = object
        .keys()
        .find(|k| !["check", "protocol", "reason"].contains(&k.as_str()))
    {
        return Err(format!(
            "unknown key `{key}` (an entry has check, protocol, reason)"
        ));
    }
    let text = |key: &str| match object.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` is not a non-empty string")),
    };
    let check = text("check")?.ok_or("`check` is missing")?;
    let reason = text("reason")?.ok_or("`reason` is missing: say why the failure is accepted")?;
    let protocol = text("protocol")?;
    let has_check = |id: &str| {
        schemas
            .protocol(id)
            .is_some_and(|p| plan(p).iter().any(|c| c.id == check))
    };
    match &protocol {
        Some(id) if schemas.protocol(id).is_none() => {
            return Err(format!(
                "no protocol {id:?}; known: {}",
                schemas.ids().join(", ")
            ));
        }
        Some(id) if !has_check(id) => {
            return Err(format!(
                "{id} has no check {check:?}; see `conformance list --protocol {id}`"
            ));
        }
        None if !schemas.ids().into_iter().any(has_check) => {
            return Err(format!(
                "no protocol has a check {check:?}; see `conformance list`"
            ));
        }
        _ => {}
    }
    Ok(Entry {
        protocol,
        check,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CheckReport;
    use serde_json::json;

    fn schemas() -> Schemas {
        Schemas::embedded().unwrap()
    }

    fn report(protocol: &str, checks: &[(&str, Status)]) -> ProtocolReport {
        let checks = checks
            .iter()
            .map(|(id, status)| {
                let broke = Evidence::finding(Severity::Fail, format!("{id} broke"));
                CheckReport::sample(id, *status, vec![broke])
            })
            .collect();
        ProtocolReport::sample(protocol, checks)
    }

    #[test]
    fn malformed_entries_are_named() {
        let schemas = schemas();
        let cases = [
            (json!([]), "not an object"),
            (json!({"expected_failures": {}}), "is not a list"),
            (json!({"ignored": []}), "unknown key `ignored`"),
            (
                json!({"expected_failures": [{"check": "handshake.connect"}]}),
                "entry 1 (handshake.connect): `reason` is missing",
            ),
            (
                json!({"expected_failures": [{"reason": "r"}]}),
                "entry 1: `check` is missing",
            ),
            (
                json!({"expected_failures": [{"check": "nope", "reason": "r"}]}),
                "entry 1 (nope): no protocol has a check \"nope\"",
            ),
            (
                json!({"expected_failures": [{"check": "handshake.connect", "protocol": "x", "reason": "r"}]}),
                "no protocol \"x\"",
            ),
            (
                json!({"expected_failures": [{"check": "session.lifecycle", "protocol": "rixa", "reason": "r"}]}),
                "rixa has no check \"session.lifecycle\"",
            ),
            (
                json!({"expected_failures": [
                    {"check": "handshake.connect", "reason": "r"},
                    {"check": "handshake.connect", "reason": "again"}
                ]}),
                "entry 2 (handshake.connect): listed twice",
            ),
            (
                json!({"expected_failures": [{"check": "handshake.connect", "reason": " ", "why": 1}]}),
                "unknown key `why`",
            ),
        ];
        for (value, says) in cases {
            let error = Baseline::from_value(&value, &schemas)
                .unwrap_err()
                .to_string();
            assert!(error.contains(says), "{value}: {error}");
        }
    }

    #[test]
    fn listed_failures_are_expected_and_listed_passes_stale() {
        let baseline = Baseline::from_value(
            &json!({"expected_failures": [
                {"check": "exchange.ping", "protocol": "datagram", "reason": "known"},
                {"check": "handshake.connect", "reason": "everywhere"},
                {"check": "session.lifecycle", "protocol": "datagram", "reason": "unverified"},
            ]}),
            &schemas(),
        )
        .unwrap();
        let mut datagram = report(
            "datagram",
            &[
                ("exchange.ping", Status::Fail),
                ("handshake.connect", Status::Pass),
                ("session.lifecycle", Status::Skip),
                ("exchange.chat_request", Status::Fail),
            ],
        );
        baseline.apply(&mut datagram);
        let statuses: Vec<Status> = datagram.checks.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [
                Status::ExpectedFail,
                Status::Stale,
                Status::Skip,
                Status::Fail
            ]
        );
        assert_eq!(datagram.checks[0].baseline_reason.as_deref(), Some("known"));
        assert!(
            datagram.checks[1].evidence.iter().any(
                |e| matches!(e, Evidence::Finding { message, .. } if message.contains("stale"))
            )
        );
        let s = datagram.summary;
        assert_eq!((s.expected_fail, s.stale, s.failed), (1, 1, 1));
        assert!(s.fails());
        // Another protocol: only the entry without a protocol applies.
        let mut rixa = report("rixa", &[("exchange.ping", Status::Fail)]);
        baseline.apply(&mut rixa);
        assert_eq!(rixa.checks[0].status, Status::Fail);
    }

    #[test]
    fn the_written_baseline_keeps_reasons_and_what_was_not_judged() {
        let old = Baseline::from_value(
            &json!({"expected_failures": [
                {"check": "exchange.ping", "protocol": "datagram", "reason": "known"},
                {"check": "handshake.connect", "protocol": "datagram", "reason": "fixed now"},
                {"check": "handshake.connect", "protocol": "rixa", "reason": "other protocol"},
            ]}),
            &schemas(),
        )
        .unwrap();
        let mut datagram = report(
            "datagram",
            &[
                ("exchange.ping", Status::Fail),
                ("handshake.connect", Status::Pass),
                ("exchange.chat_request", Status::Fail),
            ],
        );
        old.apply(&mut datagram);
        let new = old.of_failures(&[datagram]);
        let described: Vec<(String, String)> = new
            .entries
            .iter()
            .map(|e| (e.describe(), e.reason.clone()))
            .collect();
        assert_eq!(
            described,
            [
                ("rixa handshake.connect".into(), "other protocol".into()),
                ("datagram exchange.ping".into(), "known".into()),
                (
                    "datagram exchange.chat_request".into(),
                    "exchange.chat_request broke".into()
                ),
            ]
        );
        for name in ["b.json", "b.toml"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            std::fs::write(&path, new.to_text(&path).unwrap()).unwrap();
            assert_eq!(Baseline::read(&path, &schemas()).unwrap(), new, "{name}");
        }
    }
}

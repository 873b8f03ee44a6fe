//! JUnit XML: one testsuite per protocol (with its time and start timestamp), one testcase per
//! check (with its time). A failed check is a failure, a skipped one is skipped; a warning passes,
//! its findings in `system-out` (which CI viewers show) and in the testcase's `status` and
//! `warning` properties.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::output::human::detail;
use crate::report::{ProtocolReport, Status};

/// The JUnit XML of these reports.
pub fn junit(reports: &[ProtocolReport]) -> String {
    let mut report = Report::new("agentwire-conformance");
    for protocol in reports {
        let mut suite = TestSuite::new(protocol.protocol.as_str());
        suite.set_time(Duration::from_millis(protocol.duration_ms));
        if let Some(started) = protocol.started_at {
            suite.set_timestamp(chrono::DateTime::<chrono::Utc>::from(started));
        }
        for check in &protocol.checks {
            let status = match check.status {
                Status::Pass | Status::Warn => TestCaseStatus::success(),
                Status::Skip => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(detail(check));
                    status
                }
                // A known failure the baseline accepts: skipped, as JUnit has no expected failure.
                Status::ExpectedFail => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(format!(
                        "expected failure ({}): {}",
                        check
                            .baseline_reason
                            .as_deref()
                            .unwrap_or("in the baseline"),
                        detail(check)
                    ));
                    status
                }
                Status::Stale => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(detail(check));
                    status.set_type("stale-baseline");
                    status
                }
                Status::Fail => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(detail(check));
                    status.set_type("conformance");
                    status.set_description(format!(
                        "{}\nrests on: \"{}\" ({})",
                        serde_json::to_string_pretty(&check.evidence).unwrap_or_default(),
                        check.requirement.quote,
                        check.requirement.document
                    ));
                    status
                }
            };
            let mut case = TestCase::new(check.id.as_str(), status);
            case.set_classname(protocol.protocol.as_str());
            case.set_time(Duration::from_millis(check.duration_ms));
            if check.status == Status::Warn {
                let warning = detail(check);
                case.add_property(Property::new("status", "warn"));
                case.add_property(Property::new("warning", warning.as_str()));
                case.set_system_out(format!(
                    "warning: {warning}\nrests on: \"{}\" ({}, {})",
                    check.requirement.quote,
                    check.requirement.document,
                    check.requirement.level.as_str()
                ));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- could not write JUnit XML: {e} -->\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CheckReport, Evidence, Severity};

    fn report(message: &str, status: Status) -> ProtocolReport {
        let finding = Evidence::finding(Severity::Fail, message);
        let check = CheckReport::sample("exchange.ping", status, vec![finding]);
        ProtocolReport::sample("p", vec![check])
    }

    #[test]
    fn server_text_with_control_characters_stays_well_formed() {
        let xml = junit(&[report("closed (reason \u{1}\u{0}]]> <&\")", Status::Fail)]);
        assert!(!xml.contains('\u{1}') && !xml.contains('\u{0}'), "{xml}");
    }
}

#[cfg(test)]
mod xml_tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, SystemTime};

    use quick_xml::events::Event;

    use super::junit;
    use crate::report::{
        CheckReport, Evidence, ProtocolReport, Requirement, RuleLevel, Severity, Status, Summary,
        Tool,
    };

    /// An element of the XML: its name, its attributes and the text directly inside it.
    #[derive(Debug)]
    struct Element {
        name: String,
        attrs: BTreeMap<String, String>,
        text: String,
    }

    /// Every element of the XML, in document order.
    fn elements(xml: &str) -> Vec<Element> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut out: Vec<Element> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        loop {
            let event = reader.read_event().expect("well-formed XML");
            match &event {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) => {
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.expect("an attribute");
                            (
                                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                    .expect("a value")
                                    .into_owned(),
                            )
                        })
                        .collect();
                    out.push(Element {
                        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                        attrs,
                        text: String::new(),
                    });
                    if matches!(event, Event::Start(_)) {
                        open.push(out.len() - 1);
                    }
                }
                Event::End(_) => {
                    open.pop();
                }
                Event::Text(t) => {
                    if let Some(&i) = open.last() {
                        out[i].text.push_str(&t.decode().expect("text"));
                    }
                }
                Event::CData(t) => {
                    if let Some(&i) = open.last() {
                        out[i].text.push_str(&String::from_utf8_lossy(t));
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn check(id: &str, status: Status, ms: u64, message: &str) -> CheckReport {
        CheckReport {
            id: id.into(),
            status,
            title: "t".into(),
            requirement: Requirement {
                quote: "the quoted sentence".into(),
                level: RuleLevel::Open,
                document: "document.md".into(),
                reading: None,
                source: "/exchanges/0/rule".into(),
            },
            skip_reason: None,
            skip_kind: None,
            baseline_reason: None,
            duration_ms: ms,
            evidence: vec![Evidence::finding(Severity::Warn, message)],
        }
    }

    #[test]
    fn suites_and_cases_carry_their_time_and_warnings_show() {
        let checks = vec![
            check("exchange.ping", Status::Pass, 250, "fine"),
            check(
                "exchange.chat",
                Status::Warn,
                1500,
                "no timestamp in the reply",
            ),
        ];
        let report = ProtocolReport {
            protocol: "p".into(),
            title: "P".into(),
            target: "ws://h/".into(),
            tool: Tool::default(),
            duration_ms: 2345,
            started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            summary: Summary::of(&checks, checks.len()),
            checks,
        };
        let xml = junit(&[report]);
        let all = elements(&xml);
        let suite = all.iter().find(|e| e.name == "testsuite").expect("a suite");
        assert_eq!(
            suite.attrs.get("time").map(String::as_str),
            Some("2.345"),
            "{xml}"
        );
        assert!(
            suite.attrs["timestamp"].starts_with("2023-11-14T22:13:20"),
            "{xml}"
        );
        let cases: Vec<&Element> = all.iter().filter(|e| e.name == "testcase").collect();
        assert_eq!(cases.len(), 2, "{xml}");
        assert_eq!(cases[0].attrs["time"], "0.250", "{xml}");
        assert_eq!(cases[1].attrs["time"], "1.500", "{xml}");
        // The warning passes (no failure, error or skipped element) but shows.
        assert!(
            !all.iter()
                .any(|e| ["failure", "error", "skipped"].contains(&e.name.as_str())),
            "{xml}"
        );
        let out = all
            .iter()
            .find(|e| e.name == "system-out")
            .expect("system-out");
        assert!(out.text.contains("warning: "), "{xml}");
        assert!(out.text.contains("no timestamp in the reply"), "{xml}");
        assert!(out.text.contains("the quoted sentence"), "{xml}");
        let property = |name: &str| {
            all.iter()
                .find(|e| e.name == "property" && e.attrs["name"] == name)
                .map(|e| e.attrs["value"].clone())
        };
        assert_eq!(property("status").as_deref(), Some("warn"), "{xml}");
        assert!(
            property("warning").is_some_and(|w| w.contains("no timestamp in the reply")),
            "{xml}"
        );
    }
}

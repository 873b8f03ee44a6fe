//! JUnit XML: one testsuite per protocol, one testcase per check. A failed check is a failure, a
//! skipped one is skipped, a warning passes with its findings in `system-out`.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::output::human::detail;
use crate::report::{ProtocolReport, Status};

/// The JUnit XML of these reports.
pub fn junit(reports: &[ProtocolReport]) -> String {
    let mut report = Report::new("agentwire-conformance");
    for protocol in reports {
        let mut suite = TestSuite::new(protocol.protocol.as_str());
        for check in &protocol.checks {
            let status = match check.status {
                Status::Pass | Status::Warn => TestCaseStatus::success(),
                Status::Skip => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(detail(check));
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
            case.set_time(std::time::Duration::from_millis(check.duration_ms));
            if check.status == Status::Warn {
                case.set_system_out(format!("warning: {}", detail(check)));
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
    use crate::report::{CheckReport, Evidence, Requirement, RuleLevel, Severity, Summary, Tool};

    fn report(message: &str, status: Status) -> ProtocolReport {
        let check = CheckReport {
            id: "exchange.ping".into(),
            status,
            title: "t".into(),
            requirement: Requirement {
                quote: "q".into(),
                level: RuleLevel::Required,
                document: "document.md".into(),
                reading: None,
                source: "/exchanges/0/rule".into(),
            },
            skip_reason: None,
            duration_ms: 1,
            evidence: vec![Evidence::Finding {
                severity: Severity::Fail,
                message: message.into(),
            }],
        };
        ProtocolReport {
            protocol: "p".into(),
            title: "P".into(),
            target: "ws://h/".into(),
            tool: Tool::default(),
            duration_ms: 1,
            summary: Summary::of(std::slice::from_ref(&check)),
            checks: vec![check],
        }
    }

    #[test]
    fn server_text_with_control_characters_stays_well_formed() {
        let xml = junit(&[report("closed (reason \u{1}\u{0}]]> <&\")", Status::Fail)]);
        assert!(!xml.contains('\u{1}') && !xml.contains('\u{0}'), "{xml}");
    }
}

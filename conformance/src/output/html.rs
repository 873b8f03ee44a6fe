//! The HTML report (`--format html`): one self-contained page (inline style, no script, nothing
//! fetched: its Content-Security-Policy forbids it), a summary, and per check its status, the
//! sentence it rests on and a timeline of what happened (handshakes, frames sent and received,
//! violations, closes, waits, findings), failures first.
//!
//! Everything a server sent is hostile input: every text is escaped, and frames are shown as
//! text, never as markup.

use std::fmt::Write as _;

use crate::output::human::detail;
use crate::output::rests_on;
use crate::report::{CheckReport, Evidence, FrameDirection, ProtocolReport, Severity, Status};

const STYLE: &str = "
:root { color-scheme: light; font-family: system-ui, sans-serif; font-size: 15px; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem 3rem; color: #1d2125; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table.summary { border-collapse: collapse; margin: .5rem 0 1rem; }
table.summary th, table.summary td { border: 1px solid #cfd4d9; padding: .25rem .6rem; text-align: left; }
details.check { border: 1px solid #cfd4d9; border-left-width: .4rem; border-radius: 4px; margin: .4rem 0; }
details.check > summary { cursor: pointer; padding: .4rem .6rem; list-style-position: inside; }
details.check > div { padding: .2rem 1rem .8rem; }
.fail, .stale { border-left-color: #c62828 !important; } .warn { border-left-color: #e6a100 !important; }
.expected-fail { border-left-color: #8e24aa !important; } .skip { border-left-color: #90a4ae !important; }
.pass { border-left-color: #2e7d32 !important; }
.badge { display: inline-block; min-width: 7.5rem; font-weight: 600; font-size: .8rem; }
.badge.fail, .badge.stale { color: #c62828; } .badge.warn { color: #9a6b00; }
.badge.expected-fail { color: #8e24aa; } .badge.skip { color: #546e7a; } .badge.pass { color: #2e7d32; }
blockquote { margin: .4rem 0; padding: .3rem .8rem; border-left: 3px solid #90a4ae; background: #f5f7f8; }
ol.timeline { padding-left: 1.4rem; } ol.timeline li { margin: .25rem 0; }
pre { margin: .2rem 0; padding: .4rem; background: #f5f7f8; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.sent { color: #1565c0; } .received { color: #2e7d32; } .problem { color: #c62828; } .note { color: #546e7a; }
code { font-size: .9em; }
";

/// Statuses in the order the page shows them: what needs attention first.
const ORDER: [Status; 6] = [
    Status::Fail,
    Status::Stale,
    Status::Warn,
    Status::ExpectedFail,
    Status::Skip,
    Status::Pass,
];

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and line breaks have no business in a page.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The page of these reports.
pub fn html(reports: &[ProtocolReport]) -> String {
    let protocols: Vec<&str> = reports.iter().map(|r| r.protocol.as_str()).collect();
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Conformance report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Conformance report: {}</h1>\n",
        escape(&protocols.join(", ")),
        escape(&protocols.join(", "))
    );
    if let Some(first) = reports.first() {
        let _ = writeln!(
            page,
            "<p class=\"note\">{} {}</p>",
            escape(&first.tool.name),
            escape(&first.tool.version)
        );
    }
    page.push_str(&summary_table(reports));
    for report in reports {
        page.push_str(&protocol_section(report));
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn summary_table(reports: &[ProtocolReport]) -> String {
    let mut out = String::from(
        "<table class=\"summary\" id=\"summary\">\n<tr><th>protocol</th><th>target</th>\
         <th>ran</th><th>failed</th><th>stale</th><th>warned</th><th>expected-fail</th>\
         <th>passed</th><th>not run</th><th>not applicable</th><th>not selected</th></tr>\n",
    );
    for r in reports {
        let s = r.summary;
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#p-{id}\">{protocol}</a></td><td><code>{target}</code></td>\
             <td>{} of {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            s.ran,
            s.exist,
            s.failed,
            s.stale,
            s.warned,
            s.expected_fail,
            s.passed,
            s.not_run,
            s.not_applicable,
            s.not_selected,
            id = anchor(&r.protocol),
            protocol = escape(&r.protocol),
            target = escape(&r.target),
        );
    }
    out.push_str("</table>\n");
    out
}

/// An id attribute made of the characters ids are safe with.
fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn protocol_section(report: &ProtocolReport) -> String {
    let mut out = String::new();
    let s = report.summary;
    let _ = writeln!(
        out,
        "<section id=\"p-{}\">\n<h2>{} ({}) at <code>{}</code></h2>\n\
         <p>{} passed, {} failed, {} warned, {} expected-fail, {} stale; ran {} of {} checks \
         ({} not run, {} not applicable, {} not selected) in {} ms</p>",
        anchor(&report.protocol),
        escape(&report.protocol),
        escape(&report.title),
        escape(&report.target),
        s.passed,
        s.failed,
        s.warned,
        s.expected_fail,
        s.stale,
        s.ran,
        s.exist,
        s.not_run,
        s.not_applicable,
        s.not_selected,
        report.duration_ms
    );
    for status in ORDER {
        for check in report.checks.iter().filter(|c| c.status == status) {
            out.push_str(&check_block(report, check));
        }
    }
    out.push_str("</section>\n");
    out
}

fn check_block(report: &ProtocolReport, check: &CheckReport) -> String {
    let status = check.status.as_str();
    let open = if matches!(check.status, Status::Fail | Status::Stale) {
        " open"
    } else {
        ""
    };
    let mut out = format!(
        "<details class=\"check {status}\" id=\"check-{}-{}\" data-check=\"{}\" \
         data-status=\"{status}\"{open}>\n<summary><span class=\"badge {status}\">{}</span> \
         <code>{}</code> {}</summary>\n<div>\n<p>{}</p>\n",
        anchor(&report.protocol),
        anchor(&check.id),
        escape(&check.id),
        status.to_uppercase(),
        escape(&check.id),
        escape(&detail(check)),
        escape(&check.title)
    );
    let r = &check.requirement;
    let _ = writeln!(
        out,
        "<blockquote>\u{201c}{}\u{201d} <span class=\"note\">({}, {})</span>{}</blockquote>",
        escape(&r.quote),
        escape(&r.document),
        r.level.as_str(),
        r.reading
            .as_deref()
            .map(|reading| format!(
                "<br><span class=\"note\">Reading: {}</span>",
                escape(reading)
            ))
            .unwrap_or_default()
    );
    let (quote, _) = rests_on(check);
    if quote != r.quote {
        let _ = writeln!(out, "<p>The finding rests on: <q>{}</q></p>", escape(quote));
    }
    if let Some(reason) = &check.baseline_reason {
        let _ = writeln!(out, "<p>Baseline: {}</p>", escape(reason));
    }
    if let Some(reason) = &check.skip_reason {
        let kind = check.skip_kind.map_or("skipped", |k| k.as_str());
        let _ = writeln!(out, "<p class=\"note\">{kind}: {}</p>", escape(reason));
    }
    if !check.evidence.is_empty() {
        out.push_str("<ol class=\"timeline\">\n");
        for item in &check.evidence {
            let _ = writeln!(out, "<li>{}</li>", timeline_item(item));
        }
        out.push_str("</ol>\n");
    }
    out.push_str("</div>\n</details>\n");
    out
}

/// One line of the timeline.
fn timeline_item(item: &Evidence) -> String {
    match item {
        Evidence::Handshake {
            connection,
            url,
            status,
            error,
            tls,
        } => {
            let outcome = match (status, error) {
                (_, Some(error)) => format!("<span class=\"problem\">{}</span>", escape(error)),
                (Some(status), None) => format!("HTTP {status}"),
                (None, None) => String::new(),
            };
            let tls = tls
                .as_ref()
                .map(|t| {
                    format!(
                        " ({}{}{})",
                        escape(&t.version),
                        t.subject
                            .as_deref()
                            .map(|s| format!(", {}", escape(s)))
                            .unwrap_or_default(),
                        if t.verified { "" } else { ", not verified" }
                    )
                })
                .unwrap_or_default();
            format!(
                "<b>{}</b> handshake <code>{}</code>: {outcome}{tls}",
                escape(connection),
                escape(url)
            )
        }
        Evidence::Frame {
            connection,
            direction,
            json,
            text,
            bytes,
            message,
        } => {
            let (class, arrow, who) = match direction {
                FrameDirection::Sent => ("sent", "\u{2192}", "sent"),
                FrameDirection::Received => ("received", "\u{2190}", "received"),
            };
            let what = message
                .as_deref()
                .map(|m| format!(" <code>{}</code>", escape(m)))
                .unwrap_or_default();
            let body = match (json, text, bytes) {
                (Some(value), _, _) => format!(
                    "<pre>{}</pre>",
                    escape(&serde_json::to_string_pretty(value).unwrap_or_default())
                ),
                (None, Some(text), _) => format!("<pre>{}</pre>", escape(text)),
                (None, None, Some(bytes)) => format!(" a binary frame of {bytes} bytes"),
                (None, None, None) => String::new(),
            };
            format!(
                "<span class=\"{class}\">{arrow} <b>{}</b> {who}</span>{what}{body}",
                escape(connection)
            )
        }
        Evidence::Violation {
            connection,
            severity,
            message,
            instance_pointer,
            keyword,
            schema_location,
            error,
            rests_on,
            frame,
        } => format!(
            "<span class=\"{}\">\u{2717} <b>{}</b> schema violation ({})</span>: {} at \
             <code>{}</code> (<code>{}</code>, <code>{}</code>): {}{}<pre>{}</pre>",
            severity_class(*severity),
            escape(connection),
            severity_name(*severity),
            escape(
                message
                    .as_deref()
                    .unwrap_or("a frame of no documented message")
            ),
            escape(instance_pointer),
            escape(keyword),
            escape(schema_location),
            escape(error),
            rests_on
                .as_deref()
                .map(|q| format!(" &mdash; rests on <q>{}</q>", escape(q)))
                .unwrap_or_default(),
            escape(&serde_json::to_string_pretty(frame).unwrap_or_default())
        ),
        Evidence::Close {
            connection,
            code,
            reason,
        } => format!(
            "<b>{}</b> the connection {}",
            escape(connection),
            escape(&crate::judge::describe_close(*code, reason))
        ),
        Evidence::Timeout {
            connection,
            waited_ms,
            waiting_for,
        } => format!(
            "<span class=\"note\">\u{231b} <b>{}</b> waited {waited_ms} ms for {}</span>",
            escape(connection),
            escape(waiting_for)
        ),
        Evidence::Finding {
            severity,
            message,
            expected,
            received,
            elapsed_ms,
        } => {
            let mut out = format!(
                "<span class=\"{}\">{}: {}</span>",
                severity_class(*severity),
                severity_name(*severity),
                escape(message)
            );
            if let Some(expected) = expected {
                let _ = write!(out, "<br>expected: {}", escape(expected));
            }
            if let Some(received) = received {
                let _ = write!(out, "<br>received: {}", escape(received));
            }
            if let Some(ms) = elapsed_ms {
                let _ = write!(out, " <span class=\"note\">(after {ms} ms)</span>");
            }
            out
        }
    }
}

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "note",
        Severity::Warn | Severity::Fail => "problem",
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "note",
        Severity::Warn => "warning",
        Severity::Fail => "failure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HOSTILE: &str = "</pre><script>alert(1)</script><img src=x onerror=alert(2)>\"'&";

    fn report() -> ProtocolReport {
        let evidence = vec![
            Evidence::Frame {
                connection: "A".into(),
                direction: FrameDirection::Received,
                json: Some(json!({"content": HOSTILE})),
                text: None,
                bytes: None,
                message: Some(HOSTILE.into()),
            },
            Evidence::Close {
                connection: "A".into(),
                code: Some(1011),
                reason: HOSTILE.into(),
            },
            Evidence::finding(Severity::Fail, HOSTILE),
        ];
        let checks = vec![
            CheckReport::sample("exchange.pass", Status::Pass, evidence.clone()),
            CheckReport::sample("exchange.broken", Status::Fail, evidence),
        ];
        let mut report = ProtocolReport::sample("datagram", checks);
        report.target = format!("ws://h/{HOSTILE}");
        report.summary.exist = 3;
        report
    }

    #[test]
    fn nothing_the_server_sent_becomes_markup() {
        let page = html(&[report()]);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(escape("a\u{0}b\u{1b}"), "a\\u{0}b\\u{1b}");
    }

    #[test]
    fn failures_come_first_and_are_open() {
        let page = html(&[report()]);
        let broken = page.find("data-check=\"exchange.broken\"").unwrap();
        let passed = page.find("data-check=\"exchange.pass\"").unwrap();
        assert!(broken < passed, "failures first");
        assert!(page.contains("data-status=\"fail\" open>"));
        assert!(page.contains("default-src 'none'"), "nothing is fetched");
        assert!(page.contains("<td>2 of 3</td>"), "ran of exist");
    }
}

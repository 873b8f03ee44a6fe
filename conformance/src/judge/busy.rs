//! Two requests back to back, the second while the server is busy with the first: what the
//! document says becomes of the second (`while_busy`), against what was answered.

use agentwire_spec::protocol::{BusyOutcome, WhileBusy};

use crate::judge::Finding;
use crate::report::Severity;

/// What arrived for two requests sent back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyAnswers {
    /// Replies that serve a request (not error messages).
    pub served: usize,
    /// Error messages among the replies (a notice that a request was ignored is allowed).
    pub errors: usize,
}

/// The verdict at the rule's `level`: one finding, a failure of the rule or the information that
/// it held.
pub fn busy(rule: &WhileBusy, answers: BusyAnswers, level: Severity) -> Finding {
    let (first, second) = (&rule.busy_with, &rule.request);
    let notices = match answers.errors {
        0 => String::new(),
        n => format!(" ({n} error message(s) besides, which the document allows)"),
    };
    match (rule.outcome, answers.served) {
        (BusyOutcome::Ignored, 1) => Finding::new(
            Severity::Info,
            format!("one of `{first}` and `{second}` was answered, the other ignored{notices}"),
        ),
        (BusyOutcome::Ignored, 0) => Finding {
            severity: level,
            message: format!(
                "neither `{first}` nor the `{second}` sent while it was processed was answered{notices}"
            ),
            expected: Some(format!("an answer to `{first}`; `{second}` ignored")),
            received: Some(format!("{} error message(s), no answer", answers.errors)),
            elapsed: None,
        },
        (BusyOutcome::Ignored, served) => Finding {
            severity: level,
            message: format!(
                "the `{second}` sent while `{first}` was processed was served too: {served} answers to two requests{notices}"
            ),
            expected: Some(format!(
                "an answer to `{first}`; `{second}` ignored (an error message allowed)"
            )),
            received: Some(format!("{served} answers")),
            elapsed: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentwire_spec::protocol::{Level, Rule};

    #[test]
    fn one_answer_and_any_notices_hold_the_rule() {
        let rule = WhileBusy {
            busy_with: "usr_msg".into(),
            request: "usr_msg".into(),
            outcome: BusyOutcome::Ignored,
            rule: Rule {
                quote: "ignored".into(),
                level: Level::Open,
                document: None,
                reading: None,
            },
        };
        let cases = [
            (1, 0, Severity::Info),
            (1, 1, Severity::Info),
            (2, 0, Severity::Warn),
            (2, 1, Severity::Warn),
            (0, 1, Severity::Warn),
            (0, 0, Severity::Warn),
        ];
        for (served, errors, severity) in cases {
            let finding = busy(&rule, BusyAnswers { served, errors }, Severity::Warn);
            assert_eq!(finding.severity, severity, "{served} {errors}: {finding:?}");
        }
        let both = busy(
            &rule,
            BusyAnswers {
                served: 2,
                errors: 0,
            },
            Severity::Fail,
        );
        assert!(both.message.contains("served too"), "{}", both.message);
    }
}

//! What was due and did not come: answers past their budget, streams unfinished, reactions
//! missing; and a server's close cutting off what it was still to answer.

use super::*;

impl Follow {
    /// Judges what was due by `at`: each finding is dated when it was due.
    pub fn expire(&mut self, ctx: &Context, connection: u64, at: Duration) -> Vec<Finding> {
        let description = &ctx.description;
        let mut findings = Vec::new();
        while let Some(i) = self.pending.iter().position(|p| p.deadline <= at) {
            let pending = self.pending.remove(i).expect("in range");
            let due = pending.deadline;
            match &pending.awaiting {
                Awaiting::Request {
                    busy: Some(rule_index),
                    ..
                } => {
                    let rule = &description.while_busy[*rule_index];
                    let verdict = busy(
                        rule,
                        BusyAnswers {
                            served: 1,
                            errors: 0,
                        },
                        Severity::from(rule.rule.level),
                    );
                    findings.push(
                        judged(
                            connection,
                            due,
                            Direction::Server,
                            &pending.message,
                            verdict,
                        )
                        .citing(&rule.rule, format!("/while_busy/{rule_index}/rule")),
                    );
                }
                Awaiting::Request {
                    exchange, valid, ..
                } => {
                    let exchange_index = *exchange;
                    let exchange = &description.exchanges[exchange_index];
                    let budget = ctx.budget_of(exchange_index);
                    let answer = Answer {
                        reply: Reply::Nothing,
                        elapsed: budget,
                        budget,
                        sent: true,
                        near_misses: pending.near.clone(),
                        closed: None,
                    };
                    let level = Severity::from(exchange.rule.level);
                    for verdict in
                        judge::answer::exchange(description, exchange, &answer, level, *valid)
                    {
                        findings.push(
                            judged(
                                connection,
                                due,
                                Direction::Server,
                                &pending.message,
                                verdict,
                            )
                            .citing(&exchange.rule, format!("/exchanges/{exchange_index}/rule")),
                        );
                    }
                    if self.expired.len() >= MAX_EXPIRED {
                        self.expired.pop_front();
                    }
                    self.expired.push_back(pending);
                }
                Awaiting::Reaction { reaction } => {
                    let reaction_index = *reaction;
                    let reaction = &description.reactions[reaction_index];
                    let mut finding = Finding::new(
                        connection,
                        due,
                        Direction::Server,
                        Severity::from(reaction.rule.level),
                    )
                    .citing(&reaction.rule, format!("/reactions/{reaction_index}/rule"));
                    finding.finding = format!(
                        "no documented reaction to {} within {} ms",
                        pending.message,
                        due.saturating_sub(pending.sent).as_millis()
                    );
                    finding.expected = Some(documented_outcomes(&reaction.outcomes));
                    finding.received = Some(match pending.near.as_slice() {
                        [] => "nothing".into(),
                        near => near.join("; "),
                    });
                    findings.push(finding);
                }
            }
        }
        while let Some(k) = self.streams.iter().position(|s| s.deadline <= at) {
            let open = self.streams.remove(k);
            let exchange = &description.exchanges[open.exchange];
            let Some(stream) = stream_form(exchange, open.form) else {
                continue;
            };
            let budget = ctx.budget_of(open.exchange);
            for verdict in judge::answer::stream(
                stream,
                &open.start,
                &open.chunks,
                &StreamEnd::Unfinished,
                Severity::from(stream.rule.level),
                budget,
            ) {
                findings.push(
                    judged(
                        connection,
                        open.deadline,
                        Direction::Server,
                        &stream.end,
                        verdict,
                    )
                    .citing(
                        &stream.rule,
                        format!(
                            "/exchanges/{}/replies/{}/stream/rule",
                            open.exchange, open.form
                        ),
                    ),
                );
            }
        }
        findings
    }

    /// The server closed (or dropped) the connection at `at`: every request it was still to
    /// answer, and the one it answered just before, is closed in answer to; a reaction due may be
    /// the documented close.
    pub fn server_closed(
        &mut self,
        ctx: &Context,
        connection: u64,
        at: Duration,
        code: Option<u16>,
        reason: &str,
    ) -> Vec<Finding> {
        let description = &ctx.description;
        let closed = |since: Duration| Closed {
            code,
            reason: reason.to_string(),
            after: at.saturating_sub(since),
        };
        let cite_exchange = |finding: Finding, index: usize| {
            finding.citing(
                &description.exchanges[index].rule,
                format!("/exchanges/{index}/rule"),
            )
        };
        let mut findings = Vec::new();
        // Requests awaiting answers, one finding per kind of request: (exchange, first sent, how
        // many).
        let mut awaited: Vec<(usize, Duration, usize)> = Vec::new();
        for pending in &self.pending {
            match &pending.awaiting {
                Awaiting::Request {
                    exchange,
                    valid: true,
                    busy: None,
                    ..
                } => match awaited.iter_mut().find(|(e, _, _)| e == exchange) {
                    Some((_, _, count)) => *count += 1,
                    None => awaited.push((*exchange, pending.sent, 1)),
                },
                Awaiting::Request { .. } => {}
                Awaiting::Reaction { reaction } => {
                    let reaction_index = *reaction;
                    let reaction = &description.reactions[reaction_index];
                    let mut finding =
                        match close_outcome(&reaction.outcomes, code, reason, pending.near.clone())
                        {
                            OutcomeSeen::Matched(how) => {
                                let mut f =
                                    Finding::new(connection, at, Direction::Server, Severity::Info);
                                f.finding = format!(
                                    "the documented reaction to {}: {how}",
                                    pending.message
                                );
                                f
                            }
                            OutcomeSeen::Missing(why) => {
                                let mut f = Finding::new(
                                    connection,
                                    at,
                                    Direction::Server,
                                    Severity::from(reaction.rule.level),
                                );
                                f.finding = format!(
                                    "the server ended the connection instead of reacting to {} as \
                                 documented",
                                    pending.message
                                );
                                f.expected = Some(documented_outcomes(&reaction.outcomes));
                                f.received = Some(why.join("; "));
                                f
                            }
                        };
                    finding =
                        finding.citing(&reaction.rule, format!("/reactions/{reaction_index}/rule"));
                    findings.push(finding);
                }
            }
        }
        for (exchange, sent, count) in awaited {
            let request = &description.exchanges[exchange].request;
            let Some(verdict) = closed_in_answer(description, request, None, &closed(sent)) else {
                continue;
            };
            let mut finding = cite_exchange(
                judged(connection, at, Direction::Server, request, verdict),
                exchange,
            );
            if count > 1 {
                finding
                    .finding
                    .push_str(&format!(" ({count} of them awaited answers)"));
            }
            findings.push(unforeseen(description, code, finding));
        }
        for open in &self.streams {
            let exchange = &description.exchanges[open.exchange];
            let start = stream_form(exchange, open.form).map(|s| s.start.as_str());
            if open.valid
                && let Some(verdict) =
                    closed_in_answer(description, &exchange.request, start, &closed(open.sent))
            {
                findings.push(cite_exchange(
                    judged(
                        connection,
                        at,
                        Direction::Server,
                        &exchange.request,
                        verdict,
                    ),
                    open.exchange,
                ));
            }
        }
        if self.pending.is_empty()
            && self.streams.is_empty()
            && let Some(last) = &self.last_answer
            && at.saturating_sub(last.at) <= CLOSE_AFTER_ANSWER
            && !reaction_then_close(description, last, code)
            && let Some(index) = description
                .exchanges
                .iter()
                .position(|e| e.request == last.request)
            && let Some(verdict) = closed_in_answer(
                description,
                &last.request,
                Some(&last.reply),
                &closed(last.at),
            )
        {
            let finding = cite_exchange(
                judged(connection, at, Direction::Server, &last.request, verdict),
                index,
            );
            findings.push(unforeseen(description, code, finding));
        }
        findings
    }
}

/// Whether a close right after an error message completes a reaction the document gives: the
/// error is one of its reply outcomes, and closing (with this code) another (General Bots refuses
/// a credential with `AUTH_FAILED`, then closes).
fn reaction_then_close(
    description: &ProtocolDescription,
    last: &LastAnswer,
    code: Option<u16>,
) -> bool {
    let Some(error) = &last.error else {
        return false;
    };
    description.reactions.iter().any(|r| {
        matches!(reply_outcome(&r.outcomes, &last.reply, error), Some(Ok(_)))
            && r.outcomes.iter().any(|o| {
                matches!(o, Outcome::Close { codes }
                    if codes.is_empty() || code.is_some_and(|c| codes.contains(&c)))
            })
    })
}

/// A close in answer to requests is at most a warning where the document has the server close
/// that way in reaction to something the watch cannot see (a rate or connection limit, an idle
/// timeout, a credential refused): with a code that reaction lists, or one the document names.
fn unforeseen(
    description: &ProtocolDescription,
    code: Option<u16>,
    mut finding: Finding,
) -> Finding {
    let Some(code) = code else { return finding };
    let named = description.close_codes.iter().any(|c| c.code == code);
    let reactions: Vec<&str> = description
        .reactions
        .iter()
        .filter(|r| {
            matches!(
                r.trigger,
                Trigger::RateExceeded
                    | Trigger::TooManyConnections
                    | Trigger::Idle
                    | Trigger::AuthMissing
                    | Trigger::AuthInvalid
                    | Trigger::AuthExpired
            ) && r.outcomes.iter().any(|o| {
                matches!(o, Outcome::Close { codes } if codes.contains(&code) || (codes.is_empty() && named))
            })
        })
        .map(|r| trigger_id(r.trigger))
        .collect();
    if !reactions.is_empty() {
        finding.severity = finding.severity.min(Severity::Warn);
        finding.finding.push_str(&format!(
            "; the document has the server close this way in reaction to {}, which the proxy \
             cannot tell from here",
            reactions.join(" or ")
        ));
    }
    finding
}

//! A request answered: by its documented reply (judged as `run` judges it), without being served
//! (an error message, a documented refusal), late, or a reply that answers nothing; and what a
//! served request does to the connection's session.

use super::*;

impl Follow {
    /// A request (or its stream) answered by `seen`, in reply form `form`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn answered(
        &mut self,
        ctx: &Context,
        connection: u64,
        at: Duration,
        index: usize,
        form: usize,
        seen: Seen<'_>,
        is_error: bool,
    ) -> Vec<Finding> {
        let pending = self.pending.remove(index).expect("in range");
        let Awaiting::Request {
            exchange: exchange_index,
            valid,
            busy: busy_rule,
            sessionless,
            ..
        } = pending.awaiting
        else {
            unreachable!("only requests are answered");
        };
        let description = &ctx.description;
        let exchange = &description.exchanges[exchange_index];
        let message = seen.message.unwrap_or_default();
        if let Some(rule_index) = busy_rule {
            // Sent while the server was busy: ignored (a notice allowed), or served too.
            let rule = &description.while_busy[rule_index];
            let answers = if is_error {
                BusyAnswers {
                    served: 1,
                    errors: 1,
                }
            } else {
                BusyAnswers {
                    served: 2,
                    errors: 0,
                }
            };
            let verdict = busy(rule, answers, Severity::from(rule.rule.level));
            return vec![
                judged(connection, at, Direction::Server, message, verdict)
                    .citing(&rule.rule, format!("/while_busy/{rule_index}/rule")),
            ];
        }
        let elapsed = at.saturating_sub(pending.sent);
        if sessionless {
            // The client's fault, reported when it sent the request: whatever the answer is,
            // the document does not say.
            let mut note = Finding::new(connection, at, Direction::Server, Severity::Info);
            note.message = Some(message.to_string());
            note.finding = format!(
                "`{}`, sent without a session, was answered by `{message}` after {} ms (not \
                 judged: the document does not say how)",
                pending.message,
                elapsed.as_millis()
            );
            self.last_answer = Some(LastAnswer::new(pending.message, message, at));
            return vec![note];
        }
        if stream_form(exchange, form).is_none()
            && let Some(note) = not_served(
                ctx,
                connection,
                at,
                &pending.message,
                elapsed,
                seen,
                is_error,
            )
        {
            self.last_answer = Some(LastAnswer {
                error: is_error.then(|| crate::util::shorten(seen.frame)),
                ..LastAnswer::new(pending.message, message, at)
            });
            return vec![note];
        }
        self.served(ctx, &pending.message, seen.frame);
        let budget = ctx.budget_of(exchange_index);
        let reply = match stream_form(exchange, form) {
            Some(stream) => {
                if self.streams.len() >= MAX_OPEN_STREAMS {
                    self.streams.remove(0);
                }
                let id = seen.frame.pointer(&stream.stream_id).cloned();
                let mut start = Value::Null;
                if let Some(id) = &id {
                    set_pointer(&mut start, &stream.stream_id, id.clone());
                }
                self.streams.push(OpenStream {
                    exchange: exchange_index,
                    form,
                    start: start.clone(),
                    id,
                    chunks: Vec::new(),
                    held_bytes: 0,
                    valid,
                    sent: pending.sent,
                    deadline: pending.deadline,
                });
                Reply::Stream {
                    form,
                    start,
                    chunks: Vec::new(),
                    end: StreamEnd::Unfinished,
                }
            }
            None => {
                self.last_answer = Some(LastAnswer::new(pending.message.clone(), message, at));
                Reply::Single {
                    frame: seen.frame.clone(),
                    message: message.to_string(),
                    form,
                }
            }
        };
        let answer = Answer {
            reply,
            elapsed,
            budget,
            sent: true,
            near_misses: pending.near,
            closed: None,
        };
        let level = Severity::from(exchange.rule.level);
        judge::answer::exchange(description, exchange, &answer, level, valid)
            .into_iter()
            .map(|verdict| {
                let mut finding = judged(connection, at, Direction::Server, message, verdict)
                    .citing(&exchange.rule, format!("/exchanges/{exchange_index}/rule"));
                if finding.severity > Severity::Info {
                    finding.frame = Some(crate::util::shorten(seen.frame));
                }
                finding
            })
            .collect()
    }

    /// A request was served (answered, neither refused nor with an error): what it did to the
    /// connection's session.
    pub(super) fn served(&mut self, ctx: &Context, request: &str, reply: &Value) {
        let Some(sessions) = &ctx.description.sessions else {
            return;
        };
        if let SessionOrigin::Request {
            message,
            id_in_reply,
        } = &sessions.origin
            && message == request
            && reply.pointer(id_in_reply).is_some()
        {
            self.has_session = true;
        }
        if sessions.id_in_requests.contains_key(request) {
            self.has_session = !sessions.ended_by.iter().any(|m| m == request);
        }
    }

    /// A reply to a request whose budget had passed: named as late (the request's own finding
    /// already said it was not answered in time).
    pub(super) fn late_answer(
        &mut self,
        ctx: &Context,
        connection: u64,
        at: Duration,
        seen: Seen<'_>,
        unprompted: &[judge::Kind],
    ) -> Option<Finding> {
        let description = &ctx.description;
        let index = self.expired.iter().position(|p| match &p.awaiting {
            Awaiting::Request {
                exchange,
                correlation,
                ..
            } => matches!(
                match_reply(
                    description,
                    &description.exchanges[*exchange],
                    correlation,
                    seen,
                    unprompted
                ),
                Match::Reply(_) | Match::Fallback(..)
            ),
            Awaiting::Reaction { .. } => false,
        })?;
        let late = self.expired.remove(index)?;
        let mut note = Finding::new(connection, at, Direction::Server, Severity::Info);
        note.message = seen.message.map(str::to_string);
        note.finding = format!(
            "a late `{}` answering `{}`, {} ms after it was sent (its budget was {} ms)",
            seen.message.unwrap_or_default(),
            late.message,
            at.saturating_sub(late.sent).as_millis(),
            late.deadline.saturating_sub(late.sent).as_millis()
        );
        Some(note)
    }

    /// A documented reply that answers nothing awaited. Where it was almost the answer to a
    /// request (an id that is not the request's), a finding at that exchange's level; where no
    /// request waits at all (and the client has spoken: what comes before is unprompted), it is
    /// noted (info): documents do not say a server never sends one on its own, and some deliver
    /// other connections' answers (a subscription). Any other frame that is not the answer is
    /// judged on its own, as `run` judges it while it waits.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reply_to_nothing(
        &self,
        ctx: &Context,
        connection: u64,
        at: Duration,
        message: &str,
        frame: &Value,
        misses: &[(usize, String)],
        prompted: bool,
    ) -> Option<Finding> {
        let description = &ctx.description;
        if description.unprompted.iter().any(|u| u.message == message) {
            return None;
        }
        let answers = |e: &Exchange| {
            e.replies.iter().any(|r| match r {
                ReplyForm::Single(single) => single.messages.iter().any(|m| m == message),
                ReplyForm::Stream(stream) => stream.start == message,
            })
        };
        let (index, severity, what) = match misses.first() {
            Some((index, why)) => (
                *index,
                Severity::from(description.exchanges[*index].rule.level),
                format!("a `{message}` that answers no request awaiting it: {why}"),
            ),
            None => {
                let waiting = self
                    .pending
                    .iter()
                    .any(|p| matches!(p.awaiting, Awaiting::Request { .. }));
                if waiting || !prompted {
                    return None;
                }
                let index = description.exchanges.iter().position(answers)?;
                let requests: Vec<String> = description
                    .exchanges
                    .iter()
                    .filter(|e| answers(e))
                    .map(|e| format!("`{}`", e.request))
                    .collect();
                (
                    index,
                    Severity::Info,
                    format!(
                        "a `{message}`, a documented reply to {}, while no request awaited an answer",
                        list(&requests)
                    ),
                )
            }
        };
        let mut finding = Finding::new(connection, at, Direction::Server, severity).citing(
            &description.exchanges[index].rule,
            format!("/exchanges/{index}/rule"),
        );
        finding.message = Some(message.to_string());
        finding.finding = what;
        finding.frame = Some(crate::util::shorten(frame));
        Some(finding)
    }
}

/// A reply that answers a request without serving it, which the exchange's expectations (what a
/// served request's reply shows) do not apply to: an error message ("answered, but not served"),
/// or a refusal the document gives for a request naming a session that does not exist or is
/// another connection's (the watch cannot tell which sessions exist, so it takes the document's
/// refusal as one). `None` for any other reply.
pub(super) fn not_served(
    ctx: &Context,
    connection: u64,
    at: Duration,
    request: &str,
    elapsed: Duration,
    seen: Seen<'_>,
    is_error: bool,
) -> Option<Finding> {
    let message = seen.message?;
    let mut note = Finding::new(connection, at, Direction::Server, Severity::Info);
    note.message = Some(message.to_string());
    if is_error {
        note.finding = format!(
            "`{request}` was answered by `{message}`, an error message, after {} ms: answered, \
             not served",
            elapsed.as_millis()
        );
        return Some(note);
    }
    let sessions = ctx.description.sessions.as_ref()?;
    let refusals = sessions
        .unknown
        .iter()
        .enumerate()
        .map(|(i, r)| (r, format!("/sessions/unknown/{i}/rule")))
        .chain(
            sessions
                .foreign
                .iter()
                .enumerate()
                .map(|(i, r)| (r, format!("/sessions/foreign/{i}/rule"))),
        );
    for (refusal, pointer) in refusals {
        if !refusal.requests.iter().any(|r| r == request) {
            continue;
        }
        if let Some(Ok(how)) = reply_outcome(&refusal.outcomes, message, seen.frame) {
            note.finding = format!(
                "`{request}` was refused ({how}) after {} ms, as the document has a request \
                 naming a session that is not the client's refused",
                elapsed.as_millis()
            );
            return Some(note.citing(&refusal.rule, pointer));
        }
    }
    None
}

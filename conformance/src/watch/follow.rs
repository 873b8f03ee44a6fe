//! Following answers on a watched connection: which request each server frame answers, the
//! streams that are open, the reactions to bad input that are due, and what was due and did not
//! come. The matching and the verdicts are `run`'s own ([`crate::judge`]); this module only keeps
//! what a passive watcher has to remember between frames, bounded.

use std::collections::VecDeque;
use std::time::Duration;

use agentwire_spec::protocol::{
    Correlation, Direction, Exchange, Outcome, ProtocolDescription, ReplyForm, SessionOrigin,
    StreamReply, Trigger,
};
use serde_json::Value;

use crate::conversation::{Answer, Chunk, Reply, StreamEnd};
use crate::judge::busy::{BusyAnswers, busy};
use crate::judge::trigger::trigger_of;
use crate::judge::{
    self, Closed, Match, OutcomeSeen, Seen, close_outcome, closed_in_answer, documented_outcomes,
    match_reply, reply_outcome,
};
use crate::report::Severity;
use crate::util::set_pointer;
use crate::watch::{Context, Finding, Inspected};

/// Most requests and reactions awaited at once on one connection; beyond, the oldest is no
/// longer followed (a client that never waits cannot grow the watch).
pub const MAX_AWAITED: usize = 64;
/// Most streams open at once on one connection.
pub const MAX_OPEN_STREAMS: usize = 8;
/// Most chunks of one stream followed.
pub const MAX_STREAM_CHUNKS: usize = 10_000;
/// Most text of one stream's chunks followed.
pub const MAX_STREAM_TEXT_BYTES: usize = 1 << 20;
/// Most requests remembered after their budget passed, so that a late answer is named as one.
const MAX_EXPIRED: usize = 16;
/// Largest correlation values of one request followed (an id is short; a value this long is not
/// one anybody correlates by).
const MAX_CORRELATION_BYTES: usize = 4096;
/// How soon after an answer a server's close is a close in answer to its request (as `run`
/// reads a connection after an answer).
const CLOSE_AFTER_ANSWER: Duration = crate::connection::DRAIN_GRACE;

/// The order in which awaited answers are offered a server frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// An error message, to requests sent while the server was busy (a notice that they were
    /// ignored).
    Notice,
    /// Any frame, to every other request and reaction, oldest first.
    Plain,
    /// A served reply no other request took, to requests sent while the server was busy.
    ServedToo,
}

/// What a client frame left awaited.
#[derive(Debug, Clone)]
enum Awaiting {
    /// The documented answer to a request of `exchanges[exchange]`.
    Request {
        exchange: usize,
        /// Only the request's values at the correlation pointers: all that matching reads.
        correlation: Value,
        /// Whether `client.schema.json` accepts the request.
        valid: bool,
        /// The `while_busy` rule under which the server may ignore it (it was sent while the
        /// server was busy with the request the rule names).
        busy: Option<usize>,
        /// Whether it needs a session and the connection had none: its answer is not judged.
        sessionless: bool,
    },
    /// The documented reaction `reactions[reaction]` to bad input.
    Reaction { reaction: usize },
}

#[derive(Debug, Clone)]
struct Pending {
    awaiting: Awaiting,
    /// The client message that opened the wait.
    message: String,
    sent: Duration,
    deadline: Duration,
    /// Frames that were almost the answer, and why not.
    near: Vec<String>,
}

#[derive(Debug, Clone)]
struct OpenStream {
    exchange: usize,
    form: usize,
    /// The start frame, as far as the stream verdict reads it (its stream id).
    start: Value,
    id: Option<Value>,
    chunks: Vec<Chunk>,
    text_bytes: usize,
    valid: bool,
    sent: Duration,
    deadline: Duration,
}

/// The last request answered: a close right after it is a close in answer to it.
#[derive(Debug, Clone)]
struct LastAnswer {
    request: String,
    reply: String,
    at: Duration,
    /// The reply, when it was an error message (it may be a reaction the document has the
    /// server follow with a close).
    error: Option<Value>,
}

impl LastAnswer {
    fn new(request: String, reply: &str, at: Duration) -> Self {
        Self {
            request,
            reply: reply.to_string(),
            at,
            error: None,
        }
    }
}

/// What a watch remembers between frames.
#[derive(Debug, Default)]
pub struct Follow {
    pending: VecDeque<Pending>,
    expired: VecDeque<Pending>,
    streams: Vec<OpenStream>,
    /// The last request answered.
    last_answer: Option<LastAnswer>,
    /// Whether the connection has a session, as far as the watch can tell: one was obtained the
    /// documented way (or a request naming one was served) and none was ended since.
    has_session: bool,
}

/// A verdict of [`crate::judge`] as a finding about `by` at `at`.
fn judged(
    connection: u64,
    at: Duration,
    by: Direction,
    message: &str,
    verdict: judge::Finding,
) -> Finding {
    Finding {
        message: Some(message.to_string()),
        finding: verdict.message,
        expected: verdict.expected,
        received: verdict.received,
        ..Finding::new(connection, at, by, verdict.severity)
    }
}

fn stream_form(exchange: &Exchange, form: usize) -> Option<&StreamReply> {
    match exchange.replies.get(form) {
        Some(ReplyForm::Stream(stream)) => Some(stream),
        _ => None,
    }
}

/// A trigger's name as `protocol.json` writes it (`malformed_json`).
fn trigger_name(trigger: agentwire_spec::protocol::Trigger) -> String {
    serde_json::to_value(trigger)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{trigger:?}"))
}

impl Follow {
    /// A frame the client sent (and the proxy forwarded): a valid request awaits its documented
    /// answer; bad input awaits the reaction the document gives for it, if it gives one.
    pub fn client_frame(
        &mut self,
        ctx: &Context,
        connection: u64,
        at: Duration,
        frame: &Inspected,
    ) -> Vec<Finding> {
        let description = &ctx.description;
        let awaiting = match frame {
            Inspected::Json { value, verdict } if verdict.is_valid() => {
                let Some(message) = verdict.message.as_deref() else {
                    return Vec::new();
                };
                let Some(exchange) = description
                    .exchanges
                    .iter()
                    .position(|e| e.request == message)
                else {
                    return Vec::new();
                };
                let correlation = correlation_values(&description.exchanges[exchange], value);
                if correlation.to_string().len() > MAX_CORRELATION_BYTES {
                    let mut note = Finding::new(connection, at, Direction::Client, Severity::Info);
                    note.message = Some(message.to_string());
                    note.finding = format!(
                        "a `{message}` whose correlation values exceed {MAX_CORRELATION_BYTES} \
                         bytes: its answer is not followed"
                    );
                    return vec![note];
                }
                let busy = description.while_busy.iter().position(|rule| {
                    rule.request == message
                        && self.pending.iter().any(|p| {
                            matches!(p.awaiting, Awaiting::Request { busy: None, .. })
                                && p.message == rule.busy_with
                        })
                });
                let sessionless = !self.has_session
                    && description
                        .sessions
                        .as_ref()
                        .is_some_and(|s| s.needed_by.iter().any(|m| m == message));
                Awaiting::Request {
                    exchange,
                    correlation,
                    valid: true,
                    busy,
                    sessionless,
                }
            }
            _ => {
                let Some(trigger) = trigger_of(&ctx.validators.client, frame.as_sent()) else {
                    return Vec::new();
                };
                let Some(reaction) = description
                    .reactions
                    .iter()
                    .position(|r| r.trigger == trigger && !r.outcomes.is_empty())
                else {
                    return Vec::new();
                };
                Awaiting::Reaction { reaction }
            }
        };
        let (message, budget) = match &awaiting {
            Awaiting::Request { exchange, .. } => (
                description.exchanges[*exchange].request.clone(),
                ctx.budget_of(*exchange),
            ),
            Awaiting::Reaction { reaction } => (
                trigger_name(description.reactions[*reaction].trigger),
                ctx.control,
            ),
        };
        let mut findings = Vec::new();
        if let (
            Awaiting::Request {
                sessionless: true, ..
            },
            Some(sessions),
        ) = (&awaiting, &description.sessions)
        {
            let mut finding = Finding::new(
                connection,
                at,
                Direction::Client,
                Severity::from(sessions.rule.level),
            )
            .citing(&sessions.rule, "/sessions/rule");
            finding.message = Some(message.clone());
            finding.finding = format!(
                "`{message}` needs a session, and the connection has none (none was obtained on \
                 it{})",
                match sessions.ended_by.as_slice() {
                    [] => String::new(),
                    ended_by => format!(
                        ", or a {} ended it",
                        list(
                            &ended_by
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                        )
                    ),
                }
            );
            findings.push(finding);
        }
        if self.pending.len() >= MAX_AWAITED
            && let Some(dropped) = self.pending.pop_front()
        {
            let mut note = Finding::new(connection, at, Direction::Client, Severity::Info);
            note.message = Some(dropped.message.clone());
            note.finding = format!(
                "more than {MAX_AWAITED} answers awaited at once: the oldest, to `{}`, is no \
                 longer followed",
                dropped.message
            );
            findings.push(note);
        }
        self.pending.push_back(Pending {
            awaiting,
            message,
            sent: at,
            deadline: at + budget,
            near: Vec::new(),
        });
        findings
    }

    /// A documented server message (`prompted`: sent after the client's first message): part of
    /// an open stream, the answer to the oldest request it
    /// answers, the reaction to bad input, or else a reply to nothing.
    pub fn server_message(
        &mut self,
        ctx: &Context,
        connection: u64,
        at: Duration,
        seen: Seen<'_>,
        unprompted: &[judge::Kind],
        prompted: bool,
    ) -> Vec<Finding> {
        let Some(message) = seen.message else {
            return Vec::new();
        };
        if let Some(sessions) = &ctx.description.sessions
            && let SessionOrigin::Announcement {
                message: announced,
                id,
            } = &sessions.origin
            && announced == message
            && seen.frame.pointer(id).is_some()
        {
            self.has_session = true;
        }
        if let Some(findings) = self.stream_frame(ctx, connection, at, message, seen.frame) {
            return findings;
        }
        let description = &ctx.description;
        let is_error = description.error_messages.iter().any(|e| e == message);
        let mut misses = Vec::new();
        // A request sent while the server was busy may be ignored with a notice: an error message
        // goes to it first; a served reply goes to it only when no other request takes it.
        let passes: &[Pass] = if is_error {
            &[Pass::Notice, Pass::Plain]
        } else {
            &[Pass::Plain, Pass::ServedToo]
        };
        for &pass in passes {
            for i in 0..self.pending.len() {
                let pending = &mut self.pending[i];
                match &pending.awaiting {
                    Awaiting::Request {
                        exchange,
                        correlation,
                        busy,
                        ..
                    } => {
                        if busy.is_some() == (pass == Pass::Plain) {
                            continue;
                        }
                        let exchange_index = *exchange;
                        let exchange = &description.exchanges[exchange_index];
                        match match_reply(description, exchange, correlation, seen, unprompted) {
                            Match::Reply(form) | Match::Fallback(form, _) => {
                                return self.answered(ctx, connection, at, i, form, seen, is_error);
                            }
                            Match::Miss(why) if pass == Pass::Plain => {
                                judge::note(&mut pending.near, why.clone());
                                if !correlations(exchange).is_empty() && misses.len() < 8 {
                                    misses.push((exchange_index, why));
                                }
                            }
                            Match::Miss(_) | Match::Unrelated => {}
                        }
                    }
                    Awaiting::Reaction { reaction } if pass == Pass::Plain => {
                        let reaction_index = *reaction;
                        let reaction = &description.reactions[reaction_index];
                        let Some(outcome) = reply_outcome(&reaction.outcomes, message, seen.frame)
                        else {
                            continue;
                        };
                        self.pending.remove(i);
                        let trigger = trigger_name(reaction.trigger);
                        let mut finding = match outcome {
                            Ok(how) => {
                                let mut f =
                                    Finding::new(connection, at, Direction::Server, Severity::Info);
                                f.finding = format!("the documented reaction to {trigger}: {how}");
                                f
                            }
                            Err(why) => {
                                let mut f = Finding::new(
                                    connection,
                                    at,
                                    Direction::Server,
                                    Severity::from(reaction.rule.level),
                                );
                                f.finding = format!("the reaction to {trigger} is {why}");
                                f.expected = Some(documented_outcomes(&reaction.outcomes));
                                f.frame = Some(crate::util::shorten(seen.frame));
                                f
                            }
                        }
                        .citing(&reaction.rule, format!("/reactions/{reaction_index}/rule"));
                        finding.message = Some(message.to_string());
                        return vec![finding];
                    }
                    Awaiting::Reaction { .. } => {}
                }
            }
        }
        if is_error {
            // "A request answered only by one of them was answered, but not served."
            if let Some(i) = self
                .pending
                .iter()
                .position(|p| matches!(p.awaiting, Awaiting::Request { .. }))
            {
                let pending = self.pending.remove(i).expect("in range");
                let elapsed = at.saturating_sub(pending.sent);
                let note = not_served(ctx, connection, at, &pending.message, elapsed, seen, true);
                self.last_answer = Some(LastAnswer {
                    error: Some(crate::util::shorten(seen.frame)),
                    ..LastAnswer::new(pending.message, message, at)
                });
                return note.into_iter().collect();
            }
            return Vec::new();
        }
        if let Some(late) = self.late_answer(ctx, connection, at, seen, unprompted) {
            return vec![late];
        }
        self.reply_to_nothing(ctx, connection, at, message, seen.frame, &misses, prompted)
            .into_iter()
            .collect()
    }

    /// A request (or its stream) answered by `seen`, in reply form `form`.
    #[allow(clippy::too_many_arguments)]
    fn answered(
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
                    text_bytes: 0,
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
    fn served(&mut self, ctx: &Context, request: &str, reply: &Value) {
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

    /// A chunk or end of an open stream: its findings (none for a chunk followed). `None` when
    /// the message is no part of any documented stream.
    fn stream_frame(
        &mut self,
        ctx: &Context,
        connection: u64,
        at: Duration,
        message: &str,
        frame: &Value,
    ) -> Option<Vec<Finding>> {
        let description = &ctx.description;
        let part_of = |s: &OpenStream| {
            stream_form(&description.exchanges[s.exchange], s.form)
                .is_some_and(|f| f.chunk == message || f.end == message)
        };
        let candidates: Vec<usize> = (0..self.streams.len())
            .filter(|&k| part_of(&self.streams[k]))
            .collect();
        let Some(&first) = candidates.first() else {
            // A chunk or end while no stream is open: a reply to nothing.
            let (i, j, stream) =
                description
                    .exchanges
                    .iter()
                    .enumerate()
                    .find_map(|(i, exchange)| {
                        exchange
                            .replies
                            .iter()
                            .enumerate()
                            .find_map(|(j, r)| match r {
                                ReplyForm::Stream(s) if s.chunk == message || s.end == message => {
                                    Some((i, j, s))
                                }
                                _ => None,
                            })
                    })?;
            let mut finding = Finding::new(connection, at, Direction::Server, Severity::Info)
                .citing(
                    &stream.rule,
                    format!("/exchanges/{i}/replies/{j}/stream/rule"),
                );
            finding.message = Some(message.to_string());
            finding.finding = format!(
                "a `{message}` while no `{}`…`{}` stream is open on this connection (another's \
                 delivered here, as a subscription does, or a stream the watch did not see open)",
                stream.start, stream.end
            );
            finding.frame = Some(crate::util::shorten(frame));
            return Some(vec![finding]);
        };
        let chosen = candidates
            .iter()
            .copied()
            .find(|&k| {
                let s = &self.streams[k];
                let form = stream_form(&description.exchanges[s.exchange], s.form);
                form.is_some_and(|f| frame.pointer(&f.stream_id) == s.id.as_ref())
            })
            .unwrap_or(first);
        let open = &mut self.streams[chosen];
        let exchange = &description.exchanges[open.exchange];
        let stream = stream_form(exchange, open.form).expect("a stream form");
        let level = Severity::from(stream.rule.level);
        let budget = ctx.budget_of(open.exchange);
        let cite = |f: judge::Finding, exchange: usize, form: usize| {
            let mut finding = judged(connection, at, Direction::Server, message, f).citing(
                &stream.rule,
                format!("/exchanges/{exchange}/replies/{form}/stream/rule"),
            );
            if finding.severity > Severity::Info {
                finding.frame = Some(crate::util::shorten(frame));
            }
            finding
        };
        if stream.chunk == message {
            let text = frame
                .pointer(&stream.chunk_text)
                .and_then(Value::as_str)
                .map(str::to_string);
            open.text_bytes += text.as_ref().map_or(0, String::len);
            open.chunks.push(Chunk {
                id: frame.pointer(&stream.stream_id).cloned(),
                text,
            });
            if open.chunks.len() <= MAX_STREAM_CHUNKS && open.text_bytes <= MAX_STREAM_TEXT_BYTES {
                return Some(Vec::new());
            }
            let open = self.streams.remove(chosen);
            let findings = judge::answer::stream(
                stream,
                &open.start,
                &open.chunks,
                &StreamEnd::TooLong,
                level,
                budget,
            );
            return Some(
                findings
                    .into_iter()
                    .map(|f| cite(f, open.exchange, open.form))
                    .collect(),
            );
        }
        let open = self.streams.remove(chosen);
        let findings = judge::answer::stream(
            stream,
            &open.start,
            &open.chunks,
            &StreamEnd::Ended(frame.clone()),
            level,
            budget,
        );
        self.last_answer = Some(LastAnswer::new(exchange.request.clone(), message, at));
        Some(
            findings
                .into_iter()
                .map(|f| cite(f, open.exchange, open.form))
                .collect(),
        )
    }

    /// A reply to a request whose budget had passed: named as late (the request's own finding
    /// already said it was not answered in time).
    fn late_answer(
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
    fn reply_to_nothing(
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

    /// Forgets everything awaited (the connection is closing).
    pub fn clear(&mut self) {
        self.pending.clear();
        self.expired.clear();
        self.streams.clear();
        self.last_answer = None;
    }

    /// How many answers are awaited (requests, reactions and open streams).
    pub fn awaited(&self) -> usize {
        self.pending.len() + self.streams.len()
    }

    /// When the next answer is due.
    pub fn next_deadline(&self) -> Option<Duration> {
        let pending = self.pending.iter().map(|p| p.deadline);
        let streams = self.streams.iter().map(|s| s.deadline);
        pending.chain(streams).min()
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
    let reactions: Vec<String> = description
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
        .map(|r| trigger_name(r.trigger))
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

/// A reply that answers a request without serving it, which the exchange's expectations (what a
/// served request's reply shows) do not apply to: an error message ("answered, but not served"),
/// or a refusal the document gives for a request naming a session that does not exist or is
/// another connection's (the watch cannot tell which sessions exist, so it takes the document's
/// refusal as one). `None` for any other reply.
fn not_served(
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

/// Every value an exchange's replies copy from the request.
fn correlations(exchange: &Exchange) -> Vec<&Correlation> {
    exchange
        .replies
        .iter()
        .flat_map(|reply| match reply {
            ReplyForm::Single(single) => &single.correlation,
            ReplyForm::Stream(stream) => &stream.correlation,
        })
        .collect()
}

/// A request reduced to its values at the exchange's correlation pointers.
fn correlation_values(exchange: &Exchange, request: &Value) -> Value {
    let mut kept = Value::Null;
    for c in correlations(exchange) {
        if let Some(value) = request.pointer(&c.request) {
            set_pointer(&mut kept, &c.request, value.clone());
        }
    }
    kept
}

/// `` `a`, `b` or `c` ``, at most five named.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] if items.len() <= 5 => format!("{} or {last}", init.join(", ")),
        _ => format!("{} or {} more", items[..4].join(", "), items.len() - 4),
    }
}

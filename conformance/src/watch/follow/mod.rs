//! Following answers on a watched connection: which request each server frame answers, the
//! streams that are open, the reactions to bad input that are due, and what was due and did not
//! come. The matching and the verdicts are `run`'s own ([`crate::judge`]); this module only keeps
//! what a passive watcher has to remember between frames, bounded.
//!
//! Here: what a client frame leaves awaited and which awaited answer a server frame is; in
//! `answer` how an answered request is judged, in `stream` an open stream's chunks and end,
//! in `due` what did not come in time and what a server's close cut off.

mod answer;
mod due;
mod stream;

use std::collections::VecDeque;
use std::time::Duration;

use answer::not_served;

use agentwire_spec::protocol::{
    Correlation, Direction, Exchange, Outcome, ProtocolDescription, ReplyForm, SessionOrigin,
    StreamReply, Trigger,
};
use serde_json::Value;

use crate::conversation::{Answer, Chunk, MAX_STREAM_CHUNKS, Reply, StreamEnd};
use crate::judge::busy::{BusyAnswers, busy};
use crate::judge::trigger::trigger_of;
use crate::judge::{
    self, Closed, Match, OutcomeSeen, Seen, close_outcome, closed_in_answer, documented_outcomes,
    match_reply, reply_outcome,
};
use crate::plan::trigger_id;
use crate::report::Severity;
use crate::util::set_pointer;
use crate::watch::{Context, Finding, Inspected};

/// Most requests and reactions awaited at once on one connection; beyond, the oldest is no
/// longer followed (a client that never waits cannot grow the watch).
pub const MAX_AWAITED: usize = 64;
/// Most streams open at once on one connection.
pub const MAX_OPEN_STREAMS: usize = 8;
/// Most bytes of one stream's chunks followed (their text and ids): less than `run` reads, as a
/// proxy follows many connections at once. As many chunks as `run` reads
/// ([`MAX_STREAM_CHUNKS`](crate::conversation::MAX_STREAM_CHUNKS)).
pub const MAX_STREAM_HELD_BYTES: usize = 1 << 20;
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
    held_bytes: usize,
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
                trigger_id(description.reactions[*reaction].trigger).to_string(),
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
    /// an open stream, the answer to the oldest request it answers, the reaction to bad input, or
    /// else a reply to nothing.
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
                        let trigger = trigger_id(reaction.trigger);
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

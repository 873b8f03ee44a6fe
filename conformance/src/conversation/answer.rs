//! Asking: send a request, await its documented answer within the exchange's budget, assemble a
//! streamed answer, and watch a short grace after the answer for a close (a crash right after a
//! reply is part of the answer).

use std::time::{Duration, Instant};

use agentwire_spec::protocol::{Exchange, Level, ReplyForm, StreamReply};
use serde_json::Value;

use crate::connection::{Citation, Incoming};
use crate::conversation::{Conversation, Next, Received};
use crate::judge::{Closed, Match, match_reply, note};

/// Most chunks of one stream read before the suite stops reading it: memory stays bounded when a
/// server streams without end.
pub const MAX_STREAM_CHUNKS: usize = 10_000;
/// Most bytes of one stream's chunks (their text and ids, [`Chunk::held_bytes`]) read before the
/// suite stops reading it.
pub const MAX_STREAM_TEXT_BYTES: usize = 16 << 20;

/// How a request was answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The reply, if one came.
    pub reply: Reply,
    /// From the request to the reply (its stream's end), or to the end of the wait.
    pub elapsed: Duration,
    /// How long the exchange's reply may take.
    pub budget: Duration,
    /// Whether the request was sent (not when the connection had already ended).
    pub sent: bool,
    /// Frames of a reply message that were not the answer, and why (at most 8).
    pub near_misses: Vec<String>,
    /// How the server ended the connection: instead of answering, or within the grace after.
    pub closed: Option<Closed>,
}

/// The reply to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A single message.
    Single {
        /// The reply.
        frame: Value,
        /// Its message name.
        message: String,
        /// Index of the reply form.
        form: usize,
    },
    /// A stream, possibly unfinished.
    Stream {
        /// Index of the reply form.
        form: usize,
        /// The start frame.
        start: Value,
        /// The chunks, in order (at most [`MAX_STREAM_CHUNKS`], and [`MAX_STREAM_TEXT_BYTES`]
        /// of text).
        chunks: Vec<Chunk>,
        /// How it ended.
        end: StreamEnd,
    },
    /// No reply.
    Nothing,
}

/// What the stream check reads of a chunk frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The value at the stream id's pointer.
    pub id: Option<Value>,
    /// The text at the chunk text's pointer, when it is a string.
    pub text: Option<String>,
}

impl Chunk {
    /// A chunk frame of `stream`, reduced to what the stream check reads.
    pub fn of(stream: &StreamReply, frame: &Value) -> Self {
        Chunk {
            id: frame.pointer(&stream.stream_id).cloned(),
            text: frame
                .pointer(&stream.chunk_text)
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// About how many bytes it holds: its text and its id (a server chooses the id's size too).
    pub fn held_bytes(&self) -> usize {
        let id = match &self.id {
            None => 0,
            Some(Value::String(id)) => id.len(),
            Some(id @ (Value::Array(_) | Value::Object(_))) => id.to_string().len(),
            Some(_) => 8,
        };
        id + self.text.as_ref().map_or(0, String::len)
    }
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEnd {
    /// With this end frame.
    Ended(Value),
    /// Not before the deadline or the connection's end.
    Unfinished,
    /// Reading stopped after [`MAX_STREAM_CHUNKS`] chunks or [`MAX_STREAM_TEXT_BYTES`] held.
    TooLong,
}

impl Conversation<'_> {
    /// Settles (if not yet), sends `request`, awaits the answer `exchanges[index]` documents and,
    /// once answered, reads a short grace for a close or frames on their way.
    pub async fn ask(&mut self, index: usize, request: &Value) -> Answer {
        self.settle().await;
        if !self.send(request).await {
            return Answer {
                reply: Reply::Nothing,
                elapsed: Duration::ZERO,
                budget: self.ctx().budget_of(index),
                sent: false,
                near_misses: vec!["the request could not be sent".into()],
                closed: self.closed(),
            };
        }
        let mut answer = self.await_answer(index, request).await;
        if answer.reply != Reply::Nothing && answer.closed.is_none() {
            if self.connection.drain().await {
                answer.closed = self.closed();
            }
            self.drained = true;
        }
        answer
    }

    /// Waits for the answer to `request` in any form `exchanges[index]` allows, until the
    /// exchange's budget is spent. Frames that are not the documented reply are validated and
    /// noted, and the wait goes on; a reply of another kind than the one the exchange names is
    /// taken only if nothing better arrives.
    pub async fn await_answer(&mut self, index: usize, request: &Value) -> Answer {
        let ctx = self.ctx();
        let description = &ctx.protocol.description;
        let exchange = &description.exchanges[index];
        let budget = ctx.budget_of(index);
        let started = Instant::now();
        let deadline = started + budget;
        self.connection.cite(citation(ctx, exchange));
        let mut near = Vec::new();
        let mut fallback = None;
        let reply = loop {
            let received = match self.next_frame(deadline).await {
                Next::Frame(received) => received,
                Next::Timeout => {
                    self.timed_out(budget, format!("the answer to `{}`", exchange.request));
                    break fallback.unwrap_or(Reply::Nothing);
                }
                Next::Closed => break fallback.unwrap_or(Reply::Nothing),
                Next::Other => continue,
            };
            let judged = match_reply(
                description,
                exchange,
                request,
                received.seen(),
                &self.unprompted,
            );
            let Received { value, message, .. } = *received;
            match judged {
                Match::Reply(form) => match &exchange.replies[form] {
                    ReplyForm::Stream(stream) => {
                        break self
                            .collect_stream(form, stream, value, deadline, budget)
                            .await;
                    }
                    ReplyForm::Single(_) => {
                        break Reply::Single {
                            frame: value,
                            message: message.unwrap_or_default(),
                            form,
                        };
                    }
                },
                Match::Fallback(form, why) => {
                    note(&mut near, why);
                    if fallback.is_none() {
                        fallback = Some(Reply::Single {
                            frame: value,
                            message: message.unwrap_or_default(),
                            form,
                        });
                    }
                }
                Match::Miss(why) => note(&mut near, why),
                Match::Unrelated => {}
            }
        };
        self.connection.cite(None);
        Answer {
            reply,
            elapsed: started.elapsed(),
            budget,
            sent: true,
            near_misses: near,
            closed: self.closed(),
        }
    }

    async fn collect_stream(
        &mut self,
        form: usize,
        stream: &StreamReply,
        start: Value,
        deadline: Instant,
        budget: Duration,
    ) -> Reply {
        let mut chunks = Vec::new();
        let mut held_bytes = 0usize;
        let end = loop {
            if chunks.len() >= MAX_STREAM_CHUNKS || held_bytes > MAX_STREAM_TEXT_BYTES {
                break StreamEnd::TooLong;
            }
            match self.connection.recv(deadline).await {
                Incoming::Json {
                    value,
                    message: Some(message),
                    ..
                } => {
                    if message == stream.chunk {
                        let chunk = Chunk::of(stream, &value);
                        held_bytes += chunk.held_bytes();
                        chunks.push(chunk);
                    } else if message == stream.end {
                        break StreamEnd::Ended(value);
                    }
                }
                Incoming::Timeout => {
                    self.timed_out(budget, "the end of the stream");
                    break StreamEnd::Unfinished;
                }
                Incoming::Closed { .. } => break StreamEnd::Unfinished,
                _ => {}
            }
        };
        Reply::Stream {
            form,
            start,
            chunks,
            end,
        }
    }
}

/// The replies to requests sent back to back.
#[derive(Debug, Clone, PartialEq)]
pub struct Answers {
    /// The replies that serve a request (not error messages), by message.
    pub served: Vec<String>,
    /// Error messages (`error_messages`) among the replies.
    pub errors: usize,
    /// How the server ended the connection, if it did.
    pub closed: Option<Closed>,
}

impl Conversation<'_> {
    /// Sends `asked` (exchange index and request) back to back and collects the replies of their
    /// exchanges: until the longest budget is spent or, once a reply serves one of them, for as
    /// long again as that reply took plus the settle window, so that a second answer produced
    /// the same way is seen too.
    pub async fn ask_back_to_back(&mut self, asked: &[(usize, &Value)]) -> Answers {
        self.settle().await;
        let ctx = self.ctx();
        let description = &ctx.protocol.description;
        let mut sent = Vec::new();
        for (index, request) in asked {
            if self.send(request).await {
                sent.push((*index, *request));
            }
        }
        let started = Instant::now();
        let budget = sent
            .iter()
            .map(|(index, _)| ctx.budget_of(*index))
            .max()
            .unwrap_or(ctx.settings.timeout);
        let mut deadline = started + budget;
        let mut answers = Answers {
            served: Vec::new(),
            errors: 0,
            closed: None,
        };
        while !sent.is_empty() {
            let received = match self.next_frame(deadline).await {
                Next::Frame(received) => received,
                Next::Timeout | Next::Closed => break,
                Next::Other => continue,
            };
            let answers_one = sent.iter().any(|(index, request)| {
                matches!(
                    match_reply(
                        description,
                        &description.exchanges[*index],
                        request,
                        received.seen(),
                        &self.unprompted
                    ),
                    Match::Reply(_) | Match::Fallback(..)
                )
            });
            let Some(message) = received.message.filter(|_| answers_one) else {
                continue;
            };
            if description.error_messages.contains(&message) {
                answers.errors += 1;
                continue;
            }
            if answers.served.is_empty() {
                let took = started.elapsed();
                deadline = deadline.min(Instant::now() + took + ctx.settings.settle);
            }
            answers.served.push(message);
        }
        self.drained = true;
        answers.closed = self.closed();
        answers
    }
}

/// The exchange's sentence, cited for violations of its replies where it names their shape more
/// closely than the messages' own rules (a destroy reply: the destroy section), and is as firm.
/// Error messages keep their own rule: an error in the wrong shape breaks the error format.
fn citation(ctx: crate::checks::Ctx<'_>, exchange: &Exchange) -> Option<Citation> {
    let description = &ctx.protocol.description;
    let messages: Vec<String> = exchange
        .replies
        .iter()
        .flat_map(|reply| match reply {
            ReplyForm::Single(single) => single.messages.clone(),
            ReplyForm::Stream(stream) => vec![stream.start.clone()],
        })
        .filter(|m| !description.error_messages.contains(m))
        .filter(|m| {
            exchange.rule.level == Level::Required
                || description
                    .messages
                    .get(m)
                    .is_some_and(|info| info.rule.level == Level::Open)
        })
        .collect();
    (!messages.is_empty()).then(|| Citation {
        messages,
        quote: exchange.rule.quote.as_str().into(),
    })
}

/// Why a connection is not served.
#[derive(Debug, Clone, PartialEq)]
pub struct Unserved {
    /// What failed.
    pub why: String,
    /// Whether the server closed the connection in answer to a valid message: that fails
    /// whatever the level of the check.
    pub crashed: bool,
}

impl Unserved {
    /// The severity at a check of `level`.
    pub fn severity(&self, level: crate::report::Severity) -> crate::report::Severity {
        if self.crashed {
            crate::report::Severity::Fail
        } else {
            level
        }
    }
}

impl Conversation<'_> {
    /// A quick proof that the connection is served: the simplest request answered, or else (no
    /// request can be built without a session) a WebSocket pong.
    pub async fn probe(&mut self) -> Result<(), Unserved> {
        let ctx = self.ctx();
        let built = ctx.simple_exchange().and_then(|index| {
            let request = &ctx.protocol.description.exchanges[index].request;
            let correlation = ctx.correlation_of(request);
            Some((index, ctx.requests().build(request, None, &correlation)?))
        });
        let Some((index, built)) = built else {
            self.settle().await;
            return self.ws_probe().await.map_err(|why| Unserved {
                why,
                crashed: false,
            });
        };
        let request = &ctx.protocol.description.exchanges[index].request;
        let answer = self.ask(index, &built.frame).await;
        let replied = match &answer.reply {
            Reply::Single { message, .. } => Some(message.as_str()),
            Reply::Stream { .. } => Some("stream"),
            Reply::Nothing => None,
        };
        if let Some(crash) = self.closed_in_answer(replied) {
            return Err(Unserved {
                why: crash.message,
                crashed: true,
            });
        }
        match replied {
            Some(_) => Ok(()),
            None => Err(Unserved {
                why: format!(
                    "`{request}` was not answered within {} ms{}",
                    answer.budget.as_millis(),
                    match &answer.closed {
                        Some(closed) => format!(" (the connection {})", closed.describe()),
                        None => crate::judge::describe(&answer.near_misses),
                    }
                ),
                crashed: false,
            }),
        }
    }
}

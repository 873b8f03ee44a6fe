//! Asking: send a request, await its documented answer within the exchange's budget, assemble a
//! streamed answer, and watch a short grace after the answer for a close (a crash right after a
//! reply is part of the answer).

use std::time::{Duration, Instant};

use agentwire_spec::protocol::{Exchange, Level, ReplyForm, StreamReply};
use serde_json::Value;

use crate::connection::{Citation, Incoming};
use crate::conversation::Conversation;
use crate::judge::{Closed, Kind, Match, Seen, match_reply, note};

/// Most chunks of one stream read before the suite stops reading it: memory stays bounded when a
/// server streams without end.
pub const MAX_STREAM_CHUNKS: usize = 10_000;
/// Most text of one stream's chunks read before the suite stops reading it.
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

/// How a stream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEnd {
    /// With this end frame.
    Ended(Value),
    /// Not before the deadline or the connection's end.
    Unfinished,
    /// Reading stopped after [`MAX_STREAM_CHUNKS`] chunks or [`MAX_STREAM_TEXT_BYTES`] of text.
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
            let (value, message, valid) = match self.connection.recv(deadline).await {
                Incoming::Json {
                    value,
                    message,
                    valid,
                } => (value, message, valid),
                Incoming::Timeout => {
                    self.timed_out(budget, format!("the answer to `{}`", exchange.request));
                    break fallback.unwrap_or(Reply::Nothing);
                }
                Incoming::Closed { .. } => break fallback.unwrap_or(Reply::Nothing),
                _ => continue,
            };
            let kind = Kind::of(description, message.as_deref(), &value);
            let seen = Seen {
                message: message.as_deref(),
                frame: &value,
                valid,
                tagged: message
                    .as_deref()
                    .is_some_and(|m| ctx.validators.server.is_tagged(m)),
                kind: &kind,
            };
            match match_reply(description, exchange, request, seen, &self.unprompted) {
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
        let mut text_bytes = 0usize;
        let end = loop {
            if chunks.len() >= MAX_STREAM_CHUNKS || text_bytes > MAX_STREAM_TEXT_BYTES {
                break StreamEnd::TooLong;
            }
            match self.connection.recv(deadline).await {
                Incoming::Json {
                    value,
                    message: Some(message),
                    ..
                } => {
                    if message == stream.chunk {
                        // Only what the stream check reads is kept, not the frame.
                        let chunk = Chunk {
                            id: value.pointer(&stream.stream_id).cloned(),
                            text: value
                                .pointer(&stream.chunk_text)
                                .and_then(Value::as_str)
                                .map(str::to_string),
                        };
                        text_bytes += chunk.text.as_ref().map_or(0, String::len);
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

//! Replies: the typed reply of a request, and [`ReplyStream`], a reply that may be streamed.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Sleep};

use super::error::{ClientError, FrameError};

/// How many frames of a streamed reply may wait unread before the stream fails.
pub const STREAM_BUFFER: usize = 1024;

/// A message type that can answer a request: a server message of the protocol, or an enum of
/// the few that may answer one request. Generated for each reply type.
pub trait FromMessage<M>: Sized {
    /// The message as this type, or the message back when it is another.
    fn from_message(message: M) -> Result<Self, M>;
}

/// The type of a reply that never comes: the single-message answer of a request that is always
/// streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Never {}

impl<M> FromMessage<M> for Never {
    fn from_message(message: M) -> Result<Self, M> {
        Err(message)
    }
}

/// A frame that answers a request, untyped.
#[derive(Debug)]
pub(crate) enum Part<M> {
    /// The start of a stream.
    Start(M),
    /// A chunk and its text.
    Chunk(M, String),
    /// The end of a stream and its text, the chunks joined.
    End(M, String),
    /// A single-message answer.
    Message(M),
}

/// Where the frames that answer one request go.
pub(crate) trait Sink<M>: Send + Sync {
    /// A frame of the answer.
    fn deliver(&mut self, part: Part<M>);
    /// The request failed.
    fn fail(&mut self, error: ClientError);
    /// Whether the caller stopped waiting (timed out, or dropped the reply).
    fn is_closed(&self) -> bool;
}

/// The answer of a request answered by one message.
pub(crate) struct SingleSink<R> {
    request: &'static str,
    sender: Option<oneshot::Sender<Result<R, ClientError>>>,
}

impl<R> SingleSink<R> {
    pub(crate) fn new(request: &'static str) -> (Self, oneshot::Receiver<Result<R, ClientError>>) {
        let (sender, receiver) = oneshot::channel();
        let sink = Self {
            request,
            sender: Some(sender),
        };
        (sink, receiver)
    }
}

impl<M: Send, R: FromMessage<M> + Send> Sink<M> for SingleSink<R> {
    fn deliver(&mut self, part: Part<M>) {
        let result = match part {
            Part::Message(message) | Part::End(message, _) => {
                R::from_message(message).map_err(|_| unexpected(self.request))
            }
            Part::Start(_) | Part::Chunk(..) => return,
        };
        if let Some(sender) = self.sender.take() {
            let _ = sender.send(result);
        }
    }

    fn fail(&mut self, error: ClientError) {
        if let Some(sender) = self.sender.take() {
            let _ = sender.send(Err(error));
        }
    }

    fn is_closed(&self) -> bool {
        self.sender.as_ref().is_none_or(oneshot::Sender::is_closed)
    }
}

fn unexpected(request: &'static str) -> ClientError {
    ClientError::Frame(FrameError::new(
        None,
        format!("a frame of another type than the client expected answered {request}"),
        "",
    ))
}

/// A typed frame of a streamed answer.
#[derive(Debug)]
enum TypedPart<Single, Start, Chunk, End> {
    Start(Start),
    Chunk(Chunk, String),
    End(End, String),
    Message(Single),
}

/// The frames of one streamed reply, as they wait to be read.
type PartSender<Single, Start, Chunk, End> =
    mpsc::Sender<Result<TypedPart<Single, Start, Chunk, End>, ClientError>>;

/// The answer of a request that may be streamed.
pub(crate) struct StreamSink<Single, Start, Chunk, End> {
    request: &'static str,
    /// `None` once [`STREAM_BUFFER`] frames waited unread: the stream failed.
    sender: Option<PartSender<Single, Start, Chunk, End>>,
    overflowed: Arc<AtomicBool>,
}

impl<Single, Start, Chunk, End> StreamSink<Single, Start, Chunk, End> {
    fn send(&mut self, item: Result<TypedPart<Single, Start, Chunk, End>, ClientError>) {
        let Some(sender) = &self.sender else { return };
        if let Err(mpsc::error::TrySendError::Full(_)) = sender.try_send(item) {
            // Nobody reads: stop keeping frames, and say so when the stream is read again.
            self.overflowed.store(true, Ordering::Relaxed);
            self.sender = None;
        }
    }
}

impl<M, Single, Start, Chunk, End> Sink<M> for StreamSink<Single, Start, Chunk, End>
where
    Single: FromMessage<M> + Send,
    Start: FromMessage<M> + Send,
    Chunk: FromMessage<M> + Send,
    End: FromMessage<M> + Send,
{
    fn deliver(&mut self, part: Part<M>) {
        let typed = match part {
            Part::Start(m) => Start::from_message(m).map(TypedPart::Start),
            Part::Chunk(m, text) => Chunk::from_message(m).map(|c| TypedPart::Chunk(c, text)),
            Part::End(m, text) => End::from_message(m).map(|e| TypedPart::End(e, text)),
            Part::Message(m) => Single::from_message(m).map(TypedPart::Message),
        };
        let item = typed.map_err(|_| unexpected(self.request));
        self.send(item);
    }

    fn fail(&mut self, error: ClientError) {
        self.send(Err(error));
    }

    fn is_closed(&self) -> bool {
        self.sender.as_ref().is_none_or(mpsc::Sender::is_closed)
    }
}

/// One event of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent<Single, Chunk, End> {
    /// A chunk, with its text.
    Chunk {
        /// The chunk's text.
        text: String,
        /// The frame.
        frame: Chunk,
    },
    /// The end of the stream, with the full text: the last event.
    End {
        /// The full text, as the end frame carries it.
        text: String,
        /// The frame.
        frame: End,
    },
    /// The server answered at once, with one message: the only event.
    Message(Single),
}

/// A complete reply: a stream with its full text, or a single message.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamResult<Single, Start, Chunk, End> {
    /// The reply was streamed.
    Stream {
        /// The frame that started it.
        start: Start,
        /// The chunks, in order.
        chunks: Vec<Chunk>,
        /// The frame that ended it.
        end: End,
        /// The full text, as the end frame carries it.
        text: String,
    },
    /// The server answered with one message.
    Message(Single),
}

/// The reply to a request that may be streamed: a [`Stream`] of [`StreamEvent`]s as the frames
/// arrive (chunks, then the end with the full text; or one message), or the whole reply with
/// [`ReplyStream::result`]. It fails with [`ClientError::Timeout`] when the next frame does not
/// come within the client's timeout, and ends after its last event or error. Dropping it stops
/// the wait; the frames still reach the client's event streams. It holds at most
/// [`STREAM_BUFFER`] unread frames: a stream not read while more arrive fails.
pub struct ReplyStream<Single, Start, Chunk, End> {
    request: &'static str,
    receiver: mpsc::Receiver<Result<TypedPart<Single, Start, Chunk, End>, ClientError>>,
    overflowed: Arc<AtomicBool>,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    start: Option<Start>,
    done: bool,
}

// Nothing in it is pinned structurally: the frames are only moved out.
impl<Single, Start, Chunk, End> Unpin for ReplyStream<Single, Start, Chunk, End> {}

impl<Single, Start, Chunk, End> std::fmt::Debug for ReplyStream<Single, Start, Chunk, End> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyStream")
            .field("request", &self.request)
            .field("timeout", &self.timeout)
            .field("started", &self.start.is_some())
            .field("done", &self.done)
            .finish()
    }
}

impl<Single, Start, Chunk, End> ReplyStream<Single, Start, Chunk, End> {
    /// A stream and the sink the connection feeds it through.
    pub(crate) fn new(
        request: &'static str,
        timeout: Duration,
    ) -> (Self, StreamSink<Single, Start, Chunk, End>) {
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let overflowed = Arc::new(AtomicBool::new(false));
        let stream = Self {
            request,
            receiver,
            overflowed: overflowed.clone(),
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            start: None,
            done: false,
        };
        let sink = StreamSink {
            request,
            sender: Some(sender),
            overflowed,
        };
        (stream, sink)
    }

    /// The request it answers.
    pub fn request(&self) -> &'static str {
        self.request
    }

    /// The frame that started the stream, once it has arrived.
    pub fn start(&self) -> Option<&Start> {
        self.start.as_ref()
    }

    /// The whole reply, once it has arrived (what is left of it, if some events were read).
    pub async fn result(mut self) -> Result<StreamResult<Single, Start, Chunk, End>, ClientError> {
        let mut chunks = Vec::new();
        while let Some(event) = self.next().await {
            match event? {
                StreamEvent::Chunk { frame, .. } => chunks.push(frame),
                StreamEvent::Message(message) => return Ok(StreamResult::Message(message)),
                StreamEvent::End { text, frame } => {
                    let start = self.start.take().ok_or_else(|| unexpected(self.request))?;
                    return Ok(StreamResult::Stream {
                        start,
                        chunks,
                        end: frame,
                        text,
                    });
                }
            }
        }
        Err(ClientError::Usage(format!(
            "the reply to {} was already read to its end",
            self.request
        )))
    }

    fn finish<T>(&mut self, item: T) -> Poll<Option<T>> {
        self.done = true;
        Poll::Ready(Some(item))
    }
}

impl<Single, Start, Chunk, End> Stream for ReplyStream<Single, Start, Chunk, End> {
    type Item = Result<StreamEvent<Single, Chunk, End>, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.receiver.poll_recv(cx) {
                Poll::Ready(Some(Ok(part))) => {
                    let deadline = Instant::now() + this.timeout;
                    this.deadline.as_mut().reset(deadline);
                    match part {
                        TypedPart::Start(start) => this.start = Some(start),
                        TypedPart::Chunk(frame, text) => {
                            return Poll::Ready(Some(Ok(StreamEvent::Chunk { text, frame })));
                        }
                        TypedPart::End(frame, text) => {
                            return this.finish(Ok(StreamEvent::End { text, frame }));
                        }
                        TypedPart::Message(message) => {
                            return this.finish(Ok(StreamEvent::Message(message)));
                        }
                    }
                }
                Poll::Ready(Some(Err(error))) => return this.finish(Err(error)),
                Poll::Ready(None) if this.overflowed.load(Ordering::Relaxed) => {
                    return this.finish(Err(ClientError::Usage(format!(
                        "{}: more than {STREAM_BUFFER} frames of the reply waited unread",
                        this.request
                    ))));
                }
                Poll::Ready(None) => {
                    return this.finish(Err(ClientError::Usage(format!(
                        "{}: the client was dropped",
                        this.request
                    ))));
                }
                Poll::Pending => {
                    if this.deadline.as_mut().poll(cx).is_ready() {
                        let what = if this.start.is_some() {
                            format!("{}: the stream stalled: no next frame", this.request)
                        } else {
                            format!("{}: no reply", this.request)
                        };
                        // Closing the receiver tells the connection nobody waits any more.
                        this.receiver.close();
                        return this.finish(Err(ClientError::Timeout {
                            what,
                            after: this.timeout,
                        }));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

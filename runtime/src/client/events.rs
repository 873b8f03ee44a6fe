//! What happens on a connection, as streams: every valid server message (replies, pushes and
//! messages sent unprompted), invalid frames, opens and closes.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;

use super::error::{ClientError, FrameError};

/// How many events wait for a slow reader of an event stream before it misses some.
pub const EVENT_BUFFER: usize = 1024;

/// Something that happened on a client's connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<M> {
    /// The connection opened (and the credential, if any, was sent): at first and after each
    /// reconnection.
    Opened,
    /// A valid server message: a reply, a push, a message sent unprompted.
    Message(M),
    /// A frame that fails the protocol's checks (it also fails the request waiting for it).
    Invalid(FrameError),
    /// The connection closed.
    Closed(CloseInfo),
    /// An error that belongs to no request: the last reconnection attempt failed.
    Error(ClientError),
    /// This many events were dropped because the stream was not read fast enough (it holds
    /// [`EVENT_BUFFER`]).
    Missed(u64),
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code: 1006 when the connection ended without a close frame.
    pub code: u16,
    /// The close reason.
    pub reason: String,
    /// Whether the client is about to reconnect.
    pub reconnecting: bool,
}

/// A stream of a client's [`Event`]s, from when it was made. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Events<M> {
    receiver: mpsc::Receiver<Event<M>>,
}

impl<M> Stream for Events<M> {
    type Item = Event<M>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event<M>>> {
        self.receiver.poll_recv(cx)
    }
}

/// A stream of the valid messages a client receives, from when it was made: replies, pushes and
/// messages sent unprompted. It ends when the client is dropped.
#[derive(Debug)]
pub struct Messages<M> {
    events: Events<M>,
}

impl<M> Stream for Messages<M> {
    type Item = M;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<M>> {
        loop {
            match Pin::new(&mut self.events).poll_next(cx) {
                Poll::Ready(Some(Event::Message(message))) => return Poll::Ready(Some(message)),
                Poll::Ready(Some(_)) => continue,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The event streams of one client.
#[derive(Debug)]
pub(crate) struct Subscribers<M> {
    list: Mutex<Vec<Subscriber<M>>>,
}

#[derive(Debug)]
struct Subscriber<M> {
    sender: mpsc::Sender<Event<M>>,
    missed: u64,
}

impl<M: Clone> Subscribers<M> {
    pub(crate) fn new() -> Self {
        Self {
            list: Mutex::new(Vec::new()),
        }
    }

    /// A new event stream.
    pub(crate) fn events(&self) -> Events<M> {
        let (sender, receiver) = mpsc::channel(EVENT_BUFFER);
        self.lock().push(Subscriber { sender, missed: 0 });
        Events { receiver }
    }

    /// A new message stream.
    pub(crate) fn messages(&self) -> Messages<M> {
        Messages {
            events: self.events(),
        }
    }

    /// Gives an event to every stream; a full one counts it as missed, a dropped one is removed.
    pub(crate) fn emit(&self, event: Event<M>) {
        self.lock().retain_mut(|subscriber| {
            if subscriber.missed > 0 {
                match subscriber.sender.try_send(Event::Missed(subscriber.missed)) {
                    Ok(()) => subscriber.missed = 0,
                    Err(mpsc::error::TrySendError::Full(_)) => {}
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            if subscriber.missed > 0 {
                subscriber.missed += 1;
                return true;
            }
            match subscriber.sender.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    subscriber.missed += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber<M>>> {
        // A panic while the list was held leaves it whole: keep going.
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_slow_stream_is_told_how_many_events_it_missed() {
        let subscribers = Subscribers::<u32>::new();
        let mut events = subscribers.events();
        let mut messages = subscribers.messages();
        for n in 0..(EVENT_BUFFER as u32 + 10) {
            subscribers.emit(Event::Message(n));
        }
        // Read some, then the next emits deliver the count before the event.
        for n in 0..5 {
            assert_eq!(events.next().await, Some(Event::Message(n)));
        }
        subscribers.emit(Event::Opened);
        subscribers.emit(Event::Opened);
        let rest: Vec<_> = std::iter::from_fn(|| events.receiver.try_recv().ok()).collect();
        assert_eq!(rest.len(), EVENT_BUFFER - 5 + 3);
        assert_eq!(rest[rest.len() - 3], Event::Missed(10));
        assert_eq!(rest[rest.len() - 2..], [Event::Opened, Event::Opened]);
        // The message stream skips what is no message.
        assert_eq!(messages.next().await, Some(0));
        drop(events);
        subscribers.emit(Event::Opened);
        assert_eq!(subscribers.lock().len(), 1, "a dropped stream is removed");
    }
}

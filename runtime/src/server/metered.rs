//! A connection's socket as the WebSocket layer sees it: every byte of a message being received
//! is charged to the memory budget before the WebSocket layer takes it, and frames are checked
//! and cut where the WebSocket layer would hold more than it has received.
//!
//! tungstenite reserves a frame's whole announced length as soon as it reads the header, and
//! keeps that buffer for the rest of the connection. So the frames it sees from this socket are
//! never longer than [`PIECE_BYTES`]: a longer frame is passed on as a run of fragments of that
//! size (same mask key, cut at multiples of 4 so that the mask still lines up). tungstenite then
//! assembles the message as its bytes arrive, and frees it once delivered. Before that, headers
//! are checked: a frame longer than the hard size limit is refused (1009), one with reserved
//! bits or opcodes, unmasked, or a control frame that is fragmented or longer than 125 bytes,
//! is a protocol error (1002); and bytes that would take the server over its budget are
//! refused (1013). Either way nothing of it reaches the WebSocket layer.
//!
//! The HTTP handshake comes through here too; the bytes after the request's blank line are
//! kept back until it is over, so that frames sent at once with the request are checked like
//! the others.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::budget::{Held, Meter};

/// The longest frame the WebSocket layer is shown; a multiple of 4.
pub(crate) const PIECE_BYTES: usize = 8 * 1024;

/// Bytes a connection's task reads before it lets the others run: tokio's own budget (128
/// reads) would let it take in a megabyte first, and a thousand clients sending large
/// messages would keep one that sends small ones waiting for as many megabytes.
const FAIR_SHARE_BYTES: usize = 16 * 1024;

/// Why the socket refused what the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A frame or message longer than the hard limit.
    TooBig,
    /// The server's memory budget has no room for it.
    Busy,
    /// Not WebSocket as RFC 6455 has it.
    Protocol(&'static str),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::TooBig => f.write_str("message too big"),
            Refused::Busy => f.write_str("server busy: try again later"),
            Refused::Protocol(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Refused {}

impl Refused {
    /// The refusal an I/O error carries, if it is one.
    pub(crate) fn of(error: &io::Error) -> Option<Refused> {
        error.get_ref()?.downcast_ref::<Refused>().copied()
    }
}

/// Where the byte stream is.
#[derive(Debug)]
enum Phase {
    /// The HTTP request; where the last bytes stood in the search for its empty line.
    Handshake(usize),
    Frames,
}

/// The frame whose payload is passing.
#[derive(Debug, Clone, Copy)]
struct Payload {
    remaining: u64,
    data: bool,
    fin: bool,
    /// Cut into fragments: the mask key and what is left of the current fragment.
    cut: Option<([u8; 4], usize)>,
}

/// What [`Metered::scan`] made of bytes just placed in the buffer.
struct Scan {
    /// Bytes passed on as they are.
    keep: usize,
    /// Bytes after them taken into the header being read.
    taken: usize,
}

/// The socket of one connection.
pub(crate) struct Metered {
    inner: TcpStream,
    meter: Arc<Meter>,
    hard_max: usize,
    phase: Phase,
    /// Bytes read from the socket and not passed on yet.
    stash: Vec<u8>,
    stash_at: usize,
    /// A header being read, and its bytes so far.
    header: [u8; 14],
    header_len: usize,
    /// A header to pass on before anything else.
    pending: [u8; 14],
    pending_at: usize,
    pending_len: usize,
    payload: Option<Payload>,
    /// Bytes of the message under way (every data frame since the last final one).
    message: usize,
    /// Bytes charged for it: the room the WebSocket layer holds it in (see [`held_for`]).
    charged: usize,
    /// Charges of messages passed on whole and not yet taken by the connection's task.
    complete: VecDeque<Held>,
    failed: Option<Refused>,
    /// Bytes passed on since the task last waited.
    since_yield: usize,
}

impl fmt::Debug for Metered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metered")
            .field("phase", &self.phase)
            .field("message", &self.message)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Metered {
    pub(crate) fn new(inner: TcpStream, meter: Arc<Meter>, hard_max: usize) -> Self {
        Self {
            inner,
            meter,
            hard_max,
            phase: Phase::Handshake(0),
            stash: Vec::new(),
            stash_at: 0,
            header: [0; 14],
            header_len: 0,
            pending: [0; 14],
            pending_at: 0,
            pending_len: 0,
            payload: None,
            message: 0,
            charged: 0,
            complete: VecDeque::new(),
            failed: None,
            since_yield: 0,
        }
    }

    /// The charge of the next whole message the WebSocket layer delivers.
    pub(crate) fn take_message_charge(&mut self) -> Option<Held> {
        self.complete.pop_front()
    }

    /// Why reading stopped, if it did.
    pub(crate) fn refused(&self) -> Option<Refused> {
        self.failed
    }

    /// Reads and drops what the client still sends, for at most `bytes`, until it stops: after
    /// a refusal, so that the close frame is not lost to a reset.
    pub(crate) async fn discard(&mut self, bytes: usize) {
        let mut scratch = [0u8; 4096];
        let mut left = bytes;
        while left > 0 {
            match tokio::io::AsyncReadExt::read(&mut self.inner, &mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }

    fn fail(&mut self, why: Refused) -> io::Error {
        self.failed = Some(why);
        io::Error::other(why)
    }

    /// Passes on bytes just placed in `region`: payloads as they are, headers checked (and
    /// cut, for long frames); charges data. Stops where the bytes cannot be passed on as they
    /// are: at a header to be rewritten or not yet whole, or at the end of a fragment.
    fn scan(&mut self, region: &[u8]) -> Result<Scan, Refused> {
        let mut at = 0;
        while at < region.len() {
            if let Some(mut payload) = self.payload {
                let mut n = (region.len() - at).min(clamp(payload.remaining));
                if let Some((_, left)) = payload.cut {
                    n = n.min(left);
                }
                if payload.data && n > 0 {
                    if self.message + n > self.hard_max {
                        return Err(Refused::TooBig);
                    }
                    let charge = held_for(self.message + n);
                    if !self.meter.charge(charge - self.charged) {
                        return Err(Refused::Busy);
                    }
                    self.message += n;
                    self.charged = charge;
                }
                at += n;
                payload.remaining -= n as u64;
                self.payload = Some(payload);
                if let Some((mask, left)) = payload.cut {
                    let left = left - n;
                    if left == 0 && payload.remaining > 0 {
                        // The next fragment needs its header first.
                        let size = clamp(payload.remaining).min(PIECE_BYTES);
                        payload.cut = Some((mask, size));
                        self.payload = Some(payload);
                        self.set_pending_fragment(payload.remaining, size, mask, payload.fin);
                        return Ok(Scan { keep: at, taken: 0 });
                    }
                    payload.cut = Some((mask, left));
                    self.payload = Some(payload);
                }
                if payload.remaining == 0 {
                    self.end_frame();
                }
                continue;
            }
            // A header: whole in the region, or to be assembled.
            let prior = self.header_len;
            let available = (region.len() - at).min(14 - prior);
            self.header[prior..prior + available].copy_from_slice(&region[at..at + available]);
            let Some(size) = header_size(&self.header[..prior + available]) else {
                self.header_len = prior + available;
                return Ok(Scan {
                    keep: at,
                    taken: region.len() - at,
                });
            };
            let used = size - prior;
            let header = parse(&self.header[..size]);
            self.check(&header)?;
            self.header_len = 0;
            let cut = header.data && header.length > PIECE_BYTES as u64;
            self.payload = Some(Payload {
                remaining: header.length,
                data: header.data,
                fin: header.fin,
                cut: None,
            });
            if cut {
                let first = PIECE_BYTES;
                self.payload.as_mut().expect("a payload").cut = Some((header.mask, first));
                self.set_pending_fragment(header.length, first, header.mask, header.fin);
                self.pending[0] |= header.opcode;
            } else if prior > 0 {
                // Assembled from two reads: passed on from the copy.
                self.pending[..size].copy_from_slice(&self.header[..size]);
                self.pending_at = 0;
                self.pending_len = size;
            } else {
                at += used;
                if header.length == 0 {
                    self.end_frame();
                }
                continue;
            }
            if header.length == 0 {
                self.end_frame();
            }
            return Ok(Scan {
                keep: at,
                taken: used,
            });
        }
        Ok(Scan {
            keep: region.len(),
            taken: 0,
        })
    }

    /// Refuses what the WebSocket layer must not take in.
    fn check(&self, header: &Header) -> Result<(), Refused> {
        if header.rsv {
            return Err(Refused::Protocol("reserved bits set without an extension"));
        }
        if !header.masked {
            return Err(Refused::Protocol("unmasked frame from a client"));
        }
        match header.opcode {
            0..=2 => {
                if header.length > self.hard_max as u64
                    || self.message as u64 + header.length > self.hard_max as u64
                {
                    return Err(Refused::TooBig);
                }
            }
            8..=10 => {
                if !header.fin {
                    return Err(Refused::Protocol("fragmented control frame"));
                }
                if header.length > 125 {
                    return Err(Refused::Protocol("control frame over 125 bytes"));
                }
            }
            _ => return Err(Refused::Protocol("reserved opcode")),
        }
        Ok(())
    }

    /// A frame's payload has passed: a final data frame completes a message.
    fn end_frame(&mut self) {
        if let Some(payload) = self.payload.take()
            && payload.data
            && payload.fin
        {
            self.message = 0;
            let bytes = std::mem::take(&mut self.charged);
            self.complete.push_back(Held::adopt(&self.meter, bytes));
        }
    }

    /// The header of a fragment of `size` bytes of a frame with `remaining` bytes to come.
    fn set_pending_fragment(&mut self, remaining: u64, size: usize, mask: [u8; 4], fin: bool) {
        let last = remaining <= size as u64;
        // A continuation (opcode 0); the caller sets the first fragment's opcode.
        self.pending[0] = if last && fin { 0x80 } else { 0 };
        self.pending[1] = 0x80 | 126;
        self.pending[2..4].copy_from_slice(&(size as u16).to_be_bytes());
        self.pending[4..8].copy_from_slice(&mask);
        self.pending_at = 0;
        self.pending_len = 8;
    }

    /// The handshake's bytes, up to the end of the request.
    fn poll_handshake(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        matched: usize,
    ) -> Poll<io::Result<()>> {
        let start = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let mut matched = matched;
        let end = {
            let fresh = &buf.filled()[start..];
            let mut end = None;
            for (i, &byte) in fresh.iter().enumerate() {
                // An empty line ends the request; lines end with "\r\n" or, as httparse
                // also reads them, "\n". 1: a line just ended; 2: and a '\r' followed.
                matched = match (matched, byte) {
                    (1 | 2, b'\n') => {
                        end = Some(start + i + 1);
                        break;
                    }
                    (1, b'\r') => 2,
                    (_, b'\n') => 1,
                    _ => 0,
                };
            }
            end
        };
        match end {
            Some(end) => {
                let rest = buf.filled()[end..].to_vec();
                buf.set_filled(end);
                self.stash = rest;
                self.stash_at = 0;
                self.phase = Phase::Frames;
            }
            None => self.phase = Phase::Handshake(matched),
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Metered {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Phase::Handshake(matched) = this.phase {
            return this.poll_handshake(cx, buf, matched);
        }
        if let Some(why) = this.failed {
            return Poll::Ready(Err(io::Error::other(why)));
        }
        if this.since_yield >= FAIR_SHARE_BYTES {
            // Its share taken: the other tasks run, then this one again.
            this.since_yield = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let before = buf.filled().len();
        loop {
            if this.pending_at < this.pending_len {
                let n = buf.remaining().min(this.pending_len - this.pending_at);
                buf.put_slice(&this.pending[this.pending_at..this.pending_at + n]);
                this.pending_at += n;
                if this.pending_at < this.pending_len {
                    break;
                }
            }
            if buf.remaining() == 0 {
                break;
            }
            let start = buf.filled().len();
            // Not beyond the fragment under way: its end needs a header inserted.
            let limit = match this.payload {
                Some(Payload {
                    cut: Some((_, left)),
                    ..
                }) => buf.remaining().min(left),
                _ => buf.remaining(),
            };
            let from_stash = this.stash_at < this.stash.len();
            if from_stash {
                let n = limit.min(this.stash.len() - this.stash_at);
                buf.put_slice(&this.stash[this.stash_at..this.stash_at + n]);
                this.stash_at += n;
            } else {
                if start > before {
                    // Something to pass on: do not wait for more.
                    break;
                }
                let mut limited = ReadBuf::new(&mut buf.initialize_unfilled()[..limit]);
                match Pin::new(&mut this.inner).poll_read(cx, &mut limited) {
                    Poll::Pending => {
                        this.since_yield = 0;
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) => {}
                }
                let n = limited.filled().len();
                if n == 0 {
                    // The end of the stream.
                    break;
                }
                buf.advance(n);
            }
            match this.scan(&buf.filled()[start..]) {
                Ok(Scan { keep, taken }) => {
                    let end = buf.filled().len();
                    let back = start + keep + taken;
                    if back < end {
                        if from_stash {
                            this.stash_at -= end - back;
                        } else {
                            this.stash.clear();
                            this.stash.extend_from_slice(&buf.filled()[back..]);
                            this.stash_at = 0;
                        }
                    }
                    buf.set_filled(start + keep);
                }
                Err(why) => {
                    let error = this.fail(why);
                    buf.set_filled(start);
                    if start > before {
                        // What came before is good: passed on now, the refusal next time.
                        break;
                    }
                    return Poll::Ready(Err(error));
                }
            }
            if this.stash_at == this.stash.len() && !this.stash.is_empty() {
                // Drained: not kept for the rest of the connection.
                this.stash = Vec::new();
                this.stash_at = 0;
            }
        }
        this.since_yield += buf.filled().len() - before;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        self.meter.release(self.charged);
    }
}

/// A frame header's fields.
struct Header {
    fin: bool,
    rsv: bool,
    opcode: u8,
    data: bool,
    masked: bool,
    length: u64,
    mask: [u8; 4],
}

/// The size of the header at the start of `bytes`, once enough of it is there to tell.
fn header_size(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 2 {
        return None;
    }
    let mask = if bytes[1] & 0x80 != 0 { 4 } else { 0 };
    let size = match bytes[1] & 0x7F {
        126 => 4 + mask,
        127 => 10 + mask,
        _ => 2 + mask,
    };
    (bytes.len() >= size).then_some(size)
}

/// The fields of a whole header.
fn parse(bytes: &[u8]) -> Header {
    let opcode = bytes[0] & 0x0F;
    let masked = bytes[1] & 0x80 != 0;
    let (length, at) = match bytes[1] & 0x7F {
        126 => (u64::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
        127 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(&bytes[2..10]);
            (u64::from_be_bytes(be), 10)
        }
        short => (u64::from(short), 2),
    };
    let mut mask = [0u8; 4];
    if masked {
        mask.copy_from_slice(&bytes[at..at + 4]);
    }
    Header {
        fin: bytes[0] & 0x80 != 0,
        rsv: bytes[0] & 0x70 != 0,
        opcode,
        data: opcode <= 2,
        masked,
        length,
        mask,
    }
}

/// The room a message of `bytes` takes while the WebSocket layer assembles it: its buffer
/// doubles as it grows, so the next power of two (what is charged, rather than the bytes alone,
/// so that the budget bounds what is allocated).
fn held_for(bytes: usize) -> usize {
    bytes.checked_next_power_of_two().unwrap_or(bytes)
}

fn clamp(length: u64) -> usize {
    usize::try_from(length).unwrap_or(usize::MAX)
}

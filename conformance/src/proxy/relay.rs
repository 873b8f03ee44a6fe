//! One proxied connection: the handshakes, then two pumps (client to server, server to client)
//! that read a frame, judge it, record it and forward it, a ticker that judges answers when they
//! fall due, and the closing of both sides.
//!
//! Every event goes through `Conn::note`, which stamps it, numbers it, applies it to the
//! connection's watch and records it under one lock, so the watch sees a request before the
//! reply it provokes and the transcript holds each connection's entries in order. The lock is
//! taken after a frame is read and validated and released before it is forwarded: a side that
//! does not read holds up its own pump only.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use agentwire_spec::protocol::Direction;
use base64::Engine as _;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Notify, OwnedSemaphorePermit, watch as signal};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::judge::describe_close;
use crate::proxy::Shared;
use crate::proxy::handshake::{self, Rejection, Socket as Ws};
use crate::transcript::{self, Entry, Event, Party};
use crate::watch::{Finding, Inspected, Watch, millis, side};

/// Why a pump stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PumpEnd {
    /// Its side sent a close frame (forwarded).
    Closed,
    /// Its side's connection ended without one, or broke the protocol.
    Ended,
    /// The proxy is shutting down.
    Shutdown,
}

struct State {
    watch: Watch,
    seq: u64,
    /// Whether a close was already said on the report (the second is the answer to it).
    close_said: bool,
}

/// A proxied connection, shared by its pumps and its ticker.
struct Conn {
    number: u64,
    shared: Arc<Shared>,
    state: Mutex<State>,
    client: Mutex<SplitSink<Ws, Message>>,
    server: Mutex<SplitSink<Ws, Message>>,
    deadline_changed: Notify,
}

/// A connection whose two handshakes succeeded.
struct Opened {
    number: u64,
    watch: Watch,
    client: Ws,
    upstream: Ws,
    /// Its place among `--max-connections`, held while it lives.
    _permit: OwnedSemaphorePermit,
}

/// Serves one accepted TCP connection to the end. Without a `permit` (the proxy is at
/// `--max-connections`), the client is refused with 503.
pub(super) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    permit: Option<OwnedSemaphorePermit>,
    stopping: signal::Receiver<bool>,
) {
    if let Some(opened) = open(&shared, stream, peer, permit).await {
        relay(shared, opened, stopping).await;
    }
}

/// Both handshakes: the client's request read, the upstream dialled, the client answered with
/// 101 (or the upstream's refusal, or the proxy's own).
async fn open(
    shared: &Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    permit: Option<OwnedSemaphorePermit>,
) -> Option<Opened> {
    let options = &shared.options;
    let request = match handshake::read_request(&mut stream, options.connect_timeout).await {
        Ok(request) => request,
        Err(rejection) => {
            handshake::reject(&mut stream, &rejection).await;
            return None;
        }
    };
    let Some(permit) = permit else {
        let busy = Rejection::new(
            503,
            format!(
                "the proxy serves at most {} connections at once (--max-connections)",
                options.max_connections
            ),
        );
        handshake::reject(&mut stream, &busy).await;
        return None;
    };
    let number = shared.next_connection.fetch_add(1, Ordering::Relaxed);
    let secrets: Vec<&str> = shared.secrets.iter().map(String::as_str).collect();
    let shown_path = request.shown_target(&secrets);
    let opened_at = shared.now();
    let dialled = handshake::dial(
        &options.upstream,
        &request,
        &options.headers,
        shared.config,
        options.connect_timeout,
    )
    .await;
    let mut watch = Watch::new(Arc::clone(&shared.ctx), number);
    let open = Entry {
        connection: number,
        seq: 0,
        ms: millis(opened_at),
        time: shared.record.as_ref().map(|_| shared.timestamp(opened_at)),
        direction: Party::Client,
        to: None,
        event: Event::Open {
            peer: peer.to_string(),
            path: shown_path.clone(),
            upstream: options.upstream.url(&shown_path),
        },
        dropped: None,
    };
    let (upstream, protocol) = match dialled {
        Ok(accepted) => accepted,
        Err(refused) => {
            let reason = refused.reason(options.connect_timeout);
            let at = shared.now();
            let refusal = Entry {
                seq: 1,
                ms: millis(at),
                time: shared.record.as_ref().map(|_| shared.timestamp(at)),
                direction: Party::Server,
                event: Event::Refused {
                    status: refused.status(),
                    reason: reason.clone(),
                },
                ..open.clone()
            };
            for entry in [&open, &refusal] {
                let findings = transcript::apply(&mut watch, &shared.ctx, entry, None);
                publish(shared, entry, None, &findings).await;
            }
            handshake::pass_on(&mut stream, &refused, &reason).await;
            return None;
        }
    };
    let client = handshake::accept(stream, request, protocol.as_deref(), shared.config)
        .await
        .ok()?;
    let findings = transcript::apply(&mut watch, &shared.ctx, &open, None);
    publish(shared, &open, None, &findings).await;
    Some(Opened {
        number,
        watch,
        client,
        upstream,
        _permit: permit,
    })
}

/// Forwards and judges until both sides have closed (or the proxy stops).
async fn relay(shared: Arc<Shared>, opened: Opened, stopping: signal::Receiver<bool>) {
    let Opened {
        number,
        watch,
        client,
        upstream,
        _permit,
    } = opened;
    let (client_tx, client_rx) = client.split();
    let (server_tx, server_rx) = upstream.split();
    let conn = Arc::new(Conn {
        number,
        shared: Arc::clone(&shared),
        state: Mutex::new(State {
            watch,
            seq: 1,
            close_said: false,
        }),
        client: Mutex::new(client_tx),
        server: Mutex::new(server_tx),
        deadline_changed: Notify::new(),
    });
    let ticker = tokio::spawn(tick(Arc::clone(&conn)));
    let mut pumps = [
        Some(tokio::spawn(pump(
            Arc::clone(&conn),
            Direction::Client,
            client_rx,
            stopping.clone(),
        ))),
        Some(tokio::spawn(pump(
            Arc::clone(&conn),
            Direction::Server,
            server_rx,
            stopping.clone(),
        ))),
    ];
    // Should this task be cut short (the shutdown's grace spent), its pumps go with it.
    let _guard = AbortAll(
        pumps
            .iter()
            .flatten()
            .map(|task| task.abort_handle())
            .chain([ticker.abort_handle()])
            .collect(),
    );
    finish(&conn, &mut pumps, stopping).await;
    // Nothing of the connection outlives it.
    for task in pumps.into_iter().flatten() {
        task.abort();
        let _ = task.await;
    }
    ticker.abort();
    let _ = ticker.await;
    let mut state = conn.state.lock().await;
    let at = shared.now();
    let findings = state.watch.stop(at);
    drop(state);
    for finding in &findings {
        say_finding(&shared, finding);
    }
    shared
        .tally
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .add(&findings);
}

/// Aborts its tasks when dropped.
struct AbortAll(Vec<tokio::task::AbortHandle>);

impl Drop for AbortAll {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A pump's task: how it ended, and its side's stream (to read for the closing handshake).
type PumpTask = tokio::task::JoinHandle<(PumpEnd, SplitStream<Ws>)>;

/// Waits for both pumps (taking those that end out of `pumps`). Once one has stopped, the other
/// has the close timeout to see its side's close; on shutdown the proxy closes both sides with
/// 1001. The ends of both connections are read for their closing handshakes, within the close
/// timeout.
async fn finish(
    conn: &Arc<Conn>,
    pumps: &mut [Option<PumpTask>; 2],
    mut stopping: signal::Receiver<bool>,
) {
    let close_timeout = conn.shared.options.close_timeout;
    let first = {
        let [Some(a), Some(b)] = pumps else {
            return;
        };
        tokio::select! {
            done = a => (0, done.ok()),
            done = b => (1, done.ok()),
        }
    };
    pumps[first.0] = None;
    let mut streams = Vec::new();
    let mut shutting_down = matches!(first.1, Some((PumpEnd::Shutdown, _)));
    if let Some((_, stream)) = first.1 {
        streams.push(stream);
    }
    // The other side's close comes within the close timeout; on shutdown the other pump stops
    // at once.
    let other = 1 - first.0;
    if let Some(task) = pumps[other].as_mut() {
        let waited = tokio::time::timeout(close_timeout, async {
            tokio::select! {
                done = &mut *task => Some(done.ok()),
                _ = stopping.wait_for(|stop| *stop) => None,
            }
        })
        .await;
        let done = match waited {
            Ok(Some(done)) => Some(done),
            Ok(None) => {
                shutting_down = true;
                tokio::time::timeout(close_timeout, &mut *task)
                    .await
                    .ok()
                    .map(Result::ok)
            }
            Err(_) => None,
        };
        if let Some(done) = done {
            pumps[other] = None;
            if let Some((end, stream)) = done {
                shutting_down |= end == PumpEnd::Shutdown;
                streams.push(stream);
            }
        }
    }
    if shutting_down {
        let going_away = || CloseFrame {
            code: CloseCode::Away,
            reason: "the proxy is shutting down".into(),
        };
        let frame = going_away();
        for to in [Direction::Client, Direction::Server] {
            conn.note(
                Party::Proxy,
                Some(to),
                Event::Close {
                    code: Some(u16::from(frame.code)),
                    reason: frame.reason.to_string(),
                },
                None,
                None,
            )
            .await;
            let _ = tokio::time::timeout(
                close_timeout,
                conn.send(to, Message::Close(Some(going_away()))),
            )
            .await;
        }
    }
    // Reading a side lets its closing handshake complete (the answering close frame goes out).
    let drain = futures_util::future::join_all(
        streams
            .into_iter()
            .map(|mut stream| async move { while let Some(Ok(_)) = stream.next().await {} }),
    );
    let _ = tokio::time::timeout(close_timeout, drain).await;
}

/// Reads one side and forwards to the other until a close, an end, or the shutdown.
async fn pump(
    conn: Arc<Conn>,
    from: Direction,
    mut stream: SplitStream<Ws>,
    mut stopping: signal::Receiver<bool>,
) -> (PumpEnd, SplitStream<Ws>) {
    let to = match from {
        Direction::Client => Direction::Server,
        Direction::Server => Direction::Client,
    };
    let shared = Arc::clone(&conn.shared);
    let validators = Arc::clone(&shared.ctx.validators);
    let credential = match from {
        Direction::Client => shared.ctx.credential_in_message(),
        Direction::Server => None,
    };
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = stopping.wait_for(|stop| *stop) => return (PumpEnd::Shutdown, stream),
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                let end = conn.broken(from, &error).await;
                return (end, stream);
            }
            None => {
                let how = "the connection ended without a close frame";
                conn.note(from.into(), None, Event::Ended(how.into()), None, None)
                    .await;
                conn.close_other(to, from).await;
                return (PumpEnd::Ended, stream);
            }
        };
        let party = Party::from(from);
        match message {
            Message::Text(text) => {
                let mut frame = Inspected::text(&validators, from, text.as_str());
                // A credential sent in a message is kept out of the record and the report, as
                // `run` keeps its own; the frame goes on unchanged.
                let redacted = match credential {
                    Some((message, pointer)) if frame.message() == Some(message) => {
                        frame.redact(pointer)
                    }
                    _ => None,
                };
                let recorded = redacted.as_deref().unwrap_or(text.as_str());
                let dropped = (shared.options.enforce && !frame.is_valid())
                    .then(|| format!("invalid against {} (--enforce)", entry_point(from)));
                let drop = dropped.is_some();
                conn.note(
                    party,
                    None,
                    Event::Text(Cow::Borrowed(recorded)),
                    dropped,
                    Some(&frame),
                )
                .await;
                if drop {
                    conn.answer_dropped(from, &frame).await;
                } else if !conn.send(to, Message::Text(text)).await {
                    return (PumpEnd::Ended, stream);
                }
            }
            Message::Binary(bytes) => {
                let frame = Inspected::Binary(bytes.len());
                let dropped = shared
                    .options
                    .enforce
                    .then(|| format!("a binary frame: invalid against {}", entry_point(from)));
                let drop = dropped.is_some();
                let recorded = Event::Binary(for_record(&shared, &bytes));
                conn.note(party, None, recorded, dropped, Some(&frame))
                    .await;
                if drop {
                    conn.answer_dropped(from, &frame).await;
                } else if !conn.send(to, Message::Binary(bytes)).await {
                    return (PumpEnd::Ended, stream);
                }
            }
            Message::Ping(payload) => {
                let recorded = Event::Ping(for_record(&shared, &payload));
                conn.note(party, None, recorded, None, None).await;
                if !conn.send(to, Message::Ping(payload)).await {
                    return (PumpEnd::Ended, stream);
                }
            }
            Message::Pong(payload) => {
                let recorded = Event::Pong(for_record(&shared, &payload));
                conn.note(party, None, recorded, None, None).await;
                if !conn.send(to, Message::Pong(payload)).await {
                    return (PumpEnd::Ended, stream);
                }
            }
            Message::Close(frame) => {
                let (code, reason) = match &frame {
                    Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                    None => (None, String::new()),
                };
                conn.note(party, None, Event::Close { code, reason }, None, None)
                    .await;
                // Passes the close on: the other side answers it, and its pump forwards that.
                let close_timeout = shared.options.close_timeout;
                let _ =
                    tokio::time::timeout(close_timeout, conn.send(to, Message::Close(frame))).await;
                return (PumpEnd::Closed, stream);
            }
            Message::Frame(_) => {}
        }
    }
}

/// `client.schema.json` or `server.schema.json`.
fn entry_point(from: Direction) -> &'static str {
    match from {
        Direction::Client => "client.schema.json",
        Direction::Server => "server.schema.json",
    }
}

/// Judges answers as they fall due, between frames.
async fn tick(conn: Arc<Conn>) {
    let shared = Arc::clone(&conn.shared);
    loop {
        let due = conn.state.lock().await.watch.next_deadline();
        let sleep = async {
            match due {
                Some(due) => tokio::time::sleep_until((shared.started + due).into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {
                let at = shared.now();
                let findings = conn.state.lock().await.watch.tick(at);
                for finding in &findings {
                    say_finding(&shared, finding);
                }
                shared.tally.lock().unwrap_or_else(|e| e.into_inner()).add(&findings);
            }
            _ = conn.deadline_changed.notified() => {}
        }
    }
}

impl Conn {
    /// Stamps, numbers, judges, records and reports one event.
    async fn note(
        &self,
        direction: Party,
        to: Option<Direction>,
        event: Event<'_>,
        dropped: Option<String>,
        frame: Option<&Inspected>,
    ) {
        let shared = &self.shared;
        let mut state = self.state.lock().await;
        let before = state.watch.next_deadline();
        let at = shared.now();
        let entry = Entry {
            connection: self.number,
            seq: state.seq,
            ms: millis(at),
            time: shared.record.as_ref().map(|_| shared.timestamp(at)),
            direction,
            to,
            event,
            dropped,
        };
        state.seq += 1;
        let findings = transcript::apply(&mut state.watch, &shared.ctx, &entry, frame);
        if let Some(record) = &shared.record {
            let line = serde_json::to_string(&entry).unwrap_or_default();
            if !record.write(line).await {
                shared.record_failed.store(true, Ordering::Relaxed);
            }
        }
        let first_close = matches!(entry.event, Event::Close { .. } | Event::Ended(_))
            && !std::mem::replace(&mut state.close_said, true);
        let changed = state.watch.next_deadline() != before;
        drop(state);
        say_entry(shared, &entry, frame, first_close);
        for finding in &findings {
            say_finding(shared, finding);
        }
        {
            let mut tally = shared.tally.lock().unwrap_or_else(|e| e.into_inner());
            transcript::count(&mut tally, &entry);
            tally.add(&findings);
        }
        if changed {
            self.deadline_changed.notify_one();
        }
    }

    /// Forwards a message to `to`; false when that side is gone.
    async fn send(&self, to: Direction, message: Message) -> bool {
        let sink = match to {
            Direction::Client => &self.client,
            Direction::Server => &self.server,
        };
        sink.lock().await.send(message).await.is_ok()
    }

    /// Tells the sender of a dropped frame, with the protocol's documented error frame where it
    /// has one (only clients: no document gives servers an error frame to receive).
    async fn answer_dropped(&self, from: Direction, frame: &Inspected) {
        if from != Direction::Client {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let Some(error) = shared.error_frames.for_frame(&shared.ctx.validators, frame) else {
            return;
        };
        self.note(
            Party::Proxy,
            Some(Direction::Client),
            Event::Text(Cow::Borrowed(error)),
            None,
            None,
        )
        .await;
        self.send(Direction::Client, Message::text(error.to_string()))
            .await;
    }

    /// A side broke the connection (a frame over the cap, a protocol error, a reset): recorded,
    /// the side told with the close code that says why where it can still hear it, the other
    /// side closed.
    async fn broken(&self, from: Direction, error: &WsError) -> PumpEnd {
        let to = match from {
            Direction::Client => Direction::Server,
            Direction::Server => Direction::Client,
        };
        let (how, code) = match error {
            WsError::Capacity(e) => (
                format!(
                    "a frame over the proxy's cap of {} bytes ({e})",
                    self.shared.options.max_frame_bytes
                ),
                Some(CloseCode::Size),
            ),
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => (
                "the connection ended without a closing handshake".to_string(),
                None,
            ),
            WsError::Protocol(e) => (
                format!("a frame WebSocket does not allow ({e})"),
                Some(CloseCode::Protocol),
            ),
            WsError::Utf8(e) => (
                format!("a text frame that is not UTF-8 ({e})"),
                Some(CloseCode::Invalid),
            ),
            other => (format!("the connection failed: {other}"), None),
        };
        self.note(from.into(), None, Event::Ended(how.clone()), None, None)
            .await;
        if let Some(code) = code {
            let frame = CloseFrame {
                code,
                reason: crate::util::prefix(&how, 120).to_string().into(),
            };
            let close_timeout = self.shared.options.close_timeout;
            let _ =
                tokio::time::timeout(close_timeout, self.send(from, Message::Close(Some(frame))))
                    .await;
        }
        self.close_other(to, from).await;
        PumpEnd::Ended
    }

    /// Closes `to` with 1001 (going away) because `from` is gone. (1014, bad gateway, would say
    /// more to a client, but tungstenite-based clients take it for a protocol error.)
    async fn close_other(&self, to: Direction, from: Direction) {
        let code = CloseCode::Away;
        let reason = match from {
            Direction::Client => "the client went away",
            Direction::Server => "the server's connection ended",
        };
        self.note(
            Party::Proxy,
            Some(to),
            Event::Close {
                code: Some(u16::from(code)),
                reason: reason.into(),
            },
            None,
            None,
        )
        .await;
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let close_timeout = self.shared.options.close_timeout;
        let _ =
            tokio::time::timeout(close_timeout, self.send(to, Message::Close(Some(frame)))).await;
    }
}

/// Says an event on the report: frames for tools, opens and closes for people too.
fn say_entry(shared: &Shared, entry: &Entry<'_>, frame: Option<&Inspected>, first_close: bool) {
    let Some(report) = &shared.report else { return };
    let number = entry.connection;
    let who = match entry.direction {
        Party::Client => "client",
        Party::Server => "server",
        Party::Proxy => "proxy",
    };
    let base = || {
        json!({
            "connection": number,
            "seq": entry.seq,
            "ms": entry.ms,
            "direction": who,
        })
    };
    let with = |kind: &str, extra: Value| {
        let mut value = base();
        if let (Value::Object(map), Value::Object(extra)) = (&mut value, extra) {
            map.insert("kind".into(), json!(kind));
            map.extend(extra);
        }
        value
    };
    match &entry.event {
        Event::Text(text) => report.frame(|| {
            with(
                "frame",
                json!({
                    "type": "text",
                    "to": entry.to.map(side),
                    "message": frame.and_then(Inspected::message),
                    "valid": frame.map(Inspected::is_valid),
                    "bytes": text.len(),
                    "dropped": entry.dropped,
                }),
            )
        }),
        Event::Binary(_) | Event::Ping(_) | Event::Pong(_) => report.frame(|| {
            let kind = match entry.event {
                Event::Binary(_) => "binary",
                Event::Ping(_) => "ping",
                _ => "pong",
            };
            with("frame", json!({"type": kind, "dropped": entry.dropped}))
        }),
        Event::Open {
            peer,
            path,
            upstream,
        } => report.event(
            || format!("#{number} {peer} opened {path} -> {upstream}"),
            || {
                with(
                    "open",
                    json!({"peer": peer, "path": path, "upstream": upstream}),
                )
            },
        ),
        Event::Refused { status, reason } => report.event(
            || format!("#{number} refused: {reason} (HTTP {status} passed on)"),
            || with("refused", json!({"status": status, "reason": reason})),
        ),
        Event::Close { code, reason } => {
            let said = match entry.to {
                Some(to) => format!("the proxy closed the {}'s side: ", side(to)),
                None => format!("the {who} "),
            };
            let text = format!("#{number} {said}{}", describe_close(*code, reason));
            match report.format() {
                super::Format::Human if first_close || entry.to.is_some() => report.line(text),
                super::Format::Human => {}
                super::Format::Json => report.line(
                    with(
                        "close",
                        json!({"to": entry.to.map(side), "code": code, "reason": reason}),
                    )
                    .to_string(),
                ),
            }
        }
        Event::Ended(how) => report.event(
            || format!("#{number} the {who}'s connection ended: {how}"),
            || with("ended", json!({"how": how})),
        ),
    }
}

/// A payload as the record keeps it (base64); empty when nothing is recorded, as nothing else
/// reads it (the watch takes a binary frame's length from its `Inspected`).
fn for_record(shared: &Shared, bytes: &[u8]) -> String {
    match shared.record {
        Some(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        None => String::new(),
    }
}

fn say_finding(shared: &Shared, finding: &Finding) {
    if let Some(report) = &shared.report {
        report.finding(finding);
    }
}

/// Says and counts the entries of a connection that never opened (refused upstream).
async fn publish(
    shared: &Shared,
    entry: &Entry<'_>,
    frame: Option<&Inspected>,
    findings: &[Finding],
) {
    if let Some(record) = &shared.record {
        let line = serde_json::to_string(entry).unwrap_or_default();
        if !record.write(line).await {
            shared.record_failed.store(true, Ordering::Relaxed);
        }
    }
    say_entry(shared, entry, frame, false);
    for finding in findings {
        say_finding(shared, finding);
    }
    let mut tally = shared.tally.lock().unwrap_or_else(|e| e.into_inner());
    if matches!(entry.event, Event::Open { .. }) {
        tally.connections += 1;
    }
    tally.add(findings);
}

//! Hostile benchmark: the attacks of issue 13 at the scale of its table, each against a fresh
//! release build of the `reference` binary (out of process, so that its memory is its own),
//! while a client that behaves connects from another address (127.0.0.2) and times its round
//! trips. For each attack it prints the server's RSS before, at its peak and after the
//! attackers left, and the well-behaved client's p99 on its open connection and on new ones.
//!
//! Targets (issue 13): no attack raises RSS by more than the memory budget (256 MiB) plus
//! 64 MiB; the other client's p99 stays under 100 ms; once the attackers leave, RSS comes back
//! within 10% of where it was.
//!
//! `cargo bench -p agentwire-reference --bench hostile`; `HOSTILE_ONLY=<substring>` runs the
//! attacks whose name contains it. Attackers connect from 127.0.1.N (Linux routes all of
//! 127.0.0.0/8 to loopback).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentwire_reference::token_for;
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use common::{Server, mib};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The memory budget of the servers under attack (the runtime's default).
const BUDGET_MIB: u64 = 256;

/// The secret the servers check tokens with.
const SECRET: &str = "hostile-benchmark-secret";

/// The well-behaved client's machine.
const PROBE: [u8; 4] = [127, 0, 0, 2];

/// The `n`th attacking machine: 127.0.1.n.
fn attacker(n: usize) -> IpAddr {
    [127, 0, 1, (n % 250 + 1) as u8].into()
}

/// What an attack did, in a few words.
type Note = String;

/// An attack: its name, the protocol it targets, and what it does.
struct Attack {
    name: &'static str,
    protocol: &'static str,
    run: fn(Target) -> futures_util::future::BoxFuture<'static, Note>,
}

/// Where an attack aims.
#[derive(Clone)]
struct Target {
    url: String,
    addr: SocketAddr,
}

fn main() {
    let only = std::env::var("HOSTILE_ONLY").unwrap_or_default();
    let reference = env!("CARGO_BIN_EXE_reference");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "hostile: the attacks of issue 13 at the scale of its table, each against a fresh reference \
         server (release, memory budget {BUDGET_MIB} MiB); a client from 127.0.0.2 times round trips \
         on its connection (every 10 ms) and on new connections (every 200 ms) meanwhile"
    );
    println!(
        "machine: {cores} cores shared by the server, the attackers and the probe; load average {}",
        load_average()
    );
    println!(
        "RSS cold: the server just started; before: once {WARM_UP_CLIENTS} clients came, were \
         answered and left (what glibc keeps for as many connections as an attack opens)"
    );
    println!();
    println!(
        "{:<34} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}  what happened",
        "attack",
        "RSS cold",
        "RSS before",
        "RSS peak",
        "RSS after",
        "peak rise",
        "p99 conn",
        "p99 new"
    );
    let mut missed = Vec::new();
    for attack in attacks() {
        if !attack.name.contains(&only) {
            continue;
        }
        let server = Server::spawn(&[
            reference.to_string(),
            "--protocol".into(),
            attack.protocol.into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--jwt-secret".into(),
            SECRET.into(),
        ]);
        let target = Target {
            url: server.url.clone(),
            addr: server.addr(),
        };
        let outcome = runtime.block_on(measure(&server, &attack, target));
        server.stop();
        let rise = outcome.peak.saturating_sub(outcome.before);
        let p99_conn = percentile(&outcome.round_trips, 99.0);
        let p99_new = percentile(&outcome.new_connections, 99.0);
        println!(
            "{:<34} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}  {}",
            attack.name,
            mib(outcome.cold),
            mib(outcome.before),
            mib(outcome.peak),
            mib(outcome.after),
            mib(rise),
            millis(p99_conn),
            millis(p99_new),
            outcome.note
        );
        if rise > (BUDGET_MIB + 64) * 1024 {
            missed.push(format!("{}: RSS rose by {}", attack.name, mib(rise)));
        }
        if p99_conn.max(p99_new) >= Duration::from_millis(100) || outcome.probe_failures > 0 {
            missed.push(format!(
                "{}: p99 {} / {}, {} probe failures",
                attack.name,
                millis(p99_conn),
                millis(p99_new),
                outcome.probe_failures
            ));
        }
        if outcome.after as f64 > outcome.before as f64 * 1.1 {
            missed.push(format!(
                "{}: RSS after {} (before {})",
                attack.name,
                mib(outcome.after),
                mib(outcome.before)
            ));
        }
    }
    println!();
    println!("load average at the end: {}", load_average());
    if missed.is_empty() {
        println!(
            "targets met: every rise within the budget + 64 MiB, every p99 under 100 ms, RSS back within 10%"
        );
    } else {
        println!("targets missed:");
        for miss in missed {
            println!("  {miss}");
        }
    }
}

/// What one attack measured.
struct Outcome {
    cold: u64,
    before: u64,
    peak: u64,
    after: u64,
    round_trips: Vec<Duration>,
    new_connections: Vec<Duration>,
    probe_failures: u64,
    note: Note,
}

/// Clients that come, are answered and go before an attack, so that "before" is a server that
/// has served as many connections as an attack opens (glibc's malloc keeps what their buffers
/// took, about 20 KiB a connection, for the next ones).
const WARM_UP_CLIENTS: usize = 1000;

async fn measure(server: &Server, attack: &Attack, target: Target) -> Outcome {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cold = server.memory().rss;
    warm_up(attack.protocol, &target).await;
    // The probe's connection is open before the attack starts.
    let probe = Probe::start(attack.protocol, target.clone()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.memory().rss;
    let pid = server.pid();
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let (sampling, peak) = (Arc::clone(&sampling), Arc::clone(&peak));
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_of(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let note = (attack.run)(target).await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    let hwm = server.memory().hwm;
    let (round_trips, new_connections, probe_failures) = probe.stop().await;
    // The attackers are gone: RSS once it stops falling (at most 10 s).
    let mut after = server.memory().rss;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = server.memory().rss;
        if now + 256 >= after {
            after = now;
            break;
        }
        after = now;
    }
    Outcome {
        cold,
        before,
        // VmHWM catches what the samples miss; the process is new, so it is this attack's.
        peak: peak.load(Ordering::Relaxed).max(hwm),
        after,
        round_trips,
        new_connections,
        probe_failures,
        note,
    }
}

/// [`WARM_UP_CLIENTS`] clients from 10 addresses of their own, each answered once.
async fn warm_up(protocol: &'static str, target: &Target) {
    let request = request(protocol).to_string();
    let gate = Arc::new(Semaphore::new(64));
    let clients = (0..WARM_UP_CLIENTS).map(|i| {
        let (gate, request) = (Arc::clone(&gate), request.clone());
        async move {
            let _permit = gate.acquire().await.ok()?;
            let ip: IpAddr = [127, 0, 2, (i % 10) as u8 + 1].into();
            let mut ws = ready_client(protocol, target, ip, &format!("warm-{i}")).await?;
            round_trip(&mut ws, &request).await?;
            Some(ws)
        }
    });
    // All connected at once, then all gone.
    let connected: Vec<Ws> = join_all(clients).await.into_iter().flatten().collect();
    for mut ws in connected {
        let _ = ws.close(None).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A WebSocket client from `ip`, with `query` appended to the URL.
async fn connect_from(target: &Target, ip: IpAddr, query: &str) -> Option<Ws> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(ip, 0)).ok()?;
    let stream = tokio::time::timeout(Duration::from_secs(5), socket.connect(target.addr))
        .await
        .ok()?
        .ok()?;
    let _ = stream.set_nodelay(true);
    let url = format!("{}{query}", target.url);
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)),
    )
    .await
    .ok()?
    .ok()?;
    Some(ws)
}

/// A valid token for `protocol`'s URL, if it needs one.
fn token_query(protocol: &str, subject: &str) -> String {
    match protocol {
        "socializer" | "generalbots" => format!("?token={}", token_for(subject, SECRET)),
        _ => String::new(),
    }
}

/// A request `protocol` answers with one frame.
fn request(protocol: &str) -> Value {
    match protocol {
        "rixa" => json!({"type": "get_chat_modes"}),
        "datagram" => json!({"msg": "ping", "cid": "probe", "content": null}),
        "generalbots-meet" => json!({"type": "join", "room_id": "probe", "participant_name": "p"}),
        "socializer" => json!({"content": "hi"}),
        _ => json!({"type": "ping"}),
    }
}

/// The next text frame, within `wait`.
async fn next_text(ws: &mut Ws, wait: Duration) -> Option<String> {
    tokio::time::timeout(wait, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => return Some(text.as_str().to_owned()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// The code of the close frame the server sends within `wait`, skipping other frames.
async fn close_code(ws: &mut Ws, wait: Duration) -> Option<u16> {
    tokio::time::timeout(wait, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// A client connected past its greeting, from `ip`.
async fn ready_client(protocol: &str, target: &Target, ip: IpAddr, subject: &str) -> Option<Ws> {
    let mut ws = connect_from(target, ip, &token_query(protocol, subject)).await?;
    if matches!(protocol, "socializer" | "generalbots") {
        next_text(&mut ws, Duration::from_secs(5)).await?;
    }
    Some(ws)
}

/// One request and its answer: the time it took, or `None`.
async fn round_trip(ws: &mut Ws, request: &str) -> Option<Duration> {
    let started = Instant::now();
    ws.send(Message::text(request)).await.ok()?;
    next_text(ws, Duration::from_secs(2)).await?;
    Some(started.elapsed())
}

/// The well-behaved client: round trips on its connection every 10 ms, and a new connection
/// with its first answer every 200 ms. It runs on a thread and runtime of its own, so that its
/// times are not those of the attackers' tasks queued in the benchmark's runtime.
struct Probe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Timings>,
}

/// Round trips on the open connection, new connections' first answers, and failures.
type Timings = (Vec<Duration>, Vec<Duration>, u64);

impl Probe {
    async fn start(protocol: &'static str, target: Target) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (connected, ready) = tokio::sync::oneshot::channel();
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(probe(protocol, target, stop, connected))
            })
        };
        ready.await.expect("the probe connects before the attack");
        Self { stop, thread }
    }

    async fn stop(self) -> Timings {
        self.stop.store(true, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || self.thread.join().unwrap_or_default())
            .await
            .unwrap_or_default()
    }
}

async fn probe(
    protocol: &'static str,
    target: Target,
    stop: Arc<AtomicBool>,
    connected: tokio::sync::oneshot::Sender<()>,
) -> Timings {
    let request = request(protocol).to_string();
    let Some(mut ws) = ready_client(protocol, &target, PROBE.into(), "probe").await else {
        return Timings::default();
    };
    let _ = connected.send(());
    let steady = async {
        let (mut times, mut failures) = (Vec::new(), 0);
        while !stop.load(Ordering::Relaxed) {
            match round_trip(&mut ws, &request).await {
                Some(time) => times.push(time),
                None => failures += 1,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (times, failures)
    };
    let fresh = async {
        let (mut times, mut failures) = (Vec::new(), 0);
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let answered = async {
                let mut ws = ready_client(protocol, &target, PROBE.into(), "probe").await?;
                round_trip(&mut ws, &request).await?;
                let _ = ws.close(None).await;
                Some(())
            }
            .await;
            match answered {
                Some(()) => times.push(started.elapsed()),
                None => failures += 1,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (times, failures)
    };
    let ((steady, a), (fresh, b)) = tokio::join!(steady, fresh);
    (steady, fresh, a + b)
}

/// A masked client frame, encoded by tungstenite.
fn raw_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        is_final: true,
        opcode,
        mask: Some([0x11, 0x22, 0x33, 0x44]),
        ..FrameHeader::default()
    };
    let mut out = Vec::new();
    Frame::from_payload(header, payload.to_vec().into())
        .format(&mut out)
        .expect("a frame formats into a vector");
    out
}

/// Writes raw bytes under the WebSocket layer; `false` once the server hung up or stopped
/// reading for 2 s.
async fn write_raw(ws: &mut Ws, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ws.get_mut().write_all(bytes)).await,
        Ok(Ok(()))
    )
}

fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            name: "ping flood, pongs never read",
            protocol: "rixa",
            run: |t| Box::pin(ping_flood(t)),
        },
        Attack {
            name: "40 creates, settings 1 MB",
            protocol: "datagram",
            run: |t| Box::pin(padded_settings(t)),
        },
        Attack {
            name: "10,050 silent WS from one IP",
            protocol: "datagram",
            run: |t| Box::pin(silent_connections(t)),
        },
        Attack {
            name: "12,000 sockets, no upgrade",
            protocol: "rixa",
            run: |t| Box::pin(no_upgrade(t)),
        },
        Attack {
            name: "1,000 x 4 MB unfinished frames",
            protocol: "datagram",
            run: |t| Box::pin(unfinished_frames(t)),
        },
        Attack {
            name: "7 IPs x 100 conns x 16 rooms",
            protocol: "generalbots-meet",
            run: |t| Box::pin(room_grab(t)),
        },
        Attack {
            name: "99 deaf members, 60 KB rejoins",
            protocol: "generalbots-meet",
            run: |t| Box::pin(deaf_members(t)),
        },
        Attack {
            name: "6 KB chats with a subscriber",
            protocol: "generalbots",
            run: |t| Box::pin(subscriber_stream(t)),
        },
        Attack {
            name: "10,200 session creates",
            protocol: "datagram",
            run: |t| Box::pin(session_churn(t)),
        },
        Attack {
            name: "a token expiring while open",
            protocol: "generalbots",
            run: |t| Box::pin(expiring_token(t)),
        },
        Attack {
            name: "frames RFC 6455 forbids",
            protocol: "rixa",
            run: |t| Box::pin(forbidden_frames(t)),
        },
    ]
}

/// Pings as fast as possible, pongs never read, reconnecting whenever the server hangs up:
/// 1.08 GB in all, or 30 s.
async fn ping_flood(target: Target) -> Note {
    let burst = raw_frame(OpCode::Control(Control::Ping), &[b'p'; 125]).repeat(1024);
    let (mut sent, mut connections) = (0usize, 0);
    let started = Instant::now();
    while sent < 1_080_000_000 && started.elapsed() < Duration::from_secs(30) {
        let Some(mut ws) = connect_from(&target, attacker(0), "").await else {
            break;
        };
        connections += 1;
        while write_raw(&mut ws, &burst).await {
            sent += burst.len();
        }
    }
    format!(
        "{} MB of pings written on {connections} connections in {:.1} s, each closed (1008) past 20",
        sent / 1_000_000,
        started.elapsed().as_secs_f64()
    )
}

/// 40 `create`s with settings padded to 1 MB.
async fn padded_settings(target: Target) -> Note {
    let Some(mut ws) = connect_from(&target, attacker(0), "").await else {
        return "could not connect".into();
    };
    let create = json!({"msg": "session", "cid": "c", "content": {"request": "create",
        "settings": {"model": "m", "temperature": 0.8, "seed": 1, "padding": "x".repeat(1_000_000)}}})
    .to_string();
    let mut refused = 0;
    for _ in 0..40 {
        if ws.send(Message::text(create.clone())).await.is_err() {
            break;
        }
        if let Some(answer) = next_text(&mut ws, Duration::from_secs(10)).await
            && answer.contains("\"success\":false")
        {
            refused += 1;
        }
    }
    format!("40 MB sent; {refused} of 40 creates refused (settings over 4 KiB)")
}

/// Opens `count` WebSocket connections, the `i`th from `ip(i)`, 16 handshakes at a time;
/// returns those that opened.
async fn open_many(target: &Target, count: usize, ip: impl Fn(usize) -> IpAddr) -> Vec<Ws> {
    let gate = Arc::new(Semaphore::new(16));
    let opening = (0..count).map(|i| {
        let (target, gate, ip) = (target.clone(), Arc::clone(&gate), ip(i));
        async move {
            let _permit = gate.acquire().await.ok()?;
            connect_from(&target, ip, "").await
        }
    });
    join_all(opening).await.into_iter().flatten().collect()
}

/// 10,050 WebSocket connections from one address, held 3 s.
async fn silent_connections(target: Target) -> Note {
    let open = open_many(&target, 10_050, |_| attacker(0)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    format!(
        "{} accepted, {} refused (100 per address)",
        open.len(),
        10_050 - open.len()
    )
}

/// 12,000 TCP connections from one address that never send the upgrade, held 3 s.
async fn no_upgrade(target: Target) -> Note {
    let mut sockets = Vec::new();
    for _ in 0..12_000 {
        let Ok(socket) = TcpSocket::new_v4() else {
            break;
        };
        if socket.bind(SocketAddr::new(attacker(0), 0)).is_err() {
            break;
        }
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(2), socket.connect(target.addr)).await
        {
            sockets.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    format!(
        "{} connected; at most 32 wait for a request, the rest closed at once",
        sockets.len()
    )
}

/// 1,000 connections (10 addresses, 100 each) each sending 4 MB of a 4 MiB frame, never the
/// rest.
async fn unfinished_frames(target: Target) -> Note {
    let open = open_many(&target, 1000, |i| attacker(i % 10)).await;
    let connected = open.len();
    let header = raw_frame(OpCode::Data(Data::Binary), &vec![0u8; 4 << 20])[..14].to_vec();
    let chunk = vec![0u8; 64 * 1024];
    let sending = open.into_iter().map(|mut ws| {
        let (header, chunk) = (header.clone(), chunk.clone());
        async move {
            if !write_raw(&mut ws, &header).await {
                return (ws, 0);
            }
            let mut sent = 0;
            while sent < 4_000_000 && write_raw(&mut ws, &chunk).await {
                sent += chunk.len();
            }
            (ws, sent)
        }
    });
    let done = join_all(sending).await;
    let sent: usize = done.iter().map(|(_, sent)| sent).sum();
    let whole = done.iter().filter(|(_, sent)| *sent >= 4_000_000).count();
    format!(
        "{connected} connected, {} MB written by them; {whole} got their 4 MB in, the others were closed (1013)",
        sent / 1_000_000
    )
}

/// 7 addresses x 100 connections x 16 joins of new rooms.
async fn room_grab(target: Target) -> Note {
    let open = open_many(&target, 700, |i| attacker(i % 7)).await;
    let joining = open.into_iter().enumerate().map(|(c, mut ws)| async move {
        let mut opened = 0;
        for room in 0..16 {
            let join =
                json!({"type": "join", "room_id": format!("{c}-{room}"), "participant_name": "x"});
            if ws.send(Message::text(join.to_string())).await.is_err() {
                break;
            }
            match next_text(&mut ws, Duration::from_secs(5)).await {
                Some(answer) if !answer.contains("\"error\"") => opened += 1,
                _ => {}
            }
        }
        (ws, opened)
    });
    let done = join_all(joining).await;
    let opened: usize = done.iter().map(|(_, n)| n).sum();
    format!("{opened} of 11,200 rooms opened (100 per address); others can still open rooms")
}

/// 99 members of a room that never read, and one re-joining with a 60 KB name (10.9 MB): every
/// rejoin is relayed to every member.
async fn deaf_members(target: Target) -> Note {
    let mut members = Vec::new();
    for i in 0..99 {
        let Some(mut ws) = connect_from(&target, attacker(i % 2), "").await else {
            continue;
        };
        let join = json!({"type": "join", "room_id": "deaf", "participant_name": "m"});
        let _ = ws.send(Message::text(join.to_string())).await;
        members.push(ws);
    }
    let Some(mut rejoiner) = connect_from(&target, attacker(3), "").await else {
        return "could not connect".into();
    };
    let join = json!({"type": "join", "room_id": "deaf", "participant_name": "n".repeat(60_000)})
        .to_string();
    let (mut answered, mut limited) = (0, 0);
    for _ in 0..180 {
        if rejoiner.send(Message::text(join.clone())).await.is_err() {
            break;
        }
        // Its own notice (the others' come first), or the rate limit's error; members that
        // were closed leave meanwhile.
        loop {
            match next_text(&mut rejoiner, Duration::from_secs(5)).await {
                Some(text) if text.len() > 60_000 => answered += 1,
                Some(text) if text.contains("RATE_LIMITED") => limited += 1,
                Some(_) => continue,
                None => {}
            }
            break;
        }
    }
    format!(
        "{} members; 10.9 MB of rejoins: {answered} relayed, {limited} over the rate limit; members closed (1013) once 256 KiB wait for them",
        members.len()
    )
}

/// An owner sends 6 KB chat messages; a subscriber reads the stream as it comes.
async fn subscriber_stream(target: Target) -> Note {
    let query = token_query("generalbots", "owner");
    let Some(mut owner) = connect_from(&target, attacker(0), &query).await else {
        return "could not connect".into();
    };
    let created = next_text(&mut owner, Duration::from_secs(5))
        .await
        .unwrap_or_default();
    let session: Value = serde_json::from_str(&created).unwrap_or_default();
    let id = session["session_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let Some(mut subscriber) = ready_client("generalbots", &target, attacker(1), "watcher").await
    else {
        return "could not connect".into();
    };
    let _ = subscriber
        .send(Message::text(
            json!({"type": "subscribe", "session_id": id}).to_string(),
        ))
        .await;
    let chat =
        json!({"type": "message", "session_id": id, "content": "a ".repeat(3000)}).to_string();
    let owner_task = tokio::spawn(async move {
        for _ in 0..40 {
            if owner.send(Message::text(chat.clone())).await.is_err() {
                break;
            }
            // The owner reads its own answers.
            loop {
                match next_text(&mut owner, Duration::from_secs(5)).await {
                    Some(text) if text.contains("bot_typing") && text.contains("false") => break,
                    Some(_) => continue,
                    None => return,
                }
            }
        }
    });
    let (mut frames, mut ends) = (0, 0);
    while ends < 40 {
        match next_text(&mut subscriber, Duration::from_secs(5)).await {
            Some(text) => {
                frames += 1;
                ends += usize::from(text.contains("stream_end"));
            }
            None => break,
        }
    }
    let _ = owner_task.await;
    format!("the subscriber read {ends} of 40 whole answers ({frames} frames), not closed")
}

/// 10,200 session creates from one address (100 connections); a session another address
/// created before must survive.
async fn session_churn(target: Target) -> Note {
    let create = |cid: String| {
        json!({"msg": "session", "cid": cid, "content": {"request": "create",
            "settings": {"model": "m", "temperature": 0.8, "seed": 1}}})
        .to_string()
    };
    let Some(mut victim) = connect_from(&target, [127, 0, 0, 3].into(), "").await else {
        return "could not connect".into();
    };
    let _ = victim.send(Message::text(create("v".into()))).await;
    let answer = next_text(&mut victim, Duration::from_secs(5))
        .await
        .unwrap_or_default();
    let kept: Value = serde_json::from_str(&answer).unwrap_or_default();
    let kept = kept["content"]["session_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    drop(victim);
    let open = open_many(&target, 100, |_| attacker(0)).await;
    let creating = open.into_iter().enumerate().map(|(c, mut ws)| {
        let create = &create;
        async move {
            let mut created = 0;
            for i in 0..102 {
                if ws
                    .send(Message::text(create(format!("{c}-{i}"))))
                    .await
                    .is_err()
                {
                    break;
                }
                // The response, then the system notice (or a refusal alone).
                match next_text(&mut ws, Duration::from_secs(10)).await {
                    Some(text) if text.contains("\"success\":true") => {
                        created += 1;
                        next_text(&mut ws, Duration::from_secs(10)).await;
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            created
        }
    });
    let created: usize = join_all(creating).await.into_iter().sum();
    let Some(mut back) = connect_from(&target, [127, 0, 0, 3].into(), "").await else {
        return format!("{created} created; the victim could not reconnect");
    };
    let resume =
        json!({"msg": "session", "cid": "r", "content": {"request": "resume", "session_id": kept}});
    let _ = back.send(Message::text(resume.to_string())).await;
    let resumed = next_text(&mut back, Duration::from_secs(5))
        .await
        .is_some_and(|t| t.contains("\"success\":true"));
    format!(
        "{created} of 10,200 created (100 an address, all in use); the other address's session {}",
        if resumed { "kept" } else { "LOST" }
    )
}

/// A token that expires 2 s after the connection opens.
async fn expiring_token(target: Target) -> Note {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 2;
    let claims = json!({"sub": "ada", "exp": exp});
    let token = agentwire_runtime::jwt::sign(&claims, SECRET.as_bytes()).unwrap_or_default();
    let Some(mut ws) = connect_from(&target, attacker(0), &format!("?token={token}")).await else {
        return "could not connect".into();
    };
    let started = Instant::now();
    match close_code(&mut ws, Duration::from_secs(5)).await {
        Some(code) => format!(
            "closed with {code} {:.1} s after opening",
            started.elapsed().as_secs_f64()
        ),
        None => "NOT closed".into(),
    }
}

/// Invalid UTF-8, a reserved opcode and a close code no one may send, each on a connection.
async fn forbidden_frames(target: Target) -> Note {
    let mut close_with_999 = u16::from(CloseCode::from(999)).to_be_bytes().to_vec();
    close_with_999.extend_from_slice(b"bye");
    let cases = [
        raw_frame(OpCode::Data(Data::Text), &[0xff, 0xfe]),
        raw_frame(OpCode::Data(Data::Reserved(3)), b"x"),
        raw_frame(OpCode::Control(Control::Close), &close_with_999),
    ];
    let mut codes = Vec::new();
    for frame in cases {
        let Some(mut ws) = connect_from(&target, attacker(0), "").await else {
            continue;
        };
        write_raw(&mut ws, &frame).await;
        let code = close_code(&mut ws, Duration::from_secs(2)).await;
        codes.push(code.map_or("dropped".to_string(), |c| c.to_string()));
    }
    format!(
        "close codes {} (invalid UTF-8, reserved opcode, close code 999)",
        codes.join(", ")
    )
}

//! Load benchmark: many concurrent clients exchanging datagram pings (`{"msg": "ping", "cid"}`,
//! answered by a pong echoing the cid) with the reference server, next to a bare
//! tokio-tungstenite echo server measured the same way in the same run: once with tungstenite's
//! defaults and once with the 8 KiB read buffer the runtime uses.
//!
//! `cargo bench -p agentwire-reference --bench load` (see reference/README.md). Both servers run
//! out of process, so that their memory (`VmRSS`, `VmHWM` of `/proc/<pid>/status`) and CPU time
//! are theirs alone: the reference server is the `reference` binary (`--rate-limit off`, the
//! per-IP limit raised), the bare server is this benchmark re-run with
//! `--bare-echo-server <read buffer bytes>`.
//! Every reply is decoded as a datagram `ServerMessage` and must echo its request's cid; a
//! reply that does not, or that does not come, fails the run.
//!
//! Settings (environment): `LOAD_CLIENTS` (1000), `LOAD_SECONDS` measured per round (10),
//! `LOAD_WARMUP_SECONDS` (2), `LOAD_ROUNDS` (2, alternating the servers).

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use agentwire_datagram::ServerMessage;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use common::{Memory, Server, mib};

const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOPPING: u8 = 2;

/// How long a client waits for a reply before counting it lost.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--bare-echo-server") {
        let read_buffer = args.get(i + 1).and_then(|b| b.parse().ok());
        bare::serve(read_buffer.unwrap_or(128 * 1024));
        return;
    }
    let clients = setting("LOAD_CLIENTS", 1000);
    let seconds = setting("LOAD_SECONDS", 10);
    let warmup = setting("LOAD_WARMUP_SECONDS", 2);
    let rounds = setting("LOAD_ROUNDS", 2);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "load: {clients} concurrent clients, datagram ping/pong with cid correlation, \
         {warmup} s warm-up + {seconds} s measured, {rounds} round(s) per server"
    );
    println!(
        "machine: {cores} cores, shared by the server under test and this load generator \
         (2 tokio workers each): the figures are for the pair, not the server alone; \
         server CPU is its own (utime + stime) over the measured window"
    );
    let reference = env!("CARGO_BIN_EXE_reference");
    let this = std::env::current_exe().expect("the benchmark's own path");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let max_conns = (clients * 2).to_string();
    let bare = |read_buffer: usize| {
        vec![
            this.display().to_string(),
            "--bare-echo-server".into(),
            read_buffer.to_string(),
        ]
    };
    let servers: [(&str, Vec<String>); 3] = [
        // tungstenite's defaults (a 128 KiB read buffer per connection).
        ("bare echo", bare(128 * 1024)),
        // The read buffer the runtime uses.
        ("bare 8 KiB", bare(8 * 1024)),
        (
            "reference",
            vec![
                reference.to_string(),
                "--protocol".into(),
                "datagram".into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--rate-limit".into(),
                "off".into(),
                "--max-connections-per-ip".into(),
                max_conns,
            ],
        ),
    ];
    println!();
    println!(
        "{:<11} {:>5} {:>10} {:>11} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10} {:>6} {:>5} {:>7}",
        "server",
        "round",
        "msgs/s",
        "msgs/CPU-s",
        "p50 µs",
        "p99 µs",
        "RSS idle",
        "RSS conn.",
        "RSS load",
        "VmHWM",
        "CPU %",
        "lost",
        "invalid"
    );
    let mut totals = [0f64; 3];
    let mut per_cpu = [0f64; 3];
    let mut failures = 0;
    for round in 1..=rounds {
        for (i, (name, command)) in servers.iter().enumerate() {
            let server = Server::spawn(command);
            let idle = server.memory();
            let outcome = runtime.block_on(run(
                &server,
                clients,
                Duration::from_secs(warmup),
                Duration::from_secs(seconds),
            ));
            let after = server.memory();
            server.stop();
            // VmHWM is updated lazily; the samples may be above it.
            let peak = [idle, outcome.connected, outcome.loaded, after]
                .iter()
                .map(|m| m.hwm.max(m.rss))
                .max()
                .unwrap_or(0);
            let rate = outcome.replies as f64 / outcome.window.as_secs_f64();
            totals[i] += rate;
            let efficiency = rate / outcome.server_cpu.max(f64::EPSILON);
            per_cpu[i] += efficiency;
            failures += outcome.lost + outcome.invalid;
            println!(
                "{:<11} {:>5} {:>10.0} {:>11.0} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10} {:>6.0} {:>5} {:>7}",
                name,
                round,
                rate,
                efficiency,
                outcome.percentile(50.0),
                outcome.percentile(99.0),
                mib(idle.rss),
                mib(outcome.connected.rss),
                mib(outcome.loaded.rss),
                mib(peak),
                outcome.server_cpu * 100.0,
                outcome.lost,
                outcome.invalid
            );
        }
    }
    let mean = |i: usize| totals[i] / rounds as f64;
    let cpu = |i: usize| per_cpu[i] / rounds as f64;
    let ratio = mean(2) / mean(1);
    println!();
    println!(
        "mean msgs/s: bare echo {:.0}, bare 8 KiB {:.0}, reference {:.0}",
        mean(0),
        mean(1),
        mean(2)
    );
    println!(
        "reference / bare 8 KiB (the same read buffer): {ratio:.2} (target ≥ 0.70: {}); \
         reference / bare echo (tungstenite's defaults): {:.2}",
        if ratio >= 0.7 { "met" } else { "missed" },
        mean(2) / mean(0)
    );
    println!(
        "messages per second of server CPU: bare echo {:.0}, bare 8 KiB {:.0}, reference {:.0}; \
         reference / bare 8 KiB {:.2}",
        cpu(0),
        cpu(1),
        cpu(2),
        cpu(2) / cpu(1)
    );
    assert_eq!(failures, 0, "lost or invalid replies");
    println!("every reply decoded as a datagram pong echoing its cid; none lost");
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Clock ticks per second of /proc/<pid>/stat.
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// What one client saw.
#[derive(Default)]
struct ClientStats {
    replies: u64,
    lost: u64,
    invalid: u64,
    latencies: Vec<u32>,
}

/// What a round measured.
struct Outcome {
    window: Duration,
    replies: u64,
    lost: u64,
    invalid: u64,
    latencies: Vec<u32>,
    connected: Memory,
    loaded: Memory,
    /// Server CPU seconds per second of the window (1.0 = one core).
    server_cpu: f64,
}

impl Outcome {
    fn percentile(&self, p: f64) -> u32 {
        if self.latencies.is_empty() {
            return 0;
        }
        let i = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[i]
    }
}

async fn run(server: &Server, clients: u64, warmup: Duration, window: Duration) -> Outcome {
    // Connect everyone first, a few handshakes at a time: fewer than the runtime allows under
    // way from one address (32).
    let handshakes = Arc::new(Semaphore::new(16));
    let mut connecting = Vec::new();
    for _ in 0..clients {
        let url = server.url.clone();
        let handshakes = Arc::clone(&handshakes);
        connecting.push(tokio::spawn(async move {
            let _permit = handshakes.acquire().await.expect("open semaphore");
            tokio_tungstenite::connect_async_with_config(url, None, true)
                .await
                .expect("the handshake succeeds")
                .0
        }));
    }
    let mut sockets = Vec::new();
    for task in connecting {
        sockets.push(task.await.expect("the connecting task"));
    }
    let connected = server.memory();

    let phase = Arc::new(AtomicU8::new(WARMING));
    let mut running = Vec::new();
    for (n, mut ws) in sockets.into_iter().enumerate() {
        let phase = Arc::clone(&phase);
        running.push(tokio::spawn(async move {
            let mut stats = ClientStats::default();
            let mut seq = 0u64;
            loop {
                let at_send = phase.load(Ordering::Relaxed);
                if at_send == STOPPING {
                    break;
                }
                seq += 1;
                let cid = format!("{n}-{seq}");
                let ping = format!(r#"{{"msg":"ping","cid":"{cid}","content":null}}"#);
                let sent = Instant::now();
                if ws.send(Message::text(ping)).await.is_err() {
                    stats.lost += 1;
                    break;
                }
                let reply = loop {
                    match tokio::time::timeout(REPLY_TIMEOUT, ws.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => break Some(text),
                        Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                        _ => break None,
                    }
                };
                let Some(text) = reply else {
                    stats.lost += 1;
                    break;
                };
                let elapsed = sent.elapsed();
                let valid = matches!(
                    ServerMessage::from_json(text.as_str()),
                    Ok(ServerMessage::Pong(pong)) if pong.cid == cid
                );
                if !valid {
                    stats.invalid += 1;
                    continue;
                }
                if at_send == MEASURING && phase.load(Ordering::Relaxed) == MEASURING {
                    stats.replies += 1;
                    stats
                        .latencies
                        .push(elapsed.as_micros().min(u32::MAX as u128) as u32);
                }
            }
            let _ = ws.close(None).await;
            stats
        }));
    }
    tokio::time::sleep(warmup).await;
    let ticks = ticks_per_second();
    let cpu_before = server.cpu_ticks();
    let started = Instant::now();
    phase.store(MEASURING, Ordering::Relaxed);
    tokio::time::sleep(window).await;
    phase.store(STOPPING, Ordering::Relaxed);
    let window = started.elapsed();
    let cpu = (server.cpu_ticks() - cpu_before) as f64 / ticks;
    let loaded = server.memory();

    let mut outcome = Outcome {
        window,
        replies: 0,
        lost: 0,
        invalid: 0,
        latencies: Vec::new(),
        connected,
        loaded,
        server_cpu: cpu / window.as_secs_f64(),
    };
    for task in running {
        let stats = task.await.expect("a client task");
        outcome.replies += stats.replies;
        outcome.lost += stats.lost;
        outcome.invalid += stats.invalid;
        outcome.latencies.extend(stats.latencies);
    }
    outcome.latencies.sort_unstable();
    outcome
}

/// The bare server: tokio-tungstenite, echoing every text message, nothing else; its read
/// buffer is the one argument.
mod bare {
    use futures_util::{SinkExt, StreamExt};
    use tokio::net::TcpListener;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

    pub fn serve(read_buffer: usize) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            let addr = listener.local_addr().expect("an address");
            println!("listening on ws://{addr}/");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let config = WebSocketConfig::default().read_buffer_size(read_buffer);
                    let accepted =
                        tokio_tungstenite::accept_async_with_config(stream, Some(config)).await;
                    let Ok(mut ws) = accepted else {
                        return;
                    };
                    while let Some(Ok(message)) = ws.next().await {
                        let echoed = match message {
                            Message::Text(text) => ws.send(Message::Text(text)).await,
                            Message::Close(_) => break,
                            _ => Ok(()),
                        };
                        if echoed.is_err() {
                            break;
                        }
                    }
                });
            }
        });
    }
}

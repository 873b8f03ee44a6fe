//! `conformance proxy` under load, beside a bare tokio-tungstenite forwarder with the same buffers
//! (`proxy::buffers`), in one run: 1,000 clients each holding a connection through it to the
//! datagram reference server (in this process, rate and connection limits off), sending `ping`s
//! answered by `pong`s. The proxy validates both directions and follows every answer; it writes
//! no output.
//!
//! - Throughput: every client sends its next ping as soon as its pong is back (1,000 in flight),
//!   for 5 s after 1 s of warm-up: round trips (requests) per second.
//! - Latency at 1,000 requests per second: every client sends one ping a second, the clients
//!   staggered over the second, for 10 s: p50 and p99 round-trip time directly to the server,
//!   through the bare forwarder and through the proxy; "added" is the difference with direct.
//!
//! `cargo bench -p agentwire-conformance --bench proxy` prints the figures and the load average
//! before and after (the machine may be shared: compare runs at similar loads).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agentwire_conformance::proxy::{Options, Proxy, Upstream, buffers};
use agentwire_conformance::schemas::Schemas;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const CLIENTS: usize = 1000;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
const PACED_SECONDS: u32 = 10;
const MAX_FRAME_BYTES: usize = 1 << 20;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench());
}

async fn bench() {
    println!(
        "proxy benchmark: datagram ping/pong, {CLIENTS} clients, the reference server in process \
         (rate and connection limits off), 2 runtime threads"
    );
    println!("load average before: {}", load());
    let mut options = agentwire_reference::Options::new("datagram").expect("datagram");
    options.config.rate_limit = None;
    options.config.max_connections = None;
    options.config.max_connections_per_ip = None;
    // The clients connect 100 at a time, all from one address.
    options.config.max_handshakes_per_ip = 1024;
    options.config.max_handshakes = 1024;
    let server = agentwire_reference::start(options, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("the reference server starts");
    let direct = format!("ws://{}", server.addr);
    let bare = start_bare(&direct).await;
    let schemas = Schemas::embedded().expect("schemas");
    let upstream = Upstream::parse(&direct).expect("upstream");
    let proxy = Proxy::bind(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        &schemas,
        Options::new("datagram", upstream),
        None,
        None,
    )
    .await
    .expect("the proxy binds");
    let proxied = format!("ws://{}", proxy.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(proxy.run(async {
        let _ = stopped.await;
    }));

    println!("throughput ({CLIENTS} clients, each with one ping in flight, {MEASURE:?}):");
    let bare_rate = throughput(&bare).await;
    let proxy_rate = throughput(&proxied).await;
    println!("  bare forwarder   {bare_rate:>9.0} round trips/s");
    println!(
        "  proxy            {proxy_rate:>9.0} round trips/s  = {:.2} x the bare forwarder (target >= 0.70)",
        proxy_rate / bare_rate
    );

    println!(
        "latency at {CLIENTS} requests/s ({CLIENTS} clients x 1 ping/s, staggered, {PACED_SECONDS} s):"
    );
    let base = paced(&direct).await;
    let through_bare = paced(&bare).await;
    let through_proxy = paced(&proxied).await;
    let (p50, p99) = (percentile(&base, 0.50), percentile(&base, 0.99));
    println!(
        "  direct           p50 {:>7.3} ms   p99 {:>7.3} ms",
        ms(p50),
        ms(p99)
    );
    for (label, samples) in [("bare forwarder", &through_bare), ("proxy", &through_proxy)] {
        let (q50, q99) = (percentile(samples, 0.50), percentile(samples, 0.99));
        println!(
            "  {label:<16} p50 {:>7.3} ms   p99 {:>7.3} ms   added p50 {:>6.3} ms, p99 {:>6.3} ms{}",
            ms(q50),
            ms(q99),
            ms(q50) - ms(p50),
            ms(q99) - ms(p99),
            if label == "proxy" {
                " (target < 1 ms)"
            } else {
                ""
            }
        );
    }
    let _ = stop.send(());
    let tally = running
        .await
        .expect("the proxy task")
        .expect("the proxy stops");
    println!(
        "the proxy judged {} client and {} server frames on {} connections; findings: client {} failed, server {} failed",
        tally.client_frames,
        tally.server_frames,
        tally.connections,
        tally.client.failed,
        tally.server.failed
    );
    println!("load average after: {}", load());
    server.stop().await.expect("the server stops");
}

/// A bare forwarder: every client's frames to `upstream` and back, nothing judged, with the
/// proxy's buffers.
async fn start_bare(upstream: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let upstream = upstream.to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let config = buffers(MAX_FRAME_BYTES);
                let Ok(client) =
                    tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
                else {
                    return;
                };
                let Ok((server, _)) = tokio_tungstenite::connect_async_with_config(
                    upstream.as_str(),
                    Some(config),
                    true,
                )
                .await
                else {
                    return;
                };
                let (mut client_tx, mut client_rx) = client.split();
                let (mut server_tx, mut server_rx) = server.split();
                let up = async {
                    while let Some(Ok(message)) = client_rx.next().await {
                        let close = message.is_close();
                        if server_tx.send(message).await.is_err() || close {
                            break;
                        }
                    }
                };
                let down = async {
                    while let Some(Ok(message)) = server_rx.next().await {
                        let close = message.is_close();
                        if client_tx.send(message).await.is_err() || close {
                            break;
                        }
                    }
                };
                tokio::join!(up, down);
            });
        }
    });
    url
}

/// Opens the clients, 100 at a time.
async fn connect_all(url: &str) -> Vec<Client> {
    let mut clients = Vec::with_capacity(CLIENTS);
    while clients.len() < CLIENTS {
        let batch = (CLIENTS - clients.len()).min(100);
        let opened = futures_util::future::join_all((0..batch).map(|_| async {
            tokio_tungstenite::connect_async(url)
                .await
                .expect("a client connects")
                .0
        }))
        .await;
        clients.extend(opened);
    }
    clients
}

/// One ping and its pong; false when the connection failed.
async fn round_trip(ws: &mut Client, cid: u64) -> bool {
    let ping = format!(r#"{{"msg":"ping","cid":"c{cid}","content":null}}"#);
    if ws.send(Message::text(ping)).await.is_err() {
        return false;
    }
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(_))) => return true,
            Some(Ok(_)) => {}
            _ => return false,
        }
    }
}

/// Round trips per second with every client looping.
async fn throughput(url: &str) -> f64 {
    let clients = connect_all(url).await;
    let counted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let (from, until) = (started + WARM_UP, started + WARM_UP + MEASURE);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut cid = 0u64;
                while Instant::now() < until {
                    if !round_trip(&mut ws, cid).await {
                        break;
                    }
                    cid += 1;
                    if Instant::now() >= from {
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let _ = ws.close(None).await;
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    counted.load(Ordering::Relaxed) as f64 / MEASURE.as_secs_f64()
}

/// Round-trip times with every client sending one ping a second, staggered.
async fn paced(url: &str) -> Vec<Duration> {
    let clients = connect_all(url).await;
    let started = Instant::now() + Duration::from_millis(200);
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            tokio::spawn(async move {
                let offset = Duration::from_secs(1) * i as u32 / CLIENTS as u32;
                let mut times = Vec::with_capacity(PACED_SECONDS as usize);
                for second in 0..PACED_SECONDS {
                    tokio::time::sleep_until(started + offset + Duration::from_secs(second.into()))
                        .await;
                    let sent = Instant::now();
                    if !round_trip(&mut ws, second.into()).await {
                        break;
                    }
                    times.push(sent.elapsed());
                }
                let _ = ws.close(None).await;
                times
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap_or_default());
    }
    samples.sort();
    samples
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

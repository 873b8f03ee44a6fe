//! `conformance proxy`: sits between a real client and a real server, forwards every frame both
//! ways unchanged, and judges both sides live against the protocol's documents, the way `run`
//! judges a server: every frame against its direction's schema, answers followed (correlation,
//! streams, budgets), closes. Optionally it records a transcript (`--record`) that
//! `conformance validate` judges again, and drops invalid frames (`--enforce`).
//!
//! - [`handshake`]: the client's upgrade request, the upstream's handshake, the answer.
//! - [`relay`]: one proxied connection: two pumps, the watch, the record.
//! - [`enforce`]: the documented error frame that answers a dropped frame.
//! - [`output`]: stdout and the transcript file, each behind a bounded queue.
//!
//! Never the weak link: each connection has bounded buffers (a side that does not read slows its
//! own peer, through TCP, and nobody else), frames are capped at `--max-frame-bytes`, the client's
//! request head, the upstream's handshake and every close have deadlines, and Ctrl-C closes both
//! sides of every connection with 1001 and flushes the record.

pub mod enforce;
pub mod handshake;
pub mod output;
pub mod relay;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use agentwire_spec::protocol::AuthMethod;
use anyhow::{Context as _, Result, anyhow};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch as signal};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::report::Tool;
use crate::schemas::Schemas;
use crate::transcript::{Budgets, Header, MAGIC, VERSION};
use crate::watch::{Context, Tally};

pub use enforce::ErrorFrames;
pub use handshake::Upstream;
pub use output::{Format, Record, Report};

/// How long the rest of the shutdown may take once every connection was asked to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// How long accepting pauses when the process has no file descriptor left.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The protocol to judge the traffic against.
    pub protocol: String,
    /// Where to connect for each client.
    pub upstream: Upstream,
    /// Headers added to every upstream handshake (`--header`).
    pub headers: Vec<(String, String)>,
    /// Drop frames invalid against their direction's schema (`--enforce`).
    pub enforce: bool,
    /// Largest frame taken from either side.
    pub max_frame_bytes: usize,
    /// The budget of answers the server's own logic produces.
    pub control: Duration,
    /// The budget of answers a model generates.
    pub generated: Duration,
    /// Deadline of the client's request head and of the upstream's handshake.
    pub connect_timeout: Duration,
    /// Deadline of a closing handshake.
    pub close_timeout: Duration,
    /// Most connections proxied at once.
    pub max_connections: usize,
}

impl Options {
    /// Options with the suite's defaults: 1 MiB frames, the budgets of `run`, 5 s to connect, 2 s
    /// to close, 10,000 connections.
    pub fn new(protocol: &str, upstream: Upstream) -> Self {
        let run = crate::runner::RunOptions::default();
        Self {
            protocol: protocol.to_string(),
            upstream,
            headers: Vec::new(),
            enforce: false,
            max_frame_bytes: run.max_frame_bytes,
            control: run.timeout,
            generated: run.reply_timeout,
            connect_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(2),
            max_connections: 10_000,
        }
    }
}

/// The buffers of each side of a proxied connection: frames and messages capped, 16 KiB read at
/// a time, every frame written out at once, and at most two frames' worth waiting to be written.
/// The benchmark's bare forwarder uses the same.
pub fn buffers(max_frame_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 << 10)
        .write_buffer_size(0)
        .max_write_buffer_size(2 * max_frame_bytes + (16 << 10))
        .max_message_size(Some(max_frame_bytes))
        .max_frame_size(Some(max_frame_bytes))
}

/// What every connection of a proxy shares.
#[derive(Debug)]
pub struct Shared {
    ctx: Arc<Context>,
    options: Options,
    config: WebSocketConfig,
    error_frames: ErrorFrames,
    /// Query parameters that carry a credential: redacted in the record and the report.
    secrets: Vec<String>,
    started: Instant,
    started_wall: SystemTime,
    report: Option<Report>,
    record: Option<Record>,
    record_failed: AtomicBool,
    tally: Mutex<Tally>,
    next_connection: AtomicU64,
}

impl Shared {
    /// The time since the proxy started, to the microsecond (the transcript's resolution).
    fn now(&self) -> Duration {
        Duration::from_micros(self.started.elapsed().as_micros() as u64)
    }

    /// The wall-clock time of `at`, RFC 3339 in UTC.
    fn timestamp(&self, at: Duration) -> String {
        rfc3339(self.started_wall + at)
    }
}

fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A proxy bound to its address, not yet accepting.
#[derive(Debug)]
pub struct Proxy {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Binds `listen` and prepares the protocol's judging. `report` and `record` say where it
    /// writes; neither is needed (the benchmark runs without).
    pub async fn bind(
        listen: SocketAddr,
        schemas: &Schemas,
        options: Options,
        report: Option<Report>,
        record: Option<&std::path::Path>,
    ) -> Result<Self> {
        let protocol = schemas
            .protocol(&options.protocol)
            .ok_or_else(|| anyhow!("unknown protocol {:?}", options.protocol))?;
        let validators = schemas
            .validators(&options.protocol)
            .expect("a known protocol");
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let started = Instant::now();
        let started_wall = SystemTime::now();
        let record = match record {
            Some(path) => Some(Record::create(
                path,
                &Header {
                    transcript: MAGIC.into(),
                    version: VERSION,
                    protocol: options.protocol.clone(),
                    upstream: options.upstream.shown(),
                    started: rfc3339(started_wall),
                    budgets: Budgets {
                        control_ms: options.control.as_millis() as u64,
                        generated_ms: options.generated.as_millis() as u64,
                    },
                    tool: Tool::default(),
                },
            )?),
            None => None,
        };
        let secrets = protocol
            .description
            .auth
            .iter()
            .flat_map(|auth| &auth.methods)
            .filter_map(|m| match m {
                AuthMethod::QueryParameter { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        let ctx = Arc::new(Context {
            description: protocol.description.clone(),
            validators: Arc::clone(&validators),
            control: options.control,
            generated: options.generated,
        });
        let shared = Shared {
            ctx,
            config: buffers(options.max_frame_bytes),
            error_frames: ErrorFrames::new(protocol, &validators),
            options,
            secrets,
            started,
            started_wall,
            report,
            record,
            record_failed: AtomicBool::new(false),
            tally: Mutex::new(Tally::default()),
            next_connection: AtomicU64::new(1),
        };
        Ok(Self {
            listener,
            shared: Arc::new(shared),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The first line the proxy prints: `proxying ws://ADDR -> UPSTREAM`.
    pub fn banner(&self) -> Result<String> {
        Ok(format!(
            "proxying ws://{} -> {}",
            self.local_addr()?,
            self.shared.options.upstream.shown()
        ))
    }

    /// Says `line` on the report first (the banner).
    pub fn say(&self, line: String) {
        if let Some(report) = &self.shared.report {
            report.line(line);
        }
    }

    /// Accepts and proxies clients until `shutdown` completes; then closes both sides of every
    /// connection with 1001, flushes the record, says the summary, and returns the counts.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<Tally> {
        let (stop, stopping) = signal::channel(false);
        let permits = Arc::new(Semaphore::new(self.shared.options.max_connections));
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let shared = Arc::clone(&self.shared);
                        let permit = Arc::clone(&permits).try_acquire_owned().ok();
                        tasks.spawn(relay::serve(shared, stream, peer, permit, stopping.clone()));
                    }
                    // Out of file descriptors, or a connection reset before it was accepted.
                    Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                },
            }
        }
        drop(self.listener);
        let _ = stop.send(true);
        let grace = self.shared.options.connect_timeout
            + 2 * self.shared.options.close_timeout
            + SHUTDOWN_GRACE;
        if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        // An aborted connection's own tasks end at their next turn.
        let mut shared = self.shared;
        for _ in 0..100 {
            match Arc::try_unwrap(shared) {
                Ok(alone) => return finish(alone).await,
                Err(still) => shared = still,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(anyhow!("a connection outlived the proxy's shutdown"))
    }
}

/// Flushes the record, says the summary, and returns the counts.
async fn finish(shared: Shared) -> Result<Tally> {
    let tally = *shared.tally.lock().unwrap_or_else(|e| e.into_inner());
    let record_failed = shared.record_failed.load(Ordering::Relaxed);
    let recorded = match shared.record {
        Some(record) => tokio::task::spawn_blocking(move || record.finish())
            .await
            .map_err(|e| anyhow!("the record's writer: {e}"))?
            .context("writing the record"),
        None => Ok(()),
    };
    if let Some(report) = shared.report {
        tokio::task::spawn_blocking(move || report.finish(&tally))
            .await
            .map_err(|e| anyhow!("the report's writer: {e}"))?;
    }
    recorded?;
    if record_failed {
        return Err(anyhow!("the record could not be written to the end"));
    }
    Ok(tally)
}

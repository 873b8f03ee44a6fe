//! The `conformance proxy` subcommand: its arguments, and running a proxy until Ctrl-C (or
//! SIGTERM). Exit codes as everywhere: 0 when nothing failed, 1 when a finding failed, 2 for a
//! usage error (an address that cannot be listened on, an upstream that is no WebSocket URL, an
//! unusable `--ca-cert`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Parser;

use super::{SimpleFormat, TlsArgs, check_protocol, headers, usage};
use crate::proxy::{Format, Options, Proxy, Report, Upstream};
use crate::schemas::Schemas;
use crate::transcript::MAX_RECORDED_FRAME_BYTES;

/// Longest the process waits, once the proxy has stopped, for work still under way.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Arguments of `proxy`.
#[derive(Debug, Parser)]
pub struct ProxyArgs {
    /// The protocol to judge the traffic against.
    #[arg(long)]
    pub protocol: String,
    /// Where clients connect, HOST:PORT (port 0 picks a free one; the first line says which).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The server, ws://HOST:PORT or wss://HOST:PORT (with a path prefix if it needs one): each
    /// client's path and query follow. Clients connect to the proxy over plain ws://.
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Write a transcript (JSON Lines) that `conformance validate FILE` judges again.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Output: one line per finding, or JSON Lines (every frame, finding and connection event).
    #[arg(long, value_enum, default_value = "human")]
    pub format: SimpleFormat,
    /// A header added to every upstream handshake, NAME:VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Drop frames invalid against their direction's schema instead of forwarding them, and
    /// answer a client's with the protocol's documented error frame where it has one.
    #[arg(long)]
    pub enforce: bool,
    /// The budget of answers the server's own logic produces, in milliseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// The budget of answers a model generates (`generated` in protocol.json), in milliseconds.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub reply_timeout_ms: u64,
    /// Largest frame taken from either side, in bytes; a larger one ends its connection (1009).
    /// With --record, at most what a transcript holds (about 10 MiB).
    #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1024..=(1 << 30)))]
    pub max_frame_bytes: u64,
    /// Deadline of a client's request and of the upstream's handshake, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub connect_timeout_ms: u64,
    /// Deadline of a closing handshake, in milliseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub close_timeout_ms: u64,
    /// Most connections proxied at once; more are refused with HTTP 503.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// `--ca-cert` and `--insecure`, for a wss:// upstream.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Runs the proxy until Ctrl-C; whether no finding failed.
pub(super) fn run(schemas: &Schemas, args: &ProxyArgs) -> Result<bool> {
    check_protocol(schemas, &args.protocol)?;
    let mut upstream =
        Upstream::parse(&args.upstream).map_err(|e| usage(format!("--upstream {e}")))?;
    if let Some(config) = args.tls.trust(upstream.is_secure(), "--upstream")? {
        upstream = upstream.trusting(config);
    }
    if args.record.is_some() && args.max_frame_bytes > MAX_RECORDED_FRAME_BYTES as u64 {
        return Err(usage(format!(
            "--max-frame-bytes {} with --record: a transcript holds frames of up to \
             {MAX_RECORDED_FRAME_BYTES} bytes, which `validate` reads back",
            args.max_frame_bytes
        )));
    }
    if let Some(path) = &args.record {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if path.is_dir() || parent.is_some_and(|p| !p.is_dir()) {
            return Err(usage(format!(
                "--record {}: not a file in an existing folder",
                path.display()
            )));
        }
    }
    let options = Options {
        headers: headers(&args.headers)?,
        enforce: args.enforce,
        max_frame_bytes: args.max_frame_bytes as usize,
        control: Duration::from_millis(args.timeout_ms),
        generated: Duration::from_millis(args.reply_timeout_ms),
        connect_timeout: Duration::from_millis(args.connect_timeout_ms),
        close_timeout: Duration::from_millis(args.close_timeout_ms),
        max_connections: args.max_connections as usize,
        ..Options::new(&args.protocol, upstream)
    };
    let format = match args.format {
        SimpleFormat::Human => Format::Human,
        SimpleFormat::Json => Format::Json,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let report = Report::start(format, Box::new(std::io::stdout()));
        let proxy = Proxy::bind(
            args.listen,
            schemas,
            options,
            Some(report),
            args.record.as_deref(),
        )
        .await
        .map_err(|e| usage(format!("{e:#}")))?;
        proxy.say(proxy.banner()?);
        proxy.run(stopped()).await
    });
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    Ok(!outcome?.failed())
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

//! `reference --protocol <id> --listen 127.0.0.1:PORT [--jwt-secret S]`: runs a reference
//! server until interrupted. The first line on stdout is `listening on ws://ADDR/PATH`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use agentwire_reference::{Options, PROTOCOLS, RateLimitArg, start};
use clap::Parser;

// Not Debug: it holds the JWT secret.
#[derive(Parser)]
#[command(
    name = "reference",
    about = "Runs the reference server of an agentwire protocol"
)]
struct Cli {
    /// The protocol to speak.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(PROTOCOLS))]
    protocol: String,
    /// Where to listen; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The HS256 secret tokens are checked with (socializer, generalbots); random when absent.
    #[arg(long, env = "AGENTWIRE_JWT_SECRET")]
    jwt_secret: Option<String>,
    /// Messages per second a connection may send, `N` or `N/BURST`; `off` for no limit.
    #[arg(long)]
    rate_limit: Option<RateLimitArg>,
    /// Most connections from one IP address, at least 1 (the documented value by default).
    #[arg(long, value_parser = at_least_one())]
    max_connections_per_ip: Option<usize>,
    /// Most connections in all, at least 1 (10,000 by default).
    #[arg(long, value_parser = at_least_one())]
    max_connections: Option<usize>,
    /// Largest message answered as a message, in bytes, at least 1 (the documented value by
    /// default).
    #[arg(long, value_parser = at_least_one())]
    max_message_bytes: Option<usize>,
    /// Seconds without a message before a connection is closed; 0 for never (the documented
    /// value by default).
    #[arg(long)]
    idle_timeout: Option<u64>,
    /// Seconds between keep-alive pings; 0 for none (the documented value by default).
    #[arg(long)]
    ping_interval: Option<u64>,
    /// MiB the server may hold in messages being received and output waiting to be sent, at
    /// least 1 (256 by default).
    #[arg(long, value_parser = at_least_one())]
    memory_budget_mib: Option<usize>,
}

/// A count of 1 or more: 0 is a usage error rather than a server that refuses everything.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

/// Seconds, 0 meaning never.
fn seconds(seconds: u64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

fn main() -> ExitCode {
    map_large_buffers_apart();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

/// The environment variable glibc reads its malloc settings from.
const GLIBC_TUNABLES: &str = "GLIBC_TUNABLES";

/// Runs this program again, in place, with glibc's malloc told to map every buffer of 128 KiB
/// or more on its own, unless the environment already sets `GLIBC_TUNABLES`. By default glibc
/// raises that threshold to the size of the largest buffer freed (up to 32 MiB), and from then
/// on takes large buffers (messages of megabytes being received) from its heap, which keeps
/// much of them once they are freed: after a burst of large messages the process stayed tens
/// of MiB larger. Mapped apart, a buffer goes back to the system when it is freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn map_large_buffers_apart() {
    use std::os::unix::process::CommandExt as _;
    if std::env::var_os(GLIBC_TUNABLES).is_some() {
        return;
    }
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .env(GLIBC_TUNABLES, "glibc.malloc.mmap_threshold=131072")
        .exec();
    // Only returns when it failed: run on as we are.
    eprintln!("warning: could not run again with {GLIBC_TUNABLES} set: {error}");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn map_large_buffers_apart() {}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let mut options = match Options::new(&cli.protocol) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let secret_given = cli.jwt_secret.is_some();
    if let Some(secret) = cli.jwt_secret {
        options.jwt_secret = secret;
    }
    if let Some(limit) = cli.rate_limit {
        options.config.rate_limit = limit.0;
    }
    if let Some(max) = cli.max_connections_per_ip {
        options.config.max_connections_per_ip = Some(max);
    }
    if let Some(max) = cli.max_connections {
        options.config.max_connections = Some(max);
    }
    if let Some(bytes) = cli.max_message_bytes {
        options.config = options.config.with_max_message_bytes(bytes);
    }
    if let Some(idle) = cli.idle_timeout {
        options.config.idle_timeout = seconds(idle);
    }
    if let Some(every) = cli.ping_interval {
        options.config.ping_interval = seconds(every);
    }
    if let Some(mib) = cli.memory_budget_mib {
        options.config.memory_budget_bytes = mib.saturating_mul(1 << 20);
    }
    if let Err(error) = options.config.validate() {
        eprintln!("error: the flags give a configuration that cannot work: {error}");
        return ExitCode::from(2);
    }
    let mut running = match start(options, cli.listen).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("error: cannot start the server: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", running.url);
    let _ = std::io::stdout().flush();
    if let Some(token) = &running.token {
        if !secret_given {
            eprintln!("JWT secret (random): {}", running.jwt_secret);
        }
        eprintln!("a valid token: {token}");
    }
    let ended = tokio::select! {
        _ = tokio::signal::ctrl_c() => None,
        // The listener failed: the server ended by itself.
        ended = running.finished() => Some(ended),
    };
    let ended = match ended {
        Some(ended) => ended,
        None => {
            eprintln!("shutting down");
            running.stop().await
        }
    };
    match ended {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

//! `reference --protocol <id> --listen 127.0.0.1:PORT [--jwt-secret S]`: runs a reference
//! server until interrupted. The first line on stdout is `listening on ws://ADDR/PATH`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use agentwire_reference::{Options, PROTOCOLS, RateLimitArg, start};
use clap::Parser;

#[derive(Debug, Parser)]
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
    /// Most connections from one IP address (the documented value by default).
    #[arg(long)]
    max_connections_per_ip: Option<usize>,
    /// Largest message answered as a message, in bytes (the documented value by default).
    #[arg(long)]
    max_message_bytes: Option<usize>,
    /// Seconds without a message before a connection is closed (the documented value by default).
    #[arg(long)]
    idle_timeout: Option<u64>,
    /// Seconds between keep-alive pings (the documented value by default).
    #[arg(long)]
    ping_interval: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
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
    if let Some(bytes) = cli.max_message_bytes {
        options.config = options.config.with_max_message_bytes(bytes);
    }
    if let Some(seconds) = cli.idle_timeout {
        options.config.idle_timeout = Some(Duration::from_secs(seconds));
    }
    if let Some(seconds) = cli.ping_interval {
        options.config.ping_interval = Some(Duration::from_secs(seconds));
    }
    let running = match start(options, cli.listen).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!(
                "error: cannot start the server on {}: {error:#}",
                cli.listen
            );
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
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("shutting down");
    match running.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

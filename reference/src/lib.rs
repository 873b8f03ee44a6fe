//! Reference servers for every protocol of `schema/`, built on the generated server skeletons:
//! complete, deterministic implementations that the conformance suite checks by default and
//! that the TypeScript clients talk to in their tests.
//!
//! Every frame they send is a value of the generated `ServerMessage` type, so it validates
//! against the protocol's `server.schema.json`.

pub mod datagram;
pub mod generalbots;
pub mod meet;
pub mod rixa;
pub mod socializer;
mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::{fmt, io};

use agentwire_runtime::server::endpoint::PathTemplate;
use agentwire_runtime::server::{App, RateLimit, Server, ServerConfig, ServerStats, TcpListener};
use anyhow::{Context as _, Result, bail};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use support::{random_secret, token_for};

/// The protocols the reference servers speak.
pub const PROTOCOLS: &[&str] = &[
    "rixa",
    "datagram",
    "socializer",
    "generalbots",
    "generalbots-meet",
];

/// The subject of the token [`Running::token`] carries.
pub const TOKEN_SUBJECT: &str = "reference-user";

/// How to run a reference server.
#[derive(Clone)]
pub struct Options {
    /// The protocol id.
    pub protocol: String,
    /// The HS256 secret tokens are checked with (socializer, generalbots).
    pub jwt_secret: String,
    /// Limits and timings; [`Options::new`] starts from the documented ones.
    pub config: ServerConfig,
    /// How much state the servers keep: sessions, subscriptions, rooms.
    pub state_limits: StateLimits,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret signs tokens: never in logs.
        f.debug_struct("Options")
            .field("protocol", &self.protocol)
            .field("jwt_secret", &"<redacted>")
            .field("config", &self.config)
            .field("state_limits", &self.state_limits)
            .finish()
    }
}

/// Bounds on what the servers keep for their clients, so that no client can make them grow
/// without end or take what others hold. The documents give no amounts: these are the
/// reference's choices. Each server answers a client that reaches one with its protocol's
/// error (see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLimits {
    /// datagram: sessions kept in all. Sessions outlive their connections (`resume`); at the
    /// limit the one unused longest (in use by no connection) of the address holding the most
    /// is dropped to make room, and when every one is in use `create` fails. 10,000.
    pub max_sessions: usize,
    /// datagram: sessions one IP address may have created and not destroyed; at the quota its
    /// own unused longest makes room, and when all of its are in use `create` fails. 100.
    pub max_sessions_per_ip: usize,
    /// datagram: the most bytes of a session's `settings` (as compact JSON) kept; larger
    /// settings fail `create`. 4 KiB.
    pub max_settings_bytes: usize,
    /// generalbots: sessions one connection may subscribe to. 32.
    pub max_subscriptions: usize,
    /// generalbots-meet: rooms one connection may be in. 16.
    pub max_rooms_per_connection: usize,
    /// generalbots-meet: participants in one room. 100.
    pub max_participants_per_room: usize,
    /// generalbots-meet: rooms in all. 10,000.
    pub max_rooms: usize,
    /// generalbots-meet: rooms opened (first joined) from one IP address that are still open.
    /// 100.
    pub max_rooms_per_ip: usize,
    /// generalbots-meet: bytes of room ids and participant names that the participants from
    /// one IP address hold (each room's id and name once per participant). 1 MiB: a join of
    /// the largest message always fits, a thousand rooms of ordinary names too.
    pub max_name_bytes_per_ip: usize,
}

impl Default for StateLimits {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            max_sessions_per_ip: 100,
            max_settings_bytes: 4096,
            max_subscriptions: 32,
            max_rooms_per_connection: 16,
            max_participants_per_room: 100,
            max_rooms: 10_000,
            max_rooms_per_ip: 100,
            max_name_bytes_per_ip: 1 << 20,
        }
    }
}

impl Options {
    /// The documented limits of `protocol`, a rate limit of 20 messages a second with bursts
    /// of 40 (the documents give no amounts), and a random secret.
    pub fn new(protocol: &str) -> Result<Self> {
        let mut config = match protocol {
            "rixa" => agentwire_rixa::server::default_config(),
            "datagram" => agentwire_datagram::server::default_config(),
            "socializer" => agentwire_socializer::server::default_config(),
            "generalbots" => agentwire_generalbots::server::default_config(),
            "generalbots-meet" => agentwire_generalbots_meet::server::default_config(),
            other => bail!(
                "unknown protocol {other:?}; the reference servers speak {}",
                PROTOCOLS.join(", ")
            ),
        };
        config.rate_limit = RateLimit::new(20, 40);
        Ok(Self {
            protocol: protocol.to_string(),
            jwt_secret: random_secret(),
            config,
            state_limits: StateLimits::default(),
        })
    }
}

/// A running reference server. Dropping it shuts the server down.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `ws://ADDR/PATH`, path parameters filled with `reference`.
    pub url: String,
    /// The secret tokens are checked with.
    pub jwt_secret: String,
    /// A valid token, for the protocols that authenticate.
    pub token: Option<String>,
    /// The server's live figures: what its memory budget holds, its connections.
    pub stats: ServerStats,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret and a token made with it: never in logs.
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("url", &self.url)
            .field("jwt_secret", &"<redacted>")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Waits for the server to end without asking it to: it only ends by itself when its
    /// listener fails, with the error. Cancel-safe; once it has returned, [`Running::stop`]
    /// has nothing left to wait for.
    pub async fn finished(&mut self) -> io::Result<()> {
        let Some(task) = self.task.as_mut() else {
            return Ok(());
        };
        let joined = task.await;
        self.task = None;
        self.result(joined)
    }

    /// Stops accepting, closes every connection with 1001 (Going Away) and waits for them.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => {
                let joined = task.await;
                self.result(joined)
            }
            None => Ok(()),
        }
    }

    fn result(&self, joined: Result<io::Result<()>, tokio::task::JoinError>) -> io::Result<()> {
        joined.unwrap_or_else(|e| {
            Err(io::Error::other(format!(
                "the server on {} did not stop cleanly: {e}",
                self.addr
            )))
        })
    }
}

/// Starts a reference server on `listen` (port 0 picks a free one).
pub async fn start(options: Options, listen: SocketAddr) -> Result<Running> {
    if options.jwt_secret.is_empty() {
        // Anyone could sign a token with it.
        bail!("the JWT secret is empty");
    }
    options
        .config
        .validate()
        .context("invalid server configuration")?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener
        .local_addr()
        .with_context(|| format!("the address of the listener on {listen}"))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        // Completes on `stop()` and when the `Running` is dropped.
        let _ = stopped.await;
    };
    let secret = options.jwt_secret.as_str();
    let config = options.config.clone();
    let (path, (stats, task)) = match options.protocol.as_str() {
        "rixa" => (
            agentwire_rixa::ENDPOINT_PATH,
            spawn(
                agentwire_rixa::server::server(rixa::Rixa::default(), listener, config),
                shutdown,
            )?,
        ),
        "datagram" => (
            agentwire_datagram::ENDPOINT_PATH,
            spawn(
                agentwire_datagram::server::server(
                    datagram::Datagram::with_limits(options.state_limits),
                    listener,
                    config,
                ),
                shutdown,
            )?,
        ),
        "socializer" => (
            agentwire_socializer::ENDPOINT_PATH,
            spawn(
                agentwire_socializer::server::server(
                    socializer::Socializer::new(secret),
                    listener,
                    config,
                ),
                shutdown,
            )?,
        ),
        "generalbots" => (
            agentwire_generalbots::ENDPOINT_PATH,
            spawn(
                agentwire_generalbots::server::server(
                    generalbots::GeneralBots::new(secret).with_limits(options.state_limits),
                    listener,
                    config,
                ),
                shutdown,
            )?,
        ),
        "generalbots-meet" => (
            agentwire_generalbots_meet::ENDPOINT_PATH,
            spawn(
                agentwire_generalbots_meet::server::server(
                    meet::Meet::with_limits(options.state_limits),
                    listener,
                    config,
                ),
                shutdown,
            )?,
        ),
        other => bail!(
            "unknown protocol {other:?}; the reference servers speak {}",
            PROTOCOLS.join(", ")
        ),
    };
    let template = PathTemplate::new(path);
    let params: Vec<(&str, &str)> = template.params().map(|name| (name, "reference")).collect();
    let url = format!("ws://{addr}{}", template.fill(&params));
    let token = matches!(options.protocol.as_str(), "socializer" | "generalbots")
        .then(|| token_for(TOKEN_SUBJECT, secret));
    Ok(Running {
        addr,
        url,
        jwt_secret: options.jwt_secret,
        token,
        stats,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Runs a server in a task of its own until `shutdown`; its figures and the task.
fn spawn<A: App>(
    server: io::Result<Server<A>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(ServerStats, JoinHandle<io::Result<()>>)> {
    let server = server.context("cannot start the server")?;
    let stats = server.stats();
    Ok((stats, tokio::spawn(server.run(shutdown))))
}

/// A `--rate-limit` value: `N` messages a second (bursts of 2N), `N/BURST`, or `off`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitArg(pub Option<RateLimit>);

impl std::str::FromStr for RateLimitArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "off" {
            return Ok(Self(None));
        }
        let (rate, burst) = match text.split_once('/') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (text, None),
        };
        let rate: u32 = rate
            .parse()
            .map_err(|_| format!("{text:?}: expected N, N/BURST or off"))?;
        let burst: u32 = match burst {
            Some(burst) => burst
                .parse()
                .map_err(|_| format!("{text:?}: the burst is not a number"))?,
            None => rate.saturating_mul(2),
        };
        RateLimit::new(rate, burst)
            .map(|limit| Self(Some(limit)))
            .ok_or_else(|| format!("{text:?}: use off for no limit"))
    }
}

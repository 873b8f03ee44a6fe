//! The seam for the default target: with no `--url`, `conformance run` asks a [`Launcher`] to
//! start the project's reference server for the protocol on a free loopback port.
//!
//! The suite itself knows nothing of how that server is written (DESIGN.md: the checker is
//! independent of what it checks); the binary passes a launcher in. Until one is wired in,
//! [`NoLauncher`] refuses, and the CLI exits with a usage error asking for `--url`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use anyhow::Result;

/// A running server to check; dropping it stops the server.
pub struct LaunchedServer {
    /// `ws://127.0.0.1:PORT/PATH`, as the server announced it.
    pub url: String,
    /// The HS256 secret the server verifies JWTs with, so the auth matrix can mint tokens.
    pub jwt_secret: Option<String>,
    /// A valid opaque token, for protocols whose credential is not a JWT.
    pub token: Option<String>,
    /// Keeps the server alive; dropped when the run ends (a child process, a task handle...).
    pub guard: Box<dyn Send + Sync>,
}

impl fmt::Debug for LaunchedServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaunchedServer")
            .field("url", &self.url)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// A future the launcher returns.
pub type LaunchFuture<'a> = Pin<Box<dyn Future<Output = Result<LaunchedServer>> + Send + 'a>>;

/// Starts a server for a protocol.
pub trait Launcher: Send + Sync {
    /// Starts a server speaking `protocol` on a free loopback port. `jwt_secret` is the secret to
    /// start it with when the user gave one (`--jwt-secret`); the launcher may choose its own and
    /// return it in [`LaunchedServer::jwt_secret`].
    fn launch<'a>(&'a self, protocol: &'a str, jwt_secret: Option<&'a str>) -> LaunchFuture<'a>;
}

/// The launcher of a build without reference servers: always refuses.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLauncher;

/// The message the CLI shows when no server can be started.
pub const NO_LAUNCHER: &str = "no reference server is built into this binary yet: pass --url ws://HOST:PORT to check a running server";

impl Launcher for NoLauncher {
    fn launch<'a>(&'a self, _protocol: &'a str, _jwt_secret: Option<&'a str>) -> LaunchFuture<'a> {
        Box::pin(async { Err(anyhow::anyhow!(NO_LAUNCHER)) })
    }
}

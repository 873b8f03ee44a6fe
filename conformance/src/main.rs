//! The `conformance` command: see `conformance --help`.
//!
//! With no `--url`, `run` checks the project's reference server for the protocol, started in
//! this process on a free loopback port (feature `reference`, on by default). The suite itself
//! only sees its URL, secret and token.

fn main() -> std::process::ExitCode {
    #[cfg(feature = "reference")]
    let launcher = reference::EmbeddedReference;
    #[cfg(not(feature = "reference"))]
    let launcher = agentwire_conformance::NoLauncher;
    agentwire_conformance::cli::main(&launcher)
}

#[cfg(feature = "reference")]
mod reference {
    use std::net::{Ipv4Addr, SocketAddr};

    use agentwire_conformance::{LaunchFuture, LaunchedServer, Launcher};

    /// Starts `agentwire-reference` servers in this process.
    #[derive(Debug, Clone, Copy)]
    pub struct EmbeddedReference;

    impl Launcher for EmbeddedReference {
        fn launch<'a>(
            &'a self,
            protocol: &'a str,
            jwt_secret: Option<&'a str>,
        ) -> LaunchFuture<'a> {
            Box::pin(async move {
                let mut options = agentwire_reference::Options::new(protocol)?;
                if let Some(secret) = jwt_secret {
                    options.jwt_secret = secret.to_string();
                }
                let running =
                    agentwire_reference::start(options, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                        .await?;
                Ok(LaunchedServer {
                    url: running.url.clone(),
                    jwt_secret: Some(running.jwt_secret.clone()),
                    token: running.token.clone(),
                    // Dropping the running server shuts it down.
                    guard: Box::new(running),
                })
            })
        }
    }
}

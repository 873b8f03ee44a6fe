//! Test doubles the workspace's test suites share.
//!
//! [`TlsFront`] ends TLS in front of a plain server, as a load balancer or reverse proxy does for
//! a deployed endpoint, with a self-signed certificate made at start: what `wss://` is tested
//! against, by the conformance suite (`--ca-cert`, `--insecure`) and by the generated clients
//! (`ConnectOptions::ca_cert`).

mod tls_front;

pub use tls_front::TlsFront;

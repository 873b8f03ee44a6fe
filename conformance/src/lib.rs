//! The agentwire conformance suite: drives a live WebSocket endpoint through the conversations
//! that a protocol's documents describe, validates every frame it receives, and reports which
//! sentence of the document each finding rests on.
//!
//! Everything the suite checks is derived from `schema/<id>/` (the JSON Schemas, `protocol.json`
//! and `examples/index.json`): a new protocol folder gets handshake, auth, unprompted, exchange,
//! session, reaction, limit and relay checks without code changes. The suite never looks at how a
//! server is implemented.
//!
//! It reaches endpoints over `ws://` and `wss://` ([`tls`]).

pub mod baseline;
pub mod checks;
pub mod cli;
pub mod connection;
pub mod conversation;
pub mod frames;
pub mod judge;
pub mod jwt;
pub mod launcher;
pub mod output;
pub mod plan;
pub mod proxy;
pub mod recorder;
pub mod report;
pub mod runner;
pub mod schemas;
pub mod target;
pub mod tls;
pub mod transcript;
pub mod util;
pub mod validate;
pub mod watch;

pub use launcher::{LaunchFuture, LaunchedServer, Launcher, NoLauncher};
pub use plan::{CheckKind, CheckSpec, plan};
pub use report::{CheckReport, ProtocolReport, ReportDocument, Status};
pub use runner::{Progress, RunOptions, Untestable, run_protocol};
pub use schemas::Schemas;

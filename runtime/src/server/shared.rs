//! The state every connection task of a server shares: the app, its configuration, and the
//! accept loop's counts. The accept loop builds it; each connection task reads it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize};

use super::config::ServerConfig;
use super::endpoint::PathTemplate;

/// What every connection task shares.
pub(crate) struct Shared<A> {
    pub app: A,
    pub config: ServerConfig,
    pub(super) template: PathTemplate,
    pub(super) ips: Mutex<HashMap<IpAddr, usize>>,
    /// Connections in all, handshakes under way included.
    pub(super) connections: AtomicUsize,
    /// Handshakes under way that end in a refusal.
    pub(super) refusals: AtomicUsize,
    pub(super) next_id: AtomicU64,
}

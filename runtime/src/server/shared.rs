//! The state every connection task of a server shares: the app, its configuration, who is
//! admitted, and the server's figures. The accept loop builds it; each connection task reads it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::admission::Gate;
use super::budget::Budget;
use super::config::ServerConfig;
use super::endpoint::PathTemplate;

/// What every connection task shares.
pub(crate) struct Shared<A> {
    pub app: A,
    pub config: ServerConfig,
    pub(super) template: PathTemplate,
    pub(super) gate: Arc<Gate>,
    pub(super) stats: ServerStats,
    pub(super) next_id: AtomicU64,
}

/// Live figures of a running server, readable from any task: what its memory budget holds, and
/// its connections and handshakes under way. Cheap to clone.
#[derive(Clone)]
pub struct ServerStats(Arc<Figures>);

struct Figures {
    budget: Arc<Budget>,
    connections: AtomicUsize,
    handshakes: AtomicUsize,
}

impl ServerStats {
    pub(super) fn new(budget_bytes: usize) -> Self {
        Self(Arc::new(Figures {
            budget: Arc::new(Budget::new(budget_bytes)),
            connections: AtomicUsize::new(0),
            handshakes: AtomicUsize::new(0),
        }))
    }

    /// Bytes held now in messages being received and output waiting to be sent, as charged
    /// to the memory budget.
    pub fn buffered_bytes(&self) -> usize {
        self.0.budget.held()
    }

    /// The most [`ServerStats::buffered_bytes`] has been.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.0.budget.peak()
    }

    /// The configured memory budget (`memory_budget_bytes`).
    pub fn memory_budget_bytes(&self) -> usize {
        self.0.budget.limit()
    }

    /// Connections open or being opened (their handshake under way and not refused).
    pub fn connections(&self) -> usize {
        self.0.connections.load(Ordering::Acquire)
    }

    /// Handshakes under way, refusals included.
    pub fn handshakes(&self) -> usize {
        self.0.handshakes.load(Ordering::Acquire)
    }

    /// The memory budget every connection's meter charges.
    pub(super) fn budget(&self) -> &Arc<Budget> {
        &self.0.budget
    }

    /// The count of connections (`true`) or handshakes under way, which the gate keeps.
    pub(super) fn count(&self, connections: bool) -> &AtomicUsize {
        if connections {
            &self.0.connections
        } else {
            &self.0.handshakes
        }
    }
}

impl fmt::Debug for ServerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerStats")
            .field("buffered_bytes", &self.buffered_bytes())
            .field("peak_buffered_bytes", &self.peak_buffered_bytes())
            .field("connections", &self.connections())
            .field("handshakes", &self.handshakes())
            .finish()
    }
}

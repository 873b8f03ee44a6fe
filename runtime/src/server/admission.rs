//! Who is admitted: handshakes under way and connections, counted in all and per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio_tungstenite::tungstenite::http::StatusCode;

use super::config::ServerConfig;
use super::shared::ServerStats;

/// Who is admitted: handshakes and connections, in all and per address.
pub(super) struct Gate {
    stats: ServerStats,
    per_ip: Mutex<HashMap<IpAddr, PerIp>>,
}

/// What one address has under way.
#[derive(Debug, Default)]
struct PerIp {
    handshakes: usize,
    connections: usize,
}

/// A handshake or a connection admitted, given back when dropped.
pub(super) struct Pass {
    gate: Arc<Gate>,
    ip: IpAddr,
    connection: bool,
}

impl Gate {
    pub(super) fn new(stats: ServerStats) -> Self {
        Self {
            stats,
            per_ip: Mutex::new(HashMap::new()),
        }
    }

    /// A handshake under way, within the limits per address and in all.
    pub(super) fn enter_handshake(
        self: &Arc<Self>,
        ip: IpAddr,
        config: &ServerConfig,
    ) -> Option<Pass> {
        self.enter(
            ip,
            false,
            config.max_handshakes,
            Some(config.max_handshakes_per_ip),
        )
    }

    /// A connection, within the limits per address (else HTTP 429) and in all (503).
    pub(super) fn enter_connection(
        self: &Arc<Self>,
        ip: IpAddr,
        config: &ServerConfig,
    ) -> Result<Pass, StatusCode> {
        let max = config.max_connections.unwrap_or(usize::MAX);
        if self.stats.connections() >= max {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        self.enter(ip, true, max, config.max_connections_per_ip)
            .ok_or(StatusCode::TOO_MANY_REQUESTS)
    }

    fn enter(
        self: &Arc<Self>,
        ip: IpAddr,
        connection: bool,
        max: usize,
        max_per_ip: Option<usize>,
    ) -> Option<Pass> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let total = self.total(connection);
        if total.load(Ordering::Acquire) >= max {
            return None;
        }
        let mine = per_ip.entry(ip).or_default();
        let count = if connection {
            &mut mine.connections
        } else {
            &mut mine.handshakes
        };
        if max_per_ip.is_some_and(|max| *count >= max) {
            if mine.handshakes == 0 && mine.connections == 0 {
                per_ip.remove(&ip);
            }
            return None;
        }
        *count += 1;
        total.fetch_add(1, Ordering::AcqRel);
        Some(Pass {
            gate: Arc::clone(self),
            ip,
            connection,
        })
    }

    fn total(&self, connection: bool) -> &AtomicUsize {
        self.stats.count(connection)
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut per_ip = self.gate.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mine) = per_ip.get_mut(&self.ip) {
            let count = if self.connection {
                &mut mine.connections
            } else {
                &mut mine.handshakes
            };
            *count -= 1;
            if mine.handshakes == 0 && mine.connections == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.gate
            .total(self.connection)
            .fetch_sub(1, Ordering::AcqRel);
    }
}

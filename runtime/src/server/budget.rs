//! The server-wide memory budget: bytes held in messages being received and output waiting to
//! be sent, charged before they are held and given back when they are not.
//!
//! Every connection has a [`Meter`]; charges go through it to the server's [`Budget`]. A
//! connection may always hold [`GUARANTEED_BYTES_PER_CONNECTION`] (a small message in and its
//! answer out), so that a client that behaves is served whatever others hold; beyond that a
//! charge is granted only while the server's total stays within its budget. The total can
//! therefore exceed the budget by at most that allowance per connection.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What every connection may hold whatever the others hold: a small message in and its answer
/// out. Charges beyond it need room in the server's budget.
pub const GUARANTEED_BYTES_PER_CONNECTION: usize = 16 * 1024;

/// A server's budget and what is charged to it.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    held: AtomicUsize,
    peak: AtomicUsize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            held: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    fn add(&self, bytes: usize) {
        let now = self.held.fetch_add(bytes, Ordering::AcqRel) + bytes;
        self.peak.fetch_max(now, Ordering::AcqRel);
    }

    fn add_within_limit(&self, bytes: usize) -> bool {
        let added = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|&sum| sum <= self.limit)
            });
        match added {
            Ok(before) => {
                self.peak.fetch_max(before + bytes, Ordering::AcqRel);
                true
            }
            Err(_) => false,
        }
    }

    fn sub(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// One connection's share of the budget: what it holds now.
pub(crate) struct Meter {
    budget: Arc<Budget>,
    held: AtomicUsize,
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meter")
            .field("held", &self.held.load(Ordering::Relaxed))
            .finish()
    }
}

impl Meter {
    pub(crate) fn new(budget: Arc<Budget>) -> Arc<Self> {
        Arc::new(Self {
            budget,
            held: AtomicUsize::new(0),
        })
    }

    /// A meter of its own, with no limit beyond what `usize` holds (detached connections).
    pub(crate) fn unlimited() -> Arc<Self> {
        Self::new(Arc::new(Budget::new(usize::MAX)))
    }

    /// Charges `bytes` to the connection; `false`, charging nothing, when they fit neither in
    /// its guaranteed share nor in the server's budget.
    pub(crate) fn charge(&self, bytes: usize) -> bool {
        let mine = self.held.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if mine <= GUARANTEED_BYTES_PER_CONNECTION {
            self.budget.add(bytes);
            return true;
        }
        if self.budget.add_within_limit(bytes) {
            return true;
        }
        self.held.fetch_sub(bytes, Ordering::AcqRel);
        false
    }

    /// Gives back `bytes` charged before.
    pub(crate) fn release(&self, bytes: usize) {
        if bytes > 0 {
            self.held.fetch_sub(bytes, Ordering::AcqRel);
            self.budget.sub(bytes);
        }
    }

    /// `bytes` charged, as a guard that gives them back when dropped; `None` when they do not
    /// fit.
    pub(crate) fn hold(self: &Arc<Self>, bytes: usize) -> Option<Held> {
        self.charge(bytes).then(|| Held::adopt(self, bytes))
    }
}

/// Bytes charged to a connection, given back when dropped.
pub(crate) struct Held {
    meter: Arc<Meter>,
    bytes: usize,
}

impl Held {
    /// Takes over `bytes` already charged to `meter`.
    pub(crate) fn adopt(meter: &Arc<Meter>, bytes: usize) -> Self {
        Self {
            meter: Arc::clone(meter),
            bytes,
        }
    }
}

impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Held({} bytes)", self.bytes)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.meter.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_always_gets_its_guaranteed_share_and_no_more_than_the_budget_beyond() {
        let budget = Arc::new(Budget::new(100_000));
        let greedy = Meter::new(Arc::clone(&budget));
        let modest = Meter::new(Arc::clone(&budget));
        let big = greedy.hold(90_000).expect("within the budget");
        assert!(greedy.hold(20_000).is_none(), "over the budget");
        assert_eq!(budget.held(), 90_000);
        // The other connection still gets its share, even past the budget.
        let small = modest
            .hold(GUARANTEED_BYTES_PER_CONNECTION)
            .expect("guaranteed");
        assert_eq!(budget.held(), 90_000 + GUARANTEED_BYTES_PER_CONNECTION);
        assert!(
            modest.hold(1).is_none(),
            "beyond its share, the budget is spent"
        );
        drop(big);
        assert_eq!(budget.held(), GUARANTEED_BYTES_PER_CONNECTION);
        assert!(modest.hold(50_000).is_some(), "room again");
        drop(small);
        assert_eq!(budget.held(), 0);
        assert_eq!(budget.peak(), 90_000 + GUARANTEED_BYTES_PER_CONNECTION);
    }
}

//! State that the data plane shares between requests and, in a cluster, between nodes:
//! rate limiters (throttling), counters (quotas) and a small TTL cache (authorizer results).
//!
//! Handles are resolved when a plan or registry is compiled ([`SharedState::rate_limiter`],
//! [`SharedState::counter`]), so the request path only calls methods on a handle it already
//! holds: no map lookup, no lock, no allocation. The same name always gives the same state, so a
//! recompiled plan keeps its buckets and counts. [`InProcess`] keeps everything in this process;
//! [`RedisShared`] serves cluster mode, with the same local atomics on the request path kept in
//! step with Redis by a background task.

mod cache;
mod cluster;
mod connections;
mod limiter;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

pub use cache::TtlCache;
pub use cluster::RedisShared;
pub use connections::{
    ConnectionHandle, ConnectionInfo, Connections, DeliveryError, LocalConnections,
};
pub use limiter::{Gcra, RateLimit};

/// Admits or refuses one request against a rate (token bucket semantics: `rate` per second,
/// up to `burst` at once).
pub trait RateLimiter: Send + Sync {
    fn try_acquire(&self) -> bool;
}

/// A counter for one period (a quota's day, week or month): the count starts again from zero
/// when the period changes.
pub trait PeriodCounter: Send + Sync {
    /// Counts one use in `period` if fewer than `limit` were counted in it; says whether it did.
    fn try_take(&self, period: u64, limit: u64) -> bool;
    /// Uses counted in `period` so far.
    fn used(&self, period: u64) -> u64;
    /// Sets the count of `period` (restoring it from durable usage, or an operator's reset).
    fn set(&self, period: u64, used: u64);
}

/// Shared state behind the data plane.
pub trait SharedState: Send + Sync {
    /// The limiter called `name` with this limit (created on first use; a changed limit keeps
    /// the name's current state where it can).
    fn rate_limiter(&self, name: &str, limit: RateLimit) -> Arc<dyn RateLimiter>;
    /// The period counter called `name`.
    fn counter(&self, name: &str) -> Arc<dyn PeriodCounter>;
    /// The result cache of authorizers.
    fn authorizer_cache(&self) -> &TtlCache;
    /// The open WebSocket connections (for `@connections`).
    fn connections(&self) -> &dyn Connections;
}

/// Everything in this process: the embedded default.
#[derive(Default)]
pub struct InProcess {
    limiters: Mutex<HashMap<String, Weak<Gcra>>>,
    counters: Mutex<HashMap<String, Weak<AtomicPeriodCounter>>>,
    cache: TtlCache,
    connections: LocalConnections,
}

impl InProcess {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Returns the live value under `name`, or makes one; drops entries nobody holds any more.
fn intern<T>(
    map: &Mutex<HashMap<String, Weak<T>>>,
    name: &str,
    make: impl FnOnce() -> T,
) -> Arc<T> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(live) = map.get(name).and_then(Weak::upgrade) {
        return live;
    }
    if map.len() >= 1024 && map.len().is_power_of_two() {
        map.retain(|_, w| w.strong_count() > 0);
    }
    let made = Arc::new(make());
    map.insert(name.to_string(), Arc::downgrade(&made));
    made
}

impl SharedState for InProcess {
    fn rate_limiter(&self, name: &str, limit: RateLimit) -> Arc<dyn RateLimiter> {
        let gcra = intern(&self.limiters, name, || Gcra::new(limit));
        gcra.set_limit(limit);
        gcra
    }

    fn counter(&self, name: &str) -> Arc<dyn PeriodCounter> {
        let counter: Arc<AtomicPeriodCounter> =
            intern(&self.counters, name, AtomicPeriodCounter::default);
        counter
    }

    fn authorizer_cache(&self) -> &TtlCache {
        &self.cache
    }

    fn connections(&self) -> &dyn Connections {
        &self.connections
    }
}

/// A period counter in one atomic word: the period's low 24 bits beside a 40-bit count.
#[derive(Default)]
pub struct AtomicPeriodCounter(AtomicU64);

const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

fn pack(period: u64, count: u64) -> u64 {
    ((period & 0xFF_FFFF) << COUNT_BITS) | count.min(COUNT_MASK)
}

fn count_in(word: u64, period: u64) -> u64 {
    if word >> COUNT_BITS == period & 0xFF_FFFF {
        word & COUNT_MASK
    } else {
        0
    }
}

impl AtomicPeriodCounter {
    /// Adds `n` to `period`'s count (starting from zero in a new period).
    fn add(&self, period: u64, n: u64) {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            let next = pack(period, count_in(word, period) + n);
            match self
                .0
                .compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => word = now,
            }
        }
    }

    /// Takes the whole count: the period it is for (low 24 bits) and the count, leaving zero.
    fn take(&self) -> (u64, u64) {
        let word = self.0.swap(0, Ordering::AcqRel);
        (word >> COUNT_BITS, word & COUNT_MASK)
    }

    /// The period of the current count (low 24 bits), `None` when nothing was counted yet.
    fn period(&self) -> Option<u64> {
        let word = self.0.load(Ordering::Relaxed);
        (word != 0).then_some(word >> COUNT_BITS)
    }

    /// Sets `period`'s count to `count` plus what is still counted in `unsynced`, unless the
    /// count moved to another period meanwhile.
    fn resync(&self, period: u64, count: u64, unsynced: &AtomicPeriodCounter) {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            if word >> COUNT_BITS != period & 0xFF_FFFF {
                return;
            }
            let next = pack(period, count + unsynced.used(period));
            match self
                .0
                .compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => word = now,
            }
        }
    }
}

impl PeriodCounter for AtomicPeriodCounter {
    fn try_take(&self, period: u64, limit: u64) -> bool {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            let used = count_in(word, period);
            if used >= limit {
                return false;
            }
            match self.0.compare_exchange_weak(
                word,
                pack(period, used + 1),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => word = now,
            }
        }
    }

    fn used(&self, period: u64) -> u64 {
        count_in(self.0.load(Ordering::Relaxed), period)
    }

    fn set(&self, period: u64, used: u64) {
        self.0.store(pack(period, used), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_lets_exactly_the_limit_through_and_restarts_with_the_period() {
        let state = InProcess::new();
        let counter = state.counter("q");
        let taken = (0..100).filter(|_| counter.try_take(7, 42)).count();
        assert_eq!(taken, 42);
        assert_eq!(counter.used(7), 42);
        assert_eq!(counter.used(8), 0);
        assert!(counter.try_take(8, 42));
        assert_eq!(counter.used(8), 1);
    }

    #[test]
    fn a_counter_is_exact_under_contention() {
        let state = Arc::new(InProcess::new());
        let counter = state.counter("q");
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = Arc::clone(&counter);
                std::thread::spawn(move || (0..1000).filter(|_| c.try_take(1, 1500)).count())
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
        assert_eq!(total, 1500);
    }

    #[test]
    fn the_same_name_gives_the_same_state() {
        let state = InProcess::new();
        let a = state.counter("k");
        assert!(a.try_take(1, 10));
        assert_eq!(state.counter("k").used(1), 1);
        assert_eq!(state.counter("other").used(1), 0);
        let limit = RateLimit::new(0.001, 1);
        let first = state.rate_limiter("l", limit);
        assert!(first.try_acquire());
        assert!(!state.rate_limiter("l", limit).try_acquire());
    }
}

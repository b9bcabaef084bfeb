//! Rate limiting by the generic cell rate algorithm: the same admissions as a token bucket of
//! `burst` tokens refilled at `rate` per second, kept in one atomic word (the "theoretical
//! arrival time" of the next request), so admitting a request is one compare-and-swap.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::RateLimiter;

/// Requests per second and the burst allowed at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub rate: f64,
    pub burst: u64,
}

impl RateLimit {
    pub fn new(rate: f64, burst: u64) -> Self {
        Self { rate, burst }
    }

    /// Nanoseconds between two requests at this rate.
    fn interval_nanos(&self) -> u64 {
        if self.rate.is_finite() && self.rate > 1e-9 {
            ((1e9 / self.rate) as u64).max(1)
        } else {
            NEVER
        }
    }

    /// A rate of zero refuses everything, as a zero throttle does on API Gateway.
    fn effective_burst(&self) -> u64 {
        if self.interval_nanos() == NEVER {
            0
        } else {
            self.burst
        }
    }
}

const NEVER: u64 = u64::MAX / 4;

fn now_nanos() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    // Start the clock far from zero, so that a fresh bucket (arrival time 0) is full.
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + NEVER
}

/// One limiter's state.
pub struct Gcra {
    arrival: AtomicU64,
    interval: AtomicU64,
    burst: AtomicU64,
}

impl Gcra {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            arrival: AtomicU64::new(0),
            interval: AtomicU64::new(limit.interval_nanos()),
            burst: AtomicU64::new(limit.effective_burst()),
        }
    }

    /// Changes the limit. A new limit starts with a full bucket: what was admitted under the
    /// old one would otherwise hold back the new one for as long as the old rate needed.
    pub fn set_limit(&self, limit: RateLimit) {
        let interval = limit.interval_nanos();
        let burst = limit.effective_burst();
        let old_interval = self.interval.swap(interval, Ordering::Relaxed);
        let old_burst = self.burst.swap(burst, Ordering::Relaxed);
        if (old_interval, old_burst) != (interval, burst) {
            self.arrival.store(0, Ordering::Relaxed);
        }
    }

    fn acquire_at(&self, now: u64) -> bool {
        let interval = self.interval.load(Ordering::Relaxed);
        let burst = self.burst.load(Ordering::Relaxed);
        let tolerance = interval.saturating_mul(burst);
        let mut arrival = self.arrival.load(Ordering::Relaxed);
        loop {
            let next = arrival.max(now).saturating_add(interval);
            if next - now > tolerance {
                return false;
            }
            match self.arrival.compare_exchange_weak(
                arrival,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(current) => arrival = current,
            }
        }
    }
}

impl RateLimiter for Gcra {
    fn try_acquire(&self) -> bool {
        self.acquire_at(now_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn admitted(gcra: &Gcra, start: u64, requests_per_second: u64, seconds: u64) -> u64 {
        let step = SECOND / requests_per_second;
        (0..requests_per_second * seconds)
            .filter(|i| gcra.acquire_at(start + i * step))
            .count() as u64
    }

    #[test]
    fn a_full_bucket_admits_the_burst_at_once_then_nothing() {
        let gcra = Gcra::new(RateLimit::new(10.0, 5));
        let t = NEVER + SECOND;
        assert_eq!((0..20).filter(|_| gcra.acquire_at(t)).count(), 5);
        // A tenth of a second refills one token.
        assert!(gcra.acquire_at(t + SECOND / 10));
        assert!(!gcra.acquire_at(t + SECOND / 10));
    }

    #[test]
    fn twice_the_rate_admits_rate_times_time_plus_burst() {
        let gcra = Gcra::new(RateLimit::new(100.0, 20));
        let got = admitted(&gcra, NEVER + SECOND, 200, 10);
        let expected = 100 * 10 + 20;
        assert!(
            got.abs_diff(expected) <= expected / 100,
            "{got} vs {expected}"
        );
    }

    #[test]
    fn a_zero_rate_or_a_zero_burst_admits_nothing() {
        let gcra = Gcra::new(RateLimit::new(0.0, 3));
        assert_eq!(admitted(&gcra, NEVER + SECOND, 100, 2), 0);
        let closed = Gcra::new(RateLimit::new(100.0, 0));
        assert_eq!(admitted(&closed, NEVER + SECOND, 100, 1), 0);
    }

    #[test]
    fn a_new_limit_starts_full() {
        let gcra = Gcra::new(RateLimit::new(0.1, 1));
        let t = NEVER + SECOND;
        assert!(gcra.acquire_at(t));
        assert!(!gcra.acquire_at(t));
        gcra.set_limit(RateLimit::new(0.1, 1));
        assert!(!gcra.acquire_at(t), "the same limit keeps its state");
        gcra.set_limit(RateLimit::new(1000.0, 10));
        assert!(gcra.acquire_at(t));
    }

    #[test]
    fn under_the_rate_everything_passes() {
        let gcra = Gcra::new(RateLimit::new(1000.0, 1));
        assert_eq!(admitted(&gcra, NEVER + SECOND, 500, 3), 1500);
    }
}

//! The three kinds of series: counters, gauges and histograms, each a handful of atomics.
//! Recording is a relaxed atomic add: no lock, no allocation.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the latency buckets, in microseconds: from 50 µs (a MOCK answered in
/// process) to API Gateway's 29 s integration timeout.
pub const LATENCY_BOUNDS_MICROS: [u64; 20] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 20_000_000, 29_000_000, 60_000_000,
];

/// A latency histogram over [`LATENCY_BOUNDS_MICROS`], exposed in milliseconds (the unit of
/// API Gateway's `Latency` and `IntegrationLatency`).
#[derive(Debug, Default)]
pub struct Histogram {
    /// Per-bucket counts (not cumulative); the last slot is `+Inf`.
    buckets: [AtomicU64; LATENCY_BOUNDS_MICROS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.record_micros(micros);
    }

    pub fn record_micros(&self, micros: u64) {
        let slot = LATENCY_BOUNDS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(LATENCY_BOUNDS_MICROS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Cumulative counts per bound (the last is `+Inf`, the total count).
    pub fn cumulative(&self) -> [u64; LATENCY_BOUNDS_MICROS.len() + 1] {
        let mut out = [0; LATENCY_BOUNDS_MICROS.len() + 1];
        let mut total = 0;
        for (slot, bucket) in out.iter_mut().zip(&self.buckets) {
            total += bucket.load(Ordering::Relaxed);
            *slot = total;
        }
        out
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    pub fn sum_micros(&self) -> u64 {
        self.sum_micros.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_resolve_sub_millisecond() {
        let h = Histogram::default();
        h.record_micros(40);
        h.record_micros(300);
        h.record_micros(300);
        h.record_micros(70_000_000);
        let c = h.cumulative();
        assert_eq!(c[0], 1); // <= 50 µs
        assert_eq!(c[2], 1); // <= 250 µs
        assert_eq!(c[3], 3); // <= 500 µs
        assert_eq!(c[LATENCY_BOUNDS_MICROS.len() - 1], 3);
        assert_eq!(c[LATENCY_BOUNDS_MICROS.len()], 4);
        assert_eq!(h.count(), 4);
        assert_eq!(h.sum_micros(), 70_000_640);
    }

    #[test]
    fn counters_and_gauges() {
        let c = Counter::default();
        c.inc();
        c.add(4);
        assert_eq!(c.get(), 5);
        let g = Gauge::default();
        g.add(3);
        g.add(-1);
        assert_eq!(g.get(), 2);
        g.set(-7);
        assert_eq!(g.get(), -7);
    }
}

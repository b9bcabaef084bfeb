//! Resident memory and CPU time of this process, from `/proc/self` (Linux); elsewhere the
//! gauges stay at 0.

use std::sync::Arc;

use crate::families::{PROCESS_CPU, PROCESS_RSS};
use crate::registry::Registry;

/// Clock ticks per second of `/proc/self/stat`'s times (USER_HZ, 100 on every Linux ABI).
const TICKS_PER_SECOND: u64 = 100;
const PAGE_BYTES: u64 = 4096;

/// Registers the process gauges; they are read at each render.
pub fn register(registry: &Arc<Registry>) {
    let rss = registry.gauge(PROCESS_RSS, &[]);
    let cpu = registry.gauge(PROCESS_CPU, &[]);
    registry.on_render(move || {
        if let Some(pages) = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        {
            rss.set(i64::try_from(pages * PAGE_BYTES).unwrap_or(i64::MAX));
        }
        if let Some(ticks) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| cpu_ticks(&s))
        {
            cpu.set(i64::try_from(ticks * 1000 / TICKS_PER_SECOND).unwrap_or(i64::MAX));
        }
    });
}

/// utime + stime from a `/proc/PID/stat` line (fields 14 and 15, after the `(comm)`).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // after_comm starts at field 3 (state): utime is field 14 -> index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_times() {
        let stat =
            "1234 (tollgate (x)) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 4 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(300));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let registry = Registry::new();
        register(&registry);
        let text = registry.render();
        let rss_line = text
            .lines()
            .find(|l| l.starts_with("tollgate_process_resident_memory_bytes "))
            .unwrap_or_default();
        let rss: i64 = rss_line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(rss > 0, "{text}");
    }
}

//! Memory use of an instance, read from `/proc`.
//!
//! Lambda caps the memory of the whole execution environment, so Tollgate sums over the instance's
//! processes (a shell bootstrap and the interpreter it starts, or whatever a handler forks). `VmRSS` is enforced against `memory_mb`; `VmHWM` (peak RSS) feeds the
//! `Max Memory Used` of the REPORT line. Where `/proc` is missing (not Linux) both read as 0 and
//! the limit is not enforced.

use std::fs;

/// Resident and peak-resident memory of a process group, in KiB.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

/// Sums `VmRSS` and `VmHWM` over the instance's processes: the leader `pgid` and its descendants
/// (followed through `/proc/PID/task/TID/children`, a few small reads per sample). Where the
/// kernel lacks the `children` files, falls back to scanning `/proc` for the process group, which
/// costs a read per process on the machine.
pub(crate) fn group_usage(pgid: u32) -> Usage {
    let mut usage = Usage::default();
    let pids = descendants(pgid).unwrap_or_else(|| members_by_scan(pgid));
    for pid in pids {
        if let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) {
            usage.rss_kib += status_field_kib(&status, "VmRSS:");
            usage.peak_kib += status_field_kib(&status, "VmHWM:");
        }
    }
    usage
}

/// `root` and all its descendants; `None` if the `children` files are unavailable.
fn descendants(root: u32) -> Option<Vec<u32>> {
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let pid = found[next];
        next += 1;
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue; // exited meanwhile
        };
        for task in tasks.flatten() {
            let path = task.path().join("children");
            match fs::read_to_string(&path) {
                Ok(children) => found.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && pid == root => {
                    return None;
                }
                Err(_) => {}
            }
            if found.len() > 4096 {
                return Some(found); // a fork bomb; enough to exceed any limit
            }
        }
    }
    Some(found)
}

/// Every process whose process group is `pgid`, by scanning `/proc`.
fn members_by_scan(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| process_group_of(&stat))
                == Some(pgid)
        })
        .collect()
}

/// The `pgrp` field of `/proc/PID/stat`: `pid (comm) state ppid pgrp ...`, where `comm` may hold
/// spaces and parentheses, hence the search for the last `)`.
fn process_group_of(stat: &str) -> Option<u32> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(2)?.parse().ok()
}

fn status_field_kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_and_status() {
        assert_eq!(process_group_of("42 (a) b) S 1 4242 4242 0"), Some(4242));
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(status_field_kib(status, "VmRSS:"), 1024);
        assert_eq!(status_field_kib(status, "VmHWM:"), 2048);
        assert_eq!(status_field_kib(status, "VmSwap:"), 0);
    }

    #[test]
    fn reads_own_usage_and_children() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let me = std::process::id();
        if let Some(found) = descendants(me) {
            assert!(found.contains(&child.id()), "{found:?}");
        }
        assert!(group_usage(me).rss_kib > 0);
        let _ = child.kill();
        let _ = child.wait();
    }
}

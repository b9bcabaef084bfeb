//! Small helpers with no better home: request ids, timestamps, process-group signals.
//!
//! The crate avoids extra dependencies (uuid, chrono, nix, libc) because each of these needs is a
//! few lines, and the workspace forbids `unsafe`, which rules out calling `kill(2)` directly.
//! Randomness is `fastrand`'s, as in the rest of the workspace.

use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// A random UUID (version 4 layout), the format Lambda uses for request ids.
pub(crate) use tollgate_model::ids::request_id as new_request_id;

/// 32 lowercase hex digits, used for log stream names (Lambda uses the same shape).
pub(crate) fn new_hex_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// An X-Ray trace header like the one Lambda passes when the caller sent none:
/// `Root=1-{epoch hex}-{96 random bits};Parent={64 random bits};Sampled=0`.
pub(crate) fn new_trace_id() -> String {
    let secs = epoch_millis(SystemTime::now()) / 1000;
    format!(
        "Root=1-{secs:08x}-{:08x}{:016x};Parent={:016x};Sampled=0",
        fastrand::u32(..),
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

/// Milliseconds since the Unix epoch.
pub(crate) fn epoch_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    // d is in 1..=31 and m in 1..=12 by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// `2024-05-01T12:34:56.789Z`, the timestamp format of Lambda's timeout message and log lines.
pub(crate) fn rfc3339_millis(t: SystemTime) -> String {
    let ms = i64::try_from(epoch_millis(t)).unwrap_or(i64::MAX);
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

/// `2024/05/01`, the date prefix of Lambda log stream names.
pub(crate) fn log_stream_date(t: SystemTime) -> String {
    let secs = i64::try_from(epoch_millis(t) / 1000).unwrap_or(i64::MAX);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}/{mo:02}/{d:02}")
}

/// Sends SIGKILL to every process in the group `pgid`.
///
/// Instances are spawned as leaders of their own process group, so this also reaches whatever the
/// function forked (a shell bootstrap's `curl`, a `subprocess` the handler started). Without
/// `unsafe` there is no `kill(2)`, so this runs the `kill` utility; it takes about a millisecond
/// and is only used when an instance stops. Errors (the group is already gone) are ignored.
pub(crate) fn kill_process_group(pgid: u32) {
    if pgid == 0 {
        return;
    }
    let result = Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Err(error) = result {
        tracing::warn!(pgid, %error, "could not run `kill` to stop a function instance");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn request_ids_look_like_uuids_and_differ() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn formats_timestamps() {
        let t = UNIX_EPOCH + Duration::from_millis(1_714_566_896_789);
        assert_eq!(rfc3339_millis(t), "2024-05-01T12:34:56.789Z");
        assert_eq!(log_stream_date(t), "2024/05/01");
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(log_stream_date(leap), "2000/02/29");
    }
}

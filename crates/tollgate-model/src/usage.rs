//! Usage metering records and the calendar arithmetic of quotas (UTC days, ISO weeks starting
//! on Monday, calendar months), without a date library.

use serde::{Deserialize, Serialize};

use crate::rest::QuotaSettings;

/// Requests and bytes of one API key on one stage on one UTC day (store kind
/// [`crate::layout::USAGE`], id [`DailyUsage::id`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyUsage {
    pub day: i64,
    pub api_id: String,
    pub stage: String,
    pub api_key_id: String,
    pub requests: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
}

impl DailyUsage {
    pub fn id(day: i64, api_id: &str, stage: &str, api_key_id: &str) -> String {
        format!("{day}/{api_id}/{stage}/{api_key_id}")
    }
}

/// UpdateUsage's change to a key's count in one quota period: `offset` is added to what was
/// metered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageAdjustment {
    pub api_key_id: String,
    pub period_start: i64,
    pub offset: i64,
}

/// The UTC day number (days since 1970-01-01) of a Unix time in seconds.
pub fn day_of(epoch_seconds: i64) -> i64 {
    epoch_seconds.div_euclid(86_400)
}

/// (year, month 1-12, day 1-31) of a day number.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day number of a civil date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `yyyy-MM-dd` as a day number.
pub fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    (civil_from_days(days) == (year, month, day)).then_some(days)
}

pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The first and last day of the quota period that holds `day`.
pub fn period_of(day: i64, quota: &QuotaSettings) -> (i64, i64) {
    match quota.period.as_str() {
        "WEEK" => {
            // 1970-01-01 was a Thursday: Monday-based weekday = (day + 3) mod 7.
            let start = day - (day + 3).rem_euclid(7);
            (start, start + 6)
        }
        "MONTH" => {
            let (y, m, _) = civil_from_days(day);
            let start = days_from_civil(y, m, 1);
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (start, days_from_civil(ny, nm, 1) - 1)
        }
        _ => (day, day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(period: &str) -> QuotaSettings {
        QuotaSettings {
            limit: 1,
            offset: 0,
            period: period.into(),
        }
    }

    #[test]
    fn dates_round_trip() {
        for text in ["1970-01-01", "2000-02-29", "2026-11-24", "2024-12-31"] {
            let day = parse_day(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(format_day(day), text);
        }
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(parse_day("2023-02-29"), None);
        assert_eq!(parse_day("2023-1"), None);
    }

    #[test]
    fn periods_are_utc_days_monday_weeks_and_calendar_months() {
        let tue = parse_day("2026-11-24").unwrap_or_default();
        assert_eq!(period_of(tue, &quota("DAY")), (tue, tue));
        let (ws, we) = period_of(tue, &quota("WEEK"));
        assert_eq!(
            (format_day(ws), format_day(we)),
            ("2026-11-23".into(), "2026-11-29".into())
        );
        let (ms, me) = period_of(tue, &quota("MONTH"));
        assert_eq!(
            (format_day(ms), format_day(me)),
            ("2026-11-01".into(), "2026-11-30".into())
        );
        let dec = parse_day("2026-12-31").unwrap_or_default();
        assert_eq!(format_day(period_of(dec, &quota("MONTH")).1), "2026-12-31");
    }
}

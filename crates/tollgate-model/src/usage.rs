//! Usage metering records and quota periods (UTC days, weeks starting on Monday, calendar
//! months).

use serde::{Deserialize, Serialize};

use crate::calendar::{civil_from_days, days_from_civil};
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
    fn periods_are_utc_days_monday_weeks_and_calendar_months() {
        use crate::calendar::{format_day, parse_day};
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

//! Business days: the calendar date on which an event counts, in the store's local time.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// Largest accepted UTC offset, in minutes (UTC+14:00 and UTC−14:00).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

const MS_PER_DAY: i64 = 86_400_000;

/// A calendar day as days since 1970-01-01 (proleptic Gregorian). Ordered, and printed as
/// `YYYY-MM-DD`; [`key`](Self::key) gives `YYYYMMDD` for SQL tables.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BusinessDay(i32);

impl BusinessDay {
    /// The day `days` after 1970-01-01 (negative before it).
    pub const fn from_days(days: i32) -> Self {
        BusinessDay(days)
    }

    /// The local date of the instant `unix_ms` (e.g. an event's HLC
    /// [`unix_ms`](crate::causality::HlcTimestamp::unix_ms)) in a store whose local time is
    /// UTC plus `utc_offset_minutes` (e.g. `-300` for New York in winter, `540` for Tokyo).
    pub fn from_unix_ms(unix_ms: u64, utc_offset_minutes: i32) -> Result<Self> {
        if utc_offset_minutes.abs() > MAX_UTC_OFFSET_MINUTES {
            return Err(CoreError::InvalidField {
                field: "utc_offset_minutes",
                reason: alloc::format!(
                    "{utc_offset_minutes} is outside ±{MAX_UTC_OFFSET_MINUTES}; give the store's UTC offset in minutes"
                ),
            });
        }
        let ms = i64::try_from(unix_ms).map_err(|_| CoreError::Overflow("business day"))?;
        let local = ms
            .checked_add(i64::from(utc_offset_minutes) * 60_000)
            .ok_or(CoreError::Overflow("business day"))?;
        let days = i32::try_from(local.div_euclid(MS_PER_DAY))
            .map_err(|_| CoreError::Overflow("business day"))?;
        Ok(BusinessDay(days))
    }

    /// The day of a calendar date; an error if the date does not exist.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Result<Self> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if day == 0 || day > days_in_month || !(-1_000_000..=1_000_000).contains(&year) {
            return Err(CoreError::InvalidField {
                field: "business_day",
                reason: alloc::format!("{year:04}-{month:02}-{day:02} is not a calendar date"),
            });
        }
        // Days from civil (H. Hinnant's algorithm).
        let y = i64::from(year) - i64::from(month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        i32::try_from(days).map(BusinessDay).map_err(|_| CoreError::Overflow("business day"))
    }

    /// Days since 1970-01-01.
    pub const fn days(&self) -> i32 {
        self.0
    }

    /// The calendar date as (year, month 1–12, day 1–31).
    pub fn ymd(&self) -> (i32, u8, u8) {
        // Civil from days (H. Hinnant's algorithm).
        let z = i64::from(self.0) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // The ranges are bounded by the algorithm: month 1..=12, day 1..=31, |year| < 2^31.
        (year as i32, month as u8, day as u8)
    }

    /// The date as the integer `YYYYMMDD` (e.g. `20261125`), for SQL keys.
    pub fn key(&self) -> i64 {
        let (y, m, d) = self.ymd();
        i64::from(y) * 10_000 + i64::from(m) * 100 + i64::from(d)
    }
}

impl fmt::Display for BusinessDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for BusinessDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BusinessDay({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn dates_round_trip() {
        assert_eq!(BusinessDay::from_ymd(1970, 1, 1).unwrap().days(), 0);
        let d = BusinessDay::from_ymd(2026, 11, 25).unwrap();
        assert_eq!(d.to_string(), "2026-11-25");
        assert_eq!(d.key(), 20_261_125);
        assert_eq!(BusinessDay::from_ymd(2024, 2, 29).unwrap().ymd(), (2024, 2, 29));
        assert!(BusinessDay::from_ymd(2025, 2, 29).is_err());
        assert!(BusinessDay::from_ymd(2025, 13, 1).is_err());
        for days in [-800_000, -1, 0, 59, 365, 20_000, 2_000_000] {
            let b = BusinessDay::from_days(days);
            let (y, m, dd) = b.ymd();
            assert_eq!(BusinessDay::from_ymd(y, m, dd).unwrap(), b);
        }
    }

    #[test]
    fn offsets_move_the_day() {
        // 2026-11-25T03:00:00Z.
        let ms = 1_795_575_600_000;
        assert_eq!(BusinessDay::from_unix_ms(ms, 0).unwrap().to_string(), "2026-11-25");
        assert_eq!(BusinessDay::from_unix_ms(ms, -300).unwrap().to_string(), "2026-11-24");
        assert_eq!(BusinessDay::from_unix_ms(ms, 540).unwrap().to_string(), "2026-11-25");
        assert!(BusinessDay::from_unix_ms(ms, 15 * 60).is_err());
    }
}

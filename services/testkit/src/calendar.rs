//! The story's calendar: day 0 is Wednesday 10 January 2024, 10:00 in China.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use dixian_domain::Decider;
use dixian_domain::YearMonth;
use dixian_domain::policy::{Policy, PolicyBook, shandong_defaults};

/// Day `n` of the story, at 10:00 in China.
pub fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 10, 2, 0, 0).unwrap() + TimeDelta::days(n)
}

/// The China date of day `n`.
pub fn date_of(n: i64) -> NaiveDate {
    dixian_domain::china_date(day(n))
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

pub fn month(s: &str) -> YearMonth {
    YearMonth::parse(s).expect("a month YYYY-MM")
}

/// Shandong's defaults, set long before the story: 15-day identification, 5-day notice,
/// 6 + 6 months, ¥7,000 line.
pub fn policy() -> PolicyBook {
    Policy::replay(&shandong_defaults(&crate::county(), day(-400)))
}

/// Shandong's monitoring line in the story, in fen.
pub const LINE_FEN: i64 = 700_000;

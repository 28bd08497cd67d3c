//! Months and business dates.
//!
//! Deadlines counted in days and the "even month" of a cadre visit are judged on the date in
//! China (UTC+8), not the UTC date: a visit at 07:00 on 1 June in Linzi is in June even though
//! it is still 31 May in UTC. The offset is a constant of the domain, not a clock.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};

/// The calendar date in China (UTC+8) of a business instant.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    at.naive_utc()
        .checked_add_signed(TimeDelta::hours(8))
        .map_or_else(|| at.date_naive(), |local| local.date())
}

/// `date + days`, saturating at the calendar's end instead of panicking.
pub fn add_days(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// `at + days`, saturating instead of panicking.
pub fn add_days_at(at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    at.checked_add_signed(TimeDelta::days(i64::from(days)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A calendar month, `YYYY-MM`: the end of a 12-month income window.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct YearMonth {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("month must be written YYYY-MM with a month 01–12 and a year 1900–9999, got {got:?}")]
pub struct YearMonthError {
    pub got: String,
}

impl DomainError for YearMonthError {
    fn code(&self) -> &'static str {
        "INVALID_MONTH"
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
    fn field(&self) -> Option<&'static str> {
        Some("month")
    }
}

impl YearMonth {
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1900..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    pub fn parse(s: &str) -> Result<Self, YearMonthError> {
        let err = || YearMonthError { got: s.to_owned() };
        let (y, m) = s.split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 || !(y.chars().chain(m.chars())).all(|c| c.is_ascii_digit())
        {
            return Err(err());
        }
        let year = y.parse().map_err(|_| err())?;
        let month = m.parse().map_err(|_| err())?;
        Self::new(year, month).ok_or_else(err)
    }

    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MAX)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Debug for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "YearMonth({self})")
    }
}

impl FromStr for YearMonth {
    type Err = YearMonthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for YearMonth {
    type Error = YearMonthError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<YearMonth> for String {
    fn from(m: YearMonth) -> Self {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_month_parses_and_prints_as_yyyy_mm() {
        let m = YearMonth::parse("2024-05").unwrap();
        assert_eq!(m.to_string(), "2024-05");
        assert_eq!(m.previous().to_string(), "2024-04");
        assert_eq!(
            YearMonth::parse("2024-01").unwrap().previous().to_string(),
            "2023-12"
        );
        assert_eq!(m.last_day(), NaiveDate::from_ymd_opt(2024, 5, 31).unwrap());
    }

    #[test]
    fn malformed_months_are_rejected() {
        for bad in [
            "2024-13", "2024-00", "24-05", "2024-5", "2024/05", "", "abcd-ef",
        ] {
            assert!(YearMonth::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_business_date_is_the_date_in_china() {
        let late_utc = Utc.with_ymd_and_hms(2024, 5, 31, 23, 0, 0).unwrap();
        assert_eq!(
            china_date(late_utc),
            NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
        );
    }
}

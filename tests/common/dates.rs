//! Dates written as text in tests: `date("2025-06-01")`, `datetime("2025-05-31 12:00:00")`.
#![allow(clippy::unwrap_used)]

use chrono::{NaiveDate, NaiveDateTime};

/// `YYYY-MM-DD`.
pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// `YYYY-MM-DD HH:MM:SS`.
pub fn datetime(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

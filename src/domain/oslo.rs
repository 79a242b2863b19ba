//! Europe/Oslo local time and the Norwegian way of writing dates and amounts, without a time-zone
//! database: Norway has followed the EU's summer-time rule since 1996 (UTC+2 from 01:00 UTC
//! on the last Sunday of March until 01:00 UTC on the last Sunday of October, UTC+1
//! otherwise). Times are stored in UTC; only what people read is converted.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};

/// The last Sunday of `month` in `year`, at 01:00 UTC (when the EU changes the clocks).
fn last_sunday_0100_utc(year: i32, month: u32) -> NaiveDateTime {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .unwrap_or(NaiveDate::MIN);
    let last = first_of_next.pred_opt().unwrap_or(first_of_next);
    let back = last.weekday().num_days_from_sunday();
    let sunday = last - Duration::days(i64::from(back));
    sunday.and_hms_opt(1, 0, 0).unwrap_or_default()
}

/// The offset from UTC in Oslo at the UTC instant `utc`: one or two hours.
pub fn offset_hours(utc: NaiveDateTime) -> i64 {
    let year = utc.year();
    let summer = utc >= last_sunday_0100_utc(year, 3) && utc < last_sunday_0100_utc(year, 10);
    if summer { 2 } else { 1 }
}

/// The UTC instant `utc` as Oslo wall-clock time.
pub fn local(utc: NaiveDateTime) -> NaiveDateTime {
    utc + Duration::hours(offset_hours(utc))
}

/// The UTC instant at which the Oslo day `day` begins (the clocks never change at midnight
/// in Norway, so the offset at local midnight is the day's first offset).
pub fn midnight_utc(day: NaiveDate) -> NaiveDateTime {
    let local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    local - Duration::hours(offset_hours(local))
}

/// `dd.mm.yyyy`.
pub fn date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// The Oslo date of the UTC instant `utc`, as `dd.mm.yyyy`.
pub fn date_of(utc: NaiveDateTime) -> String {
    date(local(utc).date())
}

/// The Oslo time of the UTC instant `utc`, as `dd.mm.yyyy kl. HH:MM`.
pub fn date_time(utc: NaiveDateTime) -> String {
    local(utc).format("%d.%m.%Y kl. %H:%M").to_string()
}

/// The Monday (Oslo date) of the ISO week that contains the UTC instant `utc`, and the
/// week's label (`2026-W49`).
pub fn iso_week(utc: NaiveDateTime) -> (NaiveDate, String) {
    let d = local(utc).date();
    let w = d.iso_week();
    let monday = NaiveDate::from_isoywd_opt(w.year(), w.week(), Weekday::Mon).unwrap_or(d);
    (monday, format!("{}-W{:02}", w.year(), w.week()))
}

/// Øre as Norwegians write an amount: `1 234 567 kr`, with øre only when there are some
/// (`1 234,50 kr`); the groups are separated by no-break spaces.
pub fn kroner(ore: i64) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    let ore = ore.unsigned_abs();
    let grouped = group_digits(ore / 100);
    match ore % 100 {
        0 => format!("{sign}{grouped}\u{a0}kr"),
        o => format!("{sign}{grouped},{o:02}\u{a0}kr"),
    }
}

/// A whole number as Norwegians write it: `10 000`, the groups separated by no-break spaces.
pub fn grouped(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", group_digits(n.unsigned_abs()))
}

fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    grouped
}

/// Today's date in Oslo.
pub fn today() -> NaiveDate {
    local(chrono::Utc::now().naive_utc()).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default()
    }

    #[test]
    fn summer_time_starts_and_ends_at_0100_utc_on_the_last_sundays() {
        // 2026: 29 March and 25 October.
        assert_eq!(offset_hours(utc("2026-03-29 00:59")), 1);
        assert_eq!(offset_hours(utc("2026-03-29 01:00")), 2);
        assert_eq!(offset_hours(utc("2026-10-25 00:59")), 2);
        assert_eq!(offset_hours(utc("2026-10-25 01:00")), 1);
        // 2027: 28 March and 31 October (October's last day is the Sunday).
        assert_eq!(offset_hours(utc("2027-03-28 01:00")), 2);
        assert_eq!(offset_hours(utc("2027-10-31 00:30")), 2);
        assert_eq!(offset_hours(utc("2027-10-31 01:00")), 1);
    }

    #[test]
    fn dates_as_norwegians_write_them() {
        assert_eq!(date_of(utc("2026-12-31 23:30")), "01.01.2027", "00:30 in Oslo");
        assert_eq!(date_time(utc("2026-07-01 10:05")), "01.07.2026 kl. 12:05");
        assert_eq!(date_time(utc("2026-12-06 10:05")), "06.12.2026 kl. 11:05");
        let (monday, label) = iso_week(utc("2026-12-06 12:00"));
        assert_eq!(
            (date(monday).as_str(), label.as_str()),
            ("30.11.2026", "2026-W49")
        );
    }

    #[test]
    fn oslo_midnight_in_utc() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        assert_eq!(midnight_utc(d("2026-12-07")).to_string(), "2026-12-06 23:00:00");
        assert_eq!(midnight_utc(d("2026-07-06")).to_string(), "2026-07-05 22:00:00");
    }

    #[test]
    fn amounts_in_kroner() {
        assert_eq!(kroner(123_456_700), "1\u{a0}234\u{a0}567\u{a0}kr");
        assert_eq!(kroner(123_450), "1\u{a0}234,50\u{a0}kr");
        assert_eq!(kroner(-5), "-0,05\u{a0}kr");
        assert_eq!(kroner(0), "0\u{a0}kr");
    }
}

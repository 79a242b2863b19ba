//! The seeded generator of the tests and the benches: xorshift64*, so that a seed always
//! gives the same data. Shared with the benches (`benches/common/mod.rs` includes this
//! file): changing the sequence changes the benches' data and their figures stop being
//! comparable with earlier runs.
#![allow(clippy::expect_used)]

use chrono::{Days, NaiveDate};

/// xorshift64* (shifts 12, 25, 27; Vigna's multiplier). Not for anything but test data.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (modulo: slightly uneven, and that is part of the sequence).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// A day in the `span_days` days from 1 January `from_year`.
    pub fn date(&mut self, from_year: i32, span_days: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(from_year, 1, 1)
            .and_then(|d| d.checked_add_days(Days::new(self.below(span_days))))
            .expect("a date in chrono's range")
    }
}

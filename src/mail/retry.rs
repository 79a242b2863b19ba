//! When a failed message is tried again: exponential backoff from a base delay, capped,
//! and a dead letter after the configured number of attempts or at once when the server
//! refused it for good (a 5xx reply: retrying a rejected address changes nothing).

use chrono::{Duration, NaiveDateTime};

/// The longest wait between two attempts.
pub const MAX_DELAY_SECONDS: i64 = 6 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; doubled after each further one.
    pub base_seconds: i64,
    /// Attempts before a message becomes a dead letter.
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(NaiveDateTime),
    Dead,
}

impl RetryPolicy {
    /// What happens after attempt number `attempts` (1 for the first) failed at `now`.
    pub fn after_failure(&self, attempts: u32, permanent: bool, now: NaiveDateTime) -> AfterFailure {
        if permanent || attempts >= self.max_attempts {
            return AfterFailure::Dead;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let delay = self
            .base_seconds
            .max(0)
            .saturating_mul(1i64 << doublings)
            .min(MAX_DELAY_SECONDS);
        AfterFailure::RetryAt(now + Duration::seconds(delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap_or_default()
            .naive_utc()
    }

    #[test]
    fn backs_off_doubling_then_gives_up() {
        let p = RetryPolicy {
            base_seconds: 60,
            max_attempts: 4,
        };
        assert_eq!(p.after_failure(1, false, at(0)), AfterFailure::RetryAt(at(60)));
        assert_eq!(p.after_failure(2, false, at(0)), AfterFailure::RetryAt(at(120)));
        assert_eq!(p.after_failure(3, false, at(0)), AfterFailure::RetryAt(at(240)));
        assert_eq!(p.after_failure(4, false, at(0)), AfterFailure::Dead);
        assert_eq!(
            p.after_failure(1, true, at(0)),
            AfterFailure::Dead,
            "a rejection is final"
        );
    }

    #[test]
    fn the_wait_is_capped() {
        let p = RetryPolicy {
            base_seconds: 60,
            max_attempts: 100,
        };
        assert_eq!(
            p.after_failure(60, false, at(0)),
            AfterFailure::RetryAt(at(MAX_DELAY_SECONDS))
        );
    }
}

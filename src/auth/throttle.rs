//! The sign-in throttle's policy (pure). The counts come from the `login_attempts` table,
//! read and written inside one write transaction before the password is checked, so parallel
//! attempts cannot slip past the limit and every instance on one database agrees.
//!
//! It slows guessing without handing a stranger a way to lock the owner out:
//! - per account **and address**: after `per_pair` failures in the window, each further
//!   attempt from that address for that account waits `base_delay`, doubling per failure, up
//!   to `max_delay`. The owner signing in from another address is not affected;
//! - per address: after `per_address` failures in the window (any accounts), the address
//!   waits likewise.

use chrono::{Duration, NaiveDateTime};

#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub per_pair: u32,
    pub per_address: u32,
    pub window: Duration,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            per_pair: 5,
            per_address: 20,
            window: Duration::minutes(15),
            base_delay: Duration::seconds(30),
            max_delay: Duration::minutes(15),
        }
    }
}

/// Failed (or still pending) attempts within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    pub pair_failures: u32,
    pub pair_last: Option<NaiveDateTime>,
    pub address_failures: u32,
    pub address_last: Option<NaiveDateTime>,
}

/// The wait after `failures` failures when `limit` are free: none below the limit, then
/// `base`, doubling per failure, at most `max`.
pub fn delay_after(failures: u32, limit: u32, base: Duration, max: Duration) -> Option<Duration> {
    let over = failures.checked_sub(limit)?;
    let factor = 1i64.checked_shl(over.min(20)).unwrap_or(i64::MAX);
    Some(
        base.checked_mul(i32::try_from(factor).unwrap_or(i32::MAX))
            .unwrap_or(max)
            .min(max),
    )
}

/// `Err(seconds to wait)` when an attempt at `now` must be refused.
pub fn decide(limits: &ThrottleLimits, recent: &Recent, now: NaiveDateTime) -> Result<(), u64> {
    let wait_for = |failures: u32, limit: u32, last: Option<NaiveDateTime>| -> Option<i64> {
        let delay = delay_after(failures, limit, limits.base_delay, limits.max_delay)?;
        let until = last? + delay;
        (until > now).then(|| (until - now).num_seconds().max(1))
    };
    let pair = wait_for(recent.pair_failures, limits.per_pair, recent.pair_last);
    let address = wait_for(recent.address_failures, limits.per_address, recent.address_last);
    match pair.max(address) {
        Some(seconds) => Err(u64::try_from(seconds).unwrap_or(1)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn below_the_limit_nobody_waits() {
        let l = ThrottleLimits::default();
        let r = Recent {
            pair_failures: 4,
            pair_last: Some(at(0)),
            address_failures: 19,
            address_last: Some(at(0)),
        };
        assert_eq!(decide(&l, &r, at(0)), Ok(()));
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let l = ThrottleLimits::default();
        let d = |n| delay_after(n, 5, l.base_delay, l.max_delay).map(|d| d.num_seconds());
        assert_eq!(d(4), None);
        assert_eq!(d(5), Some(30));
        assert_eq!(d(6), Some(60));
        assert_eq!(d(8), Some(240));
        assert_eq!(d(12), Some(900));
        assert_eq!(d(u32::MAX), Some(900));
    }

    #[test]
    fn the_pair_waits_from_its_last_failure() {
        let l = ThrottleLimits::default();
        let r = Recent {
            pair_failures: 5,
            pair_last: Some(at(0)),
            ..Recent::default()
        };
        assert_eq!(decide(&l, &r, at(10)), Err(20));
        assert_eq!(decide(&l, &r, at(30)), Ok(()));
    }

    #[test]
    fn the_address_limit_holds_across_accounts() {
        let l = ThrottleLimits::default();
        let r = Recent {
            address_failures: 20,
            address_last: Some(at(0)),
            ..Recent::default()
        };
        assert!(decide(&l, &r, at(1)).is_err());
    }
}

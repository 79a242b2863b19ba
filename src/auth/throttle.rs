//! Failed-login throttle, per user name and per client address.
//!
//! In memory and per instance: it slows guessing, it is not an account lock (a lock would
//! let anyone lock out a colleague). Every failure is also in the audit log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub per_user: usize,
    pub per_address: usize,
    pub window: Duration,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            per_user: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    limits: ThrottleLimits,
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    by_user: HashMap<String, Vec<Instant>>,
    by_address: HashMap<String, Vec<Instant>>,
}

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        LoginThrottle {
            limits,
            failures: Mutex::new(Failures::default()),
        }
    }

    /// `Err(seconds)` when this user or address must wait before trying again.
    pub fn check(&self, username: &str, address: &str) -> Result<(), u64> {
        let limits = self.limits;
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let user_wait = wait(
            f.by_user.get_mut(&username.to_lowercase()),
            limits.per_user,
            limits.window,
            now,
        );
        let addr_wait = wait(
            f.by_address.get_mut(address),
            limits.per_address,
            limits.window,
            now,
        );
        match user_wait.max(addr_wait) {
            0 => Ok(()),
            s => Err(s),
        }
    }

    pub fn record_failure(&self, username: &str, address: &str) {
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.by_user.entry(username.to_lowercase()).or_default().push(now);
        f.by_address.entry(address.to_owned()).or_default().push(now);
    }

    /// A successful login clears the user's failures (not the address's: one address
    /// guessing many users stays throttled).
    pub fn record_success(&self, username: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.by_user.remove(&username.to_lowercase());
    }
}

/// Drops failures outside the window; when `limit` remain, the seconds until the oldest expires.
fn wait(entries: Option<&mut Vec<Instant>>, limit: usize, window: Duration, now: Instant) -> u64 {
    let Some(entries) = entries else { return 0 };
    entries.retain(|t| now.duration_since(*t) < window);
    if entries.len() < limit {
        return 0;
    }
    let oldest = entries.first().copied().unwrap_or(now);
    let remaining = window.saturating_sub(now.duration_since(oldest));
    remaining.as_secs().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_user_then_address() {
        let t = LoginThrottle::new(ThrottleLimits {
            per_user: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        });
        for _ in 0..3 {
            assert!(t.check("Ola", "1.2.3.4").is_ok());
            t.record_failure("ola", "1.2.3.4");
        }
        assert!(
            t.check("OLA", "9.9.9.9").is_err(),
            "per-user limit applies from any address"
        );
        assert!(t.check("kari", "1.2.3.4").is_ok());
        t.record_failure("kari", "1.2.3.4");
        t.record_failure("per", "1.2.3.4");
        assert!(t.check("someone", "1.2.3.4").is_err(), "per-address limit");
        t.record_success("ola");
        assert!(t.check("ola", "9.9.9.9").is_ok());
    }
}

//! The arithmetic of the reports the municipality owes its city council: hit rates and
//! the uniform part's estimate of how common findings are. Pure.

use serde::Serialize;

/// Cases closed and how many of them had findings (closed with another outcome than
/// `ingen_funn`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub closed: u64,
    pub with_findings: u64,
}

impl Tally {
    pub fn add(&mut self, finding: bool) {
        self.closed += 1;
        if finding {
            self.with_findings += 1;
        }
    }

    /// Share with findings, `None` when nothing was closed.
    pub fn rate(&self) -> Option<f64> {
        (self.closed > 0).then(|| self.with_findings as f64 / self.closed as f64)
    }
}

/// A share with its 95 % confidence interval (Wilson's score interval, which stays inside
/// [0, 1] and behaves with small samples and zero counts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub share: f64,
    pub low: f64,
    pub high: f64,
    pub sample: u64,
}

/// Wilson's interval for `k` of `n` at 95 % (z = 1.959964); `None` for `n = 0`.
pub fn wilson(k: u64, n: u64) -> Option<Estimate> {
    if n == 0 || k > n {
        return None;
    }
    let z = 1.959_963_984_540_054_f64;
    let (k, nf) = (k as f64, n as f64);
    let p = k / nf;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = z * ((p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt()) / (1.0 + z2 / nf);
    Some(Estimate {
        share: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
        sample: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_known_values() {
        // 5 of 20: 0.25, interval about [0.112, 0.469].
        let e = wilson(5, 20).unwrap_or(Estimate {
            share: 0.0,
            low: 0.0,
            high: 0.0,
            sample: 0,
        });
        assert!((e.share - 0.25).abs() < 1e-12);
        assert!((e.low - 0.1119).abs() < 1e-3, "{e:?}");
        assert!((e.high - 0.4687).abs() < 1e-3, "{e:?}");
        // 0 of 10: [0, 0.278].
        let z = wilson(0, 10).unwrap_or(Estimate {
            share: 1.0,
            low: 1.0,
            high: 1.0,
            sample: 0,
        });
        assert_eq!(z.low, 0.0);
        assert!((z.high - 0.2775).abs() < 1e-3, "{z:?}");
        assert!(wilson(0, 0).is_none());
        assert!(wilson(3, 2).is_none());
    }

    #[test]
    fn tallies() {
        let mut t = Tally::default();
        assert_eq!(t.rate(), None);
        t.add(true);
        t.add(false);
        assert_eq!(t.rate(), Some(0.5));
    }
}

//! The statistical sample size: how many contracts to check so that, if none of them shows a
//! problem, one can say with the given confidence that the problem rate is below the
//! tolerable rate `m`. With `α = 1 − confidence`:
//! - Poisson (the usual audit approximation): `n = ⌈−ln(α) / m⌉`.
//! - Binomial (exact for drawing with replacement): the smallest `n` with `(1 − m)^n ≤ α`,
//!   i.e. `n = ⌈ln(α) / ln(1 − m)⌉`.
//!
//! This uses f64 and the platform's `ln`. That is fine here: it *plans* a size, which is then
//! recorded as an integer in the draw; it never decides which contract is picked, so no draw
//! depends on floating point. To keep results stable where the exact quotient is an integer
//! (e.g. `−ln(e^-3)/0.05 = 60`), the quotient is reduced by a relative 1e-9 before rounding
//! up, so rounding noise in the last bits does not add a contract.

use serde::{Deserialize, Serialize};

use super::SamplingError;

/// The model behind the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeModel {
    Poisson,
    Binomial,
}

/// Sizes above this are refused: they come from a mistyped rate, not from an audit plan.
const MAX_PLANNED: f64 = 1e12;

/// Sample size for a tolerable problem rate (`0 < rate < 1`) and a confidence
/// (`0 < confidence < 1`), at least 1.
pub fn plan_size(tolerable_rate: f64, confidence: f64, model: SizeModel) -> Result<u64, SamplingError> {
    if !(tolerable_rate.is_finite() && tolerable_rate > 0.0 && tolerable_rate < 1.0) {
        return Err(SamplingError::InvalidParameter(format!(
            "tolerable rate {tolerable_rate} must be between 0 and 1 (e.g. 0.05 for 5 %)"
        )));
    }
    if !(confidence.is_finite() && confidence > 0.0 && confidence < 1.0) {
        return Err(SamplingError::InvalidParameter(format!(
            "confidence {confidence} must be between 0 and 1 (e.g. 0.95 for 95 %)"
        )));
    }
    let alpha = 1.0 - confidence;
    let quotient = match model {
        SizeModel::Poisson => -alpha.ln() / tolerable_rate,
        // ln(1 − m) via ln_1p for accuracy with small m.
        SizeModel::Binomial => alpha.ln() / (-tolerable_rate).ln_1p(),
    };
    let n = (quotient - 1e-9 * quotient.max(1.0)).ceil().max(1.0);
    if !n.is_finite() || n > MAX_PLANNED {
        return Err(SamplingError::InvalidParameter(format!(
            "the planned size ({quotient:.0}) is unreasonably large; check the tolerable rate"
        )));
    }
    // n is a whole number in 1..=1e12, so the conversion is exact.
    Ok(n as u64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn textbook_sizes() {
        // 5 % tolerable rate, 95 % confidence: Poisson 60 (−ln 0.05 = 2.9957), binomial 59.
        assert_eq!(plan_size(0.05, 0.95, SizeModel::Poisson).unwrap(), 60);
        assert_eq!(plan_size(0.05, 0.95, SizeModel::Binomial).unwrap(), 59);
        assert_eq!(plan_size(0.10, 0.90, SizeModel::Poisson).unwrap(), 24);
        assert_eq!(plan_size(0.10, 0.90, SizeModel::Binomial).unwrap(), 22);
        // Exact integer quotient is not rounded up by noise: α = e^-3, m = 0.05 → 60.
        let conf = 1.0 - (-3.0f64).exp();
        assert_eq!(plan_size(0.05, conf, SizeModel::Poisson).unwrap(), 60);
    }

    #[test]
    fn binomial_is_smallest_n() {
        for &(m, c) in &[(0.05, 0.95), (0.01, 0.99), (0.2, 0.5), (0.03, 0.9)] {
            let n = plan_size(m, c, SizeModel::Binomial).unwrap() as i32;
            let alpha = 1.0 - c;
            assert!((1.0f64 - m).powi(n) <= alpha * (1.0 + 1e-9));
            assert!((1.0f64 - m).powi(n - 1) > alpha);
        }
    }

    #[test]
    fn rejects_bad_input() {
        for &(m, c) in &[
            (0.0, 0.95),
            (1.0, 0.95),
            (0.05, 1.0),
            (0.05, 0.0),
            (f64::NAN, 0.9),
        ] {
            assert!(plan_size(m, c, SizeModel::Poisson).is_err());
        }
        assert!(plan_size(1e-15, 0.95, SizeModel::Poisson).is_err());
    }
}

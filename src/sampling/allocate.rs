//! From a total sample size to sizes per stratum and part, in integer arithmetic.
//!
//! 1. The total is capped at the population `N` (a larger total draws everything), and
//!    raised to the sum of the minimums if it is smaller (the minimums are a promise).
//!    A stratum's minimum is `min(min_per_stratum, N_s)`; its maximum is `N_s`.
//! 2. Each stratum's share is proportional to its *basis* `b_s` — its number of contracts
//!    (`BySize`) or its risk mass, the sum of its weights (`ByRiskMass`) — clamped to its
//!    minimum and maximum: `x_s = clamp(λ·b_s, min_s, max_s)` with `λ` such that the `x_s`
//!    add up to the total. `λ` is found exactly (rationals with a common denominator, u128)
//!    by the Bitran–Hax method: compute the unconstrained shares of the strata not yet fixed;
//!    if some fall below their minimum or above their maximum, fix either all those below at
//!    their minimum (when their total shortfall is at least the total excess of those above)
//!    or all those above at their maximum, and repeat.
//! 3. The strata left free get `floor(x_s)`; the seats still missing go one each to the free
//!    strata with the largest remainders, ties to the stratum whose name sorts first
//!    (byte-wise). (Largest-remainder / Hamilton method.)
//! 4. Each stratum's size `n` is split by the uniform share `p` (per mille):
//!    `weighted = floor((n·(1000 − p) + 500) / 1000)` (round half up, so a tie goes to the
//!    risk-weighted part) and `uniform = n − weighted`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DrawPlan, Manifest, PartSizes, SamplingError};

/// What a stratum's share of the total is proportional to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// Number of contracts in the stratum.
    BySize,
    /// Sum of the stratum's weights (risk points).
    ByRiskMass,
}

/// Share of each stratum's size drawn by the uniform part, in per mille (0..=1000), so the
/// split is integer-exact. 0 = all risk-weighted, 1000 = all uniform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct UniformShare(u16);

impl UniformShare {
    /// Everything risk-weighted.
    pub const NONE: UniformShare = UniformShare(0);
    /// Half and half (ties to the weighted part).
    pub const HALF: UniformShare = UniformShare(500);
    /// Everything uniform.
    pub const ALL: UniformShare = UniformShare(1000);

    /// A share of `per_mille`/1000; more than 1000 is an error.
    pub fn from_per_mille(per_mille: u16) -> Result<Self, SamplingError> {
        if per_mille > 1000 {
            return Err(SamplingError::InvalidParameter(format!(
                "uniform share {per_mille}‰ is more than 1000‰ (100 %)"
            )));
        }
        Ok(UniformShare(per_mille))
    }

    /// Parses `0.5`, `0,5` (decimal comma), `1`, `50%`, `12.5 %`: at most three decimals
    /// of a fraction or one of a percentage, so that the value is an exact per-mille number.
    pub fn parse(text: &str) -> Result<Self, SamplingError> {
        let bad = || {
            SamplingError::InvalidParameter(format!(
                "uniform share {text:?}: write a fraction such as 0.5 (at most 3 decimals) or a \
                 percentage such as 50% (at most 1 decimal)"
            ))
        };
        let t = text.trim();
        let (number, scale_decimals) = match t.strip_suffix('%') {
            Some(p) => (p.trim_end(), 1u32), // percent: per mille = percent × 10
            None => (t, 3u32),               // fraction: per mille = fraction × 1000
        };
        let number = number.replace(',', ".");
        let (int_part, frac_part) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number.as_str(), ""),
        };
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty()
            || !digits_only(int_part)
            || !digits_only(frac_part)
            || frac_part.len() > scale_decimals as usize
            || int_part.len() > 4
        {
            return Err(bad());
        }
        let mut value: u32 = int_part.parse().map_err(|_| bad())?;
        let mut frac_digits = frac_part.bytes();
        for _ in 0..scale_decimals {
            let d = frac_digits.next().map_or(0, |b| u32::from(b - b'0'));
            value = value * 10 + d;
        }
        u16::try_from(value)
            .map_err(|_| bad())
            .and_then(Self::from_per_mille)
    }

    /// The share in per mille.
    pub fn per_mille(self) -> u16 {
        self.0
    }

    /// Splits a stratum size: `weighted = floor((n·(1000 − p) + 500) / 1000)`, the rest uniform.
    pub fn split(self, size: u64) -> PartSizes {
        let n = u128::from(size);
        let weighted = (n * u128::from(1000 - self.0) + 500) / 1000;
        // weighted <= n, so it fits in u64.
        let weighted = u64::try_from(weighted).unwrap_or(size).min(size);
        PartSizes {
            weighted,
            uniform: size - weighted,
        }
    }
}

impl TryFrom<u16> for UniformShare {
    type Error = SamplingError;
    fn try_from(v: u16) -> Result<Self, Self::Error> {
        UniformShare::from_per_mille(v)
    }
}

impl From<UniformShare> for u16 {
    fn from(s: UniformShare) -> u16 {
        s.0
    }
}

/// Allocates `total` picks across the manifest's strata (see the module docs for the exact
/// rules) and splits each stratum's size into weighted and uniform parts. The plan lists
/// every stratum of the manifest, with zeros where nothing is drawn.
pub fn allocate(
    manifest: &Manifest,
    total: u64,
    uniform_share: UniformShare,
    allocation: Allocation,
    min_per_stratum: u64,
) -> Result<DrawPlan, SamplingError> {
    let sizes = stratum_sizes(manifest, total, allocation, min_per_stratum)?;
    let mut per_stratum = BTreeMap::new();
    for (s, n) in manifest.strata().iter().zip(sizes) {
        per_stratum.insert(s.name().to_owned(), uniform_share.split(n));
    }
    Ok(DrawPlan { per_stratum })
}

/// Steps 1–3: the size of each stratum, in manifest (name) order.
pub fn stratum_sizes(
    manifest: &Manifest,
    total: u64,
    allocation: Allocation,
    min_per_stratum: u64,
) -> Result<Vec<u64>, SamplingError> {
    let strata = manifest.strata();
    if strata.is_empty() {
        return Err(SamplingError::EmptyManifest);
    }
    let overflow = || SamplingError::Overflow("allocation");
    let hi: Vec<u64> = strata.iter().map(|s| s.len() as u64).collect();
    let lo: Vec<u64> = hi.iter().map(|&n| n.min(min_per_stratum)).collect();
    let basis: Vec<u128> = strata
        .iter()
        .map(|s| match allocation {
            Allocation::BySize => s.len() as u128,
            Allocation::ByRiskMass => u128::from(s.total_weight()),
        })
        .collect();
    if let Some((s, _)) = strata.iter().zip(&basis).find(|(_, b)| **b == 0) {
        return Err(SamplingError::EmptyStratum(s.name().to_owned()));
    }
    let population: u64 = hi.iter().sum();
    let minimums: u64 = lo.iter().sum();
    let total = total.min(population).max(minimums);

    // Bitran–Hax: fix strata at a bound until the proportional shares of the rest fit.
    let k = strata.len();
    let mut fixed: Vec<Option<u64>> = vec![None; k];
    loop {
        let fixed_sum: u64 = fixed.iter().flatten().sum();
        let rest = u128::from(total.checked_sub(fixed_sum).ok_or_else(overflow)?);
        let free_basis: u128 = (0..k).filter(|&i| fixed[i].is_none()).map(|i| basis[i]).sum();
        if free_basis == 0 {
            break;
        }
        let (mut shortfall, mut excess) = (0u128, 0u128);
        let (mut below, mut above) = (Vec::new(), Vec::new());
        for i in (0..k).filter(|&i| fixed[i].is_none()) {
            // share_i = rest·b_i / B; compare numerators over the common denominator B.
            let num = rest.checked_mul(basis[i]).ok_or_else(overflow)?;
            let lo_num = u128::from(lo[i]).checked_mul(free_basis).ok_or_else(overflow)?;
            let hi_num = u128::from(hi[i]).checked_mul(free_basis).ok_or_else(overflow)?;
            if num < lo_num {
                shortfall = shortfall.checked_add(lo_num - num).ok_or_else(overflow)?;
                below.push(i);
            } else if num > hi_num {
                excess = excess.checked_add(num - hi_num).ok_or_else(overflow)?;
                above.push(i);
            }
        }
        if below.is_empty() && above.is_empty() {
            break;
        }
        if !below.is_empty() && shortfall >= excess {
            for i in below {
                fixed[i] = Some(lo[i]);
            }
        } else {
            for i in above {
                fixed[i] = Some(hi[i]);
            }
        }
    }

    // Largest remainder among the free strata.
    let fixed_sum: u64 = fixed.iter().flatten().sum();
    let rest = u128::from(total.checked_sub(fixed_sum).ok_or_else(overflow)?);
    let free: Vec<usize> = (0..k).filter(|&i| fixed[i].is_none()).collect();
    let free_basis: u128 = free.iter().map(|&i| basis[i]).sum();
    let mut sizes: Vec<u64> = fixed.iter().map(|f| f.unwrap_or(0)).collect();
    // (No free stratum left means every stratum sits at a bound and `rest` is 0.)
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(free.len());
    let mut given: u128 = 0;
    for &i in &free {
        let num = rest.checked_mul(basis[i]).ok_or_else(overflow)?;
        let floor = num.checked_div(free_basis).ok_or_else(overflow)?;
        sizes[i] = u64::try_from(floor).map_err(|_| overflow())?;
        given += floor;
        remainders.push((num.checked_rem(free_basis).ok_or_else(overflow)?, i));
    }
    // Largest remainder first; equal remainders in stratum name order (= index order).
    remainders.sort_by(|a, b| match b.0.cmp(&a.0) {
        Ordering::Equal => a.1.cmp(&b.1),
        other => other,
    });
    let missing = rest.checked_sub(given).ok_or_else(overflow)?;
    let missing = usize::try_from(missing).map_err(|_| overflow())?;
    for &(_, i) in remainders.iter().take(missing) {
        sizes[i] += 1;
    }
    if sizes.iter().sum::<u64>() != total {
        return Err(SamplingError::Overflow("allocation does not add up"));
    }
    Ok(sizes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn share_parse() {
        assert_eq!(UniformShare::parse("0.5").unwrap().per_mille(), 500);
        assert_eq!(UniformShare::parse("0,25").unwrap().per_mille(), 250);
        assert_eq!(UniformShare::parse("12.5%").unwrap().per_mille(), 125);
        assert_eq!(UniformShare::parse("100 %").unwrap().per_mille(), 1000);
        assert_eq!(UniformShare::parse("1").unwrap().per_mille(), 1000);
        assert_eq!(UniformShare::parse("0").unwrap().per_mille(), 0);
        for bad in ["", "1.5", "0.1234", "-0.5", "abc", "101%", "12.25%", ".5"] {
            assert!(UniformShare::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn split_rounds_half_up_to_weighted() {
        let s = UniformShare::HALF;
        assert_eq!(
            s.split(1),
            PartSizes {
                weighted: 1,
                uniform: 0
            }
        );
        assert_eq!(
            s.split(3),
            PartSizes {
                weighted: 2,
                uniform: 1
            }
        );
        assert_eq!(
            s.split(4),
            PartSizes {
                weighted: 2,
                uniform: 2
            }
        );
        let third = UniformShare::from_per_mille(333).unwrap();
        assert_eq!(
            third.split(10),
            PartSizes {
                weighted: 7,
                uniform: 3
            }
        );
        assert_eq!(UniformShare::ALL.split(7).weighted, 0);
        assert_eq!(UniformShare::NONE.split(7).uniform, 0);
    }
}

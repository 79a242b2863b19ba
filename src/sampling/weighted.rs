//! The weighted part: Rivest's counter mode (`sampler.py`, 2011) over integer weights.
//!
//! For count = 1, 2, …: `r = int(sha256_hex(seed_s + "," + str(count)), 16) mod W`, `W` the
//! sum of the stratum's weights; the pick is the contract `i` (manifest order) with
//! `C(i-1) <= r < C(i)`, `C` the running sum of weights. So each count picks a contract with
//! probability weight/W (the bias of reducing a 256-bit number mod W < 2^64 is below
//! 2^-192). A contract already picked — by either part, in this round or an earlier one — is
//! a *miss*: it is skipped and the count goes on.
//!
//! Two exhaustion rules keep this fast when few unpicked contracts are left; both are part of
//! the published algorithm (`docs/draws.md`) and pick with counter 0 (real counts start at 1):
//! 1. If a round asks the weighted part for at least as many picks as the stratum has
//!    unpicked contracts, no counting is done: all of them are taken, heaviest first.
//! 2. If a round's counting reaches `MISS_BUDGET_BASE + w` misses (`w` the weighted picks
//!    this round, after capping), counting stops for good in this stratum: the rest of this
//!    round's weighted picks, and all weighted picks of later rounds (extensions), are taken
//!    heaviest first. Counting stops only while a pick is still wanted, so such a stratum
//!    always shows a counter-0 pick, and the rule can be recovered from the recorded picks.
//!
//! "Heaviest first" means: unpicked contracts by weight, largest first, ties in manifest
//! order (ids byte-wise).

use sha2::{Digest, Sha256};

use super::SamplingError;

/// Misses allowed in one round before counting stops (plus one per wanted pick). With weights
/// within a factor 100 of each other, a normal draw (well under half of a stratum) misses a
/// handful of times; this budget is reached only when nearly all the weight is already
/// picked, where counting would take millions of hashes per pick.
pub const MISS_BUDGET_BASE: u64 = 100_000;

/// Hashes `seed_s + "," + count`, sharing the hashing of the fixed prefix between counts.
#[derive(Clone)]
pub(crate) struct CounterHasher {
    prefix: Sha256,
}

impl CounterHasher {
    pub(crate) fn new(seed_s: &str) -> Self {
        let mut prefix = Sha256::new();
        prefix.update(seed_s.as_bytes());
        prefix.update(b",");
        CounterHasher { prefix }
    }

    /// `int(sha256_hex(seed_s + "," + str(count)), 16) mod modulus`; `None` if modulus is 0.
    pub(crate) fn value(&self, count: u64, modulus: u64) -> Option<u64> {
        let mut h = self.prefix.clone();
        h.update(count.to_string().as_bytes());
        mod_u256(&h.finalize().into(), modulus)
    }
}

/// `int(sha256_hex(seed_s + "," + str(count)), 16) mod modulus` — the counter-mode primitive.
pub fn counter_value(seed_s: &str, count: u64, modulus: u64) -> Result<u64, SamplingError> {
    CounterHasher::new(seed_s)
        .value(count, modulus)
        .ok_or_else(|| SamplingError::InvalidParameter("the modulus must be positive".to_owned()))
}

/// The 256-bit big-endian number `digest` mod `m`, exactly: fold 64-bit words with u128
/// (`r < m < 2^64`, so `r * 2^64 + word < 2^128`).
pub(crate) fn mod_u256(digest: &[u8; 32], m: u64) -> Option<u64> {
    if m == 0 {
        return None;
    }
    let m = u128::from(m);
    let mut r: u128 = 0;
    for chunk in digest.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        r = ((r << 64) | u128::from(u64::from_be_bytes(word))) % m;
    }
    u64::try_from(r).ok()
}

/// Index `i` with `C(i-1) <= r < C(i)`, given the running sums `C` (0-based: the number of
/// running sums `<= r`).
pub(crate) fn locate(cumulative: &[u64], r: u64) -> usize {
    cumulative.partition_point(|&c| c <= r)
}

/// Counter mode *with* replacement over weights given as running sums: the first `take`
/// picks as (count, 0-based manifest index). This is the primitive of Rivest's own test
/// vector (uniform weights over 1..1000, seed "0": 905, 573, 160); the draw itself skips
/// repeats.
pub fn with_replacement(
    seed_s: &str,
    cumulative: &[u64],
    take: usize,
) -> Result<Vec<(u64, usize)>, SamplingError> {
    let total = cumulative.last().copied().unwrap_or(0);
    let hasher = CounterHasher::new(seed_s);
    let mut out = Vec::with_capacity(take);
    for count in 1..=take as u64 {
        let r = hasher
            .value(count, total)
            .ok_or_else(|| SamplingError::InvalidParameter("the weights add up to 0".to_owned()))?;
        out.push((count, locate(cumulative, r)));
    }
    Ok(out)
}

/// Where a stratum's counter mode stands between rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CounterState {
    /// The next count to hash (1 for a fresh stratum).
    pub next_count: u64,
    /// True once an exhaustion rule has applied: weighted picks are heaviest-first from now.
    pub exhausted: bool,
}

impl Default for CounterState {
    fn default() -> Self {
        CounterState {
            next_count: 1,
            exhausted: false,
        }
    }
}

/// One round of the weighted part in one stratum: up to `want` new picks, as
/// (manifest index, counter; 0 for an exhaustion-rule pick). `picked` marks contracts already
/// picked by anything and is updated. `want` must already be capped at the unpicked count.
pub(crate) fn round(
    hasher: &CounterHasher,
    cumulative: &[u64],
    weights: &[u64],
    picked: &mut [bool],
    unpicked: usize,
    want: usize,
    state: &mut CounterState,
) -> Result<Vec<(usize, u64)>, SamplingError> {
    let mut out = Vec::with_capacity(want);
    if want == 0 {
        return Ok(out);
    }
    if want >= unpicked || state.exhausted {
        // Rule 1 (everything left is wanted) or rule 2 from an earlier round.
        state.exhausted = true;
        take_heaviest(weights, picked, want, &mut out);
        return Ok(out);
    }
    let total = cumulative.last().copied().unwrap_or(0);
    let budget = MISS_BUDGET_BASE.saturating_add(want as u64);
    let mut misses = 0u64;
    while out.len() < want {
        let count = state.next_count;
        state.next_count = count
            .checked_add(1)
            .ok_or(SamplingError::Overflow("weighted counter"))?;
        let r = hasher
            .value(count, total)
            .ok_or(SamplingError::Overflow("stratum weight is 0"))?;
        let i = locate(cumulative, r);
        match picked.get_mut(i) {
            Some(slot) if !*slot => {
                *slot = true;
                out.push((i, count));
            }
            Some(_) => {
                misses += 1;
                if misses >= budget {
                    // Rule 2: counting has stalled; finish heaviest-first, for good.
                    state.exhausted = true;
                    take_heaviest(weights, picked, want - out.len(), &mut out);
                    break;
                }
            }
            None => return Err(SamplingError::Overflow("weight index out of range")),
        }
    }
    Ok(out)
}

/// Takes the `k` heaviest unpicked contracts (ties: manifest order) with counter 0.
fn take_heaviest(weights: &[u64], picked: &mut [bool], k: usize, out: &mut Vec<(usize, u64)>) {
    let mut candidates: Vec<usize> = (0..weights.len())
        .filter(|&i| picked.get(i).is_some_and(|p| !p))
        .collect();
    // Stable sort by weight descending keeps manifest order among equal weights.
    candidates.sort_by(|&a, &b| {
        let wa = weights.get(a).copied().unwrap_or(0);
        let wb = weights.get(b).copied().unwrap_or(0);
        wb.cmp(&wa)
    });
    for i in candidates.into_iter().take(k) {
        if let Some(slot) = picked.get_mut(i) {
            *slot = true;
        }
        out.push((i, 0));
    }
}

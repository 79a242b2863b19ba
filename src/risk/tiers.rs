//! Risk tiers (lav, middels, høy, kritisk) by score.

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Tier {
    pub id: String,
    pub label: String,
    /// The lowest score in this tier; the first tier starts at 0 and the list increases
    /// strictly (checked when loading), so every score has exactly one tier.
    pub min_score: u32,
}

/// The tier for `score`: the last one whose `min_score` it reaches.
pub(crate) fn tier_for(tiers: &[Tier], score: u32) -> Option<&Tier> {
    tier_index(tiers, score).and_then(|i| tiers.get(i))
}

/// The index in `tiers` of the tier for `score`.
pub(crate) fn tier_index(tiers: &[Tier], score: u32) -> Option<usize> {
    tiers.partition_point(|t| t.min_score <= score).checked_sub(1)
}

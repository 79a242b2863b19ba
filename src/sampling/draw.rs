//! The draw: rounds of (weighted part, uniform part) per stratum.
//!
//! A draw is a sequence of *rounds*: the original draw is round 1, each extension one more
//! round. A round has a plan — for each stratum, how many picks the weighted and the uniform
//! part make — and runs the strata in name order; in each stratum the weighted picks come
//! first, then the uniform picks. Positions number all picks 1, 2, 3, … in that order, across
//! rounds.
//!
//! In a round, a stratum with `U` unpicked contracts and plan (w, u) makes
//! `w' = min(w, U)` weighted picks and then `u' = min(u, U − w')` uniform picks: when a
//! stratum runs out, the uniform part gives way.
//!
//! Both parts continue where they stopped: the weighted counter goes on from one past the
//! last count used, and the uniform part goes on in ticket order; both skip every contract
//! already picked, by either part, in any round. So an extension is a pure function of
//! (manifest, seed, plans of the earlier rounds, plan of the new round) — and the state it
//! needs can also be read off the earlier picks ([`extend`]).
//!
//! An extension picks the same contracts, with the same parts, counters and tickets, as one
//! larger draw whose plan is the sum of the rounds' plans *unless* the weighted counter, in a
//! later round, lands on a contract that an earlier round's uniform part took (in the larger
//! draw that contract would have been a weighted pick). Then the extension skips it and counts
//! on, so the sets differ. The order always differs when more than one round picks in a
//! stratum (round 1's uniform picks come before round 2's weighted picks). Verification
//! therefore replays the recorded rounds one by one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::uniform::{TicketHasher, ticket_order};
use super::weighted::{self, CounterHasher, CounterState};
use super::{Manifest, SamplingError, check_seed, stratum_seed};

/// How many picks each part makes in one stratum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartSizes {
    pub weighted: u64,
    pub uniform: u64,
}

impl PartSizes {
    /// Weighted plus uniform.
    pub fn total(&self) -> u64 {
        self.weighted.saturating_add(self.uniform)
    }
}

/// The sizes of one round (a draw or an extension), per stratum name. Strata that are not
/// listed make no picks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawPlan {
    pub per_stratum: BTreeMap<String, PartSizes>,
}

impl DrawPlan {
    /// A plan for a manifest without strata (the single stratum `all`).
    pub fn single(weighted: u64, uniform: u64) -> Self {
        DrawPlan::default().with(super::DEFAULT_STRATUM, weighted, uniform)
    }

    /// Adds (or replaces) one stratum's sizes.
    pub fn with(mut self, stratum: &str, weighted: u64, uniform: u64) -> Self {
        self.per_stratum
            .insert(stratum.to_owned(), PartSizes { weighted, uniform });
        self
    }

    /// Total picks asked for.
    pub fn total(&self) -> u64 {
        self.per_stratum
            .values()
            .fold(0u64, |acc, p| acc.saturating_add(p.total()))
    }

    /// The per-part sums of several rounds' plans (what one larger draw would ask for).
    pub fn cumulative(plans: &[DrawPlan]) -> DrawPlan {
        let mut out = DrawPlan::default();
        for plan in plans {
            for (name, sizes) in &plan.per_stratum {
                let e = out.per_stratum.entry(name.clone()).or_default();
                e.weighted = e.weighted.saturating_add(sizes.weighted);
                e.uniform = e.uniform.saturating_add(sizes.uniform);
            }
        }
        out
    }

    /// Per part, how much `self` asks for beyond `earlier` (never below 0): the plan of an
    /// extension that brings the draw up to `self`, e.g. `allocate(…, new_total, …)
    /// .saturating_sub(&DrawPlan::cumulative(&earlier_plans))`. Allocation is not monotone in
    /// the total (largest remainder), so a stratum can end slightly above its share.
    pub fn saturating_sub(&self, earlier: &DrawPlan) -> DrawPlan {
        let mut out = DrawPlan::default();
        for (name, sizes) in &self.per_stratum {
            let before = earlier.per_stratum.get(name).copied().unwrap_or_default();
            out.per_stratum.insert(
                name.clone(),
                PartSizes {
                    weighted: sizes.weighted.saturating_sub(before.weighted),
                    uniform: sizes.uniform.saturating_sub(before.uniform),
                },
            );
        }
        out
    }
}

/// Which part made a pick, and the evidence: the weighted part's count (0 when an exhaustion
/// rule took it, see [`weighted`]) or the uniform part's full ticket.
///
/// Serialised inside the pick as `"part": "weighted", "counter": 17` or
/// `"part": "uniform", "ticket": "0.4103…"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "lowercase")]
pub enum Part {
    Weighted { counter: u64 },
    Uniform { ticket: String },
}

/// One picked contract.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pick {
    /// 1-based position in the overall order (across strata and rounds).
    pub position: u64,
    pub stratum: String,
    pub id: String,
    #[serde(flatten)]
    pub part: Part,
}

/// Draws with `plan` as round 1.
pub fn draw(manifest: &Manifest, seed: &str, plan: &DrawPlan) -> Result<Vec<Pick>, SamplingError> {
    let mut engine = Engine::new(manifest, seed)?;
    engine.round(plan)?;
    Ok(engine.into_picks())
}

/// Extends a draw by one round with plan `more`, given the earlier picks (all rounds, in
/// order). Returns the new picks only, numbered on from `previous.len() + 1`.
///
/// The state is read off `previous`: which contracts are picked; per stratum, the next count
/// is one past the largest recorded counter; a counter-0 pick means the stratum's counting
/// has stopped (exhaustion rule). `previous` is trusted to be a genuine draw with this
/// manifest and seed (use [`super::verify`] for that); it is only checked to be consistent
/// with the manifest.
pub fn extend(
    manifest: &Manifest,
    seed: &str,
    previous: &[Pick],
    more: &DrawPlan,
) -> Result<Vec<Pick>, SamplingError> {
    let mut engine = Engine::new(manifest, seed)?;
    engine.restore(previous)?;
    engine.round(more)?;
    let mut picks = engine.into_picks();
    Ok(picks.split_off(previous.len()))
}

/// The state of a draw in progress, across rounds.
pub(crate) struct Engine<'m> {
    manifest: &'m Manifest,
    strata: Vec<StratumRun>,
    picks: Vec<Pick>,
}

/// One stratum's state.
struct StratumRun {
    seed_s: String,
    picked: Vec<bool>,
    unpicked: usize,
    counter: CounterState,
    counter_hasher: Option<CounterHasher>,
    ticket_hasher: Option<TicketHasher>,
    /// The stratum's full ticket order, built the first time the uniform part runs.
    order: Option<Vec<u32>>,
    /// Every contract before this point of `order` is picked.
    cursor: usize,
}

impl<'m> Engine<'m> {
    pub(crate) fn new(manifest: &'m Manifest, seed: &str) -> Result<Self, SamplingError> {
        check_seed(seed)?;
        let count = manifest.strata().len();
        let strata = manifest
            .strata()
            .iter()
            .map(|s| StratumRun {
                seed_s: stratum_seed(seed, s.name(), count),
                picked: vec![false; s.len()],
                unpicked: s.len(),
                counter: CounterState::default(),
                counter_hasher: None,
                ticket_hasher: None,
                order: None,
                cursor: 0,
            })
            .collect();
        Ok(Engine {
            manifest,
            strata,
            picks: Vec::new(),
        })
    }

    pub(crate) fn picks(&self) -> &[Pick] {
        &self.picks
    }

    pub(crate) fn into_picks(self) -> Vec<Pick> {
        self.picks
    }

    /// Takes over earlier picks (for [`extend`]).
    fn restore(&mut self, previous: &[Pick]) -> Result<(), SamplingError> {
        for (index, pick) in previous.iter().enumerate() {
            let bad = |reason: String| SamplingError::InvalidPreviousPick { index, reason };
            if pick.position != index as u64 + 1 {
                return Err(bad(format!(
                    "position {} where {} was expected (picks must be complete and in order)",
                    pick.position,
                    index + 1
                )));
            }
            let k = self
                .manifest
                .strata()
                .binary_search_by(|s| s.name().as_bytes().cmp(pick.stratum.as_bytes()))
                .map_err(|_| bad(format!("stratum {:?} is not in the manifest", pick.stratum)))?;
            let (Some(stratum), Some(run)) = (self.manifest.strata().get(k), self.strata.get_mut(k)) else {
                return Err(bad("stratum index out of range".to_owned()));
            };
            let i = stratum.index_of(&pick.id).ok_or_else(|| {
                bad(format!(
                    "contract {:?} is not in stratum {:?} of the manifest",
                    pick.id, pick.stratum
                ))
            })?;
            match run.picked.get_mut(i) {
                Some(slot) if !*slot => *slot = true,
                _ => return Err(bad(format!("contract {:?} is picked twice", pick.id))),
            }
            run.unpicked -= 1;
            if let Part::Weighted { counter } = pick.part {
                if counter == 0 {
                    run.counter.exhausted = true;
                } else {
                    let next = counter
                        .checked_add(1)
                        .ok_or(SamplingError::Overflow("weighted counter"))?;
                    run.counter.next_count = run.counter.next_count.max(next);
                }
            }
            self.picks.push(pick.clone());
        }
        Ok(())
    }

    /// Runs one round.
    pub(crate) fn round(&mut self, plan: &DrawPlan) -> Result<(), SamplingError> {
        for name in plan.per_stratum.keys() {
            if self.manifest.stratum(name).is_none() {
                return Err(SamplingError::UnknownStratum(name.clone()));
            }
        }
        let manifest = self.manifest;
        for (stratum, run) in manifest.strata().iter().zip(self.strata.iter_mut()) {
            let Some(sizes) = plan.per_stratum.get(stratum.name()) else {
                continue;
            };
            let want_w = usize::try_from(sizes.weighted)
                .unwrap_or(usize::MAX)
                .min(run.unpicked);
            let hasher = run
                .counter_hasher
                .get_or_insert_with(|| CounterHasher::new(&run.seed_s));
            let weighted_picks = weighted::round(
                hasher,
                stratum.cumulative_weights(),
                stratum.weights(),
                &mut run.picked,
                run.unpicked,
                want_w,
                &mut run.counter,
            )?;
            run.unpicked -= weighted_picks.len();
            for (i, counter) in weighted_picks {
                let id = stratum.id(i).unwrap_or_default().to_owned();
                self.picks.push(Pick {
                    position: self.picks.len() as u64 + 1,
                    stratum: stratum.name().to_owned(),
                    id,
                    part: Part::Weighted { counter },
                });
            }

            let want_u = usize::try_from(sizes.uniform)
                .unwrap_or(usize::MAX)
                .min(run.unpicked);
            if want_u == 0 {
                continue;
            }
            let tickets = run
                .ticket_hasher
                .get_or_insert_with(|| TicketHasher::new(&run.seed_s));
            let order = run.order.get_or_insert_with(|| {
                ticket_order(tickets, stratum.ids(), |i| stratum.id(i).unwrap_or_default())
            });
            let mut got = 0usize;
            while got < want_u {
                let Some(&i) = order.get(run.cursor) else {
                    break;
                };
                run.cursor += 1;
                let i = i as usize;
                let Some(slot) = run.picked.get_mut(i) else {
                    continue;
                };
                if *slot {
                    continue;
                }
                *slot = true;
                got += 1;
                let id = stratum.id(i).unwrap_or_default();
                self.picks.push(Pick {
                    position: self.picks.len() as u64 + 1,
                    stratum: stratum.name().to_owned(),
                    id: id.to_owned(),
                    part: Part::Uniform {
                        ticket: tickets.ticket(id),
                    },
                });
            }
            run.unpicked -= got;
        }
        Ok(())
    }
}

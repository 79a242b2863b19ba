//! Verification: recompute a recorded draw from the manifest text, the seed and the plans of
//! its rounds, and compare every pick.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::draw::Engine;
use super::{ALGORITHM, DrawPlan, Manifest, Part, Pick, SamplingError};

/// What a draw record holds for re-running it (the service adds who, when and the filter).
/// Its JSON is what `docs/draws_verify.py --check` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawRecord {
    /// [`ALGORITHM`] at the time of the draw.
    pub algorithm: String,
    pub seed: String,
    /// Lowercase hex SHA-256 of the manifest text.
    pub manifest_sha256: String,
    /// The original plan and then one plan per extension, in order.
    pub plans: Vec<DrawPlan>,
    /// All picks, in position order.
    pub picks: Vec<Pick>,
}

impl DrawRecord {
    /// Draws round 1.
    pub fn new(manifest: &Manifest, seed: &str, plan: DrawPlan) -> Result<Self, SamplingError> {
        let picks = super::draw(manifest, seed, &plan)?;
        Ok(DrawRecord {
            algorithm: ALGORITHM.to_owned(),
            seed: seed.to_owned(),
            manifest_sha256: manifest.sha256_hex(),
            plans: vec![plan],
            picks,
        })
    }

    /// Adds a round; returns the new picks.
    pub fn extend(&mut self, manifest: &Manifest, more: DrawPlan) -> Result<&[Pick], SamplingError> {
        let new = super::extend(manifest, &self.seed, &self.picks, &more)?;
        let start = self.picks.len();
        self.picks.extend(new);
        self.plans.push(more);
        Ok(self.picks.get(start..).unwrap_or_default())
    }

    /// Checks the algorithm name, then [`verify`].
    pub fn verify(&self, manifest_text: &str) -> VerifyReport {
        if self.algorithm != ALGORITHM {
            return VerifyReport::failed(
                String::new(),
                0,
                self.picks.len(),
                VerifyProblem::Algorithm {
                    recorded: self.algorithm.clone(),
                    supported: ALGORITHM.to_owned(),
                },
            );
        }
        verify(
            manifest_text,
            &self.manifest_sha256,
            &self.seed,
            &self.plans,
            &self.picks,
        )
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// SHA-256 of the manifest text as given (empty if not computed).
    pub manifest_sha256: String,
    /// Picks the recomputation produced (0 if it could not run).
    pub recomputed_picks: usize,
    pub recorded_picks: usize,
    /// The first problem found; `None` when ok.
    pub problem: Option<VerifyProblem>,
}

/// The first thing that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VerifyProblem {
    /// The record names another algorithm (version).
    Algorithm { recorded: String, supported: String },
    /// The manifest text is not the one whose hash was published.
    ManifestHash { expected: String, actual: String },
    /// The manifest text cannot be read.
    Manifest { message: String },
    /// The seed or a plan cannot be used.
    Parameters { message: String },
    /// The pick at 0-based `index` differs in `field`.
    PickMismatch {
        index: usize,
        field: &'static str,
        recomputed: Pick,
        recorded: Pick,
    },
    /// The record has fewer picks than the recomputation.
    MissingPicks { first_missing: Pick },
    /// The record has more picks than the recomputation.
    ExtraPicks { first_extra: Pick },
}

impl VerifyReport {
    fn failed(sha: String, recomputed: usize, recorded: usize, problem: VerifyProblem) -> Self {
        VerifyReport {
            ok: false,
            manifest_sha256: sha,
            recomputed_picks: recomputed,
            recorded_picks: recorded,
            problem: Some(problem),
        }
    }

    /// True when every pick was reproduced.
    pub fn is_ok(&self) -> bool {
        self.ok
    }

    /// A sentence for people: what holds, or the first thing that does not.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

fn describe(pick: &Pick) -> String {
    let part = match &pick.part {
        Part::Weighted { counter } => format!("weighted, counter {counter}"),
        Part::Uniform { ticket } => format!("uniform, ticket {ticket}"),
    };
    format!(
        "position {}: {:?} in stratum {:?} ({part})",
        pick.position, pick.id, pick.stratum
    )
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            None => write!(
                f,
                "the draw holds: all {} picks were reproduced from the manifest (sha256 {}), \
                 the seed and the plans",
                self.recorded_picks, self.manifest_sha256
            ),
            Some(VerifyProblem::Algorithm { recorded, supported }) => write!(
                f,
                "the draw was made with algorithm {recorded:?}, this verifier implements \
                 {supported:?}"
            ),
            Some(VerifyProblem::ManifestHash { expected, actual }) => write!(
                f,
                "the manifest is not the published one: its sha256 is {actual}, the draw \
                 recorded {expected}"
            ),
            Some(VerifyProblem::Manifest { message }) => {
                write!(f, "the manifest cannot be read: {message}")
            }
            Some(VerifyProblem::Parameters { message }) => {
                write!(f, "the draw cannot be recomputed: {message}")
            }
            Some(VerifyProblem::PickMismatch {
                index,
                field,
                recomputed,
                recorded,
            }) => write!(
                f,
                "pick {} differs in its {field}: recorded {}, but the draw gives {}",
                index + 1,
                describe(recorded),
                describe(recomputed)
            ),
            Some(VerifyProblem::MissingPicks { first_missing }) => write!(
                f,
                "the record has {} picks but the draw gives {}; the first missing one is {}",
                self.recorded_picks,
                self.recomputed_picks,
                describe(first_missing)
            ),
            Some(VerifyProblem::ExtraPicks { first_extra }) => write!(
                f,
                "the record has {} picks but the draw gives only {}; the first extra one is {}",
                self.recorded_picks,
                self.recomputed_picks,
                describe(first_extra)
            ),
        }
    }
}

/// Which field of two picks differs first (in the order a reader checks them).
fn first_difference(a: &Pick, b: &Pick) -> Option<&'static str> {
    if a.position != b.position {
        return Some("position");
    }
    if a.stratum != b.stratum {
        return Some("stratum");
    }
    if a.id != b.id {
        return Some("id");
    }
    match (&a.part, &b.part) {
        (Part::Weighted { counter: x }, Part::Weighted { counter: y }) if x != y => Some("counter"),
        (Part::Uniform { ticket: x }, Part::Uniform { ticket: y }) if x != y => Some("ticket"),
        (Part::Weighted { .. }, Part::Uniform { .. }) | (Part::Uniform { .. }, Part::Weighted { .. }) => {
            Some("part")
        }
        _ => None,
    }
}

/// Recomputes a draw: checks the manifest text against the published hash, parses it, runs
/// the rounds (`plans`: the original plan, then each extension's) with `seed`, and compares
/// every pick with `recorded`. Reports the first mismatch.
pub fn verify(
    manifest_text: &str,
    expected_sha256: &str,
    seed: &str,
    plans: &[DrawPlan],
    recorded: &[Pick],
) -> VerifyReport {
    let sha = super::sha256_hex(manifest_text);
    let n = recorded.len();
    if !sha.eq_ignore_ascii_case(expected_sha256.trim()) {
        let problem = VerifyProblem::ManifestHash {
            expected: expected_sha256.to_owned(),
            actual: sha.clone(),
        };
        return VerifyReport::failed(sha, 0, n, problem);
    }
    let manifest = match Manifest::parse(manifest_text) {
        Ok(m) => m,
        Err(e) => {
            return VerifyReport::failed(
                sha,
                0,
                n,
                VerifyProblem::Manifest {
                    message: e.to_string(),
                },
            );
        }
    };
    let params = |e: SamplingError| VerifyProblem::Parameters {
        message: e.to_string(),
    };
    let mut engine = match Engine::new(&manifest, seed) {
        Ok(e) => e,
        Err(e) => return VerifyReport::failed(sha, 0, n, params(e)),
    };
    if plans.is_empty() {
        return VerifyReport::failed(
            sha,
            0,
            n,
            params(SamplingError::InvalidParameter("no plan recorded".to_owned())),
        );
    }
    for plan in plans {
        if let Err(e) = engine.round(plan) {
            return VerifyReport::failed(sha, engine.picks().len(), n, params(e));
        }
    }
    let computed = engine.picks();
    for (index, (c, r)) in computed.iter().zip(recorded).enumerate() {
        if let Some(field) = first_difference(c, r) {
            return VerifyReport::failed(
                sha,
                computed.len(),
                n,
                VerifyProblem::PickMismatch {
                    index,
                    field,
                    recomputed: c.clone(),
                    recorded: r.clone(),
                },
            );
        }
    }
    if let Some(first_missing) = computed.get(n) {
        return VerifyReport::failed(
            sha,
            computed.len(),
            n,
            VerifyProblem::MissingPicks {
                first_missing: first_missing.clone(),
            },
        );
    }
    if let Some(first_extra) = recorded.get(computed.len()) {
        return VerifyReport::failed(
            sha,
            computed.len(),
            n,
            VerifyProblem::ExtraPicks {
                first_extra: first_extra.clone(),
            },
        );
    }
    VerifyReport {
        ok: true,
        manifest_sha256: sha,
        recomputed_picks: computed.len(),
        recorded_picks: n,
        problem: None,
    }
}

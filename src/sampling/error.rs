//! One error type for the sampling module. Messages name the offending line, stratum or id,
//! because the person reading them has to fix a filter or a manifest file.

/// Why a manifest, plan, seed or parameter cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    /// The manifest has no lines at all.
    #[error("the manifest is empty: a draw needs at least one contract")]
    EmptyManifest,
    /// A line of the manifest text is malformed or out of order (1-based line number).
    #[error("manifest line {line}: {reason}")]
    ManifestLine { line: usize, reason: String },
    /// A stratum name or id cannot be written into a manifest line.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    /// Weights are risk points; zero would make a contract impossible to pick by weight.
    #[error("contract {id:?} in stratum {stratum:?} has weight 0: weights must be positive integers")]
    ZeroWeight { stratum: String, id: String },
    /// The same contract id appears twice.
    #[error("contract id {id:?} appears more than once in the manifest (strata {first:?} and {second:?})")]
    DuplicateId {
        id: String,
        first: String,
        second: String,
    },
    /// The sum of all weights must fit in 64 bits so that modular reduction stays exact.
    #[error("the weights in the manifest add up to more than 18446744073709551615")]
    WeightOverflow,
    /// A plan or pick names a stratum the manifest does not have.
    #[error("stratum {0:?} is not in the manifest")]
    UnknownStratum(String),
    /// An empty stratum was asked for (a stratum in a manifest always has at least one line).
    #[error("stratum {0:?} is empty")]
    EmptyStratum(String),
    /// The seed cannot be used.
    #[error("invalid seed: {0}")]
    InvalidSeed(String),
    /// A numeric parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// A previously recorded pick does not fit the manifest (for `extend`).
    #[error("previous pick at index {index}: {reason}")]
    InvalidPreviousPick { index: usize, reason: String },
    /// An internal counter would overflow; only reachable with absurd inputs.
    #[error("arithmetic overflow: {0}")]
    Overflow(&'static str),
}

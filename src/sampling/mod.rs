//! Verifiable spot-check draws (`rivest-counter+consistent-sampler/v1`).
//!
//! Pure functions only: no database, no clock, no OS randomness. Everything a draw picks is a
//! function of three published things — the manifest text, the seed text and the list of
//! plans (sizes per stratum and part) — so that anyone can re-run it, in any language. The
//! public description, with byte-level formats, is `docs/draws.md`; an independent re-run
//! in standard-library Python is `docs/draws_verify.py`. Keep the three in step: a change to
//! what a draw picks is a new [`ALGORITHM`] version, never an edit of v1.
//!
//! Layout, by purpose:
//! - [`manifest`]: the frozen population (`stratum<TAB>id<TAB>weight\n` lines) and its hash.
//! - [`weighted`]: Rivest's counter mode over integer weights (risk points).
//! - [`uniform`]: Rivest's consistent sampler (SHA-256 "tickets").
//! - [`allocate`]: total size → per-stratum, per-part sizes (integer-exact).
//! - [`plan`]: the statistical sample size from a tolerable rate and a confidence.
//! - [`draw`]: the draw itself and extensions.
//! - [`verify`]: recompute a recorded draw and report the first mismatch.

pub mod allocate;
pub mod draw;
mod error;
pub mod manifest;
pub mod plan;
pub mod uniform;
pub mod verify;
pub mod weighted;

pub use allocate::{Allocation, UniformShare, allocate};
pub use draw::{DrawPlan, Part, PartSizes, Pick, draw, extend};
pub use error::SamplingError;
pub use manifest::{Manifest, ManifestEntry, Stratum};
pub use plan::{SizeModel, plan_size};
pub use verify::{DrawRecord, VerifyProblem, VerifyReport, verify};

/// Name and version of the draw algorithm, recorded with every draw. A draw is only ever
/// verified with the algorithm it names.
pub const ALGORITHM: &str = "rivest-counter+consistent-sampler/v1";

/// The stratum name used when a draw has no strata.
pub const DEFAULT_STRATUM: &str = "all";

/// Lowercase hex SHA-256 of UTF-8 text, as in the published description (`sha256_hex`).
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex_lower(&sha2::Sha256::digest(text.as_bytes()).into())
}

/// SHA-256 of bytes, as lowercase hex.
pub fn sha256_hex_bytes(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex_lower(&sha2::Sha256::digest(bytes).into())
}

/// Lowercase hex of a 32-byte digest (no `hex` crate: eight lines are cheaper than a dependency).
pub(crate) fn hex_lower(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The seed a stratum's draw uses: the seed itself when the manifest has one stratum, and
/// `seed + "/" + stratum` otherwise (so strata draw independently of each other).
pub fn stratum_seed(seed: &str, stratum: &str, strata_in_manifest: usize) -> String {
    if strata_in_manifest == 1 {
        seed.to_owned()
    } else {
        format!("{seed}/{stratum}")
    }
}

/// A seed is text from a public ceremony. Empty or control characters (newline, tab, …) are
/// rejected: they are invisible when the seed is read out or printed, so an auditor could not
/// re-type it.
pub fn check_seed(seed: &str) -> Result<(), SamplingError> {
    if seed.is_empty() {
        return Err(SamplingError::InvalidSeed("the seed is empty".to_owned()));
    }
    if seed.chars().any(char::is_control) {
        return Err(SamplingError::InvalidSeed(
            "the seed contains a control character (newline, tab, …)".to_owned(),
        ));
    }
    Ok(())
}

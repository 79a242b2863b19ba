//! Spot-check draws as the service runs them (the "draw" step: import → facts → score → draw → cases): a population
//! filter is frozen into a manifest, the published algorithm in [`crate::sampling`] draws from
//! it with a seed, and the draw is stored for good together with a case per pick and an
//! outbox message per liaison, in one transaction with its audit entry.
//!
//! Shared by the CLI (`spotcheck draw`, `spotcheck verify`) and the API (`/api/v1/draws`);
//! both stay thin. Decisions, documented in `docs/draws.md` section 12:
//! - weight of a contract = its risk score + 1 ([`WEIGHT_RULE`]), so a contract with score 0
//!   can still be picked by the weighted part;
//! - a contract goes into one stratum: its first risk industry in rule-set order (among the
//!   industries the filter selects, when it selects some), or [`NO_INDUSTRY_STRATUM`];
//! - a preview computes the manifest and the plan but never the picks, so nobody can try
//!   seeds against a population before committing to one.

mod overview;
mod population;
mod publish;
mod spec;
mod verify;
mod views;

pub use overview::{DrawDetail, DrawListItem, detail, list_with_parts};
pub use population::{
    Population, Preview, StratumInfo, StratumPlan, build_population, normalise_filter, preview,
};
pub use publish::{Published, extend, picks_sha256, publish};
pub use spec::{DrawFilter, DrawSpec, ShareInput, Sizing, StrataMode, parse_allocation};
pub use verify::{StoredVerification, verify_stored};
pub use views::{DrawSummary, DrawView, PickView, list, load_record, manifest_text, show};
// The submodules' crate-internal helpers, shared among them through `use super::*`.
use spec::allocation_str;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Months, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models;
use crate::db::models::audit::{self, Event};
use crate::db::models::draws::{NewDraw, NewPick, NewRound, PickRow, PopulationRow};
use crate::db::models::users::User;
use crate::db::models::{Actor, now};
use crate::db::{DbConn, DbError, write_tx};
use crate::domain::roles::Permission;
use crate::mail::DrawPlace;
use crate::risk::RuleSet;
use crate::sampling::{
    self, ALGORITHM, Allocation, DrawPlan, DrawRecord, Manifest, ManifestEntry, Part, Pick, SamplingError,
    SizeModel, UniformShare, VerifyReport,
};

/// How a contract's weight (risk points) follows from its risk score.
pub const WEIGHT_RULE: &str = "score+1";

/// The stratum of contracts in no risk industry, when a draw is stratified by industry.
pub const NO_INDUSTRY_STRATUM: &str = "annet";

/// The default share of each stratum drawn uniformly (half; ties go to the weighted part).
pub const DEFAULT_UNIFORM_SHARE: UniformShare = UniformShare::HALF;

/// Why a draw could not be made, shown, extended or verified. Messages are for the person
/// at the keyboard (Norwegian); the sampling layer's reasons are quoted as they are.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("rollen din gir ikke lov til å {0}")]
    Forbidden(&'static str),
    #[error("trekning {0} finnes ikke")]
    NotFound(i64),
    #[error(
        "{count} kontrakter er ikke risikovurdert og kan ikke vektes (for eksempel {examples}); \
         kjør `spotcheck score` først, eller ta dem ut med --exclude"
    )]
    Unscored { count: usize, examples: String },
    #[error("ingen kontrakter passer filteret; det er ingenting å trekke fra")]
    EmptyPopulation,
    #[error("ukjente kontrakt-id-er i {what}: {ids}")]
    UnknownContracts { what: &'static str, ids: String },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "populasjonen er endret siden fingeravtrykket ble vist: manifestets SHA-256 er nå {actual}, \
         forventet {expected}; forhåndsvis på nytt og publiser det nye fingeravtrykket før seeden"
    )]
    ManifestChanged { expected: String, actual: String },
    #[error("alle kontraktene i trekning {0} er allerede trukket; den kan ikke utvides mer")]
    Exhausted(i64),
    #[error("trekningen kan ikke beregnes: {0}")]
    Sampling(#[from] SamplingError),
    #[error("lagret trekning {id} er ikke til å stole på: {reason}")]
    Corrupt { id: i64, reason: String },
    #[error("kunne ikke hente tilfeldighet fra operativsystemet: {0}")]
    Random(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DrawError {
    fn from(e: diesel::result::Error) -> Self {
        DrawError::Db(DbError::Query(e))
    }
}

pub(crate) fn require(user: &User, p: Permission, what: &'static str) -> Result<(), DrawError> {
    if user.disabled || !user.role.may(p) {
        return Err(DrawError::Forbidden(what));
    }
    Ok(())
}

pub(crate) fn corrupt(id: i64, reason: impl Into<String>) -> DrawError {
    DrawError::Corrupt {
        id,
        reason: reason.into(),
    }
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    id: i64,
    what: &str,
    text: &str,
) -> Result<T, DrawError> {
    serde_json::from_str(text).map_err(|e| corrupt(id, format!("{what} kan ikke leses: {e}")))
}

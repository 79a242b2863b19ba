//! The risk-rules engine (the "score" step of import → facts → score → draw): pure, no I/O
//! except reading rule files from a folder (the exchange format; the service keeps the
//! sets in its database, see `service::rules`).
//!
//! - `load`: the rule-file format (TOML), validation with Norwegian errors, version hash.
//! - `cond` + `eval` + `value`: the condition language, parsed and type-checked at load,
//!   evaluated with three-valued logic (missing data is "not computable", never false).
//! - `fields`: every input a condition can read, derived from [`AssessmentInput`].
//! - `industry`: NACE (SN2007 and SN2025) / CPV / keyword matching.
//! - `params`, `tiers`: dated legal parameters and score tiers.
//! - `assess`: scoring, explanations ([`Assessment`], [`Finding`]) and [`Coverage`].
//!
//! The format and every field are documented in `rules/README.md`.

mod assess;
mod cond;
mod eval;
mod evidence;
mod fields;
pub use fields::describe as describe_field;
mod industry;
mod input;
mod load;
mod params;
pub mod record;
mod text;
mod tiers;
mod value;

use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

pub use assess::{Assessment, Coverage, Finding, Recorded, RuleCoverage, Score};
pub use evidence::Evidence;
pub use industry::Industry;
pub use input::{ApprovalFact, ApprovalStatus, AssessmentInput, ContractFacts, SupplierInput};
pub use load::{RuleError, RuleSetError, read_dir as read_rule_files, version_hash};
pub use params::{ParamValue, Parameter};
pub use text::Text;
pub use tiers::Tier;

use cond::Condition;
use industry::Matcher;
use value::{Miss, Val};

/// An indicator as loaded: the texts people read plus its compiled conditions.
#[derive(Clone, Debug, Serialize)]
pub struct Indicator {
    pub id: String,
    pub title: String,
    pub weight: u32,
    pub why: String,
    pub source: String,
    pub condition_text: String,
    pub applies_when_text: Option<String>,
    /// Where it is defined, for people who want to edit it.
    pub file: String,
    pub line: u32,
    #[serde(skip)]
    pub(crate) condition: Condition,
    #[serde(skip)]
    pub(crate) applies_when: Option<Condition>,
    /// The texts and evidence plan findings are built from (see [`assess::Prepared`]).
    #[serde(skip)]
    pub(crate) prepared: assess::Prepared,
}

impl Indicator {
    /// Whether the indicator needs a contract; such indicators are skipped by
    /// [`RuleSet::assess_supplier`].
    pub fn reads_contract(&self) -> bool {
        self.condition.reads_contract || self.applies_when.as_ref().is_some_and(|c| c.reads_contract)
    }
}

/// A loaded, validated and compiled rule set. Immutable: a reload builds a new one.
#[derive(Clone, Debug)]
pub struct RuleSet {
    version: String,
    files: Vec<String>,
    /// The files as loaded, `(name, text)` sorted by name: stored with every assessment's
    /// rule-set version so a score can be recomputed after the files have changed.
    sources: Vec<(String, String)>,
    pub(crate) industries: Vec<Industry>,
    pub(crate) matcher: Matcher,
    pub(crate) indicators: Vec<Indicator>,
    pub(crate) tiers: Vec<Tier>,
    pub(crate) params: Vec<Parameter>,
    /// For each industry, the index in `params` of its minimum-wage parameter.
    pub(crate) wage_param: Vec<Option<usize>>,
    /// The version, tier ids and industry ids as [`Text`], for assessments.
    pub(crate) texts: assess::RuleSetTexts,
}

impl RuleSet {
    /// Loads every `*.toml` file directly in `dir`, sorted by name (see `rules/README.md`).
    pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleSetError> {
        let files = load::read_dir(dir)?;
        Self::from_files(&files)
    }

    /// Builds a rule set from `(file name, text)` pairs; the order does not matter.
    pub fn from_files(files: &[(String, String)]) -> Result<RuleSet, RuleSetError> {
        load::build(files)
    }

    /// SHA-256 hex over the files' names and bytes in sorted order ([`version_hash`]).
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The files as loaded, `(name, text)`, sorted by name.
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }

    pub fn industries(&self) -> &[Industry] {
        &self.industries
    }

    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    pub fn parameters(&self) -> &[Parameter] {
        &self.params
    }

    /// The value of a dated parameter on `date`, if one is in force.
    pub fn parameter_at(&self, id: &str, date: NaiveDate) -> Option<f64> {
        self.params
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.value_at(date))
            .map(|v| v.value)
    }

    /// The tier id for a score.
    pub fn tier_for(&self, score: u32) -> &str {
        tiers::tier_for(&self.tiers, score).map_or("", |t| t.id.as_str())
    }

    /// The industries whose NACE prefixes (SN2007 or SN2025) match one of `codes`.
    pub fn industries_for_nace(&self, codes: &[String]) -> Vec<&str> {
        self.industry_ids(self.matcher.match_nace(codes))
    }

    pub(crate) fn industry_ids(&self, mask: u64) -> Vec<&str> {
        self.industries
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1u64 << i) != 0)
            .map(|(_, ind)| ind.id.as_str())
            .collect()
    }

    /// The highest minimum wage among the matched industries that have one, on `date`.
    /// Absent when none of them has a wage parameter (the price rule then does not apply);
    /// unknown when one has a parameter but no rate is in force on the date.
    pub(crate) fn min_wage_for<'a>(&self, mask: u64, date: NaiveDate) -> Val<'a> {
        let mut best: Option<f64> = None;
        let mut any_param = false;
        for (i, ind) in self.industries.iter().enumerate() {
            if mask & (1u64 << i) == 0 {
                continue;
            }
            if ind.min_wage_param.is_none() {
                continue;
            }
            any_param = true;
            let param = self
                .wage_param
                .get(i)
                .copied()
                .flatten()
                .and_then(|p| self.params.get(p));
            if let Some(v) = param.and_then(|p| p.value_at(date)) {
                best = Some(best.map_or(v.value, |b: f64| b.max(v.value)));
            }
        }
        match (best, any_param) {
            (Some(v), _) => Val::num(v),
            (None, true) => Val::Missing(Miss::NoSource),
            (None, false) => Val::Missing(Miss::Absent),
        }
    }
}

/// A problem in one condition: a byte offset into its text and a Norwegian message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConditionError {
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for ConditionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "posisjon {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for ConditionError {}

/// Every `param.<id>` counts as defined: a condition checked outside a rule set.
struct AnyParam;

impl cond::ParamNames for AnyParam {
    fn index_of(&self, _id: &str) -> Option<usize> {
        Some(0)
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Parses and type-checks one condition the way the rule loader does, outside any rule set
/// (every `param.<id>` counts as defined). Never panics, whatever the text; the entry point
/// of the `condition` fuzz target (`fuzz/`).
pub fn check_condition(text: &str) -> Result<(), ConditionError> {
    cond::compile(text, &AnyParam)
        .map(|_| ())
        .map_err(|e| ConditionError {
            offset: e.offset,
            message: e.message,
        })
}

/// Every field name a condition can read (documented in `rules/README.md`).
pub fn condition_fields() -> Vec<&'static str> {
    fields::FIELDS.iter().map(|f| f.name).collect()
}

/// Every function name a condition can call.
pub fn condition_functions() -> Vec<&'static str> {
    cond::function_names().collect()
}

/// Every field with its Norwegian description (for the rule authors' reference in
/// `rules/README.md`, printed by `cargo run --example rules_reference`).
pub fn condition_field_docs() -> Vec<(&'static str, &'static str)> {
    fields::FIELDS.iter().map(|f| (f.name, f.desc)).collect()
}

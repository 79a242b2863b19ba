//! Spot-check draws as the service runs them (DESIGN.md step 4, issue #6): a population
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

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Months, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::audit::{self, Event};
use crate::db::models::draws::{
    self as store, NewDraw, NewMessage, NewPick, NewRound, PickRow, PopulationRow,
};
use crate::db::models::users::User;
use crate::db::models::{Actor, now};
use crate::db::{DbConn, DbError, write_tx};
use crate::domain::roles::Permission;
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
    #[error("regelsettet kan ikke leses ({0}); det trengs for å filtrere på risikonivå og bransje")]
    Rules(String),
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

/// Which contracts can be drawn. Empty lists mean "no restriction".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DrawFilter {
    /// Risk industries (ids from `rules/industries.toml`): a contract in any of them.
    pub industries: Vec<String>,
    /// Contracts active at some time in [active_from, active_to] (missing dates count as open).
    pub active_from: Option<NaiveDate>,
    pub active_to: Option<NaiveDate>,
    /// Units (`Enhet`), exactly as imported.
    pub units: Vec<String>,
    /// Lowest risk tier (id from `rules/tiers.toml`, e.g. `høy`).
    pub min_tier: Option<String>,
    /// Leave out contracts that got a case from a draw in the last N months.
    pub exclude_checked_months: Option<u32>,
    /// Contract ids always in the population (they must be scored).
    pub include: Vec<String>,
    /// Contract ids never in the population.
    pub exclude: Vec<String>,
}

/// Strata of a draw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrataMode {
    /// One stratum, `all`.
    #[default]
    None,
    /// One stratum per risk industry (plus [`NO_INDUSTRY_STRATUM`]).
    Industry,
}

impl StrataMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StrataMode::None => "none",
            StrataMode::Industry => "industry",
        }
    }

    pub fn parse(text: &str) -> Result<Self, DrawError> {
        match text.trim() {
            "none" | "ingen" | "all" => Ok(StrataMode::None),
            "industry" | "bransje" => Ok(StrataMode::Industry),
            other => Err(DrawError::Invalid(format!(
                "ukjent lagdeling «{other}»: bruk industry (per bransje) eller none"
            ))),
        }
    }
}

fn allocation_str(a: Allocation) -> &'static str {
    match a {
        Allocation::BySize => "by_size",
        Allocation::ByRiskMass => "by_risk_mass",
    }
}

/// Parses `size`/`by_size` or `risk`/`by_risk_mass`.
pub fn parse_allocation(text: &str) -> Result<Allocation, DrawError> {
    match text.trim() {
        "size" | "by_size" => Ok(Allocation::BySize),
        "risk" | "risk_mass" | "by_risk_mass" => Ok(Allocation::ByRiskMass),
        other => Err(DrawError::Invalid(format!(
            "ukjent fordeling «{other}»: bruk size (etter antall) eller risk (etter risikomasse)"
        ))),
    }
}

/// How the size of a draw was chosen (recorded with the draw).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Sizing {
    Fixed {
        size: u64,
    },
    Planned {
        tolerable_rate: f64,
        confidence: f64,
        model: SizeModel,
        size: u64,
    },
}

impl Sizing {
    pub fn size(&self) -> u64 {
        match *self {
            Sizing::Fixed { size } | Sizing::Planned { size, .. } => size,
        }
    }
}

/// A uniform share given as a number (`0.5`) or text (`"0.5"`, `"50%"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ShareInput {
    Number(f64),
    Text(String),
}

impl ShareInput {
    pub fn parse(&self) -> Result<UniformShare, DrawError> {
        let text = match self {
            ShareInput::Number(n) => n.to_string(),
            ShareInput::Text(t) => t.clone(),
        };
        Ok(UniformShare::parse(&text)?)
    }
}

/// What the person asks for (API body; the CLI builds the same from its flags).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DrawSpec {
    pub filter: DrawFilter,
    pub strata: StrataMode,
    /// Text from a public ceremony; 128 bits from the OS when absent.
    pub seed: Option<String>,
    /// A fixed size …
    pub size: Option<u64>,
    /// … or one planned from a tolerable rate and a confidence (default 0.95).
    pub tolerable_rate: Option<f64>,
    pub confidence: Option<f64>,
    /// Plan with the binomial model instead of Poisson.
    pub binomial: bool,
    /// Share drawn uniformly, e.g. `0.5` or `"25%"` (default 0.5).
    pub uniform_share: Option<ShareInput>,
    /// `size` (default) or `risk`.
    pub allocation: Option<String>,
    /// Each stratum gets at least this many picks (capped at its size).
    pub min_per_stratum: u64,
    /// The manifest fingerprint shown by the preview: publishing refuses a changed population.
    pub expected_manifest_sha256: Option<String>,
    /// Show population, strata and fingerprint only; store nothing.
    pub preview: bool,
}

/// The size as asked for, before planning.
enum SizeRequest {
    Fixed(u64),
    Planned {
        tolerable_rate: f64,
        confidence: f64,
        model: SizeModel,
    },
}

struct Resolved {
    size: Option<SizeRequest>,
    share: UniformShare,
    allocation: Allocation,
}

impl DrawSpec {
    fn resolve(&self) -> Result<Resolved, DrawError> {
        let model = if self.binomial {
            SizeModel::Binomial
        } else {
            SizeModel::Poisson
        };
        let size = match (self.size, self.tolerable_rate) {
            (Some(_), Some(_)) => {
                return Err(DrawError::Invalid(
                    "oppgi enten en fast størrelse (size) eller tolerabel feilrate (tolerable_rate), \
                     ikke begge"
                        .into(),
                ));
            }
            (Some(0), None) => {
                return Err(DrawError::Invalid("størrelsen må være minst 1".into()));
            }
            (Some(n), None) => Some(SizeRequest::Fixed(n)),
            (None, Some(rate)) => Some(SizeRequest::Planned {
                tolerable_rate: rate,
                confidence: self.confidence.unwrap_or(0.95),
                model,
            }),
            (None, None) => None,
        };
        let share = match &self.uniform_share {
            Some(s) => s.parse()?,
            None => DEFAULT_UNIFORM_SHARE,
        };
        let allocation = match &self.allocation {
            Some(a) => parse_allocation(a)?,
            None => Allocation::BySize,
        };
        Ok(Resolved {
            size,
            share,
            allocation,
        })
    }
}

impl Resolved {
    /// The size: fixed, or planned with `sampling::plan_size`. Required to publish.
    fn sizing(&self) -> Result<Sizing, DrawError> {
        match self.size {
            Some(SizeRequest::Fixed(size)) => Ok(Sizing::Fixed { size }),
            Some(SizeRequest::Planned {
                tolerable_rate,
                confidence,
                model,
            }) => Ok(Sizing::Planned {
                tolerable_rate,
                confidence,
                model,
                size: sampling::plan_size(tolerable_rate, confidence, model)?,
            }),
            None => Err(DrawError::Invalid(
                "oppgi størrelsen på trekningen: --size N, eller --tolerable-rate (og --confidence)".into(),
            )),
        }
    }
}

/// One stratum of a population: size and risk mass (sum of weights).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StratumInfo {
    pub name: String,
    pub size: u64,
    pub risk_mass: u64,
}

/// A frozen population.
pub struct Population {
    pub manifest: Manifest,
    pub strata: Vec<StratumInfo>,
    pub excluded_explicitly: usize,
    pub excluded_recently_checked: usize,
    pub included_explicitly: usize,
    /// Rule-set versions of the scores the weights come from.
    pub rule_set_versions: Vec<String>,
}

fn clean_list(list: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = list
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    set.into_iter().collect()
}

/// The filter with blanks trimmed, duplicates removed and lists sorted (as it is recorded).
pub fn normalise_filter(f: &DrawFilter) -> DrawFilter {
    DrawFilter {
        industries: clean_list(&f.industries),
        active_from: f.active_from,
        active_to: f.active_to,
        units: clean_list(&f.units),
        min_tier: f
            .min_tier
            .as_ref()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
        exclude_checked_months: f.exclude_checked_months,
        include: clean_list(&f.include),
        exclude: clean_list(&f.exclude),
    }
}

/// `industries` is `,id1,id2,` in rule-set order. The stratum is the first of them that the
/// filter selects (when it selects industries), else the first, else `annet`.
fn industry_stratum(industries: &str, selected: &[String]) -> String {
    let mut list = industries.split(',').filter(|s| !s.is_empty());
    let chosen = if selected.is_empty() {
        list.next()
    } else {
        let first = list.clone().next();
        list.find(|i| selected.iter().any(|s| s == i)).or(first)
    };
    chosen.unwrap_or(NO_INDUSTRY_STRATUM).to_owned()
}

fn in_any_industry(industries: &str, selected: &[String]) -> bool {
    selected
        .iter()
        .any(|s| industries.split(',').any(|i| !i.is_empty() && i == s))
}

fn weight_of(row: &PopulationRow) -> Result<u64, DrawError> {
    let score = row.score.unwrap_or(0);
    u64::try_from(score).map(|s| s + 1).map_err(|_| {
        DrawError::Invalid(format!(
            "kontrakt {} har negativ risikopoengsum {score}",
            row.contract_no
        ))
    })
}

/// Builds the population of `filter` now (inside the caller's transaction, so the manifest
/// and what is stored with it see the same data).
pub fn build_population(
    conn: &mut DbConn,
    filter: &DrawFilter,
    strata: StrataMode,
    rules: Result<&RuleSet, &str>,
    at: NaiveDateTime,
) -> Result<Population, DrawError> {
    let f = normalise_filter(filter);
    if let (Some(from), Some(to)) = (f.active_from, f.active_to)
        && from > to
    {
        return Err(DrawError::Invalid(format!(
            "perioden er tom: fra {from} er etter til {to}"
        )));
    }
    if !f.industries.is_empty() {
        let rs = rules.map_err(|e| DrawError::Rules(e.to_owned()))?;
        let known: Vec<&str> = rs.industries().iter().map(|i| i.id.as_str()).collect();
        if let Some(bad) = f.industries.iter().find(|i| !known.contains(&i.as_str())) {
            return Err(DrawError::Invalid(format!(
                "ukjent bransje «{bad}»; kjente bransjer er {}",
                known.join(", ")
            )));
        }
    }
    let eligible_tiers: Option<Vec<String>> = match &f.min_tier {
        None => None,
        Some(min) => {
            let rs = rules.map_err(|e| DrawError::Rules(e.to_owned()))?;
            let ids: Vec<String> = rs.tiers().iter().map(|t| t.id.clone()).collect();
            let pos = ids.iter().position(|t| t == min).ok_or_else(|| {
                DrawError::Invalid(format!(
                    "ukjent risikonivå «{min}»; nivåene er {}",
                    ids.join(", ")
                ))
            })?;
            Some(ids.into_iter().skip(pos).collect())
        }
    };
    if let Some(both) = f.include.iter().find(|id| f.exclude.contains(id)) {
        return Err(DrawError::Invalid(format!(
            "kontrakt {both} er både tatt med (--include) og utelatt (--exclude)"
        )));
    }

    let excluded: HashSet<&str> = f.exclude.iter().map(String::as_str).collect();
    let included: HashSet<&str> = f.include.iter().map(String::as_str).collect();
    if !f.exclude.is_empty() {
        let found: HashSet<String> = store::population_rows_by_no(conn, &f.exclude)?
            .into_iter()
            .map(|r| r.contract_no)
            .collect();
        check_known("--exclude", &f.exclude, &found)?;
    }
    let include_rows = store::population_rows_by_no(conn, &f.include)?;
    {
        let found: HashSet<String> = include_rows.iter().map(|r| r.contract_no.clone()).collect();
        check_known("--include", &f.include, &found)?;
    }
    let recent = match f.exclude_checked_months {
        Some(n) if n > 0 => {
            let since = at.checked_sub_months(Months::new(n)).ok_or_else(|| {
                DrawError::Invalid(format!("--exclude-checked-months {n} er for langt tilbake"))
            })?;
            store::recently_drawn_contracts(conn, since)?
        }
        _ => HashSet::new(),
    };

    let base = store::population_rows(conn, f.active_from, f.active_to, &f.units)?;
    let mut excluded_explicitly = 0usize;
    let mut excluded_recently = 0usize;
    let mut candidates: Vec<PopulationRow> = Vec::with_capacity(base.len());
    for row in base {
        if included.contains(row.contract_no.as_str()) {
            continue; // added below, whatever the filter says
        }
        if excluded.contains(row.contract_no.as_str()) {
            excluded_explicitly += 1;
            continue;
        }
        if recent.contains(&row.contract_id) {
            excluded_recently += 1;
            continue;
        }
        candidates.push(row);
    }
    let unscored: Vec<&str> = candidates
        .iter()
        .chain(include_rows.iter())
        .filter(|r| r.score.is_none())
        .map(|r| r.contract_no.as_str())
        .collect();
    if !unscored.is_empty() {
        let mut examples: Vec<&str> = unscored.iter().take(5).copied().collect();
        examples.sort_unstable();
        return Err(DrawError::Unscored {
            count: unscored.len(),
            examples: examples.join(", "),
        });
    }
    let mut rows: Vec<PopulationRow> = candidates
        .into_iter()
        .filter(|r| {
            let industries = r.industries.as_deref().unwrap_or("");
            (f.industries.is_empty() || in_any_industry(industries, &f.industries))
                && eligible_tiers
                    .as_ref()
                    .is_none_or(|t| r.tier.as_ref().is_some_and(|tier| t.contains(tier)))
        })
        .collect();
    let included_explicitly = include_rows.len();
    rows.extend(include_rows);
    if rows.is_empty() {
        return Err(DrawError::EmptyPopulation);
    }

    let mut versions: BTreeSet<String> = BTreeSet::new();
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(v) = &r.rule_set_version
            && !versions.contains(v)
        {
            versions.insert(v.clone());
        }
        let stratum = match strata {
            StrataMode::None => sampling::DEFAULT_STRATUM.to_owned(),
            StrataMode::Industry => industry_stratum(r.industries.as_deref().unwrap_or(""), &f.industries),
        };
        entries.push(ManifestEntry {
            stratum,
            id: r.contract_no.clone(),
            weight: weight_of(r)?,
        });
    }
    drop(rows);
    let manifest = Manifest::new(entries)?;
    let strata_info = manifest
        .strata()
        .iter()
        .map(|s| StratumInfo {
            name: s.name().to_owned(),
            size: s.len() as u64,
            risk_mass: s.total_weight(),
        })
        .collect();
    Ok(Population {
        manifest,
        strata: strata_info,
        excluded_explicitly,
        excluded_recently_checked: excluded_recently,
        included_explicitly,
        rule_set_versions: versions.into_iter().collect(),
    })
}

fn check_known(what: &'static str, asked: &[String], found: &HashSet<String>) -> Result<(), DrawError> {
    let missing: Vec<&str> = asked
        .iter()
        .filter(|id| !found.contains(*id))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DrawError::UnknownContracts {
            what,
            ids: missing.join(", "),
        })
    }
}

/// One stratum in a preview or a draw: its population and the planned picks of round 1.
#[derive(Debug, Clone, Serialize)]
pub struct StratumPlan {
    pub name: String,
    pub size: u64,
    pub risk_mass: u64,
    pub weighted: u64,
    pub uniform: u64,
}

/// What a preview shows (nothing is stored, no picks are computed).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub preview: bool,
    pub algorithm: &'static str,
    pub manifest_sha256: String,
    pub population_size: u64,
    pub total_weight: u64,
    pub strata_mode: StrataMode,
    pub strata: Vec<StratumPlan>,
    /// Planned size (before capping at the population), when a size was given.
    pub size: Option<u64>,
    pub sizing: Option<Sizing>,
    pub uniform_share_per_mille: u16,
    pub allocation: &'static str,
    pub min_per_stratum: u64,
    pub filter: DrawFilter,
    pub excluded_explicitly: usize,
    pub excluded_recently_checked: usize,
    pub included_explicitly: usize,
    pub rule_set_versions: Vec<String>,
    pub weight_rule: &'static str,
}

fn require(user: &User, p: Permission, what: &'static str) -> Result<(), DrawError> {
    if user.disabled || !user.role.may(p) {
        return Err(DrawError::Forbidden(what));
    }
    Ok(())
}

fn strata_plans(pop: &Population, plan: Option<&DrawPlan>) -> Vec<StratumPlan> {
    pop.strata
        .iter()
        .map(|s| {
            let sizes = plan
                .and_then(|p| p.per_stratum.get(&s.name))
                .copied()
                .unwrap_or_default();
            StratumPlan {
                name: s.name.clone(),
                size: s.size,
                risk_mass: s.risk_mass,
                weighted: sizes.weighted,
                uniform: sizes.uniform,
            }
        })
        .collect()
}

/// Shows the population, its strata and its fingerprint, and the plan when a size is given.
/// Reads only; stores nothing.
pub fn preview(
    conn: &mut DbConn,
    user: &User,
    spec: &DrawSpec,
    rules: Result<&RuleSet, &str>,
) -> Result<Preview, DrawError> {
    require(user, Permission::RunDraws, "forhåndsvise trekninger")?;
    let r = spec.resolve()?;
    let sizing = if r.size.is_some() { Some(r.sizing()?) } else { None };
    let pop = build_population(conn, &spec.filter, spec.strata, rules, now())?;
    let plan = match &sizing {
        Some(s) => Some(sampling::allocate(
            &pop.manifest,
            s.size(),
            r.share,
            r.allocation,
            spec.min_per_stratum,
        )?),
        None => None,
    };
    Ok(Preview {
        preview: true,
        algorithm: ALGORITHM,
        manifest_sha256: pop.manifest.sha256_hex(),
        population_size: pop.manifest.len() as u64,
        total_weight: pop.manifest.total_weight(),
        strata_mode: spec.strata,
        strata: strata_plans(&pop, plan.as_ref()),
        size: sizing.map(|s| s.size()),
        sizing,
        uniform_share_per_mille: r.share.per_mille(),
        allocation: allocation_str(r.allocation),
        min_per_stratum: spec.min_per_stratum,
        filter: normalise_filter(&spec.filter),
        excluded_explicitly: pop.excluded_explicitly,
        excluded_recently_checked: pop.excluded_recently_checked,
        included_explicitly: pop.included_explicitly,
        rule_set_versions: pop.rule_set_versions,
        weight_rule: WEIGHT_RULE,
    })
}

/// 128 bits from the operating system's generator, as 32 hex digits.
fn os_seed() -> Result<String, DrawError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| DrawError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

fn to_i64(v: u64, what: &str) -> Result<i64, DrawError> {
    i64::try_from(v).map_err(|_| DrawError::Invalid(format!("{what} er for stor ({v})")))
}

/// SHA-256 of a round's picks as JSON (recorded in the audit log, so that a rewrite of the
/// stored picks is caught even if the seed is rewritten to match).
pub fn picks_sha256(picks: &[Pick]) -> String {
    sampling::sha256_hex(&serde_json::to_string(picks).unwrap_or_default())
}

/// What a stored round set off.
struct RoundEffects {
    cases: usize,
    notifications: usize,
}

/// Stores one round: plan, picks, a case per pick, a message per liaison. Inside `write_tx`.
#[allow(clippy::too_many_arguments)]
fn store_round(
    c: &mut DbConn,
    draw_id: i64,
    round: i32,
    plan: &DrawPlan,
    size_requested: u64,
    picks: &[Pick],
    user: &User,
    at: NaiveDateTime,
    manifest_sha256: &str,
) -> Result<RoundEffects, DrawError> {
    let nos: Vec<&str> = picks.iter().map(|p| p.id.as_str()).collect();
    let ids = store::contract_ids_by_no(c, &nos)?;
    let mut rows = Vec::with_capacity(picks.len());
    for p in picks {
        let contract_id = *ids.get(&p.id).ok_or_else(|| DrawError::Corrupt {
            id: draw_id,
            reason: format!("kontrakt {} i manifestet finnes ikke lenger", p.id),
        })?;
        let (part, counter, ticket) = match &p.part {
            Part::Weighted { counter } => ("weighted", Some(to_i64(*counter, "telleren")?), None),
            Part::Uniform { ticket } => ("uniform", None, Some(ticket.as_str())),
        };
        rows.push(NewPick {
            position: to_i64(p.position, "posisjonen")?,
            stratum: &p.stratum,
            contract_id,
            contract_no: &p.id,
            part,
            counter,
            ticket,
        });
    }
    let first_position = picks.first().map_or(0, |p| p.position);
    let plan_json = serde_json::to_string(plan).unwrap_or_default();
    store::insert_round(
        c,
        &NewRound {
            draw_id,
            round,
            plan: &plan_json,
            size_requested: to_i64(size_requested, "størrelsen")?,
            picks_made: picks.len() as i64,
            first_position: to_i64(first_position, "posisjonen")?,
            created_by_user_id: user.id,
            created_by: &user.username,
            created_at: at,
        },
    )?;
    let stored = store::insert_picks(c, draw_id, round, &rows)?;
    let cases = store::open_cases_for_picks(c, draw_id, &stored, at)?;

    // Every active A-krim partner is told: the spot checks are the centre's joint work, so
    // each agency's liaisons are concerned by every draw. One message per liaison and round;
    // the dedupe key keeps a retried transaction or worker from sending it twice.
    let liaisons = store::active_liaisons(c)?;
    let (kind, subject) = if round == 1 {
        (
            "draw.published",
            format!(
                "Stikkprøvetrekning {draw_id} er publisert: {} kontrakter",
                picks.len()
            ),
        )
    } else {
        (
            "draw.extended",
            format!(
                "Stikkprøvetrekning {draw_id} er utvidet (runde {round}): {} nye kontrakter",
                picks.len()
            ),
        )
    };
    let case_rows = store::cases_of_draw(c, draw_id)?;
    let pick_ids: HashSet<i64> = stored.iter().map(|p| p.id).collect();
    let case_ids: Vec<i64> = case_rows
        .iter()
        .filter(|k| k.pick_id.is_some_and(|p| pick_ids.contains(&p)))
        .map(|k| k.id)
        .collect();
    let payload = json!({
        "draw_id": draw_id,
        "round": round,
        "manifest_sha256": manifest_sha256,
        "case_ids": case_ids,
        "contracts": nos,
    })
    .to_string();
    let messages: Vec<NewMessage<'_>> = liaisons
        .iter()
        .map(|l| NewMessage {
            kind,
            dedupe_key: format!("draw:{draw_id}:round:{round}:user:{}", l.user_id),
            recipient_user_id: Some(l.user_id),
            recipient_agency: l.agency.as_deref(),
            subject: subject.clone(),
            payload: payload.clone(),
        })
        .collect();
    store::enqueue_messages(c, &messages, at)?;
    Ok(RoundEffects {
        cases,
        notifications: messages.len(),
    })
}

/// A pick as shown: the published fields plus its round, contract and case.
#[derive(Debug, Clone, Serialize)]
pub struct PickView {
    #[serde(flatten)]
    pub pick: Pick,
    pub round: i32,
    pub contract_id: i64,
    pub case_id: Option<i64>,
}

/// A stored draw as the API and `--format json` show it. `algorithm`, `seed`,
/// `manifest_sha256`, `plans` and `picks` are the record `docs/draws_verify.py --check` reads.
#[derive(Debug, Clone, Serialize)]
pub struct DrawView {
    pub id: i64,
    pub algorithm: String,
    pub seed: String,
    pub seed_source: String,
    pub manifest_sha256: String,
    pub population_size: i64,
    pub total_weight: i64,
    pub strata_mode: String,
    pub strata: serde_json::Value,
    pub allocation: String,
    pub uniform_share_per_mille: i32,
    pub min_per_stratum: i64,
    pub sizing: serde_json::Value,
    pub filter: serde_json::Value,
    pub weight_rule: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub plans: Vec<DrawPlan>,
    pub rounds: Vec<store::RoundRow>,
    pub picks: Vec<PickView>,
}

/// Summary of a draw for lists.
#[derive(Debug, Clone, Serialize)]
pub struct DrawSummary {
    pub id: i64,
    pub algorithm: String,
    pub seed_source: String,
    pub manifest_sha256: String,
    pub population_size: i64,
    pub strata_mode: String,
    pub picks: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// The outcome of publishing or extending.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    #[serde(flatten)]
    pub draw: DrawView,
    /// Round just stored (1 for a new draw).
    pub round: i32,
    pub cases_opened: usize,
    pub notifications_queued: usize,
    /// Things the person publishing should act on (e.g. nobody to notify).
    pub warnings: Vec<String>,
}

/// The warnings for a publish or extension that queued `notifications` messages.
fn publish_warnings(notifications: usize) -> Vec<String> {
    if notifications == 0 {
        vec![
            "ingen aktive A-krim-brukere å varsle: sakene er opprettet, men ingen fikk beskjed; \
             legg dem til med `spotcheck users add NAVN --role akrim --agency ETAT`"
                .to_owned(),
        ]
    } else {
        Vec::new()
    }
}

fn corrupt(id: i64, reason: impl Into<String>) -> DrawError {
    DrawError::Corrupt {
        id,
        reason: reason.into(),
    }
}

fn pick_of(row: &PickRow) -> Result<Pick, DrawError> {
    let part = match (row.part.as_str(), row.counter, &row.ticket) {
        ("weighted", Some(c), None) => Part::Weighted {
            counter: u64::try_from(c).map_err(|_| corrupt(row.draw_id, "negativ teller"))?,
        },
        ("uniform", None, Some(t)) => Part::Uniform { ticket: t.clone() },
        _ => {
            return Err(corrupt(
                row.draw_id,
                format!("trekk {} har ugyldig del «{}»", row.position, row.part),
            ));
        }
    };
    Ok(Pick {
        position: u64::try_from(row.position).map_err(|_| corrupt(row.draw_id, "negativ posisjon"))?,
        stratum: row.stratum.clone(),
        id: row.contract_no.clone(),
        part,
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(id: i64, what: &str, text: &str) -> Result<T, DrawError> {
    serde_json::from_str(text).map_err(|e| corrupt(id, format!("{what} kan ikke leses: {e}")))
}

/// The stored record needed to re-run the draw.
pub fn load_record(conn: &mut DbConn, id: i64) -> Result<DrawRecord, DrawError> {
    let draw = store::find_draw(conn, id)?.ok_or(DrawError::NotFound(id))?;
    let plans = store::rounds(conn, id)?
        .iter()
        .map(|r| parse_json::<DrawPlan>(id, "planen", &r.plan))
        .collect::<Result<Vec<_>, _>>()?;
    let picks = store::picks(conn, id)?
        .iter()
        .map(pick_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DrawRecord {
        algorithm: draw.algorithm,
        seed: draw.seed,
        manifest_sha256: draw.manifest_sha256,
        plans,
        picks,
    })
}

/// A stored draw with its rounds and picks.
pub fn show(conn: &mut DbConn, id: i64) -> Result<DrawView, DrawError> {
    let d = store::find_draw(conn, id)?.ok_or(DrawError::NotFound(id))?;
    let rounds = store::rounds(conn, id)?;
    let plans = rounds
        .iter()
        .map(|r| parse_json::<DrawPlan>(id, "planen", &r.plan))
        .collect::<Result<Vec<_>, _>>()?;
    let case_of: BTreeMap<i64, i64> = store::cases_of_draw(conn, id)?
        .into_iter()
        .filter_map(|c| c.pick_id.map(|p| (p, c.id)))
        .collect();
    let picks = store::picks(conn, id)?
        .iter()
        .map(|row| {
            Ok(PickView {
                pick: pick_of(row)?,
                round: row.round,
                contract_id: row.contract_id,
                case_id: case_of.get(&row.id).copied(),
            })
        })
        .collect::<Result<Vec<_>, DrawError>>()?;
    Ok(DrawView {
        strata: parse_json(id, "lagene", &d.strata)?,
        sizing: parse_json(id, "størrelsen", &d.sizing)?,
        filter: parse_json(id, "filteret", &d.filter)?,
        id: d.id,
        algorithm: d.algorithm,
        seed: d.seed,
        seed_source: d.seed_source,
        manifest_sha256: d.manifest_sha256,
        population_size: d.population_size,
        total_weight: d.total_weight,
        strata_mode: d.strata_mode,
        allocation: d.allocation,
        uniform_share_per_mille: d.uniform_share_per_mille,
        min_per_stratum: d.min_per_stratum,
        weight_rule: d.weight_rule,
        created_by: d.created_by,
        created_at: d.created_at,
        plans,
        rounds,
        picks,
    })
}

/// Draws, newest first.
pub fn list(conn: &mut DbConn, limit: i64) -> Result<Vec<DrawSummary>, DrawError> {
    store::list_draws(conn, limit)?
        .into_iter()
        .map(|d| {
            Ok(DrawSummary {
                picks: store::pick_count(conn, d.id)?,
                id: d.id,
                algorithm: d.algorithm,
                seed_source: d.seed_source,
                manifest_sha256: d.manifest_sha256,
                population_size: d.population_size,
                strata_mode: d.strata_mode,
                created_by: d.created_by,
                created_at: d.created_at,
            })
        })
        .collect()
}

/// The manifest exactly as it was hashed.
pub fn manifest_text(conn: &mut DbConn, id: i64) -> Result<String, DrawError> {
    store::find_draw(conn, id)?.ok_or(DrawError::NotFound(id))?;
    store::manifest_text(conn, id)?.ok_or_else(|| corrupt(id, "manifestet mangler"))
}

/// Publishes a new draw: freezes the population, draws with the seed (given, or 128 bits
/// from the OS), and stores the draw, its picks, a case per pick, a message per liaison and
/// the audit entry in one transaction. Any failure stores nothing.
pub fn publish(
    conn: &mut DbConn,
    user: &User,
    spec: &DrawSpec,
    rules: Result<&RuleSet, &str>,
) -> Result<Published, DrawError> {
    require(user, Permission::RunDraws, "publisere trekninger")?;
    let r = spec.resolve()?;
    let sizing = r.sizing()?;
    let (seed, seed_source) = match &spec.seed {
        Some(s) => {
            sampling::check_seed(s)?;
            (s.clone(), "ceremony")
        }
        None => (os_seed()?, "os_rng"),
    };
    let filter = normalise_filter(&spec.filter);
    let (id, effects) = write_tx(conn, |c| -> Result<(i64, RoundEffects), DrawError> {
        let at = now();
        let pop = build_population(c, &filter, spec.strata, rules, at)?;
        let sha = pop.manifest.sha256_hex();
        if let Some(expected) = &spec.expected_manifest_sha256
            && !expected.trim().eq_ignore_ascii_case(&sha)
        {
            return Err(DrawError::ManifestChanged {
                expected: expected.trim().to_owned(),
                actual: sha,
            });
        }
        let plan = sampling::allocate(
            &pop.manifest,
            sizing.size(),
            r.share,
            r.allocation,
            spec.min_per_stratum,
        )?;
        let picks = sampling::draw(&pop.manifest, &seed, &plan)?;
        let text = pop.manifest.to_text();
        let filter_json = serde_json::to_string(&filter).unwrap_or_default();
        let sizing_json = serde_json::to_string(&sizing).unwrap_or_default();
        let strata_json = serde_json::to_string(&pop.strata).unwrap_or_default();
        let id = store::insert_draw(
            c,
            &NewDraw {
                algorithm: ALGORITHM,
                seed: &seed,
                seed_source,
                manifest_sha256: &sha,
                manifest_text: &text,
                population_size: pop.manifest.len() as i64,
                total_weight: to_i64(pop.manifest.total_weight(), "risikomassen")?,
                strata_mode: spec.strata.as_str(),
                allocation: allocation_str(r.allocation),
                uniform_share_per_mille: i32::from(r.share.per_mille()),
                min_per_stratum: to_i64(spec.min_per_stratum, "minimum per lag")?,
                sizing: &sizing_json,
                filter: &filter_json,
                strata: &strata_json,
                weight_rule: WEIGHT_RULE,
                created_by_user_id: user.id,
                created_by: &user.username,
                created_at: at,
            },
        )?;
        let effects = store_round(c, id, 1, &plan, sizing.size(), &picks, user, at, &sha)?;
        audit::append(
            c,
            &Actor::user(&user.username),
            Event {
                action: "draw.publish",
                object_type: "draw",
                object_id: &id.to_string(),
                detail: json!({
                    "algorithm": ALGORITHM,
                    "seed": seed,
                    "seed_source": seed_source,
                    "manifest_sha256": sha,
                    "population_size": pop.manifest.len(),
                    "strata_mode": spec.strata.as_str(),
                    "filter": filter,
                    "sizing": sizing,
                    "round": 1,
                    "plan": plan,
                    "picks": picks.len(),
                    "picks_sha256": picks_sha256(&picks),
                    "cases": effects.cases,
                    "notifications": effects.notifications,
                    "rule_set_versions": pop.rule_set_versions,
                }),
            },
        )?;
        Ok((id, effects))
    })?;
    Ok(Published {
        draw: show(conn, id)?,
        round: 1,
        cases_opened: effects.cases,
        notifications_queued: effects.notifications,
        warnings: publish_warnings(effects.notifications),
    })
}

/// Extends a published draw by `size` more picks with the same manifest and seed; earlier
/// picks stay. The extra picks are allocated over the strata in proportion to what is still
/// unpicked (by size or risk mass, as the draw was), split with the draw's uniform share
/// unless another is given. The stored draw is verified first: a draw that does not hold is
/// never extended.
pub fn extend(
    conn: &mut DbConn,
    user: &User,
    id: i64,
    size: u64,
    share: Option<UniformShare>,
) -> Result<Published, DrawError> {
    require(user, Permission::RunDraws, "utvide trekninger")?;
    if size == 0 {
        return Err(DrawError::Invalid(
            "utvidelsen må være på minst 1 kontrakt".into(),
        ));
    }
    let (round, effects) = write_tx(conn, |c| -> Result<(i32, RoundEffects), DrawError> {
        let at = now();
        let draw = store::find_draw(c, id)?.ok_or(DrawError::NotFound(id))?;
        let text = store::manifest_text(c, id)?.ok_or_else(|| corrupt(id, "manifestet mangler"))?;
        let record = load_record(c, id)?;
        let report = record.verify(&text);
        if !report.is_ok() {
            return Err(corrupt(
                id,
                format!(
                    "den holder ikke ved kontroll og utvides ikke: {}",
                    report.reason()
                ),
            ));
        }
        let manifest = Manifest::parse(&text).map_err(|e| corrupt(id, e.to_string()))?;
        let picked: HashSet<&str> = record.picks.iter().map(|p| p.id.as_str()).collect();
        let remaining: Vec<ManifestEntry> = manifest
            .entries()
            .filter(|e| !picked.contains(e.id.as_str()))
            .collect();
        if remaining.is_empty() {
            return Err(DrawError::Exhausted(id));
        }
        let remaining = Manifest::new(remaining)?;
        let share = match share {
            Some(s) => s,
            None => UniformShare::from_per_mille(u16::try_from(draw.uniform_share_per_mille).unwrap_or(500))?,
        };
        let allocation = parse_allocation(&draw.allocation)?;
        let plan = sampling::allocate(&remaining, size, share, allocation, 0)?;
        let new = sampling::extend(&manifest, &draw.seed, &record.picks, &plan)?;
        let round = i32::try_from(record.plans.len() + 1).map_err(|_| corrupt(id, "for mange runder"))?;
        let effects = store_round(c, id, round, &plan, size, &new, user, at, &draw.manifest_sha256)?;
        audit::append(
            c,
            &Actor::user(&user.username),
            Event {
                action: "draw.extend",
                object_type: "draw",
                object_id: &id.to_string(),
                detail: json!({
                    "round": round,
                    "plan": plan,
                    "size": size,
                    "uniform_share_per_mille": share.per_mille(),
                    "picks": new.len(),
                    "picks_sha256": picks_sha256(&new),
                    "cases": effects.cases,
                    "notifications": effects.notifications,
                }),
            },
        )?;
        Ok((round, effects))
    })?;
    Ok(Published {
        draw: show(conn, id)?,
        round,
        cases_opened: effects.cases,
        notifications_queued: effects.notifications,
        warnings: publish_warnings(effects.notifications),
    })
}

/// The result of re-running a stored draw.
#[derive(Debug, Clone, Serialize)]
pub struct StoredVerification {
    pub draw_id: i64,
    pub ok: bool,
    /// One sentence: what holds, or the first thing that does not.
    pub message: String,
    /// The recomputation (manifest fingerprint, every pick).
    pub report: VerifyReport,
    /// The cross-check against the audit log (seed, fingerprint and picks as published);
    /// `None` when it holds.
    pub audit_problem: Option<String>,
}

/// Recomputes a stored draw from its stored manifest, seed and plans and compares every pick;
/// then checks the seed, fingerprint and each round's picks against what the audit log
/// recorded when they were published.
pub fn verify_stored(conn: &mut DbConn, id: i64) -> Result<StoredVerification, DrawError> {
    let record = load_record(conn, id)?;
    let text = store::manifest_text(conn, id)?.unwrap_or_default();
    let report = record.verify(&text);
    let audit_problem = if report.is_ok() {
        audit_check(conn, id, &record)?
    } else {
        None
    };
    let ok = report.is_ok() && audit_problem.is_none();
    let message = match (&audit_problem, ok) {
        (_, true) => format!("trekning {id} holder: {}", report.reason()),
        (Some(p), false) => format!("trekning {id} holder IKKE: {p}"),
        (None, false) => format!("trekning {id} holder IKKE: {}", report.reason()),
    };
    Ok(StoredVerification {
        draw_id: id,
        ok,
        message,
        report,
        audit_problem,
    })
}

fn audit_check(conn: &mut DbConn, id: i64, record: &DrawRecord) -> Result<Option<String>, DrawError> {
    let entries = store::audit_entries(conn, id)?;
    let mut rounds_seen = 0usize;
    let mut position = 0usize;
    for (action, detail) in &entries {
        let Ok(d) = serde_json::from_str::<serde_json::Value>(detail) else {
            return Ok(Some(format!(
                "revisjonsloggens oppføring {action} kan ikke leses"
            )));
        };
        if action == "draw.publish" {
            for (field, stored) in [
                ("seed", record.seed.as_str()),
                ("manifest_sha256", record.manifest_sha256.as_str()),
                ("algorithm", record.algorithm.as_str()),
            ] {
                if d[field].as_str() != Some(stored) {
                    return Ok(Some(format!(
                        "{field} er {stored:?} i trekningen, men {} i revisjonsloggen",
                        d[field]
                    )));
                }
            }
        }
        if action == "draw.publish" || action == "draw.extend" {
            let n = d["picks"].as_u64().unwrap_or(0) as usize;
            let round_picks = record.picks.get(position..position + n).unwrap_or_default();
            if round_picks.len() != n
                || d["picks_sha256"].as_str() != Some(picks_sha256(round_picks).as_str())
            {
                return Ok(Some(format!(
                    "trekkene i runde {} stemmer ikke med revisjonsloggen",
                    rounds_seen + 1
                )));
            }
            position += n;
            rounds_seen += 1;
        }
    }
    if rounds_seen != record.plans.len() || position != record.picks.len() {
        return Ok(Some(format!(
            "revisjonsloggen har {rounds_seen} runder med {position} trekk, trekningen {} runder med {} trekk",
            record.plans.len(),
            record.picks.len()
        )));
    }
    Ok(None)
}

/// Loads the rule set for filtering by tier and industry; the error text is kept for the
/// message shown only when a filter needs the rules.
pub fn load_rules(dir: &std::path::Path) -> Result<RuleSet, String> {
    RuleSet::load_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

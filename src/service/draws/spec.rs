//! What a person asks a draw to be: the population filter, strata, size and shares.

use super::*;

/// Which contracts can be drawn. Empty lists mean "no restriction".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Leave out contracts checked in the last N months: drawn then, or with a case closed
    /// (confirmed) then.
    pub exclude_checked_months: Option<u32>,
    /// Contract ids always in the population (they must be scored).
    pub include: Vec<String>,
    /// Contract ids never in the population.
    pub exclude: Vec<String>,
}

/// Strata of a draw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

pub(super) fn allocation_str(a: Allocation) -> &'static str {
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
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
pub(super) enum SizeRequest {
    Fixed(u64),
    Planned {
        tolerable_rate: f64,
        confidence: f64,
        model: SizeModel,
    },
}

pub(super) struct Resolved {
    pub(super) size: Option<SizeRequest>,
    pub(super) share: UniformShare,
    pub(super) allocation: Allocation,
}

impl DrawSpec {
    pub(super) fn resolve(&self) -> Result<Resolved, DrawError> {
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
    pub(super) fn sizing(&self) -> Result<Sizing, DrawError> {
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

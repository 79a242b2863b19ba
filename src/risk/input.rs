//! What the caller hands to [`RuleSet::assess`](super::RuleSet::assess): plain facts, no
//! database types, so the rules stay pure and can be tested with hand-made fixtures.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::brreg::facts::UnitFacts;

/// One contract as imported from a contract register (amounts in øre, as stored).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ContractFacts {
    pub contract_no: String,
    pub title: Option<String>,
    /// The register's own category / industry column (`Bransje`, `Kategori`, `Varegruppe`).
    pub category: Option<String>,
    /// CPV code(s) as written: `90910000-9`, `90911200`, or several separated by `,`, `;`,
    /// `/` or whitespace. Check digits are stripped when matching.
    pub cpv: Option<String>,
    /// Contract value excl. VAT in øre.
    pub value_ore: Option<i64>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// The municipal unit that owns the contract (`Enhet`).
    pub unit: Option<String>,
    /// Number of subcontractor levels in the direct vertical chain (`Antall ledd`).
    pub subcontractor_levels: Option<i32>,
    /// Estimated or agreed hours of work over the contract, when the register has them.
    pub hours: Option<f64>,
    /// Agreed price per hour in øre, when the register has it.
    pub hourly_price_ore: Option<i64>,
    /// Any other columns, by header name; conditions read them with `extra("Header")`.
    pub extras: BTreeMap<String, String>,
}

/// How an approval register entry reads, coarsely (mirrors `brreg::approvals::StatusClass`,
/// plus [`ApprovalStatus::NotListed`] for "the register is loaded and the unit is not in it").
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// `Godkjent`, `Godkjent med/uten ansatte`, `Lovlig – godkjent`.
    Approved,
    /// `Søknad under behandling`, `HMS-kortbestilling under behandling`: legal meanwhile.
    Pending,
    /// `Ikke godkjent`, `Avslått`, `Tilbakekalt`, `Slettet`, `Utgått`.
    NotApproved,
    /// The register was loaded (see `loaded_at`) and has no entry for the unit.
    NotListed,
    /// A status text nobody taught us to read: a person must look at it.
    Other,
}

impl From<crate::brreg::approvals::StatusClass> for ApprovalStatus {
    /// A register entry's reading; `NotListed` has no entry and so no class.
    fn from(c: crate::brreg::approvals::StatusClass) -> Self {
        use crate::brreg::approvals::StatusClass;
        match c {
            StatusClass::Approved => ApprovalStatus::Approved,
            StatusClass::Pending => ApprovalStatus::Pending,
            StatusClass::NotApproved => ApprovalStatus::NotApproved,
            StatusClass::Other => ApprovalStatus::Other,
        }
    }
}

impl ApprovalStatus {
    /// The word conditions compare against (`approval.status == "not_listed"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::NotApproved => "not_approved",
            ApprovalStatus::NotListed => "not_listed",
            ApprovalStatus::Other => "other",
        }
    }

    /// Higher is worse; used to pick one status when several registers are required.
    pub(crate) fn severity(self) -> u8 {
        match self {
            ApprovalStatus::Approved => 0,
            ApprovalStatus::Pending => 1,
            ApprovalStatus::Other => 2,
            ApprovalStatus::NotListed => 3,
            ApprovalStatus::NotApproved => 4,
        }
    }
}

/// The supplier's (main unit's) standing in one approval register.
///
/// The caller passes one fact per register it has loaded: an entry found, or
/// `NotListed` when the register is loaded but the unit is absent. A register with no
/// fact at all counts as "not loaded", and the approval indicator is then not computable
/// rather than fired: absence from a register we never read proves nothing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalFact {
    /// `renhold`, `bilpleie` or `bemanning`.
    pub register: String,
    /// The register's status text, verbatim (empty for `NotListed`).
    pub status: String,
    pub status_class: ApprovalStatus,
    pub status_date: Option<NaiveDate>,
    /// When the register file was loaded.
    pub loaded_at: Option<NaiveDateTime>,
}

/// Everything one assessment reads. Borrowed, so a caller scoring a million rows builds
/// nothing per row but this struct.
#[derive(Clone, Copy, Debug)]
pub struct AssessmentInput<'a> {
    pub contract: &'a ContractFacts,
    /// `None`: the supplier is not enriched yet; supplier indicators are then not computable.
    pub supplier: Option<&'a UnitFacts>,
    pub supplier_fetched_at: Option<NaiveDateTime>,
    /// The main unit when the supplier is a sub-unit (or the public-sector parent).
    pub parent: Option<&'a UnitFacts>,
    pub approvals: &'a [ApprovalFact],
    /// How many of our suppliers (this one included) share this supplier's business address.
    pub shared_address_count: Option<u32>,
    /// The date at which dated parameters (thresholds, wage rates) are read.
    pub as_of: NaiveDate,
}

/// Input for a supplier-level assessment (no contract). See
/// [`RuleSet::assess_supplier`](super::RuleSet::assess_supplier).
#[derive(Clone, Copy, Debug)]
pub struct SupplierInput<'a> {
    pub supplier: &'a UnitFacts,
    pub supplier_fetched_at: Option<NaiveDateTime>,
    pub parent: Option<&'a UnitFacts>,
    pub approvals: &'a [ApprovalFact],
    pub shared_address_count: Option<u32>,
    pub as_of: NaiveDate,
}

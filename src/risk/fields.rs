//! The fields a condition can read, and how each is computed from an [`AssessmentInput`].
//!
//! The catalogue ([`FIELDS`]) is the single list the parser resolves names against, that
//! typo suggestions come from and that `rules/README.md` documents (a test checks that the
//! README names every field).

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};

use super::input::{ApprovalFact, ApprovalStatus, ContractFacts};
use super::value::{List, Miss, Type, Val};
use super::{RuleSet, industry};
use crate::brreg::facts::{Employees, UnitFacts};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    Supplier,
    Parent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnitField {
    Orgnr,
    OrgForm,
    IndustryCodes,
    Industries,
    Employees,
    RegisteredDate,
    FoundedDate,
    VatRegistered,
    VatRegisteredDate,
    Bankrupt,
    BankruptcyDate,
    UnderLiquidation,
    LiquidationDate,
    ForcedDissolution,
    ForcedDissolutionDate,
    ForcedDissolutionReasons,
    Deleted,
    DeletedDate,
    ClosedDate,
    LastAccountsYear,
    IsSubunit,
    SectorCode,
    InBusinessRegister,
    HasBusinessAddress,
    BusinessMunicipality,
    SharedAddressCount,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    ContractNo,
    ContractTitle,
    ContractCategory,
    ContractCpv,
    ContractKind,
    ContractUnit,
    ContractValueNok,
    ContractStartDate,
    ContractEndDate,
    ContractDurationMonths,
    ContractSubcontractorLevels,
    ContractHours,
    ContractHourlyPriceNok,
    ContractIndustries,
    Unit(Who, UnitField),
    Industries,
    ApprovalRequiredRegisters,
    ApprovalStatus,
    ApprovalStatusText,
    ApprovalStatusDate,
    IndustryMinWageNok,
    AsOf,
}

impl Field {
    /// Whether the field needs a contract (such rules are skipped by `assess_supplier`).
    pub(crate) fn reads_contract(self) -> bool {
        matches!(
            self,
            Field::ContractNo
                | Field::ContractTitle
                | Field::ContractCategory
                | Field::ContractCpv
                | Field::ContractKind
                | Field::ContractUnit
                | Field::ContractValueNok
                | Field::ContractStartDate
                | Field::ContractEndDate
                | Field::ContractDurationMonths
                | Field::ContractSubcontractorLevels
                | Field::ContractHours
                | Field::ContractHourlyPriceNok
                | Field::ContractIndustries
        )
    }
}

pub(crate) struct FieldDef {
    pub(crate) name: &'static str,
    pub(crate) field: Field,
    pub(crate) ty: Type,
    /// Norwegian description, used in "not computable" reasons: "<desc> mangler".
    pub(crate) desc: &'static str,
}

macro_rules! unit_fields {
    ($($suffix:literal, $uf:ident, $ty:ident, $sdesc:literal, $pdesc:literal;)*) => {
        pub(crate) const FIELDS: &[FieldDef] = &[
            FieldDef { name: "contract.no", field: Field::ContractNo, ty: Type::Str, desc: "kontraktsnummer" },
            FieldDef { name: "contract.title", field: Field::ContractTitle, ty: Type::Str, desc: "kontraktens tittel" },
            FieldDef { name: "contract.category", field: Field::ContractCategory, ty: Type::Str, desc: "kontraktens kategori" },
            FieldDef { name: "contract.cpv", field: Field::ContractCpv, ty: Type::List, desc: "CPV-kode" },
            FieldDef { name: "contract.kind", field: Field::ContractKind, ty: Type::Str, desc: "kontraktstype (vare/tjeneste/bygg_anlegg, fra CPV)" },
            FieldDef { name: "contract.unit", field: Field::ContractUnit, ty: Type::Str, desc: "kommunal enhet" },
            FieldDef { name: "contract.value_nok", field: Field::ContractValueNok, ty: Type::Num, desc: "kontraktsverdi" },
            FieldDef { name: "contract.start_date", field: Field::ContractStartDate, ty: Type::Date, desc: "startdato" },
            FieldDef { name: "contract.end_date", field: Field::ContractEndDate, ty: Type::Date, desc: "sluttdato" },
            FieldDef { name: "contract.duration_months", field: Field::ContractDurationMonths, ty: Type::Num, desc: "kontraktens varighet (krever start- og sluttdato)" },
            FieldDef { name: "contract.subcontractor_levels", field: Field::ContractSubcontractorLevels, ty: Type::Num, desc: "antall ledd underleverandører" },
            FieldDef { name: "contract.hours", field: Field::ContractHours, ty: Type::Num, desc: "antall timer" },
            FieldDef { name: "contract.hourly_price_nok", field: Field::ContractHourlyPriceNok, ty: Type::Num, desc: "timepris (oppgitt, eller verdi delt på timer)" },
            FieldDef { name: "contract.industries", field: Field::ContractIndustries, ty: Type::List, desc: "kontraktens risikobransjer (krever CPV, kategori eller tittel)" },
            $(
                FieldDef { name: concat!("supplier.", $suffix), field: Field::Unit(Who::Supplier, UnitField::$uf), ty: Type::$ty, desc: $sdesc },
            )*
            $(
                FieldDef { name: concat!("parent.", $suffix), field: Field::Unit(Who::Parent, UnitField::$uf), ty: Type::$ty, desc: $pdesc },
            )*
            FieldDef { name: "industries", field: Field::Industries, ty: Type::List, desc: "risikobransjer (kontrakt og leverandør)" },
            FieldDef { name: "approval.required_registers", field: Field::ApprovalRequiredRegisters, ty: Type::List, desc: "påkrevde godkjenningsregistre" },
            FieldDef { name: "approval.status", field: Field::ApprovalStatus, ty: Type::Str, desc: "godkjenningsstatus" },
            FieldDef { name: "approval.status_text", field: Field::ApprovalStatusText, ty: Type::Str, desc: "godkjenningsstatus (registerets tekst)" },
            FieldDef { name: "approval.status_date", field: Field::ApprovalStatusDate, ty: Type::Date, desc: "dato for godkjenningsstatus" },
            FieldDef { name: "industry.min_wage_nok", field: Field::IndustryMinWageNok, ty: Type::Num, desc: "allmenngjort minstelønn for bransjen" },
            FieldDef { name: "as_of", field: Field::AsOf, ty: Type::Date, desc: "vurderingsdato" },
        ];
    };
}

unit_fields! {
    "orgnr", Orgnr, Str, "leverandørens organisasjonsnummer", "overordnet enhets organisasjonsnummer";
    "org_form", OrgForm, Str, "leverandørens organisasjonsform", "overordnet enhets organisasjonsform";
    "industry_codes", IndustryCodes, List, "leverandørens næringskoder", "overordnet enhets næringskoder";
    "industries", Industries, List, "leverandørens risikobransjer (fra næringskode)", "overordnet enhets risikobransjer";
    "employees", Employees, Num, "leverandørens antall ansatte", "overordnet enhets antall ansatte";
    "registered_date", RegisteredDate, Date, "leverandørens registreringsdato", "overordnet enhets registreringsdato";
    "founded_date", FoundedDate, Date, "leverandørens stiftelsesdato", "overordnet enhets stiftelsesdato";
    "vat_registered", VatRegistered, Bool, "leverandørens MVA-registrering", "overordnet enhets MVA-registrering";
    "vat_registered_date", VatRegisteredDate, Date, "dato for leverandørens MVA-registrering", "dato for overordnet enhets MVA-registrering";
    "bankrupt", Bankrupt, Bool, "leverandørens konkursstatus", "overordnet enhets konkursstatus";
    "bankruptcy_date", BankruptcyDate, Date, "leverandørens konkursdato", "overordnet enhets konkursdato";
    "under_liquidation", UnderLiquidation, Bool, "leverandørens avviklingsstatus", "overordnet enhets avviklingsstatus";
    "liquidation_date", LiquidationDate, Date, "leverandørens avviklingsdato", "overordnet enhets avviklingsdato";
    "forced_dissolution", ForcedDissolution, Bool, "leverandørens tvangsoppløsningsstatus", "overordnet enhets tvangsoppløsningsstatus";
    "forced_dissolution_date", ForcedDissolutionDate, Date, "leverandørens tvangsoppløsningsdato", "overordnet enhets tvangsoppløsningsdato";
    "forced_dissolution_reasons", ForcedDissolutionReasons, List, "grunner for tvangsoppløsning", "grunner for tvangsoppløsning (overordnet)";
    "deleted", Deleted, Bool, "om leverandøren er slettet", "om overordnet enhet er slettet";
    "deleted_date", DeletedDate, Date, "leverandørens slettedato", "overordnet enhets slettedato";
    "closed_date", ClosedDate, Date, "leverandørens nedleggelsesdato", "overordnet enhets nedleggelsesdato";
    "last_accounts_year", LastAccountsYear, Num, "siste innsendte årsregnskap", "siste innsendte årsregnskap (overordnet)";
    "is_subunit", IsSubunit, Bool, "om leverandøren er en underenhet", "om overordnet enhet er en underenhet";
    "sector_code", SectorCode, Str, "leverandørens sektorkode", "overordnet enhets sektorkode";
    "in_business_register", InBusinessRegister, Bool, "registrering i Foretaksregisteret", "registrering i Foretaksregisteret (overordnet)";
    "has_business_address", HasBusinessAddress, Bool, "leverandørens forretningsadresse", "overordnet enhets forretningsadresse";
    "business_municipality", BusinessMunicipality, Str, "leverandørens forretningskommune", "overordnet enhets forretningskommune";
    "shared_address_count", SharedAddressCount, Num, "antall leverandører på samme adresse", "antall leverandører på samme adresse (overordnet)";
}

pub(crate) fn lookup(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|f| f.name == name)
}

pub(crate) fn def(field: Field) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|f| f.field == field)
}

/// Whole months from `a` to `b` (negative when `b` is earlier), counting a month only
/// when its day has been reached: 2024-01-31 → 2024-02-29 is 0 months.
pub(crate) fn months_between(a: NaiveDate, b: NaiveDate) -> i64 {
    let mut m =
        (i64::from(b.year()) - i64::from(a.year())) * 12 + i64::from(b.month()) - i64::from(a.month());
    if m > 0 && b.day() < a.day() {
        m -= 1;
    } else if m < 0 && b.day() > a.day() {
        m += 1;
    }
    m
}

/// Per-call context: the input plus what several fields derive from it (industries,
/// approval summary), computed once per assessment.
pub(crate) struct Ctx<'a> {
    pub(crate) rs: &'a RuleSet,
    pub(crate) contract: Option<&'a ContractFacts>,
    pub(crate) supplier: Option<&'a UnitFacts>,
    pub(crate) parent: Option<&'a UnitFacts>,
    pub(crate) approvals: &'a [ApprovalFact],
    pub(crate) shared_address_count: Option<u32>,
    pub(crate) as_of: NaiveDate,
    pub(crate) cpv: industry::CpvCodes<'a>,
    contract_inds: Result<u64, Miss>,
    supplier_inds: Result<u64, Miss>,
    parent_inds: Result<u64, Miss>,
    pub(crate) union_inds: Result<u64, Miss>,
    /// Computed on first use: most contracts need no approval register.
    approval: std::cell::OnceCell<Result<&'a ApprovalFact, Miss>>,
    min_wage: Val<'a>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        rs: &'a RuleSet,
        contract: Option<&'a ContractFacts>,
        supplier: Option<&'a UnitFacts>,
        parent: Option<&'a UnitFacts>,
        approvals: &'a [ApprovalFact],
        shared_address_count: Option<u32>,
        as_of: NaiveDate,
    ) -> Ctx<'a> {
        let cpv = contract
            .and_then(|c| c.cpv.as_deref())
            .map(industry::split_cpv)
            .unwrap_or_default();

        // Contract side: CPV prefixes and keywords in title + category. Unknown only when
        // the contract carries none of the three.
        let contract_mask = match contract {
            None => Err(Miss::Absent),
            Some(c) => {
                let title = c.title.as_deref().map(str::trim_ascii).filter(|s| !s.is_empty());
                let cat = c
                    .category
                    .as_deref()
                    .map(str::trim_ascii)
                    .filter(|s| !s.is_empty());
                if cpv.as_slice().is_empty() && title.is_none() && cat.is_none() {
                    Err(Miss::Absent)
                } else {
                    let mut m = rs.matcher.match_cpv(cpv.as_slice());
                    m |= rs.matcher.match_text(title.unwrap_or(""));
                    m |= rs.matcher.match_text(cat.unwrap_or(""));
                    Ok(m)
                }
            }
        };
        let unit_mask = |u: Option<&UnitFacts>| match u {
            None => Err(Miss::NoSource),
            Some(u) if u.industry_codes.is_empty() => Err(Miss::Absent),
            Some(u) => Ok(rs.matcher.match_nace(&u.industry_codes)),
        };
        let supplier_mask = unit_mask(supplier);
        let parent_mask = unit_mask(parent);

        // The union is known when it already holds an industry, or when both sides are known.
        let union_mask = match (contract_mask, supplier_mask) {
            (Ok(a), Ok(b)) => Ok(a | b),
            (Ok(a), Err(e)) | (Err(e), Ok(a)) => {
                if a != 0 {
                    Ok(a)
                } else {
                    Err(e)
                }
            }
            (Err(a), Err(b)) => Err(a.join(b)),
        };

        let min_wage = match union_mask {
            Err(e) => Val::Missing(e),
            Ok(m) => rs.min_wage_for(m, as_of),
        };

        Ctx {
            rs,
            contract,
            supplier,
            parent,
            approvals,
            shared_address_count,
            as_of,
            cpv,
            contract_inds: contract_mask,
            supplier_inds: supplier_mask,
            parent_inds: parent_mask,
            union_inds: union_mask,
            approval: std::cell::OnceCell::new(),
            min_wage,
        }
    }

    fn approval(&self) -> Result<&'a ApprovalFact, Miss> {
        *self.approval.get_or_init(|| match self.union_inds {
            Err(e) => Err(e),
            Ok(m) => summarise_approvals(List::Registers(m, &self.rs.industries), self.approvals),
        })
    }

    fn industries(&self, mask: Result<u64, Miss>) -> Val<'_> {
        match mask {
            Ok(m) => Val::List(List::Industries(m, &self.rs.industries)),
            Err(e) => Val::Missing(e),
        }
    }

    pub(crate) fn get(&self, field: Field) -> Val<'_> {
        match field {
            Field::Unit(who, uf) => {
                let (unit, inds) = match who {
                    Who::Supplier => (self.supplier, self.supplier_inds),
                    Who::Parent => (self.parent, self.parent_inds),
                };
                match unit {
                    None => Val::Missing(Miss::NoSource),
                    Some(u) => self.unit_field(who, u, uf, inds),
                }
            }
            Field::Industries => self.industries(self.union_inds),
            Field::ApprovalRequiredRegisters => match self.union_inds {
                Ok(m) => Val::List(List::Registers(m, &self.rs.industries)),
                Err(e) => Val::Missing(e),
            },
            Field::ApprovalStatus => match self.approval() {
                Ok(a) => Val::Str(a.status_class.as_str()),
                Err(e) => Val::Missing(e),
            },
            Field::ApprovalStatusText => match self.approval() {
                Ok(a) => Val::opt_str(Some(&a.status)),
                Err(e) => Val::Missing(e),
            },
            Field::ApprovalStatusDate => match self.approval() {
                Ok(a) => Val::opt_date(a.status_date),
                Err(e) => Val::Missing(e),
            },
            Field::IndustryMinWageNok => self.min_wage,
            Field::AsOf => Val::Date(self.as_of),
            _ => match self.contract {
                None => Val::Missing(Miss::NoSource),
                Some(c) => self.contract_field(c, field),
            },
        }
    }

    fn contract_field<'s>(&'s self, c: &'s ContractFacts, field: Field) -> Val<'s> {
        match field {
            Field::ContractNo => Val::opt_str(Some(&c.contract_no)),
            Field::ContractTitle => Val::opt_str(c.title.as_deref()),
            Field::ContractCategory => Val::opt_str(c.category.as_deref()),
            Field::ContractCpv => {
                if self.cpv.as_slice().is_empty() {
                    Val::Missing(Miss::Absent)
                } else {
                    Val::List(List::Refs(self.cpv.as_slice()))
                }
            }
            Field::ContractKind => self
                .cpv
                .as_slice()
                .first()
                .map_or(Val::Missing(Miss::Absent), |c| Val::Str(industry::cpv_kind(c))),
            Field::ContractUnit => Val::opt_str(c.unit.as_deref()),
            Field::ContractValueNok => Val::opt_num(c.value_ore.map(|o| o as f64 / 100.0)),
            Field::ContractStartDate => Val::opt_date(c.start_date),
            Field::ContractEndDate => Val::opt_date(c.end_date),
            Field::ContractDurationMonths => match (c.start_date, c.end_date) {
                (Some(a), Some(b)) => Val::num(months_between(a, b) as f64),
                _ => Val::Missing(Miss::Absent),
            },
            Field::ContractSubcontractorLevels => Val::opt_num(c.subcontractor_levels.map(f64::from)),
            Field::ContractHours => Val::opt_num(c.hours),
            Field::ContractHourlyPriceNok => match (c.hourly_price_ore, c.value_ore, c.hours) {
                (Some(p), _, _) => Val::num(p as f64 / 100.0),
                (None, Some(v), Some(h)) if h > 0.0 => Val::num(v as f64 / 100.0 / h),
                (None, Some(_), Some(_)) => Val::Missing(Miss::Undefined),
                _ => Val::Missing(Miss::Absent),
            },
            Field::ContractIndustries => self.industries(self.contract_inds),
            _ => Val::Missing(Miss::Undefined),
        }
    }

    fn unit_field<'s>(
        &'s self,
        who: Who,
        u: &'s UnitFacts,
        uf: UnitField,
        inds: Result<u64, Miss>,
    ) -> Val<'s> {
        // A deleted unit's reduced payload carries no status flags: "not said", not false.
        let flag = |b: bool| {
            if u.status_flags_reported || b {
                Val::Bool(b)
            } else {
                Val::Missing(Miss::Absent)
            }
        };
        match uf {
            UnitField::Orgnr => Val::opt_str(Some(&u.orgnr)),
            UnitField::OrgForm => Val::opt_str(u.org_form.as_deref()),
            UnitField::IndustryCodes => {
                if u.industry_codes.is_empty() {
                    Val::Missing(Miss::Absent)
                } else {
                    Val::List(List::Owned(&u.industry_codes))
                }
            }
            UnitField::Industries => self.industries(inds),
            UnitField::Employees => match u.employees {
                Employees::Known(n) => Val::num(f64::from(n)),
                Employees::Hidden1To4 => Val::Num(1.0, 4.0),
                Employees::NotRegistered => Val::Missing(Miss::Absent),
            },
            UnitField::RegisteredDate => Val::opt_date(u.registered_date),
            UnitField::FoundedDate => Val::opt_date(u.founded_date),
            UnitField::VatRegistered => Val::opt_bool(u.vat_registered),
            UnitField::VatRegisteredDate => Val::opt_date(u.vat_registered_date),
            UnitField::Bankrupt => flag(u.bankrupt),
            UnitField::BankruptcyDate => Val::opt_date(u.bankruptcy_date),
            UnitField::UnderLiquidation => flag(u.under_liquidation),
            UnitField::LiquidationDate => Val::opt_date(u.liquidation_date),
            UnitField::ForcedDissolution => flag(u.forced_dissolution),
            UnitField::ForcedDissolutionDate => Val::opt_date(u.forced_dissolution_date),
            UnitField::ForcedDissolutionReasons => Val::List(List::Owned(&u.forced_dissolution_reasons)),
            UnitField::Deleted => Val::Bool(u.deleted_date.is_some()),
            UnitField::DeletedDate => Val::opt_date(u.deleted_date),
            UnitField::ClosedDate => Val::opt_date(u.closed_date),
            UnitField::LastAccountsYear => Val::opt_num(u.last_accounts_year.map(f64::from)),
            UnitField::IsSubunit => Val::Bool(u.is_subunit),
            UnitField::SectorCode => Val::opt_str(u.sector_code.as_deref()),
            UnitField::InBusinessRegister => Val::opt_bool(u.in_business_register),
            UnitField::HasBusinessAddress => Val::Bool(u.business_address.is_some()),
            UnitField::BusinessMunicipality => Val::opt_str(
                u.business_address
                    .as_ref()
                    .and_then(|a| a.municipality.as_deref()),
            ),
            UnitField::SharedAddressCount => match who {
                // The caller counts this for the supplier only.
                Who::Supplier => Val::opt_num(self.shared_address_count.map(f64::from)),
                Who::Parent => Val::Missing(Miss::NoSource),
            },
        }
    }

    /// A Norwegian sentence saying why `field` has no value in this context.
    pub(crate) fn missing_reason(&self, field: Field) -> Cow<'static, str> {
        let desc = def(field).map_or("feltet", |d| d.desc);
        match field {
            Field::Unit(Who::Supplier, UnitField::SharedAddressCount)
                if self.supplier.is_some() && self.shared_address_count.is_none() =>
            {
                "antall leverandører på samme adresse er ikke beregnet".into()
            }
            Field::Unit(Who::Supplier, _) if self.supplier.is_none() => {
                "leverandøren er ikke slått opp i Enhetsregisteret ennå".into()
            }
            Field::Unit(Who::Parent, _) if self.parent.is_none() => {
                "overordnet enhet er ikke kjent eller ikke slått opp".into()
            }
            Field::Unit(who, uf) => {
                let u = match who {
                    Who::Supplier => self.supplier,
                    Who::Parent => self.parent,
                };
                match (uf, u) {
                    (UnitField::Employees, _) => {
                        "Enhetsregisteret har ikke registrert antall ansatte (mangler er ikke null)".into()
                    }
                    (
                        UnitField::Bankrupt | UnitField::UnderLiquidation | UnitField::ForcedDissolution,
                        Some(u),
                    ) if !u.status_flags_reported => {
                        "Enhetsregisteret oppgir ikke status for slettede enheter".into()
                    }
                    (UnitField::IndustryCodes | UnitField::Industries, _) => {
                        "enheten har ingen næringskode i Enhetsregisteret".into()
                    }
                    _ => format!("{desc} er ikke oppgitt i Enhetsregisteret").into(),
                }
            }
            Field::ApprovalStatus | Field::ApprovalStatusText | Field::ApprovalStatusDate => {
                self.approval_reason()
            }
            Field::ApprovalRequiredRegisters | Field::Industries => match self.supplier {
                None => {
                    "kontrakten treffer ingen risikobransje, og leverandøren er ikke slått opp ennå".into()
                }
                Some(_) => {
                    "kontrakten mangler CPV, kategori og tittel, og leverandøren har ingen næringskode".into()
                }
            },
            Field::IndustryMinWageNok => match self.union_inds {
                Err(_) => "bransjen er ukjent".into(),
                Ok(0) => "ingen risikobransje med allmenngjort minstelønn".into(),
                Ok(m) => format!(
                    "ingen minstelønnssats gyldig {} for bransjen ({})",
                    self.as_of.format("%d.%m.%Y"),
                    List::Industries(m, &self.rs.industries)
                        .iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into(),
            },
            Field::ContractHourlyPriceNok => {
                "kontrakten har verken timepris eller både verdi og antall timer".into()
            }
            Field::ContractIndustries => "kontrakten mangler CPV, kategori og tittel".into(),
            Field::ContractKind => "kontrakten mangler CPV-kode".into(),
            _ if self.contract.is_none() => "vurderingen gjelder leverandøren uten kontrakt".into(),
            _ => format!("kontrakten mangler {desc}").into(),
        }
    }

    fn approval_reason(&self) -> Cow<'static, str> {
        let regs = match self.union_inds {
            Err(_) => return "bransjen er ukjent, så påkrevd godkjenning kan ikke avgjøres".into(),
            Ok(m) => List::Registers(m, &self.rs.industries),
        };
        if regs.len() == 0 {
            return "ingen godkjenningsordning gjelder bransjen".into();
        }
        let mut parts = Vec::new();
        for r in regs.iter() {
            match find_approval(self.approvals, r) {
                None => parts.push(format!("registeret «{r}» er ikke lastet inn")),
                Some(a) if a.status_class == ApprovalStatus::Other => parts.push(format!(
                    "statusen «{}» i registeret «{r}» kan ikke tolkes automatisk",
                    a.status
                )),
                Some(_) => {}
            }
        }
        if parts.is_empty() {
            "godkjenningsstatus mangler".into()
        } else {
            parts.join("; ").into()
        }
    }
}

fn find_approval<'a>(approvals: &'a [ApprovalFact], register: &str) -> Option<&'a ApprovalFact> {
    approvals
        .iter()
        .find(|a| a.register.trim_ascii().eq_ignore_ascii_case(register))
}

/// One status for all required registers: the worst known one decides when it is bad
/// (a single missing approval makes the purchase illegal whatever the other registers
/// say); otherwise an unloaded register or an unreadable status leaves it unknown.
fn summarise_approvals<'a>(regs: List<'_>, approvals: &'a [ApprovalFact]) -> Result<&'a ApprovalFact, Miss> {
    let mut worst: Option<&ApprovalFact> = None;
    let mut unknown = false;
    let mut any = false;
    for r in regs.iter() {
        any = true;
        match find_approval(approvals, r) {
            None => unknown = true,
            Some(a) => {
                if a.status_class == ApprovalStatus::Other {
                    unknown = true;
                }
                if worst.is_none_or(|w| a.status_class.severity() > w.status_class.severity()) {
                    worst = Some(a);
                }
            }
        }
    }
    if !any {
        return Err(Miss::Absent);
    }
    match worst {
        Some(w)
            if matches!(
                w.status_class,
                ApprovalStatus::NotApproved | ApprovalStatus::NotListed
            ) =>
        {
            Ok(w)
        }
        Some(w) if !unknown => Ok(w),
        _ => Err(Miss::NoSource),
    }
}

/// What a field name (`supplier.bankrupt`) means, in Norwegian, for pages that show evidence.
pub fn describe(name: &str) -> Option<&'static str> {
    lookup(name).map(|f| f.desc)
}

//! Reading contracts (filtered, paginated) within the reader's scope (`domain::ownership`),
//! and moving a contract to another owner.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{contract_risk, contracts};
use crate::db::{DbConn, DbError};
use crate::domain::paging::Paging;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = contracts)]
pub struct Contract {
    pub id: i64,
    pub contract_no: String,
    pub title: Option<String>,
    pub supplier_name: String,
    pub orgnr: String,
    pub category: Option<String>,
    pub cpv: Option<String>,
    pub value_ore: Option<i64>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub unit: Option<String>,
    pub contract_manager: Option<String>,
    pub subcontractor_levels: Option<i32>,
    #[serde(skip)]
    pub extras: String,
    pub version: i32,
    pub first_batch_id: i64,
    pub last_batch_id: i64,
    pub updated_at: chrono::NaiveDateTime,
    /// The user the contract belongs to.
    pub owner_user_id: i64,
}

/// Which contracts, and who is asking.
#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub unit: Option<String>,
    /// An org number (exact) or part of the supplier's name (case-insensitive).
    pub supplier: Option<String>,
    pub category: Option<String>,
    /// Contracts active at some time in [from, to].
    pub active_from: Option<NaiveDate>,
    pub active_to: Option<NaiveDate>,
    /// When set, only the contracts this user owns (`ContractScope::owner_filter`).
    pub visible_to_owner: Option<i64>,
    /// Only contracts whose current assessment is in one of these tiers.
    pub tiers: Option<Vec<String>>,
    /// Only contracts in this risk industry (by the current assessment).
    pub industry: Option<String>,
    /// Free text a person types: a contract number (exact or its start), an org number, or
    /// part of the supplier's name.
    pub search: Option<String>,
    /// Value excluding VAT in øre, inclusive bounds.
    pub min_value_ore: Option<i64>,
    pub max_value_ore: Option<i64>,
    /// `score` (highest first, unscored last; the default), `contract_no`, `value`
    /// (highest first), `supplier` or `end_date` (soonest first).
    pub sort: ContractSort,
    /// From 1; checked with `per_page` by [`Paging`]: out of range is [`DbError::Paging`].
    pub page: i64,
    /// 1 to [`MAX_PER_PAGE`].
    pub per_page: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractSort {
    #[default]
    Score,
    ContractNo,
    Value,
    Supplier,
    EndDate,
}

/// The current risk of a contract (its newest assessment, see `db::models::risk`).
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct RiskSummary {
    pub score: i32,
    pub max_possible_score: i32,
    pub tier: String,
    #[serde(serialize_with = "industries_list")]
    #[schema(value_type = Vec<String>)]
    pub industries: String,
    pub assessment_id: i64,
    pub rule_set_version: String,
    pub assessed_at: chrono::NaiveDateTime,
}

/// `,renhold,bygg,` as `["renhold", "bygg"]`.
fn industries_list<S: serde::Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.split(',').filter(|p| !p.is_empty()))
}

/// A contract with its current risk (`null` until it has been scored).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContractWithRisk {
    #[serde(flatten)]
    pub contract: Contract,
    pub risk: Option<RiskSummary>,
}

pub use crate::domain::paging::MAX_PER_PAGE;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContractPage {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub items: Vec<ContractWithRisk>,
}

/// One page of contracts; a page or page size out of range is refused
/// ([`DbError::Paging`]), never clamped or wrapped.
pub fn list(conn: &mut DbConn, f: &ContractFilter) -> Result<ContractPage, DbError> {
    let paging = Paging::new(f.page, f.per_page)?;
    let build = || {
        // A contract of an import still being stored is shown by no read (migration 000012).
        let mut q = contracts::table
            .left_join(contract_risk::table)
            .filter(crate::contract_shown!())
            .into_boxed();
        if let Some(tiers) = &f.tiers {
            q = q.filter(contract_risk::tier.eq_any(tiers.clone()));
        }
        if let Some(ind) = &f.industry {
            q = q.filter(contract_risk::industries.like(format!("%,{},%", ind.replace(['%', '_', ','], ""))));
        }
        if let Some(u) = &f.unit {
            q = q.filter(contracts::unit.eq(u.clone()));
        }
        if let Some(c) = &f.category {
            q = q.filter(contracts::category.eq(c.clone()));
        }
        if let Some(s) = &f.supplier {
            let s = s.trim();
            let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
                q = q.filter(contracts::orgnr.eq(digits));
            } else {
                let pattern = format!("%{}%", s.to_lowercase().replace('%', "\\%").replace('_', "\\_"));
                q = q.filter(lower(contracts::supplier_name).like(pattern).escape('\\'));
            }
        }
        if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            let escaped = |x: &str| x.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let number_prefix = format!("{}%", escaped(s));
            let name_part = format!("%{}%", escaped(&s.to_lowercase()));
            if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
                q = q.filter(
                    contracts::orgnr
                        .eq(digits)
                        .or(contracts::contract_no.like(number_prefix).escape('\\')),
                );
            } else {
                q = q.filter(
                    contracts::contract_no
                        .like(number_prefix)
                        .escape('\\')
                        .or(lower(contracts::supplier_name).like(name_part).escape('\\'))
                        .or(lower(contracts::title.assume_not_null())
                            .like(format!("%{}%", escaped(&s.to_lowercase())))
                            .escape('\\')),
                );
            }
        }
        if let Some(min) = f.min_value_ore {
            q = q.filter(contracts::value_ore.ge(min));
        }
        if let Some(max) = f.max_value_ore {
            q = q.filter(contracts::value_ore.le(max));
        }
        if let Some(to) = f.active_to {
            q = q.filter(contracts::start_date.is_null().or(contracts::start_date.le(to)));
        }
        if let Some(from) = f.active_from {
            q = q.filter(contracts::end_date.is_null().or(contracts::end_date.ge(from)));
        }
        if let Some(owner) = f.visible_to_owner {
            q = q.filter(contracts::owner_user_id.eq(owner));
        }
        q
    };
    let total: i64 = build().count().get_result(conn)?;
    let q = build();
    let q = match f.sort {
        // Unscored contracts last on both backends (PostgreSQL sorts NULL first when descending).
        ContractSort::Score => q.order((
            contract_risk::score.is_null().asc(),
            contract_risk::score.desc(),
            contracts::contract_no.asc(),
        )),
        ContractSort::ContractNo => q.order(contracts::contract_no.asc()),
        ContractSort::Value => q.order((
            contracts::value_ore.is_null().asc(),
            contracts::value_ore.desc(),
            contracts::contract_no.asc(),
        )),
        ContractSort::Supplier => q.order((contracts::supplier_name.asc(), contracts::contract_no.asc())),
        ContractSort::EndDate => q.order((
            contracts::end_date.is_null().asc(),
            contracts::end_date.asc(),
            contracts::contract_no.asc(),
        )),
    };
    let rows: Vec<(Contract, Option<RiskSummary>)> = q
        .limit(paging.limit())
        .offset(paging.offset())
        .select((
            Contract::as_select(),
            (
                contract_risk::score,
                contract_risk::max_possible_score,
                contract_risk::tier,
                contract_risk::industries,
                contract_risk::assessment_id,
                contract_risk::rule_set_version,
                contract_risk::assessed_at,
            )
                .nullable(),
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(|(contract, risk)| ContractWithRisk { contract, risk })
        .collect();
    Ok(ContractPage {
        total,
        page: paging.page(),
        per_page: paging.per_page(),
        items,
    })
}

/// One contract, if `visible_to_owner` (when set) owns it: the same rule as [`list`].
pub fn get_visible(
    conn: &mut DbConn,
    id: i64,
    visible_to_owner: Option<i64>,
) -> Result<Option<Contract>, DbError> {
    let mut q = contracts::table
        .filter(contracts::id.eq(id))
        .filter(crate::contract_shown!())
        .into_boxed();
    if let Some(owner) = visible_to_owner {
        q = q.filter(contracts::owner_user_id.eq(owner));
    }
    Ok(q.select(Contract::as_select()).first(conn).optional()?)
}

/// A contract by its id or by its contract number, in any scope: for callers that act
/// municipality-wide (moving a contract to another owner).
pub fn find(conn: &mut DbConn, key: &ContractKey) -> Result<Option<Contract>, DbError> {
    let q = contracts::table
        .filter(crate::contract_shown!())
        .select(Contract::as_select());
    Ok(match key {
        ContractKey::Id(id) => q.filter(contracts::id.eq(*id)).first(conn).optional()?,
        ContractKey::Number(no) => q.filter(contracts::contract_no.eq(no)).first(conn).optional()?,
    })
}

/// How a caller names a contract: the API by id, a person on the command line by the number
/// from the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractKey {
    Id(i64),
    Number(String),
}

/// Gives contract `id` to `owner`. Run inside the caller's write transaction; the version
/// and data stay as they are (the owner is not what a register says about the contract).
pub fn set_owner(conn: &mut DbConn, id: i64, owner: i64) -> Result<(), DbError> {
    let n = diesel::update(contracts::table.find(id))
        .set(contracts::owner_user_id.eq(owner))
        .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound(crate::db::Missing::Contract(id)));
    }
    Ok(())
}

/// How many contracts are stored, visible or not (the demo's "is this database empty").
pub fn count_all(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(contracts::table.count().get_result(conn)?)
}

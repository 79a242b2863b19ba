//! Reading contracts (filtered, paginated) with the visibility rules of each role.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{contract_versions, contracts, import_batches};
use crate::db::{DbConn, DbError};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
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
    /// When set, only contracts that this user's imports brought in or changed.
    pub visible_to_uploader: Option<i64>,
    pub page: i64,
    pub per_page: i64,
}

pub const MAX_PER_PAGE: i64 = 500;

#[derive(Debug, Clone, Serialize)]
pub struct ContractPage {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub items: Vec<Contract>,
}

pub fn list(conn: &mut DbConn, f: &ContractFilter) -> Result<ContractPage, DbError> {
    let per_page = f.per_page.clamp(1, MAX_PER_PAGE);
    let page = f.page.max(1);
    let build = || {
        let mut q = contracts::table.into_boxed();
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
        if let Some(to) = f.active_to {
            q = q.filter(contracts::start_date.is_null().or(contracts::start_date.le(to)));
        }
        if let Some(from) = f.active_from {
            q = q.filter(contracts::end_date.is_null().or(contracts::end_date.ge(from)));
        }
        if let Some(uploader) = f.visible_to_uploader {
            let own_batches = import_batches::table
                .filter(import_batches::uploader_id.eq(uploader))
                .select(import_batches::id);
            let own_contracts = contract_versions::table
                .filter(contract_versions::batch_id.eq_any(own_batches))
                .select(contract_versions::contract_id);
            q = q.filter(contracts::id.eq_any(own_contracts));
        }
        q
    };
    let total: i64 = build().count().get_result(conn)?;
    let items = build()
        .order(contracts::contract_no.asc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(Contract::as_select())
        .load(conn)?;
    Ok(ContractPage {
        total,
        page,
        per_page,
        items,
    })
}

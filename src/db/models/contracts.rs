//! Reading contracts (filtered, paginated) within the reader's scope (`domain::ownership`),
//! and moving a contract to another owner.

use chrono::NaiveDate;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Integer, Text};
use serde::Serialize;

use crate::db::capped_count::{CountMemo, capped};
use crate::db::schema::{assessments, contract_risk, contracts};
use crate::db::{DbConn, DbError};
use crate::domain::paging::{Cursor, Paging, PagingError};

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
    /// A `next_cursor` of an earlier page: the page after that one (then `page` must be 1).
    pub after: Option<String>,
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// A listed contract's risk row: [`RiskSummary`] but the rule-set version, which the
/// assessment it points at names (the index keeps none of its own, migration 000020).
#[derive(Queryable)]
struct RiskRow {
    score: i32,
    max_possible_score: i32,
    tier: String,
    industries: String,
    assessment_id: i64,
    assessed_at: chrono::NaiveDateTime,
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
    /// How many contracts match: exact when `total_exact`, otherwise the count stopped at
    /// this number (10 000) and there are more.
    pub total: i64,
    /// `false` when more contracts match than `total` says (counting stops at 10 000, so a
    /// count costs the same however many contracts there are).
    pub total_exact: bool,
    /// The page number asked for; `null` when the page was asked for with a cursor.
    pub page: Option<i64>,
    pub per_page: i64,
    /// Pass as `cursor` for the next page (same filter and sort); `null` on the last page.
    pub next_cursor: Option<String>,
    pub items: Vec<ContractWithRisk>,
}

/// Where a row stands in a sort, for keyset paging: the sorted value (`None` for a row in
/// the tail of rows without one, which follow the others by id) and the id that breaks ties.
#[derive(Debug, Clone, PartialEq)]
enum Position {
    Score(Option<i32>, i64),
    ContractNo(String),
    Value(Option<i64>, i64),
    Supplier(String, i64),
    EndDate(Option<NaiveDate>, i64),
}

impl ContractSort {
    fn tag(self) -> &'static str {
        match self {
            ContractSort::Score => "score",
            ContractSort::ContractNo => "contract_no",
            ContractSort::Value => "value",
            ContractSort::Supplier => "supplier",
            ContractSort::EndDate => "end_date",
        }
    }

    /// Whether rows without the sorted value follow the others (a second, id-ordered part).
    fn has_tail(self) -> bool {
        matches!(
            self,
            ContractSort::Score | ContractSort::Value | ContractSort::EndDate
        )
    }
}

impl Position {
    fn of(sort: ContractSort, row: &ContractWithRisk) -> Position {
        let c = &row.contract;
        match sort {
            ContractSort::Score => Position::Score(row.risk.as_ref().map(|r| r.score), c.id),
            ContractSort::ContractNo => Position::ContractNo(c.contract_no.clone()),
            ContractSort::Value => Position::Value(c.value_ore, c.id),
            ContractSort::Supplier => Position::Supplier(c.supplier_name.clone(), c.id),
            ContractSort::EndDate => Position::EndDate(c.end_date, c.id),
        }
    }

    /// In the tail of rows without the sorted value.
    fn in_tail(&self) -> bool {
        matches!(
            self,
            Position::Score(None, _) | Position::Value(None, _) | Position::EndDate(None, _)
        )
    }

    fn id(&self) -> Option<i64> {
        match self {
            Position::Score(_, id)
            | Position::Value(_, id)
            | Position::Supplier(_, id)
            | Position::EndDate(_, id) => Some(*id),
            Position::ContractNo(_) => None,
        }
    }

    fn cursor(&self, sort: ContractSort) -> Cursor {
        fn opt<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string)
        }
        let tag = sort.tag().to_owned();
        match self {
            Position::Score(v, id) => Cursor::new([tag, opt(v), id.to_string()]),
            Position::ContractNo(no) => Cursor::new([tag, no.clone()]),
            Position::Value(v, id) => Cursor::new([tag, opt(v), id.to_string()]),
            Position::Supplier(name, id) => Cursor::new([tag, name.clone(), id.to_string()]),
            Position::EndDate(v, id) => Cursor::new([tag, opt(v), id.to_string()]),
        }
    }

    /// Reads a cursor back for `sort`; a cursor of another sort or shape is refused.
    fn from_cursor(sort: ContractSort, text: &str) -> Result<Position, PagingError> {
        let cursor = Cursor::decode(text)?;
        let parts = cursor.parts();
        let bad = || PagingError::Cursor;
        fn opt<T: std::str::FromStr>(s: &str) -> Result<Option<T>, PagingError> {
            if s == "-" {
                Ok(None)
            } else {
                s.parse().map(Some).map_err(|_| PagingError::Cursor)
            }
        }
        let id = |s: &String| s.parse::<i64>().map_err(|_| PagingError::Cursor);
        match (sort, parts) {
            (_, [tag, ..]) if tag != sort.tag() => Err(bad()),
            (ContractSort::Score, [_, v, i]) => Ok(Position::Score(opt(v)?, id(i)?)),
            (ContractSort::ContractNo, [_, no]) => Ok(Position::ContractNo(no.clone())),
            (ContractSort::Value, [_, v, i]) => Ok(Position::Value(opt(v)?, id(i)?)),
            (ContractSort::Supplier, [_, n, i]) => Ok(Position::Supplier(n.clone(), id(i)?)),
            (ContractSort::EndDate, [_, v, i]) => Ok(Position::EndDate(opt(v)?, id(i)?)),
            _ => Err(bad()),
        }
    }
}

/// The list's query before its order: contracts with their current risk, as filtered.
type ListQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::LeftJoin<contracts::table, contract_risk::table>,
    crate::db::MultiBackend,
>;

/// The contracts `f` asks for (any order).
fn filtered(f: &ContractFilter) -> ListQuery {
    // A contract of an import still being stored is shown by no read (migration 000012).
    let mut q: ListQuery = contracts::table
        .left_join(contract_risk::table)
        .into_boxed()
        .filter(crate::contract_shown!());
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
            // Through the supplier's row (unique org number) to `contracts_supplier`: the
            // import sets `supplier_id` from the same org number.
            q = q.filter(contracts::orgnr.eq(digits.clone())).filter(
                sql::<Bool>("contracts.supplier_id IN (SELECT s.id FROM suppliers s WHERE s.orgnr = ")
                    .bind::<Text, _>(digits)
                    .sql(")"),
            );
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
}

/// The rows that have the sorted value (every row for a sort without a tail), any order.
fn with_value(f: &ContractFilter) -> ListQuery {
    let q = filtered(f);
    match f.sort {
        // Every scored row, as a comparison rather than `IS NOT NULL`: SQLite turns the left
        // join into an inner join (reading contract_risk first, in index order) only when a
        // term rules the missing row out by comparing; with `IS NOT NULL` it sorts instead.
        ContractSort::Score => q.filter(contract_risk::score.ge(i32::MIN)),
        ContractSort::Value => q.filter(contracts::value_ore.is_not_null()),
        ContractSort::EndDate => q.filter(contracts::end_date.is_not_null()),
        ContractSort::ContractNo | ContractSort::Supplier => q,
    }
}

/// The rows that have the sorted value, in the sort's order (every row for a sort without a
/// tail), continuing after `after` when it stands among them.
fn head(f: &ContractFilter, after: Option<&Position>) -> ListQuery {
    let q = with_value(f);
    // Ties by id in the sort's direction, so that the sort key and the id compare as one
    // row value: `(key, id) < (v, i)` is a range the index seeks to (an index is read
    // backwards for a descending sort), whatever the number of ties at `v`.
    let q = match f.sort {
        ContractSort::Score => q.order((contract_risk::score.desc(), contract_risk::contract_id.desc())),
        ContractSort::ContractNo => q.order(contracts::contract_no.asc()),
        ContractSort::Value => q.order((contracts::value_ore.desc(), contracts::id.desc())),
        ContractSort::Supplier => q.order((contracts::supplier_name.asc(), contracts::id.asc())),
        ContractSort::EndDate => q.order((contracts::end_date.asc(), contracts::id.asc())),
    };
    match after {
        None => q,
        Some(Position::Score(Some(v), i)) => q.filter(
            sql::<Bool>("(contract_risk.score, contract_risk.contract_id) < (")
                .bind::<Integer, _>(*v)
                .sql(", ")
                .bind::<BigInt, _>(*i)
                .sql(")"),
        ),
        Some(Position::ContractNo(no)) => q.filter(contracts::contract_no.gt(no.clone())),
        Some(Position::Value(Some(v), i)) => q.filter(
            sql::<Bool>("(contracts.value_ore, contracts.id) < (")
                .bind::<BigInt, _>(*v)
                .sql(", ")
                .bind::<BigInt, _>(*i)
                .sql(")"),
        ),
        Some(Position::Supplier(name, i)) => q.filter(
            sql::<Bool>("(contracts.supplier_name, contracts.id) > (")
                .bind::<Text, _>(name.clone())
                .sql(", ")
                .bind::<BigInt, _>(*i)
                .sql(")"),
        ),
        Some(Position::EndDate(Some(v), i)) => q.filter(
            sql::<Bool>("(contracts.end_date, contracts.id) > (")
                .bind::<Date, _>(*v)
                .sql(", ")
                .bind::<BigInt, _>(*i)
                .sql(")"),
        ),
        // A position in the tail: the caller reads no head after it.
        Some(_) => q,
    }
}

/// The rows without the sorted value, by id, after `after_id`.
fn tail(f: &ContractFilter, after_id: Option<i64>) -> ListQuery {
    let q = filtered(f);
    let q = match f.sort {
        ContractSort::Score => q.filter(contract_risk::contract_id.is_null()),
        ContractSort::Value => q.filter(contracts::value_ore.is_null()),
        ContractSort::EndDate => q.filter(contracts::end_date.is_null()),
        // No tail (see `has_tail`): never asked for.
        ContractSort::ContractNo | ContractSort::Supplier => q,
    };
    let q = q.order(contracts::id.asc());
    match after_id {
        Some(i) => q.filter(contracts::id.gt(i)),
        None => q,
    }
}

/// How SQLite runs the first page of `f` (`EXPLAIN QUERY PLAN`, one line per step), to check
/// that a sort reads its index rather than sorting the table; empty on PostgreSQL.
pub fn sqlite_page_plan(conn: &mut DbConn, f: &ContractFilter) -> Result<Vec<String>, DbError> {
    let q = head(f, None).select(contracts::id).limit(f.per_page + 1);
    crate::db::plan::sqlite_plan(conn, q)
}

/// The columns of a listed row: the contract and its current risk (`NULL`s when unscored).
macro_rules! row {
    () => {
        (
            Contract::as_select(),
            (
                contract_risk::score,
                contract_risk::max_possible_score,
                contract_risk::tier,
                contract_risk::industries,
                contract_risk::assessment_id,
                contract_risk::assessed_at,
            )
                .nullable(),
        )
    };
}

/// `rows` with the rule-set versions of their assessments, read in one query.
fn with_rule_set_versions(
    conn: &mut DbConn,
    rows: Vec<(Contract, Option<RiskRow>)>,
) -> Result<Vec<ContractWithRisk>, DbError> {
    let ids: Vec<i64> = rows
        .iter()
        .filter_map(|(_, r)| r.as_ref())
        .map(|r| r.assessment_id)
        .collect();
    let versions: std::collections::HashMap<i64, String> = if ids.is_empty() {
        Default::default()
    } else {
        assessments::table
            .filter(assessments::id.eq_any(&ids))
            .select((assessments::id, assessments::rule_set_version))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect()
    };
    rows.into_iter()
        .map(|(contract, risk)| {
            let risk = risk
                .map(|r| {
                    let rule_set_version = versions.get(&r.assessment_id).cloned().ok_or_else(|| {
                        DbError::Corrupt(format!(
                            "contract {}'s risk row points at assessment {}, which is not stored",
                            contract.id, r.assessment_id
                        ))
                    })?;
                    Ok::<_, DbError>(RiskSummary {
                        score: r.score,
                        max_possible_score: r.max_possible_score,
                        tier: r.tier,
                        industries: r.industries,
                        assessment_id: r.assessment_id,
                        rule_set_version,
                        assessed_at: r.assessed_at,
                    })
                })
                .transpose()?;
            Ok(ContractWithRisk { contract, risk })
        })
        .collect()
}

/// One page of contracts, by page number (`f.page`) or after a cursor (`f.after`); a page
/// or page size out of range, or a cursor this list did not make, is refused
/// ([`DbError::Paging`]), never clamped or wrapped.
///
/// Each sort reads an index in order (migration 000016) and stops after the page, so a page
/// costs the same on a small or a large register. A sort on a value some rows lack (score,
/// value, end date) reads in two parts: the rows with the value, in the sort's order (ties
/// by id in the sort's direction: newest first in a descending sort), then the rows without
/// it by id; sorting both at once would need `value IS NULL`
/// as a sort key, which no index serves (and the score lives in another table). A cursor
/// names the last row seen, so its page starts with an index seek at any depth; a page
/// number skips rows (`OFFSET`), cheap near the start. The count stops at
/// [`COUNT_CAP`](crate::domain::paging::COUNT_CAP).
pub fn list(conn: &mut DbConn, f: &ContractFilter) -> Result<ContractPage, DbError> {
    list_with(conn, f, None)
}

/// [`list`], taking the count from `memo` when the same selection was counted to the cap
/// within the last seconds (and keeping such a count there).
pub fn list_with(
    conn: &mut DbConn,
    f: &ContractFilter,
    memo: Option<&CountMemo>,
) -> Result<ContractPage, DbError> {
    let paging = Paging::new(f.page, f.per_page)?;
    let after = match f.after.as_deref() {
        Some(text) => {
            if f.page != 1 {
                return Err(PagingError::PageAndCursor.into());
            }
            Some(Position::from_cursor(f.sort, text)?)
        }
        None => None,
    };
    // A tier or industry asks for a current assessment: no unscored row can match.
    let tail_can_match =
        f.sort.has_tail() && !(f.sort == ContractSort::Score && (f.tiers.is_some() || f.industry.is_some()));
    // One more row than the page, to know whether another page follows.
    let want = paging.limit() + 1;
    let mut rows: Vec<(Contract, Option<RiskRow>)> = Vec::new();
    let mut tail_from: Option<(Option<i64>, i64)> = None;
    match &after {
        Some(pos) if pos.in_tail() => tail_from = Some((pos.id(), 0)),
        _ => {
            let offset = if after.is_some() { 0 } else { paging.offset() };
            rows = head(f, after.as_ref())
                .limit(want)
                .offset(offset)
                .select(row!())
                .load(conn)?;
            if tail_can_match && (rows.len() as i64) < want {
                let tail_offset = if after.is_none() && rows.is_empty() && offset > 0 {
                    // Past the end of the head: skip what is left of the offset in the tail.
                    let in_head: i64 = with_value(f).count().get_result(conn)?;
                    (offset - in_head).max(0)
                } else {
                    0
                };
                tail_from = Some((None, tail_offset));
            }
        }
    }
    if let Some((after_id, offset)) = tail_from.filter(|_| tail_can_match) {
        let more = want - rows.len() as i64;
        rows.extend(
            tail(f, after_id)
                .limit(more)
                .offset(offset)
                .select(row!())
                .load::<(Contract, Option<RiskRow>)>(conn)?,
        );
    }
    let has_more = rows.len() as i64 > paging.limit();
    rows.truncate(usize::try_from(paging.limit()).unwrap_or(0));
    let items = with_rule_set_versions(conn, rows)?;
    let next_cursor = match items.last() {
        Some(last) if has_more => Some(Position::of(f.sort, last).cursor(f.sort).encode()),
        _ => None,
    };
    // The selection without its order and place: what the count depends on.
    let selection = format!(
        "contracts {:?}",
        ContractFilter {
            sort: ContractSort::Score,
            page: 1,
            per_page: 1,
            after: None,
            ..f.clone()
        }
    );
    let total = match memo.and_then(|m| m.recent(&selection)) {
        Some(total) => total,
        None => {
            let total = capped(filtered(f).select(contracts::id)).total(conn)?;
            if let Some(m) = memo {
                m.keep(selection, total);
            }
            total
        }
    };
    Ok(ContractPage {
        total: total.total,
        total_exact: total.exact,
        page: after.is_none().then(|| paging.page()),
        per_page: paging.per_page(),
        next_cursor,
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

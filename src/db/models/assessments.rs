//! Risk assessments in storage: every rule set that was ever in force (with its files), the
//! append-only assessment history, and `contract_risk` / `supplier_risk`, the latest
//! assessment per subject kept as an index for sorting and filtering. The history is the
//! record; the index rows are replaced whenever a newer assessment is recorded.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::cached_insert::insert_rows;
use crate::db::schema::{
    approval_entries, approval_loads, assessment_texts, assessments, contract_risk, contracts,
    import_staged_risk, register_facts, rule_set_activations, rule_sets, supplier_risk, suppliers,
};
use crate::db::sqlite_raw::{insert_rows_of, raw_row};
use crate::db::{DbConn, DbError};
use crate::risk::record::{self, Plan, StoredExplanation};

/// Assessments recorded per round of history insert + index update (and ids per look-up).
const CHUNK: usize = 500;

#[derive(Serialize, Deserialize)]
struct StoredFile {
    name: String,
    text: String,
}

/// Stores the files of a rule-set version once (later calls with the same version do
/// nothing), so every assessment can name the exact rules it was made with, and its `plan`
/// (JSON of [`Plan`]), which the assessments' records are read with. A version stored before
/// plans existed gets its plan now.
pub fn ensure_rule_set(
    conn: &mut DbConn,
    version: &str,
    files: &[(String, String)],
    plan: &Plan,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    let stored: Option<Option<String>> = rule_sets::table
        .filter(rule_sets::version.eq(version))
        .select(rule_sets::plan)
        .first(conn)
        .optional()?;
    let plan_json = serde_json::to_string(plan).map_err(|e| DbError::Corrupt(e.to_string()))?;
    match stored {
        Some(Some(_)) => return Ok(()),
        Some(None) => {
            diesel::update(rule_sets::table.filter(rule_sets::version.eq(version)))
                .set(rule_sets::plan.eq(Some(plan_json)))
                .execute(conn)?;
            return Ok(());
        }
        None => {}
    }
    let stored: Vec<StoredFile> = files
        .iter()
        .map(|(name, text)| StoredFile {
            name: name.clone(),
            text: text.clone(),
        })
        .collect();
    let json = serde_json::to_string(&stored).map_err(|e| DbError::Corrupt(e.to_string()))?;
    diesel::insert_into(rule_sets::table)
        .values((
            rule_sets::version.eq(version),
            rule_sets::files.eq(json),
            rule_sets::created_at.eq(at),
            rule_sets::plan.eq(Some(plan_json)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records that `version` became the active rule set, unless it already is the most
/// recently activated one (a restart with unchanged files is not a new activation).
/// Returns whether an activation was recorded. Call inside a write transaction.
pub fn record_activation(
    conn: &mut DbConn,
    version: &str,
    files: &[(String, String)],
    plan: &Plan,
    by: &str,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    ensure_rule_set(conn, version, files, plan, at)?;
    let latest: Option<String> = rule_set_activations::table
        .order(rule_set_activations::id.desc())
        .select(rule_set_activations::version)
        .first(conn)
        .optional()?;
    if latest.as_deref() == Some(version) {
        return Ok(false);
    }
    diesel::insert_into(rule_set_activations::table)
        .values((
            rule_set_activations::version.eq(version),
            rule_set_activations::activated_by.eq(by),
            rule_set_activations::activated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(true)
}

/// The files of a stored rule-set version, `(name, text)`.
pub fn rule_set_files(conn: &mut DbConn, version: &str) -> Result<Option<Vec<(String, String)>>, DbError> {
    let json: Option<String> = rule_sets::table
        .filter(rule_sets::version.eq(version))
        .select(rule_sets::files)
        .first(conn)
        .optional()?;
    json.map(|j| {
        serde_json::from_str::<Vec<StoredFile>>(&j)
            .map(|v| v.into_iter().map(|f| (f.name, f.text)).collect())
            .map_err(|e| DbError::Corrupt(format!("stored rule set {version}: {e}")))
    })
    .transpose()
}

/// One activation of a rule set.
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct Activation {
    pub version: String,
    pub activated_by: String,
    pub activated_at: NaiveDateTime,
}

pub fn activations(conn: &mut DbConn, limit: i64) -> Result<Vec<Activation>, DbError> {
    Ok(rule_set_activations::table
        .order(rule_set_activations::id.desc())
        .limit(limit)
        .select((
            rule_set_activations::version,
            rule_set_activations::activated_by,
            rule_set_activations::activated_at,
        ))
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------
// Reading the inputs of a rescoring run.

/// A contract as the rules read it, with what identifies its data version.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contracts)]
pub struct ContractInputRow {
    pub id: i64,
    pub contract_no: String,
    pub title: Option<String>,
    pub orgnr: String,
    pub category: Option<String>,
    pub cpv: Option<String>,
    pub value_ore: Option<i64>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub unit: Option<String>,
    pub subcontractor_levels: Option<i32>,
    pub extras: String,
    pub version: i32,
    pub data_sha256: String,
}

/// Every contract, in id order (not those of an import still being stored).
pub fn all_contract_inputs(conn: &mut DbConn) -> Result<Vec<ContractInputRow>, DbError> {
    Ok(contracts::table
        .filter(crate::contract_shown!())
        .order(contracts::id.asc())
        .select(ContractInputRow::as_select())
        .load(conn)?)
}

/// The contracts with these ids, in id order.
pub fn contract_inputs(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<ContractInputRow>, DbError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK * 4) {
        out.extend(
            contracts::table
                .filter(contracts::id.eq_any(chunk))
                .filter(crate::contract_shown!())
                .select(ContractInputRow::as_select())
                .load::<ContractInputRow>(conn)?,
        );
    }
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// The contracts of these suppliers, in id order.
pub fn contract_inputs_for_suppliers(
    conn: &mut DbConn,
    orgnrs: &[String],
) -> Result<Vec<ContractInputRow>, DbError> {
    let mut out = Vec::new();
    for chunk in orgnrs.chunks(CHUNK * 4) {
        out.extend(
            contracts::table
                .filter(contracts::orgnr.eq_any(chunk))
                .filter(crate::contract_shown!())
                .select(ContractInputRow::as_select())
                .load::<ContractInputRow>(conn)?,
        );
    }
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// The org numbers of every supplier we hold contracts with.
pub fn supplier_orgnrs(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    Ok(suppliers::table
        .order(suppliers::orgnr.asc())
        .select(suppliers::orgnr)
        .load(conn)?)
}

/// The newest register row per org number (facts JSON as stored).
#[derive(Debug, Clone, Queryable)]
pub struct LatestFactsRow {
    pub id: i64,
    pub orgnr: String,
    pub outcome: String,
    pub facts: Option<String>,
    pub fetched_at: NaiveDateTime,
}

/// The newest register row for every org number that has one.
pub fn latest_facts(conn: &mut DbConn) -> Result<Vec<LatestFactsRow>, DbError> {
    let newest: Vec<Option<i64>> = register_facts::table
        .group_by(register_facts::orgnr)
        .select(diesel::dsl::max(register_facts::id))
        .load(conn)?;
    let ids: Vec<i64> = newest.into_iter().flatten().collect();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK * 4) {
        out.extend(
            register_facts::table
                .filter(register_facts::id.eq_any(chunk))
                .select((
                    register_facts::id,
                    register_facts::orgnr,
                    register_facts::outcome,
                    register_facts::facts,
                    register_facts::fetched_at,
                ))
                .load::<LatestFactsRow>(conn)?,
        );
    }
    Ok(out)
}

/// The latest loaded file of one approval register, with its entries by org number.
#[derive(Debug, Clone)]
pub struct LoadedRegister {
    pub register: String,
    pub load_id: i64,
    pub loaded_at: NaiveDateTime,
    /// org number → (status text, status date).
    pub entries: HashMap<String, (String, Option<NaiveDate>)>,
}

/// The most recent load of each approval register that has been loaded at all.
pub fn latest_approval_registers(conn: &mut DbConn) -> Result<Vec<LoadedRegister>, DbError> {
    let mut out = Vec::new();
    for register in ["renhold", "bilpleie", "bemanning"] {
        let latest: Option<(i64, NaiveDateTime)> = approval_loads::table
            .filter(approval_loads::register.eq(register))
            .order(approval_loads::id.desc())
            .select((approval_loads::id, approval_loads::loaded_at))
            .first(conn)
            .optional()?;
        let Some((load_id, loaded_at)) = latest else {
            continue;
        };
        let entries = approval_entries::table
            .filter(approval_entries::load_id.eq(load_id))
            .select((
                approval_entries::orgnr,
                approval_entries::status,
                approval_entries::status_date,
            ))
            .load::<(String, String, Option<NaiveDate>)>(conn)?
            .into_iter()
            .map(|(o, s, d)| (o, (s, d)))
            .collect();
        out.push(LoadedRegister {
            register: register.to_owned(),
            load_id,
            loaded_at,
            entries,
        });
    }
    Ok(out)
}

/// What the index says about a subject's latest assessment: enough to tell whether a new
/// assessment would say anything new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentMark {
    /// The tier of the newest assessment (so a run can tell what entered the highest tier).
    pub tier: String,
    pub rule_set_version: String,
    pub input_sha256: String,
    pub result_sha256: Option<String>,
}

pub fn current_contract_marks(conn: &mut DbConn) -> Result<HashMap<i64, CurrentMark>, DbError> {
    // The index keeps no input hash or rule-set version of its own: the assessment it
    // points at has them.
    Ok(contract_risk::table
        .inner_join(assessments::table)
        .select((
            contract_risk::contract_id,
            contract_risk::tier,
            assessments::rule_set_version,
            assessments::input_sha256,
            contract_risk::result_sha256,
        ))
        .load::<(i64, String, String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, tier, v, i, r)| {
            (
                id,
                CurrentMark {
                    tier,
                    rule_set_version: v,
                    input_sha256: i,
                    result_sha256: r,
                },
            )
        })
        .collect())
}

pub fn current_supplier_marks(conn: &mut DbConn) -> Result<HashMap<String, CurrentMark>, DbError> {
    Ok(supplier_risk::table
        .select((
            supplier_risk::orgnr,
            supplier_risk::tier,
            supplier_risk::rule_set_version,
            supplier_risk::input_sha256,
            supplier_risk::result_sha256,
        ))
        .load::<(String, String, String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(o, tier, v, i, r)| {
            (
                o,
                CurrentMark {
                    tier,
                    rule_set_version: v,
                    input_sha256: i,
                    result_sha256: r,
                },
            )
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Recording assessments.

/// An assessment to record. `explanation` is the compact JSON made by `scoring` (rule ids
/// with evidence; the texts live in the stored rule set of `rule_set_version`).
#[derive(Debug, Clone)]
pub struct NewAssessment {
    pub contract_id: Option<i64>,
    pub contract_version: Option<i32>,
    pub orgnr: String,
    pub rule_set_version: String,
    pub input_sha256: String,
    pub result_sha256: String,
    pub facts_id: Option<i64>,
    pub parent_facts_id: Option<i64>,
    pub facts_fetched_at: Option<NaiveDateTime>,
    pub as_of: NaiveDate,
    pub score: i32,
    pub max_possible_score: i32,
    pub tier: String,
    /// `,renhold,bygg,`: wrapped in commas so `LIKE '%,renhold,%'` finds one industry.
    pub industries: String,
    /// The explanation as JSON: only for an assessment whose [`record`](Self::record) could
    /// not be made (empty otherwise).
    pub explanation: String,
    /// What the assessment decided ([`crate::risk::record`]), read with its rule set's plan.
    pub record: Option<Vec<u8>>,
    pub reason: String,
    pub assessed_at: NaiveDateTime,
}

/// An assessment as appended to the history.
struct HistoryRow<'a> {
    id: i64,
    subject: &'a str,
    a: &'a NewAssessment,
}

raw_row!(assessments, HistoryRow<'_>, |h, b| {
    id: int(h.id),
    subject: text(h.subject),
    contract_id: opt_int(h.a.contract_id),
    contract_version: opt_int(h.a.contract_version.map(i64::from)),
    orgnr: text(&h.a.orgnr),
    rule_set_version: text(&h.a.rule_set_version),
    input_sha256: text(&h.a.input_sha256),
    facts_id: opt_int(h.a.facts_id),
    parent_facts_id: opt_int(h.a.parent_facts_id),
    facts_fetched_at: opt_timestamp(h.a.facts_fetched_at),
    as_of: date(h.a.as_of),
    score: int(i64::from(h.a.score)),
    max_possible_score: int(i64::from(h.a.max_possible_score)),
    tier: text(&h.a.tier),
    industries: text(&h.a.industries),
    explanation: text(&h.a.explanation),
    reason: text(&h.a.reason),
    assessed_at: timestamp(h.a.assessed_at),
    record: opt_blob(h.a.record.as_deref()),
});

fn insert_history(
    conn: &mut DbConn,
    subject: &str,
    chunk: &[NewAssessment],
    ids: &[i64],
) -> Result<(), DbError> {
    let rows: Vec<HistoryRow<'_>> = chunk
        .iter()
        .zip(ids)
        .map(|(a, id)| HistoryRow { id: *id, subject, a })
        .collect();
    // The columns of `raw_row!(assessments, …)`, for COPY on PostgreSQL.
    insert_rows_of(conn, &rows, |pg, rows| {
        let values: Vec<_> = rows
            .iter()
            .map(|&HistoryRow { id, subject, a }| {
                (
                    assessments::id.eq(id),
                    assessments::subject.eq(subject),
                    assessments::contract_id.eq(a.contract_id),
                    assessments::contract_version.eq(a.contract_version),
                    assessments::orgnr.eq(&a.orgnr),
                    assessments::rule_set_version.eq(&a.rule_set_version),
                    assessments::input_sha256.eq(&a.input_sha256),
                    assessments::facts_id.eq(a.facts_id),
                    assessments::parent_facts_id.eq(a.parent_facts_id),
                    assessments::facts_fetched_at.eq(a.facts_fetched_at),
                    assessments::as_of.eq(a.as_of),
                    assessments::score.eq(a.score),
                    assessments::max_possible_score.eq(a.max_possible_score),
                    assessments::tier.eq(&a.tier),
                    assessments::industries.eq(&a.industries),
                    assessments::explanation.eq(&a.explanation),
                    assessments::reason.eq(&a.reason),
                    assessments::assessed_at.eq(a.assessed_at),
                    assessments::record.eq(a.record.as_deref()),
                )
            })
            .collect();
        diesel::copy_from(assessments::table)
            .from_insertable(&values)
            .execute(pg)
    })
}

/// Ids for `n` new assessments. Call inside the write transaction that inserts them: on
/// SQLite the transaction holds the write lock, so counting on from the largest id is safe;
/// PostgreSQL hands them out from the table's sequence. Knowing the ids saves looking them
/// up again to point the risk index at them.
fn take_assessment_ids(conn: &mut DbConn, n: usize) -> Result<Vec<i64>, DbError> {
    #[derive(QueryableByName)]
    struct NewId {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    match conn {
        DbConn::Sqlite(_) => {
            let max: Option<i64> = assessments::table
                .select(diesel::dsl::max(assessments::id))
                .first(conn)?;
            let first = max.unwrap_or(0) + 1;
            Ok((first..first + n as i64).collect())
        }
        DbConn::Postgresql(pg) => Ok(diesel::sql_query(
            "SELECT nextval(q.seq) AS id FROM (SELECT pg_get_serial_sequence('assessments', 'id')::regclass AS seq OFFSET 0) q, generate_series(1, $1)",
        )
        .bind::<diesel::sql_types::BigInt, _>(n as i64)
        .load::<NewId>(pg)?
        .into_iter()
        .map(|r| r.id)
        .collect()),
    }
}

/// Where a chunk of contract assessments points the risk index: at once (`contract_risk`),
/// or for an import batch still being stored, as `Staged`: a contract the batch created
/// (version 1) gets its `contract_risk` row at once, since the contract itself is shown by
/// no read until the batch is done (every reader of `contract_risk` goes through
/// `contract_shown!`); a contract the batch changes keeps its current row, and the new one
/// waits in `import_staged_risk` until the batch's final transaction ([`apply_staged_risk`]).
#[derive(Debug, Clone, Copy)]
pub enum RiskIndex {
    Now,
    Staged { batch_id: i64 },
}

/// Appends contract assessments to the history and points the risk index at them (see
/// [`RiskIndex`]). Call inside a write transaction.
pub fn record_contract_assessments(
    conn: &mut DbConn,
    items: &[NewAssessment],
    index: RiskIndex,
) -> Result<(), DbError> {
    for chunk in items.chunks(CHUNK) {
        let ids = take_assessment_ids(conn, chunk.len())?;
        insert_history(conn, "contract", chunk, &ids)?;
        let rows = chunk.iter().zip(&ids).filter_map(|(a, assessment_id)| {
            Some(RiskRow {
                contract_id: a.contract_id?,
                assessment_id: *assessment_id,
                a,
            })
        });
        match index {
            RiskIndex::Now => {
                let contract_ids: Vec<i64> = chunk.iter().filter_map(|a| a.contract_id).collect();
                diesel::delete(contract_risk::table.filter(contract_risk::contract_id.eq_any(&contract_ids)))
                    .execute(conn)?;
                insert_current_risk(conn, rows.map(CurrentRisk).collect())?;
            }
            RiskIndex::Staged { batch_id } => {
                // Contracts the batch created (version 1) and contracts it changed, apart.
                let (created, changed): (Vec<_>, Vec<_>) =
                    rows.partition(|r| r.a.contract_version == Some(1));
                insert_current_risk(conn, created.into_iter().map(CurrentRisk).collect())?;
                let staged = changed
                    .into_iter()
                    .map(|risk| StagedRisk { batch_id, risk })
                    .collect();
                insert_staged_risk(conn, staged)?;
            }
        }
    }
    Ok(())
}

/// A contract's entry in the risk index: its latest assessment's outcome.
struct RiskRow<'a> {
    contract_id: i64,
    assessment_id: i64,
    a: &'a NewAssessment,
}

/// A [`RiskRow`] in `contract_risk`.
struct CurrentRisk<'a>(RiskRow<'a>);

/// A [`RiskRow`] waiting in `import_staged_risk` for its batch's final transaction.
struct StagedRisk<'a> {
    batch_id: i64,
    risk: RiskRow<'a>,
}

raw_row!(contract_risk, CurrentRisk<'_>, |r, b| {
    contract_id: int(r.0.contract_id),
    assessment_id: int(r.0.assessment_id),
    score: int(i64::from(r.0.a.score)),
    max_possible_score: int(i64::from(r.0.a.max_possible_score)),
    tier: text(&r.0.a.tier),
    industries: text(&r.0.a.industries),
    result_sha256: text(&r.0.a.result_sha256),
    assessed_at: timestamp(r.0.a.assessed_at),
});

raw_row!(import_staged_risk, StagedRisk<'_>, |s, b| {
    batch_id: int(s.batch_id),
    contract_id: int(s.risk.contract_id),
    assessment_id: int(s.risk.assessment_id),
    score: int(i64::from(s.risk.a.score)),
    max_possible_score: int(i64::from(s.risk.a.max_possible_score)),
    tier: text(&s.risk.a.tier),
    industries: text(&s.risk.a.industries),
    result_sha256: text(&s.risk.a.result_sha256),
    assessed_at: timestamp(s.risk.a.assessed_at),
});

/// The columns of `raw_row!(contract_risk, …)` (and, after the batch id, of
/// `import_staged_risk`) as diesel inserts them on PostgreSQL.
macro_rules! risk_values {
    ($table:ident, $r:expr $(, $extra:expr)?) => {{
        let r: &RiskRow<'_> = $r;
        (
            $($extra,)?
            $table::contract_id.eq(r.contract_id),
            $table::assessment_id.eq(r.assessment_id),
            $table::score.eq(r.a.score),
            $table::max_possible_score.eq(r.a.max_possible_score),
            $table::tier.eq(&r.a.tier),
            $table::industries.eq(&r.a.industries),
            $table::result_sha256.eq(Some(&r.a.result_sha256)),
            $table::assessed_at.eq(r.a.assessed_at),
        )
    }};
}

fn insert_current_risk(conn: &mut DbConn, rows: Vec<CurrentRisk<'_>>) -> Result<(), DbError> {
    insert_rows_of(conn, &rows, |pg, rows| {
        let values: Vec<_> = rows.iter().map(|r| risk_values!(contract_risk, &r.0)).collect();
        diesel::copy_from(contract_risk::table)
            .from_insertable(&values)
            .execute(pg)
    })
}

fn insert_staged_risk(conn: &mut DbConn, rows: Vec<StagedRisk<'_>>) -> Result<(), DbError> {
    insert_rows_of(conn, &rows, |pg, rows| {
        let values: Vec<_> = rows
            .iter()
            .map(|s| {
                risk_values!(
                    import_staged_risk,
                    &s.risk,
                    import_staged_risk::batch_id.eq(s.batch_id)
                )
            })
            .collect();
        diesel::copy_from(import_staged_risk::table)
            .from_insertable(&values)
            .execute(pg)
    })
}

/// Points `contract_risk` at the assessments batch `batch_id` staged, in the batch's final
/// transaction, so the batch's contracts and their risk appear together.
pub fn apply_staged_risk(conn: &mut DbConn, batch_id: i64) -> Result<usize, DbError> {
    let staged = import_staged_risk::table
        .filter(import_staged_risk::batch_id.eq(batch_id))
        .select(import_staged_risk::contract_id);
    diesel::delete(contract_risk::table.filter(contract_risk::contract_id.eq_any(staged))).execute(conn)?;
    let n = diesel::insert_into(contract_risk::table)
        .values(
            import_staged_risk::table
                .filter(import_staged_risk::batch_id.eq(batch_id))
                .select((
                    import_staged_risk::contract_id,
                    import_staged_risk::assessment_id,
                    import_staged_risk::score,
                    import_staged_risk::max_possible_score,
                    import_staged_risk::tier,
                    import_staged_risk::industries,
                    import_staged_risk::result_sha256,
                    import_staged_risk::assessed_at,
                )),
        )
        .into_columns((
            contract_risk::contract_id,
            contract_risk::assessment_id,
            contract_risk::score,
            contract_risk::max_possible_score,
            contract_risk::tier,
            contract_risk::industries,
            contract_risk::result_sha256,
            contract_risk::assessed_at,
        ))
        .execute(conn)?;
    diesel::delete(import_staged_risk::table.filter(import_staged_risk::batch_id.eq(batch_id)))
        .execute(conn)?;
    Ok(n)
}

/// Removes what batch `batch_id` scored (a batch that failed or was abandoned): the
/// assessments of the contracts it created with their index rows, and its staged
/// assessments of the contracts it changed. Before the batch's contracts are removed.
pub fn discard_staged_risk(conn: &mut DbConn, batch_id: i64) -> Result<(), DbError> {
    let created = || {
        contracts::table
            .filter(contracts::first_batch_id.eq(batch_id))
            .select(contracts::id)
    };
    diesel::delete(contract_risk::table.filter(contract_risk::contract_id.eq_any(created())))
        .execute(conn)?;
    diesel::delete(assessments::table.filter(assessments::contract_id.eq_any(created().nullable())))
        .execute(conn)?;
    let staged = import_staged_risk::table
        .filter(import_staged_risk::batch_id.eq(batch_id))
        .select(import_staged_risk::assessment_id);
    diesel::delete(assessments::table.filter(assessments::id.eq_any(staged))).execute(conn)?;
    diesel::delete(import_staged_risk::table.filter(import_staged_risk::batch_id.eq(batch_id)))
        .execute(conn)?;
    Ok(())
}

/// Appends supplier assessments to the history and points `supplier_risk` at them.
pub fn record_supplier_assessments(conn: &mut DbConn, items: &[NewAssessment]) -> Result<(), DbError> {
    for chunk in items.chunks(CHUNK) {
        let ids = take_assessment_ids(conn, chunk.len())?;
        insert_history(conn, "supplier", chunk, &ids)?;
        let orgnrs: Vec<&str> = chunk.iter().map(|a| a.orgnr.as_str()).collect();
        diesel::delete(supplier_risk::table.filter(supplier_risk::orgnr.eq_any(&orgnrs))).execute(conn)?;
        let values: Vec<_> = chunk
            .iter()
            .zip(&ids)
            .map(|(a, assessment_id)| {
                (
                    supplier_risk::orgnr.eq(&a.orgnr),
                    supplier_risk::assessment_id.eq(*assessment_id),
                    supplier_risk::score.eq(a.score),
                    supplier_risk::max_possible_score.eq(a.max_possible_score),
                    supplier_risk::tier.eq(&a.tier),
                    supplier_risk::industries.eq(&a.industries),
                    supplier_risk::rule_set_version.eq(&a.rule_set_version),
                    supplier_risk::input_sha256.eq(&a.input_sha256),
                    supplier_risk::result_sha256.eq(Some(&a.result_sha256)),
                    supplier_risk::assessed_at.eq(a.assessed_at),
                )
            })
            .collect();
        insert_rows!(conn, supplier_risk::table, values);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading assessments back.

/// One stored assessment, as recorded.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = assessments)]
pub struct AssessmentRow {
    pub id: i64,
    pub subject: String,
    pub contract_id: Option<i64>,
    pub contract_version: Option<i32>,
    pub orgnr: String,
    pub rule_set_version: String,
    pub input_sha256: String,
    pub facts_id: Option<i64>,
    pub parent_facts_id: Option<i64>,
    pub facts_fetched_at: Option<NaiveDateTime>,
    pub as_of: NaiveDate,
    pub score: i32,
    pub max_possible_score: i32,
    pub tier: String,
    pub industries: String,
    #[serde(skip)]
    pub explanation: String,
    pub reason: String,
    pub assessed_at: NaiveDateTime,
    #[serde(skip)]
    pub record: Option<Vec<u8>>,
}

/// A contract's assessments, newest first (not those an import still being stored made).
pub fn contract_history(conn: &mut DbConn, contract_id: i64) -> Result<Vec<AssessmentRow>, DbError> {
    let staged = import_staged_risk::table
        .filter(import_staged_risk::contract_id.eq(contract_id))
        .select(import_staged_risk::assessment_id);
    Ok(assessments::table
        .filter(assessments::contract_id.eq(contract_id))
        .filter(assessments::id.ne_all(staged))
        .order(assessments::id.desc())
        .select(AssessmentRow::as_select())
        .load(conn)?)
}

type SupplierLevel<'a> = diesel::dsl::And<
    diesel::expression::SqlLiteral<diesel::sql_types::Bool>,
    diesel::dsl::Eq<assessments::orgnr, &'a str>,
>;

/// The supplier-level assessments of `orgnr`. The subject is the condition of the partial
/// index `assessments_supplier` (migration 000018), written as a literal: a bound parameter
/// would not tell either planner that the index applies.
fn supplier_level(orgnr: &str) -> SupplierLevel<'_> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("assessments.subject = 'supplier'")
        .and(assessments::orgnr.eq(orgnr))
}

/// How SQLite reads a supplier's history (`EXPLAIN QUERY PLAN`, one line per step), to check
/// that it uses the partial index; empty on PostgreSQL.
pub fn sqlite_supplier_history_plan(conn: &mut DbConn, orgnr: &str) -> Result<Vec<String>, DbError> {
    let q = assessments::table
        .filter(supplier_level(orgnr))
        .order(assessments::id.desc())
        .select(assessments::id);
    crate::db::plan::sqlite_plan(conn, q)
}

/// A supplier's supplier-level assessments, newest first.
pub fn supplier_history(conn: &mut DbConn, orgnr: &str) -> Result<Vec<AssessmentRow>, DbError> {
    Ok(assessments::table
        .filter(supplier_level(orgnr))
        .order(assessments::id.desc())
        .select(AssessmentRow::as_select())
        .load(conn)?)
}

/// Counts per tier over the current contract scores.
pub fn tier_counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, DbError> {
    Ok(contract_risk::table
        .inner_join(contracts::table)
        .filter(crate::contract_shown!())
        .group_by(contract_risk::tier)
        .select((contract_risk::tier, diesel::dsl::count_star()))
        .load(conn)?)
}

/// How many contracts have no current assessment.
pub fn unscored_contracts(conn: &mut DbConn) -> Result<i64, DbError> {
    let scored = contract_risk::table.select(contract_risk::contract_id);
    Ok(contracts::table
        .filter(crate::contract_shown!())
        .filter(diesel::dsl::not(contracts::id.eq_any(scored)))
        .count()
        .get_result(conn)?)
}

/// The contracts an import batch created or changed (those it has a version row for).
pub fn contract_ids_of_batch(conn: &mut DbConn, batch_id: i64) -> Result<Vec<i64>, DbError> {
    use crate::db::schema::contract_versions;
    Ok(contract_versions::table
        .filter(contract_versions::batch_id.eq(batch_id))
        .select(contract_versions::contract_id)
        .distinct()
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------
// Records: the dictionary of repeated texts, plans, and explanations read back.

/// Gives numbers to the texts records repeat (reasons, register names, load times, short
/// evidence texts), each stored once in `assessment_texts`.
///
/// Only scoring writes the dictionary, and scoring takes turns (`scoring::with_turn`: one
/// run at a time, across instances on PostgreSQL), so the one `TextIds` of a run reads the
/// whole dictionary when it begins, numbers new texts itself, counting on from the largest
/// id, and inserts them with [`flush`](Self::flush) in each write transaction that uses them:
/// one query per chunk instead of a look-up per text. A run whose transaction fails stops
/// there (it never reuses a number that was rolled back).
pub struct TextIds {
    /// Looked up for every text of every assessment: a faster hash than std's SipHash
    /// (still seeded at random, so a crafted register cannot make it slow).
    known: HashMap<String, u64, foldhash::fast::RandomState>,
    next: u64,
    pending: Vec<(i64, String)>,
    /// Numbers of texts made from the same inputs ([`record::Interner::intern_made`]).
    made: record::MadeTexts,
}

impl TextIds {
    /// The dictionary as stored (call in the scoring turn).
    pub fn load(conn: &mut DbConn) -> Result<TextIds, DbError> {
        let rows: Vec<(i64, String)> = assessment_texts::table
            .select((assessment_texts::id, assessment_texts::text))
            .load(conn)?;
        let next = rows.iter().map(|r| r.0).max().unwrap_or(0) + 1;
        Ok(TextIds {
            known: rows.into_iter().map(|(id, text)| (text, id as u64)).collect(),
            next: next as u64,
            pending: Vec::new(),
            made: record::MadeTexts::default(),
        })
    }

    /// The number of `text`, new ones waiting for [`flush`](Self::flush).
    pub fn id(&mut self, text: &str) -> u64 {
        if let Some(&id) = self.known.get(text) {
            return id;
        }
        let id = self.next;
        self.next += 1;
        self.known.insert(text.to_owned(), id);
        self.pending.push((id as i64, text.to_owned()));
        id
    }

    /// Stores the texts numbered since the last flush; inside the write transaction that
    /// stores the records using them.
    pub fn flush(&mut self, conn: &mut DbConn) -> Result<(), DbError> {
        insert_texts(conn, &self.take_new())
    }

    /// The texts numbered since the last flush or take, for [`insert_texts`] elsewhere (a
    /// record made on one thread and stored on another carries its new texts with it).
    pub fn take_new(&mut self) -> Vec<(i64, String)> {
        std::mem::take(&mut self.pending)
    }
}

/// Stores numbered texts ([`TextIds::take_new`]); in the write transaction that stores the
/// records using them, or an earlier one.
pub fn insert_texts(conn: &mut DbConn, texts: &[(i64, String)]) -> Result<(), DbError> {
    for chunk in texts.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(id, text)| (assessment_texts::id.eq(*id), assessment_texts::text.eq(text)))
            .collect();
        insert_rows!(conn, assessment_texts::table, values);
    }
    Ok(())
}

impl record::Interner for TextIds {
    fn intern(&mut self, text: &str) -> u64 {
        self.id(text)
    }

    fn intern_made(&mut self, key: &[u8], make: &mut dyn FnMut() -> String) -> u64 {
        let mut made = std::mem::take(&mut self.made);
        let id = made.get_or_make(key, make, |text| self.id(text));
        self.made = made;
        id
    }
}

/// Reads stored explanations back, old (JSON) and new (records) alike, keeping the plans
/// and texts it has loaded. One per request or per list.
#[derive(Default)]
pub struct ExplanationReader {
    plans: HashMap<String, std::sync::Arc<Plan>>,
    texts: HashMap<u64, String>,
}

impl ExplanationReader {
    pub fn new() -> ExplanationReader {
        ExplanationReader::default()
    }

    fn plan(&mut self, conn: &mut DbConn, version: &str) -> Result<std::sync::Arc<Plan>, DbError> {
        if let Some(p) = self.plans.get(version) {
            return Ok(std::sync::Arc::clone(p));
        }
        let json: Option<Option<String>> = rule_sets::table
            .filter(rule_sets::version.eq(version))
            .select(rule_sets::plan)
            .first(conn)
            .optional()?;
        let json = json
            .flatten()
            .ok_or_else(|| DbError::Corrupt(format!("rule set {version} has no stored plan")))?;
        let plan: Plan = serde_json::from_str(&json)
            .map_err(|e| DbError::Corrupt(format!("the plan of rule set {version}: {e}")))?;
        let plan = std::sync::Arc::new(plan);
        self.plans
            .insert(version.to_owned(), std::sync::Arc::clone(&plan));
        Ok(plan)
    }

    /// Loads the texts a record refers to that are not loaded yet (one query per call; the
    /// dictionary is small and the same texts recur, so after the first record most calls
    /// find everything here).
    fn load_texts(&mut self, conn: &mut DbConn, plan: &Plan, bytes: &[u8]) -> Result<(), DbError> {
        let wanted: Vec<i64> = record::text_ids(plan, bytes)
            .map_err(|e| DbError::Corrupt(e.to_string()))?
            .into_iter()
            .filter(|id| !self.texts.contains_key(id))
            .filter_map(|id| i64::try_from(id).ok())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let found: Vec<(i64, String)> = assessment_texts::table
            .filter(assessment_texts::id.eq_any(&wanted))
            .select((assessment_texts::id, assessment_texts::text))
            .load(conn)?;
        for (id, text) in found {
            self.texts.insert(id as u64, text);
        }
        Ok(())
    }

    /// The stored explanation of an assessment: its record read with its rule set's plan,
    /// or the JSON stored before records existed. `industries` is the row's column.
    pub fn explanation(
        &mut self,
        conn: &mut DbConn,
        id: i64,
        rule_set_version: &str,
        industries: &str,
        explanation: &str,
        record_bytes: Option<&[u8]>,
    ) -> Result<StoredExplanation, DbError> {
        let corrupt = |e: String| DbError::Corrupt(format!("assessment {id}: unreadable explanation: {e}"));
        let Some(bytes) = record_bytes else {
            return serde_json::from_str(explanation).map_err(|e| corrupt(e.to_string()));
        };
        let plan = self.plan(conn, rule_set_version)?;
        self.load_texts(conn, &plan, bytes)?;
        let industries = industries
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        record::decode(&plan, bytes, industries, &self.texts).map_err(|e| corrupt(e.to_string()))
    }

    /// The ids of the indicators that fired (for lists and mail), without the rest.
    pub fn fired_rules(
        &mut self,
        conn: &mut DbConn,
        rule_set_version: Option<&str>,
        explanation: Option<&str>,
        record_bytes: Option<&[u8]>,
    ) -> Result<Vec<String>, DbError> {
        match (record_bytes, rule_set_version) {
            (Some(bytes), Some(version)) => {
                let plan = self.plan(conn, version)?;
                Ok(record::fired(&plan, bytes)
                    .map_err(|e| DbError::Corrupt(e.to_string()))?
                    .map(str::to_owned)
                    .collect())
            }
            _ => Ok(legacy_fired(explanation)),
        }
    }
}

/// The fired indicators of an explanation stored as JSON (before records): tolerant, as
/// the mail's lists always read it (anything unreadable is no fired indicators).
fn legacy_fired(explanation: Option<&str>) -> Vec<String> {
    let Some(v) = explanation.and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok()) else {
        return Vec::new();
    };
    v.get("fired")
        .and_then(|f| f.as_array())
        .map(|fired| {
            fired
                .iter()
                .filter_map(|f| f.get("rule").and_then(|r| r.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::legacy_fired;

    #[test]
    fn fired_rules_are_read_from_an_explanation_stored_as_json() {
        let e = r#"{"industries":["renhold"],"fired":[{"rule":"a","weight":3},{"rule":"b"}],"not_computable":[]}"#;
        assert_eq!(legacy_fired(Some(e)), ["a", "b"]);
        assert!(legacy_fired(Some("[]")).is_empty());
        assert!(legacy_fired(None).is_empty());
    }
}

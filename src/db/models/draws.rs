//! Storage of verifiable draws: the draw record, its manifest exactly as hashed, one plan per
//! round, the picks, and what a published round sets off (cases and outbox messages).
//!
//! The draw tables are append-only (SQL triggers refuse UPDATE and DELETE; this module has no
//! function that changes a stored draw). Writers call these inside [`crate::db::write_tx`];
//! the application logic that decides *what* to store lives in `crate::service::draws`.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::max;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::cached_insert::insert_rows;
use crate::db::schema::{
    assessments, cases, contract_risk, contracts, draw_manifests, draw_picks, draw_rounds, draws,
};
use crate::db::{DbConn, DbError};

/// Rows per multi-row INSERT (≤ 11 columns each stays far below both backends' bind limits).
const CHUNK: usize = 1000;

/// One contract of the population, with its latest risk assessment if it has one.
#[derive(Debug, Clone, Queryable)]
pub struct PopulationRow {
    pub contract_id: i64,
    pub contract_no: String,
    pub score: Option<i32>,
    pub tier: Option<String>,
    pub industries: Option<String>,
    pub rule_set_version: Option<String>,
}

/// Contracts active at some time in [from, to] (open ends and missing dates count as active)
/// in one of `units` (all units when empty), with their risk rows.
pub fn population_rows(
    conn: &mut DbConn,
    active_from: Option<NaiveDate>,
    active_to: Option<NaiveDate>,
    units: &[String],
) -> Result<Vec<PopulationRow>, DbError> {
    let mut q = contracts::table
        .left_join(contract_risk::table)
        .left_join(assessed_by())
        .filter(crate::contract_shown!())
        .into_boxed();
    if let Some(to) = active_to {
        q = q.filter(contracts::start_date.is_null().or(contracts::start_date.le(to)));
    }
    if let Some(from) = active_from {
        q = q.filter(contracts::end_date.is_null().or(contracts::end_date.ge(from)));
    }
    if !units.is_empty() {
        q = q.filter(contracts::unit.eq_any(units.to_vec()));
    }
    Ok(q.select(population_columns()).load(conn)?)
}

/// The contracts with these canonical ids (those that exist), with their risk rows.
pub fn population_rows_by_no(conn: &mut DbConn, nos: &[String]) -> Result<Vec<PopulationRow>, DbError> {
    let mut out = Vec::new();
    for chunk in nos.chunks(CHUNK) {
        let rows: Vec<PopulationRow> = contracts::table
            .left_join(contract_risk::table)
            .left_join(assessed_by())
            .filter(contracts::contract_no.eq_any(chunk.to_vec()))
            .filter(crate::contract_shown!())
            .select(population_columns())
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The assessment a contract's risk row points at, for its rule-set version (the index
/// keeps none of its own, migration 000020).
#[allow(clippy::type_complexity)]
fn assessed_by()
-> diesel::dsl::On<assessments::table, diesel::dsl::Eq<assessments::id, contract_risk::assessment_id>> {
    assessments::table.on(assessments::id.eq(contract_risk::assessment_id))
}

#[allow(clippy::type_complexity)]
fn population_columns() -> (
    contracts::id,
    contracts::contract_no,
    diesel::dsl::Nullable<contract_risk::score>,
    diesel::dsl::Nullable<contract_risk::tier>,
    diesel::dsl::Nullable<contract_risk::industries>,
    diesel::dsl::Nullable<assessments::rule_set_version>,
) {
    (
        contracts::id,
        contracts::contract_no,
        contract_risk::score.nullable(),
        contract_risk::tier.nullable(),
        contract_risk::industries.nullable(),
        assessments::rule_set_version.nullable(),
    )
}

/// Contracts checked at or after `since`: drawn then (publication or extension), or with a
/// case closed then.
pub fn recently_drawn_contracts(conn: &mut DbConn, since: NaiveDateTime) -> Result<HashSet<i64>, DbError> {
    use crate::db::schema::case_events;
    let drawn: Vec<i64> = cases::table
        .filter(cases::source.eq("draw"))
        .filter(cases::created_at.ge(since))
        .select(cases::contract_id)
        .distinct()
        .load(conn)?;
    // Checked: a case on the contract (drawn or flagged) was closed, confirmed by a second
    // person, since then; a case reopened afterwards counts from its next closing.
    let closed: Vec<i64> = cases::table
        .filter(cases::status.eq("lukket"))
        .filter(
            cases::id.eq_any(
                case_events::table
                    .filter(case_events::kind.eq("close_confirmed"))
                    .filter(case_events::at.ge(since))
                    .select(case_events::case_id),
            ),
        )
        .select(cases::contract_id)
        .distinct()
        .load(conn)?;
    Ok(drawn.into_iter().chain(closed).collect())
}

/// A stored draw record (without manifest text and picks).
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = draws)]
pub struct DrawRow {
    pub id: i64,
    pub algorithm: String,
    pub seed: String,
    pub seed_source: String,
    pub manifest_sha256: String,
    pub population_size: i64,
    pub total_weight: i64,
    pub strata_mode: String,
    pub allocation: String,
    pub uniform_share_per_mille: i32,
    pub min_per_stratum: i64,
    /// JSON: how the size was chosen.
    pub sizing: String,
    /// JSON: the population filter.
    pub filter: String,
    /// JSON: the strata with their sizes and risk mass.
    pub strata: String,
    pub weight_rule: String,
    pub created_by_user_id: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// What [`insert_draw`] stores (the id is assigned by the database).
pub struct NewDraw<'a> {
    pub algorithm: &'a str,
    pub seed: &'a str,
    pub seed_source: &'a str,
    pub manifest_sha256: &'a str,
    pub manifest_text: &'a str,
    pub population_size: i64,
    pub total_weight: i64,
    pub strata_mode: &'a str,
    pub allocation: &'a str,
    pub uniform_share_per_mille: i32,
    pub min_per_stratum: i64,
    pub sizing: &'a str,
    pub filter: &'a str,
    pub strata: &'a str,
    pub weight_rule: &'a str,
    pub created_by_user_id: i64,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
}

/// Inserts the draw and its manifest; returns the new id. Must run inside `write_tx`, which
/// serialises writers, so the largest id is the one just inserted (MultiConnection has no
/// RETURNING).
pub fn insert_draw(conn: &mut DbConn, d: &NewDraw<'_>) -> Result<i64, DbError> {
    diesel::insert_into(draws::table)
        .values((
            (
                draws::algorithm.eq(d.algorithm),
                draws::seed.eq(d.seed),
                draws::seed_source.eq(d.seed_source),
                draws::manifest_sha256.eq(d.manifest_sha256),
                draws::population_size.eq(d.population_size),
                draws::total_weight.eq(d.total_weight),
                draws::strata_mode.eq(d.strata_mode),
                draws::allocation.eq(d.allocation),
                draws::uniform_share_per_mille.eq(d.uniform_share_per_mille),
            ),
            (
                draws::min_per_stratum.eq(d.min_per_stratum),
                draws::sizing.eq(d.sizing),
                draws::filter.eq(d.filter),
                draws::strata.eq(d.strata),
                draws::weight_rule.eq(d.weight_rule),
                draws::created_by_user_id.eq(d.created_by_user_id),
                draws::created_by.eq(d.created_by),
                draws::created_at.eq(d.created_at),
            ),
        ))
        .execute(conn)?;
    let id: i64 = draws::table
        .select(max(draws::id))
        .first::<Option<i64>>(conn)?
        .ok_or_else(|| DbError::NotFound(crate::db::Missing::Stored("draw")))?;
    diesel::insert_into(draw_manifests::table)
        .values((
            draw_manifests::draw_id.eq(id),
            draw_manifests::sha256.eq(d.manifest_sha256),
            draw_manifests::bytes.eq(d.manifest_text.len() as i64),
            draw_manifests::text.eq(d.manifest_text),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn find_draw(conn: &mut DbConn, id: i64) -> Result<Option<DrawRow>, DbError> {
    Ok(draws::table
        .find(id)
        .select(DrawRow::as_select())
        .first(conn)
        .optional()?)
}

/// Draws, newest first.
pub fn list_draws(conn: &mut DbConn, limit: i64) -> Result<Vec<DrawRow>, DbError> {
    Ok(draws::table
        .order(draws::id.desc())
        .limit(limit)
        .select(DrawRow::as_select())
        .load(conn)?)
}

/// The manifest text exactly as it was hashed.
pub fn manifest_text(conn: &mut DbConn, draw_id: i64) -> Result<Option<String>, DbError> {
    Ok(draw_manifests::table
        .find(draw_id)
        .select(draw_manifests::text)
        .first(conn)
        .optional()?)
}

/// One round: the original draw (round 1) or an extension.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = draw_rounds)]
pub struct RoundRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub draw_id: i64,
    pub round: i32,
    /// JSON of `sampling::DrawPlan`.
    #[serde(skip)]
    pub plan: String,
    pub size_requested: i64,
    pub picks_made: i64,
    pub first_position: i64,
    #[serde(skip)]
    pub created_by_user_id: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub struct NewRound<'a> {
    pub draw_id: i64,
    pub round: i32,
    pub plan: &'a str,
    pub size_requested: i64,
    pub picks_made: i64,
    pub first_position: i64,
    pub created_by_user_id: i64,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert_round(conn: &mut DbConn, r: &NewRound<'_>) -> Result<(), DbError> {
    diesel::insert_into(draw_rounds::table)
        .values((
            draw_rounds::draw_id.eq(r.draw_id),
            draw_rounds::round.eq(r.round),
            draw_rounds::plan.eq(r.plan),
            draw_rounds::size_requested.eq(r.size_requested),
            draw_rounds::picks_made.eq(r.picks_made),
            draw_rounds::first_position.eq(r.first_position),
            draw_rounds::created_by_user_id.eq(r.created_by_user_id),
            draw_rounds::created_by.eq(r.created_by),
            draw_rounds::created_at.eq(r.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The rounds of a draw, in order.
pub fn rounds(conn: &mut DbConn, draw_id: i64) -> Result<Vec<RoundRow>, DbError> {
    Ok(draw_rounds::table
        .filter(draw_rounds::draw_id.eq(draw_id))
        .order(draw_rounds::round.asc())
        .select(RoundRow::as_select())
        .load(conn)?)
}

/// A stored pick.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = draw_picks)]
pub struct PickRow {
    pub id: i64,
    pub draw_id: i64,
    pub round: i32,
    pub position: i64,
    pub stratum: String,
    pub contract_id: i64,
    pub contract_no: String,
    pub part: String,
    pub counter: Option<i64>,
    pub ticket: Option<String>,
}

/// A pick to store.
pub struct NewPick<'a> {
    pub position: i64,
    pub stratum: &'a str,
    pub contract_id: i64,
    pub contract_no: &'a str,
    pub part: &'static str,
    pub counter: Option<i64>,
    pub ticket: Option<&'a str>,
}

/// Inserts one round's picks and returns them as stored (with their ids), in position order.
pub fn insert_picks(
    conn: &mut DbConn,
    draw_id: i64,
    round: i32,
    picks: &[NewPick<'_>],
) -> Result<Vec<PickRow>, DbError> {
    for chunk in picks.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|p| {
                (
                    draw_picks::draw_id.eq(draw_id),
                    draw_picks::round.eq(round),
                    draw_picks::position.eq(p.position),
                    draw_picks::stratum.eq(p.stratum),
                    draw_picks::contract_id.eq(p.contract_id),
                    draw_picks::contract_no.eq(p.contract_no),
                    draw_picks::part.eq(p.part),
                    draw_picks::counter.eq(p.counter),
                    draw_picks::ticket.eq(p.ticket),
                )
            })
            .collect();
        insert_rows!(&mut *conn, draw_picks::table, values);
    }
    Ok(draw_picks::table
        .filter(draw_picks::draw_id.eq(draw_id))
        .filter(draw_picks::round.eq(round))
        .order(draw_picks::position.asc())
        .select(PickRow::as_select())
        .load(conn)?)
}

/// All picks of a draw, in position order.
pub fn picks(conn: &mut DbConn, draw_id: i64) -> Result<Vec<PickRow>, DbError> {
    Ok(draw_picks::table
        .filter(draw_picks::draw_id.eq(draw_id))
        .order(draw_picks::position.asc())
        .select(PickRow::as_select())
        .load(conn)?)
}

/// Opens a case (status `ny`) for each pick; returns how many were opened.
pub fn open_cases_for_picks(
    conn: &mut DbConn,
    draw_id: i64,
    picks: &[PickRow],
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    for chunk in picks.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|p| {
                (
                    cases::contract_id.eq(p.contract_id),
                    cases::source.eq("draw"),
                    cases::draw_id.eq(Some(draw_id)),
                    cases::pick_id.eq(Some(p.id)),
                    cases::part.eq(Some(p.part.as_str())),
                    cases::stratum.eq(Some(p.stratum.as_str())),
                    cases::status.eq("ny"),
                    cases::created_at.eq(at),
                    cases::updated_at.eq(at),
                )
            })
            .collect();
        insert_rows!(&mut *conn, cases::table, values);
    }
    Ok(picks.len())
}

/// A case as the draw report shows it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: i64,
    pub contract_id: i64,
    pub source: String,
    pub draw_id: Option<i64>,
    pub pick_id: Option<i64>,
    pub part: Option<String>,
    pub stratum: Option<String>,
    pub status: String,
    pub outcome: Option<String>,
    pub assigned_to: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn cases_of_draw(conn: &mut DbConn, draw_id: i64) -> Result<Vec<CaseRow>, DbError> {
    Ok(cases::table
        .filter(cases::draw_id.eq(draw_id))
        .order(cases::id.asc())
        .select(CaseRow::as_select())
        .load(conn)?)
}

/// Contract ids by canonical id (contract number), for the given numbers.
pub fn contract_ids_by_no(
    conn: &mut DbConn,
    nos: &[&str],
) -> Result<std::collections::HashMap<String, i64>, DbError> {
    let mut out = std::collections::HashMap::with_capacity(nos.len());
    for chunk in nos.chunks(CHUNK) {
        let rows: Vec<(String, i64)> = contracts::table
            .filter(contracts::contract_no.eq_any(chunk.to_vec()))
            .filter(crate::contract_shown!())
            .select((contracts::contract_no, contracts::id))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Number of picks of a draw.
pub fn pick_count(conn: &mut DbConn, draw_id: i64) -> Result<i64, DbError> {
    Ok(draw_picks::table
        .filter(draw_picks::draw_id.eq(draw_id))
        .count()
        .get_result(conn)?)
}

/// The audit entries about a draw (publication and extensions), in chain order:
/// `(action, detail JSON)`.
pub fn audit_entries(conn: &mut DbConn, draw_id: i64) -> Result<Vec<(String, String)>, DbError> {
    use crate::db::schema::audit_log;
    Ok(audit_log::table
        .filter(audit_log::object_type.eq("draw"))
        .filter(audit_log::object_id.eq(draw_id.to_string()))
        .order(audit_log::id.asc())
        .select((audit_log::action, audit_log::detail))
        .load(conn)?)
}

/// How many draws are stored.
pub fn count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(draws::table.count().get_result(conn)?)
}

/// Picks per draw and part (`weighted`, `uniform`) for the draws `ids`: `(draw_id, part, n)`.
/// One grouped query, for lists of draws.
pub fn part_counts(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<(i64, String, i64)>, DbError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, i64)> = draw_picks::table
            .filter(draw_picks::draw_id.eq_any(chunk))
            .group_by((draw_picks::draw_id, draw_picks::part))
            .select((draw_picks::draw_id, draw_picks::part, diesel::dsl::count_star()))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

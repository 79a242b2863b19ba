//! What the mail to the liaisons is made of: contracts with their current risk, draws and
//! open cases of a period. Queries only (`service::notices` decides who is told what).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::assessments::ExplanationReader;
use crate::db::schema::{assessments, cases, contract_risk, contracts, draw_rounds};
use crate::db::{DbConn, DbError};

/// A contract with its current assessment, if it has one.
#[derive(Debug, Clone)]
pub struct LineRow {
    pub contract_id: i64,
    pub contract_no: String,
    pub title: Option<String>,
    pub supplier_name: String,
    pub orgnr: String,
    pub unit: Option<String>,
    pub value_ore: Option<i64>,
    pub score: Option<i32>,
    pub tier: Option<String>,
    /// `,renhold,bygg_anlegg,` as stored.
    pub industries: Option<String>,
    /// The ids of the indicators that fired, from the stored assessment.
    pub fired: Vec<String>,
}

type LineColumns = (
    (
        i64,
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<i64>,
    ),
    (Option<i32>, Option<String>, Option<String>),
    (Option<String>, Option<String>, Option<Vec<u8>>),
);

/// The contracts `ids` with their current assessments, in id order.
pub fn contract_lines(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<LineRow>, DbError> {
    let mut out = Vec::with_capacity(ids.len());
    let mut reader = ExplanationReader::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<LineColumns> = contracts::table
            .left_join(contract_risk::table.left_join(assessments::table))
            .filter(contracts::id.eq_any(chunk))
            .filter(crate::contract_shown!())
            .order(contracts::id.asc())
            .select((
                (
                    contracts::id,
                    contracts::contract_no,
                    contracts::title,
                    contracts::supplier_name,
                    contracts::orgnr,
                    contracts::unit,
                    contracts::value_ore,
                ),
                (
                    contract_risk::score.nullable(),
                    contract_risk::tier.nullable(),
                    contract_risk::industries.nullable(),
                ),
                (
                    assessments::rule_set_version.nullable(),
                    assessments::explanation.nullable(),
                    assessments::record.nullable(),
                ),
            ))
            .load(conn)?;
        for (
            (contract_id, contract_no, title, supplier_name, orgnr, unit, value_ore),
            (score, tier, industries),
            (version, explanation, record),
        ) in rows
        {
            let fired = reader.fired_rules(
                conn,
                version.as_deref(),
                explanation.as_deref(),
                record.as_deref(),
            )?;
            out.push(LineRow {
                contract_id,
                contract_no,
                title,
                supplier_name,
                orgnr,
                unit,
                value_ore,
                score,
                tier,
                industries,
                fired,
            });
        }
    }
    out.sort_by_key(|r| r.contract_id);
    Ok(out)
}

/// Rounds of draws stored in `[from, to)`: (draw id, round, stored at, picks).
pub fn rounds_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(i64, i32, NaiveDateTime, i64)>, DbError> {
    Ok(draw_rounds::table
        .filter(draw_rounds::created_at.ge(from))
        .filter(draw_rounds::created_at.lt(to))
        .order((draw_rounds::draw_id.asc(), draw_rounds::round.asc()))
        .select((
            draw_rounds::draw_id,
            draw_rounds::round,
            draw_rounds::created_at,
            draw_rounds::picks_made,
        ))
        .load(conn)?)
}

/// Contracts per (tier, industries as stored).
pub fn risk_counts(conn: &mut DbConn) -> Result<Vec<(String, String, i64)>, DbError> {
    Ok(contract_risk::table
        .inner_join(contracts::table)
        .filter(crate::contract_shown!())
        .group_by((contract_risk::tier, contract_risk::industries))
        .select((
            contract_risk::tier,
            contract_risk::industries,
            diesel::dsl::count_star(),
        ))
        .load(conn)?)
}

/// Cases not closed, per the industries of their contract (as stored; `None`: unscored).
pub fn open_cases_by_industries(conn: &mut DbConn) -> Result<Vec<(Option<String>, i64)>, DbError> {
    Ok(cases::table
        .left_join(contract_risk::table.on(contract_risk::contract_id.eq(cases::contract_id)))
        .filter(cases::status.ne("lukket"))
        .group_by(contract_risk::industries)
        .select((contract_risk::industries.nullable(), diesel::dsl::count_star()))
        .load(conn)?)
}

/// Contracts now in `tier` whose current assessment was made in `[from, to)`.
pub fn in_tier_assessed_between(
    conn: &mut DbConn,
    tier: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<i64>, DbError> {
    Ok(contract_risk::table
        .inner_join(contracts::table)
        .filter(crate::contract_shown!())
        .filter(contract_risk::tier.eq(tier))
        .filter(contract_risk::assessed_at.ge(from))
        .filter(contract_risk::assessed_at.lt(to))
        .order(contract_risk::contract_id.asc())
        .select(contract_risk::contract_id)
        .limit(500)
        .load(conn)?)
}

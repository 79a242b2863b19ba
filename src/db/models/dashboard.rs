//! Counts for the overview page: small grouped queries, each scoped the way the lists they
//! summarise are scoped (an innkjøper's own contracts, an agency's shared cases).

use chrono::NaiveDate;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::db::schema::{case_document_requests, case_shares, cases, contract_risk, contracts};
use crate::db::{DbConn, DbError};

/// A count of contracts: (tier, industries as stored `,a,b,`, count); tier and industries
/// are `None` for contracts not scored yet.
pub type RiskCount = (Option<String>, Option<String>, i64);

/// Contracts by tier and industries.
pub fn risk_counts(conn: &mut DbConn, owner: Option<i64>) -> Result<Vec<RiskCount>, DbError> {
    // Diesel cannot group a boxed query, so each scope is its own statement; contracts not
    // scored yet are the difference between all and the scored ones.
    macro_rules! grouped {
        ($q:expr) => {
            $q.group_by((contract_risk::tier, contract_risk::industries))
                .select((contract_risk::tier, contract_risk::industries, count_star()))
                .load::<(String, String, i64)>(conn)?
        };
    }
    let scored = contracts::table
        .inner_join(contract_risk::table)
        .filter(crate::contract_shown!());
    let all = contracts::table.filter(crate::contract_shown!());
    let (groups, total): (Vec<(String, String, i64)>, i64) = match owner {
        Some(o) => (
            grouped!(scored.filter(contracts::owner_user_id.eq(o))),
            all.filter(contracts::owner_user_id.eq(o))
                .count()
                .get_result(conn)?,
        ),
        None => (grouped!(scored), all.count().get_result(conn)?),
    };
    let scored_total: i64 = groups.iter().map(|g| g.2).sum();
    let mut out: Vec<RiskCount> = groups
        .into_iter()
        .map(|(t, i, n)| (Some(t), Some(i), n))
        .collect();
    if total > scored_total {
        out.push((None, None, total - scored_total));
    }
    Ok(out)
}

/// The ids of the cases shared with `agency`.
fn shared_with(conn: &mut DbConn, agency: &str) -> Result<Vec<i64>, DbError> {
    Ok(case_shares::table
        .filter(case_shares::agency.eq(agency))
        .select(case_shares::case_id)
        .load(conn)?)
}

/// Which cases a count may include.
#[derive(Debug, Clone, Copy)]
pub enum CaseScope<'a> {
    All,
    SharedWith(&'a str),
    OwnedBy(i64),
}

/// Cases by status.
pub fn case_status_counts(conn: &mut DbConn, scope: CaseScope<'_>) -> Result<Vec<(String, i64)>, DbError> {
    macro_rules! grouped {
        ($q:expr) => {
            $q.group_by(cases::status)
                .select((cases::status, count_star()))
                .order(cases::status.asc())
                .load(conn)?
        };
    }
    let base = cases::table.inner_join(contracts::table);
    Ok(match scope {
        CaseScope::All => grouped!(base),
        CaseScope::SharedWith(agency) => grouped!(base.filter(cases::id.eq_any(shared_with(conn, agency)?))),
        CaseScope::OwnedBy(owner) => grouped!(base.filter(contracts::owner_user_id.eq(owner))),
    })
}

/// An open document request with its deadline, for the overview's deadline list.
#[derive(Debug, Clone, Queryable)]
pub struct Deadline {
    pub case_id: i64,
    pub contract_no: String,
    pub supplier_name: String,
    pub documents: String,
    pub deadline: NaiveDate,
}

/// Open document requests on cases not closed with a deadline up to `until`, soonest first.
pub fn open_deadlines(
    conn: &mut DbConn,
    scope: CaseScope<'_>,
    until: NaiveDate,
    limit: i64,
) -> Result<Vec<Deadline>, DbError> {
    let mut q = case_document_requests::table
        .inner_join(cases::table.on(cases::id.eq(case_document_requests::case_id)))
        .inner_join(contracts::table.on(contracts::id.eq(cases::contract_id)))
        .filter(case_document_requests::received_at.is_null())
        .filter(case_document_requests::deadline.le(until))
        .filter(cases::status.ne("lukket"))
        .into_boxed();
    match scope {
        CaseScope::All => {}
        CaseScope::SharedWith(agency) => q = q.filter(cases::id.eq_any(shared_with(conn, agency)?)),
        CaseScope::OwnedBy(owner) => q = q.filter(contracts::owner_user_id.eq(owner)),
    }
    Ok(q.order((case_document_requests::deadline.asc(), cases::id.asc()))
        .limit(limit)
        .select((
            cases::id,
            contracts::contract_no,
            contracts::supplier_name,
            case_document_requests::documents,
            case_document_requests::deadline,
        ))
        .load(conn)?)
}

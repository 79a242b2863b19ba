//! Cases: the current state (`cases`, `case_shares`, `case_close_proposals`) and the
//! append-only history (`case_events`). Queries only; changes run inside the caller's write
//! transaction (`service::cases` applies the workflow rules and writes the audit entry).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Integer, Nullable};
use serde::Serialize;

pub use super::draws::CaseRow;
use crate::db::capped_count::{Total, capped};
use crate::db::schema::{
    assessments, case_close_proposals, case_events, case_shares, cases, contract_risk, contracts, draw_picks,
    users,
};
use crate::db::{DbConn, DbError};
use crate::domain::paging::Paging;

/// Which cases a list shows. Every filter set narrows; `visible_to_*` are the access rules
/// (`domain::case::CaseAccess`), the rest what the person asked for.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only cases shared with this agency (an A-krim partner's view).
    pub visible_to_agency: Option<String>,
    /// Only cases on contracts this user owns (an innkjøper's view).
    pub visible_to_owner: Option<i64>,
    pub status: Option<String>,
    /// Only cases shared with this agency (a filter asked for).
    pub shared_with: Option<String>,
    pub assigned_to: Option<i64>,
    /// Only cases not closed with a document request still open whose deadline is before
    /// this date (the queue's deadline filter; today's date for "overdue").
    pub open_deadline_before: Option<chrono::NaiveDate>,
    /// The order of the list.
    pub order: CaseOrder,
}

/// How a list of cases is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseOrder {
    /// Newest case first (the API's order).
    #[default]
    Newest,
    /// The work queue: cases not closed first, then by the nearest open document deadline
    /// (cases without one after), then newest first.
    Queue,
}

/// The earliest deadline of the document requests still open on the case in the row.
/// Raw SQL, the same on both backends: a correlated subquery diesel's DSL cannot join here.
const NEXT_DEADLINE_SQL: &str = "(SELECT MIN(d.deadline) FROM case_document_requests d \
     WHERE d.case_id = cases.id AND d.received_at IS NULL)";

/// A case in a list: the case and the contract it is about, with its current risk.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct CaseListRow {
    pub id: i64,
    pub status: String,
    pub outcome: Option<String>,
    pub source: String,
    pub draw_id: Option<i64>,
    pub assigned_to: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub contract_id: i64,
    pub contract_no: String,
    pub supplier_name: String,
    pub orgnr: String,
    pub owner_user_id: i64,
    pub score: Option<i32>,
    pub tier: Option<String>,
    /// The earliest deadline of the document requests still open.
    pub next_deadline: Option<chrono::NaiveDate>,
}

/// One page of cases, in the order `f.order` asks for, with the count (stopped at
/// [`COUNT_CAP`](crate::domain::paging::COUNT_CAP)) and whether more rows follow. Newest
/// first may continue after a case id (keyset: `cases.id < after`, the primary key) instead
/// of skipping `paging`'s offset.
pub fn list(
    conn: &mut DbConn,
    f: &CaseFilter,
    paging: &Paging,
    after: Option<i64>,
) -> Result<(Total, Vec<CaseListRow>, bool), DbError> {
    let build = || {
        let mut q = cases::table
            .inner_join(contracts::table)
            .left_join(contract_risk::table.on(contract_risk::contract_id.eq(cases::contract_id)))
            .into_boxed();
        for agency in [&f.visible_to_agency, &f.shared_with].into_iter().flatten() {
            q = q.filter(
                cases::id.eq_any(
                    case_shares::table
                        .filter(case_shares::agency.eq(agency.clone()))
                        .select(case_shares::case_id),
                ),
            );
        }
        if let Some(owner) = f.visible_to_owner {
            q = q.filter(contracts::owner_user_id.eq(owner));
        }
        if let Some(s) = &f.status {
            q = q.filter(cases::status.eq(s.clone()));
        }
        if let Some(u) = f.assigned_to {
            q = q.filter(cases::assigned_to.eq(u));
        }
        if let Some(before) = f.open_deadline_before {
            q = q.filter(cases::status.ne("lukket")).filter(
                sql::<Bool>(
                    "cases.id IN (SELECT d.case_id FROM case_document_requests d \
                     WHERE d.received_at IS NULL AND d.deadline < ",
                )
                .bind::<Date, _>(before)
                .sql(")"),
            );
        }
        q
    };
    let total = capped(build().select(cases::id)).total(conn)?;
    let ordered = match f.order {
        CaseOrder::Newest => match after {
            Some(id) => build().filter(cases::id.lt(id)).order(cases::id.desc()),
            None => build().order(cases::id.desc()),
        },
        CaseOrder::Queue => build().order(sql::<Integer>(&format!(
            "CASE WHEN cases.status = 'lukket' THEN 1 ELSE 0 END, \
             CASE WHEN {NEXT_DEADLINE_SQL} IS NULL THEN 1 ELSE 0 END, {NEXT_DEADLINE_SQL}, cases.id DESC"
        ))),
    };
    let offset = if after.is_some() { 0 } else { paging.offset() };
    let mut rows = ordered
        .limit(paging.limit() + 1)
        .offset(offset)
        .select((
            cases::id,
            cases::status,
            cases::outcome,
            cases::source,
            cases::draw_id,
            cases::assigned_to,
            cases::created_at,
            cases::updated_at,
            contracts::id,
            contracts::contract_no,
            contracts::supplier_name,
            contracts::orgnr,
            contracts::owner_user_id,
            contract_risk::score.nullable(),
            contract_risk::tier.nullable(),
            sql::<Nullable<Date>>(NEXT_DEADLINE_SQL),
        ))
        .load::<CaseListRow>(conn)?;
    let more = rows.len() as i64 > paging.limit();
    rows.truncate(usize::try_from(paging.limit()).unwrap_or(0));
    Ok((total, rows, more))
}

/// The case `id`, whoever may see it.
pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<CaseRow>, DbError> {
    Ok(cases::table
        .filter(cases::id.eq(id))
        .select(CaseRow::as_select())
        .first(conn)
        .optional()?)
}

/// The contract behind a case, as a reviewer needs it.
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct CaseContract {
    pub id: i64,
    pub contract_no: String,
    pub title: Option<String>,
    pub supplier_name: String,
    pub orgnr: String,
    pub value_ore: Option<i64>,
    pub unit: Option<String>,
    #[serde(skip)]
    pub owner_user_id: i64,
}

pub fn contract(conn: &mut DbConn, contract_id: i64) -> Result<Option<CaseContract>, DbError> {
    Ok(contracts::table
        .filter(contracts::id.eq(contract_id))
        .select((
            contracts::id,
            contracts::contract_no,
            contracts::title,
            contracts::supplier_name,
            contracts::orgnr,
            contracts::value_ore,
            contracts::unit,
            contracts::owner_user_id,
        ))
        .first(conn)
        .optional()?)
}

/// The current risk of a contract (the latest assessment).
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct CaseRisk {
    pub score: i32,
    pub max_possible_score: i32,
    pub tier: String,
    /// As stored: `,a,b,`.
    #[serde(skip)]
    pub industries: String,
    pub rule_set_version: String,
    pub assessed_at: NaiveDateTime,
}

pub fn risk(conn: &mut DbConn, contract_id: i64) -> Result<Option<CaseRisk>, DbError> {
    // The rule-set version is the assessment's (the index keeps none of its own).
    Ok(contract_risk::table
        .inner_join(assessments::table)
        .filter(contract_risk::contract_id.eq(contract_id))
        .select((
            contract_risk::score,
            contract_risk::max_possible_score,
            contract_risk::tier,
            contract_risk::industries,
            assessments::rule_set_version,
            contract_risk::assessed_at,
        ))
        .first(conn)
        .optional()?)
}

/// The industries (as stored, `,a,b,`) of each contract that has a current risk row.
pub fn industries_of(conn: &mut DbConn, contract_ids: &[i64]) -> Result<HashMap<i64, String>, DbError> {
    let mut out = HashMap::with_capacity(contract_ids.len());
    for chunk in contract_ids.chunks(500) {
        let rows: Vec<(i64, String)> = contract_risk::table
            .filter(contract_risk::contract_id.eq_any(chunk.to_vec()))
            .select((contract_risk::contract_id, contract_risk::industries))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Where in its draw a pick is: (round, position).
pub fn pick_place(conn: &mut DbConn, pick_id: i64) -> Result<Option<(i32, i64)>, DbError> {
    Ok(draw_picks::table
        .filter(draw_picks::id.eq(pick_id))
        .select((draw_picks::round, draw_picks::position))
        .first(conn)
        .optional()?)
}

/// One agency a case is shared with.
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct ShareRow {
    pub agency: String,
    pub created_at: NaiveDateTime,
}

/// The agencies case `id` is shared with, by name.
pub fn shares(conn: &mut DbConn, id: i64) -> Result<Vec<ShareRow>, DbError> {
    Ok(case_shares::table
        .filter(case_shares::case_id.eq(id))
        .order(case_shares::agency.asc())
        .select((case_shares::agency, case_shares::created_at))
        .load(conn)?)
}

/// Shares case `id` with `agency`; false when it was shared already.
pub fn insert_share(conn: &mut DbConn, id: i64, agency: &str, at: NaiveDateTime) -> Result<bool, DbError> {
    let exists: i64 = case_shares::table
        .filter(case_shares::case_id.eq(id))
        .filter(case_shares::agency.eq(agency))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(case_shares::table)
        .values((
            case_shares::case_id.eq(id),
            case_shares::agency.eq(agency),
            case_shares::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Stops sharing case `id` with `agency`; false when it was not shared.
pub fn delete_share(conn: &mut DbConn, id: i64, agency: &str) -> Result<bool, DbError> {
    let n = diesel::delete(
        case_shares::table
            .filter(case_shares::case_id.eq(id))
            .filter(case_shares::agency.eq(agency)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// The pending close proposal of a case.
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct ProposalRow {
    pub outcome: String,
    #[serde(skip)]
    pub proposed_by_user_id: i64,
    pub proposed_by: String,
    pub proposed_at: NaiveDateTime,
}

pub fn proposal(conn: &mut DbConn, id: i64) -> Result<Option<ProposalRow>, DbError> {
    Ok(case_close_proposals::table
        .inner_join(users::table.on(users::id.eq(case_close_proposals::proposed_by_user_id)))
        .filter(case_close_proposals::case_id.eq(id))
        .select((
            case_close_proposals::outcome,
            case_close_proposals::proposed_by_user_id,
            users::username,
            case_close_proposals::proposed_at,
        ))
        .first(conn)
        .optional()?)
}

pub fn insert_proposal(
    conn: &mut DbConn,
    id: i64,
    outcome: &str,
    by: i64,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(case_close_proposals::table)
        .values((
            case_close_proposals::case_id.eq(id),
            case_close_proposals::outcome.eq(outcome),
            case_close_proposals::proposed_by_user_id.eq(by),
            case_close_proposals::proposed_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_proposal(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    diesel::delete(case_close_proposals::table.filter(case_close_proposals::case_id.eq(id))).execute(conn)?;
    Ok(())
}

/// Sets the current status and outcome of case `id`.
pub fn set_state(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    outcome: Option<&str>,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(cases::table.filter(cases::id.eq(id)))
        .set((
            cases::status.eq(status),
            cases::outcome.eq(outcome),
            cases::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_assignee(conn: &mut DbConn, id: i64, user_id: i64, at: NaiveDateTime) -> Result<(), DbError> {
    diesel::update(cases::table.filter(cases::id.eq(id)))
        .set((cases::assigned_to.eq(Some(user_id)), cases::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// Marks case `id` as changed now (a note, a finding, a share).
pub fn touch(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<(), DbError> {
    diesel::update(cases::table.filter(cases::id.eq(id)))
        .set(cases::updated_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// An event to append.
#[derive(Debug, Clone, Default, Insertable)]
#[diesel(table_name = case_events)]
pub struct NewEvent<'a> {
    pub case_id: i64,
    pub at: NaiveDateTime,
    pub actor_user_id: i64,
    pub kind: &'a str,
    pub status: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub text: Option<&'a str>,
    pub indicator: Option<&'a str>,
    pub result: Option<&'a str>,
    pub agency: Option<&'a str>,
    pub assignee_user_id: Option<i64>,
}

pub fn insert_event(conn: &mut DbConn, e: &NewEvent<'_>) -> Result<(), DbError> {
    diesel::insert_into(case_events::table).values(e).execute(conn)?;
    Ok(())
}

/// Appends many events (one per case shared at publication). One statement per row: a
/// round's cases are few (tens), and this runs once per draw.
pub fn insert_events(conn: &mut DbConn, events: &[NewEvent<'_>]) -> Result<(), DbError> {
    for e in events {
        insert_event(conn, e)?;
    }
    Ok(())
}

/// Shares many cases at once (at publication): `(case_id, agency)` pairs, none stored yet.
pub fn insert_shares(conn: &mut DbConn, pairs: &[(i64, &str)], at: NaiveDateTime) -> Result<(), DbError> {
    for (id, agency) in pairs {
        diesel::insert_into(case_shares::table)
            .values((
                case_shares::case_id.eq(*id),
                case_shares::agency.eq(*agency),
                case_shares::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One event of a case's history, with the names of the people in it.
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct EventRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(skip)]
    pub assignee_user_id: Option<i64>,
}

/// The history of case `id`, oldest first.
pub fn events(conn: &mut DbConn, id: i64) -> Result<Vec<EventRow>, DbError> {
    Ok(case_events::table
        .inner_join(users::table)
        .filter(case_events::case_id.eq(id))
        .order(case_events::id.asc())
        .select((
            case_events::id,
            case_events::at,
            users::username,
            case_events::kind,
            case_events::status,
            case_events::outcome,
            case_events::text,
            case_events::indicator,
            case_events::result,
            case_events::agency,
            case_events::assignee_user_id,
        ))
        .load(conn)?)
}

/// User names by id (for the assignee of a case and of its events).
pub fn usernames(conn: &mut DbConn, ids: &[i64]) -> Result<HashMap<i64, String>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = users::table
        .filter(users::id.eq_any(ids.to_vec()))
        .select((users::id, users::username))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// A drawn contract on an agency's inspection list: its case and place in the draw.
#[derive(Debug, Clone, Queryable)]
pub struct InspectionRow {
    pub case_id: i64,
    pub contract_id: i64,
    pub position: i64,
    pub part: String,
    pub contract_manager: Option<String>,
}

/// The cases of draw `draw_id` shared with `agency`, by position in the draw.
pub fn inspection_rows(conn: &mut DbConn, draw_id: i64, agency: &str) -> Result<Vec<InspectionRow>, DbError> {
    use crate::db::schema::draw_picks;
    Ok(cases::table
        .inner_join(draw_picks::table.on(draw_picks::id.nullable().eq(cases::pick_id)))
        .inner_join(contracts::table.on(contracts::id.eq(cases::contract_id)))
        .filter(cases::draw_id.eq(draw_id))
        .filter(
            cases::id.eq_any(
                case_shares::table
                    .filter(case_shares::agency.eq(agency.to_owned()))
                    .select(case_shares::case_id),
            ),
        )
        .order(draw_picks::position.asc())
        .select((
            cases::id,
            cases::contract_id,
            draw_picks::position,
            draw_picks::part,
            contracts::contract_manager,
        ))
        .load(conn)?)
}

/// A document request as stored.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = crate::db::schema::case_document_requests)]
pub struct DocumentRequestRow {
    pub id: i64,
    pub case_id: i64,
    /// `,lonnsslipper,timelister,`
    pub documents: String,
    pub note: Option<String>,
    pub deadline: chrono::NaiveDate,
    pub requested_by_user_id: i64,
    pub requested_at: NaiveDateTime,
    pub received_at: Option<NaiveDateTime>,
    pub received_by_user_id: Option<i64>,
}

/// Stores a request; returns its id.
pub fn insert_document_request(
    conn: &mut DbConn,
    case_id: i64,
    documents: &str,
    note: Option<&str>,
    deadline: chrono::NaiveDate,
    by: i64,
    at: NaiveDateTime,
) -> Result<i64, DbError> {
    use crate::db::schema::case_document_requests as r;
    diesel::insert_into(r::table)
        .values((
            r::case_id.eq(case_id),
            r::documents.eq(documents),
            r::note.eq(note),
            r::deadline.eq(deadline),
            r::requested_by_user_id.eq(by),
            r::requested_at.eq(at),
        ))
        .execute(conn)?;
    Ok(r::table
        .filter(r::case_id.eq(case_id))
        .order(r::id.desc())
        .select(r::id)
        .first(conn)?)
}

/// The requests of a case, oldest first.
pub fn document_requests(conn: &mut DbConn, case_id: i64) -> Result<Vec<DocumentRequestRow>, DbError> {
    use crate::db::schema::case_document_requests as r;
    Ok(r::table
        .filter(r::case_id.eq(case_id))
        .order(r::id.asc())
        .select(DocumentRequestRow::as_select())
        .load(conn)?)
}

/// Marks request `id` of case `case_id` received; false if there is no such open request.
pub fn mark_document_received(
    conn: &mut DbConn,
    case_id: i64,
    id: i64,
    by: i64,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    use crate::db::schema::case_document_requests as r;
    let n = diesel::update(
        r::table
            .filter(r::id.eq(id))
            .filter(r::case_id.eq(case_id))
            .filter(r::received_at.is_null()),
    )
    .set((r::received_at.eq(Some(at)), r::received_by_user_id.eq(Some(by))))
    .execute(conn)?;
    Ok(n == 1)
}

/// Requests still open whose deadline is before `today`, on cases not closed.
pub fn overdue_document_requests(
    conn: &mut DbConn,
    today: chrono::NaiveDate,
) -> Result<Vec<DocumentRequestRow>, DbError> {
    use crate::db::schema::case_document_requests as r;
    Ok(r::table
        .inner_join(cases::table.on(cases::id.eq(r::case_id)))
        .filter(r::received_at.is_null())
        .filter(r::deadline.lt(today))
        .filter(cases::status.ne("lukket"))
        .order(r::id.asc())
        .select(DocumentRequestRow::as_select())
        .load(conn)?)
}

/// Of `contract_ids`, those that never had a case of source `flag`.
pub fn contracts_without_flag_case(conn: &mut DbConn, contract_ids: &[i64]) -> Result<Vec<i64>, DbError> {
    let mut flagged = std::collections::HashSet::new();
    for chunk in contract_ids.chunks(1000) {
        let found: Vec<i64> = cases::table
            .filter(cases::source.eq("flag"))
            .filter(cases::contract_id.eq_any(chunk))
            .select(cases::contract_id)
            .load(conn)?;
        flagged.extend(found);
    }
    let mut out: Vec<i64> = contract_ids
        .iter()
        .copied()
        .filter(|id| !flagged.contains(id))
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Opens a `flag` case per contract; returns (case id, contract id) pairs.
pub fn open_flag_cases(
    conn: &mut DbConn,
    contract_ids: &[i64],
    at: NaiveDateTime,
) -> Result<Vec<(i64, i64)>, DbError> {
    let mut out = Vec::with_capacity(contract_ids.len());
    for id in contract_ids {
        diesel::insert_into(cases::table)
            .values((
                cases::contract_id.eq(*id),
                cases::source.eq("flag"),
                cases::status.eq("ny"),
                cases::created_at.eq(at),
                cases::updated_at.eq(at),
            ))
            .execute(conn)?;
        let case_id: i64 = cases::table
            .filter(cases::contract_id.eq(*id))
            .filter(cases::source.eq("flag"))
            .select(cases::id)
            .first(conn)?;
        out.push((case_id, *id));
    }
    Ok(out)
}

/// An evidence file as stored (the bytes are under the data folder, named by `sha256`).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = crate::db::schema::case_evidence)]
pub struct EvidenceRow {
    pub id: i64,
    pub case_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by_user_id: i64,
    pub uploaded_at: NaiveDateTime,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_evidence(
    conn: &mut DbConn,
    case_id: i64,
    file_name: &str,
    content_type: &str,
    size_bytes: i64,
    sha256: &str,
    by: i64,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    use crate::db::schema::case_evidence as e;
    diesel::insert_into(e::table)
        .values((
            e::case_id.eq(case_id),
            e::file_name.eq(file_name),
            e::content_type.eq(content_type),
            e::size_bytes.eq(size_bytes),
            e::sha256.eq(sha256),
            e::uploaded_by_user_id.eq(by),
            e::uploaded_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The evidence of a case, oldest first.
pub fn evidence(conn: &mut DbConn, case_id: i64) -> Result<Vec<EvidenceRow>, DbError> {
    use crate::db::schema::case_evidence as e;
    Ok(e::table
        .filter(e::case_id.eq(case_id))
        .order(e::id.asc())
        .select(EvidenceRow::as_select())
        .load(conn)?)
}

/// Evidence `id` of case `case_id`.
pub fn evidence_item(conn: &mut DbConn, case_id: i64, id: i64) -> Result<Option<EvidenceRow>, DbError> {
    use crate::db::schema::case_evidence as e;
    Ok(e::table
        .filter(e::id.eq(id))
        .filter(e::case_id.eq(case_id))
        .select(EvidenceRow::as_select())
        .first(conn)
        .optional()?)
}

/// A case closed (confirmed) in a period, with what the reports group it by.
#[derive(Debug, Clone)]
pub struct ClosedCase {
    pub case_id: i64,
    pub source: String,
    /// `weighted` or `uniform` for a drawn case.
    pub part: Option<String>,
    pub outcome: Option<String>,
    pub closed_at: NaiveDateTime,
    /// The contract's current industries (`,a,b,`) and tier.
    pub industries: Option<String>,
    pub tier: Option<String>,
}

/// (case, source, part, outcome, industries, tier) as loaded.
type ClosedRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Cases whose (last) confirmed closing falls in `[from, to)` and that are closed now.
pub fn closed_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<ClosedCase>, DbError> {
    let closings: Vec<(i64, NaiveDateTime)> = case_events::table
        .filter(case_events::kind.eq("close_confirmed"))
        .order((case_events::case_id.asc(), case_events::at.asc()))
        .select((case_events::case_id, case_events::at))
        .load(conn)?;
    let mut last: HashMap<i64, NaiveDateTime> = HashMap::new();
    for (id, at) in closings {
        last.insert(id, at);
    }
    let ids: Vec<i64> = last
        .iter()
        .filter(|(_, at)| **at >= from && **at < to)
        .map(|(id, _)| *id)
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<ClosedRow> = cases::table
            .left_join(contract_risk::table.on(contract_risk::contract_id.eq(cases::contract_id)))
            .filter(cases::id.eq_any(chunk))
            .filter(cases::status.eq("lukket"))
            .select((
                cases::id,
                cases::source,
                cases::part,
                cases::outcome,
                contract_risk::industries.nullable(),
                contract_risk::tier.nullable(),
            ))
            .load(conn)?;
        for (case_id, source, part, outcome, industries, tier) in rows {
            out.push(ClosedCase {
                closed_at: last[&case_id],
                case_id,
                source,
                part,
                outcome,
                industries,
                tier,
            });
        }
    }
    out.sort_by_key(|c| c.case_id);
    Ok(out)
}

/// When each case was opened, for cases opened in `[from, to)`.
pub fn opened_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<NaiveDateTime>, DbError> {
    Ok(cases::table
        .filter(cases::created_at.ge(from))
        .filter(cases::created_at.lt(to))
        .select(cases::created_at)
        .load(conn)?)
}

/// Contracts shown whose current assessment puts them in a risk industry.
pub fn contracts_in_risk_industries(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(contract_risk::table
        .inner_join(contracts::table)
        .filter(crate::contract_shown!())
        .filter(contract_risk::industries.ne(""))
        .filter(contract_risk::industries.ne(",,"))
        .count()
        .get_result(conn)?)
}

/// Moves the deadline of document request `request` (the demo backdates one so that its
/// reminder shows); false when there is no such request.
pub fn set_document_deadline(
    conn: &mut DbConn,
    request: i64,
    deadline: chrono::NaiveDate,
) -> Result<bool, DbError> {
    use crate::db::schema::case_document_requests as r;
    Ok(diesel::update(r::table.filter(r::id.eq(request)))
        .set(r::deadline.eq(deadline))
        .execute(conn)?
        == 1)
}

/// The open document requests of case `case_id`, newest first (their ids).
pub fn open_document_requests(conn: &mut DbConn, case_id: i64) -> Result<Vec<i64>, DbError> {
    use crate::db::schema::case_document_requests as r;
    Ok(r::table
        .filter(r::case_id.eq(case_id))
        .filter(r::received_at.is_null())
        .order(r::id.desc())
        .select(r::id)
        .load(conn)?)
}

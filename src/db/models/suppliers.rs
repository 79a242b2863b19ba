//! Enrichment state: one job per org number (persistent, so look-ups survive restarts and
//! never block an import), and the append-only history of what the register said.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{Actor, now};
use crate::brreg::{BrregError, Lookup, Outcome, UnitFacts};
use crate::db::cached_insert::insert_rows;
use crate::db::schema::{approval_entries, approval_loads, enrichment_jobs, register_facts, suppliers};
use crate::db::{DbConn, DbError, write_tx};

pub const SOURCE_API: &str = "api";
pub const SOURCE_BULK_JSON: &str = "bulk-json";
pub const SOURCE_BULK_CSV: &str = "bulk-csv";

/// How long a claimed job is reserved for the claiming worker (another instance may take it
/// over after that, e.g. when the first one crashed mid-look-up).
const LEASE_MINUTES: i64 = 5;
const CHUNK: usize = 500;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = enrichment_jobs)]
pub struct Job {
    pub orgnr: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    #[serde(skip)]
    pub locked_until: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = register_facts)]
pub struct FactsRow {
    pub id: i64,
    pub orgnr: String,
    pub source: String,
    pub outcome: String,
    pub facts: Option<String>,
    pub raw_json: Option<String>,
    pub fetched_at: NaiveDateTime,
}

impl FactsRow {
    pub fn unit_facts(&self) -> Option<UnitFacts> {
        self.facts.as_deref().and_then(|f| serde_json::from_str(f).ok())
    }
}

/// Queues a look-up for each org number, due now. Existing jobs are made due again
/// (a refresh); their attempt count starts over.
pub fn enqueue(conn: &mut DbConn, orgnrs: &[String]) -> Result<usize, DbError> {
    let t = now();
    for chunk in orgnrs.chunks(CHUNK) {
        diesel::update(enrichment_jobs::table.filter(enrichment_jobs::orgnr.eq_any(chunk)))
            .set((
                enrichment_jobs::state.eq("pending"),
                enrichment_jobs::attempts.eq(0),
                enrichment_jobs::next_attempt_at.eq(t),
                enrichment_jobs::locked_until.eq(None::<NaiveDateTime>),
                enrichment_jobs::updated_at.eq(t),
            ))
            .execute(conn)?;
    }
    let refs: Vec<&str> = orgnrs.iter().map(String::as_str).collect();
    enqueue_missing(conn, &refs)?;
    Ok(orgnrs.len())
}

/// Makes jobs whose last success is older than `max_age` due again.
pub fn requeue_stale(conn: &mut DbConn, max_age: Duration) -> Result<usize, DbError> {
    let t = now();
    Ok(diesel::update(
        enrichment_jobs::table
            .filter(enrichment_jobs::state.eq("done"))
            .filter(enrichment_jobs::last_success_at.lt(t - max_age)),
    )
    .set((
        enrichment_jobs::state.eq("pending"),
        enrichment_jobs::next_attempt_at.eq(t),
        enrichment_jobs::updated_at.eq(t),
    ))
    .execute(conn)?)
}

/// Reserves up to `limit` due jobs for this worker. Runs in a write transaction, so two
/// workers (or two instances on one PostgreSQL) never claim the same job.
pub fn claim_due(conn: &mut DbConn, at: NaiveDateTime, limit: i64) -> Result<Vec<String>, DbError> {
    write_tx(conn, |c| {
        let due: Vec<String> = enrichment_jobs::table
            .filter(enrichment_jobs::state.eq("pending"))
            .filter(enrichment_jobs::next_attempt_at.le(at))
            .filter(
                enrichment_jobs::locked_until
                    .is_null()
                    .or(enrichment_jobs::locked_until.lt(at)),
            )
            .order(enrichment_jobs::next_attempt_at.asc())
            .limit(limit)
            .select(enrichment_jobs::orgnr)
            .load(c)?;
        diesel::update(enrichment_jobs::table.filter(enrichment_jobs::orgnr.eq_any(&due)))
            .set(enrichment_jobs::locked_until.eq(at + Duration::minutes(LEASE_MINUTES)))
            .execute(c)?;
        Ok(due)
    })
}

/// Backoff between failed attempts: 1, 2, 4 … minutes, at most six hours.
pub fn retry_delay(attempts: i32) -> Duration {
    let minutes = 1i64 << attempts.clamp(0, 9);
    Duration::minutes(minutes.min(6 * 60))
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Active => "active",
        Outcome::Deleted => "deleted",
        Outcome::Removed => "removed",
        Outcome::Unknown => "unknown",
    }
}

fn insert_facts(
    conn: &mut DbConn,
    orgnr: &str,
    source: &str,
    outcome: &str,
    facts: Option<&UnitFacts>,
    raw_json: Option<&str>,
    fetched_at: NaiveDateTime,
) -> Result<(), DbError> {
    let facts_json = facts.map(|f| serde_json::to_string(f).unwrap_or_default());
    diesel::insert_into(register_facts::table)
        .values((
            register_facts::orgnr.eq(orgnr),
            register_facts::source.eq(source),
            register_facts::outcome.eq(outcome),
            register_facts::facts.eq(facts_json),
            register_facts::raw_json.eq(raw_json),
            register_facts::fetched_at.eq(fetched_at),
            register_facts::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores the outcome of one look-up and moves its job on; returns whether the register
/// answered that the unit was removed (its cached facts are then deleted). Runs inside the
/// caller's write transaction.
pub fn record(
    c: &mut DbConn,
    orgnr: &str,
    result: &Result<Lookup, BrregError>,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    let mut removed = false;
    let job = enrichment_jobs::table
        .find(orgnr)
        .select(Job::as_select())
        .first(c)
        .optional()?;
    let attempts = job.as_ref().map(|j| j.attempts).unwrap_or(0) + 1;
    match result {
        Ok(lookup) => {
            let fetched_at = crate::domain::audit_chain::truncate_to_micros(lookup.fetched_at.naive_utc());
            if lookup.outcome == Outcome::Removed {
                // The register asks users to delete removed units: drop what we cached,
                // keep only the fact that it was removed (and say so in the audit log).
                diesel::delete(register_facts::table.filter(register_facts::orgnr.eq(orgnr))).execute(c)?;
                removed = true;
            }
            insert_facts(
                c,
                orgnr,
                SOURCE_API,
                outcome_str(lookup.outcome),
                lookup.facts.as_ref(),
                lookup.raw_json.as_deref(),
                fetched_at,
            )?;
            if let (Some(parent), Some(po)) = (&lookup.parent, lookup.parent_outcome) {
                insert_facts(
                    c,
                    &parent.orgnr,
                    SOURCE_API,
                    outcome_str(po),
                    Some(parent),
                    lookup.parent_raw_json.as_deref(),
                    fetched_at,
                )?;
            }
            diesel::update(enrichment_jobs::table.find(orgnr))
                .set((
                    enrichment_jobs::state.eq("done"),
                    enrichment_jobs::attempts.eq(0),
                    enrichment_jobs::last_attempt_at.eq(Some(at)),
                    enrichment_jobs::last_success_at.eq(Some(at)),
                    enrichment_jobs::last_error.eq(None::<String>),
                    enrichment_jobs::locked_until.eq(None::<NaiveDateTime>),
                    enrichment_jobs::updated_at.eq(at),
                ))
                .execute(c)?;
        }
        Err(e) => {
            // Retryable faults (register down, slow, 5xx, 429) wait and try again;
            // anything else (400, an unreadable answer) needs a person.
            let (state, next) = if e.is_retryable() {
                ("pending", at + retry_delay(attempts - 1))
            } else {
                ("failed", at)
            };
            diesel::update(enrichment_jobs::table.find(orgnr))
                .set((
                    enrichment_jobs::state.eq(state),
                    enrichment_jobs::attempts.eq(attempts),
                    enrichment_jobs::next_attempt_at.eq(next),
                    enrichment_jobs::last_attempt_at.eq(Some(at)),
                    enrichment_jobs::last_error.eq(Some(e.to_string())),
                    enrichment_jobs::locked_until.eq(None::<NaiveDateTime>),
                    enrichment_jobs::updated_at.eq(at),
                ))
                .execute(c)?;
        }
    }
    Ok(removed)
}

pub fn job(conn: &mut DbConn, orgnr: &str) -> Result<Option<Job>, DbError> {
    Ok(enrichment_jobs::table
        .find(orgnr)
        .select(Job::as_select())
        .first(conn)
        .optional()?)
}

/// The register's latest word on an org number (from the API or a bulk file).
pub fn latest_facts(conn: &mut DbConn, orgnr: &str) -> Result<Option<FactsRow>, DbError> {
    Ok(register_facts::table
        .filter(register_facts::orgnr.eq(orgnr))
        .order(register_facts::id.desc())
        .select(FactsRow::as_select())
        .first(conn)
        .optional()?)
}

/// Counts of jobs by state.
pub fn job_counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, DbError> {
    Ok(enrichment_jobs::table
        .group_by(enrichment_jobs::state)
        .select((enrichment_jobs::state, diesel::dsl::count_star()))
        .load(conn)?)
}

/// One approval status as the register file said it.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalStatus {
    pub register: String,
    pub status: String,
    pub status_date: Option<chrono::NaiveDate>,
    pub file_name: String,
    pub file_date: Option<chrono::NaiveDate>,
    pub loaded_at: NaiveDateTime,
    /// Set when the status was found through the supplier's main unit (sub-units are not
    /// in Renholdsregisteret themselves).
    pub via_parent: Option<String>,
}

/// The latest status per register for this org number (or, failing that, its parent).
pub fn approvals(
    conn: &mut DbConn,
    orgnr: &str,
    parent: Option<&str>,
) -> Result<Vec<ApprovalStatus>, DbError> {
    let mut out = Vec::new();
    for register in ["renhold", "bilpleie", "bemanning"] {
        let latest_load: Option<(i64, String, Option<chrono::NaiveDate>, NaiveDateTime)> =
            approval_loads::table
                .filter(approval_loads::register.eq(register))
                .order(approval_loads::id.desc())
                .select((
                    approval_loads::id,
                    approval_loads::file_name,
                    approval_loads::file_date,
                    approval_loads::loaded_at,
                ))
                .first(conn)
                .optional()?;
        let Some((load_id, file_name, file_date, loaded_at)) = latest_load else {
            continue;
        };
        for (candidate, via) in [(Some(orgnr), None), (parent, parent)] {
            let Some(candidate) = candidate else { continue };
            let found: Option<(String, Option<chrono::NaiveDate>)> = approval_entries::table
                .filter(approval_entries::load_id.eq(load_id))
                .filter(approval_entries::orgnr.eq(candidate))
                .select((approval_entries::status, approval_entries::status_date))
                .first(conn)
                .optional()?;
            if let Some((status, status_date)) = found {
                out.push(ApprovalStatus {
                    register: register.into(),
                    status,
                    status_date,
                    file_name: file_name.clone(),
                    file_date,
                    loaded_at,
                    via_parent: via.map(str::to_owned),
                });
                break;
            }
        }
    }
    Ok(out)
}

/// Stores a loaded approval-register file as one dated load; returns its id. Runs inside
/// the caller's write transaction.
pub fn insert_approval_load(
    c: &mut DbConn,
    actor: &Actor,
    file_name: &str,
    sha256: &str,
    file: &crate::brreg::approvals::ApprovalFile,
) -> Result<i64, DbError> {
    let t = now();
    diesel::insert_into(approval_loads::table)
        .values((
            approval_loads::register.eq(file.register.as_str()),
            approval_loads::file_name.eq(file_name),
            approval_loads::sha256.eq(sha256),
            approval_loads::format.eq(&file.format),
            approval_loads::file_date.eq(file.file_date),
            approval_loads::entries.eq(file.entries.len() as i64),
            approval_loads::rejected.eq(file.rejected.len() as i64),
            approval_loads::loaded_by.eq(actor.as_str()),
            approval_loads::loaded_at.eq(t),
        ))
        .execute(c)?;
    let load_id: i64 = approval_loads::table
        .filter(approval_loads::sha256.eq(sha256))
        .order(approval_loads::id.desc())
        .select(approval_loads::id)
        .first(c)?;
    for e in &file.entries {
        diesel::insert_into(approval_entries::table)
            .values((
                approval_entries::load_id.eq(load_id),
                approval_entries::orgnr.eq(&e.orgnr),
                approval_entries::status.eq(&e.status),
                approval_entries::status_date.eq(e.status_date),
                approval_entries::name.eq(e.name.as_deref()),
            ))
            .execute(c)?;
    }
    Ok(load_id)
}

/// Supplier with its enrichment state, for lists.
#[derive(Debug, Clone, Serialize)]
pub struct SupplierSummary {
    pub orgnr: String,
    pub name: String,
    pub enrichment_state: Option<String>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

/// One page of suppliers, by org number.
#[derive(Debug, Clone, Serialize)]
pub struct SupplierList {
    /// Exact up to 10 000 (`total_exact`), otherwise the count stopped there.
    pub total: i64,
    pub total_exact: bool,
    /// The page number asked for; `None` when asked for with a cursor.
    pub page: Option<i64>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    pub items: Vec<SupplierSummary>,
}

/// One page of suppliers in org number order (the UNIQUE index), by page number or after a
/// cursor (`after`, a `next_cursor`: then `page` must be 1); a page or page size out of
/// range, or a cursor this list did not make, is [`DbError::Paging`]. The count stops at
/// [`COUNT_CAP`](crate::domain::paging::COUNT_CAP).
pub fn list_suppliers(
    conn: &mut DbConn,
    page: i64,
    per_page: i64,
    after: Option<&str>,
) -> Result<SupplierList, DbError> {
    use crate::domain::paging::{Cursor, PagingError};
    let paging = crate::domain::paging::Paging::new(page, per_page)?;
    let after = match after {
        Some(text) => {
            if page != 1 {
                return Err(PagingError::PageAndCursor.into());
            }
            match Cursor::decode(text)?.parts() {
                [tag, orgnr] if tag == "orgnr" => Some(orgnr.clone()),
                _ => return Err(PagingError::Cursor.into()),
            }
        }
        None => None,
    };
    let total = crate::db::capped_count::capped(suppliers::table.select(suppliers::id)).total(conn)?;
    type Row = (
        String,
        String,
        Option<String>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let mut q = suppliers::table
        .left_join(enrichment_jobs::table.on(enrichment_jobs::orgnr.eq(suppliers::orgnr)))
        .order(suppliers::orgnr.asc())
        .limit(paging.limit() + 1)
        .into_boxed();
    q = match &after {
        Some(orgnr) => q.filter(suppliers::orgnr.gt(orgnr.clone())),
        None => q.offset(paging.offset()),
    };
    let mut rows: Vec<Row> = q
        .select((
            suppliers::orgnr,
            suppliers::name,
            enrichment_jobs::state.nullable(),
            enrichment_jobs::last_attempt_at.nullable(),
            enrichment_jobs::last_success_at.nullable(),
            enrichment_jobs::last_error.nullable(),
        ))
        .load(conn)?;
    let has_more = rows.len() as i64 > paging.limit();
    rows.truncate(usize::try_from(paging.limit()).unwrap_or(0));
    let next_cursor = match rows.last() {
        Some((orgnr, ..)) if has_more => Some(Cursor::new(["orgnr", orgnr.as_str()]).encode()),
        _ => None,
    };
    Ok(SupplierList {
        total: total.total,
        total_exact: total.exact,
        page: after.is_none().then(|| paging.page()),
        next_cursor,
        items: rows
            .into_iter()
            .map(|(orgnr, name, state, la, ls, le)| SupplierSummary {
                orgnr,
                name,
                enrichment_state: state,
                last_attempt_at: la,
                last_success_at: ls,
                last_error: le,
            })
            .collect(),
    })
}

pub fn supplier_name(conn: &mut DbConn, orgnr: &str) -> Result<Option<String>, DbError> {
    Ok(suppliers::table
        .filter(suppliers::orgnr.eq(orgnr))
        .select(suppliers::name)
        .first(conn)
        .optional()?)
}

/// Queues a look-up for each org number that has no job yet (new suppliers of an import).
/// Runs inside the caller's transaction.
pub fn enqueue_missing(conn: &mut DbConn, orgnrs: &[&str]) -> Result<usize, DbError> {
    let t = now();
    let mut added = 0;
    for chunk in orgnrs.chunks(CHUNK) {
        let existing: Vec<String> = enrichment_jobs::table
            .filter(enrichment_jobs::orgnr.eq_any(chunk))
            .select(enrichment_jobs::orgnr)
            .load(conn)?;
        let missing: Vec<_> = chunk
            .iter()
            .filter(|o| !existing.iter().any(|e| e == *o))
            .map(|o| {
                (
                    enrichment_jobs::orgnr.eq(*o),
                    enrichment_jobs::state.eq("pending"),
                    enrichment_jobs::attempts.eq(0),
                    enrichment_jobs::next_attempt_at.eq(t),
                    enrichment_jobs::updated_at.eq(t),
                )
            })
            .collect();
        added += missing.len();
        if !missing.is_empty() {
            insert_rows!(&mut *conn, enrichment_jobs::table, missing);
        }
    }
    Ok(added)
}

/// Where we are in a change feed (`enheter` or `underenheter`).
pub fn feed_position(conn: &mut DbConn, feed: &str) -> Result<Option<i64>, DbError> {
    use crate::db::schema::feed_state;
    Ok(feed_state::table
        .find(feed)
        .select(feed_state::last_update_id)
        .first(conn)
        .optional()?)
}

/// Queues the org numbers among `changed` that are our suppliers, and moves the feed
/// position on, in one transaction (so a crash never skips a change).
pub fn apply_feed_page(
    conn: &mut DbConn,
    feed: &str,
    changed: &[String],
    next_id: i64,
) -> Result<usize, DbError> {
    use crate::db::schema::feed_state;
    write_tx(conn, |c| {
        let mut ours: Vec<String> = Vec::new();
        for chunk in changed.chunks(CHUNK) {
            ours.extend(
                suppliers::table
                    .filter(suppliers::orgnr.eq_any(chunk))
                    .select(suppliers::orgnr)
                    .load::<String>(c)?,
            );
        }
        ours.sort();
        ours.dedup();
        enqueue(c, &ours)?;
        let t = now();
        let updated = diesel::update(feed_state::table.find(feed))
            .set((
                feed_state::last_update_id.eq(next_id),
                feed_state::updated_at.eq(t),
            ))
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(feed_state::table)
                .values((
                    feed_state::feed.eq(feed),
                    feed_state::last_update_id.eq(next_id),
                    feed_state::updated_at.eq(t),
                ))
                .execute(c)?;
        }
        Ok(ours.len())
    })
}

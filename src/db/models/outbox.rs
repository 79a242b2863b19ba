//! The mail outbox: queries only. A message is queued in the transaction of the event that
//! causes it ([`enqueue`]; the unique `dedupe_key` makes a repeated event queue nothing),
//! claimed by a sender with a lease ([`claim_due`]: `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so two instances never take the same row; SQLite has one writer anyway),
//! and marked sent, rescheduled or dead ([`mark_sent`], [`mark_failed`]). A sender that
//! dies holding a lease loses it when `locked_until` passes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::outbox;
use crate::db::{DbConn, DbError};
use crate::domain::paging::Paging;

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: String,
    pub dedupe_key: String,
    pub recipient_liaison_id: Option<i64>,
    pub recipient_user_id: Option<i64>,
    pub recipient_agency: Option<String>,
    pub recipient_name: String,
    pub recipient_address: String,
    pub subject: String,
    /// The notice as JSON ([`crate::mail::Notice`]).
    pub payload: String,
}

/// Queues `messages` (pending, due at `at`); returns how many were new. A message whose
/// dedupe key is already queued is left alone: the event was told once already.
pub fn enqueue(conn: &mut DbConn, messages: &[NewMessage], at: NaiveDateTime) -> Result<usize, DbError> {
    let mut added = 0;
    for m in messages {
        let values = (
            outbox::kind.eq(&m.kind),
            outbox::dedupe_key.eq(&m.dedupe_key),
            outbox::recipient_liaison_id.eq(m.recipient_liaison_id),
            outbox::recipient_user_id.eq(m.recipient_user_id),
            outbox::recipient_agency.eq(m.recipient_agency.as_deref()),
            outbox::recipient_name.eq(&m.recipient_name),
            outbox::recipient_address.eq(&m.recipient_address),
            outbox::subject.eq(&m.subject),
            outbox::payload.eq(&m.payload),
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(at),
            outbox::created_at.eq(at),
        );
        added += crate::on_backend!(conn, |c| diesel::insert_into(outbox::table)
            .values(values)
            .on_conflict(outbox::dedupe_key)
            .do_nothing()
            .execute(c))?;
    }
    Ok(added)
}

/// A message as the sender needs it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: String,
    pub recipient_agency: Option<String>,
    pub recipient_name: Option<String>,
    pub recipient_address: Option<String>,
    pub payload: String,
    pub attempts: i32,
}

/// The claiming UPDATE, compiled for each backend's own connection type.
macro_rules! claim {
    ($c:expr, $ids:expr, $now:expr, $lease_until:expr) => {
        diesel::update(outbox::table.filter(outbox::id.eq_any($ids)))
            .set((
                outbox::status.eq("sending"),
                outbox::locked_until.eq(Some($lease_until)),
                outbox::last_attempt_at.eq(Some($now)),
                outbox::attempts.eq(outbox::attempts + 1),
            ))
            .execute($c)
    };
}
/// Claims up to `limit` messages due by `due_by` until `lease_until`: pending ones whose
/// time has come and `sending` ones whose lease ran out (their sender died). Each claim
/// counts as an attempt made at `now`. Returns them in the order they were queued.
pub fn claim_due(
    conn: &mut DbConn,
    due_by: NaiveDateTime,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Claimed>, DbError> {
    let due = outbox::status
        .eq("pending")
        .and(outbox::next_attempt_at.le(due_by))
        .or(outbox::status.eq("sending").and(outbox::locked_until.lt(now)));
    let ids: Vec<i64> = match conn {
        DbConn::Postgresql(c) => c.transaction(|c| {
            let ids: Vec<i64> = outbox::table
                .filter(due)
                .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
                .limit(limit)
                .select(outbox::id)
                .for_update()
                .skip_locked()
                .load(c)?;
            claim!(c, &ids, now, lease_until)?;
            Ok::<_, diesel::result::Error>(ids)
        })?,
        DbConn::Sqlite(c) => c.immediate_transaction(|c| {
            let ids: Vec<i64> = outbox::table
                .filter(due)
                .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
                .limit(limit)
                .select(outbox::id)
                .load(c)?;
            claim!(c, &ids, now, lease_until)?;
            Ok::<_, diesel::result::Error>(ids)
        })?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(outbox::table
        .filter(outbox::id.eq_any(&ids))
        .order(outbox::id.asc())
        .select(Claimed::as_select())
        .load(conn)?)
}

/// Marks a claimed message sent (only if this sender still holds it).
pub fn mark_sent(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<(), DbError> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq("sending")),
    )
    .set((
        outbox::status.eq("sent"),
        outbox::sent_at.eq(Some(at)),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: due again at `retry_at`, or dead when `None`.
pub fn mark_failed(
    conn: &mut DbConn,
    id: i64,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    let error: String = error.chars().take(2000).collect();
    let target = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::status.eq("sending"));
    match retry_at {
        Some(at) => diesel::update(target)
            .set((
                outbox::status.eq("pending"),
                outbox::next_attempt_at.eq(at),
                outbox::locked_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(Some(error)),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                outbox::status.eq("dead"),
                outbox::locked_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(Some(error)),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Puts a dead letter back in the queue, due at `at`, with its attempts counted afresh.
/// Returns whether the message was dead (anything else is left alone).
pub fn requeue_dead(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<bool, DbError> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq("dead")),
    )
    .set((
        outbox::status.eq("pending"),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A message as listed (without its payload).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = outbox)]
pub struct MessageSummary {
    pub id: i64,
    pub kind: String,
    pub recipient_name: Option<String>,
    pub recipient_address: Option<String>,
    pub recipient_agency: Option<String>,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// One page of messages, newest first, optionally of one status; with the total.
pub fn list(
    conn: &mut DbConn,
    status: Option<&str>,
    paging: &Paging,
) -> Result<(i64, Vec<MessageSummary>), DbError> {
    let mut count = outbox::table.into_boxed();
    let mut page = outbox::table.into_boxed();
    if let Some(s) = status {
        count = count.filter(outbox::status.eq(s.to_owned()));
        page = page.filter(outbox::status.eq(s.to_owned()));
    }
    let total: i64 = count.count().get_result(conn)?;
    let items = page
        .order((outbox::created_at.desc(), outbox::id.desc()))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(MessageSummary::as_select())
        .load(conn)?;
    Ok((total, items))
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<MessageSummary>, DbError> {
    Ok(outbox::table
        .find(id)
        .select(MessageSummary::as_select())
        .first(conn)
        .optional()?)
}

/// Messages per status.
pub fn status_counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, DbError> {
    Ok(outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .order(outbox::status.asc())
        .load(conn)?)
}

/// A stored message with its dedupe key and payload, for tests and the CLI.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = outbox)]
pub struct MessageRow {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: String,
    pub recipient_liaison_id: Option<i64>,
    pub recipient_agency: Option<String>,
    pub recipient_address: Option<String>,
    pub subject: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
}

/// Messages whose dedupe key starts with `prefix` (e.g. `draw:7:`), in id order.
pub fn with_prefix(conn: &mut DbConn, prefix: &str) -> Result<Vec<MessageRow>, DbError> {
    let pattern = format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_"));
    Ok(outbox::table
        .filter(outbox::dedupe_key.like(pattern).escape('\\'))
        .order(outbox::id.asc())
        .select(MessageRow::as_select())
        .load(conn)?)
}

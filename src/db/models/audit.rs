//! The append-only, hash-chained audit log (see `domain::audit_chain` for the hash rule).

use diesel::prelude::*;
use serde::Serialize;

use super::{Actor, now};
use crate::db::schema::audit_log;
use crate::db::{DbConn, DbError, write_tx};
use crate::domain::audit_chain::{
    AuditContent, ChainBreak, ChainVerifier, GENESIS_HASH, StoredEntry, entry_hash,
};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: chrono::NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What happened, to which object.
pub struct Event<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub detail: serde_json::Value,
}

/// Appends an entry. Must run inside [`write_tx`], which holds the write lock, so that the
/// read of the chain head and the insert cannot interleave with another writer.
pub fn append(conn: &mut DbConn, actor: &Actor, event: Event<'_>) -> Result<(), DbError> {
    let head: Option<(i64, String)> = audit_log::table
        .select((audit_log::id, audit_log::hash))
        .order(audit_log::id.desc())
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match head {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let at = now();
    let detail = event.detail.to_string();
    let content = AuditContent {
        seq,
        at,
        actor: actor.as_str(),
        action: event.action,
        object_type: event.object_type,
        object_id: event.object_id,
        detail: &detail,
    };
    let hash = entry_hash(&prev_hash, &content);
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(seq),
            audit_log::at.eq(at),
            audit_log::actor.eq(actor.as_str()),
            audit_log::action.eq(event.action),
            audit_log::object_type.eq(event.object_type),
            audit_log::object_id.eq(event.object_id),
            audit_log::detail.eq(&detail),
            audit_log::prev_hash.eq(&prev_hash),
            audit_log::hash.eq(&hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records an event that has no other state change (a failed login, a read of a case).
pub fn record(conn: &mut DbConn, actor: &Actor, event: Event<'_>) -> Result<(), DbError> {
    write_tx(conn, |c| append(c, actor, event))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStatus {
    Intact { entries: i64 },
    Broken { verified: i64, first_break: ChainBreak },
}

/// Walks the whole chain in pages, in id order, and names the first broken entry.
pub fn verify(conn: &mut DbConn) -> Result<ChainStatus, DbError> {
    const PAGE: i64 = 1000;
    let mut verifier = ChainVerifier::default();
    let mut after = 0i64;
    loop {
        let rows: Vec<AuditRow> = audit_log::table
            .filter(audit_log::id.gt(after))
            .order(audit_log::id.asc())
            .limit(PAGE)
            .select(AuditRow::as_select())
            .load(conn)?;
        for r in &rows {
            let entry = StoredEntry {
                content: AuditContent {
                    seq: r.id,
                    at: r.at,
                    actor: &r.actor,
                    action: &r.action,
                    object_type: &r.object_type,
                    object_id: &r.object_id,
                    detail: &r.detail,
                },
                prev_hash: &r.prev_hash,
                hash: &r.hash,
            };
            if let Err(first_break) = verifier.check(&entry) {
                return Ok(ChainStatus::Broken {
                    verified: verifier.verified(),
                    first_break,
                });
            }
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE => after = last.id,
            _ => break,
        }
    }
    Ok(ChainStatus::Intact {
        entries: verifier.verified(),
    })
}

pub fn recent(conn: &mut DbConn, limit: i64) -> Result<Vec<AuditRow>, DbError> {
    Ok(audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

// ---- Searching the log (the audit page, issue 14) ----

/// Which entries to show: each given criterion must match. Times are UTC instants.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The actor exactly as stored (`user:kari`, `cli:root`, `system`).
    pub actor: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// Entries at or after this instant.
    pub from: Option<chrono::NaiveDateTime>,
    /// Entries before this instant.
    pub before: Option<chrono::NaiveDateTime>,
}

/// `audit_log` boxed with the criteria of `f` (a macro: the count and the page are two
/// queries of different types).
macro_rules! audit_filtered {
    ($f:expr) => {{
        let f: &AuditFilter = $f;
        let mut q = audit_log::table.into_boxed();
        if let Some(a) = &f.actor {
            q = q.filter(audit_log::actor.eq(a.clone()));
        }
        if let Some(t) = &f.object_type {
            q = q.filter(audit_log::object_type.eq(t.clone()));
        }
        if let Some(id) = &f.object_id {
            q = q.filter(audit_log::object_id.eq(id.clone()));
        }
        if let Some(from) = f.from {
            q = q.filter(audit_log::at.ge(from));
        }
        if let Some(before) = f.before {
            q = q.filter(audit_log::at.lt(before));
        }
        q
    }};
}

/// One page of the entries matching `f`, newest first, with how many match in all.
pub fn search(
    conn: &mut DbConn,
    f: &AuditFilter,
    paging: &crate::domain::paging::Paging,
) -> Result<(i64, Vec<AuditRow>), DbError> {
    let total: i64 = audit_filtered!(f).count().get_result(conn)?;
    let rows = audit_filtered!(f)
        .order(audit_log::id.desc())
        .limit(paging.limit())
        .offset(paging.offset())
        .select(AuditRow::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// Every actor and every object type the log names, sorted (the page's filter choices).
pub fn actors_and_object_types(conn: &mut DbConn) -> Result<(Vec<String>, Vec<String>), DbError> {
    let actors = audit_log::table
        .select(audit_log::actor)
        .distinct()
        .order(audit_log::actor.asc())
        .load(conn)?;
    let types = audit_log::table
        .select(audit_log::object_type)
        .distinct()
        .order(audit_log::object_type.asc())
        .load(conn)?;
    Ok((actors, types))
}

/// Whether any entry records `action` (the demo's marker, for instance).
pub fn has_action(conn: &mut DbConn, action: &str) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        audit_log::table.filter(audit_log::action.eq(action)),
    ))
    .get_result(conn)?)
}

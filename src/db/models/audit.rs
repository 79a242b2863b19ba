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

/// Whether any entry records `action` (the demo's marker, for instance).
pub fn has_action(conn: &mut DbConn, action: &str) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        audit_log::table.filter(audit_log::action.eq(action)),
    ))
    .get_result(conn)?)
}

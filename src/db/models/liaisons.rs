//! Liaisons: contacts at the A-krim agencies who receive mail. Queries only; changes run
//! inside the caller's write transaction (`service::liaisons` writes the audit entry).
//! `industries` and `notices` are stored as `,a,b,` (see the migration and
//! [`crate::domain::liaison::encode_list`]). Removing sets `active = false`; rows stay.

use diesel::prelude::*;
use serde::Serialize;

use super::now;
use crate::db::schema::{liaisons, users};
use crate::db::{DbConn, DbError, Missing};
use crate::domain::liaison::{CheckedLiaison, NoticeKind, decode_list, encode_list};
use crate::domain::roles::Agency;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = liaisons)]
struct LiaisonRow {
    id: i64,
    name: String,
    agency: String,
    email: String,
    industries: String,
    notices: String,
    active: bool,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

/// A liaison as the rest of the service (and the API) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Liaison {
    pub id: i64,
    pub name: String,
    pub agency: Agency,
    pub email: String,
    /// Industry ids; empty: every industry.
    pub industries: Vec<String>,
    pub notices: Vec<NoticeKind>,
    /// The linked A-krim user's name, if any.
    pub user: Option<String>,
    pub active: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

fn from_row(r: LiaisonRow, user: Option<String>) -> Result<Liaison, DbError> {
    let corrupt = |e: String| DbError::Corrupt(format!("liaison {}: {e}", r.id));
    let agency = r.agency.parse().map_err(|e| corrupt(format!("{e}")))?;
    let notices = decode_list(&r.notices)
        .iter()
        .map(|n| n.parse::<NoticeKind>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(e.english()))?;
    Ok(Liaison {
        id: r.id,
        name: r.name,
        agency,
        email: r.email,
        industries: decode_list(&r.industries),
        notices,
        user,
        active: r.active,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// Active liaisons, by agency and name.
pub fn list_active(conn: &mut DbConn) -> Result<Vec<Liaison>, DbError> {
    liaisons::table
        .left_join(users::table)
        .filter(liaisons::active.eq(true))
        .order((liaisons::agency.asc(), liaisons::name.asc(), liaisons::id.asc()))
        .select((LiaisonRow::as_select(), users::username.nullable()))
        .load::<(LiaisonRow, Option<String>)>(conn)?
        .into_iter()
        .map(|(r, u)| from_row(r, u))
        .collect()
}

/// The liaison `id`, active or not.
pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<Liaison>, DbError> {
    liaisons::table
        .left_join(users::table)
        .filter(liaisons::id.eq(id))
        .select((LiaisonRow::as_select(), users::username.nullable()))
        .first::<(LiaisonRow, Option<String>)>(conn)
        .optional()?
        .map(|(r, u)| from_row(r, u))
        .transpose()
}

/// The active liaison `id`, or [`Missing::Liaison`].
pub fn require_active(conn: &mut DbConn, id: i64) -> Result<Liaison, DbError> {
    find(conn, id)?
        .filter(|l| l.active)
        .ok_or(DbError::NotFound(Missing::Liaison(id)))
}

fn notices_text(l: &CheckedLiaison) -> String {
    encode_list(l.notices.iter().map(|n| n.as_str()))
}

fn industries_text(l: &CheckedLiaison) -> String {
    encode_list(l.industries.iter().map(String::as_str))
}

/// Inserts a checked liaison linked to `user_id`. Runs inside the caller's write
/// transaction (which serialises writers, so the new id is the highest).
pub fn insert(c: &mut DbConn, l: &CheckedLiaison, user_id: Option<i64>) -> Result<Liaison, DbError> {
    let t = now();
    diesel::insert_into(liaisons::table)
        .values((
            liaisons::name.eq(&l.name),
            liaisons::agency.eq(l.agency.as_str()),
            liaisons::email.eq(&l.email),
            liaisons::industries.eq(industries_text(l)),
            liaisons::notices.eq(notices_text(l)),
            liaisons::user_id.eq(user_id),
            liaisons::active.eq(true),
            liaisons::created_at.eq(t),
            liaisons::updated_at.eq(t),
        ))
        .execute(c)?;
    // Writers are serialised by the write transaction, so the highest id is this row.
    let id: i64 = liaisons::table
        .select(diesel::dsl::max(liaisons::id))
        .first::<Option<i64>>(c)?
        .ok_or(DbError::NotFound(Missing::Stored("liaison")))?;
    find(c, id)?.ok_or(DbError::NotFound(Missing::Stored("liaison")))
}

/// Replaces every field of the active liaison `id`. Runs inside the caller's write
/// transaction.
pub fn update(c: &mut DbConn, id: i64, l: &CheckedLiaison, user_id: Option<i64>) -> Result<Liaison, DbError> {
    let n = diesel::update(
        liaisons::table
            .filter(liaisons::id.eq(id))
            .filter(liaisons::active.eq(true)),
    )
    .set((
        liaisons::name.eq(&l.name),
        liaisons::agency.eq(l.agency.as_str()),
        liaisons::email.eq(&l.email),
        liaisons::industries.eq(industries_text(l)),
        liaisons::notices.eq(notices_text(l)),
        liaisons::user_id.eq(user_id),
        liaisons::updated_at.eq(now()),
    ))
    .execute(c)?;
    if n == 0 {
        return Err(DbError::NotFound(Missing::Liaison(id)));
    }
    require_active(c, id)
}

/// Sets the active liaison `id` inactive. Runs inside the caller's write transaction.
pub fn deactivate(c: &mut DbConn, id: i64) -> Result<Liaison, DbError> {
    let n = diesel::update(
        liaisons::table
            .filter(liaisons::id.eq(id))
            .filter(liaisons::active.eq(true)),
    )
    .set((liaisons::active.eq(false), liaisons::updated_at.eq(now())))
    .execute(c)?;
    if n == 0 {
        return Err(DbError::NotFound(Missing::Liaison(id)));
    }
    find(c, id)?.ok_or(DbError::NotFound(Missing::Liaison(id)))
}

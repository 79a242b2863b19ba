//! API tokens for machine clients: shown once, stored as SHA-256.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::now;
use super::users::{self, User};
use crate::auth::secret_hash;
use crate::db::schema::api_tokens;
use crate::db::{DbConn, DbError};

/// Prefix that makes a leaked token recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "sct_";

/// Stores a token's hash for `user`. Runs inside the caller's write transaction; the
/// plaintext never reaches this module.
pub fn insert(
    c: &mut DbConn,
    user: &User,
    token_hash: &str,
    label: &str,
    expires_at: Option<NaiveDateTime>,
) -> Result<i64, DbError> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::user_id.eq(user.id),
            api_tokens::token_hash.eq(token_hash),
            api_tokens::label.eq(label),
            api_tokens::created_at.eq(now()),
            api_tokens::revoked.eq(false),
            api_tokens::expires_at.eq(expires_at),
        ))
        .execute(c)?;
    Ok(api_tokens::table
        .filter(api_tokens::token_hash.eq(token_hash))
        .select(api_tokens::id)
        .first(c)?)
}

/// A token as its owner and the admins see it: never the secret, nor its hash.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = api_tokens)]
pub struct TokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked: bool,
}

/// A user's tokens, newest first.
pub fn list_for_user(c: &mut DbConn, user_id: i64) -> Result<Vec<TokenInfo>, DbError> {
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.desc())
        .select(TokenInfo::as_select())
        .load(c)?)
}

pub fn find(c: &mut DbConn, id: i64) -> Result<Option<TokenInfo>, DbError> {
    Ok(api_tokens::table
        .find(id)
        .select(TokenInfo::as_select())
        .first(c)
        .optional()?)
}

/// Revokes a token for good. Runs inside the caller's write transaction.
pub fn revoke(c: &mut DbConn, id: i64) -> Result<(), DbError> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::revoked.eq(true))
        .execute(c)?;
    Ok(())
}

/// The active user behind a bearer token, if the token is known, not revoked and its user enabled.
pub fn authenticate(conn: &mut DbConn, token: &str) -> Result<Option<User>, DbError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = secret_hash(token);
    let found: Option<(i64, i64, Option<chrono::NaiveDateTime>)> = api_tokens::table
        .filter(api_tokens::token_hash.eq(&hash))
        .filter(api_tokens::revoked.eq(false))
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now())),
        )
        .select((api_tokens::id, api_tokens::user_id, api_tokens::last_used_at))
        .first(conn)
        .optional()?;
    let Some((token_id, user_id, last_used)) = found else {
        return Ok(None);
    };
    let user = users::find_by_id(conn, user_id)?.filter(|u| !u.disabled);
    // Record use at most every five minutes so that reads do not turn into writes.
    let t = now();
    if user.is_some() && last_used.is_none_or(|l| (t - l).num_seconds() > 300) {
        diesel::update(api_tokens::table.find(token_id))
            .set(api_tokens::last_used_at.eq(Some(t)))
            .execute(conn)?;
    }
    Ok(user)
}

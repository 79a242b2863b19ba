//! Browser sessions, kept server-side so that logout, disabling a user or changing a role
//! ends them at once. The cookie carries a random secret; the table stores its SHA-256.

use chrono::Duration;
use diesel::prelude::*;

use super::now;
use super::users::{self, User};
use crate::auth::{new_secret, secret_hash};
use crate::db::schema::sessions;
use crate::db::{DbConn, DbError};

pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
}

pub struct ActiveSession {
    pub user: User,
    pub csrf_token: String,
}

pub fn create(conn: &mut DbConn, user_id: i64, ttl: Duration) -> Result<NewSession, DbError> {
    let cookie_value = new_secret("ses_").map_err(|e| DbError::Corrupt(e.to_string()))?;
    let csrf_token = new_secret("").map_err(|e| DbError::Corrupt(e.to_string()))?;
    let t = now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(secret_hash(&cookie_value)),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(&csrf_token),
            sessions::created_at.eq(t),
            sessions::expires_at.eq(t + ttl),
        ))
        .execute(conn)?;
    Ok(NewSession {
        cookie_value,
        csrf_token,
    })
}

pub fn lookup(conn: &mut DbConn, cookie_value: &str) -> Result<Option<ActiveSession>, DbError> {
    let found: Option<(i64, String)> = sessions::table
        .filter(sessions::token_hash.eq(secret_hash(cookie_value)))
        .filter(sessions::expires_at.gt(now()))
        .select((sessions::user_id, sessions::csrf_token))
        .first(conn)
        .optional()?;
    let Some((user_id, csrf_token)) = found else {
        return Ok(None);
    };
    Ok(users::find_by_id(conn, user_id)?
        .filter(|u| !u.disabled)
        .map(|user| ActiveSession { user, csrf_token }))
}

pub fn delete(conn: &mut DbConn, cookie_value: &str) -> Result<(), DbError> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(secret_hash(cookie_value))))
        .execute(conn)?;
    Ok(())
}

/// Removes expired sessions; called now and then, not on the request path.
pub fn purge_expired(conn: &mut DbConn) -> Result<usize, DbError> {
    Ok(diesel::delete(sessions::table.filter(sessions::expires_at.le(now()))).execute(conn)?)
}

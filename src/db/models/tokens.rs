//! API tokens for machine clients: shown once, stored as SHA-256.

use diesel::prelude::*;
use serde_json::json;

use super::audit::{self, Event};
use super::users::{self, User};
use super::{Actor, now};
use crate::auth::{new_secret, secret_hash};
use crate::db::schema::api_tokens;
use crate::db::{DbConn, DbError, write_tx};

/// Prefix that makes a leaked token recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "sct_";

/// Creates a token for `username` and returns the plaintext, which is never stored.
pub fn create(conn: &mut DbConn, actor: &Actor, username: &str, label: &str) -> Result<String, DbError> {
    let token = new_secret(TOKEN_PREFIX).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let hash = secret_hash(&token);
    write_tx(conn, |c| {
        let user = users::find_by_username(c, username)?
            .ok_or_else(|| DbError::NotFound(crate::db::Missing::User(username.trim().to_owned())))?;
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(user.id),
                api_tokens::token_hash.eq(&hash),
                api_tokens::label.eq(label),
                api_tokens::created_at.eq(now()),
                api_tokens::revoked.eq(false),
            ))
            .execute(c)?;
        audit::append(
            c,
            actor,
            Event {
                action: "token.create",
                object_type: "user",
                object_id: &user.id.to_string(),
                // The hash prefix identifies the token in the log without revealing it.
                detail: json!({"username": user.username, "label": label, "token_sha256_prefix": &hash[..12]}),
            },
        )
    })?;
    Ok(token)
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
            .set(api_tokens::last_used_at.eq(t))
            .execute(conn)?;
    }
    Ok(user)
}

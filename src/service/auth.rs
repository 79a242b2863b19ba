//! Signing in and out of the web pages. A session and its audit entry are written in one
//! transaction; the password is checked before the transaction opens (argon2 is slow on
//! purpose, and nobody else should wait for the write lock meanwhile).

use serde_json::json;

use crate::auth::verify_password;
use crate::db::models::audit::{self, Event};
use crate::db::models::sessions::{self, NewSession};
use crate::db::models::{Actor, users};
use crate::db::{DbConn, DbError, write_tx};

/// What a sign-in attempt came to.
pub enum LoginOutcome {
    Success(NewSession),
    Failed,
}

fn anonymous(address: &str) -> Actor {
    Actor(format!("anonymous@{address}"))
}

/// Checks `password` for `username` and, when it matches an enabled user, opens a session
/// of `ttl`. Success and failure are both audited.
pub fn login(
    conn: &mut DbConn,
    username: &str,
    password: &str,
    address: &str,
    ttl: chrono::Duration,
) -> Result<LoginOutcome, DbError> {
    let found = users::find_for_login(conn, username)?;
    // Verify even when the user is unknown, so timing does not reveal which names exist.
    let (user, reason) = match found {
        Some((user, Some(hash))) if verify_password(&hash, password) => {
            if user.disabled {
                (Some(user), Some("disabled"))
            } else {
                (Some(user), None)
            }
        }
        Some((user, _)) => (Some(user), Some("wrong password")),
        None => {
            crate::auth::burn_password_time(password);
            (None, Some("unknown user"))
        }
    };
    let object_id = user
        .as_ref()
        .map(|u| u.id.to_string())
        .unwrap_or_else(|| username.to_owned());
    write_tx(conn, |c| match (user, reason) {
        (Some(user), None) => {
            // Sessions past their expiry are useless and hold a secret's hash: each sign-in
            // clears them out, so the table stays the size of the active sessions.
            sessions::purge_expired(c)?;
            let session = sessions::create(c, user.id, ttl)?;
            audit::append(
                c,
                &Actor::user(&user.username),
                Event {
                    action: "login.success",
                    object_type: "user",
                    object_id: &object_id,
                    detail: json!({"address": address}),
                },
            )?;
            Ok(LoginOutcome::Success(session))
        }
        (_, reason) => {
            audit::append(
                c,
                &anonymous(address),
                Event {
                    action: "login.failure",
                    object_type: "user",
                    object_id: &object_id,
                    detail: json!({"username": username, "address": address, "reason": reason}),
                },
            )?;
            Ok(LoginOutcome::Failed)
        }
    })
}

/// Records that a sign-in was refused by the throttle.
pub fn record_throttled(conn: &mut DbConn, username: &str, address: &str) -> Result<(), DbError> {
    audit::record(
        conn,
        &anonymous(address),
        Event {
            action: "login.throttled",
            object_type: "user",
            object_id: username,
            detail: json!({"address": address}),
        },
    )
}

/// Ends the session behind `cookie_value`, with its audit entry, in one transaction.
pub fn logout(conn: &mut DbConn, user: &users::User, cookie_value: &str) -> Result<(), DbError> {
    write_tx(conn, |c| {
        sessions::delete(c, cookie_value)?;
        audit::append(
            c,
            &Actor::user(&user.username),
            Event {
                action: "logout",
                object_type: "user",
                object_id: &user.id.to_string(),
                detail: json!({}),
            },
        )
    })
}

/// The signed-in user behind a session cookie, with the session's CSRF token.
pub fn session(conn: &mut DbConn, cookie_value: &str) -> Result<Option<sessions::ActiveSession>, DbError> {
    sessions::lookup(conn, cookie_value)
}

/// The user behind an API token.
pub fn token_user(conn: &mut DbConn, token: &str) -> Result<Option<users::User>, DbError> {
    crate::db::models::tokens::authenticate(conn, token)
}

//! Signing in and out of the web pages. A session and its audit entry are written in one
//! transaction; the password is checked before the transaction opens (argon2 is slow on
//! purpose, and nobody else should wait for the write lock meanwhile).

use serde_json::json;

use crate::auth::throttle::{self, ThrottleLimits};
use crate::auth::verify_password;
use crate::db::models::audit::{self, Event};
use crate::db::models::sessions::{self, NewSession};
use crate::db::models::{Actor, login_attempts, users};
use crate::db::{DbConn, DbError, write_tx};

/// What a sign-in attempt came to.
pub enum LoginOutcome {
    Success(NewSession),
    Failed,
    /// Refused before the password was checked; try again after this many seconds.
    Throttled(u64),
}

fn anonymous(address: &str) -> Actor {
    Actor(format!("anonymous@{address}"))
}

/// How an attempt is filed: an existing user's name, or what was typed (cut to 64
/// characters and marked unknown: it may be a password typed into the name field).
fn account_key(username: &str, user: Option<&users::User>) -> (String, bool) {
    match user {
        Some(u) => (u.username.clone(), true),
        None => (username.chars().take(64).collect(), false),
    }
}

/// Checks `password` for `username` and, when it matches an enabled user, opens a session
/// of `ttl`. The throttle is consulted and the attempt counted in one transaction *before*
/// the password is checked, so parallel attempts cannot pass the limit; the outcome is
/// recorded after. Attempts go to the security-event table; the audit chain gets sign-ins
/// and the moment throttling starts for an account or address.
pub fn login(
    conn: &mut DbConn,
    limits: &ThrottleLimits,
    username: &str,
    password: &str,
    address: &str,
    ttl: chrono::Duration,
) -> Result<LoginOutcome, DbError> {
    let found = users::find_for_login(conn, username)?;
    let (account, known) = account_key(username, found.as_ref().map(|(u, _)| u));
    let now = crate::db::models::now();
    let since = now - limits.window;
    let admitted = write_tx(conn, |c| -> Result<Result<i64, u64>, DbError> {
        login_attempts::prune(c, now - chrono::Duration::days(1))?;
        let recent = login_attempts::recent(c, &account, address, since)?;
        match throttle::decide(limits, &recent, now) {
            Ok(()) => Ok(Ok(login_attempts::insert(
                c,
                now,
                &account,
                known,
                address,
                login_attempts::PENDING,
            )?)),
            Err(wait) => {
                if !login_attempts::throttled_since(c, &account, address, since)? {
                    audit::append(
                        c,
                        &anonymous(address),
                        Event {
                            action: "login.throttled",
                            object_type: "user",
                            object_id: if known { &account } else { "(unknown)" },
                            detail: json!({"address": address, "failures": recent.pair_failures,
                                "address_failures": recent.address_failures}),
                        },
                    )?;
                }
                login_attempts::insert(c, now, &account, known, address, login_attempts::THROTTLED)?;
                Ok(Err(wait))
            }
        }
    })?;
    let attempt = match admitted {
        Ok(id) => id,
        Err(wait) => return Ok(LoginOutcome::Throttled(wait)),
    };
    // Verify even when the user is unknown, so timing does not reveal which names exist.
    let user = match found {
        Some((user, Some(hash))) if verify_password(&hash, password) && !user.disabled => Some(user),
        Some(_) => None,
        None => {
            crate::auth::burn_password_time(password);
            None
        }
    };
    write_tx(conn, |c| match user {
        Some(user) => {
            login_attempts::set_outcome(c, attempt, login_attempts::SUCCESS)?;
            login_attempts::forgive(c, &account, address)?;
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
                    object_id: &user.id.to_string(),
                    detail: json!({"address": address}),
                },
            )?;
            Ok(LoginOutcome::Success(session))
        }
        None => {
            login_attempts::set_outcome(c, attempt, login_attempts::FAILURE)?;
            Ok(LoginOutcome::Failed)
        }
    })
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

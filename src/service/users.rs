//! Users, roles and API tokens, and the operations user the command line acts as.

use crate::auth::{self, check_password_policy, hash_password};
use crate::db::models::audit;
pub use crate::db::models::audit::{AuditRow, ChainStatus};
use crate::db::models::users::{self, User};
use crate::db::models::{Actor, tokens};
use crate::db::{DbConn, DbError, Missing};
use crate::domain::roles::{Agency, Role};

/// The user CLI commands act as when no `--user` is given: role kemner, no password (it
/// can never sign in), created on first use. Work that must belong to a person, such as an
/// innkjøper's import, names that person with `--user`.
pub const OPERATOR: &str = "drift";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Password(#[from] auth::AuthError),
}

/// Creates a user; `password` is `None` for a token-only (machine) user.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    role: Role,
    agency: Option<Agency>,
    password: Option<&str>,
) -> Result<User, AccountError> {
    let hash = match password {
        Some(p) => {
            check_password_policy(p)?;
            Some(hash_password(p)?)
        }
        None => None,
    };
    Ok(users::create(conn, actor, username, role, agency, hash)?)
}

pub fn list(conn: &mut DbConn) -> Result<Vec<User>, DbError> {
    users::list(conn)
}

pub fn find(conn: &mut DbConn, username: &str) -> Result<Option<User>, DbError> {
    users::find_by_username(conn, username)
}

pub fn set_role(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    role: Role,
    agency: Option<Agency>,
) -> Result<User, DbError> {
    users::set_role(conn, actor, username, role, agency)
}

pub fn set_disabled(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    disabled: bool,
) -> Result<User, DbError> {
    users::set_disabled(conn, actor, username, disabled)
}

pub fn set_password(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    password: &str,
) -> Result<(), AccountError> {
    check_password_policy(password)?;
    let hash = hash_password(password)?;
    Ok(users::set_password(conn, actor, username, hash)?)
}

/// Creates an API token for `username`; the plaintext is returned once and never stored.
pub fn create_token(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    label: &str,
) -> Result<String, DbError> {
    tokens::create(conn, actor, username, label)
}

/// The user named `name`, or, without a name, the operations user (created on first use,
/// audited as `actor`).
pub fn acting_user(conn: &mut DbConn, actor: &Actor, name: Option<&str>) -> Result<User, DbError> {
    if let Some(name) = name {
        return users::find_by_username(conn, name)?
            .ok_or_else(|| DbError::NotFound(Missing::User(name.trim().to_owned())));
    }
    if let Some(u) = users::find_by_username(conn, OPERATOR)? {
        return Ok(u);
    }
    match users::create(conn, actor, OPERATOR, Role::Kemner, None, None) {
        // Another process created it first.
        Err(DbError::Conflict(_)) => users::find_by_username(conn, OPERATOR)?
            .ok_or_else(|| DbError::NotFound(Missing::User(OPERATOR.to_owned()))),
        other => other,
    }
}

/// Walks the audit hash chain.
pub fn verify_audit(conn: &mut DbConn) -> Result<ChainStatus, DbError> {
    audit::verify(conn)
}

/// The newest `limit` audit entries, newest first.
pub fn recent_audit(conn: &mut DbConn, limit: i64) -> Result<Vec<AuditRow>, DbError> {
    audit::recent(conn, limit)
}

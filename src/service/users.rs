//! Users, roles and API tokens, and the operations user the command line acts as.

use serde::Serialize;
use serde_json::json;

use crate::auth::{self, check_password_policy, hash_password, new_secret, secret_hash};
use crate::db::models::audit::{self, Event};
pub use crate::db::models::audit::{AuditRow, ChainStatus};
use crate::db::models::users::{self, User};
use crate::db::models::{Actor, tokens};
use crate::db::{DbConn, DbError, Missing, write_tx};
use crate::domain::liaison::{FieldError, Problem, check_email};
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
    /// A value refused, naming its field (the e-mail address).
    #[error(transparent)]
    Field(#[from] FieldError),
}

/// Creates a user; `password` is `None` for a token-only (machine) user; `email`, if
/// given, must pass [`crate::domain::liaison::check_email`].
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    role: Role,
    agency: Option<Agency>,
    email: Option<&str>,
    password: Option<&str>,
) -> Result<User, AccountError> {
    let email = email
        .map(|e| check_email(e).map_err(|p| FieldError::new("email", Problem::Email(p))))
        .transpose()?;
    let hash = match password {
        Some(p) => {
            check_password_policy(p)?;
            Some(hash_password(p)?)
        }
        None => None,
    };
    Ok(insert_audited(
        conn,
        actor,
        username,
        role,
        agency,
        email.as_deref(),
        hash,
    )?)
}

/// [`create`] with the password already hashed (the first admin, test set-ups).
pub fn create_hashed(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    role: Role,
    agency: Option<Agency>,
    password_hash: Option<String>,
) -> Result<User, DbError> {
    insert_audited(conn, actor, username, role, agency, None, password_hash)
}

fn insert_audited(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    role: Role,
    agency: Option<Agency>,
    email: Option<&str>,
    password_hash: Option<String>,
) -> Result<User, DbError> {
    write_tx(conn, |c| {
        let user = users::insert(c, username, role, agency, email, password_hash)?;
        audit::append(
            c,
            actor,
            Event {
                action: "user.create",
                object_type: "user",
                object_id: &user.id.to_string(),
                detail: json!({"username": user.username, "role": role, "agency": agency, "email": user.email}),
            },
        )?;
        Ok(user)
    })
}

pub fn list(conn: &mut DbConn) -> Result<Vec<User>, DbError> {
    users::list(conn)
}

/// Gives a user another role (ending their sessions), audited.
pub fn set_role(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    role: Role,
    agency: Option<Agency>,
) -> Result<User, DbError> {
    write_tx(conn, |c| {
        let (before, after) = users::update_role(c, username, role, agency)?;
        audit::append(
            c,
            actor,
            Event {
                action: "user.set_role",
                object_type: "user",
                object_id: &before.id.to_string(),
                detail: json!({
                    "username": before.username,
                    "from": {"role": before.role, "agency": before.agency},
                    "to": {"role": role, "agency": agency},
                }),
            },
        )?;
        Ok(after)
    })
}

/// Disables (ending their sessions) or enables a user, audited.
pub fn set_disabled(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    disabled: bool,
) -> Result<User, DbError> {
    write_tx(conn, |c| {
        let user = users::update_disabled(c, username, disabled)?;
        audit::append(
            c,
            actor,
            Event {
                action: if disabled { "user.disable" } else { "user.enable" },
                object_type: "user",
                object_id: &user.id.to_string(),
                detail: json!({"username": user.username}),
            },
        )?;
        Ok(user)
    })
}

/// Sets a new password (ending the user's sessions), audited.
pub fn set_password(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    password: &str,
) -> Result<(), AccountError> {
    check_password_policy(password)?;
    let hash = hash_password(password)?;
    Ok(write_tx(conn, |c| {
        let user = users::update_password(c, username, hash)?;
        audit::append(
            c,
            actor,
            Event {
                action: "user.set_password",
                object_type: "user",
                object_id: &user.id.to_string(),
                detail: json!({"username": user.username}),
            },
        )
    })?)
}

/// Creates an API token for `username` that never expires; the plaintext is returned once
/// and never stored.
pub fn create_token(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    label: &str,
) -> Result<String, DbError> {
    issue_token(conn, actor, username, label, None).map(|t| t.token)
}

/// A token just issued: the plaintext (shown once) and what is stored about it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub token: String,
    #[serde(flatten)]
    pub info: tokens::TokenInfo,
}

/// Creates an API token for `username`, valid for `expires_in_days` when given (audited).
pub fn issue_token(
    conn: &mut DbConn,
    actor: &Actor,
    username: &str,
    label: &str,
    expires_in_days: Option<u32>,
) -> Result<IssuedToken, DbError> {
    let token = new_secret(tokens::TOKEN_PREFIX).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let hash = secret_hash(&token);
    let expires_at = expires_in_days.map(|d| crate::db::models::now() + chrono::Duration::days(i64::from(d)));
    let info = write_tx(conn, |c| {
        let user = users::require(c, username)?;
        let id = tokens::insert(c, &user, &hash, label, expires_at)?;
        audit::append(
            c,
            actor,
            Event {
                action: "token.create",
                object_type: "user",
                object_id: &user.id.to_string(),
                // The hash prefix identifies the token in the log without revealing it.
                detail: json!({"username": user.username, "label": label, "token_id": id,
                    "expires_at": expires_at, "token_sha256_prefix": &hash[..12]}),
            },
        )?;
        tokens::find(c, id)?.ok_or(DbError::NotFound(Missing::Stored("token")))
    })?;
    Ok(IssuedToken { token, info })
}

/// A user's tokens (never their secrets), newest first.
pub fn list_tokens(conn: &mut DbConn, username: &str) -> Result<Vec<tokens::TokenInfo>, DbError> {
    let user = users::require(conn, username)?;
    tokens::list_for_user(conn, user.id)
}

/// Revokes token `id` for good (audited); revoking a revoked token changes nothing.
pub fn revoke_token(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<tokens::TokenInfo, DbError> {
    write_tx(conn, |c| {
        let token = tokens::find(c, id)?.ok_or(DbError::NotFound(Missing::Token(id)))?;
        if !token.revoked {
            tokens::revoke(c, id)?;
            audit::append(
                c,
                actor,
                Event {
                    action: "token.revoke",
                    object_type: "user",
                    object_id: &token.user_id.to_string(),
                    detail: json!({"token_id": id, "label": token.label}),
                },
            )?;
        }
        tokens::find(c, id)?.ok_or(DbError::NotFound(Missing::Token(id)))
    })
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
    match create_hashed(conn, actor, OPERATOR, Role::Kemner, None, None) {
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

//! Users and roles.

use diesel::prelude::*;
use serde::Serialize;

use super::now;
use crate::db::schema::{sessions, users};
use crate::db::{DbConn, DbError};
use crate::domain::roles::{Agency, Role, RoleError, validate_role_agency};

/// A user change that the rules forbid. `Display` is Norwegian (CLI, pages);
/// [`UserError::english`] is for API clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// The change would leave the service without an enabled administrator, and so
    /// without anyone who can manage users through the web or the API.
    #[error(
        "«{username}» er den siste aktive administratoren og kan ikke {}; gi først en annen bruker rollen admin",
        .change.norwegian()
    )]
    LastAdmin { username: String, change: AdminChange },
    /// A role and agency that do not go together.
    #[error(transparent)]
    Role(#[from] RoleError),
}

/// What would have removed the last administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    Demote,
    Disable,
}

impl AdminChange {
    fn norwegian(self) -> &'static str {
        match self {
            AdminChange::Demote => "miste rollen admin",
            AdminChange::Disable => "deaktiveres",
        }
    }

    fn english(self) -> &'static str {
        match self {
            AdminChange::Demote => "given another role",
            AdminChange::Disable => "disabled",
        }
    }
}

impl UserError {
    pub fn english(&self) -> String {
        match self {
            UserError::LastAdmin { username, change } => format!(
                "'{username}' is the last enabled administrator and cannot be {}; give another user the role admin first",
                change.english()
            ),
            UserError::Role(e) => e.english(),
        }
    }
}

/// Refuses a change to `before` that would leave no enabled administrator. Runs inside the
/// write transaction, which serialises writers (see `write_tx`), so two admins demoting
/// each other at once cannot both succeed.
fn keep_an_admin(c: &mut DbConn, before: &User, change: AdminChange) -> Result<(), DbError> {
    if before.role != Role::Admin || before.disabled {
        return Ok(());
    }
    let others: i64 = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .filter(users::id.ne(before.id))
        .count()
        .get_result(c)?;
    if others == 0 {
        return Err(UserError::LastAdmin {
            username: before.username.clone(),
            change,
        }
        .into());
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    username: String,
    role: String,
    agency: Option<String>,
    password_hash: Option<String>,
    disabled: bool,
    created_at: chrono::NaiveDateTime,
    email: Option<String>,
}

/// A user as the rest of the service sees it (never carries the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub agency: Option<Agency>,
    pub disabled: bool,
    pub created_at: chrono::NaiveDateTime,
    /// Where mail to this user goes, if anywhere.
    pub email: Option<String>,
}

impl TryFrom<UserRow> for User {
    type Error = DbError;
    fn try_from(r: UserRow) -> Result<Self, DbError> {
        let role = r
            .role
            .parse()
            .map_err(|e| DbError::Corrupt(format!("user {}: {e}", r.username)))?;
        let agency = match r.agency {
            Some(a) => Some(
                a.parse()
                    .map_err(|e| DbError::Corrupt(format!("user {}: {e}", r.username)))?,
            ),
            None => None,
        };
        Ok(User {
            id: r.id,
            username: r.username,
            role,
            agency,
            disabled: r.disabled,
            created_at: r.created_at,
            email: r.email,
        })
    }
}

/// User names: 2–64 characters of letters, digits, `.`, `-`, `_`, `@`; stored lower-case
/// so that `Kari` and `kari` are one person.
pub fn normalise_username(name: &str) -> Result<String, DbError> {
    let n = name.trim().to_lowercase();
    let ok = (2..=64).contains(&n.chars().count())
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(n)
    } else {
        Err(DbError::Invalid(format!(
            "ugyldig brukernavn «{name}»: 2–64 tegn, bokstaver, siffer og . - _ @"
        )))
    }
}

pub fn count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> Result<Option<User>, DbError> {
    let Ok(name) = normalise_username(username) else {
        return Ok(None);
    };
    users::table
        .filter(users::username.eq(name))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

pub fn find_by_id(conn: &mut DbConn, id: i64) -> Result<Option<User>, DbError> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

/// The user and their stored password hash, for login only.
pub fn find_for_login(conn: &mut DbConn, username: &str) -> Result<Option<(User, Option<String>)>, DbError> {
    let Ok(name) = normalise_username(username) else {
        return Ok(None);
    };
    let row: Option<UserRow> = users::table
        .filter(users::username.eq(name))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(r) => {
            let hash = r.password_hash.clone();
            Ok(Some((User::try_from(r)?, hash)))
        }
        None => Ok(None),
    }
}

pub fn list(conn: &mut DbConn) -> Result<Vec<User>, DbError> {
    users::table
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(User::try_from)
        .collect()
}

/// Inserts a user; `password_hash` is `None` for token-only (machine) users; `email` is
/// checked by the caller. A role/agency mismatch is [`UserError::Role`]. Runs inside the
/// caller's write transaction.
pub fn insert(
    c: &mut DbConn,
    username: &str,
    role: Role,
    agency: Option<Agency>,
    email: Option<&str>,
    password_hash: Option<String>,
) -> Result<User, DbError> {
    let name = normalise_username(username)?;
    validate_role_agency(role, agency).map_err(UserError::from)?;
    let exists: i64 = users::table
        .filter(users::username.eq(&name))
        .count()
        .get_result(c)?;
    if exists > 0 {
        return Err(DbError::Conflict(crate::db::Conflict::UserExists(name.clone())));
    }
    let t = now();
    diesel::insert_into(users::table)
        .values((
            users::username.eq(&name),
            users::role.eq(role.as_str()),
            users::agency.eq(agency.map(Agency::as_str)),
            users::password_hash.eq(password_hash),
            users::email.eq(email),
            users::disabled.eq(false),
            users::created_at.eq(t),
            users::updated_at.eq(t),
        ))
        .execute(c)?;
    find_by_username(c, &name)?.ok_or_else(|| DbError::NotFound(crate::db::Missing::Stored("user")))
}

pub fn require(conn: &mut DbConn, username: &str) -> Result<User, DbError> {
    find_by_username(conn, username)?
        .ok_or_else(|| DbError::NotFound(crate::db::Missing::User(username.trim().to_owned())))
}

/// Gives a user another role (and agency) and ends their sessions; returns the user before
/// and after. Refused with [`UserError`] for a role/agency mismatch, or when it would take
/// the role admin from the last enabled administrator. Runs inside the caller's write
/// transaction.
pub fn update_role(
    c: &mut DbConn,
    username: &str,
    role: Role,
    agency: Option<Agency>,
) -> Result<(User, User), DbError> {
    validate_role_agency(role, agency).map_err(UserError::from)?;
    let before = require(c, username)?;
    if role != Role::Admin {
        keep_an_admin(c, &before, AdminChange::Demote)?;
    }
    diesel::update(users::table.find(before.id))
        .set((
            users::role.eq(role.as_str()),
            users::agency.eq(agency.map(Agency::as_str)),
            users::updated_at.eq(now()),
        ))
        .execute(c)?;
    // A role change ends the user's sessions: the next request must sign in under the new role.
    diesel::delete(sessions::table.filter(sessions::user_id.eq(before.id))).execute(c)?;
    let after = require(c, username)?;
    Ok((before, after))
}

/// Disables (ending their sessions) or enables a user; refused with
/// [`UserError::LastAdmin`] for the last enabled administrator. Runs inside the caller's
/// write transaction.
pub fn update_disabled(c: &mut DbConn, username: &str, disabled: bool) -> Result<User, DbError> {
    let before = require(c, username)?;
    if disabled {
        keep_an_admin(c, &before, AdminChange::Disable)?;
    }
    diesel::update(users::table.find(before.id))
        .set((users::disabled.eq(disabled), users::updated_at.eq(now())))
        .execute(c)?;
    if disabled {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(before.id))).execute(c)?;
    }
    require(c, username)
}

/// Sets a new password hash and ends the user's sessions. Runs inside the caller's write
/// transaction.
pub fn update_password(c: &mut DbConn, username: &str, password_hash: String) -> Result<User, DbError> {
    let user = require(c, username)?;
    diesel::update(users::table.find(user.id))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now()),
        ))
        .execute(c)?;
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user.id))).execute(c)?;
    Ok(user)
}

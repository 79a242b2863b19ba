//! `/api/v1/users` and `/api/v1/audit/verify` (admin).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::models::Actor;
use crate::domain::roles::{Agency, Permission, Role};
use crate::service;
use crate::service::users::ChainStatus;
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::ApiUser;

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_list, list)
        .add(__path_create, create)
        .add(__path_set_role, set_role)
        .add(__path_set_disabled, set_disabled)
        .add(__path_list_tokens, list_tokens)
        .add(__path_issue_token, issue_token)
        .add(__path_revoke_token, revoke_token)
        .add(__path_verify_audit, verify_audit);
}

type User = crate::db::models::users::User;

/// Every user
#[utoipa::path(get, path = "/users", responses(
    (status = 200, description = "Every user, enabled or not.", body = Vec<User>),
))]
async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let list = state.db(service::users::list).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    role: Role,
    agency: Option<Agency>,
    /// Where mail to the user goes (optional).
    email: Option<String>,
    /// Omit for a machine user that signs in only with tokens.
    password: Option<String>,
}

/// Add a user
///
/// An `akrim` user must have an agency, and only an `akrim` user has one.
#[utoipa::path(post, path = "/users", request_body = NewUser, responses(
    (status = 201, description = "The user as stored.", body = User),
    (status = 409, description = "The user name is taken."),
    (status = 422, description = "A field is refused (`field` names it)."),
))]
async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let body = body.into_inner();
    let actor = Actor::user(&user.user.username);
    let created = state
        .db(move |c| {
            service::users::create(
                c,
                &actor,
                &body.username,
                body.role,
                body.agency,
                body.email.as_deref(),
                body.password.as_deref(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: Role,
    agency: Option<Agency>,
}

/// Give a user another role
///
/// Ends the user's sessions. The last enabled admin keeps the role (409 `last-admin`).
#[utoipa::path(put, path = "/users/{username}/role", request_body = RoleChange, responses(
    (status = 200, description = "The user as changed.", body = User),
    (status = 409, description = "The last enabled admin cannot be given another role."),
))]
async fn set_role(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<RoleChange>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let actor = Actor::user(&user.user.username);
    let target = path.into_inner();
    let updated = state
        .db(move |c| service::users::set_role(c, &actor, &target, body.role, body.agency))
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DisabledChange {
    disabled: bool,
}

/// Disable or enable a user
///
/// Disabling ends the user's sessions and stops their tokens. Nobody disables themselves
/// (400), and the last enabled admin stays enabled (409 `last-admin`).
#[utoipa::path(put, path = "/users/{username}/disabled", request_body = DisabledChange, responses(
    (status = 200, description = "The user as changed.", body = User),
    (status = 409, description = "The last enabled admin cannot be disabled."),
))]
async fn set_disabled(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<DisabledChange>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let actor = Actor::user(&user.user.username);
    let target = path.into_inner();
    if target.trim().eq_ignore_ascii_case(&user.user.username) && body.disabled {
        return Err(ApiError(AppError::BadRequest(
            "you cannot disable your own account".into(),
        )));
    }
    let updated = state
        .db(move |c| service::users::set_disabled(c, &actor, &target, body.disabled))
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

#[derive(Serialize, ToSchema)]
struct AuditVerification {
    intact: bool,
    entries_verified: i64,
    first_broken_entry: Option<i64>,
    problem: Option<String>,
}

/// Verify the audit chain
///
/// Walks the hash-chained audit log and names the first entry that does not fit, if any.
#[utoipa::path(get, path = "/audit/verify", responses(
    (status = 200, description = "Whether the chain is intact.", body = AuditVerification),
))]
async fn verify_audit(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadAuditLog)?;
    let status = state.db(service::users::verify_audit).await?;
    let body = match status {
        ChainStatus::Intact { entries } => AuditVerification {
            intact: true,
            entries_verified: entries,
            first_broken_entry: None,
            problem: None,
        },
        ChainStatus::Broken {
            verified,
            first_break,
        } => AuditVerification {
            intact: false,
            entries_verified: verified,
            first_broken_entry: Some(verified + 1),
            problem: Some(first_break.to_string()),
        },
    };
    Ok(HttpResponse::Ok().json(body))
}

/// A user's API tokens
///
/// Label, creation, last use, expiry and whether revoked; never the secret.
#[utoipa::path(get, path = "/users/{username}/tokens", responses(
    (status = 200, description = "The user's tokens, newest first.",
        body = Vec<crate::db::models::tokens::TokenInfo>),
))]
async fn list_tokens(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let name = path.into_inner();
    let list = state.db(move |c| service::users::list_tokens(c, &name)).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    label: String,
    /// Days until the token stops working; omit for a token that lasts until revoked.
    expires_days: Option<u32>,
}

/// Issue an API token
///
/// 201 with the token, shown this once, and what is stored about it.
#[utoipa::path(post, path = "/users/{username}/tokens", request_body = NewToken, responses(
    (status = 201, description = "The token (shown once) and what is stored about it.",
        body = crate::service::users::IssuedToken),
))]
async fn issue_token(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<NewToken>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let (name, body) = (path.into_inner(), body.into_inner());
    let actor = Actor::user(&user.user.username);
    let issued = state
        .db(move |c| service::users::issue_token(c, &actor, &name, &body.label, body.expires_days))
        .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Revoke an API token
#[utoipa::path(delete, path = "/tokens/{id}", responses(
    (status = 204, description = "Revoked (audited); revoking twice is no error."),
))]
async fn revoke_token(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let id = path.into_inner();
    let actor = Actor::user(&user.user.username);
    state
        .db(move |c| service::users::revoke_token(c, &actor, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

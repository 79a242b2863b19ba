//! `/api/v1/users` and `/api/v1/audit/verify` (admin).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::db::models::Actor;
use crate::domain::roles::{Agency, Permission, Role};
use crate::service;
use crate::service::users::ChainStatus;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::ApiUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/{username}/role", web::put().to(set_role))
        .route("/users/{username}/disabled", web::put().to(set_disabled))
        .route("/users/{username}/tokens", web::get().to(list_tokens))
        .route("/users/{username}/tokens", web::post().to(issue_token))
        .route("/tokens/{id}", web::delete().to(revoke_token))
        .route("/audit/verify", web::get().to(verify_audit));
}

async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let list = state.db(service::users::list).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize)]
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: Role,
    agency: Option<Agency>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisabledChange {
    disabled: bool,
}

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

#[derive(Serialize)]
struct AuditVerification {
    intact: bool,
    entries_verified: i64,
    first_broken_entry: Option<i64>,
    problem: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    label: String,
    /// Days until the token stops working; omit for a token that lasts until revoked.
    expires_days: Option<u32>,
}

/// 201 with the token, shown this once, and what is stored about it.
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

//! JSON API under `/api/v1`, for machine clients with bearer tokens.
//! Errors are `application/problem+json` (see `web::error`).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::ApiUser;
use super::error::{ApiError, AppError};
use crate::auth::{check_password_policy, hash_password};
use crate::db::DbError;
use crate::db::models::audit::{self, ChainStatus};
use crate::db::models::{Actor, users};
use crate::domain::roles::{Agency, Permission, Role};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/users", web::get().to(list_users))
        .route("/users", web::post().to(create_user))
        .route("/users/{username}/role", web::put().to(set_role))
        .route("/users/{username}/disabled", web::put().to(set_disabled))
        .route("/audit/verify", web::get().to(verify_audit));
}

async fn me(user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::SignedIn)?;
    Ok(HttpResponse::Ok().json(&user.user))
}

async fn list_users(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let pool = state.pool.clone();
    let list = web::block(move || users::list(&mut *pool.get()?)).await??;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    role: Role,
    agency: Option<Agency>,
    /// Omit for a machine user that signs in only with tokens.
    password: Option<String>,
}

async fn create_user(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let body = body.into_inner();
    if let Some(p) = &body.password {
        check_password_policy(p).map_err(|e| ApiError(AppError::BadRequest(e.to_string())))?;
    }
    let pool = state.pool.clone();
    let actor = Actor::user(&user.user.username);
    let created = web::block(move || -> Result<users::User, ApiError> {
        let hash = match &body.password {
            Some(p) => Some(hash_password(p).map_err(|e| ApiError(AppError::Internal(e.to_string())))?),
            None => None,
        };
        let mut conn = pool.get().map_err(DbError::from)?;
        Ok(users::create(
            &mut conn,
            &actor,
            &body.username,
            body.role,
            body.agency,
            hash,
        )?)
    })
    .await??;
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
    let pool = state.pool.clone();
    let actor = Actor::user(&user.user.username);
    let target = path.into_inner();
    let updated =
        web::block(move || users::set_role(&mut *pool.get()?, &actor, &target, body.role, body.agency))
            .await??;
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
    let pool = state.pool.clone();
    let actor = Actor::user(&user.user.username);
    let target = path.into_inner();
    if target.trim().eq_ignore_ascii_case(&user.user.username) && body.disabled {
        return Err(ApiError(AppError::BadRequest(
            "you cannot disable your own account".into(),
        )));
    }
    let updated =
        web::block(move || users::set_disabled(&mut *pool.get()?, &actor, &target, body.disabled)).await??;
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
    let pool = state.pool.clone();
    let status = web::block(move || audit::verify(&mut *pool.get()?)).await??;
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

//! `/api/v1/suppliers`: register facts, approval statuses and enrichment state (Kemneren),
//! a fresh look-up on request, and the supplier-level assessment.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::db::models::Actor;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ApiUser, OrgNrPath};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/suppliers", web::get().to(list))
        .route("/suppliers/{orgnr}", web::get().to(show))
        .route("/suppliers/{orgnr}/refresh", web::post().to(refresh))
        .route("/suppliers/{orgnr}/assessment", web::get().to(assessment));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let (page, per_page) = (query.page.unwrap_or(1), query.per_page.unwrap_or(100));
    let (total, items) = state
        .db(move |c| service::suppliers::list(c, page, per_page))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"total": total, "page": page.max(1), "items": items})))
}

async fn show(state: web::Data<AppState>, user: ApiUser, orgnr: OrgNrPath) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let view = state.db(move |c| service::suppliers::show(c, &orgnr.0)).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn refresh(
    state: web::Data<AppState>,
    user: ApiUser,
    orgnr: OrgNrPath,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let actor = Actor::user(&user.user.username);
    let job = state
        .db(move |c| service::suppliers::refresh(c, &actor, &orgnr.0))
        .await?;
    Ok(HttpResponse::Accepted().json(job))
}

async fn assessment(
    state: web::Data<AppState>,
    user: ApiUser,
    orgnr: OrgNrPath,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let active = state.rule_set();
    let view = state
        .db(move |c| service::contracts::supplier_assessment(c, &active, &orgnr.0))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

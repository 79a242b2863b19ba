//! `/api/v1/suppliers`: register facts, approval statuses and enrichment state (Kemneren),
//! a fresh look-up on request, and the supplier-level assessment.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::db::models::Actor;
use crate::domain::paging::PagingError;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::{ApiUser, OrgNrPath};

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_list, list)
        .add(__path_show, show)
        .add(__path_refresh, refresh)
        .add(__path_assessment, assessment);
}

/// The organisation number in the path (checked with MOD11; 400 when it is not one).
#[derive(utoipa::IntoParams)]
#[into_params(names("orgnr"), parameter_in = Path)]
#[allow(dead_code)]
struct OrgNrParam(
    /// Nine digits, e.g. `987654325`.
    String,
);

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// From 1 (default 1).
    page: Option<i64>,
    /// 1 to 500 (default 100).
    per_page: Option<i64>,
    /// The `next_cursor` of the previous page: the page after it. Not together with `page`.
    cursor: Option<String>,
}

/// Suppliers
///
/// One page of suppliers with their register state, by org number: `total` (exact up to
/// 10 000, see `total_exact`), `page`, `next_cursor`, `items`.
#[utoipa::path(get, path = "/suppliers", params(PageQuery), responses(
    (status = 200, description = "One page of suppliers.", body = Object),
))]
async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let q = query.into_inner();
    if q.page.is_some() && q.cursor.is_some() {
        return Err(ApiError(AppError::Paging(PagingError::PageAndCursor)));
    }
    let (page, per_page) = (q.page.unwrap_or(1), q.per_page.unwrap_or(100));
    let list = state
        .db(move |c| service::suppliers::list(c, page, per_page, q.cursor.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A supplier
///
/// What Enhetsregisteret and the approval registers say about the supplier, and the state
/// of its look-ups.
#[utoipa::path(get, path = "/suppliers/{orgnr}", params(OrgNrParam), responses(
    (status = 200, description = "The supplier's facts and approval statuses.", body = Object),
))]
async fn show(state: web::Data<AppState>, user: ApiUser, orgnr: OrgNrPath) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let view = state.db(move |c| service::suppliers::show(c, &orgnr.0)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Look a supplier up again
///
/// Queues a fresh look-up in Enhetsregisteret; the worker does it shortly.
#[utoipa::path(post, path = "/suppliers/{orgnr}/refresh", params(OrgNrParam), responses(
    (status = 202, description = "The queued look-up (`null` when the supplier needs none).",
        body = Option<crate::db::models::suppliers::Job>),
))]
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

/// A supplier's assessment
///
/// The supplier-level indicators of the rule set in force, explained.
#[utoipa::path(get, path = "/suppliers/{orgnr}/assessment", params(OrgNrParam), responses(
    (status = 200, description = "The explained assessment.", body = Object),
))]
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

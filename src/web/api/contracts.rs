//! `/api/v1/contracts`: contracts with their current risk, one contract's assessment, and
//! moving a contract to another owner.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::db::models::Actor;
use crate::db::models::contracts::{ContractFilter, ContractSort};
use crate::domain::paging::PagingError;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::{ApiUser, uploader_scope};

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_list, list)
        .add(__path_assessment, assessment)
        .add(__path_move_owner, move_owner);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ContractQuery {
    unit: Option<String>,
    supplier: Option<String>,
    category: Option<String>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    /// One tier id, or several separated by commas (`hoy,kritisk`).
    tier: Option<String>,
    industry: Option<String>,
    /// `score` (highest first, unscored last) is the default.
    #[param(inline)]
    sort: Option<ContractSort>,
    /// From 1 (default 1). Deep pages skip rows; `cursor` does not.
    page: Option<i64>,
    /// 1 to 500 (default 100).
    per_page: Option<i64>,
    /// The `next_cursor` of the previous page (same filter and sort): the page after it,
    /// found by an index seek at any depth. Not together with `page`.
    cursor: Option<String>,
}

/// Contracts with their current risk
///
/// One page of the contracts the caller may see (their own; every contract for Kemneren),
/// filtered and sorted; ties by contract id in the sort's direction. Page by `page`, or by `cursor`
/// with the `next_cursor` of the page before. `total` is exact up to 10 000
/// (`total_exact`); beyond that the count stops and says so.
#[utoipa::path(get, path = "/contracts", params(ContractQuery), responses(
    (status = 200, description = "One page of contracts, each with its current risk (`null` until scored).",
        body = crate::db::models::contracts::ContractPage),
))]
async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let q = query.into_inner();
    if q.page.is_some() && q.cursor.is_some() {
        return Err(ApiError(AppError::Paging(PagingError::PageAndCursor)));
    }
    let filter = ContractFilter {
        unit: q.unit,
        supplier: q.supplier,
        category: q.category,
        active_from: q.from,
        active_to: q.to,
        visible_to_owner: uploader_scope(&user.user),
        tiers: q.tier.map(|t| {
            t.split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect()
        }),
        industry: q.industry,
        sort: q.sort.unwrap_or_default(),
        page: q.page.unwrap_or(1),
        per_page: q.per_page.unwrap_or(100),
        after: q.cursor,
        ..ContractFilter::default()
    };
    let counts = state.counts.clone();
    let page = state
        .db(move |c| service::contracts::list_remembering(c, &filter, &counts))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A contract's assessment
///
/// The current assessment explained, and the history; 404 for a contract the caller may
/// not see, exactly as for one that does not exist.
#[utoipa::path(get, path = "/contracts/{id}/assessment", responses(
    (status = 200, description = "The contract, its explained assessment and the history.", body = Object),
))]
async fn assessment(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let id = path.into_inner();
    let scope = uploader_scope(&user.user);
    let active = state.rule_set();
    let view = state
        .db(move |c| service::contracts::assessment(c, &active, id, scope))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OwnerBody {
    /// The user name of the new owner.
    owner: String,
}

/// Move a contract to another owner
///
/// Gives the contract to another owner, an enabled innkjøper or kemner (Kemneren, the
/// administrator); 200 with the owners before and after, audited when it changed.
#[utoipa::path(put, path = "/contracts/{id}/owner", request_body = OwnerBody, responses(
    (status = 200, description = "The owners before and after.",
        body = crate::service::contracts::OwnerChange),
    (status = 422,
        description = "The new owner is unknown, disabled or may not own contracts (`field`: `owner`)."),
))]
async fn move_owner(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<OwnerBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::MoveContractOwners)?;
    let contract = service::contracts::ContractKey::Id(path.into_inner());
    let actor = Actor::user(&user.user.username);
    let owner = body.into_inner().owner;
    let change = state
        .db(move |c| service::contracts::move_owner(c, &actor, &contract, &owner))
        .await?;
    Ok(HttpResponse::Ok().json(change))
}

//! `/api/v1/liaisons`: the contacts at the A-krim agencies who receive mail (kemneren and
//! the admin). A refused value is 422 with the field named in `detail` and `field`.

use actix_web::{HttpResponse, web};

use crate::db::models::Actor;
use crate::domain::liaison::LiaisonDraft;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::ApiError;
use crate::web::extract::ApiUser;

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_list, list)
        .add(__path_create, create)
        .add(__path_update, update)
        .add(__path_remove, remove);
}

type Liaison = crate::db::models::liaisons::Liaison;

/// Liaisons
#[utoipa::path(get, path = "/liaisons", responses(
    (status = 200, description = "Every liaison.", body = Vec<Liaison>),
))]
async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageLiaisons)?;
    let list = state.db(service::liaisons::list).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Add a liaison
#[utoipa::path(post, path = "/liaisons", request_body = LiaisonDraft, responses(
    (status = 201, description = "The liaison as stored.", body = Liaison),
    (status = 422, description = "A refused value (`field` names it)."),
))]
async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<LiaisonDraft>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageLiaisons)?;
    let actor = Actor::user(&user.user.username);
    let rules = state.rule_set();
    let draft = body.into_inner();
    let created = state
        .db(move |c| service::liaisons::create(c, &actor, &rules, &draft))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Change a liaison
#[utoipa::path(put, path = "/liaisons/{id}", request_body = LiaisonDraft, responses(
    (status = 200, description = "The liaison as changed.", body = Liaison),
    (status = 422, description = "A refused value (`field` names it)."),
))]
async fn update(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<LiaisonDraft>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageLiaisons)?;
    let actor = Actor::user(&user.user.username);
    let rules = state.rule_set();
    let (id, draft) = (path.into_inner(), body.into_inner());
    let updated = state
        .db(move |c| service::liaisons::update(c, &actor, &rules, id, &draft))
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

/// Remove a liaison
#[utoipa::path(delete, path = "/liaisons/{id}", responses(
    (status = 204, description = "Removed (audited)."),
))]
async fn remove(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageLiaisons)?;
    let actor = Actor::user(&user.user.username);
    let id = path.into_inner();
    state
        .db(move |c| service::liaisons::remove(c, &actor, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

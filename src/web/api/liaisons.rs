//! `/api/v1/liaisons`: the contacts at the A-krim agencies who receive mail (kemneren and
//! the admin). A refused value is 422 with the field named in `detail` and `field`.

use actix_web::{HttpResponse, web};

use crate::db::models::Actor;
use crate::domain::liaison::LiaisonDraft;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/liaisons", web::get().to(list))
        .route("/liaisons", web::post().to(create))
        .route("/liaisons/{id}", web::put().to(update))
        .route("/liaisons/{id}", web::delete().to(remove));
}

async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageLiaisons)?;
    let list = state.db(service::liaisons::list).await?;
    Ok(HttpResponse::Ok().json(list))
}

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

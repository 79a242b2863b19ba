//! `/api/v1/draws`: publish, preview, read, export, verify and extend spot-check draws.
//! Thin handlers over [`crate::draws`]; Kemneren draws, A-krim partners read published draws.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::AppState;
use super::auth::ApiUser;
use super::error::{ApiError, AppError};
use crate::db::DbError;
use crate::domain::roles::Permission;
use crate::draws::{self, DrawError, DrawSpec, ShareInput};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/draws", web::post().to(create))
        .route("/draws", web::get().to(list))
        .route("/draws/{id}", web::get().to(show))
        .route("/draws/{id}/manifest", web::get().to(manifest))
        .route("/draws/{id}/verify", web::get().to(verify))
        .route("/draws/{id}/extend", web::post().to(extend));
}

impl From<DrawError> for ApiError {
    fn from(e: DrawError) -> Self {
        ApiError(match e {
            DrawError::Forbidden(_) => AppError::Forbidden,
            DrawError::NotFound(_) => AppError::NotFound(e.to_string()),
            DrawError::Invalid(_)
            | DrawError::UnknownContracts { .. }
            | DrawError::Sampling(_)
            | DrawError::Rules(_) => AppError::BadRequest(e.to_string()),
            DrawError::Unscored { .. }
            | DrawError::EmptyPopulation
            | DrawError::ManifestChanged { .. }
            | DrawError::Exhausted(_) => AppError::Conflict(e.to_string()),
            DrawError::Db(d) => d.into(),
            DrawError::Corrupt { .. } | DrawError::Random(_) => AppError::Internal(e.to_string()),
        })
    }
}

/// `POST /draws`: `"preview": true` answers 200 with population, strata and fingerprint and
/// stores nothing; otherwise the draw is published (201).
async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<DrawSpec>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::RunDraws)?;
    let spec = body.into_inner();
    let pool = state.pool.clone();
    let rules_dir = state.settings.rules_dir.clone();
    let who = user.user;
    if spec.preview {
        let p = web::block(move || -> Result<_, ApiError> {
            let rules = draws::load_rules(&rules_dir);
            let mut conn = pool.get().map_err(DbError::from)?;
            Ok(draws::preview(
                &mut conn,
                &who,
                &spec,
                rules.as_ref().map_err(String::as_str),
            )?)
        })
        .await??;
        return Ok(HttpResponse::Ok().json(p));
    }
    let published = web::block(move || -> Result<_, ApiError> {
        let rules = draws::load_rules(&rules_dir);
        let mut conn = pool.get().map_err(DbError::from)?;
        Ok(draws::publish(
            &mut conn,
            &who,
            &spec,
            rules.as_ref().map_err(String::as_str),
        )?)
    })
    .await??;
    Ok(HttpResponse::Created().json(published))
}

async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadPublishedDraws)?;
    let pool = state.pool.clone();
    let list = web::block(move || -> Result<_, ApiError> {
        let mut conn = pool.get().map_err(DbError::from)?;
        Ok(draws::list(&mut conn, 500)?)
    })
    .await??;
    Ok(HttpResponse::Ok().json(list))
}

async fn show(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadPublishedDraws)?;
    let pool = state.pool.clone();
    let id = path.into_inner();
    let view = web::block(move || -> Result<_, ApiError> {
        let mut conn = pool.get().map_err(DbError::from)?;
        Ok(draws::show(&mut conn, id)?)
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// The manifest as `text/plain`, the exact bytes that were hashed.
async fn manifest(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadPublishedDraws)?;
    let pool = state.pool.clone();
    let id = path.into_inner();
    let text = web::block(move || -> Result<_, ApiError> {
        let mut conn = pool.get().map_err(DbError::from)?;
        Ok(draws::manifest_text(&mut conn, id)?)
    })
    .await??;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"draw-{id}-manifest.tsv\""),
        ))
        .body(text))
}

/// Re-runs the draw; 200 either way, with `"ok": false` and the first mismatch when it fails.
async fn verify(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadPublishedDraws)?;
    let pool = state.pool.clone();
    let id = path.into_inner();
    let v = web::block(move || -> Result<_, ApiError> {
        let mut conn = pool.get().map_err(DbError::from)?;
        Ok(draws::verify_stored(&mut conn, id)?)
    })
    .await??;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendBody {
    /// How many more contracts.
    size: u64,
    /// Share of the new picks drawn uniformly (default: the draw's own).
    uniform_share: Option<ShareInput>,
}

async fn extend(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<ExtendBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::RunDraws)?;
    let pool = state.pool.clone();
    let id = path.into_inner();
    let body = body.into_inner();
    let who = user.user;
    let published = web::block(move || -> Result<_, ApiError> {
        let share = body.uniform_share.as_ref().map(ShareInput::parse).transpose()?;
        let mut conn = pool.get().map_err(DbError::from)?;
        Ok(draws::extend(&mut conn, &who, id, body.size, share)?)
    })
    .await??;
    Ok(HttpResponse::Created().json(published))
}

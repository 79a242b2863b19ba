//! `/api/v1/imports`: upload a register, list batches, read a batch's report.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ApiUser, read_upload, uploader_scope};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/imports", web::post().to(create))
        .route("/imports", web::get().to(list))
        .route("/imports/{id}", web::get().to(show));
}

/// 201 with the report when stored, 200 when already imported or a dry run.
async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    req: actix_web::HttpRequest,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ImportContracts)?;
    let upload = read_upload(&req, payload, state.settings.max_upload_bytes, None).await?;
    let report = upload.import(&state, &user.user).await?;
    let status = if report.batch_id.is_some() && !report.already_imported {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(report))
}

async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let scope = uploader_scope(&user.user);
    let list = state
        .db(move |c| service::imports::list_batches(c, scope, 500))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

async fn show(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let id = path.into_inner();
    let scope = uploader_scope(&user.user);
    let report = state
        .db(move |c| service::imports::batch_report(c, id, scope))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

//! `/api/v1/imports`: upload a register, list batches, read a batch's report.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::ApiError;
use crate::web::extract::{ApiUser, read_upload, uploader_scope};

type ImportReport = crate::db::models::imports::ImportReport;

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_create, create)
        .add(__path_list, list)
        .add(__path_show, show);
}

/// An upload form (`multipart/form-data`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct RegisterUpload {
    /// The register: xlsx, xlsm, xls, xlsb, ods or csv (UTF-8 or Windows-1252).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The sheet to read (default: the first that looks like a register).
    sheet: Option<String>,
    /// Column mapping, `field=Header;field=Header` (default: recognised headers).
    mapping: Option<String>,
    /// `true`: report only, store nothing.
    dry_run: Option<bool>,
}

/// Import a contract register
///
/// Reads the file, stores its contracts and suppliers and scores what it brought in before
/// answering. 201 with the report when stored, 200 when the same file was already imported
/// by the caller or for a dry run.
#[utoipa::path(post, path = "/imports",
    request_body(content = RegisterUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored: the import report.", body = ImportReport),
        (status = 200, description = "A dry run, or a file already imported: the report.",
            body = ImportReport),
        (status = 413, description = "The file is larger than the upload limit."),
        (status = 422, description = "The file cannot be read as a contract register."),
    ))]
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

/// Import batches
///
/// The caller's own batches (every batch for a role that sees every contract), newest first,
/// at most 500.
#[utoipa::path(get, path = "/imports", responses(
    (status = 200, description = "The batches.", body = Vec<crate::db::models::imports::BatchRow>),
))]
async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let scope = uploader_scope(&user.user);
    let list = state
        .db(move |c| service::imports::list_batches(c, scope, 500))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// An import's report
///
/// Counts, rejected rows and their reasons; 404 for another uploader's batch.
#[utoipa::path(get, path = "/imports/{id}", responses(
    (status = 200, description = "The import report.", body = ImportReport),
))]
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

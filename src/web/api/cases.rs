//! `/api/v1/cases`: case review by the A-krim partners (`service::cases`). 404 for a case
//! that does not exist or that the caller may not see (the same answer), 403 for a role that
//! does not work cases this way, 409 for a step the workflow refuses (confirming one's own
//! close proposal, closing twice), 422 naming the field for a refused value, 400 for a page
//! out of range.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::domain::roles::Permission;
use crate::service;
use crate::service::cases::CaseQuery;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::ApiUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cases", web::get().to(list))
        .route("/cases/{id}", web::get().to(show))
        .route("/cases/{id}/status", web::post().to(set_status))
        .route("/cases/{id}/assign", web::post().to(assign))
        .route("/cases/{id}/notes", web::post().to(add_note))
        .route("/cases/{id}/findings", web::post().to(add_finding))
        .route("/cases/{id}/close", web::post().to(propose_close))
        .route("/cases/{id}/close/confirm", web::post().to(confirm_close))
        .route("/cases/{id}/reopen", web::post().to(reopen))
        .route("/cases/{id}/shares", web::post().to(share))
        .route("/cases/{id}/shares/{agency}", web::delete().to(unshare))
        .route("/cases/{id}/evidence", web::post().to(add_evidence))
        .route("/cases/{id}/evidence/{evidence}", web::get().to(evidence_file))
        .route("/cases/{id}/document-requests", web::post().to(request_documents))
        .route(
            "/cases/{id}/document-requests/{request}/received",
            web::post().to(documents_received),
        );
}

/// Reading cases: those who work them, and innkjøpere for their own contracts' outcomes.
fn require_reader(user: &ApiUser) -> Result<(), ApiError> {
    if user.user.role.may(Permission::ReviewCases) {
        Ok(())
    } else {
        user.require(Permission::ReadCaseOutcomes)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    agency: Option<String>,
    /// `me`: only the cases assigned to the caller.
    assigned: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    require_reader(&user)?;
    let q = query.into_inner();
    let assigned_to_me = match q.assigned.as_deref().map(str::trim) {
        None => false,
        Some("me") => true,
        Some(other) => {
            return Err(ApiError(AppError::BadRequest(format!(
                "assigned='{other}' is not understood: the only value is 'me'"
            ))));
        }
    };
    let query = CaseQuery {
        status: q.status,
        agency: q.agency,
        assigned_to_me,
        page: q.page.unwrap_or(1),
        per_page: q.per_page.unwrap_or(100),
    };
    let who = user.user;
    let page = state.db(move |c| service::cases::list(c, &who, &query)).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn show(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    require_reader(&user)?;
    let (who, id) = (user.user, path.into_inner());
    let view = state.db(move |c| service::cases::show(c, &who, id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

async fn set_status(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, id, b) = (user.user, path.into_inner(), body.into_inner());
    let case = state
        .db(move |c| service::cases::set_status(c, &who, id, &b.status))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    user: String,
}

async fn assign(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, id, b) = (user.user, path.into_inner(), body.into_inner());
    let case = state
        .db(move |c| service::cases::assign(c, &who, id, &b.user))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

async fn add_note(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, id, b) = (user.user, path.into_inner(), body.into_inner());
    let case = state
        .db(move |c| service::cases::add_note(c, &who, id, &b.text))
        .await?;
    Ok(HttpResponse::Created().json(case))
}

/// Adds an evidence file (multipart, part `file`).
async fn add_evidence(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    req: actix_web::HttpRequest,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let limit = crate::domain::case::EVIDENCE_MAX_BYTES as u64;
    let upload = crate::web::extract::read_upload(&req, payload, limit, None).await?;
    let (who, id, dir) = (user.user, path.into_inner(), state.settings.data_dir.clone());
    let case = state
        .db(move |c| service::cases::add_evidence(c, &who, &dir, id, &upload.file_name, &upload.bytes))
        .await?;
    Ok(HttpResponse::Created().json(case))
}

/// The bytes of an evidence file, always as a download (never shown inline), under a
/// sandboxing content security policy.
async fn evidence_file(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, (id, evidence), dir) = (user.user, path.into_inner(), state.settings.data_dir.clone());
    let (row, bytes) = state
        .db(move |c| service::cases::evidence_file(c, &who, &dir, id, evidence))
        .await?;
    let ascii: String = row
        .file_name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ".-_ ".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = row
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        ))
        .insert_header(("Content-Security-Policy", "sandbox; default-src 'none'"))
        .body(bytes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentRequestBody {
    documents: Vec<String>,
    /// `yyyy-mm-dd`, today or later.
    deadline: chrono::NaiveDate,
    note: Option<String>,
}

async fn request_documents(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<DocumentRequestBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, id, b) = (user.user, path.into_inner(), body.into_inner());
    let case = state
        .db(move |c| {
            service::cases::request_documents(c, &who, id, &b.documents, b.deadline, b.note.as_deref())
        })
        .await?;
    Ok(HttpResponse::Created().json(case))
}

async fn documents_received(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, (id, request)) = (user.user, path.into_inner());
    let case = state
        .db(move |c| service::cases::documents_received(c, &who, id, request))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingBody {
    indicator: String,
    result: String,
}

async fn add_finding(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<FindingBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, id, b) = (user.user, path.into_inner(), body.into_inner());
    let rules = state.rule_set();
    let case = state
        .db(move |c| service::cases::add_finding(c, &who, &rules, id, &b.indicator, &b.result))
        .await?;
    Ok(HttpResponse::Created().json(case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    outcome: String,
}

async fn propose_close(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<CloseBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, id, b) = (user.user, path.into_inner(), body.into_inner());
    let case = state
        .db(move |c| service::cases::propose_close(c, &who, id, &b.outcome))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

async fn confirm_close(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, id) = (user.user, path.into_inner());
    let case = state
        .db(move |c| service::cases::confirm_close(c, &who, id))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReopenBody {
    #[serde(default)]
    reason: String,
}

async fn reopen(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<ReopenBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let (who, id, b) = (user.user, path.into_inner(), body.into_inner());
    let case = state
        .db(move |c| service::cases::reopen(c, &who, id, &b.reason))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    agency: String,
}

async fn share(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<ShareBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ShareCases)?;
    let (who, id, b) = (user.user, path.into_inner(), body.into_inner());
    let case = state
        .db(move |c| service::cases::share(c, &who, id, &b.agency))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

async fn unshare(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ShareCases)?;
    let (who, (id, agency)) = (user.user, path.into_inner());
    let case = state
        .db(move |c| service::cases::unshare(c, &who, id, &agency))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

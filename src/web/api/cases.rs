//! `/api/v1/cases`: case review by the A-krim partners (`service::cases`). 404 for a case
//! that does not exist or that the caller may not see (the same answer), 403 for a role that
//! does not work cases this way, 409 for a step the workflow refuses (confirming one's own
//! close proposal, closing twice), 422 naming the field for a refused value, 400 for a page
//! out of range.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::domain::paging::PagingError;
use crate::domain::roles::Permission;
use crate::service;
use crate::service::cases::{CaseDetail, CaseQuery};
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::ApiUser;

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_list, list)
        .add(__path_show, show)
        .add(__path_set_status, set_status)
        .add(__path_assign, assign)
        .add(__path_add_note, add_note)
        .add(__path_add_finding, add_finding)
        .add(__path_propose_close, propose_close)
        .add(__path_confirm_close, confirm_close)
        .add(__path_reopen, reopen)
        .add(__path_share, share)
        .add(__path_unshare, unshare)
        .add(__path_add_evidence, add_evidence)
        .add(__path_evidence_file, evidence_file)
        .add(__path_request_documents, request_documents)
        .add(__path_documents_received, documents_received);
}

/// What a change to a case answers (`service::cases::CaseDetail`).
const CASE_DETAIL: &str = "The case as it is now, with its events.";

/// Reading cases: those who work them, and innkjøpere for their own contracts' outcomes.
fn require_reader(user: &ApiUser) -> Result<(), ApiError> {
    if user.user.role.may(Permission::ReviewCases) {
        Ok(())
    } else {
        user.require(Permission::ReadCaseOutcomes)
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    status: Option<String>,
    agency: Option<String>,
    /// `me`: only the cases assigned to the caller.
    assigned: Option<String>,
    /// From 1 (default 1).
    page: Option<i64>,
    /// 1 to 500 (default 100).
    per_page: Option<i64>,
    /// The `next_cursor` of the previous page: the page after it. Not together with `page`.
    cursor: Option<String>,
}

/// Cases
///
/// One page of the cases the caller may see: every case for Kemneren, the cases shared with
/// their agency for an A-krim partner, the status and outcome of cases on their own
/// contracts for an innkjøper. Newest first; page by `page`, or by `cursor` with the
/// `next_cursor` of the page before. `total` is exact up to 10 000 (`total_exact`).
#[utoipa::path(get, path = "/cases", params(ListQuery), responses(
    (status = 200,
        description = "One page of cases: in full for those who work them, status and outcome for an innkjøper.",
        body = service::cases::CasePage),
    (status = 422, description = "An unknown status or agency (`field` names it)."),
))]
async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    require_reader(&user)?;
    let q = query.into_inner();
    if q.page.is_some() && q.cursor.is_some() {
        return Err(ApiError(AppError::Paging(PagingError::PageAndCursor)));
    }
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
        after: q.cursor,
    };
    let who = user.user;
    let page = state.db(move |c| service::cases::list(c, &who, &query)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A case
///
/// In full for those who work it (a partner's read is audited); status and outcome for an
/// innkjøper whose contract it is.
#[utoipa::path(get, path = "/cases/{id}", responses(
    (status = 200,
        description = "The case: in full for those who work it, status and outcome for an innkjøper.",
        body = service::cases::CaseView),
))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

/// Set a case's status
#[utoipa::path(post, path = "/cases/{id}/status", request_body = StatusBody, responses(
    (status = 200, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The workflow does not allow this step."),
    (status = 422, description = "An unknown status (`field`: `status`)."),
))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    user: String,
}

/// Assign a case to someone who may work it
#[utoipa::path(post, path = "/cases/{id}/assign", request_body = AssignBody, responses(
    (status = 200, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The workflow does not allow this step (a closed case)."),
    (status = 422, description = "The user may not work this case (`field`: `user`)."),
))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

/// Add a note to a case
#[utoipa::path(post, path = "/cases/{id}/notes", request_body = NoteBody, responses(
    (status = 201, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The workflow does not allow this step (a closed case)."),
    (status = 422, description = "An empty or too long note (`field`: `text`)."),
))]
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

/// An evidence upload (`multipart/form-data`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct EvidenceUpload {
    /// The file: PDF, PNG, JPEG, plain text or Office (zip), at most 20 MB, as found from the
    /// bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Add an evidence file to a case
///
/// Multipart, part `file`. Stored outside any web root by its SHA-256.
#[utoipa::path(post, path = "/cases/{id}/evidence",
    request_body(content = EvidenceUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = CASE_DETAIL, body = CaseDetail),
        (status = 409, description = "The workflow does not allow this step (a closed case)."),
        (status = 413, description = "The file is larger than 20 MB."),
        (status = 422, description = "A kind of file that is not accepted (`field`: `file`)."),
    ))]
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

/// An evidence file
///
/// The bytes of an evidence file, always as a download (never shown inline), under a
/// sandboxing content security policy; SHA-256 checked on every read.
#[utoipa::path(get, path = "/cases/{id}/evidence/{evidence}", responses(
    (status = 200, description = "The file, as an attachment, with its stored content type.",
        content_type = "application/octet-stream", body = Vec<u8>),
))]
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
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header(("Content-Disposition", crate::web::attachment(&row.file_name)))
        .insert_header(("Content-Security-Policy", "sandbox; default-src 'none'"))
        .body(bytes))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DocumentRequestBody {
    documents: Vec<String>,
    /// `yyyy-mm-dd`, today or later.
    deadline: chrono::NaiveDate,
    note: Option<String>,
}

/// Ask the supplier for documents
///
/// Records which documents were asked for and by when.
#[utoipa::path(post, path = "/cases/{id}/document-requests", request_body = DocumentRequestBody, responses(
    (status = 201, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The workflow does not allow this step (a closed case)."),
    (status = 422, description = "A refused value (`field`: `documents`, `deadline` or `note`)."),
))]
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

/// Mark requested documents as received
///
/// 404 for a request that is not open on the case.
#[utoipa::path(post, path = "/cases/{id}/document-requests/{request}/received", responses(
    (status = 200, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The workflow does not allow this step (a closed case)."),
))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FindingBody {
    indicator: String,
    result: String,
}

/// Record a finding on one indicator of the rule set in force
#[utoipa::path(post, path = "/cases/{id}/findings", request_body = FindingBody, responses(
    (status = 201, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The workflow does not allow this step (a closed case)."),
    (status = 422, description = "An unknown indicator or result (`field` names it)."),
))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    outcome: String,
}

/// Propose to close a case with an outcome
///
/// Four eyes: someone else confirms the proposal.
#[utoipa::path(post, path = "/cases/{id}/close", request_body = CloseBody, responses(
    (status = 200, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The workflow does not allow this step (closed, or a proposal is open)."),
    (status = 422, description = "An unknown outcome (`field`: `outcome`)."),
))]
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

/// Confirm another person's close proposal
#[utoipa::path(post, path = "/cases/{id}/close/confirm", responses(
    (status = 200, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "No open proposal, or the caller made it (four eyes)."),
))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReopenBody {
    #[serde(default)]
    reason: String,
}

/// Reopen a closed case
#[utoipa::path(post, path = "/cases/{id}/reopen", request_body = ReopenBody, responses(
    (status = 200, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The case is not closed."),
    (status = 422, description = "No reason given (`field`: `reason`)."),
))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    agency: String,
}

/// Share a case with an agency (Kemneren)
#[utoipa::path(post, path = "/cases/{id}/shares", request_body = ShareBody, responses(
    (status = 200, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The case is shared with that agency already."),
    (status = 422, description = "An unknown agency (`field`: `agency`)."),
))]
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

/// Stop sharing a case with an agency (Kemneren)
#[utoipa::path(delete, path = "/cases/{id}/shares/{agency}", responses(
    (status = 200, description = CASE_DETAIL, body = CaseDetail),
    (status = 409, description = "The case is not shared with that agency."),
    (status = 422, description = "An unknown agency (`field`: `agency`)."),
))]
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

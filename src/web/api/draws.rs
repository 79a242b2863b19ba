//! `/api/v1/draws`: publish, preview, read, export, verify and extend spot-check draws.
//! Thin handlers over [`crate::service::draws`]; Kemneren draws, A-krim partners read published draws.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::domain::roles::Permission;
use crate::service::draws::{self, DrawSpec, ShareInput};
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::ApiError;
use crate::web::extract::ApiUser;

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_create, create)
        .add(__path_list, list)
        .add(__path_show, show)
        .add(__path_manifest, manifest)
        .add(__path_verify, verify)
        .add(__path_inspection_list, inspection_list)
        .add(__path_extend, extend);
}

/// Preview or publish a draw
///
/// `"preview": true` answers 200 with population, strata and fingerprint and stores
/// nothing; otherwise the draw is published (201), its cases opened and the liaisons told.
/// The algorithm is published in `docs/draws.md`.
#[utoipa::path(post, path = "/draws", request_body = DrawSpec, responses(
    (status = 201, description = "The published draw: id, manifest fingerprint, seed, picks.", body = Object),
    (status = 200, description = "The preview: population, strata, fingerprint.", body = Object),
    (status = 409,
        description = "Unscored contracts, an empty population, or a population changed since the preview."),
))]
async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<DrawSpec>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::RunDraws)?;
    let spec = body.into_inner();
    // The set that scored the contracts is the set that filters them.
    let rules = state.rule_set();
    let who = user.user;
    if spec.preview {
        let p = state.db(move |c| draws::preview(c, &who, &spec, &rules)).await?;
        return Ok(HttpResponse::Ok().json(p));
    }
    let published = state.db(move |c| draws::publish(c, &who, &spec, &rules)).await?;
    Ok(HttpResponse::Created().json(published))
}

/// Published draws
///
/// Newest first, at most 500.
#[utoipa::path(get, path = "/draws", responses(
    (status = 200, description = "The draws.", body = Vec<crate::service::draws::DrawSummary>),
))]
async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadPublishedDraws)?;
    let list = state.db(|c| draws::list(c, 500)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A draw
///
/// Its specification, seed, manifest fingerprint and picks.
#[utoipa::path(get, path = "/draws/{id}", responses(
    (status = 200, description = "The draw.", body = Object),
))]
async fn show(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadPublishedDraws)?;
    let id = path.into_inner();
    let view = state.db(move |c| draws::show(c, id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A draw's manifest
///
/// The manifest as `text/plain`, the exact bytes that were hashed.
#[utoipa::path(get, path = "/draws/{id}/manifest", responses(
    (status = 200, description = "The manifest (tab-separated), as an attachment.",
        content_type = "text/plain", body = String),
))]
async fn manifest(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadPublishedDraws)?;
    let id = path.into_inner();
    let text = state.db(move |c| draws::manifest_text(c, id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"draw-{id}-manifest.tsv\""),
        ))
        .body(text))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct InspectionQuery {
    /// The agency the list is for (default: the caller's own).
    agency: Option<String>,
    /// `xlsx` (the default) or `csv`.
    format: Option<String>,
}

/// A draw's inspection list
///
/// The inspection list of a draw for one agency, as a download (see
/// [`crate::service::inspection`]).
#[utoipa::path(get, path = "/draws/{id}/inspection-list", params(InspectionQuery), responses(
    (status = 200, description = "The list as a spreadsheet (xlsx, the default) or csv, as an attachment.",
        content(
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv"),
        )),
))]
async fn inspection_list(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    query: web::Query<InspectionQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReviewCases)?;
    let id = path.into_inner();
    let q = query.into_inner();
    let csv = match q.format.as_deref() {
        None | Some("xlsx") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(crate::web::error::AppError::BadRequest(format!(
                "unknown format '{other}': use xlsx or csv"
            ))
            .into());
        }
    };
    let (who, rules) = (user.user, state.rule_set());
    let (agency, table) = state
        .db(move |c| crate::service::inspection::inspection_list(c, &who, &rules, id, q.agency.as_deref()))
        .await?;
    let (body, content_type, ext) = if csv {
        (table.to_csv(), crate::export::CSV_CONTENT_TYPE, "csv")
    } else {
        let bytes = table
            .to_xlsx()
            .map_err(|e| crate::web::error::AppError::Internal(e.to_string()))?;
        (bytes, crate::export::XLSX_CONTENT_TYPE, "xlsx")
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"inspeksjonsliste-trekning-{id}-{}.{ext}\"",
                agency.as_str()
            ),
        ))
        .body(body))
}

/// Verify a draw
///
/// Re-runs the draw from its stored manifest and seed; 200 either way, with `"ok": false`
/// and the first mismatch when it fails.
#[utoipa::path(get, path = "/draws/{id}/verify", responses(
    (status = 200, description = "Whether the stored picks are what the algorithm gives.", body = Object),
))]
async fn verify(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadPublishedDraws)?;
    let id = path.into_inner();
    let v = state.db(move |c| draws::verify_stored(c, id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ExtendBody {
    /// How many more contracts.
    size: u64,
    /// Share of the new picks drawn uniformly (default: the draw's own).
    uniform_share: Option<ShareInput>,
}

/// Extend a draw
///
/// Draws more contracts from the same population with the same seed (a new published draw).
#[utoipa::path(post, path = "/draws/{id}/extend", request_body = ExtendBody, responses(
    (status = 201, description = "The extension, published.", body = Object),
    (status = 409, description = "The population is exhausted or changed."),
))]
async fn extend(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<ExtendBody>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::RunDraws)?;
    let id = path.into_inner();
    let body = body.into_inner();
    let who = user.user;
    let share = body
        .uniform_share
        .as_ref()
        .map(ShareInput::parse)
        .transpose()
        .map_err(crate::web::error::AppError::from)?;
    let rules = state.rule_set();
    let published = state
        .db(move |c| draws::extend(c, &who, id, body.size, share, &rules))
        .await?;
    Ok(HttpResponse::Created().json(published))
}

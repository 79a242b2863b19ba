//! JSON API under `/api/v1`, for machine clients with bearer tokens.
//! Errors are `application/problem+json` (see `web::error`).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::ApiUser;
use super::error::{ApiError, AppError};
use crate::auth::{check_password_policy, hash_password};
use crate::db::DbError;
use crate::db::models::audit::{self, ChainStatus};
use crate::db::models::{Actor, users};
use crate::domain::roles::{Agency, Permission, Role};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/users", web::get().to(list_users))
        .route("/users", web::post().to(create_user))
        .route("/users/{username}/role", web::put().to(set_role))
        .route("/users/{username}/disabled", web::put().to(set_disabled))
        .route("/audit/verify", web::get().to(verify_audit))
        .configure(import_routes)
        .configure(super::risk::routes)
        .configure(super::draws::routes);
}

async fn me(user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::SignedIn)?;
    Ok(HttpResponse::Ok().json(&user.user))
}

async fn list_users(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let pool = state.pool.clone();
    let list = web::block(move || users::list(&mut *pool.get()?)).await??;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    role: Role,
    agency: Option<Agency>,
    /// Omit for a machine user that signs in only with tokens.
    password: Option<String>,
}

async fn create_user(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let body = body.into_inner();
    if let Some(p) = &body.password {
        check_password_policy(p).map_err(|e| ApiError(AppError::BadRequest(e.to_string())))?;
    }
    let pool = state.pool.clone();
    let actor = Actor::user(&user.user.username);
    let created = web::block(move || -> Result<users::User, ApiError> {
        let hash = match &body.password {
            Some(p) => Some(hash_password(p).map_err(|e| ApiError(AppError::Internal(e.to_string())))?),
            None => None,
        };
        let mut conn = pool.get().map_err(DbError::from)?;
        Ok(users::create(
            &mut conn,
            &actor,
            &body.username,
            body.role,
            body.agency,
            hash,
        )?)
    })
    .await??;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChange {
    role: Role,
    agency: Option<Agency>,
}

async fn set_role(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<RoleChange>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let pool = state.pool.clone();
    let actor = Actor::user(&user.user.username);
    let target = path.into_inner();
    let updated =
        web::block(move || users::set_role(&mut *pool.get()?, &actor, &target, body.role, body.agency))
            .await??;
    Ok(HttpResponse::Ok().json(updated))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisabledChange {
    disabled: bool,
}

async fn set_disabled(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<DisabledChange>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageUsers)?;
    let pool = state.pool.clone();
    let actor = Actor::user(&user.user.username);
    let target = path.into_inner();
    if target.trim().eq_ignore_ascii_case(&user.user.username) && body.disabled {
        return Err(ApiError(AppError::BadRequest(
            "you cannot disable your own account".into(),
        )));
    }
    let updated =
        web::block(move || users::set_disabled(&mut *pool.get()?, &actor, &target, body.disabled)).await??;
    Ok(HttpResponse::Ok().json(updated))
}

#[derive(Serialize)]
struct AuditVerification {
    intact: bool,
    entries_verified: i64,
    first_broken_entry: Option<i64>,
    problem: Option<String>,
}

async fn verify_audit(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadAuditLog)?;
    let pool = state.pool.clone();
    let status = web::block(move || audit::verify(&mut *pool.get()?)).await??;
    let body = match status {
        ChainStatus::Intact { entries } => AuditVerification {
            intact: true,
            entries_verified: entries,
            first_broken_entry: None,
            problem: None,
        },
        ChainStatus::Broken {
            verified,
            first_break,
        } => AuditVerification {
            intact: false,
            entries_verified: verified,
            first_broken_entry: Some(verified + 1),
            problem: Some(first_break.to_string()),
        },
    };
    Ok(HttpResponse::Ok().json(body))
}

pub fn import_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/imports", web::post().to(create_import))
        .route("/imports", web::get().to(list_imports))
        .route("/imports/{id}", web::get().to(get_import))
        .route("/contracts", web::get().to(list_contracts))
        .route("/suppliers", web::get().to(list_suppliers))
        .route("/suppliers/{orgnr}", web::get().to(get_supplier))
        .route("/suppliers/{orgnr}/refresh", web::post().to(refresh_supplier));
}

/// Import options from form fields: `sheet`, `mapping` (`field=Header;…` or a JSON object), `dry_run`.
pub fn import_options(
    settings: &crate::config::Settings,
    fields: &std::collections::HashMap<String, String>,
) -> Result<(crate::import::ImportOptions, bool), AppError> {
    let mut opts = crate::import::ImportOptions {
        max_bytes: settings.max_upload_bytes,
        ..Default::default()
    };
    if let Some(s) = fields.get("sheet").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        opts.sheet = Some(s.to_owned());
    }
    if let Some(m) = fields.get("mapping").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let mapping = if m.starts_with('{') {
            serde_json::from_str(m)
                .map_err(|e| AppError::BadRequest(format!("Ugyldig kolonnetilordning: {e}")))?
        } else {
            crate::import::ColumnMapping::parse_spec(m).map_err(|e| AppError::BadRequest(e.to_string()))?
        };
        opts.mapping = Some(mapping);
    }
    let dry_run = fields
        .get("dry_run")
        .is_some_and(|v| matches!(v.trim(), "true" | "1" | "on" | "yes"));
    Ok((opts, dry_run))
}

async fn create_import(
    state: web::Data<AppState>,
    user: ApiUser,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ImportContracts)?;
    let upload = super::upload::read_upload(payload, state.settings.max_upload_bytes).await?;
    let report = super::upload::import(&state, &user.user, upload).await?;
    let status = if report.batch_id.is_some() && !report.already_imported {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(report))
}

/// Batches the caller may see: an innkjøper their own, Kemneren all.
/// `None` for roles that see every contract; the user's id for those who see their own imports.
pub(crate) fn uploader_scope(user: &users::User) -> Option<i64> {
    if user.role.may(Permission::ViewAllContracts) {
        None
    } else {
        Some(user.id)
    }
}

async fn list_imports(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let pool = state.pool.clone();
    let scope = uploader_scope(&user.user);
    let list =
        web::block(move || crate::db::models::imports::list_batches(&mut *pool.get()?, scope, 500)).await??;
    Ok(HttpResponse::Ok().json(list))
}

async fn get_import(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let pool = state.pool.clone();
    let id = path.into_inner();
    let scope = uploader_scope(&user.user);
    let report =
        web::block(move || crate::db::models::imports::visible_batch_report(&mut *pool.get()?, id, scope))
            .await??;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractQuery {
    unit: Option<String>,
    supplier: Option<String>,
    category: Option<String>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    /// One tier id, or several separated by commas (`hoy,kritisk`).
    tier: Option<String>,
    industry: Option<String>,
    sort: Option<crate::db::models::contracts::ContractSort>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list_contracts(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let q = query.into_inner();
    let filter = crate::db::models::contracts::ContractFilter {
        unit: q.unit,
        supplier: q.supplier,
        category: q.category,
        active_from: q.from,
        active_to: q.to,
        visible_to_uploader: uploader_scope(&user.user),
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
    };
    let pool = state.pool.clone();
    let page = web::block(move || crate::db::models::contracts::list(&mut *pool.get()?, &filter)).await??;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list_suppliers(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let pool = state.pool.clone();
    let (page, per_page) = (query.page.unwrap_or(1), query.per_page.unwrap_or(100));
    let (total, items) =
        web::block(move || crate::db::models::enrichment::list_suppliers(&mut *pool.get()?, page, per_page))
            .await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({"total": total, "page": page.max(1), "items": items})))
}

#[derive(Serialize)]
struct FactsView {
    source: String,
    outcome: String,
    fetched_at: chrono::NaiveDateTime,
    unit: Option<crate::brreg::UnitFacts>,
}

impl From<crate::db::models::enrichment::FactsRow> for FactsView {
    fn from(r: crate::db::models::enrichment::FactsRow) -> Self {
        FactsView {
            unit: r.unit_facts(),
            source: r.source,
            outcome: r.outcome,
            fetched_at: r.fetched_at,
        }
    }
}

#[derive(Serialize)]
struct SupplierView {
    orgnr: String,
    name: String,
    enrichment: Option<crate::db::models::enrichment::Job>,
    facts: Option<FactsView>,
    parent: Option<FactsView>,
    approvals: Vec<crate::db::models::enrichment::ApprovalStatus>,
}

pub(crate) fn canonical_orgnr(raw: &str) -> Result<String, ApiError> {
    crate::domain::orgnr::OrgNr::parse_lenient(raw)
        .map(|o| o.to_string())
        .map_err(|e| ApiError(AppError::BadRequest(e.to_string())))
}

async fn get_supplier(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use crate::db::models::enrichment as e;
    user.require(Permission::ViewAllContracts)?;
    let orgnr = canonical_orgnr(&path.into_inner())?;
    let pool = state.pool.clone();
    let view = web::block(move || -> Result<SupplierView, DbError> {
        let mut conn = pool.get()?;
        let name = e::supplier_name(&mut conn, &orgnr)?
            .ok_or_else(|| DbError::NotFound(format!("no supplier with org number {orgnr}")))?;
        let facts = e::latest_facts(&mut conn, &orgnr)?;
        let parent_orgnr = facts
            .as_ref()
            .and_then(|f| f.unit_facts())
            .and_then(|u| u.parent_orgnr);
        let parent = match &parent_orgnr {
            Some(p) => e::latest_facts(&mut conn, p)?,
            None => None,
        };
        Ok(SupplierView {
            approvals: e::approvals(&mut conn, &orgnr, parent_orgnr.as_deref())?,
            enrichment: e::job(&mut conn, &orgnr)?,
            facts: facts.map(FactsView::from),
            parent: parent.map(FactsView::from),
            orgnr,
            name,
        })
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

async fn refresh_supplier(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let orgnr = canonical_orgnr(&path.into_inner())?;
    let pool = state.pool.clone();
    let actor = Actor::user(&user.user.username);
    let job = web::block(move || -> Result<_, DbError> {
        let mut conn = pool.get()?;
        crate::db::models::enrichment::supplier_name(&mut conn, &orgnr)?
            .ok_or_else(|| DbError::NotFound(format!("no supplier with org number {orgnr}")))?;
        crate::db::write_tx(&mut conn, |c| {
            crate::db::models::enrichment::enqueue(c, std::slice::from_ref(&orgnr))?;
            audit::append(
                c,
                &actor,
                audit::Event {
                    action: "supplier.refresh",
                    object_type: "supplier",
                    object_id: &orgnr,
                    detail: serde_json::json!({}),
                },
            )
        })?;
        crate::db::models::enrichment::job(&mut conn, &orgnr)
    })
    .await??;
    Ok(HttpResponse::Accepted().json(job))
}

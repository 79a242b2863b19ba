//! HTTP interface: server-rendered Norwegian pages and the JSON API under `/api/v1`.
//! Handlers stay thin: extract, check the role, call `db::models` inside `web::block`.

pub mod api;
pub mod auth;
pub mod contract_pages;
pub mod draws;
pub mod error;
pub mod pages;
pub mod risk;
pub mod upload;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::throttle::{LoginThrottle, ThrottleLimits};
use crate::config::Settings;
use crate::db::{self, Pool};
use error::{ApiError, AppError, PageError};

/// Shared by every request.
pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    pub throttle: LoginThrottle,
    /// The rule set in force; `PUT /api/v1/rules` and reloads swap it atomically.
    pub rules: std::sync::Arc<crate::risk::ActiveRuleSet>,
}

impl AppState {
    pub fn new(pool: Pool, settings: Settings, rules: std::sync::Arc<crate::risk::ActiveRuleSet>) -> Self {
        AppState {
            pool,
            settings,
            throttle: LoginThrottle::new(ThrottleLimits::default()),
            rules,
        }
    }
}

/// All routes. Each handler checks its permission itself (see `auth::WebUser::require`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/static/style.css", web::get().to(pages::stylesheet))
        .route("/login", web::get().to(pages::login_form))
        .route("/login", web::post().to(pages::login_submit))
        .route("/logout", web::post().to(pages::logout))
        .route("/", web::get().to(pages::home))
        .route("/admin/users", web::get().to(pages::admin_users))
        .route("/admin/users", web::post().to(pages::admin_create_user))
        .route("/admin/audit", web::get().to(pages::admin_audit))
        .route("/imports", web::get().to(pages::imports))
        .route("/imports", web::post().to(pages::import_upload))
        .route("/imports/{id}", web::get().to(pages::import_report))
        .route("/contracts", web::get().to(contract_pages::list))
        .route("/contracts/{id}", web::get().to(contract_pages::detail))
        .service(web::scope("/api/v1").configure(api::routes))
        .default_service(web::to(not_found));
}

/// Starts the server on an already bound listener (tests bind port 0).
pub fn server(state: web::Data<AppState>, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    let json_limit = 1024 * 1024;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    .error_handler(|e, _| {
                        ApiError(AppError::BadRequest(format!("invalid JSON body: {e}"))).into()
                    }),
            )
            .app_data(web::FormConfig::default().limit(64 * 1024).error_handler(|e, _| {
                PageError(AppError::BadRequest(format!("Skjemaet kunne ikke leses: {e}"))).into()
            }))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError(AppError::BadRequest(e.to_string())).into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|e, _| ApiError(AppError::BadRequest(e.to_string())).into()),
            )
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "no-referrer"))
                    .add((
                        "Content-Security-Policy",
                        "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
                    )),
            )
            .wrap(TracingLogger::default())
            .configure(routes)
    })
    .workers(workers)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    match web::block(move || db::ping(&pool)).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "database unavailable"}))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "overloaded"})),
    }
}

async fn not_found(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    let what = format!("Ingen side på {}", req.path());
    if req.path().starts_with("/api/") {
        Err(ApiError(AppError::NotFound(format!("no resource at {}", req.path()))).into())
    } else {
        Err(PageError(AppError::NotFound(what)).into())
    }
}

//! HTTP interface: server-rendered Norwegian pages and the JSON API under `/api/v1`.
//!
//! A handler is four steps: extract (`extract`), authorise (`require`), one service call
//! through [`AppState::db`], respond. Errors are chosen in one place (`error`).

pub mod api;
pub mod error;
pub mod extract;
pub mod pages;
mod request_log;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::throttle::ThrottleLimits;
use crate::config::Settings;
use crate::db::{DbConn, DbError, Pool};
use crate::risk::RuleSet;
use crate::service::rules::ActiveRules;
use error::{ApiError, AppError, PageError};

/// How long a request waits for a database connection before it is answered 503 with
/// `Retry-After`: when the database is unreachable or every connection is busy, people and
/// load balancers learn it at once instead of after the pool's own time-out.
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// How many requests may wait for a database slot per connection of the pool; one more is
/// answered 503 at once. Enough for bursts (with 8 connections, 256 waiting), few enough
/// that a flood is turned away before it has queued for a second.
const WAITING_PER_CONNECTION: usize = 32;

/// Admission to database work. A request runs its database work only with one of as many
/// slots as the pool has connections, so the blocking threads never queue for connections;
/// the others wait for a slot in arrival order, at most [`POOL_WAIT`], and when too many
/// already wait the request is answered 503 at once. Under overload the service answers
/// quickly (503 with `Retry-After`) instead of holding every request until it times out.
struct Admission {
    slots: Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
}

impl Admission {
    fn new(connections: usize) -> Self {
        Admission {
            slots: Arc::new(tokio::sync::Semaphore::new(connections)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            max_waiting: connections.saturating_mul(WAITING_PER_CONNECTION),
        }
    }

    /// A slot, or [`AppError::Overloaded`] when too many wait or none came within [`POOL_WAIT`].
    async fn enter(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        use std::sync::atomic::Ordering;
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = Leave(&self.waiting);
        if waiting >= self.max_waiting {
            return Err(AppError::Overloaded(format!(
                "{waiting} requests already wait for the database"
            )));
        }
        match tokio::time::timeout(POOL_WAIT, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(AppError::Internal("the database slots are closed".into())),
            Err(_elapsed) => Err(AppError::Overloaded(format!(
                "no database slot within {} ms",
                POOL_WAIT.as_millis()
            ))),
        }
    }
}

/// Counts a waiting request out again however its wait ends (also when it is dropped).
struct Leave<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Shared by every request.
pub struct AppState {
    pool: Pool,
    admission: Admission,
    pub settings: Settings,
    /// The sign-in throttle's limits (its counts live in the database).
    pub throttle: ThrottleLimits,
    /// The rule set in force; swapped when a new set is activated (here or elsewhere).
    pub rules: Arc<ActiveRules>,
    /// Lists recently counted to the cap (`db::capped_count::CountMemo`).
    pub counts: Arc<crate::db::capped_count::CountMemo>,
}

impl AppState {
    pub fn new(pool: Pool, settings: Settings, rules: Arc<ActiveRules>) -> Self {
        let connections = usize::try_from(pool.max_size()).unwrap_or(1).max(1);
        AppState {
            pool,
            admission: Admission::new(connections),
            settings,
            throttle: ThrottleLimits::default(),
            rules,
            counts: Arc::default(),
        }
    }

    /// The rule set in force now.
    pub fn rule_set(&self) -> Arc<RuleSet> {
        self.rules.get()
    }

    /// Runs `f` with a database connection on the blocking pool, once admitted (see
    /// [`Admission`]: 503 within about a second when the service is overloaded). The one
    /// place where the web layer touches the connection pool: handlers call services
    /// through it.
    pub async fn db<T, E>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    ) -> Result<T, AppError>
    where
        T: Send + 'static,
        E: Into<AppError> + Send + 'static,
    {
        let slot = self.admission.enter().await?;
        let pool = self.pool.clone();
        web::block(move || -> Result<T, AppError> {
            // Held until the work is done, even when the client has gone meanwhile.
            let _slot = slot;
            // Normally at once: there are as many slots as connections. Longer only while
            // an import holds connections of its own (`pooled`), or the database is away.
            let mut conn = pool.get_timeout(POOL_WAIT).map_err(DbError::from)?;
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }

    /// Runs `f` on the blocking pool with the whole pool, for services that use several
    /// connections (an import stores on one and checkpoints on another).
    pub async fn pooled<T, E>(
        &self,
        f: impl FnOnce(&Pool) -> Result<T, E> + Send + 'static,
    ) -> Result<T, AppError>
    where
        T: Send + 'static,
        E: Into<AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || f(&pool).map_err(Into::into)).await?
    }

    /// Runs CPU-heavy work that needs no database (parsing a rule set) off the async workers.
    pub async fn compute<T, E>(f: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, AppError>
    where
        T: Send + 'static,
        E: Into<AppError> + Send + 'static,
    {
        web::block(move || f().map_err(Into::into)).await?
    }
}

/// All routes. Each handler checks its permission itself (see `auth::WebUser::require`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .configure(pages::routes)
        .service(web::scope("/api/v1").configure(api::routes))
        .configure(api::viewer::routes)
        .default_service(web::to(not_found));
}

/// Starts the server on an already bound listener (tests bind port 0).
pub fn server(state: web::Data<AppState>, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    let json_limit = 1024 * 1024;
    // Behind https, browsers are told to use nothing else (a year; the service's own host).
    let hsts = state.settings.secure_cookies();
    let server = HttpServer::new(move || {
        let mut headers = DefaultHeaders::new()
            .add(("X-Content-Type-Options", "nosniff"))
            .add(("X-Frame-Options", "DENY"))
            .add(("Referrer-Policy", "no-referrer"))
            .add((
                "Content-Security-Policy",
                "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
            ));
        if hsts {
            headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
        }
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
            .app_data(web::QueryConfig::default().error_handler(|e, req| bad_address(req, e.to_string())))
            .app_data(web::PathConfig::default().error_handler(|e, req| bad_address(req, e.to_string())))
            .wrap(actix_web::middleware::from_fn(error_pages_with_menu))
            .wrap(headers)
            .wrap(TracingLogger::<request_log::RequestLog>::new())
            .configure(routes)
    })
    .workers(workers)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

/// A `Content-Disposition` value that makes the browser save a file under `file_name`, never
/// show it: an ASCII fallback (anything else as `_`) and the exact name percent-encoded
/// (RFC 6266), so no name can break out of the header.
pub(crate) fn attachment(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ".-_ ".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Error pages keep the signed-in user's menu (see [`error::with_menu`]).
async fn error_pages_with_menu(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    error::with_menu(res).await
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db(crate::db::ping).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "database unavailable"}))
        }
    }
}

pub(crate) const BAD_ADDRESS: &str = "Adressen har en ugyldig verdi (for eksempel et sidetall som ikke er et helt tall). Gå tilbake og prøv igjen.";

/// A query or path that does not parse: problem+json with the parser's reason for the
/// API, a Norwegian error page for the pages.
fn bad_address(req: &HttpRequest, detail: String) -> actix_web::Error {
    if req.path().starts_with("/api/") {
        ApiError(AppError::BadRequest(detail)).into()
    } else {
        PageError(AppError::BadRequest(BAD_ADDRESS.to_owned())).into()
    }
}

async fn not_found(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    let error = AppError::NoRoute(req.path().to_owned());
    if req.path().starts_with("/api/") {
        Err(ApiError(error).into())
    } else {
        Err(PageError(error).into())
    }
}

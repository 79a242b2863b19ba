//! Server-rendered pages (Norwegian bokmål). Askama escapes all output.

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::auth::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, WebUser, client_address, cookie};
use super::error::{AppError, PageError};
use crate::auth::{constant_time_eq, hash_password, new_secret, verify_password};
use crate::db::models::audit::{self, ChainStatus, Event};
use crate::db::models::{Actor, sessions, users};
use crate::domain::roles::{Agency, Permission, Role};

/// The navigation every signed-in page shows; links depend on the role.
pub struct Nav {
    pub username: String,
    pub role_label: &'static str,
    pub csrf_token: String,
    pub links: Vec<(&'static str, &'static str)>,
}

impl Nav {
    pub(super) fn for_user(w: &WebUser) -> Self {
        let role = w.user.role;
        let mut links = vec![("/", "Oversikt")];
        if role.may(Permission::ViewOwnImports) {
            links.push(("/imports", "Import"));
            links.push(("/contracts", "Kontrakter"));
        }
        if role.may(Permission::ManageUsers) {
            links.push(("/admin/users", "Brukere"));
        }
        if role.may(Permission::ReadAuditLog) {
            links.push(("/admin/audit", "Revisjonslogg"));
        }
        Nav {
            username: w.user.username.clone(),
            role_label: role.label(),
            csrf_token: w.csrf_token.clone(),
            links,
        }
    }
}

pub(super) fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

pub(super) fn render(t: &impl Template) -> Result<String, PageError> {
    t.render()
        .map_err(|e| PageError(AppError::Internal(e.to_string())))
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../../static/style.css"))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf_token: String,
    username: String,
    error: Option<String>,
}

/// Renders the login form with a fresh double-submit CSRF token (there is no session yet).
fn login_page(
    state: &AppState,
    username: String,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, PageError> {
    let token = new_secret("").map_err(|e| PageError(AppError::Internal(e.to_string())))?;
    let body = render(&LoginPage {
        csrf_token: token.clone(),
        username,
        error,
    })?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie(
            LOGIN_CSRF_COOKIE,
            token,
            state.settings.secure_cookies(),
            3600,
        ))
        .body(body))
}

pub async fn login_form(state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    login_page(&state, String::new(), None, actix_web::http::StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf_token: String,
}

enum LoginOutcome {
    Success(sessions::NewSession),
    Failed,
}

pub async fn login_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let sent_cookie = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if sent_cookie.is_empty() || !constant_time_eq(&sent_cookie, &form.csrf_token) {
        return Err(PageError(AppError::Csrf));
    }
    let address = client_address(&req);
    let username = form.username.trim().to_lowercase();
    if let Err(retry_after) = state.throttle.check(&username, &address) {
        let (pool, name, addr) = (state.pool.clone(), username.clone(), address.clone());
        web::block(move || {
            let mut conn = pool.get()?;
            audit::record(
                &mut conn,
                &Actor(format!("anonymous@{addr}")),
                Event {
                    action: "login.throttled",
                    object_type: "user",
                    object_id: &name,
                    detail: json!({"address": addr}),
                },
            )
        })
        .await??;
        return Err(PageError(AppError::Throttled { retry_after }));
    }

    let pool = state.pool.clone();
    let ttl = chrono::Duration::hours(state.settings.session_hours);
    let (name, addr) = (username.clone(), address.clone());
    let outcome = web::block(move || -> Result<LoginOutcome, crate::db::DbError> {
        let mut conn = pool.get()?;
        let found = users::find_for_login(&mut conn, &name)?;
        // Verify even when the user is unknown, so timing does not reveal which names exist.
        let (user, reason) = match found {
            Some((user, Some(hash))) if verify_password(&hash, &form.password) => {
                if user.disabled {
                    (Some(user), Some("disabled"))
                } else {
                    (Some(user), None)
                }
            }
            Some((user, _)) => (Some(user), Some("wrong password")),
            None => {
                crate::auth::burn_password_time(&form.password);
                (None, Some("unknown user"))
            }
        };
        let object_id = user
            .as_ref()
            .map(|u| u.id.to_string())
            .unwrap_or_else(|| name.clone());
        match (user, reason) {
            (Some(user), None) => {
                let session = sessions::create(&mut conn, user.id, ttl)?;
                audit::record(
                    &mut conn,
                    &Actor::user(&user.username),
                    Event {
                        action: "login.success",
                        object_type: "user",
                        object_id: &object_id,
                        detail: json!({"address": addr}),
                    },
                )?;
                Ok(LoginOutcome::Success(session))
            }
            (_, reason) => {
                audit::record(
                    &mut conn,
                    &Actor(format!("anonymous@{addr}")),
                    Event {
                        action: "login.failure",
                        object_type: "user",
                        object_id: &object_id,
                        detail: json!({"username": name, "address": addr, "reason": reason}),
                    },
                )?;
                Ok(LoginOutcome::Failed)
            }
        }
    })
    .await??;

    match outcome {
        LoginOutcome::Success(session) => {
            state.throttle.record_success(&username);
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/"))
                .cookie(cookie(
                    SESSION_COOKIE,
                    session.cookie_value,
                    state.settings.secure_cookies(),
                    state.settings.session_hours * 3600,
                ))
                .cookie(expired(LOGIN_CSRF_COOKIE))
                .finish())
        }
        LoginOutcome::Failed => {
            state.throttle.record_failure(&username, &address);
            login_page(
                &state,
                form.username,
                Some("Feil brukernavn eller passord.".into()),
                actix_web::http::StatusCode::UNAUTHORIZED,
            )
        }
    }
}

fn expired(name: &str) -> Cookie<'static> {
    let mut c = Cookie::new(name.to_owned(), "");
    c.set_path("/");
    c.make_removal();
    c
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

pub async fn logout(
    state: web::Data<AppState>,
    user: WebUser,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf_token)?;
    let pool = state.pool.clone();
    let (cookie_value, username, id) = (
        user.cookie_value.clone(),
        user.user.username.clone(),
        user.user.id,
    );
    web::block(move || -> Result<(), crate::db::DbError> {
        let mut conn = pool.get()?;
        sessions::delete(&mut conn, &cookie_value)?;
        audit::record(
            &mut conn,
            &Actor::user(&username),
            Event {
                action: "logout",
                object_type: "user",
                object_id: &id.to_string(),
                detail: json!({}),
            },
        )
    })
    .await??;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .cookie(expired(SESSION_COOKIE))
        .finish())
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Nav,
    agency_label: Option<&'static str>,
}

pub async fn home(user: WebUser) -> Result<HttpResponse, PageError> {
    user.require(Permission::SignedIn)?;
    let page = HomePage {
        agency_label: user.user.agency.map(Agency::label),
        nav: Nav::for_user(&user),
    };
    Ok(html(render(&page)?))
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<users::User>,
    notice: Option<String>,
}

async fn users_page(
    state: &AppState,
    user: &WebUser,
    notice: Option<String>,
) -> Result<HttpResponse, PageError> {
    let pool = state.pool.clone();
    let list = web::block(move || {
        let mut conn = pool.get()?;
        users::list(&mut conn)
    })
    .await??;
    Ok(html(render(&UsersPage {
        nav: Nav::for_user(user),
        users: list,
        notice,
    })?))
}

pub async fn admin_users(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    users_page(&state, &user, None).await
}

#[derive(Deserialize)]
pub struct NewUserForm {
    csrf_token: String,
    username: String,
    role: String,
    agency: String,
    password: String,
}

pub async fn admin_create_user(
    state: web::Data<AppState>,
    user: WebUser,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageUsers)?;
    user.check_csrf(&form.csrf_token)?;
    let form = form.into_inner();
    let role: Role = form
        .role
        .parse()
        .map_err(|e: crate::domain::roles::RoleError| PageError(AppError::BadRequest(e.to_string())))?;
    let agency: Option<Agency> =
        match form.agency.trim() {
            "" => None,
            a => Some(a.parse().map_err(|e: crate::domain::roles::RoleError| {
                PageError(AppError::BadRequest(e.to_string()))
            })?),
        };
    crate::auth::check_password_policy(&form.password)
        .map_err(|e| PageError(AppError::BadRequest(e.to_string())))?;
    let pool = state.pool.clone();
    let actor = Actor::user(&user.user.username);
    let created = web::block(move || -> Result<users::User, PageError> {
        let hash = hash_password(&form.password).map_err(|e| PageError(AppError::Internal(e.to_string())))?;
        let mut conn = pool.get().map_err(crate::db::DbError::from)?;
        Ok(users::create(
            &mut conn,
            &actor,
            &form.username,
            role,
            agency,
            Some(hash),
        )?)
    })
    .await??;
    users_page(
        &state,
        &user,
        Some(format!("Brukeren «{}» er opprettet.", created.username)),
    )
    .await
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    nav: Nav,
    chain_ok: bool,
    chain_status: String,
    entries: Vec<audit::AuditRow>,
}

pub async fn admin_audit(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadAuditLog)?;
    let pool = state.pool.clone();
    let (status, entries) = web::block(move || -> Result<_, crate::db::DbError> {
        let mut conn = pool.get()?;
        Ok((audit::verify(&mut conn)?, audit::recent(&mut conn, 100)?))
    })
    .await??;
    let (chain_ok, chain_status) = match status {
        ChainStatus::Intact { entries } => (
            true,
            format!("Kjeden er intakt: {entries} hendelser kontrollert."),
        ),
        ChainStatus::Broken {
            verified,
            first_break,
        } => (
            false,
            format!("Kjeden er brutt etter {verified} gyldige hendelser: {first_break}"),
        ),
    };
    Ok(html(render(&AuditPage {
        nav: Nav::for_user(&user),
        chain_ok,
        chain_status,
        entries,
    })?))
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    nav: Nav,
    batches: Vec<crate::db::models::imports::BatchRow>,
    all: bool,
    max_mb: u64,
}

pub async fn imports(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewOwnImports)?;
    let all = user.user.role.may(Permission::ViewAllContracts);
    let scope = (!all).then_some(user.user.id);
    let pool = state.pool.clone();
    let batches =
        web::block(move || crate::db::models::imports::list_batches(&mut *pool.get()?, scope, 200)).await??;
    let page = ImportsPage {
        nav: Nav::for_user(&user),
        batches,
        all,
        max_mb: state.settings.max_upload_bytes / (1024 * 1024),
    };
    Ok(html(render(&page)?))
}

#[derive(Template)]
#[template(path = "import_report.html")]
struct ImportReportPage {
    nav: Nav,
    report: crate::db::models::imports::ImportReport,
}

pub async fn import_upload(
    state: web::Data<AppState>,
    user: WebUser,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ImportContracts)?;
    let upload = super::upload::read_upload(payload, state.settings.max_upload_bytes).await?;
    user.check_csrf(
        upload
            .fields
            .get("csrf_token")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
    let report = super::upload::import(&state, &user.user, upload).await?;
    Ok(html(render(&ImportReportPage {
        nav: Nav::for_user(&user),
        report,
    })?))
}

pub async fn import_report(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewOwnImports)?;
    let id = path.into_inner();
    let scope = (!user.user.role.may(Permission::ViewAllContracts)).then_some(user.user.id);
    let pool = state.pool.clone();
    let report =
        web::block(move || crate::db::models::imports::visible_batch_report(&mut *pool.get()?, id, scope))
            .await??;
    Ok(html(render(&ImportReportPage {
        nav: Nav::for_user(&user),
        report,
    })?))
}

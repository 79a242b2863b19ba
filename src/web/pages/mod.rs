//! Server-rendered pages (Norwegian bokmål), one file per feature. Askama escapes all output.

mod admin;
mod auth;
mod cases;
mod contracts;
pub mod format;
mod imports;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::error::{AppError, PageError};
use super::extract::WebUser;
use crate::domain::roles::{Agency, Permission};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/style.css", web::get().to(stylesheet))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login_submit))
        .route("/logout", web::post().to(auth::logout))
        .route("/", web::get().to(home))
        .route("/admin/users", web::get().to(admin::users))
        .route("/admin/users", web::post().to(admin::create_user))
        .route("/admin/audit", web::get().to(admin::audit))
        .route("/imports", web::get().to(imports::list))
        .route("/imports", web::post().to(imports::upload))
        .route("/imports/{id}", web::get().to(imports::report))
        .route("/contracts", web::get().to(contracts::list))
        .route("/contracts/{id}", web::get().to(contracts::detail))
        .route("/cases/{id}", web::get().to(cases::detail));
}

/// The navigation every signed-in page shows; links depend on the role.
pub struct Nav {
    pub username: String,
    pub role_label: &'static str,
    pub csrf_token: String,
    pub links: Vec<(&'static str, &'static str)>,
}

impl Nav {
    pub(crate) fn for_user(w: &WebUser) -> Self {
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

pub(crate) fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

pub(crate) fn render(t: &impl Template) -> Result<String, PageError> {
    t.render()
        .map_err(|e| PageError(AppError::Internal(e.to_string())))
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../../../static/style.css"))
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

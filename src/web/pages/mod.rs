//! Server-rendered pages (Norwegian bokmål), one file per feature. Askama escapes all output.

mod admin;
mod auth;
mod cases;
mod contracts;
pub mod format;
mod imports;
pub mod labels;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::error::{AppError, PageError};
use super::extract::WebUser;
use crate::db::models::users::User;
use crate::domain::roles::{Agency, Permission};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/style.css", web::get().to(stylesheet))
        .route("/static/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon))
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
        .configure(cases::routes);
}

/// The navigation every signed-in page shows; links depend on the role, and the section
/// the page belongs to is marked (`aria-current`).
pub struct Nav {
    pub username: String,
    pub role_label: &'static str,
    pub csrf_token: String,
    pub links: Vec<(&'static str, &'static str)>,
    /// The menu link of the section this page belongs to (`"/cases"` for `/cases/12`).
    pub current: &'static str,
}

/// Every section of the menu with the permission that shows it. The server checks the
/// permission again on each route; the menu only leaves out what would be refused.
const SECTIONS: [(&str, &str, Permission); 12] = [
    ("/", "Oversikt", Permission::SignedIn),
    ("/imports", "Import", Permission::ImportContracts),
    ("/contracts", "Kontrakter", Permission::ViewOwnImports),
    ("/draws", "Trekninger", Permission::ReadPublishedDraws),
    ("/cases", "Saker", Permission::ReadCaseOutcomes),
    ("/suppliers", "Leverandører", Permission::ViewAllContracts),
    ("/rules", "Regler", Permission::ReadRules),
    ("/liaisons", "Kontaktpersoner", Permission::ManageLiaisons),
    ("/outbox", "Utsendelser", Permission::ManageOutbox),
    ("/reports", "Rapporter", Permission::ReadReports),
    ("/admin/users", "Brukere", Permission::ManageUsers),
    ("/admin/audit", "Revisjonslogg", Permission::ReadAuditLog),
];

impl Nav {
    /// The menu for `w` on a page of the section `current` (one of the menu's paths).
    pub(crate) fn at(w: &WebUser, current: &'static str) -> Self {
        Self::for_parts(&w.user, &w.csrf_token, current)
    }

    pub(crate) fn for_parts(user: &User, csrf_token: &str, current: &'static str) -> Self {
        let role = user.role;
        let links = SECTIONS
            .iter()
            .filter(|(_, _, p)| {
                role.may(*p) || (*p == Permission::ReadCaseOutcomes && role.may(Permission::ReviewCases))
            })
            .map(|(path, label, _)| (*path, *label))
            .collect();
        Nav {
            username: user.username.clone(),
            role_label: role.label(),
            csrf_token: csrf_token.to_owned(),
            links,
            current,
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

pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "max-age=86400"))
        .body(include_str!("../../../static/favicon.svg"))
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
        nav: Nav::at(&user, "/"),
    };
    Ok(html(render(&page)?))
}

//! Administration pages: users and the audit log (admin).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, html, render};
use crate::db::models::Actor;
use crate::db::models::users::User;
use crate::domain::roles::{Agency, Permission, Role};
use crate::service;
use crate::service::users::{AuditRow, ChainStatus};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::WebUser;

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<User>,
    notice: Option<String>,
}

async fn users_page(
    state: &AppState,
    user: &WebUser,
    notice: Option<String>,
) -> Result<HttpResponse, PageError> {
    let list = state.db(service::users::list).await?;
    Ok(html(render(&UsersPage {
        nav: Nav::at(user, "/admin/users"),
        users: list,
        notice,
    })?))
}

pub async fn users(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
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

pub async fn create_user(
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
    let actor = Actor::user(&user.user.username);
    let created = state
        .db(move |c| {
            service::users::create(
                c,
                &actor,
                &form.username,
                role,
                agency,
                None,
                Some(form.password.as_str()),
            )
        })
        .await?;
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
    entries: Vec<AuditRow>,
}

pub async fn audit(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadAuditLog)?;
    let (status, entries) = state
        .db(|c| -> Result<_, crate::db::DbError> {
            Ok((
                service::users::verify_audit(c)?,
                service::users::recent_audit(c, 100)?,
            ))
        })
        .await?;
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
        nav: Nav::at(&user, "/admin/audit"),
        chain_ok,
        chain_status,
        entries,
    })?))
}

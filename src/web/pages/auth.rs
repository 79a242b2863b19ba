//! Signing in and out: the login form (double-submit CSRF cookie, there is no session
//! yet), the throttle, and the session cookie.

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::render;
use crate::auth::{constant_time_eq, new_secret};
use crate::service;
use crate::service::auth::LoginOutcome;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, WebUser, client_address, cookie};

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
    let ttl = chrono::Duration::hours(state.settings.session_hours);
    let (name, addr, password) = (username, address, form.password.clone());
    let limits = state.throttle;
    let outcome = state
        .db(move |c| service::auth::login(c, &limits, &name, &password, &addr, ttl))
        .await?;

    match outcome {
        LoginOutcome::Throttled(retry_after) => Err(PageError(AppError::Throttled { retry_after })),
        LoginOutcome::Success(session) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .cookie(cookie(
                SESSION_COOKIE,
                session.cookie_value,
                state.settings.secure_cookies(),
                state.settings.session_hours * 3600,
            ))
            .cookie(expired(LOGIN_CSRF_COOKIE))
            .finish()),
        LoginOutcome::Failed => login_page(
            &state,
            form.username,
            Some("Feil brukernavn eller passord.".into()),
            actix_web::http::StatusCode::UNAUTHORIZED,
        ),
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
    let (who, cookie_value) = (user.user.clone(), user.cookie_value.clone());
    state
        .db(move |c| service::auth::logout(c, &who, &cookie_value))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .cookie(expired(SESSION_COOKIE))
        .finish())
}

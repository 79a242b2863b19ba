//! Who is asking: extractors for browser sessions (cookie) and API clients (bearer token),
//! and the CSRF check for forms. Every handler asks for one of these and then calls
//! `require(Permission)`, so the role is checked on the server for every route.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use super::AppState;
use super::error::{ApiError, AppError, PageError};
use crate::auth::constant_time_eq;
use crate::db::models::sessions;
use crate::db::models::tokens;
use crate::db::models::users::User;
use crate::domain::roles::Permission;

pub const SESSION_COOKIE: &str = "spotcheck_session";
pub const LOGIN_CSRF_COOKIE: &str = "spotcheck_login_csrf";

/// A signed-in browser user.
pub struct WebUser {
    pub user: User,
    pub csrf_token: String,
    pub cookie_value: String,
}

impl WebUser {
    pub fn require(&self, p: Permission) -> Result<(), PageError> {
        if self.user.role.may(p) {
            Ok(())
        } else {
            tracing::info!(user = %self.user.username, role = %self.user.role, permission = ?p, "forbidden");
            Err(PageError(AppError::Forbidden))
        }
    }

    /// Checks the synchroniser token a form sent back.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if constant_time_eq(sent, &self.csrf_token) {
            Ok(())
        } else {
            Err(PageError(AppError::Csrf))
        }
    }
}

impl FromRequest for WebUser {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| PageError(AppError::Internal("no app state".into())))?;
            let Some(cookie_value) = cookie else {
                return Err(PageError(AppError::Unauthenticated));
            };
            let pool = state.pool.clone();
            let lookup_value = cookie_value.clone();
            let found = web::block(move || {
                let mut conn = pool.get()?;
                sessions::lookup(&mut conn, &lookup_value)
            })
            .await??;
            match found {
                Some(s) => Ok(WebUser {
                    user: s.user,
                    csrf_token: s.csrf_token,
                    cookie_value,
                }),
                None => Err(PageError(AppError::Unauthenticated)),
            }
        })
    }
}

/// A machine client authenticated with `Authorization: Bearer <token>`.
pub struct ApiUser {
    pub user: User,
}

impl ApiUser {
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.user.role.may(p) {
            Ok(())
        } else {
            tracing::info!(user = %self.user.username, role = %self.user.role, permission = ?p, "forbidden");
            Err(ApiError(AppError::Forbidden))
        }
    }
}

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| rest.trim().to_owned())
            });
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError(AppError::Internal("no app state".into())))?;
            let Some(token) = token else {
                return Err(ApiError(AppError::Unauthenticated));
            };
            let pool = state.pool.clone();
            let user = web::block(move || {
                let mut conn = pool.get()?;
                tokens::authenticate(&mut conn, &token)
            })
            .await??;
            user.map(|user| ApiUser { user })
                .ok_or(ApiError(AppError::Unauthenticated))
        })
    }
}

/// Builds a cookie with the flags every spotcheck cookie carries.
pub fn cookie(name: &str, value: String, secure: bool, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(name.to_owned(), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// The client address used for throttling: the TCP peer. Behind a reverse proxy every
/// request shares the proxy's address, so the per-address limit then acts per proxy.
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

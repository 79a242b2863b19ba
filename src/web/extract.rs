//! Request logic shared by handlers, in one place:
//! - who is asking: browser sessions (cookie) and API clients (bearer token), and the CSRF
//!   check for forms. Every handler asks for one of these and then calls
//!   `require(Permission)`, so the role is checked on the server for every route;
//! - what the caller may see ([`uploader_scope`]);
//! - an org number in a path ([`OrgNrPath`]);
//! - an uploaded register with its import options ([`read_upload`], [`Upload::options`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_multipart::Multipart;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;

use super::AppState;
use super::error::{ApiError, AppError, PageError};
use crate::auth::constant_time_eq;
use crate::db::models::users::User;
use crate::domain::roles::Permission;
use crate::service;

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
            let lookup_value = cookie_value.clone();
            let found = state
                .db(move |c| service::auth::session(c, &lookup_value))
                .await?;
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
            let user = state.db(move |c| service::auth::token_user(c, &token)).await?;
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

/// The client's address, for throttling and the request log: the TCP peer, unless the peer
/// is a configured reverse proxy, in which case the last address that proxy appended to
/// `X-Forwarded-For`. A header from anyone else is ignored: it is whatever the sender wrote.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if trusted.contains(&peer)
        && let Some(last) = forwarded_for
            .and_then(|h| h.rsplit(',').next())
            .and_then(|a| a.trim().parse::<IpAddr>().ok())
    {
        return last.to_string();
    }
    peer.to_string()
}

/// [`client_ip`] of a request, with the proxies the service trusts.
pub fn client_address(req: &HttpRequest) -> String {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.trusted_proxies.clone())
        .unwrap_or_default();
    client_ip(
        req.peer_addr().map(|a| a.ip()),
        req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()),
        &trusted,
    )
}

/// The import batches and contracts the caller may see: `None` for roles that see every
/// contract (Kemneren), the user's own id for those who see their own batches and the
/// contracts they own (`domain::ownership::ContractScope`).
pub fn uploader_scope(user: &User) -> Option<i64> {
    crate::domain::ownership::ContractScope::of(user.role, user.id).owner_filter()
}

/// An organisation number from the path, checked (MOD11) and in canonical form; a bad
/// one is answered 400 before the handler runs.
pub struct OrgNrPath(pub String);

impl FromRequest for OrgNrPath {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("orgnr").unwrap_or_default();
        std::future::ready(
            crate::domain::orgnr::OrgNr::parse_lenient(raw)
                .map(|o| OrgNrPath(o.to_string()))
                .map_err(|e| ApiError(AppError::BadRequest(e.to_string()))),
        )
    }
}

/// [`OrgNrPath`] for pages: a bad number gets the Norwegian error page.
pub struct PageOrgNr(pub String);

impl FromRequest for PageOrgNr {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("orgnr").unwrap_or_default();
        std::future::ready(
            crate::domain::orgnr::OrgNr::parse_lenient(raw)
                .map(|o| PageOrgNr(o.to_string()))
                .map_err(|e| PageError(AppError::BadRequest(e.to_string()))),
        )
    }
}

/// An uploaded register and the other fields of its form.
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// The other (text) fields of the form.
    pub fields: HashMap<String, String>,
}

impl Upload {
    /// Import options from the form's fields (`sheet`, `mapping`, `dry_run`).
    pub fn options(&self, max_bytes: u64) -> Result<(crate::import::ImportOptions, bool), AppError> {
        service::imports::options_from_fields(max_bytes, &self.fields)
            .map_err(|e| AppError::BadRequest(e.to_string()))
    }
}

impl Upload {
    /// Imports the uploaded register for `uploader` and scores what it brought in, before
    /// the answer goes back (the one import call of the API and the web form).
    pub async fn import(
        self,
        state: &AppState,
        uploader: &User,
    ) -> Result<crate::db::models::imports::ImportReport, AppError> {
        let (opts, dry_run) = self.options(state.settings.max_upload_bytes)?;
        let rules = state.rule_set();
        let uploader = uploader.clone();
        state
            .pooled(move |pool| {
                service::imports::import_and_score(
                    pool,
                    &rules,
                    &uploader,
                    &self.file_name,
                    crate::import::RegisterFile::Bytes(&self.bytes),
                    &opts,
                    dry_run,
                    &mut |_| {},
                )
            })
            .await
    }
}

/// What an upload form may hold besides its file: a few small text fields.
pub const UPLOAD_MAX_FIELDS: usize = 16;
/// The most bytes of one text field.
pub const UPLOAD_MAX_FIELD_BYTES: usize = 64 * 1024;
/// The most bytes of all text fields together.
pub const UPLOAD_MAX_FIELDS_BYTES: usize = 256 * 1024;

/// Reads an upload form: one `file` part and at most [`UPLOAD_MAX_FIELDS`] small text parts.
/// The memory it takes is bounded by the limits, whatever the client sends: a declared
/// body larger than the file limit plus the fields is refused before anything is read, and
/// reading stops at the first part over a limit.
///
/// `csrf`: the form token a browser form must carry (`None` for the API, which
/// authenticates with a bearer token). The `csrf_token` field must come before the file (the
/// page's form puts it first) and is checked as soon as it has arrived, so a forged upload
/// is refused before its file is read.
pub async fn read_upload(
    req: &HttpRequest,
    mut payload: Multipart,
    max_bytes: u64,
    csrf: Option<&str>,
) -> Result<Upload, AppError> {
    let too_large = || {
        AppError::PayloadTooLarge(format!(
            "Filen er større enn grensen på {} MB. Del registeret i flere filer, eller fjern ark og kolonner som ikke trengs.",
            max_bytes / (1024 * 1024)
        ))
    };
    // Multipart framing adds a few hundred bytes per part.
    let body_limit = max_bytes + (UPLOAD_MAX_FIELDS_BYTES as u64) + 64 * 1024;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_limit) {
        return Err(too_large());
    }
    let mut csrf_ok = csrf.is_none();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut fields = HashMap::new();
    let mut field_bytes = 0usize;
    let mut text_parts = 0usize;
    while let Some(item) = payload.next().await {
        let mut field =
            item.map_err(|e| AppError::BadRequest(format!("Opplastingen kunne ikke leses: {e}")))?;
        let (name, file_name) = match field.content_disposition() {
            Some(cd) => (
                cd.get_name().unwrap_or_default().to_owned(),
                cd.get_filename().map(str::to_owned),
            ),
            None => (String::new(), None),
        };
        let is_file = name == "file";
        if is_file {
            if !csrf_ok {
                return Err(AppError::Csrf);
            }
            if file.is_some() {
                return Err(AppError::BadRequest(
                    "Skjemaet har mer enn én fil (feltet «file»).".into(),
                ));
            }
        } else {
            // Counted per part, named or not, so no kind of part can pile up.
            text_parts += 1;
            if text_parts > UPLOAD_MAX_FIELDS {
                return Err(AppError::BadRequest(format!(
                    "Skjemaet har for mange felt (høyst {UPLOAD_MAX_FIELDS} ved siden av filen)."
                )));
            }
        }
        let limit = if is_file {
            usize::try_from(max_bytes).unwrap_or(usize::MAX)
        } else {
            UPLOAD_MAX_FIELD_BYTES.min(UPLOAD_MAX_FIELDS_BYTES - field_bytes)
        };
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("Opplastingen ble avbrutt: {e}")))?;
            if buf.len() + chunk.len() > limit {
                return Err(if is_file {
                    too_large()
                } else {
                    AppError::BadRequest(format!(
                        "Feltet «{}» er for langt (høyst {} kB per felt, {} kB til sammen).",
                        name.chars().take(40).collect::<String>(),
                        UPLOAD_MAX_FIELD_BYTES / 1024,
                        UPLOAD_MAX_FIELDS_BYTES / 1024
                    ))
                });
            }
            buf.extend_from_slice(&chunk);
        }
        if is_file {
            let file_name = file_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "opplasting".into());
            file = Some((file_name, buf));
        } else {
            field_bytes += buf.len();
            let value = String::from_utf8_lossy(&buf).into_owned();
            if name == "csrf_token"
                && let Some(expected) = csrf
            {
                if !constant_time_eq(&value, expected) {
                    return Err(AppError::Csrf);
                }
                csrf_ok = true;
            }
            if !name.is_empty() {
                fields.insert(name, value);
            }
        }
    }
    if !csrf_ok {
        return Err(AppError::Csrf);
    }
    let (file_name, bytes) =
        file.ok_or_else(|| AppError::BadRequest("Skjemaet mangler filen (feltet «file»).".into()))?;
    Ok(Upload {
        file_name,
        bytes,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::client_ip;

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy = "10.0.0.1".parse().ok();
        let stranger = "203.0.113.7".parse().ok();
        let trusted = ["10.0.0.1".parse().unwrap()];
        assert_eq!(client_ip(stranger, Some("6.6.6.6"), &trusted), "203.0.113.7");
        assert_eq!(client_ip(stranger, Some("6.6.6.6"), &[]), "203.0.113.7");
        // The proxy appends the address it saw last; what the client wrote before is ignored.
        assert_eq!(
            client_ip(proxy, Some("6.6.6.6, 198.51.100.4"), &trusted),
            "198.51.100.4"
        );
        assert_eq!(client_ip(proxy, Some("nonsense"), &trusted), "10.0.0.1");
        assert_eq!(client_ip(proxy, None, &trusted), "10.0.0.1");
        assert_eq!(client_ip(None, Some("6.6.6.6"), &trusted), "unknown");
    }
}

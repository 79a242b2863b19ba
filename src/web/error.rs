//! The web layer's error: one type, rendered two ways. `/api/v1` answers with
//! `application/problem+json` (RFC 9457); pages answer with a Norwegian HTML page.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

use crate::service::draws::DrawError;
use crate::service::imports::ImportFailure;
use crate::service::rules::RulesError;
use crate::service::scoring::ScoreError;

use crate::db::models::users::UserError;
use crate::db::{Conflict, DbError, Missing};
use crate::domain::liaison::FieldError;
use crate::service::liaisons::LiaisonError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role does not give access to this")]
    Forbidden,
    #[error("{0}")]
    NotFound(Missing),
    #[error("no resource at {0}")]
    NoRoute(String),
    #[error("{0}")]
    Exists(Conflict),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many failed sign-ins; wait {retry_after} seconds")]
    Throttled { retry_after: u64 },
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("the form has expired or did not come from this service")]
    Csrf,
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A file that cannot be read as a contract register (Norwegian message from `import`).
    #[error("{0}")]
    Unprocessable(String),
    /// A rule set that does not load; the problems go out as `errors` in the problem document.
    #[error("{0}")]
    InvalidRules(crate::risk::RuleSetError),
    /// A page or page size out of range; English here, Norwegian on the pages.
    #[error("{}", .0.english())]
    Paging(crate::domain::paging::PagingError),
    /// A user change the rules forbid (the last admin, a role/agency mismatch); English
    /// here, Norwegian on the pages and in the CLI.
    #[error("{}", .0.english())]
    User(UserError),
    /// A value refused, naming its field (422): English here, Norwegian on the pages.
    #[error("{}", .0.english())]
    InvalidField(FieldError),
    /// A case workflow step refused (409): English here, Norwegian on the pages.
    #[error("{}", .0.english())]
    Workflow(crate::domain::case::WorkflowError),
    #[error("the service cannot reach its database")]
    Unavailable(String),
    /// The database is busy with another writer (a large import): try again shortly.
    #[error("the database is busy with other work")]
    Busy(String),
    /// More requests than the database slots can serve within a second (`web::AppState::db`).
    #[error("the service is overloaded")]
    Overloaded(String),
    #[error("internal error")]
    Internal(String),
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound(m) => AppError::NotFound(m),
            DbError::Conflict(c) => AppError::Exists(c),
            DbError::Invalid(m) => AppError::BadRequest(m),
            DbError::Paging(e) => AppError::Paging(e),
            DbError::User(e) => AppError::User(e),
            DbError::Connect(m) => AppError::Unavailable(m),
            busy if busy.is_busy() => AppError::Busy(busy.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<ImportFailure> for AppError {
    fn from(e: ImportFailure) -> Self {
        match e {
            ImportFailure::File(
                f @ (crate::import::ImportError::TooLarge { .. }
                | crate::import::ImportError::StreamTooLarge { .. }),
            ) => AppError::PayloadTooLarge(f.to_string()),
            ImportFailure::File(f) => AppError::Unprocessable(f.to_string()),
            ImportFailure::Db(d) => d.into(),
        }
    }
}

impl From<crate::service::users::AccountError> for AppError {
    fn from(e: crate::service::users::AccountError) -> Self {
        use crate::auth::AuthError;
        use crate::service::users::AccountError;
        match e {
            AccountError::Db(d) => d.into(),
            AccountError::Field(f) => AppError::InvalidField(f),
            AccountError::Password(p @ AuthError::PasswordTooShort) => AppError::BadRequest(p.to_string()),
            AccountError::Password(p) => AppError::Internal(p.to_string()),
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::InvalidField(e)
    }
}

impl From<LiaisonError> for AppError {
    fn from(e: LiaisonError) -> Self {
        match e {
            LiaisonError::Db(d) => d.into(),
            LiaisonError::Field(f) => AppError::InvalidField(f),
        }
    }
}

impl From<crate::service::cases::CaseError> for AppError {
    fn from(e: crate::service::cases::CaseError) -> Self {
        use crate::service::cases::CaseError;
        match e {
            CaseError::Db(d) => d.into(),
            CaseError::Field(f) => AppError::InvalidField(f),
            CaseError::Workflow(w) => AppError::Workflow(w),
            CaseError::Forbidden => AppError::Forbidden,
        }
    }
}

impl From<crate::service::contracts::OwnerError> for AppError {
    fn from(e: crate::service::contracts::OwnerError) -> Self {
        use crate::service::contracts::OwnerError;
        match e {
            OwnerError::Db(d) => d.into(),
            OwnerError::Field(f) => AppError::InvalidField(f),
        }
    }
}

impl From<DrawError> for AppError {
    fn from(e: DrawError) -> Self {
        match e {
            DrawError::Forbidden(_) => AppError::Forbidden,
            DrawError::NotFound(id) => AppError::NotFound(Missing::Draw(id)),
            DrawError::Invalid(_) | DrawError::UnknownContracts { .. } | DrawError::Sampling(_) => {
                AppError::BadRequest(e.to_string())
            }
            DrawError::Unscored { .. }
            | DrawError::EmptyPopulation
            | DrawError::ManifestChanged { .. }
            | DrawError::Exhausted(_) => AppError::Conflict(e.to_string()),
            DrawError::Db(d) => d.into(),
            DrawError::Corrupt { .. } | DrawError::Random(_) => AppError::Internal(e.to_string()),
        }
    }
}

impl From<RulesError> for AppError {
    fn from(e: RulesError) -> Self {
        match e {
            RulesError::Invalid(errors) => AppError::InvalidRules(errors),
            RulesError::Db(d) => d.into(),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<ScoreError> for AppError {
    fn from(e: ScoreError) -> Self {
        match e {
            ScoreError::Db(d) => d.into(),
        }
    }
}

impl From<crate::risk::RuleSetError> for AppError {
    fn from(e: crate::risk::RuleSetError) -> Self {
        AppError::InvalidRules(e)
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound(_) | AppError::NoRoute(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) | AppError::Paging(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) | AppError::Exists(_) | AppError::Workflow(_) => StatusCode::CONFLICT,
            AppError::User(UserError::LastAdmin { .. }) => StatusCode::CONFLICT,
            AppError::User(UserError::Role(_)) => StatusCode::BAD_REQUEST,
            AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unprocessable(_) | AppError::InvalidRules(_) | AppError::InvalidField(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Unavailable(_) | AppError::Busy(_) | AppError::Overloaded(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable, machine-readable problem kind.
    pub fn slug(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) | AppError::NoRoute(_) => "not-found",
            AppError::BadRequest(_) | AppError::Paging(_) | AppError::User(UserError::Role(_)) => {
                "bad-request"
            }
            AppError::Conflict(_) | AppError::Exists(_) => "conflict",
            AppError::Workflow(_) => "case-workflow",
            AppError::User(UserError::LastAdmin { .. }) => "last-admin",
            AppError::Throttled { .. } => "too-many-attempts",
            AppError::BadCredentials => "bad-credentials",
            AppError::Csrf => "csrf",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::Unprocessable(_) => "unreadable-file",
            AppError::InvalidRules(_) => "invalid-rules",
            AppError::InvalidField(_) => "invalid-field",
            AppError::Unavailable(_) => "unavailable",
            AppError::Busy(_) => "busy",
            AppError::Overloaded(_) => "overloaded",
            AppError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "Authentication required",
            AppError::Forbidden => "Forbidden",
            AppError::NotFound(_) | AppError::NoRoute(_) => "Not found",
            AppError::BadRequest(_) | AppError::Paging(_) | AppError::User(UserError::Role(_)) => {
                "Bad request"
            }
            AppError::Conflict(_) | AppError::Exists(_) => "Conflict",
            AppError::Workflow(_) => "The case workflow does not allow this",
            AppError::User(UserError::LastAdmin { .. }) => "The last administrator must stay",
            AppError::Throttled { .. } => "Too many attempts",
            AppError::BadCredentials => "Bad credentials",
            AppError::Csrf => "Invalid form token",
            AppError::PayloadTooLarge(_) => "Payload too large",
            AppError::Unprocessable(_) => "The file cannot be imported",
            AppError::InvalidRules(_) => "The rule set does not load",
            AppError::InvalidField(_) => "A field is invalid",
            AppError::Unavailable(_) => "Service unavailable",
            AppError::Busy(_) => "Database busy",
            AppError::Overloaded(_) => "Service overloaded",
            AppError::Internal(_) => "Internal error",
        }
    }

    /// What the person should do, in English for API clients.
    fn api_detail(&self) -> String {
        match self {
            AppError::Unauthenticated => {
                "Send 'Authorization: Bearer <token>'; create a token with 'spotcheck users token NAME'."
                    .into()
            }
            AppError::Forbidden => {
                "Your role does not give access to this resource; ask an administrator.".into()
            }
            AppError::Unavailable(_) => {
                "The database does not answer; try again shortly or contact the operator.".into()
            }
            AppError::Busy(_) => {
                "The database is busy with other work (such as a large import); try again in a few seconds."
                    .into()
            }
            AppError::Overloaded(_) => {
                "The service has more requests than it can answer right now; try again in a second.".into()
            }
            AppError::Internal(_) => {
                "Something went wrong on our side; the error is logged. Try again or contact the operator."
                    .into()
            }
            other => other.to_string(),
        }
    }

    /// What the person should do, in Norwegian for the web pages.
    pub(crate) fn page_detail(&self) -> String {
        match self {
            AppError::Unauthenticated => "Du må logge inn først.".into(),
            AppError::Forbidden => "Rollen din gir ikke tilgang til denne siden. Kontakt en administrator hvis du trenger tilgang.".into(),
            AppError::NotFound(m) => format!("Fant ikke det du ba om: {}.", m.norwegian()),
            AppError::NoRoute(path) => format!("Fant ikke det du ba om: ingen side på {path}."),
            AppError::Exists(c) => format!("{}.", c.norwegian()),
            AppError::BadRequest(m)
            | AppError::Conflict(m)
            | AppError::PayloadTooLarge(m)
            | AppError::Unprocessable(m) => m.clone(),
            AppError::Paging(e) => e.to_string(),
            AppError::User(e) => e.to_string(),
            AppError::Workflow(e) => e.to_string(),
            AppError::InvalidRules(e) => format!("Regelsettet kan ikke brukes: {e}"),
            AppError::InvalidField(e) => format!("Feltet «{}» er ugyldig: {}.", e.field, e.problem.norwegian()),
            AppError::Throttled { retry_after } => {
                format!("For mange mislykkede innlogginger. Vent {retry_after} sekunder og prøv igjen.")
            }
            AppError::BadCredentials => "Feil brukernavn eller passord.".into(),
            AppError::Csrf => "Skjemaet er utløpt eller kom ikke fra denne tjenesten. Last siden på nytt og prøv igjen.".into(),
            AppError::Unavailable(_) => "Tjenesten får ikke kontakt med databasen. Prøv igjen om litt.".into(),
            AppError::Busy(_) => {
                "Databasen er opptatt med annet arbeid (for eksempel en stor import). Prøv igjen om noen sekunder.".into()
            }
            AppError::Overloaded(_) => "Tjenesten har svært mange forespørsler akkurat nå. Prøv igjen om et øyeblikk.".into(),
            AppError::Internal(_) => "Noe gikk galt hos oss. Feilen er logget; prøv igjen eller kontakt driftsansvarlig.".into(),
        }
    }

    /// Seconds a client should wait before trying again, for the errors that pass.
    fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::Throttled { retry_after } => Some(*retry_after),
            AppError::Unavailable(_) => Some(1),
            AppError::Busy(_) => Some(2),
            AppError::Overloaded(_) => Some(1),
            _ => None,
        }
    }

    fn log(&self) {
        match self {
            AppError::Internal(m) => tracing::error!(error = %m, "internal error"),
            AppError::Unavailable(m) => tracing::warn!(error = %m, "database unavailable"),
            AppError::Busy(m) => tracing::warn!(error = %m, "database busy; answered 503"),
            // Debug only: under a flood this would be one line per request (the request log has them).
            AppError::Overloaded(m) => tracing::debug!(error = %m, "overloaded; answered 503"),
            _ => {}
        }
    }
}

#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    /// Every problem of a rule set that does not load (file, line, rule, message).
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<crate::risk::RuleError>>,
    /// The body member (or CLI option) an `invalid-field` problem is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

/// An error answered as `application/problem+json`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let status = self.0.status();
        let body = Problem {
            kind: format!("urn:spotcheck:problem:{}", self.0.slug()),
            title: self.0.title(),
            status: status.as_u16(),
            detail: self.0.api_detail(),
            errors: match &self.0 {
                AppError::InvalidRules(e) => Some(e.errors.clone()),
                _ => None,
            },
            field: match &self.0 {
                AppError::InvalidField(e) => Some(e.field),
                _ => None,
            },
        };
        let mut resp = HttpResponse::build(status);
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(seconds) = self.0.retry_after() {
            resp.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if matches!(self.0, AppError::Unauthenticated | AppError::BadCredentials) {
            resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        resp.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

/// An error answered as a Norwegian HTML page (or a redirect to the login page).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    heading: &'static str,
    detail: String,
    /// The signed-in user's menu (added by [`with_menu`]), so an error never strands anyone.
    nav: Option<crate::web::pages::Nav>,
}

impl PageError {
    fn page(&self, nav: Option<crate::web::pages::Nav>) -> HttpResponse {
        let status = self.0.status();
        let heading = match status {
            StatusCode::FORBIDDEN => "Ingen tilgang",
            StatusCode::NOT_FOUND => "Ikke funnet",
            StatusCode::TOO_MANY_REQUESTS => "Vent litt",
            s if s.is_server_error() => "Feil i tjenesten",
            _ => "Noe er galt med forespørselen",
        };
        let page = ErrorPage {
            status: status.as_u16(),
            heading,
            detail: self.0.page_detail(),
            nav,
        };
        let mut resp = HttpResponse::build(status);
        if let Some(seconds) = self.0.retry_after() {
            resp.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        resp.content_type("text/html; charset=utf-8")
            .body(page.render().unwrap_or_else(|_| "Feil".into()))
    }
}

/// Middleware step: an error page answered to a signed-in browser gets the user's menu
/// back. The error itself is rendered without a request ([`ResponseError`]), so the session
/// is looked up here, after the handler, and only for error pages.
pub async fn with_menu<B: actix_web::body::MessageBody + 'static>(
    res: actix_web::dev::ServiceResponse<B>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    let is_page_error = |res: &actix_web::dev::ServiceResponse<B>| {
        res.response()
            .error()
            .and_then(|e| e.as_error::<PageError>())
            .filter(|p| !matches!(p.0, AppError::Unauthenticated))
            .is_some()
    };
    if !is_page_error(&res) {
        return Ok(res.map_into_left_body());
    }
    let req = res.request().clone();
    let (Some(cookie), Some(state)) = (
        req.cookie(crate::web::extract::SESSION_COOKIE),
        req.app_data::<actix_web::web::Data<crate::web::AppState>>()
            .cloned(),
    ) else {
        return Ok(res.map_into_left_body());
    };
    let value = cookie.value().to_owned();
    let session = state
        .db(move |c| crate::service::auth::session(c, &value))
        .await
        .ok()
        .flatten();
    let Some(s) = session else {
        return Ok(res.map_into_left_body());
    };
    let nav = crate::web::pages::Nav::for_parts(&s.user, &s.csrf_token, "");
    let page = match res.response().error().and_then(|e| e.as_error::<PageError>()) {
        Some(p) => p.page(Some(nav)),
        None => return Ok(res.map_into_left_body()),
    };
    Ok(res.into_response(page).map_into_right_body())
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        if matches!(self.0, AppError::Unauthenticated) {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
                .finish();
        }
        self.page(None)
    }
}

//! `/outbox` (Kemneren and the admin): the mail queue. Counts per status, the messages
//! newest first (filter by status, paging) with the reason the last attempt failed, and
//! «Send på nytt» on dead letters, which puts them back in the queue (audited).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, labels, render, see_other};
use crate::db::models::Actor;
use crate::db::models::outbox::MessageSummary;
use crate::db::{Conflict, DbError};
use crate::domain::oslo;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::WebUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/outbox", web::get().to(list))
        .route("/outbox/{id}/retry", web::post().to(retry));
}

/// The page sizes offered; the first is the default.
const PAGE_SIZES: [i64; 4] = [50, 25, 100, 200];

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
    done: Option<String>,
    id: Option<i64>,
}

/// One option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A status with how many messages have it.
pub struct Count {
    pub status: &'static str,
    pub label: &'static str,
    pub n: i64,
}

/// A message as the page shows it.
pub struct Line {
    pub id: i64,
    pub recipient: String,
    pub address: String,
    pub agency: String,
    pub subject: String,
    pub status: String,
    pub dead: bool,
    pub attempts: i32,
    pub next_attempt: String,
    pub created: String,
    pub sent: String,
    /// The last failure in words, and as the server or sender gave it.
    pub error: Option<(&'static str, String)>,
}

impl Line {
    fn of(m: &MessageSummary) -> Self {
        Line {
            id: m.id,
            recipient: m.recipient_name.clone().unwrap_or_default(),
            address: m.recipient_address.clone().unwrap_or_default(),
            agency: m
                .recipient_agency
                .as_deref()
                .map(labels::agency)
                .unwrap_or_default(),
            subject: m.subject.clone(),
            status: labels::outbox_status(&m.status).to_owned(),
            dead: m.status == "dead",
            attempts: m.attempts,
            next_attempt: if m.status == "pending" {
                oslo::date_time(m.next_attempt_at)
            } else {
                "–".into()
            },
            created: oslo::date_time(m.created_at),
            sent: m.sent_at.map_or_else(|| "–".into(), oslo::date_time),
            error: m
                .last_error
                .as_deref()
                .map(|e| (labels::mail_error(e), e.to_owned())),
        }
    }
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    nav: Nav,
    counts: Vec<Count>,
    statuses: Vec<Choice>,
    sizes: Vec<Choice>,
    status: String,
    notice: Option<String>,
    error: Option<String>,
    total: i64,
    page: i64,
    pages: i64,
    lines: Vec<Line>,
    keep: String,
}

struct View {
    status: Option<String>,
    page: i64,
    per_page: i64,
    notice: Option<String>,
    error: Option<String>,
}

async fn render_list(
    state: &AppState,
    user: &WebUser,
    view: View,
    code: StatusCode,
) -> Result<HttpResponse, PageError> {
    let status = view.status.clone();
    if let Some(s) = &status
        && !service::outbox::STATUSES.contains(&s.as_str())
    {
        return Err(PageError(AppError::BadRequest(
            "Ukjent status i adressen. Velg status i listen på siden for utsendelser.".into(),
        )));
    }
    let (page, per_page) = (view.page, view.per_page);
    let (total, items, counts) = state
        .db(move |c| {
            let (total, items) = service::outbox::list(c, status.as_deref(), page, per_page)?;
            Ok::<_, DbError>((total, items, service::outbox::counts(c)?))
        })
        .await?;
    let chosen = view.status.unwrap_or_default();
    let body = OutboxPage {
        nav: Nav::at(user, "/outbox"),
        counts: service::outbox::STATUSES
            .iter()
            .map(|s| Count {
                status: s,
                label: labels::outbox_status(s),
                n: counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n),
            })
            .collect(),
        statuses: service::outbox::STATUSES
            .iter()
            .map(|s| Choice {
                value: (*s).into(),
                label: labels::outbox_status(s).into(),
                selected: *s == chosen,
            })
            .collect(),
        sizes: PAGE_SIZES
            .iter()
            .map(|n| Choice {
                value: n.to_string(),
                label: n.to_string(),
                selected: *n == per_page,
            })
            .collect(),
        keep: if chosen.is_empty() {
            format!("per_page={per_page}")
        } else {
            format!("status={chosen}&per_page={per_page}")
        },
        status: chosen,
        notice: view.notice,
        error: view.error,
        total,
        page,
        pages: ((total + per_page - 1) / per_page).max(1),
        lines: items.iter().map(Line::of).collect(),
    };
    Ok(HttpResponse::build(code)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(render(&body)?))
}

pub async fn list(
    state: web::Data<AppState>,
    user: WebUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageOutbox)?;
    let q = query.into_inner();
    let notice = match (q.done.as_deref(), q.id) {
        (Some("retried"), Some(id)) => Some(format!(
            "E-post nr. {id} er lagt i kø igjen og sendes ved neste utsending."
        )),
        _ => None,
    };
    let view = View {
        status: q.status.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        page: q.page.unwrap_or(1),
        per_page: q.per_page.unwrap_or(PAGE_SIZES[0]),
        notice,
        error: None,
    };
    render_list(&state, &user, view, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RetryForm {
    csrf_token: String,
}

pub async fn retry(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<RetryForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageOutbox)?;
    user.check_csrf(&form.csrf_token)?;
    let id = path.into_inner();
    let actor = Actor::user(&user.user.username);
    let outcome = state
        .db(move |c| Ok::<_, DbError>(service::outbox::retry(c, &actor, id)))
        .await?;
    match outcome {
        Ok(m) => Ok(see_other(format!("/outbox?done=retried&id={}", m.id))),
        Err(DbError::Conflict(Conflict::MessageNotDead { id, status })) => {
            let view = View {
                status: None,
                page: 1,
                per_page: PAGE_SIZES[0],
                notice: None,
                error: Some(format!(
                    "E-post nr. {id} ble ikke sendt på nytt: bare e-post som har feilet permanent kan sendes på nytt, og denne har status «{}».",
                    labels::outbox_status(&status)
                )),
            };
            render_list(&state, &user, view, StatusCode::CONFLICT).await
        }
        Err(other) => Err(other.into()),
    }
}

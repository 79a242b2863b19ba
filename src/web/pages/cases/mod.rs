//! The case pages (issue 14): the work queue at `/cases` (filters, paging, csv and xlsx
//! export) and the case page at `/cases/{id}` with a form for every step of the workflow
//! (`case.rs`). Access is the service's (`service::cases`): Kemneren every case, an A-krim
//! partner the cases shared with their agency (404 for any other, on every route), an
//! innkjøper the status and outcome of cases on their own contracts.

mod case;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, labels, render};
use crate::domain::case::CaseStatus;
use crate::domain::oslo;
use crate::domain::roles::{Agency, Permission};
use crate::export::{Cell, Table};
use crate::service;
use crate::service::cases::{CaseListItem, CaseQuery, QueueOptions};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::WebUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cases", web::get().to(queue))
        .route("/cases/{id}", web::get().to(case::show))
        .route("/cases/{id}/status", web::post().to(case::set_status))
        .route("/cases/{id}/assign", web::post().to(case::assign))
        .route("/cases/{id}/notes", web::post().to(case::add_note))
        .route("/cases/{id}/findings", web::post().to(case::add_finding))
        .route("/cases/{id}/close", web::post().to(case::propose_close))
        .route("/cases/{id}/close/confirm", web::post().to(case::confirm_close))
        .route("/cases/{id}/reopen", web::post().to(case::reopen))
        .route("/cases/{id}/shares", web::post().to(case::share))
        .route("/cases/{id}/shares/{agency}", web::post().to(case::unshare))
        .route("/cases/{id}/evidence", web::post().to(case::add_evidence))
        .route(
            "/cases/{id}/evidence/{evidence}",
            web::get().to(case::evidence_file),
        )
        .route(
            "/cases/{id}/document-requests",
            web::post().to(case::request_documents),
        )
        .route(
            "/cases/{id}/document-requests/{request}/received",
            web::post().to(case::documents_received),
        );
}

/// The agencies a case can be shared with, in the order pages list them.
pub(crate) const AGENCIES: [Agency; 5] = [
    Agency::Arbeidstilsynet,
    Agency::Skatteetaten,
    Agency::Politiet,
    Agency::Nav,
    Agency::Kemneren,
];

/// The page sizes offered.
const PAGE_SIZES: [i64; 4] = [25, 50, 100, 200];
const DEFAULT_PER_PAGE: i64 = 50;

/// Reading cases: those who work them, and innkjøpere for their own contracts' outcomes.
pub(crate) fn require_reader(user: &WebUser) -> Result<(), PageError> {
    if user.user.role.may(Permission::ReviewCases) {
        Ok(())
    } else {
        user.require(Permission::ReadCaseOutcomes)
    }
}

#[derive(Deserialize, Default)]
pub struct QueueParams {
    status: Option<String>,
    agency: Option<String>,
    /// `overdue`: cases with a document request past its deadline.
    deadline: Option<String>,
    /// `yyyy-mm-dd`: cases with an open document request due before this date.
    before: Option<String>,
    /// `1`: only the cases assigned to me.
    mine: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
    /// `csv` or `xlsx`: the whole list as a file.
    format: Option<String>,
}

/// One row of the queue, in words.
struct Row {
    id: i64,
    contract_no: String,
    supplier: String,
    orgnr: String,
    status: String,
    outcome: String,
    score: String,
    tier: Option<(String, String)>,
    assigned_to: String,
    deadline: String,
    overdue: bool,
    source: String,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct QueuePage {
    nav: Nav,
    /// Whether the person works cases (else: an innkjøper's outcomes).
    works: bool,
    rows: Vec<Row>,
    /// Exact when `total_exact`; otherwise the count stopped here.
    total: i64,
    total_exact: bool,
    page: i64,
    pages: i64,
    /// Whether another page follows.
    more: bool,
    per_page: i64,
    page_sizes: Vec<i64>,
    statuses: Vec<(&'static str, &'static str)>,
    agencies: Vec<(&'static str, &'static str)>,
    status: String,
    agency: String,
    overdue: bool,
    before: String,
    mine: bool,
    filtered: bool,
    /// The query string of the filters (URL-encoded), for paging and export links.
    keep: String,
    /// (field, message) for a filter that was refused.
    errors: Vec<(&'static str, String)>,
}

impl QueuePage {
    fn total_words(&self) -> String {
        oslo::grouped(self.total)
    }

    fn err(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|x| x.trim().to_owned()).filter(|x| !x.is_empty())
}

pub async fn queue(
    state: web::Data<AppState>,
    user: WebUser,
    params: web::Query<QueueParams>,
) -> Result<HttpResponse, PageError> {
    require_reader(&user)?;
    let p = params.into_inner();
    let works = user.user.role.may(Permission::ReviewCases);
    let (status, agency, before_raw) = (nonempty(p.status), nonempty(p.agency), nonempty(p.before));
    let overdue = p.deadline.as_deref().map(str::trim) == Some("overdue");
    let mine = p.mine.as_deref().map(str::trim) == Some("1");
    let per_page = p.per_page.unwrap_or(DEFAULT_PER_PAGE);
    let format = nonempty(p.format);
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let before = match &before_raw {
        None => None,
        Some(s) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(("before", "ugyldig dato: velg en dato i kalenderen".into()));
                None
            }
        },
    };
    let today = oslo::local(chrono::Utc::now().naive_utc()).date();
    let deadline_before = match (overdue.then_some(today), before) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let query = CaseQuery {
        status: status.clone(),
        agency: agency.clone(),
        assigned_to_me: mine,
        page: p.page.unwrap_or(1),
        per_page,
        after: None,
    };
    let opts = QueueOptions {
        deadline_before,
        queue_order: true,
    };
    let keep = [
        ("status", status.clone()),
        ("agency", agency.clone()),
        ("deadline", overdue.then(|| "overdue".to_owned())),
        ("before", before_raw.clone()),
        ("mine", mine.then(|| "1".to_owned())),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
    .collect::<Vec<_>>()
    .join("&");
    let rules = state.rule_set();
    if let Some(f) = format {
        if !errors.is_empty() {
            return Err(PageError(AppError::BadRequest(
                "Rett opp filteret før du laster ned listen.".into(),
            )));
        }
        let who = user.user.clone();
        let items = state
            .db(move |c| service::cases::list_all(c, &who, &query, &opts))
            .await?;
        return export(&rules, works, &items, &f);
    }
    let mut page = None;
    if errors.is_empty() {
        let who = user.user.clone();
        let q = query.clone();
        match state
            .db(move |c| service::cases::list_queue(c, &who, &q, &opts))
            .await
        {
            Ok(found) => page = Some(found),
            // The filters are lists to choose from; a value from elsewhere is named as
            // such rather than with the codes the API speaks.
            Err(AppError::InvalidField(f)) => errors.push(match f.field {
                "status" => ("status", "ukjent status: velg en i listen".into()),
                "agency" => ("agency", "ukjent etat: velg en i listen".into()),
                _ => ("form", f.problem.norwegian()),
            }),
            Err(e) => return Err(PageError(e)),
        }
    }
    let (total, total_exact, more, rows) = match page {
        Some(found) => (
            found.total,
            found.total_exact,
            found.more,
            found.items.iter().map(|i| row(&rules, i, today)).collect(),
        ),
        None => (0, true, false, Vec::new()),
    };
    let body = QueuePage {
        nav: Nav::at(&user, "/cases"),
        works,
        rows,
        total,
        total_exact,
        more,
        page: query.page,
        pages: ((total + per_page - 1) / per_page.max(1)).max(1),
        per_page,
        page_sizes: PAGE_SIZES.to_vec(),
        statuses: CaseStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        agencies: AGENCIES.iter().map(|a| (a.as_str(), a.label())).collect(),
        filtered: status.is_some() || agency.is_some() || overdue || before_raw.is_some() || mine,
        status: status.unwrap_or_default(),
        agency: agency.unwrap_or_default(),
        overdue,
        before: before_raw.unwrap_or_default(),
        mine,
        keep,
        errors,
    };
    let status = if body.errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(crate::web::pages::html_with_status(status, render(&body)?))
}

fn row(rules: &crate::risk::RuleSet, item: &CaseListItem, today: chrono::NaiveDate) -> Row {
    match item {
        CaseListItem::Summary(s) => Row {
            id: s.id,
            contract_no: s.contract_no.clone(),
            supplier: s.supplier_name.clone(),
            orgnr: s.orgnr.clone(),
            status: labels::case_status(&s.status),
            outcome: s.outcome.as_deref().map(labels::case_outcome).unwrap_or_default(),
            score: s.score.map(|n| n.to_string()).unwrap_or_default(),
            tier: s
                .tier
                .as_deref()
                .map(|t| (labels::tier(rules, t), labels::tier_class(rules, t))),
            assigned_to: s.assigned_to.clone().unwrap_or_default(),
            deadline: s.next_deadline.map(oslo::date).unwrap_or_default(),
            overdue: s.status != CaseStatus::Lukket.as_str() && s.next_deadline.is_some_and(|d| d < today),
            source: labels::case_source(&s.source).to_owned(),
        },
        CaseListItem::Outcome(o) => Row {
            id: o.id,
            contract_no: o.contract_no.clone(),
            supplier: String::new(),
            orgnr: String::new(),
            status: labels::case_status(&o.status),
            outcome: o.outcome.as_deref().map(labels::case_outcome).unwrap_or_default(),
            score: String::new(),
            tier: None,
            assigned_to: String::new(),
            deadline: String::new(),
            overdue: false,
            source: String::new(),
        },
    }
}

/// The list as a csv or xlsx file (every value neutralised by `export::Table`).
fn export(
    rules: &crate::risk::RuleSet,
    works: bool,
    items: &[CaseListItem],
    format: &str,
) -> Result<HttpResponse, PageError> {
    let today = oslo::local(chrono::Utc::now().naive_utc()).date();
    let header: Vec<String> = if works {
        [
            "Sak",
            "Avtalenr.",
            "Leverandør",
            "Org.nr.",
            "Status",
            "Utfall",
            "Poeng",
            "Risikonivå",
            "Tildelt",
            "Neste dokumentfrist",
            "Hvorfor saken finnes",
        ]
        .map(String::from)
        .to_vec()
    } else {
        ["Sak", "Avtalenr.", "Status", "Utfall"]
            .map(String::from)
            .to_vec()
    };
    let rows = items
        .iter()
        .map(|i| {
            let r = row(rules, i, today);
            if works {
                vec![
                    Cell::Number(r.id as f64),
                    Cell::from(r.contract_no),
                    Cell::from(r.supplier),
                    Cell::from(r.orgnr),
                    Cell::from(r.status),
                    Cell::from(r.outcome),
                    Cell::from(r.score),
                    Cell::from(r.tier.map(|t| t.0).unwrap_or_default()),
                    Cell::from(r.assigned_to),
                    Cell::from(r.deadline),
                    Cell::from(r.source),
                ]
            } else {
                vec![
                    Cell::Number(r.id as f64),
                    Cell::from(r.contract_no),
                    Cell::from(r.status),
                    Cell::from(r.outcome),
                ]
            }
        })
        .collect();
    let table = Table {
        sheet: "Saker".into(),
        header,
        rows,
    };
    let (bytes, content_type, ext) = match format {
        "csv" => (table.to_csv(), crate::export::CSV_CONTENT_TYPE, "csv"),
        "xlsx" => (
            table
                .to_xlsx()
                .map_err(|e| PageError(AppError::Internal(e.to_string())))?,
            crate::export::XLSX_CONTENT_TYPE,
            "xlsx",
        ),
        _ => {
            return Err(PageError(AppError::BadRequest(
                "Listen kan lastes ned som csv eller xlsx.".into(),
            )));
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"saker-{}.{ext}\"",
                today.format("%Y-%m-%d")
            ),
        ))
        .body(bytes))
}

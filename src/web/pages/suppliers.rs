//! Supplier pages for Kemneren: `/suppliers` (every supplier with its look-up state) and
//! `/suppliers/{orgnr}` (register facts with their source and fetch time, the main unit's,
//! approval statuses, the look-up job) with a button that asks for a fresh look-up.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, Params, html, labels, render, see_other};
use crate::brreg::{Employees, UnitFacts};
use crate::db::models::Actor;
use crate::domain::oslo;
use crate::domain::roles::Permission;
use crate::service;
use crate::service::suppliers::FactsView;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{PageOrgNr, WebUser};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/suppliers", web::get().to(list))
        .route("/suppliers/{orgnr}", web::get().to(detail))
        .route("/suppliers/{orgnr}/refresh", web::post().to(refresh));
}

const PER_PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "suppliers.html")]
struct ListPage {
    nav: Nav,
    /// (orgnr, name, state, last success, last error)
    rows: Vec<(String, String, String, String, String)>,
    /// Exact when `total_exact`; otherwise the count stopped here.
    total: i64,
    total_exact: bool,
    page: i64,
    pages: i64,
    /// Where «Neste side» continues; `None` on the last page.
    next_cursor: Option<String>,
}

impl ListPage {
    fn total_words(&self) -> String {
        oslo::grouped(self.total)
    }
}

async fn list(
    state: web::Data<AppState>,
    user: WebUser,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewAllContracts)?;
    let params = Params::parse(req.query_string());
    let page = match params.get("page").map(str::parse::<i64>) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return Err(PageError(AppError::BadRequest(
                crate::web::BAD_ADDRESS.to_owned(),
            )));
        }
    };
    // «Neste side» carries the last row's cursor (a seek, not a skip); the page number
    // beside it only labels the page.
    let cursor = params.get("cursor").filter(|c| !c.is_empty()).map(str::to_owned);
    let asked = if cursor.is_some() { 1 } else { page };
    let list = state
        .db(move |c| service::suppliers::list(c, asked, PER_PAGE, cursor.as_deref()))
        .await?;
    let page = page.clamp(1, crate::domain::paging::MAX_PAGE);
    let (total, total_exact, next_cursor) = (list.total, list.total_exact, list.next_cursor);
    let rows = list
        .items
        .into_iter()
        .map(|s| {
            (
                s.orgnr,
                s.name,
                s.enrichment_state
                    .as_deref()
                    .map_or("ikke i kø", labels::enrichment_state)
                    .to_owned(),
                s.last_success_at.map(oslo::date_time).unwrap_or_default(),
                s.last_error.unwrap_or_default(),
            )
        })
        .collect();
    let body = ListPage {
        nav: Nav::at(&user, "/suppliers"),
        rows,
        total,
        total_exact,
        page,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        next_cursor,
    };
    Ok(html(render(&body)?))
}

/// One unit's facts as (label, value) lines, every code in words.
fn fact_lines(f: &FactsView) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        ("Kilde", labels::facts_source(&f.source).to_owned()),
        ("Hentet", oslo::date_time(f.fetched_at)),
        (
            "Status i registeret",
            labels::facts_outcome(&f.outcome).to_owned(),
        ),
    ];
    let Some(u) = &f.unit else { return lines };
    lines.extend(unit_lines(u));
    lines
}

fn yes_no(b: bool) -> String {
    if b { "ja".into() } else { "nei".into() }
}

fn unit_lines(u: &UnitFacts) -> Vec<(&'static str, String)> {
    let date = |d: Option<chrono::NaiveDate>| d.map(oslo::date).unwrap_or_else(|| "–".into());
    let mut lines = vec![
        ("Navn", u.name.clone()),
        (
            "Organisasjonsform",
            u.org_form.clone().unwrap_or_else(|| "–".into()),
        ),
        ("Underenhet", yes_no(u.is_subunit)),
        (
            "Næringskoder",
            if u.industry_codes.is_empty() {
                "–".into()
            } else {
                u.industry_codes.join(", ")
            },
        ),
        (
            "Ansatte",
            match u.employees {
                Employees::Known(n) => n.to_string(),
                Employees::Hidden1To4 => "1–4 (tallet er skjult i registeret)".into(),
                Employees::NotRegistered => "ingen registrert".into(),
            },
        ),
        ("Registrert i Enhetsregisteret", date(u.registered_date)),
        ("Stiftet / oppstart", date(u.founded_date)),
        (
            "MVA-registrert",
            match u.vat_registered {
                Some(true) => format!("ja, fra {}", date(u.vat_registered_date)),
                Some(false) => "nei".into(),
                None => "ukjent".into(),
            },
        ),
        (
            "Konkurs",
            if u.bankrupt {
                format!("ja, {}", date(u.bankruptcy_date))
            } else {
                "nei".into()
            },
        ),
        (
            "Under avvikling",
            if u.under_liquidation {
                format!("ja, {}", date(u.liquidation_date))
            } else {
                "nei".into()
            },
        ),
        (
            "Tvangsoppløsning",
            if u.forced_dissolution {
                format!(
                    "ja, {} ({})",
                    date(u.forced_dissolution_date),
                    u.forced_dissolution_reasons
                        .iter()
                        .map(|r| labels::dissolution_reason(r))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                "nei".into()
            },
        ),
        (
            "Siste innsendte årsregnskap",
            u.last_accounts_year.map_or_else(|| "–".into(), |y| y.to_string()),
        ),
    ];
    if let Some(a) = &u.business_address {
        let mut parts = a.lines.clone();
        let place = [a.postal_code.as_deref(), a.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !place.is_empty() {
            parts.push(place);
        }
        lines.push(("Forretningsadresse", parts.join(", ")));
    }
    if let Some(d) = u.deleted_date {
        lines.push(("Slettet", oslo::date(d)));
    }
    if let Some(p) = &u.parent_orgnr {
        lines.push(("Overordnet enhet", p.clone()));
    }
    lines
}

#[derive(Template)]
#[template(path = "supplier.html")]
struct DetailPage {
    nav: Nav,
    orgnr: String,
    name: String,
    facts: Option<Vec<(&'static str, String)>>,
    parent: Option<Vec<(&'static str, String)>>,
    /// (register, status, status date, file, via parent)
    approvals: Vec<(String, String, String, String, String)>,
    /// (state, attempts, last attempt, last success, next attempt, last error)
    job: Option<(String, i32, String, String, String, String)>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct Notice {
    sendt: Option<String>,
}

async fn detail(
    state: web::Data<AppState>,
    user: WebUser,
    orgnr: PageOrgNr,
    notice: web::Query<Notice>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewAllContracts)?;
    let v = state.db(move |c| service::suppliers::show(c, &orgnr.0)).await?;
    let body = DetailPage {
        nav: Nav::at(&user, "/suppliers"),
        facts: v.facts.as_ref().map(fact_lines),
        parent: v.parent.as_ref().map(fact_lines),
        approvals: v
            .approvals
            .iter()
            .map(|a| {
                (
                    labels::approval_register(&a.register).to_owned(),
                    labels::approval_status(&a.status).to_owned(),
                    a.status_date.map(oslo::date).unwrap_or_default(),
                    format!(
                        "{}{}, lastet inn {}",
                        a.file_name,
                        a.file_date.map(|d| format!(" ({})", oslo::date(d))).unwrap_or_default(),
                        oslo::date_time(a.loaded_at)
                    ),
                    a.via_parent.clone().unwrap_or_default(),
                )
            })
            .collect(),
        job: v.enrichment.as_ref().map(|j| {
            (
                labels::enrichment_state(&j.state).to_owned(),
                j.attempts,
                j.last_attempt_at.map(oslo::date_time).unwrap_or_default(),
                j.last_success_at.map(oslo::date_time).unwrap_or_default(),
                oslo::date_time(j.next_attempt_at),
                j.last_error.clone().unwrap_or_default(),
            )
        }),
        notice: notice.sendt.as_ref().map(|_| "Nytt oppslag i Enhetsregisteret er bestilt. Siden viser de nye opplysningene når oppslaget er gjort."),
        orgnr: v.orgnr,
        name: v.name,
    };
    Ok(html(render(&body)?))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

async fn refresh(
    state: web::Data<AppState>,
    user: WebUser,
    orgnr: PageOrgNr,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewAllContracts)?;
    user.check_csrf(&form.csrf_token)?;
    let actor = Actor::user(&user.user.username);
    let o = orgnr.0.clone();
    state
        .db(move |c| service::suppliers::refresh(c, &actor, &o))
        .await?;
    Ok(see_other(format!("/suppliers/{}?sendt=1", orgnr.0)))
}

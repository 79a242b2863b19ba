//! `/reports` for Kemneren: the hit rate of closed cases over a period and the yearly status
//! for the city council, shown as tables and downloadable as xlsx and csv (the same tables
//! the API gives).

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Datelike;

use super::{Nav, Params, download, html_with_status, render};
use crate::domain::oslo;
use crate::domain::roles::Permission;
use crate::export::{Cell, Table};
use crate::service;
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::WebUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports", web::get().to(show));
}

/// A report table as the page shows it: every number written the Norwegian way.
struct Shown {
    header: Vec<String>,
    rows: Vec<Vec<(String, bool)>>,
}

fn shown(t: &Table) -> Shown {
    Shown {
        header: t.header.clone(),
        rows: t
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Cell::Text(s) => (s.clone(), false),
                        Cell::Number(n) if n.fract() == 0.0 => (format!("{n:.0}"), true),
                        Cell::Number(n) => (format!("{n:.1}").replace('.', ","), true),
                        Cell::Empty => (String::new(), false),
                    })
                    .collect()
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    nav: Nav,
    from: String,
    to: String,
    year: String,
    errors: Vec<(&'static str, String)>,
    hit_rate: Option<Shown>,
    estimate: Option<String>,
    council: Option<Shown>,
    contracts_in_risk: i64,
    /// The query for the download links (without `format` and `report`).
    keep: String,
}

impl ReportsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

async fn show(
    state: web::Data<AppState>,
    user: WebUser,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadReports)?;
    let params = Params::parse(req.query_string());
    let today = oslo::today();
    let from_text = params
        .get("from")
        .map_or_else(|| format!("{}-01-01", today.year()), str::to_owned);
    let to_text = params.get("to").map_or_else(|| today.to_string(), str::to_owned);
    let year_text = params
        .get("year")
        .map_or_else(|| today.year().to_string(), str::to_owned);
    let mut errors = Vec::new();
    let date = |s: &str| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%d.%m.%Y"))
            .ok()
    };
    let from = date(&from_text);
    let to = date(&to_text);
    if from.is_none() {
        errors.push(("from", format!("«{from_text}» er ikke en dato (dd.mm.åååå).")));
    }
    if to.is_none() {
        errors.push(("to", format!("«{to_text}» er ikke en dato (dd.mm.åååå).")));
    }
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(("to", "Til-datoen er før fra-datoen.".to_owned()));
    }
    let year = year_text
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    if year.is_none() {
        errors.push((
            "year",
            format!(
                "«{year_text}» er ikke et årstall (for eksempel {}).",
                today.year()
            ),
        ));
    }
    let rules = state.rule_set();
    let (hit, council) = match (from, to, year) {
        (Some(f), Some(t), Some(y)) if errors.is_empty() => {
            let (h, c) = state
                .db(move |c| -> Result<_, crate::db::DbError> {
                    Ok((
                        service::reports::hit_rate(c, &rules, f, t)?,
                        service::reports::city_council(c, y)?,
                    ))
                })
                .await?;
            (Some(h), Some(c))
        }
        _ => (None, None),
    };
    if let (Some(format), Some(h), Some(c)) = (params.get("format"), &hit, &council) {
        let (table, name) = match params.get("report") {
            Some("bystyre") => (c.table(), format!("bystyrestatus-{}", c.year)),
            _ => (h.table(), format!("treffrate-{}-{}", h.from, h.to)),
        };
        if let Some(resp) = download(&table, format, &name)? {
            return Ok(resp);
        }
    }
    let body = ReportsPage {
        nav: Nav::at(&user, "/reports"),
        estimate: hit.as_ref().and_then(|h| h.uniform_estimate.as_ref()).map(|e| {
            let pct = |x: f64| format!("{:.1}", x * 100.0).replace('.', ",");
            format!(
                "Anslått andel kontrakter med funn (fra den uvektede delen av trekningene, {} saker): {} %, 95 % konfidensintervall {}–{} %.",
                e.sample,
                pct(e.share),
                pct(e.low),
                pct(e.high)
            )
        }),
        hit_rate: hit.as_ref().map(|h| shown(&h.table())),
        contracts_in_risk: council.as_ref().map_or(0, |c| c.contracts_in_risk_industries),
        council: council.as_ref().map(|c| shown(&c.table())),
        keep: params.without(&["format", "report"]),
        from: from_text,
        to: to_text,
        year: year_text,
        errors,
    };
    let status = if body.errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html_with_status(status, render(&body)?))
}

//! Server-rendered pages (Norwegian bokmål), one file per feature. Askama escapes all output.

mod admin;
mod auth;
mod cases;
mod charts;
mod contracts;
mod draws;
pub mod format;
mod imports;
pub mod labels;
mod liaisons;
mod outbox;
mod reports;
mod rules;
mod suppliers;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::AppState;
use super::error::{AppError, PageError};
use super::extract::WebUser;
use crate::db::models::users::User;
use crate::domain::oslo;
use crate::domain::roles::{Agency, Permission};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/style.css", web::get().to(stylesheet))
        .route("/static/app.js", web::get().to(script))
        .route("/static/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login_submit))
        .route("/logout", web::post().to(auth::logout))
        .route("/", web::get().to(home))
        .route("/imports", web::get().to(imports::list))
        .route("/imports", web::post().to(imports::upload))
        .route("/imports/{id}", web::get().to(imports::report))
        .route("/contracts", web::get().to(contracts::list))
        .route("/contracts/{id}", web::get().to(contracts::detail))
        .configure(cases::routes)
        .configure(suppliers::routes)
        .configure(rules::routes)
        .configure(reports::routes)
        .configure(draws::routes)
        .configure(admin::routes)
        .configure(liaisons::routes)
        .configure(outbox::routes);
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
    html_with_status(actix_web::http::StatusCode::OK, body)
}

/// A page with another status than 200: a refused form (422, 409, 413) shown again.
pub(crate) fn html_with_status(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// 303 to `location`: where a successful POST sends the browser.
pub(crate) fn see_other(location: impl Into<String>) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.into()))
        .finish()
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

pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../../../static/app.js"))
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
    /// Large numbers at the top: (label, value, link).
    figures: Vec<(&'static str, String, &'static str)>,
    /// The contracts chart (escaped SVG from `charts`) and the same numbers as a table.
    contracts_chart: Option<String>,
    contracts_table: Vec<(String, Vec<i64>)>,
    tier_names: Vec<(String, String)>,
    imports: Option<Vec<ImportLine>>,
    draws: Option<Vec<(i64, String, i64, i64)>>,
    cases_chart: Option<String>,
    case_counts: Vec<(String, i64)>,
    deadlines: Option<Vec<DeadlineLine>>,
}

/// A recent import on the overview: id, file, when, rows stored, rows refused.
type ImportLine = (i64, String, String, i64, i64);
/// A deadline on the overview: case id, contract, documents, date, passed.
type DeadlineLine = (i64, String, String, String, bool);

pub async fn home(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
    use charts::{Bar, Segment};
    user.require(Permission::SignedIn)?;
    let who = user.user.clone();
    let today = oslo::today();
    let d = state
        .db(move |c| crate::service::dashboard::for_user(c, &who, today))
        .await?;
    let rules = state.rule_set();
    let tiers = rules.tiers();
    // The tier columns, lowest first, then "not scored yet".
    let mut tier_names: Vec<(String, String)> =
        tiers.iter().map(|t| (t.id.clone(), t.label.clone())).collect();
    tier_names.push((String::new(), "Ikke vurdert".into()));
    let level = |tier: &str| {
        if tier.is_empty() {
            4
        } else {
            labels::tier_class(&rules, tier)
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        }
    };
    let mut figures = Vec::new();
    let (mut contracts_chart, mut contracts_table) = (None, Vec::new());
    if let Some(rows) = &d.contracts {
        figures.push(("Kontrakter", d.contracts_total.to_string(), "/contracts"));
        let top = tiers.last().map(|t| t.id.clone()).unwrap_or_default();
        let top_count: i64 = rows
            .iter()
            .filter(|r| r.industry.is_some())
            .flat_map(|r| r.tiers.iter())
            .filter(|(t, _)| *t == top)
            .map(|(_, n)| n)
            .sum();
        if let Some(t) = tiers.last() {
            figures.push((
                "i risikobransjer på høyeste nivå",
                format!("{top_count} ({})", t.label),
                "/contracts",
            ));
        }
        // Industries in the rule set's order, then "no risk industry".
        let mut ordered: Vec<&crate::service::dashboard::IndustryRow> = Vec::new();
        for i in rules.industries() {
            if let Some(r) = rows.iter().find(|r| r.industry.as_deref() == Some(i.id.as_str())) {
                ordered.push(r);
            }
        }
        ordered.extend(rows.iter().filter(|r| {
            r.industry
                .as_deref()
                .is_none_or(|id| !rules.industries().iter().any(|i| i.id == id))
        }));
        let name = |r: &crate::service::dashboard::IndustryRow| match &r.industry {
            Some(id) => labels::industry(&rules, id),
            None => "Ingen risikobransje".into(),
        };
        let bars: Vec<Bar> = ordered
            .iter()
            .map(|r| Bar {
                label: name(r),
                segments: tier_names
                    .iter()
                    .map(|(id, label)| Segment {
                        label: label.clone(),
                        value: r.tiers.iter().filter(|(t, _)| t == id).map(|(_, n)| n).sum(),
                        level: level(id),
                    })
                    .collect(),
            })
            .collect();
        contracts_table = ordered
            .iter()
            .map(|r| {
                (
                    name(r),
                    tier_names
                        .iter()
                        .map(|(id, _)| r.tiers.iter().filter(|(t, _)| t == id).map(|(_, n)| n).sum())
                        .collect(),
                )
            })
            .collect();
        if !bars.is_empty() {
            contracts_chart = Some(charts::stacked_bars(
                "kontrakter",
                "Kontrakter per bransje og risikonivå",
                &bars,
            ));
        }
    }
    let (mut cases_chart, mut case_counts) = (None, Vec::new());
    if let Some(counts) = &d.case_status {
        let open: i64 = counts.iter().filter(|(s, _)| s != "lukket").map(|(_, n)| n).sum();
        figures.push(("Åpne saker", open.to_string(), "/cases"));
        case_counts = crate::domain::case::CaseStatus::ALL
            .iter()
            .map(|s| {
                (
                    s.label().to_owned(),
                    counts
                        .iter()
                        .find(|(c, _)| c == s.as_str())
                        .map_or(0, |(_, n)| *n),
                )
            })
            .collect();
        if counts.iter().any(|(_, n)| *n > 0) {
            let bars: Vec<Bar> = case_counts
                .iter()
                .map(|(label, n)| Bar {
                    label: capitalise(label),
                    segments: vec![Segment {
                        label: label.clone(),
                        value: *n,
                        // A status is not a risk: one plain colour, not the tiers'.
                        level: 5,
                    }],
                })
                .collect();
            cases_chart = Some(charts::stacked_bars("saker", "Saker etter status", &bars));
        }
    }
    let deadlines = d.deadlines.map(|list| {
        if !list.is_empty() {
            let overdue = list.iter().filter(|x| x.deadline < today).count();
            figures.push(("Dokumentfrister passert", overdue.to_string(), "/cases"));
        }
        list.into_iter()
            .map(|x| {
                (
                    x.case_id,
                    format!("{} – {}", x.contract_no, x.supplier_name),
                    labels::documents(&x.documents),
                    oslo::date(x.deadline),
                    x.deadline < today,
                )
            })
            .collect()
    });
    if let Some(out) = &d.outbox {
        let dead = out.iter().find(|(s, _)| s == "dead").map_or(0, |(_, n)| *n);
        figures.push(("E-poster som ikke kom fram", dead.to_string(), "/outbox"));
    }
    let page = HomePage {
        agency_label: user.user.agency.map(Agency::label),
        nav: Nav::at(&user, "/"),
        figures,
        contracts_chart,
        contracts_table,
        tier_names,
        imports: d.imports.map(|list| {
            list.into_iter()
                .map(|b| {
                    (
                        b.id,
                        b.file_name,
                        oslo::date_time(b.created_at),
                        b.rows_imported,
                        b.rows_rejected,
                    )
                })
                .collect()
        }),
        draws: d.draws.map(|list| {
            list.into_iter()
                .map(|x| (x.id, oslo::date_time(x.created_at), x.population_size, x.picks))
                .collect()
        }),
        cases_chart,
        case_counts,
        deadlines,
    };
    Ok(html(render(&page)?))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A list downloaded as a file (`?format=xlsx|csv`); `None` for any other format, so the
/// page is shown instead.
pub(crate) fn download(
    table: &crate::export::Table,
    format: &str,
    name: &str,
) -> Result<Option<HttpResponse>, PageError> {
    let (bytes, content_type, ext) = match format {
        "xlsx" => (
            table
                .to_xlsx()
                .map_err(|e| PageError(AppError::Internal(e.to_string())))?,
            crate::export::XLSX_CONTENT_TYPE,
            "xlsx",
        ),
        "csv" => (table.to_csv(), crate::export::CSV_CONTENT_TYPE, "csv"),
        _ => return Ok(None),
    };
    Ok(Some(
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                crate::web::attachment(&format!("{name}.{ext}")),
            ))
            .body(bytes),
    ))
}

/// A query string read as people's forms send it: repeated keys (`tier=høy&tier=kritisk`)
/// kept, empty values dropped.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(query: &str) -> Self {
        Params(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The query again without the keys named, URL-encoded, for links that change one thing
    /// (a page, a sort) and keep the rest.
    pub(crate) fn without(&self, keys: &[&str]) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.0.iter().filter(|(k, _)| !keys.contains(&k.as_str())) {
            out.append_pair(k, v);
        }
        out.finish()
    }
}

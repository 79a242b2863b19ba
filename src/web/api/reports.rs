//! `/api/v1/reports`: the hit rate of closed cases and the yearly status for the city
//! council, as JSON or as a download (`format=xlsx|csv`). Kemneren.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::roles::Permission;
use crate::export::Table;
use crate::service;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::ApiUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports/hit-rate", web::get().to(hit_rate))
        .route("/reports/city-council", web::get().to(city_council));
}

/// JSON, or the report's table as a file.
fn answer<T: serde::Serialize>(
    data: &T,
    table: Table,
    format: Option<&str>,
    name: &str,
) -> Result<HttpResponse, ApiError> {
    match format {
        None | Some("json") => Ok(HttpResponse::Ok().json(data)),
        Some("xlsx") => {
            let bytes = table.to_xlsx().map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(HttpResponse::Ok()
                .content_type(crate::export::XLSX_CONTENT_TYPE)
                .insert_header((
                    "Content-Disposition",
                    format!("attachment; filename=\"{name}.xlsx\""),
                ))
                .body(bytes))
        }
        Some("csv") => Ok(HttpResponse::Ok()
            .content_type(crate::export::CSV_CONTENT_TYPE)
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(table.to_csv())),
        Some(other) => {
            Err(AppError::BadRequest(format!("unknown format '{other}': use json, xlsx or csv")).into())
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HitRateQuery {
    from: NaiveDate,
    to: NaiveDate,
    format: Option<String>,
}

async fn hit_rate(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<HitRateQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadReports)?;
    let q = query.into_inner();
    let rules = state.rule_set();
    let (from, to) = (q.from, q.to);
    let report = state
        .db(move |c| service::reports::hit_rate(c, &rules, from, to))
        .await?;
    answer(
        &report,
        report.table(),
        q.format.as_deref(),
        &format!("treffrate-{from}-{to}"),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearQuery {
    year: i32,
    format: Option<String>,
}

async fn city_council(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<YearQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadReports)?;
    let q = query.into_inner();
    let year = q.year;
    if !(2000..=2100).contains(&year) {
        return Err(AppError::BadRequest(format!("year {year}: give a year such as 2026")).into());
    }
    let report = state.db(move |c| service::reports::city_council(c, year)).await?;
    answer(
        &report,
        report.table(),
        q.format.as_deref(),
        &format!("bystyrestatus-{year}"),
    )
}

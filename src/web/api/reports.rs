//! `/api/v1/reports`: the hit rate of closed cases and the yearly status for the city
//! council, as JSON or as a download (`format=xlsx|csv`). Kemneren.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::roles::Permission;
use crate::export::Table;
use crate::service;
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::ApiUser;

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_hit_rate, hit_rate)
        .add(__path_city_council, city_council);
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

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HitRateQuery {
    /// First day, `yyyy-mm-dd`.
    from: NaiveDate,
    /// Last day, `yyyy-mm-dd`.
    to: NaiveDate,
    /// `json` (the default), `xlsx` or `csv`.
    format: Option<String>,
}

/// The hit rate of closed cases
///
/// Per industry and tier, the share of cases closed in the period that found something.
#[utoipa::path(get, path = "/reports/hit-rate", params(HitRateQuery), responses(
    (status = 200, description = "The report as JSON, or its table as an xlsx or csv attachment.", content(
        (Object = "application/json"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (String = "text/csv"),
    )),
))]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct YearQuery {
    /// The year, 2000–2100.
    year: i32,
    /// `json` (the default), `xlsx` or `csv`.
    format: Option<String>,
}

/// The yearly status for the city council
///
/// Draws, cases and outcomes of the year.
#[utoipa::path(get, path = "/reports/city-council", params(YearQuery), responses(
    (status = 200, description = "The report as JSON, or its table as an xlsx or csv attachment.", content(
        (Object = "application/json"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (String = "text/csv"),
    )),
))]
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

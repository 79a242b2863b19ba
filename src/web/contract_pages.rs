//! Norwegian pages for contracts and their risk: `/contracts` (filter by tier and industry,
//! highest score first) and `/contracts/{id}` (the explanation and its history). Same
//! visibility as the API: an innkjøper sees the contracts their own imports brought in.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::AppState;
use super::auth::WebUser;
use super::error::{AppError, PageError};
use super::pages::{Nav, html, render};
use crate::db::DbError;
use crate::db::models::contracts::{self, Contract, ContractFilter, ContractPage, ContractSort};
use crate::db::models::risk as store;
use crate::domain::roles::Permission;
use crate::scoring::{self, ExplainedAssessment};

const PER_PAGE: i64 = 100;

#[derive(Deserialize)]
pub struct ListQuery {
    tier: Option<String>,
    industry: Option<String>,
    supplier: Option<String>,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "contracts.html")]
struct ListPage {
    nav: Nav,
    page: ContractPage,
    tiers: Vec<(String, String)>,
    industries: Vec<(String, String)>,
    tier: String,
    industry: String,
    supplier: String,
    pages: i64,
    /// The query string without `page`, for the paging links (already URL-encoded).
    keep: String,
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

pub async fn list(
    state: web::Data<AppState>,
    user: WebUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewOwnImports)?;
    let q = query.into_inner();
    let nonempty = |s: Option<String>| s.map(|x| x.trim().to_owned()).filter(|x| !x.is_empty());
    let (tier, industry, supplier) = (nonempty(q.tier), nonempty(q.industry), nonempty(q.supplier));
    let filter = ContractFilter {
        supplier: supplier.clone(),
        visible_to_uploader: super::api::uploader_scope(&user.user),
        tiers: tier.clone().map(|t| vec![t]),
        industry: industry.clone(),
        sort: ContractSort::Score,
        page: q.page.unwrap_or(1),
        per_page: PER_PAGE,
        ..ContractFilter::default()
    };
    let pool = state.pool.clone();
    let page = web::block(move || contracts::list(&mut *pool.get()?, &filter)).await??;
    let rules = state.rules.get();
    let keep = [("tier", &tier), ("industry", &industry), ("supplier", &supplier)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&");
    let body = ListPage {
        nav: Nav::for_user(&user),
        pages: ((page.total + PER_PAGE - 1) / PER_PAGE).max(1),
        page,
        tiers: rules
            .tiers()
            .iter()
            .map(|t| (t.id.to_string(), t.label.to_string()))
            .collect(),
        industries: rules
            .industries()
            .iter()
            .map(|i| (i.id.to_string(), i.name.to_string()))
            .collect(),
        tier: tier.unwrap_or_default(),
        industry: industry.unwrap_or_default(),
        supplier: supplier.unwrap_or_default(),
        keep,
    };
    Ok(html(render(&body)?))
}

#[derive(Template)]
#[template(path = "contract.html")]
struct DetailPage {
    nav: Nav,
    contract: Contract,
    current: Option<ExplainedAssessment>,
    history: Vec<store::AssessmentRow>,
}

pub async fn detail(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewOwnImports)?;
    let id = path.into_inner();
    let scope = super::api::uploader_scope(&user.user);
    let pool = state.pool.clone();
    let active = state.rules.get();
    let (contract, current, history) = web::block(move || {
        let mut conn = pool.get()?;
        let Some(contract) = contracts::get_visible(&mut conn, id, scope)? else {
            return Err(DbError::NotFound(format!(
                "Kontrakt {id} finnes ikke, eller du har ikke tilgang til den."
            )));
        };
        let history = store::contract_history(&mut conn, id)?;
        let current = match history.first() {
            Some(row) => {
                let rules = scoring::rule_set_of_version(&mut conn, &active, &row.rule_set_version)?;
                Some(scoring::explain(row, rules.as_deref())?)
            }
            None => None,
        };
        Ok((contract, current, history))
    })
    .await?
    .map_err(AppError::from)?;
    let body = DetailPage {
        nav: Nav::for_user(&user),
        contract,
        current,
        history,
    };
    Ok(html(render(&body)?))
}

/// Evidence values as people read them: text without quotes, `ukjent` for missing.
pub fn evidence_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "ukjent".into(),
        serde_json::Value::Bool(true) => "ja".into(),
        serde_json::Value::Bool(false) => "nei".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(xs) => xs.iter().map(evidence_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Øre as `1 234 567,50 kr`.
pub fn nok(ore: &Option<i64>) -> String {
    let Some(ore) = *ore else { return String::new() };
    let (sign, ore) = if ore < 0 { ("-", -ore) } else { ("", ore) };
    let kroner = (ore / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in kroner.chars().enumerate() {
        if i > 0 && (kroner.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02}\u{a0}kr", ore % 100)
}

/// The first 12 characters of a version hash, enough to tell versions apart on screen.
pub fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

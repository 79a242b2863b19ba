//! Norwegian pages for contracts and their risk: `/contracts` (filter by tier and industry,
//! highest score first) and `/contracts/{id}` (the explanation and its history). Same
//! visibility as the API: an innkjøper sees the contracts their own imports brought in.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, html, render};
use crate::db::models::assessments::AssessmentRow;
use crate::db::models::contracts::{Contract, ContractFilter, ContractPage, ContractSort};
use crate::domain::roles::Permission;
use crate::service;
use crate::service::scoring::ExplainedAssessment;
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::{WebUser, uploader_scope};

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
        visible_to_owner: uploader_scope(&user.user),
        tiers: tier.clone().map(|t| vec![t]),
        industry: industry.clone(),
        sort: ContractSort::Score,
        page: q.page.unwrap_or(1),
        per_page: PER_PAGE,
        ..ContractFilter::default()
    };
    let page = state.db(move |c| service::contracts::list(c, &filter)).await?;
    let rules = state.rule_set();
    let keep = [("tier", &tier), ("industry", &industry), ("supplier", &supplier)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&");
    let body = ListPage {
        nav: Nav::at(&user, "/contracts"),
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
    history: Vec<AssessmentRow>,
}

pub async fn detail(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewOwnImports)?;
    let id = path.into_inner();
    let scope = uploader_scope(&user.user);
    let active = state.rule_set();
    let (contract, view) = state
        .db(move |c| service::contracts::show(c, &active, id, scope))
        .await?;
    let (current, history) = (view.current, view.history);
    let body = DetailPage {
        nav: Nav::at(&user, "/contracts"),
        contract,
        current,
        history,
    };
    Ok(html(render(&body)?))
}

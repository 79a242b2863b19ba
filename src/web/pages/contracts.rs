//! Norwegian pages for contracts and their risk: `/contracts` (filter by tier and industry,
//! highest score first) and `/contracts/{id}` (the explanation and its history). Same
//! visibility as the API: an innkjøper sees the contracts their own imports brought in.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Nav, Params, download, html, html_with_status, labels, render};
use crate::db::models::assessments::AssessmentRow;
use crate::db::models::contracts::{Contract, ContractFilter, ContractSort, ContractWithRisk};
use crate::domain::oslo;
use crate::domain::paging::MAX_PER_PAGE;
use crate::domain::roles::Permission;
use crate::export::{Cell, Table};
use crate::service;
use crate::service::scoring::ExplainedAssessment;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{WebUser, uploader_scope};

/// Page sizes offered; the default is the first.
const PAGE_SIZES: [i64; 4] = [50, 100, 200, 500];

/// One column a person can sort by: (query value, heading).
const SORTS: [(&str, &str); 5] = [
    ("score", "Poeng"),
    ("contract_no", "Avtalenr."),
    ("value", "Verdi"),
    ("supplier", "Leverandør"),
    ("end_date", "Sluttdato"),
];

/// The filter as typed, kept on the page (and in its links) whatever was wrong with it.
#[derive(Default)]
struct Typed {
    q: String,
    tiers: Vec<String>,
    industry: String,
    unit: String,
    min_kr: String,
    max_kr: String,
    from: String,
    to: String,
    sort: String,
    per_page: i64,
}

/// A row as shown and exported: every code already in words.
struct Row {
    id: i64,
    contract_no: String,
    title: String,
    supplier: String,
    orgnr: String,
    unit: String,
    value: String,
    value_ore: Option<i64>,
    end_date: String,
    score: Option<i32>,
    max_score: i32,
    tier: String,
    tier_class: String,
    industries: String,
}

#[derive(Template)]
#[template(path = "contracts.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<Row>,
    /// Matching contracts, exact when `total_exact`; otherwise the count stopped here.
    total: i64,
    total_exact: bool,
    page: i64,
    /// Pages, when the count is exact.
    pages: i64,
    /// Where «Neste side» continues; `None` on the last page.
    next_cursor: Option<String>,
    typed: Typed,
    /// Field → what is wrong with it.
    errors: Vec<(&'static str, String)>,
    tiers: Vec<(String, String)>,
    industries: Vec<(String, String)>,
    sizes: [i64; 4],
    sorts: [(&'static str, &'static str); 5],
    /// The query without `page` / `cursor` / `sort` / `format`, URL-encoded, for links.
    keep_page: String,
    keep_sort: String,
    keep_format: String,
}

impl ListPage {
    /// The capped count as written in Norwegian (`10 000`, with a no-break space).
    fn total_words(&self) -> String {
        oslo::grouped(self.total)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// Kroner as typed (`1 234 567`, `1234567,50`) to øre.
fn parse_kr(s: &str) -> Option<i64> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    let cleaned = cleaned.trim_end_matches("kr").replace(',', ".");
    let v: f64 = cleaned.parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| (v * 100.0).round() as i64)
}

fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .ok()
}

pub async fn list(
    state: web::Data<AppState>,
    user: WebUser,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ViewOwnImports)?;
    let params = Params::parse(req.query_string());
    let rules = state.rule_set();
    let mut errors = Vec::new();
    let per_page = match params.get("per_page").map(str::parse::<i64>) {
        None => PAGE_SIZES[1],
        Some(Ok(n)) if PAGE_SIZES.contains(&n) => n,
        Some(_) => {
            errors.push(("per_page", "Velg et antall per side fra listen.".to_owned()));
            PAGE_SIZES[1]
        }
    };
    let typed = Typed {
        q: params.get("q").unwrap_or_default().to_owned(),
        tiers: params.all("tier"),
        industry: params.get("industry").unwrap_or_default().to_owned(),
        unit: params.get("unit").unwrap_or_default().to_owned(),
        min_kr: params.get("min_kr").unwrap_or_default().to_owned(),
        max_kr: params.get("max_kr").unwrap_or_default().to_owned(),
        from: params.get("from").unwrap_or_default().to_owned(),
        to: params.get("to").unwrap_or_default().to_owned(),
        sort: params.get("sort").unwrap_or("score").to_owned(),
        per_page,
    };
    let money = |field: &'static str, s: &str, errors: &mut Vec<(&'static str, String)>| {
        if s.is_empty() {
            return None;
        }
        let v = parse_kr(s);
        if v.is_none() {
            errors.push((
                field,
                format!("«{s}» er ikke et beløp i kroner (for eksempel 250 000)."),
            ));
        }
        v
    };
    let date = |field: &'static str, s: &str, errors: &mut Vec<(&'static str, String)>| {
        if s.is_empty() {
            return None;
        }
        let d = parse_date(s);
        if d.is_none() {
            errors.push((field, format!("«{s}» er ikke en dato (dd.mm.åååå).")));
        }
        d
    };
    let min_value_ore = money("min_kr", &typed.min_kr, &mut errors);
    let max_value_ore = money("max_kr", &typed.max_kr, &mut errors);
    let active_from = date("from", &typed.from, &mut errors);
    let active_to = date("to", &typed.to, &mut errors);
    let sort = match typed.sort.as_str() {
        "score" => ContractSort::Score,
        "contract_no" => ContractSort::ContractNo,
        "value" => ContractSort::Value,
        "supplier" => ContractSort::Supplier,
        "end_date" => ContractSort::EndDate,
        _ => {
            errors.push(("sort", "Velg en sortering fra listen.".to_owned()));
            ContractSort::Score
        }
    };
    let page_no = match params.get("page").map(str::parse::<i64>) {
        None => 1,
        Some(Ok(n)) => n,
        // A page number is not something people type: a broken address, as everywhere.
        Some(_) => {
            return Err(PageError(AppError::BadRequest(
                crate::web::BAD_ADDRESS.to_owned(),
            )));
        }
    };
    // «Neste side» carries the last row's cursor, so a deep page is a seek, not a skip; the
    // page number beside it is only what the page says it is.
    let cursor = params.get("cursor").filter(|c| !c.is_empty()).map(str::to_owned);
    let format = params.get("format").unwrap_or("").to_owned();
    let filter = ContractFilter {
        search: (!typed.q.is_empty()).then(|| typed.q.clone()),
        visible_to_owner: uploader_scope(&user.user),
        tiers: (!typed.tiers.is_empty()).then(|| typed.tiers.clone()),
        industry: (!typed.industry.is_empty()).then(|| typed.industry.clone()),
        unit: (!typed.unit.is_empty()).then(|| typed.unit.clone()),
        min_value_ore,
        max_value_ore,
        active_from,
        active_to,
        sort,
        page: if cursor.is_some() { 1 } else { page_no },
        after: cursor.clone(),
        per_page: if format.is_empty() { per_page } else { MAX_PER_PAGE },
        ..ContractFilter::default()
    };
    let to_row = |c: ContractWithRisk| {
        let (score, max_score, tier, tier_class, industries) = match &c.risk {
            Some(r) => (
                Some(r.score),
                r.max_possible_score,
                labels::tier(&rules, &r.tier),
                labels::tier_class(&rules, &r.tier),
                labels::industries(&rules, &r.industries),
            ),
            None => (None, 0, String::new(), String::new(), String::new()),
        };
        let k = c.contract;
        Row {
            id: k.id,
            value: k.value_ore.map(oslo::kroner).unwrap_or_default(),
            value_ore: k.value_ore,
            end_date: k
                .end_date
                .map(|d| d.format("%d.%m.%Y").to_string())
                .unwrap_or_default(),
            contract_no: k.contract_no,
            title: k.title.unwrap_or_default(),
            supplier: k.supplier_name,
            orgnr: k.orgnr,
            unit: k.unit.unwrap_or_default(),
            score,
            max_score,
            tier,
            tier_class,
            industries,
        }
    };
    if !format.is_empty() && errors.is_empty() {
        // The whole selection, a page at a time (at most MAX_PER_PAGE rows), each page
        // after the cursor of the one before.
        let mut f = filter.clone();
        let rows = state
            .db(move |c| -> Result<Vec<ContractWithRisk>, crate::db::DbError> {
                let mut all = Vec::new();
                f.page = 1;
                f.after = None;
                loop {
                    let p = service::contracts::list(c, &f)?;
                    all.extend(p.items);
                    match p.next_cursor {
                        Some(next) => f.after = Some(next),
                        None => return Ok(all),
                    }
                }
            })
            .await?;
        let table = Table {
            sheet: "Kontrakter".into(),
            header: [
                "Avtalenr.",
                "Avtale",
                "Leverandør",
                "Org.nr.",
                "Enhet",
                "Verdi eks. mva (kr)",
                "Sluttdato",
                "Poeng",
                "Maks poeng",
                "Risikonivå",
                "Bransjer",
            ]
            .map(String::from)
            .to_vec(),
            rows: rows
                .into_iter()
                .map(to_row)
                .map(|r| {
                    vec![
                        Cell::from(r.contract_no),
                        Cell::from(r.title),
                        Cell::from(r.supplier),
                        Cell::from(r.orgnr),
                        Cell::from(r.unit),
                        r.value_ore
                            .map_or(Cell::Empty, |o| Cell::Number(o as f64 / 100.0)),
                        Cell::from(r.end_date),
                        r.score.map_or(Cell::Empty, |s| Cell::Number(f64::from(s))),
                        r.score
                            .map_or(Cell::Empty, |_| Cell::Number(f64::from(r.max_score))),
                        Cell::from(r.tier),
                        Cell::from(r.industries),
                    ]
                })
                .collect(),
        };
        if let Some(resp) = download(&table, &format, "kontrakter")? {
            return Ok(resp);
        }
        errors.push((
            "format",
            format!("Ukjent filformat «{format}»: velg xlsx eller csv."),
        ));
    }
    let (total, total_exact, rows, next_cursor) = if errors.is_empty() {
        let counts = state.counts.clone();
        let page = state
            .db(move |c| service::contracts::list_remembering(c, &filter, &counts))
            .await?;
        (
            page.total,
            page.total_exact,
            page.items.into_iter().map(to_row).collect(),
            page.next_cursor,
        )
    } else {
        (0, true, Vec::new(), None)
    };
    // With a cursor the number only labels the page (it is not used to find it).
    let page_no = if errors.is_empty() {
        page_no.clamp(1, crate::domain::paging::MAX_PAGE)
    } else {
        1
    };
    let body = ListPage {
        nav: Nav::at(&user, "/contracts"),
        pages: ((total + per_page - 1) / per_page).max(1),
        total,
        total_exact,
        page: page_no,
        next_cursor,
        rows,
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
        sizes: PAGE_SIZES,
        sorts: SORTS,
        keep_page: params.without(&["page", "cursor", "format"]),
        keep_sort: params.without(&["page", "cursor", "sort", "format"]),
        keep_format: params.without(&["page", "cursor", "format"]),
        typed,
        errors,
    };
    let status = if body.errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html_with_status(status, render(&body)?))
}

#[derive(Template)]
#[template(path = "contract.html")]
struct DetailPage {
    nav: Nav,
    contract: Contract,
    current: Option<ExplainedAssessment>,
    history: Vec<AssessmentRow>,
    rules: std::sync::Arc<crate::risk::RuleSet>,
}

/// Words for the codes the template shows (see `labels`).
impl DetailPage {
    fn tier(&self, id: &str) -> String {
        labels::tier(&self.rules, id)
    }

    fn tier_class(&self, id: &str) -> String {
        labels::tier_class(&self.rules, id)
    }

    fn industries(&self, ids: &[String]) -> String {
        labels::industries(&self.rules, &ids.join(","))
    }

    fn evidence(&self, key: &str, value: &serde_json::Value) -> String {
        labels::evidence(&self.rules, key, value)
    }

    fn occasion(&self, code: &str) -> String {
        labels::occasion(code).to_owned()
    }

    fn shows_suppliers(&self) -> bool {
        self.nav.links.iter().any(|l| l.0 == "/suppliers")
    }

    fn when(&self, at: &chrono::NaiveDateTime) -> String {
        oslo::date_time(*at)
    }
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
    let rules = active.clone();
    let (contract, view) = state
        .db(move |c| service::contracts::show(c, &active, id, scope))
        .await?;
    let (current, history) = (view.current, view.history);
    let body = DetailPage {
        nav: Nav::at(&user, "/contracts"),
        contract,
        current,
        history,
        rules,
    };
    Ok(html(render(&body)?))
}

//! The case page (`/cases/{id}`) and its forms. Each form posts to the path of its API
//! call (`/cases/{id}/notes` for `/api/v1/cases/{id}/notes`, and so on) with the CSRF token;
//! a step the service accepts redirects (303) back to the page with a short confirmation, a
//! refused one renders the page again with what was typed and the reason beside the field
//! (422 for a value, 409 for a step the workflow refuses). The service decides who may do
//! what; the page only leaves out forms that would be refused.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{AGENCIES, require_reader};
use crate::domain::case::{CaseStatus, DocumentKind, FindingResult, Outcome};
use crate::domain::liaison::Problem;
use crate::domain::oslo;
use crate::domain::roles::Permission;
use crate::risk::RuleSet;
use crate::service;
use crate::service::cases::{CasePageView, CaseWorkbench};
use crate::service::scoring::ExplainedAssessment;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::{WebUser, read_upload};
use crate::web::pages::{Nav, format, labels, render};

/// What a refused form had in it, to show again, and why it was refused.
#[derive(Default)]
struct Typed {
    /// Form field → value, keyed `form.field` (`note.text`, `documents.deadline`, …).
    values: HashMap<String, String>,
    /// The documents ticked in the document request form.
    documents: Vec<String>,
    /// (`form.field`, message); `form.form` for a refusal of the whole step.
    errors: Vec<(String, String)>,
}

/// An explanation of the contract's risk, in words.
struct Explanation {
    score: i32,
    max: i32,
    tier: String,
    tier_class: String,
    assessed: String,
    version: String,
    facts_fetched: String,
    industries: String,
    fired: Vec<(String, u32, Vec<String>)>,
    not_computable: Vec<(String, String)>,
}

struct RequestRow {
    id: i64,
    documents: String,
    deadline: String,
    note: String,
    by: String,
    state: String,
    open: bool,
    overdue: bool,
}

struct EvidenceItem {
    id: i64,
    name: String,
    kind: String,
    size: String,
    sha_short: String,
    sha: String,
    at: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    nav: Nav,
    id: i64,
    heading: String,
    notice: Option<&'static str>,
    /// Whether the person works the case (else: an innkjøper's view of the outcome).
    full: bool,
    facts: Vec<(&'static str, String)>,
    status: String,
    closed: bool,
    kontrollert: bool,
    supplier: Vec<(&'static str, String)>,
    supplier_fetched: String,
    approvals: Vec<(String, String, String)>,
    draw: Option<(i64, String, String, i32, i64)>,
    at_opening: Option<Explanation>,
    current: Option<Explanation>,
    /// Whether the assessment at opening is still the current one.
    unchanged: bool,
    shares: Vec<(String, String, String)>,
    share_options: Vec<(&'static str, &'static str)>,
    may_share: bool,
    notes: Vec<(String, String, String)>,
    findings: Vec<(String, String, String, String)>,
    indicators: Vec<(String, String)>,
    results: Vec<(&'static str, &'static str)>,
    requests: Vec<RequestRow>,
    document_kinds: Vec<(&'static str, &'static str)>,
    evidence: Vec<EvidenceItem>,
    evidence_max_mb: usize,
    proposal: Option<(String, String, String)>,
    may_confirm: bool,
    outcomes: Vec<(&'static str, &'static str)>,
    steps: Vec<(&'static str, String)>,
    assignees: Vec<String>,
    assigned_to: String,
    history: Vec<(String, String, String)>,
    today: String,
    typed: Typed,
}

impl CasePage {
    fn err(&self, key: &str) -> Option<&str> {
        self.typed
            .errors
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m.as_str())
    }

    fn value(&self, key: &str) -> &str {
        self.typed.values.get(key).map_or("", String::as_str)
    }

    fn ticked(&self, doc: &str) -> bool {
        self.typed.documents.iter().any(|d| d == doc)
    }
}

/// The confirmation after a step, by the `done` key of the redirect (never free text).
fn confirmation(done: &str) -> Option<&'static str> {
    Some(match done {
        "status" => "Statusen er endret.",
        "assign" => "Saken er tildelt.",
        "note" => "Notatet er lagret.",
        "finding" => "Funnet er registrert.",
        "close" => "Lukking er foreslått. En annen person må bekrefte den.",
        "confirm" => "Saken er lukket.",
        "reopen" => "Saken er gjenåpnet.",
        "share" => "Saken er delt.",
        "unshare" => "Saken deles ikke lenger med etaten.",
        "evidence" => "Vedlegget er lastet opp.",
        "documents" => "Dokumentforespørselen er lagret.",
        "received" => "Dokumentene er merket som mottatt.",
        _ => return None,
    })
}

fn explanation(rules: &RuleSet, a: &ExplainedAssessment) -> Explanation {
    Explanation {
        score: a.score,
        max: a.max_possible_score,
        tier: labels::tier(rules, &a.tier),
        tier_class: labels::tier_class(rules, &a.tier),
        assessed: oslo::date_time(a.assessed_at),
        version: format::short(&a.rule_set_version).to_owned(),
        facts_fetched: a.facts_fetched_at.map(oslo::date_time).unwrap_or_default(),
        industries: if a.industries.is_empty() {
            "ingen risikobransje".into()
        } else {
            a.industries
                .iter()
                .map(|i| labels::industry(rules, i))
                .collect::<Vec<_>>()
                .join(", ")
        },
        fired: a
            .fired
            .iter()
            .map(|f| {
                let evidence = f
                    .evidence
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| labels::evidence(rules, k, v)).collect())
                    .unwrap_or_default();
                (
                    f.title
                        .clone()
                        .unwrap_or_else(|| labels::indicator(rules, &f.rule)),
                    f.weight,
                    evidence,
                )
            })
            .collect(),
        not_computable: a
            .not_computable
            .iter()
            .map(|f| {
                (
                    f.title
                        .clone()
                        .unwrap_or_else(|| labels::indicator(rules, &f.rule)),
                    f.reason.as_deref().map(labels::missing).unwrap_or_default(),
                )
            })
            .collect(),
    }
}

fn size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0)).replace('.', ",")
    } else if bytes >= 1024 {
        format!("{} kB", bytes / 1024)
    } else {
        format!("{bytes} byte")
    }
}

fn yes_no(b: bool) -> String {
    if b { "ja".into() } else { "nei".into() }
}

fn work_page(
    nav: Nav,
    rules: &RuleSet,
    w: CaseWorkbench,
    user_id: i64,
    may_share: bool,
    typed: Typed,
) -> CasePage {
    let d = w.case;
    let status: Option<CaseStatus> = d.status.parse().ok();
    let closed = status == Some(CaseStatus::Lukket);
    let mut facts = vec![
        (
            "Kontrakt",
            match &d.contract.title {
                Some(t) => format!("{} – {t}", d.contract.contract_no),
                None => d.contract.contract_no.clone(),
            },
        ),
        ("Leverandør", d.contract.supplier_name.clone()),
        ("Org.nr.", d.contract.orgnr.clone()),
        ("Enhet", d.contract.unit.clone().unwrap_or_else(|| "–".into())),
        (
            "Verdi eks. mva",
            d.contract.value_ore.map_or_else(|| "–".into(), oslo::kroner),
        ),
        (
            "Risikobransjer",
            if d.industries.is_empty() {
                "ingen risikobransje".into()
            } else {
                d.industries
                    .iter()
                    .map(|i| labels::industry(rules, i))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        ("Hvorfor saken finnes", labels::case_source(&d.source).to_owned()),
        ("Status", labels::case_status(&d.status)),
    ];
    if let Some(o) = &d.outcome {
        facts.push(("Utfall", labels::case_outcome(o)));
    }
    facts.push((
        "Tildelt",
        d.assigned_to.clone().unwrap_or_else(|| "ingen ennå".into()),
    ));
    facts.push(("Opprettet", oslo::date_time(d.created_at)));
    facts.push(("Sist endret", oslo::date_time(d.updated_at)));

    let (supplier, supplier_fetched, approvals) = match &w.supplier {
        None => (Vec::new(), String::new(), Vec::new()),
        Some(s) => {
            let mut rows: Vec<(&'static str, String)> = Vec::new();
            let fetched = match &s.facts {
                Some(f) => {
                    if let Some(u) = &f.unit {
                        rows.push(("Navn i registeret", u.name.clone()));
                        if let Some(form) = &u.org_form {
                            rows.push(("Organisasjonsform", form.clone()));
                        }
                        if !u.industry_codes.is_empty() {
                            rows.push(("Næringskoder", u.industry_codes.join(", ")));
                        }
                        if let Some(d) = u.registered_date {
                            rows.push(("Registrert", oslo::date(d)));
                        }
                        if let Some(v) = u.vat_registered {
                            rows.push(("I Merverdiavgiftsregisteret", yes_no(v)));
                        }
                        rows.push(("Konkurs", yes_no(u.bankrupt)));
                        rows.push(("Under avvikling", yes_no(u.under_liquidation)));
                        rows.push(("Tvangsavvikling", yes_no(u.forced_dissolution)));
                        if let Some(d) = u.deleted_date {
                            rows.push(("Slettet", oslo::date(d)));
                        }
                    } else {
                        rows.push(("Registeret", "fant ikke enheten".into()));
                    }
                    format!("Hentet fra Enhetsregisteret {}", oslo::date_time(f.fetched_at))
                }
                None => "Ikke hentet fra Enhetsregisteret ennå.".into(),
            };
            let approvals = s
                .approvals
                .iter()
                .map(|a| {
                    (
                        labels::approval_register(&a.register).to_owned(),
                        labels::approval_status(&a.status).to_owned(),
                        format!(
                            "lastet inn {}{}",
                            oslo::date_time(a.loaded_at),
                            a.status_date
                                .map(|d| format!(", status per {}", oslo::date(d)))
                                .unwrap_or_default()
                        ),
                    )
                })
                .collect();
            (rows, fetched, approvals)
        }
    };

    let unchanged = match (&w.at_opening, &w.current) {
        (Some(a), Some(c)) => a.assessment_id == c.assessment_id,
        _ => false,
    };
    // Findings are recorded per indicator that fired, and only for indicators of the rule
    // set in force (the service refuses any other).
    let mut indicators: Vec<(String, String)> = Vec::new();
    for a in [&w.at_opening, &w.current].into_iter().flatten() {
        for f in &a.fired {
            if rules.indicators().iter().any(|i| i.id == f.rule)
                && !indicators.iter().any(|(id, _)| *id == f.rule)
            {
                indicators.push((f.rule.clone(), labels::indicator(rules, &f.rule)));
            }
        }
    }
    let shared: Vec<String> = d.shares.iter().map(|s| s.agency.clone()).collect();
    let today = oslo::local(chrono::Utc::now().naive_utc()).date();
    let current_status = status;
    let me = nav.username.clone();
    CasePage {
        nav,
        id: d.id,
        heading: format!("Sak {}: {}", d.id, d.contract.supplier_name),
        notice: None,
        full: true,
        facts,
        status: labels::case_status(&d.status),
        closed,
        kontrollert: status == Some(CaseStatus::Kontrollert),
        supplier,
        supplier_fetched,
        approvals,
        draw: d.draw.as_ref().map(|o| {
            (
                o.draw_id,
                o.part.as_deref().map(labels::draw_part).unwrap_or("–").to_owned(),
                o.stratum
                    .as_deref()
                    .map_or_else(|| "–".to_owned(), |s| labels::stratum(rules, s)),
                o.round,
                o.position,
            )
        }),
        at_opening: w.at_opening.as_ref().map(|a| explanation(rules, a)),
        current: w.current.as_ref().map(|a| explanation(rules, a)),
        unchanged,
        shares: d
            .shares
            .iter()
            .map(|s| {
                (
                    s.agency.clone(),
                    labels::agency(&s.agency),
                    oslo::date_time(s.created_at),
                )
            })
            .collect(),
        share_options: AGENCIES
            .iter()
            .filter(|a| !shared.iter().any(|s| s == a.as_str()))
            .map(|a| (a.as_str(), a.label()))
            .collect(),
        may_share,
        notes: d
            .notes
            .iter()
            .map(|n| (oslo::date_time(n.at), n.author.clone(), n.text.clone()))
            .collect(),
        findings: d
            .findings
            .iter()
            .map(|f| {
                (
                    labels::indicator(rules, &f.indicator),
                    labels::finding_result(&f.result),
                    f.by.clone(),
                    oslo::date_time(f.at),
                )
            })
            .collect(),
        indicators,
        results: FindingResult::ALL
            .iter()
            .map(|r| (r.as_str(), r.label()))
            .collect(),
        requests: d
            .document_requests
            .iter()
            .map(|r| RequestRow {
                id: r.id,
                documents: r
                    .documents
                    .iter()
                    .map(|x| labels::document(x))
                    .collect::<Vec<_>>()
                    .join(", "),
                deadline: oslo::date(r.deadline),
                note: r.note.clone().unwrap_or_default(),
                by: r.requested_by.clone().unwrap_or_default(),
                state: match (&r.received_at, r.overdue) {
                    (Some(at), _) => format!(
                        "mottatt {}{}",
                        oslo::date_time(*at),
                        r.received_by
                            .as_ref()
                            .map(|b| format!(" ({b})"))
                            .unwrap_or_default()
                    ),
                    (None, true) => "fristen er passert".into(),
                    (None, false) => "venter".into(),
                },
                open: r.received_at.is_none(),
                overdue: r.overdue,
            })
            .collect(),
        document_kinds: DocumentKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        evidence: d
            .evidence
            .iter()
            .map(|e| EvidenceItem {
                id: e.id,
                name: e.file_name.clone(),
                kind: match e.content_type.as_str() {
                    "application/pdf" => "PDF".into(),
                    "image/png" => "PNG-bilde".into(),
                    "image/jpeg" => "JPEG-bilde".into(),
                    t if t.starts_with("text/plain") => "tekst".into(),
                    _ => "Office-dokument".into(),
                },
                size: size(e.size_bytes),
                sha_short: format::short(&e.sha256).to_owned(),
                sha: e.sha256.clone(),
                at: oslo::date_time(e.uploaded_at),
            })
            .collect(),
        evidence_max_mb: crate::domain::case::EVIDENCE_MAX_BYTES / (1024 * 1024),
        proposal: d.close_proposal.as_ref().map(|p| {
            (
                labels::case_outcome(&p.outcome),
                p.proposed_by.clone(),
                oslo::date_time(p.proposed_at),
            )
        }),
        may_confirm: d
            .close_proposal
            .as_ref()
            .is_some_and(|p| p.proposed_by_user_id != user_id),
        outcomes: Outcome::ALL.iter().map(|o| (o.as_str(), o.label())).collect(),
        steps: CaseStatus::ALL
            .iter()
            .filter(|s| {
                **s != CaseStatus::Lukket
                    && current_status.is_some_and(|c| {
                        c != CaseStatus::Lukket
                            && c != **s
                            && crate::domain::case::set_status(
                                crate::domain::case::CaseState {
                                    status: c,
                                    proposal: None,
                                },
                                **s,
                            )
                            .is_ok()
                    })
            })
            .map(|s| (s.as_str(), format!("Sett til «{}»", s.label())))
            .collect(),
        // Preselected: whoever has the case, or else the person looking at it ("take it").
        assigned_to: d
            .assigned_to
            .clone()
            .or_else(|| w.assignees.iter().find(|u| **u == me).cloned())
            .unwrap_or_default(),
        assignees: w.assignees,
        history: d
            .events
            .iter()
            .map(|e| {
                (
                    oslo::date_time(e.event.at),
                    e.event.actor.clone(),
                    labels::case_event(rules, &e.event, e.assignee.as_deref()),
                )
            })
            .collect(),
        today: today.format("%Y-%m-%d").to_string(),
        typed,
    }
}

fn outcome_page(nav: Nav, o: service::cases::CaseOutcome) -> CasePage {
    CasePage {
        nav,
        id: o.id,
        heading: format!("Sak {}", o.id),
        notice: None,
        full: false,
        facts: vec![
            ("Kontrakt", o.contract_no),
            ("Status", labels::case_status(&o.status)),
            (
                "Utfall",
                o.outcome
                    .as_deref()
                    .map_or_else(|| "ikke avgjort ennå".into(), labels::case_outcome),
            ),
        ],
        status: labels::case_status(&o.status),
        closed: false,
        kontrollert: false,
        supplier: Vec::new(),
        supplier_fetched: String::new(),
        approvals: Vec::new(),
        draw: None,
        at_opening: None,
        current: None,
        unchanged: false,
        shares: Vec::new(),
        share_options: Vec::new(),
        may_share: false,
        notes: Vec::new(),
        findings: Vec::new(),
        indicators: Vec::new(),
        results: Vec::new(),
        requests: Vec::new(),
        document_kinds: Vec::new(),
        evidence: Vec::new(),
        evidence_max_mb: 0,
        proposal: None,
        may_confirm: false,
        outcomes: Vec::new(),
        steps: Vec::new(),
        assignees: Vec::new(),
        assigned_to: String::new(),
        history: Vec::new(),
        today: String::new(),
        typed: Typed::default(),
    }
}

/// The case page for `user`, with `typed` shown in the forms, answered with `status`.
async fn page(
    state: &AppState,
    user: &WebUser,
    id: i64,
    notice: Option<&'static str>,
    typed: Typed,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let who = user.user.clone();
    let active = state.rule_set();
    let view = state
        .db(move |c| service::cases::workbench(c, &who, &active, id))
        .await?;
    let nav = Nav::at(user, "/cases");
    let rules = state.rule_set();
    let mut body = match view {
        CasePageView::Outcome(o) => outcome_page(nav, o),
        CasePageView::Work(w) => work_page(
            nav,
            &rules,
            *w,
            user.user.id,
            user.user.role.may(Permission::ShareCases),
            typed,
        ),
    };
    body.notice = notice;
    Ok(crate::web::pages::html_with_status(status, render(&body)?))
}

#[derive(Deserialize)]
pub struct ShowParams {
    done: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, PageError> {
    require_reader(&user)?;
    let notice = params.done.as_deref().and_then(confirmation);
    page(
        &state,
        &user,
        path.into_inner(),
        notice,
        Typed::default(),
        StatusCode::OK,
    )
    .await
}

/// After a step: 303 back to the page with its confirmation; a refused value (422) or a
/// step the workflow refuses (409) renders the page again with what was typed and the
/// reason beside the field (`form.field`) or the form (`form.form`); anything else (404,
/// 403, …) is the error page.
async fn finish<T>(
    state: &AppState,
    user: &WebUser,
    id: i64,
    form: &'static str,
    result: Result<T, AppError>,
    mut typed: Typed,
) -> Result<HttpResponse, PageError> {
    let (status, key, message) = match result {
        Ok(_) => {
            return Ok(crate::web::pages::see_other(format!(
                "/cases/{id}?done={form}#{form}"
            )));
        }
        Err(AppError::InvalidField(f)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{form}.{}", f.field),
            field_message(&f.problem),
        ),
        Err(AppError::Workflow(w)) => (
            StatusCode::CONFLICT,
            format!("{form}.form"),
            capitalise(&w.to_string()),
        ),
        Err(e) => return Err(PageError(e)),
    };
    typed.errors.push((key, message));
    page(state, user, id, None, typed, status).await
}

/// A refused value in words for the page. The API's texts name the codes to send
/// (`bruk ny, under_vurdering, …`); a page offers lists to choose from instead, so a value
/// that is not on the list (a stale page, a hand-made request) is told as such.
fn field_message(p: &Problem) -> String {
    match p {
        Problem::UnknownCaseStatus(_)
        | Problem::UnknownOutcome(_)
        | Problem::UnknownFindingResult(_)
        | Problem::UnknownDocument(_)
        | Problem::UnknownAgency(_)
        | Problem::UnknownIndicator(_) => "Velg et av alternativene i listen.".into(),
        Problem::CannotReviewCase { username, .. } => format!(
            "«{username}» kan ikke få saken: velg Kemneren eller en A-krim-partner fra en etat saken er delt med."
        ),
        other => capitalise(&other.norwegian()),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn typed(pairs: &[(&str, &str)]) -> Typed {
    Typed {
        values: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Typed::default()
    }
}

/// Checks the role and the form token of a step that changes a case.
fn authorise(user: &WebUser, csrf: &str, p: Permission) -> Result<(), PageError> {
    user.require(p)?;
    user.check_csrf(csrf)
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf_token: String,
    status: String,
}

pub async fn set_status(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ReviewCases)?;
    let (who, id, f) = (user.user.clone(), path.into_inner(), form.into_inner());
    let to = f.status.clone();
    let done = state
        .db(move |c| service::cases::set_status(c, &who, id, &to))
        .await;
    finish(
        &state,
        &user,
        id,
        "status",
        done,
        typed(&[("status.status", &f.status)]),
    )
    .await
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    user: String,
}

pub async fn assign(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ReviewCases)?;
    let (who, id, f) = (user.user.clone(), path.into_inner(), form.into_inner());
    let to = f.user.clone();
    let done = state.db(move |c| service::cases::assign(c, &who, id, &to)).await;
    finish(
        &state,
        &user,
        id,
        "assign",
        done,
        typed(&[("assign.user", &f.user)]),
    )
    .await
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    text: String,
}

pub async fn add_note(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<NoteForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ReviewCases)?;
    let (who, id, f) = (user.user.clone(), path.into_inner(), form.into_inner());
    let text = f.text.clone();
    let done = state
        .db(move |c| service::cases::add_note(c, &who, id, &text))
        .await;
    finish(&state, &user, id, "note", done, typed(&[("note.text", &f.text)])).await
}

#[derive(Deserialize)]
pub struct FindingForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    indicator: String,
    #[serde(default)]
    result: String,
}

pub async fn add_finding(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<FindingForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ReviewCases)?;
    let (who, id, f) = (user.user.clone(), path.into_inner(), form.into_inner());
    let (indicator, result) = (f.indicator.clone(), f.result.clone());
    let rules = state.rule_set();
    let done = state
        .db(move |c| service::cases::add_finding(c, &who, &rules, id, &indicator, &result))
        .await;
    let typed = typed(&[("finding.indicator", &f.indicator), ("finding.result", &f.result)]);
    finish(&state, &user, id, "finding", done, typed).await
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    outcome: String,
}

pub async fn propose_close(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<CloseForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ReviewCases)?;
    let (who, id, f) = (user.user.clone(), path.into_inner(), form.into_inner());
    let outcome = f.outcome.clone();
    let done = state
        .db(move |c| service::cases::propose_close(c, &who, id, &outcome))
        .await;
    finish(
        &state,
        &user,
        id,
        "close",
        done,
        typed(&[("close.outcome", &f.outcome)]),
    )
    .await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf_token: String,
}

pub async fn confirm_close(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ReviewCases)?;
    let (who, id) = (user.user.clone(), path.into_inner());
    let done = state
        .db(move |c| service::cases::confirm_close(c, &who, id))
        .await;
    finish(&state, &user, id, "confirm", done, Typed::default()).await
}

#[derive(Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

pub async fn reopen(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<ReopenForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ReviewCases)?;
    let (who, id, f) = (user.user.clone(), path.into_inner(), form.into_inner());
    let reason = f.reason.clone();
    let done = state
        .db(move |c| service::cases::reopen(c, &who, id, &reason))
        .await;
    finish(
        &state,
        &user,
        id,
        "reopen",
        done,
        typed(&[("reopen.reason", &f.reason)]),
    )
    .await
}

#[derive(Deserialize)]
pub struct ShareForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    agency: String,
}

pub async fn share(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<ShareForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ShareCases)?;
    let (who, id, f) = (user.user.clone(), path.into_inner(), form.into_inner());
    let agency = f.agency.clone();
    let done = state
        .db(move |c| service::cases::share(c, &who, id, &agency))
        .await;
    finish(
        &state,
        &user,
        id,
        "share",
        done,
        typed(&[("share.agency", &f.agency)]),
    )
    .await
}

pub async fn unshare(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<(i64, String)>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ShareCases)?;
    let (who, (id, agency)) = (user.user.clone(), path.into_inner());
    let done = state
        .db(move |c| service::cases::unshare(c, &who, id, &agency))
        .await;
    finish(&state, &user, id, "unshare", done, Typed::default()).await
}

/// The documents form: `documents` may come several times (one per ticked box), so the
/// body is read as a list of pairs.
pub async fn request_documents(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReviewCases)?;
    let pairs = form.into_inner();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    user.check_csrf(&field("csrf_token"))?;
    let documents: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "documents")
        .map(|(_, v)| v.clone())
        .collect();
    let (deadline_raw, note) = (field("deadline"), field("note"));
    let mut typed = typed(&[("documents.deadline", &deadline_raw), ("documents.note", &note)]);
    typed.documents = documents.clone();
    let id = path.into_inner();
    let Ok(deadline) = chrono::NaiveDate::parse_from_str(deadline_raw.trim(), "%Y-%m-%d") else {
        typed.errors.push((
            "documents.deadline".into(),
            "Velg en frist (dato) i kalenderen.".into(),
        ));
        return page(&state, &user, id, None, typed, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let who = user.user.clone();
    let note_arg = note.clone();
    let done = state
        .db(move |c| {
            let note = Some(note_arg.as_str()).filter(|n| !n.trim().is_empty());
            service::cases::request_documents(c, &who, id, &documents, deadline, note)
        })
        .await;
    finish(&state, &user, id, "documents", done, typed).await
}

pub async fn documents_received(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<(i64, i64)>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    authorise(&user, &form.csrf_token, Permission::ReviewCases)?;
    let (who, (id, request)) = (user.user.clone(), path.into_inner());
    let done = state
        .db(move |c| service::cases::documents_received(c, &who, id, request))
        .await;
    finish(&state, &user, id, "received", done, Typed::default()).await
}

/// An evidence file (multipart, the CSRF token before the file). A file over the limit or
/// of a kind not accepted is shown beside the file field.
pub async fn add_evidence(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    req: actix_web::HttpRequest,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReviewCases)?;
    let id = path.into_inner();
    let max = crate::domain::case::EVIDENCE_MAX_BYTES;
    let upload = match read_upload(&req, payload, max as u64, Some(&user.csrf_token)).await {
        Ok(u) => u,
        Err(AppError::PayloadTooLarge(_)) => {
            let mut typed = Typed::default();
            typed.errors.push((
                "evidence.file".into(),
                format!("Filen er større enn {} MB.", max / (1024 * 1024)),
            ));
            return page(&state, &user, id, None, typed, StatusCode::PAYLOAD_TOO_LARGE).await;
        }
        Err(AppError::BadRequest(m)) => {
            let mut typed = Typed::default();
            typed.errors.push(("evidence.file".into(), m));
            return page(&state, &user, id, None, typed, StatusCode::BAD_REQUEST).await;
        }
        Err(e) => return Err(PageError(e)),
    };
    let (who, dir) = (user.user.clone(), state.settings.data_dir.clone());
    let done = state
        .db(move |c| service::cases::add_evidence(c, &who, &dir, id, &upload.file_name, &upload.bytes))
        .await;
    finish(&state, &user, id, "evidence", done, Typed::default()).await
}

/// An evidence file, always as a download (never shown inline), under a sandboxing CSP.
pub async fn evidence_file(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReviewCases)?;
    let (who, (id, evidence), dir) = (
        user.user.clone(),
        path.into_inner(),
        state.settings.data_dir.clone(),
    );
    let (row, bytes) = state
        .db(move |c| service::cases::evidence_file(c, &who, &dir, id, evidence))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header((
            header::CONTENT_DISPOSITION,
            crate::web::attachment(&row.file_name),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Content-Security-Policy", "sandbox; default-src 'none'"))
        .body(bytes))
}

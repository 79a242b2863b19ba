//! The case page, read-only for now (the page the mail's links lead to): the contract, its
//! risk, where it came from, who it is shared with, notes, findings, document requests,
//! evidence and history, for those who may see the case (404 page otherwise); the
//! innkjøper who owns the contract sees its status and outcome only. Working a case is done
//! through `/api/v1/cases` until the case pages of the web UI are built.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Nav, html, render};
use crate::domain::case::{CaseStatus, FindingResult, Outcome};
use crate::domain::oslo;
use crate::domain::roles::Permission;
use crate::service;
use crate::service::cases::CaseView;
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::WebUser;

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    nav: Nav,
    id: i64,
    full: bool,
    facts: Vec<(&'static str, String)>,
    notes: Vec<(String, String, String)>,
    findings: Vec<(String, String, String)>,
    requests: Vec<(String, String, String)>,
    evidence: Vec<(String, String, String)>,
    history: Vec<(String, String, String)>,
}

fn status_label(s: &str) -> String {
    s.parse::<CaseStatus>()
        .map_or_else(|_| s.to_owned(), |c| c.label().to_owned())
}

fn outcome_label(o: Option<&str>) -> String {
    match o {
        None => "–".into(),
        Some(o) => o
            .parse::<Outcome>()
            .map_or_else(|_| o.to_owned(), |x| x.label().to_owned()),
    }
}

pub async fn detail(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::SignedIn)?;
    let id = path.into_inner();
    let who = user.user.clone();
    let view = state.db(move |c| service::cases::show(c, &who, id)).await?;
    let nav = Nav::at(&user, "/cases");
    let page = match view {
        CaseView::Outcome(o) => CasePage {
            nav,
            id,
            full: false,
            facts: vec![
                ("Kontrakt", o.contract_no),
                ("Status", status_label(&o.status)),
                ("Utfall", outcome_label(o.outcome.as_deref())),
            ],
            notes: Vec::new(),
            findings: Vec::new(),
            requests: Vec::new(),
            evidence: Vec::new(),
            history: Vec::new(),
        },
        CaseView::Detail(d) => {
            let mut facts = vec![
                (
                    "Kontrakt",
                    match &d.contract.title {
                        Some(t) => format!("{} – {t}", d.contract.contract_no),
                        None => d.contract.contract_no.clone(),
                    },
                ),
                (
                    "Leverandør",
                    format!("{} (org.nr. {})", d.contract.supplier_name, d.contract.orgnr),
                ),
                ("Enhet", d.contract.unit.clone().unwrap_or_default()),
                (
                    "Verdi",
                    d.contract.value_ore.map(oslo::kroner).unwrap_or_default(),
                ),
                ("Status", status_label(&d.status)),
                ("Utfall", outcome_label(d.outcome.as_deref())),
                ("Tildelt", d.assigned_to.clone().unwrap_or_else(|| "ingen".into())),
                (
                    "Delt med",
                    d.shares
                        .iter()
                        .map(|s| s.agency.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                ("Opprettet", oslo::date_time(d.created_at)),
            ];
            if let Some(r) = &d.risk {
                facts.push(("Risiko", format!("{} poeng ({})", r.score, r.tier)));
            }
            if let Some(o) = &d.draw {
                facts.push((
                    "Trekning",
                    format!("trekning {}, runde {}, nr. {}", o.draw_id, o.round, o.position),
                ));
            }
            if let Some(p) = &d.close_proposal {
                facts.push(("Foreslått lukket", outcome_label(Some(p.outcome.as_str()))));
            }
            CasePage {
                nav,
                id,
                full: true,
                facts,
                notes: d
                    .notes
                    .iter()
                    .map(|n| (oslo::date_time(n.at), n.author.clone(), n.text.clone()))
                    .collect(),
                findings: d
                    .findings
                    .iter()
                    .map(|f| {
                        let result = f
                            .result
                            .parse::<FindingResult>()
                            .map_or_else(|_| f.result.clone(), |r| r.label().to_owned());
                        (f.indicator.clone(), result, f.by.clone())
                    })
                    .collect(),
                requests: d
                    .document_requests
                    .iter()
                    .map(|r| {
                        let state = match (&r.received_at, r.overdue) {
                            (Some(at), _) => format!("mottatt {}", oslo::date_time(*at)),
                            (None, true) => "fristen er passert".into(),
                            (None, false) => "venter".into(),
                        };
                        (r.documents.join(", "), oslo::date(r.deadline), state)
                    })
                    .collect(),
                evidence: d
                    .evidence
                    .iter()
                    .map(|e| (e.file_name.clone(), e.content_type.clone(), e.sha256.clone()))
                    .collect(),
                history: d
                    .events
                    .iter()
                    .map(|e| {
                        (
                            oslo::date_time(e.event.at),
                            e.event.actor.clone(),
                            e.event.kind.clone(),
                        )
                    })
                    .collect(),
            }
        }
    };
    Ok(html(render(&page)?))
}

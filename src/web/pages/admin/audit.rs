//! `/admin/audit`: the audit log, newest first, with the chain's status at the top; filter
//! by who did it, the object (kind and id) and Oslo dates; page size to choose. Events
//! have Norwegian names (`labels::audit_action`), details are summarised in words, and
//! the stored JSON is there in a `<details>` for anyone who needs it exactly.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::Value;

use super::{FieldErrors, query_value};
use crate::domain::oslo;
use crate::domain::roles::{Permission, Role};
use crate::risk::RuleSet;
use crate::service;
use crate::service::users::{AuditFilter, AuditRow, ChainStatus};
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::extract::WebUser;
use crate::web::pages::{Nav, labels, render};

/// The page sizes offered; the first is the default.
const PAGE_SIZES: [i64; 4] = [50, 25, 100, 200];

#[derive(Deserialize)]
pub struct AuditQuery {
    actor: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// One option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// An entry as the page shows it.
pub struct Line {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub event: String,
    pub object: String,
    /// Filters the log to this entry's object.
    pub object_href: String,
    pub summary: String,
    pub raw: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    nav: Nav,
    chain_ok: bool,
    chain_status: String,
    actors: Vec<Choice>,
    object_types: Vec<Choice>,
    sizes: Vec<Choice>,
    object_id: String,
    from: String,
    to: String,
    errors: FieldErrors,
    total: i64,
    page: i64,
    pages: i64,
    lines: Vec<Line>,
    /// The query string without `page` (already encoded), for the paging links.
    keep: String,
}

/// An Oslo date as typed: `2026-12-06` (what a date input sends) or `06.12.2026`.
fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .ok()
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|x| x.trim().to_owned()).filter(|x| !x.is_empty())
}

pub async fn page(
    state: web::Data<AppState>,
    user: WebUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadAuditLog)?;
    let q = query.into_inner();
    let (actor, object_type, object_id) = (nonempty(q.actor), nonempty(q.object_type), nonempty(q.object_id));
    let (from_text, to_text) = (nonempty(q.from), nonempty(q.to));
    let mut errors = Vec::new();
    let mut date = |field: &'static str, text: &Option<String>| match text.as_deref().map(parse_date) {
        None => None,
        Some(Some(d)) => Some(d),
        Some(None) => {
            errors.push((field, "skriv datoen som dd.mm.åååå".to_owned()));
            None
        }
    };
    let (from, to) = (date("from", &from_text), date("to", &to_text));
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(("to", "til-datoen er før fra-datoen".to_owned()));
    }
    let errors = FieldErrors(errors);
    let (page, per_page) = (q.page.unwrap_or(1), q.per_page.unwrap_or(PAGE_SIZES[0]));
    let filter = AuditFilter {
        actor: actor.clone(),
        object_type: object_type.clone(),
        object_id: object_id.clone(),
        from: from.map(oslo::midnight_utc),
        // Through the whole `to` day, Oslo time.
        before: to.map(|d| oslo::midnight_utc(d + Duration::days(1))),
    };
    let found = state
        .db(move |c| service::users::search_audit(c, &filter, page, per_page))
        .await?;
    let rules = state.rule_set();
    let (chain_ok, chain_status) = match found.chain {
        ChainStatus::Intact { entries } => (
            true,
            format!("Kjeden er intakt: alle {entries} hendelser er kontrollert."),
        ),
        ChainStatus::Broken { verified, .. } => (
            false,
            format!(
                "Kjeden er brutt ved hendelse {}: de {verified} første hendelsene er i orden, men denne er endret, fjernet eller satt inn i ettertid. Kontakt driftsansvarlig.",
                verified + 1
            ),
        ),
    };
    let choices = |all: &[String], chosen: &Option<String>, label: &dyn Fn(&str) -> String| {
        let mut list: Vec<Choice> = all
            .iter()
            .map(|v| Choice {
                value: v.clone(),
                label: label(v),
                selected: chosen.as_deref() == Some(v.as_str()),
            })
            .collect();
        list.sort_by_key(|c| c.label.to_lowercase());
        list
    };
    let keep = [
        ("actor", &actor),
        ("object_type", &object_type),
        ("object_id", &object_id),
        ("from", &from_text),
        ("to", &to_text),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", query_value(v))))
    .chain(std::iter::once(format!("per_page={per_page}")))
    .collect::<Vec<_>>()
    .join("&");
    let body = AuditPage {
        nav: Nav::at(&user, "/admin/audit"),
        chain_ok,
        chain_status,
        actors: choices(&found.actors, &actor, &labels::actor),
        object_types: choices(&found.object_types, &object_type, &|t| {
            labels::audit_object_type(t).to_owned()
        }),
        sizes: PAGE_SIZES
            .iter()
            .map(|n| Choice {
                value: n.to_string(),
                label: n.to_string(),
                selected: *n == per_page,
            })
            .collect(),
        object_id: object_id.unwrap_or_default(),
        from: from
            .map(|d| d.format("%Y-%m-%d").to_string())
            .or(from_text)
            .unwrap_or_default(),
        to: to
            .map(|d| d.format("%Y-%m-%d").to_string())
            .or(to_text)
            .unwrap_or_default(),
        total: found.total,
        page,
        pages: ((found.total + per_page - 1) / per_page).max(1),
        lines: if errors.is_empty() {
            found.rows.iter().map(|r| line(&rules, r)).collect()
        } else {
            Vec::new()
        },
        errors,
        keep,
    };
    let status = if body.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(render(&body)?))
}

fn line(rules: &RuleSet, r: &AuditRow) -> Line {
    let detail: Value = serde_json::from_str(&r.detail).unwrap_or(Value::Null);
    let id = if r.object_type == "rule_set" {
        crate::web::pages::format::short(&r.object_id).to_owned()
    } else {
        r.object_id.clone()
    };
    Line {
        id: r.id,
        at: oslo::date_time(r.at),
        actor: labels::actor(&r.actor),
        event: labels::audit_action(&r.action).to_owned(),
        object: format!("{} {id}", labels::audit_object_type(&r.object_type)),
        object_href: format!(
            "/admin/audit?object_type={}&object_id={}",
            query_value(&r.object_type),
            query_value(&r.object_id)
        ),
        summary: summarise(rules, &r.action, &detail),
        raw: match &detail {
            Value::Null => r.detail.clone(),
            v => serde_json::to_string_pretty(v).unwrap_or_else(|_| r.detail.clone()),
        },
    }
}

fn text<'a>(d: &'a Value, key: &str) -> Option<&'a str> {
    d.get(key).and_then(Value::as_str)
}

fn number(d: &Value, key: &str) -> i64 {
    d.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn role_label(d: &Value) -> String {
    text(d, "role").map_or_else(String::new, |r| {
        r.parse::<Role>()
            .map_or_else(|_| r.to_owned(), |r| r.label().to_owned())
    })
}

fn agency_label(d: &Value) -> Option<String> {
    text(d, "agency").map(labels::agency)
}

fn role_and_agency(d: &Value) -> String {
    match agency_label(d) {
        Some(a) => format!("{} ({a})", role_label(d)),
        None => role_label(d),
    }
}

fn date_of(d: &Value, key: &str) -> Option<String> {
    let s = text(d, key)?;
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(oslo::date_time(t));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(oslo::date)
}

fn case_status(s: Option<&str>) -> String {
    let s = s.unwrap_or("");
    s.parse::<crate::domain::case::CaseStatus>()
        .map_or_else(|_| s.to_owned(), |c| c.label().to_owned())
}

fn outcome(s: Option<&str>) -> String {
    let s = s.unwrap_or("");
    s.parse::<crate::domain::case::Outcome>()
        .map_or_else(|_| s.to_owned(), |o| o.label().to_owned())
}

/// The industries and notices of a liaison snapshot (`service::liaisons`), in words.
fn liaison_summary(rules: &RuleSet, d: &Value) -> String {
    let industries: Vec<String> = d
        .get("industries")
        .and_then(Value::as_array)
        .map(|xs| {
            xs.iter()
                .filter_map(Value::as_str)
                .map(|i| labels::industry(rules, i))
                .collect()
        })
        .unwrap_or_default();
    let notices: Vec<&str> = d
        .get("notices")
        .and_then(Value::as_array)
        .map(|xs| {
            xs.iter()
                .filter_map(Value::as_str)
                .filter_map(|n| n.parse().ok())
                .map(labels::notice)
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{} ({}), {}; bransjer: {}; varsler: {}",
        text(d, "name").unwrap_or(""),
        agency_label(d).unwrap_or_default(),
        text(d, "email").unwrap_or(""),
        if industries.is_empty() {
            "alle".to_owned()
        } else {
            industries.join(", ")
        },
        notices.join(", ")
    )
}

/// What changed between two liaison snapshots, by field.
fn liaison_changes(rules: &RuleSet, d: &Value) -> String {
    let (Some(from), Some(to)) = (d.get("from"), d.get("to")) else {
        return String::new();
    };
    let names = [
        ("name", "navn"),
        ("agency", "etat"),
        ("email", "e-post"),
        ("industries", "bransjer"),
        ("notices", "varsler"),
        ("user", "knyttet bruker"),
    ];
    let changed: Vec<&str> = names
        .iter()
        .filter(|(k, _)| from.get(k) != to.get(k))
        .map(|(_, n)| *n)
        .collect();
    let now = liaison_summary(rules, to);
    if changed.is_empty() {
        format!("Ingen endringer. {now}")
    } else {
        format!("Endret: {}. Nå: {now}", changed.join(", "))
    }
}

/// The detail of an entry in words; the fields each service writes (see `src/service`).
/// Anything not known is listed as it is stored.
fn summarise(rules: &RuleSet, action: &str, d: &Value) -> String {
    let user = || text(d, "username").unwrap_or("").to_owned();
    match action {
        "user.create" => {
            let mut s = format!("Brukernavn {}, rolle {}", user(), role_and_agency(d));
            if let Some(e) = text(d, "email") {
                s.push_str(&format!(", e-post {e}"));
            }
            s
        }
        "user.set_role" => {
            let side = |k: &str| d.get(k).map(role_and_agency).unwrap_or_default();
            format!("{}: fra {} til {}", user(), side("from"), side("to"))
        }
        "user.disable" | "user.enable" | "user.set_password" => format!("Bruker {}", user()),
        "token.create" => {
            let mut s = format!(
                "Nøkkel «{}» (nr. {}) for {}",
                text(d, "label").unwrap_or(""),
                number(d, "token_id"),
                user()
            );
            match date_of(d, "expires_at") {
                Some(t) => s.push_str(&format!(", gyldig til {t}")),
                None => s.push_str(", uten utløpsdato"),
            }
            s
        }
        "token.revoke" => format!(
            "Nøkkel «{}» (nr. {})",
            text(d, "label").unwrap_or(""),
            number(d, "token_id")
        ),
        "login" | "login.success" | "logout" => match text(d, "address") {
            Some(a) => format!("Fra adressen {a}"),
            None => String::new(),
        },
        "login.throttled" => format!(
            "Fra adressen {} etter {} mislykkede forsøk",
            text(d, "address").unwrap_or("ukjent"),
            number(d, "failures")
        ),
        "liaison.create" | "liaison.remove" => liaison_summary(rules, d),
        "liaison.update" => liaison_changes(rules, d),
        "outbox.retry" => {
            let mut s = format!("Etter {} mislykkede forsøk", number(d, "attempts"));
            if let Some(e) = text(d, "last_error") {
                s.push_str(&format!("; siste feil: {} ({e})", labels::mail_error(e)));
            }
            s
        }
        "case.status" => format!(
            "Fra {} til {}",
            case_status(text(d, "from")),
            case_status(text(d, "to"))
        ),
        "case.assign" => format!(
            "Fra {} til {}",
            text(d, "from").unwrap_or("ingen"),
            text(d, "to").unwrap_or("ingen")
        ),
        "case.note" => format!(
            "Notat på {} tegn",
            text(d, "text").map_or(0, |t| t.chars().count())
        ),
        "case.finding" => {
            let id = text(d, "indicator").unwrap_or("");
            let name = rules
                .indicators()
                .iter()
                .find(|i| i.id == id)
                .map_or_else(|| id.to_owned(), |i| i.title.clone());
            let result = text(d, "result").unwrap_or("");
            let result = result
                .parse::<crate::domain::case::FindingResult>()
                .map_or_else(|_| result.to_owned(), |r| r.label().to_owned());
            format!("{name}: {result}")
        }
        "case.close_proposed" => format!("Foreslått utfall: {}", outcome(text(d, "outcome"))),
        "case.close_confirmed" => format!(
            "Utfall: {}, foreslått av {}",
            outcome(text(d, "outcome")),
            text(d, "proposed_by").unwrap_or("ukjent")
        ),
        "case.reopen" => format!(
            "Begrunnelse: {}; utfallet var {}",
            text(d, "reason").unwrap_or(""),
            outcome(text(d, "outcome_was"))
        ),
        "case.share" | "case.unshare" => format!("Etat: {}", agency_label(d).unwrap_or_default()),
        "case.read" => match agency_label(d) {
            Some(a) => format!("Lest av {a}"),
            None => String::new(),
        },
        "case.list" => format!("{} saker i listen", number(d, "total")),
        "case.evidence" => format!(
            "Fil «{}», {} kB",
            text(d, "file_name").unwrap_or(""),
            (number(d, "size_bytes") + 1023) / 1024
        ),
        "case.evidence_read" => format!("Vedlegg nr. {}", number(d, "evidence")),
        "case.document_request" => {
            let docs: Vec<String> = d
                .get("documents")
                .and_then(Value::as_array)
                .map(|xs| {
                    xs.iter()
                        .filter_map(Value::as_str)
                        .map(|k| {
                            crate::domain::case::DocumentKind::parse(k)
                                .map_or_else(|| k.to_owned(), |k| k.label().to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{}; frist {}",
                docs.join(", "),
                date_of(d, "deadline").unwrap_or_default()
            )
        }
        "case.document_received" => format!("Forespørsel nr. {}", number(d, "request")),
        "draw.publish" => format!(
            "{} kontrakter trukket fra {} mulige; {} saker opprettet",
            number(d, "picks"),
            number(d, "population_size"),
            number(d, "cases")
        ),
        "draw.extend" => format!(
            "Runde {}: {} nye kontrakter trukket; {} saker opprettet",
            number(d, "round"),
            number(d, "picks"),
            number(d, "cases")
        ),
        "draw.inspection_list" => format!(
            "For {}, {} rader",
            agency_label(d).unwrap_or_default(),
            number(d, "rows")
        ),
        "contract.move_owner" => format!(
            "Avtale {} fra {} til {}",
            text(d, "contract_no").unwrap_or(""),
            text(d, "from").unwrap_or("ingen"),
            text(d, "to").unwrap_or("ingen")
        ),
        "import.create" => format!(
            "Fil «{}»: {} rader, {} importert, {} avvist",
            text(d, "file_name").unwrap_or(""),
            number(d, "rows_total"),
            number(d, "rows_imported"),
            number(d, "rows_rejected")
        ),
        "risk.rescore" => format!(
            "{}: {} kontrakter vurdert, {} nye vurderinger, {} nådde høyeste nivå",
            labels::occasion(text(d, "reason").unwrap_or("")),
            number(d, "contracts_assessed"),
            number(d, "contracts_recorded"),
            number(d, "high_risk_entered")
        ),
        "rules.activate" => match d.get("files").and_then(Value::as_array) {
            Some(files) => format!("{} regelfiler", files.len()),
            None => String::new(),
        },
        "brreg.removed" => "Lagrede registeropplysninger er slettet, slik registeret ber om".into(),
        "brreg.bulk_load" => format!(
            "{} enheter lest, {} lagret, {} avvist",
            number(d, "read"),
            number(d, "stored"),
            number(d, "rejected")
        ),
        "approvals.load" => format!(
            "{}: fil «{}», {} oppføringer, {} avvist",
            labels::approval_register(text(d, "register").unwrap_or("")),
            text(d, "file_name").unwrap_or(""),
            number(d, "entries"),
            number(d, "rejected")
        ),
        _ => generic(d),
    }
}

/// `key: value` pairs of an object, for entries the page does not know.
fn generic(d: &Value) -> String {
    match d {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

//! Spot-check draws in the browser (Norwegian pages over [`crate::service::draws`]):
//! - `/draws`: the published draws (Kemneren and A-krim partners), as a page or csv/xlsx;
//! - the wizard (Kemneren): `/draws/new` filter → `POST /draws/new/preview` population,
//!   strata and manifest fingerprint → seed → `POST /draws` publish, refused when the
//!   population is no longer the one whose fingerprint was shown;
//! - the ceremony view for a projector: `/draws/new/ceremony?…` (population and fingerprint,
//!   committed before the seed exists) and `/draws/{id}/ceremony` (seed and picks);
//! - `/draws/{id}`: the record, its verification, how to check it independently, extension
//!   (Kemneren) and each agency's inspection list; `/draws/{id}/manifest` (the hashed bytes)
//!   and `/draws/{id}/record` (the JSON `docs/draws_verify.py` reads).
//!
//! Every value the wizard's steps take is carried as typed ([`form::WizardForm`]), so each
//! step and each refusal shows it again.

pub mod form;
mod view;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use self::form::{FormErrors, WizardForm};
use self::view::{DrawPageView, ListRow, PreviewView};
use super::{Nav, html_with_status, render, see_other};
use crate::domain::roles::{Agency, Permission};
use crate::export::{Cell, Table};
use crate::sampling::UniformShare;
use crate::service::draws::{self, DrawError};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::WebUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/draws", web::get().to(list))
        .route("/draws", web::post().to(publish))
        .route("/draws/new", web::get().to(new_form))
        .route("/draws/new/preview", web::post().to(preview))
        .route("/draws/new/ceremony", web::get().to(ceremony_preview))
        .route("/draws/{id}", web::get().to(show))
        .route("/draws/{id}/ceremony", web::get().to(ceremony_result))
        .route("/draws/{id}/manifest", web::get().to(manifest))
        .route("/draws/{id}/record", web::get().to(record))
        .route("/draws/{id}/inspection-list", web::get().to(inspection_list))
        .route("/draws/{id}/extend", web::post().to(extend));
}

/// How many draws the list shows (newest first).
const LIST_LIMIT: i64 = 500;

fn csrf_of(pairs: &[(String, String)]) -> &str {
    field(pairs, "csrf_token")
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// A refusal of the service shown on the wizard's page: status, the field it is about (if
/// any) and what to do, in Norwegian. Errors that are not about the form become the error page.
fn form_problem(e: DrawError) -> Result<(StatusCode, Option<&'static str>, String), PageError> {
    Ok(match e {
        DrawError::Unscored { count, examples } => (
            StatusCode::CONFLICT,
            None,
            format!(
                "{count} kontrakter som passer filteret er ikke risikovurdert ennå og kan ikke vektes \
                 (for eksempel {examples}). Be om en ny risikovurdering først, eller skriv dem under «Aldri med»."
            ),
        ),
        DrawError::EmptyPopulation => (
            StatusCode::CONFLICT,
            None,
            "Ingen kontrakter passer filteret, så det er ingenting å trekke fra. Gjør filteret videre."
                .into(),
        ),
        DrawError::UnknownContracts { what, ids } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(if what.contains("include") {
                "include"
            } else {
                "exclude"
            }),
            format!("Disse avtalenumrene finnes ikke: {ids}."),
        ),
        DrawError::ManifestChanged { expected, actual } => (
            StatusCode::CONFLICT,
            None,
            format!(
                "Populasjonen er endret siden fingeravtrykket ble vist (en kontrakt er importert, vurdert \
                 eller trukket i mellomtiden), så trekningen er ikke publisert. Fingeravtrykket var {expected}, \
                 nå er det {actual}. Forhåndsvis på nytt, vis det nye fingeravtrykket, og hold seremonien \
                 for seeden etter det."
            ),
        ),
        DrawError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, None, m),
        DrawError::Sampling(s) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            format!("Trekningen kan ikke planlegges med disse verdiene ({s})."),
        ),
        DrawError::Exhausted(_) => (
            StatusCode::CONFLICT,
            Some("size"),
            "Alle kontraktene i populasjonen er allerede trukket; trekningen kan ikke utvides mer.".into(),
        ),
        other => return Err(other.into()),
    })
}

// ---- the list ----

#[derive(Deserialize)]
pub struct ListQuery {
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "draws.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<ListRow>,
    may_draw: bool,
}

async fn list(
    state: web::Data<AppState>,
    user: WebUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadPublishedDraws)?;
    let format = query.into_inner().format;
    if let Some(f) = format.as_deref()
        && f != "csv"
        && f != "xlsx"
    {
        return Err(AppError::BadRequest(format!("Ukjent format «{f}»: bruk csv eller xlsx.")).into());
    }
    let items = state.db(|c| draws::list_with_parts(c, LIST_LIMIT)).await?;
    let rows: Vec<ListRow> = items.iter().map(ListRow::of).collect();
    match format.as_deref() {
        Some(f) => export(&rows, f == "csv"),
        None => Ok(html_with_status(
            StatusCode::OK,
            render(&ListPage {
                nav: Nav::at(&user, "/draws"),
                rows,
                may_draw: user.user.role.may(Permission::RunDraws),
            })?,
        )),
    }
}

fn export(rows: &[ListRow], csv: bool) -> Result<HttpResponse, PageError> {
    let table = Table {
        sheet: "Trekninger".into(),
        header: [
            "Nr.",
            "Publisert",
            "Publisert av",
            "Populasjon",
            "Trekk",
            "Vektet etter risiko",
            "Likt tilfeldig",
            "Fingeravtrykk (SHA-256)",
            "Seed",
        ]
        .iter()
        .map(|h| (*h).to_owned())
        .collect(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Number(r.id as f64),
                    Cell::Text(r.published.clone()),
                    Cell::Text(r.by.clone()),
                    Cell::Number(r.population as f64),
                    Cell::Number(r.picks as f64),
                    Cell::Number(r.weighted as f64),
                    Cell::Number(r.uniform as f64),
                    Cell::Text(r.sha256.clone()),
                    Cell::Text(r.seed_source.clone()),
                ]
            })
            .collect(),
    };
    let (body, content_type, ext) = if csv {
        (table.to_csv(), crate::export::CSV_CONTENT_TYPE, "csv")
    } else {
        let bytes = table.to_xlsx().map_err(|e| AppError::Internal(e.to_string()))?;
        (bytes, crate::export::XLSX_CONTENT_TYPE, "xlsx")
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"trekninger.{ext}\""),
        ))
        .body(body))
}

// ---- the wizard ----

#[derive(Template)]
#[template(path = "draw_new.html")]
struct NewPage {
    nav: Nav,
    form: WizardForm,
    errors: FormErrors,
    problem: Option<String>,
    /// (id, name, checked)
    industries: Vec<(String, String, bool)>,
    /// (id, label)
    tiers: Vec<(String, String)>,
}

fn new_page(
    state: &AppState,
    user: &WebUser,
    status: StatusCode,
    form: WizardForm,
    errors: FormErrors,
    problem: Option<String>,
) -> Result<HttpResponse, PageError> {
    let rules = state.rule_set();
    let industries = rules
        .industries()
        .iter()
        .map(|i| (i.id.clone(), i.name.clone(), form.industries.contains(&i.id)))
        .collect();
    let tiers = rules
        .tiers()
        .iter()
        .map(|t| (t.id.clone(), t.label.clone()))
        .collect();
    Ok(html_with_status(
        status,
        render(&NewPage {
            nav: Nav::at(user, "/draws"),
            form,
            errors,
            problem,
            industries,
            tiers,
        })?,
    ))
}

/// Step 1 again, with the service's refusal beside its field or above the form.
fn refused(
    state: &AppState,
    user: &WebUser,
    form: WizardForm,
    e: DrawError,
) -> Result<HttpResponse, PageError> {
    let (status, field, message) = form_problem(e)?;
    let mut errors = FormErrors::default();
    match field {
        Some(f) => {
            errors.add(f, message);
            new_page(state, user, status, form, errors, None)
        }
        None => new_page(state, user, status, form, errors, Some(message)),
    }
}

/// `GET /draws/new`: step 1, the filter (pre-filled from the query when coming back).
async fn new_form(
    state: web::Data<AppState>,
    user: WebUser,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::RunDraws)?;
    let form = WizardForm::from_pairs(&query);
    new_page(&state, &user, StatusCode::OK, form, FormErrors::default(), None)
}

#[derive(Template)]
#[template(path = "draw_preview.html")]
struct PreviewPage {
    nav: Nav,
    p: PreviewView,
    hidden: Vec<(&'static str, String)>,
    query: String,
    seed: String,
    seed_error: Option<String>,
}

#[derive(Template)]
#[template(path = "draw_ceremony.html")]
struct CeremonyPage {
    p: PreviewView,
    hidden: Vec<(&'static str, String)>,
    query: String,
    csrf_token: String,
    shown_at: String,
    seed: String,
    seed_error: Option<String>,
}

/// Which page shows a preview: the wizard's step 2–3, or the ceremony view.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PreviewAt {
    Wizard,
    Ceremony,
}

/// Computes the preview of `form` and shows it (or step 1 with the problems).
async fn show_preview(
    state: &AppState,
    user: &WebUser,
    form: WizardForm,
    at: PreviewAt,
    seed: String,
    seed_error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let rules = state.rule_set();
    let spec = match form.to_spec(&rules) {
        Ok(s) => s,
        Err(errors) => {
            return new_page(state, user, StatusCode::UNPROCESSABLE_ENTITY, form, errors, None);
        }
    };
    let who = user.user.clone();
    let rs = rules.clone();
    // The service's error kind places the message (beside a field or above the form).
    let outcome = state
        .db(move |c| Ok::<_, AppError>(draws::preview(c, &who, &spec, &rs)))
        .await?;
    let p = match outcome {
        Ok(p) => PreviewView::of(&rules, &p),
        Err(e) => return refused(state, user, form, e),
    };
    let status = if seed_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let hidden = form.pairs();
    let query = form.query();
    let body = match at {
        PreviewAt::Wizard => render(&PreviewPage {
            nav: Nav::at(user, "/draws"),
            p,
            hidden,
            query,
            seed,
            seed_error,
        })?,
        PreviewAt::Ceremony => render(&CeremonyPage {
            p,
            hidden,
            query,
            csrf_token: user.csrf_token.clone(),
            shown_at: crate::domain::oslo::date_time(chrono::Utc::now().naive_utc()),
            seed,
            seed_error,
        })?,
    };
    Ok(html_with_status(status, body))
}

/// `POST /draws/new/preview`: step 2 (population, strata, fingerprint) with step 3 (seed).
async fn preview(
    state: web::Data<AppState>,
    user: WebUser,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::RunDraws)?;
    user.check_csrf(csrf_of(&body))?;
    let form = WizardForm::from_pairs(&body);
    show_preview(&state, &user, form, PreviewAt::Wizard, String::new(), None).await
}

/// `GET /draws/new/ceremony?…`: the population and its fingerprint, large, before the seed.
async fn ceremony_preview(
    state: web::Data<AppState>,
    user: WebUser,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::RunDraws)?;
    let form = WizardForm::from_pairs(&query);
    show_preview(&state, &user, form, PreviewAt::Ceremony, String::new(), None).await
}

/// `POST /draws`: publishes with the seed typed in (or one from the OS when left empty),
/// refusing a population whose fingerprint is not the one shown.
async fn publish(
    state: web::Data<AppState>,
    user: WebUser,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::RunDraws)?;
    user.check_csrf(csrf_of(&body))?;
    let form = WizardForm::from_pairs(&body);
    let at = if field(&body, "view") == "ceremony" {
        PreviewAt::Ceremony
    } else {
        PreviewAt::Wizard
    };
    let rules = state.rule_set();
    let mut spec = match form.to_spec(&rules) {
        Ok(s) => s,
        Err(errors) => {
            return new_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            );
        }
    };
    let expected = field(&body, "expected_sha256").trim().to_owned();
    if expected.is_empty() {
        let problem =
            "Forhåndsvis populasjonen først: trekningen publiseres bare mot et fingeravtrykk som er vist.";
        return new_page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            FormErrors::default(),
            Some(problem.into()),
        );
    }
    // Blanks around the seed are invisible on the page; the seed is what is left.
    let seed = field(&body, "seed").trim().to_owned();
    if !seed.is_empty() && crate::sampling::check_seed(&seed).is_err() {
        let message =
            "Seeden kan ikke inneholde linjeskift, tabulatorer eller andre kontrolltegn.".to_owned();
        return show_preview(&state, &user, form, at, seed, Some(message)).await;
    }
    spec.seed = (!seed.is_empty()).then_some(seed);
    spec.expected_manifest_sha256 = Some(expected);
    let who = user.user.clone();
    let outcome = state
        .db(move |c| Ok::<_, AppError>(draws::publish(c, &who, &spec, &rules)))
        .await?;
    match outcome {
        Ok(p) => {
            let id = p.draw.id;
            Ok(see_other(match at {
                PreviewAt::Ceremony => format!("/draws/{id}/ceremony"),
                PreviewAt::Wizard if p.notifications_queued == 0 => {
                    format!("/draws/{id}?publisert=1&uten_epost=1")
                }
                PreviewAt::Wizard => format!("/draws/{id}?publisert=1"),
            }))
        }
        Err(e) => refused(&state, &user, form, e),
    }
}

// ---- one draw ----

#[derive(Deserialize)]
pub struct ShowQuery {
    publisert: Option<String>,
    uten_epost: Option<String>,
    utvidet: Option<String>,
}

#[derive(Template)]
#[template(path = "draw.html")]
struct DrawPage {
    nav: Nav,
    d: DrawPageView,
    notice: Option<String>,
    warning: Option<String>,
    may_extend: bool,
    may_see_contracts: bool,
    /// (agency label, xlsx link, csv link)
    inspection: Vec<(&'static str, String, String)>,
    extend_size: String,
    extend_share: String,
    extend_errors: FormErrors,
}

fn inspection_links(user: &WebUser, id: i64) -> Vec<(&'static str, String, String)> {
    if !user.user.role.may(Permission::ReviewCases) {
        return Vec::new();
    }
    let agencies: Vec<Agency> = match user.user.agency {
        Some(own) if !user.user.role.may(Permission::RunDraws) => vec![own],
        _ => vec![
            Agency::Arbeidstilsynet,
            Agency::Skatteetaten,
            Agency::Politiet,
            Agency::Nav,
            Agency::Kemneren,
        ],
    };
    agencies
        .into_iter()
        .map(|a| {
            let base = format!("/draws/{id}/inspection-list?agency={}", a.as_str());
            (
                a.label(),
                format!("{base}&format=xlsx"),
                format!("{base}&format=csv"),
            )
        })
        .collect()
}

struct ExtendInput {
    size: String,
    share: String,
    errors: FormErrors,
}

async fn draw_page(
    state: &AppState,
    user: &WebUser,
    id: i64,
    status: StatusCode,
    notice: Option<String>,
    warning: Option<String>,
    extend: ExtendInput,
) -> Result<HttpResponse, PageError> {
    let detail = state.db(move |c| draws::detail(c, id)).await?;
    let rules = state.rule_set();
    let body = DrawPage {
        nav: Nav::at(user, "/draws"),
        d: DrawPageView::of(&rules, &detail),
        notice,
        warning,
        may_extend: user.user.role.may(Permission::RunDraws),
        may_see_contracts: user.user.role.may(Permission::ViewAllContracts),
        inspection: inspection_links(user, id),
        extend_size: extend.size,
        extend_share: extend.share,
        extend_errors: extend.errors,
    };
    Ok(html_with_status(status, render(&body)?))
}

/// `GET /draws/{id}`: the draw, its verification and what can be done with it.
async fn show(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadPublishedDraws)?;
    let id = path.into_inner();
    let q = query.into_inner();
    let notice = if q.publisert.is_some() {
        Some(format!(
            "Trekning {id} er publisert. Hver trukket kontrakt har fått en sak, og kontaktpersonene som dekker bransjene får e-post."
        ))
    } else {
        q.utvidet
            .as_deref()
            .and_then(|r| r.parse::<u32>().ok())
            .map(|r| format!("Trekningen er utvidet med runde {r}. De nye trekkene står sist i listen."))
    };
    let warning = q.uten_epost.is_some().then(|| {
        "Ingen kontaktperson dekker bransjene til de trukne kontraktene: sakene er opprettet, men ingen fikk e-post. \
         Legg til kontaktpersoner under Kontaktpersoner."
            .to_owned()
    });
    let extend = ExtendInput {
        size: String::new(),
        share: String::new(),
        errors: FormErrors::default(),
    };
    draw_page(&state, &user, id, StatusCode::OK, notice, warning, extend).await
}

#[derive(Template)]
#[template(path = "draw_ceremony_result.html")]
struct CeremonyResultPage {
    d: DrawPageView,
}

/// `GET /draws/{id}/ceremony`: the seed and the picks in order, large.
async fn ceremony_result(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadPublishedDraws)?;
    let id = path.into_inner();
    let detail = state.db(move |c| draws::detail(c, id)).await?;
    let rules = state.rule_set();
    Ok(html_with_status(
        StatusCode::OK,
        render(&CeremonyResultPage {
            d: DrawPageView::of(&rules, &detail),
        })?,
    ))
}

/// `GET /draws/{id}/manifest`: the manifest exactly as hashed (`text/plain`).
async fn manifest(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadPublishedDraws)?;
    let id = path.into_inner();
    let text = state.db(move |c| draws::manifest_text(c, id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"draw-{id}-manifest.tsv\""),
        ))
        .body(text))
}

/// `GET /draws/{id}/record`: the draw as JSON, the record `docs/draws_verify.py --check` reads.
async fn record(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadPublishedDraws)?;
    let id = path.into_inner();
    let view = state.db(move |c| draws::show(c, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"draw-{id}.json\""),
        ))
        .json(view))
}

#[derive(Deserialize)]
pub struct InspectionQuery {
    agency: Option<String>,
    format: Option<String>,
}

/// `GET /draws/{id}/inspection-list?agency=…&format=xlsx|csv`: an agency's list (an A-krim
/// partner only their own agency's; see [`crate::service::inspection`]).
async fn inspection_list(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    query: web::Query<InspectionQuery>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReviewCases)?;
    let id = path.into_inner();
    let q = query.into_inner();
    let csv = match q.format.as_deref() {
        None | Some("xlsx") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(
                AppError::BadRequest(format!("Ukjent format «{other}»: bruk xlsx eller csv.")).into(),
            );
        }
    };
    let (who, rules) = (user.user.clone(), state.rule_set());
    let (agency, table) = state
        .db(move |c| crate::service::inspection::inspection_list(c, &who, &rules, id, q.agency.as_deref()))
        .await?;
    let (body, content_type, ext) = if csv {
        (table.to_csv(), crate::export::CSV_CONTENT_TYPE, "csv")
    } else {
        let bytes = table.to_xlsx().map_err(|e| AppError::Internal(e.to_string()))?;
        (bytes, crate::export::XLSX_CONTENT_TYPE, "xlsx")
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"inspeksjonsliste-trekning-{id}-{}.{ext}\"",
                agency.as_str()
            ),
        ))
        .body(body))
}

#[derive(Deserialize)]
pub struct ExtendForm {
    csrf_token: String,
    size: String,
    #[serde(default)]
    uniform_share: String,
}

/// `POST /draws/{id}/extend`: more picks as a new round (Kemneren).
async fn extend(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<ExtendForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::RunDraws)?;
    user.check_csrf(&form.csrf_token)?;
    let id = path.into_inner();
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    let size = match form.size.trim().parse::<u64>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Some(n),
        _ => {
            errors.add("size", "Skriv et helt tall fra 1 til 1000000.");
            None
        }
    };
    let share_text = form.uniform_share.trim().trim_end_matches('%').trim().to_owned();
    let share = if share_text.is_empty() {
        None
    } else {
        match UniformShare::parse(&format!("{share_text}%")) {
            Ok(s) => Some(s),
            Err(_) => {
                errors.add(
                    "uniform_share",
                    "Skriv en prosent mellom 0 og 100 (høyst én desimal), eller la feltet stå tomt.",
                );
                None
            }
        }
    };
    let again = |errors: FormErrors| ExtendInput {
        size: form.size.clone(),
        share: form.uniform_share.clone(),
        errors,
    };
    let Some(size) = size.filter(|_| errors.is_empty()) else {
        return draw_page(
            &state,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            None,
            again(errors),
        )
        .await;
    };
    let (who, rules) = (user.user.clone(), state.rule_set());
    let outcome = state
        .db(move |c| Ok::<_, AppError>(draws::extend(c, &who, id, size, share, &rules)))
        .await?;
    match outcome {
        Ok(p) => Ok(see_other(format!("/draws/{id}?utvidet={}", p.round))),
        Err(e) => {
            let (status, _, message) = form_problem(e)?;
            let mut errors = FormErrors::default();
            errors.add("size", message);
            draw_page(&state, &user, id, status, None, None, again(errors)).await
        }
    }
}

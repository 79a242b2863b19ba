//! `/liaisons` (Kemneren and the admin): the contacts at the A-krim agencies who receive
//! mail. List, add, edit and remove (a removed liaison is kept, inactive); every change is
//! one audited service call. A refused form is shown again with what was typed and the
//! error beside the field the service named.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Nav, html, html_with_status, labels, render, see_other};
use crate::db::DbError;
use crate::db::models::Actor;
use crate::domain::liaison::{FieldError, LiaisonDraft, NoticeKind, Problem};
use crate::domain::roles::{Agency, Permission};
use crate::risk::RuleSet;
use crate::service;
use crate::service::liaisons::{Liaison, LiaisonError};
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::WebUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/liaisons", web::get().to(list))
        .route("/liaisons", web::post().to(create))
        .route("/liaisons/{id}", web::get().to(edit))
        .route("/liaisons/{id}", web::post().to(update))
        .route("/liaisons/{id}/remove", web::post().to(remove));
}

const AGENCIES: [Agency; 5] = [
    Agency::Arbeidstilsynet,
    Agency::Skatteetaten,
    Agency::Politiet,
    Agency::Nav,
    Agency::Kemneren,
];

/// One option of a `<select>` or one checkbox.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A liaison as the list shows it.
pub struct Line {
    pub id: i64,
    pub name: String,
    pub agency: &'static str,
    pub email: String,
    pub industries: String,
    pub notices: String,
    pub user: String,
}

impl Line {
    fn of(rules: &RuleSet, l: &Liaison) -> Self {
        Line {
            id: l.id,
            name: l.name.clone(),
            agency: l.agency.label(),
            email: l.email.clone(),
            industries: if l.industries.is_empty() {
                "alle bransjer".into()
            } else {
                l.industries
                    .iter()
                    .map(|i| labels::industry(rules, i))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            notices: l
                .notices
                .iter()
                .map(|n| labels::notice(*n))
                .collect::<Vec<_>>()
                .join(", "),
            user: l.user.clone().unwrap_or_default(),
        }
    }
}

/// The form's values: as stored, as typed, or empty.
pub struct FormValues {
    pub name: String,
    pub email: String,
    pub user: String,
    pub agencies: Vec<Choice>,
    pub industries: Vec<Choice>,
    pub notices: Vec<Choice>,
}

impl FormValues {
    fn of(rules: &RuleSet, d: &LiaisonDraft) -> Self {
        FormValues {
            name: d.name.clone(),
            email: d.email.clone(),
            user: d.user.clone().unwrap_or_default(),
            agencies: AGENCIES
                .iter()
                .map(|a| Choice {
                    value: a.as_str().into(),
                    label: a.label().into(),
                    selected: a.as_str() == d.agency,
                })
                .collect(),
            industries: rules
                .industries()
                .iter()
                .map(|i| Choice {
                    value: i.id.clone(),
                    label: i.name.clone(),
                    selected: d.industries.contains(&i.id),
                })
                .collect(),
            notices: NoticeKind::ALL
                .iter()
                .map(|n| Choice {
                    value: n.as_str().into(),
                    label: labels::notice(*n).into(),
                    selected: d.notices.iter().any(|x| x == n.as_str()),
                })
                .collect(),
        }
    }
}

fn draft_of(l: &Liaison) -> LiaisonDraft {
    LiaisonDraft {
        name: l.name.clone(),
        agency: l.agency.as_str().into(),
        email: l.email.clone(),
        industries: l.industries.clone(),
        notices: l.notices.iter().map(|n| n.as_str().to_owned()).collect(),
        user: l.user.clone(),
    }
}

/// The error beside a field.
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
}

impl Refusal {
    /// The message beside `field`, if the refusal is about it (called from the templates).
    pub fn at(&self, field: &str) -> Option<&str> {
        (self.field == field).then_some(self.message.as_str())
    }
}

/// Helper for templates: the message at `field` of an optional refusal.
fn error_at<'a>(r: &'a Option<Refusal>, field: &str) -> Option<&'a str> {
    r.as_ref().and_then(|r| r.at(field))
}

/// A refused field in Norwegian words for the page, without the codes the API and CLI
/// messages list (agency and notice ids, role codes).
fn field_message(e: &FieldError) -> String {
    match &e.problem {
        Problem::UnknownAgency(_) => "velg en etat fra listen".into(),
        Problem::UnknownIndustry { .. } => "velg bransjer fra listen".into(),
        Problem::UnknownNotice(_) => "velg varsler fra listen".into(),
        Problem::NoNotices => "velg minst ett varsel".into(),
        Problem::NotAkrim { username, role } => format!(
            "«{username}» har rollen {}; bare A-krim-partnere kan knyttes til en kontaktperson",
            role.label()
        ),
        Problem::AgencyMismatch {
            username,
            user_agency,
            agency,
        } => format!(
            "«{username}» tilhører {}, ikke {}",
            user_agency.map_or("ingen etat", Agency::label),
            agency.label()
        ),
        other => other.norwegian(),
    }
}

#[derive(Template)]
#[template(path = "liaisons.html")]
struct ListPage {
    nav: Nav,
    lines: Vec<Line>,
    notice: Option<String>,
    form: FormValues,
    refusal: Option<Refusal>,
}

#[derive(Template)]
#[template(path = "liaison.html")]
struct EditPage {
    nav: Nav,
    id: i64,
    form: FormValues,
    refusal: Option<Refusal>,
}

impl ListPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_at(&self.refusal, field)
    }
}

impl EditPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_at(&self.refusal, field)
    }
}

#[derive(serde::Deserialize)]
pub struct Done {
    done: Option<String>,
    id: Option<i64>,
}

pub async fn list(
    state: web::Data<AppState>,
    user: WebUser,
    query: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageLiaisons)?;
    let all = state.db(service::liaisons::list).await?;
    let rules = state.rule_set();
    // The confirmation names the liaison as stored, never text from the address.
    let named = |what: &str| {
        let name = all
            .iter()
            .find(|l| Some(l.id) == query.id)
            .map(|l| l.name.as_str());
        Some(match name {
            Some(n) => format!("Kontaktpersonen «{n}» er {what}."),
            None => format!("Kontaktpersonen er {what}."),
        })
    };
    let notice = match query.done.as_deref() {
        Some("created") => named("lagt til"),
        Some("updated") => named("endret"),
        Some("removed") => Some("Kontaktpersonen er fjernet og får ikke lenger e-post.".to_owned()),
        _ => None,
    };
    let page = ListPage {
        nav: Nav::at(&user, "/liaisons"),
        lines: all.iter().map(|l| Line::of(&rules, l)).collect(),
        notice,
        form: FormValues::of(
            &rules,
            &LiaisonDraft {
                notices: vec![NoticeKind::DrawPublished.as_str().into()],
                ..LiaisonDraft::default()
            },
        ),
        refusal: None,
    };
    Ok(html(render(&page)?))
}

/// The form as sent: checkboxes repeat their name, so the body is read as pairs.
struct LiaisonForm {
    csrf_token: String,
    draft: LiaisonDraft,
}

impl LiaisonForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = LiaisonForm {
            csrf_token: String::new(),
            draft: LiaisonDraft::default(),
        };
        for (k, v) in pairs {
            match k.as_str() {
                "csrf_token" => f.csrf_token = v,
                "name" => f.draft.name = v,
                "agency" => f.draft.agency = v,
                "email" => f.draft.email = v,
                "industries" => f.draft.industries.push(v),
                "notices" => f.draft.notices.push(v),
                "user" => f.draft.user = Some(v).filter(|u| !u.trim().is_empty()),
                _ => {}
            }
        }
        f
    }
}

/// A field refusal for the page, or the error for the error page.
fn refusal(e: LiaisonError) -> Result<Refusal, PageError> {
    match e {
        LiaisonError::Field(f) => Ok(Refusal {
            field: f.field,
            message: field_message(&f),
        }),
        LiaisonError::Db(d) => Err(PageError(AppError::from(d))),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    user: WebUser,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageLiaisons)?;
    let form = LiaisonForm::from_pairs(form.into_inner());
    user.check_csrf(&form.csrf_token)?;
    let actor = Actor::user(&user.user.username);
    let rules = state.rule_set();
    let (draft, in_service) = (form.draft.clone(), rules.clone());
    let outcome = state
        .db(move |c| Ok::<_, DbError>(service::liaisons::create(c, &actor, &in_service, &draft)))
        .await?;
    let refused = match outcome {
        Ok(l) => {
            return Ok(see_other(format!("/liaisons?done=created&id={}", l.id)));
        }
        Err(e) => refusal(e)?,
    };
    let all = state.db(service::liaisons::list).await?;
    let page = ListPage {
        nav: Nav::at(&user, "/liaisons"),
        lines: all.iter().map(|l| Line::of(&rules, l)).collect(),
        notice: None,
        form: FormValues::of(&rules, &form.draft),
        refusal: Some(refused),
    };
    Ok(html_with_status(StatusCode::UNPROCESSABLE_ENTITY, render(&page)?))
}

pub async fn edit(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageLiaisons)?;
    let id = path.into_inner();
    let l = state.db(move |c| service::liaisons::get(c, id)).await?;
    let rules = state.rule_set();
    let page = EditPage {
        nav: Nav::at(&user, "/liaisons"),
        id,
        form: FormValues::of(&rules, &draft_of(&l)),
        refusal: None,
    };
    Ok(html(render(&page)?))
}

pub async fn update(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageLiaisons)?;
    let form = LiaisonForm::from_pairs(form.into_inner());
    user.check_csrf(&form.csrf_token)?;
    let id = path.into_inner();
    let actor = Actor::user(&user.user.username);
    let rules = state.rule_set();
    let (draft, in_service) = (form.draft.clone(), rules.clone());
    let outcome = state
        .db(move |c| Ok::<_, DbError>(service::liaisons::update(c, &actor, &in_service, id, &draft)))
        .await?;
    let refused = match outcome {
        Ok(l) => {
            return Ok(see_other(format!("/liaisons?done=updated&id={}", l.id)));
        }
        Err(e) => refusal(e)?,
    };
    let page = EditPage {
        nav: Nav::at(&user, "/liaisons"),
        id,
        form: FormValues::of(&rules, &form.draft),
        refusal: Some(refused),
    };
    Ok(html_with_status(StatusCode::UNPROCESSABLE_ENTITY, render(&page)?))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    csrf_token: String,
}

pub async fn remove(
    state: web::Data<AppState>,
    user: WebUser,
    path: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageLiaisons)?;
    user.check_csrf(&form.csrf_token)?;
    let id = path.into_inner();
    let actor = Actor::user(&user.user.username);
    let removed = state
        .db(move |c| service::liaisons::remove(c, &actor, id))
        .await?;
    Ok(see_other(format!("/liaisons?done=removed&id={}", removed.id)))
}

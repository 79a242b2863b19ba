//! The rule set in words: `/rules` shows the set in force (version short, full on hover;
//! tiers, risk industries, indicators with their sources, parameters with their dates) and
//! its activations; `/rules/edit` lets Kemneren change the files, check them (every error
//! with file and line, beside the file it is in) and put them in force.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, html, html_with_status, labels, render, see_other};
use crate::db::models::Actor;
use crate::db::models::assessments::Activation;
use crate::domain::oslo;
use crate::domain::roles::Permission;
use crate::risk::{RuleError, RuleSet};
use crate::service;
use crate::service::rules::RulesError;
use crate::web::AppState;
use crate::web::error::{AppError, PageError};
use crate::web::extract::WebUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/rules", web::get().to(show))
        .route("/rules/edit", web::get().to(edit_form))
        .route("/rules/edit", web::post().to(edit_submit));
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    nav: Nav,
    rules: std::sync::Arc<RuleSet>,
    activations: Vec<Activation>,
    may_edit: bool,
    notice: Option<String>,
}

impl RulesPage {
    fn when(&self, at: &chrono::NaiveDateTime) -> String {
        oslo::date_time(*at)
    }

    fn tier_class(&self, id: &str) -> String {
        labels::tier_class(&self.rules, id)
    }

    fn short(&self, v: &str) -> String {
        super::format::short(v).to_owned()
    }

    fn register(&self, code: &Option<String>) -> String {
        code.as_deref()
            .map_or_else(|| "–".into(), |c| labels::approval_register(c).to_owned())
    }

    fn parameter_title(&self, id: &Option<String>) -> String {
        match id {
            None => "–".into(),
            Some(id) => self
                .rules
                .parameters()
                .iter()
                .find(|p| &p.id == id)
                .map_or_else(|| id.clone(), |p| p.title.clone()),
        }
    }

    fn date(&self, d: &chrono::NaiveDate) -> String {
        oslo::date(*d)
    }

    fn number(&self, v: &f64) -> String {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}").replace('.', ",")
        }
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    aktivert: Option<String>,
}

async fn show(
    state: web::Data<AppState>,
    user: WebUser,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ReadRules)?;
    let activations = state.db(|c| service::rules::activations(c, 20)).await?;
    let rules = state.rule_set();
    let notice = query.aktivert.as_ref().map(|v| {
        if v == rules.version() {
            "Det nye regelsettet er tatt i bruk, og alle kontrakter er vurdert på nytt.".to_owned()
        } else {
            "Regelsettet var allerede i bruk; ingenting er endret.".to_owned()
        }
    });
    let body = RulesPage {
        nav: Nav::at(&user, "/rules"),
        may_edit: user.user.role.may(Permission::ManageRules),
        rules,
        activations,
        notice,
    };
    Ok(html(render(&body)?))
}

/// One file of the set in the editor, with the problems found in it.
struct FileBox {
    name: String,
    text: String,
    errors: Vec<RuleError>,
}

#[derive(Template)]
#[template(path = "rules_edit.html")]
struct EditPage {
    nav: Nav,
    version: String,
    files: Vec<FileBox>,
    /// Problems not tied to one of the files shown (a missing or unknown file).
    other_errors: Vec<RuleError>,
    notice: Option<String>,
}

impl EditPage {
    fn has_errors(&self) -> bool {
        !self.other_errors.is_empty() || self.files.iter().any(|f| !f.errors.is_empty())
    }
}

async fn edit_form(state: web::Data<AppState>, user: WebUser) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageRules)?;
    let rules = state.rule_set();
    let body = EditPage {
        nav: Nav::at(&user, "/rules"),
        version: rules.version().to_owned(),
        files: rules
            .sources()
            .iter()
            .map(|(name, text)| FileBox {
                name: name.clone(),
                text: text.clone(),
                errors: Vec::new(),
            })
            .collect(),
        other_errors: Vec::new(),
        notice: None,
    };
    Ok(html(render(&body)?))
}

/// The form: `csrf_token`, `action` (`validate` or `activate`), and per file `name` + `text`
/// in order (repeated fields), read by hand because serde's form reader keeps one of each.
async fn edit_submit(
    state: web::Data<AppState>,
    user: WebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    user.require(Permission::ManageRules)?;
    let mut csrf = String::new();
    let mut action = String::new();
    let mut names = Vec::new();
    let mut texts = Vec::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf_token" => csrf = v.into_owned(),
            "action" => action = v.into_owned(),
            "name" => names.push(v.into_owned()),
            // Browsers send CRLF line ends from a textarea; the files use LF.
            "text" => texts.push(v.replace("\r\n", "\n")),
            _ => {}
        }
    }
    user.check_csrf(&csrf)?;
    if names.len() != texts.len() {
        return Err(PageError(AppError::BadRequest(
            "Skjemaet mangler en fil eller et filnavn. Last siden på nytt og prøv igjen.".into(),
        )));
    }
    let files: Vec<(String, String)> = names.into_iter().zip(texts).collect();
    let version_now = state.rule_set().version().to_owned();
    let page = |files: &[(String, String)], errors: Vec<RuleError>, notice: Option<String>| {
        let mut boxes: Vec<FileBox> = files
            .iter()
            .map(|(n, t)| FileBox {
                name: n.clone(),
                text: t.clone(),
                errors: Vec::new(),
            })
            .collect();
        let mut other = Vec::new();
        for e in errors {
            match boxes.iter_mut().find(|b| b.name == e.file) {
                Some(b) => b.errors.push(e),
                None => other.push(e),
            }
        }
        EditPage {
            nav: Nav::at(&user, "/rules"),
            version: version_now.clone(),
            files: boxes,
            other_errors: other,
            notice,
        }
    };
    if action == "activate" {
        let actor = Actor::user(&user.user.username);
        let active = state.rules.clone();
        let to_store = files.clone();
        let out = state
            .db(move |c| -> Result<_, AppError> {
                match service::rules::replace(c, &actor, &active, &to_store) {
                    Ok(r) => Ok(Ok(r)),
                    Err(RulesError::Invalid(e)) => Ok(Err(e)),
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        return match out {
            Ok(r) => Ok(see_other(format!(
                "/rules?aktivert={}",
                url::form_urlencoded::byte_serialize(r.version.as_bytes()).collect::<String>()
            ))),
            Err(e) => Ok(html_with_status(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                render(&page(&files, e.errors, None))?,
            )),
        };
    }
    let checked = files.clone();
    match AppState::compute(move || Ok::<_, AppError>(service::rules::validate(&checked))).await? {
        Ok(rules) => {
            let notice = format!(
                "Regelsettet er gyldig: {} bransjer, {} indikatorer, {} nivåer og {} parametere (versjon {}). Trykk «Ta i bruk» for å bruke det.",
                rules.industries().len(),
                rules.indicators().len(),
                rules.tiers().len(),
                rules.parameters().len(),
                super::format::short(rules.version())
            );
            Ok(html(render(&page(&files, Vec::new(), Some(notice)))?))
        }
        Err(e) => Ok(html_with_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            render(&page(&files, e.errors, None))?,
        )),
    }
}

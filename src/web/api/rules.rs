//! `/api/v1/rules`: the rule set in force, stored in the database.
//!
//! - `GET  /rules`: the active set, its version and activations (every role that reads rules);
//! - `POST /rules/validate`: checks a set of files without activating it (kemner);
//! - `PUT  /rules`: stores the files as a new version, activates it, rescores (kemner);
//! - `POST /rules/reload`: imports the configured rules folder (`rules_dir`), when one is
//!   set, as `PUT` would (kemner).
//!
//! A rule set that does not load is answered 422 with every problem, and the active set stays.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::db::models::Actor;
use crate::db::models::assessments::Activation;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::ApiUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/rules", web::get().to(show))
        .route("/rules", web::put().to(replace))
        .route("/rules/validate", web::post().to(validate))
        .route("/rules/reload", web::post().to(reload));
}

#[derive(Serialize)]
struct RulesView<'a> {
    version: &'a str,
    files: &'a [String],
    activations: Vec<Activation>,
    industries: &'a [crate::risk::Industry],
    indicators: &'a [crate::risk::Indicator],
    tiers: &'a [crate::risk::Tier],
    parameters: &'a [crate::risk::Parameter],
}

async fn show(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadRules)?;
    let rules = state.rule_set();
    let activations = state.db(|c| service::rules::activations(c, 20)).await?;
    Ok(HttpResponse::Ok().json(RulesView {
        version: rules.version(),
        files: rules.files(),
        activations,
        industries: rules.industries(),
        indicators: rules.indicators(),
        tiers: rules.tiers(),
        parameters: rules.parameters(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFiles {
    files: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    text: String,
}

impl RuleFiles {
    fn pairs(self) -> Vec<(String, String)> {
        self.files.into_iter().map(|f| (f.name, f.text)).collect()
    }
}

#[derive(Serialize)]
struct Validation {
    valid: bool,
    version: String,
    industries: usize,
    indicators: usize,
    tiers: usize,
    parameters: usize,
}

async fn validate(user: ApiUser, body: web::Json<RuleFiles>) -> Result<HttpResponse, ApiError> {
    // Kemneren only: loading interns the texts of a rule set for the life of the process
    // (see `risk::Text`), so arbitrary uploads from every role would grow memory unbounded.
    user.require(Permission::ManageRules)?;
    let files = body.into_inner().pairs();
    // Parsing is CPU work on untrusted text: off the async workers.
    let rules = AppState::compute(move || service::rules::validate(&files)).await?;
    Ok(HttpResponse::Ok().json(Validation {
        valid: true,
        version: rules.version().to_owned(),
        industries: rules.industries().len(),
        indicators: rules.indicators().len(),
        tiers: rules.tiers().len(),
        parameters: rules.parameters().len(),
    }))
}

async fn replace(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<RuleFiles>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageRules)?;
    let files = body.into_inner().pairs();
    let actor = Actor::user(&user.user.username);
    let active = state.rules.clone();
    let out = state
        .db(move |c| service::rules::replace(c, &actor, &active, &files))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn reload(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageRules)?;
    let Some(dir) = state.settings.rules_dir.clone() else {
        return Err(ApiError(AppError::Conflict(
            "no rules folder is configured (SPOTCHECK_RULES_DIR); send the files with PUT /api/v1/rules"
                .into(),
        )));
    };
    let actor = Actor::user(&user.user.username);
    let active = state.rules.clone();
    let out = state
        .db(move |c| {
            let files = service::rules::read_folder(&dir)?;
            service::rules::replace(c, &actor, &active, &files)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

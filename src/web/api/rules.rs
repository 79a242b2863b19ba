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
use utoipa::ToSchema;

use crate::db::models::Actor;
use crate::db::models::assessments::Activation;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::{ApiError, AppError};
use crate::web::extract::ApiUser;

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_show, show)
        .add(__path_replace, replace)
        .add(__path_validate, validate)
        .add(__path_reload, reload);
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

/// The rule set in force
///
/// Its version, files, recent activations, and its industries, indicators, tiers and
/// parameters.
#[utoipa::path(get, path = "/rules", responses(
    (status = 200, description = "The rule set in force.", body = Object),
))]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RuleFiles {
    files: Vec<RuleFile>,
}

/// One file of a rule set (the exchange format, see `rules/README.md`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    /// The file name, e.g. `indicators.toml`.
    name: String,
    text: String,
}

impl RuleFiles {
    fn pairs(self) -> Vec<(String, String)> {
        self.files.into_iter().map(|f| (f.name, f.text)).collect()
    }
}

#[derive(Serialize, ToSchema)]
struct Validation {
    valid: bool,
    version: String,
    industries: usize,
    indicators: usize,
    tiers: usize,
    parameters: usize,
}

/// Validate a rule set
///
/// Loads the files as a rule set without storing or activating it.
#[utoipa::path(post, path = "/rules/validate", request_body = RuleFiles, responses(
    (status = 200, description = "The set loads.", body = Validation),
    (status = 422, description = "The set does not load: `errors` lists every problem with file and line."),
))]
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

/// Replace the rule set
///
/// Stores the files as a new version, activates it and rescores every contract with it;
/// the other instances pick it up within `rules_poll_seconds`.
#[utoipa::path(put, path = "/rules", request_body = RuleFiles, responses(
    (status = 200, description = "The version, whether it was activated, and the rescoring.", body = Object),
    (status = 422,
        description = "The set does not load: `errors` lists every problem; the active set stays."),
))]
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

/// Reload the rules folder
///
/// Imports the configured rules folder (`SPOTCHECK_RULES_DIR`) as `PUT /rules` would.
#[utoipa::path(post, path = "/rules/reload", responses(
    (status = 200, description = "The version, whether it was activated, and the rescoring.", body = Object),
    (status = 409, description = "No rules folder is configured."),
    (status = 422, description = "The folder's set does not load: `errors` lists every problem."),
))]
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

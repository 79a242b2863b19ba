//! `/api/v1` routes for the risk rules and the assessments they make.
//!
//! - `GET  /rules`: the active rule set, its version and activations (every role that reads rules);
//! - `POST /rules/validate`: checks a set of files without activating it (kemner);
//! - `PUT  /rules`: replaces the files under `rules_dir`, activates them, rescores (kemner);
//! - `POST /rules/reload`: re-reads `rules_dir` (after an edit on disk), activates, rescores (kemner);
//! - `GET  /contracts/{id}/assessment`, `GET /suppliers/{orgnr}/assessment`: explained scores
//!   with their history.
//!
//! A rule set that does not load is answered 422 with every problem, and the active set stays.

use std::path::Path;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::ApiUser;
use super::error::{ApiError, AppError};
use crate::db::DbError;
use crate::db::models::{Actor, contracts, risk as store};
use crate::domain::roles::Permission;
use crate::risk::{RuleError, RuleSet, RuleSetError};
use crate::scoring::{self, Scope};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/rules", web::get().to(get_rules))
        .route("/rules", web::put().to(put_rules))
        .route("/rules/validate", web::post().to(validate_rules))
        .route("/rules/reload", web::post().to(reload_rules))
        .route("/contracts/{id}/assessment", web::get().to(contract_assessment))
        .route(
            "/suppliers/{orgnr}/assessment",
            web::get().to(supplier_assessment),
        );
}

#[derive(Serialize)]
struct RulesView<'a> {
    version: &'a str,
    files: &'a [String],
    activations: Vec<store::Activation>,
    industries: &'a [crate::risk::Industry],
    indicators: &'a [crate::risk::Indicator],
    tiers: &'a [crate::risk::Tier],
    parameters: &'a [crate::risk::Parameter],
}

async fn get_rules(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ReadRules)?;
    let rules = state.rules.get();
    let pool = state.pool.clone();
    let activations = web::block(move || store::activations(&mut *pool.get()?, 20)).await??;
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

/// A plain `*.toml` file name: no folders, no hidden files (the loader skips those).
fn check_file_names(files: &[RuleFile]) -> Result<(), RuleSetError> {
    let errors: Vec<RuleError> = files
        .iter()
        .filter(|f| {
            !f.name.ends_with(".toml")
                || f.name.starts_with('.')
                || f.name.contains(['/', '\\'])
                || f.name.contains("..")
                || f.name.len() > 100
        })
        .map(|f| RuleError {
            file: f.name.clone(),
            line: 0,
            rule: None,
            message: "filnavnet må være et enkelt navn som slutter på .toml (ingen mapper, ikke skjult)"
                .into(),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(RuleSetError { errors })
    }
}

fn build(files: &[RuleFile]) -> Result<RuleSet, RuleSetError> {
    check_file_names(files)?;
    let pairs: Vec<(String, String)> = files.iter().map(|f| (f.name.clone(), f.text.clone())).collect();
    RuleSet::from_files(&pairs)
}

#[derive(Serialize)]
struct Validation<'a> {
    valid: bool,
    version: &'a str,
    industries: usize,
    indicators: usize,
    tiers: usize,
    parameters: usize,
}

async fn validate_rules(user: ApiUser, body: web::Json<RuleFiles>) -> Result<HttpResponse, ApiError> {
    // Kemneren only: loading interns the texts of a rule set for the life of the process
    // (see `risk::Text`), so arbitrary uploads from every role would grow memory unbounded.
    user.require(Permission::ManageRules)?;
    let rules = build(&body.files).map_err(AppError::InvalidRules)?;
    Ok(HttpResponse::Ok().json(Validation {
        valid: true,
        version: rules.version(),
        industries: rules.industries().len(),
        indicators: rules.indicators().len(),
        tiers: rules.tiers().len(),
        parameters: rules.parameters().len(),
    }))
}

#[derive(Serialize)]
struct Activated {
    version: String,
    /// False when the same version was already active (nothing changed).
    activated: bool,
    rescore: scoring::RescoreReport,
}

/// Writes the files into `dir`, each through a temporary file and a rename, then removes
/// the `*.toml` files the new set does not have. Other files (README.md) stay.
fn write_rule_files(dir: &Path, files: &[RuleFile]) -> std::io::Result<()> {
    for f in files {
        let tmp = dir.join(format!(".{}.tmp", f.name));
        std::fs::write(&tmp, f.text.as_bytes())?;
        std::fs::rename(&tmp, dir.join(&f.name))?;
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") && !name.starts_with('.') && !files.iter().any(|f| f.name == name) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Records the activation and rescores every contract with the set now in force.
fn activate_and_rescore(state: &AppState, username: &str) -> Result<Activated, ApiError> {
    let rules = state.rules.get();
    let actor = Actor::user(username);
    let activated = crate::app::activate_rules(&state.pool, &rules, &actor)?;
    let rescore = crate::app::rescore(&state.pool, &rules, Scope::All, false, "rules", &actor)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Activated {
        version: rules.version().to_owned(),
        activated,
        rescore,
    })
}

async fn put_rules(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<RuleFiles>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageRules)?;
    // Validated before anything is written: a broken set never reaches the folder.
    build(&body.files).map_err(AppError::InvalidRules)?;
    let username = user.user.username.clone();
    let out = web::block(move || -> Result<Activated, ApiError> {
        let dir = state.settings.rules_dir.clone();
        write_rule_files(&dir, &body.files)
            .map_err(|e| AppError::Internal(format!("writing the rule files to {}: {e}", dir.display())))?;
        state.rules.reload(&dir).map_err(AppError::InvalidRules)?;
        activate_and_rescore(&state, &username)
    })
    .await??;
    Ok(HttpResponse::Ok().json(out))
}

async fn reload_rules(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageRules)?;
    let username = user.user.username.clone();
    let out = web::block(move || -> Result<Activated, ApiError> {
        state
            .rules
            .reload(&state.settings.rules_dir)
            .map_err(AppError::InvalidRules)?;
        activate_and_rescore(&state, &username)
    })
    .await??;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Serialize)]
struct AssessmentView {
    /// The newest assessment, explained; `null` when the subject has not been scored.
    current: Option<scoring::ExplainedAssessment>,
    /// Every assessment, newest first (without explanations; fetch one by its version).
    history: Vec<store::AssessmentRow>,
}

fn assessment_view(
    conn: &mut crate::db::DbConn,
    active: &std::sync::Arc<RuleSet>,
    history: Vec<store::AssessmentRow>,
) -> Result<AssessmentView, DbError> {
    let current = match history.first() {
        Some(row) => {
            let rules = scoring::rule_set_of_version(conn, active, &row.rule_set_version)?;
            Some(scoring::explain(row, rules.as_deref())?)
        }
        None => None,
    };
    Ok(AssessmentView { current, history })
}

async fn contract_assessment(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewOwnImports)?;
    let id = path.into_inner();
    let scope = super::api::uploader_scope(&user.user);
    let pool = state.pool.clone();
    let active = state.rules.get();
    let view = web::block(move || -> Result<AssessmentView, DbError> {
        let mut conn = pool.get()?;
        if contracts::get_visible(&mut conn, id, scope)?.is_none() {
            return Err(DbError::NotFound(format!("no contract {id} that you can see")));
        }
        let history = store::contract_history(&mut conn, id)?;
        assessment_view(&mut conn, &active, history)
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

async fn supplier_assessment(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ViewAllContracts)?;
    let orgnr = super::api::canonical_orgnr(&path.into_inner())?;
    let pool = state.pool.clone();
    let active = state.rules.get();
    let view = web::block(move || -> Result<AssessmentView, DbError> {
        let mut conn = pool.get()?;
        let history = store::supplier_history(&mut conn, &orgnr)?;
        assessment_view(&mut conn, &active, history)
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

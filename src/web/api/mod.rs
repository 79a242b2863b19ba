//! JSON API under `/api/v1`, for machine clients with bearer tokens, one file per feature.
//! Errors are `application/problem+json` (see `web::error`).
//!
//! Every route is registered through [`Routes`] from the handler's `#[utoipa::path]`
//! annotation, which also makes the OpenAPI document served at `/api/v1/openapi.json`
//! (see `registry`); `viewer` serves the interactive view of it at `/api/docs`.

mod cases;
mod contracts;
mod draws;
mod imports;
mod liaisons;
mod outbox;
mod registry;
mod reports;
mod rules;
mod suppliers;
mod users;
pub mod viewer;

use actix_web::{HttpResponse, web};

use super::error::ApiError;
use super::extract::ApiUser;
use crate::domain::roles::Permission;
pub use registry::{Group, PREFIX, Routes, ServedRoute, openapi_json};

/// Serves the API on `cfg` (the `/api/v1` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    served_routes(cfg);
}

/// Serves the API on `cfg` and answers what was registered there: the router's own table
/// of `/api/v1` routes (`tests/openapi.rs` compares it with the document).
pub fn served_routes(cfg: &mut web::ServiceConfig) -> Vec<ServedRoute> {
    let mut routes = Routes::serve(cfg);
    register(&mut routes);
    routes.served().to_vec()
}

static ACCOUNT: Group = Group {
    tag: "account",
    description: "Who the caller is, and this document.",
};
static USERS: Group = Group {
    tag: "users",
    description: "Users, their roles and API tokens, and the audit chain (admin).",
};
static IMPORTS: Group = Group {
    tag: "imports",
    description: "Contract registers uploaded as files (xlsx, xlsm, xls, xlsb, ods, csv) and their reports.",
};
static CONTRACTS: Group = Group {
    tag: "contracts",
    description: "Contracts with their current risk, explained assessments, and who owns a contract.",
};
static CASES: Group = Group {
    tag: "cases",
    description: "Case review by the A-krim partners: status, assignment, notes, findings, evidence, \
                  document requests, four-eyes closing, sharing with agencies.",
};
static SUPPLIERS: Group = Group {
    tag: "suppliers",
    description: "Suppliers' register facts and approval statuses, look-ups, supplier assessments \
                  (Kemneren).",
};
static RULES: Group = Group {
    tag: "rules",
    description: "The risk rule set in force: read, validate, replace, reload.",
};
static DRAWS: Group = Group {
    tag: "draws",
    description: "Verifiable spot-check draws: preview, publish, read, verify, extend, inspection lists.",
};
static LIAISONS: Group = Group {
    tag: "liaisons",
    description: "The contacts at the A-krim agencies who receive mail.",
};
static OUTBOX: Group = Group {
    tag: "outbox",
    description: "The mail queue: messages without their bodies, and putting dead letters back.",
};
static REPORTS: Group = Group {
    tag: "reports",
    description: "The hit rate of closed cases and the yearly status for the city council (Kemneren).",
};

/// Every `/api/v1` route, feature by feature. The one list that both the router and the
/// OpenAPI document are made from.
fn register(r: &mut Routes<'_>) {
    r.group(&ACCOUNT, account_routes)
        .group(&USERS, users::routes)
        .group(&IMPORTS, imports::routes)
        .group(&CONTRACTS, contracts::routes)
        .group(&CASES, cases::routes)
        .group(&SUPPLIERS, suppliers::routes)
        .group(&RULES, rules::routes)
        .group(&DRAWS, draws::routes)
        .group(&LIAISONS, liaisons::routes)
        .group(&OUTBOX, outbox::routes)
        .group(&REPORTS, reports::routes);
}

fn account_routes(r: &mut Routes<'_>) {
    r.add(__path_me, me).add(__path_openapi, openapi);
}

/// The signed-in user
///
/// The user the bearer token belongs to: name, role, agency.
#[utoipa::path(get, path = "/me", responses(
    (status = 200, description = "The caller.", body = crate::db::models::users::User),
))]
async fn me(user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::SignedIn)?;
    Ok(HttpResponse::Ok().json(&user.user))
}

/// This document
///
/// The OpenAPI 3.1 document of the whole API, generated from the handlers. Public: it
/// describes the routes and holds no data. An interactive view is at `/api/docs`.
#[utoipa::path(get, path = "/openapi.json", security(()), responses(
    (status = 200, description = "The OpenAPI document.", content_type = "application/json", body = Object),
))]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi_json())
}

//! JSON API under `/api/v1`, for machine clients with bearer tokens, one file per feature.
//! Errors are `application/problem+json` (see `web::error`).

mod cases;
mod contracts;
mod draws;
mod imports;
mod liaisons;
mod outbox;
mod reports;
mod rules;
mod suppliers;
mod users;

use actix_web::{HttpResponse, web};

use super::error::ApiError;
use super::extract::ApiUser;
use crate::domain::roles::Permission;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .configure(users::routes)
        .configure(imports::routes)
        .configure(contracts::routes)
        .configure(cases::routes)
        .configure(suppliers::routes)
        .configure(rules::routes)
        .configure(draws::routes)
        .configure(liaisons::routes)
        .configure(outbox::routes)
        .configure(reports::routes);
}

async fn me(user: ApiUser) -> Result<HttpResponse, ApiError> {
    user.require(Permission::SignedIn)?;
    Ok(HttpResponse::Ok().json(&user.user))
}

//! `/api/v1/outbox`: the mail queue, for Kemneren and the admin. Listing shows no message
//! bodies; retrying puts a dead letter back (audited).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::db::models::Actor;
use crate::domain::roles::Permission;
use crate::service;
use crate::web::AppState;
use crate::web::api::Routes;
use crate::web::error::ApiError;
use crate::web::extract::ApiUser;

pub fn routes(r: &mut Routes<'_>) {
    r.add(__path_list, list).add(__path_retry, retry);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only messages with this status (`pending`, `sent`, `dead`, …).
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// The mail queue
///
/// One page of messages, newest first, without their bodies: `total`, `page`, `per_page`,
/// `counts` (messages per status) and `items` (see `MessageSummary`).
#[utoipa::path(get, path = "/outbox", params(ListQuery), responses(
    (status = 200, description = "One page of messages and the counts per status.", body = Object),
))]
async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageOutbox)?;
    let q = query.into_inner();
    let (page, per_page) = (q.page.unwrap_or(1), q.per_page.unwrap_or(100));
    let status = q.status;
    let (total, items, counts) = state
        .db(move |c| {
            let (total, items) = service::outbox::list(c, status.as_deref(), page, per_page)?;
            Ok::<_, crate::db::DbError>((total, items, service::outbox::counts(c)?))
        })
        .await?;
    let counts: serde_json::Map<String, serde_json::Value> =
        counts.into_iter().map(|(s, n)| (s, n.into())).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "total": total,
        "page": page,
        "per_page": per_page,
        "counts": counts,
        "items": items,
    })))
}

/// Send a dead letter again
///
/// Puts the message back in the queue (audited).
#[utoipa::path(post, path = "/outbox/{id}/retry", responses(
    (status = 200, description = "The message as queued again.",
        body = crate::db::models::outbox::MessageSummary),
    (status = 409, description = "The message is not a dead letter."),
))]
async fn retry(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Permission::ManageOutbox)?;
    let actor = Actor::user(&user.user.username);
    let id = path.into_inner();
    let message = state.db(move |c| service::outbox::retry(c, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(message))
}

//! Administration pages (admin only): users with their roles, access, passwords and API
//! tokens (`users`), and the audit log with its chain status (`audit`).

mod audit;
mod users;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(users::list))
        .route("/admin/users", web::post().to(users::create))
        .route("/admin/users/{username}", web::get().to(users::detail))
        .route("/admin/users/{username}/role", web::post().to(users::set_role))
        .route("/admin/users/{username}/disable", web::post().to(users::disable))
        .route("/admin/users/{username}/enable", web::post().to(users::enable))
        .route(
            "/admin/users/{username}/password",
            web::post().to(users::set_password),
        )
        .route(
            "/admin/users/{username}/password/generate",
            web::post().to(users::generate_password),
        )
        .route(
            "/admin/users/{username}/tokens",
            web::post().to(users::create_token),
        )
        .route(
            "/admin/users/{username}/tokens/{id}/revoke",
            web::post().to(users::revoke_token),
        )
        .route("/admin/audit", web::get().to(audit::page));
}

/// A value for a query string.
fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A user name as a path segment (names are letters, digits and `.-_@`; letters outside
/// ASCII are percent-encoded).
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._@".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Errors of a form, each beside its field (`field` is the input's name, or a section's).
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        FieldErrors(vec![(field, message.into())])
    }

    /// The error beside `field`, if any (called from the templates).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

//! Row structs and queries, one module per aggregate. Every state change runs in
//! [`crate::db::write_tx`] and appends to the audit log in the same transaction.

pub mod assessments;
pub mod audit;
pub mod contracts;
pub mod draws;
pub mod imports;
pub mod sessions;
pub mod suppliers;
pub mod tokens;
pub mod users;

use chrono::NaiveDateTime;

/// Now, UTC, truncated to microseconds (the precision both backends keep).
pub fn now() -> NaiveDateTime {
    crate::domain::audit_chain::truncate_to_micros(chrono::Utc::now().naive_utc())
}

/// Who causes a change: a signed-in user, the CLI (with the OS user), or the service itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    pub fn user(username: &str) -> Self {
        Actor(format!("user:{username}"))
    }
    pub fn cli() -> Self {
        let os_user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor(format!("cli:{os_user}"))
    }
    pub fn system() -> Self {
        Actor("system".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

//! Row structs and queries, one module per aggregate. Functions that change state run
//! inside the caller's [`crate::db::write_tx`]; the service that opened it appends the audit
//! entry in the same transaction (`crate::service`). Only `audit` writes the audit log.

pub mod assessments;
pub mod audit;
pub mod cases;
pub mod contracts;
pub mod draws;
pub mod imports;
pub mod liaisons;
pub mod login_attempts;
pub mod notices;
pub mod outbox;
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

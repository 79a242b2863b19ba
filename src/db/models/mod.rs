//! Row structs and queries, one module per aggregate. Functions that change state run
//! inside the caller's [`crate::db::write_tx`]; the service that opened it appends the audit
//! entry in the same transaction (`crate::service`). Only `audit` writes the audit log.

pub mod assessments;
pub mod audit;
pub mod cases;
pub mod contracts;
pub mod dashboard;
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
/// The contracts every read shows: not those created by an import still storing its
/// chunks (a batch in state `staging`, migration 000012), so a batch appears whole or not
/// at all. An expression for `.filter(…)` on `contracts`.
#[macro_export]
macro_rules! contract_shown {
    () => {
        $crate::db::schema::contracts::first_batch_id.ne_all(
            $crate::db::schema::import_batches::table
                .filter($crate::db::schema::import_batches::state.eq("staging"))
                .select($crate::db::schema::import_batches::id),
        )
    };
}

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

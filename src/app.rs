//! Start-up wiring shared by `spotcheck serve`, the other CLI commands and the tests:
//! the database, the first admin, the rule set in force.

use crate::auth::{self, check_password_policy, hash_password};
use crate::config::Settings;
use crate::db::models::{Actor, users};
use crate::db::{self, DbError, Pool};
use crate::domain::roles::Role;
use crate::risk::RuleSet;
use crate::service::rules::{self, RulesError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("SPOTCHECK_ADMIN_PASSWORD is not acceptable: {0}")]
    AdminPassword(auth::AuthError),
    #[error("could not create the first admin: {0}")]
    Auth(#[from] auth::AuthError),
}

/// Opens the configured database and runs pending migrations.
pub fn open_database(settings: &Settings) -> Result<Pool, DbError> {
    if settings.database_url.is_none() {
        std::fs::create_dir_all(&settings.data_dir).map_err(|source| DbError::DataDir {
            path: settings.data_dir.clone(),
            source,
        })?;
    }
    let pool = db::connect_with(
        &settings.db_target(),
        settings.db_pool_size,
        settings.db_busy_timeout_ms,
    )?;
    // An import whose process died (a crash, a killed CLI) left an invisible batch: remove it.
    let removed = db::write_tx(&mut *pool.get()?, |c| {
        db::models::imports::discard_abandoned(c, db::models::now())
    })?;
    if !removed.is_empty() {
        tracing::warn!(batches = ?removed, "removed import batches abandoned by a process that stopped");
    }
    Ok(pool)
}

/// What happened to the first admin on start-up.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstAdmin {
    /// Users exist already; nothing was created.
    Exists,
    /// Created with the password from `SPOTCHECK_ADMIN_PASSWORD`.
    CreatedWithGivenPassword,
    /// Created with this generated one-time password, to be shown once and never logged.
    CreatedWithGeneratedPassword(String),
}

/// On an empty database, creates the user `admin`.
pub fn ensure_first_admin(pool: &Pool, given_password: Option<String>) -> Result<FirstAdmin, StartupError> {
    let mut conn = pool.get().map_err(DbError::from)?;
    if users::count(&mut conn)? > 0 {
        return Ok(FirstAdmin::Exists);
    }
    let (password, generated) = match given_password.filter(|p| !p.is_empty()) {
        Some(p) => {
            check_password_policy(&p).map_err(StartupError::AdminPassword)?;
            (p, false)
        }
        None => (auth::new_readable_password()?, true),
    };
    let hash = hash_password(&password)?;
    match crate::service::users::create_hashed(
        &mut conn,
        &Actor::system(),
        "admin",
        Role::Admin,
        None,
        Some(hash),
    ) {
        // Another instance created it first.
        Err(DbError::Conflict(_)) => return Ok(FirstAdmin::Exists),
        other => other?,
    };
    Ok(if generated {
        FirstAdmin::CreatedWithGeneratedPassword(password)
    } else {
        FirstAdmin::CreatedWithGivenPassword
    })
}

/// The rule set to run with. With a rules folder configured (`SPOTCHECK_RULES_DIR`), the
/// folder is imported first (validated, stored, activated when its version is new) and a
/// folder that does not load is an error; otherwise the set in force is read from the
/// database (the embedded default on an empty one).
pub fn load_rules(pool: &Pool, settings: &Settings, actor: &Actor) -> Result<RuleSet, RulesError> {
    let mut conn = pool.get().map_err(DbError::from)?;
    match &settings.rules_dir {
        Some(dir) => {
            let files = rules::read_folder(dir)?;
            let (set, _) = rules::activate_files(&mut conn, actor, &files)?;
            Ok(set)
        }
        None => rules::load_active(&mut conn, actor),
    }
}

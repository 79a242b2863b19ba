//! Start-up wiring shared by `spotcheck serve`, the other CLI commands and the tests.

use crate::auth::{self, check_password_policy, hash_password};
use crate::config::Settings;
use crate::db::models::imports::{self, ImportReport, UploadMeta};
use crate::db::models::users::User;
use crate::db::models::{Actor, users};
use crate::db::{self, DbError, Pool};
use crate::domain::roles::Role;
use crate::import::{ImportError, ImportOptions};

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
    db::connect(&settings.db_target(), settings.db_pool_size)
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
    match users::create(
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

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The file cannot be read as a contract register; the message says why and what to do.
    #[error("{0}")]
    File(#[from] ImportError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Reads a register and, unless `dry_run`, stores it for `uploader` in one transaction.
///
/// When detection finds no table and no mapping was given, the mapping this uploader last
/// gave by hand is tried before giving up.
pub fn import_register(
    pool: &Pool,
    uploader: &User,
    file_name: &str,
    bytes: &[u8],
    opts: &ImportOptions,
    dry_run: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    let meta = UploadMeta::from_bytes(file_name, bytes);
    let explicit = opts.mapping.clone();
    let parsed = match crate::import::read_register(file_name, bytes, opts, progress) {
        Err(ImportError::NoTable { .. }) if explicit.is_none() => {
            let mut conn = pool.get().map_err(DbError::from)?;
            match imports::remembered_mapping(&mut conn, uploader.id)? {
                Some(m) => {
                    let retry = ImportOptions {
                        mapping: Some(m),
                        ..opts.clone()
                    };
                    crate::import::read_register(file_name, bytes, &retry, progress)?
                }
                None => crate::import::read_register(file_name, bytes, opts, &mut |_| {})?,
            }
        }
        other => other?,
    };
    if dry_run {
        return Ok(ImportReport::dry_run(&meta, &parsed));
    }
    let mut conn = pool.get().map_err(DbError::from)?;
    Ok(imports::store(
        &mut conn,
        uploader,
        &meta,
        &parsed,
        explicit.as_ref(),
    )?)
}

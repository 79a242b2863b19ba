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

impl From<diesel::result::Error> for ImportFailure {
    fn from(e: diesel::result::Error) -> Self {
        ImportFailure::Db(e.into())
    }
}

/// Chunks of parsed rows waiting for the store; a bound keeps a parser that is faster than
/// the database from piling the register up in memory.
const CHUNKS_IN_FLIGHT: usize = 4;

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
    let explicit = opts.mapping.as_ref();
    if dry_run {
        let parsed = match crate::import::read_register(file_name, bytes, opts, progress) {
            Err(e @ ImportError::NoTable { .. }) if explicit.is_none() => {
                let mut conn = pool.get().map_err(DbError::from)?;
                let Some(m) = imports::remembered_mapping(&mut conn, uploader.id)? else {
                    return Err(e.into());
                };
                crate::import::read_register(file_name, bytes, &with_mapping(opts, m), progress)?
            }
            other => other?,
        };
        return Ok(ImportReport::dry_run(&meta, &parsed));
    }
    let mut conn = pool.get().map_err(DbError::from)?;
    let report = match read_and_store(&mut conn, uploader, &meta, bytes, opts, explicit, progress) {
        Err(ImportFailure::File(e @ ImportError::NoTable { .. })) if explicit.is_none() => {
            let Some(m) = imports::remembered_mapping(&mut conn, uploader.id)? else {
                return Err(e.into());
            };
            // The remembered mapping is not remembered again: it was not given with this file.
            let retry = with_mapping(opts, m);
            read_and_store(&mut conn, uploader, &meta, bytes, &retry, None, progress)
        }
        other => other,
    }?;
    if matches!(*conn, crate::db::DbConn::Sqlite(_)) && report.rows_imported > 0 {
        checkpoint_in_background(pool);
    }
    Ok(report)
}

fn with_mapping(opts: &ImportOptions, mapping: crate::import::ColumnMapping) -> ImportOptions {
    ImportOptions {
        mapping: Some(mapping),
        ..opts.clone()
    }
}

/// A SQLite connection while it imports: a larger page cache (negative: KiB), and no
/// checkpoint when the batch commits ([`checkpoint_in_background`] runs it); then back to
/// SQLite's defaults.
const SQLITE_IMPORT_PRAGMAS: &str = "PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 0;";
const SQLITE_DEFAULT_PRAGMAS: &str = "PRAGMA cache_size = -2000; PRAGMA wal_autocheckpoint = 1000;";

/// Copies a large import's pages from the write-ahead log into the database file on
/// another connection, after the batch has committed. SQLite would otherwise do it while
/// committing, on the importing thread: copying ~100 MB of pages after a 100 000-row
/// register, which the person waiting for the import report does not need to wait for.
/// Readers and writers carry on meanwhile (a passive checkpoint takes no lock they need);
/// if it fails, the next commit's automatic checkpoint does the work.
fn checkpoint_in_background(pool: &Pool) {
    use diesel::connection::SimpleConnection;

    let pool = pool.clone();
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let Ok(mut conn) = pool.get() else { return };
            if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                tracing::warn!(error = %e, "background checkpoint after an import failed");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the background checkpoint");
    }
}

/// [`store_while_reading`] with, on SQLite, a larger page cache for the duration: 100 000
/// rows dirty ~100 MB of pages in one transaction, and with the default 2 MB cache the index
/// pages that rows land on at random are spilled to the WAL and dirtied again over and over.
fn read_and_store(
    conn: &mut crate::db::DbConn,
    uploader: &User,
    meta: &UploadMeta,
    bytes: &[u8],
    opts: &ImportOptions,
    explicit_mapping: Option<&crate::import::ColumnMapping>,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    use diesel::connection::SimpleConnection;

    let sqlite = matches!(conn, crate::db::DbConn::Sqlite(_));
    if !sqlite {
        return store_while_reading(conn, uploader, meta, bytes, opts, explicit_mapping, progress);
    }
    conn.batch_execute(SQLITE_IMPORT_PRAGMAS)?;
    let result = store_while_reading(conn, uploader, meta, bytes, opts, explicit_mapping, progress);
    // Back to the defaults, which frees the pages before the connection returns to the pool.
    let restored = conn.batch_execute(SQLITE_DEFAULT_PRAGMAS);
    let report = result?;
    restored?;
    Ok(report)
}

/// Parses the file and stores it in one write transaction, both at once: this thread reads
/// the file and hands accepted rows over in chunks, a second thread stores them as they
/// come. The import takes about as long as the slower of the two instead of their sum, and
/// only a few chunks of rows are ever in memory. A file error or a failed write rolls the
/// whole batch back.
fn store_while_reading(
    conn: &mut crate::db::DbConn,
    uploader: &User,
    meta: &UploadMeta,
    bytes: &[u8],
    opts: &ImportOptions,
    explicit_mapping: Option<&crate::import::ColumnMapping>,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    use std::sync::mpsc;

    use crate::db::models::imports::{Begun, PreparedRows};

    db::write_tx(conn, |c| {
        let mut writer = match imports::begin_batch(c, uploader, meta)? {
            Begun::AlreadyImported(report) => return Ok(report),
            Begun::New(writer) => writer,
        };
        let (tx, rx) = mpsc::sync_channel::<PreparedRows>(CHUNKS_IN_FLIGHT);
        let (parsed, stored) = std::thread::scope(|s| {
            let store = s.spawn(move || -> Result<_, DbError> {
                for chunk in rx {
                    writer.add_rows(chunk)?;
                }
                Ok(writer)
            });
            // A failed store drops the receiver; the send fails and the read stops early.
            // Rows are prepared (JSON, SHA-256) here: storing is the busier side on SQLite.
            let mut sink = |rows| tx.send(PreparedRows::new(rows)).is_ok();
            let parsed =
                crate::import::read_register_streamed(&meta.file_name, bytes, opts, progress, &mut sink);
            drop(tx);
            let stored = store
                .join()
                .unwrap_or_else(|_| Err(DbError::Invalid("the import's store thread panicked".into())));
            (parsed, stored)
        });
        // A store error explains an incomplete read, so it comes first.
        let writer = stored?;
        Ok(writer.finish(uploader, meta, parsed?, explicit_mapping)?)
    })
}

/// Loads a register bulk file (JSON array, gzipped or not, or the CSV dump) into the register
/// history, streamed, in one transaction: only our suppliers unless `all`. Their jobs count
/// as freshly done.
pub fn load_bulk<R: std::io::Read>(
    conn: &mut crate::db::DbConn,
    reader: R,
    csv: bool,
    all: bool,
    actor: &Actor,
    file_name: &str,
) -> Result<crate::brreg::bulk::BulkStats, DbError> {
    use diesel::prelude::*;

    use crate::brreg::UnitFacts;
    use crate::db::models::enrichment::{SOURCE_BULK_CSV, SOURCE_BULK_JSON};
    use crate::db::schema::{enrichment_jobs, register_facts, suppliers};

    const BATCH: usize = 1000;
    let ours: std::collections::HashSet<String> = suppliers::table
        .select(suppliers::orgnr)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let source = if csv { SOURCE_BULK_CSV } else { SOURCE_BULK_JSON };
    let at = crate::db::models::now();

    fn flush(
        c: &mut crate::db::DbConn,
        buf: &mut Vec<UnitFacts>,
        source: &str,
        at: chrono::NaiveDateTime,
    ) -> Result<(), DbError> {
        if buf.is_empty() {
            return Ok(());
        }
        let jsons: Vec<String> = buf
            .iter()
            .map(|u| serde_json::to_string(u).unwrap_or_default())
            .collect();
        let rows: Vec<_> = buf
            .iter()
            .zip(&jsons)
            .map(|(u, j)| {
                (
                    register_facts::orgnr.eq(u.orgnr.as_str()),
                    register_facts::source.eq(source),
                    register_facts::outcome.eq(if u.deleted_date.is_some() {
                        "deleted"
                    } else {
                        "active"
                    }),
                    register_facts::facts.eq(Some(j.as_str())),
                    register_facts::fetched_at.eq(at),
                    register_facts::created_at.eq(at),
                )
            })
            .collect();
        crate::db::cached_insert::insert_rows!(&mut *c, register_facts::table, rows);
        let orgnrs: Vec<&str> = buf.iter().map(|u| u.orgnr.as_str()).collect();
        diesel::update(enrichment_jobs::table.filter(enrichment_jobs::orgnr.eq_any(&orgnrs)))
            .set((
                enrichment_jobs::state.eq("done"),
                enrichment_jobs::attempts.eq(0),
                enrichment_jobs::last_success_at.eq(Some(at)),
                enrichment_jobs::last_error.eq(None::<String>),
                enrichment_jobs::updated_at.eq(at),
            ))
            .execute(c)?;
        buf.clear();
        Ok(())
    }

    crate::db::write_tx(conn, |c| {
        let mut buf: Vec<UnitFacts> = Vec::with_capacity(BATCH);
        let only = (!all).then_some(&ours);
        let mut on_unit = |u: UnitFacts| -> Result<(), DbError> {
            buf.push(u);
            if buf.len() >= BATCH {
                flush(c, &mut buf, source, at)?;
            }
            Ok(())
        };
        let stats = if csv {
            crate::brreg::bulk::read_csv(reader, only, &mut on_unit)
        } else {
            crate::brreg::bulk::read_json_gz(reader, only, &mut on_unit)
        }
        .map_err(|e| match e {
            crate::brreg::bulk::BulkError::Callback { error, .. } => error,
            other => DbError::Invalid(other.to_string()),
        })?;
        flush(c, &mut buf, source, at)?;
        crate::db::models::audit::append(
            c,
            actor,
            crate::db::models::audit::Event {
                action: "brreg.bulk_load",
                object_type: "register_file",
                object_id: file_name,
                detail: serde_json::json!({"source": source, "all": all, "read": stats.read,
                    "stored": stats.delivered, "rejected": stats.rejected}),
            },
        )?;
        Ok(stats)
    })
}

/// Loads the rule set named by the settings (`rules_dir`). Every problem is in the error,
/// with file, line and rule.
pub fn load_rules(settings: &Settings) -> Result<crate::risk::RuleSet, crate::risk::RuleSetError> {
    crate::risk::RuleSet::load_dir(&settings.rules_dir)
}

/// Records `rules` as the active rule set (once per version change) and, when it is new,
/// in the audit log. Returns whether it was a new activation.
pub fn activate_rules(pool: &Pool, rules: &crate::risk::RuleSet, actor: &Actor) -> Result<bool, DbError> {
    let mut conn = pool.get()?;
    db::write_tx(&mut conn, |c| {
        let at = crate::db::models::now();
        let new = crate::db::models::risk::record_activation(
            c,
            rules.version(),
            rules.sources(),
            actor.as_str(),
            at,
        )?;
        if new {
            crate::db::models::audit::append(
                c,
                actor,
                crate::db::models::audit::Event {
                    action: "rules.activate",
                    object_type: "rule_set",
                    object_id: rules.version(),
                    detail: serde_json::json!({"files": rules.files()}),
                },
            )?;
        }
        Ok(new)
    })
}

/// Rescores `scope` with `rules` as of today (UTC), recording what changed.
pub fn rescore(
    pool: &Pool,
    rules: &crate::risk::RuleSet,
    scope: crate::scoring::Scope,
    force: bool,
    reason: &str,
    actor: &Actor,
) -> Result<crate::scoring::RescoreReport, crate::scoring::ScoreError> {
    let mut conn = pool.get().map_err(DbError::from)?;
    crate::scoring::rescore(
        &mut conn,
        rules,
        &crate::scoring::RescoreOptions {
            scope,
            force,
            reason: reason.to_owned(),
            as_of: chrono::Utc::now().date_naive(),
            actor: actor.clone(),
        },
    )
}

/// After an import: rescores the contracts the batch created or changed. A failure is
/// logged, not returned: the import itself is stored and `spotcheck score` catches up.
pub fn rescore_after_import(pool: &Pool, rules: &crate::risk::RuleSet, report: &ImportReport, actor: &Actor) {
    let Some(batch_id) = report.batch_id else { return };
    let ids = match pool
        .get()
        .map_err(DbError::from)
        .and_then(|mut c| crate::db::models::risk::contract_ids_of_batch(&mut c, batch_id))
    {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, batch_id, "could not find the contracts of the batch to rescore");
            return;
        }
    };
    if ids.is_empty() {
        return;
    }
    match rescore(
        pool,
        rules,
        crate::scoring::Scope::Contracts(ids),
        false,
        "import",
        actor,
    ) {
        Ok(r) => tracing::info!(
            batch_id,
            assessed = r.contracts_assessed,
            recorded = r.contracts_recorded,
            ms = r.elapsed_ms,
            "rescored after import"
        ),
        Err(e) => {
            tracing::warn!(error = %e, batch_id, "rescoring after the import failed; run `spotcheck score`")
        }
    }
}

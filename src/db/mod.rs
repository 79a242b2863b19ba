//! Storage: one diesel schema over SQLite (embedded default) and PostgreSQL (production).
//!
//! Both backends live in one binary through `#[derive(MultiConnection)]`; the backend is
//! chosen from the URL scheme, never by trial (`establish` would hand any string to SQLite).
//! Queries that need backend-specific SQL match on [`DbConn`] (see [`write_tx`]).

pub(crate) mod cached_insert;
pub mod capped_count;
pub mod models;
pub mod plan;
pub mod schema;
pub(crate) mod sqlite_raw;
pub mod writer_turns;

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type Pool = r2d2::Pool<ConnManager>;
pub type PooledConn = r2d2::PooledConnection<ConnManager>;

/// Something asked for by key that is not there (or that the caller may not see: the two
/// are answered alike, so an id reveals nothing). Rendered in English for the API and
/// logs and in Norwegian for pages and the CLI (`web::error`, `cli`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    User(String),
    Contract(i64),
    /// A contract named by its number from the register.
    ContractNumber(String),
    Supplier(String),
    ImportBatch(i64),
    Draw(i64),
    Token(i64),
    Liaison(i64),
    /// An outbox message.
    Message(i64),
    /// An open document request of a case.
    DocumentRequest(i64),
    /// An evidence file of a case.
    Evidence(i64),
    /// A case (or one the caller may not see: the same answer).
    Case(i64),
    /// A row just written that could not be read back.
    Stored(&'static str),
}

impl Missing {
    /// The Norwegian sentence for pages and the CLI.
    pub fn norwegian(&self) -> String {
        match self {
            Missing::User(n) => format!("ingen bruker heter «{n}»"),
            Missing::Contract(id) => format!("kontrakt {id} finnes ikke, eller du har ikke tilgang til den"),
            Missing::ContractNumber(no) => format!("ingen kontrakt har avtalenummer «{no}»"),
            Missing::Supplier(o) => format!("ingen leverandør har organisasjonsnummer {o}"),
            Missing::ImportBatch(id) => format!("import {id} finnes ikke, eller du har ikke tilgang til den"),
            Missing::Draw(id) => format!("trekning {id} finnes ikke"),
            Missing::Token(id) => format!("API-nøkkel {id} finnes ikke"),
            Missing::Liaison(id) => format!("kontaktperson {id} finnes ikke"),
            Missing::Message(id) => format!("e-post {id} finnes ikke i utboksen"),
            Missing::DocumentRequest(id) => {
                format!("dokumentforespørsel {id} finnes ikke på saken, eller er alt mottatt")
            }
            Missing::Case(id) => format!("sak {id} finnes ikke, eller du har ikke tilgang til den"),
            Missing::Evidence(id) => format!("vedlegg {id} finnes ikke på saken"),
            Missing::Stored(what) => format!("{what} ble ikke lagret"),
        }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::User(n) => write!(f, "no user named '{n}'"),
            Missing::Contract(id) => write!(f, "no contract {id} that you can see"),
            Missing::ContractNumber(no) => write!(f, "no contract numbered '{no}'"),
            Missing::Supplier(o) => write!(f, "no supplier with org number {o}"),
            Missing::ImportBatch(id) => write!(f, "no import batch {id} that you can see"),
            Missing::Draw(id) => write!(f, "no draw {id}"),
            Missing::Token(id) => write!(f, "no API token {id}"),
            Missing::Liaison(id) => write!(f, "no liaison {id}"),
            Missing::Message(id) => write!(f, "no outbox message {id}"),
            Missing::DocumentRequest(id) => write!(f, "no open document request {id} on this case"),
            Missing::Evidence(id) => write!(f, "no evidence {id} on this case"),
            Missing::Case(id) => write!(f, "no case {id} that you can see"),
            Missing::Stored(what) => write!(f, "the {what} was not stored"),
        }
    }
}

/// A change refused because of what is already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    UserExists(String),
    /// Only a dead letter can be sent again; this message is `status`.
    MessageNotDead {
        id: i64,
        status: String,
    },
}

impl Conflict {
    pub fn norwegian(&self) -> String {
        match self {
            Conflict::UserExists(n) => format!("brukeren «{n}» finnes allerede"),
            Conflict::MessageNotDead { id, status } => format!(
                "e-post {id} kan ikke sendes på nytt: bare e-post som har gitt opp (status dead) kan det, og denne har status {status}"
            ),
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::UserExists(n) => write!(f, "a user named '{n}' exists already"),
            Conflict::MessageNotDead { id, status } => write!(
                f,
                "outbox message {id} is {status}: only a dead letter can be retried"
            ),
        }
    }
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("could not connect to the database: {0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("could not prepare the data folder {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    NotFound(Missing),
    #[error("{0}")]
    Conflict(Conflict),
    /// A value a person gave that the store refuses (a user name, a role without its agency).
    #[error("{0}")]
    Invalid(String),
    /// Stored data that cannot be read back, or a secret that could not be made: a fault
    /// on our side, logged, never shown in detail.
    #[error("{0}")]
    Corrupt(String),
    /// A page or page size out of range (see [`crate::domain::paging`]).
    #[error(transparent)]
    Paging(#[from] crate::domain::paging::PagingError),
    /// Another import is being stored right now (one batch stores at a time); try again
    /// when it is done.
    #[error("another import is being stored right now; try again when it is done")]
    ImportRunning,
    /// A user change the rules forbid: the last admin, a role/agency mismatch.
    #[error(transparent)]
    User(#[from] models::users::UserError),
}

impl DbError {
    /// The database was busy with another writer for longer than a request waits: SQLite's
    /// "database is locked" after its busy timeout, or PostgreSQL giving up on a lock
    /// (lock timeout, deadlock, serialization failure). Worth trying again in a moment;
    /// the web answers 503 with `Retry-After`, never 500.
    pub fn is_busy(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::ImportRunning => true,
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => true,
            DbError::Query(Error::DatabaseError(_, info)) => {
                let m = info.message();
                m.contains("database is locked")
                    || m.contains("database table is locked")
                    || m.contains("deadlock detected")
                    || m.contains("lock timeout")
            }
            _ => false,
        }
    }
}

impl From<r2d2::PoolError> for DbError {
    fn from(e: r2d2::PoolError) -> Self {
        DbError::Connect(e.to_string())
    }
}

/// Where the data lives, parsed from `SPOTCHECK_DATABASE_URL` or the data folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DbTarget {
    /// `postgres://` or `postgresql://` selects PostgreSQL; `sqlite://path` or a bare path selects SQLite.
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DbTarget::Postgres(url.to_owned())
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            DbTarget::Sqlite(PathBuf::from(path))
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DbTarget::Postgres(_) => "postgresql",
            DbTarget::Sqlite(_) => "sqlite",
        }
    }

    /// A description safe to log: the PostgreSQL password, if any, is masked.
    pub fn redacted(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => format!("sqlite:{}", p.display()),
            DbTarget::Postgres(url) => redact_url(url),
        }
    }
}

/// Masks the password in `scheme://user:password@host/…`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((auth, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// r2d2 manager that opens the right backend and applies per-connection settings.
#[derive(Clone, Debug)]
pub struct ConnManager {
    target: DbTarget,
    /// How long a writer waits for another before giving up: SQLite's `busy_timeout`,
    /// PostgreSQL's `lock_timeout`.
    lock_wait_ms: u64,
}

/// How long a writer waits for another by default (SQLite `busy_timeout`, PostgreSQL `lock_timeout`).
pub const DEFAULT_LOCK_WAIT_MS: u64 = 10_000;

/// Settings SQLite forgets between connections: foreign keys are off by default,
/// and without a busy timeout a concurrent writer fails at once instead of waiting.
/// (WAL is a property of the file, set once in [`connect`] before the pool opens: switching
/// it from several new connections at once fails with "database is locked".)
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

impl ManageConnection for ConnManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.target {
            DbTarget::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                // A writer waits this long for the write lock (the advisory lock a large
                // import holds), then gives up: the request gets 503, not an endless wait.
                conn.batch_execute(&format!("SET lock_timeout = '{}ms'", self.lock_wait_ms))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Postgresql(conn))
            }
            DbTarget::Sqlite(path) => {
                sqlite_raw::install();
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                // The busy timeout first: opening a connection to a WAL database while
                // another writes may need a moment's lock, and the other settings' statements
                // would fail at once without it ("database is locked" at start-up).
                conn.batch_execute(&format!("PRAGMA busy_timeout = {};", self.lock_wait_ms))
                    .and_then(|()| conn.batch_execute(SQLITE_PRAGMAS))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// Opens a pool, creating the SQLite file's folder when needed, and runs pending migrations.
pub fn connect(target: &DbTarget, max_size: u32) -> Result<Pool, DbError> {
    connect_with(target, max_size, DEFAULT_LOCK_WAIT_MS)
}

/// [`connect`] with a writer's wait for another set to `lock_wait_ms`.
pub fn connect_with(target: &DbTarget, max_size: u32, lock_wait_ms: u64) -> Result<Pool, DbError> {
    if let DbTarget::Sqlite(path) = target {
        sqlite_raw::install();
        SQLITE_GATE_WAIT_MS.fetch_max(lock_wait_ms, std::sync::atomic::Ordering::Relaxed);
        ensure_parent_dir(path)?;
        let mut first = diesel::SqliteConnection::establish(&path.to_string_lossy())
            .map_err(|e| DbError::Connect(e.to_string()))?;
        first.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
    }
    let manager = ConnManager {
        target: target.clone(),
        lock_wait_ms,
    };
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(15))
        .build(manager)
        .map_err(|e| DbError::Connect(e.to_string()))?;
    let mut conn = pool.get()?;
    run_migrations(&mut conn)?;
    Ok(pool)
}

fn ensure_parent_dir(path: &Path) -> Result<(), DbError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    Ok(())
}

/// Runs the embedded migrations of the connection's backend. On PostgreSQL an advisory
/// lock keeps two instances starting at once from migrating concurrently.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?
            .iter()
            .map(|v| v.to_string())
            .collect(),
        DbConn::Postgresql(c) => {
            // An instance waits as long as another one takes to migrate: no lock time-out
            // here (the pool's connections have one), restored afterwards.
            c.batch_execute(
                "SELECT set_config('spotcheck.lock_timeout', current_setting('lock_timeout'), false); \
                 SET lock_timeout = 0; SELECT pg_advisory_lock(7270001)",
            )?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|vs| vs.iter().map(|v| v.to_string()).collect::<Vec<_>>())
                .map_err(|e| DbError::Migration(e.to_string()));
            c.batch_execute(
                "SELECT pg_advisory_unlock(7270001); \
                 SELECT set_config('lock_timeout', current_setting('spotcheck.lock_timeout'), false)",
            )?;
            result?
        }
    };
    Ok(applied)
}

/// Runs `f` in a write transaction that holds the database's write lock from its first
/// statement. Every state change goes through here so the audit chain has one order:
/// - SQLite: the first statement is a write, so the transaction takes the write lock at once
///   (waiting through `busy_timeout`) instead of failing when it upgrades from a read.
/// - PostgreSQL: a transaction-scoped advisory lock serialises writers, across instances too.
///
/// On SQLite, writers of this process also take turns through a fair gate first
/// ([`SqliteWriteGate`]): SQLite's own busy handler polls, so a writer that commits and
/// begins again at once (an import storing chunk after chunk) would keep everyone else
/// waiting until their busy timeout. Writers of other processes are seen by such a bulk
/// writer through [`writer_turns`]: this writer says it waits until it has the write lock.
/// A nested call runs inside the outer turn.
pub fn write_tx<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let mut waiting = match conn {
        DbConn::Sqlite(s) if !HOLDS_SQLITE_GATE.with(std::cell::Cell::get) => {
            writer_turns::WaitingWriter::announce(s)
        }
        _ => None,
    };
    let _turn = match conn {
        DbConn::Sqlite(_) => SqliteWriteGate::enter()?,
        DbConn::Postgresql(_) => None,
    };
    conn.transaction(|c| {
        match c {
            DbConn::Sqlite(s) => {
                s.batch_execute("UPDATE write_lock SET n = n + 1 WHERE id = 1")?;
                // Holding the write lock now: no longer a waiter.
                drop(waiting.take());
            }
            DbConn::Postgresql(p) => {
                p.batch_execute("SELECT pg_advisory_xact_lock(7270002)")?;
            }
        }
        f(c)
    })
}

/// The turn a SQLite writer of this process takes before [`write_tx`] begins: first come,
/// first served (a fair mutex hands the turn to the longest waiter). A writer waits at most
/// the pool's lock wait, then fails as SQLite's busy timeout would ("database is locked":
/// the caller answers 503). PostgreSQL queues lock waiters fairly by itself.
pub struct SqliteWriteGate;

static SQLITE_WRITE_GATE: parking_lot::FairMutex<()> = parking_lot::const_fair_mutex(());
/// The wait for the gate: the pool's `lock_wait_ms` (the longest of the pools this process
/// opened: tests open several), set when a pool opens.
static SQLITE_GATE_WAIT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// Whether this thread holds the gate (a nested `write_tx` does not take it again).
    static HOLDS_SQLITE_GATE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Holding the gate; dropping it lets the next writer in.
pub struct GateTurn(#[allow(dead_code)] parking_lot::FairMutexGuard<'static, ()>);

impl Drop for GateTurn {
    fn drop(&mut self) {
        HOLDS_SQLITE_GATE.with(|h| h.set(false));
    }
}

impl SqliteWriteGate {
    fn enter() -> Result<Option<GateTurn>, diesel::result::Error> {
        if HOLDS_SQLITE_GATE.with(std::cell::Cell::get) {
            return Ok(None);
        }
        let wait = match SQLITE_GATE_WAIT_MS.load(std::sync::atomic::Ordering::Relaxed) {
            0 => DEFAULT_LOCK_WAIT_MS,
            ms => ms,
        };
        let wait = Duration::from_millis(wait);
        let guard = SQLITE_WRITE_GATE.try_lock_for(wait).ok_or_else(|| {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                Box::new("database is locked (waited for this process's other writers)".to_owned()),
            )
        })?;
        HOLDS_SQLITE_GATE.with(|h| h.set(true));
        Ok(Some(GateTurn(guard)))
    }
}

/// Copies SQLite's write-ahead log into the database file and empties it, for a service
/// that stops: its background workers keep connections open to the end, so the last close
/// (which would do this) never comes, and a person who then copies `spotcheck.db` alone —
/// a backup of a stopped service — would miss what the log held. Waits for a writer still
/// busy (the busy timeout). Nothing to do on PostgreSQL.
pub fn checkpoint_before_exit(pool: &Pool) -> Result<(), DbError> {
    let mut conn = pool.get()?;
    if let DbConn::Sqlite(c) = &mut *conn {
        c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
    }
    Ok(())
}

/// Checks that the database answers (used by `/readyz`).
pub fn ping(conn: &mut DbConn) -> Result<(), DbError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

/// Runs `body` on the concrete connection of either backend. For what MultiConnection
/// cannot express, such as multi-row INSERTs: the body is compiled once per backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgresql($c) => $body,
        }
    };
}

//! Importing a contract register: read the file, store the batch chunk by chunk (the store
//! runs beside the reader, and the scoring of what it brings in beside the store), and show
//! it, scored and audited, when its final transaction commits.
//!
//! The one import path of the web form, the API, the CLI and the tests. The uploader's role
//! sets what the batch may touch (`domain::ownership`): an innkjøper's import creates and
//! updates only their own contracts; Kemneren's (and the CLI's operations user's) any.

use crate::db::models::Actor;
use crate::db::models::assessments;
use crate::db::models::imports::{self, ImportReport, PreparedRows, UploadMeta};
use crate::db::models::users::User;
use crate::db::{self, DbError, Pool};
use crate::domain::ownership::ContractScope;
use crate::import::{ImportError, ImportOptions, RegisterFile};
use crate::risk::RuleSet;
use crate::service::scoring;

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The file cannot be read as a contract register; the message says why and what to do.
    #[error("{0}")]
    File(#[from] ImportError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<scoring::ScoreError> for ImportFailure {
    fn from(e: scoring::ScoreError) -> Self {
        match e {
            scoring::ScoreError::Db(e) => ImportFailure::Db(e),
        }
    }
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
/// A dry run stores nothing but reports the rows the import would refuse as outside the
/// uploader's scope, as the import would.
///
/// When detection finds no table and no mapping was given, the mapping this uploader last
/// gave by hand is tried before giving up.
pub fn import_register(
    pool: &Pool,
    uploader: &User,
    file_name: &str,
    file: RegisterFile<'_>,
    opts: &ImportOptions,
    dry_run: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    import(pool, None, uploader, file_name, file, opts, dry_run, progress)
}

/// [`import_register`], scoring with `rules` when given (see [`import_and_score`]).
#[allow(clippy::too_many_arguments)]
fn import(
    pool: &Pool,
    rules: Option<&RuleSet>,
    uploader: &User,
    file_name: &str,
    file: RegisterFile<'_>,
    opts: &ImportOptions,
    dry_run: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    let meta = UploadMeta::of(file_name, file)?;
    let explicit = opts.mapping.as_ref();
    if dry_run {
        let mut parsed = match crate::import::read_register_file(file_name, file, opts, progress) {
            Err(e @ ImportError::NoTable { .. }) if explicit.is_none() => {
                let mut conn = pool.get().map_err(DbError::from)?;
                let Some(m) = imports::remembered_mapping(&mut conn, uploader.id)? else {
                    return Err(e.into());
                };
                crate::import::read_register_file(file_name, file, &with_mapping(opts, m), progress)?
            }
            other => other?,
        };
        let scope = ContractScope::of(uploader.role, uploader.id);
        if scope != ContractScope::Municipality {
            let mut conn = pool.get().map_err(DbError::from)?;
            imports::refuse_rows_outside_scope(&mut conn, scope, &mut parsed)?;
        }
        return Ok(ImportReport::dry_run(&meta, &parsed));
    }
    let mut conn = pool.get().map_err(DbError::from)?;
    // Dropped when the import has ended: its last checkpoint then copies the rest.
    let checkpoints = WalCheckpoints::start(pool, &conn);
    let upload = Upload {
        uploader,
        meta: &meta,
        file,
        opts,
        explicit_mapping: explicit,
        checkpoints: &checkpoints,
    };
    let report = match read_and_store(pool, &mut conn, rules, &upload, progress) {
        Err(ImportFailure::File(e @ ImportError::NoTable { .. })) if explicit.is_none() => {
            let Some(m) = imports::remembered_mapping(&mut conn, uploader.id)? else {
                return Err(e.into());
            };
            // The remembered mapping is not remembered again: it was not given with this file.
            let retry = with_mapping(opts, m);
            let upload = Upload {
                opts: &retry,
                ..upload
            };
            read_and_store(pool, &mut conn, rules, &upload, progress)
        }
        other => other,
    }?;
    Ok(report)
}

fn with_mapping(opts: &ImportOptions, mapping: crate::import::ColumnMapping) -> ImportOptions {
    ImportOptions {
        mapping: Some(mapping),
        ..opts.clone()
    }
}

/// A SQLite connection while it imports: an 8 MB page cache (negative: KiB), statement
/// journals in memory (every multi-row insert inside a chunk's transaction keeps the pages it
/// may have to roll back there; in a temporary file that cost about a tenth of the store's
/// time), and no checkpoint when a chunk or the batch commits ([`WalCheckpoints`] runs them on
/// another connection); then back to SQLite's defaults. Measured on 100,000- and 1,000,000-row
/// registers, alternating: with 32 MB the import peaked ~25 MB higher and was no faster (each
/// chunk commits on its own, so few pages are dirty at once); with SQLite's default 2 MB the
/// 1,000,000-row import took 25 % longer (index pages read again and again).
const SQLITE_IMPORT_PRAGMAS: &str =
    "PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;";
const SQLITE_DEFAULT_PRAGMAS: &str =
    "PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT; PRAGMA wal_autocheckpoint = 1000;";

/// Copies an import's pages from SQLite's write-ahead log into the database file on a thread
/// and connection of its own, while the import goes on and once more when it has ended.
/// SQLite would otherwise copy them while committing, on the importing thread; and copying
/// them all after the batch's final commit (about 100 MB after a 100,000-row register,
/// `fsync`s included) left the person waiting for a quarter of a second with one core busy,
/// the other idle. Done after each commit of the import's chunks instead, the copying fills
/// the moments the import's threads wait for each other (docs/benchmarks.md).
///
/// A passive checkpoint takes no lock that readers or writers need; if one fails, the next
/// commit's automatic checkpoint does the work. A command that ends its process after an
/// import waits for the last one ([`wait_for_background_checkpoints`]). On PostgreSQL it does
/// nothing.
pub(crate) struct WalCheckpoints {
    /// Says "a chunk committed" to the checkpointing thread; dropped when the import ends.
    committed: Option<std::sync::mpsc::SyncSender<()>>,
}

impl WalCheckpoints {
    fn start(pool: &Pool, conn: &db::DbConn) -> Self {
        if !matches!(conn, db::DbConn::Sqlite(_)) {
            return WalCheckpoints { committed: None };
        }
        // Room for one: commits while a checkpoint runs are one more checkpoint, not many.
        let (committed, commits) = std::sync::mpsc::sync_channel::<()>(1);
        let pool = pool.clone();
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // While the import goes on, only with a connection free at once: the
                // import's chunks and the service's requests come first.
                while commits.recv().is_ok() {
                    if let Some(mut c) = pool.try_get() {
                        passive_checkpoint(&mut c);
                    }
                }
                // The import has ended (committed or removed): what is left.
                if let Ok(mut c) = pool.get() {
                    passive_checkpoint(&mut c);
                }
            });
        match spawned {
            Ok(handle) => {
                let mut running = BACKGROUND_CHECKPOINTS.lock().unwrap_or_else(|e| e.into_inner());
                running.retain(|h| !h.is_finished());
                running.push(handle);
                WalCheckpoints {
                    committed: Some(committed),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not start the import's checkpoints");
                WalCheckpoints { committed: None }
            }
        }
    }

    /// After a commit of the import's: a checkpoint, unless one is already due.
    fn committed(&self) {
        if let Some(committed) = &self.committed {
            // Full: a checkpoint is already due, which copies this commit's pages too.
            let _ = committed.try_send(());
        }
    }
}

fn passive_checkpoint(conn: &mut db::DbConn) {
    use diesel::connection::SimpleConnection;
    if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
        tracing::warn!(error = %e, "checkpoint of an import's pages failed");
    }
}

/// The background checkpoints this process started that may still run.
static BACKGROUND_CHECKPOINTS: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

/// Waits for the background checkpoints this process started. A process calls it before it
/// ends (`cli::Ctx` when dropped, `serve` once the server has stopped): the process would otherwise end in the middle of
/// one, leaving the write-ahead log on disk at up to three times the database's size and
/// its copying to whatever opens the database next; with them done and the pool closed,
/// the last connection's close finds little left to copy and removes the log.
pub fn wait_for_background_checkpoints() {
    let running = std::mem::take(&mut *BACKGROUND_CHECKPOINTS.lock().unwrap_or_else(|e| e.into_inner()));
    for handle in running {
        // A checkpoint that panicked has nothing left to wait for.
        let _ = handle.join();
    }
}

/// [`store_while_reading`] with, on SQLite, the import's settings for the duration
/// ([`SQLITE_IMPORT_PRAGMAS`]).
fn read_and_store(
    pool: &Pool,
    conn: &mut db::DbConn,
    rules: Option<&RuleSet>,
    upload: &Upload<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    use diesel::connection::SimpleConnection;

    if !matches!(conn, db::DbConn::Sqlite(_)) {
        return store_while_reading(pool, conn, rules, upload, progress);
    }
    conn.batch_execute(SQLITE_IMPORT_PRAGMAS)?;
    let result = store_while_reading(pool, conn, rules, upload, progress);
    // Back to the defaults, which frees the pages before the connection returns to the pool.
    let restored = conn.batch_execute(SQLITE_DEFAULT_PRAGMAS);
    let report = result?;
    restored?;
    Ok(report)
}

/// One attempt at storing a register: the file, how to read it, and for whom.
#[derive(Clone, Copy)]
struct Upload<'a> {
    uploader: &'a User,
    meta: &'a UploadMeta,
    file: RegisterFile<'a>,
    opts: &'a ImportOptions,
    /// The mapping given with this file (remembered for the uploader), if any.
    explicit_mapping: Option<&'a crate::import::ColumnMapping>,
    /// Told of every commit of the import's chunks.
    checkpoints: &'a WalCheckpoints,
}

/// Parses the file and stores it, both at once: this thread reads the file and hands
/// accepted rows over in chunks, a second thread stores them as they come, a few chunks per
/// short write transaction ([`store_in_transactions`]), so a sign-in, a note or a draw never
/// waits for more than one chunk. What the batch brings stays invisible (`staging`) until
/// the final write transaction applies its changes, shows its contracts and writes the audit
/// entry: readers see all of the batch or none of it. Any failure removes the batch whole.
fn store_while_reading(
    pool: &Pool,
    conn: &mut db::DbConn,
    rules: Option<&RuleSet>,
    upload: &Upload<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    // Scoring takes its turn with the rescoring runs for the whole import (see
    // `scoring::with_turn`): a run after new register facts, waiting meanwhile, then sees the
    // batch's contracts, so none is left scored with facts older than the run's.
    match rules {
        Some(rules) => scoring::with_turn(conn, |c| {
            let actor = Actor::user(&upload.uploader.username);
            let scorer = scoring::ChunkScorer::begin(c, rules, scoring::import_options(&actor))?;
            store_batch(pool, c, Some(scorer), upload, progress)
        })?,
        None => store_batch(pool, conn, None, upload, progress),
    }
}

/// Begins the batch, stores it (scoring each chunk with `scorer`) and, on failure, removes it.
fn store_batch(
    pool: &Pool,
    conn: &mut db::DbConn,
    scorer: Option<scoring::ChunkScorer<'_>>,
    upload: &Upload<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    use crate::db::models::imports::Begun;

    let uploader = upload.uploader;
    let scope = ContractScope::of(uploader.role, uploader.id);
    let writer = match db::write_tx(conn, |c| imports::begin_batch(c, uploader, scope, upload.meta))? {
        Begun::AlreadyImported(report) => return Ok(report),
        Begun::New(writer) => writer,
    };
    let batch_id = writer.batch_id();
    // The heartbeat says "this import is alive" every few seconds, however long the file
    // takes to read between chunks, so only a batch whose process died looks abandoned.
    // Dropping `alive` (when the store ends, or unwinds) stops it at once.
    let (alive, ended) = std::sync::mpsc::channel::<()>();
    let stored = std::thread::scope(|s| {
        s.spawn(move || heartbeat(pool, batch_id, &ended));
        let alive = alive;
        let stored = store_chunks(conn, writer, scorer, upload, progress);
        drop(alive);
        stored
    });
    if stored.is_err()
        && let Err(e) = db::write_tx(conn, |c| imports::discard_batch(c, batch_id))
    {
        // Left for the next import or start-up to remove (it is invisible meanwhile).
        tracing::warn!(error = %e, batch_id, "could not remove a failed import batch");
    }
    stored
}

/// Touches batch `batch_id`'s heartbeat every 2 seconds until `ended` says the import is
/// over (its sender dropped).
fn heartbeat(pool: &Pool, batch_id: i64, ended: &std::sync::mpsc::Receiver<()>) {
    beat_until_ended(ended, std::time::Duration::from_secs(2), || {
        // Never waits for a connection: with every connection busy, the chunks themselves
        // keep the heartbeat fresh.
        let Some(mut c) = pool.try_get() else { return };
        if let Err(e) = imports::touch_heartbeat(&mut c, batch_id) {
            tracing::warn!(error = %e, batch_id, "could not touch the import's heartbeat");
        }
    });
}

/// Calls `beat` every `every` until `ended`'s sender is dropped, and returns at once then:
/// with a sleep between checks instead, every import ended waiting out the rest of a 100 ms
/// sleep, a tenth of a small import's time.
fn beat_until_ended(
    ended: &std::sync::mpsc::Receiver<()>,
    every: std::time::Duration,
    mut beat: impl FnMut(),
) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(every) {
        beat();
    }
}

/// The chunks and the final step of [`store_while_reading`]. This thread reads the file
/// (and prepares its rows); a second stores the chunks ([`store_and_score`]).
fn store_chunks(
    conn: &mut db::DbConn,
    writer: imports::BatchWriter,
    scorer: Option<scoring::ChunkScorer<'_>>,
    upload: &Upload<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    use std::sync::mpsc;

    let (tx, rx) = mpsc::sync_channel::<PreparedRows>(CHUNKS_IN_FLIGHT);
    let store_conn = &mut *conn;
    let (parsed, stored) = std::thread::scope(|s| {
        let checkpoints = upload.checkpoints;
        let store = s.spawn(move || store_and_score(store_conn, writer, scorer, rx, checkpoints));
        // A failed store drops the receiver; the send fails and the read stops early.
        // Rows are prepared (JSON, SHA-256) here: storing is the busier side on SQLite.
        let mut sink = |rows| tx.send(PreparedRows::new(rows)).is_ok();
        let parsed = crate::import::read_register_streamed(
            &upload.meta.file_name,
            upload.file,
            upload.opts,
            progress,
            &mut sink,
        );
        drop(tx);
        let stored = store
            .join()
            .unwrap_or_else(|_| Err(DbError::Corrupt("the import's store thread panicked".into()).into()));
        (parsed, stored)
    });
    // A store error explains an incomplete read, so it comes first.
    let (writer, scorer, last_scored) = stored?;
    let parsed = parsed?;
    let batch_id = writer.batch_id();
    let (report, scored) = db::write_tx(conn, |c| -> Result<_, ImportFailure> {
        let report = writer.finish(c, upload.uploader, upload.meta, parsed, upload.explicit_mapping)?;
        audit_import(c, upload.uploader, upload.meta, &report)?;
        // The batch's assessments become current with it, in this transaction.
        let scored = match scorer {
            Some(scorer) => {
                for chunk in &last_scored {
                    scoring::store_scored(c, batch_id, chunk)?;
                }
                Some(scorer.finish_import(c, batch_id)?)
            }
            None => None,
        };
        Ok((report, scored))
    })?;
    if let Some(r) = scored {
        tracing::info!(
            reason = %r.reason,
            assessed = r.contracts_assessed,
            recorded = r.contracts_recorded,
            ms = r.elapsed_ms,
            "scored with the import"
        );
    }
    Ok(report)
}

/// Stored chunks waiting for the scoring thread of [`store_and_score`].
const SCORING_CHUNKS_IN_FLIGHT: usize = 2;

/// The most chunks one write transaction of an import stores on SQLite. Every commit writes
/// each page the transaction changed to the write-ahead log again, and a chunk's contracts
/// land all over some indexes (by supplier, by score): with a commit per chunk the log took
/// half as much again as the database. A writer that waits is let in after the chunk at hand
/// whatever the count ([`store_in_transactions`]). PostgreSQL stores a chunk per
/// transaction: its writers wait for the import's advisory lock without saying so, and its
/// commits cost little (no measurable difference with eight).
const SQLITE_CHUNKS_PER_TRANSACTION: usize = 8;

/// What [`store_in_transactions`] does with each chunk.
trait ChunkStore {
    /// Stores `chunk` inside the open write transaction; `false`: commit before the next.
    fn store(&mut self, c: &mut db::DbConn, chunk: PreparedRows) -> Result<bool, ImportFailure>;

    /// Runs after each commit, holding no transaction; `false`: store no more.
    fn committed(&mut self) -> bool {
        true
    }
}

/// Stores `chunks` as they come, on SQLite a few per write transaction: a transaction takes
/// the chunks that are ready when it has stored one (never waiting for the reader while it
/// holds the write lock), at most [`SQLITE_CHUNKS_PER_TRANSACTION`], and commits at once when
/// another writer waits, which then goes first. So a sign-in, a note or a draw still waits
/// for at most one chunk.
fn store_in_transactions(
    conn: &mut db::DbConn,
    batch_id: i64,
    chunks: &std::sync::mpsc::Receiver<PreparedRows>,
    store: &mut impl ChunkStore,
    checkpoints: &WalCheckpoints,
) -> Result<(), ImportFailure> {
    use diesel::connection::SimpleConnection;
    // Another process's writers (`serve` beside a command-line import) go first between
    // two transactions when they wait.
    let turns = db::writer_turns::BulkWriter::on(conn);
    let most = match conn {
        db::DbConn::Sqlite(_) => SQLITE_CHUNKS_PER_TRANSACTION,
        db::DbConn::Postgresql(_) => 1,
    };
    while let Ok(first) = chunks.recv() {
        db::write_tx(conn, |c| -> Result<(), ImportFailure> {
            if let db::DbConn::Postgresql(p) = c {
                // A staging batch's chunks need not reach the disk before the next one is
                // stored: a batch cut short is removed whole, however far it got, and the
                // batch's final transaction commits as usual, which puts everything before it
                // on disk (the log is written in order). `LOCAL`: this transaction only.
                p.batch_execute("SET LOCAL synchronous_commit = off")?;
            }
            imports::touch_heartbeat(c, batch_id)?;
            let mut chunk = first;
            for stored in 1.. {
                if !store.store(c, chunk)? || stored >= most || turns.writer_waiting() {
                    break;
                }
                match chunks.try_recv() {
                    Ok(next) => chunk = next,
                    Err(_) => break,
                }
            }
            Ok(())
        })?;
        turns.let_waiting_writers_in();
        checkpoints.committed();
        if !store.committed() {
            break;
        }
    }
    Ok(())
}

/// Chunks stored, nothing scored.
struct StoreOnly<'w>(&'w mut imports::BatchWriter);

impl ChunkStore for StoreOnly<'_> {
    fn store(&mut self, c: &mut db::DbConn, chunk: PreparedRows) -> Result<bool, ImportFailure> {
        self.0.add_rows(c, chunk)?;
        Ok(true)
    }
}

/// Chunks stored, their contracts handed to the scoring thread, and the records it made
/// of earlier chunks stored beside them.
struct StoreAndHandOver<'w> {
    writer: &'w mut imports::BatchWriter,
    to_score: std::sync::mpsc::SyncSender<Vec<assessments::ContractInputRow>>,
    scored: &'w std::sync::mpsc::Receiver<scoring::ScoredChunk>,
    /// Contracts stored in the open transaction that the scoring thread had no room for:
    /// handed over after the commit, since waiting for it must not hold the write lock.
    waiting: Option<Vec<assessments::ContractInputRow>>,
    /// The scoring thread is gone (it panicked: its join says so).
    scorer_gone: bool,
}

impl ChunkStore for StoreAndHandOver<'_> {
    fn store(&mut self, c: &mut db::DbConn, chunk: PreparedRows) -> Result<bool, ImportFailure> {
        use std::sync::mpsc::TrySendError;

        let batch_id = self.writer.batch_id();
        for ready in self.scored.try_iter() {
            scoring::store_scored(c, batch_id, &ready)?;
        }
        let inputs = self.writer.add_rows(c, chunk)?;
        if inputs.is_empty() {
            return Ok(true);
        }
        match self.to_score.try_send(inputs) {
            Ok(()) => Ok(true),
            Err(TrySendError::Full(inputs)) => {
                self.waiting = Some(inputs);
                Ok(false)
            }
            Err(TrySendError::Disconnected(_)) => {
                self.scorer_gone = true;
                Ok(false)
            }
        }
    }

    fn committed(&mut self) -> bool {
        if let Some(inputs) = self.waiting.take()
            && self.to_score.send(inputs).is_err()
        {
            self.scorer_gone = true;
        }
        !self.scorer_gone
    }
}

/// The store thread of [`store_chunks`]: stores the chunks in write transactions of their
/// own ([`store_in_transactions`]). With a scorer, a third thread scores the contracts each
/// chunk stored and makes their records while this one stores the next chunks; their
/// records are stored in a later transaction, and those of the last chunks, returned here,
/// in the batch's final one. Nothing of the batch shows before that final transaction, so
/// which transaction stores an assessment does not change what anyone sees, and a failed
/// batch is removed with all of them.
fn store_and_score<'r>(
    conn: &mut db::DbConn,
    mut writer: imports::BatchWriter,
    scorer: Option<scoring::ChunkScorer<'r>>,
    chunks: std::sync::mpsc::Receiver<PreparedRows>,
    checkpoints: &WalCheckpoints,
) -> Result<
    (
        imports::BatchWriter,
        Option<scoring::ChunkScorer<'r>>,
        Vec<scoring::ScoredChunk>,
    ),
    ImportFailure,
> {
    use std::sync::mpsc;

    let batch_id = writer.batch_id();
    let Some(mut scorer) = scorer else {
        db::sqlite_raw::keeping_statements(conn, |c| {
            store_in_transactions(c, batch_id, &chunks, &mut StoreOnly(&mut writer), checkpoints)
        })?;
        return Ok((writer, None, Vec::new()));
    };
    db::write_tx(conn, |c| scorer.store_rule_set(c))?;
    let (to_score, unscored) =
        mpsc::sync_channel::<Vec<assessments::ContractInputRow>>(SCORING_CHUNKS_IN_FLIGHT);
    // Unbounded, so the scoring thread never waits for this one (which may be waiting for
    // it); it holds at most the chunks sent since this thread last looked.
    let (scored_tx, scored) = mpsc::channel::<scoring::ScoredChunk>();
    std::thread::scope(|s| {
        let scoring_thread = s.spawn(move || {
            for rows in unscored {
                if scored_tx.send(scorer.score_staged(&rows)).is_err() {
                    break;
                }
            }
            scorer
        });
        let mut store = StoreAndHandOver {
            writer: &mut writer,
            to_score,
            scored: &scored,
            waiting: None,
            scorer_gone: false,
        };
        let stored = db::sqlite_raw::keeping_statements(conn, |c| {
            store_in_transactions(c, batch_id, &chunks, &mut store, checkpoints)
        });
        // Ends the scoring thread once it has scored what it was sent.
        drop(store);
        let last_scored: Vec<scoring::ScoredChunk> = scored.iter().collect();
        let scorer = scoring_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        stored.map(|()| (writer, Some(scorer), last_scored))
    })
}

/// [`import_register`], scoring the contracts the batch creates or changes as their chunks
/// are stored (in the same transactions), so the person sees their contracts' risk at once:
/// the batch and its assessments become visible together, in the batch's final
/// transaction, or, when anything fails, neither does. `file` is an upload's bytes or, from
/// the command line, a file on disk (a zip-based workbook is then read part by part).
#[allow(clippy::too_many_arguments)]
pub fn import_and_score(
    pool: &Pool,
    rules: &RuleSet,
    uploader: &User,
    file_name: &str,
    file: RegisterFile<'_>,
    opts: &ImportOptions,
    dry_run: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportFailure> {
    import(
        pool,
        Some(rules),
        uploader,
        file_name,
        file,
        opts,
        dry_run,
        progress,
    )
}

/// Import options from form fields: `sheet`, `mapping` (`field=Header;…` or a JSON
/// object), `dry_run`. Shared by the upload form and the API.
pub fn options_from_fields(
    max_bytes: u64,
    fields: &std::collections::HashMap<String, String>,
) -> Result<(ImportOptions, bool), ImportError> {
    let mut opts = ImportOptions {
        max_bytes,
        ..Default::default()
    };
    if let Some(s) = fields.get("sheet").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        opts.sheet = Some(s.to_owned());
    }
    if let Some(m) = fields.get("mapping").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        opts.mapping = Some(crate::import::ColumnMapping::parse_any(m)?);
    }
    let dry_run = fields
        .get("dry_run")
        .is_some_and(|v| matches!(v.trim(), "true" | "1" | "on" | "yes"));
    Ok((opts, dry_run))
}

/// Batches, newest first; `uploader` limits to one person's (an innkjøper sees their own).
pub fn list_batches(
    conn: &mut db::DbConn,
    uploader: Option<i64>,
    limit: i64,
) -> Result<Vec<imports::BatchRow>, DbError> {
    imports::list_batches(conn, uploader, limit)
}

/// The report of batch `id`, if the caller may see it (`uploader`: an innkjøper's own id).
pub fn batch_report(conn: &mut db::DbConn, id: i64, uploader: Option<i64>) -> Result<ImportReport, DbError> {
    imports::visible_batch_report(conn, id, uploader)
}

/// The audit entry of a stored batch, written in the batch's transaction.
fn audit_import(
    c: &mut db::DbConn,
    uploader: &User,
    meta: &UploadMeta,
    report: &ImportReport,
) -> Result<(), DbError> {
    let batch_id = report.batch_id.map(|id| id.to_string()).unwrap_or_default();
    crate::db::models::audit::append(
        c,
        &Actor::user(&uploader.username),
        crate::db::models::audit::Event {
            action: "import.create",
            object_type: "import_batch",
            object_id: &batch_id,
            detail: serde_json::json!({
                "file_name": meta.file_name, "sha256": meta.sha256, "size_bytes": meta.size_bytes,
                "format": report.format, "sheet": report.sheet,
                "rows_total": report.rows_total, "rows_imported": report.rows_imported,
                "rows_rejected": report.rows_rejected,
                "contracts_created": report.contracts_created, "contracts_updated": report.contracts_updated,
                "contracts_unchanged": report.contracts_unchanged, "suppliers_created": report.suppliers_created,
            }),
        },
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::{WalCheckpoints, beat_until_ended};

    #[test]
    fn the_heartbeat_beats_until_the_import_ends_and_then_stops() {
        let beats = AtomicUsize::new(0);
        let (alive, ended) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            let beats = &beats;
            let beating = s.spawn(move || {
                beat_until_ended(&ended, Duration::from_millis(10), || {
                    beats.fetch_add(1, Ordering::SeqCst);
                })
            });
            // It beats while the import lives.
            while beats.load(Ordering::SeqCst) < 3 {
                std::thread::sleep(Duration::from_millis(5));
            }
            // The import ends: the thread returns (a hang here is the failure).
            drop(alive);
            beating.join().unwrap();
        });
        let after = beats.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            beats.load(Ordering::SeqCst),
            after,
            "it beat after the import ended"
        );
    }

    /// A database with `wal_autocheckpoint` off on `conn` and 2 MB written to its log since
    /// its last checkpoint; the size of its file.
    fn written_to_the_log(conn: &mut crate::db::DbConn, path: &std::path::Path) -> u64 {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA wal_checkpoint(TRUNCATE);
             CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO filler (text) SELECT printf('%.1000c', 'x') FROM n;",
        )
        .unwrap();
        std::fs::metadata(path).unwrap().len()
    }

    /// A database in a new folder with a pool of `size` connections, one of them taken and
    /// used to write to the log ([`written_to_the_log`]); the file's size then.
    struct Written {
        /// The folder, removed when dropped.
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        pool: crate::db::Pool,
        conn: crate::db::PooledConn,
        before: u64,
    }

    fn written(size: u32) -> Written {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spotcheck.db");
        let pool = crate::db::connect(&crate::db::DbTarget::Sqlite(path.clone()), size).unwrap();
        let mut conn = pool.get().unwrap();
        let before = written_to_the_log(&mut conn, &path);
        Written {
            _dir: dir,
            path,
            pool,
            conn,
            before,
        }
    }

    #[test]
    fn an_imports_pages_reach_the_database_file_while_it_goes_on() {
        let w = written(2);
        let checkpoints = WalCheckpoints::start(&w.pool, &w.conn);
        checkpoints.committed();
        // The import is still going on (`checkpoints` lives): the copying happens now, on the
        // pool's other connection. (A hang here, up to the bound, is the failure.)
        let waited_since = std::time::Instant::now();
        while std::fs::metadata(&w.path).unwrap().len() < w.before + 2_000_000 {
            assert!(
                waited_since.elapsed() < Duration::from_secs(30),
                "no checkpoint after the commit: the file stayed at {} bytes",
                std::fs::metadata(&w.path).unwrap().len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(checkpoints);
        super::wait_for_background_checkpoints();
    }

    #[test]
    fn with_no_connection_free_the_import_goes_on_and_its_pages_are_copied_when_it_ends() {
        let w = written(1);
        let checkpoints = WalCheckpoints::start(&w.pool, &w.conn);
        // The only connection is the import's: commits neither wait nor checkpoint.
        for _ in 0..5 {
            checkpoints.committed();
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            std::fs::metadata(&w.path).unwrap().len(),
            w.before,
            "copied with no connection free"
        );
        // The import ends and gives its connection back: the last checkpoint copies it all,
        // and a process that ends waits for it.
        drop(checkpoints);
        drop(w.conn);
        super::wait_for_background_checkpoints();
        assert!(std::fs::metadata(&w.path).unwrap().len() >= w.before + 2_000_000);
    }
}

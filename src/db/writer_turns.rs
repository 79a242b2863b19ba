//! Turns between SQLite writers of different processes: `spotcheck import` on the database
//! a running `serve` uses.
//!
//! Within a process, writers take turns through a fair gate (`SqliteWriteGate`). Across
//! processes only SQLite's busy handler is left, which sleeps longer and longer (up to
//! 100 ms) between tries; an import commits a chunk and begins the next within
//! microseconds, so a sign-in in `serve` rarely found the lock free and waited seconds
//! (`bench/login_during_import.py --cli`). So a writer that waits says so, and a writer that
//! writes chunk after chunk lets it in:
//!
//! - every SQLite write transaction holds a *shared* lock on the file `<database>-writers`
//!   from before it asks for the write lock until it has it ([`WaitingWriter`]);
//! - a bulk writer, between two of its transactions, takes that file's lock *exclusively*
//!   without waiting ([`BulkWriter::let_waiting_writers_in`]): when it cannot, some writer
//!   is waiting, and it pauses until that writer has its turn.
//!
//! The locks are advisory file locks (`flock` on Unix, `LockFileEx` on Windows), held by
//! open file, so two writers of one process are two holders too; they vanish with the
//! process, so a writer that dies never blocks anyone. The file holds nothing. In-memory
//! databases have no file and no turns.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;

/// The longest a bulk writer pauses for waiting writers at one time: a waiter may be asleep
/// in SQLite's busy handler (up to 100 ms a sleep), and one that gives up must not hold the
/// import for long.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// How often a pausing bulk writer looks whether the waiters are in.
const PAUSE_STEP: Duration = Duration::from_millis(1);

diesel::table! {
    /// SQLite's list of the databases a connection has open (a table-valued pragma). Read
    /// as a table, so diesel keeps the statement prepared: it runs before every write.
    pragma_database_list (seq) {
        seq -> Integer,
        name -> Text,
        file -> Text,
    }
}

/// The lock file of the SQLite database `conn` has open; `None` for an in-memory one.
fn turns_file(conn: &mut diesel::SqliteConnection) -> Option<PathBuf> {
    let main: String = pragma_database_list::table
        .filter(pragma_database_list::name.eq("main"))
        .select(pragma_database_list::file)
        .first(conn)
        .ok()?;
    if main.is_empty() {
        return None;
    }
    let mut path = std::ffi::OsString::from(main);
    path.push("-writers");
    Some(PathBuf::from(path))
}

/// The lock file, created if missing; read-only when another user created it (`serve` and
/// an operator's `spotcheck import` may run as different users): a lock needs no writing.
fn open(path: &Path) -> Option<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .or_else(|_| File::open(path))
        .ok()
}

/// A writer that has asked, or is about to ask, for the write lock: holds the shared lock
/// until dropped.
pub struct WaitingWriter(#[allow(dead_code)] File);

impl WaitingWriter {
    /// Says that a writer on `conn`'s database is about to wait for the write lock. `None`
    /// when there is no file to lock (an in-memory database, a read-only folder): the writer
    /// then waits as SQLite alone would have it.
    pub fn announce(conn: &mut diesel::SqliteConnection) -> Option<WaitingWriter> {
        let path = turns_file(conn)?;
        Self::announce_at(&path)
    }

    fn announce_at(path: &Path) -> Option<WaitingWriter> {
        let file = open(path)?;
        // Blocks only while a bulk writer looks (a moment), never while it writes.
        file.lock_shared().ok()?;
        Some(WaitingWriter(file))
    }
}

/// A writer that stores chunk after chunk ([`BulkWriter::let_waiting_writers_in`] between
/// two of its transactions).
pub struct BulkWriter {
    /// The lock file, open for the whole run; `None`: no turns (PostgreSQL, which queues
    /// lock waiters fairly by itself, or an in-memory SQLite database).
    turns: Option<File>,
}

impl BulkWriter {
    pub fn on(conn: &mut crate::db::DbConn) -> BulkWriter {
        let turns = match conn {
            crate::db::DbConn::Sqlite(c) => turns_file(c).and_then(|p| open(&p)),
            crate::db::DbConn::Postgresql(_) => None,
        };
        BulkWriter { turns }
    }

    /// Whether another writer waits for the write lock (or is about to ask for it). A bulk
    /// writer that holds a transaction over several chunks asks between two of them, and
    /// commits when one does. Two system calls.
    pub fn writer_waiting(&self) -> bool {
        match &self.turns {
            Some(file) => match file.try_lock() {
                Ok(()) => {
                    let _ = file.unlock();
                    false
                }
                Err(std::fs::TryLockError::WouldBlock) => true,
                // A file that cannot be locked at all gives no turns.
                Err(_) => false,
            },
            None => false,
        }
    }

    /// When another writer waits for the write lock, pauses until that writer has it (at
    /// most [`LONGEST_PAUSE`]); call holding no transaction and no [`WaitingWriter`]. Two
    /// system calls when nobody waits. Returns how long it paused.
    pub fn let_waiting_writers_in(&self) -> Duration {
        match &self.turns {
            Some(file) => pause_for_waiters(file),
            None => Duration::ZERO,
        }
    }
}

fn pause_for_waiters(file: &File) -> Duration {
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                return start.elapsed();
            }
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LONGEST_PAUSE => {
                std::thread::sleep(PAUSE_STEP);
            }
            // Waited long enough, or the file cannot be locked at all: go on.
            Err(_) => return start.elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_writer_goes_on_at_once_when_nobody_waits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-writers");
        assert!(pause_for_waiters(&open(&path).unwrap()) < Duration::from_millis(500));
        // A waiter that has its turn (dropped) leaves nothing behind.
        drop(WaitingWriter::announce_at(&path).unwrap());
        assert!(pause_for_waiters(&open(&path).unwrap()) < Duration::from_millis(500));
    }

    #[test]
    fn a_bulk_writer_pauses_until_the_waiter_is_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-writers");
        let waiting = WaitingWriter::announce_at(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let bulk = std::thread::spawn(move || {
            let paused = pause_for_waiters(&open(&p).unwrap());
            tx.send(()).unwrap();
            paused
        });
        // While the writer waits, the bulk writer does not go on.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        drop(waiting);
        rx.recv_timeout(Duration::from_secs(5))
            .expect("goes on once the waiter is in");
        assert!(bulk.join().unwrap() >= Duration::from_millis(300));
    }

    #[test]
    fn a_bulk_writer_sees_a_waiting_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-writers");
        let bulk = BulkWriter { turns: open(&path) };
        assert!(!bulk.writer_waiting());
        let waiting = WaitingWriter::announce_at(&path).unwrap();
        assert!(bulk.writer_waiting());
        // Looking takes no turn: the waiter still holds it, and asking again says so.
        assert!(bulk.writer_waiting());
        drop(waiting);
        assert!(!bulk.writer_waiting());
    }

    #[test]
    fn two_waiters_hold_the_turn_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-writers");
        let first = WaitingWriter::announce_at(&path).unwrap();
        let second = WaitingWriter::announce_at(&path).unwrap();
        drop(first);
        // One writer still waits: the bulk writer must not take its turn.
        let file = open(&path).unwrap();
        assert!(matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
        drop(second);
        assert!(file.try_lock().is_ok());
    }
}

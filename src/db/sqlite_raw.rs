//! Bulk inserts bound straight to SQLite, for the rows an import writes per contract.
//!
//! diesel binds a value by walking the insert's expression tree into a bind collector and
//! then binding what it collected; for the 50-odd values a contract and its assessment
//! bind, that walk cost the import's storing thread about a sixth of its time (measured
//! with `perf`, docs/benchmarks.md). Here a row binds its own values, in its own column
//! order, to a statement prepared once per call.
//!
//! diesel does not hand out its connection's `sqlite3` handle, so every SQLite connection
//! this process opens gets a function that returns it ([`install`], through
//! `sqlite3_auto_extension`); [`RawSqlite::of`] asks for it and borrows the diesel
//! connection for as long as the handle is used, so nothing else runs on the connection
//! meanwhile, and every statement made here is finalized before the borrow ends. The
//! statements run inside the caller's diesel transaction, which commits or rolls them back
//! with the rest. This module is the project's only use of SQLite's C interface.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{RunQueryDsl, SqliteConnection};
use libsqlite3_sys as ffi;

use super::DbError;

/// The SQL function that gives a connection's handle; only callable from top-level SQL
/// (`SQLITE_DIRECTONLY`), never from a view, trigger or schema.
const HANDLE_FUNCTION: &CStr = c"spotcheck_connection_handle";

/// Registers [`HANDLE_FUNCTION`] on every SQLite connection opened after this call, in
/// this process. Idempotent; [`super::connect_with`] and the pool's connection manager
/// call it before opening a connection.
pub(crate) fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: `register_handle_function` has the signature SQLite calls an automatic
        // extension with, and lives for the whole process.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(register_handle_function)) };
        if rc != ffi::SQLITE_OK {
            tracing::error!(
                code = rc,
                "could not register SQLite's connection-handle function"
            );
        }
    });
}

/// SQLite calls this as each new connection opens.
unsafe extern "C" fn register_handle_function(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection being opened; the name is a static C string.
    unsafe {
        ffi::sqlite3_create_function_v2(
            db,
            HANDLE_FUNCTION.as_ptr(),
            0,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DIRECTONLY,
            ptr::null_mut(),
            Some(connection_handle),
            None,
            None,
            None,
        )
    }
}

unsafe extern "C" fn connection_handle(
    ctx: *mut ffi::sqlite3_context,
    _argc: c_int,
    _argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: `ctx` is the context SQLite calls the function with.
    unsafe { ffi::sqlite3_result_int64(ctx, ffi::sqlite3_context_db_handle(ctx) as i64) }
}

#[derive(diesel::QueryableByName)]
struct Handle {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    handle: i64,
}

/// A diesel SQLite connection's own handle, usable while the connection is borrowed.
pub(crate) struct RawSqlite<'c> {
    db: NonNull<ffi::sqlite3>,
    _conn: PhantomData<&'c mut SqliteConnection>,
}

impl<'c> RawSqlite<'c> {
    pub(crate) fn of(conn: &'c mut SqliteConnection) -> Result<Self, DbError> {
        let Handle { handle } = diesel::sql_query("SELECT spotcheck_connection_handle() AS handle")
            .get_result::<Handle>(conn)
            .map_err(|e| DbError::Corrupt(format!("SQLite connection without its handle function: {e}")))?;
        let db = NonNull::new(handle as *mut ffi::sqlite3)
            .ok_or_else(|| DbError::Corrupt("SQLite gave a null connection handle".into()))?;
        Ok(RawSqlite {
            db,
            _conn: PhantomData,
        })
    }

    /// Inserts `rows`: statements of [`ROWS_PER_INSERT`] rows, then one statement for the
    /// remainder. Runs in the caller's transaction.
    pub(crate) fn insert<R: RawRow>(&mut self, rows: &[R]) -> Result<(), DbError> {
        let mut groups = rows.chunks_exact(ROWS_PER_INSERT);
        if rows.len() >= ROWS_PER_INSERT {
            let mut stmt = self.prepare(insert_sql(R::TABLE, R::COLUMNS, ROWS_PER_INSERT))?;
            for group in groups.by_ref() {
                stmt.run(group)?;
            }
        }
        let rest = groups.remainder();
        if !rest.is_empty() {
            self.prepare(insert_sql(R::TABLE, R::COLUMNS, rest.len()))?
                .run(rest)?;
        }
        Ok(())
    }

    /// The statement for `sql`: kept from an earlier call inside [`keeping_statements`] on
    /// this connection, or prepared now (and then kept, or finalized after use).
    fn prepare(&mut self, sql: String) -> Result<Statement<'_>, DbError> {
        let kept = KEPT.with_borrow_mut(|kept| match kept {
            Some(k) if k.db == self.db => Some(k.statements.remove(&sql)),
            _ => None,
        });
        let stmt = match kept {
            Some(Some(stmt)) => stmt,
            _ => self.prepare_now(&sql)?,
        };
        Ok(Statement {
            raw: self,
            stmt,
            timestamps: TimestampText::default(),
            kept_as: kept.is_some().then_some(sql),
        })
    }

    fn prepare_now(&self, sql: &str) -> Result<NonNull<ffi::sqlite3_stmt>, DbError> {
        let len =
            c_int::try_from(sql.len()).map_err(|_| DbError::Corrupt("insert statement too long".into()))?;
        let mut stmt = ptr::null_mut();
        // SAFETY: the handle is live while `self` borrows the connection; SQLite reads `len`
        // bytes of `sql` and writes the new statement to `stmt`.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db.as_ptr(),
                sql.as_ptr().cast(),
                len,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(self.error(rc));
        }
        NonNull::new(stmt).ok_or_else(|| DbError::Corrupt(format!("empty statement: {sql}")))
    }

    /// The connection's last error as diesel reports one, so callers see the kinds they
    /// already handle (a refused reference, a repeated key).
    fn error(&self, rc: c_int) -> DbError {
        // SAFETY: the handle is live; SQLite's message is valid until the next call on it,
        // and is copied at once.
        let (code, message) = unsafe {
            let code = ffi::sqlite3_extended_errcode(self.db.as_ptr());
            let message = CStr::from_ptr(ffi::sqlite3_errmsg(self.db.as_ptr()))
                .to_string_lossy()
                .into_owned();
            (code, message)
        };
        let kind = match code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                DatabaseErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => DatabaseErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => DatabaseErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => DatabaseErrorKind::CheckViolation,
            _ => DatabaseErrorKind::Unknown,
        };
        let message = if message.is_empty() {
            format!("SQLite error {rc}")
        } else {
            message
        };
        DbError::Query(DieselError::DatabaseError(kind, Box::new(message)))
    }
}

/// Inserts `rows` inside the caller's transaction on either backend: on SQLite bound here
/// ([`RawSqlite::insert`]), on PostgreSQL by `copy`, which COPYs the same columns through
/// diesel (called only when there are rows).
pub(crate) fn insert_rows_of<R: RawRow>(
    conn: &mut super::DbConn,
    rows: &[R],
    copy: impl FnOnce(&mut diesel::PgConnection, &[R]) -> diesel::QueryResult<usize>,
) -> Result<(), DbError> {
    match conn {
        super::DbConn::Sqlite(c) => RawSqlite::of(c)?.insert(rows),
        super::DbConn::Postgresql(c) if !rows.is_empty() => {
            copy(c, rows)?;
            Ok(())
        }
        super::DbConn::Postgresql(_) => Ok(()),
    }
}

/// Rows per INSERT statement: as [`super::cached_insert::SQLITE_ROWS_PER_INSERT`], the same
/// trade (cursors opened once per statement) with the same bound on bound values.
pub(crate) const ROWS_PER_INSERT: usize = super::cached_insert::SQLITE_ROWS_PER_INSERT;

fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![row.as_str(); rows].join(", ")
    )
}

/// A row for [`RawSqlite::insert`]: its table and columns, and its values bound in that
/// order. Implemented with [`raw_row!`], which writes each column beside its value.
pub(crate) trait RawRow {
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    fn bind<'r>(&'r self, b: &mut Binder<'r, '_>);
}

/// Implements [`RawRow`] for `$row_type` from one list of `column: binder(value)` (the
/// binder a [`Binder`] method), the column names checked against diesel's `$table`:
///
/// ```text
/// raw_row!(contracts, NewContract<'_>, |c, b| {
///     id: int(c.id),
///     title: opt_text(c.title),
/// });
/// ```
macro_rules! raw_row {
    ($table:ident, $row_type:ty, |$row:ident, $b:ident| { $($column:ident: $how:ident($value:expr)),+ $(,)? }) => {
        impl $crate::db::sqlite_raw::RawRow for $row_type {
            const TABLE: &'static str = stringify!($table);
            const COLUMNS: &'static [&'static str] = &[$(<$table::$column as diesel::Column>::NAME),+];
            fn bind<'r>(&'r self, $b: &mut $crate::db::sqlite_raw::Binder<'r, '_>) {
                let $row = self;
                $($b.$how($value);)+
            }
        }
    };
}
pub(crate) use raw_row;

/// A prepared insert, finalized when dropped.
struct Statement<'s> {
    raw: &'s RawSqlite<'s>,
    stmt: NonNull<ffi::sqlite3_stmt>,
    timestamps: TimestampText,
    /// Inside [`keeping_statements`] on this connection: the SQL it is kept under.
    kept_as: Option<String>,
}

/// The last timestamp bound, as text: the rows of one import or rescoring share their
/// times, and chrono's formatting was a visible part of the insert's cost.
#[derive(Default)]
struct TimestampText {
    at: Option<NaiveDateTime>,
    text: String,
}

impl TimestampText {
    /// `at` as diesel writes a `NaiveDateTime` for SQLite.
    fn of(&mut self, at: NaiveDateTime) -> &str {
        if self.at != Some(at) {
            self.text.clear();
            use std::fmt::Write;
            // Writing to a String cannot fail.
            let _ = write!(self.text, "{}", at.format("%F %T%.f"));
            self.at = Some(at);
        }
        &self.text
    }
}

impl Statement<'_> {
    /// Binds `rows` (as many as the statement has row groups) and runs the statement once.
    fn run<R: RawRow>(&mut self, rows: &[R]) -> Result<(), DbError> {
        let mut b = Binder {
            stmt: self.stmt,
            next: 1,
            rc: ffi::SQLITE_OK,
            timestamps: &mut self.timestamps,
            _values: PhantomData,
        };
        for row in rows {
            row.bind(&mut b);
        }
        // SAFETY: the statement is live; the values bound `SQLITE_STATIC` borrow `rows`,
        // which outlive the step and the reset below.
        unsafe {
            let expected = ffi::sqlite3_bind_parameter_count(self.stmt.as_ptr()) + 1;
            if b.rc == ffi::SQLITE_OK && b.next != expected {
                return Err(DbError::Corrupt(format!(
                    "{} values bound to an insert of {} parameters",
                    b.next - 1,
                    expected - 1
                )));
            }
            let rc = if b.rc == ffi::SQLITE_OK {
                ffi::sqlite3_step(self.stmt.as_ptr())
            } else {
                b.rc
            };
            let failed = (rc != ffi::SQLITE_DONE).then(|| self.raw.error(rc));
            // Also releases the statement's hold on the borrowed values.
            ffi::sqlite3_reset(self.stmt.as_ptr());
            ffi::sqlite3_clear_bindings(self.stmt.as_ptr());
            failed.map_or(Ok(()), Err)
        }
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        if let Some(sql) = self.kept_as.take() {
            let stmt = self.stmt;
            let returned = KEPT.with_borrow_mut(|kept| match kept {
                Some(k) if k.db == self.raw.db => {
                    k.statements.insert(sql, stmt);
                    true
                }
                _ => false,
            });
            if returned {
                return;
            }
        }
        // SAFETY: the statement was made by `prepare_now` and is finalized once, here.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

/// The statements kept on this thread, for one connection (see [`keeping_statements`]).
struct Kept {
    db: NonNull<ffi::sqlite3>,
    statements: std::collections::HashMap<String, NonNull<ffi::sqlite3_stmt>>,
}

thread_local! {
    static KEPT: std::cell::RefCell<Option<Kept>> = const { std::cell::RefCell::new(None) };
}

/// Runs `body` with the insert statements this thread prepares on `conn` kept for reuse
/// until it returns (and then finalized, before the connection can close), instead of
/// prepared and finalized on every call: an import's storing thread prepared some twenty
/// statements of up to 128 rows per chunk, about a tenth of its time. Nested calls keep
/// using the outermost scope's statements; on PostgreSQL it only runs `body`.
pub(crate) fn keeping_statements<T>(
    conn: &mut super::DbConn,
    body: impl FnOnce(&mut super::DbConn) -> T,
) -> T {
    let db = match conn {
        super::DbConn::Sqlite(c) => RawSqlite::of(c).ok().map(|raw| raw.db),
        super::DbConn::Postgresql(_) => None,
    };
    let outermost = db.is_some_and(|db| {
        KEPT.with_borrow_mut(|kept| {
            if kept.is_some() {
                return false;
            }
            *kept = Some(Kept {
                db,
                statements: Default::default(),
            });
            true
        })
    });
    // Finalizes the kept statements however `body` ends, unwinding included.
    struct Finalize(bool);
    impl Drop for Finalize {
        fn drop(&mut self) {
            if !self.0 {
                return;
            }
            if let Some(kept) = KEPT.with_borrow_mut(Option::take) {
                for stmt in kept.statements.into_values() {
                    // SAFETY: kept statements are finalized once, here, while the connection
                    // `keeping_statements` borrows is still open.
                    unsafe {
                        ffi::sqlite3_finalize(stmt.as_ptr());
                    }
                }
            }
        }
    }
    let _finalize = Finalize(outermost);
    body(conn)
}

/// Binds one statement's values in order. A failed bind (out of memory, a value too long)
/// is kept and reported by the statement instead of its step.
pub(crate) struct Binder<'r, 's> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    next: c_int,
    rc: c_int,
    timestamps: &'s mut TimestampText,
    _values: PhantomData<&'r ()>,
}

impl<'r> Binder<'r, '_> {
    fn done(&mut self, rc: c_int) {
        if self.rc == ffi::SQLITE_OK {
            self.rc = rc;
        }
        self.next += 1;
    }

    pub(crate) fn int(&mut self, value: i64) {
        // SAFETY: the statement is live and `next` is in range (checked before the step).
        let rc = unsafe { ffi::sqlite3_bind_int64(self.stmt.as_ptr(), self.next, value) };
        self.done(rc);
    }

    pub(crate) fn opt_int(&mut self, value: Option<i64>) {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub(crate) fn null(&mut self) {
        // SAFETY: as in `int`.
        let rc = unsafe { ffi::sqlite3_bind_null(self.stmt.as_ptr(), self.next) };
        self.done(rc);
    }

    /// Text that lives as long as the statement's run: SQLite reads it in place.
    pub(crate) fn text(&mut self, value: &'r str) {
        let Ok(len) = c_int::try_from(value.len()) else {
            self.done(ffi::SQLITE_TOOBIG);
            return;
        };
        // SAFETY: `value` outlives the step (`'r`); SQLite reads `len` bytes of it.
        let rc = unsafe {
            ffi::sqlite3_bind_text(
                self.stmt.as_ptr(),
                self.next,
                value.as_ptr().cast(),
                len,
                ffi::SQLITE_STATIC(),
            )
        };
        self.done(rc);
    }

    pub(crate) fn opt_text(&mut self, value: Option<&'r str>) {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    pub(crate) fn opt_blob(&mut self, value: Option<&'r [u8]>) {
        let Some(bytes) = value else {
            self.null();
            return;
        };
        let Ok(len) = c_int::try_from(bytes.len()) else {
            self.done(ffi::SQLITE_TOOBIG);
            return;
        };
        // SAFETY: `bytes` outlives the step (`'r`); SQLite reads `len` bytes of it.
        let rc = unsafe {
            ffi::sqlite3_bind_blob(
                self.stmt.as_ptr(),
                self.next,
                bytes.as_ptr().cast(),
                len,
                ffi::SQLITE_STATIC(),
            )
        };
        self.done(rc);
    }

    /// A date as diesel writes a `NaiveDate` for SQLite (`%F`, which is chrono's `Display`).
    pub(crate) fn date(&mut self, value: NaiveDate) {
        use std::io::Write;
        // `+262143-12-31` at the most.
        let mut buf = [0u8; 24];
        let mut rest = &mut buf[..];
        let _ = write!(rest, "{value}");
        let len = 24 - rest.len();
        // chrono's `Display` writes ASCII only.
        let rc = bind_copied(
            self.stmt,
            self.next,
            std::str::from_utf8(&buf[..len]).unwrap_or_default(),
        );
        self.done(rc);
    }

    pub(crate) fn opt_date(&mut self, value: Option<NaiveDate>) {
        match value {
            Some(d) => self.date(d),
            None => self.null(),
        }
    }

    /// A timestamp as diesel writes a `NaiveDateTime` for SQLite (`%F %T%.f`).
    pub(crate) fn timestamp(&mut self, value: NaiveDateTime) {
        let rc = bind_copied(self.stmt, self.next, self.timestamps.of(value));
        self.done(rc);
    }

    pub(crate) fn opt_timestamp(&mut self, value: Option<NaiveDateTime>) {
        match value {
            Some(t) => self.timestamp(t),
            None => self.null(),
        }
    }
}

/// Binds short text (a date, a timestamp) that SQLite copies at once.
fn bind_copied(stmt: NonNull<ffi::sqlite3_stmt>, index: c_int, text: &str) -> c_int {
    // A few dozen bytes.
    let len = text.len() as c_int;
    // SAFETY: the statement is live; SQLite copies `len` bytes of `text` (`SQLITE_TRANSIENT`)
    // before this returns.
    unsafe {
        ffi::sqlite3_bind_text(
            stmt.as_ptr(),
            index,
            text.as_ptr().cast(),
            len,
            ffi::SQLITE_TRANSIENT(),
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::*;

    diesel::table! {
        probe (id) {
            id -> BigInt,
            word -> Text,
            maybe_word -> Nullable<Text>,
            small -> Nullable<Integer>,
            day -> Date,
            maybe_day -> Nullable<Date>,
            at -> Timestamp,
            maybe_at -> Nullable<Timestamp>,
            bytes -> Nullable<Binary>,
        }
    }

    const SCHEMA: &str = "CREATE TABLE probe (id BIGINT PRIMARY KEY NOT NULL, word TEXT NOT NULL, \
        maybe_word TEXT, small INTEGER, day DATE NOT NULL, maybe_day DATE, at TIMESTAMP NOT NULL, \
        maybe_at TIMESTAMP, bytes BLOB); \
        CREATE TABLE parent (id INTEGER PRIMARY KEY); \
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id)); \
        PRAGMA foreign_keys = ON;";

    #[derive(Clone, Insertable)]
    #[diesel(table_name = probe)]
    struct Probe {
        id: i64,
        word: String,
        maybe_word: Option<String>,
        small: Option<i32>,
        day: NaiveDate,
        maybe_day: Option<NaiveDate>,
        at: NaiveDateTime,
        maybe_at: Option<NaiveDateTime>,
        bytes: Option<Vec<u8>>,
    }

    raw_row!(probe, Probe, |p, b| {
        id: int(p.id),
        word: text(&p.word),
        maybe_word: opt_text(p.maybe_word.as_deref()),
        small: opt_int(p.small.map(i64::from)),
        day: date(p.day),
        maybe_day: opt_date(p.maybe_day),
        at: timestamp(p.at),
        maybe_at: opt_timestamp(p.maybe_at),
        bytes: opt_blob(p.bytes.as_deref()),
    });

    /// Rows with every kind of value, and without: odd and even rows differ, and the times
    /// have no, milli-, micro- and nanosecond fractions.
    fn probes(n: i64, first_id: i64) -> Vec<Probe> {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        (0..n)
            .map(|i| {
                let at = day
                    .and_hms_nano_opt(
                        8,
                        30,
                        (i % 60) as u32,
                        [0, 5_000_000, 123_456_000, 987_654_321][i as usize % 4],
                    )
                    .unwrap();
                let odd = i % 2 == 1;
                Probe {
                    id: first_id + i,
                    word: format!("ord {i} «æøå» ✓"),
                    maybe_word: odd.then(|| format!("kanskje {i}")),
                    small: odd.then_some(i as i32 - 7),
                    day: day - chrono::Duration::days(i),
                    maybe_day: (!odd).then(|| NaiveDate::from_ymd_opt(-44 + i as i32, 3, 15).unwrap()),
                    // Every third row shares the previous one's time (the cached text).
                    at: if i % 3 == 0 {
                        day.and_hms_opt(0, 0, 0).unwrap()
                    } else {
                        at
                    },
                    maybe_at: odd.then_some(at),
                    bytes: (i % 3 != 0).then(|| vec![0, 1, 2, i as u8, 255]),
                }
            })
            .collect()
    }

    fn connection() -> SqliteConnection {
        install();
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        c.batch_execute(SCHEMA).unwrap();
        c
    }

    /// Every column of every row, with SQLite's storage class of each value.
    fn stored(c: &mut SqliteConnection, ids: std::ops::Range<i64>) -> Vec<String> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            row: String,
        }
        let columns = <Probe as RawRow>::COLUMNS
            .iter()
            .map(|c| format!("typeof({c}) || ':' || coalesce(quote({c}), '')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        diesel::sql_query(format!(
            "SELECT {columns} AS row FROM probe WHERE id >= {} AND id < {} ORDER BY id",
            ids.start, ids.end
        ))
        .load::<Row>(c)
        .unwrap()
        .into_iter()
        .map(|r| r.row)
        .collect()
    }

    #[test]
    fn rows_bound_here_are_stored_as_diesel_stores_them() {
        let mut c = connection();
        // 2 groups of 128 and a remainder of 44; then a remainder alone; then one row.
        for (n, first) in [(300, 0), (5, 1000), (1, 2000)] {
            let rows = probes(n, first);
            diesel::insert_into(probe::table)
                .values(
                    rows.iter()
                        .map(|p| Probe {
                            id: p.id + 100_000,
                            ..p.clone()
                        })
                        .collect::<Vec<_>>(),
                )
                .execute(&mut c)
                .unwrap();
            RawSqlite::of(&mut c).unwrap().insert(&rows).unwrap();
            let ours = stored(&mut c, first..first + n);
            let diesels = stored(&mut c, first + 100_000..first + 100_000 + n);
            assert_eq!(ours.len(), n as usize);
            for (i, (ours, diesels)) in ours.iter().zip(&diesels).enumerate() {
                // The ids differ by design; every other column is alike.
                let (_, ours) = ours.split_once('|').unwrap();
                let (_, diesels) = diesels.split_once('|').unwrap();
                assert_eq!(ours, diesels, "row {i} of {n}");
            }
        }
        // The values read back through diesel are the values bound.
        type Back = (i64, String, Option<NaiveDateTime>, Option<Vec<u8>>);
        let back: Vec<Back> = probe::table
            .filter(probe::id.lt(300))
            .order(probe::id)
            .select((probe::id, probe::word, probe::maybe_at, probe::bytes))
            .load(&mut c)
            .unwrap();
        let expected: Vec<_> = probes(300, 0)
            .into_iter()
            .map(|p| (p.id, p.word, p.maybe_at, p.bytes))
            .collect();
        assert_eq!(back, expected);
    }

    /// The statements open on `c` whose SQL begins with `prefix`.
    fn open_statements(c: &mut SqliteConnection, prefix: &str) -> usize {
        let db = RawSqlite::of(c).unwrap().db;
        let mut n = 0;
        // SAFETY: walks the open connection's statements and reads their SQL.
        unsafe {
            let mut stmt = ffi::sqlite3_next_stmt(db.as_ptr(), ptr::null_mut());
            while !stmt.is_null() {
                let sql = CStr::from_ptr(ffi::sqlite3_sql(stmt)).to_string_lossy();
                n += usize::from(sql.starts_with(prefix));
                stmt = ffi::sqlite3_next_stmt(db.as_ptr(), stmt);
            }
        }
        n
    }

    #[test]
    fn statements_are_kept_inside_the_scope_and_finalized_when_it_ends() {
        let mut loose = connection();
        let mut conn = crate::db::DbConn::Sqlite(connection());
        // Outside a scope, nothing stays prepared.
        RawSqlite::of(&mut loose)
            .unwrap()
            .insert(&probes(130, 0))
            .unwrap();
        assert_eq!(open_statements(&mut loose, "INSERT INTO probe"), 0);

        let kept_inside = keeping_statements(&mut conn, |conn| {
            let crate::db::DbConn::Sqlite(c) = conn else {
                unreachable!()
            };
            // 128 + 2 rows, then 128 + 2 again: two statements, each prepared once.
            RawSqlite::of(c).unwrap().insert(&probes(130, 0)).unwrap();
            let after_first = open_statements(c, "INSERT INTO probe");
            RawSqlite::of(c).unwrap().insert(&probes(130, 1000)).unwrap();
            // A nested scope uses the same statements.
            keeping_statements(conn, |conn| {
                let crate::db::DbConn::Sqlite(c) = conn else {
                    unreachable!()
                };
                RawSqlite::of(c).unwrap().insert(&probes(130, 2000)).unwrap();
            });
            let crate::db::DbConn::Sqlite(c) = conn else {
                unreachable!()
            };
            (after_first, open_statements(c, "INSERT INTO probe"))
        });
        assert_eq!(kept_inside, (2, 2));
        let crate::db::DbConn::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        assert_eq!(open_statements(c, "INSERT INTO probe"), 0);
        assert_eq!(probe::table.count().get_result::<i64>(c).unwrap(), 390);
        // Another connection's inserts inside the scope are not kept.
        keeping_statements(&mut crate::db::DbConn::Sqlite(connection()), |_| {
            RawSqlite::of(&mut loose)
                .unwrap()
                .insert(&probes(5, 5000))
                .unwrap();
            assert_eq!(open_statements(&mut loose, "INSERT INTO probe"), 0);
        });
    }

    #[test]
    fn nothing_to_insert_is_no_statement() {
        let mut c = connection();
        RawSqlite::of(&mut c).unwrap().insert::<Probe>(&[]).unwrap();
        assert_eq!(probe::table.count().get_result::<i64>(&mut c).unwrap(), 0);
    }

    #[test]
    fn a_refused_row_is_reported_with_its_kind_and_the_transaction_rolls_it_back() {
        use diesel::result::{DatabaseErrorKind, Error};

        let mut c = connection();
        let rows = probes(200, 0);
        RawSqlite::of(&mut c).unwrap().insert(&rows[..10]).unwrap();
        // Row 5 is stored already: the 128-row statement that repeats it fails whole.
        let failed = c.transaction(|c| {
            RawSqlite::of(c)?.insert(&rows[5..])?;
            Ok::<_, DbError>(())
        });
        match failed {
            Err(DbError::Query(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info))) => {
                assert!(info.message().contains("probe.id"), "{}", info.message())
            }
            Err(other) => panic!("{other:?}"),
            Ok(()) => panic!("a repeated key was stored"),
        }
        assert_eq!(probe::table.count().get_result::<i64>(&mut c).unwrap(), 10);

        diesel::table! { child (id) { id -> BigInt, parent_id -> BigInt, } }
        struct Child(i64, i64);
        raw_row!(child, Child, |ch, b| { id: int(ch.0), parent_id: int(ch.1) });
        let failed = RawSqlite::of(&mut c).unwrap().insert(&[Child(1, 42)]);
        assert!(
            matches!(
                failed,
                Err(DbError::Query(Error::DatabaseError(
                    DatabaseErrorKind::ForeignKeyViolation,
                    _
                )))
            ),
            "{failed:?}"
        );
        // The statement was finalized: the connection closes cleanly and is still usable.
        c.batch_execute("INSERT INTO parent (id) VALUES (42)").unwrap();
        RawSqlite::of(&mut c).unwrap().insert(&[Child(1, 42)]).unwrap();
    }

    #[test]
    fn the_handle_function_is_refused_inside_views_and_triggers() {
        let mut c = connection();
        c.batch_execute("CREATE VIEW leak AS SELECT spotcheck_connection_handle() AS h")
            .unwrap();
        let through_view = c.batch_execute("SELECT * FROM leak");
        assert!(through_view.is_err(), "a view could call the handle function");
        // Called directly it answers with a live handle.
        assert!(RawSqlite::of(&mut c).is_ok());
    }
}

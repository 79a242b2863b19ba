//! Bulk inserts on SQLite that diesel prepares once per call site.
//!
//! diesel reuses a prepared statement without rebuilding its SQL only when the query has a
//! static query id, and an insert of borrowed values never has one (the id would carry the
//! borrow's lifetime). Rebuilding the SQL of a 21-column insert for every row, and running
//! one statement per row, cost more than SQLite's own work on a large import. [`Cached`]
//! gives such an insert an id of the caller's choosing; [`insert_rows!`] uses a type
//! declared inside each expansion, so no two call sites (with their own column lists) can
//! ever share a cached statement.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

/// `query` with the static query id `Id`. The caller guarantees that every query it wraps
/// with the same `Id` renders the same SQL (the same table, columns and number of rows).
pub(crate) struct Cached<Q, Id> {
    query: Q,
    id: PhantomData<Id>,
}

impl<Q, Id> Cached<Q, Id> {
    pub(crate) fn new(query: Q) -> Self {
        Cached {
            query,
            id: PhantomData,
        }
    }
}

impl<Q, Id: 'static> QueryId for Cached<Q, Id> {
    type QueryId = Id;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q: QueryFragment<DB>, DB: Backend, Id> QueryFragment<DB> for Cached<Q, Id> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> diesel::QueryResult<()> {
        self.query.walk_ast(pass)
    }
}

impl<Q, Id, Conn> diesel::RunQueryDsl<Conn> for Cached<Q, Id> {}

/// A multi-row INSERT built from diesel's own pieces: the single-row insert of the first
/// row (`INSERT INTO t (cols) VALUES (?, …)`), then `, (?, …)` for each further row from
/// that row's values (diesel's batch insert on SQLite does the same, but only for owned
/// values).
pub(crate) struct MultiRow<First, Rest> {
    pub(crate) first: First,
    pub(crate) rest: Vec<Rest>,
}

impl<First, Rest, DB> QueryFragment<DB> for MultiRow<First, Rest>
where
    DB: Backend,
    First: QueryFragment<DB>,
    Rest: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> diesel::QueryResult<()> {
        self.first.walk_ast(out.reborrow())?;
        for row in &self.rest {
            out.push_sql(", (");
            row.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// Rows per INSERT statement on SQLite. 32 rows of the widest table (contracts, 21
/// columns) bind 672 values, far below SQLite's limit of 32 766.
pub(crate) const SQLITE_ROWS_PER_INSERT: usize = 128;

/// Inserts `$values` (a `Vec` of column tuples, every row with the same columns) into
/// `$table`, inside the caller's transaction; `?` converts diesel's errors.
///
/// - SQLite: statements of [`SQLITE_ROWS_PER_INSERT`] rows and then one row per statement
///   for the remainder, each prepared once per call site ([`Cached`]). SQLite opens the
///   table's and indexes' cursors once per statement, so grouping rows saves that per row.
/// - PostgreSQL: one binary COPY (multi-row INSERTs of 1 000 rows cost ~100 ms each there,
///   measured with `cargo bench --bench import`).
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $values:expr) => {{
        use $crate::db::cached_insert::{Cached, MultiRow, SQLITE_ROWS_PER_INSERT};
        // One type per expansion: the cached statements of this call site.
        enum Group {}
        enum Single {}
        match $conn {
            $crate::db::DbConn::Sqlite(c) => {
                let mut groups = $values.chunks_exact(SQLITE_ROWS_PER_INSERT);
                for group in groups.by_ref() {
                    let insert = MultiRow {
                        first: diesel::insert_into($table).values(&group[0]),
                        rest: group[1..]
                            .iter()
                            .map(|row| diesel::Insertable::values(row).values)
                            .collect(),
                    };
                    Cached::<_, Group>::new(insert).execute(c)?;
                }
                for one in groups.remainder() {
                    let insert = diesel::insert_into($table).values(one);
                    Cached::<_, Single>::new(insert).execute(c)?;
                }
            }
            $crate::db::DbConn::Postgresql(c) => {
                if !$values.is_empty() {
                    diesel::copy_from($table).from_insertable(&$values).execute(c)?;
                }
            }
        }
    }};
}
pub(crate) use insert_rows;

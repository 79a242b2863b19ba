//! `EXPLAIN QUERY PLAN` of a diesel query on SQLite ([`sqlite_plan`]), for tests that check a
//! read uses its index in order instead of sorting the table
//! (`db::models::contracts::sqlite_page_plan`, `assessments::sqlite_supplier_history_plan`).

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text};
use diesel::{QueryResult, RunQueryDsl};

/// `EXPLAIN QUERY PLAN <inner>`: rows of (id, parent, unused, detail).
#[derive(Debug, Clone, QueryId)]
pub struct ExplainQueryPlan<Q> {
    inner: Q,
}

impl<Q> ExplainQueryPlan<Q> {
    pub fn new(inner: Q) -> Self {
        ExplainQueryPlan { inner }
    }
}

impl<Q> Query for ExplainQueryPlan<Q> {
    type SqlType = (Integer, Integer, Integer, Text);
}

impl<Q, Conn> RunQueryDsl<Conn> for ExplainQueryPlan<Q> {}

impl<Q, DB> QueryFragment<DB> for ExplainQueryPlan<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("EXPLAIN QUERY PLAN ");
        self.inner.walk_ast(out.reborrow())
    }
}

/// The steps of SQLite's plan for `query` (`EXPLAIN QUERY PLAN`, one line each), for tests
/// that check a read uses its index; empty on PostgreSQL.
pub fn sqlite_plan<'q, Q>(conn: &mut super::DbConn, query: Q) -> Result<Vec<String>, super::DbError>
where
    ExplainQueryPlan<Q>: diesel::query_dsl::LoadQuery<'q, super::DbConn, (i32, i32, i32, String)>,
{
    if !matches!(conn, super::DbConn::Sqlite(_)) {
        return Ok(Vec::new());
    }
    let rows: Vec<(i32, i32, i32, String)> = ExplainQueryPlan::new(query).load(conn)?;
    Ok(rows.into_iter().map(|r| r.3).collect())
}

//! `EXPLAIN QUERY PLAN` of a diesel query on SQLite, for tests that check a list reads an
//! index in order instead of sorting the table (`db::models::contracts::sqlite_page_plan`).

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

//! Counting a list without reading all of it: `SELECT COUNT(*) FROM (query LIMIT cap + 1)`.
//!
//! A plain `COUNT(*)` reads every matching row, so a list's count costs as much as the table
//! is large, on every request. Wrapped here, the count stops after [`COUNT_CAP`] + 1 rows and
//! the list says "more than 10 000" ([`Total`]), the same cost on 10 000 rows or 10 million.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::LimitDsl;
use diesel::{QueryResult, RunQueryDsl};

pub use crate::domain::paging::{COUNT_CAP, Total};

/// `SELECT COUNT(*) FROM (<inner>) AS capped`; build it with [`capped`].
#[derive(Debug, Clone, QueryId)]
pub struct CappedCount<Q> {
    inner: Q,
}

/// The count of `query`'s rows, read no further than [`COUNT_CAP`] + 1 of them.
pub fn capped<Q: LimitDsl>(query: Q) -> CappedCount<Q::Output> {
    CappedCount {
        inner: query.limit(COUNT_CAP + 1),
    }
}

impl<Q> Query for CappedCount<Q> {
    type SqlType = diesel::sql_types::BigInt;
}

impl<Q, Conn> RunQueryDsl<Conn> for CappedCount<Q> {}

impl<Q, DB> QueryFragment<DB> for CappedCount<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (");
        self.inner.walk_ast(out.reborrow())?;
        out.push_sql(") AS capped");
        Ok(())
    }
}

impl<Q> CappedCount<Q> {
    /// Runs the count.
    pub fn total<Conn>(self, conn: &mut Conn) -> QueryResult<Total>
    where
        Self: diesel::query_dsl::LoadQuery<'static, Conn, i64>,
    {
        self.get_result::<i64>(conn).map(Total::from_capped)
    }
}

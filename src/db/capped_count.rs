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

/// How long "more than the cap" is taken as still true without counting again.
pub const OVER_CAP_KEPT: std::time::Duration = std::time::Duration::from_secs(10);

/// The lists recently counted to the cap, so a busy list (the unfiltered contract list of a
/// large register, asked for on every visit) is not counted again on every request: a count
/// that reached the cap is kept for [`OVER_CAP_KEPT`]. Exact counts are never kept (they
/// change with the next import and are cheap). "More than 10 000" may thus stay on a list
/// for up to ten seconds after it fell below, which only a large removal or a rescore can do.
/// One per server (`web::AppState`), so it never mixes databases.
#[derive(Debug, Default)]
pub struct CountMemo {
    over_cap: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// The most lists kept; beyond it the memo starts again (it only saves work).
const MEMO_LISTS: usize = 1024;

impl CountMemo {
    /// [`Total`] of the list named `key` if it was counted to the cap recently.
    pub fn recent(&self, key: &str) -> Option<Total> {
        let memo = self.over_cap.lock().ok()?;
        let at = memo.get(key)?;
        (at.elapsed() < OVER_CAP_KEPT).then_some(Total {
            total: COUNT_CAP,
            exact: false,
        })
    }

    /// Keeps `total` when it reached the cap.
    pub fn keep(&self, key: String, total: Total) {
        if total.exact {
            return;
        }
        if let Ok(mut memo) = self.over_cap.lock() {
            if memo.len() >= MEMO_LISTS {
                memo.clear();
            }
            memo.insert(key, std::time::Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_counts_that_reached_the_cap_are_kept() {
        let memo = CountMemo::default();
        memo.keep("a".into(), Total::from_capped(12));
        assert_eq!(memo.recent("a"), None, "an exact count is counted again");
        memo.keep("b".into(), Total::from_capped(COUNT_CAP + 1));
        assert_eq!(
            memo.recent("b"),
            Some(Total {
                total: COUNT_CAP,
                exact: false
            })
        );
        assert_eq!(memo.recent("c"), None);
    }
}

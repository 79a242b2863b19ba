//! Sign-in attempts: the security-event table the login throttle counts from. Every
//! function runs inside the caller's write transaction.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max};
use diesel::prelude::*;

use crate::auth::throttle::Recent;
use crate::db::schema::login_attempts as la;
use crate::db::{DbConn, DbError};

/// An attempt under way: counted by the throttle until its password check ends.
pub const PENDING: &str = "pending";
pub const FAILURE: &str = "failure";
pub const SUCCESS: &str = "success";
pub const THROTTLED: &str = "throttled";

/// Failed and pending attempts since `since`: by this account from this address, and by
/// this address for any account.
pub fn recent(c: &mut DbConn, account: &str, address: &str, since: NaiveDateTime) -> Result<Recent, DbError> {
    let counted = [PENDING, FAILURE];
    let (pair_failures, pair_last): (i64, Option<NaiveDateTime>) = la::table
        .filter(la::account.eq(account))
        .filter(la::address.eq(address))
        .filter(la::at.ge(since))
        .filter(la::outcome.eq_any(counted))
        .select((count_star(), max(la::at)))
        .first(c)?;
    let (address_failures, address_last): (i64, Option<NaiveDateTime>) = la::table
        .filter(la::address.eq(address))
        .filter(la::at.ge(since))
        .filter(la::outcome.eq_any(counted))
        .select((count_star(), max(la::at)))
        .first(c)?;
    Ok(Recent {
        pair_failures: u32::try_from(pair_failures).unwrap_or(u32::MAX),
        pair_last,
        address_failures: u32::try_from(address_failures).unwrap_or(u32::MAX),
        address_last,
    })
}

/// Whether this account from this address (or the address as a whole) was throttled since
/// `since` already: throttling is audited when it starts, not on every refused attempt.
pub fn throttled_since(
    c: &mut DbConn,
    account: &str,
    address: &str,
    since: NaiveDateTime,
) -> Result<bool, DbError> {
    let n: i64 = la::table
        .filter(la::address.eq(address))
        .filter(la::account.eq(account))
        .filter(la::at.ge(since))
        .filter(la::outcome.eq(THROTTLED))
        .count()
        .get_result(c)?;
    Ok(n > 0)
}

/// Records an attempt; returns its id.
pub fn insert(
    c: &mut DbConn,
    at: NaiveDateTime,
    account: &str,
    known: bool,
    address: &str,
    outcome: &str,
) -> Result<i64, DbError> {
    diesel::insert_into(la::table)
        .values((
            la::at.eq(at),
            la::account.eq(account),
            la::known.eq(known),
            la::address.eq(address),
            la::outcome.eq(outcome),
        ))
        .execute(c)?;
    // Inside the write transaction nobody else inserts meanwhile.
    Ok(la::table
        .select(max(la::id))
        .first::<Option<i64>>(c)?
        .unwrap_or_default())
}

pub fn set_outcome(c: &mut DbConn, id: i64, outcome: &str) -> Result<(), DbError> {
    diesel::update(la::table.find(id))
        .set(la::outcome.eq(outcome))
        .execute(c)?;
    Ok(())
}

/// After a successful sign-in: the failures of this account from this address are forgiven.
pub fn forgive(c: &mut DbConn, account: &str, address: &str) -> Result<(), DbError> {
    diesel::delete(
        la::table
            .filter(la::account.eq(account))
            .filter(la::address.eq(address))
            .filter(la::outcome.eq(FAILURE)),
    )
    .execute(c)?;
    Ok(())
}

/// Deletes attempts older than `before` (the table stays a day deep).
pub fn prune(c: &mut DbConn, before: NaiveDateTime) -> Result<usize, DbError> {
    Ok(diesel::delete(la::table.filter(la::at.lt(before))).execute(c)?)
}

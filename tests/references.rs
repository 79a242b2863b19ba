//! Every reference between the tables an import fills holds on both databases: a row that
//! names a missing parent is refused, and so is removing (or renumbering) a parent that is
//! still named. SQLite checks them with foreign keys; PostgreSQL, since migration 000021,
//! with triggers that check all the rows of a statement at once (its per-row foreign-key
//! checks were most of an import's work there). A refused statement changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, TestDb};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use spotcheck::db::DbConn;
use spotcheck::db::models::Actor;
use spotcheck::db::schema::{assessments, contract_versions, contracts, import_batches, suppliers};
use spotcheck::domain::roles::Role;

/// A database holding one imported and scored register of three contracts.
fn imported(backend: Backend) -> (TestDb, spotcheck::db::Pool) {
    let (db, pool, kari) = common::with_kemner(backend);
    let csv = "Avtalenr;Beskrivelse;Leverandør;Org.nr;Verdi;Startdato\n\
               K-1;Renhold;Rent AS;923609016;100000;01.01.2025\n\
               K-2;Bygg;Bygg AS;991825827;200000;01.01.2025\n\
               K-3;Bilvask;Vask AS;974760673;300000;01.01.2025\n";
    let report = spotcheck::service::imports::import_and_score(
        &pool,
        &common::rules::shipped_rules(),
        &kari,
        "avtaler.csv",
        spotcheck::import::RegisterFile::Bytes(csv.as_bytes()),
        &spotcheck::import::ImportOptions::default(),
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.contracts_created, 3);
    (db, pool)
}

/// The number of rows in each table the statements below touch.
fn counts(conn: &mut DbConn) -> [i64; 5] {
    [
        contracts::table.count().get_result(conn).unwrap(),
        contract_versions::table.count().get_result(conn).unwrap(),
        assessments::table.count().get_result(conn).unwrap(),
        suppliers::table.count().get_result(conn).unwrap(),
        import_batches::table.count().get_result(conn).unwrap(),
    ]
}

/// Statements that each break one reference, by naming a missing parent or by removing or
/// renumbering a parent still named, with the foreign key that refuses them. `{contract}`,
/// `{supplier}` and `{owner}` are stored rows, the owner a user named by nothing else.
const BREAKING: &[(&str, &str)] = &[
    // A child naming a missing parent, inserted or updated.
    (
        "INSERT INTO contract_versions (contract_id, version, batch_id, row_number, created_at) \
         SELECT 987654321, 1, batch_id, 1, created_at FROM contract_versions WHERE contract_id = {contract}",
        "contract_versions_contract_id_fkey",
    ),
    (
        "INSERT INTO contract_versions (contract_id, version, batch_id, row_number, created_at) \
         SELECT contract_id, 99, 987654321, 1, created_at FROM contract_versions WHERE contract_id = {contract}",
        "contract_versions_batch_id_fkey",
    ),
    (
        "UPDATE contracts SET supplier_id = 987654321 WHERE id = {contract}",
        "contracts_supplier_id_fkey",
    ),
    (
        "UPDATE contracts SET first_batch_id = 987654321 WHERE id = {contract}",
        "contracts_first_batch_id_fkey",
    ),
    (
        "UPDATE contracts SET last_batch_id = 987654321 WHERE id = {contract}",
        "contracts_last_batch_id_fkey",
    ),
    (
        "UPDATE contracts SET owner_user_id = 987654321 WHERE id = {contract}",
        "contracts_owner_user_id_fkey",
    ),
    (
        "UPDATE contract_versions SET contract_id = 987654321 WHERE contract_id = {contract}",
        "contract_versions_contract_id_fkey",
    ),
    (
        "UPDATE contract_versions SET batch_id = 987654321 WHERE contract_id = {contract}",
        "contract_versions_batch_id_fkey",
    ),
    (
        "UPDATE assessments SET contract_id = 987654321 WHERE contract_id = {contract}",
        "assessments_contract_id_fkey",
    ),
    (
        "UPDATE assessments SET rule_set_version = 'ingen slik versjon' WHERE contract_id = {contract}",
        "assessments_rule_set_version_fkey",
    ),
    // A parent still named, removed or renumbered.
    (
        "DELETE FROM suppliers WHERE id = {supplier}",
        "contracts_supplier_id_fkey",
    ),
    (
        "UPDATE suppliers SET id = 987654321 WHERE id = {supplier}",
        "contracts_supplier_id_fkey",
    ),
    (
        "DELETE FROM users WHERE id = {owner}",
        "contracts_owner_user_id_fkey",
    ),
    (
        "DELETE FROM contract_versions WHERE contract_id <> {contract}; \
         DELETE FROM contracts WHERE id <> {contract}",
        "assessments_contract_id_fkey",
    ),
    (
        "DELETE FROM contracts WHERE id = {contract}",
        "contract_versions_contract_id_fkey",
    ),
    (
        "UPDATE contracts SET id = 987654321 WHERE id = {contract}",
        "contract_versions_contract_id_fkey",
    ),
    ("DELETE FROM import_batches", "contracts_first_batch_id_fkey"),
    ("DELETE FROM rule_sets", "assessments_rule_set_version_fkey"),
];

/// PostgreSQL's foreign keys (kept) that would refuse some of [`BREAKING`] before the
/// references under test are looked at: dropped in the test's own schema, so that each
/// statement is refused by the check that stands for the reference it breaks.
const MASKING_KEYS: &[(&str, &str)] = &[
    ("suppliers", "suppliers_first_batch_id_fkey"),
    ("import_errors", "import_errors_batch_id_fkey"),
    ("import_staged_updates", "import_staged_updates_batch_id_fkey"),
    ("rule_set_activations", "rule_set_activations_version_fkey"),
];

async fn every_reference_of_an_import_holds(backend: Backend) {
    let (_db, pool) = imported(backend);
    let mut conn = pool.get().unwrap();
    let (contract, supplier): (i64, i64) = contracts::table
        .select((contracts::id, contracts::supplier_id))
        .order(contracts::id)
        .first(&mut conn)
        .unwrap();
    // A user who owns one contract and is named by nothing else.
    let owner = spotcheck::service::users::create_hashed(
        &mut conn,
        &Actor::system(),
        "ola",
        Role::Innkjoper,
        None,
        None,
    )
    .unwrap()
    .id;
    diesel::update(contracts::table.find(contract))
        .set(contracts::owner_user_id.eq(owner))
        .execute(&mut conn)
        .unwrap();
    if backend == Backend::Postgres {
        for (table, key) in MASKING_KEYS {
            diesel::sql_query(format!("ALTER TABLE {table} DROP CONSTRAINT {key}"))
                .execute(&mut conn)
                .unwrap();
        }
    }
    let before = counts(&mut conn);
    for (sql, key) in BREAKING {
        let sql = sql
            .replace("{contract}", &contract.to_string())
            .replace("{supplier}", &supplier.to_string())
            .replace("{owner}", &owner.to_string());
        // Each statement in a transaction of its own that is rolled back, whatever it does.
        let outcome = conn.transaction::<(), Error, _>(|c| {
            for statement in sql.split("; ") {
                diesel::sql_query(statement).execute(c)?;
            }
            Err(Error::RollbackTransaction)
        });
        match outcome {
            Err(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)) => {
                // SQLite names no constraint in its message.
                if backend == Backend::Postgres {
                    assert_eq!(info.constraint_name(), Some(*key), "{sql}: {}", info.message());
                }
            }
            other => panic!("{backend:?}: `{sql}` was not refused as a broken reference: {other:?}"),
        }
        assert_eq!(counts(&mut conn), before, "{backend:?}: `{sql}` changed rows");
    }
    // What keeps every reference goes through: a new version of a stored contract, a
    // contract moved to another stored supplier, and then the supplier it left removed.
    let other_supplier: i64 = suppliers::table
        .select(suppliers::id)
        .filter(suppliers::id.ne(supplier))
        .first(&mut conn)
        .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO contract_versions (contract_id, version, batch_id, row_number, created_at) \
         SELECT contract_id, 2, batch_id, 1, created_at FROM contract_versions WHERE contract_id = {contract}"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!(
        "UPDATE contracts SET supplier_id = {other_supplier} WHERE id = {contract}"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!("DELETE FROM suppliers WHERE id = {supplier}"))
        .execute(&mut conn)
        .unwrap();
    let after = counts(&mut conn);
    assert_eq!((after[1], after[3]), (before[1] + 1, before[3] - 1));
}

backend_tests!(every_reference_of_an_import_holds);

/// Reverting PostgreSQL's migration 000021 puts the foreign keys back, and they hold.
#[test]
#[cfg_attr(
    not(spotcheck_pg_tests),
    ignore = "PostgreSQL suite off: set SPOTCHECK_TEST_DATABASE_URL"
)]
fn postgres_reverted_to_foreign_keys_still_refuses_broken_references() {
    let (_db, pool) = imported(Backend::Postgres);
    let mut conn = pool.get().unwrap();
    common::revert_through(&mut conn, "20261207000021");
    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let keys: Named = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f' AND conname IN (\
         'contracts_supplier_id_fkey', 'contracts_first_batch_id_fkey', 'contracts_last_batch_id_fkey', \
         'contracts_owner_user_id_fkey', 'contract_versions_contract_id_fkey', \
         'contract_versions_batch_id_fkey', 'assessments_contract_id_fkey', \
         'assessments_rule_set_version_fkey') AND connamespace = current_schema()::regnamespace",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(keys.n, 8, "the eight foreign keys are back");
    let contract: i64 = contracts::table.select(contracts::id).first(&mut conn).unwrap();
    match diesel::sql_query(format!(
        "UPDATE contracts SET supplier_id = 987654321 WHERE id = {contract}"
    ))
    .execute(&mut conn)
    {
        Err(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {}
        other => panic!("not refused after the revert: {other:?}"),
    }
}

/// PostgreSQL's reference triggers lock the parents they check, as foreign keys do: a
/// parent named by another writer's uncommitted row cannot be deleted until that writer
/// commits (and then is refused), and a row cannot name a parent another writer is deleting
/// (it waits, then is refused). Without the lock both would leave a row naming nothing.
#[test]
#[cfg_attr(
    not(spotcheck_pg_tests),
    ignore = "PostgreSQL suite off: set SPOTCHECK_TEST_DATABASE_URL"
)]
fn postgres_reference_checks_lock_the_parents_they_check() {
    use diesel::connection::SimpleConnection;

    let (_db, pool) = imported(Backend::Postgres);
    let (mut a, mut b) = (pool.get().unwrap(), pool.get().unwrap());
    let rows: Vec<(i64, i64)> = contracts::table
        .select((contracts::id, contracts::supplier_id))
        .order(contracts::id)
        .load(&mut a)
        .unwrap();
    let [(c1, s1), (c2, s2), (c3, s3)] = rows[..] else {
        panic!("three contracts: {rows:?}")
    };
    // The first and third suppliers named by no contract.
    for c in [c1, c3] {
        diesel::update(contracts::table.find(c))
            .set(contracts::supplier_id.eq(s2))
            .execute(&mut a)
            .unwrap();
    }
    let refused = |r: QueryResult<usize>| {
        matches!(
            r,
            Err(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _))
        )
    };
    let timed_out = |r: QueryResult<usize>| match r {
        Err(Error::DatabaseError(_, info)) => info.message().contains("lock timeout"),
        _ => false,
    };
    a.batch_execute("SET lock_timeout = '300ms'").unwrap();
    b.batch_execute("SET lock_timeout = '300ms'").unwrap();

    // A names the first supplier and has not committed: B cannot delete it meanwhile.
    a.batch_execute(&format!(
        "BEGIN; UPDATE contracts SET supplier_id = {s1} WHERE id = {c2}"
    ))
    .unwrap();
    let delete_s1 = format!("DELETE FROM suppliers WHERE id = {s1}");
    assert!(
        timed_out(diesel::sql_query(&delete_s1).execute(&mut b)),
        "B deleted a supplier A's write names"
    );
    a.batch_execute("COMMIT").unwrap();
    assert!(
        refused(diesel::sql_query(&delete_s1).execute(&mut b)),
        "after A's commit, the delete is refused"
    );

    // B deletes the third supplier and has not committed: A cannot name it meanwhile.
    b.batch_execute(&format!("BEGIN; DELETE FROM suppliers WHERE id = {s3}"))
        .unwrap();
    let name_s3 = format!("UPDATE contracts SET supplier_id = {s3} WHERE id = {c1}");
    assert!(
        timed_out(diesel::sql_query(&name_s3).execute(&mut a)),
        "A named a supplier B is deleting"
    );
    b.batch_execute("COMMIT").unwrap();
    assert!(
        refused(diesel::sql_query(&name_s3).execute(&mut a)),
        "after B's commit, naming it is refused"
    );

    let supplier_of_c2: i64 = contracts::table
        .find(c2)
        .select(contracts::supplier_id)
        .first(&mut a)
        .unwrap();
    assert_eq!(supplier_of_c2, s1, "A's write stands, and its supplier with it");
    a.batch_execute("RESET lock_timeout").unwrap();
    b.batch_execute("RESET lock_timeout").unwrap();
}

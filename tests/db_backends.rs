//! Both migration trees hold the same versions, and after migrating, every table in the
//! shared schema loads on both backends with the types schema.rs declares.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::type_complexity)]

mod common;

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use common::{Backend, TestDb};
use diesel::prelude::*;
use spotcheck::db::schema::*;

fn versions(dir: &str) -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_trees_hold_the_same_versions() {
    let sqlite = versions("sqlite");
    let postgres = versions("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must hold the same versions"
    );
    for v in &sqlite {
        for backend in ["sqlite", "postgres"] {
            for f in ["up.sql", "down.sql"] {
                let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations")
                    .join(backend)
                    .join(v)
                    .join(f);
                assert!(p.is_file(), "missing {}", p.display());
            }
        }
    }
}

async fn every_table_loads(backend: Backend) {
    let db = TestDb::new(backend);
    let pool = spotcheck::db::connect(&db.target(), 1).expect("connect and migrate");
    let mut conn = pool.get().unwrap();
    // Migrating twice is a no-op.
    assert!(spotcheck::db::run_migrations(&mut conn).unwrap().is_empty());

    let _: Vec<(i32, i64)> = write_lock::table
        .select(write_lock::all_columns)
        .load(&mut conn)
        .unwrap();
    let _: Vec<(
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        bool,
        NaiveDateTime,
        NaiveDateTime,
        Option<String>,
    )> = users::table.select(users::all_columns).load(&mut conn).unwrap();
    let _: Vec<(
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<i64>,
        bool,
        NaiveDateTime,
        NaiveDateTime,
    )> = liaisons::table
        .select(liaisons::all_columns)
        .load(&mut conn)
        .unwrap();
    let _: Vec<(i64, String, NaiveDateTime)> = case_shares::table
        .select(case_shares::all_columns)
        .load(&mut conn)
        .unwrap();
    let _: Vec<(i64, String, i64, NaiveDateTime)> = case_close_proposals::table
        .select(case_close_proposals::all_columns)
        .load(&mut conn)
        .unwrap();
    let _: Vec<(
        i64,
        i64,
        NaiveDateTime,
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    )> = case_events::table
        .select(case_events::all_columns)
        .load(&mut conn)
        .unwrap();
    let _: Vec<(
        i64,
        i64,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        bool,
        Option<NaiveDateTime>,
    )> = api_tokens::table
        .select(api_tokens::all_columns)
        .load(&mut conn)
        .unwrap();
    let _: Vec<(i64, String, i64, String, NaiveDateTime, NaiveDateTime)> = sessions::table
        .select(sessions::all_columns)
        .load(&mut conn)
        .unwrap();
    let _: Vec<(
        i64,
        NaiveDateTime,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    )> = audit_log::table
        .select(audit_log::all_columns)
        .load(&mut conn)
        .unwrap();
}

async fn foreign_keys_are_enforced(backend: Backend) {
    let db = TestDb::new(backend);
    let pool = spotcheck::db::connect(&db.target(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let now = chrono::Utc::now().naive_utc();
    let r = diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq("x"),
            sessions::user_id.eq(424242i64),
            sessions::csrf_token.eq("y"),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(now),
        ))
        .execute(&mut conn);
    assert!(r.is_err(), "a session for a missing user must be refused");
}

backend_tests!(every_table_loads, foreign_keys_are_enforced);

/// The bundled SQLite is built as `.cargo/config.toml` asks (LIBSQLITE3_FLAGS): without the
/// per-call mutexes diesel does not need and without global memory statistics. A build that
/// lost the setting still works, only slower; this says so instead of leaving it to a
/// benchmark.
#[test]
fn bundled_sqlite_is_built_for_one_thread_per_connection() {
    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }
    let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
    let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
        .load::<CompileOption>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|o| o.compile_options)
        .collect();
    assert!(options.iter().any(|o| o == "THREADSAFE=2"), "{options:?}");
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
}

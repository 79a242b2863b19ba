//! A long import does not stop other users, and keeps its all-or-nothing promise: chunks are
//! committed one by one so other writers get their turn, but nothing of the batch can be
//! seen until its final step; a batch abandoned by a killed process is invisible and is
//! removed the next time the database is opened. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestDb, run_cli};
use diesel::prelude::*;
use spotcheck::db::models::Actor;
use spotcheck::db::schema::{
    assessments, contract_risk, contracts, import_batches, import_staged_risk, suppliers,
};
use spotcheck::domain::liaison::LiaisonDraft;

/// A register of `n` contracts over 4 suppliers.
fn register(n: usize) -> String {
    let orgnrs = ["923609016", "991825827", "974760673", "937052766"];
    let mut csv = String::from("Avtalenr;Beskrivelse;Leverandør;Org.nr;Verdi;Startdato;Sluttdato;Enhet\n");
    for i in 0..n {
        csv.push_str(&format!(
            "K-{i:06};Renhold {i};Leverandør {} AS;{};{};01.01.2025;31.12.2027;Enhet {}\n",
            i % 50,
            orgnrs[i % 4],
            10_000 + i,
            i % 7
        ));
    }
    csv
}

fn filter() -> spotcheck::db::models::contracts::ContractFilter {
    spotcheck::db::models::contracts::ContractFilter {
        page: 1,
        per_page: 10,
        ..Default::default()
    }
}

fn staging_batches(conn: &mut spotcheck::db::DbConn) -> i64 {
    import_batches::table
        .filter(import_batches::state.eq("staging"))
        .count()
        .get_result(conn)
        .unwrap()
}

async fn others_write_while_an_import_stores(backend: Backend) {
    let (_db, pool, kari) = common::with_kemner(backend);
    let rules = common::rules::shipped_rules();
    let csv = register(60_000);
    let importer = {
        let (pool, kari) = (pool.clone(), kari.clone());
        std::thread::spawn(move || {
            spotcheck::service::imports::import_and_score(
                &pool,
                &common::rules::shipped_rules(),
                &kari,
                "stor.csv",
                spotcheck::import::RegisterFile::Bytes(csv.as_bytes()),
                &spotcheck::import::ImportOptions::default(),
                false,
                &mut |_| {},
            )
            .unwrap()
        })
    };
    // While the import stores: writes go through, and what the batch has stored so far is
    // there in the tables but shown by no read.
    let mut writes_during_import = 0;
    let mut hidden_seen = false;
    let mut i = 0;
    while !importer.is_finished() {
        let mut conn = pool.get().unwrap();
        let draft = LiaisonDraft {
            name: format!("Kontakt {i}"),
            agency: "nav".into(),
            email: format!("k{i}@nav.test"),
            industries: Vec::new(),
            notices: vec!["draw_published".into()],
            user: None,
        };
        spotcheck::service::liaisons::create(&mut conn, &Actor::system(), &rules, &draft).unwrap();
        i += 1;
        if staging_batches(&mut conn) == 1 {
            writes_during_import += 1;
            let stored: i64 = contracts::table.count().get_result(&mut conn).unwrap();
            let page = spotcheck::db::models::contracts::list(&mut conn, &filter()).unwrap();
            // Still staging after the list (a batch never goes back to staging): the list was
            // read while the batch stored.
            // The chunks are scored as they are stored: their assessments are in the history,
            // their new contracts' risk rows too, and no read counts them before the batch
            // is done.
            let assessed: i64 = assessments::table.count().get_result(&mut conn).unwrap();
            let indexed: i64 = contract_risk::table.count().get_result(&mut conn).unwrap();
            let tiers = spotcheck::db::models::assessments::tier_counts(&mut conn).unwrap();
            let digest_counts = spotcheck::db::models::notices::risk_counts(&mut conn).unwrap();
            if stored > 0 && staging_batches(&mut conn) == 1 {
                assert_eq!(
                    page.total, 0,
                    "{stored} contracts stored, none shown before the batch is done"
                );
                assert!(
                    tiers.is_empty() && digest_counts.is_empty(),
                    "{assessed} assessments and {indexed} risk rows stored, none counted yet: {tiers:?} {digest_counts:?}"
                );
                hidden_seen = hidden_seen || (assessed > 0 && indexed > 0);
            }
        }
        drop(conn);
        std::thread::sleep(Duration::from_millis(5));
    }
    let report = importer.join().unwrap();
    assert_eq!(report.contracts_created, 60_000);
    assert!(
        writes_during_import > 0,
        "other writers committed while the import was storing"
    );
    assert!(hidden_seen, "stored chunks were seen, hidden");
    let mut conn = pool.get().unwrap();
    let page = spotcheck::db::models::contracts::list(&mut conn, &filter()).unwrap();
    assert_eq!(
        (page.total, page.total_exact),
        (10_000, false),
        "a count stops at 10 000"
    );
    // The whole batch is shown once done: the 6 000th page of 10 is full and the last.
    let last = spotcheck::db::models::contracts::list(
        &mut conn,
        &spotcheck::db::models::contracts::ContractFilter {
            page: 6_000,
            ..filter()
        },
    )
    .unwrap();
    assert_eq!(last.items.len(), 10, "the whole batch is shown once done");
    assert!(last.next_cursor.is_none(), "and no more: 60 000 contracts");
    assert!(page.items.iter().all(|c| c.risk.is_some()), "with its scores");
    let current: i64 = contract_risk::table.count().get_result(&mut conn).unwrap();
    assert_eq!(current, 60_000);
    let staged: i64 = import_staged_risk::table.count().get_result(&mut conn).unwrap();
    assert_eq!(staged, 0);
    assert_eq!(staging_batches(&mut conn), 0);
    assert!(matches!(
        spotcheck::db::models::audit::verify(&mut conn).unwrap(),
        spotcheck::db::models::audit::ChainStatus::Intact { .. }
    ));
}

/// `spotcheck import FILE` as a process of its own on `db`, with the shipped rules.
fn spawn_import(db: &TestDb, path: &std::path::Path) -> std::process::Child {
    std::process::Command::new(common::bin())
        .args(["import", path.to_str().unwrap()])
        .env_remove("SPOTCHECK_CONFIG")
        .env("SPOTCHECK_DATABASE_URL", &db.url)
        .env("SPOTCHECK_DATA_DIR", db.dir.path().join("data"))
        .env("SPOTCHECK_RULES_DIR", db.settings().rules_dir.unwrap())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn a_killed_import_leaves_nothing_after_restart(backend: Backend) {
    let db = TestDb::new(backend);
    std::fs::write(db.dir.path().join("stor.csv"), register(150_000)).unwrap();
    let path = db.dir.path().join("stor.csv");
    let mut child = spawn_import(&db, &path);
    // Kill it once it has stored some chunks and the assessments of some (a chunk's are
    // stored with the chunk after it).
    let deadline = Instant::now() + Duration::from_secs(120);
    let stored = loop {
        assert!(Instant::now() < deadline, "the import never started storing");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished before it could be killed"
        );
        let mut conn = db.raw_conn();
        let n: i64 = contracts::table.count().get_result(&mut conn).unwrap_or(0);
        let assessed: i64 = assessments::table.count().get_result(&mut conn).unwrap_or(0);
        if n > 0 && assessed > 0 {
            break n;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let mut conn = db.raw_conn();
    assert_eq!(staging_batches(&mut conn), 1, "the killed batch is left staging");
    assert!(stored > 0);
    let shown = spotcheck::db::models::contracts::list(&mut conn, &filter()).unwrap();
    assert_eq!(shown.total, 0, "and invisible");
    let scored: (i64, i64) = (
        assessments::table.count().get_result(&mut conn).unwrap(),
        contract_risk::table.count().get_result(&mut conn).unwrap(),
    );
    assert!(
        scored.0 > 0 && scored.1 > 0,
        "its chunks were scored as they were stored: {scored:?}"
    );
    // Once its heartbeat is stale, the next start removes it whole.
    std::thread::sleep(Duration::from_secs(
        spotcheck::db::models::imports::ABANDONED_AFTER_SECONDS as u64 + 1,
    ));
    let (ok, out, err) = run_cli(&db, &["users", "list"], &[]);
    assert!(ok, "{out}{err}");
    let count = |conn: &mut spotcheck::db::DbConn| -> (i64, i64, i64) {
        (
            import_batches::table.count().get_result(conn).unwrap(),
            contracts::table.count().get_result(conn).unwrap(),
            suppliers::table.count().get_result(conn).unwrap(),
        )
    };
    assert_eq!(
        count(&mut conn),
        (0, 0, 0),
        "the batch is wholly absent after the restart"
    );
    let left: (i64, i64, i64) = (
        assessments::table.count().get_result(&mut conn).unwrap(),
        contract_risk::table.count().get_result(&mut conn).unwrap(),
        import_staged_risk::table.count().get_result(&mut conn).unwrap(),
    );
    assert_eq!(left, (0, 0, 0), "with its assessments");
    // And an import runs cleanly afterwards.
    let small = db.dir.path().join("liten.csv");
    std::fs::write(&small, register(10)).unwrap();
    let (ok, out, err) = run_cli(&db, &["import", small.to_str().unwrap()], &[]);
    assert!(ok, "{out}{err}");
    assert_eq!(count(&mut conn), (1, 10, 4));
}

/// A second register changes half of the contracts and brings new ones: the changed
/// contracts' risk points at their version 2 once the batch is done, the new ones have theirs,
/// nothing stays staged, and the unchanged contracts keep the assessment they had.
async fn a_changing_import_moves_the_risk_of_what_it_changed(backend: Backend) {
    let (_db, pool, kari) = common::with_kemner(backend);
    let rules = common::rules::shipped_rules();
    let import = |csv: String, name: &str| {
        spotcheck::service::imports::import_and_score(
            &pool,
            &rules,
            &kari,
            name,
            spotcheck::import::RegisterFile::Bytes(csv.as_bytes()),
            &spotcheck::import::ImportOptions::default(),
            false,
            &mut |_| {},
        )
        .unwrap()
    };
    let first = import(register(3_000), "en.csv");
    assert_eq!(first.contracts_created, 3_000);
    let mut conn = pool.get().unwrap();
    let before: std::collections::HashMap<String, i64> = contract_risk::table
        .inner_join(contracts::table)
        .select((contracts::contract_no, contract_risk::assessment_id))
        .load::<(String, i64)>(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(before.len(), 3_000);
    // Even contracts get another value; 1 000 new ones follow.
    let second: String = register(4_000)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let changed = i > 0 && i <= 3_000 && (i - 1).is_multiple_of(2);
            let line = if changed {
                line.replacen(";Renhold ", ";Renhold endret ", 1)
            } else {
                line.to_owned()
            };
            line + "\n"
        })
        .collect();
    let report = import(second, "to.csv");
    assert_eq!(
        (
            report.contracts_created,
            report.contracts_updated,
            report.contracts_unchanged
        ),
        (1_000, 1_500, 1_500)
    );
    let now: Vec<(String, i64, Option<i32>)> = contract_risk::table
        .inner_join(contracts::table)
        .inner_join(assessments::table)
        .select((
            contracts::contract_no,
            contract_risk::assessment_id,
            assessments::contract_version,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(now.len(), 4_000, "every contract has its risk row");
    for (no, assessment_id, version) in &now {
        let n: usize = no.trim_start_matches("K-").parse().unwrap();
        match before.get(no) {
            None => assert_eq!(*version, Some(1), "{no} is new"),
            Some(old) if n.is_multiple_of(2) => {
                assert_eq!(*version, Some(2), "{no} changed");
                assert_ne!(assessment_id, old);
            }
            Some(old) => assert_eq!(assessment_id, old, "{no} unchanged keeps its assessment"),
        }
    }
    let staged: i64 = import_staged_risk::table.count().get_result(&mut conn).unwrap();
    assert_eq!(staged, 0, "nothing left staged");
}

/// `spotcheck import` ends with its database whole: the import's background checkpoint
/// waited for, then the write-ahead log copied in and removed as the last connection closes,
/// so the log does not stay on disk and the next program to open the database does not pay
/// for copying it.
#[test]
fn a_cli_import_ends_with_its_database_whole() {
    let db = TestDb::new(Backend::Sqlite);
    let file = db.dir.path().join("register.csv");
    std::fs::write(&file, register(5_000)).unwrap();
    let (ok, _, err) = run_cli(&db, &["import", file.to_str().unwrap()], &[]);
    assert!(ok, "{err}");
    let wal = std::path::PathBuf::from(format!("{}-wal", db.url));
    assert!(
        !wal.exists(),
        "a write-ahead log of {} bytes is left beside the database",
        wal.metadata().map(|m| m.len()).unwrap_or(0)
    );
    let stored: i64 = contracts::table.count().get_result(&mut db.raw_conn()).unwrap();
    assert_eq!(stored, 5_000);
}

/// A supplier's own history reads the partial index of supplier-level assessments, which
/// takes no contract assessment (migration 000018): an import does not touch it.
#[test]
fn the_supplier_history_reads_its_partial_index() {
    let db = TestDb::new(Backend::Sqlite);
    let pool = spotcheck::db::connect(&db.target(), 1).expect("connect and migrate");
    let mut conn = pool.get().unwrap();
    let plan = spotcheck::db::models::assessments::sqlite_supplier_history_plan(&mut conn, "923609016")
        .unwrap()
        .join("\n");
    assert!(plan.contains("INDEX assessments_supplier (orgnr=?)"), "{plan}");
    assert!(
        !plan.contains("TEMP B-TREE"),
        "sorted by the index, not afterwards: {plan}"
    );
    #[derive(QueryableByName)]
    struct Sql {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sql: String,
    }
    let index = diesel::sql_query("SELECT sql FROM sqlite_master WHERE name = 'assessments_supplier'")
        .get_result::<Sql>(&mut conn)
        .unwrap()
        .sql;
    assert!(index.contains("WHERE subject = 'supplier'"), "{index}");
}

/// The migration that took the foreign keys and the input hash off the risk index.
const LEAN_RISK_INDEX: &str = "20261207000017";

/// Rows of the risk index as `(contract, assessment, result hash)`, in contract order.
fn risk_rows(conn: &mut spotcheck::db::DbConn) -> Vec<(i64, i64, Option<String>)> {
    contract_risk::table
        .order(contract_risk::contract_id.asc())
        .select((
            contract_risk::contract_id,
            contract_risk::assessment_id,
            contract_risk::result_sha256,
        ))
        .load(conn)
        .unwrap()
}

/// The foreign keys `table` has.
fn foreign_keys(conn: &mut spotcheck::db::DbConn, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = match conn {
        spotcheck::db::DbConn::Sqlite(_) => {
            format!("SELECT COUNT(*) AS n FROM pragma_foreign_key_list('{table}')")
        }
        spotcheck::db::DbConn::Postgresql(_) => format!(
            "SELECT COUNT(*) AS n FROM pg_constraint WHERE contype = 'f' AND conrelid = '{table}'::regclass"
        ),
    };
    diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
}

async fn the_lean_risk_index_keeps_every_row(backend: Backend) {
    use diesel::connection::SimpleConnection;

    let db = TestDb::new(backend);
    let mut raw = db.raw_conn();
    common::migrate_before(&mut raw, LEAN_RISK_INDEX);
    // Two scored contracts and a changed one's staged assessment, as the code before stored them.
    let t = "'2026-01-01 00:00:00'";
    raw.batch_execute(&format!(
        "INSERT INTO users (id, username, role, created_at, updated_at) VALUES (901, 'anne', 'innkjoper', {t}, {t});
         INSERT INTO import_batches (id, file_name, sha256, size_bytes, format, sheet, header_row,
             mapping, uploader_id, created_at, rows_total, rows_imported, rows_rejected,
             contracts_created, contracts_updated, contracts_unchanged, suppliers_created) VALUES
             (1, 'a.xlsx', 'aaa', 10, 'xlsx', 'Ark1', 1, '{{}}', 901, {t}, 2, 2, 0, 2, 0, 0, 1),
             (2, 'b.xlsx', 'bbb', 10, 'xlsx', 'Ark1', 1, '{{}}', 901, {t}, 1, 1, 0, 0, 1, 0, 0);
         INSERT INTO suppliers (id, orgnr, name, first_batch_id, created_at, updated_at)
             VALUES (1, '923609016', 'Rent og Pent AS', 1, {t}, {t});
         INSERT INTO contracts (id, contract_no, supplier_id, supplier_name, orgnr, extras, version,
             data_sha256, first_batch_id, last_batch_id, created_at, updated_at, owner_user_id) VALUES
             (1, 'K-1', 1, 'Rent og Pent AS', '923609016', '{{}}', 1, 's1', 1, 1, {t}, {t}, 901),
             (2, 'K-2', 1, 'Rent og Pent AS', '923609016', '{{}}', 1, 's1', 1, 1, {t}, {t}, 901);
         INSERT INTO rule_sets (id, version, files, created_at) VALUES (1, 'v1', '[]', {t}), (2, 'v2', '[]', {t});
         INSERT INTO assessments (id, subject, contract_id, contract_version, orgnr, rule_set_version,
             input_sha256, as_of, score, max_possible_score, tier, industries, explanation, reason,
             assessed_at) VALUES
             (1, 'contract', 1, 1, '923609016', 'v1', 'in-1', '2026-01-01', 3, 10, 'lav', ',,', '', 'import', {t}),
             (2, 'contract', 2, 1, '923609016', 'v2', 'in-2', '2026-01-01', 7, 10, 'høy', ',,', '', 'import', {t}),
             (3, 'contract', 2, 2, '923609016', 'v2', 'in-3', '2026-01-01', 1, 10, 'lav', ',,', '', 'import', {t});
         INSERT INTO contract_risk (contract_id, assessment_id, score, max_possible_score, tier,
             industries, rule_set_version, input_sha256, result_sha256, assessed_at) VALUES
             (1, 1, 3, 10, 'lav', ',,', 'v1', 'in-1', 'r-1', {t}),
             (2, 2, 7, 10, 'høy', ',,', 'v2', 'in-2', 'r-2', {t});
         INSERT INTO import_staged_risk (batch_id, contract_id, assessment_id, score,
             max_possible_score, tier, industries, rule_set_version, input_sha256, result_sha256,
             assessed_at) VALUES (2, 2, 3, 1, 10, 'lav', ',,', 'v2', 'in-3', 'r-3', {t});"
    ))
    .unwrap();
    let before = risk_rows(&mut raw);
    assert_eq!(foreign_keys(&mut raw, "contract_risk"), 2);

    spotcheck::db::run_migrations(&mut raw).unwrap();
    assert_eq!(risk_rows(&mut raw), before, "every index row, as it was");
    let staged: Vec<(i64, i64, Option<String>)> = import_staged_risk::table
        .select((
            import_staged_risk::contract_id,
            import_staged_risk::assessment_id,
            import_staged_risk::result_sha256,
        ))
        .load(&mut raw)
        .unwrap();
    assert_eq!(staged, [(2, 3, Some("r-3".to_owned()))]);
    assert_eq!(foreign_keys(&mut raw, "contract_risk"), 0);
    assert_eq!(foreign_keys(&mut raw, "import_staged_risk"), 0);
    // What tells a rescore whether an assessment says anything new: the input hash now comes
    // from the assessment the index points at.
    let marks = spotcheck::db::models::assessments::current_contract_marks(&mut raw).unwrap();
    let inputs: Vec<(i64, &str, Option<&str>)> = [1, 2]
        .iter()
        .map(|id| {
            let m = &marks[id];
            (*id, m.input_sha256.as_str(), m.result_sha256.as_deref())
        })
        .collect();
    assert_eq!(inputs, [(1, "in-1", Some("r-1")), (2, "in-2", Some("r-2"))]);
    // So does the rule-set version, since migration 000020.
    let versions: Vec<(i64, &str)> = [1, 2]
        .iter()
        .map(|id| (*id, marks[id].rule_set_version.as_str()))
        .collect();
    assert_eq!(versions, [(1, "v1"), (2, "v2")]);

    // And back (the later migrations first): the input hashes return from the assessments,
    // with the foreign keys.
    common::revert_through(&mut raw, LEAN_RISK_INDEX);
    assert_eq!(foreign_keys(&mut raw, "contract_risk"), 2);
    assert_eq!(foreign_keys(&mut raw, "import_staged_risk"), 1);
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Input {
        #[diesel(sql_type = diesel::sql_types::Text)]
        input_sha256: String,
    }
    let inputs = diesel::sql_query(
        "SELECT input_sha256 FROM contract_risk UNION ALL SELECT input_sha256 FROM import_staged_risk ORDER BY 1",
    )
    .load::<Input>(&mut raw)
    .unwrap();
    assert_eq!(
        inputs.iter().map(|i| i.input_sha256.as_str()).collect::<Vec<_>>(),
        ["in-1", "in-2", "in-3"]
    );
    // And the rule-set versions, from the assessments too (migration 000020's way back).
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        contract_id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        rule_set_version: String,
    }
    let versions = diesel::sql_query(
        "SELECT contract_id, rule_set_version FROM contract_risk
         UNION ALL SELECT contract_id, rule_set_version FROM import_staged_risk ORDER BY 1, 2",
    )
    .load::<Version>(&mut raw)
    .unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.contract_id, v.rule_set_version.as_str()))
            .collect::<Vec<_>>(),
        [(1, "v1"), (2, "v2"), (2, "v2")]
    );
}

backend_tests!(
    the_lean_risk_index_keeps_every_row,
    others_write_while_an_import_stores,
    a_changing_import_moves_the_risk_of_what_it_changed,
    a_killed_import_leaves_nothing_after_restart
);

/// `spotcheck import` beside another process's writer on one SQLite database: while that
/// writer says it waits for the write lock (`db::writer_turns`), the import stores no further
/// chunk; once it has had its turn, the import goes on and finishes.
#[test]
fn a_cli_import_lets_another_process_write_first() {
    let db = TestDb::new(Backend::Sqlite);
    let path = db.dir.path().join("stor.csv");
    std::fs::write(&path, register(60_000)).unwrap();
    let mut child = spawn_import(&db, &path);
    let mut conn = diesel::SqliteConnection::establish(&db.url).unwrap();
    let stored = |conn: &mut diesel::SqliteConnection| -> i64 {
        contracts::table.count().get_result(conn).unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored(&mut conn) == 0 {
        assert!(Instant::now() < deadline, "the import never started storing");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished too soon"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A writer of this process says it waits (it never takes the lock here, so the import
    // pauses for as long as the turn allows: two seconds).
    let waiting = spotcheck::db::writer_turns::WaitingWriter::announce(&mut conn).expect("a lock file");
    // The chunk being stored when the writer came may still commit.
    std::thread::sleep(Duration::from_millis(500));
    let before = stored(&mut conn);
    std::thread::sleep(Duration::from_millis(1000));
    let after = stored(&mut conn);
    assert!(child.try_wait().unwrap().is_none(), "the import did not pause");
    assert_eq!(
        before, after,
        "the import stored chunks while another writer waited"
    );
    drop(waiting);
    assert!(child.wait().unwrap().success());
    assert_eq!(stored(&mut conn), 60_000);
}

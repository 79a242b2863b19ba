//! Issue 16, item 1: contracts belong to their owner. Over the real HTTP stack, the CLI and
//! the migrations, on SQLite and PostgreSQL:
//! - an innkjøper's import creates and updates only their own contracts; a row whose number
//!   another owner holds is refused with a message that names nothing of that contract, and
//!   counts as rejected (never as updated or unchanged), also in a dry run;
//! - a file is recognised as already imported per uploader: the same bytes from someone else
//!   are judged on their own;
//! - nobody reads a contract, its assessment or its history outside their scope (404);
//! - Kemneren, the administrator and the CLI move a contract to another owner, audited; an
//!   innkjøper may not (403);
//! - the migration gives existing contracts the uploader of the batch that created them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::workbook::xlsx;
use common::{Backend, PASSWORD, TestApp, TestDb, run_cli};
use serde_json::{Value, json};
use spotcheck::domain::roles::{Agency, Role};

/// The Norwegian message of a refused row, in part.
const TAKEN: &str = "allerede registrert av en annen enhet i kommunen";

/// A register: (contract number, supplier, org number, value text).
fn register(rows: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    xlsx(
        &["Avtalenr", "Leverandør", "Org.nr", "Kontraktsverdi", "Startdato"],
        rows.iter().map(|&(no, name, orgnr, value)| {
            vec![
                no.into(),
                name.into(),
                orgnr.into(),
                value.into(),
                "01.01.2025".into(),
            ]
        }),
    )
}

/// Anne's register: two cleaning contracts.
fn annes_register() -> Vec<u8> {
    register(&[
        ("K-1", "Rent og Pent AS", "923609016", "100 000"),
        ("K-2", "Rent og Pent AS", "923609016", "kr 250 000"),
    ])
}

async fn json_of(resp: reqwest::Response) -> Value {
    resp.json().await.unwrap()
}

/// The contracts a token's holder sees, by contract number.
async fn contract_numbers(app: &TestApp, token: &str) -> Vec<String> {
    let page = json_of(
        app.api_get("/api/v1/contracts?sort=contract_no&per_page=500", token)
            .await,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contract_no"].as_str().unwrap().to_owned())
        .collect()
}

/// A contract as Kemneren sees it.
async fn contract(app: &TestApp, kemner: &str, no: &str) -> Value {
    let page = json_of(
        app.api_get("/api/v1/contracts?sort=contract_no&per_page=500", kemner)
            .await,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contract_no"] == no)
        .unwrap_or_else(|| panic!("no contract {no} in {page}"))
        .clone()
}

async fn put_owner(app: &TestApp, token: &str, id: i64, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/contracts/{id}/owner")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The audit entries about contract `id`, oldest first: (actor, action, detail).
fn contract_audit(app: &TestApp, id: i64) -> Vec<(String, String, Value)> {
    let mut conn = app.pool.get().unwrap();
    let mut rows = spotcheck::service::users::recent_audit(&mut conn, 1000).unwrap();
    rows.reverse();
    rows.into_iter()
        .filter(|r| r.object_type == "contract" && r.object_id == id.to_string())
        .map(|r| (r.actor, r.action, serde_json::from_str(&r.detail).unwrap()))
        .collect()
}

fn audit_is_intact(app: &TestApp) {
    let mut conn = app.pool.get().unwrap();
    assert!(matches!(
        spotcheck::service::users::verify_audit(&mut conn).unwrap(),
        spotcheck::service::users::ChainStatus::Intact { .. }
    ));
}

/// Before the fix, Bjørn's upload rewrote Anne's K-1 (supplier, amount, and so industry and
/// score) and reported K-2 as "unchanged", telling him it exists.
async fn an_import_never_touches_another_owners_contract(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("anne", Role::Innkjoper, None);
    app.add_user("bjorn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    let (anne, bjorn, kem) = (
        app.token_for("anne"),
        app.token_for("bjorn"),
        app.token_for("kem"),
    );
    let r = app.upload(&anne, "anne.xlsx", annes_register(), &[]).await;
    assert_eq!(r.status(), 201);
    let k1_before = contract(&app, &kem, "K-1").await;
    let k1_id = k1_before["id"].as_i64().unwrap();
    let history_before = json_of(
        app.api_get(&format!("/api/v1/contracts/{k1_id}/assessment"), &kem)
            .await,
    )
    .await;
    let suppliers_before = app.count("suppliers");

    // Bjørn's register: K-1 with other data, K-2 exactly as Anne's, and a contract of his own.
    let bjorns = register(&[
        ("K-1", "Billig Vask AS", "991825827", "1"),
        ("K-2", "Rent og Pent AS", "923609016", "kr 250 000"),
        ("B-1", "Ny Leverandør AS", "974760673", "50 000"),
    ]);
    // The dry run says what the import will do.
    let r = app
        .upload(&bjorn, "bjorn.xlsx", bjorns.clone(), &[("dry_run", "true")])
        .await;
    assert_eq!(r.status(), 200);
    let dry = json_of(r).await;
    assert_eq!(dry["batch_id"], Value::Null);
    assert_eq!(
        (dry["rows_imported"].as_u64(), dry["rows_rejected"].as_u64()),
        (Some(1), Some(2))
    );

    let r = app.upload(&bjorn, "bjorn.xlsx", bjorns, &[]).await;
    assert_eq!(r.status(), 201);
    let rep = json_of(r).await;
    assert_eq!(rep["rows_total"], 3);
    assert_eq!(rep["rows_imported"], 1);
    assert_eq!(rep["rows_rejected"], 2);
    // The counts say nothing of Anne's contracts: no update, nothing "unchanged".
    assert_eq!(rep["contracts_created"], 1);
    assert_eq!(rep["contracts_updated"], 0);
    assert_eq!(rep["contracts_unchanged"], 0);
    assert_eq!(
        rep["suppliers_created"], 1,
        "the refused row's supplier is not stored"
    );
    let errors = rep["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{rep}");
    for (e, (row, no)) in errors.iter().zip([(2, "K-1"), (3, "K-2")]) {
        assert_eq!(e["row"], row);
        assert_eq!(e["value"], no);
        assert_eq!(e["column"], "Avtalenr");
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains(TAKEN) && message.contains("Kemneren"),
            "{message}"
        );
    }
    assert_eq!(
        dry["errors"], rep["errors"],
        "the dry run reports the same refusals"
    );
    // Nothing of Anne's contracts or of Anne is in the report.
    let text = rep.to_string();
    assert!(
        !text
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word == "anne"),
        "{text}"
    );
    for secret in ["Rent og Pent", "10000000", "25000000"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let stored = json_of(
        app.api_get(&format!("/api/v1/imports/{}", rep["batch_id"]), &bjorn)
            .await,
    )
    .await;
    assert_eq!(
        stored["errors"], rep["errors"],
        "the refusals are stored with the batch"
    );
    assert_eq!(stored["rows_rejected"], 2);

    // Anne's contract is as she left it, and was not rescored.
    let k1_after = contract(&app, &kem, "K-1").await;
    assert_eq!(k1_after, k1_before);
    assert_eq!(k1_after["supplier_name"], "Rent og Pent AS");
    assert_eq!(k1_after["version"], 1);
    let history_after = json_of(
        app.api_get(&format!("/api/v1/contracts/{k1_id}/assessment"), &kem)
            .await,
    )
    .await;
    assert_eq!(history_after["history"], history_before["history"]);
    assert_eq!(app.count("contract_versions"), 3, "K-1, K-2 and B-1, once each");
    assert_eq!(app.count("suppliers"), suppliers_before + 1);

    assert_eq!(contract_numbers(&app, &anne).await, ["K-1", "K-2"]);
    assert_eq!(contract_numbers(&app, &bjorn).await, ["B-1"]);

    // Anne's own newer register still updates her contracts.
    let newer = register(&[
        ("K-1", "Rent og Pent AS", "923609016", "120 000"),
        ("K-2", "Rent og Pent AS", "923609016", "kr 250 000"),
    ]);
    let rep = json_of(app.upload(&anne, "anne-v2.xlsx", newer, &[]).await).await;
    assert_eq!(
        (
            rep["contracts_updated"].as_u64(),
            rep["contracts_unchanged"].as_u64(),
            rep["rows_rejected"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    app.stop();
}

/// Before the fix, Bjørn's upload of Anne's file was answered "already imported" with her
/// batch, and Anne's own re-upload was recognised only because she happened to be first.
async fn a_file_is_judged_per_uploader(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("anne", Role::Innkjoper, None);
    app.add_user("bjorn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    let (anne, bjorn, kem) = (
        app.token_for("anne"),
        app.token_for("bjorn"),
        app.token_for("kem"),
    );
    let file = annes_register();
    let r = app.upload(&anne, "anne.xlsx", file.clone(), &[]).await;
    assert_eq!(r.status(), 201);
    let annes_batch = json_of(r).await["batch_id"].as_i64().unwrap();

    // The same bytes from Bjørn: his own batch, every row refused, Anne's batch not named.
    let r = app.upload(&bjorn, "kopi.xlsx", file.clone(), &[]).await;
    assert_eq!(r.status(), 201);
    let rep = json_of(r).await;
    assert_eq!(rep["already_imported"], false);
    let bjorns_batch = rep["batch_id"].as_i64().unwrap();
    assert_ne!(bjorns_batch, annes_batch);
    assert_eq!(rep["rows_imported"], 0);
    assert_eq!(rep["rows_rejected"], 2);
    assert_eq!(rep["contracts_unchanged"], 0);
    assert!(
        rep["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["message"].as_str().unwrap().contains(TAKEN)),
        "{rep}"
    );
    assert!(contract_numbers(&app, &bjorn).await.is_empty());

    // Each one's re-upload is recognised as their own.
    for (token, batch) in [(&anne, annes_batch), (&bjorn, bjorns_batch)] {
        let r = app.upload(token, "igjen.xlsx", file.clone(), &[]).await;
        assert_eq!(r.status(), 200);
        let again = json_of(r).await;
        assert_eq!(again["already_imported"], true);
        assert_eq!(again["batch_id"], batch);
    }

    // Kemneren's import of the same file works municipality-wide: Anne's contracts are found
    // unchanged, and stay hers.
    let r = app.upload(&kem, "kemneren.xlsx", file, &[]).await;
    assert_eq!(r.status(), 201);
    let rep = json_of(r).await;
    assert_eq!(
        (rep["contracts_unchanged"].as_u64(), rep["rows_rejected"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(app.count("import_batches"), 3);
    assert_eq!(contract_numbers(&app, &anne).await, ["K-1", "K-2"]);
    app.stop();
}

/// Before the fix, Bjørn's upload of K-1 made Anne's contract and its history readable to
/// him through the assessment endpoint and the contract page.
async fn nobody_reads_a_contract_outside_their_scope(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("anne", Role::Innkjoper, None);
    app.add_user("bjorn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    let (anne, bjorn, kem) = (
        app.token_for("anne"),
        app.token_for("bjorn"),
        app.token_for("kem"),
    );
    assert_eq!(
        app.upload(&anne, "anne.xlsx", annes_register(), &[])
            .await
            .status(),
        201
    );
    let k1 = contract(&app, &kem, "K-1").await["id"].as_i64().unwrap();
    let r = app
        .upload(
            &bjorn,
            "bjorn.xlsx",
            register(&[("K-1", "Billig Vask AS", "991825827", "1")]),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);

    let assessment = format!("/api/v1/contracts/{k1}/assessment");
    let r = app.api_get(&assessment, &anne).await;
    assert_eq!(r.status(), 200);
    assert!(!json_of(r).await["history"].as_array().unwrap().is_empty());
    assert_eq!(app.api_get(&assessment, &kem).await.status(), 200);
    let r = app.api_get(&assessment, &bjorn).await;
    assert_eq!(r.status(), 404);
    let text = r.text().await.unwrap();
    assert!(!text.contains("Rent og Pent"), "{text}");
    assert!(contract_numbers(&app, &bjorn).await.is_empty());
    for query in [
        "supplier=923609016",
        "supplier=rent",
        "tier=lav,middels,h%C3%B8y,kritisk",
    ] {
        let page = json_of(app.api_get(&format!("/api/v1/contracts?{query}"), &bjorn).await).await;
        assert_eq!(page["total"], 0, "{query}: {page}");
    }

    // The pages answer alike.
    let session = app.login("bjorn", PASSWORD).await.unwrap();
    let r = app.get_with_session(&format!("/contracts/{k1}"), &session).await;
    assert_eq!(r.status(), 404);
    let page = app
        .get_with_session("/contracts", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Rent og Pent"), "{page}");
    let session = app.login("anne", PASSWORD).await.unwrap();
    let r = app.get_with_session(&format!("/contracts/{k1}"), &session).await;
    assert_eq!(r.status(), 200);
    app.stop();
}

async fn kemneren_moves_a_contract_to_another_owner(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("anne", Role::Innkjoper, None);
    app.add_user("bjorn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    app.add_user("akr", Role::Akrim, Some(Agency::Nav));
    let (anne, bjorn, kem) = (
        app.token_for("anne"),
        app.token_for("bjorn"),
        app.token_for("kem"),
    );
    let (akr, admin) = (app.token_for("akr"), app.token_for("admin"));
    assert_eq!(
        app.upload(&anne, "anne.xlsx", annes_register(), &[])
            .await
            .status(),
        201
    );
    let k1 = contract(&app, &kem, "K-1").await["id"].as_i64().unwrap();

    // Only Kemneren and the administrator move contracts; the owner may not give hers away,
    // nor may anyone take one.
    for token in [&anne, &bjorn, &akr] {
        let r = put_owner(&app, token, k1, json!({"owner": "bjorn"})).await;
        assert_eq!(r.status(), 403);
    }
    assert_eq!(contract_numbers(&app, &bjorn).await, Vec::<String>::new());

    let r = put_owner(&app, &kem, k1, json!({"owner": "bjorn"})).await;
    assert_eq!(r.status(), 200);
    let change = json_of(r).await;
    assert_eq!(
        change,
        json!({"contract_id": k1, "contract_no": "K-1", "from": "anne", "to": "bjorn", "changed": true})
    );
    assert_eq!(contract_numbers(&app, &anne).await, ["K-2"]);
    assert_eq!(contract_numbers(&app, &bjorn).await, ["K-1"]);
    let assessment = format!("/api/v1/contracts/{k1}/assessment");
    assert_eq!(app.api_get(&assessment, &bjorn).await.status(), 200);
    assert_eq!(app.api_get(&assessment, &anne).await.status(), 404);
    let moved = contract(&app, &kem, "K-1").await;
    assert_eq!(
        moved["version"], 1,
        "the owner is not a new version of the contract"
    );

    // From now on Bjørn's imports update K-1 and Anne's are refused.
    let change_k1 = register(&[("K-1", "Rent og Pent AS", "923609016", "130 000")]);
    let rep = json_of(app.upload(&anne, "anne-k1.xlsx", change_k1.clone(), &[]).await).await;
    assert_eq!(
        (rep["contracts_updated"].as_u64(), rep["rows_rejected"].as_u64()),
        (Some(0), Some(1))
    );
    let rep = json_of(app.upload(&bjorn, "bjorn-k1.xlsx", change_k1, &[]).await).await;
    assert_eq!(
        (rep["contracts_updated"].as_u64(), rep["rows_rejected"].as_u64()),
        (Some(1), Some(0))
    );

    // The administrator moves it back (when someone leaves, for instance); the same owner
    // again changes and audits nothing.
    let r = put_owner(&app, &admin, k1, json!({"owner": "anne"})).await;
    assert_eq!(r.status(), 200);
    let r = put_owner(&app, &kem, k1, json!({"owner": " Anne "})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json_of(r).await["changed"], false);

    let audit = contract_audit(&app, k1);
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0].0, "user:kem");
    assert_eq!(audit[0].1, "contract.move_owner");
    assert_eq!(
        audit[0].2,
        json!({"contract_no": "K-1", "from": "anne", "to": "bjorn"})
    );
    assert_eq!(audit[1].0, "user:admin");
    assert_eq!(
        audit[1].2,
        json!({"contract_no": "K-1", "from": "bjorn", "to": "anne"})
    );
    audit_is_intact(&app);

    // Refusals: no such contract (404); a new owner who cannot hold contracts (422, naming
    // the field); a body that is not one.
    let r = put_owner(&app, &kem, 999_999, json!({"owner": "bjorn"})).await;
    assert_eq!(r.status(), 404);
    for (owner, why) in [("ingen", "no user"), ("akr", "akrim"), ("admin", "admin")] {
        let r = put_owner(&app, &kem, k1, json!({ "owner": owner })).await;
        assert_eq!(r.status(), 422, "{owner}");
        let p = json_of(r).await;
        assert_eq!(p["field"], "owner");
        assert!(p["detail"].as_str().unwrap().contains(why), "{p}");
    }
    let r = put_owner(&app, &kem, k1, json!({"user": "bjorn"})).await;
    assert_eq!(r.status(), 400);
    let mut conn = app.pool.get().unwrap();
    spotcheck::service::users::set_disabled(
        &mut conn,
        &spotcheck::db::models::Actor::system(),
        "bjorn",
        true,
    )
    .unwrap();
    drop(conn);
    let r = put_owner(&app, &kem, k1, json!({"owner": "bjorn"})).await;
    assert_eq!(r.status(), 422);
    assert!(json_of(r).await["detail"].as_str().unwrap().contains("disabled"));
    assert_eq!(contract_audit(&app, k1).len(), 2, "refusals are not audited");
    assert_eq!(contract_numbers(&app, &anne).await, ["K-1", "K-2"]);
    app.stop();
}

async fn cli_moves_a_contract_to_another_owner(backend: Backend) {
    let db = TestDb::new(backend);
    for name in ["anne", "bjorn"] {
        let (ok, _, err) = run_cli(
            &db,
            &["users", "add", name, "--role", "innkjoper"],
            &[("SPOTCHECK_PASSWORD", PASSWORD)],
        );
        assert!(ok, "{err}");
    }
    let file = db.dir.path().join("anne.xlsx");
    std::fs::write(&file, annes_register()).unwrap();
    let file = file.to_str().unwrap();
    let (ok, _, err) = run_cli(&db, &["import", file, "--user", "anne"], &[]);
    assert!(ok, "{err}");

    let (ok, out, err) = run_cli(&db, &["contracts", "move-owner", "K-1", "--to", "bjorn"], &[]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "avtale K-1 er flyttet fra anne til bjorn");
    let (ok, out, err) = run_cli(
        &db,
        &[
            "contracts",
            "move-owner",
            "K-1",
            "--to",
            "bjorn",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["from"].as_str(), v["changed"].as_bool()),
        (Some("bjorn"), Some(false))
    );

    // Bjørn's import now updates K-1; Anne's would be refused.
    let (ok, out, err) = run_cli(&db, &["import", file, "--user", "bjorn", "--format", "json"], &[]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["rows_imported"].as_u64(), v["rows_rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(v["errors"][0]["message"].as_str().unwrap().contains(TAKEN), "{v}");

    // Refusals, in Norwegian.
    let (ok, _, err) = run_cli(&db, &["contracts", "move-owner", "X-9", "--to", "bjorn"], &[]);
    assert!(!ok);
    assert!(err.contains("ingen kontrakt har avtalenummer «X-9»"), "{err}");
    let (ok, _, err) = run_cli(&db, &["contracts", "move-owner", "K-1", "--to", "ingen"], &[]);
    assert!(!ok);
    assert!(err.contains("ingen bruker heter «ingen»"), "{err}");
    let (ok, out, err) = run_cli(&db, &["contracts", "move-owner", "--help"], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("eier"), "{out}");

    let (ok, out, _) = run_cli(&db, &["audit", "tail", "--n", "100"], &[]);
    assert!(ok);
    let moves: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("contract.move_owner"))
        .collect();
    assert_eq!(moves.len(), 1, "{out}");
    assert!(moves[0].contains("cli:"), "{out}");
    let (ok, out, _) = run_cli(&db, &["audit", "verify"], &[]);
    assert!(ok, "{out}");
}

/// The version every migration before this item's has; the test stops there, stores
/// what the old code could have stored (Bjørn's batch updating Anne's K-1), and lets the
/// service migrate the rest.
const OWNER_MIGRATION: &str = "20261206000010";

async fn the_migration_gives_contracts_their_first_uploader(backend: Backend) {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use spotcheck::db::schema::{contracts, import_batches};

    let db = TestDb::new(backend);
    let mut raw = db.raw_conn();
    common::migrate_before(&mut raw, OWNER_MIGRATION);
    let t = "'2026-01-01 00:00:00'";
    raw.batch_execute(&format!(
        "INSERT INTO users (id, username, role, created_at, updated_at) VALUES
             (901, 'anne', 'innkjoper', {t}, {t}), (902, 'bjorn', 'innkjoper', {t}, {t});
         INSERT INTO import_batches (id, file_name, sha256, size_bytes, format, sheet, header_row,
             mapping, uploader_id, created_at, rows_total, rows_imported, rows_rejected,
             contracts_created, contracts_updated, contracts_unchanged, suppliers_created) VALUES
             (1, 'a.xlsx', 'aaa', 10, 'xlsx', 'Ark1', 1, '{{}}', 901, {t}, 2, 2, 0, 2, 0, 0, 1),
             (2, 'b.xlsx', 'bbb', 10, 'xlsx', 'Ark1', 1, '{{}}', 902, {t}, 3, 2, 1, 1, 1, 0, 0);
         INSERT INTO import_errors (batch_id, sheet, row_number, column_name, raw_value, message)
             VALUES (2, 'Ark1', 4, 'Avtalenr', '', 'avtalenummeret mangler');
         INSERT INTO suppliers (id, orgnr, name, first_batch_id, created_at, updated_at)
             VALUES (1, '923609016', 'Rent og Pent AS', 1, {t}, {t});
         INSERT INTO contracts (id, contract_no, supplier_id, supplier_name, orgnr, value_ore,
             start_date, extras, version, data_sha256, first_batch_id, last_batch_id, created_at,
             updated_at) VALUES
             (1, 'K-1', 1, 'Rent og Pent AS', '923609016', 100, '2025-01-01', '{{}}', 2, 's2', 1, 2, {t}, {t}),
             (2, 'K-2', 1, 'Rent og Pent AS', '923609016', 200, '2025-01-01', '{{}}', 1, 's1', 1, 1, {t}, {t}),
             (3, 'B-1', 1, 'Rent og Pent AS', '923609016', NULL, NULL, '{{}}', 1, 's1', 2, 2, {t}, {t});
         INSERT INTO contract_versions (contract_id, version, batch_id, row_number, data, data_sha256, created_at)
             VALUES (1, 1, 1, 2, '{{}}', 's1', {t}), (1, 2, 2, 2, '{{}}', 's2', {t}),
                    (2, 1, 1, 3, '{{}}', 's1', {t}), (3, 1, 2, 3, '{{}}', 's1', {t});
         INSERT INTO rule_sets (id, version, files, created_at) VALUES (1, 'v1', '[]', {t});
         INSERT INTO assessments (id, subject, contract_id, contract_version, orgnr, rule_set_version,
             input_sha256, as_of, score, max_possible_score, tier, industries, explanation, reason,
             assessed_at) VALUES
             (1, 'contract', 1, 2, '923609016', 'v1', 'i', '2026-01-01', 3, 10, 'lav', ',,', '[]', 'import', {t});
         INSERT INTO contract_risk (contract_id, assessment_id, score, max_possible_score, tier,
             industries, rule_set_version, input_sha256, assessed_at) VALUES
             (1, 1, 3, 10, 'lav', ',,', 'v1', 'i', {t});"
    ))
    .unwrap();
    drop(raw);

    // The service migrates the rest, as at start-up.
    let pool = spotcheck::db::connect(&db.target(), 1).expect("the owner migration runs");
    let mut conn = pool.get().unwrap();
    let owners: Vec<(String, i64)> = contracts::table
        .order(contracts::id.asc())
        .select((contracts::contract_no, contracts::owner_user_id))
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        owners,
        [
            ("K-1".to_owned(), 901),
            ("K-2".to_owned(), 901),
            ("B-1".to_owned(), 902)
        ],
        "the uploader of the first batch owns each contract, whoever changed it later"
    );
    // Everything that referred to the rebuilt tables still does.
    for (table, n) in [
        ("import_batches", 2),
        ("import_errors", 1),
        ("contract_versions", 4),
        ("assessments", 1),
        ("contract_risk", 1),
    ] {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let got = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(&mut conn)
            .unwrap()
            .n;
        assert_eq!(got, n, "{table}");
    }
    let k1: (Option<i64>, Option<chrono::NaiveDate>, i64) = contracts::table
        .filter(contracts::contract_no.eq("K-1"))
        .select((
            contracts::value_ore,
            contracts::start_date,
            contracts::last_batch_id,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!(k1, (Some(100), chrono::NaiveDate::from_ymd_opt(2025, 1, 1), 2));
    if backend == Backend::Sqlite {
        #[derive(QueryableByName)]
        struct Violation {
            #[diesel(sql_type = diesel::sql_types::Text)]
            table: String,
        }
        let violations = diesel::sql_query("PRAGMA foreign_key_check")
            .load::<Violation>(&mut conn)
            .unwrap();
        assert!(
            violations.is_empty(),
            "{:?}",
            violations.iter().map(|v| &v.table).collect::<Vec<_>>()
        );
    }
    // The owner is required and must be a user; the same file is unique per uploader only.
    let insert_contract = |conn: &mut spotcheck::db::DbConn, owner: Option<i64>| {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let values = (
            contracts::id.eq(10),
            contracts::contract_no.eq("N-1"),
            contracts::supplier_id.eq(1),
            contracts::supplier_name.eq("Rent og Pent AS"),
            contracts::orgnr.eq("923609016"),
            contracts::extras.eq("{}"),
            contracts::version.eq(1),
            contracts::data_sha256.eq("s"),
            contracts::first_batch_id.eq(1),
            contracts::last_batch_id.eq(1),
            contracts::created_at.eq(t),
            contracts::updated_at.eq(t),
        );
        match owner {
            Some(o) => diesel::insert_into(contracts::table)
                .values((values, contracts::owner_user_id.eq(o)))
                .execute(conn),
            None => diesel::insert_into(contracts::table).values(values).execute(conn),
        }
    };
    assert!(insert_contract(&mut conn, None).is_err(), "an owner is required");
    assert!(
        insert_contract(&mut conn, Some(424_242)).is_err(),
        "the owner must be a user"
    );
    let insert_batch = |conn: &mut spotcheck::db::DbConn, id: i64, uploader: i64| {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        diesel::insert_into(import_batches::table)
            .values((
                (
                    import_batches::id.eq(id),
                    import_batches::file_name.eq("a.xlsx"),
                    import_batches::sha256.eq("aaa"),
                    import_batches::size_bytes.eq(10),
                    import_batches::format.eq("xlsx"),
                    import_batches::sheet.eq("Ark1"),
                    import_batches::header_row.eq(1),
                    import_batches::mapping.eq("{}"),
                    import_batches::uploader_id.eq(uploader),
                    import_batches::created_at.eq(t),
                ),
                (
                    import_batches::rows_total.eq(0),
                    import_batches::rows_imported.eq(0),
                    import_batches::rows_rejected.eq(0),
                    import_batches::contracts_created.eq(0),
                    import_batches::contracts_updated.eq(0),
                    import_batches::contracts_unchanged.eq(0),
                    import_batches::suppliers_created.eq(0),
                ),
            ))
            .execute(conn)
    };
    assert!(
        insert_batch(&mut conn, 3, 902).is_ok(),
        "Anne's file from Bjørn is his own batch"
    );
    assert!(
        insert_batch(&mut conn, 4, 901).is_err(),
        "Anne's file twice from Anne is one batch"
    );

    // Bjørn's batch once changed K-1; he no longer reads it.
    let visible = |conn: &mut spotcheck::db::DbConn, owner: i64| -> Vec<String> {
        let filter = spotcheck::db::models::contracts::ContractFilter {
            visible_to_owner: Some(owner),
            sort: spotcheck::db::models::contracts::ContractSort::ContractNo,
            page: 1,
            per_page: 100,
            ..Default::default()
        };
        spotcheck::service::contracts::list(conn, &filter)
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.contract.contract_no)
            .collect()
    };
    assert_eq!(visible(&mut conn, 901), ["K-1", "K-2"]);
    assert_eq!(visible(&mut conn, 902), ["B-1"]);
}

backend_tests!(
    an_import_never_touches_another_owners_contract,
    a_file_is_judged_per_uploader,
    nobody_reads_a_contract_outside_their_scope,
    kemneren_moves_a_contract_to_another_owner,
    cli_moves_a_contract_to_another_owner,
    the_migration_gives_contracts_their_first_uploader,
);

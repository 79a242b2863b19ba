//! Importing registers end to end over the real HTTP stack and the CLI, on SQLite and
//! PostgreSQL: reports, re-imports, history, refusals that store nothing, roles, atomicity.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::workbook::xlsx;
use common::{Backend, TestApp, fixture, run_cli};
use diesel::connection::SimpleConnection;
use serde_json::Value;
use spotcheck::domain::roles::{Agency, Role};

/// A small register with Norwegian headers: (contract id, supplier, orgnr, value text).
fn register(rows: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    register_with_headers(
        &["Avtalenr", "Leverandør", "Org.nr", "Kontraktsverdi", "Startdato"],
        rows,
    )
}

fn register_with_headers(headers: &[&str], rows: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    xlsx(
        headers,
        rows.iter().map(|&(id, name, orgnr, value)| {
            vec![
                id.into(),
                name.into(),
                orgnr.into(),
                value.into(),
                "01.01.2025".into(),
            ]
        }),
    )
}

async fn json(resp: reqwest::Response) -> Value {
    resp.json().await.unwrap()
}

async fn api_import_stores_report_and_contracts(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    let token = app.token_for("inn");
    let r = app
        .upload(
            &token,
            "register_nb.xlsx",
            fixture("import/register_nb.xlsx"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    let rep = json(r).await;
    assert_eq!(rep["rows_total"], 21);
    assert_eq!(rep["rows_imported"], 8);
    assert_eq!(rep["rows_rejected"], 13);
    assert_eq!(rep["errors"].as_array().unwrap().len(), 14);
    assert_eq!(rep["contracts_created"], 8);
    assert_eq!(rep["already_imported"], false);
    let first = &rep["errors"][0];
    for k in ["sheet", "column", "value", "message"] {
        assert!(first[k].is_string(), "{k} in {first}");
    }
    assert!(
        first["row"].as_u64().unwrap() > 4,
        "rows are numbered as the spreadsheet shows them"
    );
    let batch_id = rep["batch_id"].as_i64().unwrap();

    let contracts = json(app.api_get("/api/v1/contracts?per_page=100", &token).await).await;
    assert_eq!(contracts["total"], 8);
    // Text stays text: the supplier named like markup or a formula is stored verbatim.
    let names: Vec<&str> = contracts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["supplier_name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("<script>")), "{names:?}");
    assert!(names.contains(&"=2+5 AS"), "{names:?}");

    let stored = json(app.api_get(&format!("/api/v1/imports/{batch_id}"), &token).await).await;
    assert_eq!(
        stored["errors"], rep["errors"],
        "the stored errors are the reported ones, in order"
    );
    let list = json(app.api_get("/api/v1/imports", &token).await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        app.count("suppliers"),
        json(app.api_get("/api/v1/contracts", &token).await).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["orgnr"].as_str().unwrap().to_owned())
            .collect::<std::collections::HashSet<_>>()
            .len() as i64
    );
    app.stop();
}

async fn reimport_and_history(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    let token = app.token_for("inn");
    let first = register(&[
        ("K-1", "Rent og Pent AS", "923609016", "100 000"),
        ("K-2", "Bygg og Bolt AS", "991825827", "kr 250 000"),
        ("K-3", "Rent og Pent AS", "923609016", "1 234 567,50"),
    ]);
    let r = app.upload(&token, "v1.xlsx", first.clone(), &[]).await;
    assert_eq!(r.status(), 201);
    let b1 = json(r).await["batch_id"].as_i64().unwrap();

    // The same bytes again: recognised, nothing stored twice.
    let r = app.upload(&token, "kopi.xlsx", first, &[]).await;
    assert_eq!(r.status(), 200);
    let again = json(r).await;
    assert_eq!(again["already_imported"], true);
    assert_eq!(again["batch_id"], b1);
    assert_eq!(app.count("import_batches"), 1);
    assert_eq!(app.count("contracts"), 3);

    // A newer register: K-2 changes value, K-4 is new, K-1 and K-3 are unchanged.
    let second = register(&[
        ("K-1", "Rent og Pent AS", "923609016", "100 000"),
        ("K-2", "Bygg og Bolt AS", "991825827", "kr 300 000"),
        ("K-3", "Rent og Pent AS", "923609016", "1 234 567,50"),
        ("K-4", "Ny Leverandør AS", "974760673", "50 000"),
    ]);
    let rep = json(app.upload(&token, "v2.xlsx", second, &[]).await).await;
    assert_eq!(rep["contracts_created"], 1);
    assert_eq!(rep["contracts_updated"], 1);
    assert_eq!(rep["contracts_unchanged"], 2);
    assert_eq!(rep["suppliers_created"], 1);
    let b2 = rep["batch_id"].as_i64().unwrap();
    assert_eq!(app.count("contracts"), 4);
    assert_eq!(
        app.count("contract_versions"),
        5,
        "3 first versions, 1 new contract, 1 change"
    );

    let page = json(app.api_get("/api/v1/contracts?supplier=bygg", &token).await).await;
    assert_eq!(page["total"], 1);
    let k2 = &page["items"][0];
    assert_eq!(k2["value_ore"], 30_000_000);
    assert_eq!(k2["version"], 2);
    assert_eq!(k2["first_batch_id"], b1);
    assert_eq!(k2["last_batch_id"], b2);
    // Version 1 still says what the first register said.
    use diesel::prelude::*;
    use spotcheck::db::schema::{contract_versions, contracts};
    let mut conn = app.pool.get().unwrap();
    let versions: Vec<(i64, i32, i64)> = contract_versions::table
        .inner_join(contracts::table)
        .filter(contracts::contract_no.eq("K-2"))
        .order(contract_versions::version.asc())
        .select((
            contract_versions::contract_id,
            contract_versions::version,
            contract_versions::batch_id,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!((versions[0].1, versions[0].2), (1, b1));
    assert_eq!((versions[1].1, versions[1].2), (2, b2));
    let mut data = |v: i32| {
        spotcheck::db::models::imports::version_data(&mut conn, versions[0].0, v)
            .unwrap()
            .unwrap()
    };
    let (v1, v2) = (data(1), data(2));
    assert!(v1.contains("25000000"), "{v1}");
    assert!(v2.contains("30000000"), "{v2}");
    app.stop();
}

/// Every version of a contract can be read back as the JSON its SHA-256 was taken of: a
/// current version's from the contract row (its `contract_versions` row leaves data and hash
/// out), a superseded one's from its own row (written before the contract changed), and one
/// whose extra columns the contract row cannot give back in the file's order from its own
/// row always. Reverting the migration that allowed the gaps fills them, byte for byte.
async fn every_version_reads_back_as_hashed(backend: Backend) {
    use diesel::prelude::*;
    use sha2::{Digest, Sha256};
    use spotcheck::db::models::imports::version_data;
    use spotcheck::db::schema::{contract_versions, contracts};
    const CURRENT_VERSION_DATA: &str = "20261207000019";

    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    let token = app.token_for("inn");
    let file = |headers: &[&str], rows: &[[&str; 7]]| {
        xlsx(
            headers,
            rows.iter().map(|r| r.iter().map(|&c| c.into()).collect()),
        )
    };
    let sorted = [
        "Avtalenr",
        "Leverandør",
        "Org.nr",
        "Kontraktsverdi",
        "Startdato",
        "Merknad",
        "Ønske",
    ];
    let first = file(
        &sorted,
        &[
            [
                "K-1",
                "Rent og Pent AS",
                "923609016",
                "100 000",
                "01.01.2025",
                "sier \"hei\" \\ «ja»",
                "Årstad",
            ],
            [
                "K-2",
                "Bygg & Bolt AS",
                "991825827",
                "250 000",
                "01.02.2025",
                "",
                "Fana",
            ],
        ],
    );
    assert_eq!(app.upload(&token, "a.xlsx", first, &[]).await.status(), 201);
    let second = file(
        &sorted,
        &[
            [
                "K-1",
                "Rent og Pent AS",
                "923609016",
                "100 000",
                "01.01.2025",
                "sier \"hei\" \\ «ja»",
                "Årstad",
            ],
            [
                "K-2",
                "Bygg & Bolt AS",
                "991825827",
                "300 000",
                "01.02.2025",
                "endret",
                "Fana",
            ],
        ],
    );
    // Extra columns whose names are not in order: the contract row keeps them sorted.
    let unsorted = [
        "Avtalenr",
        "Leverandør",
        "Org.nr",
        "Kontraktsverdi",
        "Startdato",
        "Ønske",
        "Merknad",
    ];
    let third = file(
        &unsorted,
        &[[
            "K-3",
            "Rent og Pent AS",
            "923609016",
            "5 000",
            "01.03.2025",
            "Arna",
            "ny",
        ]],
    );

    let mut conn = app.pool.get().unwrap();
    let id_of = |conn: &mut spotcheck::db::DbConn, no: &str| -> i64 {
        contracts::table
            .filter(contracts::contract_no.eq(no))
            .select(contracts::id)
            .first(conn)
            .unwrap()
    };
    let stored = |conn: &mut spotcheck::db::DbConn, id: i64, v: i32| -> (Option<String>, Option<String>) {
        contract_versions::table
            .filter(contract_versions::contract_id.eq(id))
            .filter(contract_versions::version.eq(v))
            .select((contract_versions::data, contract_versions::data_sha256))
            .first(conn)
            .unwrap()
    };
    let sha = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
    let row_sha = |conn: &mut spotcheck::db::DbConn, id: i64| -> String {
        contracts::table
            .find(id)
            .select(contracts::data_sha256)
            .first(conn)
            .unwrap()
    };
    let (k1, k2) = (id_of(&mut conn, "K-1"), id_of(&mut conn, "K-2"));
    assert_eq!(
        stored(&mut conn, k1, 1),
        (None, None),
        "current: in the contract row"
    );
    let k1_v1 = version_data(&mut conn, k1, 1).unwrap().unwrap();
    assert_eq!(sha(&k1_v1), row_sha(&mut conn, k1));
    assert!(
        k1_v1.contains(r#""extras":[["Merknad","sier \"hei\" \\ «ja»"],["Ønske","Årstad"]]"#),
        "{k1_v1}"
    );
    let k2_v1 = version_data(&mut conn, k2, 1).unwrap().unwrap();
    assert_eq!(sha(&k2_v1), row_sha(&mut conn, k2));
    assert_eq!(
        version_data(&mut conn, k2, 2).unwrap(),
        None,
        "no such version yet"
    );

    assert_eq!(app.upload(&token, "b.xlsx", second, &[]).await.status(), 201);
    assert_eq!(
        stored(&mut conn, k2, 1),
        (Some(k2_v1.clone()), Some(sha(&k2_v1))),
        "superseded: its own data, as it read before the change"
    );
    assert_eq!(stored(&mut conn, k2, 2), (None, None));
    let k2_v2 = version_data(&mut conn, k2, 2).unwrap().unwrap();
    assert_eq!(sha(&k2_v2), row_sha(&mut conn, k2));
    assert!(k2_v2.contains("30000000") && k2_v2.contains("endret"), "{k2_v2}");
    assert_eq!(stored(&mut conn, k1, 1), (None, None), "unchanged: untouched");

    assert_eq!(app.upload(&token, "c.xlsx", third, &[]).await.status(), 201);
    let k3 = id_of(&mut conn, "K-3");
    let (data, hash) = stored(&mut conn, k3, 1);
    let data = data.expect("the file's order of extra columns is kept in the version's row");
    assert!(
        data.contains(r#""extras":[["Ønske","Arna"],["Merknad","ny"]]"#),
        "{data}"
    );
    assert_eq!(hash.as_deref(), Some(sha(&data).as_str()));
    assert_eq!(version_data(&mut conn, k3, 1).unwrap(), Some(data.clone()));

    // Every version as read now, then the migration reverted (the later ones first).
    let all: Vec<(i64, i32)> = contract_versions::table
        .order((contract_versions::contract_id, contract_versions::version))
        .select((contract_versions::contract_id, contract_versions::version))
        .load(&mut conn)
        .unwrap();
    let before: Vec<(String, String)> = all
        .iter()
        .map(|&(id, v)| {
            let d = version_data(&mut conn, id, v).unwrap().unwrap();
            let h = sha(&d);
            (d, h)
        })
        .collect();
    assert_eq!(before.len(), 4, "K-1, K-2 twice, K-3");
    drop(conn);
    app.stop();
    let mut raw = app.db.raw_conn();
    common::revert_through(&mut raw, CURRENT_VERSION_DATA);
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        data: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        data_sha256: String,
    }
    let after: Vec<(String, String)> =
        diesel::sql_query("SELECT data, data_sha256 FROM contract_versions ORDER BY contract_id, version")
            .load::<Version>(&mut raw)
            .unwrap()
            .into_iter()
            .map(|v| (v.data, v.data_sha256))
            .collect();
    assert_eq!(
        after, before,
        "every version's JSON and hash, rebuilt in SQL as stored"
    );
}

/// A register larger than one stored chunk (`import::STREAM_CHUNK` rows): rows are stored
/// while the file is read, so suppliers met in an earlier chunk, the latest name winning, and
/// re-imports that touch contracts in every chunk must come out as for a small file.
async fn large_register_across_chunks(backend: Backend) {
    use diesel::prelude::*;
    use spotcheck::db::schema::{contracts, suppliers};

    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    let token = app.token_for("inn");
    let orgnrs = ["923609016", "991825827", "974760673"];
    let n = 2 * spotcheck::import::STREAM_CHUNK + 500;
    let rows = |count: usize, changed_from: usize| -> Vec<(String, String, String, String)> {
        (0..count)
            .map(|i| {
                let org = orgnrs[i % 3];
                // The first supplier is renamed in the file's last row.
                let name = if i == n - 1 && i % 3 == 0 {
                    "Leverandør 0 Nytt Navn AS".to_owned()
                } else {
                    format!("Leverandør {} AS", i % 3)
                };
                let value = if i >= changed_from { "2 000" } else { "1 000" };
                (format!("S-{i:05}"), name, org.to_owned(), value.to_owned())
            })
            .collect()
    };
    let as_refs = |v: &[(String, String, String, String)]| -> Vec<u8> {
        let r: Vec<(&str, &str, &str, &str)> = v
            .iter()
            .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
            .collect();
        register(&r)
    };
    assert_eq!((n - 1) % 3, 0, "the last row belongs to the first supplier");

    let first = json(app.upload(&token, "stor.xlsx", as_refs(&rows(n, n)), &[]).await).await;
    assert_eq!(first["rows_imported"], n as u64, "{first}");
    assert_eq!(first["contracts_created"], n as u64);
    assert_eq!(first["suppliers_created"], 3);
    let mut conn = app.pool.get().unwrap();
    let name: String = suppliers::table
        .filter(suppliers::orgnr.eq("923609016"))
        .select(suppliers::name)
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        name, "Leverandør 0 Nytt Navn AS",
        "the latest name in the file wins"
    );
    let id_of = |conn: &mut spotcheck::db::PooledConn, no: &str| -> i64 {
        contracts::table
            .filter(contracts::contract_no.eq(no))
            .select(contracts::id)
            .first(conn)
            .unwrap()
    };
    let late_id = id_of(&mut conn, "S-02400");
    // Every row landed in its own columns and with its own supplier, whichever INSERT
    // statement (a group of rows, or one of the rows left over) carried it.
    let stored: Vec<(String, Option<i64>, String, String, i32)> = contracts::table
        .inner_join(suppliers::table)
        .select((
            contracts::contract_no,
            contracts::value_ore,
            contracts::orgnr,
            suppliers::orgnr,
            contracts::version,
        ))
        .order(contracts::contract_no)
        .load(&mut conn)
        .unwrap();
    assert_eq!(stored.len(), n);
    for (i, (no, value, orgnr, supplier_orgnr, version)) in stored.iter().enumerate() {
        assert_eq!(no, &format!("S-{i:05}"));
        assert_eq!(*value, Some(100_000), "{no}");
        assert_eq!(orgnr, orgnrs[i % 3], "{no}");
        assert_eq!(supplier_orgnr, orgnr, "{no}: linked to its own supplier");
        assert_eq!(*version, 1, "{no}");
    }

    // The same contracts, the last 500 with a new value, and 100 more.
    let second = json(
        app.upload(&token, "stor2.xlsx", as_refs(&rows(n + 100, n - 500)), &[])
            .await,
    )
    .await;
    assert_eq!(second["contracts_created"], 100, "{second}");
    assert_eq!(second["contracts_updated"], 500);
    assert_eq!(second["contracts_unchanged"], (n - 500) as u64);
    assert_eq!(second["suppliers_created"], 0);
    assert_eq!(app.count("contracts"), (n + 100) as i64);
    assert_eq!(app.count("contract_versions"), (n + 100 + 500) as i64);
    assert_eq!(id_of(&mut conn, "S-02400"), late_id, "contract ids stay");

    // On PostgreSQL a staging batch's chunks commit without waiting for the disk (`SET
    // LOCAL synchronous_commit = off`, service::imports); no pooled connection keeps that.
    if backend == Backend::Postgres {
        drop(conn);
        let open = app.pool.state().connections;
        let mut conns: Vec<_> = (0..open).map(|_| app.pool.get().unwrap()).collect();
        for c in &mut conns {
            let setting: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
                "current_setting('synchronous_commit')",
            ))
            .get_result(&mut **c)
            .unwrap();
            assert_eq!(setting, "on");
        }
    }
    app.stop();
}

async fn unreadable_files_store_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    let token = app.token_for("inn");
    let audit_before = app.count("audit_log");
    for (file, expect) in [
        ("pdf_named.xlsx", "PDF"),
        ("html_table.xls", "HTML"),
        ("text_named.xlsx", "ikke et regneark"),
        ("truncated.xlsx", "skadet"),
        ("encrypted.xlsx", "passordbeskyttet"),
        ("empty.xlsx", "tom"),
        ("zip_bomb.xlsx", "zip-bombe"),
        ("notes_only.xlsx", "Fant ingen kontrakttabell"),
    ] {
        let r = app
            .upload(&token, file, fixture(&format!("import/{file}")), &[])
            .await;
        assert_eq!(r.status(), 422, "{file}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p = json(r).await;
        assert_eq!(p["type"], "urn:spotcheck:problem:unreadable-file");
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(expect), "{file}: {detail}");
    }
    for t in [
        "import_batches",
        "import_errors",
        "contracts",
        "suppliers",
        "contract_versions",
    ] {
        assert_eq!(app.count(t), 0, "{t} after refused files");
    }
    assert_eq!(app.count("audit_log"), audit_before);
    app.stop();
}

async fn upload_limit(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.max_upload_bytes = 20_000).await;
    app.add_user("inn", Role::Innkjoper, None);
    let token = app.token_for("inn");
    let r = app
        .upload(&token, "stor.xlsx", fixture("import/zip_bomb.xlsx"), &[])
        .await;
    assert_eq!(r.status(), 413);
    assert!(
        json(r).await["detail"]
            .as_str()
            .unwrap()
            .contains("større enn grensen")
    );
    assert_eq!(app.count("import_batches"), 0);
    app.stop();
}

async fn mapping_given_then_remembered(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    let token = app.token_for("inn");
    let r = app
        .upload(
            &token,
            "mapping_needed.xlsx",
            fixture("import/mapping_needed.xlsx"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 422);
    let detail = json(r).await["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("«Nr»"), "the headers seen are listed: {detail}");
    let mapping = "contract_id=Nr;supplier_name=Firma;orgnr=Org nummer";
    let r = app
        .upload(
            &token,
            "mapping_needed.xlsx",
            fixture("import/mapping_needed.xlsx"),
            &[("mapping", mapping)],
        )
        .await;
    assert_eq!(r.status(), 201);
    // Next month's file from the same unit: same odd headers, no mapping given.
    let next = register_with_headers(
        &["Nr", "Firma", "Org nummer", "Beløp", "Startdato"],
        &[("N-9", "Vask og Vedlikehold AS", "923609016", "10 000")],
    );
    let r = app.upload(&token, "neste.xlsx", next, &[]).await;
    assert_eq!(r.status(), 201, "the remembered mapping is used");
    assert_eq!(json(r).await["rows_imported"], 1);
    app.stop();
}

async fn roles_and_visibility(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("anne", Role::Innkjoper, None);
    app.add_user("bjorn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    app.add_user("akr", Role::Akrim, Some(Agency::Skatteetaten));
    let (a, b, k, x, adm) = (
        app.token_for("anne"),
        app.token_for("bjorn"),
        app.token_for("kem"),
        app.token_for("akr"),
        app.token_for("admin"),
    );
    for t in [&x, &adm] {
        let r = app
            .upload(t, "r.xlsx", register(&[("Z-1", "Z AS", "923609016", "1")]), &[])
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(app.api_get("/api/v1/contracts", t).await.status(), 403);
        assert_eq!(app.api_get("/api/v1/imports", t).await.status(), 403);
    }
    let ra = json(
        app.upload(&a, "a.xlsx", register(&[("A-1", "A AS", "923609016", "1")]), &[])
            .await,
    )
    .await;
    let _ = json(
        app.upload(
            &b,
            "b.xlsx",
            register(&[
                ("B-1", "B AS", "991825827", "1"),
                ("B-2", "B AS", "991825827", "2"),
            ]),
            &[],
        )
        .await,
    )
    .await;
    let a_batch = ra["batch_id"].as_i64().unwrap();
    assert_eq!(
        json(app.api_get("/api/v1/imports", &b).await)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.api_get(&format!("/api/v1/imports/{a_batch}"), &b)
            .await
            .status(),
        404
    );
    assert_eq!(json(app.api_get("/api/v1/contracts", &b).await).await["total"], 2);
    assert_eq!(json(app.api_get("/api/v1/contracts", &a).await).await["total"], 1);
    assert_eq!(json(app.api_get("/api/v1/contracts", &k).await).await["total"], 3);
    assert_eq!(
        json(app.api_get("/api/v1/imports", &k).await)
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.api_get(&format!("/api/v1/imports/{a_batch}"), &k)
            .await
            .status(),
        200
    );
    app.stop();
}

async fn a_failing_batch_stores_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    let token = app.token_for("inn");
    // Make the very last write of an import fail, after batch, errors, suppliers and contracts.
    let mut conn = app.db.raw_conn();
    let ddl = match backend {
        Backend::Sqlite => {
            "CREATE TRIGGER boom BEFORE INSERT ON contract_versions BEGIN SELECT RAISE(ABORT, 'boom'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER boom BEFORE INSERT ON contract_versions FOR EACH ROW EXECUTE FUNCTION boom();"
        }
    };
    conn.batch_execute(ddl).unwrap();
    let r = app
        .upload(
            &token,
            "register_nb.xlsx",
            fixture("import/register_nb.xlsx"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 500);
    for t in [
        "import_batches",
        "import_errors",
        "contracts",
        "suppliers",
        "contract_versions",
        "import_mappings",
    ] {
        assert_eq!(app.count(t), 0, "{t} after a failed batch");
    }
    app.stop();
}

async fn cli_import(backend: Backend) {
    let db = common::TestDb::new(backend);
    let path = format!("{}/fixtures/import/register_nb.xlsx", env!("CARGO_MANIFEST_DIR"));
    // First run creates nothing but the schema; the CLI needs the uploader to exist.
    let (ok, _, err) = run_cli(
        &db,
        &["users", "add", "inn", "--role", "innkjoper"],
        &[("SPOTCHECK_PASSWORD", common::PASSWORD)],
    );
    assert!(ok, "{err}");

    let (ok, out, err) = run_cli(
        &db,
        &["import", &path, "--dry-run", "--format", "json", "--user", "inn"],
        &[],
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["batch_id"], Value::Null, "dry run stores nothing");

    // A register piped in (`… | spotcheck import /dev/stdin`) can be read only once: it is
    // read into memory, and reports what the file on disk reports.
    let (ok, piped, err) = common::run_cli_with_stdin(
        &db,
        &[
            "import",
            "/dev/stdin",
            "--dry-run",
            "--format",
            "json",
            "--user",
            "inn",
        ],
        &[],
        Some(&std::fs::read(&path).unwrap()),
    );
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&piped).unwrap(),
        v,
        "piped: {piped}"
    );

    let (ok, out, err) = run_cli(&db, &["import", &path, "--format", "json", "--user", "inn"], &[]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "exactly one JSON object: {out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let keys: std::collections::BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "batch_id",
            "errors",
            "rows_imported",
            "rows_rejected",
            "rows_total"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        (
            v["rows_total"].as_u64(),
            v["rows_imported"].as_u64(),
            v["rows_rejected"].as_u64()
        ),
        (Some(21), Some(8), Some(13))
    );
    let e = &v["errors"][0];
    let ekeys: std::collections::BTreeSet<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        ekeys,
        ["column", "message", "row", "sheet", "value"]
            .into_iter()
            .collect()
    );

    let bad = format!("{}/fixtures/import/pdf_named.xlsx", env!("CARGO_MANIFEST_DIR"));
    let (ok, out, err) = run_cli(&db, &["import", &bad, "--format", "json", "--user", "inn"], &[]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("PDF"), "{err}");

    let (ok, out, _) = run_cli(&db, &["import", &path, "--user", "inn"], &[]);
    assert!(ok);
    assert!(out.contains("importert før"), "{out}");
    let (ok, out, _) = run_cli(&db, &["audit", "verify"], &[]);
    assert!(ok && out.contains("intakt"), "{out}");
}

async fn web_upload_page(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    app.add_user("akr", Role::Akrim, Some(Agency::Politiet));
    let session = app.login("inn", common::PASSWORD).await.unwrap();
    let page = app.get_with_session("/imports", &session).await;
    assert_eq!(page.status(), 200);
    let csrf = common::hidden_field(&page.text().await.unwrap(), "csrf_token").unwrap();

    let form = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("csrf_token", csrf.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(fixture("import/register_cp1252.csv"))
                    .file_name("register_cp1252.csv"),
            )
    };
    // Without the form token nothing is stored.
    let r = app
        .client
        .post(app.url("/imports"))
        .header("Cookie", format!("spotcheck_session={session}"))
        .multipart(form("forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("import_batches"), 0);

    let r = app
        .client
        .post(app.url("/imports"))
        .header("Cookie", format!("spotcheck_session={session}"))
        .multipart(form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Lagret som import"), "{body}");
    assert_eq!(app.count("import_batches"), 1);
    let batch: i64 = app.count("import_batches");
    let report = app.get_with_session(&format!("/imports/{batch}"), &session).await;
    assert_eq!(report.status(), 200);
    assert!(report.text().await.unwrap().contains("register_cp1252.csv"));

    // Markup in data is escaped, never rendered.
    let evil = register(&[("X-1", "<script>alert(1)</script> AS", "923609016", "1")]);
    let r = app
        .client
        .post(app.url("/imports"))
        .header("Cookie", format!("spotcheck_session={session}"))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf_token", csrf.clone())
                .text("dry_run", "on")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(evil).file_name("<b>x</b>.xlsx"),
                ),
        )
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(!body.contains("<b>x</b>"), "file name escaped: {body}");
    assert!(
        body.contains("&#60;b&#62;x&#60;/b&#62;") || body.contains("&lt;b&gt;x&lt;/b&gt;"),
        "{body}"
    );

    let akr = app.login("akr", common::PASSWORD).await.unwrap();
    assert_eq!(app.get_with_session("/imports", &akr).await.status(), 403);
    app.stop();
}

backend_tests!(
    web_upload_page,
    api_import_stores_report_and_contracts,
    reimport_and_history,
    large_register_across_chunks,
    unreadable_files_store_nothing,
    upload_limit,
    mapping_given_then_remembered,
    roles_and_visibility,
    a_failing_batch_stores_nothing,
    cli_import,
    every_version_reads_back_as_hashed,
);

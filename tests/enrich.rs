//! Enrichment end to end, on SQLite and PostgreSQL, against a real HTTP server on loopback
//! (wiremock) replaying recorded register responses: an import never waits for the
//! register; look-ups queued while it is down are done when it comes back; 410 deletes the
//! cached copy; bulk files and approval registers load from files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::workbook::xlsx;
use common::{Backend, TestApp, fixture, run_cli};
use serde_json::Value;
use spotcheck::brreg::{BrregClient, BrregConfig};
use spotcheck::domain::roles::Role;
use spotcheck::service::enrichment::Enricher;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn register(rows: &[(&str, &str, &str)]) -> Vec<u8> {
    xlsx(
        &["Avtalenr", "Leverandør", "Org.nr", "Kontraktsverdi"],
        rows.iter()
            .map(|&(id, name, orgnr)| vec![id.into(), name.into(), orgnr.into(), "100 000".into()]),
    )
}

/// A client that gives up quickly, so tests do not wait for real backoff.
fn client(base: &str) -> BrregClient {
    BrregClient::new(BrregConfig {
        base_url: base.to_owned(),
        timeout: std::time::Duration::from_secs(2),
        max_attempts: 1,
        backoff_base: std::time::Duration::from_millis(10),
        ..BrregConfig::default()
    })
    .unwrap()
}

fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

/// The recorded response of 991825827, relabelled as another org number.
fn active_unit(orgnr: &str, name: &str) -> String {
    let raw = String::from_utf8(fixture("brreg/enhet_aktiv_991825827.json")).unwrap();
    raw.replace("991825827", orgnr)
        .replace("DIGITALISERINGSDIREKTORATET", name)
}

async fn supplier(app: &TestApp, token: &str, orgnr: &str) -> Value {
    let r = app.api_get(&format!("/api/v1/suppliers/{orgnr}"), token).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn import_while_register_is_down_then_enriched(backend: Backend) {
    let dead = dead_url();
    let app = TestApp::start_with(backend, |s| s.brreg_url = dead.clone()).await;
    app.add_user("inn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    let (inn, kem) = (app.token_for("inn"), app.token_for("kem"));

    // The import completes at once; nothing waits for the register.
    let r = app
        .upload(
            &inn,
            "r.xlsx",
            register(&[("K-1", "Rent AS", "923609016"), ("K-2", "Digdir", "991825827")]),
            &[],
        )
        .await;
    assert_eq!(r.status(), 201);
    let s = supplier(&app, &kem, "991825827").await;
    assert_eq!(s["enrichment"]["state"], "pending");
    assert_eq!(s["facts"], Value::Null);

    // The worker tries while the register is unreachable: the jobs stay, with the error.
    let down = Enricher::new(app.pool.clone(), client(&dead), chrono::Duration::days(7));
    let pass = down.run_once().await.unwrap();
    assert_eq!((pass.claimed, pass.retrying, pass.succeeded), (2, 2, 0));
    let s = supplier(&app, &kem, "991825827").await;
    assert_eq!(s["enrichment"]["state"], "pending");
    assert_eq!(s["enrichment"]["attempts"], 1);
    assert!(s["enrichment"]["last_error"].as_str().unwrap().len() > 5, "{s}");
    // Not due again before the backoff has passed.
    assert_eq!(down.run_once().await.unwrap().claimed, 0);

    // The register comes back.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/enheter/991825827"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("brreg/enhet_aktiv_991825827.json"), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/enheter/923609016"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(active_unit("923609016", "RENT AS"), "application/json"),
        )
        .mount(&server)
        .await;
    let up = Enricher::new(app.pool.clone(), client(&server.uri()), chrono::Duration::days(7));
    let later = spotcheck::db::models::now() + chrono::Duration::minutes(5);
    let pass = up.run_once_at(later).await.unwrap();
    assert_eq!((pass.claimed, pass.succeeded), (2, 2));

    let s = supplier(&app, &kem, "991825827").await;
    assert_eq!(s["enrichment"]["state"], "done");
    assert_eq!(s["enrichment"]["last_error"], Value::Null);
    assert_eq!(s["facts"]["source"], "api");
    assert_eq!(s["facts"]["outcome"], "active");
    assert_eq!(s["facts"]["unit"]["name"], "DIGITALISERINGSDIREKTORATET");
    assert_eq!(s["facts"]["unit"]["org_form"], "ORGL");
    assert!(s["facts"]["fetched_at"].is_string());
    let list: Value = app.api_get("/api/v1/suppliers", &kem).await.json().await.unwrap();
    assert_eq!(list["total"], 2);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["enrichment_state"] == "done")
    );
    // Roles: an innkjøper and an A-krim partner do not browse the supplier register.
    assert_eq!(app.api_get("/api/v1/suppliers", &inn).await.status(), 403);
    app.stop();
}

async fn removed_unit_is_forgotten(backend: Backend) {
    let server = MockServer::start().await;
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let kem = app.token_for("kem");
    app.upload(
        &kem,
        "r.xlsx",
        register(&[("K-1", "Rent AS", "923609016"), ("K-2", "X", "974760673")]),
        &[],
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/enheter/923609016"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(active_unit("923609016", "RENT AS"), "application/json"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/enheter/974760673"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/underenheter/974760673"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let e = Enricher::new(app.pool.clone(), client(&server.uri()), chrono::Duration::days(7));
    assert_eq!(e.run_once().await.unwrap().succeeded, 2);
    assert_eq!(
        supplier(&app, &kem, "974760673").await["facts"]["outcome"],
        "unknown"
    );
    assert_eq!(
        supplier(&app, &kem, "923609016").await["facts"]["outcome"],
        "active"
    );

    // Later the register says 410 Gone: the cached copy is deleted, the removal recorded.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/enheter/923609016"))
        .respond_with(ResponseTemplate::new(410).set_body_raw(
            fixture("brreg/underenhet_fjernet_410_433695968.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let r = app
        .client
        .post(app.url("/api/v1/suppliers/923609016/refresh"))
        .bearer_auth(&kem)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(e.run_once().await.unwrap().succeeded, 1);
    let s = supplier(&app, &kem, "923609016").await;
    assert_eq!(s["facts"]["outcome"], "removed");
    assert_eq!(s["facts"]["unit"], Value::Null);
    assert_eq!(
        app.count("register_facts"),
        2,
        "the active copy of 923609016 is gone"
    );
    let mut conn = app.pool.get().unwrap();
    let actions: Vec<String> = spotcheck::db::models::audit::recent(&mut conn, 20)
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(
        actions.contains(&"brreg.removed".to_owned()) && actions.contains(&"supplier.refresh".to_owned()),
        "{actions:?}"
    );
    app.stop();
}

async fn bulk_and_approval_files(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let kem = app.token_for("kem");
    app.upload(
        &kem,
        "r.xlsx",
        register(&[
            ("K-1", "Skjult Renhold", "310000019"),
            ("K-2", "Rent AS", "923609016"),
        ]),
        &[],
    )
    .await;
    let dir = env!("CARGO_MANIFEST_DIR");
    let (ok, out, err) = run_cli(
        &app.db,
        &[
            "brreg",
            "load",
            &format!("{dir}/fixtures/brreg/enheter_lastned_lite.json.gz"),
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(out.contains("1 lagret"), "only our suppliers: {out}");
    let s = supplier(&app, &kem, "310000019").await;
    assert_eq!(s["facts"]["source"], "bulk-json");
    assert_eq!(
        s["facts"]["unit"]["employees"], "Hidden1To4",
        "missing is not zero: {s}"
    );
    assert_eq!(s["enrichment"]["state"], "done");

    let (ok, out, err) = run_cli(
        &app.db,
        &[
            "approvals",
            "load",
            "--register",
            "renhold",
            &format!("{dir}/fixtures/approvals/renhold_v1.xml"),
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(out.contains("oppføringer"), "{out}");
    let (ok, out, err) = run_cli(
        &app.db,
        &[
            "approvals",
            "load",
            "--register",
            "bilpleie",
            &format!("{dir}/fixtures/approvals/bilpleie_med_overskrift.csv"),
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(out.contains("avvist"), "{out}");
    let s = supplier(&app, &kem, "310000019").await;
    let renhold = s["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["register"] == "renhold")
        .unwrap();
    assert_eq!(renhold["status"], "Godkjent med ansatte");
    let s = supplier(&app, &kem, "923609016").await;
    let bil = s["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["register"] == "bilpleie")
        .unwrap();
    assert_eq!(bil["status"], "Søknad under behandling");
    let (ok, out, _) = run_cli(&app.db, &["audit", "verify"], &[]);
    assert!(ok && out.contains("intakt"), "{out}");
    app.stop();
}

async fn change_feed_queues_changed_suppliers(backend: Backend) {
    use spotcheck::db::models::suppliers;
    use wiremock::matchers::query_param;
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let kem = app.token_for("kem");
    let rows = [
        ("K-1", "Digdir", "991825827"),
        ("K-2", "Skjult", "310000019"),
        ("K-3", "Rent", "923609016"),
    ];
    app.upload(&kem, "r.xlsx", register(&rows), &[]).await;
    {
        let mut conn = app.pool.get().unwrap();
        suppliers::apply_feed_page(&mut conn, "enheter", &[], 21000100).unwrap();
        suppliers::apply_feed_page(&mut conn, "underenheter", &[], 7).unwrap();
    }
    let server = MockServer::start().await;
    for (from, file) in [
        ("21000101", "brreg/oppdateringer_side1.json"),
        ("21000106", "brreg/oppdateringer_side2.json"),
        ("21000111", "brreg/oppdateringer_tom.json"),
    ] {
        Mock::given(method("GET"))
            .and(path("/oppdateringer/enheter"))
            .and(query_param("oppdateringsid", from))
            .respond_with(ResponseTemplate::new(200).set_body_raw(fixture(file), "application/json"))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/oppdateringer/underenheter"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("brreg/oppdateringer_tom.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let e = Enricher::new(app.pool.clone(), client(&server.uri()), chrono::Duration::days(7));
    let f = e.follow_feeds(10).await.unwrap();
    assert_eq!(f.updates, 5);
    assert_eq!(
        f.queued, 2,
        "991825827 and 310000019 are ours; the others are not"
    );
    let mut conn = app.pool.get().unwrap();
    assert_eq!(
        suppliers::feed_position(&mut conn, "enheter").unwrap(),
        Some(21000110)
    );
    // The next round continues where it stopped and finds nothing new.
    let f = e.follow_feeds(10).await.unwrap();
    assert_eq!(f.updates, 0);
    app.stop();
}

backend_tests!(
    import_while_register_is_down_then_enriched,
    removed_unit_is_forgotten,
    bulk_and_approval_files,
    change_feed_queues_changed_suppliers,
);

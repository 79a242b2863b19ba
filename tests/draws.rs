//! Verifiable draws end to end, on SQLite and PostgreSQL: publishing and reading back over
//! the API, verification (and its failure after tampering), extensions, strata, previews,
//! atomicity, roles, the CLI's JSON, and the independent Python verifier.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use common::rules::{shipped_rules, shipped_rules_dir};
use common::{Backend, TestApp, TestDb, run_cli};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Value, json};
use spotcheck::db::models::{Actor, users};
use spotcheck::db::schema::{assessments, contract_risk, contracts, rule_sets};
use spotcheck::db::{DbConn, Pool};
use spotcheck::domain::roles::{Agency, Role};
use spotcheck::service::draws::{self, DrawFilter, DrawSpec, StrataMode};

const SEED: &str = "2026-03-02 rådhuset: 3 8 1 5 0 6 2 2 7 9";

/// One contract of the test register: (id, unit, score, industries as stored).
type Row = (&'static str, &'static str, Option<i32>, &'static str);

/// 26 contracts: 12 renhold, 8 bygg og anlegg, 2 in both, 3 in no risk industry, 1 unscored
/// (only when `with_unscored`).
fn rows(with_unscored: bool) -> Vec<Row> {
    let mut v: Vec<Row> = vec![
        ("K-001", "Bergenhus", Some(0), ",renhold,"),
        ("K-002", "Bergenhus", Some(5), ",renhold,"),
        ("K-003", "Bergenhus", Some(10), ",renhold,"),
        ("K-004", "Bergenhus", Some(25), ",renhold,"),
        ("K-005", "Årstad", Some(45), ",renhold,"),
        ("K-006", "Årstad", Some(70), ",renhold,"),
        ("K-007", "Årstad", Some(15), ",renhold,"),
        ("K-008", "Årstad", Some(3), ",renhold,"),
        ("K-009", "Fana", Some(40), ",renhold,"),
        ("K-010", "Fana", Some(20), ",renhold,"),
        ("K-011", "Fana", Some(8), ",renhold,"),
        ("K-012", "Fana", Some(90), ",renhold,"),
        ("K-013", "Bergenhus", Some(30), ",bygg_anlegg,"),
        ("K-014", "Bergenhus", Some(12), ",bygg_anlegg,"),
        ("K-015", "Årstad", Some(55), ",bygg_anlegg,"),
        ("K-016", "Årstad", Some(0), ",bygg_anlegg,"),
        ("K-017", "Fana", Some(65), ",bygg_anlegg,"),
        ("K-018", "Fana", Some(7), ",bygg_anlegg,"),
        ("K-019", "Fana", Some(33), ",bygg_anlegg,"),
        ("K-020", "Fana", Some(48), ",bygg_anlegg,"),
        ("K-021", "Bergenhus", Some(60), ",renhold,bygg_anlegg,"),
        ("K-022", "Årstad", Some(22), ",renhold,bygg_anlegg,"),
        ("K-023", "Fana", Some(0), ",,"),
        ("K-024", "Fana", Some(2), ""),
        ("K-025", "Bergenhus", Some(1), ",,"),
    ];
    if with_unscored {
        v.push(("K-026", "Bergenhus", None, ""));
    }
    v
}

fn tier_of(score: i32) -> &'static str {
    match score {
        s if s >= 70 => "kritisk",
        s if s >= 40 => "høy",
        s if s >= 20 => "middels",
        _ => "lav",
    }
}

/// Imports the register through the real import path, then stores risk rows directly (the
/// scoring that fills them is built elsewhere).
fn load_register(pool: &Pool, rows: &[Row]) {
    let mut conn = pool.get().unwrap();
    let uploader = match users::find_by_username(&mut conn, "loader").unwrap() {
        Some(u) => u,
        None => spotcheck::service::users::create_hashed(
            &mut conn,
            &Actor::system(),
            "loader",
            Role::Kemner,
            None,
            None,
        )
        .unwrap(),
    };
    let mut csv = String::from("Avtalenr;Leverandør;Org.nr;Startdato;Sluttdato;Enhet\n");
    for (i, (no, unit, _, _)) in rows.iter().enumerate() {
        let (orgnr, name) = if i % 2 == 0 {
            ("923609016", "Rent og Pent AS")
        } else {
            ("991825827", "Bygg og Bolt AS")
        };
        // K-020 ended in 2024: outside a 2025–2026 period filter.
        let end = if *no == "K-020" {
            "31.12.2024"
        } else {
            "31.12.2027"
        };
        csv.push_str(&format!("{no};{name};{orgnr};01.01.2024;{end};{unit}\n"));
    }
    let report = spotcheck::service::imports::import_register(
        pool,
        &uploader,
        "register.csv",
        spotcheck::import::RegisterFile::Bytes(csv.as_bytes()),
        &spotcheck::import::ImportOptions::default(),
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.rows_rejected, 0, "{:?}", report.errors);
    let now = chrono::Utc::now().naive_utc();
    let have_rules: i64 = rule_sets::table
        .filter(rule_sets::version.eq("test-rules-v1"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    if have_rules == 0 {
        diesel::insert_into(rule_sets::table)
            .values((
                rule_sets::version.eq("test-rules-v1"),
                rule_sets::files.eq("[]"),
                rule_sets::created_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    for (no, _, score, industries) in rows {
        let Some(score) = score else { continue };
        let contract_id: i64 = contracts::table
            .filter(contracts::contract_no.eq(no))
            .select(contracts::id)
            .first(&mut conn)
            .unwrap();
        diesel::insert_into(assessments::table)
            .values((
                assessments::subject.eq("contract"),
                assessments::contract_id.eq(Some(contract_id)),
                assessments::contract_version.eq(Some(1)),
                assessments::orgnr.eq("923609016"),
                assessments::rule_set_version.eq("test-rules-v1"),
                assessments::input_sha256.eq("x"),
                assessments::as_of.eq(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
                assessments::score.eq(*score),
                assessments::max_possible_score.eq(100),
                assessments::tier.eq(tier_of(*score)),
                assessments::industries.eq(*industries),
                assessments::explanation.eq("[]"),
                assessments::reason.eq("test"),
                assessments::assessed_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
        let assessment_id: i64 = assessments::table
            .filter(assessments::contract_id.eq(Some(contract_id)))
            .select(assessments::id)
            .first(&mut conn)
            .unwrap();
        diesel::insert_into(contract_risk::table)
            .values((
                contract_risk::contract_id.eq(contract_id),
                contract_risk::assessment_id.eq(assessment_id),
                contract_risk::score.eq(*score),
                contract_risk::max_possible_score.eq(100),
                contract_risk::tier.eq(tier_of(*score)),
                contract_risk::industries.eq(*industries),
                contract_risk::assessed_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
    }
}

/// A service with the register loaded, a Kemneren user, two A-krim liaisons and an
/// innkjøper; returns the app and the kemner's token.
async fn setup(backend: Backend) -> (TestApp, String) {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("ola", Role::Akrim, Some(Agency::Arbeidstilsynet));
    app.add_user("siri", Role::Akrim, Some(Agency::Skatteetaten));
    app.add_user("per", Role::Innkjoper, None);
    load_register(&app.pool, &rows(false));
    // Two liaisons who cover every industry and want draw notices.
    for (name, agency) in [("Ola", "arbeidstilsynet"), ("Siri", "skatteetaten")] {
        let draft = spotcheck::domain::liaison::LiaisonDraft {
            name: name.into(),
            agency: agency.into(),
            email: format!("{}@{agency}.test", name.to_lowercase()),
            industries: Vec::new(),
            notices: vec!["draw_published".into()],
            user: None,
        };
        spotcheck::service::liaisons::create(
            &mut app.pool.get().unwrap(),
            &Actor::system(),
            &shipped_rules(),
            &draft,
        )
        .unwrap();
    }
    let token = app.token_for("kari");
    (app, token)
}

async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn body(resp: reqwest::Response) -> Value {
    resp.json().await.unwrap()
}

fn kemner(pool: &Pool) -> users::User {
    users::find_by_username(&mut pool.get().unwrap(), "kari")
        .unwrap()
        .unwrap()
}

/// Publishes through the library (for tests that look at storage rather than HTTP).
fn publish(pool: &Pool, spec: &DrawSpec) -> draws::Published {
    let rs = shipped_rules();
    draws::publish(&mut pool.get().unwrap(), &kemner(pool), spec, &rs).unwrap()
}

fn spec(size: u64) -> DrawSpec {
    DrawSpec {
        seed: Some(SEED.into()),
        size: Some(size),
        ..DrawSpec::default()
    }
}

fn verify(pool: &Pool, id: i64) -> draws::StoredVerification {
    draws::verify_stored(&mut pool.get().unwrap(), id).unwrap()
}

fn exec(conn: &mut DbConn, sql: &str) -> Result<(), diesel::result::Error> {
    conn.batch_execute(sql)
}

/// The statements that remove the immutability triggers (what someone tampering with the
/// database directly would do first).
fn drop_triggers_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "DROP TRIGGER draws_no_update; DROP TRIGGER draw_manifests_no_update; \
             DROP TRIGGER draw_picks_no_update;"
        }
        Backend::Postgres => {
            "DROP TRIGGER draws_no_change ON draws; DROP TRIGGER draw_manifests_no_change ON draw_manifests; \
             DROP TRIGGER draw_picks_no_change ON draw_picks;"
        }
    }
}

async fn publish_and_read_back(backend: Backend) {
    let (app, token) = setup(backend).await;
    let audit_before = app.count("audit_log");
    let r = post(
        &app,
        "/api/v1/draws",
        &token,
        &json!({"seed": SEED, "size": 6, "strata": "industry", "min_per_stratum": 1,
                "filter": {"active_from": "2025-01-01", "active_to": "2026-12-31"}}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let published = body(r).await;
    let id = published["id"].as_i64().unwrap();
    assert_eq!(published["seed"], SEED);
    assert_eq!(published["seed_source"], "ceremony");
    assert_eq!(published["algorithm"], "rivest-counter+consistent-sampler/v1");
    // K-020 ended in 2024 and is outside the period.
    assert_eq!(published["population_size"], 24);
    let picks = published["picks"].as_array().unwrap();
    assert_eq!(picks.len(), 6);
    assert!(picks.iter().all(|p| p["id"] != "K-020"));
    assert_eq!(published["cases_opened"], 6);
    assert_eq!(
        published["notifications_queued"], 2,
        "one message per liaison concerned"
    );

    let read = body(app.api_get(&format!("/api/v1/draws/{id}"), &token).await).await;
    assert_eq!(
        read["picks"], published["picks"],
        "the stored picks are the published ones"
    );
    assert_eq!(read["manifest_sha256"], published["manifest_sha256"]);
    for (i, p) in picks.iter().enumerate() {
        assert_eq!(p["position"], i as u64 + 1);
        assert!(p["case_id"].is_i64(), "every pick has its case: {p}");
        match p["part"].as_str().unwrap() {
            "weighted" => assert!(p["counter"].is_u64() && p["ticket"].is_null()),
            "uniform" => assert!(p["ticket"].as_str().unwrap().starts_with("0.") && p["counter"].is_null()),
            other => panic!("part {other}"),
        }
    }
    let list = body(app.api_get("/api/v1/draws", &token).await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["picks"], 6);

    // The manifest is served byte for byte as hashed.
    let m = app.api_get(&format!("/api/v1/draws/{id}/manifest"), &token).await;
    assert_eq!(m.status(), 200);
    assert!(
        m.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let bytes = m.bytes().await.unwrap();
    assert_eq!(
        spotcheck::sampling::sha256_hex(std::str::from_utf8(&bytes).unwrap()),
        published["manifest_sha256"].as_str().unwrap()
    );
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 24);
    // Strata: the first industry in rule-set order, `annet` for none.
    assert!(text.contains("renhold\tK-021\t61\n"), "{text}");
    assert!(text.contains("annet\tK-024\t3\n"), "weight = score + 1: {text}");
    assert!(
        text.contains("bygg_anlegg\tK-016\t1\n"),
        "score 0 still has weight 1: {text}"
    );

    let v = body(app.api_get(&format!("/api/v1/draws/{id}/verify"), &token).await).await;
    assert_eq!(v["ok"], true, "{v}");

    // Cases and outbox rows were written with the draw.
    assert_eq!(app.count("cases"), 6);
    assert_eq!(app.count("outbox"), 2);
    let mut conn = app.pool.get().unwrap();
    let cases = spotcheck::db::models::draws::cases_of_draw(&mut conn, id).unwrap();
    assert!(cases.iter().all(|c| c.status == "ny" && c.source == "draw"));
    let case_strata: HashSet<String> = cases.iter().filter_map(|c| c.stratum.clone()).collect();
    let pick_strata: HashSet<String> = picks
        .iter()
        .map(|p| p["stratum"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(case_strata, pick_strata);
    let messages = spotcheck::db::models::outbox::with_prefix(&mut conn, &format!("draw:{id}:")).unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.status == "pending" && m.attempts == 0));
    let agencies: HashSet<_> = messages
        .iter()
        .filter_map(|m| m.recipient_agency.clone())
        .collect();
    assert_eq!(
        agencies,
        HashSet::from(["arbeidstilsynet".to_owned(), "skatteetaten".to_owned()])
    );
    let payload: Value = serde_json::from_str(&messages[0].payload).unwrap();
    let lines = payload["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 6, "every pick, each with its case");
    assert!(lines.iter().all(|l| l["case_id"].as_i64().is_some()));
    // One audit entry, and the chain holds.
    assert_eq!(app.count("audit_log"), audit_before + 1);
    assert!(matches!(
        spotcheck::db::models::audit::verify(&mut conn).unwrap(),
        spotcheck::db::models::audit::ChainStatus::Intact { .. }
    ));
    app.stop();
}

async fn verify_fails_after_tampering(backend: Backend) {
    let (app, _token) = setup(backend).await;
    let d = publish(&app.pool, &spec(5));
    let id = d.draw.id;
    assert!(verify(&app.pool, id).ok);

    let mut raw = app.db.raw_conn();
    // The triggers refuse changes to a published draw.
    let err = exec(&mut raw, &format!("UPDATE draws SET seed = 'x' WHERE id = {id}"));
    assert!(err.is_err(), "UPDATE of a published draw must be refused");
    assert!(exec(&mut raw, &format!("DELETE FROM draw_picks WHERE draw_id = {id}")).is_err());
    assert!(
        exec(
            &mut raw,
            &format!("UPDATE draw_manifests SET text = 'x' WHERE draw_id = {id}")
        )
        .is_err()
    );
    exec(&mut raw, drop_triggers_sql(backend)).unwrap();

    // 1. The manifest: one weight changed.
    let text = draws::manifest_text(&mut app.pool.get().unwrap(), id).unwrap();
    let forged = text.replacen("\t1\n", "\t2\n", 1);
    assert_ne!(forged, text);
    let set_manifest = |conn: &mut DbConn, t: &str| {
        diesel::update(spotcheck::db::schema::draw_manifests::table.find(id))
            .set(spotcheck::db::schema::draw_manifests::text.eq(t))
            .execute(conn)
            .unwrap();
    };
    set_manifest(&mut raw, &forged);
    let v = verify(&app.pool, id);
    assert!(!v.ok);
    assert!(
        v.message.contains("manifest is not the published one"),
        "{}",
        v.message
    );
    set_manifest(&mut raw, &text);
    assert!(verify(&app.pool, id).ok, "restored, it holds again");

    // 2. The seed.
    exec(
        &mut raw,
        &format!("UPDATE draws SET seed = 'a different seed' WHERE id = {id}"),
    )
    .unwrap();
    let v = verify(&app.pool, id);
    assert!(!v.ok);
    assert!(v.message.contains("differs"), "{}", v.message);
    exec(
        &mut raw,
        &format!("UPDATE draws SET seed = '{SEED}' WHERE id = {id}"),
    )
    .unwrap();
    assert!(verify(&app.pool, id).ok);

    // 3. A pick: the third pick swapped for a contract that was not drawn.
    let picked: HashSet<String> = d.draw.picks.iter().map(|p| p.pick.id.clone()).collect();
    let outsider = rows(false)
        .iter()
        .map(|r| r.0.to_owned())
        .find(|no| !picked.contains(no))
        .unwrap();
    exec(
        &mut raw,
        &format!("UPDATE draw_picks SET contract_no = '{outsider}' WHERE draw_id = {id} AND position = 3"),
    )
    .unwrap();
    let v = verify(&app.pool, id);
    assert!(!v.ok);
    assert!(v.message.contains("pick 3 differs"), "{}", v.message);
    assert!(
        v.message.contains(&outsider),
        "names the forged pick: {}",
        v.message
    );
    // Extending a draw that does not hold is refused.
    let err = draws::extend(
        &mut app.pool.get().unwrap(),
        &kemner(&app.pool),
        id,
        2,
        None,
        &shipped_rules(),
    )
    .unwrap_err();
    assert!(matches!(err, draws::DrawError::Corrupt { .. }), "{err}");
    app.stop();
}

async fn seed_and_picks_rewritten_together_are_caught_by_the_audit_log(backend: Backend) {
    let (app, _token) = setup(backend).await;
    let d = publish(&app.pool, &spec(4));
    let id = d.draw.id;
    // Rewrite the seed and all picks consistently, so the recomputation alone would hold.
    let manifest = spotcheck::sampling::Manifest::parse(
        &draws::manifest_text(&mut app.pool.get().unwrap(), id).unwrap(),
    )
    .unwrap();
    let record = draws::load_record(&mut app.pool.get().unwrap(), id).unwrap();
    let forged = spotcheck::sampling::draw(&manifest, "forged seed", &record.plans[0]).unwrap();
    let mut raw = app.db.raw_conn();
    exec(&mut raw, drop_triggers_sql(backend)).unwrap();
    exec(
        &mut raw,
        &format!("UPDATE draws SET seed = 'forged seed' WHERE id = {id}"),
    )
    .unwrap();
    // Move the positions out of the way first (position is unique per draw).
    exec(
        &mut raw,
        &format!("UPDATE draw_picks SET position = position + 1000 WHERE draw_id = {id}"),
    )
    .unwrap();
    for (old, new) in record.picks.iter().zip(&forged) {
        let (part, counter, ticket) = match &new.part {
            spotcheck::sampling::Part::Weighted { counter } => {
                ("weighted", counter.to_string(), "NULL".to_owned())
            }
            spotcheck::sampling::Part::Uniform { ticket } => {
                ("uniform", "NULL".to_owned(), format!("'{ticket}'"))
            }
        };
        exec(
            &mut raw,
            &format!(
                "UPDATE draw_picks SET position = {}, contract_no = 'TMP-{}', part = '{part}', counter = {counter}, \
                 ticket = {ticket}, stratum = '{}' WHERE draw_id = {id} AND position = {}",
                new.position,
                new.id,
                new.stratum,
                old.position + 1000
            ),
        )
        .unwrap();
    }
    exec(
        &mut raw,
        &format!("UPDATE draw_picks SET contract_no = substr(contract_no, 5) WHERE draw_id = {id}"),
    )
    .unwrap();
    let v = verify(&app.pool, id);
    assert!(
        v.report.ok,
        "the forged record is self-consistent: {:?}",
        v.report
    );
    assert!(!v.ok, "but it contradicts the audit log");
    assert!(v.message.contains("revisjonsloggen"), "{}", v.message);
    app.stop();
}

async fn extension_keeps_earlier_picks(backend: Backend) {
    let (app, token) = setup(backend).await;
    let r = post(
        &app,
        "/api/v1/draws",
        &token,
        &json!({"seed": SEED, "size": 5, "strata": "industry", "uniform_share": 0.4}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let first = body(r).await;
    let id = first["id"].as_i64().unwrap();
    let r = post(
        &app,
        &format!("/api/v1/draws/{id}/extend"),
        &token,
        &json!({"size": 4}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let extended = body(r).await;
    assert_eq!(extended["round"], 2);
    let picks = extended["picks"].as_array().unwrap();
    assert_eq!(picks.len(), 9);
    assert_eq!(
        &picks[..5],
        first["picks"].as_array().unwrap().as_slice(),
        "earlier picks stay, unchanged and first"
    );
    assert!(picks[5..].iter().all(|p| p["round"] == 2));
    let ids: HashSet<&str> = picks.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 9, "no contract is picked twice");
    assert_eq!(extended["plans"].as_array().unwrap().len(), 2);
    assert_eq!(extended["cases_opened"], 4);
    assert_eq!(app.count("cases"), 9);
    assert_eq!(app.count("outbox"), 4, "two liaisons × two rounds");
    assert_eq!(app.count("draws"), 1);
    assert!(verify(&app.pool, id).ok);

    // Extending until nothing is left, then once more: refused with 409.
    let r = post(
        &app,
        &format!("/api/v1/draws/{id}/extend"),
        &token,
        &json!({"size": 100}),
    )
    .await;
    assert_eq!(r.status(), 201);
    assert_eq!(body(r).await["picks"].as_array().unwrap().len(), 25);
    let r = post(
        &app,
        &format!("/api/v1/draws/{id}/extend"),
        &token,
        &json!({"size": 1}),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert!(verify(&app.pool, id).ok);
    app.stop();
}

async fn stratum_minimums_hold(backend: Backend) {
    let (app, _token) = setup(backend).await;
    // By size, 8 picks over renhold 14, bygg_anlegg 8, annet 3: proportional shares would
    // give annet 1; the minimum of 3 is a promise.
    let s = DrawSpec {
        strata: StrataMode::Industry,
        min_per_stratum: 3,
        ..spec(8)
    };
    let d = publish(&app.pool, &s);
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for p in &d.draw.picks {
        *per.entry(p.pick.stratum.clone()).or_default() += 1;
    }
    assert_eq!(
        per.keys().cloned().collect::<Vec<_>>(),
        ["annet", "bygg_anlegg", "renhold"]
    );
    assert!(per.values().all(|&n| n >= 3), "{per:?}");
    assert_eq!(
        per.values().sum::<usize>(),
        9,
        "the total is raised to the minimums' sum: {per:?}"
    );
    // A filter on one industry puts a two-industry contract in that industry's stratum.
    let s = DrawSpec {
        strata: StrataMode::Industry,
        filter: DrawFilter {
            industries: vec!["bygg_anlegg".into()],
            ..DrawFilter::default()
        },
        ..spec(3)
    };
    let d = publish(&app.pool, &s);
    assert_eq!(d.draw.population_size, 10);
    let text = draws::manifest_text(&mut app.pool.get().unwrap(), d.draw.id).unwrap();
    assert!(text.lines().all(|l| l.starts_with("bygg_anlegg\t")), "{text}");
    assert!(text.contains("bygg_anlegg\tK-021\t61\n"));
    app.stop();
}

async fn filters_shape_the_population(backend: Backend) {
    let (app, _token) = setup(backend).await;
    let rs = shipped_rules();
    let user = kemner(&app.pool);
    let pv = |f: DrawFilter| {
        draws::preview(
            &mut app.pool.get().unwrap(),
            &user,
            &DrawSpec {
                filter: f,
                ..DrawSpec::default()
            },
            &rs,
        )
    };
    assert_eq!(pv(DrawFilter::default()).unwrap().population_size, 25);
    let high = pv(DrawFilter {
        min_tier: Some("høy".into()),
        ..DrawFilter::default()
    })
    .unwrap();
    assert_eq!(high.population_size, 8, "scores ≥ 40");
    let units = pv(DrawFilter {
        units: vec!["Fana".into(), "Årstad".into()],
        exclude: vec!["K-012".into()],
        include: vec!["K-001".into()],
        ..DrawFilter::default()
    })
    .unwrap();
    assert_eq!(units.population_size, 17 - 1 + 1);
    assert_eq!(units.excluded_explicitly, 1);
    assert_eq!(units.included_explicitly, 1);
    let err = pv(DrawFilter {
        include: vec!["K-999".into()],
        ..DrawFilter::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("K-999"), "{err}");
    let err = pv(DrawFilter {
        min_tier: Some("enorm".into()),
        ..DrawFilter::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("lav, middels, høy, kritisk"), "{err}");

    // Sizes planned from a tolerable rate: Poisson ⌈−ln 0.1 / 0.2⌉ = 12, binomial 11.
    let planned = |binomial: bool| {
        let s = DrawSpec {
            tolerable_rate: Some(0.2),
            confidence: Some(0.9),
            binomial,
            ..DrawSpec::default()
        };
        draws::preview(&mut app.pool.get().unwrap(), &user, &s, &rs).unwrap()
    };
    assert_eq!(planned(false).size, Some(12));
    assert_eq!(planned(true).size, Some(11));
    let both = DrawSpec {
        tolerable_rate: Some(0.2),
        ..spec(3)
    };
    assert!(draws::preview(&mut app.pool.get().unwrap(), &user, &both, &rs).is_err());

    // Contracts drawn in the last N months are left out of the next draw.
    let d = publish(&app.pool, &spec(5));
    let later = pv(DrawFilter {
        exclude_checked_months: Some(6),
        ..DrawFilter::default()
    })
    .unwrap();
    assert_eq!(later.population_size, 20);
    assert_eq!(later.excluded_recently_checked, 5);
    let next = publish(
        &app.pool,
        &DrawSpec {
            filter: DrawFilter {
                exclude_checked_months: Some(6),
                ..DrawFilter::default()
            },
            ..spec(20)
        },
    );
    let first: HashSet<_> = d.draw.picks.iter().map(|p| p.pick.id.clone()).collect();
    assert!(next.draw.picks.iter().all(|p| !first.contains(&p.pick.id)));
    assert_eq!(next.draw.picks.len(), 20);
    app.stop();
}

async fn preview_stores_nothing(backend: Backend) {
    let (app, token) = setup(backend).await;
    let tables = [
        "draws",
        "draw_manifests",
        "draw_rounds",
        "draw_picks",
        "cases",
        "outbox",
        "audit_log",
    ];
    let before: Vec<i64> = tables.iter().map(|t| app.count(t)).collect();
    let r = post(
        &app,
        "/api/v1/draws",
        &token,
        &json!({"preview": true, "seed": SEED, "size": 6, "strata": "industry"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let p = body(r).await;
    assert_eq!(p["preview"], true);
    assert_eq!(p["population_size"], 25);
    assert_eq!(p["manifest_sha256"].as_str().unwrap().len(), 64);
    assert!(
        p.get("picks").is_none(),
        "a preview never shows picks (no seed shopping)"
    );
    let strata = p["strata"].as_array().unwrap();
    assert_eq!(strata.len(), 3);
    assert_eq!(
        strata
            .iter()
            .map(|s| s["weighted"].as_u64().unwrap() + s["uniform"].as_u64().unwrap())
            .sum::<u64>(),
        6
    );
    let after: Vec<i64> = tables.iter().map(|t| app.count(t)).collect();
    assert_eq!(before, after, "a preview stores nothing");

    // Publishing against the previewed fingerprint works; against another one it is refused.
    let r = post(
        &app,
        "/api/v1/draws",
        &token,
        &json!({"seed": SEED, "size": 6, "strata": "industry",
                "expected_manifest_sha256": "0".repeat(64)}),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.count("draws"), 0);
    let r = post(
        &app,
        "/api/v1/draws",
        &token,
        &json!({"seed": SEED, "size": 6, "strata": "industry",
                "expected_manifest_sha256": p["manifest_sha256"]}),
    )
    .await;
    assert_eq!(r.status(), 201);
    assert_eq!(body(r).await["manifest_sha256"], p["manifest_sha256"]);
    app.stop();
}

async fn failures_store_nothing(backend: Backend) {
    let (app, token) = setup(backend).await;
    // An unscored contract: refused with an actionable message, nothing stored.
    load_register(&app.pool, &[("K-026", "Fana", None, "")]);
    let r = post(&app, "/api/v1/draws", &token, &json!({"seed": SEED, "size": 3})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let detail = body(r).await["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("1 kontrakter er ikke risikovurdert") && detail.contains("spotcheck score"),
        "{detail}"
    );
    assert!(detail.contains("K-026"), "{detail}");
    assert_eq!(app.count("draws"), 0);
    // Excluding it explicitly makes the population drawable.
    let ok = post(
        &app,
        "/api/v1/draws",
        &token,
        &json!({"preview": true, "size": 3, "filter": {"exclude": ["K-026"]}}),
    )
    .await;
    assert_eq!(ok.status(), 200);

    // A failure late in the transaction (the outbox refuses the insert) rolls back the draw,
    // its manifest, plan, picks and cases too.
    let mut raw = app.db.raw_conn();
    let trap = match backend {
        Backend::Sqlite => {
            "CREATE TRIGGER outbox_trap BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'trap'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION outbox_trap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trap'; END $$; \
             CREATE TRIGGER outbox_trap BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_trap();"
        }
    };
    exec(&mut raw, trap).unwrap();
    let audit_before = app.count("audit_log");
    let r = post(
        &app,
        "/api/v1/draws",
        &token,
        &json!({"seed": SEED, "size": 3, "filter": {"exclude": ["K-026"]}}),
    )
    .await;
    assert_eq!(r.status(), 500);
    for t in [
        "draws",
        "draw_manifests",
        "draw_rounds",
        "draw_picks",
        "cases",
        "outbox",
    ] {
        assert_eq!(app.count(t), 0, "{t} after a failed publication");
    }
    assert_eq!(app.count("audit_log"), audit_before);
    app.stop();
}

async fn roles_are_enforced(backend: Backend) {
    let (app, token) = setup(backend).await;
    let akrim = app.token_for("ola");
    let innkjoper = app.token_for("per");
    let admin = app.token_for("admin");
    let req = json!({"seed": SEED, "size": 3});
    for t in [&akrim, &innkjoper, &admin] {
        let r = post(&app, "/api/v1/draws", t, &req).await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
    }
    assert_eq!(app.count("draws"), 0);
    let r = post(&app, "/api/v1/draws", &token, &req).await;
    assert_eq!(r.status(), 201);
    let id = body(r).await["id"].as_i64().unwrap();
    // A-krim partners read published draws; they cannot extend them.
    for path in [
        "/api/v1/draws".to_owned(),
        format!("/api/v1/draws/{id}"),
        format!("/api/v1/draws/{id}/manifest"),
        format!("/api/v1/draws/{id}/verify"),
    ] {
        assert_eq!(app.api_get(&path, &akrim).await.status(), 200, "{path}");
        for other in [&innkjoper, &admin] {
            let r = app.api_get(&path, other).await;
            assert_eq!(r.status(), 403, "{path}");
        }
    }
    let r = post(
        &app,
        &format!("/api/v1/draws/{id}/extend"),
        &akrim,
        &json!({"size": 1}),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.api_get("/api/v1/draws/9999", &akrim).await.status(), 404);
    // The library refuses too, whoever calls it.
    let ola = users::find_by_username(&mut app.pool.get().unwrap(), "ola")
        .unwrap()
        .unwrap();
    let err = draws::publish(&mut app.pool.get().unwrap(), &ola, &spec(2), &shipped_rules()).unwrap_err();
    assert!(matches!(err, draws::DrawError::Forbidden(_)));
    app.stop();
}

/// A database with the register, a kemner user and one liaison, for the CLI tests.
fn cli_db(backend: Backend) -> TestDb {
    let (db, pool, _kari) = common::with_kemner(backend);
    spotcheck::service::users::create_hashed(
        &mut pool.get().unwrap(),
        &Actor::system(),
        "ola",
        Role::Akrim,
        Some(Agency::Nav),
        None,
    )
    .unwrap();
    load_register(&pool, &rows(false));
    db
}

fn rules_env() -> (&'static str, String) {
    (
        "SPOTCHECK_RULES_DIR",
        shipped_rules_dir().to_string_lossy().into_owned(),
    )
}

fn cli(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let (k, v) = rules_env();
    run_cli(db, args, &[(k, v.as_str())])
}

async fn cli_json_shape(backend: Backend) {
    let db = cli_db(backend);
    // Without a kemner user: refused.
    let (ok, _, err) = cli(&db, &["draw", "--seed", SEED, "--size", "4", "--user", "ola"]);
    assert!(!ok);
    assert!(err.contains("rollen din gir ikke lov"), "{err}");
    let (ok, out, err) = cli(
        &db,
        &[
            "draw",
            "--preview",
            "--size",
            "4",
            "--strata",
            "industry",
            "--format",
            "json",
            "--user",
            "kari",
        ],
    );
    assert!(ok, "{err}");
    let preview: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(preview["preview"], true);
    assert!(preview.get("id").is_none());
    let (ok, out, err) = cli(
        &db,
        &[
            "draw",
            "--seed",
            SEED,
            "--size",
            "6",
            "--uniform-share",
            "0.5",
            "--strata",
            "industry",
            "--industry",
            "renhold",
            "--industry",
            "bygg_anlegg",
            "--min-tier",
            "lav",
            "--active-from",
            "2025-01-01",
            "--exclude",
            "K-001",
            "--expect-sha256",
            preview["manifest_sha256"].as_str().unwrap(),
            "--format",
            "json",
            "--user",
            "kari",
        ],
    );
    // The filters changed the population, so the previewed fingerprint no longer matches.
    assert!(!ok, "{out}");
    assert!(err.contains("populasjonen er endret"), "{err}");
    let (ok, out, err) = cli(
        &db,
        &[
            "draw",
            "--seed",
            SEED,
            "--size",
            "6",
            "--strata",
            "industry",
            "--industry",
            "renhold",
            "--industry",
            "bygg_anlegg",
            "--exclude",
            "K-001",
            "--format",
            "json",
            "--user",
            "kari",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim().lines().count(), 1, "exactly one JSON object: {out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["seed"], SEED);
    assert_eq!(v["manifest_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(v["population_size"], 21);
    let picks = v["picks"].as_array().unwrap();
    assert_eq!(picks.len(), 6);
    for p in picks {
        assert!(p["id"].as_str().unwrap().starts_with("K-"));
        assert!(["renhold", "bygg_anlegg"].contains(&p["stratum"].as_str().unwrap()));
        match p["part"].as_str().unwrap() {
            "weighted" => assert!(p["counter"].is_u64()),
            "uniform" => assert!(p["ticket"].is_string()),
            other => panic!("part {other}"),
        }
    }
    // Without --seed: 128 bits from the OS, recorded.
    let (ok, out, err) = cli(
        &db,
        &["draw", "--size", "2", "--format", "json", "--user", "kari"],
    );
    assert!(ok, "{err}");
    let r: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["seed_source"], "os_rng");
    let seed = r["seed"].as_str().unwrap();
    assert!(
        seed.len() == 32 && seed.bytes().all(|b| b.is_ascii_hexdigit()),
        "{seed}"
    );

    // The manifest, byte for byte.
    let (ok, manifest, _) = cli(&db, &["draw", "manifest", &id.to_string()]);
    assert!(ok);
    assert_eq!(
        spotcheck::sampling::sha256_hex(&manifest),
        v["manifest_sha256"].as_str().unwrap()
    );
    assert!(manifest.ends_with('\n') && !manifest.ends_with("\n\n"));
    // Verify, extend, verify.
    let (ok, out, _) = cli(&db, &["verify", &id.to_string()]);
    assert!(ok && out.contains("holder"), "{out}");
    let (ok, out, err) = cli(
        &db,
        &[
            "draw",
            "extend",
            &id.to_string(),
            "--size",
            "3",
            "--format",
            "json",
            "--user",
            "kari",
        ],
    );
    assert!(ok, "{err}");
    let ext: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(ext["picks"].as_array().unwrap().len(), 9);
    assert_eq!(ext["picks"].as_array().unwrap()[..6], picks[..]);
    assert!(cli(&db, &["verify", &id.to_string()]).0);
    // Tampered: non-zero exit, the first mismatch named.
    let mut raw = db.raw_conn();
    exec(&mut raw, drop_triggers_sql(backend)).unwrap();
    exec(
        &mut raw,
        &format!("UPDATE draw_picks SET contract_no = 'K-001' WHERE draw_id = {id} AND position = 2"),
    )
    .unwrap();
    let (ok, _, err) = cli(&db, &["verify", &id.to_string()]);
    assert!(!ok);
    assert!(
        err.contains("holder IKKE") && err.contains("pick 2 differs"),
        "{err}"
    );
    assert!(!cli(&db, &["verify", "424242"]).0);
}

async fn python_verifier_agrees(backend: Backend) {
    let db = cli_db(backend);
    let (ok, out, err) = cli(
        &db,
        &[
            "draw",
            "--seed",
            SEED,
            "--size",
            "7",
            "--strata",
            "industry",
            "--min-per-stratum",
            "2",
            "--uniform-share",
            "40%",
            "--format",
            "json",
            "--user",
            "kari",
        ],
    );
    assert!(ok, "{err}");
    let id = serde_json::from_str::<Value>(out.trim()).unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let (ok, _, err) = cli(&db, &["draw", "extend", &id, "--size", "5", "--user", "kari"]);
    assert!(ok, "{err}");
    let (ok, manifest, _) = cli(&db, &["draw", "manifest", &id]);
    assert!(ok);
    let (ok, record, _) = cli(&db, &["draw", "show", &id, "--format", "json"]);
    assert!(ok);
    let stored: Value = serde_json::from_str(record.trim()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest_path = dir.path().join("manifest.tsv");
    let record_path = dir.path().join("draw.json");
    std::fs::write(&manifest_path, manifest.as_bytes()).unwrap();
    std::fs::write(&record_path, record.as_bytes()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/draws_verify.py");

    // An independent re-run from the exported manifest, the seed and the recorded plans.
    let run = std::process::Command::new("python3")
        .arg(&script)
        .arg(&manifest_path)
        .args(["--seed", SEED, "--plan"])
        .arg(&record_path)
        .arg("--json")
        .output()
        .expect("python3 runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let recomputed: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(recomputed["manifest_sha256"], stored["manifest_sha256"]);
    let fields = ["position", "stratum", "id", "part", "counter", "ticket"];
    let canon = |p: &Value| {
        let m: serde_json::Map<String, Value> = fields
            .iter()
            .filter_map(|f| p.get(*f).map(|v| ((*f).to_owned(), v.clone())))
            .collect();
        serde_json::to_string(&m).unwrap()
    };
    let ours: Vec<String> = stored["picks"].as_array().unwrap().iter().map(canon).collect();
    let theirs: Vec<String> = recomputed["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(canon)
        .collect();
    assert_eq!(ours.len(), 12);
    assert_eq!(ours, theirs, "Python and the service agree byte for byte");

    // And the script's own check of the record holds; a changed seed does not.
    let check = |seed: &str| {
        std::process::Command::new("python3")
            .arg(&script)
            .arg(&manifest_path)
            .arg("--check")
            .arg(&record_path)
            .args(["--seed", seed])
            .output()
            .unwrap()
    };
    let good = check(SEED);
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    let bad = check("another seed");
    assert_eq!(bad.status.code(), Some(1));
}

backend_tests!(
    publish_and_read_back,
    verify_fails_after_tampering,
    seed_and_picks_rewritten_together_are_caught_by_the_audit_log,
    extension_keeps_earlier_picks,
    stratum_minimums_hold,
    filters_shape_the_population,
    preview_stores_nothing,
    failures_store_nothing,
    roles_are_enforced,
    cli_json_shape,
    python_verifier_agrees,
);

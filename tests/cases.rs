//! Case review by the A-krim partners (issue 13) over the real HTTP stack and the CLI, on
//! SQLite and PostgreSQL: a published draw opens cases shared by the liaisons' industries;
//! the full workflow to a four-eyes closing by two Arbeidstilsynet partners; the proposer
//! cannot confirm; reopening needs a reason; another agency gets 404 (by id, by guessing, in
//! the list); an innkjøper sees only the outcome on their own contracts; the admin is
//! refused; every step is audited and the chain verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use common::rules::shipped_rules;
use common::{Backend, TestApp, run_cli};
use diesel::prelude::*;
use serde_json::{Value, json};
use spotcheck::db::Pool;
use spotcheck::db::models::{Actor, users};
use spotcheck::db::schema::{assessments, contract_risk, contracts, rule_sets};
use spotcheck::domain::liaison::LiaisonDraft;
use spotcheck::domain::roles::{Agency, Role};
use spotcheck::service::draws::{self, DrawSpec};

const SEED: &str = "2026-12-06 rådhuset: 4 1 7 7 0 2 9 3 5 8";

/// (contract number, score, industries as stored).
const REGISTER: [(&str, i32, &str); 8] = [
    ("K-001", 70, ",renhold,"),
    ("K-002", 45, ",renhold,"),
    ("K-003", 10, ",renhold,"),
    ("K-013", 30, ",bygg_anlegg,"),
    ("K-014", 12, ",bygg_anlegg,"),
    ("K-021", 60, ",renhold,bygg_anlegg,"),
    ("K-023", 5, ",,"),
    ("K-024", 2, ""),
];

/// Imports the register through the real import path (owned by `loader`, a kemner), then
/// stores risk rows directly, as tests/draws.rs does.
fn load_register(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let uploader = spotcheck::service::users::create_hashed(
        &mut conn,
        &Actor::system(),
        "loader",
        Role::Kemner,
        None,
        None,
    )
    .unwrap();
    let mut csv = String::from("Avtalenr;Leverandør;Org.nr;Startdato;Sluttdato;Enhet;Kontraktsverdi\n");
    for (no, _, _) in REGISTER {
        csv.push_str(&format!(
            "{no};Rent og Pent AS;923609016;01.01.2024;31.12.2027;Bergenhus;1 250 000\n"
        ));
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
    diesel::insert_into(rule_sets::table)
        .values((
            rule_sets::version.eq("test-rules-v1"),
            rule_sets::files.eq("[]"),
            rule_sets::created_at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
    for (no, score, industries) in REGISTER {
        let contract_id: i64 = contracts::table
            .filter(contracts::contract_no.eq(no))
            .select(contracts::id)
            .first(&mut conn)
            .unwrap();
        let tier = if score >= 40 { "høy" } else { "lav" };
        diesel::insert_into(assessments::table)
            .values((
                assessments::subject.eq("contract"),
                assessments::contract_id.eq(Some(contract_id)),
                assessments::contract_version.eq(Some(1)),
                assessments::orgnr.eq("923609016"),
                assessments::rule_set_version.eq("test-rules-v1"),
                assessments::input_sha256.eq("x"),
                assessments::as_of.eq(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
                assessments::score.eq(score),
                assessments::max_possible_score.eq(100),
                assessments::tier.eq(tier),
                assessments::industries.eq(industries),
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
                contract_risk::score.eq(score),
                contract_risk::max_possible_score.eq(100),
                contract_risk::tier.eq(tier),
                contract_risk::industries.eq(industries),
                contract_risk::assessed_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
    }
}

fn liaison(app: &TestApp, name: &str, agency: &str, industries: &[&str]) {
    let draft = LiaisonDraft {
        name: name.into(),
        agency: agency.into(),
        email: format!("{}@{agency}.test", name.to_lowercase()),
        industries: industries.iter().map(|s| (*s).to_owned()).collect(),
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

/// The service with the register, users of every role, an Arbeidstilsynet liaison for
/// renhold and a NAV liaison for bygg og anlegg, and a draw of every contract published.
async fn setup(backend: Backend) -> TestApp {
    setup_with_draw(backend, REGISTER.len() as u64).await
}

fn kemner(app: &TestApp) -> users::User {
    users::find_by_username(&mut app.pool.get().unwrap(), "kari")
        .unwrap()
        .unwrap()
}

/// As [`setup`], with a draw of `size` contracts.
async fn setup_with_draw(backend: Backend, size: u64) -> TestApp {
    let app = TestApp::start(backend).await;
    app.add_user("kari", Role::Kemner, None);
    app.add_user("ola", Role::Akrim, Some(Agency::Arbeidstilsynet));
    app.add_user("oda", Role::Akrim, Some(Agency::Arbeidstilsynet));
    app.add_user("nina", Role::Akrim, Some(Agency::Nav));
    app.add_user("per", Role::Innkjoper, None);
    load_register(&app.pool);
    liaison(&app, "Ola", "arbeidstilsynet", &["renhold"]);
    liaison(&app, "Nora", "nav", &["bygg_anlegg"]);
    let spec = DrawSpec {
        seed: Some(SEED.into()),
        size: Some(size),
        ..DrawSpec::default()
    };
    let published = draws::publish(
        &mut app.pool.get().unwrap(),
        &kemner(&app),
        &spec,
        &shipped_rules(),
    )
    .unwrap();
    assert_eq!(published.cases_opened as u64, size);
    app
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.api_get(path, token).await
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

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

/// Asserts the status and, for a problem, the problem+json type; returns the body.
async fn expect(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Every case in Kemneren's list: contract number → case id.
async fn case_ids(app: &TestApp, token: &str) -> std::collections::BTreeMap<String, i64> {
    let page = json_of(get(app, "/api/v1/cases?per_page=500", token).await).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["contract_no"].as_str().unwrap().to_owned(),
                i["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn shares_of(case: &Value) -> Vec<String> {
    case["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["agency"].as_str().unwrap().to_owned())
        .collect()
}

/// The audit actions about case `id`, oldest first, with their actors.
fn audit_of(app: &TestApp, id: i64) -> Vec<(String, String)> {
    let mut conn = app.pool.get().unwrap();
    let mut rows = spotcheck::service::users::recent_audit(&mut conn, 10_000).unwrap();
    rows.reverse();
    rows.into_iter()
        .filter(|r| r.object_type == "case" && r.object_id == id.to_string())
        .map(|r| (r.action, r.actor))
        .collect()
}

fn chain_intact(app: &TestApp) {
    let mut conn = app.pool.get().unwrap();
    assert!(matches!(
        spotcheck::service::users::verify_audit(&mut conn).unwrap(),
        spotcheck::service::users::ChainStatus::Intact { .. }
    ));
}

async fn publishing_shares_cases_by_the_liaisons_industries(backend: Backend) {
    let app = setup(backend).await;
    let kari = app.token_for("kari");
    let ids = case_ids(&app, &kari).await;
    assert_eq!(ids.len(), REGISTER.len());
    for (no, want) in [
        ("K-001", vec!["arbeidstilsynet"]),
        ("K-013", vec!["nav"]),
        ("K-021", vec!["arbeidstilsynet", "nav"]),
        // No liaison covers a contract outside the risk industries: every agency with a
        // liaison gets it, so no case goes unseen.
        ("K-023", vec!["arbeidstilsynet", "nav"]),
        ("K-024", vec!["arbeidstilsynet", "nav"]),
    ] {
        let case = json_of(get(&app, &format!("/api/v1/cases/{}", ids[no]), &kari).await).await;
        assert_eq!(shares_of(&case), want, "{no}: {case}");
        assert_eq!(case["status"], "ny");
        let kinds: Vec<&str> = case["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, vec!["share"; want.len()], "{no}");
        assert_eq!(case["events"][0]["actor"], "kari");
    }
    // The draw's audit entry counts the shares.
    let mut conn = app.pool.get().unwrap();
    let rows = spotcheck::service::users::recent_audit(&mut conn, 1000).unwrap();
    let publish = rows.iter().find(|r| r.action == "draw.publish").unwrap();
    let detail: Value = serde_json::from_str(&publish.detail).unwrap();
    assert_eq!(
        detail["case_shares"], 11,
        "one per renhold or bygg contract, two for the rest"
    );
    // Kemneren's reads are not audited as case reads (only A-krim partners' are).
    assert!(audit_of(&app, ids["K-001"]).is_empty());
    chain_intact(&app);
    app.stop();
}

async fn extending_a_draw_shares_its_new_cases(backend: Backend) {
    let app = setup_with_draw(backend, 3).await;
    let kari = app.token_for("kari");
    assert_eq!(case_ids(&app, &kari).await.len(), 3);
    let extended = draws::extend(
        &mut app.pool.get().unwrap(),
        &kemner(&app),
        1,
        5,
        None,
        &shipped_rules(),
    )
    .unwrap();
    assert_eq!(extended.cases_opened, 5);
    let ids = case_ids(&app, &kari).await;
    assert_eq!(ids.len(), REGISTER.len());
    for (no, id) in &ids {
        let case = json_of(get(&app, &format!("/api/v1/cases/{id}"), &kari).await).await;
        let want: &[&str] = match no.as_str() {
            "K-001" | "K-002" | "K-003" => &["arbeidstilsynet"],
            "K-013" | "K-014" => &["nav"],
            _ => &["arbeidstilsynet", "nav"],
        };
        assert_eq!(shares_of(&case), want, "{no}");
    }
    let mut conn = app.pool.get().unwrap();
    let rows = spotcheck::service::users::recent_audit(&mut conn, 1000).unwrap();
    let extend = rows.iter().find(|r| r.action == "draw.extend").unwrap();
    let detail: Value = serde_json::from_str(&extend.detail).unwrap();
    assert!(detail["case_shares"].as_u64().unwrap() >= 5, "{detail}");
    chain_intact(&app);
    app.stop();
}

async fn full_workflow_to_a_four_eyes_closing(backend: Backend) {
    let app = setup(backend).await;
    let kari = app.token_for("kari");
    let ola = app.token_for("ola");
    let oda = app.token_for("oda");
    let id = case_ids(&app, &kari).await["K-001"];
    let base = format!("/api/v1/cases/{id}");
    let path = |rest: &str| format!("{base}{rest}");

    // Ola reads the case: the contract, its risk, where in the draw it came from.
    let case = json_of(get(&app, &base, &ola).await).await;
    assert_eq!(case["id"], id);
    assert_eq!(case["contract"]["contract_no"], "K-001");
    assert_eq!(case["contract"]["supplier_name"], "Rent og Pent AS");
    assert_eq!(case["contract"]["orgnr"], "923609016");
    assert_eq!(case["contract"]["value_ore"], 125_000_000);
    assert_eq!(case["contract"]["unit"], "Bergenhus");
    assert_eq!(case["risk"]["score"], 70);
    assert_eq!(case["risk"]["tier"], "høy");
    assert_eq!(case["industries"], json!(["renhold"]));
    assert!(case["draw"]["position"].as_i64().unwrap() >= 1, "{case}");
    assert_eq!(case["draw"]["round"], 1);
    assert!(case["draw"]["part"].is_string());
    assert_eq!(shares_of(&case), ["arbeidstilsynet"]);
    assert_eq!(case["close_proposal"], Value::Null);

    // Status one step at a time; `lukket` only through closing.
    let c = expect(
        post(
            &app,
            &path("/status"),
            &ola,
            &json!({"status": "under_vurdering"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(c["status"], "under_vurdering");
    expect(
        post(&app, &path("/status"), &ola, &json!({"status": "lukket"})).await,
        409,
    )
    .await;
    let p = expect(
        post(&app, &path("/status"), &ola, &json!({"status": "ferdig"})).await,
        422,
    )
    .await;
    assert_eq!(p["field"], "status");

    // Assignment: a partner of a sharing agency, or Kemneren; nobody else.
    let c = expect(
        post(&app, &path("/assign"), &ola, &json!({"user": "oda"})).await,
        200,
    )
    .await;
    assert_eq!(c["assigned_to"], "oda");
    for other in ["nina", "per", "admin", "ingen-slik"] {
        let p = expect(
            post(&app, &path("/assign"), &ola, &json!({"user": other})).await,
            422,
        )
        .await;
        assert_eq!(p["field"], "user", "{other}");
    }

    // Notes: appended, author and time kept; empty and too long refused naming `text`.
    let c = expect(
        post(
            &app,
            &path("/notes"),
            &ola,
            &json!({"text": "Ringte leverandøren."}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(c["notes"][0]["author"], "ola");
    assert_eq!(c["notes"][0]["text"], "Ringte leverandøren.");
    for bad in [json!({"text": "  "}), json!({"text": "x".repeat(4001)})] {
        let p = expect(post(&app, &path("/notes"), &ola, &bad).await, 422).await;
        assert_eq!(p["field"], "text");
        assert_eq!(p["type"], "urn:spotcheck:problem:invalid-field");
    }

    // Findings per indicator: the latest wins, the history stays.
    let indicator = shipped_rules().indicators()[0].id.clone();
    expect(
        post(
            &app,
            &path("/findings"),
            &ola,
            &json!({"indicator": indicator, "result": "bekreftet"}),
        )
        .await,
        201,
    )
    .await;
    let c = expect(
        post(
            &app,
            &path("/findings"),
            &oda,
            &json!({"indicator": indicator, "result": "ikke_bekreftet"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(c["findings"].as_array().unwrap().len(), 1);
    assert_eq!(c["findings"][0]["result"], "ikke_bekreftet");
    assert_eq!(c["findings"][0]["by"], "oda");
    let history: Vec<&Value> = c["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "finding")
        .collect();
    assert_eq!(history.len(), 2);
    let p = expect(
        post(
            &app,
            &path("/findings"),
            &ola,
            &json!({"indicator": "finnes_ikke", "result": "bekreftet"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["field"], "indicator");
    let p = expect(
        post(
            &app,
            &path("/findings"),
            &ola,
            &json!({"indicator": indicator, "result": "kanskje"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["field"], "result");

    // Closing needs a reviewed case.
    expect(
        post(&app, &path("/close"), &ola, &json!({"outcome": "ingen_funn"})).await,
        409,
    )
    .await;
    expect(
        post(&app, &path("/status"), &ola, &json!({"status": "kontrollert"})).await,
        200,
    )
    .await;
    let p = expect(
        post(&app, &path("/close"), &ola, &json!({"outcome": "funnet"})).await,
        422,
    )
    .await;
    assert_eq!(p["field"], "outcome");

    // Four eyes: Ola proposes, Ola cannot confirm, Oda confirms.
    let c = expect(
        post(
            &app,
            &path("/close"),
            &ola,
            &json!({"outcome": "henvist_skatteetaten"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(c["status"], "kontrollert");
    assert_eq!(c["close_proposal"]["outcome"], "henvist_skatteetaten");
    assert_eq!(c["close_proposal"]["proposed_by"], "ola");
    let p = expect(
        post(&app, &path("/close"), &oda, &json!({"outcome": "ingen_funn"})).await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("proposed already"), "{p}");
    let p = expect(post(&app, &path("/close/confirm"), &ola, &json!({})).await, 409).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("another person must confirm"),
        "{p}"
    );
    assert_eq!(p["type"], "urn:spotcheck:problem:case-workflow");
    let c = json_of(get(&app, &base, &ola).await).await;
    assert_eq!(
        c["status"], "kontrollert",
        "a refused confirmation changes nothing"
    );
    let c = expect(post(&app, &path("/close/confirm"), &oda, &json!({})).await, 200).await;
    assert_eq!(c["status"], "lukket");
    assert_eq!(c["outcome"], "henvist_skatteetaten");
    assert_eq!(c["close_proposal"], Value::Null);

    // Closed: no second closing, no notes until reopened.
    expect(post(&app, &path("/close/confirm"), &ola, &json!({})).await, 409).await;
    expect(
        post(&app, &path("/close"), &ola, &json!({"outcome": "ingen_funn"})).await,
        409,
    )
    .await;
    expect(
        post(&app, &path("/notes"), &ola, &json!({"text": "etterpå"})).await,
        409,
    )
    .await;

    // Reopening needs a reason.
    for bad in [json!({"reason": ""}), json!({"reason": "   "}), json!({})] {
        let p = expect(post(&app, &path("/reopen"), &ola, &bad).await, 422).await;
        assert_eq!(p["field"], "reason");
    }
    let c = expect(
        post(
            &app,
            &path("/reopen"),
            &kari,
            &json!({"reason": "Nye opplysninger fra Skatteetaten"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(c["status"], "under_vurdering");
    assert_eq!(c["outcome"], Value::Null);
    expect(
        post(&app, &path("/reopen"), &kari, &json!({"reason": "igjen"})).await,
        409,
    )
    .await;

    // The history keeps every step, in order.
    let kinds: Vec<String> = c["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "share",
            "status",
            "assign",
            "note",
            "finding",
            "finding",
            "status",
            "close_proposed",
            "close_confirmed",
            "reopen"
        ]
    );
    let reopen = c["events"].as_array().unwrap().last().unwrap();
    assert_eq!(reopen["text"], "Nye opplysninger fra Skatteetaten");
    assert_eq!(reopen["actor"], "kari");

    // Every change has its audit entry, and every read by a partner too.
    let audit = audit_of(&app, id);
    let changes: Vec<(&str, &str)> = audit
        .iter()
        .filter(|(a, _)| a != "case.read")
        .map(|(a, u)| (a.as_str(), u.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            ("case.status", "user:ola"),
            ("case.assign", "user:ola"),
            ("case.note", "user:ola"),
            ("case.finding", "user:ola"),
            ("case.finding", "user:oda"),
            ("case.status", "user:ola"),
            ("case.close_proposed", "user:ola"),
            ("case.close_confirmed", "user:oda"),
            ("case.reopen", "user:kari"),
        ]
    );
    let reads: Vec<&str> = audit
        .iter()
        .filter(|(a, _)| a == "case.read")
        .map(|(_, u)| u.as_str())
        .collect();
    assert_eq!(
        reads,
        ["user:ola", "user:ola"],
        "both of Ola's reads, none of Kemneren's"
    );
    // Refused steps leave nothing behind: the count of changes above is exact.
    assert_eq!(app.count("case_events"), 11 + 9);
    chain_intact(&app);

    // The history cannot be rewritten in the database either.
    let mut conn = app.db.raw_conn();
    let r = diesel::sql_query("UPDATE case_events SET text = 'x'").execute(&mut conn);
    assert!(r.is_err(), "case_events is append-only");
    let r = diesel::sql_query("DELETE FROM case_events").execute(&mut conn);
    assert!(r.is_err(), "case_events is append-only");
    app.stop();
}

async fn another_agency_gets_404_for_cases_not_shared_with_it(backend: Backend) {
    let app = setup(backend).await;
    let kari = app.token_for("kari");
    let nina = app.token_for("nina");
    let ola = app.token_for("ola");
    let ids = case_ids(&app, &kari).await;
    let id = ids["K-001"];

    // By id: the same answer as a case that does not exist, and nothing of its content.
    let hidden = expect(get(&app, &format!("/api/v1/cases/{id}"), &nina).await, 404).await;
    let missing = expect(get(&app, "/api/v1/cases/999999", &nina).await, 404).await;
    assert_eq!(hidden["type"], missing["type"]);
    assert_eq!(hidden["title"], missing["title"]);
    let text = hidden.to_string();
    assert!(
        !text.contains("K-001") && !text.contains("Rent og Pent"),
        "{text}"
    );
    // Changing it is 404 as well, and leaves nothing.
    let events_before = app.count("case_events");
    for (rest, body) in [
        ("/status", json!({"status": "under_vurdering"})),
        ("/notes", json!({"text": "hei"})),
        ("/assign", json!({"user": "nina"})),
        ("/close", json!({"outcome": "ingen_funn"})),
        ("/close/confirm", json!({})),
        ("/reopen", json!({"reason": "fordi"})),
    ] {
        expect(
            post(&app, &format!("/api/v1/cases/{id}{rest}"), &nina, &body).await,
            404,
        )
        .await;
    }
    assert_eq!(app.count("case_events"), events_before);

    // The list holds exactly the cases shared with NAV; guessing every id finds no more.
    let page = json_of(get(&app, "/api/v1/cases?per_page=500", &nina).await).await;
    let listed: BTreeSet<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let want: BTreeSet<i64> = ["K-013", "K-014", "K-021", "K-023", "K-024"]
        .iter()
        .map(|n| ids[*n])
        .collect();
    assert_eq!(listed, want);
    assert_eq!(page["total"], 5);
    let max = ids.values().max().copied().unwrap();
    let mut found = BTreeSet::new();
    for guess in 0..=max + 5 {
        let r = get(&app, &format!("/api/v1/cases/{guess}"), &nina).await;
        match r.status().as_u16() {
            200 => {
                found.insert(guess);
            }
            404 => {}
            other => panic!("case {guess}: {other}"),
        }
    }
    assert_eq!(found, want, "guessing ids reveals nothing more than the list");
    // The agency filter cannot widen the view.
    let page = json_of(get(&app, "/api/v1/cases?agency=arbeidstilsynet", &nina).await).await;
    let seen: BTreeSet<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(seen.is_subset(&want), "{page}");

    // Kemneren shares it with NAV: now Nina sees it; unshared again, 404 again.
    expect(
        post(
            &app,
            &format!("/api/v1/cases/{id}/shares"),
            &ola,
            &json!({"agency": "nav"}),
        )
        .await,
        403,
    )
    .await;
    let c = expect(
        post(
            &app,
            &format!("/api/v1/cases/{id}/shares"),
            &kari,
            &json!({"agency": "nav"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(shares_of(&c), ["arbeidstilsynet", "nav"]);
    expect(
        post(
            &app,
            &format!("/api/v1/cases/{id}/shares"),
            &kari,
            &json!({"agency": "nav"}),
        )
        .await,
        409,
    )
    .await;
    let p = expect(
        post(
            &app,
            &format!("/api/v1/cases/{id}/shares"),
            &kari,
            &json!({"agency": "fbi"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["field"], "agency");
    expect(get(&app, &format!("/api/v1/cases/{id}"), &nina).await, 200).await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/cases/{id}/shares/nav")))
        .bearer_auth(&kari)
        .send()
        .await
        .unwrap();
    let c = expect(r, 200).await;
    assert_eq!(shares_of(&c), ["arbeidstilsynet"]);
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/cases/{id}/shares/nav")))
        .bearer_auth(&kari)
        .send()
        .await
        .unwrap();
    expect(r, 409).await;
    expect(get(&app, &format!("/api/v1/cases/{id}"), &nina).await, 404).await;

    let audit = audit_of(&app, id);
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["case.share", "case.read", "case.unshare"]);
    chain_intact(&app);
    app.stop();
}

async fn innkjoper_sees_only_the_outcome_on_own_contracts(backend: Backend) {
    let app = setup(backend).await;
    let kari = app.token_for("kari");
    let per = app.token_for("per");
    let ids = case_ids(&app, &kari).await;
    spotcheck::service::contracts::move_owner(
        &mut app.pool.get().unwrap(),
        &Actor::system(),
        &spotcheck::service::contracts::ContractKey::Number("K-002".into()),
        "per",
    )
    .unwrap();

    let page = json_of(get(&app, "/api/v1/cases", &per).await).await;
    assert_eq!(page["total"], 1, "{page}");
    let item = &page["items"][0];
    assert_eq!(item["contract_no"], "K-002");
    let keys: BTreeSet<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "contract_id", "contract_no", "status", "outcome"])
    );
    let one = json_of(get(&app, &format!("/api/v1/cases/{}", ids["K-002"]), &per).await).await;
    let keys: BTreeSet<&str> = one.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "contract_id", "contract_no", "status", "outcome"]),
        "no notes, findings, shares or people: {one}"
    );
    assert_eq!(one["status"], "ny");
    // Whom a case is shared with or assigned to is not theirs to learn, even by filtering.
    expect(get(&app, "/api/v1/cases?agency=nav", &per).await, 403).await;
    expect(get(&app, "/api/v1/cases?assigned=me", &per).await, 403).await;
    // Someone else's contract: 404. Changing anything: 403.
    expect(
        get(&app, &format!("/api/v1/cases/{}", ids["K-001"]), &per).await,
        404,
    )
    .await;
    expect(
        post(
            &app,
            &format!("/api/v1/cases/{}/notes", ids["K-002"]),
            &per,
            &json!({"text": "hei"}),
        )
        .await,
        403,
    )
    .await;
    expect(
        post(
            &app,
            &format!("/api/v1/cases/{}/shares", ids["K-002"]),
            &per,
            &json!({"agency": "nav"}),
        )
        .await,
        403,
    )
    .await;
    app.stop();
}

/// A contract whose case was closed recently is left out of the next draw by
/// `exclude_checked_months`, even when it was drawn longer ago than that (issue 13, item 5).
async fn a_recently_closed_case_keeps_its_contract_out_of_the_next_draw(backend: Backend) {
    use diesel::connection::SimpleConnection;
    let app = setup_with_draw(backend, 1).await;
    let (kari, ola, oda) = (app.token_for("kari"), app.token_for("ola"), app.token_for("oda"));
    let ids = case_ids(&app, &kari).await;
    let (no, id) = ids.iter().next().map(|(k, v)| (k.clone(), *v)).unwrap();
    // The draw was eight months ago.
    let eight_months_ago = (chrono::Utc::now() - chrono::Duration::days(240)).naive_utc();
    app.db
        .raw_conn()
        .batch_execute(&format!(
            "UPDATE cases SET created_at = '{eight_months_ago}' WHERE id = {id}"
        ))
        .unwrap();
    let preview = |months: Option<u32>| {
        let spec = DrawSpec {
            size: Some(1),
            filter: draws::DrawFilter {
                exclude_checked_months: months,
                ..Default::default()
            },
            ..DrawSpec::default()
        };
        draws::preview(
            &mut app.pool.get().unwrap(),
            &kemner(&app),
            &spec,
            &shipped_rules(),
        )
        .unwrap()
        .population_size
    };
    let everyone = preview(None);
    assert_eq!(
        preview(Some(6)),
        everyone,
        "drawn eight months ago: back in a six-month window"
    );
    // Checked and closed by two partners now.
    let path = |rest: &str| format!("/api/v1/cases/{id}{rest}");
    let (ola_case, oda_case) = (ola.clone(), oda.clone());
    for (status, token) in [("under_vurdering", &ola_case), ("kontrollert", &ola_case)] {
        expect(
            post(&app, &path("/status"), token, &json!({"status": status})).await,
            200,
        )
        .await;
    }
    expect(
        post(&app, &path("/close"), &ola, &json!({"outcome": "ingen_funn"})).await,
        200,
    )
    .await;
    expect(
        post(&app, &path("/close/confirm"), &oda_case, &json!({})).await,
        200,
    )
    .await;
    assert_eq!(
        preview(Some(6)),
        everyone - 1,
        "{no}, closed just now, is left out"
    );
    assert_eq!(preview(None), everyone, "without the option nothing is left out");
    app.stop();
}

/// A document request that passes its deadline with nothing received queues exactly one
/// reminder, to the person who asked; a received one queues none (issue 13, item 2).
async fn a_document_request_past_its_deadline_queues_one_reminder(backend: Backend) {
    use diesel::connection::SimpleConnection;
    let app = setup_with_draw(backend, 1).await;
    app.db
        .raw_conn()
        .batch_execute("UPDATE users SET email = 'ola@arbeidstilsynet.test' WHERE username = 'ola'")
        .unwrap();
    let (kari, ola) = (app.token_for("kari"), app.token_for("ola"));
    let id = *case_ids(&app, &kari).await.values().next().unwrap();
    let path = |rest: &str| format!("/api/v1/cases/{id}{rest}");
    let today = spotcheck::domain::oslo::local(chrono::Utc::now().naive_utc()).date();
    let yesterday = today - chrono::Duration::days(1);

    // Refusals name their field.
    let p = expect(
        post(
            &app,
            &path("/document-requests"),
            &ola,
            &json!({"documents": ["kvittering"], "deadline": today}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["field"], "documents", "{p}");
    let p = expect(
        post(
            &app,
            &path("/document-requests"),
            &ola,
            &json!({"documents": ["timelister"], "deadline": yesterday}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["field"], "deadline", "{p}");

    // Two requests due today; the second comes in.
    let c = expect(
        post(
            &app,
            &path("/document-requests"),
            &ola,
            &json!({"documents": ["lonnsslipper", "hms_kort"], "deadline": today, "note": "Gjelder desember"}),
        )
        .await,
        201,
    )
    .await;
    let first = c["document_requests"][0]["id"].as_i64().unwrap();
    assert_eq!(c["document_requests"][0]["overdue"], false);
    assert_eq!(
        c["document_requests"][0]["documents"],
        json!(["lonnsslipper", "hms_kort"])
    );
    let c = expect(
        post(
            &app,
            &path("/document-requests"),
            &ola,
            &json!({"documents": ["skatteattest"], "deadline": today}),
        )
        .await,
        201,
    )
    .await;
    let second = c["document_requests"][1]["id"].as_i64().unwrap();
    let c = expect(
        post(
            &app,
            &path(&format!("/document-requests/{second}/received")),
            &ola,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(c["document_requests"][1]["received_by"], "ola");
    expect(
        post(
            &app,
            &path(&format!("/document-requests/{second}/received")),
            &ola,
            &json!({}),
        )
        .await,
        404,
    )
    .await;
    // An agency the case is not shared with cannot touch its requests.
    app.add_user("sara", Role::Akrim, Some(Agency::Skatteetaten));
    let sara = app.token_for("sara");
    expect(
        post(
            &app,
            &path(&format!("/document-requests/{first}/received")),
            &sara,
            &json!({}),
        )
        .await,
        404,
    )
    .await;

    let reminders = |app: &TestApp| {
        spotcheck::db::models::outbox::with_prefix(&mut app.pool.get().unwrap(), "case.document_reminder:")
            .unwrap()
    };
    let queue = |days: i64| {
        let at = chrono::Utc::now().naive_utc() + chrono::Duration::days(days);
        spotcheck::service::outbox::queue_scheduled(&mut app.pool.get().unwrap(), &shipped_rules(), at)
            .unwrap();
    };
    queue(0);
    assert!(reminders(&app).is_empty(), "not before the deadline has passed");
    queue(2);
    queue(3);
    let sent = reminders(&app);
    assert_eq!(
        sent.len(),
        1,
        "exactly one reminder, for the request not received: {sent:?}"
    );
    assert_eq!(sent[0].dedupe_key, format!("case.document_reminder:{first}"));
    assert_eq!(
        sent[0].recipient_address.as_deref(),
        Some("ola@arbeidstilsynet.test")
    );
    // It renders and goes out as mail.
    let dir = app.db.dir.path().join("eml");
    let mailer = spotcheck::service::outbox::Mailer {
        transport: spotcheck::mail::MailTransport::new(None, &dir, std::time::Duration::from_secs(5))
            .unwrap(),
        sender: spotcheck::mail::Sender::new("spotcheck@bergen.test").unwrap(),
        policy: spotcheck::mail::RetryPolicy {
            base_seconds: 0,
            max_attempts: 3,
        },
        base_url: "https://spotcheck.bergen.test".into(),
    };
    let r = spotcheck::service::outbox::deliver_due(&mut app.pool.get().unwrap(), &mailer, 100).unwrap();
    assert!(r.sent >= 1, "{r:?}");
    let eml = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|t| t.contains("document") || t.contains("Fristen"))
        .unwrap_or_default();
    assert!(
        eml.contains(&format!("https://spotcheck.bergen.test/cases/{id}")),
        "{eml}"
    );
    let actions: Vec<String> = audit_of(&app, id).into_iter().map(|(a, _)| a).collect();
    assert!(
        actions.iter().any(|a| a == "case.document_request"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "case.document_received"),
        "{actions:?}"
    );
    app.stop();
}

/// Evidence files: kind found from the bytes, size limited, hostile names cleaned, stored
/// under the data folder by SHA-256, served as a download only to those who may see the
/// case (issue 13, item 2).
async fn evidence_is_limited_and_served_only_to_those_allowed(backend: Backend) {
    let app = setup_with_draw(backend, 1).await;
    app.add_user("sara", Role::Akrim, Some(Agency::Skatteetaten));
    let (kari, ola, sara) = (app.token_for("kari"), app.token_for("ola"), app.token_for("sara"));
    let id = *case_ids(&app, &kari).await.values().next().unwrap();
    let upload = |token: String, name: &'static str, bytes: Vec<u8>| {
        let app = &app;
        async move {
            let form = reqwest::multipart::Form::new()
                .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
            app.client
                .post(app.url(&format!("/api/v1/cases/{id}/evidence")))
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    let pdf = b"%PDF-1.7 lonnsslipp mars".to_vec();
    let c = expect(
        upload(ola.clone(), "../../etc/l\u{f8}nn \"mars\".pdf", pdf.clone()).await,
        201,
    )
    .await;
    let e = &c["evidence"][0];
    assert_eq!(e["file_name"], "lønn mars.pdf");
    assert_eq!(e["content_type"], "application/pdf");
    let sha = spotcheck::sampling::sha256_hex_bytes(&pdf);
    assert_eq!(e["sha256"], sha.as_str());
    let stored = app
        .settings
        .data_dir
        .join("evidence")
        .join(id.to_string())
        .join(&sha);
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        pdf,
        "stored by its SHA-256 under the data folder"
    );
    let eid = e["id"].as_i64().unwrap();

    // Programs and oversized files are refused.
    let p = expect(
        upload(ola.clone(), "faktura.pdf", b"MZ\x90\x00\x03".to_vec()).await,
        422,
    )
    .await;
    assert_eq!(p["field"], "file", "{p}");
    let big = vec![b'a'; spotcheck::domain::case::EVIDENCE_MAX_BYTES + 1];
    assert_eq!(upload(ola.clone(), "stor.txt", big).await.status(), 413);

    // Served as a download to those who may see the case, never inline.
    let r = get(&app, &format!("/api/v1/cases/{id}/evidence/{eid}"), &ola).await;
    assert_eq!(r.status(), 200);
    let disposition = r
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains("filename*=UTF-8''l%C3%B8nn%20mars.pdf"),
        "{disposition}"
    );
    assert!(
        r.headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(
        get(&app, &format!("/api/v1/cases/{id}/evidence/{eid}"), &kari)
            .await
            .status(),
        200
    );
    // Not to an agency the case is not shared with, nor by guessing ids.
    assert_eq!(
        get(&app, &format!("/api/v1/cases/{id}/evidence/{eid}"), &sara)
            .await
            .status(),
        404
    );
    assert_eq!(
        get(&app, &format!("/api/v1/cases/{id}/evidence/{}", eid + 1), &ola)
            .await
            .status(),
        404
    );
    assert_eq!(
        get(&app, &format!("/api/v1/cases/{}/evidence/{eid}", id + 1), &ola)
            .await
            .status(),
        404
    );
    assert_eq!(upload(sara.clone(), "x.pdf", pdf.clone()).await.status(), 404);
    let actions: Vec<String> = audit_of(&app, id).into_iter().map(|(a, _)| a).collect();
    assert!(actions.iter().any(|a| a == "case.evidence"), "{actions:?}");
    assert!(
        actions.iter().any(|a| a == "case.evidence_read"),
        "a partner's read is audited: {actions:?}"
    );
    app.stop();
}

/// The hit-rate and city-council reports count closed cases and their outcomes (issue 13,
/// item 5).
async fn reports_count_closed_cases_and_findings(backend: Backend) {
    let app = setup(backend).await;
    app.add_user("kim", Role::Kemner, None);
    let (kari, kim) = (app.token_for("kari"), app.token_for("kim"));
    let ids: Vec<i64> = case_ids(&app, &kari).await.values().copied().collect();
    let outcomes = ["ingen_funn", "ingen_funn", "henvist_arbeidstilsynet"];
    for (id, outcome) in ids.iter().zip(outcomes) {
        let path = |rest: &str| format!("/api/v1/cases/{id}{rest}");
        for status in ["under_vurdering", "kontrollert"] {
            expect(
                post(&app, &path("/status"), &kari, &json!({"status": status})).await,
                200,
            )
            .await;
        }
        expect(
            post(&app, &path("/close"), &kari, &json!({"outcome": outcome})).await,
            200,
        )
        .await;
        expect(post(&app, &path("/close/confirm"), &kim, &json!({})).await, 200).await;
    }
    let today = spotcheck::domain::oslo::local(chrono::Utc::now().naive_utc()).date();
    let r = expect(
        get(
            &app,
            &format!("/api/v1/reports/hit-rate?from={today}&to={today}"),
            &kari,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["total"], json!({"closed": 3, "with_findings": 1}), "{r}");
    let parts: i64 = r["by_part"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["closed"].as_i64().unwrap())
        .sum();
    assert_eq!(parts, 3);
    let tiers: i64 = r["by_tier"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["closed"].as_i64().unwrap())
        .sum();
    assert_eq!(tiers, 3);
    if let Some(u) = r["by_part"].get("uvektet") {
        let e = &r["uniform_estimate"];
        assert_eq!(e["sample"], u["closed"], "{r}");
        assert!(e["low"].as_f64().unwrap() <= e["share"].as_f64().unwrap());
    }
    // Nothing closed yesterday.
    let yesterday = today - chrono::Duration::days(1);
    let r = expect(
        get(
            &app,
            &format!("/api/v1/reports/hit-rate?from={yesterday}&to={yesterday}"),
            &kari,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["total"]["closed"], 0);

    let year = chrono::Datelike::year(&today);
    let r = expect(
        get(&app, &format!("/api/v1/reports/city-council?year={year}"), &kari).await,
        200,
    )
    .await;
    let q = (chrono::Datelike::month(&today) - 1) / 3;
    let quarter = &r["quarters"][q as usize];
    assert_eq!(quarter["draws"], 1, "{r}");
    assert_eq!(quarter["cases_opened"].as_i64().unwrap(), ids.len() as i64);
    assert_eq!(quarter["cases_closed"], 3);
    assert_eq!(quarter["with_findings"], 1);
    assert_eq!(quarter["referrals"]["arbeidstilsynet"], 1);
    assert!(r["contracts_in_risk_industries"].as_i64().unwrap() > 0);
    // As files; for Kemneren only.
    let r = get(
        &app,
        &format!("/api/v1/reports/city-council?year={year}&format=xlsx"),
        &kari,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("bystyrestatus")
    );
    let csv = get(
        &app,
        &format!("/api/v1/reports/hit-rate?from={today}&to={today}&format=csv"),
        &kari,
    )
    .await;
    assert!(csv.text().await.unwrap().contains("Andel med funn"));
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/reports/city-council?year={year}&format=pdf"),
            &kari
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/reports/city-council?year={year}"),
            &app.token_for("ola")
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/reports/city-council?year={year}"),
            &app.token_for("per")
        )
        .await
        .status(),
        403
    );
    app.stop();
}

/// The case page the mail links to: shown to those who may see the case, names and notes
/// escaped; a 404 page for anyone else.
async fn the_case_page_shows_the_case_to_those_allowed(backend: Backend) {
    let app = setup_with_draw(backend, 1).await;
    app.add_user("sara", Role::Akrim, Some(Agency::Skatteetaten));
    let (kari, ola) = (app.token_for("kari"), app.token_for("ola"));
    let (no, id) = case_ids(&app, &kari).await.into_iter().next().unwrap();
    expect(
        post(
            &app,
            &format!("/api/v1/cases/{id}/notes"),
            &ola,
            &json!({"text": "<script>alert(1)</script> sjekket"}),
        )
        .await,
        201,
    )
    .await;
    let session = app.login("ola", common::PASSWORD).await.unwrap();
    let r = app.get_with_session(&format!("/cases/{id}"), &session).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!("Sak {id}")) && page.contains(&no),
        "{page}"
    );
    assert!(
        page.contains("&#60;script&#62;") && !page.contains("<script>alert"),
        "notes are escaped"
    );
    let session = app.login("sara", common::PASSWORD).await.unwrap();
    let r = app.get_with_session(&format!("/cases/{id}"), &session).await;
    assert_eq!(r.status(), 404, "not shared with Skatteetaten");
    assert!(!r.text().await.unwrap().contains(&no), "nothing of the case");
    app.stop();
}

async fn admin_has_no_case_access(backend: Backend) {
    let app = setup(backend).await;
    let admin = app.token_for("admin");
    let kari = app.token_for("kari");
    let id = case_ids(&app, &kari).await["K-001"];
    expect(get(&app, "/api/v1/cases", &admin).await, 403).await;
    expect(get(&app, &format!("/api/v1/cases/{id}"), &admin).await, 403).await;
    for (rest, body) in [
        ("/status", json!({"status": "under_vurdering"})),
        ("/notes", json!({"text": "hei"})),
        ("/shares", json!({"agency": "nav"})),
        ("/close/confirm", json!({})),
    ] {
        expect(
            post(&app, &format!("/api/v1/cases/{id}{rest}"), &admin, &body).await,
            403,
        )
        .await;
    }
    // Without a token: 401.
    let r = app.client.get(app.url("/api/v1/cases")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    app.stop();
}

async fn list_filters_and_paging(backend: Backend) {
    let app = setup(backend).await;
    let kari = app.token_for("kari");
    let ola = app.token_for("ola");
    let ids = case_ids(&app, &kari).await;
    expect(
        post(
            &app,
            &format!("/api/v1/cases/{}/status", ids["K-003"]),
            &ola,
            &json!({"status": "under_vurdering"}),
        )
        .await,
        200,
    )
    .await;
    expect(
        post(
            &app,
            &format!("/api/v1/cases/{}/assign", ids["K-003"]),
            &kari,
            &json!({"user": "ola"}),
        )
        .await,
        200,
    )
    .await;

    let page = json_of(get(&app, "/api/v1/cases?status=under_vurdering", &kari).await).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["contract_no"], "K-003");
    let page = json_of(get(&app, "/api/v1/cases?assigned=me", &ola).await).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["assigned_to"], "ola");
    let page = json_of(get(&app, "/api/v1/cases?assigned=me", &kari).await).await;
    assert_eq!(page["total"], 0);
    let page = json_of(get(&app, "/api/v1/cases?agency=nav", &kari).await).await;
    assert_eq!(page["total"], 5);
    let page = json_of(get(&app, "/api/v1/cases?per_page=3&page=2", &kari).await).await;
    assert_eq!(page["total"], REGISTER.len());
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["page"], 2);

    for bad in [
        "page=0",
        "page=9223372036854775807",
        "per_page=0",
        "per_page=501",
        "assigned=you",
    ] {
        expect(get(&app, &format!("/api/v1/cases?{bad}"), &kari).await, 400).await;
    }
    let p = expect(get(&app, "/api/v1/cases?status=ferdig", &kari).await, 422).await;
    assert_eq!(p["field"], "status");
    let p = expect(get(&app, "/api/v1/cases?agency=fbi", &kari).await, 422).await;
    assert_eq!(p["field"], "agency");

    // A partner's list is audited.
    let mut conn = app.pool.get().unwrap();
    let rows = spotcheck::service::users::recent_audit(&mut conn, 1000).unwrap();
    let lists: Vec<_> = rows.iter().filter(|r| r.action == "case.list").collect();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].actor, "user:ola");
    app.stop();
}

async fn cli_lists_and_shows_in_norwegian(backend: Backend) {
    let app = setup(backend).await;
    let kari = app.token_for("kari");
    let id = case_ids(&app, &kari).await["K-001"];
    let ola = app.token_for("ola");
    expect(
        post(
            &app,
            &format!("/api/v1/cases/{id}/notes"),
            &ola,
            &json!({"text": "Ringte leverandøren."}),
        )
        .await,
        201,
    )
    .await;

    let (ok, out, err) = run_cli(&app.db, &["cases", "list", "--format", "json"], &[]);
    assert!(ok, "{err}");
    let page: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(page["total"], REGISTER.len());
    let (ok, out, err) = run_cli(&app.db, &["cases", "list", "--status", "ny"], &[]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("{} saker", REGISTER.len())), "{out}");
    assert!(out.contains("K-001"), "{out}");

    let (ok, out, err) = run_cli(&app.db, &["cases", "show", &id.to_string()], &[]);
    assert!(ok, "{err}");
    let heading = format!("Sak {id} (ny)");
    for want in [
        heading.as_str(),
        "Avtale K-001",
        "Rent og Pent AS",
        "Delt med: arbeidstilsynet",
        "Notater:",
        "Ringte leverandøren.",
        "Historikk:",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let (ok, _, err) = run_cli(&app.db, &["cases", "show", "999999"], &[]);
    assert!(!ok);
    assert!(err.contains("sak 999999 finnes ikke"), "{err}");
    let (ok, _, err) = run_cli(
        &app.db,
        &["cases", "show", &id.to_string(), "--user", "nina"],
        &[],
    );
    assert!(!ok, "NAV does not see the case from the CLI either");
    assert!(err.contains("finnes ikke"), "{err}");
    let (ok, _, err) = run_cli(&app.db, &["cases", "list", "--status", "ferdig"], &[]);
    assert!(!ok);
    assert!(err.contains("ukjent status"), "{err}");
    app.stop();
}

backend_tests!(
    publishing_shares_cases_by_the_liaisons_industries,
    extending_a_draw_shares_its_new_cases,
    full_workflow_to_a_four_eyes_closing,
    another_agency_gets_404_for_cases_not_shared_with_it,
    innkjoper_sees_only_the_outcome_on_own_contracts,
    admin_has_no_case_access,
    the_case_page_shows_the_case_to_those_allowed,
    reports_count_closed_cases_and_findings,
    evidence_is_limited_and_served_only_to_those_allowed,
    a_document_request_past_its_deadline_queues_one_reminder,
    a_recently_closed_case_keeps_its_contract_out_of_the_next_draw,
    list_filters_and_paging,
    cli_lists_and_shows_in_norwegian,
);

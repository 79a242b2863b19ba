//! Scores in storage, end to end over HTTP and the CLI, on SQLite and PostgreSQL: every
//! imported contract gets an explained assessment; new facts and new rules add history
//! without overwriting it; a broken rule set is refused and the active one stays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::workbook::xlsx;
use common::{Backend, TestApp, run_cli};
use serde_json::{Value, json};
use spotcheck::brreg::{Lookup, Outcome};
use spotcheck::db::models::Actor;
use spotcheck::domain::roles::{Agency, Role};
use spotcheck::service::scoring::Scope;

/// (contract id, title, supplier, orgnr, CPV, value in NOK)
type Row<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, f64);

fn register(rows: &[Row<'_>]) -> Vec<u8> {
    xlsx(
        &[
            "Avtalenr",
            "Avtalenavn",
            "Leverandør",
            "Org.nr",
            "CPV",
            "Kontraktsverdi",
            "Startdato",
        ],
        rows.iter().map(|&(id, title, name, orgnr, cpv, value)| {
            vec![
                id.into(),
                title.into(),
                name.into(),
                orgnr.into(),
                cpv.into(),
                value.into(),
                "01.03.2025".into(),
            ]
        }),
    )
}

const ROWS: &[Row<'static>] = &[
    (
        "K-1",
        "Renhold av skoler",
        "Skjult Renhold AS",
        "310000019",
        "90910000-9",
        3_000_000.0,
    ),
    (
        "K-2",
        "Rehabilitering av svømmehall",
        "Konkurs Bygg AS",
        "310000043",
        "45453000-7",
        5_000_000.0,
    ),
    (
        "K-3",
        "Kontorrekvisita",
        "Digdir",
        "991825827",
        "30192000-1",
        100_000.0,
    ),
    (
        "K-4",
        "Vindusvask rådhuset",
        "Ukjent Vask AS",
        "923609016",
        "90911300-9",
        400_000.0,
    ),
];

async fn json_of(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {e}: {text}"))
}

fn lookup(file: &str) -> Lookup {
    let text = String::from_utf8(common::fixture(&format!("brreg/{file}"))).unwrap();
    let facts = spotcheck::brreg::facts::parse_unit_json(&text, Some(false)).unwrap();
    Lookup {
        outcome: Outcome::Active,
        facts: Some(facts),
        parent: None,
        parent_outcome: None,
        raw_json: Some(text),
        parent_raw_json: None,
        fetched_at: chrono::Utc::now(),
    }
}

/// Stores register facts for K-1..K-3's suppliers as the enrichment worker would.
fn record_facts(app: &TestApp) {
    let mut conn = app.pool.get().unwrap();
    let at = spotcheck::db::models::now();
    for (orgnr, file) in [
        ("310000019", "enhet_ansatte_skjult_310000019.json"),
        ("310000043", "enhet_konkurs_avvikling_310000043.json"),
        ("991825827", "enhet_aktiv_991825827.json"),
    ] {
        spotcheck::service::enrichment::record_lookup(&mut conn, orgnr, &Ok(lookup(file)), at).unwrap();
    }
}

fn rescore(app: &TestApp, scope: Scope, force: bool) -> spotcheck::service::scoring::RescoreReport {
    let rules = spotcheck::app::load_rules(&app.pool, &app.settings, &Actor::system()).unwrap();
    spotcheck::service::scoring::rescore_today(
        &mut app.pool.get().unwrap(),
        &rules,
        scope,
        force,
        "test",
        &Actor::system(),
    )
    .unwrap()
}

fn by_no<'a>(page: &'a Value, no: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contract_no"] == no)
        .unwrap_or_else(|| panic!("{no} not in {page}"))
}

fn rule_ids(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

async fn import_scores_every_contract_with_explanation(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    let (inn, kem) = (app.token_for("inn"), app.token_for("kem"));
    let r = app.upload(&inn, "avtaler.xlsx", register(ROWS), &[]).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    // Scored right after the import, before any register facts: every contract has a score,
    // and what needs facts is "not computable", never a silent pass.
    let page = json_of(app.api_get("/api/v1/contracts", &kem).await).await;
    assert_eq!(page["total"], 4);
    for c in page["items"].as_array().unwrap() {
        assert!(c["risk"].is_object(), "scored after import: {c}");
    }
    let k1 = by_no(&page, "K-1");
    assert_eq!(k1["risk"]["industries"], json!(["renhold"]), "{k1}");
    let id1 = k1["id"].as_i64().unwrap();
    let a = json_of(
        app.api_get(&format!("/api/v1/contracts/{id1}/assessment"), &kem)
            .await,
    )
    .await;
    let cur = &a["current"];
    assert!(
        rule_ids(&cur["fired"]).contains(&"risikobransje".to_owned()),
        "{cur}"
    );
    let nc = rule_ids(&cur["not_computable"]);
    assert!(nc.contains(&"konkurs_avvikling_slettet".to_owned()), "{cur}");
    let bankrupt = cur["not_computable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "konkurs_avvikling_slettet")
        .unwrap();
    assert!(bankrupt["reason"].as_str().unwrap().len() > 5, "{bankrupt}");
    assert!(bankrupt["title"].is_string() && bankrupt["why"].is_string() && bankrupt["source"].is_string());
    assert!(cur["max_possible_score"].as_i64().unwrap() > cur["score"].as_i64().unwrap());
    assert_eq!(cur["reason"], "import");
    assert_eq!(a["history"].as_array().unwrap().len(), 1);
    let v1 = cur["rule_set_version"].as_str().unwrap().to_owned();
    assert_eq!(v1.len(), 64);

    // Facts arrive: the bankrupt supplier's contract now fires the indicator, with evidence.
    record_facts(&app);
    let run = rescore(
        &app,
        Scope::Suppliers(vec!["310000019".into(), "310000043".into(), "991825827".into()]),
        false,
    );
    assert_eq!(run.contracts_assessed, 3);
    assert_eq!(run.suppliers_assessed, 3);
    let cov = &run.coverage.rules["konkurs_avvikling_slettet"];
    assert_eq!((cov.applied, cov.fired), (3, 1), "{cov:?}");
    let page = json_of(app.api_get("/api/v1/contracts", &kem).await).await;
    let k2 = by_no(&page, "K-2");
    let id2 = k2["id"].as_i64().unwrap();
    let a2 = json_of(
        app.api_get(&format!("/api/v1/contracts/{id2}/assessment"), &kem)
            .await,
    )
    .await;
    let fired = &a2["current"]["fired"];
    let f = fired
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "konkurs_avvikling_slettet")
        .unwrap_or_else(|| panic!("bankrupt fires: {a2}"));
    assert_eq!(f["evidence"]["supplier.bankrupt"], true, "{f}");
    assert!(a2["current"]["facts_fetched_at"].is_string());
    assert_eq!(a2["history"].as_array().unwrap().len(), 2, "history kept: {a2}");
    assert_eq!(a2["history"][1]["reason"], "import");
    // Sorted by score, highest first; the bankrupt builder outranks the office supplies.
    let order: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contract_no"].as_str().unwrap())
        .collect();
    let pos = |n: &str| order.iter().position(|x| *x == n).unwrap();
    assert!(pos("K-2") < pos("K-3"), "{order:?}");
    let scores: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["risk"]["score"].as_i64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Nothing changed: a second run records nothing; --all records everything again.
    let before = app.count("assessments");
    let again = rescore(&app, Scope::All, false);
    assert_eq!((again.contracts_assessed, again.contracts_recorded), (4, 0));
    assert_eq!(app.count("assessments"), before);
    let forced = rescore(&app, Scope::All, true);
    assert_eq!(forced.contracts_recorded, 4);
    assert_eq!(
        app.count("assessments"),
        before + 4 + forced.suppliers_recorded as i64
    );

    // Filters: by industry and by tier.
    let ren = json_of(app.api_get("/api/v1/contracts?industry=renhold", &kem).await).await;
    let nos: Vec<&str> = ren["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contract_no"].as_str().unwrap())
        .collect();
    assert!(
        nos.contains(&"K-1") && nos.contains(&"K-4") && !nos.contains(&"K-3"),
        "{nos:?}"
    );
    let tier = k2["risk"]["tier"].as_str().unwrap().to_owned();
    let url = format!("/api/v1/contracts?tier={}", urlencode(&tier));
    let in_tier = json_of(app.api_get(&url, &kem).await).await;
    assert!(in_tier["total"].as_i64().unwrap() >= 1);
    for c in in_tier["items"].as_array().unwrap() {
        assert_eq!(c["risk"]["tier"], tier.as_str());
    }

    // Who sees what: the importer sees their own contract's assessment; A-krim does not
    // read contracts; another buyer gets 404, not someone else's contract.
    let r = app
        .api_get(&format!("/api/v1/contracts/{id2}/assessment"), &inn)
        .await;
    assert_eq!(r.status(), 200);
    app.add_user("inn2", Role::Innkjoper, None);
    let r = app
        .api_get(
            &format!("/api/v1/contracts/{id2}/assessment"),
            &app.token_for("inn2"),
        )
        .await;
    assert_eq!(r.status(), 404);
    app.add_user("ak", Role::Akrim, Some(Agency::Skatteetaten));
    let r = app
        .api_get(
            &format!("/api/v1/contracts/{id2}/assessment"),
            &app.token_for("ak"),
        )
        .await;
    assert_eq!(r.status(), 403);
    // Supplier-level assessments (Kemneren).
    let s = json_of(app.api_get("/api/v1/suppliers/310000043/assessment", &kem).await).await;
    assert!(
        rule_ids(&s["current"]["fired"]).contains(&"konkurs_avvikling_slettet".to_owned()),
        "{s}"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn rule_files(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(app.settings.rules_dir.as_ref().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    for p in entries {
        out.push(json!({
            "name": p.file_name().unwrap().to_string_lossy(),
            "text": std::fs::read_to_string(&p).unwrap(),
        }));
    }
    out
}

async fn rules_api_validates_replaces_and_keeps_history(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    app.add_user("kem", Role::Kemner, None);
    app.add_user("ak", Role::Akrim, Some(Agency::Arbeidstilsynet));
    let (inn, kem, ak) = (app.token_for("inn"), app.token_for("kem"), app.token_for("ak"));
    app.upload(&kem, "avtaler.xlsx", register(ROWS), &[]).await;

    // Every role that reads rules sees the active set and its version.
    let rules = json_of(app.api_get("/api/v1/rules", &ak).await).await;
    let v1 = rules["version"].as_str().unwrap().to_owned();
    assert!(rules["indicators"].as_array().unwrap().len() >= 14);
    assert_eq!(rules["activations"][0]["version"], v1.as_str());

    let files = rule_files(&app);
    let put = |token: String, body: Value| {
        let client = app.client.clone();
        let url = app.url("/api/v1/rules");
        async move {
            client
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    // A typo is refused with file, line, rule and problem; nothing changes.
    let mut broken = files.clone();
    let ind = broken
        .iter_mut()
        .find(|f| f["name"] == "indicators.toml")
        .unwrap();
    let text = ind["text"]
        .as_str()
        .unwrap()
        .replacen("supplier.bankrupt", "supplier.bankrupty", 1);
    ind["text"] = Value::String(text);
    let validate = |token: String, body: Value| {
        let client = app.client.clone();
        let url = app.url("/api/v1/rules/validate");
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(validate(inn.clone(), json!({"files": files})).await.status(), 403);
    let ok = json_of(validate(kem.clone(), json!({"files": files})).await).await;
    assert_eq!(
        (ok["valid"].as_bool(), ok["version"].as_str()),
        (Some(true), Some(v1.as_str()))
    );
    let r = validate(kem.clone(), json!({"files": broken})).await;
    assert_eq!(r.status(), 422);
    let p = json_of(r).await;
    assert_eq!(p["type"], "urn:spotcheck:problem:invalid-rules");
    let e = &p["errors"][0];
    assert_eq!(e["file"], "indicators.toml", "{p}");
    assert!(e["line"].as_u64().unwrap() > 0, "{p}");
    assert_eq!(e["rule"], "konkurs_avvikling_slettet", "{p}");
    assert!(e["message"].as_str().unwrap().contains("bankrupty"), "{p}");

    let r = put(inn.clone(), json!({"files": files})).await;
    assert_eq!(r.status(), 403, "only Kemneren changes rules");
    let r = put(kem.clone(), json!({"files": broken})).await;
    assert_eq!(r.status(), 422);
    let still = json_of(app.api_get("/api/v1/rules", &kem).await).await;
    assert_eq!(
        still["version"],
        v1.as_str(),
        "the broken set never became active"
    );
    assert_eq!(rule_files(&app), files, "the folder is untouched");

    // A valid change (a heavier weight) is written, activated, audited and rescored.
    let mut heavier = files.clone();
    let ind = heavier
        .iter_mut()
        .find(|f| f["name"] == "indicators.toml")
        .unwrap();
    let text = ind["text"]
        .as_str()
        .unwrap()
        .replacen("weight = 10", "weight = 12", 1);
    ind["text"] = Value::String(text);
    let r = put(kem.clone(), json!({"files": heavier})).await;
    assert_eq!(r.status(), 200);
    let done = json_of(r).await;
    let v2 = done["version"].as_str().unwrap().to_owned();
    assert_ne!(v2, v1);
    assert_eq!(done["activated"], true);
    assert_eq!(done["rescore"]["contracts_assessed"], 4);
    assert_eq!(
        done["rescore"]["contracts_recorded"], 4,
        "a new version records anew"
    );
    // The set lives in the database now: the folder is the exchange format, untouched.
    assert_eq!(
        rule_files(&app),
        files,
        "PUT stores a version; it writes no files"
    );
    let rules = json_of(app.api_get("/api/v1/rules", &kem).await).await;
    assert_eq!(rules["version"], v2.as_str());
    assert_eq!(rules["activations"][1]["version"], v1.as_str());

    // The old assessment stays, explained with the rules it was made with.
    let page = json_of(app.api_get("/api/v1/contracts", &kem).await).await;
    let id = by_no(&page, "K-1")["id"].as_i64().unwrap();
    let a = json_of(
        app.api_get(&format!("/api/v1/contracts/{id}/assessment"), &kem)
            .await,
    )
    .await;
    assert_eq!(a["current"]["rule_set_version"], v2.as_str());
    let hist = a["history"].as_array().unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[1]["rule_set_version"], v1.as_str());
    assert!(
        a["current"]["score"].as_i64().unwrap() >= hist[1]["score"].as_i64().unwrap(),
        "raising a weight never lowers a score"
    );
    let audit = app.count("audit_log");
    assert!(audit > 0);
    {
        use diesel::prelude::*;
        use spotcheck::db::schema::{audit_log, rule_sets};
        let mut conn = app.pool.get().unwrap();
        let acts: Vec<String> = audit_log::table
            .filter(audit_log::action.eq("rules.activate"))
            .select(audit_log::actor)
            .load(&mut conn)
            .unwrap();
        assert!(acts.contains(&"user:kem".to_owned()), "{acts:?}");
        let stored: i64 = rule_sets::table.count().get_result(&mut conn).unwrap();
        assert_eq!(stored, 2, "both versions' files are kept");
    }

    // A broken edit on disk: reload refuses and the active set stays.
    std::fs::write(
        app.settings.rules_dir.as_ref().unwrap().join("zz_broken.toml"),
        "[[indicator]]\nid = \n",
    )
    .unwrap();
    let r = app
        .client
        .post(app.url("/api/v1/rules/reload"))
        .bearer_auth(&kem)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let p = json_of(r).await;
    assert_eq!(p["errors"][0]["file"], "zz_broken.toml", "{p}");
    let rules = json_of(app.api_get("/api/v1/rules", &kem).await).await;
    assert_eq!(rules["version"], v2.as_str());
}

async fn cli_score_and_rules_check(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let kem = app.token_for("kem");
    app.upload(&kem, "avtaler.xlsx", register(ROWS), &[]).await;
    let rules_dir = app
        .settings
        .rules_dir
        .as_ref()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let env = [("SPOTCHECK_RULES_DIR", rules_dir.as_str())];

    let (ok, out, err) = run_cli(&app.db, &["score", "--format", "json"], &env);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["contracts_assessed"], 4);
    assert_eq!(report["contracts_recorded"], 0, "already scored at import");
    let cov = &report["coverage"]["rules"]["risikobransje"];
    assert_eq!(cov["applied"], 4, "{report}");
    let (ok, out, err) = run_cli(&app.db, &["score", "--all"], &env);
    assert!(ok, "{err}");
    assert!(out.contains("4 nye vurderinger lagret"), "{out}");

    let (ok, out, err) = run_cli(&app.db, &["rules", "check", &rules_dir], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("OK, versjon"), "{out}");

    let broken = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(&rules_dir).unwrap() {
        let p = f.unwrap().path();
        std::fs::copy(&p, broken.path().join(p.file_name().unwrap())).unwrap();
    }
    let ind = broken.path().join("tiers.toml");
    let text = std::fs::read_to_string(&ind).unwrap();
    std::fs::write(&ind, text.replacen("min_score = 20", "min_score = \"tjue\"", 1)).unwrap();
    let (ok, _out, err) = run_cli(
        &app.db,
        &["rules", "check", &broken.path().to_string_lossy()],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("tiers.toml:"), "names the file and line: {err}");
    // The service refuses to start with it.
    let (ok, _out, err) = run_cli(
        &app.db,
        &["serve"],
        &[
            ("SPOTCHECK_RULES_DIR", &broken.path().to_string_lossy()),
            ("SPOTCHECK_BIND", "127.0.0.1:0"),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("kan ikke lastes") && err.contains("tiers.toml"),
        "{err}"
    );
}

/// The whole chain with the shipped rules: an import is scored, and a draw stratified by
/// industry weights each contract by that score (+1) and verifies.
async fn scores_feed_a_verifiable_draw(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let kem = app.token_for("kem");
    app.upload(&kem, "avtaler.xlsx", register(ROWS), &[]).await;
    let page = json_of(app.api_get("/api/v1/contracts", &kem).await).await;
    let (ok, out, err) = run_cli(
        &app.db,
        &[
            "draw",
            "--seed",
            "terning 4-2-6",
            "--size",
            "3",
            "--strata",
            "industry",
            "--format",
            "json",
            "--user",
            "kem",
        ],
        &[],
    );
    assert!(ok, "{err}");
    let draw: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(draw["population_size"], 4);
    assert_eq!(draw["notifications_queued"], 0);
    assert!(
        draw["warnings"][0]
            .as_str()
            .unwrap()
            .contains("ingen kontaktperson dekker"),
        "nobody to notify is said: {draw}"
    );
    let id = draw["id"].as_i64().unwrap().to_string();
    let (ok, manifest, err) = run_cli(&app.db, &["draw", "manifest", &id], &[]);
    assert!(ok, "{err}");
    // Each manifest line carries the contract's stored score + 1, in its first industry.
    for c in page["items"].as_array().unwrap() {
        let no = c["contract_no"].as_str().unwrap();
        let score = c["risk"]["score"].as_i64().unwrap();
        let stratum = c["risk"]["industries"][0].as_str().unwrap_or("annet");
        let line = format!("{stratum}\t{no}\t{}", score + 1);
        assert!(manifest.lines().any(|l| l == line), "{line:?} in {manifest}");
    }
    let (ok, out, err) = run_cli(&app.db, &["verify", &id], &[]);
    assert!(ok, "{out}{err}");
}

/// Issue 5's "done when": the shipped rules score every contract of the fixture registers
/// (every producer and format), each with an explanation that accounts for every indicator.
async fn fixture_registers_are_scored_and_explained(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("kem", Role::Kemner, None);
    let kem = app.token_for("kem");
    let indicators = spotcheck::app::load_rules(&app.pool, &app.settings, &Actor::system())
        .unwrap()
        .indicators()
        .len();
    let mut total = 0;
    for file in [
        "register_nb.xlsx",
        "register_en.xlsx",
        "register.xlsb",
        "register_utf8.csv",
        "register_cp1252.csv",
    ] {
        let r = app
            .upload(&kem, file, common::fixture(&format!("import/{file}")), &[])
            .await;
        assert!(r.status().is_success(), "{file}: {}", r.status());
    }
    let page = json_of(app.api_get("/api/v1/contracts?per_page=500", &kem).await).await;
    for c in page["items"].as_array().unwrap() {
        total += 1;
        let id = c["id"].as_i64().unwrap();
        assert!(c["risk"]["tier"].is_string(), "{c}");
        let a = json_of(
            app.api_get(&format!("/api/v1/contracts/{id}/assessment"), &kem)
                .await,
        )
        .await;
        let cur = &a["current"];
        let accounted = cur["fired"].as_array().unwrap().len()
            + cur["not_computable"].as_array().unwrap().len()
            + cur["passed"].as_array().unwrap().len();
        assert!(accounted > 0 && accounted <= indicators, "{cur}");
        for f in cur["fired"]
            .as_array()
            .unwrap()
            .iter()
            .chain(cur["not_computable"].as_array().unwrap())
        {
            assert!(
                f["title"].is_string() && f["why"].is_string() && f["evidence"].is_object(),
                "{f}"
            );
        }
        for f in cur["not_computable"].as_array().unwrap() {
            assert!(f["reason"].is_string(), "not computable says why: {f}");
        }
        let fired_weight: i64 = cur["fired"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["weight"].as_i64().unwrap())
            .sum();
        assert_eq!(
            fired_weight,
            cur["score"].as_i64().unwrap(),
            "score = sum of fired weights: {cur}"
        );
    }
    assert_eq!(total, page["total"].as_i64().unwrap());
    assert!(total >= 15, "{total} contracts across the fixtures");
}

/// The pages: contracts listed with their risk and filtered by tier, a contract's
/// explanation in Norwegian, text escaped, and no peeking at other buyers' contracts.
async fn contract_pages_show_risk_and_explanation(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.add_user("inn", Role::Innkjoper, None);
    app.add_user("inn2", Role::Innkjoper, None);
    let inn = app.token_for("inn");
    let mut rows = ROWS.to_vec();
    rows.push((
        "K-5",
        "<script>alert(1)</script>",
        "=2+5 AS",
        "974760673",
        "90910000-9",
        10.0,
    ));
    app.upload(&inn, "avtaler.xlsx", register(&rows), &[]).await;
    record_facts(&app);
    rescore(&app, Scope::All, false);
    let session = app.login("inn", common::PASSWORD).await.unwrap();

    let r = app.get_with_session("/contracts", &session).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("5 kontrakter (side 1 av 1)"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") && !html.contains("<script>alert"),
        "{html}"
    );
    let k2 = html.find(">K-2<").unwrap();
    let k3 = html.find(">K-3<").unwrap();
    assert!(k2 < k3, "highest score first");
    assert!(html.contains("href=\"/contracts\""), "in the menu");

    let page = json_of(app.api_get("/api/v1/contracts", &inn).await).await;
    let k2 = by_no(&page, "K-2");
    let tier = k2["risk"]["tier"].as_str().unwrap();
    let r = app
        .get_with_session(&format!("/contracts?tier={}", urlencode(tier)), &session)
        .await;
    let filtered = r.text().await.unwrap();
    assert!(filtered.contains(">K-2<"));
    let n = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["risk"]["tier"] == tier)
        .count();
    assert!(filtered.contains(&format!("{n} kontrakter")), "{filtered}");

    let id = k2["id"].as_i64().unwrap();
    let r = app.get_with_session(&format!("/contracts/{id}"), &session).await;
    assert_eq!(r.status(), 200);
    let detail = r.text().await.unwrap();
    assert!(
        detail.contains("Konkurs, avvikling, tvangsoppløsning eller slettet"),
        "{detail}"
    );
    assert!(
        detail.contains("Leverandørens konkursstatus: ja"),
        "evidence shown in words: {detail}"
    );
    assert!(!detail.contains("supplier.bankrupt"), "no field codes: {detail}");
    assert!(detail.contains("Kunne ikke beregnes"), "{detail}");
    assert!(detail.contains("Historikk"));

    let other = app.login("inn2", common::PASSWORD).await.unwrap();
    let r = app.get_with_session(&format!("/contracts/{id}"), &other).await;
    assert_eq!(r.status(), 404);
    let r = app.get_with_session("/contracts", &other).await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Ingen kontrakter passer filteret")
    );
}

backend_tests!(
    contract_pages_show_risk_and_explanation,
    fixture_registers_are_scored_and_explained,
    scores_feed_a_verifiable_draw,
    import_scores_every_contract_with_explanation,
    rules_api_validates_replaces_and_keeps_history,
    cli_score_and_rules_check,
);

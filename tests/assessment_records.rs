//! Compact assessments (issue 15): an assessment is stored as a record of what it decided
//! (`spotcheck::risk::record`), and the explanation shown is rebuilt from it with the plan of
//! its rule set. These tests hold the rebuilt explanation to the JSON that used to be stored,
//! byte for byte, over thousands of varied assessments; and, on SQLite and PostgreSQL, that
//! scoring stores records (not JSON), that explanations stored as JSON before still read the
//! same, and that the repeated texts are stored once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate, NaiveDateTime};
use common::rng::XorShift;
use common::{Backend, TestApp};
use diesel::prelude::*;
use spotcheck::brreg::facts::{Address, Employees, UnitFacts};
use spotcheck::db::DbConn;
use spotcheck::db::models::Actor;
use spotcheck::domain::roles::Role;
use spotcheck::risk::record::{self, Interner, Plan, StoredExplanation};
use spotcheck::risk::{
    ApprovalFact, ApprovalStatus, Assessment, AssessmentInput, ContractFacts, RuleSet, SupplierInput,
};

fn rules() -> RuleSet {
    RuleSet::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap()
}

/// The dictionary in memory, numbering texts as the database table does.
#[derive(Default)]
struct Texts {
    ids: HashMap<String, u64>,
    texts: HashMap<u64, String>,
}

impl Interner for Texts {
    fn intern(&mut self, text: &str) -> u64 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.ids.len() as u64 + 1;
        self.ids.insert(text.to_owned(), id);
        self.texts.insert(id, text.to_owned());
        id
    }
}

const TITLES: &[&str] = &[
    "Renhold av skoler og barnehager",
    "Rehabilitering av svømmehall",
    "Bilvask og dekkhotell for tjenestebiler",
    "Kantinedrift sykehjem",
    "Innleie av personell til hjemmetjenesten",
    "Kontorrekvisita",
    "Snørydding og strøing",
    "",
];
const CPVS: &[&str] = &[
    "90910000-9",
    "45453000-7",
    "50112300-6",
    "55520000-1",
    "79620000-6",
    "30192000-1",
    "",
];
const CODES: &[&str] = &[
    "81.210", "43.341", "45.200", "56.101", "78.200", "62.010", "96.910",
];

fn unit(rng: &mut XorShift, i: u64) -> UnitFacts {
    let kind = rng.below(12);
    let deleted = kind == 0;
    UnitFacts {
        orgnr: format!("{:09}", 800_000_000 + i),
        name: format!("Leverandør «{i}» & Co"),
        is_subunit: rng.below(4) == 0,
        org_form: Some((*rng.pick(&["AS", "ENK", "NUF", "ANS"])).to_owned()),
        industry_codes: if rng.below(8) == 0 {
            Vec::new()
        } else {
            vec![(*rng.pick(CODES)).to_owned()]
        },
        employees: match rng.below(4) {
            0 => Employees::NotRegistered,
            1 => Employees::Hidden1To4,
            _ => Employees::Known(rng.below(300) as u32),
        },
        registered_date: (rng.below(6) != 0).then(|| rng.date(2000, 26 * 365)),
        founded_date: None,
        vat_registered: if deleted { None } else { Some(rng.below(6) != 0) },
        vat_registered_date: None,
        bankrupt: kind == 1,
        bankruptcy_date: (kind == 1).then(|| rng.date(2023, 900)),
        under_liquidation: kind == 2,
        liquidation_date: None,
        forced_dissolution: kind == 3,
        forced_dissolution_reasons: if kind == 3 {
            vec!["manglende_regnskap".into()]
        } else {
            Vec::new()
        },
        forced_dissolution_date: None,
        deleted_date: deleted.then(|| rng.date(2023, 900)),
        closed_date: None,
        last_accounts_year: (rng.below(5) != 0).then(|| 2018 + rng.below(7) as i32),
        business_address: (rng.below(5) != 0).then(|| Address {
            lines: vec![format!("Gate {}", rng.below(50))],
            postal_code: Some("5003".into()),
            city: Some("BERGEN".into()),
            municipality: Some("BERGEN".into()),
            municipality_number: Some("4601".into()),
            country: Some("Norge".into()),
            country_code: Some("NO".into()),
        }),
        postal_address: None,
        parent_orgnr: None,
        sector_code: Some("2100".into()),
        in_business_register: Some(rng.below(3) != 0),
        home_country_registration: None,
        status_flags_reported: !deleted,
    }
}

fn approvals(rng: &mut XorShift) -> Vec<ApprovalFact> {
    let loaded = NaiveDate::from_ymd_opt(2026, 11, 1)
        .unwrap()
        .and_hms_micro_opt(8, 30, 15, 123_456)
        .unwrap();
    let registers: Vec<&str> = ["renhold", "bilpleie", "bemanning"]
        .into_iter()
        .filter(|_| rng.below(4) != 0)
        .collect();
    registers
        .into_iter()
        .map(|register| {
            let class = *rng.pick(&[
                ApprovalStatus::Approved,
                ApprovalStatus::Pending,
                ApprovalStatus::NotApproved,
                ApprovalStatus::NotListed,
                ApprovalStatus::Other,
            ]);
            ApprovalFact {
                register: register.into(),
                status: if class == ApprovalStatus::NotListed {
                    String::new()
                } else {
                    "Godkjent med ansatte".into()
                },
                status_class: class,
                status_date: (rng.below(2) == 0).then(|| rng.date(2020, 2000)),
                loaded_at: (rng.below(5) != 0).then(|| loaded + Days::new(rng.below(3))),
            }
        })
        .collect()
}

fn contract(rng: &mut XorShift, i: u64) -> ContractFacts {
    let start = rng.date(2019, 7 * 365);
    let hours = (rng.below(4) == 0).then(|| 10.5 + rng.below(20_000) as f64);
    let mut extras = BTreeMap::new();
    if rng.below(3) == 0 {
        extras.insert(
            "Antall ansatte hos leverandør".into(),
            format!("{}", rng.below(40)),
        );
    }
    ContractFacts {
        contract_no: format!("K-{i}"),
        title: Some((*rng.pick(TITLES)).to_owned()).filter(|t| !t.is_empty()),
        category: (rng.below(3) == 0).then(|| "Tjenester".to_owned()),
        cpv: Some((*rng.pick(CPVS)).to_owned()).filter(|s| !s.is_empty()),
        value_ore: (rng.below(8) != 0)
            .then(|| (rng.below(20_000_000) as i64 + 1) * 100 + rng.below(100) as i64),
        start_date: (rng.below(10) != 0).then_some(start),
        end_date: (rng.below(4) != 0).then(|| start + Days::new(rng.below(1500))),
        unit: Some("Etat for bygg og eiendom".into()),
        subcontractor_levels: (rng.below(2) == 0).then(|| rng.below(5) as i32),
        hours,
        hourly_price_ore: (rng.below(3) == 0).then(|| 10_000 + rng.below(90_000) as i64),
        extras,
    }
}

/// Contract and supplier assessments over varied inputs: enriched or not, a parent or not,
/// approvals loaded or not, hidden employee bands, bankrupt and deleted units.
fn varied_assessments(rules: &RuleSet, n: u64) -> Vec<Assessment> {
    let mut rng = XorShift(0x5eed_0015_0001);
    let fetched: NaiveDateTime = NaiveDate::from_ymd_opt(2026, 12, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let supplier = (rng.below(6) != 0).then(|| unit(&mut rng, i));
        let parent = (rng.below(4) == 0).then(|| unit(&mut rng, i + 1_000_000));
        let approvals = approvals(&mut rng);
        let c = contract(&mut rng, i);
        let shared = (rng.below(4) != 0).then(|| 1 + rng.below(6) as u32);
        let as_of = rng.date(2024, 1000);
        out.push(rules.assess(&AssessmentInput {
            contract: &c,
            supplier: supplier.as_ref(),
            supplier_fetched_at: supplier.as_ref().map(|_| fetched),
            parent: parent.as_ref(),
            approvals: &approvals,
            shared_address_count: shared,
            as_of,
        }));
        if let Some(s) = &supplier {
            out.push(rules.assess_supplier(&SupplierInput {
                supplier: s,
                supplier_fetched_at: Some(fetched),
                parent: parent.as_ref(),
                approvals: &approvals,
                shared_address_count: shared,
                as_of,
            }));
        }
    }
    out
}

#[test]
fn a_record_rebuilds_the_json_explanation_byte_for_byte() {
    let rules = rules();
    let plan = Plan::of(&rules);
    let mut texts = Texts::default();
    let (mut json_bytes, mut record_bytes, mut with_findings) = (0usize, 0usize, 0usize);
    let all = varied_assessments(&rules, 3_000);
    for a in &all {
        let json = record::explanation_json(a);
        let old: StoredExplanation = serde_json::from_str(&json).unwrap();
        let bytes = record::encode(&plan, a, &mut texts).unwrap();
        let industries = a.industries.iter().map(|i| i.to_string()).collect();
        let new = record::decode(&plan, &bytes, industries, &texts.texts).unwrap();
        // What the pages and the API serialise: the same bytes either way.
        assert_eq!(
            serde_json::to_string(&new).unwrap(),
            serde_json::to_string(&old).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&new).unwrap(),
            json,
            "the stored JSON itself"
        );
        json_bytes += json.len();
        record_bytes += bytes.len();
        with_findings += usize::from(!a.fired.is_empty() && !a.not_computable.is_empty());
    }
    // The inputs reach every kind of finding, or the comparison proves little.
    assert!(with_findings > all.len() / 4, "{with_findings} of {}", all.len());
    assert!(
        all.iter().any(|a| !a.approvals_loaded_at.is_empty()),
        "no approval load times"
    );
    // The point of it: a record is a small fraction of its JSON, and the texts recur.
    assert!(
        record_bytes * 8 < json_bytes,
        "{record_bytes} bytes of records, {json_bytes} of JSON"
    );
    // Reasons, words and codes recur; dates are drawn at random over years here, so the
    // dictionary holds a few thousand of them, fewer than there are assessments.
    assert!(
        texts.texts.len() < all.len(),
        "{} distinct texts",
        texts.texts.len()
    );
}

#[test]
fn a_record_that_does_not_fit_its_plan_is_refused() {
    let rules = rules();
    let a = varied_assessments(&rules, 40)
        .into_iter()
        .find(|a| !a.fired.is_empty())
        .unwrap();
    let mut plan = Plan::of(&rules);
    plan.indicators.retain(|p| p.id != a.fired[0].rule.as_str());
    assert!(matches!(
        record::encode(&plan, &a, &mut Texts::default()),
        Err(record::Mismatch(_))
    ));
}

// ---------------------------------------------------------------------------------------
// In storage.

fn register() -> Vec<u8> {
    register_of(40)
}

/// `n` contracts of four kinds (industries, suppliers, values), ids `R-0`, `R-1`, ….
fn register_of(n: usize) -> Vec<u8> {
    common::workbook::xlsx(
        &[
            "Avtalenr",
            "Avtalenavn",
            "Leverandør",
            "Org.nr",
            "CPV",
            "Kontraktsverdi",
        ],
        (0..n).map(|i| {
            vec![
                format!("R-{i}").into(),
                [
                    "Renhold av skoler",
                    "Bilvask",
                    "Rehabilitering av svømmehall",
                    "Kontorrekvisita",
                ][i % 4]
                    .into(),
                format!("Leverandør {i}").into(),
                ["310000019", "310000043", "991825827", "923609016"][i % 4].into(),
                ["90910000-9", "50112300-6", "45453000-7", "30192000-1"][i % 4].into(),
                (100_000.0 * (i + 1) as f64).into(),
            ]
        }),
    )
}

/// Records a new assessment of every contract with the rule set in force (as `spotcheck
/// score --all` does), and returns that rule set.
fn rescore_everything(app: &TestApp) -> RuleSet {
    let rules = spotcheck::app::load_rules(&app.pool, &app.settings, &Actor::system()).unwrap();
    spotcheck::service::scoring::rescore_today(
        &mut app.pool.get().unwrap(),
        &rules,
        spotcheck::service::scoring::Scope::All,
        true,
        "test",
        &Actor::system(),
    )
    .unwrap();
    rules
}

/// An assessment as stored: id, contract, explanation column, record.
type StoredRow = (i64, Option<i64>, String, Option<Vec<u8>>);

async fn assessment_json(app: &TestApp, token: &str, id: i64) -> String {
    let resp = app
        .client
        .get(format!("{}/api/v1/contracts/{id}/assessment", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

async fn records_are_stored_and_old_explanations_read_the_same(backend: Backend) {
    use spotcheck::db::schema::{assessment_texts, assessments};

    let app = TestApp::start(backend).await;
    app.add_user("kemner", Role::Kemner, None);
    let token = app.token_for("kemner");
    let resp = app.upload(&token, "register.xlsx", register(), &[]).await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let mut conn: DbConn = app.db.raw_conn();

    // Scoring stored records, not JSON: every contract assessment has one and an empty
    // explanation, and the texts they repeat are stored once each.
    let rows: Vec<StoredRow> = assessments::table
        .filter(assessments::subject.eq("contract"))
        .select((
            assessments::id,
            assessments::contract_id,
            assessments::explanation,
            assessments::record,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), 40);
    assert!(
        rows.iter()
            .all(|r| r.2.is_empty() && r.3.as_ref().is_some_and(|b| !b.is_empty()))
    );
    let texts: i64 = assessment_texts::table.count().get_result(&mut conn).unwrap();
    assert!(texts > 0 && texts < 40, "{texts} texts for 40 assessments");
    let mean = rows.iter().map(|r| r.3.as_ref().unwrap().len()).sum::<usize>() / rows.len();
    assert!(mean < 200, "a record takes {mean} bytes on average");

    // Each explanation as the API shows it from the record ...
    let mut shown = Vec::new();
    for (id, contract_id, _, _) in &rows {
        shown.push((
            *id,
            contract_id.unwrap(),
            assessment_json(&app, &token, contract_id.unwrap()).await,
        ));
    }
    // ... and again after the rows are turned back into what was stored before records: the
    // explanation as JSON and no record. The API answers byte for byte the same.
    for (id, _, body) in &shown {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let current = &v["current"];
        let strip = |fs: &serde_json::Value| {
            fs.as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let mut f = f.clone();
                    let o = f.as_object_mut().unwrap();
                    for k in ["title", "why", "source"] {
                        o.remove(k);
                    }
                    f
                })
                .collect::<Vec<_>>()
        };
        let legacy = serde_json::json!({
            "industries": current["industries"],
            "fired": strip(&current["fired"]),
            "not_computable": strip(&current["not_computable"]),
            "passed": current["passed"].as_array().unwrap().iter().map(|p| p["rule"].clone()).collect::<Vec<_>>(),
            "approvals_loaded_at": current["approvals_loaded_at"],
        });
        diesel::update(assessments::table.find(*id))
            .set((
                assessments::explanation.eq(legacy.to_string()),
                assessments::record.eq(None::<Vec<u8>>),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    for (_, contract_id, body) in &shown {
        assert_eq!(&assessment_json(&app, &token, *contract_id).await, body);
    }
    assert!(
        shown.iter().any(|(_, _, b)| b.contains("\"fired\":[{")),
        "no fired indicator shown"
    );
    assert!(
        shown.iter().any(|(_, _, b)| b.contains("\"reason\":")),
        "no reason shown"
    );

    // A new rescoring of everything records again, as records; the mail's lists read the
    // fired indicators of both kinds.
    rescore_everything(&app);
    let ids: Vec<i64> = shown.iter().map(|s| s.1).collect();
    let lines = spotcheck::db::models::notices::contract_lines(&mut app.pool.get().unwrap(), &ids).unwrap();
    for (_, contract_id, body) in &shown {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let want: Vec<String> = v["current"]["fired"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect();
        let line = lines.iter().find(|l| l.contract_id == *contract_id).unwrap();
        assert_eq!(line.fired, want, "contract {contract_id}");
    }
    let texts_after: i64 = assessment_texts::table.count().get_result(&mut conn).unwrap();
    assert_eq!(texts_after, texts, "the same texts are not stored twice");
}

backend_tests!(
    records_are_stored_and_old_explanations_read_the_same,
    threads_record_what_one_thread_recorded
);

/// A rescoring of 2,000 contracts or more is scored on every core, the threads sharing the
/// dictionary of texts (`SharedTexts`); an import scores its chunks on one thread. Forced
/// over what an import just recorded (same rules, same inputs, same day), the threads record
/// what the one thread did: every record reads back the same explanation and industries,
/// and no text is stored twice. (On a one-core machine both runs take the one-thread path.)
async fn threads_record_what_one_thread_recorded(backend: Backend) {
    use spotcheck::db::schema::{assessment_texts, assessments};

    let app = TestApp::start(backend).await;
    app.add_user("kemner", Role::Kemner, None);
    let token = app.token_for("kemner");
    let n = 2_400;
    let resp = app.upload(&token, "register.xlsx", register_of(n), &[]).await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let mut conn: DbConn = app.db.raw_conn();
    let texts_before: i64 = assessment_texts::table.count().get_result(&mut conn).unwrap();

    let rules = rescore_everything(&app);

    let dictionary: HashMap<u64, String> = assessment_texts::table
        .select((assessment_texts::id, assessment_texts::text))
        .load::<(i64, String)>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|(id, text)| (id as u64, text))
        .collect();
    assert_eq!(
        dictionary.len() as i64,
        texts_before,
        "the same texts are not stored twice"
    );
    let plan = Plan::of(&rules);
    // Each contract's two assessments, the import's first.
    let mut by_contract: BTreeMap<i64, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (contract_id, industries, bytes) in assessments::table
        .filter(assessments::subject.eq("contract"))
        .order(assessments::id)
        .select((
            assessments::contract_id,
            assessments::industries,
            assessments::record,
        ))
        .load::<(Option<i64>, String, Option<Vec<u8>>)>(&mut conn)
        .unwrap()
    {
        by_contract
            .entry(contract_id.unwrap())
            .or_default()
            .push((industries, bytes.expect("a record")));
    }
    assert_eq!(by_contract.len(), n);
    let mut fired = 0;
    for (contract_id, made) in &by_contract {
        let [(industries, imported), (rescored_industries, rescored)] = made.as_slice() else {
            panic!("contract {contract_id}: {} assessments", made.len());
        };
        let read = |bytes: &[u8]| record::decode(&plan, bytes, Vec::new(), &dictionary).unwrap();
        let (imported, rescored) = (read(imported), read(rescored));
        assert_eq!(rescored, imported, "contract {contract_id}");
        assert_eq!(rescored_industries, industries, "contract {contract_id}");
        fired += imported.fired.len();
    }
    assert!(fired > 0, "no indicator fired");
}

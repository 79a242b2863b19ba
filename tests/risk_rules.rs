//! Risk rules: the default rule set in `rules/`, each indicator firing / passing / not
//! computable on fixture facts, rule-file errors and their messages, and properties.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::NaiveDate;
use common::dates::{date as d, datetime as dt};
use common::rng::XorShift;
use common::rules::{shipped_rules, shipped_rules_dir};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use spotcheck::brreg::facts::{Address, Employees, UnitFacts};
use spotcheck::risk::record::{self, Interner, Plan};
use spotcheck::risk::{
    ApprovalFact, ApprovalStatus, Assessment, AssessmentInput, ContractFacts, Coverage, RuleSet, Score,
    SupplierInput,
};
use spotcheck::service::rules::ActiveRules;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(shipped_rules)
}

fn rule_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(shipped_rules_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------------------------------
// Fixtures: a healthy cleaning supplier on a cleaning contract. Only `risikobransje` fires.
// ---------------------------------------------------------------------------------------

fn healthy_unit() -> UnitFacts {
    UnitFacts {
        orgnr: "923609016".into(),
        name: "Renhold AS".into(),
        is_subunit: false,
        org_form: Some("AS".into()),
        industry_codes: vec!["81.210".into()],
        employees: Employees::Known(50),
        registered_date: Some(d("2010-03-01")),
        founded_date: Some(d("2010-02-01")),
        vat_registered: Some(true),
        vat_registered_date: Some(d("2010-03-01")),
        bankrupt: false,
        bankruptcy_date: None,
        under_liquidation: false,
        liquidation_date: None,
        forced_dissolution: false,
        forced_dissolution_reasons: vec![],
        forced_dissolution_date: None,
        deleted_date: None,
        closed_date: None,
        last_accounts_year: Some(2024),
        business_address: Some(Address {
            lines: vec!["Kaigaten 1".into()],
            postal_code: Some("5015".into()),
            city: Some("BERGEN".into()),
            municipality: Some("BERGEN".into()),
            municipality_number: Some("4601".into()),
            country: Some("Norge".into()),
            country_code: Some("NO".into()),
        }),
        postal_address: None,
        parent_orgnr: None,
        sector_code: Some("2100".into()),
        in_business_register: Some(true),
        home_country_registration: None,
        status_flags_reported: true,
    }
}

fn cleaning_contract() -> ContractFacts {
    ContractFacts {
        contract_no: "2025/0001".into(),
        title: Some("Renhold av skoler i Bergenhus".into()),
        category: Some("Renhold".into()),
        cpv: Some("90910000-9".into()),
        value_ore: Some(300_000_000), // 3 MNOK
        start_date: Some(d("2025-01-01")),
        end_date: Some(d("2027-12-31")),
        unit: Some("Etat for skole".into()),
        subcontractor_levels: Some(1),
        hours: None,
        hourly_price_ore: Some(45_000), // 450 NOK/h
        extras: BTreeMap::new(),
    }
}

fn approval(register: &str, class: ApprovalStatus, status: &str) -> ApprovalFact {
    ApprovalFact {
        register: register.into(),
        status: status.into(),
        status_class: class,
        status_date: Some(d("2024-05-01")),
        loaded_at: Some(dt("2025-05-30 04:00:00")),
    }
}

struct Fx {
    contract: ContractFacts,
    supplier: Option<UnitFacts>,
    parent: Option<UnitFacts>,
    approvals: Vec<ApprovalFact>,
    shared: Option<u32>,
    as_of: NaiveDate,
}

impl Fx {
    fn healthy() -> Fx {
        Fx {
            contract: cleaning_contract(),
            supplier: Some(healthy_unit()),
            parent: None,
            approvals: vec![approval(
                "renhold",
                ApprovalStatus::Approved,
                "Godkjent med ansatte",
            )],
            shared: Some(1),
            as_of: d("2025-06-01"),
        }
    }

    fn sup(&mut self) -> &mut UnitFacts {
        self.supplier.as_mut().unwrap()
    }

    fn assess_with(&self, rs: &RuleSet) -> Assessment {
        rs.assess(&AssessmentInput {
            contract: &self.contract,
            supplier: self.supplier.as_ref(),
            supplier_fetched_at: Some(dt("2025-05-31 12:00:00")),
            parent: self.parent.as_ref(),
            approvals: &self.approvals,
            shared_address_count: self.shared,
            as_of: self.as_of,
        })
    }

    fn assess(&self) -> Assessment {
        self.assess_with(rules())
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    Fired,
    Passed,
    NotComputable,
    NotApplicable,
}

fn outcome(a: &Assessment, rule: &str) -> Outcome {
    if a.fired.iter().any(|f| f.rule == rule) {
        Outcome::Fired
    } else if a.not_computable.iter().any(|f| f.rule == rule) {
        Outcome::NotComputable
    } else if a.passed.iter().any(|r| r == rule) {
        Outcome::Passed
    } else {
        Outcome::NotApplicable
    }
}

fn expect(fx: &Fx, rule: &str, want: Outcome) -> Assessment {
    let a = fx.assess();
    assert_eq!(
        outcome(&a, rule),
        want,
        "rule {rule}: fired={:?} nc={:?} passed={:?}",
        a.fired.iter().map(|f| (&f.rule, &f.evidence)).collect::<Vec<_>>(),
        a.not_computable
            .iter()
            .map(|f| (&f.rule, &f.reason))
            .collect::<Vec<_>>(),
        a.passed
    );
    a
}

fn reason(a: &Assessment, rule: &str) -> String {
    a.not_computable
        .iter()
        .find(|f| f.rule == rule)
        .and_then(|f| f.reason.clone())
        .unwrap_or_default()
}

#[test]
fn default_set_loads_with_all_industries_and_tiers() {
    let rs = rules();
    let ids: Vec<&str> = rs.industries().iter().map(|i| i.id.as_str()).collect();
    for want in [
        "renhold",
        "bygg_anlegg",
        "bilpleie",
        "hage_park",
        "servering",
        "bemanning",
        "transport",
        "landbruk",
        "fiskeindustri",
    ] {
        assert!(ids.contains(&want), "missing industry {want}");
    }
    let tiers: Vec<&str> = rs.tiers().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(tiers, ["lav", "middels", "høy", "kritisk"]);
    assert_eq!(rs.indicators().len(), 14);
    assert_eq!(
        rs.parameter_at("terskel_kommune_nok", d("2025-01-01")),
        Some(2_050_000.0)
    );
    assert_eq!(
        rs.parameter_at("maks_ledd_underleverandorer", d("2025-01-01")),
        Some(2.0)
    );
    assert_eq!(
        rs.parameter_at("minstelonn_renhold_nok", d("2023-01-01")),
        Some(204.54)
    );
    assert_eq!(
        rs.parameter_at("minstelonn_renhold_nok", d("2023-06-15")),
        Some(216.04)
    );
    assert_eq!(rs.parameter_at("minstelonn_renhold_nok", d("2022-01-01")), None);
}

#[test]
fn healthy_baseline_only_risk_industry_fires() {
    let a = Fx::healthy().assess();
    assert_eq!(
        a.fired.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
        ["risikobransje"]
    );
    assert!(a.not_computable.is_empty(), "{:?}", a.not_computable);
    assert_eq!(a.score, 10);
    assert_eq!(a.max_possible_score, 10);
    assert_eq!(a.tier, "lav");
    assert_eq!(a.industries, ["renhold"]);
    assert_eq!(a.passed.len(), 13);
    assert_eq!(a.rule_set_version, rules().version());
    assert_eq!(a.facts_fetched_at, Some(dt("2025-05-31 12:00:00")));
    assert_eq!(
        a.approvals_loaded_at.get("renhold"),
        Some(&dt("2025-05-30 04:00:00"))
    );
    assert_eq!(a.as_of, d("2025-06-01"));
}

// ---------------------------------------------------------------------------------------
// Each indicator: fires, does not fire, not computable.
// ---------------------------------------------------------------------------------------

macro_rules! indicator {
    ($name:ident, $rule:literal, fire: $fire:expr, pass: $pass:expr, nc: $nc:expr $(,)?) => {
        mod $name {
            use super::*;
            #[test]
            fn fires() {
                let mut fx = Fx::healthy();
                ($fire)(&mut fx);
                let a = expect(&fx, $rule, Outcome::Fired);
                let f = a.fired.iter().find(|f| f.rule == $rule).unwrap();
                assert!(!f.evidence.is_empty() && !f.why.is_empty() && !f.source.is_empty());
                assert!(f.reason.is_none());
            }
            #[test]
            fn passes() {
                let mut fx = Fx::healthy();
                ($pass)(&mut fx);
                expect(&fx, $rule, Outcome::Passed);
            }
            #[test]
            fn not_computable() {
                let mut fx = Fx::healthy();
                ($nc)(&mut fx);
                let a = expect(&fx, $rule, Outcome::NotComputable);
                assert!(!reason(&a, $rule).is_empty());
            }
        }
    };
}

fn office_supplies(fx: &mut Fx) {
    fx.contract.title = Some("Kontorrekvisita".into());
    fx.contract.category = Some("Varekjøp".into());
    fx.contract.cpv = Some("30192000-1".into());
}

indicator!(risikobransje, "risikobransje",
    fire: |_: &mut Fx| {},
    pass: |fx: &mut Fx| { office_supplies(fx); fx.sup().industry_codes = vec!["47.620".into()]; },
    nc: |fx: &mut Fx| { office_supplies(fx); fx.supplier = None; },
);

indicator!(godkjenning_mangler, "godkjenning_mangler",
    fire: |fx: &mut Fx| fx.approvals = vec![approval("renhold", ApprovalStatus::NotListed, "")],
    pass: |fx: &mut Fx| fx.approvals = vec![approval("renhold", ApprovalStatus::Pending, "Søknad under behandling")],
    nc: |fx: &mut Fx| fx.approvals.clear(),
);

indicator!(nyregistrert, "nyregistrert",
    fire: |fx: &mut Fx| fx.sup().registered_date = Some(d("2024-06-01")),
    pass: |fx: &mut Fx| fx.sup().registered_date = Some(d("2022-12-31")),
    nc: |fx: &mut Fx| fx.sup().registered_date = None,
);

indicator!(ikke_mva_registrert, "ikke_mva_registrert",
    fire: |fx: &mut Fx| fx.sup().vat_registered = Some(false),
    pass: |_: &mut Fx| {},
    nc: |fx: &mut Fx| fx.sup().vat_registered = None,
);

indicator!(faa_ansatte, "faa_ansatte",
    fire: |fx: &mut Fx| fx.sup().employees = Employees::Known(0),
    pass: |fx: &mut Fx| fx.sup().employees = Employees::Known(2),
    nc: |fx: &mut Fx| fx.sup().employees = Employees::NotRegistered,
);

indicator!(enk_nuf_arbeidsintensiv, "enk_nuf_arbeidsintensiv",
    fire: |fx: &mut Fx| fx.sup().org_form = Some("NUF".into()),
    pass: |_: &mut Fx| {},
    nc: |fx: &mut Fx| fx.sup().org_form = None,
);

indicator!(konkurs_avvikling_slettet, "konkurs_avvikling_slettet",
    fire: |fx: &mut Fx| fx.sup().forced_dissolution = true,
    pass: |_: &mut Fx| {},
    // A payload without status flags and without a deletion date: nothing is known.
    nc: |fx: &mut Fx| fx.sup().status_flags_reported = false,
);

indicator!(slettet_konkurs_etter_start, "slettet_konkurs_etter_start",
    fire: |fx: &mut Fx| { let s = fx.sup(); s.deleted_date = Some(d("2025-03-01")); s.status_flags_reported = false; },
    pass: |fx: &mut Fx| { let s = fx.sup(); s.bankrupt = true; s.bankruptcy_date = Some(d("2024-10-01")); },
    nc: |fx: &mut Fx| { let s = fx.sup(); s.bankrupt = true; s.bankruptcy_date = None; },
);

indicator!(mangler_regnskap, "mangler_regnskap",
    fire: |fx: &mut Fx| fx.sup().last_accounts_year = None,
    pass: |fx: &mut Fx| fx.sup().last_accounts_year = Some(2023),
    nc: |fx: &mut Fx| fx.sup().registered_date = None,
);

indicator!(for_mange_ledd, "for_mange_ledd",
    fire: |fx: &mut Fx| fx.contract.subcontractor_levels = Some(3),
    pass: |fx: &mut Fx| fx.contract.subcontractor_levels = Some(2),
    nc: |fx: &mut Fx| fx.contract.subcontractor_levels = None,
);

indicator!(over_terskel_mangler_info, "over_terskel_mangler_info",
    fire: |fx: &mut Fx| fx.contract.end_date = None,
    pass: |fx: &mut Fx| { fx.contract.end_date = None; fx.contract.value_ore = Some(100_000_000); },
    // Kleene: with every key field present, an unknown value cannot make this fire (passes);
    // with one missing, the unknown value decides.
    nc: |fx: &mut Fx| { fx.contract.value_ore = None; fx.contract.end_date = None; },
);

indicator!(pris_under_minstelonn, "pris_under_minstelonn",
    // 216.04 × 1.3 = 280.85 NOK/h is the floor for cleaning.
    fire: |fx: &mut Fx| fx.contract.hourly_price_ore = Some(25_000),
    pass: |fx: &mut Fx| fx.contract.hourly_price_ore = Some(29_000),
    nc: |fx: &mut Fx| { fx.contract.hourly_price_ore = None; fx.contract.hours = None; },
);

indicator!(delt_adresse, "delt_adresse",
    fire: |fx: &mut Fx| fx.shared = Some(5),
    pass: |fx: &mut Fx| fx.shared = Some(2),
    nc: |fx: &mut Fx| fx.shared = None,
);

indicator!(naering_passer_ikke, "naering_passer_ikke",
    fire: |fx: &mut Fx| fx.sup().industry_codes = vec!["62.010".into()],
    pass: |_: &mut Fx| {},
    nc: |fx: &mut Fx| fx.supplier = None,
);

// ---------------------------------------------------------------------------------------
// Semantics that matter: missing is not zero, the hidden band, dates, SN2007/SN2025.
// ---------------------------------------------------------------------------------------

#[test]
fn hidden_employee_band_is_neither_zero_nor_few() {
    let mut fx = Fx::healthy();
    fx.sup().employees = Employees::Hidden1To4;
    // 3 MNOK over 1–4 employees is 0.75–3 MNOK each: the band does not decide 1.5 MNOK.
    let a = expect(&fx, "faa_ansatte", Outcome::NotComputable);
    let r = reason(&a, "faa_ansatte");
    assert!(r.contains("1–4"), "{r}");
    assert_eq!(
        a.not_computable[0].evidence.get("supplier.employees"),
        Some(&serde_json::json!("1–4"))
    );
    // 10 MNOK is too much even for 4 employees: fires without knowing the exact count.
    fx.contract.value_ore = Some(1_000_000_000);
    expect(&fx, "faa_ansatte", Outcome::Fired);
    // 1 MNOK is fine even for a single employee.
    fx.contract.value_ore = Some(100_000_000);
    expect(&fx, "faa_ansatte", Outcome::Passed);
}

#[test]
fn unenriched_supplier_is_not_computable_never_a_silent_pass() {
    let mut fx = Fx::healthy();
    fx.supplier = None;
    let a = fx.assess();
    for rule in [
        "nyregistrert",
        "ikke_mva_registrert",
        "faa_ansatte",
        "enk_nuf_arbeidsintensiv",
        "konkurs_avvikling_slettet",
        "slettet_konkurs_etter_start",
        "mangler_regnskap",
        "delt_adresse",
        "naering_passer_ikke",
    ] {
        assert_eq!(outcome(&a, rule), Outcome::NotComputable, "{rule}");
        assert!(
            reason(&a, rule).contains("ikke slått opp"),
            "{rule}: {}",
            reason(&a, rule)
        );
    }
    assert!(a.max_possible_score > a.score);
    assert_eq!(a.facts_fetched_at, Some(dt("2025-05-31 12:00:00")));
}

#[test]
fn deleted_unit_without_flags_still_fires_on_deletion() {
    let mut fx = Fx::healthy();
    let s = fx.sup();
    s.deleted_date = Some(d("2025-04-01"));
    s.status_flags_reported = false;
    s.vat_registered = None;
    let a = fx.assess();
    assert_eq!(outcome(&a, "konkurs_avvikling_slettet"), Outcome::Fired);
    assert_eq!(outcome(&a, "slettet_konkurs_etter_start"), Outcome::Fired);
    assert_eq!(outcome(&a, "ikke_mva_registrert"), Outcome::NotComputable);
    assert!(a.score >= 80);
    assert_eq!(a.tier, "kritisk");
}

#[test]
fn evidence_lists_inputs_and_parameters() {
    let mut fx = Fx::healthy();
    fx.sup().registered_date = Some(d("2024-06-01"));
    let a = expect(&fx, "nyregistrert", Outcome::Fired);
    let f = a.fired.iter().find(|f| f.rule == "nyregistrert").unwrap();
    assert_eq!(
        f.evidence.get("supplier.registered_date"),
        Some(&serde_json::json!("2024-06-01"))
    );
    assert_eq!(
        f.evidence.get("contract.start_date"),
        Some(&serde_json::json!("2025-01-01"))
    );
    assert_eq!(
        f.evidence.get("param.nyregistrert_maaneder"),
        Some(&serde_json::json!(24))
    );
    assert_eq!(f.weight, 15);
    // Serialises as the API will send it.
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["fired"][1]["rule"], "nyregistrert");
}

#[test]
fn approval_reasons_name_the_register() {
    let mut fx = Fx::healthy();
    fx.approvals.clear();
    let a = fx.assess();
    assert!(reason(&a, "godkjenning_mangler").contains("«renhold» er ikke lastet inn"));
    fx.approvals = vec![approval("renhold", ApprovalStatus::Other, "Under revisjon")];
    let a = expect(&fx, "godkjenning_mangler", Outcome::NotComputable);
    assert!(reason(&a, "godkjenning_mangler").contains("Under revisjon"));
    fx.approvals = vec![approval("renhold", ApprovalStatus::NotApproved, "Ikke godkjent")];
    let a = expect(&fx, "godkjenning_mangler", Outcome::Fired);
    assert_eq!(
        a.fired[1].evidence.get("approval.status"),
        Some(&serde_json::json!("not_approved"))
    );
    // Not a cleaning, car-care or staffing contract: the rule does not apply at all.
    office_supplies(&mut fx);
    fx.sup().industry_codes = vec!["47.620".into()];
    expect(&fx, "godkjenning_mangler", Outcome::NotApplicable);
}

#[test]
fn industries_match_sn2007_and_sn2025_codes_cpv_and_keywords() {
    let rs = rules();
    assert_eq!(rs.industries_for_nace(&["45.200".into()]), ["bilpleie"]);
    assert_eq!(rs.industries_for_nace(&["95.310".into()]), ["bilpleie"]);
    assert_eq!(rs.industries_for_nace(&["81.299".into()]), ["renhold"]);
    assert_eq!(rs.industries_for_nace(&["81.230".into()]), ["renhold"]);
    assert_eq!(rs.industries_for_nace(&["96.910".into()]), ["renhold"]);
    assert_eq!(
        rs.industries_for_nace(&["43.341".into(), "56.101".into()]),
        ["bygg_anlegg", "servering"]
    );
    assert!(rs.industries_for_nace(&["62.010".into()]).is_empty());

    let mut fx = Fx::healthy();
    fx.supplier = None;
    for (title, cpv, want) in [
        ("Diverse", "50112300-6", "bilpleie"),
        ("Diverse", "77313000-7", "hage_park"),
        ("Diverse", "79620000-6", "bemanning"),
        ("Kontorrenhold rådhuset", "", "renhold"),
        ("BILVASK av tjenestebiler", "", "bilpleie"),
        ("Skoleskyss 2025", "", "transport"),
    ] {
        fx.contract.title = Some(title.into());
        fx.contract.category = None;
        fx.contract.cpv = Some(cpv.into());
        let a = fx.assess();
        assert!(
            a.industries.iter().any(|i| i == want),
            "{title}/{cpv}: {:?}",
            a.industries
        );
    }
}

#[test]
fn nace_lists_cover_sn2025_successors() {
    // Every SN2025 successor (SSB table 2919) of an SN2007 code an industry lists must be in
    // the industry's SN2025 list, unless it is a deliberate exception named here.
    let exceptions: &[(&str, &str)] = &[
        // Development of building projects: not labour-intensive (from 41.101/41.109).
        ("bygg_anlegg", "68.120"),
        // Outdoor cleaning moved from 43.390/43.990 to 81.220: covered by renhold.
        ("bygg_anlegg", "81.220"),
        // Cultural heritage restoration (part of 43.990 → 91.300): not a risk area.
        ("bygg_anlegg", "91.300"),
        // Tramways (part of SN2007 49.312 went to 49.120): rail, not road transport.
        ("transport", "49.120"),
        // Taxi dispatch (part of 49.320 went to 52.320 Formidlingstjenester): no driving.
        ("transport", "52.320"),
        // Fry and smolt production (03.222 → 01.489): landbruk covers all of 01.
        ("fiskeindustri", "01.489"),
    ];
    // A copy of ../shared/data/nace-sn2007-sn2025.csv (SSB KLASS 2919) kept with the fixtures.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/reference/nace-sn2007-sn2025.csv");
    let csv = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pairs = Vec::new();
    for line in csv.lines().skip(1) {
        // sn2025_code, sn2025_name, sn2007_code, sn2007_name (names may be quoted)
        let sn2025 = &line[..6];
        let rest = &line[7..];
        let after_name = if let Some(r) = rest.strip_prefix('"') {
            &r[r.find("\",").unwrap() + 2..]
        } else {
            &rest[rest.find(',').unwrap() + 1..]
        };
        pairs.push((sn2025.to_owned(), after_name[..6].to_owned()));
    }
    let mut problems = Vec::new();
    for ind in rules().industries() {
        for (new, old) in &pairs {
            let covered_old = ind.nace_sn2007.iter().any(|p| old.starts_with(p.as_str()));
            let covered_new = ind.nace_sn2025.iter().any(|p| new.starts_with(p.as_str()));
            if covered_old && !covered_new && !exceptions.contains(&(ind.id.as_str(), new.as_str())) {
                problems.push(format!("{}: SN2007 {old} → SN2025 {new} not covered", ind.id));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn supplier_level_assessment_skips_contract_rules() {
    let mut unit = healthy_unit();
    unit.org_form = Some("ENK".into());
    unit.employees = Employees::Known(0);
    let approvals = vec![approval("renhold", ApprovalStatus::NotListed, "")];
    let a = rules().assess_supplier(&SupplierInput {
        supplier: &unit,
        supplier_fetched_at: None,
        parent: None,
        approvals: &approvals,
        shared_address_count: Some(4),
        as_of: d("2025-06-01"),
    });
    let fired: Vec<&str> = a.fired.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(
        fired,
        [
            "risikobransje",
            "godkjenning_mangler",
            "enk_nuf_arbeidsintensiv",
            "delt_adresse"
        ]
    );
    for f in a.fired.iter().chain(&a.not_computable) {
        assert!(
            !f.evidence.keys().any(|k| k.starts_with("contract.")),
            "{} reads the contract",
            f.rule
        );
    }
    assert_eq!(a.industries, ["renhold"]);
}

#[test]
fn coverage_counts_applied_fired_and_not_computable() {
    let rs = rules();
    let mut cov = Coverage::new(rs);
    let healthy = Fx::healthy();
    let mut missing = Fx::healthy();
    missing.supplier = None;
    let mut other = Fx::healthy();
    office_supplies(&mut other);
    other.sup().industry_codes = vec!["47.620".into()];
    for fx in [&healthy, &missing, &other] {
        cov.add(&fx.assess());
    }
    assert_eq!(cov.assessments, 3);
    assert_eq!(cov.rules.len(), rs.indicators().len());
    let r = cov.rules["risikobransje"];
    assert_eq!((r.applied, r.fired, r.passed, r.not_computable), (3, 2, 1, 0));
    let r = cov.rules["nyregistrert"];
    assert_eq!((r.applied, r.fired, r.passed, r.not_computable), (3, 0, 2, 1));
    let r = cov.rules["godkjenning_mangler"];
    assert_eq!((r.applied, r.fired, r.passed, r.not_computable), (2, 0, 2, 0));
    let mut twice = cov.clone();
    twice.merge(&cov);
    assert_eq!(twice.rules["nyregistrert"].applied, 6);
}

#[test]
fn version_is_sha256_of_sorted_names_lengths_and_bytes() {
    let files = rule_files();
    let mut h = Sha256::new();
    for (name, text) in &files {
        h.update(format!("{name}\0{}\0", text.len()).as_bytes());
        h.update(text.as_bytes());
    }
    assert_eq!(rules().version(), hex::encode(h.finalize()));
    // Input order does not matter; content does.
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(
        RuleSet::from_files(&reversed).unwrap().version(),
        rules().version()
    );
    let mut changed = files.clone();
    changed[0].1.push_str("\n# endret\n");
    assert_ne!(
        RuleSet::from_files(&changed).unwrap().version(),
        rules().version()
    );
    assert_eq!(
        rules().files(),
        files.iter().map(|f| f.0.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn readme_documents_every_field_and_function() {
    let readme = std::fs::read_to_string(shipped_rules_dir().join("README.md")).unwrap();
    for f in spotcheck::risk::condition_fields() {
        assert!(
            readme.contains(&format!("`{f}`")),
            "README.md does not document field `{f}`"
        );
    }
    for f in spotcheck::risk::condition_functions() {
        assert!(
            readme.contains(&format!("`{f}(")),
            "README.md does not document function `{f}(`"
        );
    }
    for ind in rules().indicators() {
        assert!(
            readme.contains(&format!("`{}`", ind.id)),
            "README.md does not list indicator {}",
            ind.id
        );
    }
}

// ---------------------------------------------------------------------------------------
// Rule-file errors: file, line, rule and a Norwegian message.
// ---------------------------------------------------------------------------------------

/// The default files with `edit` applied to one of them.
fn with_edit(file: &str, edit: impl Fn(&str) -> String) -> Vec<(String, String)> {
    rule_files()
        .into_iter()
        .map(|(n, t)| if n == file { (n.clone(), edit(&t)) } else { (n, t) })
        .collect()
}

fn errors_of(files: &[(String, String)]) -> Vec<spotcheck::risk::RuleError> {
    match RuleSet::from_files(files) {
        Ok(_) => panic!("expected the rule set to be rejected"),
        Err(e) => e.errors,
    }
}

fn line_of(text: &str, needle: &str) -> u32 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1
}

#[test]
fn typo_in_field_name_is_reported_with_file_line_rule_and_suggestion() {
    let files = with_edit("indicators.toml", |t| {
        t.replace(
            "supplier.vat_registered == false",
            "supplier.vat_registred == false",
        )
    });
    let errs = errors_of(&files);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    let text = &files.iter().find(|f| f.0 == "indicators.toml").unwrap().1;
    assert_eq!(e.file, "indicators.toml");
    assert_eq!(e.line, line_of(text, "vat_registred"));
    assert_eq!(e.rule.as_deref(), Some("ikke_mva_registrert"));
    assert!(
        e.message.contains("ukjent felt «supplier.vat_registred»"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("mente du «supplier.vat_registered»"),
        "{}",
        e.message
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!(
            "indicators.toml:{}: regel «ikke_mva_registrert»: ",
            e.line
        )),
        "{shown}"
    );
}

#[test]
fn error_inside_a_multiline_condition_points_at_its_line() {
    let files = with_edit("indicators.toml", |t| {
        t.replace(
            "or contract.value_nok / max(supplier.employees, 1)",
            "or contract.value_nok / maks(supplier.employees, 1)",
        )
    });
    let errs = errors_of(&files);
    let text = &files.iter().find(|f| f.0 == "indicators.toml").unwrap().1;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].line, line_of(text, "maks(supplier"));
    assert_eq!(errs[0].rule.as_deref(), Some("faa_ansatte"));
    assert!(
        errs[0].message.contains("ukjent funksjon «maks»"),
        "{}",
        errs[0].message
    );
}

#[test]
fn many_errors_are_all_reported_at_once() {
    let files = with_edit("indicators.toml", |t| {
        t.replacen("weight = 10", "wieght = 10", 1)
            .replace("param.nyregistrert_maaneder", "param.nyregistrert_mnd")
            .replace(
                "supplier.org_form in [\"ENK\", \"NUF\"]",
                "supplier.org_form == 3",
            )
            .replace(
                "len(contract.industries) > 0'''\ncondition = '''not",
                "len(contract.industries)'''\ncondition = '''not",
            )
    });
    let errs = errors_of(&files);
    let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let has = |s: &str| msgs.iter().any(|m| m.contains(s));
    assert!(
        has("ukjent felt «wieght» i [[indicator]] (mente du «weight»?)"),
        "{msgs:#?}"
    );
    assert!(has("mangler feltet «weight»"), "{msgs:#?}");
    assert!(
        has("ukjent parameter «param.nyregistrert_mnd» (mente du «param.nyregistrert_maaneder»?)"),
        "{msgs:#?}"
    );
    assert!(has("«==» kan ikke sammenligne tekst med tall"), "{msgs:#?}");
    assert!(
        has("regel «naering_passer_ikke»: feil i «applies_when»: vilkåret må gi sann/usann, men gir tall"),
        "{msgs:#?}"
    );
    assert!(errs.iter().all(|e| e.file == "indicators.toml" && e.line > 0));
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let files = with_edit("tiers.toml", |t| t.replace("min_score = 20", "min_score = = 20"));
    let errs = errors_of(&files);
    let e = errs.iter().find(|e| e.file == "tiers.toml").unwrap();
    assert_eq!(
        e.line,
        line_of(&files.iter().find(|f| f.0 == "tiers.toml").unwrap().1, "= = 20")
    );
    assert!(e.message.starts_with("ugyldig TOML"), "{}", e.message);
}

#[test]
fn structural_errors_in_each_kind_of_table() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "industries.toml",
            "nace_sn2025 = [\"95.31\"]",
            "nace_sn2025 = [\"9531\"]",
            "ugyldig næringskode-prefiks «9531»",
        ),
        (
            "industries.toml",
            "cpv = [\"601\"]",
            "cpv = [\"60x\"]",
            "ugyldig CPV-prefiks «60x»",
        ),
        (
            "industries.toml",
            "approval_register = \"bemanning\"",
            "approval_register = \"bemaning\"",
            "ukjent register «bemaning»",
        ),
        (
            "industries.toml",
            "min_wage = \"minstelonn_bygg_nok\"",
            "min_wage = \"minstelonn_byg_nok\"",
            "(mente du «minstelonn_bygg_nok»?)",
        ),
        (
            "industries.toml",
            "id = \"landbruk\"",
            "id = \"renhold\"",
            "med id «renhold» finnes allerede (industries.toml:",
        ),
        (
            "tiers.toml",
            "min_score = 0",
            "min_score = 5",
            "må ha min_score = 0",
        ),
        (
            "tiers.toml",
            "min_score = 70",
            "min_score = \"70\"",
            "«min_score» skal være et heltall, men er tekst",
        ),
        (
            "parameters.toml",
            "{ from = 2022-12-15,",
            "{ from = 2023-06-15,",
            "to verdier gjelder fra samme dato 2023-06-15",
        ),
        (
            "parameters.toml",
            "value = 207.00",
            "value = \"207\"",
            "«value» skal være et tall",
        ),
        (
            "indicators.toml",
            "weight = 40\nwhy = \"Det er ulovlig",
            "weight = 4000\nwhy = \"Det er ulovlig",
            "«weight» må være et heltall fra og med 0 til og med 1000",
        ),
        (
            "indicators.toml",
            "[[indicator]]\nid = \"delt_adresse\"",
            "[[indikator]]\nid = \"delt_adresse\"",
            "ukjent nøkkel «indikator» på toppnivå",
        ),
    ];
    for (file, from, to, want) in cases {
        let files = with_edit(file, |t| {
            assert!(t.contains(from), "fixture text {from:?} not in {file}");
            t.replacen(from, to, 1)
        });
        let errs = errors_of(&files);
        assert!(
            errs.iter().any(|e| e.file == *file && e.message.contains(want)),
            "{file}: want {want:?}, got {errs:#?}"
        );
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spotcheck-rules-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn empty_folder_is_an_error_and_non_toml_files_are_ignored() {
    let dir = temp_dir("empty");
    std::fs::write(dir.join("README.md"), "# not rules").unwrap();
    let e = RuleSet::load_dir(&dir).err().unwrap();
    assert!(e.errors[0].message.contains("ingen regelfiler"), "{e}");
    let e = RuleSet::load_dir(&dir.join("missing")).err().unwrap();
    assert!(e.errors[0].message.contains("kan ikke lese regelmappen"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a reload does in the service: load first, swap only what loaded.
fn reload(active: &ActiveRules, dir: &Path) -> Result<String, spotcheck::risk::RuleSetError> {
    let next = RuleSet::load_dir(dir)?;
    let version = next.version().to_owned();
    active.set(next);
    Ok(version)
}

#[test]
fn reload_keeps_the_previous_set_when_the_new_one_is_broken() {
    let dir = temp_dir("reload");
    for (name, text) in rule_files() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let active = ActiveRules::new(RuleSet::load_dir(&dir).unwrap());
    let v1 = active.get().version().to_owned();
    let ind = std::fs::read_to_string(dir.join("indicators.toml")).unwrap();
    std::fs::write(
        dir.join("indicators.toml"),
        ind.replace("len(industries) > 0", "len(industrie) > 0"),
    )
    .unwrap();
    let err = reload(&active, &dir).err().unwrap();
    assert!(err.to_string().contains("ukjent felt «industrie»"), "{err}");
    assert_eq!(active.get().version(), v1);
    std::fs::write(
        dir.join("indicators.toml"),
        ind.replace("weight = 10", "weight = 11"),
    )
    .unwrap();
    let v2 = reload(&active, &dir).unwrap();
    assert_ne!(v2, v1);
    assert_eq!(active.get().version(), v2);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------

fn opt<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop_oneof![Just(None), s.prop_map(Some)]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1990i32..2030, 1u32..13, 1u32..29).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-ZæøåÆØÅ0-9 ,;/.-]{0,40}",
        Just("Renhold og vindusvask".to_owned()),
        Just("90910000-9; 45000000".to_owned()),
        Just("BYGGRENGJØRING".to_owned()),
        ".{0,20}",
    ]
}

fn unit_strategy() -> impl Strategy<Value = UnitFacts> {
    let codes = prop::collection::vec(
        prop_oneof![
            Just("81.210".to_owned()),
            Just("45.200".to_owned()),
            Just("43.341".to_owned()),
            Just("62.010".to_owned()),
            "[0-9.]{0,7}",
        ],
        0..4,
    );
    let employees = prop_oneof![
        any::<u32>().prop_map(Employees::Known),
        (0u32..10).prop_map(Employees::Known),
        Just(Employees::Hidden1To4),
        Just(Employees::NotRegistered),
    ];
    let flags = (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    let dates = (opt(date()), opt(date()), opt(date()), opt(date()), opt(date()));
    (
        opt(prop_oneof![
            Just("AS".to_owned()),
            Just("ENK".to_owned()),
            Just("NUF".to_owned()),
            text()
        ]),
        codes,
        employees,
        flags,
        dates,
        (opt(any::<bool>()), opt(any::<i32>()), opt(1990i32..2030)),
    )
        .prop_map(|(org_form, codes, employees, flags, dates, (vat, y1, y2))| {
            let mut u = healthy_unit();
            u.org_form = org_form;
            u.industry_codes = codes;
            u.employees = employees;
            (
                u.bankrupt,
                u.under_liquidation,
                u.forced_dissolution,
                u.status_flags_reported,
                u.is_subunit,
            ) = flags;
            (
                u.registered_date,
                u.bankruptcy_date,
                u.deleted_date,
                u.founded_date,
                u.liquidation_date,
            ) = dates;
            u.vat_registered = vat;
            u.last_accounts_year = y2.or(y1);
            u
        })
}

fn contract_strategy() -> impl Strategy<Value = ContractFacts> {
    (
        (opt(text()), opt(text()), opt(text())),
        opt(any::<i64>()),
        (opt(date()), opt(date())),
        opt(any::<i32>()),
        (opt(any::<f64>()), opt(any::<i64>())),
        prop::collection::btree_map(text(), text(), 0..2),
    )
        .prop_map(
            |((title, category, cpv), value_ore, (start, end), levels, (hours, price), extras)| {
                ContractFacts {
                    contract_no: "x".into(),
                    title,
                    category,
                    cpv,
                    value_ore,
                    start_date: start,
                    end_date: end,
                    unit: None,
                    subcontractor_levels: levels,
                    hours,
                    hourly_price_ore: price,
                    extras,
                }
            },
        )
}

fn approvals_strategy() -> impl Strategy<Value = Vec<ApprovalFact>> {
    let class = prop_oneof![
        Just(ApprovalStatus::Approved),
        Just(ApprovalStatus::Pending),
        Just(ApprovalStatus::NotApproved),
        Just(ApprovalStatus::NotListed),
        Just(ApprovalStatus::Other),
    ];
    let reg = prop_oneof![
        Just("renhold"),
        Just("bilpleie"),
        Just("bemanning"),
        Just("RENHOLD")
    ];
    prop::collection::vec((reg, class), 0..3)
        .prop_map(|v| v.into_iter().map(|(r, c)| approval(r, c, "status")).collect())
}

/// Sets the weight of the `n`-th indicator in indicators.toml to `weight`.
fn set_weight(files: &[(String, String)], n: usize, weight: u32) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(name, text)| {
            if name != "indicators.toml" {
                return (name.clone(), text.clone());
            }
            let mut seen = 0;
            let out: Vec<String> = text
                .lines()
                .map(|l| {
                    if l.starts_with("weight = ") {
                        seen += 1;
                        if seen == n + 1 {
                            return format!("weight = {weight}");
                        }
                    }
                    l.to_owned()
                })
                .collect();
            (name.clone(), out.join("\n"))
        })
        .collect()
}

/// Numbers texts in the order first met, and keeps every call: two ways of writing a
/// record are compared call for call.
#[derive(Default)]
struct Numbering {
    ids: std::collections::HashMap<String, u64>,
    calls: Vec<String>,
}

impl Interner for Numbering {
    fn intern(&mut self, text: &str) -> u64 {
        self.calls.push(text.to_owned());
        let next = self.ids.len() as u64 + 1;
        *self.ids.entry(text.to_owned()).or_insert(next)
    }
}

/// Numbers texts as [`Numbering`], and remembers the numbers of texts made from the same
/// inputs (`Interner::intern_made`) as the database's dictionary does.
#[derive(Default)]
struct Remembering {
    numbering: Numbering,
    made: record::MadeTexts,
}

impl Interner for Remembering {
    fn intern(&mut self, text: &str) -> u64 {
        self.numbering.intern(text)
    }

    fn intern_made(&mut self, key: &[u8], make: &mut dyn FnMut() -> String) -> u64 {
        let numbering = &mut self.numbering;
        self.made.get_or_make(key, make, |text| numbering.intern(text))
    }
}

thread_local! {
    static REMEMBERING: std::cell::RefCell<Remembering> = std::cell::RefCell::default();
}

/// `record_scored` writes the bytes `record::encode` writes for the explained assessment
/// `a`, numbering the same texts in the same order, with the same score and industries.
fn check_record_scored(rs: &RuleSet, input: &AssessmentInput<'_>, a: &Assessment, s: &Score<'_>) {
    let mut by_encode = Numbering::default();
    let bytes = record::encode(&Plan::of(rs), a, &mut by_encode).unwrap();
    let mut direct = Numbering::default();
    let r = rs.record_scored(input, &mut direct).unwrap();
    assert_eq!(r.record, bytes);
    assert_eq!(direct.calls, by_encode.calls);
    assert_eq!(&r.score, s);
    // With the reasons remembered across every assessment this thread has made (of every
    // rule set, contract, supplier and date so far), as the database's dictionary does: a
    // remembered reason is the one this assessment would have made.
    REMEMBERING.with_borrow_mut(|texts| {
        let remembered = rs.record_scored(input, texts).unwrap().record;
        let made_now = record::encode(&Plan::of(rs), a, &mut texts.numbering).unwrap();
        assert_eq!(remembered, made_now);
    });
    let industries: Vec<&str> = a.industries.iter().map(|t| t.as_str()).collect();
    assert_eq!(r.industries, industries);
}

fn check_consistent(rs: &RuleSet, a: &Assessment) {
    let fired: u32 = a.fired.iter().map(|f| f.weight).sum();
    assert_eq!(a.score, fired);
    assert!(a.max_possible_score >= a.score);
    assert_eq!(a.tier, rs.tier_for(a.score));
    let mut seen = std::collections::BTreeSet::new();
    for id in a
        .fired
        .iter()
        .map(|f| &f.rule)
        .chain(a.not_computable.iter().map(|f| &f.rule))
        .chain(&a.passed)
    {
        assert!(seen.insert(id.clone()), "{id} listed twice");
    }
    for f in &a.not_computable {
        assert!(
            f.reason.as_deref().is_some_and(|r| !r.is_empty()),
            "{} without reason",
            f.rule
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_panic_on_arbitrary_facts(
        contract in contract_strategy(),
        supplier in opt(unit_strategy()),
        parent in opt(unit_strategy()),
        approvals in approvals_strategy(),
        shared in opt(any::<u32>()),
        as_of in date(),
    ) {
        let rs = rules();
        let input = AssessmentInput {
            contract: &contract,
            supplier: supplier.as_ref(),
            supplier_fetched_at: None,
            parent: parent.as_ref(),
            approvals: &approvals,
            shared_address_count: shared,
            as_of,
        };
        let a = rs.assess(&input);
        check_consistent(rs, &a);
        serde_json::to_string(&a).unwrap();
        // The compact score agrees with the explained one.
        let s = rs.score(&input);
        prop_assert_eq!(s.score, a.score);
        prop_assert_eq!(s.max_possible_score, a.max_possible_score);
        prop_assert_eq!(s.tier, a.tier.as_str());
        prop_assert_eq!(s.fired.count_ones() as usize, a.fired.len());
        prop_assert_eq!(s.not_computable.count_ones() as usize, a.not_computable.len());
        prop_assert_eq!(s.passed.count_ones() as usize, a.passed.len());
        // Both in one pass: the same assessment and the same score.
        let (a2, s2) = rs.assess_scored(&input);
        prop_assert_eq!(serde_json::to_string(&a2).unwrap(), serde_json::to_string(&a).unwrap());
        prop_assert_eq!(s2, s);
        // The record made while scoring is the explained assessment's, byte for byte.
        check_record_scored(rs, &input, &a, &s);
        if let Some(s) = &supplier {
            let b = rs.assess_supplier(&SupplierInput {
                supplier: s,
                supplier_fetched_at: None,
                parent: parent.as_ref(),
                approvals: &approvals,
                shared_address_count: shared,
                as_of,
            });
            check_consistent(rs, &b);
        }
    }

    #[test]
    fn no_panic_on_arbitrary_condition_text(cond in ".{0,80}", cond2 in "[a-z_.()\\[\\]\" <>=!0-9,+*/-]{0,60}") {
        for c in [cond, cond2] {
            let files = with_edit("indicators.toml", |t| {
                t.replacen("condition = '''len(industries) > 0'''", &format!("condition = {}", toml_string(&c)), 1)
            });
            let _ = RuleSet::from_files(&files);
        }
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn raising_a_weight_never_lowers_a_score(
        contract in contract_strategy(),
        supplier in opt(unit_strategy()),
        approvals in approvals_strategy(),
        shared in opt(0u32..10),
        as_of in date(),
        n in 0usize..14,
        raise in 1u32..200,
    ) {
        let files = rule_files();
        let base = RuleSet::from_files(&files).unwrap();
        let old = base.indicators()[n].weight;
        let higher = RuleSet::from_files(&set_weight(&files, n, old + raise)).unwrap();
        prop_assert_eq!(higher.indicators()[n].weight, old + raise);
        let input = AssessmentInput {
            contract: &contract,
            supplier: supplier.as_ref(),
            supplier_fetched_at: None,
            parent: None,
            approvals: &approvals,
            shared_address_count: shared,
            as_of,
        };
        let a = base.assess(&input);
        let b = higher.assess(&input);
        prop_assert!(b.score >= a.score);
        prop_assert!(b.max_possible_score >= a.max_possible_score);
        let rank = |t: &str| base.tiers().iter().position(|x| x.id == t);
        prop_assert!(rank(&b.tier) >= rank(&a.tier));
    }
}

// ---------------------------------------------------------------------------------------
// `assess` and `score` agree on bench-like data (the generator of `benches/risk.rs`, small).
// ---------------------------------------------------------------------------------------

fn bench_like_unit(rng: &mut XorShift) -> UnitFacts {
    const CODES: &[&str] = &[
        "81.210", "81.220", "43.341", "41.000", "45.200", "95.310", "81.300", "56.101", "78.200", "49.410",
        "62.010", "47.620", "70.220", "01.130", "10.202", "96.910",
    ];
    let kind = rng.below(100);
    let deleted = kind < 3;
    let mut u = healthy_unit();
    u.org_form = Some((*rng.pick(&["ENK", "NUF", "ANS", "AS", "AS", "AS"])).to_owned());
    u.employees = match rng.below(5) {
        0 => Employees::NotRegistered,
        1 => Employees::Hidden1To4,
        2 => Employees::Known(0),
        _ => Employees::Known(rng.below(400) as u32),
    };
    u.industry_codes = (0..1 + rng.below(2))
        .map(|_| (*rng.pick(CODES)).to_owned())
        .collect();
    u.registered_date = Some(rng.date(1995, 30 * 365));
    u.vat_registered = if deleted { None } else { Some(rng.below(10) != 0) };
    u.bankrupt = (3..6).contains(&kind);
    u.bankruptcy_date = u.bankrupt.then(|| rng.date(2022, 4 * 365));
    u.under_liquidation = kind == 6;
    u.forced_dissolution = kind == 7;
    u.deleted_date = deleted.then(|| rng.date(2022, 4 * 365));
    u.last_accounts_year = (rng.below(8) != 0).then(|| 2018 + rng.below(7) as i32);
    u.status_flags_reported = !deleted;
    u
}

fn bench_like_contract(rng: &mut XorShift, i: usize) -> ContractFacts {
    const TITLES: &[&str] = &[
        "Renhold av skoler og barnehager",
        "Kontorrenhold rådhuset",
        "Rehabilitering av svømmehall",
        "Bilvask og dekkhotell for tjenestebiler",
        "Innleie av personell til hjemmetjenesten",
        "Skoleskyss 2025–2027",
        "Kontorrekvisita",
        "Snørydding og strøing",
        "",
    ];
    const CPVS: &[&str] = &[
        "90910000-9",
        "45000000-7",
        "50112300-6",
        "79620000-6",
        "30192000-1",
        "",
        "90919200-4; 45453000-7",
    ];
    let start = rng.date(2019, 7 * 365);
    let hours = (rng.below(4) == 0).then(|| 100.0 + rng.below(20_000) as f64);
    ContractFacts {
        contract_no: format!("K-{i}"),
        title: Some((*rng.pick(TITLES)).to_owned()).filter(|s| !s.is_empty()),
        category: (rng.below(3) == 0).then(|| "Tjenester".to_owned()),
        cpv: Some((*rng.pick(CPVS)).to_owned()).filter(|s| !s.is_empty()),
        value_ore: (rng.below(10) != 0).then(|| (rng.below(20_000_000) as i64 + 10_000) * 100),
        start_date: (rng.below(20) != 0).then_some(start),
        end_date: (rng.below(5) != 0).then(|| start.checked_add_days(chrono::Days::new(730)).unwrap()),
        unit: Some("Etat".into()),
        subcontractor_levels: (rng.below(2) == 0).then(|| rng.below(5) as i32),
        hours,
        hourly_price_ore: (hours.is_none() && rng.below(3) == 0).then(|| 15_000 + rng.below(60_000) as i64),
        extras: BTreeMap::new(),
    }
}

#[test]
fn assess_and_score_agree_on_bench_like_data() {
    let rs = rules();
    let mask_of = |ids: &mut dyn Iterator<Item = &str>| -> u128 {
        ids.map(|id| {
            let i = rs.indicators().iter().position(|ind| ind.id == id).unwrap();
            1u128 << i
        })
        .fold(0, |a, b| a | b)
    };
    let mut rng = XorShift(0x5eed_2025_0001);
    let suppliers: Vec<Option<UnitFacts>> = (0..200)
        .map(|_| {
            let u = bench_like_unit(&mut rng);
            (rng.below(20) != 0).then_some(u)
        })
        .collect();
    let classes = [
        ApprovalStatus::NotListed,
        ApprovalStatus::Pending,
        ApprovalStatus::NotApproved,
        ApprovalStatus::Approved,
        ApprovalStatus::Approved,
        ApprovalStatus::Other,
    ];
    let mut fired_total = 0;
    for i in 0..3000 {
        let contract = bench_like_contract(&mut rng, i);
        let supplier = &suppliers[rng.below(suppliers.len() as u64) as usize];
        let mut approvals = Vec::new();
        for r in ["renhold", "bilpleie", "bemanning"] {
            if rng.below(8) != 0 {
                approvals.push(approval(r, *rng.pick(&classes), "Godkjent"));
            }
        }
        let input = AssessmentInput {
            contract: &contract,
            supplier: supplier.as_ref(),
            supplier_fetched_at: None,
            parent: None,
            approvals: &approvals,
            shared_address_count: (rng.below(10) != 0).then(|| 1 + rng.below(6) as u32),
            as_of: d("2025-06-01"),
        };
        let a = rs.assess(&input);
        let s = rs.score(&input);
        assert_eq!(s.score, a.score, "contract {i}");
        assert_eq!(s.max_possible_score, a.max_possible_score, "contract {i}");
        assert_eq!(s.tier, a.tier.as_str(), "contract {i}");
        assert_eq!(
            s.fired,
            mask_of(&mut a.fired.iter().map(|f| f.rule.as_str())),
            "contract {i}"
        );
        assert_eq!(
            s.not_computable,
            mask_of(&mut a.not_computable.iter().map(|f| f.rule.as_str())),
            "contract {i}"
        );
        assert_eq!(
            s.passed,
            mask_of(&mut a.passed.iter().map(|p| p.as_str())),
            "contract {i}"
        );
        let (a2, s2) = rs.assess_scored(&input);
        assert_eq!(s2, s, "contract {i}");
        check_record_scored(rs, &input, &a, &s);
        assert_eq!(
            serde_json::to_string(&a2).unwrap(),
            serde_json::to_string(&a).unwrap(),
            "contract {i}"
        );
        check_consistent(rs, &a);
        // The JSON reads back into an `Assessment` that writes the same JSON (compared as
        // parsed values: serde_json's float parsing may move the last digit).
        let json = serde_json::to_string(&a).unwrap();
        let back: Assessment = serde_json::from_str(&json).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::from_str::<serde_json::Value>(&json).unwrap(),
            "contract {i}"
        );
        fired_total += a.fired.len();
    }
    assert!(fired_total > 3000, "the generator should make indicators fire");
}

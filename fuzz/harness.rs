//! The entry points of the fuzz targets, shared with `tests/fuzz_corpus.rs` (which includes
//! this file) so that `cargo test` replays the committed corpus through exactly the same
//! calls. Whatever the bytes, nothing here may panic, abort or overflow the stack; errors
//! in the input are fine and expected.

use chrono::NaiveDate;
use spotcheck::brreg::facts::{Address, Employees, UnitFacts};
use spotcheck::risk::{ApprovalFact, ApprovalStatus, AssessmentInput, ContractFacts, RuleSet, SupplierInput};

/// The shipped rule files that stay in place around the fuzzed input.
const SHIPPED: [(&str, &str); 3] = [
    ("industries.toml", include_str!("../rules/industries.toml")),
    ("parameters.toml", include_str!("../rules/parameters.toml")),
    ("tiers.toml", include_str!("../rules/tiers.toml")),
];

/// One condition: parsed and type-checked by [`spotcheck::risk::check_condition`]; when it
/// compiles, it also becomes the only indicator of the shipped rule set and is evaluated.
pub fn condition(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if spotcheck::risk::check_condition(text).is_err() {
        return;
    }
    let indicators = format!(
        "[[indicator]]\nid = \"fuzz\"\ntitle = \"Fuzz\"\nweight = 1\nwhy = \"x\"\nsource = \"x\"\ncondition = {}\n",
        toml_string(text)
    );
    load_and_assess(&indicators);
}

/// One rule file in place of the shipped `indicators.toml` (it may hold any kind of rule,
/// not only indicators): loaded and validated; when the set loads, it assesses a few
/// fixed contracts and suppliers.
pub fn rule_files(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    load_and_assess(text);
}

fn load_and_assess(indicators: &str) {
    let mut files: Vec<(String, String)> = SHIPPED
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    files.push(("indicators.toml".to_owned(), indicators.to_owned()));
    let rules = match RuleSet::from_files(&files) {
        Ok(rules) => rules,
        Err(e) => {
            // Every error must render (file:line, Norwegian message) without panicking.
            let _ = e.to_string();
            return;
        }
    };
    let as_of = date(2025, 6, 1);
    let contract = cleaning_contract();
    let empty = ContractFacts::default();
    let units = [healthy_unit(), odd_unit()];
    let approvals = [ApprovalFact {
        register: "renhold".into(),
        status: String::new(),
        status_class: ApprovalStatus::NotListed,
        status_date: None,
        loaded_at: None,
    }];
    for contract in [&contract, &empty] {
        for supplier in [None, Some(&units[0]), Some(&units[1])] {
            let a = rules.assess(&AssessmentInput {
                contract,
                supplier,
                supplier_fetched_at: None,
                parent: supplier.and(Some(&units[0])),
                approvals: &approvals,
                shared_address_count: Some(3),
                as_of,
            });
            let _ = serde_json::to_string(&a);
        }
    }
    for supplier in &units {
        let _ = rules.assess_supplier(&SupplierInput {
            supplier,
            supplier_fetched_at: None,
            parent: None,
            approvals: &[],
            shared_address_count: None,
            as_of,
        });
    }
}

/// `text` as a TOML basic string (every condition survives the round trip).
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn cleaning_contract() -> ContractFacts {
    ContractFacts {
        contract_no: "2025/0001".into(),
        title: Some("Renhold av skoler".into()),
        category: Some("Renhold".into()),
        cpv: Some("90910000-9".into()),
        value_ore: Some(300_000_000),
        start_date: Some(date(2025, 1, 1)),
        end_date: Some(date(2027, 12, 31)),
        unit: Some("Etat for skole".into()),
        subcontractor_levels: Some(3),
        hours: Some(1_000.0),
        hourly_price_ore: Some(20_000),
        extras: [("Rammeavtale".to_owned(), "Ja".to_owned())]
            .into_iter()
            .collect(),
    }
}

fn healthy_unit() -> UnitFacts {
    UnitFacts {
        orgnr: "923609016".into(),
        name: "Renhold AS".into(),
        is_subunit: false,
        org_form: Some("AS".into()),
        industry_codes: vec!["81.210".into()],
        employees: Employees::Known(50),
        registered_date: Some(date(2010, 3, 1)),
        founded_date: Some(date(2010, 2, 1)),
        vat_registered: Some(true),
        vat_registered_date: Some(date(2010, 3, 1)),
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

/// A sub-unit with hidden employees, deleted and bankrupt: the unusual branches.
fn odd_unit() -> UnitFacts {
    UnitFacts {
        orgnr: "974760673".into(),
        name: "Ødegård Bygg NUF".into(),
        is_subunit: true,
        org_form: Some("NUF".into()),
        industry_codes: vec![],
        employees: Employees::Hidden1To4,
        registered_date: Some(date(2024, 12, 1)),
        founded_date: None,
        vat_registered: None,
        vat_registered_date: None,
        bankrupt: true,
        bankruptcy_date: Some(date(2025, 3, 1)),
        under_liquidation: false,
        liquidation_date: None,
        forced_dissolution: true,
        forced_dissolution_reasons: vec!["manglende_regnskap".into()],
        forced_dissolution_date: Some(date(2025, 2, 1)),
        deleted_date: Some(date(2025, 4, 1)),
        closed_date: None,
        last_accounts_year: None,
        business_address: None,
        postal_address: None,
        parent_orgnr: Some("923609016".into()),
        sector_code: None,
        in_business_register: Some(false),
        home_country_registration: Some("SE556000".into()),
        status_flags_reported: true,
    }
}

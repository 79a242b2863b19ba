//! Rescoring stored contracts end to end on SQLite (`cargo bench --bench rescore`).
//!
//! Set-up (not measured): a fresh SQLite database under a temp dir, 100,000 contracts from
//! 20,000 suppliers imported through the normal import path (a generated csv register,
//! fixed-seed xorshift), register facts for 95 % of the suppliers, and a loaded
//! Renholdsregisteret file. Then three measured runs of `scoring::rescore` over all
//! contracts with the shipped rule set:
//! 1. first scoring: every contract and supplier gets an assessment recorded;
//! 2. unchanged: everything is assessed again, nothing is recorded (inputs and outcomes equal);
//! 3. forced (`spotcheck score --all`): everything assessed and recorded again.
//!
//! Each run reads the contracts, facts and approvals from the database, assesses on every
//! core, and writes history + current-score rows in one transaction.
//! Target (issue 5): rescoring 100,000 stored contracts under 15 s on the 2-core machine.
//! `RESCORE_BENCH_CONTRACTS=N` changes the size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::rng::XorShift;
use common::rules::shipped_rules_dir;
use common::vm_kb;
use diesel::prelude::*;
use spotcheck::brreg::facts::{Address, Employees, UnitFacts};
use spotcheck::config::Settings;
use spotcheck::db::models::Actor;
use spotcheck::db::schema::register_facts;
use spotcheck::domain::roles::Role;
use spotcheck::service::scoring::{RescoreOptions, Scope};

const TITLES: &[&str] = &[
    "Renhold av skoler og barnehager",
    "Kontorrenhold rådhuset",
    "Rehabilitering av svømmehall",
    "Asfaltering og graving",
    "Bilvask og dekkhotell for tjenestebiler",
    "Parkdrift og grøntvedlikehold",
    "Kantinedrift sykehjem",
    "Innleie av personell til hjemmetjenesten",
    "Skoleskyss",
    "Kontorrekvisita",
    "IT-konsulenttjenester",
    "Snørydding og strøing",
];
const CPVS: &[&str] = &[
    "90910000-9",
    "90911200-8",
    "45000000-7",
    "45453000-7",
    "50112300-6",
    "77310000-6",
    "55520000-1",
    "79620000-6",
    "60130000-8",
    "30192000-1",
    "72000000-5",
    "",
];
const CODES: &[&str] = &[
    "81.210", "41.000", "43.110", "45.201", "81.300", "56.290", "78.200", "49.390", "62.010",
];

/// The `n`-th valid org number (MOD11) from 810 000 000 up.
fn orgnr(n: usize) -> String {
    let mut base = 81_000_000 + n as u64 * 3;
    loop {
        let digits: Vec<u64> = format!("{base:08}")
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let sum: u64 = digits
            .iter()
            .zip([3, 2, 7, 6, 5, 4, 3, 2])
            .map(|(d, w)| d * w)
            .sum();
        let check = (11 - sum % 11) % 11;
        if check != 10 {
            return format!("{base:08}{check}");
        }
        base += 1;
    }
}

fn supplier(rng: &mut XorShift, orgnr: &str, i: usize) -> UnitFacts {
    let kind = rng.below(100);
    let deleted = kind < 3;
    let org_form = match rng.below(10) {
        0 => "ENK",
        1 => "NUF",
        _ => "AS",
    };
    let employees = match rng.below(5) {
        0 => Employees::NotRegistered,
        1 => Employees::Hidden1To4,
        _ => Employees::Known(rng.below(400) as u32),
    };
    UnitFacts {
        orgnr: orgnr.to_owned(),
        name: format!("Leverandør {i}"),
        is_subunit: false,
        org_form: Some(org_form.to_owned()),
        industry_codes: vec![(*rng.pick(CODES)).to_owned()],
        employees,
        registered_date: Some(rng.date(1995, 30 * 365)),
        founded_date: None,
        vat_registered: if deleted { None } else { Some(rng.below(10) != 0) },
        vat_registered_date: None,
        bankrupt: (3..6).contains(&kind),
        bankruptcy_date: (3..6).contains(&kind).then(|| rng.date(2022, 4 * 365)),
        under_liquidation: kind == 6,
        liquidation_date: None,
        forced_dissolution: kind == 7,
        forced_dissolution_reasons: vec![],
        forced_dissolution_date: None,
        deleted_date: deleted.then(|| rng.date(2022, 4 * 365)),
        closed_date: None,
        last_accounts_year: (rng.below(8) != 0).then(|| 2018 + rng.below(7) as i32),
        business_address: Some(Address {
            lines: vec![format!("Gate {}", rng.below(8000))],
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
        in_business_register: Some(true),
        home_country_registration: None,
        status_flags_reported: !deleted,
    }
}

fn main() {
    let n: usize = std::env::var("RESCORE_BENCH_CONTRACTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let n_suppliers = (n / 5).max(1);
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().join("data"),
        rules_dir: Some(shipped_rules_dir()),
        ..Settings::default()
    };
    let pool = spotcheck::app::open_database(&settings).unwrap();
    let rules =
        spotcheck::app::load_rules(&pool, &settings, &spotcheck::db::models::Actor::system()).unwrap();

    // Set-up: the register through the normal import path.
    let t = Instant::now();
    let mut rng = XorShift(0x5eed_2026);
    let orgnrs: Vec<String> = (0..n_suppliers).map(orgnr).collect();
    let mut csv = String::from(
        "Avtalenr;Avtalenavn;Leverandør;Org.nr;CPV;Kontraktsverdi;Startdato;Sluttdato;Enhet;Antall ledd\n",
    );
    for i in 0..n {
        let s = rng.below(n_suppliers as u64) as usize;
        let start = rng.date(2019, 6 * 365);
        let end = start + chrono::Days::new(365 + rng.below(3 * 365));
        csv.push_str(&format!(
            "A-{i:07};{};Leverandør {s};{};{};{};{};{};Enhet {};{}\n",
            rng.pick(TITLES),
            orgnrs[s],
            rng.pick(CPVS),
            rng.below(5_000_000) + 10_000,
            start.format("%d.%m.%Y"),
            end.format("%d.%m.%Y"),
            rng.below(40),
            if rng.below(3) == 0 {
                (rng.below(4)).to_string()
            } else {
                String::new()
            },
        ));
    }
    let uploader = {
        let mut conn = pool.get().unwrap();
        spotcheck::service::users::create_hashed(
            &mut conn,
            &Actor::system(),
            "bench",
            Role::Kemner,
            None,
            None,
        )
        .unwrap()
    };
    let report = spotcheck::service::imports::import_register(
        &pool,
        &uploader,
        "register.csv",
        spotcheck::import::RegisterFile::Bytes(csv.as_bytes()),
        &spotcheck::import::ImportOptions::default(),
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        report.rows_imported as usize,
        n,
        "{:?}",
        &report.errors[..report.errors.len().min(3)]
    );
    drop(csv);
    // Register facts for 95 % of the suppliers, as the enrichment worker stores them.
    {
        let mut conn = pool.get().unwrap();
        let at = spotcheck::db::models::now();
        let facts: Vec<(String, String)> = orgnrs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 20 != 0)
            .map(|(i, o)| {
                (
                    o.clone(),
                    serde_json::to_string(&supplier(&mut rng, o, i)).unwrap(),
                )
            })
            .collect();
        spotcheck::db::write_tx(&mut conn, |c| {
            for chunk in facts.chunks(1000) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|(o, j)| {
                        (
                            register_facts::orgnr.eq(o.as_str()),
                            register_facts::source.eq("bench"),
                            register_facts::outcome.eq("active"),
                            register_facts::facts.eq(Some(j.as_str())),
                            register_facts::fetched_at.eq(at),
                            register_facts::created_at.eq(at),
                        )
                    })
                    .collect();
                spotcheck::on_backend!(c, |x| diesel::insert_into(register_facts::table)
                    .values(&rows)
                    .execute(x))?;
            }
            Ok::<_, spotcheck::db::DbError>(())
        })
        .unwrap();
    }
    println!(
        "set-up: {n} contracts from {n_suppliers} suppliers imported and enriched in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let rss_before = vm_kb("VmRSS:");
    let mut conn = pool.get().unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    for (label, force) in [
        ("first scoring (all recorded)", false),
        ("unchanged (nothing recorded)", false),
        ("forced --all (all recorded)", true),
    ] {
        let t = Instant::now();
        let r = spotcheck::service::scoring::rescore(
            &mut conn,
            &rules,
            &RescoreOptions {
                scope: Scope::All,
                force,
                reason: "bench".into(),
                as_of,
                actor: Actor::system(),
            },
        )
        .unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{label:<32} {secs:>7.2} s  ({} contracts assessed, {} recorded; {} suppliers, {} recorded){}",
            r.contracts_assessed,
            r.contracts_recorded,
            r.suppliers_assessed,
            r.suppliers_recorded,
            if secs < 15.0 {
                ""
            } else {
                "  ABOVE the 15 s target"
            }
        );
    }
    let sample: Vec<String> = spotcheck::db::schema::assessments::table
        .select(spotcheck::db::schema::assessments::explanation)
        .limit(2000)
        .load(&mut conn)
        .unwrap();
    if let Some(first) = sample.first() {
        println!(
            "stored explanation: {} bytes on average over {} rows, e.g. {}",
            sample.iter().map(String::len).sum::<usize>() / sample.len(),
            sample.len(),
            &first[..first.len().min(600)]
        );
    }
    println!(
        "RSS before the runs {} MB, peak RSS (VmHWM, includes set-up) {:.1} MB; database {:.1} MB",
        rss_before / 1024,
        vm_kb("VmHWM:") as f64 / 1024.0,
        std::fs::metadata(dir.path().join("data/spotcheck.db"))
            .map(|m| m.len())
            .unwrap_or(0) as f64
            / 1e6
    );
}

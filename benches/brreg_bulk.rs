//! Bulk enrichment benchmark (`cargo bench --bench brreg_bulk`).
//!
//! Generates (deterministically) gzip bulk files shaped like the register's
//! `/enheter/lastned` (one pretty-printed JSON array of units as in docs/sources.md §1.4, valid
//! MOD11 org numbers), then enriches 10 000 of them through `bulk::read_json_gz` with a
//! filter set. Each read runs in a child process so its peak RSS (`VmHWM`) is its own;
//! running it on 100 000 and 300 000 units shows memory does not grow with the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::rng::XorShift;
use common::vm_kb;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use spotcheck::brreg::bulk;

const WANTED: usize = 10_000;
const BATCH: usize = 500;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], args[i + 2].parse().unwrap());
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--child-sqlite") {
        child_sqlite(&args[i + 1], args[i + 2].parse().unwrap());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    println!("brreg bulk benchmark: enrich {WANTED} units from a gzip JSON bulk file (streaming)");
    for n in [100_000usize, 300_000] {
        let file = dir.path().join(format!("enheter_{n}.json.gz"));
        let t = Instant::now();
        let (raw_bytes, gz_bytes) = generate(&file, n);
        println!(
            "generated {n} units: {:.1} MB JSON, {:.1} MB gzip, in {:.1} s",
            raw_bytes as f64 / 1e6,
            gz_bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        let out = Command::new(&exe)
            .arg("--child")
            .arg(&file)
            .arg(n.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        print!("{}", String::from_utf8_lossy(&out.stdout));
        let out = Command::new(&exe)
            .arg("--child-sqlite")
            .arg(&file)
            .arg(n.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// End to end: our 10 000 suppliers (imported from a generated register) are enriched from
/// the bulk file into SQLite with `spotcheck brreg load`'s code path (one transaction).
/// Setting up the database and the suppliers is not timed.
fn child_sqlite(file: &str, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let settings = spotcheck::config::Settings {
        database_url: Some(dir.path().join("bench.db").to_string_lossy().into_owned()),
        ..Default::default()
    };
    let pool = spotcheck::app::open_database(&settings).unwrap();
    let mut conn = pool.get().unwrap();
    let user = spotcheck::service::users::create_hashed(
        &mut conn,
        &spotcheck::db::models::Actor::system(),
        "bench",
        spotcheck::domain::roles::Role::Innkjoper,
        None,
        None,
    )
    .unwrap();
    let mut csv = String::from("Avtalenr;Leverandør;Org.nr;Kontraktsverdi\n");
    for (i, o) in wanted(n).iter().enumerate() {
        csv.push_str(&format!("K-{i};Leverandør {i} AS;{o};100000\n"));
    }
    let report = spotcheck::service::imports::import_register(
        &pool,
        &user,
        "leverandorer.csv",
        spotcheck::import::RegisterFile::Bytes(csv.as_bytes()),
        &spotcheck::import::ImportOptions::default(),
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.suppliers_created as usize, WANTED);
    drop(csv);
    let rss_before = vm_kb("VmRSS:");
    let started = Instant::now();
    let stats = spotcheck::service::suppliers::load_bulk(
        &mut conn,
        std::io::BufReader::new(File::open(file).unwrap()),
        false,
        false,
        &spotcheck::db::models::Actor::system(),
        "enheter.json.gz",
    )
    .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(stats.delivered as usize, WANTED);
    println!(
        "  into SQLite (facts + job state, one transaction): {} of {n} units stored in {secs:.2} s wall; \
         RSS before {} MB, peak RSS (VmHWM) {:.1} MB",
        stats.delivered,
        rss_before / 1024,
        vm_kb("VmHWM:") as f64 / 1024.0
    );
}

/// The filter set: every (n / WANTED)-th unit, spread over the whole file. Built from an
/// iterator so that the child's memory does not depend on `n` before the read starts.
fn wanted(n: usize) -> HashSet<String> {
    let step = n / WANTED;
    orgnrs().take(n).step_by(step).take(WANTED).collect()
}

/// Valid org numbers from 310 000 00x upwards (prefixes whose check digit would be 10 are
/// skipped, as brreg never issues them).
fn orgnrs() -> impl Iterator<Item = String> {
    const W: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    (31_000_000u32..).filter_map(|prefix| {
        let digits = format!("{prefix:08}");
        let sum: u32 = digits.bytes().zip(W).map(|(d, w)| u32::from(d - b'0') * w).sum();
        match 11 - sum % 11 {
            10 => None,
            11 => Some(format!("{digits}0")),
            c => Some(format!("{digits}{c}")),
        }
    })
}

fn generate(path: &Path, n: usize) -> (u64, u64) {
    const FORMS: [(&str, &str); 5] = [
        ("AS", "Aksjeselskap"),
        ("ENK", "Enkeltpersonforetak"),
        ("NUF", "Norskregistrert utenlandsk foretak"),
        ("ANS", "Ansvarlig selskap med delt ansvar"),
        ("DA", "Selskap med delt ansvar"),
    ];
    const CODES: [(&str, &str); 6] = [
        ("81.210", "Rengjøring av bygninger"),
        ("41.000", "Oppføring av bygninger"),
        ("43.340", "Maler- og glassarbeid"),
        ("56.110", "Drift av restauranter"),
        ("49.410", "Godstransport på vei"),
        ("62.100", "Programmeringstjenester"),
    ];
    const PLACES: [(&str, &str, &str, &str); 4] = [
        ("0155", "OSLO", "OSLO", "0301"),
        ("5003", "BERGEN", "BERGEN", "4601"),
        ("7010", "TRONDHEIM", "TRONDHEIM", "5001"),
        ("4006", "STAVANGER", "STAVANGER", "1103"),
    ];
    let base = "https://data.brreg.no/enhetsregisteret/api";
    // Fixed seed, so every run writes the same file.
    let mut rng = XorShift(0x5EED_CAFE_F00D_0001);
    let file = File::create(path).unwrap();
    let mut gz = BufWriter::new(GzEncoder::new(BufWriter::new(file), Compression::fast()));
    let mut raw = 0u64;
    let mut write = |gz: &mut BufWriter<GzEncoder<BufWriter<File>>>, s: &[u8]| {
        raw += s.len() as u64;
        gz.write_all(s).unwrap();
    };
    write(&mut gz, b"[ ");
    for (i, org) in orgnrs().take(n).enumerate() {
        let (form, form_desc) = FORMS[rng.below(5) as usize];
        let (code, code_desc) = CODES[rng.below(6) as usize];
        let (pnr, sted, kommune, komnr) = PLACES[rng.below(4) as usize];
        let employees = rng.below(60);
        let year = 1990 + rng.below(35);
        let bankrupt = rng.below(50) == 0;
        let mut unit = json!({
            "organisasjonsnummer": org,
            "navn": format!("BEDRIFT {i} {form}"),
            "organisasjonsform": {"kode": form, "beskrivelse": form_desc,
                "_links": {"self": {"href": format!("{base}/organisasjonsformer/{form}")}}},
            "postadresse": {"land": "Norge", "landkode": "NO", "postnummer": pnr, "poststed": sted,
                "adresse": [format!("Postboks {}", rng.below(9000) + 1)], "kommune": kommune, "kommunenummer": komnr},
            "registreringsdatoEnhetsregisteret": format!("{year}-{:02}-{:02}", rng.below(12) + 1, rng.below(28) + 1),
            "registrertIMvaregisteret": rng.below(3) != 0,
            "naeringskode1": {"kode": code, "beskrivelse": code_desc},
            "harRegistrertAntallAnsatte": employees > 0,
            "epostadresse": format!("post@bedrift{i}.no"),
            "forretningsadresse": {"land": "Norge", "landkode": "NO", "postnummer": pnr, "poststed": sted,
                "adresse": [format!("Storgata {}", rng.below(200) + 1)], "kommune": kommune, "kommunenummer": komnr},
            "stiftelsesdato": format!("{year}-01-{:02}", rng.below(28) + 1),
            "institusjonellSektorkode": {"kode": "2100", "beskrivelse": "Private aksjeselskaper mv."},
            "registrertIForetaksregisteret": form != "ENK",
            "registrertIStiftelsesregisteret": false,
            "registrertIFrivillighetsregisteret": false,
            "sisteInnsendteAarsregnskap": format!("{}", 2020 + rng.below(5)),
            "konkurs": bankrupt,
            "underAvvikling": false,
            "underTvangsavviklingEllerTvangsopplosning": false,
            "maalform": "Bokmål",
            "aktivitet": ["Drift innen bygg, renhold og tilknyttet virksomhet,",
                          "samt kjøp og salg av varer og tjenester,",
                          "og deltakelse i andre selskaper."],
            "paategninger": [],
            "registrertIPartiregisteret": false,
            "_links": {"self": {"href": format!("{base}/enheter/{org}")}}
        });
        if employees >= 5 {
            unit["antallAnsatte"] = json!(employees);
        }
        if bankrupt {
            unit["konkursdato"] = json!("2025-06-01");
        }
        if i > 0 {
            write(&mut gz, b", ");
        }
        let text = serde_json::to_vec_pretty(&unit).unwrap();
        write(&mut gz, &text);
    }
    write(&mut gz, b" ]\n");
    gz.into_inner().unwrap().finish().unwrap().flush().unwrap();
    (raw, std::fs::metadata(path).unwrap().len())
}

fn child(file: &str, n: usize) {
    let only = wanted(n);
    let rss_before = vm_kb("VmRSS:");
    let started = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    let mut batches = 0u64;
    let stats = bulk::read_json_gz(File::open(file).unwrap(), Some(&only), &mut |u| {
        batch.push(u);
        if batch.len() == BATCH {
            // Stand-in for one INSERT … batch into the cache table.
            batches += 1;
            batch.clear();
        }
        Ok::<(), String>(())
    })
    .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(stats.delivered as usize, WANTED);
    assert!(stats.not_found.is_empty());
    println!(
        "  read {n} units, enriched {} ({} batches of {BATCH}): {secs:.2} s wall, {:.0} units/s; \
         RSS before {} MB, peak RSS (VmHWM) {:.1} MB",
        stats.delivered,
        batches,
        n as f64 / secs,
        rss_before / 1024,
        vm_kb("VmHWM:") as f64 / 1024.0
    );
}

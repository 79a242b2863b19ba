//! `cargo bench --bench draw`: a draw over 1,000,000 contracts from a frozen manifest.
//! Plain timing (best of N), no harness: the numbers go into the report, not into a test.
//! The last phase builds the manifest from 1,000,000 contracts stored in SQLite (the query,
//! the filter and the hash that `spotcheck draw` runs before drawing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use spotcheck::sampling::{
    Allocation, DrawPlan, Manifest, ManifestEntry, UniformShare, allocate, draw, sha256_hex, verify,
};

const N: u64 = 1_000_000;
const RUNS: usize = 5;

/// Nine industries with uneven sizes (weights of the stratum assignment).
const STRATA: [(&str, u64); 9] = [
    ("bilpleie", 6),
    ("bygg og anlegg", 30),
    ("frisør og skjønnhet", 4),
    ("landbruk", 5),
    ("renhold", 20),
    ("serveringsvirksomhet", 12),
    ("transport", 10),
    ("vakthold", 8),
    ("verft", 5),
];

fn manifest_entries() -> Vec<ManifestEntry> {
    let total: u64 = STRATA.iter().map(|s| s.1).sum();
    (1..=N)
        .map(|i| {
            // A fixed scramble so strata and weights are spread over the id range.
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
            let mut slot = h % total;
            let mut stratum = STRATA[0].0;
            for (name, share) in STRATA {
                if slot < share {
                    stratum = name;
                    break;
                }
                slot -= share;
            }
            ManifestEntry {
                stratum: stratum.to_owned(),
                id: format!("K-2026-{i:06}"),
                weight: 1 + (h >> 20) % 100,
            }
        })
        .collect()
}

fn best<T>(label: &str, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = black_box(f());
        best = best.min(t.elapsed());
        last = Some(out);
    }
    println!("{label:<58} best of {RUNS}: {:>8.1} ms", best.as_secs_f64() * 1e3);
    (best, last.unwrap())
}

fn main() {
    let t = Instant::now();
    let manifest = Manifest::new(manifest_entries()).unwrap();
    let text = manifest.to_text();
    println!(
        "setup: {} contracts, {} strata, manifest text {:.1} MB, built in {:.1} s",
        manifest.len(),
        manifest.strata().len(),
        text.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let sha = manifest.sha256_hex();
    let seed = "2026-11-29 Bergen rådhus: 4 1 6 6 2 3 5 0 9 8";

    best("manifest: parse + sha256 of the text", || {
        let m = Manifest::parse(&text).unwrap();
        (m.len(), sha256_hex(&text))
    });
    best("manifest: sha256 of a parsed manifest (streamed)", || {
        manifest.sha256_hex()
    });

    let (_, picks) = best(
        "draw 500 (half weighted, 9 strata, min 10): parse+hash+draw",
        || {
            let m = Manifest::parse(&text).unwrap();
            let h = sha256_hex(&text);
            let plan = allocate(&m, 500, UniformShare::HALF, Allocation::BySize, 10).unwrap();
            let picks = draw(&m, seed, &plan).unwrap();
            (h, plan, picks)
        },
    );
    let (_, plan, picks) = picks;
    assert_eq!(picks.len(), 500);
    best("draw 500 on an already parsed manifest", || {
        draw(&manifest, seed, &plan).unwrap()
    });
    best("verify the 500-pick draw (hash + parse + recompute)", || {
        let r = verify(&text, &sha, seed, std::slice::from_ref(&plan), &picks);
        assert!(r.is_ok(), "{r}");
    });

    // One stratum of a million: the uniform part tickets every contract.
    let flat = Manifest::new(
        manifest
            .entries()
            .map(|mut e| {
                e.stratum = "all".to_owned();
                e
            })
            .collect(),
    )
    .unwrap();
    let flat_text = flat.to_text();
    best("draw 500 (250/250), one stratum of 1M: parse+hash+draw", || {
        let m = Manifest::parse(&flat_text).unwrap();
        let h = sha256_hex(&flat_text);
        (h, draw(&m, seed, &DrawPlan::single(250, 250)).unwrap())
    });

    stored_population();
}

/// Fills a fresh SQLite database with `N` scored contracts (one SQL statement per table, a
/// recursive CTE for the rows) and times `draws::build_population` over it.
fn stored_population() {
    use diesel::connection::SimpleConnection;
    use spotcheck::service::draws::{DrawFilter, StrataMode, build_population};

    let dir = tempfile::tempdir().unwrap();
    let pool =
        spotcheck::db::connect(&spotcheck::db::DbTarget::Sqlite(dir.path().join("bench.db")), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let t = Instant::now();
    let ts = "'2026-01-01 00:00:00'";
    conn.batch_execute(&format!(
        "BEGIN;
         INSERT INTO users (id, username, role, disabled, created_at, updated_at)
             VALUES (1, 'bench', 'kemner', 0, {ts}, {ts});
         INSERT INTO import_batches (id, file_name, sha256, size_bytes, format, sheet, header_row, mapping,
             uploader_id, created_at, rows_total, rows_imported, rows_rejected, contracts_created,
             contracts_updated, contracts_unchanged, suppliers_created)
             VALUES (1, 'bench.csv', 'x', 0, 'csv', '', 1, '{{}}', 1, {ts}, 0, 0, 0, 0, 0, 0, 0);
         INSERT INTO suppliers (id, orgnr, name, first_batch_id, created_at, updated_at)
             VALUES (1, '923609016', 'Bench AS', 1, {ts}, {ts});
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {N})
         INSERT INTO contracts (id, contract_no, supplier_id, supplier_name, orgnr, start_date, end_date, unit,
             extras, version, data_sha256, first_batch_id, last_batch_id, created_at, updated_at)
             SELECT i, printf('K-2026-%07d', i), 1, 'Bench AS', '923609016', '2025-01-01', '2027-12-31',
                 'enhet-' || (i % 40), '{{}}', 1, 'x', 1, 1, {ts}, {ts} FROM n;
         INSERT INTO rule_sets (id, version, files, created_at) VALUES (1, 'bench', '[]', {ts});
         INSERT INTO assessments (id, subject, contract_id, contract_version, orgnr, rule_set_version,
             input_sha256, as_of, score, max_possible_score, tier, industries, explanation, reason, assessed_at)
             SELECT id, 'contract', id, 1, '923609016', 'bench', 'x', '2026-01-01', (id * 7919) % 100, 100,
                 'lav', CASE id % 9 WHEN 0 THEN ',,' WHEN 1 THEN ',bygg_anlegg,' WHEN 2 THEN ',renhold,bygg_anlegg,'
                 ELSE ',renhold,' END, '[]', 'bench', {ts} FROM contracts;
         INSERT INTO contract_risk (contract_id, assessment_id, score, max_possible_score, tier, industries,
             rule_set_version, input_sha256, assessed_at)
             SELECT contract_id, id, score, 100, tier, industries, 'bench', 'x', {ts} FROM assessments;
         COMMIT;"
    ))
    .unwrap();
    println!(
        "setup: {N} contracts with risk rows stored in SQLite in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let at = chrono::Utc::now().naive_utc();
    let rules = spotcheck::service::rules::default_rule_set().unwrap();
    let (_, sha) = best(
        "manifest from 1M stored SQLite rows (query+strata+sha256)",
        || {
            let pop = build_population(
                &mut conn,
                &DrawFilter::default(),
                StrataMode::Industry,
                &rules,
                at,
            )
            .unwrap();
            assert_eq!(pop.manifest.len() as u64, N);
            pop.manifest.sha256_hex()
        },
    );
    assert_eq!(sha.len(), 64);
}

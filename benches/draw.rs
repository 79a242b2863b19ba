//! `cargo bench --bench draw`: a draw over 1,000,000 contracts from a frozen manifest.
//! Plain timing (best of N), no harness: the numbers go into the report, not into a test.
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
}

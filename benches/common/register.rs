//! The register of the import benchmarks: 13 Norwegian columns, drawn from ChaCha8 with a
//! fixed seed, so `cargo bench --bench import`, `examples/make_register.rs` and
//! `bench/compare.sh` measure the same file for the same row count.

use std::path::Path;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::workbook::{Cell, Xlsx};

pub const COLUMNS: [&str; 13] = [
    "Avtalenr",
    "Avtalenavn",
    "Leverandør",
    "Org.nr",
    "Kategori",
    "CPV-kode",
    "Kontraktsverdi",
    "Startdato",
    "Sluttdato",
    "Enhet",
    "Avtaleforvalter",
    "Antall ledd",
    "Kommentar",
];

fn orgnr(rng: &mut ChaCha8Rng) -> u32 {
    const W: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    loop {
        let mut d = [0u32; 8];
        d[0] = if rng.random_bool(0.5) { 8 } else { 9 };
        for x in d.iter_mut().skip(1) {
            *x = rng.random_range(0..10);
        }
        let s: u32 = d.iter().zip(W).map(|(a, b)| a * b).sum();
        let c = match 11 - s % 11 {
            11 => 0,
            10 => continue,
            c => c,
        };
        return d.iter().fold(0, |acc, x| acc * 10 + x) * 10 + c;
    }
}

/// Writes the `rows`-row register to `path` (the same bytes for the same `rows`).
pub fn generate(path: &Path, rows: u32) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(20_24);
    let words = [
        "Renhold",
        "Vask",
        "Bygg",
        "Vedlikehold",
        "Transport",
        "Kantine",
        "Snørydding",
        "Maling",
        "Rørlegger",
        "Elektro",
        "Vakthold",
        "Bilpleie",
        "Tømrer",
        "Asfalt",
        "Flytting",
    ];
    let units = [
        "Skoleetaten",
        "Helseetaten",
        "Bymiljøetaten",
        "Eiendom",
        "Barnehager",
        "IKT",
    ];
    let cats = [
        "Renhold",
        "Bygg og anlegg",
        "Bilpleie",
        "Transport",
        "Kantine",
        "Vakthold",
    ];
    let people = [
        "Kari Nordmann",
        "Ola Nordmann",
        "Per Hansen",
        "Anne Olsen",
        "Nils Berg",
    ];
    let suppliers: Vec<(String, u32)> = (0..2000)
        .map(|i| {
            let w = words[i % words.len()];
            (format!("{w} {} AS", i + 1), orgnr(&mut rng))
        })
        .collect();
    let mut xlsx = Xlsx::named("Kontrakter", &COLUMNS)?;
    for r in 1..=rows {
        // Cells in column order: the generator is drawn from in that order.
        let (name, org) = &suppliers[rng.random_range(0..suppliers.len())];
        let title = format!(
            "{} {}",
            words[rng.random_range(0..words.len())],
            units[r as usize % units.len()]
        );
        let org = if r % 10 == 0 {
            // Some registers keep org numbers as grouped text.
            let s = org.to_string();
            Cell::Text(format!("{} {} {}", &s[0..3], &s[3..6], &s[6..9]))
        } else {
            Cell::Number(f64::from(*org))
        };
        let category = cats[rng.random_range(0..cats.len())];
        let cpv = format!("{}", rng.random_range(45_000_000..99_000_000));
        let ore: i64 = rng.random_range(100_000..5_000_000_000);
        let y = rng.random_range(2018..2026u16);
        let m = rng.random_range(1..=12u8);
        let d = rng.random_range(1..=28u8);
        let ye = y + rng.random_range(1..5u16);
        xlsx.row([
            Cell::Text(format!("BK-2024-{r:06}")),
            Cell::Text(title),
            Cell::from(name.as_str()),
            org,
            Cell::from(category),
            Cell::Text(cpv),
            Cell::Formatted(ore as f64 / 100.0, "# ##0.00"),
            Cell::Date(y, m, d),
            Cell::Date(ye, m, d),
            Cell::from(units[rng.random_range(0..units.len())]),
            Cell::from(people[rng.random_range(0..people.len())]),
            Cell::Number(f64::from(rng.random_range(0..4u8))),
            if rng.random_bool(0.3) {
                Cell::from("Opsjon på forlengelse 1+1 år")
            } else {
                Cell::Empty
            },
        ])?;
    }
    std::fs::write(path, xlsx.finish()?)?;
    Ok(())
}

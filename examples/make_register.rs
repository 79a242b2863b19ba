//! Writes the import benchmarks' register: `ROWS` rows of 13 Norwegian columns from a fixed
//! seed, the same file `cargo bench --bench import -- --rows ROWS` generates (both call
//! `benches/common/register.rs`). Used by `bench/compare.sh`.
//!
//!     cargo run --release --example make_register -- 100000 register-100k.xlsx
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(rows), Some(path)) = (args.first().and_then(|r| r.parse::<u32>().ok()), args.get(1)) else {
        eprintln!("usage: make_register ROWS FILE.xlsx");
        return ExitCode::from(2);
    };
    let path = PathBuf::from(path);
    let started = std::time::Instant::now();
    if let Err(e) = common::register::generate(&path, rows) {
        eprintln!("cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "{}: {rows} rows, {:.1} MB, in {:.1} s",
        path.display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

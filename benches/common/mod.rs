//! Helpers shared by the benches (each bench is its own crate root and includes this with
//! `mod common;`). The seeded generator, the xlsx builder and the rule-set loader are the
//! tests' own files (`tests/common/`), so benches and tests draw the same numbers from a seed.
//! The examples that `bench/compare.sh` runs include this module too.
#![allow(dead_code)]

#[path = "../../tests/common/rng.rs"]
pub mod rng;
#[path = "../../tests/common/rules.rs"]
pub mod rules;
#[path = "../../tests/common/workbook.rs"]
pub mod workbook;

/// The import benches' register (also written by `examples/make_register.rs`).
pub mod register;

/// A `kB` field of /proc/self/status (`VmRSS:`, `VmHWM:`), 0 where there is none.
pub fn vm_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

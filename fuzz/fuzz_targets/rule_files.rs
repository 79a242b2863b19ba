//! One rule file (UTF-8 TOML) in place of the shipped `indicators.toml`: loaded, validated,
//! and when it loads, used to assess a few fixed contracts.
#![no_main]

#[allow(dead_code)] // each target uses one of the entry points
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::rule_files(data));

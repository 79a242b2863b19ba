//! One condition (UTF-8 text): parsed and type-checked, and evaluated when it compiles.
#![no_main]

#[allow(dead_code)] // each target uses one of the entry points
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::condition(data));

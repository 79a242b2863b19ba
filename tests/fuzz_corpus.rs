//! Replays the committed fuzz corpus (`fuzz/corpus/`) through the fuzz targets' own entry
//! points (`fuzz/harness.rs`, included here), so that `cargo test` and CI run every seed
//! and every crash reproducer ever added, without nightly or libFuzzer. Parse errors are
//! fine; a panic, an abort or a stack overflow is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file on a thread with the stack of an actix worker (2 MiB), naming the file
/// that panics. A stack overflow cannot be caught: it aborts the test binary, and the
/// file being replayed is the last one printed (`cargo test -- --nocapture`).
fn replay(target: &str, entry: fn(&[u8])) -> usize {
    let files = corpus(target);
    let mut failed = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        println!("{target}: {}", path.display());
        let ok = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || entry(&bytes))
            .unwrap()
            .join()
            .is_ok();
        if !ok {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: panicked on {failed:?}");
    files.len()
}

#[test]
fn condition_corpus_replays_without_panic() {
    let n = replay("condition", harness::condition);
    assert!(n >= 20, "the seed corpus is missing ({n} files)");
}

#[test]
fn rule_files_corpus_replays_without_panic() {
    let n = replay("rule_files", harness::rule_files);
    assert!(n >= 10, "the seed corpus is missing ({n} files)");
}

/// The seeds that matter most stay in the corpus, and do what they were added for.
#[test]
fn the_issue_16_seeds_are_there_and_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let text = std::fs::read_to_string(root.join("condition/deep_parens_20000")).unwrap();
    assert!(text.len() >= 40_000);
    let e = spotcheck::risk::check_condition(&text).unwrap_err();
    assert!(e.message.contains("nøstet for dypt"), "{e}");
    let at_limit = std::fs::read_to_string(root.join("condition/deep_parens_at_limit")).unwrap();
    assert_eq!(spotcheck::risk::check_condition(&at_limit), Ok(()));
    for name in [
        "shipped_indicators.toml",
        "deep_condition_20000.toml",
        "deep_arrays.toml",
    ] {
        assert!(root.join("rule_files").join(name).is_file(), "{name}");
    }
}

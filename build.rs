//! Build script: re-embed migrations when they change, and switch the PostgreSQL test
//! suite on when `SPOTCHECK_TEST_DATABASE_URL` is set. Without it the PostgreSQL tests are
//! compiled as `ignored` (listed as such by `cargo test`), never silently passed.

fn main() {
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rerun-if-env-changed=SPOTCHECK_TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(spotcheck_pg_tests)");
    if std::env::var("SPOTCHECK_TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=spotcheck_pg_tests");
    }
}

//! spotcheck: supplier-chain risk audit for municipal procurement.
//!
//! Module map (see README.md, "Architecture"):
//! - [`config`]: settings from defaults, a TOML file and `SPOTCHECK_*` variables.
//! - [`db`]: diesel over SQLite and PostgreSQL; schema, migrations, models (queries).
//! - [`domain`]: pure logic (org numbers, roles, the audit hash chain).
//! - [`import`]: reading contract registers from spreadsheets and csv (pure).
//! - [`risk`]: the rule-set format, condition language and scoring (pure).
//! - [`sampling`]: verifiable spot-check draws (Rivest's samplers; pure).
//! - [`brreg`]: Enhetsregisteret client, bulk files, approval registers (no storage).
//! - [`auth`]: password hashing, tokens, login throttle.
//! - [`export`]: xlsx and csv downloads, formulas neutralised.
//! - [`mail`]: what the liaisons are told, rendered and handed to SMTP or `.eml` files.
//! - [`service`]: one function per use case; owns transactions and audit entries.
//! - [`web`]: actix-web pages and the `/api/v1` JSON API (thin handlers over `service`).
//! - [`cli`]: the `spotcheck` command line, one file per subcommand.
//! - [`app`]: start-up wiring shared by the CLI and tests.
//!
//! `docs/architecture.md` describes the data flow and where each use case lives.

pub mod app;
pub mod auth;
pub mod brreg;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod export;
pub mod import;
pub mod mail;
pub mod risk;
pub mod sampling;
pub mod service;
pub mod web;

/// The allocator of every binary built on this library (the service, the tests and the
/// benchmarks, so they measure what runs in production). Imports and rescoring allocate
/// many small strings on one thread and free them on another; glibc's allocator spent a
/// tenth of an import's time there, mimalloc (per-thread free lists) a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the position of that option in `mi_option_e`, the same
/// in mimalloc 2 and 3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

unsafe extern "C" {
    /// From the mimalloc library the allocator above links in.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Has the allocator give memory a thread freed back to the system after 10 ms instead of
/// mimalloc 3's default of a second, unless `MIMALLOC_PURGE_DELAY` says otherwise. An import
/// frees a chunk's rows on another thread than the one that made them, many times a second;
/// with a second's delay the freed pages piled up, and a 100,000-row import peaked ~24 MB
/// (a fifth) higher for no gain in time (alternating runs: docs/benchmarks.md). Call once,
/// first thing in `main`.
pub fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an integer option; mimalloc reads its options atomically and allows
        // changing them at any time.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 10) }
    }
}

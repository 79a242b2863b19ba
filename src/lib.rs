//! spotcheck: supplier-chain risk audit for municipal procurement.
//!
//! Module map (see README.md, "Architecture"):
//! - [`config`]: settings from defaults, a TOML file and `SPOTCHECK_*` variables.
//! - [`db`]: diesel over SQLite and PostgreSQL; schema, migrations, models (queries + audit).
//! - [`domain`]: pure logic (org numbers, roles, the audit hash chain).
//! - [`import`]: reading contract registers from spreadsheets and csv (pure).
//! - [`risk`]: the rule-set format, condition language and scoring (pure).
//! - [`scoring`]: rescoring stored contracts and suppliers with the active rule set.
//! - [`sampling`]: verifiable spot-check draws (Rivest's samplers; pure).
//! - [`draws`]: draws as the service runs them (population → manifest, publish, extend, verify).
//! - [`brreg`]: Enhetsregisteret client, bulk files, approval registers (no storage yet).
//! - [`enrich`]: the background enrichment worker (job table → register → facts).
//! - [`auth`]: password hashing, tokens, login throttle.
//! - [`web`]: actix-web pages and the `/api/v1` JSON API.
//! - [`cli`]: the `spotcheck` command line (serve, migrate, users, audit).
//! - [`app`]: start-up wiring shared by the CLI and tests.

pub mod app;
pub mod auth;
pub mod brreg;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod draws;
pub mod enrich;
pub mod import;
pub mod risk;
pub mod sampling;
pub mod scoring;
pub mod web;

/// The allocator of every binary built on this library (the service, the tests and the
/// benchmarks, so they measure what runs in production). Imports and rescoring allocate
/// many small strings on one thread and free them on another; glibc's allocator spent a
/// tenth of an import's time there, mimalloc (per-thread free lists) a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

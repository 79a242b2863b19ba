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

//! The service layer: one function per use case, shared by the web handlers, the CLI and
//! the tests. A service opens its write transaction ([`crate::db::write_tx`]), does the
//! work through [`crate::db::models`], and appends the audit entry in the same
//! transaction; handlers and CLI commands never open transactions or write audit rows.
//!
//! - [`auth`]: sign-in and sign-out (sessions and their audit entries);
//! - [`users`]: users, roles and API tokens;
//! - [`contracts`]: contract lists and explained assessments;
//! - [`imports`]: reading and storing contract registers, then scoring what they brought;
//! - [`suppliers`]: register facts (bulk files, refresh on request), approval registers;
//! - [`enrichment`]: the worker that looks suppliers up in Enhetsregisteret;
//! - [`rules`]: the rule set in force, stored in the database;
//! - [`scoring`]: rescoring stored contracts and suppliers, explanations;
//! - [`draws`]: spot-check draws (spec, population, publish, views, verify);
//! - [`liaisons`]: the contacts at the A-krim agencies who receive mail;
//! - [`cases`]: the review of drawn contracts by the A-krim partners (workflow, access);
//! - [`demo`]: `serve --demo`, a demo register seeded through the services above.

pub mod auth;
pub mod cases;
pub mod contracts;
pub mod dashboard;
pub mod demo;
pub mod draws;
pub mod enrichment;
pub mod imports;
pub mod inspection;
pub mod liaisons;
pub mod notices;
pub mod outbox;
pub mod reports;
pub mod rules;
pub mod scoring;
pub mod suppliers;
pub mod users;

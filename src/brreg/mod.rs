//! Client and file loaders for Enhetsregisteret (the Norwegian business register, brreg) and
//! the approval registers (Renholdsregisteret, bilpleie/hjul, bemanningsforetak).
//!
//! Nothing in here touches the database or the web framework: the client returns plain
//! values ([`Lookup`], [`UpdatePage`]) and the file loaders hand each parsed unit to a
//! callback, so the caller decides how to persist (job table, cache tables, batches).

pub mod approvals;
pub mod bulk;
mod client;
mod error;
pub mod facts;
pub mod feed;

pub use client::{BrregClient, BrregConfig, Lookup, Outcome};
pub use error::BrregError;
pub use facts::{Address, Employees, FactsError, UnitFacts};
pub use feed::{ChangeType, Update, UpdatePage};

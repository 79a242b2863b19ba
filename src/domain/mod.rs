//! Pure domain logic: no I/O, no actix, no diesel, so it can be property-tested directly.

pub mod audit_chain;
pub mod case;
pub mod digest;
pub mod io_text;
pub mod liaison;
pub mod orgnr;
pub mod oslo;
pub mod ownership;
pub mod paging;
pub mod report;
pub mod roles;

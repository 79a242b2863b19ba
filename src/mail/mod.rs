//! Mail to the A-krim liaisons: what a message says ([`notice`], frozen when it is queued),
//! how it is written ([`render`] with the templates in `templates/mail/`, [`xlsx`] for the
//! attached list), when a failed one is tried again ([`retry`]) and how it is handed over
//! ([`transport`]: SMTP or `.eml` files). No database here: `service::outbox` queues and
//! delivers, `service::notices` decides who is told what.

pub mod notice;
pub mod render;
pub mod retry;
pub mod transport;
pub mod xlsx;

pub use notice::{ContractLine, DrawBrief, DrawPlace, Notice};
pub use render::{Recipient, Rendered, render};
pub use retry::{AfterFailure, RetryPolicy};
pub use transport::{MailTransport, Outgoing, SendFailure, Sender};

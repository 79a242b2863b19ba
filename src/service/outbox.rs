//! Delivering the outbox: claim due messages, render each from its frozen notice, hand it
//! to the transport, and mark it sent, due again later (exponential backoff) or dead (after
//! the configured number of attempts, or at once when the server refused it for good). The
//! `serve` worker and `spotcheck outbox send-pending` (for cron) both call [`deliver_due`];
//! a row is claimed by one sender at a time (see `db::models::outbox`). A crash between
//! handing a message over and marking it sent resends it once the lease runs out, with the
//! same Message-ID, so the receiver can drop the duplicate.
//!
//! Kemneren sees the queue ([`list`]) and puts dead letters back ([`retry`], audited).

use chrono::{Duration, NaiveDateTime};
use diesel::Connection;
use serde::Serialize;

use crate::config::Settings;
use crate::db::models::audit::{self, Event};
use crate::db::models::outbox::{self, Claimed, MessageSummary};
use crate::db::models::{Actor, now};
use crate::db::{Conflict, DbConn, DbError, Missing, write_tx};
use crate::domain::paging::Paging;
use crate::mail::transport::TransportError;
use crate::mail::{
    AfterFailure, MailTransport, Notice, Outgoing, Recipient, RetryPolicy, SendFailure, Sender,
};
use crate::risk::RuleSet;

/// Messages claimed per step.
const BATCH: i64 = 20;
/// How long a claim holds: longer than the SMTP time-outs of one message.
const LEASE_SECONDS: i64 = 300;

/// Everything needed to send: the transport, the sender, the retry policy, the base URL.
#[derive(Debug)]
pub struct Mailer {
    pub transport: MailTransport,
    pub sender: Sender,
    pub policy: RetryPolicy,
    pub base_url: String,
}

impl Mailer {
    pub fn from_settings(s: &Settings) -> Result<Mailer, TransportError> {
        Ok(Mailer {
            transport: MailTransport::new(
                s.smtp_url.as_deref(),
                &s.outbox_dir(),
                std::time::Duration::from_secs(s.smtp_timeout_seconds),
            )?,
            sender: Sender::new(&s.mail_from)?,
            policy: RetryPolicy {
                base_seconds: s.mail_retry_base_seconds,
                max_attempts: s.mail_max_attempts,
            },
            base_url: s.base_url.clone(),
        })
    }
}

/// What one delivery run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub sent: u64,
    /// Failed and due again later.
    pub deferred: u64,
    /// Failed for good: now dead letters.
    pub dead: u64,
}

/// Sends every message due now, batch by batch, until none is due (or `max` were tried).
pub fn deliver_due(conn: &mut DbConn, mailer: &Mailer, max: u64) -> Result<DeliveryReport, DbError> {
    let mut report = DeliveryReport::default();
    let mut tried = 0u64;
    // Only what was due when the run started: a message that fails now and is due again at
    // once (a zero back-off) waits for the next run instead of spinning here.
    let started = now();
    while tried < max {
        let at = now();
        let batch = outbox::claim_due(conn, started, at, at + Duration::seconds(LEASE_SECONDS), BATCH)?;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            tried += 1;
            match send_one(mailer, &m) {
                Ok(()) => {
                    outbox::mark_sent(conn, m.id, now())?;
                    tracing::info!(outbox_id = m.id, kind = %m.kind, "mail sent");
                    report.sent += 1;
                }
                Err(failure) => {
                    let attempts = u32::try_from(m.attempts).unwrap_or(u32::MAX);
                    let permanent = matches!(failure, SendFailure::Permanent(_));
                    let next = mailer.policy.after_failure(attempts, permanent, now());
                    let retry_at = match next {
                        AfterFailure::RetryAt(t) => Some(t),
                        AfterFailure::Dead => None,
                    };
                    outbox::mark_failed(conn, m.id, failure.reason(), retry_at)?;
                    match retry_at {
                        Some(t) => {
                            tracing::warn!(outbox_id = m.id, attempts, retry_at = %t, reason = failure.reason(), "mail not sent; will retry");
                            report.deferred += 1;
                        }
                        None => {
                            tracing::error!(
                                outbox_id = m.id,
                                attempts,
                                reason = failure.reason(),
                                "mail not sent; now a dead letter"
                            );
                            report.dead += 1;
                        }
                    }
                }
            }
        }
    }
    Ok(report)
}

fn send_one(mailer: &Mailer, m: &Claimed) -> Result<(), SendFailure> {
    let address = m
        .recipient_address
        .as_deref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| SendFailure::Permanent("the message has no recipient address".into()))?;
    let notice: Notice = serde_json::from_str(&m.payload)
        .map_err(|e| SendFailure::Permanent(format!("the stored notice cannot be read: {e}")))?;
    let agency = m
        .recipient_agency
        .as_deref()
        .and_then(|a| a.parse::<crate::domain::roles::Agency>().ok())
        .map(|a| a.label().to_owned());
    let name = m.recipient_name.clone().unwrap_or_else(|| address.to_owned());
    let to = Recipient {
        name: name.clone(),
        address: address.to_owned(),
        agency,
    };
    let rendered = crate::mail::render(&notice, &to, &mailer.base_url)
        .map_err(|e| SendFailure::Permanent(format!("the message cannot be written: {e}")))?;
    mailer.transport.send(
        &mailer.sender,
        &Outgoing {
            outbox_id: m.id,
            dedupe_key: &m.dedupe_key,
            to_name: &name,
            to_address: address,
            rendered: &rendered,
        },
    )
}

/// Queues the weekly summaries when one is due (see `notices::queue_weekly`), and the
/// reminders of document requests past their deadline (`notices::queue_document_reminders`).
pub fn queue_scheduled(conn: &mut DbConn, rules: &RuleSet, at: NaiveDateTime) -> Result<usize, DbError> {
    conn.transaction(|c| {
        Ok::<_, DbError>(
            crate::service::notices::queue_weekly(c, rules, at)?
                + crate::service::notices::queue_document_reminders(c, at)?,
        )
    })
}

/// The statuses a list can be filtered by.
pub const STATUSES: [&str; 4] = ["pending", "sending", "sent", "dead"];

/// One page of the outbox, newest first; `status` one of [`STATUSES`].
pub fn list(
    conn: &mut DbConn,
    status: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<MessageSummary>), DbError> {
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        return Err(DbError::Invalid(format!(
            "unknown status '{s}': use pending, sending, sent or dead"
        )));
    }
    let paging = Paging::new(page, per_page)?;
    outbox::list(conn, status, &paging)
}

/// Messages per status (for the CLI and a page's summary line).
pub fn counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, DbError> {
    outbox::status_counts(conn)
}

/// Puts dead letter `id` back in the queue, due now, audited as `outbox.retry`.
pub fn retry(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<MessageSummary, DbError> {
    write_tx(conn, |c| {
        let before = outbox::find(c, id)?.ok_or(DbError::NotFound(Missing::Message(id)))?;
        let at = now();
        if !outbox::requeue_dead(c, id, at)? {
            return Err(DbError::Conflict(Conflict::MessageNotDead {
                id,
                status: before.status,
            }));
        }
        audit::append(
            c,
            actor,
            Event {
                action: "outbox.retry",
                object_type: "outbox",
                object_id: &id.to_string(),
                detail: serde_json::json!({
                    "kind": before.kind,
                    "attempts": before.attempts,
                    "last_error": before.last_error,
                }),
            },
        )?;
        outbox::find(c, id)?.ok_or(DbError::NotFound(Missing::Stored("outbox message")))
    })
}

/// The mail worker of `serve`: every `poll`, queues the weekly summaries when due and
/// sends what is due. Runs on a thread of its own (SMTP and the database are blocking), so
/// a slow mail server never holds up a request. Errors are logged and the loop goes on: the
/// messages wait in the outbox.
pub fn run_worker(
    pool: crate::db::Pool,
    rules: std::sync::Arc<crate::service::rules::ActiveRules>,
    mailer: Mailer,
    poll: std::time::Duration,
) -> ! {
    tracing::info!(transport = %mailer.transport.describe(), "mail worker started");
    let mut weekly_checked: Option<NaiveDateTime> = None;
    loop {
        match pool.get() {
            Ok(mut conn) => {
                let at = now();
                // The weekly summaries are looked for once an hour (the dedupe keys make any
                // number of looks queue them once).
                if weekly_checked.is_none_or(|t| at - t >= Duration::hours(1)) {
                    weekly_checked = Some(at);
                    if let Err(e) = queue_scheduled(&mut conn, &rules.get(), at) {
                        tracing::warn!(error = %e, "could not queue the weekly summaries");
                    }
                }
                match deliver_due(&mut conn, &mailer, 1_000) {
                    Ok(r) if r != DeliveryReport::default() => {
                        tracing::info!(
                            sent = r.sent,
                            deferred = r.deferred,
                            dead = r.dead,
                            "mail delivery"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "mail delivery stopped; will try again"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "mail worker: no database connection; will try again"),
        }
        std::thread::sleep(poll);
    }
}

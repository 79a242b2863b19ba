//! `spotcheck outbox …`: the mail queue. `send-pending` sends what is due (for cron, or
//! when `serve` runs with its mail worker off) and queues the weekly summaries when due;
//! `list` shows the queue; `retry` puts a dead letter back.

use std::io::Write;

use clap::Subcommand;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::{Actor, now};
use crate::service;
use crate::service::outbox::Mailer;

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// Send every message that is due now (SMTP from SPOTCHECK_SMTP_URL, else .eml files
    /// in <data dir>/outbox), after queueing the weekly summaries if they are due.
    SendPending {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// List messages, newest first.
    List {
        /// Only messages with this status: pending, sending, sent or dead.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 1)]
        page: i64,
        #[arg(long, default_value_t = 50)]
        per_page: i64,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Put a dead letter back in the queue (sent by the next run of the worker or of
    /// send-pending).
    Retry { id: i64 },
}

pub fn run(ctx: &Ctx, cmd: OutboxCommand, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        OutboxCommand::SendPending { format } => {
            let mailer = Mailer::from_settings(ctx.settings).map_err(|e| CliError::Load(e.to_string()))?;
            let rules = ctx.rules()?;
            let mut conn = ctx.conn()?;
            let queued = service::outbox::queue_scheduled(&mut conn, &rules, now())?;
            let report = service::outbox::deliver_due(&mut conn, &mailer, u64::MAX)?;
            if format.is_json() {
                let v = serde_json::json!({
                    "transport": mailer.transport.describe(),
                    "scheduled_queued": queued,
                    "sent": report.sent,
                    "deferred": report.deferred,
                    "dead": report.dead,
                });
                writeln!(out, "{v}")?;
            } else {
                if queued > 0 {
                    writeln!(out, "queued {queued} weekly summaries and document reminders")?;
                }
                writeln!(
                    out,
                    "sent {}, deferred {} (will retry), dead {} ({})",
                    report.sent,
                    report.deferred,
                    report.dead,
                    mailer.transport.describe()
                )?;
            }
        }
        OutboxCommand::List {
            status,
            page,
            per_page,
            format,
        } => {
            let (total, items) = service::outbox::list(&mut *ctx.conn()?, status.as_deref(), page, per_page)?;
            if format.is_json() {
                let v = serde_json::json!({"total": total, "page": page, "items": items});
                writeln!(out, "{v}")?;
            } else {
                for m in &items {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        m.id,
                        m.status,
                        m.attempts,
                        m.created_at.format("%Y-%m-%d %H:%M"),
                        m.recipient_address.as_deref().unwrap_or("-"),
                        m.subject,
                        m.last_error.as_deref().unwrap_or(""),
                    )?;
                }
                writeln!(out, "{} of {total} messages", items.len())?;
            }
        }
        OutboxCommand::Retry { id } => {
            let m = service::outbox::retry(&mut *ctx.conn()?, &Actor::cli(), id)?;
            writeln!(out, "message {} is queued again ({})", m.id, m.subject)?;
        }
    }
    Ok(())
}

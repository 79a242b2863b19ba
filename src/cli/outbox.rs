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
    #[command(
        about = "Send all e-post som står for tur nå (SMTP fra SPOTCHECK_SMTP_URL, ellers .eml-filer i \
                 <datamappe>/outbox), etter å ha lagt ukesoppsummeringene i kø når det er tid for dem"
    )]
    SendPending {
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(about = "List opp e-posten i utboksen, nyeste først")]
    List {
        #[arg(
            long,
            value_name = "STATUS",
            value_parser = ["pending", "sending", "sent", "dead"],
            help = "Bare e-post med denne statusen: pending (venter), sending (sendes), sent (sendt) \
                    eller dead (feilet permanent)"
        )]
        status: Option<String>,
        #[arg(long, default_value_t = 1, value_name = "SIDE", help = "Siden (fra 1)")]
        page: i64,
        #[arg(long, default_value_t = 50, value_name = "ANTALL", help = "E-post per side")]
        per_page: i64,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(
        about = "Legg e-post som har feilet permanent, i køen igjen (sendes neste gang e-posttjenesten \
                 eller send-pending kjører)"
    )]
    Retry {
        #[arg(value_name = "ID", help = "E-postens nummer (fra «outbox list»)")]
        id: i64,
    },
}

/// Where mail goes, in words (the JSON keeps `describe`, as the log has it).
fn transport(t: &crate::mail::transport::MailTransport) -> String {
    use crate::mail::transport::MailTransport;
    match t {
        MailTransport::Smtp { server, .. } => format!("SMTP-tjener {server}"),
        MailTransport::Files { dir } => format!(".eml-filer i {}", dir.display()),
    }
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
                    writeln!(
                        out,
                        "{queued} ukesoppsummeringer og dokumentpåminnelser er lagt i kø"
                    )?;
                }
                writeln!(
                    out,
                    "sendt {}, utsatt {} (prøves igjen), feilet permanent {} ({})",
                    report.sent,
                    report.deferred,
                    report.dead,
                    transport(&mailer.transport)
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
                        crate::web::pages::labels::outbox_status(&m.status),
                        m.attempts,
                        m.created_at.format("%Y-%m-%d %H:%M"),
                        m.recipient_address.as_deref().unwrap_or("-"),
                        m.subject,
                        m.last_error.as_deref().unwrap_or(""),
                    )?;
                }
                writeln!(out, "{} av {total} e-poster", items.len())?;
            }
        }
        OutboxCommand::Retry { id } => {
            let m = service::outbox::retry(&mut *ctx.conn()?, &Actor::cli(), id)?;
            writeln!(out, "e-post {} er lagt i køen igjen ({})", m.id, m.subject)?;
        }
    }
    Ok(())
}

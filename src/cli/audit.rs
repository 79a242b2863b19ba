//! `spotcheck audit …`: check the hash chain, show the newest entries.

use std::io::Write;

use clap::Subcommand;

use super::{CliError, Ctx};
use crate::service;
use crate::service::users::ChainStatus;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    #[command(about = "Gå gjennom hashkjeden; avslutter med 0 bare når den er intakt")]
    Verify,
    #[command(about = "Vis de nyeste hendelsene i revisjonsloggen")]
    Tail {
        #[arg(
            long,
            default_value_t = 20,
            value_name = "ANTALL",
            help = "Hvor mange hendelser"
        )]
        n: i64,
    },
}

pub fn run(ctx: &Ctx, cmd: AuditCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let mut conn = ctx.conn()?;
    match cmd {
        AuditCommand::Verify => match service::users::verify_audit(&mut conn)? {
            ChainStatus::Intact { entries } => {
                writeln!(
                    out,
                    "revisjonsloggen er intakt: alle {entries} hendelser er kontrollert"
                )?;
                Ok(())
            }
            ChainStatus::Broken {
                verified,
                first_break,
            } => Err(CliError::AuditBroken {
                entry: verified + 1,
                problem: first_break,
            }),
        },
        AuditCommand::Tail { n } => {
            let mut rows = service::users::recent_audit(&mut conn, n)?;
            rows.reverse();
            for r in rows {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{} {}\t{}",
                    r.id,
                    crate::domain::audit_chain::format_at(&r.at),
                    r.actor,
                    r.action,
                    r.object_type,
                    r.object_id,
                    r.detail
                )?;
            }
            Ok(())
        }
    }
}

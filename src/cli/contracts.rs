//! `spotcheck contracts …`: moving a contract to another owner.

use std::io::Write;

use clap::Subcommand;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::Actor;
use crate::service;
use crate::service::contracts::ContractKey;

#[derive(Subcommand, Debug)]
pub enum ContractsCommand {
    /// Gives a contract to another owner through `service::contracts::move_owner` (audited).
    #[command(
        about = "Gi en kontrakt til en annen eier (en innkjøper eller Kemneren)",
        long_about = "Gi en kontrakt til en annen eier (en innkjøper eller Kemneren). Etterpå ser bare den \
                      nye eieren kontrakten, og bare den nye eierens importer oppdaterer den. Flyttingen \
                      føres i revisjonsloggen."
    )]
    MoveOwner {
        #[arg(
            value_name = "AVTALENUMMER",
            help = "Avtalenummeret, slik det står i registeret"
        )]
        contract_no: String,
        #[arg(long, value_name = "BRUKERNAVN", help = "Brukernavnet til den nye eieren")]
        to: String,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
}

pub fn run(ctx: &Ctx, cmd: ContractsCommand, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        ContractsCommand::MoveOwner {
            contract_no,
            to,
            format,
        } => {
            let key = ContractKey::Number(contract_no.trim().to_owned());
            let change = service::contracts::move_owner(&mut *ctx.conn()?, &Actor::cli(), &key, &to)?;
            if format.is_json() {
                writeln!(out, "{}", serde_json::to_string(&change).unwrap_or_default())?;
            } else if change.changed {
                writeln!(
                    out,
                    "avtale {} er flyttet fra {} til {}",
                    change.contract_no, change.from, change.to
                )?;
            } else {
                writeln!(
                    out,
                    "avtale {} eies allerede av {}; ingenting er endret",
                    change.contract_no, change.to
                )?;
            }
        }
    }
    Ok(())
}

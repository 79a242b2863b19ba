//! `spotcheck brreg load FILE`: the register's bulk files (offline enrichment).

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, Ctx};
use crate::db::models::Actor;
use crate::service;

#[derive(Subcommand, Debug)]
pub enum BrregCommand {
    #[command(
        about = "Les inn et totaluttrekk (enheter_alle.json.gz, underenheter_alle.json.gz eller CSV-uttrekket, \
                 pakket eller ikke): som standard bare organisasjonsnumrene vi har"
    )]
    Load {
        #[arg(value_name = "FIL", help = "Uttrekket fra Enhetsregisteret")]
        file: PathBuf,
        #[arg(long, help = "Lagre alle enhetene i filen, ikke bare våre leverandører")]
        all: bool,
        #[arg(
            long,
            value_name = "FORMAT",
            help = "json eller csv; uten den ut fra filnavnet"
        )]
        format: Option<String>,
    },
}

/// `spotcheck brreg load`: streams a bulk file into the register history, in one transaction.
pub fn run(ctx: &Ctx, cmd: BrregCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let BrregCommand::Load { file, all, format } = cmd;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let csv = match format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(CliError::Load(format!(
                "ukjent --format «{other}»: bruk json eller csv"
            )));
        }
        None => name.contains(".csv"),
    };
    let mut conn = ctx.conn()?;
    let reader = std::fs::File::open(&file).map_err(|e| {
        CliError::Load(format!(
            "{}: {}",
            file.display(),
            crate::domain::io_text::io_reason(&e)
        ))
    })?;
    let stats = service::suppliers::load_bulk(
        &mut conn,
        std::io::BufReader::new(reader),
        csv,
        all,
        &Actor::cli(),
        &name,
    )?;
    drop(conn);
    ctx.rescore_after(service::scoring::Scope::All, "enrichment");
    writeln!(
        out,
        "{name}: {} enheter lest, {} lagret, {} hoppet over (ikke våre leverandører), {} avvist; {} av våre leverandører finnes ikke i filen",
        stats.read,
        stats.delivered,
        stats.skipped,
        stats.rejected,
        stats.not_found.len()
    )?;
    Ok(())
}

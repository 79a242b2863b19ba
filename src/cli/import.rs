//! `spotcheck import FILE`: reads a register and stores it, then scores what it brought in.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use super::{CliError, Ctx, OutputFormat};
use crate::service;

/// `spotcheck import` arguments.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[arg(
        value_name = "FIL",
        help = "Registeret: xlsx, xlsm, xls, xlsb, ods eller csv (/dev/stdin for en pipe)"
    )]
    pub file: PathBuf,
    #[arg(
        long,
        value_name = "ARK",
        help = "Les dette arket i stedet for å lete etter tabellen"
    )]
    pub sheet: Option<String>,
    #[arg(
        long,
        value_name = "TILORDNING",
        help = "Kolonnetilordning når overskriftene ikke kjennes igjen, f.eks. \
                'contract_id=Nummer;supplier_name=Firma;orgnr=Org nummer'"
    )]
    pub mapping: Option<String>,
    #[arg(long, help = "Les filen og rapporter, men lagre ingenting")]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
    pub format: OutputFormat,
    #[arg(
        long,
        env = "SPOTCHECK_USER",
        value_name = "BRUKERNAVN",
        help = "Personen som føres som den som lastet opp; uten den driftsbrukeren «drift»"
    )]
    pub user: Option<String>,
}

/// `spotcheck import`: prints the report; a file that cannot be read is an error (non-zero
/// exit, message on stderr) and stores nothing.
pub fn run(ctx: &Ctx, args: ImportArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let settings = ctx.settings;
    let json = args.format.is_json();
    let mut opts = crate::import::ImportOptions {
        max_bytes: settings.max_upload_bytes,
        sheet: args.sheet,
        ..Default::default()
    };
    if let Some(m) = &args.mapping {
        opts.mapping =
            Some(crate::import::ColumnMapping::parse_spec(m).map_err(|e| CliError::Import(e.to_string()))?);
    }
    let uploader = ctx.acting_user(args.user.as_deref())?;
    let rules = ctx.rules()?;
    // A regular file is read from disk as the reader needs it: a large workbook is never
    // held in memory whole. A pipe is read into memory once.
    let opened = crate::import::OpenedRegister::open(&args.file, opts.max_bytes)
        .map_err(|e| CliError::Import(e.to_string()))?;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message(format!("leser {file_name}"));
        b
    });
    let mut progress = |rows: u64| {
        if let Some(b) = &bar {
            b.set_position(rows);
            b.set_message(format!("{rows} rader lest"));
            b.tick();
        }
    };
    let result = service::imports::import_and_score(
        &ctx.pool,
        &rules,
        &uploader,
        &file_name,
        opened.file(),
        &opts,
        args.dry_run,
        &mut progress,
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = result.map_err(|e| {
        CliError::Import(match e {
            service::imports::ImportFailure::Db(d) => super::db_message(&d),
            file => file.to_string(),
        })
    })?;
    if json {
        let v = serde_json::json!({
            "batch_id": report.batch_id,
            "rows_total": report.rows_total,
            "rows_imported": report.rows_imported,
            "rows_rejected": report.rows_rejected,
            "errors": report.errors,
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    match (report.batch_id, report.already_imported) {
        (Some(id), true) => writeln!(
            out,
            "{file_name}: importert før (import {id}); ingenting ble lagret på nytt"
        )?,
        (Some(id), false) => writeln!(out, "{file_name}: lagret som import {id}")?,
        (None, _) => writeln!(out, "{file_name}: kontroll uten lagring, ingenting ble lagret")?,
    }
    writeln!(
        out,
        "format {}, ark «{}», overskrifter på rad {}\nrader: {} i alt, {} importert, {} avvist\nkontrakter: {} nye, {} endret, {} uendret; {} nye leverandører",
        report.format,
        report.sheet,
        report.header_row,
        report.rows_total,
        report.rows_imported,
        report.rows_rejected,
        report.contracts_created,
        report.contracts_updated,
        report.contracts_unchanged,
        report.suppliers_created
    )?;
    for e in &report.errors {
        writeln!(
            out,
            "  {} rad {}, kolonne «{}», verdi «{}»: {}",
            e.sheet, e.row, e.column, e.value, e.message
        )?;
    }
    Ok(())
}

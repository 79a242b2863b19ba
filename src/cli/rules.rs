//! `spotcheck rules …`: the rule set in force lives in the database; a folder of TOML
//! files is the readable, reviewable exchange format.
//!
//! - `check [DIR]`: validate a folder (default: the set in force), list every problem;
//! - `import DIR`: validate, store and activate a folder, then rescore (audited);
//! - `export DIR`: write the set in force as files.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::Actor;
use crate::risk::RuleSet;
use crate::service;

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    #[command(
        about = "Kontroller en mappe med regelfiler; lister hver feil med fil, linje og regel og \
                 avslutter med en annen kode enn 0 når regelsettet ikke kan lastes"
    )]
    Check {
        #[arg(value_name = "MAPPE", help = "Mappen med regelfilene")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(
        about = "Kontroller en mappe med regelfiler, lagre den som en ny versjon, ta den i bruk for \
                 alle instanser på denne databasen og risikovurder på nytt"
    )]
    Import {
        #[arg(value_name = "MAPPE", help = "Mappen med regelfilene")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(about = "Skriv regelsettet i bruk til en mappe (opprettes om den mangler)")]
    Export {
        #[arg(value_name = "MAPPE", help = "Mappen filene skrives til")]
        dir: PathBuf,
    },
}

pub fn run(
    settings: &crate::config::Settings,
    cmd: RulesCommand,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match cmd {
        // Checking needs no database.
        RulesCommand::Check { dir, format } => check(dir, format, out),
        RulesCommand::Import { dir, format } => {
            let ctx = Ctx::open(settings)?;
            let files = service::rules::read_folder(&dir)?;
            let actor = Actor::cli();
            let active = service::rules::ActiveRules::new(ctx.rules()?);
            let replaced =
                service::rules::replace(&mut *ctx.conn()?, &actor, &active, &files).map_err(|e| match e {
                    service::rules::RulesError::Invalid(errors) => CliError::Rules {
                        dir: dir.clone(),
                        errors,
                    },
                    other => other.into(),
                })?;
            if format.is_json() {
                writeln!(out, "{}", serde_json::to_string(&replaced).unwrap_or_default())?;
            } else if replaced.activated {
                writeln!(
                    out,
                    "{}: versjon {} er nå i bruk; {} kontrakter vurdert på nytt, {} nye vurderinger lagret",
                    dir.display(),
                    replaced.version,
                    replaced.rescore.contracts_assessed,
                    replaced.rescore.contracts_recorded
                )?;
            } else {
                writeln!(
                    out,
                    "{}: versjon {} var allerede i bruk",
                    dir.display(),
                    replaced.version
                )?;
            }
            Ok(())
        }
        RulesCommand::Export { dir } => {
            let ctx = Ctx::open(settings)?;
            let rules = ctx.rules()?;
            let written = service::rules::export(&rules, &dir)?;
            writeln!(
                out,
                "{}: versjon {} er skrevet ({})",
                dir.display(),
                rules.version(),
                written.join(", ")
            )?;
            Ok(())
        }
    }
}

fn check(dir: PathBuf, format: OutputFormat, out: &mut dyn Write) -> Result<(), CliError> {
    match RuleSet::load_dir(&dir) {
        Ok(rules) => {
            if format.is_json() {
                let v = serde_json::json!({
                    "valid": true,
                    "version": rules.version(),
                    "files": rules.files(),
                    "industries": rules.industries().len(),
                    "indicators": rules.indicators().len(),
                    "tiers": rules.tiers().len(),
                    "parameters": rules.parameters().len(),
                });
                writeln!(out, "{v}")?;
            } else {
                writeln!(
                    out,
                    "{}: OK, versjon {} ({} filer, {} bransjer, {} indikatorer, {} risikonivåer, {} parametere)",
                    dir.display(),
                    rules.version(),
                    rules.files().len(),
                    rules.industries().len(),
                    rules.indicators().len(),
                    rules.tiers().len(),
                    rules.parameters().len()
                )?;
            }
            Ok(())
        }
        Err(errors) => {
            if format.is_json() {
                let v = serde_json::json!({"valid": false, "errors": errors.errors});
                writeln!(out, "{v}")?;
            }
            Err(CliError::Rules { dir, errors })
        }
    }
}

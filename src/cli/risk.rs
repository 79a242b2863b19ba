//! `spotcheck score` and `spotcheck rules …`: rescoring stored contracts and checking rule
//! files before they go live.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::CliError;
use crate::config::Settings;
use crate::db::models::Actor;
use crate::risk::RuleSet;
use crate::scoring::{RescoreReport, Scope};

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// Record a new assessment for every contract, even those whose rules, inputs and
    /// outcome are unchanged (without it only what changed is recorded).
    #[arg(long)]
    pub all: bool,
    /// `text` (default) or `json` (one object: the run's report with coverage per indicator).
    #[arg(long, default_value = "text")]
    pub format: String,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Check a folder of rule files (default: the configured rules folder); exits non-zero
    /// and lists every problem with file, line and rule when it does not load.
    Check {
        dir: Option<PathBuf>,
        /// `text` or `json`.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

fn json_flag(format: &str) -> Result<bool, CliError> {
    match format {
        "json" => Ok(true),
        "text" => Ok(false),
        other => Err(CliError::Format(other.to_owned())),
    }
}

/// The configured rule set, or every problem it has.
pub fn load_rules(settings: &Settings) -> Result<RuleSet, CliError> {
    crate::app::load_rules(settings).map_err(|e| CliError::Rules {
        dir: settings.rules_dir.clone(),
        errors: e,
    })
}

pub fn run_score(settings: &Settings, args: ScoreArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let json = json_flag(&args.format)?;
    let rules = load_rules(settings)?;
    let pool = crate::app::open_database(settings)?;
    let actor = Actor::cli();
    crate::app::activate_rules(&pool, &rules, &actor)?;
    let report = crate::app::rescore(&pool, &rules, Scope::All, args.all, "manual", &actor)?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&report).unwrap_or_default())?;
    } else {
        print_report(&report, out)?;
    }
    Ok(())
}

fn print_report(r: &RescoreReport, out: &mut dyn Write) -> Result<(), CliError> {
    writeln!(
        out,
        "rule set {} (as of {}): {} contracts assessed, {} new assessments recorded; {} suppliers assessed, {} recorded ({} ms)",
        &r.rule_set_version[..12.min(r.rule_set_version.len())],
        r.as_of,
        r.contracts_assessed,
        r.contracts_recorded,
        r.suppliers_assessed,
        r.suppliers_recorded,
        r.elapsed_ms
    )?;
    for (tier, n) in &r.tiers {
        writeln!(out, "  {tier:<10} {n}")?;
    }
    writeln!(
        out,
        "indicator                          applied    fired  not computable"
    )?;
    for (id, c) in &r.coverage.rules {
        writeln!(
            out,
            "  {id:<32} {:>7} {:>8} {:>15}",
            c.applied, c.fired, c.not_computable
        )?;
    }
    Ok(())
}

pub fn run_rules(settings: &Settings, cmd: RulesCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let RulesCommand::Check { dir, format } = cmd;
    let json = json_flag(&format)?;
    let dir = dir.unwrap_or_else(|| settings.rules_dir.clone());
    match RuleSet::load_dir(&dir) {
        Ok(rules) => {
            if json {
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
                    "{}: OK, version {} ({} files, {} industries, {} indicators, {} tiers, {} parameters)",
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
            if json {
                let v = serde_json::json!({"valid": false, "errors": errors.errors});
                writeln!(out, "{v}")?;
            }
            Err(CliError::Rules { dir, errors })
        }
    }
}

/// After a command changed what scores read (an import, register facts, an approval
/// register): rescores `scope` with the configured rules. The command's own work is stored
/// already, so a rule set that does not load or a failed run is a warning, not an error;
/// `spotcheck score` catches up.
pub fn rescore_after(settings: &Settings, pool: &crate::db::Pool, scope: Scope, reason: &str) {
    let rules = match crate::app::load_rules(settings) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(dir = %settings.rules_dir.display(), errors = %e, "not rescored: the rule set does not load");
            return;
        }
    };
    match crate::app::rescore(pool, &rules, scope, false, reason, &Actor::cli()) {
        Ok(r) => tracing::info!(
            assessed = r.contracts_assessed,
            recorded = r.contracts_recorded,
            ms = r.elapsed_ms,
            "rescored ({reason})"
        ),
        Err(e) => tracing::warn!(error = %e, "rescoring failed; run `spotcheck score`"),
    }
}

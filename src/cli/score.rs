//! `spotcheck score`: rescore stored contracts and suppliers with the rule set in force.

use std::io::Write;

use clap::Args;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::Actor;
use crate::service::scoring::{self, RescoreReport, Scope};

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// Record a new assessment for every contract, even those whose rules, inputs and
    /// outcome are unchanged (without it only what changed is recorded).
    #[arg(long)]
    pub all: bool,
    /// `text` (default) or `json` (one object: the run's report with coverage per indicator).
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

pub fn run(ctx: &Ctx, args: ScoreArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let rules = ctx.rules()?;
    let report = scoring::rescore_today(
        &mut *ctx.conn()?,
        &rules,
        Scope::All,
        args.all,
        "manual",
        &Actor::cli(),
    )?;
    if args.format.is_json() {
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

//! `spotcheck score`: rescore stored contracts and suppliers with the rule set in force.

use std::io::Write;

use clap::Args;

use super::{CliError, Ctx, OutputFormat};
use crate::db::models::Actor;
use crate::service::scoring::{self, RescoreReport, Scope};

/// `spotcheck score` flags.
#[derive(Args, Debug)]
pub struct ScoreArgs {
    #[arg(
        long,
        help = "Lagre en ny vurdering for hver kontrakt, også der regler, opplysninger og resultat er \
                uendret (uten den lagres bare det som er endret)"
    )]
    pub all: bool,
    #[arg(
        long,
        value_enum,
        default_value_t,
        help = "Utdata for folk (text) eller ett JSON-objekt med kjøringens rapport og dekning per \
                indikator (json)"
    )]
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
        "regelsett {} (per {}): {} kontrakter vurdert, {} nye vurderinger lagret; {} leverandører vurdert, {} lagret ({} ms)",
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
        "{:<34} {:>7} {:>8} {:>20}",
        "indikator", "brukt", "slo ut", "kunne ikke beregnes"
    )?;
    for (id, c) in &r.coverage.rules {
        writeln!(
            out,
            "  {id:<32} {:>7} {:>8} {:>20}",
            c.applied, c.fired, c.not_computable
        )?;
    }
    Ok(())
}

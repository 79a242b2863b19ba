//! `spotcheck enrich`: look suppliers up in Enhetsregisteret now.

use std::io::Write;

use super::{CliError, Ctx};
use crate::service;

/// `spotcheck enrich` flags.
#[derive(clap::Args, Debug)]
pub struct EnrichArgs {
    #[arg(
        long,
        help = "Hent også på nytt det som er eldre enn makalderen (SPOTCHECK_ENRICH_MAX_AGE_HOURS)"
    )]
    pub stale: bool,
    #[arg(
        long,
        num_args = 1..,
        value_name = "ORGNR",
        help = "Slå opp disse organisasjonsnumrene nå (lagt i kø hvis de er nye)"
    )]
    pub orgnr: Vec<String>,
    #[arg(
        long,
        help = "Les først registerets endringsstrømmer og legg våre leverandører som er endret, i kø"
    )]
    pub feed: bool,
}

fn orgnr_arg(raw: &str) -> Result<String, CliError> {
    crate::domain::orgnr::OrgNr::parse_lenient(raw)
        .map(|o| o.to_string())
        .map_err(|e| CliError::Load(format!("«{raw}»: {e}")))
}

/// `spotcheck enrich`: runs due look-ups until none are left, then reports the queue.
pub fn run(ctx: &Ctx, args: EnrichArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let settings = ctx.settings;
    {
        let mut conn = ctx.conn()?;
        if !args.orgnr.is_empty() {
            let list = args
                .orgnr
                .iter()
                .map(|o| orgnr_arg(o))
                .collect::<Result<Vec<_>, _>>()?;
            service::suppliers::enqueue(&mut conn, &list)?;
        }
        if args.stale {
            let n = service::suppliers::requeue_stale(
                &mut conn,
                chrono::Duration::hours(settings.enrich_max_age_hours),
            )?;
            writeln!(out, "{n} leverandører med gamle opplysninger lagt i kø")?;
        }
    }
    let enricher = ctx.enricher()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Io)?;
    if args.feed {
        let f = runtime.block_on(enricher.follow_feeds(100))?;
        writeln!(
            out,
            "endringsstrømmer: {} endringer, {} av våre leverandører lagt i kø",
            f.updates, f.queued
        )?;
    }
    let s = runtime.block_on(enricher.run_until_idle())?;
    writeln!(
        out,
        "slo opp {}: {} hentet, {} prøves igjen senere, {} feilet",
        s.claimed, s.succeeded, s.retrying, s.failed
    )?;
    let mut conn = ctx.conn()?;
    for (state, n) in service::suppliers::job_counts(&mut conn)? {
        writeln!(
            out,
            "  {}: {n}",
            crate::web::pages::labels::enrichment_state(&state)
        )?;
    }
    Ok(())
}

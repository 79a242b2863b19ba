//! `spotcheck draw …` and `spotcheck verify ID`: thin wrappers over [`crate::service::draws`].

use std::io::Write;

use chrono::NaiveDate;
use clap::{Args, Subcommand};

use super::{CliError, Ctx, OutputFormat};
use crate::config::Settings;
use crate::db::DbError;
use crate::sampling::Part;
use crate::service::draws::{
    self, DrawError, DrawFilter, DrawSpec, DrawView, Published, ShareInput, StrataMode,
};

/// `spotcheck draw`: flags for a new draw, or a subcommand for a stored one.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DrawArgs {
    #[command(subcommand)]
    pub command: Option<DrawCommand>,
    #[command(flatten)]
    pub new: NewDrawArgs,
}

#[derive(Subcommand, Debug)]
pub enum DrawCommand {
    #[command(about = "Skriv ut manifestet til en trekning nøyaktig slik det ble hashet (byte for byte)")]
    Manifest {
        #[arg(value_name = "ID", help = "Trekningens nummer")]
        id: i64,
    },
    #[command(about = "Trekk flere kontrakter med samme manifest og seed; de tidligere trekkene står")]
    Extend {
        #[arg(value_name = "ID", help = "Trekningens nummer")]
        id: i64,
        #[arg(long, value_name = "ANTALL", help = "Hvor mange kontrakter til")]
        size: u64,
        #[arg(
            long,
            value_name = "ANDEL",
            help = "Andelen av de nye trekkene som trekkes likt tilfeldig (standard: trekningens egen)"
        )]
        uniform_share: Option<String>,
        #[arg(
            long,
            env = "SPOTCHECK_USER",
            value_name = "BRUKERNAVN",
            help = "Brukeren som utvider (rollen kemner); uten den driftsbrukeren «drift»"
        )]
        user: Option<String>,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(about = "Vis en lagret trekning med trekkene")]
    Show {
        #[arg(value_name = "ID", help = "Trekningens nummer")]
        id: i64,
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
    #[command(about = "List opp trekningene, nyeste først")]
    List {
        #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
        format: OutputFormat,
    },
}

/// A new draw (published unless `--preview`).
#[derive(Args, Debug)]
pub struct NewDrawArgs {
    #[arg(
        long,
        value_name = "TEKST",
        help = "Seed-tekst fra en offentlig seremoni; uten den 128 bit fra operativsystemets tilfeldighetskilde"
    )]
    pub seed: Option<String>,
    #[arg(long, value_name = "ANTALL", help = "Antall kontrakter som skal trekkes")]
    pub size: Option<u64>,
    #[arg(
        long,
        value_name = "RATE",
        help = "Beregn antallet i stedet: tolerabel avviksrate, f.eks. 0.05"
    )]
    pub tolerable_rate: Option<f64>,
    #[arg(
        long,
        value_name = "KONFIDENS",
        help = "Konfidens for --tolerable-rate (standard 0.95)"
    )]
    pub confidence: Option<f64>,
    #[arg(long, help = "Beregn antallet med binomisk modell i stedet for Poisson")]
    pub binomial: bool,
    #[arg(
        long,
        value_name = "ANDEL",
        help = "Andel trukket likt tilfeldig, uten vekting, f.eks. 0.5 eller 25% (standard 0.5)"
    )]
    pub uniform_share: Option<String>,
    #[arg(
        long,
        value_name = "LAG",
        help = "«industry» for ett lag per risikobransje; standard er ingen lagdeling («all»)"
    )]
    pub strata: Option<String>,
    #[arg(
        long,
        value_name = "FORDELING",
        help = "Fordel antallet på lagene etter antall kontrakter («size», standard) eller etter risikomasse («risk»)"
    )]
    pub allocation: Option<String>,
    #[arg(
        long,
        default_value_t = 0,
        value_name = "ANTALL",
        help = "Minst så mange trekk per lag"
    )]
    pub min_per_stratum: u64,
    #[arg(
        long = "industry",
        value_name = "BRANSJE",
        help = "Risikobransje, f.eks. renhold (kan gjentas)"
    )]
    pub industries: Vec<String>,
    #[arg(
        long,
        value_name = "DATO",
        help = "Kontrakter som er aktive på eller etter denne datoen (ÅÅÅÅ-MM-DD)"
    )]
    pub active_from: Option<NaiveDate>,
    #[arg(
        long,
        value_name = "DATO",
        help = "Kontrakter som er aktive på eller før denne datoen (ÅÅÅÅ-MM-DD)"
    )]
    pub active_to: Option<NaiveDate>,
    #[arg(
        long = "unit",
        value_name = "ENHET",
        help = "Enhet, slik den ble importert (kan gjentas)"
    )]
    pub units: Vec<String>,
    #[arg(long, value_name = "NIVÅ", help = "Laveste risikonivå, f.eks. høy")]
    pub min_tier: Option<String>,
    #[arg(
        long,
        value_name = "MÅNEDER",
        help = "Utelat kontrakter som er trukket de siste så mange månedene"
    )]
    pub exclude_checked_months: Option<u32>,
    #[arg(
        long = "include",
        value_name = "AVTALENUMMER",
        help = "Ta alltid med denne kontrakten (kan gjentas)"
    )]
    pub include: Vec<String>,
    #[arg(
        long = "exclude",
        value_name = "AVTALENUMMER",
        help = "Ta aldri med denne kontrakten (kan gjentas)"
    )]
    pub exclude: Vec<String>,
    #[arg(
        long,
        value_name = "SHA256",
        help = "Publiser bare hvis manifestet fortsatt har dette SHA-256-fingeravtrykket (fra forhåndsvisningen)"
    )]
    pub expect_sha256: Option<String>,
    #[arg(
        long,
        help = "Vis populasjonen, lagene og manifestets fingeravtrykk; lagre ingenting"
    )]
    pub preview: bool,
    #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
    pub format: OutputFormat,
    #[arg(
        long,
        env = "SPOTCHECK_USER",
        value_name = "BRUKERNAVN",
        help = "Brukeren som trekker (rollen kemner); uten den driftsbrukeren «drift»"
    )]
    pub user: Option<String>,
}

/// `spotcheck verify ID`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[arg(value_name = "ID", help = "Trekningens nummer")]
    pub id: i64,
    #[arg(long, value_enum, default_value_t, help = super::FORMAT_HELP)]
    pub format: OutputFormat,
}

#[derive(Debug, thiserror::Error)]
pub enum DrawCliError {
    #[error("{}", draw_message(.0))]
    Draw(#[from] DrawError),
    #[error("{}", super::db_message(.0))]
    Db(#[from] DbError),
    #[error(transparent)]
    Setup(#[from] CliError),
    #[error("{0}")]
    VerifyFailed(String),
    #[error("kunne ikke skrive resultatet: {}", crate::domain::io_text::io_reason(.0))]
    Io(#[from] std::io::Error),
}

/// A draw error as the service words it (Norwegian), a storage error as [`super::db_message`]
/// does.
fn draw_message(e: &DrawError) -> String {
    match e {
        DrawError::Db(d) => super::db_message(d),
        other => other.to_string(),
    }
}

/// Runs `spotcheck draw …`.
pub fn run_draw(settings: &Settings, args: DrawArgs, out: &mut dyn Write) -> Result<(), DrawCliError> {
    match args.command {
        None => new_draw(settings, args.new, out),
        Some(DrawCommand::Manifest { id }) => {
            let ctx = Ctx::open(settings)?;
            let mut conn = ctx.conn()?;
            let text = draws::manifest_text(&mut conn, id)?;
            // Exactly the hashed bytes: no trailing newline added, nothing re-encoded.
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
        Some(DrawCommand::Extend {
            id,
            size,
            uniform_share,
            user,
            format,
        }) => {
            let json = format.is_json();
            let ctx = Ctx::open(settings)?;
            let mut conn = ctx.conn()?;
            let user = ctx.acting_user(user.as_deref())?;
            let share = uniform_share.map(|s| ShareInput::Text(s).parse()).transpose()?;
            let rules = ctx.rules()?;
            let result = draws::extend(&mut conn, &user, id, size, share, &rules)?;
            print_published(&result, json, out)
        }
        Some(DrawCommand::Show { id, format }) => {
            let json = format.is_json();
            let ctx = Ctx::open(settings)?;
            let mut conn = ctx.conn()?;
            let view = draws::show(&mut conn, id)?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&view).unwrap_or_default())?;
            } else {
                print_view(&view, out)?;
            }
            Ok(())
        }
        Some(DrawCommand::List { format }) => {
            let json = format.is_json();
            let ctx = Ctx::open(settings)?;
            let mut conn = ctx.conn()?;
            let list = draws::list(&mut conn, 500)?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&list).unwrap_or_default())?;
            } else {
                for d in list {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{} kontrakter\t{} trekk\t{}",
                        d.id, d.created_at, d.created_by, d.population_size, d.picks, d.manifest_sha256
                    )?;
                }
            }
            Ok(())
        }
    }
}

fn new_draw(settings: &Settings, a: NewDrawArgs, out: &mut dyn Write) -> Result<(), DrawCliError> {
    let json = a.format.is_json();
    let strata = match &a.strata {
        Some(s) => StrataMode::parse(s)?,
        None => StrataMode::None,
    };
    let spec = DrawSpec {
        filter: DrawFilter {
            industries: a.industries,
            active_from: a.active_from,
            active_to: a.active_to,
            units: a.units,
            min_tier: a.min_tier,
            exclude_checked_months: a.exclude_checked_months,
            include: a.include,
            exclude: a.exclude,
        },
        strata,
        seed: a.seed,
        size: a.size,
        tolerable_rate: a.tolerable_rate,
        confidence: a.confidence,
        binomial: a.binomial,
        uniform_share: a.uniform_share.map(ShareInput::Text),
        allocation: a.allocation,
        min_per_stratum: a.min_per_stratum,
        expected_manifest_sha256: a.expect_sha256,
        preview: a.preview,
    };
    let ctx = Ctx::open(settings)?;
    let mut conn = ctx.conn()?;
    let user = ctx.acting_user(a.user.as_deref())?;
    // The set in force: the one the contracts were scored with.
    let rules = ctx.rules()?;
    if spec.preview {
        let p = draws::preview(&mut conn, &user, &spec, &rules)?;
        if json {
            writeln!(out, "{}", serde_json::to_string(&p).unwrap_or_default())?;
            return Ok(());
        }
        writeln!(out, "forhåndsvisning (ingenting er lagret)")?;
        writeln!(
            out,
            "populasjon: {} kontrakter, risikomasse {}",
            p.population_size, p.total_weight
        )?;
        writeln!(out, "manifest sha256: {}", p.manifest_sha256)?;
        for s in &p.strata {
            writeln!(
                out,
                "  lag {}: {} kontrakter, risikomasse {}, planlagt {} vektet + {} uniform",
                s.name, s.size, s.risk_mass, s.weighted, s.uniform
            )?;
        }
        writeln!(
            out,
            "publiser fingeravtrykket før seeden fastsettes; publiser trekningen med --expect-sha256 {}",
            p.manifest_sha256
        )?;
        return Ok(());
    }
    let result = draws::publish(&mut conn, &user, &spec, &rules)?;
    print_published(&result, json, out)
}

fn print_published(r: &Published, json: bool, out: &mut dyn Write) -> Result<(), DrawCliError> {
    if json {
        writeln!(out, "{}", serde_json::to_string(r).unwrap_or_default())?;
        return Ok(());
    }
    if r.round == 1 {
        writeln!(out, "trekning {} er publisert", r.draw.id)?;
    } else {
        writeln!(out, "trekning {} er utvidet med runde {}", r.draw.id, r.round)?;
    }
    writeln!(
        out,
        "{} saker opprettet, {} varsler lagt i utboksen",
        r.cases_opened, r.notifications_queued
    )?;
    for w in &r.warnings {
        writeln!(out, "advarsel: {w}")?;
    }
    print_view(&r.draw, out)
}

fn print_view(v: &DrawView, out: &mut dyn Write) -> Result<(), DrawCliError> {
    writeln!(out, "algoritme: {}", v.algorithm)?;
    writeln!(
        out,
        "seed ({}): {}",
        crate::web::pages::labels::seed_source(&v.seed_source),
        v.seed
    )?;
    writeln!(out, "manifest sha256: {}", v.manifest_sha256)?;
    writeln!(out, "populasjon: {} kontrakter", v.population_size)?;
    writeln!(out, "trukket av {} {}", v.created_by, v.created_at)?;
    for p in &v.picks {
        let evidence = match &p.pick.part {
            Part::Weighted { counter } => format!("vektet\tteller {counter}"),
            Part::Uniform { ticket } => format!("uniform\tlodd {ticket}"),
        };
        writeln!(
            out,
            "{}\t{}\t{}\t{}\trunde {}",
            p.pick.position, p.pick.stratum, p.pick.id, evidence, p.round
        )?;
    }
    Ok(())
}

/// Runs `spotcheck verify ID`: exit 0 only when every pick is reproduced.
pub fn run_verify(settings: &Settings, args: VerifyArgs, out: &mut dyn Write) -> Result<(), DrawCliError> {
    let json = args.format.is_json();
    let ctx = Ctx::open(settings)?;
    let mut conn = ctx.conn()?;
    let v = draws::verify_stored(&mut conn, args.id)?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default())?;
    } else if v.ok {
        writeln!(out, "{}", v.message)?;
    }
    if v.ok {
        Ok(())
    } else {
        Err(DrawCliError::VerifyFailed(v.message))
    }
}

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
    /// Print a draw's manifest exactly as it was hashed (byte for byte).
    Manifest { id: i64 },
    /// Take more picks with the same manifest and seed; earlier picks stay.
    Extend {
        id: i64,
        /// How many more contracts.
        #[arg(long)]
        size: u64,
        /// Share of the new picks drawn uniformly (default: the draw's own).
        #[arg(long)]
        uniform_share: Option<String>,
        /// The user who extends (role kemner; also SPOTCHECK_USER); without it, the operations user.
        #[arg(long, env = "SPOTCHECK_USER")]
        user: Option<String>,
        /// `text` (default) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Show a stored draw with its picks.
    Show {
        id: i64,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// List the draws, newest first.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

/// A new draw (published unless `--preview`).
#[derive(Args, Debug)]
pub struct NewDrawArgs {
    /// Seed text from a public ceremony; without it, 128 bits from the OS generator.
    #[arg(long)]
    pub seed: Option<String>,
    /// Number of contracts to draw.
    #[arg(long)]
    pub size: Option<u64>,
    /// Plan the size instead: tolerable problem rate, e.g. 0.05.
    #[arg(long)]
    pub tolerable_rate: Option<f64>,
    /// Confidence for --tolerable-rate (default 0.95).
    #[arg(long)]
    pub confidence: Option<f64>,
    /// Plan with the binomial model instead of Poisson.
    #[arg(long)]
    pub binomial: bool,
    /// Share drawn uniformly, e.g. 0.5 or 25% (default 0.5).
    #[arg(long)]
    pub uniform_share: Option<String>,
    /// `industry` for one stratum per risk industry; default one stratum, `all`.
    #[arg(long)]
    pub strata: Option<String>,
    /// Allocate over strata by `size` (default) or by `risk` mass.
    #[arg(long)]
    pub allocation: Option<String>,
    /// At least this many picks per stratum.
    #[arg(long, default_value_t = 0)]
    pub min_per_stratum: u64,
    /// Risk industry (repeatable), e.g. renhold.
    #[arg(long = "industry")]
    pub industries: Vec<String>,
    /// Contracts active on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub active_from: Option<NaiveDate>,
    /// Contracts active on or before this date (YYYY-MM-DD).
    #[arg(long)]
    pub active_to: Option<NaiveDate>,
    /// Unit (repeatable), as imported.
    #[arg(long = "unit")]
    pub units: Vec<String>,
    /// Lowest risk tier, e.g. høy.
    #[arg(long)]
    pub min_tier: Option<String>,
    /// Leave out contracts drawn in the last N months.
    #[arg(long)]
    pub exclude_checked_months: Option<u32>,
    /// Always include this contract id (repeatable).
    #[arg(long = "include")]
    pub include: Vec<String>,
    /// Never include this contract id (repeatable).
    #[arg(long = "exclude")]
    pub exclude: Vec<String>,
    /// Refuse to publish unless the manifest still has this SHA-256 (from the preview).
    #[arg(long)]
    pub expect_sha256: Option<String>,
    /// Show population, strata and manifest hash; store nothing.
    #[arg(long)]
    pub preview: bool,
    /// `text` (default) or `json` (one JSON object on stdout).
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// The user who draws (role kemner; also SPOTCHECK_USER); without it, the operations user.
    #[arg(long, env = "SPOTCHECK_USER")]
    pub user: Option<String>,
}

/// `spotcheck verify ID`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    pub id: i64,
    /// `text` (default) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Debug, thiserror::Error)]
pub enum DrawCliError {
    #[error(transparent)]
    Draw(#[from] DrawError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Setup(#[from] CliError),
    #[error("{0}")]
    VerifyFailed(String),
    #[error("output failed: {0}")]
    Io(#[from] std::io::Error),
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
    writeln!(out, "seed ({}): {}", v.seed_source, v.seed)?;
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
